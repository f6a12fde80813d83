"""The book's address and the hidden install cell every chapter starts with (book tooling).

The repository's address is one setting, ``[tool.dipnb]`` in ``pyproject.toml``::

    [tool.dipnb]
    repository = "https://github.com/OWNER/REPO"   # the launch buttons and the install cell use it
    published = false                              # true once that repository and its Pages site exist

``_config.yml`` (the launch buttons) carries the same address, and the install cell is generated
from it (:func:`install_cell`); ``tests/test_book_address.py`` fails when they disagree. Until
``published`` is true the install cell never installs from the address (someone else could own
that name): it installs from the clone the notebook sits in, or says what to do.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

__all__ = ["project_address", "install_cell", "INSTALL_TAG", "has_install_cell", "set_install_cell"]

INSTALL_TAG = "remove-cell"
_HEAD = "# install dipnb where the kernel lacks it (hidden in the book)"
_OLD_HEAD = "# Colab or a fresh kernel: install dipnb if it is missing"


def project_address(root: Path | str) -> tuple[str, bool]:
    """``(repository, published)`` from ``[tool.dipnb]`` of ``root/pyproject.toml``."""
    text = (Path(root) / "pyproject.toml").read_text(encoding="utf-8")
    section = re.search(r"^\[tool\.dipnb\]\s*$(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
    if section is None:
        raise ValueError(f"{root}/pyproject.toml has no [tool.dipnb] section (repository, published)")
    repo = re.search(r'^repository\s*=\s*"([^"]+)"', section.group(1), flags=re.M)
    pub = re.search(r"^published\s*=\s*(true|false)", section.group(1), flags=re.M)
    if repo is None or pub is None:
        raise ValueError(f"{root}/pyproject.toml: [tool.dipnb] needs repository = \"https://...\" and "
                         f"published = true or false")
    return repo.group(1), pub.group(1) == "true"


def install_cell(root: Path | str) -> str:
    """The hidden first code cell of every chapter: where the kernel lacks dipnb (Colab, Binder, a
    notebook copied out of the book), it pip-installs dipnb and myst-nb (for ``glue``) from the
    clone the notebook belongs to, else from the published repository, else stops with what to
    do; a no-op where ``make venv`` has run."""
    repo, published = project_address(root)
    source = repr(f"dipnb @ git+{repo}") if published else "None   # not published yet: see README"
    return (
        f"{_HEAD}: from the clone this\n"
        "# notebook belongs to, else from the published repository\n"
        "try:\n"
        "    import dipnb, myst_nb\n"
        "except ImportError:\n"
        "    import importlib, pathlib, subprocess, sys\n"
        "    here = pathlib.Path.cwd().resolve()\n"
        "    clone = next((p for p in (here, *here.parents) if (p / \"dipnb\" / \"__init__.py\").is_file()), None)\n"
        f"    source = str(clone) if clone else {source}\n"
        "    if source is None:\n"
        "        raise ImportError(\"dipnb is not installed and this notebook is outside a clone of its \"\n"
        "                          \"repository: clone it and run `make venv`, or pip install the clone\")\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\", source, \"myst-nb\"],\n"
        "                   check=True)\n"
        "    importlib.invalidate_caches()"
    )


def _first_code(path: Path):
    import jupytext

    code = [c for c in jupytext.read(Path(path)).cells if c.cell_type == "code"]
    return code[0] if code else None


def has_install_cell(path: Path | str, root: Path | str) -> bool:
    """Whether the first code cell of a chapter (.md or .ipynb) is :func:`install_cell` tagged remove-cell."""
    cell = _first_code(Path(path))
    return (cell is not None and cell.source.strip() == install_cell(root)
            and INSTALL_TAG in cell.metadata.get("tags", []))


def set_install_cell(md: Path | str, root: Path | str) -> bool:
    """Make the first code cell of ``book/NAME.md`` the current :func:`install_cell` (replacing an
    older install cell, or inserting one before the first code cell) and update its .ipynb twin;
    False (nothing changed) if it already is."""
    md = Path(md)
    if has_install_cell(md, root):
        return False
    text = md.read_text(encoding="utf-8")
    block = f"```{{code-cell}} ipython3\n:tags: [{INSTALL_TAG}]\n\n{install_cell(root)}\n```\n"
    old = re.search(r"^```\{code-cell\}[^\n]*\n:tags: \[" + INSTALL_TAG + r"\]\n\n(?:" + re.escape(_HEAD) + "|"
                    + re.escape(_OLD_HEAD) + r").*?^```\n", text, flags=re.M | re.S)
    if old is not None:
        text = text[: old.start()] + block + text[old.end():]
    else:
        m = re.search(r"^```\{code-cell\}", text, flags=re.M)
        if m is None:
            raise ValueError(f"{md}: no code cell to put the install cell before")
        text = text[: m.start()] + block + "\n" + text[m.start():]
    md.write_text(text, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--to", "ipynb", "--update", str(md)], check=True)
    return True
