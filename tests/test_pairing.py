"""The paired chapters of the book agree with each other and with _toc.yml.

Every chapter is a pair book/NAME.md (MyST markdown, what the book builds from)
+ book/NAME.ipynb (what nbmake runs and the launch buttons open). Neither
`jupytext --diff` nor `jupytext --test` fails on a drifted pair, and
`jupytext --sync` trusts file timestamps, so the pair is compared here cell by
cell. Fix a failure with `make sync` (the newer file wins) or by editing the
.md and running `.venv/bin/jupytext --to ipynb --update book/NAME.md`.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TOC = ROOT / "_toc.yml"
ROOT_PAGES = {"intro"}  # plain MyST pages, not notebooks


def front_matter(path: Path) -> dict:
    """YAML front matter of a MyST markdown file ({} if there is none)."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    if end < 0:
        return {}
    return yaml.safe_load(text[4:end]) or {}


def paired_chapters() -> list[Path]:
    """book/*.md whose jupytext header names a kernel, i.e. notebook chapters."""
    return sorted(p for p in BOOK.glob("*.md") if "kernelspec" in front_matter(p))


def cells(path: Path) -> list[tuple[str, str]]:
    """(type, source) of every cell; code exactly as it is (the book build matches each .md with
    the notebook nbmake executed by its code, so a trailing newline in one twin makes the build
    execute the chapter again, a warning under -W), markdown up to surrounding whitespace."""
    nb = jupytext.read(path)
    return [(c.cell_type, c.source if c.cell_type == "code" else c.source.strip()) for c in nb.cells]


def toc_files() -> list[str]:
    """Every `file:` entry of _toc.yml (root, parts, chapters, sections)."""
    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [f.removesuffix(".md").removesuffix(".ipynb") for f in found]


CHAPTERS = paired_chapters()


@pytest.mark.parametrize("md", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_front_matter(md: Path):
    meta = front_matter(md)
    text_repr = meta.get("jupytext", {}).get("text_representation", {})
    assert text_repr.get("format_name") == "myst", (
        f"{md.name}: front matter needs jupytext.text_representation.format_name: myst "
        "(otherwise myst-nb executes nothing)"
    )
    assert meta.get("kernelspec", {}).get("name") == "python3", (
        f"{md.name}: kernelspec name must be python3 (other names fail with NoSuchKernel)"
    )


@pytest.mark.parametrize("md", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_ipynb_twin_matches(md: Path):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make sync`"
    kernel = jupytext.read(ipynb).metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{ipynb.name}: kernelspec name is {kernel!r}, not 'python3'"
    md_cells, nb_cells = cells(md), cells(ipynb)
    assert len(md_cells) == len(nb_cells), (
        f"{md.name} has {len(md_cells)} cells but {ipynb.name} has {len(nb_cells)}"
    )
    for i, (a, b) in enumerate(zip(md_cells, nb_cells)):
        assert a == b, f"cell {i} differs between {md.name} and {ipynb.name}"


def test_every_ipynb_has_a_paired_md():
    paired = {p.stem for p in CHAPTERS}
    orphans = sorted(p.name for p in BOOK.glob("*.ipynb") if p.stem not in paired)
    assert not orphans, (
        f"notebooks without a paired .md (with a jupytext header and kernelspec): {orphans}"
    )


def test_toc_entries_exist():
    missing = [f for f in toc_files() if not (ROOT / f"{f}.md").exists()]
    assert not missing, f"_toc.yml lists files with no .md: {missing}"


def test_every_chapter_in_toc():
    listed = set(toc_files())
    absent = sorted(
        f"book/{p.stem}"
        for p in BOOK.glob("*.md")
        if p.stem not in ROOT_PAGES and f"book/{p.stem}" not in listed
    )
    assert not absent, f"book/*.md missing from _toc.yml: {absent}"
