"""Coursework: nbgrader source notebooks and student notebooks generated from the chapters.

``python -m dipnb.coursework [--out DIR] [CHAPTER ...]`` (``make student``) writes, for each chapter
``book/NAME.md``, ``DIR/instructor/NAME.ipynb``, an nbgrader *source* notebook (solution code and
prose, check cells as autograder tests, written answers as manually graded tasks whose model answer
and rubric are a mark scheme; each ``grade_id`` is its exercise's label followed by ``-code``,
``-answer`` or ``-check``), and ``DIR/student/NAME.ipynb``, what nbgrader's own preprocessors make of
it (as ``nbgrader generate_assignment``: solutions, hidden tests and mark schemes removed).
This module does only what nbgrader does not: the book's exercise structure becomes nbgrader's
metadata, and the chapter's MyST becomes Markdown that Jupyter and Colab render (glued values,
references and citations written out, directives as a bold title and their body).

What each exercise gives is read from the chapter (book/instructors.md, "Writing an exercise"):

* its **level** N (1, 2 or 3), the option ``:class: difficulty-N`` of ``{exercise-start}``, shown in
  its heading; every graded cell of the exercise is worth N points;
* a **code** part when a check cell follows its solution: the solution's code cells become stubs
  (``### BEGIN SOLUTION`` ... ``### END SOLUTION`` around the whole cell, or around the parts a
  scaffolded cell marks itself), the check an autograder test; prose of the solution that no rubric
  closes is the instructor's notes, kept as comments inside the first solution region;
* a **written** part for each rubric of the solution (``:::{admonition} Rubric`` with ``:class:
  rubric``), whose answer is the solution's prose since the previous rubric, and one for a solution
  without a check (its code is then part of the model answer, never a stub). A written part is an
  nbgrader "manually graded task": the task's text, then the model answer and the rubric between
  ``=== BEGIN MARK SCHEME ===`` and ``=== END MARK SCHEME ===``, which nbgrader's ClearMarkScheme
  removes from the student version; the student writes in the cell that follows it.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
import time
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from . import _mystmd as myst
from ._book import INSTALL_TAG, install_cell, set_install_cell
from ._book import has_install_cell as _has_install_cell
from ._mystmd import BookIndex, book_index, chapter_glue, glue_values
from .experiments.results import book_root

__all__ = ["BookIndex", "Exercise", "Verified", "CHECK_LINE", "INSTALL_CELL", "LEVELS", "MARK_BEGIN",
           "MARK_END", "chapters", "exercise_plan", "instructor_notebook", "release", "write_coursework",
           "verify", "glue_values", "chapter_glue", "book_index", "has_install_cell", "add_install_cell"]

#: The book's root (``_toc.yml``) from the working directory up, never beside the installed package.
ROOT = book_root() or Path.cwd().resolve()
BOOK = ROOT / "book"
DEFAULT_OUT = ROOT / "_build" / "coursework"
#: Executed chapters, as ``DIR/book/NAME.ipynb`` (``make test``, ``make book``), read for the glued values.
EXECUTED_DIRS = (ROOT / "_build" / "executed", ROOT / "_build" / "jupyter_execute")

CHECK_LINE = "# check: passes when the exercise is solved"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"              # nbgrader's markers
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# nbgrader's ClearMarkScheme removes every line from one that holds "BEGIN MARK SCHEME" to one that
# holds "END MARK SCHEME", in task cells only
#: The delimiters of a written answer's mark scheme (its model answer and rubric).
MARK_BEGIN, MARK_END = "=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ==="
ANSWER_STUB = "YOUR ANSWER HERE"                                    # = nbgrader's text stub
#: The levels of the exercises, ``:class: difficulty-N``; each graded cell is worth N points.
LEVELS = {1: "apply", 2: "adapt", 3: "derive"}
SCHEMA_VERSION = 3                                                  # nbgrader's cell metadata

# The hidden first code cell of every chapter, generated from the repository's address in
# pyproject.toml ([tool.dipnb]; one home for it: dipnb._book).
INSTALL_CELL = install_cell(ROOT) if (ROOT / "pyproject.toml").is_file() else None

# a MyST directive fence of the exercise structure: ```{solution-start} ex-label
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<kind>exercise|solution)-(?P<end>start|end)\}\s*(?P<arg>.*?)\s*$")


# --- chapters ---------------------------------------------------------------------------------
def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    end = text.find("\n---", 4) if text.startswith("---\n") else -1
    return (yaml.safe_load(text[4:end]) or {}) if end > 0 else {}


def _toc_files(root: Path) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(node[k] for k in ("root", "file") if isinstance(node.get(k), str))
        for item in node.values() if isinstance(node, dict) else node if isinstance(node, list) else []:
            walk(item)

    walk(yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")) if (root / "_toc.yml").exists() else [])
    return [f.removesuffix(".md").removesuffix(".ipynb") for f in found]


def chapters(root: Path | str = ROOT) -> list[Path]:
    """The notebook chapters ``book/*.md`` (with a ``kernelspec``), in table-of-contents order;
    those not yet in ``_toc.yml`` follow, by name, so that a new chapter is covered at once."""
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
    if stem.isdigit():
        stem = f"{int(stem):02d}"                                    # 4 is chapter 04
    hits = [p for p in all_ if p.stem == stem] or [p for p in all_ if p.stem.startswith(stem + "_")]
    if len(hits) != 1:
        raise ValueError(f"chapter {name!r} must name one of {[p.stem for p in all_]}, "
                         f"by stem or number prefix; it matches {len(hits)}")
    return hits[0]



# --- the source notebook ----------------------------------------------------------------------
@dataclass
class Exercise:
    """What a chapter's text says of one exercise: its ``level`` (``:class: difficulty-N``), its
    check cells, the code cells and the rubrics of its solution (:func:`exercise_plan`)."""
    label: str
    level: int
    checks: int = 0
    codes: int = 0
    rubrics: int = 0

    @property
    def written(self) -> int:
        """Its written answers: one per rubric; a solution without a check is one at least."""
        return self.rubrics or (0 if self.checks else 1)

    @property
    def points(self) -> int:
        """Its points: its level for each graded cell (check cells and written answers)."""
        return self.level * (self.checks + self.written)


@dataclass
class _State:
    chapter: str
    exercise: int = 0                   # exercises seen so far
    label: str | None = None            # label of the current exercise
    in_solution: bool = False
    ids: dict = field(default_factory=dict)
    plan: dict = field(default_factory=dict)    # label -> Exercise
    final: bool = False                         # the plan is complete (the second pass)

    def nbgrader(self, label: str | None, part: str, points: int = 1) -> dict:
        """nbgrader's metadata of a cell: code (autograded answer), answer (manually graded task,
        locked, its mark scheme removed for students) or check (autograder tests, locked);
        grade_id ``LABEL-PART`` (then -2...)."""
        base = re.sub(r"[^A-Za-z0-9_-]", "-", f"{label or f'{self.chapter}-ex{self.exercise}'}-{part}")
        self.ids[base] = self.ids.get(base, 0) + 1
        meta = {"grade": part == "check", "grade_id": base if self.ids[base] == 1 else f"{base}-{self.ids[base]}",
                "locked": part != "code", "schema_version": SCHEMA_VERSION, "solution": part == "code"}
        if part == "answer":
            meta["task"] = True
        return meta if part == "code" else {**meta, "points": points}


def _level(options: dict, label: str, where: str) -> int:
    found = [c for c in str(options.get("class", "")).split() if c.startswith("difficulty-")]
    if len(found) != 1 or found[0] not in {f"difficulty-{n}" for n in LEVELS}:
        raise ValueError(f"{where}: exercise {label!r} needs one difficulty, the option `:class: difficulty-N` "
                         f"of its exercise-start with N in {sorted(LEVELS)} (found {found or 'none'})")
    return int(found[0].rsplit("-", 1)[1])


def _heading(number: int, exercise: Exercise | None) -> str:
    if exercise is None:                # the first pass, before the plan is known
        return f"### Exercise {number}"
    n, p = exercise.level, exercise.points
    return f"### Exercise {number} · level {n} {'★' * n} · {p} point{'s' if p != 1 else ''}"


def _split_markdown(source: str, state: _State, where: str) -> list[tuple[str, str, str | None]]:
    """A markdown cell split at the exercise fences into ``(kind, markdown, label)``: kind 'text',
    'solution', or the events 'start' and 'end' of a solution, label that of the part's exercise;
    exercise-start becomes ``### Exercise N`` with its level and points."""
    parts = [("solution" if state.in_solution else "text", [], state.label)]
    lines, i = source.split("\n"), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            parts[-1][1].append(lines[i])
            i += 1
            continue
        options, j = {}, i + 1                     # the directive's options, up to its closing fence
        while j < len(lines) and lines[j].strip() != m["fence"]:
            if not (opt := myst.OPTION.match(lines[j])):
                raise ValueError(f"{where}: unexpected line {lines[j]!r} inside the "
                                 f"{{{m['kind']}-{m['end']}}} fence (options only)")
            options[opt["key"]], j = opt["value"], j + 1
        if j == len(lines):
            raise ValueError(f"{where}: the {{{m['kind']}-{m['end']}}} fence is never closed")
        i, what = j + 1, f"{m['kind']}-{m['end']}"
        fault = (f"{what} inside a solution" if m["end"] == "start" and state.in_solution else
                 "solution-end without solution-start" if what == "solution-end" and not state.in_solution else
                 f"solution of {m['arg']!r} after the exercise {state.label!r}"
                 if what == "solution-start" and m["arg"] and state.label not in (None, m["arg"]) else None)
        if fault:
            raise ValueError(f"{where}: {fault}")
        if what == "exercise-start":
            state.exercise = state.exercise + 1
            state.label = options.get("label") or m["arg"] or f"{state.chapter}-ex{state.exercise}"
            level = _level(options, state.label, where)
            if not state.final:
                if state.label in state.plan:
                    raise ValueError(f"{where}: two exercises labelled {state.label!r}")
                state.plan[state.label] = Exercise(state.label, level)
            parts.append(("text", [_heading(state.exercise, state.plan[state.label] if state.final else None)],
                          state.label))
        elif what == "solution-start":
            state.label, state.in_solution = m["arg"] or state.label, True
            if state.label not in state.plan:
                raise ValueError(f"{where}: a solution of {state.label!r} without its exercise")
            parts += [("start", [], state.label), ("solution", [], state.label)]
        elif what == "solution-end":
            state.in_solution = False
            parts += [("end", [], state.label), ("text", [], state.label)]
    return [(kind, "\n".join(text).strip("\n"), label) for kind, text, label in parts
            if kind in ("start", "end") or "\n".join(text).strip()]


def _rubric_items(text: str) -> list[tuple[str, str]]:
    """Markdown split into ``("prose", text)`` and ``("rubric", body)``: a rubric is an admonition
    ``{admonition}`` with the class ``rubric``, its body the list of what earns the points."""
    items, prose, lines, i = [], [], text.split("\n"), 0
    while i < len(lines):
        d = myst.DIRECTIVE.match(lines[i])
        if d and d["name"] == "admonition":
            end = i + 1
            while end < len(lines) and not myst.closing(lines[end], d["fence"]):
                end += 1
            options, body = myst.directive_options(lines[i + 1:end])
            if "rubric" in str(options.get("class", "")).split():
                if "\n".join(prose).strip():
                    items.append(("prose", "\n".join(prose).strip("\n")))
                items.append(("rubric", "\n".join(body).strip("\n")))
                prose, i = [], end + 1
                continue
        prose.append(lines[i])
        i += 1
    if "\n".join(prose).strip():
        items.append(("prose", "\n".join(prose).strip("\n")))
    return items


def _comment(text: str, indent: str = "") -> str:
    return "\n".join(f"{indent}# {ln}".rstrip() for ln in text.split("\n"))


def _with_notes(source: str, notes: str, first: bool) -> str:
    """A solution cell's source with the instructor's notes as comments, at the start of its first
    solution region (``first``) or at the end of its last one."""
    lines = source.split("\n")
    k = (next(i for i, ln in enumerate(lines) if ln.strip() == BEGIN) if first
         else max(i for i, ln in enumerate(lines) if ln.strip() == END))
    indent = re.match(r"\s*", lines[k])[0]
    block = _comment("Notes of the book's solution:\n" + notes, indent).split("\n")
    return "\n".join(lines[:k + 1] + block + lines[k + 1:] if first else lines[:k] + block + lines[k:])


def _solution_cells(state: _State, label: str, items: list, ctx: myst.PageContext, where: str) -> list:
    """The cells of one solution, from its items ``("prose", markdown)``, ``("rubric", markdown)``
    and ``("code", source, metadata)`` in the order of the chapter (see the module's docstring)."""
    ex = state.plan[label]
    out, pending = [], []              # pending: markdown of the written part not yet closed
    for item in items:
        if item[0] == "prose":
            pending.append(myst.plain(item[1], ctx).strip("\n"))
        elif item[0] == "code" and ex.checks:
            out.append(["code", item[1], item[2]])
        elif item[0] == "code":        # no check: the code is part of the model answer
            pending.append(f"```python\n{item[1]}\n```")
        else:
            out.append(["written", pending, myst.plain(item[1], ctx).strip("\n")])
            pending = []
    if pending and not ex.checks:      # what follows the last rubric belongs to its answer
        last = [w for w in out if w[0] == "written"]
        if last:
            last[-1][1] += pending
        else:
            out.append(["written", pending, None])
        pending = []
    codes = [c for c in out if c[0] == "code"]
    if ex.checks and not codes:
        raise ValueError(f"{where}: the solution of {label!r} has a check but no code cell")
    cells, n_written = [], sum(w[0] == "written" for w in out)
    for entry in out:
        if entry[0] == "code":
            source = entry[1] if BEGIN in entry[1] else f"{BEGIN}\n{entry[1]}\n{END}"
            cell = nbformat.v4.new_code_cell(source, metadata=copy.deepcopy(entry[2]))
            cell.metadata["nbgrader"] = state.nbgrader(label, "code")
            cells.append(cell)
            continue
        k = sum(c.metadata.get("nbgrader", {}).get("task", False) for c in cells) + 1
        name = f"Written answer {k} of {n_written}" if n_written > 1 else "Written answer"
        s = "s" if ex.level != 1 else ""
        body = "\n\n".join(p for p in entry[1] if p.strip()) or "(see the rubric)"
        rubric = f"**Rubric** ({ex.level} point{s})\n\n{entry[2]}" if entry[2] else "**Rubric**: none written."
        task = nbformat.v4.new_markdown_cell(
            f"**{name}** ({ex.level} point{s}): write it in the next cell.\n\n{MARK_BEGIN}\n\n"
            f"**Model answer.**\n\n{body}\n\n{rubric}\n\n{MARK_END}")
        task.metadata["nbgrader"] = state.nbgrader(label, "answer", ex.level)
        cells += [task, nbformat.v4.new_markdown_cell(ANSWER_STUB)]
    if pending:                        # prose that no rubric closes, in a code exercise: notes
        notes = "\n\n".join(p for p in pending if p.strip())
        after = [c for c in cells if c.cell_type == "code"]
        last_written = max((i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("task")), default=-1)
        later = [c for c in after if cells.index(c) > last_written]
        target, first = (later[0], True) if later else (after[-1], False)
        target.source = _with_notes(target.source, notes, first)
    return cells


def exercise_plan(md: Path | str) -> dict[str, Exercise]:
    """The exercises of a chapter by label, in the order of the text: level, check cells, code
    cells and rubrics of each (the first pass of :func:`instructor_notebook`)."""
    md = Path(md)
    state = _State(md.stem)
    for number, cell in enumerate(jupytext.read(md).cells):
        where = f"{md.name}, cell {number}"
        if cell.cell_type == "markdown":
            for kind, text, label in _split_markdown(cell.source, state, where):
                if kind == "solution":
                    state.plan[label].rubrics += sum(k == "rubric" for k, _ in _rubric_items(text))
                elif kind == "text" and any(k == "rubric" for k, _ in _rubric_items(text)):
                    raise ValueError(f"{where}: a rubric outside a solution (students would see it)")
        elif cell.cell_type == "code":
            source = cell.source.strip("\n")
            check = source.split("\n", 1)[0].strip() == CHECK_LINE
            fault = ("a check cell inside a solution" if state.in_solution and CHECK_LINE in source else
                     "a check cell before the first exercise" if check and not state.exercise else
                     "hidden tests outside a check cell" if HIDDEN_BEGIN in source and not check else
                     "solution markers outside a solution" if BEGIN in source and not state.in_solution else None)
            if fault:
                raise ValueError(f"{where}: {fault}")
            if state.in_solution:
                state.plan[state.label].codes += 1
            elif check:
                state.plan[state.label].checks += 1
    if state.in_solution:
        raise ValueError(f"{md.name}: a solution-start without solution-end")
    return dict(state.plan)


def instructor_notebook(md: Path | str, glue: Mapping | None = None,
                        index: BookIndex | None = None) -> nbformat.NotebookNode:
    """The nbgrader source notebook of a chapter, its MyST made plain Markdown with the glued values
    ``glue`` (:func:`chapter_glue`); ``None`` keeps the glue roles, which only uses that execute the
    code (:func:`verify`, the tests of the checks) may do."""
    md = Path(md)
    plan = exercise_plan(md)
    src, index = jupytext.read(md), index or book_index(md.parent.parent)
    ctx, state = myst.PageContext(md.stem, index, glue), _State(md.stem, plan=plan, final=True)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": src.metadata.get("kernelspec", {}), "language_info": {
        "name": "python"}, "dipnb": {"chapter": md.stem, "version": "instructor"}})
    solution = None                      # the items of the solution being read
    for number, cell in enumerate(src.cells):
        where = f"{md.name}, cell {number}"
        meta = {k: copy.deepcopy(v) for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "markdown":
            for kind, text, label in _split_markdown(cell.source, state, where):
                if kind == "start":
                    solution = []
                elif kind == "solution":
                    solution += _rubric_items(text)
                elif kind == "end":
                    nb.cells.extend(_solution_cells(state, label, solution, ctx, where))
                    solution = None
                else:
                    new = nbformat.v4.new_markdown_cell(myst.plain(text, ctx).strip("\n"), metadata=copy.deepcopy(meta))
                    if new.source.strip():
                        nb.cells.append(new)
        elif cell.cell_type == "code":
            source = cell.source.strip("\n")
            if state.in_solution:
                solution.append(("code", source, meta))
                continue
            new = nbformat.v4.new_code_cell(source, metadata=meta)
            if source.split("\n", 1)[0].strip() == CHECK_LINE:   # nbgrader's "autograder tests"
                new.metadata["nbgrader"] = state.nbgrader(state.label, "check", plan[state.label].level)
            nb.cells.append(new)
        else:
            nb.cells.append(nbformat.v4.new_raw_cell(cell.source, metadata=meta))
    if ctx.cites:                        # the works cited, numbered as in the text
        refs = [f"{i}. {myst.reference_text(index.bib[k]) if k in index.bib else k}" for i, k in enumerate(ctx.cites, 1)]
        nb.cells.append(nbformat.v4.new_markdown_cell("### References\n\n" + "\n".join(refs)))
    for i, cell in enumerate(nb.cells):   # stable ids: regenerating gives the same files
        cell.id = f"cell-{i:03d}"
    return nb


def release(instructor: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a source notebook, made by nbgrader's own preprocessors: those of
    ``nbgrader generate_assignment`` that need no course database, in its order."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        LockCells,
    )
    nb, resources = copy.deepcopy(instructor), {}
    for pp in (LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ClearHiddenTests, ClearMarkScheme,
               CheckCellMetadata):
        nb, resources = pp().preprocess(nb, resources)
    nb.metadata.setdefault("dipnb", {})["version"] = "student"
    return nb


def write_coursework(chapter_list=None, out: Path | str = DEFAULT_OUT, executed_dirs=EXECUTED_DIRS,
                     log=print) -> list[Path]:
    """Write ``out/instructor/NAME.ipynb`` and ``out/student/NAME.ipynb`` for each chapter, with
    the glued values of :func:`chapter_glue` in their text."""
    written, index = [], None
    for md in map(Path, chapter_list if chapter_list is not None else chapters()):
        index = index or book_index(md.parent.parent)
        inst = instructor_notebook(md, chapter_glue(md, executed_dirs, log=log), index)
        for version, nb in (("instructor", inst), ("student", release(inst))):
            path = Path(out) / version / f"{md.stem}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.validate(nb)
            nbformat.write(nb, path)
            written.append(path)
    return written


# --- execution check --------------------------------------------------------------------------
# first_stub: cell index of the student's first stub (None: no code exercise); checks: check cells passed
Verified = namedtuple("Verified", "chapter first_stub checks seconds")
Verified.__doc__ = ("What :func:`verify` found for one chapter: its name, the first stub the student notebook "
                    "stops at, the checks run, and the seconds it took.")


def verify(md: Path | str, timeout: int = 300) -> Verified:
    """Execute a chapter's student notebook up to its first stub, which must raise
    ``NotImplementedError`` (no cell before it may fail; a scaffolded stub, which only defines a
    function, may leave the raise to the cells after it, up to the exercise's check), then, in the
    same kernel (working directory ``book/``), the instructor's cells from there: every solution
    and every check, hidden tests included, must pass. Raises AssertionError or
    CellExecutionError otherwise."""
    md = Path(md)
    inst = instructor_notebook(md)
    stud = release(inst)
    stop = next((i for i, c in enumerate(stud.cells)
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")), None)
    stop_at = len(stud.cells) if stop is None else stop
    client = NotebookClient(stud, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(md.parent)}})
    checks, t0 = 0, time.perf_counter()
    with client.setup_kernel():
        for i in (i for i in range(stop_at) if stud.cells[i].cell_type == "code"):
            client.execute_cell(stud.cells[i], i)
        if stop is not None:
            last = next((i for i in range(stop, len(stud.cells)) if stud.cells[i].cell_type == "code"
                         and stud.cells[i].source.startswith(CHECK_LINE)), stop)
            for i in (i for i in range(stop, last + 1) if stud.cells[i].cell_type == "code"):
                try:
                    client.execute_cell(stud.cells[i], i)
                except CellExecutionError as err:
                    assert err.ename == "NotImplementedError", (
                        f"{md.stem}: the first stub (cell {stop}) raised {err.ename} at cell {i}, "
                        "not NotImplementedError")
                    break
            else:
                raise AssertionError(f"{md.stem}: the first stub (cell {stop}) did not raise, "
                                     "nor did its check")
            client.nb = inst
            for i in (i for i in range(stop, len(inst.cells)) if inst.cells[i].cell_type == "code"):
                client.execute_cell(inst.cells[i], i)   # raises CellExecutionError on failure
                checks += bool(inst.cells[i].metadata.get("nbgrader", {}).get("grade"))
    return Verified(md.stem, stop, checks, time.perf_counter() - t0)


# --- the hidden install cell ------------------------------------------------------------------
def has_install_cell(path: Path | str) -> bool:
    """Whether the first code cell of a chapter (.md or .ipynb) is INSTALL_CELL tagged remove-cell."""
    return _has_install_cell(path, ROOT)


def add_install_cell(md: Path | str) -> bool:
    """Make INSTALL_CELL the first code cell of ``book/NAME.md`` (inserting it, or replacing an older
    install cell) and update its .ipynb twin; False (and nothing changed) if it already is."""
    return set_install_cell(md, ROOT)


# --- command line -----------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dipnb.coursework",
        description="Write instructor (nbgrader source) and student notebooks from the chapters.")
    parser.add_argument("chapters", nargs="*", help="chapters by stem or number (default: all)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    parser.add_argument("--executed", action="append", metavar="DIR", help="executed chapters "
                        "(DIR/book/NAME.ipynb) to read the glued values from (default: _build/executed, "
                        "_build/jupyter_execute; a chapter found in none is run)")
    parser.add_argument("--verify", action="store_true", help="also execute each student notebook up to "
                        "its first stub, then the instructor's solutions and checks (runs every chapter)")
    parser.add_argument("--check-install-cell", action="store_true",
                        help="only check that every chapter starts with the hidden install cell")
    parser.add_argument("--add-install-cell", action="store_true",
                        help="insert or update the hidden install cell where it is missing or out of date "
                             "(edits book/*.md and .ipynb)")
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
            missing += [str(p.relative_to(ROOT)) for p in (md, md.with_suffix(".ipynb"))
                        if not (p.exists() and has_install_cell(p))]
        for path in missing:
            print(f"{path}: first code cell is not the hidden install cell (tag {INSTALL_TAG})")
        return 1 if missing else 0

    for path in write_coursework(selected, args.out, [Path(d) for d in args.executed or EXECUTED_DIRS]):
        print(f"wrote {path}")
    for v in map(verify, selected if args.verify else []):
        where = "no code exercise" if v.first_stub is None else f"first stub at cell {v.first_stub}"
        print(f"{v.chapter}: student ok ({where}), instructor ok ({v.checks} checks), {v.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
