"""The repository's address is one setting ([tool.dipnb] in pyproject.toml): the launch buttons,
every page's install cell and the README follow it, and the install cell installs from the clone
a notebook sits in, from the published address only once it is published, and otherwise says
what to do."""
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import yaml

from dipnb._book import install_cell, project_address

ROOT = Path(__file__).resolve().parents[1]
PAGES = [md for md in sorted((ROOT / "book").glob("*.md")) if "kernelspec:" in md.read_text()[:400]]


def test_launch_buttons_and_install_cells_follow_the_one_address():
    repo, _ = project_address(ROOT)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == repo, "_config.yml's repository.url must equal [tool.dipnb] repository"
    cell = install_cell(ROOT)
    for md in PAGES:
        for path in (md, md.with_suffix(".ipynb")):
            first = next(c for c in jupytext.read(path).cells if c.cell_type == "code")
            assert first.source.strip() == cell, f"{path.name}: run python -m dipnb.coursework --add-install-cell"


def test_the_readme_claims_a_published_book_only_once_it_is_published():
    repo, published = project_address(ROOT)
    readme = (ROOT / "README.md").read_text()
    owner, name = re.match(r"https://github\.com/([^/]+)/([^/]+)", repo).groups()
    site = f"https://{owner}.github.io/{name}/"
    claims = re.search(r"book is published at", readme, flags=re.I)
    assert bool(claims) == published, "the README says the book is online exactly when [tool.dipnb] published"
    assert "[tool.dipnb]" in readme and repo in readme
    if published:
        assert site in readme


def _run_cell(cwd: Path, published: bool, tmp_path: Path) -> subprocess.CompletedProcess:
    """The install cell in a fresh interpreter where `import dipnb` fails, pip replaced by a print."""
    fake_root = tmp_path / "cfg"
    fake_root.mkdir(exist_ok=True)
    text = (ROOT / "pyproject.toml").read_text()
    (fake_root / "pyproject.toml").write_text(re.sub(r"published = (true|false)",
                                                     f"published = {str(published).lower()}", text))
    cell = install_cell(fake_root)
    code = ("import sys, subprocess\nsys.modules['dipnb'] = None\n"
            "subprocess.run = lambda cmd, check: print('PIP', cmd[-2])\n" + cell)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)


def test_the_install_cell_installs_from_the_clone_else_the_published_address_else_says_why(tmp_path):
    inside = _run_cell(ROOT / "book", False, tmp_path)
    assert inside.returncode == 0 and f"PIP {ROOT}" in inside.stdout, inside.stderr
    outside = _run_cell(tmp_path, False, tmp_path)
    assert outside.returncode != 0 and "outside a clone" in outside.stderr and "PIP" not in outside.stdout
    repo, _ = project_address(ROOT)
    published = _run_cell(tmp_path, True, tmp_path)
    assert published.returncode == 0 and f"PIP dipnb @ git+{repo}" in published.stdout, published.stderr
