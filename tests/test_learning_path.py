"""The learning path (issue 26, item 3): every chapter opens with its objectives, prerequisites
and time; the instructors' six-week path names only exercises that exist and leaves out no
chapter without saying so. Reads files only."""
import re
from pathlib import Path

import pytest

from dipnb import coursework as cw

BOOK = Path(__file__).resolve().parent.parent / "book"
REFERENCE = {"intro", "findings", "instructors", "api"}          # pages that teach nothing new
CHAPTERS = [md for md in cw.chapters() if md.stem not in REFERENCE]


def _top(md: Path) -> str:
    """The text between the page's title and its first section."""
    text = md.read_text(encoding="utf-8")
    start = text.index("\n# ")
    end = text.find("\n## ", start)
    return text[start:end if end >= 0 else len(text)]


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_opens_with_objectives_prerequisites_and_time(md):
    top = _top(md)
    m = re.search(r":::\{admonition\} Learning objectives\n(.*?)\n:::", top, re.S)
    assert m, f"{md.name}: no 'Learning objectives' box before its first section"
    box = m.group(1)
    assert "**You will**" in box and "**Prerequisites:**" in box, md.name
    assert re.search(r"\*\*Time:\*\* about \d", box), f"{md.name}: no time estimate"
    findings = top.find("What this ")
    assert findings < 0 or top.index("Learning objectives") < findings, "objectives come first"


def _six_weeks() -> str:
    text = (BOOK / "instructors.md").read_text(encoding="utf-8")
    start = text.index("(instructors-six-weeks)=")
    return text[start:text.index("\n## ", start + 30)]


def test_the_six_week_path_names_existing_exercises_and_every_chapter():
    path = _six_weeks()
    labels = set()
    for md in cw.chapters():
        labels |= set(re.findall(r":label: (ex-[\w-]+)", md.read_text(encoding="utf-8")))
    named = set(re.findall(r"\bex-[\w-]+", path))
    assert named and named <= labels, f"exercises in the path that the book lacks: {named - labels}"
    for md in CHAPTERS:
        assert f"{{doc}}`{md.stem}`" in path, f"{md.stem} is neither in the six weeks nor in what to skip"


@pytest.mark.parametrize("md", sorted(BOOK.glob("*.md")), ids=lambda p: p.stem)
def test_math_spans_never_cross_a_table_row(md):
    # a '$' left open in a row (e.g. '\nu' written through a Python string, which made a newline)
    for n, line in enumerate(md.read_text(encoding="utf-8").split("\n"), 1):
        if line.startswith("|"):
            assert len(re.findall(r"(?<!\\)\$", line)) % 2 == 0, f"{md.name}:{n}: odd number of '$'"
