"""Coursework: instructor and student notebooks generated from the chapters.

``python -m dipnb.coursework [--out DIR] [CHAPTER ...]`` (or ``make student``) reads each
paired chapter ``book/NAME.md`` and writes two notebooks:

``DIR/instructor/NAME.ipynb``
    an nbgrader *source* notebook. Every code cell inside a solution
    (``solution-start`` ... ``solution-end``) is wrapped in ``### BEGIN SOLUTION`` /
    ``### END SOLUTION`` and marked as an autograded answer; the prose of a solution
    becomes a manually graded answer cell (1 point); every check cell (first line
    ``# check: passes when the exercise is solved``) becomes a locked autograder test
    worth 1 point.
``DIR/student/NAME.ipynb``
    what nbgrader's ``ClearSolutions`` makes of the instructor notebook: solution code
    becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, solution prose
    becomes ``YOUR ANSWER HERE``; the check cells are kept.

Nothing in the chapters has to be marked for this: the exercise structure of the book
(``exercise-start``/``-end``, ``solution-start``/``-end``, the check cell) is the
marking. The MyST directive fences, which Jupyter shows as raw text, are replaced by
plain markdown (``### Exercise N``). ``--verify`` executes every student notebook
up to its first stub (which must raise ``NotImplementedError``, and nothing before it
may fail), then, in the same kernel, the instructor's solutions and every check.
``--check-install-cell`` / ``--add-install-cell`` test for / insert the hidden
first code cell that installs dipnb where it is missing (Colab).
"""
from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .experiments.results import book_root

__all__ = ["CHECK_LINE", "CODE_STUB", "TEXT_STUB", "INSTALL_CELL", "chapters", "instructor_notebook",
           "student_notebook", "clear_solutions", "write_coursework", "verify", "has_install_cell",
           "add_install_cell"]

#: The book's root: the folder holding ``_toc.yml``, found from the working directory up
#: (never beside the installed package); the working directory itself outside a book.
ROOT = book_root() or Path.cwd().resolve()
BOOK = ROOT / "book"
DEFAULT_OUT = ROOT / "_build" / "coursework"

CHECK_LINE = "# check: passes when the exercise is solved"
# nbgrader's conventions (ClearSolutions defaults, cell metadata schema version 3)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
SCHEMA_VERSION = 3

# The hidden first code cell of every chapter (tag remove-cell: executed, not shown in the
# book). In Colab, or any kernel without dipnb, it installs the package from the repository,
# and myst-nb for `glue`. It is a no-op where `make` or `pip install -r requirements.txt` ran.
INSTALL_CELL = (
    "# Colab or a fresh kernel: install dipnb if it is missing (this cell is hidden in the book)\n"
    "try:\n"
    "    import dipnb, myst_nb\n"
    "except ImportError:\n"
    '    %pip install --quiet "dipnb @ git+https://github.com/dipnb/dipnb" myst-nb'
)
INSTALL_TAG = "remove-cell"

# a MyST directive fence of the exercise structure: ```{solution-start} ex-label
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<kind>exercise|solution)-(?P<end>start|end)\}\s*(?P<arg>.*?)\s*$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")


# ---------------------------------------------------------------------------------------------
# chapters
# ---------------------------------------------------------------------------------------------
def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---", 4)
    return (yaml.safe_load(text[4:end]) or {}) if end > 0 else {}


def _toc_files(root: Path) -> list[str]:
    toc_path = root / "_toc.yml"
    if not toc_path.exists():
        return []
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(toc_path.read_text(encoding="utf-8")))
    return [f.removesuffix(".md").removesuffix(".ipynb") for f in found]


def chapters(root: Path | str = ROOT) -> list[Path]:
    """The notebook chapters ``book/*.md`` (with a ``kernelspec``), in table-of-contents order.

    Chapters not yet listed in ``_toc.yml`` follow, sorted by name, so that a new chapter is
    covered before it is added to the book.
    """
    root = Path(root)
    paired = {p.resolve() for p in (root / "book").glob("*.md") if "kernelspec" in _front_matter(p)}
    ordered = []
    for f in _toc_files(root):
        p = (root / f"{f}.md").resolve()
        if p in paired and p not in ordered:
            ordered.append(p)
    return ordered + sorted(paired - set(ordered))


def resolve_chapter(name: str, root: Path | str = ROOT) -> Path:
    """A chapter from its path (``book/04_theorem_iii1.md``), stem or number prefix (``04``)."""
    all_ = chapters(root)
    stem = Path(name).name.removesuffix(".md").removesuffix(".ipynb")
    hits = [p for p in all_ if p.stem == stem] or [p for p in all_ if p.stem.startswith(stem + "_")]
    if len(hits) != 1:
        raise ValueError(f"chapter {name!r} must name one of {[p.stem for p in all_]}, "
                         f"by stem or number prefix; it matches {len(hits)}")
    return hits[0]


# ---------------------------------------------------------------------------------------------
# the transformation
# ---------------------------------------------------------------------------------------------
@dataclass
class _State:
    chapter: str
    exercise: int = 0                   # exercises seen so far
    label: str | None = None            # label of the current exercise
    in_solution: bool = False
    ids: dict = field(default_factory=dict)

    def grade_id(self, what: str) -> str:
        label = re.sub(r"[^A-Za-z0-9_-]", "-", self.label or f"{self.chapter}-ex{self.exercise}")
        base = f"{label}-{what}"
        self.ids[base] = self.ids.get(base, 0) + 1
        return base if self.ids[base] == 1 else f"{base}-{self.ids[base]}"


def _nbgrader(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float = 1) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution}
    if grade:
        meta["points"] = points
    return meta


def _split_markdown(source: str, state: _State, where: str) -> list[tuple[str, str]]:
    """Split a markdown cell at the exercise fences into ('text' | 'solution', markdown) parts.

    exercise-start becomes an ``### Exercise N`` heading; the other fences disappear;
    text between solution-start and solution-end is a 'solution' part.
    """
    parts: list[tuple[str, list[str]]] = [("solution" if state.in_solution else "text", [])]
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            parts[-1][1].append(lines[i])
            i += 1
            continue
        # read the directive's options up to its closing fence
        options, j = {}, i + 1
        while j < len(lines) and lines[j].strip() != m["fence"]:
            opt = _OPTION.match(lines[j])
            if not opt:
                raise ValueError(f"{where}: unexpected line {lines[j]!r} inside the "
                                 f"{{{m['kind']}-{m['end']}}} fence (options only)")
            options[opt["key"]] = opt["value"]
            j += 1
        if j == len(lines):
            raise ValueError(f"{where}: the {{{m['kind']}-{m['end']}}} fence is never closed")
        i = j + 1
        kind, start = m["kind"], m["end"] == "start"
        if kind == "exercise" and start:
            if state.in_solution:
                raise ValueError(f"{where}: exercise-start inside a solution")
            state.exercise += 1
            state.label = options.get("label") or m["arg"] or None
            parts[-1][1].append(f"### Exercise {state.exercise}")
        elif kind == "solution" and start:
            if state.in_solution:
                raise ValueError(f"{where}: solution-start inside a solution")
            if m["arg"]:
                state.label = m["arg"]
            state.in_solution = True
            parts.append(("solution", []))
        elif kind == "solution":
            if not state.in_solution:
                raise ValueError(f"{where}: solution-end without solution-start")
            state.in_solution = False
            parts.append(("text", []))
    return [(kind, "\n".join(text).strip("\n")) for kind, text in parts if "\n".join(text).strip()]


def instructor_notebook(md: Path | str) -> nbformat.NotebookNode:
    """The nbgrader source notebook of a chapter (its solutions marked, its checks graded)."""
    md = Path(md)
    src = jupytext.read(md)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": src.metadata.get("kernelspec", {}),
                   "language_info": {"name": "python"},
                   "dipnb": {"chapter": md.stem, "version": "instructor"}}
    state = _State(md.stem)
    for index, cell in enumerate(src.cells):
        where = f"{md.name}, cell {index}"
        meta = {k: v for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "markdown":
            for kind, text in _split_markdown(cell.source, state, where):
                new = nbformat.v4.new_markdown_cell(text, metadata=copy.deepcopy(meta))
                if kind == "solution":   # written answer: nbgrader "manually graded answer"
                    new.metadata["nbgrader"] = _nbgrader(state.grade_id("answer"), solution=True,
                                                         grade=True, locked=False)
                nb.cells.append(new)
        elif cell.cell_type == "code":
            source = cell.source.strip("\n")
            new = nbformat.v4.new_code_cell(source, metadata=copy.deepcopy(meta))
            if state.in_solution:        # nbgrader "autograded answer"
                if CHECK_LINE in source:
                    raise ValueError(f"{where}: a check cell inside a solution")
                new.source = f"{BEGIN}\n{source}\n{END}"
                new.metadata["nbgrader"] = _nbgrader(state.grade_id("code"), solution=True,
                                                     grade=False, locked=False)
            elif source.split("\n", 1)[0].strip() == CHECK_LINE:   # nbgrader "autograder tests"
                if state.exercise == 0:
                    raise ValueError(f"{where}: a check cell before the first exercise")
                new.metadata["nbgrader"] = _nbgrader(state.grade_id("check"), solution=False,
                                                     grade=True, locked=True)
            nb.cells.append(new)
        else:
            nb.cells.append(nbformat.v4.new_raw_cell(cell.source, metadata=copy.deepcopy(meta)))
    if state.in_solution:
        raise ValueError(f"{md.name}: a solution-start without solution-end")
    for i, cell in enumerate(nb.cells):   # stable ids: regenerating gives the same files
        cell.id = f"cell-{i:03d}"
    return nb


def clear_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an instructor notebook with its solutions cleared, as nbgrader's ClearSolutions.

    A ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes the stub (code) or
    ``YOUR ANSWER HERE`` (markdown); a solution cell without a region is replaced whole.
    """
    out = copy.deepcopy(nb)
    out.metadata.setdefault("dipnb", {})["version"] = "student"
    for cell in out.cells:
        is_solution = cell.metadata.get("nbgrader", {}).get("solution", False)
        stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        lines, in_region, replaced = [], False, False
        for line in cell.source.split("\n"):
            if line.strip() == BEGIN:
                if in_region:
                    raise ValueError(f"nested {BEGIN!r} in {cell.source[:60]!r}")
                in_region = replaced = True
                indent = line[: line.find(BEGIN)]
                lines += [indent + s for s in stub.split("\n")]
            elif line.strip() == END:
                in_region = False
            elif not in_region:
                lines.append(line)
        if in_region:
            raise ValueError(f"{BEGIN!r} without {END!r} in {cell.source[:60]!r}")
        if replaced and not is_solution:
            raise ValueError(f"a solution region in a cell not marked as a solution: {cell.source[:60]!r}")
        cell.source = "\n".join(lines) if replaced else (stub if is_solution else cell.source)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out


def student_notebook(md: Path | str) -> nbformat.NotebookNode:
    """The student notebook of a chapter: its instructor notebook with the solutions cleared."""
    return clear_solutions(instructor_notebook(md))


def write_coursework(chapter_list=None, out: Path | str = DEFAULT_OUT) -> list[Path]:
    """Write ``out/instructor/NAME.ipynb`` and ``out/student/NAME.ipynb`` for each chapter."""
    out = Path(out)
    written = []
    for md in chapter_list if chapter_list is not None else chapters():
        md = Path(md)
        inst = instructor_notebook(md)
        for version, nb in (("instructor", inst), ("student", clear_solutions(inst))):
            path = out / version / f"{md.stem}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.validate(nb)
            nbformat.write(nb, path)
            written.append(path)
    return written


# ---------------------------------------------------------------------------------------------
# execution check
# ---------------------------------------------------------------------------------------------
@dataclass
class Verified:
    chapter: str
    first_stub: int | None   # cell index of the student's first stub (None: no code exercise)
    checks: int              # check cells that passed with the instructor's solutions
    seconds: float


def first_stub(student: nbformat.NotebookNode) -> int | None:
    """Index of the first code cell that is a cleared solution, or None."""
    for i, cell in enumerate(student.cells):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            return i
    return None


def verify(md: Path | str, timeout: int = 300) -> Verified:
    """Execute a chapter's student notebook up to its first stub, then its instructor's rest.

    One kernel (working directory ``book/``, as in the book build) runs the student's cells in
    order: all cells before the first stub must succeed, the stub must raise
    ``NotImplementedError``. The code cells before it are identical in both versions, so the same
    kernel then runs the instructor's cells from that index on: every solution and every
    check must pass. Raises AssertionError otherwise.
    """
    md = Path(md)
    inst = instructor_notebook(md)
    stud = clear_solutions(inst)
    stop = first_stub(stud)
    stop_at = len(stud.cells) if stop is None else stop
    for i in range(stop_at):
        if stud.cells[i].cell_type == "code":
            assert stud.cells[i].source == inst.cells[i].source, f"{md.stem}: code cell {i} differs before the stub"
    client = NotebookClient(stud, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(md.parent)}})
    checks, t0 = 0, time.perf_counter()
    with client.setup_kernel():
        for i in range(stop_at):
            if stud.cells[i].cell_type == "code":
                client.execute_cell(stud.cells[i], i)
        if stop is not None:
            try:
                client.execute_cell(stud.cells[stop], stop)
            except CellExecutionError as err:
                assert err.ename == "NotImplementedError", (
                    f"{md.stem}: the first stub (cell {stop}) raised {err.ename}, not NotImplementedError")
            else:
                raise AssertionError(f"{md.stem}: the first stub (cell {stop}) did not raise")
            client.nb = inst
            for i in range(stop, len(inst.cells)):
                cell = inst.cells[i]
                if cell.cell_type == "code":
                    client.execute_cell(cell, i)   # raises CellExecutionError on failure
                    checks += bool(cell.metadata.get("nbgrader", {}).get("grade"))
    return Verified(md.stem, stop, checks, time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# the hidden install cell
# ---------------------------------------------------------------------------------------------
def has_install_cell(path: Path | str) -> bool:
    """Whether the first code cell of a chapter (.md or .ipynb) is INSTALL_CELL tagged remove-cell."""
    nb = jupytext.read(Path(path))
    code = [c for c in nb.cells if c.cell_type == "code"]
    return bool(code) and code[0].source.strip() == INSTALL_CELL and \
        INSTALL_TAG in code[0].metadata.get("tags", [])


def add_install_cell(md: Path | str) -> bool:
    """Insert INSTALL_CELL before the first code cell of ``book/NAME.md``; update its .ipynb twin.

    Returns False (and changes nothing) if the chapter already has it.
    """
    md = Path(md)
    if has_install_cell(md):
        return False
    text = md.read_text(encoding="utf-8")
    m = re.search(r"^```\{code-cell\}", text, flags=re.M)
    if m is None:
        raise ValueError(f"{md}: no code cell to put the install cell before")
    block = f"```{{code-cell}} ipython3\n:tags: [{INSTALL_TAG}]\n\n{INSTALL_CELL}\n```\n\n"
    md.write_text(text[: m.start()] + block + text[m.start():], encoding="utf-8")
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--to", "ipynb", "--update", str(md)],
                   check=True)
    return True


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dipnb.coursework",
        description="Write instructor (nbgrader source) and student notebooks from the chapters.")
    parser.add_argument("chapters", nargs="*", help="chapters by stem or number (default: all)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    parser.add_argument("--verify", action="store_true",
                        help="also execute each student notebook up to its first stub, then the "
                             "instructor's solutions and checks (minutes: runs every chapter)")
    parser.add_argument("--check-install-cell", action="store_true",
                        help="only check that every chapter starts with the hidden install cell")
    parser.add_argument("--add-install-cell", action="store_true",
                        help="insert the hidden install cell where it is missing (edits book/*.md and .ipynb)")
    args = parser.parse_args(argv)
    try:
        selected = [resolve_chapter(c) for c in args.chapters] if args.chapters else chapters()
    except ValueError as err:
        parser.error(str(err))

    if args.check_install_cell or args.add_install_cell:
        missing = []
        for md in selected:
            if args.add_install_cell and add_install_cell(md):
                print(f"added the install cell to {md.relative_to(ROOT)} (and its .ipynb)")
            for path in (md, md.with_suffix(".ipynb")):
                if not (path.exists() and has_install_cell(path)):
                    missing.append(str(path.relative_to(ROOT)))
        for path in missing:
            print(f"{path}: first code cell is not the hidden install cell (tag {INSTALL_TAG})")
        return 1 if missing else 0

    for path in write_coursework(selected, args.out):
        print(f"wrote {path}")
    if args.verify:
        for md in selected:
            v = verify(md)
            where = "no code exercise" if v.first_stub is None else f"first stub at cell {v.first_stub}"
            print(f"{v.chapter}: student ok ({where}), instructor ok ({v.checks} checks), {v.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
