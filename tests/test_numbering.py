"""Issue 26: the book's own equations are never numbered like the paper's (1)-(10).

Sphinx numbers a labelled display equation ``$$ ... $$ (label)`` (or a ``{math}`` directive with
``:label:``) as (1), (2), ... on its page: chapter 01 showed its own "(1)" and "(2)" beside text
citing the paper's eq. 1 and 2. The book therefore tags the paper's equations with the paper's
numbers (``\\tag{9}``) and its own with letters (``\\tag{G}``, the Gram matrix), and reaches
them through a ``(label)=`` target."""
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
PAGES = sorted(p for p in BOOK.glob("*.md"))
# a labelled $$ block, a labelled {math} directive, or an amsmath environment (numbered by MyST's
# amsmath extension even when it carries a \tag: chapter 07 showed "(4)" beside the paper's (10))
AUTO_NUMBERED = re.compile(r"^\$\$\s*\(([\w:-]+)\)\s*$|^\s*:label:\s*(eq[\w:-]*)\s*$"
                           r"|\\begin\{(equation|align|gather|multline|flalign|alignat)\}")
TAG = re.compile(r"\\tag\{([^}]*)\}")


def _numbered_like_the_paper(text: str) -> list[str]:
    bad, lines = [], text.split("\n")
    for i, line in enumerate(lines, 1):
        if AUTO_NUMBERED.search(line):
            bad.append(f"line {i}: an equation Sphinx numbers (1), (2), ...: {line.strip()!r}")
        for tag in TAG.findall(line):
            if tag.isdigit() and not 1 <= int(tag) <= 10:
                bad.append(f"line {i}: \\tag{{{tag}}} is no equation of the paper, which has (1)-(10)")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_book_equation_is_numbered_like_the_papers(page):
    bad = _numbered_like_the_paper(page.read_text("utf-8"))
    assert not bad, f"{page.name}: " + "; ".join(bad)


def test_the_check_rejects_a_numbered_equation():
    assert _numbered_like_the_paper("$$\nx = 1\n$$ (eq-x)\n")
    assert _numbered_like_the_paper("```{math}\n:label: eq-x\nx = 1\n```\n")
    assert _numbered_like_the_paper("$$ x = 1 \\tag{12} $$")
    assert _numbered_like_the_paper("\\begin{equation}\nx = 1 \\tag{10}\n\\end{equation}\n")
    assert not _numbered_like_the_paper("(eq-x)=\n$$\nx = 1 \\tag{G}\n$$\n$$ y \\tag{9} $$")
