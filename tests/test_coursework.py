"""Coursework notebooks (dipnb.coursework): what dipnb does that nbgrader does not.

* the exercise structure of a chapter becomes nbgrader's cell metadata, each ``grade_id``
  named after the label of its exercise (checked against the chapter's own text), and every
  source notebook passes nbgrader's own metadata validation (``CheckCellMetadata``);
* every generated cell matches its exercise's kind: a code stub only where a check tests the
  code, a written answer only where a rubric asks for one (or the exercise has no check); each
  graded cell is worth the exercise's level, which its heading shows; a rubric becomes the mark
  scheme of the written answer's task cell, which students never see;
* the check cells hide their comparisons with the reference (nbgrader's hidden tests): what a
  student sees of a check tests only types and shapes;
* the MyST markdown becomes Markdown that Jupyter renders: no role, directive, target or
  labelled equation is left, glue roles show the glued values;
* the hidden install cell; the student notebook runs to its first stub, also without
  ``results/``.

What nbgrader does itself (clearing solutions and hidden tests, generate_assignment,
autograde) is tested with nbgrader in tests/test_nbgrader.py.

Executing a chapter costs as much as its nbmake run, so by default only chapter 10 is executed
here, without ``results/`` (the one chapter whose check reads a saved result);
``DIPNB_COURSEWORK_VERIFY=all`` (or a comma list such as ``01,05``) executes more, and ``make
student-check`` executes them all.
"""
from __future__ import annotations

import ast
import os
import re
import textwrap
from pathlib import Path

import jupytext
import nbformat
import pytest

from dipnb import coursework as cw

CHAPTERS = cw.chapters()
IDS = [p.stem for p in CHAPTERS]
INDEX = cw.book_index()

# MyST that Jupyter shows as raw text
ROLE = re.compile(r"\{[A-Za-z][\w.+:-]*\}`")
DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,}|~{3,})\{", re.M)
TARGET = re.compile(r"^\s*\([^()\s]+\)=\s*$", re.M)
EQ_LABEL = re.compile(r"\$\$[ \t]*\([\w.:-]+\)[ \t]*$", re.M)
GLUE_NAME = re.compile(r"\{glue(?::\w*)?\}`([^`:]+)")


def unresolved_myst(nb) -> list[str]:
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for pattern in (ROLE, DIRECTIVE, TARGET, EQ_LABEL):
                found += [f"cell {i}: {m.group(0)!r}" for m in pattern.finditer(cell.source)]
    return found


def stand_in_glue(md: Path) -> dict:
    """A value for every name that the chapter's text glues (the real values need a run)."""
    return {name.strip(): {"text/plain": "0.5"} for name in GLUE_NAME.findall(md.read_text(encoding="utf-8"))}


def solution_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def check_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(cw.CHECK_LINE)]


def nbgrader_stubs():
    from nbgrader.preprocessors import ClearSolutions
    pp = ClearSolutions()
    return pp.code_stub["python"], pp.text_stub


# ---------------------------------------------------------------------------------------------
# the real chapters
# ---------------------------------------------------------------------------------------------
def test_every_chapter_is_found():
    on_disk = {p.stem for p in cw.BOOK.glob("*.md") if "kernelspec" in cw._front_matter(p)}
    assert on_disk and {p.stem for p in CHAPTERS} == on_disk


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_instructor_is_an_nbgrader_source_notebook(md):
    from nbgrader.preprocessors import CheckCellMetadata

    inst = cw.instructor_notebook(md, stand_in_glue(md), INDEX)
    nbformat.validate(inst)
    CheckCellMetadata().preprocess(inst, {})      # nbgrader's own validation (raises)
    # the code is the chapter's code, less the code of solutions without a check (part of a
    # written answer); a solution cell is the chapter's with BEGIN/END SOLUTION around it (or
    # its own markers) and, perhaps, the notes of the book's solution as comments
    chapter_code = [c.source.strip("\n") for c in jupytext.read(md).cells if c.cell_type == "code"]
    kept = [src for src, written in zip(chapter_code, code_in_written_solutions(md)) if not written]
    inst_code = [c for c in inst.cells if c.cell_type == "code"]
    assert len(inst_code) == len(kept)
    for cell, src in zip(inst_code, kept):
        if cell.metadata.get("nbgrader", {}).get("solution"):
            assert cell.source.startswith(cw.BEGIN + "\n") or cw.BEGIN not in src.split("\n", 1)[0]
            assert is_chapter_code_with_comments(cell.source, src), (cell.source, src)
        else:
            assert cell.source == src
    # every check cell is a locked autograder test, and nothing else is graded code
    graded = [c for c in inst.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert graded == check_cells(inst)
    assert len(graded) == sum(src.startswith(cw.CHECK_LINE) for src in chapter_code)
    assert all(c.metadata["nbgrader"]["locked"] for c in graded)


def strip_markers(source: str) -> list[str]:
    return [ln for ln in source.split("\n") if ln.strip() not in (cw.BEGIN, cw.END)]


def is_chapter_code_with_comments(generated: str, chapter: str) -> bool:
    """Whether ``generated`` is ``chapter`` (solution markers aside) with comment lines added."""
    lines, extra, i = strip_markers(generated), [], 0
    want = strip_markers(chapter)
    for line in lines:
        if i < len(want) and line == want[i]:
            i += 1
        else:
            extra.append(line)
    return i == len(want) and all(ln.strip().startswith("#") or not ln.strip() for ln in extra)


def code_in_written_solutions(md: Path) -> list[bool]:
    """For each code cell of the chapter, whether it lies in the solution of an exercise
    without a check (read from the MyST text)."""
    ex = exercises_of(md)
    return [cell["exercise"] is not None and cell["in_solution"] and not ex[cell["exercise"]]["checks"]
            for cell in code_cells_of(md)]


def code_cells_of(md: Path) -> list[dict]:
    return [c for c in read_structure(md) if c["kind"] == "code"]


def exercises_of(md: Path) -> dict[str, dict]:
    """Each exercise of the chapter's text: level, check cells, and the items of its solution in
    order ('code', 'rubric')."""
    found = {}
    for item in read_structure(md):
        if item["kind"] == "exercise":
            found[item["label"]] = {"level": item["level"], "checks": 0, "items": []}
        elif item["kind"] == "code" and item["in_solution"]:
            found[item["exercise"]]["items"].append("code")
        elif item["kind"] == "code" and item["check"]:
            found[item["exercise"]]["checks"] += 1
        elif item["kind"] == "rubric":
            found[item["exercise"]]["items"].append("rubric")
            found[item["exercise"]].setdefault("rubrics", []).append(item["text"])
    return found


def read_structure(md: Path) -> list[dict]:
    """The exercise structure of a chapter, read line by line from its MyST text: exercises
    (label, level), code cells (in a solution or not, a check or not) and rubrics, in order."""
    lines = md.read_text(encoding="utf-8").split("\n")
    out, label, in_solution, i = [], None, False, 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^`{3,}\{exercise-start\}", line):
            label = re.match(r"^:label:\s*(\S+)", lines[i + 1])[1]
            level = re.search(r"^:class:.*\bdifficulty-(\d)\b", "\n".join(lines[i + 1:i + 4]), re.M)
            out.append({"kind": "exercise", "label": label, "level": int(level[1]) if level else None})
        elif re.match(r"^`{3,}\{solution-start\}", line):
            assert line.split("}", 1)[1].strip() == label, f"{md.name}: {line!r} in exercise {label}"
            in_solution = True
        elif re.match(r"^`{3,}\{solution-end\}", line):
            in_solution = False
        elif re.match(r"^(:{3,}|`{3,})\{admonition\}", line) and re.match(r"^:class:.*\brubric\b", lines[i + 1]):
            end = next(j for j in range(i + 2, len(lines)) if lines[j].strip() == line.split("{")[0])
            out.append({"kind": "rubric", "exercise": label, "text": "\n".join(lines[i + 2:end])})
            i = end
        elif line.startswith("```{code-cell}"):
            j = i + 1
            while lines[j].startswith(":") or not lines[j].strip():
                j += 1
            out.append({"kind": "code", "exercise": label, "in_solution": in_solution,
                        "check": lines[j].strip() == cw.CHECK_LINE})
            while not lines[i + 1].startswith("```"):
                i += 1
            i += 1
        i += 1
    return out


def expected_grade_ids(md: Path) -> list[str]:
    """The grade_ids that the exercises of a chapter must give, read from its MyST text.

    An exercise ``:label: L`` with a check cell gives, in the order of its solution, ``L-code``
    for each code cell and ``L-answer`` for each rubric (a written answer), then ``L-check``;
    without a check, ``L-answer`` for each rubric, or one if it has none (its code is part of the
    answer). A second cell of the same kind gets ``-2``.
    """
    ids, seen = [], {}

    def add(label, part):
        base = f"{label}-{part}"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")

    for label, ex in exercises_of(md).items():
        if ex["checks"]:
            for item in ex["items"]:
                add(label, "code" if item == "code" else "answer")
            for _ in range(ex["checks"]):
                add(label, "check")
        else:
            for _ in range(max(1, ex["items"].count("rubric"))):
                add(label, "answer")
    return ids


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_grade_ids_are_the_exercise_labels(md):
    inst = cw.instructor_notebook(md, stand_in_glue(md), INDEX)
    got = [c.metadata["nbgrader"]["grade_id"] for c in inst.cells if "nbgrader" in c.metadata]
    assert got == expected_grade_ids(md)


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_every_exercise_has_a_level_that_weights_its_points(md):
    inst = cw.instructor_notebook(md, stand_in_glue(md), INDEX)
    exercises = exercises_of(md)
    headings = [c.source.split("\n", 1)[0] for c in inst.cells if c.source.startswith("### Exercise ")]
    assert len(headings) == len(exercises)
    for heading, (label, ex) in zip(headings, exercises.items()):
        assert ex["level"] in (1, 2, 3), f"{md.name}: {label} has no `:class: difficulty-N`"
        graded = [c.metadata["nbgrader"] for c in inst.cells if "nbgrader" in c.metadata
                  and c.metadata["nbgrader"]["grade_id"].startswith(f"{label}-")
                  and (c.metadata["nbgrader"]["grade"] or c.metadata["nbgrader"].get("task"))]
        assert graded and all(g["points"] == ex["level"] for g in graded), (label, graded)
        total = ex["level"] * len(graded)
        assert heading.endswith(f"level {ex['level']} {'★' * ex['level']} · {total} point{'s' * (total != 1)}"), heading


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_cells_match_the_kind_of_their_exercise(md):
    """A code stub only where a check tests the code; a written answer only where a rubric asks
    for one or nothing else is graded; every written answer has its rubric."""
    inst = cw.instructor_notebook(md, stand_in_glue(md), INDEX)
    for label, ex in exercises_of(md).items():
        mine = [c for c in inst.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith(f"{label}-")]
        stubs = [c for c in mine if c.metadata["nbgrader"]["solution"]]
        tasks = [c for c in mine if c.metadata["nbgrader"].get("task")]
        assert all(c.cell_type == "code" for c in stubs), label       # no markdown solution cell
        assert bool(stubs) == bool(ex["checks"]), f"{md.name}: {label}: {len(stubs)} code stubs, {ex['checks']} checks"
        assert len(tasks) == (ex["items"].count("rubric") or (0 if ex["checks"] else 1)), label
        assert ex["checks"] or ex["items"].count("rubric"), f"{md.name}: the written exercise {label} has no rubric"


RUBRIC_POINT = re.compile(r"^\* (\d+) points?:", re.M)


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_each_rubric_shares_out_the_points_of_its_written_answer(md):
    for label, ex in exercises_of(md).items():
        for text in ex.get("rubrics", []):
            points = [int(n) for n in RUBRIC_POINT.findall(text)]
            assert points and sum(points) == ex["level"], (
                f"{md.name}: the rubric of {label} (level {ex['level']}) must list '* N point(s): ...' "
                f"items that sum to {ex['level']}, found {points}")


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_generated_notebooks_have_no_myst_left(md):
    inst = cw.instructor_notebook(md, stand_in_glue(md), INDEX)
    stud = cw.release(inst)
    assert unresolved_myst(inst) == [] and unresolved_myst(stud) == []
    if GLUE_NAME.search(md.read_text(encoding="utf-8")):
        assert "0.5" in "\n".join(c.source for c in inst.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_student_has_stubs_visible_checks_and_no_solution_or_hidden_test(md):
    inst = cw.instructor_notebook(md, stand_in_glue(md), INDEX)
    stud = cw.release(inst)
    code_stub, text_stub = nbgrader_stubs()
    assert len(stud.cells) == len(inst.cells)
    hidden = [hidden_lines(c) for c in inst.cells]
    public = "\n".join(ln for c, h in zip(inst.cells, hidden) for ln in c.source.split("\n") if ln not in h)
    student_text = "\n".join(c.source for c in stud.cells)
    for a, b, h in zip(inst.cells, stud.cells, hidden):
        meta = a.metadata.get("nbgrader", {})
        for line in h:
            line = line.strip()
            if len(line) >= 8 and line not in (cw.BEGIN, cw.END, cw.MARK_BEGIN, cw.MARK_END) and line not in public:
                assert line not in student_text, f"solution text left in the student notebook: {line!r}"
        if meta.get("solution"):
            assert a.cell_type == "code"
            if a.source.startswith(cw.BEGIN) and a.source.endswith(cw.END) and a.source.count(cw.BEGIN) == 1:
                assert b.source == code_stub
            else:                                     # a scaffold: the student keeps what is outside
                assert code_stub.split("\n")[-1] in b.source
        elif meta.get("task"):                        # the written answer's task, its mark scheme removed
            assert b.source == a.source[:a.source.index(cw.MARK_BEGIN)].rstrip("\n") + "\n"
        elif a.source.startswith(cw.CHECK_LINE):     # the check without its hidden tests
            visible = re.sub(rf"\n?{cw.HIDDEN_BEGIN}\n.*?{cw.HIDDEN_END}", "", a.source, flags=re.S)
            assert b.source == visible and "assert" in visible
        else:
            assert b.source == a.source
    for marker in (cw.HIDDEN_BEGIN, cw.BEGIN, "MARK SCHEME", "Model answer", "Rubric"):
        assert marker not in student_text, marker
    assert text_stub not in [c.source for c in stud.cells if c.metadata.get("nbgrader", {}).get("solution")]


def hidden_lines(cell) -> set[str]:
    """The lines of an instructor cell that nbgrader removes: solution regions, hidden tests,
    mark schemes."""
    meta, out, inside = cell.metadata.get("nbgrader", {}), set(), False
    begin, end = {"solution": (cw.BEGIN, cw.END), "task": (cw.MARK_BEGIN, cw.MARK_END)}.get(
        "solution" if meta.get("solution") else "task" if meta.get("task") else "", (cw.HIDDEN_BEGIN, cw.HIDDEN_END))
    for line in cell.source.split("\n"):
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside:
            out.add(line)
    return out


VISIBLE_OK = {"shape", "ndim", "isinstance"}


def shows_the_answer(check_source: str) -> list[str]:
    """The asserts of a check's visible part that test more than a type or a shape."""
    visible = re.sub(rf"{cw.HIDDEN_BEGIN}.*?{cw.HIDDEN_END}", "", check_source, flags=re.S)
    bad = []
    for node in ast.walk(ast.parse(visible)):
        if isinstance(node, ast.Assert):
            names = {n.attr for n in ast.walk(node.test) if isinstance(n, ast.Attribute)} | \
                    {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
            if not names & VISIBLE_OK:
                bad.append(ast.unparse(node))
    return bad


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_what_a_student_sees_of_a_check_tests_only_types_and_shapes(md):
    checks = check_cells(jupytext.read(md))
    for cell in checks:
        assert cw.HIDDEN_BEGIN in cell.source and cw.HIDDEN_END in cell.source, (
            f"{md.name}: a check without hidden tests:\n{cell.source}")
        assert shows_the_answer(cell.source) == [], f"{md.name}: visible asserts give the answer away"


def test_a_visible_comparison_with_the_answer_is_caught():
    assert shows_the_answer(f"{cw.CHECK_LINE}\nassert abs(q6 - 1.5) < 0.01, q6") == ["assert abs(q6 - 1.5) < 0.01, q6"]
    assert shows_the_answer(f"{cw.CHECK_LINE}\nassert np.ndim(q6) == 0\n{cw.HIDDEN_BEGIN}\n"
                            f"assert abs(q6 - 1.5) < 0.01\n{cw.HIDDEN_END}") == []


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_chapter_starts_with_the_hidden_install_cell(md):
    for path in (md, md.with_suffix(".ipynb")):
        assert cw.has_install_cell(path), (
            f"{path.name}: the first code cell must be dipnb.coursework.INSTALL_CELL tagged "
            f"{cw.INSTALL_TAG} (add it with `python -m dipnb.coursework --add-install-cell {md.stem}`)")


def test_install_cell_is_python_that_pip_installs_only_when_dipnb_is_missing():
    import ast

    tree = ast.parse(cw.INSTALL_CELL)
    handler = [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]
    assert len(handler) == 1 and handler[0].type.id == "ImportError"
    assert "pip" in ast.unparse(handler[0]) and "pip" not in ast.unparse(tree.body[0].body)


def _verify_selection() -> list[Path]:
    wanted = os.environ.get("DIPNB_COURSEWORK_VERIFY", "")
    if wanted == "all":
        return CHAPTERS
    if wanted:
        return [cw.resolve_chapter(name.strip()) for name in wanted.split(",") if name.strip()]
    return [cw.resolve_chapter("10")]


@pytest.mark.parametrize("md", _verify_selection(), ids=lambda p: p.stem)
def test_student_runs_to_its_first_stub_and_every_check_passes_without_results(md, tmp_path, monkeypatch):
    monkeypatch.setenv("DIPNB_RESULTS", str(tmp_path))    # an empty results/: as outside the repository
    result = cw.verify(md)
    assert result.first_stub is not None
    assert result.checks == len(check_cells(cw.instructor_notebook(md))) >= 1


# ---------------------------------------------------------------------------------------------
# the transformation on small made-up chapters
# ---------------------------------------------------------------------------------------------
HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def chapter(tmp_path, body: str, name="90_toy") -> Path:
    md = tmp_path / "book" / f"{name}.md"
    md.parent.mkdir(exist_ok=True)
    md.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    return md


TOY = """
# Toy

```{code-cell} ipython3
base = 2
```

## Exercises

```{exercise-start}
:label: ex-toy
:class: difficulty-1
```
Store `base ** 3` in `cube`.
```{exercise-end}
```

```{solution-start} ex-toy
:class: dropdown
```
SECRET-PROSE: cube it.

```{code-cell} ipython3
cube = base ** 3   # SECRET-CODE
```

```{code-cell} ipython3
helper = cube + 1  # SECRET-SECOND
```

```{solution-end}
```

```{code-cell} ipython3
# check: passes when the exercise is solved
assert np.ndim(cube) == 0
### BEGIN HIDDEN TESTS
assert cube == 8 and helper == 9   # SECRET-HIDDEN
### END HIDDEN TESTS
```

```{exercise-start}
:label: ex-toy-2
:class: difficulty-2
```
Explain.
```{exercise-end}
```

```{solution-start} ex-toy-2
:class: dropdown
```
SECRET-WRITTEN answer.

:::{admonition} Rubric
:class: rubric
* 2 points: SECRET-RUBRIC of the answer.
:::
```{solution-end}
```

```{exercise-start}
:label: ex-toy-3
:class: difficulty-3
```
Explain again.
```{exercise-end}
```

```{solution-start} ex-toy-3
:class: dropdown
```
SECRET-THIRD answer.
```{solution-end}
```
"""


def test_toy_chapter_marks_solutions_and_checks(tmp_path):
    md = chapter(tmp_path, TOY.replace("```{code-cell} ipython3\nbase = 2",
                                       "```{code-cell} ipython3\nimport numpy as np\nbase = 2"))
    inst = cw.instructor_notebook(md, {})
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in inst.cells
            if "nbgrader" in c.metadata}
    # ex-toy-2 and ex-toy-3 share one markdown cell: each answer is named after its own exercise;
    # ex-toy is code only: its solution's prose is no written answer
    assert list(meta) == ["ex-toy-code", "ex-toy-code-2", "ex-toy-check", "ex-toy-2-answer", "ex-toy-3-answer"]
    assert expected_grade_ids(md) == list(meta)
    assert meta["ex-toy-code"] == {"grade": False, "grade_id": "ex-toy-code", "locked": False,
                                   "schema_version": 3, "solution": True}
    assert meta["ex-toy-check"] == {"grade": True, "grade_id": "ex-toy-check", "locked": True, "points": 1,
                                    "schema_version": 3, "solution": False}
    assert meta["ex-toy-2-answer"] == {"grade": False, "grade_id": "ex-toy-2-answer", "locked": True,
                                       "points": 2, "schema_version": 3, "solution": False, "task": True}
    assert meta["ex-toy-3-answer"]["points"] == 3
    tasks = {c.metadata["nbgrader"]["grade_id"]: c.source for c in inst.cells
             if c.metadata.get("nbgrader", {}).get("task")}
    assert tasks["ex-toy-2-answer"] == (
        f"**Written answer** (2 points): write it in the next cell.\n\n{cw.MARK_BEGIN}\n\n**Model answer.**\n\n"
        f"SECRET-WRITTEN answer.\n\n**Rubric** (2 points)\n\n* 2 points: SECRET-RUBRIC of the answer.\n\n"
        f"{cw.MARK_END}")
    assert "SECRET-THIRD answer." in tasks["ex-toy-3-answer"] and "**Rubric**: none written." in tasks["ex-toy-3-answer"]
    # the prose of a code exercise's solution: notes, as comments in its first solution region
    code = next(c.source for c in inst.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-toy-code")
    assert code == (f"{cw.BEGIN}\n# Notes of the book's solution:\n# SECRET-PROSE: cube it.\n"
                    f"cube = base ** 3   # SECRET-CODE\n{cw.END}")
    text = [c.source for c in inst.cells]
    assert "## Exercises" in text and "### Exercise 1 · level 1 ★ · 1 point\nStore `base ** 3` in `cube`." in text
    assert "### Exercise 2 · level 2 ★★ · 2 points\nExplain." in text

    stud = cw.release(inst)
    joined = "\n".join(c.source for c in stud.cells)
    assert "SECRET" not in joined and "MARK SCHEME" not in joined
    assert joined.count("raise NotImplementedError()") == 2
    assert joined.count("YOUR ANSWER HERE") == 2                # one answer cell per written answer
    assert joined.count("**Written answer**") == 2
    assert "assert np.ndim(cube) == 0" in joined


KINDS = """
```{code-cell} ipython3
import numpy as np
base = 2
```

```{exercise-start}
:label: ex-code
:class: difficulty-1
```
Store `base ** 2` in `square`.
```{exercise-end}
```

```{solution-start} ex-code
:class: dropdown
```
Square it.

```{code-cell} ipython3
square = base ** 2
```

```{solution-end}
```

```{code-cell} ipython3
# check: passes when the exercise is solved
assert np.ndim(square) == 0
### BEGIN HIDDEN TESTS
assert square == 4
### END HIDDEN TESTS
```

```{exercise-start}
:label: ex-written
:class: difficulty-2
```
Why is `base ** 2` even? What does Python print?
```{exercise-end}
```

```{solution-start} ex-written
:class: dropdown
```
`base` is even.

```{code-cell} ipython3
print(base ** 2)
```

:::{admonition} Rubric
:class: rubric
* 1 point: even times anything is even.
* 1 point: it prints 4.
:::
```{solution-end}
```

```{exercise-start}
:label: ex-both
:class: difficulty-1
```
Store `base + 1` in `odd`, and say why it is odd.
```{exercise-end}
```

```{solution-start} ex-both
:class: dropdown
```
An even number plus one.

:::{admonition} Rubric
:class: rubric
* 1 point: even plus one is odd.
:::

```{code-cell} ipython3
odd = base + 1
```

```{solution-end}
```

```{code-cell} ipython3
# check: passes when the exercise is solved
assert np.ndim(odd) == 0
### BEGIN HIDDEN TESTS
assert odd == 3
### END HIDDEN TESTS
```
"""


def test_each_exercise_gets_the_cells_of_its_kind(tmp_path):
    """A code exercise whose solution explains itself gets no written answer; a written exercise
    whose solution runs code gets no code stub (its code is part of the model answer); an
    exercise with both gets both. (The code before this rule gave ex-code a written answer and
    ex-written a stub that raises NotImplementedError.)"""
    inst = cw.instructor_notebook(chapter(tmp_path, KINDS), {})
    parts = [(c.metadata["nbgrader"]["grade_id"], c.cell_type) for c in inst.cells if "nbgrader" in c.metadata]
    assert parts == [("ex-code-code", "code"), ("ex-code-check", "code"), ("ex-written-answer", "markdown"),
                     ("ex-both-answer", "markdown"), ("ex-both-code", "code"), ("ex-both-check", "code")]
    written = next(c.source for c in inst.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-written-answer")
    assert "```python\nprint(base ** 2)\n```" in written                  # the code, in the model answer
    assert not [c for c in inst.cells if c.cell_type == "code" and "print(base ** 2)" in c.source]
    stud = cw.release(inst)
    assert [c.source for c in stud.cells].count("YOUR ANSWER HERE") == 2    # ex-written, ex-both
    assert "\n".join(c.source for c in stud.cells).count("raise NotImplementedError()") == 2   # ex-code, ex-both
    # the levels: every graded cell is worth its exercise's level
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in inst.cells
              if c.metadata.get("nbgrader", {}).get("grade") or c.metadata.get("nbgrader", {}).get("task")}
    assert points == {"ex-code-check": 1, "ex-written-answer": 2, "ex-both-answer": 1, "ex-both-check": 1}
    assert cw.exercise_plan(chapter(tmp_path, KINDS))["ex-both"].points == 2


SCAFFOLD = """
```{code-cell} ipython3
import numpy as np
```

```{exercise-start}
:label: ex-scaffold
:class: difficulty-2
```
Write `twice(x)` and store `twice(3)` in `six`.
```{exercise-end}
```

```{solution-start} ex-scaffold
:class: dropdown
```
Add it to itself.

```{code-cell} ipython3
def twice(x):
    # the sum of x and x
    ### BEGIN SOLUTION
    return x + x   # SECRET-BODY
    ### END SOLUTION


### BEGIN SOLUTION
six = twice(3)     # SECRET-CALL
### END SOLUTION
```

```{solution-end}
```

```{code-cell} ipython3
# check: passes when the exercise is solved
assert np.ndim(twice(1)) == 0
### BEGIN HIDDEN TESTS
assert twice(4) == 8 and six == 6
### END HIDDEN TESTS
```
"""


def test_a_scaffolded_solution_keeps_what_it_leaves_out_of_its_markers(tmp_path):
    md = chapter(tmp_path, SCAFFOLD)
    inst = cw.instructor_notebook(md, {})
    code = next(c for c in inst.cells if c.metadata.get("nbgrader", {}).get("solution"))
    assert code.source.startswith("def twice(x):\n    # the sum of x and x\n    ### BEGIN SOLUTION\n"
                                  "    # Notes of the book's solution:\n    # Add it to itself.\n")
    student = cw.release(inst)
    stub = next(b.source for a, b in zip(inst.cells, student.cells) if a is code or a.source == code.source)
    assert stub.startswith("def twice(x):\n    # the sum of x and x\n    # YOUR CODE HERE\n"
                           "    raise NotImplementedError()")
    assert "SECRET" not in "\n".join(c.source for c in student.cells)
    result = cw.verify(md)                  # the check's call of twice raises NotImplementedError
    assert result.first_stub is not None and result.checks == 1


@pytest.mark.parametrize("body, message", [
    ("```{exercise-start}\n:label: ex\n:class: difficulty-1\n```\nx\n```{exercise-end}\n```\n"
     "```{solution-start} ex\n```\ntext\n", "without solution-end"),
    ("```{solution-start} ex\n```\ntext\n", "a solution of 'ex' without its exercise"),
    ("```{solution-end}\n```\n", "solution-end without solution-start"),
    ("```{code-cell} ipython3\n# check: passes when the exercise is solved\nassert True\n```\n",
     "before the first exercise"),
    ("```{exercise-start}\n:label: a\nnot an option\n```\n", "unexpected line"),
    ("```{exercise-start}\n:label: a\n:class: difficulty-1\n```\nx\n```{exercise-end}\n```\n"
     "```{solution-start} b\n```\n", "solution of 'b' after the exercise 'a'"),
    ("```{exercise-start}\n:label: a\n```\nx\n```{exercise-end}\n```\n", "'a' needs one difficulty"),
    ("```{exercise-start}\n:label: a\n:class: difficulty-4\n```\nx\n```{exercise-end}\n```\n",
     "needs one difficulty"),
    (":::{admonition} Rubric\n:class: rubric\n* 1 point: x\n:::\n", "a rubric outside a solution"),
    ("```{exercise-start}\n:label: a\n:class: difficulty-1\n```\nx\n```{exercise-end}\n```\n"
     "```{solution-start} a\n```\nprose\n```{solution-end}\n```\n\n```{code-cell} ipython3\n"
     "# check: passes when the exercise is solved\nassert True\n```\n", "has a check but no code cell"),
    ("```{code-cell} ipython3\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n```\n",
     "solution markers outside a solution"),
    ("```{code-cell} ipython3\nx = 1\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n```\n",
     "hidden tests outside a check cell"),
])
def test_malformed_exercise_structure_is_reported(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        cw.instructor_notebook(chapter(tmp_path, body))


MYST = r"""
(sec-toy)=
# A toy page

(sec-toy-eq)=
## Equations

$$
a = b
$$ (eq-first)

$$ c = d $$ (eq-second)

See {eq}`eq-second`, {ref}`sec-toy-eq`, {ref}`the top <sec-toy>`, {doc}`91_other`,
{doc}`that page <91_other>`, {prf:ref}`thm-toy`, {func}`dipnb.gradient_descent`,
{func}`~dipnb.analysis.wilson_interval` and {math}`x^2`. Values:
{glue:text}`val:.2f`, {glue:text}`count`, {glue}`word`.
Cited {cite}`paper2024`, then {cite}`other1999,paper2024`.

```{prf:theorem} A toy theorem
:label: thm-toy

All is **well**; {glue:text}`val:.1e`.
```

::::{dropdown} Folded
```{prf:proof}
Nested.
```
::::

:::{admonition} A box
:class: tip
Inside the box.
:::

```{note}
A note.
```

```python
x = "{glue:text}`kept`"   # a code block is left as it is
```
"""

BIB = r"""
@article{paper2024,
  author = {Qu{\'e}au, Yvain and {\L}ojasiewicz, S.},
  title  = {A paper},
  journal = {A journal},
  year   = {2024},
}
@book{other1999,
  author = {Other, A.},
  title  = {A book},
  publisher = {Press},
  year   = {1999},
}
"""


def test_myst_becomes_plain_markdown(tmp_path):
    md = chapter(tmp_path, MYST)
    chapter(tmp_path, "# The other page\n", name="91_other")
    (tmp_path / "book" / "references.bib").write_text(BIB, encoding="utf-8")
    glue = {"val": {"text/plain": "3.14159"}, "count": {"text/plain": "7"},
            "word": {"text/plain": "'glued'"}}
    nb = cw.instructor_notebook(md, glue, cw.book_index(tmp_path))
    out = nb.cells[0].source
    assert "(sec-toy)=" not in out and "(sec-toy-eq)=" not in out
    assert "$$\na = b\n\\tag{1}\n$$" in out and "$$ c = d \\tag{2} $$" in out
    assert ("See (2), Equations, the top, The other page,\nthat page, Theorem (A toy theorem), "
            "`dipnb.gradient_descent`,\n`wilson_interval` and $x^2$. Values:\n3.14, 7, glued.") in out
    assert "Cited [1], then [2, 1]." in out
    assert nb.cells[-1].source.startswith("### References\n\n1. Yvain Quéau, S. Łojasiewicz. *A paper*.")
    assert "\n2. A. Other. *A book*. Press, 1999." in nb.cells[-1].source
    assert "**Theorem (A toy theorem)**\n\nAll is **well**; 3.1e+00." in out
    assert "**Folded**\n\n**Proof.**\n\nNested." in out
    assert "**A box**\n\nInside the box." in out and ":class:" not in out
    assert "**Note**\n\nA note." in out
    assert '```python\nx = "{glue:text}`kept`"' in out       # code blocks are left alone
    assert DIRECTIVE.findall(out.replace("```python", "")) == []


def test_the_references_cell_lists_the_works_cited(tmp_path):
    md = chapter(tmp_path, "# Page\n\nAs {cite}`paper2024` shows.\n")
    (tmp_path / "book" / "references.bib").write_text(BIB, encoding="utf-8")
    nb = cw.instructor_notebook(md, {}, cw.book_index(tmp_path))
    assert nb.cells[0].source == "# Page\n\nAs [1] shows."
    assert nb.cells[-1].source == ("### References\n\n1. Yvain Quéau, S. Łojasiewicz. *A paper*. "
                                   "A journal, 2024.")


def test_a_glue_role_without_a_value_is_an_error(tmp_path):
    md = chapter(tmp_path, "# Page\n\n{glue:text}`missing`\n")
    with pytest.raises(ValueError, match="no glued value 'missing'"):
        cw.instructor_notebook(md, {"other": {"text/plain": "1"}})
    # without values (for code-only uses) the role is left as it is
    assert "{glue:text}`missing`" in cw.instructor_notebook(md).cells[0].source


GLUED = """
# Glued

```{code-cell} ipython3
from myst_nb import glue
glue("answer", 6 * 7, display=False)
```

The answer is {glue:text}`answer`, or {glue:text}`answer:.1f`.
"""


def test_write_coursework_runs_a_chapter_for_its_glued_values(tmp_path):
    md = chapter(tmp_path, GLUED)
    written = cw.write_coursework([md], tmp_path / "out", executed_dirs=())
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        f"instructor/{md.stem}.ipynb", f"student/{md.stem}.ipynb"]
    for path in written:
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[-1].source == "The answer is 42, or 42.0."
        assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")


def test_glued_values_are_read_from_an_executed_notebook_of_the_same_code(tmp_path):
    md = chapter(tmp_path, GLUED)
    executed = jupytext.read(md)
    output = nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "41"},
                                    metadata={"scrapbook": {"name": "answer",
                                                            "mime_prefix": "application/papermill.record/"}})
    code = next(c for c in executed.cells if c.cell_type == "code")
    code.outputs = [output]
    (tmp_path / "executed" / "book").mkdir(parents=True)
    nbformat.write(executed, tmp_path / "executed" / "book" / f"{md.stem}.ipynb")
    assert cw.chapter_glue(md, [tmp_path / "executed"]) == {"answer": {"text/plain": "41"}}
    # another version of the chapter's code: not used (here it would have to run the chapter)
    code.source += "\nx = 1"
    nbformat.write(executed, tmp_path / "executed" / "book" / f"{md.stem}.ipynb")
    assert cw.chapter_glue(md, [tmp_path / "executed"]) == {"answer": {"text/plain": "42"}}


def test_glued_values_are_read_from_the_book_build(tmp_path):
    # make book (myst-nb) writes the executed notebook without the glue outputs, and them apart
    md = chapter(tmp_path, GLUED)
    folder = tmp_path / "jupyter_execute" / "book"
    folder.mkdir(parents=True)
    nbformat.write(jupytext.read(md), folder / f"{md.stem}.ipynb")
    (folder / f"{md.stem}.glue.json").write_text(
        '{"answer": {"output_type": "display_data", "data": {"text/plain": "40"}, "metadata": {}}}')
    assert cw.chapter_glue(md, [tmp_path / "jupyter_execute"]) == {"answer": {"text/plain": "40"}}


def test_verify_executes_a_toy_chapter(tmp_path):
    result = cw.verify(chapter(tmp_path, "```{code-cell} ipython3\nimport numpy as np\n```\n" + TOY))
    assert result.first_stub is not None and result.checks == 1


def test_verify_fails_when_a_cell_before_the_stub_fails(tmp_path):
    broken = TOY.replace("base = 2", "base = 2\n1 / 0")
    with pytest.raises(Exception, match="ZeroDivisionError"):
        cw.verify(chapter(tmp_path, broken))


def test_verify_fails_when_the_solution_does_not_pass_its_hidden_test(tmp_path):
    wrong = TOY.replace("base = 2", "import numpy as np\nbase = 2").replace("cube = base ** 3", "cube = base ** 2")
    with pytest.raises(Exception, match="AssertionError"):
        cw.verify(chapter(tmp_path, wrong))


def test_add_install_cell(tmp_path):
    md = chapter(tmp_path, TOY)
    assert not cw.has_install_cell(md)
    assert cw.add_install_cell(md) is True
    assert cw.has_install_cell(md) and cw.has_install_cell(md.with_suffix(".ipynb"))
    code = [c.source for c in jupytext.read(md.with_suffix(".ipynb")).cells if c.cell_type == "code"]
    assert code[1] == "base = 2"                   # inserted before the first code cell
    assert cw.add_install_cell(md) is False        # only once


def test_resolve_chapter():
    first = CHAPTERS[0]
    assert cw.resolve_chapter(first.stem) == first
    assert cw.resolve_chapter(f"book/{first.name}") == first
    assert cw.resolve_chapter(first.stem.split("_")[0]) == first
    four = [p for p in CHAPTERS if p.stem.startswith("04_")]
    assert four and cw.resolve_chapter("4") == cw.resolve_chapter("04") == four[0]    # "4" as well as "04"
    with pytest.raises(ValueError, match="must name one of"):
        cw.resolve_chapter("no_such_chapter")


def test_the_book_shows_levels_and_hides_the_solution_markers():
    """book/_ext/dipnb_book.py: the CSS that writes each level after an exercise's title, and the
    scaffolds' solution markers left out of the code the book shows."""
    import importlib.util

    ext = cw.BOOK / "_ext" / "dipnb_book.py"
    spec = importlib.util.spec_from_file_location("dipnb_book_under_test", ext)
    book_ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_ext)
    assert book_ext.SOLUTION_MARKERS == (cw.BEGIN, cw.END)
    code = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n\n\nz = f(1)"
    assert book_ext.without_solution_markers(code) == "def f(x):\n    y = 1\n    return x + y\n\n\nz = f(1)"
    css = (ext.parent / "static" / "dipnb_exercises.css").read_text(encoding="utf-8")
    for n in cw.LEVELS:
        assert f"div.exercise.difficulty-{n} > .admonition-title::after" in css
