"""Coursework notebooks (dipnb.coursework): nbgrader-valid instructor notebooks, student
notebooks without solutions that run up to their first stub, and the hidden install cell.

Every chapter is checked structurally (fast). Executing a chapter costs as much as its
nbmake run, so by default only the first chapter with a code exercise is executed here;
``DIPNB_COURSEWORK_VERIFY=all`` (or a comma list such as ``01,05``) executes more, and
``make student-check`` executes them all.
"""
from __future__ import annotations

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
NBGRADER_KEYS = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points",
                 "checksum", "cell_type"}


def nbgrader_problems(nb) -> list[str]:
    """Violations of nbgrader's cell metadata rules (schema version 3) in a source notebook."""
    problems, seen = [], set()
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        where = f"cell {i}"
        if not {"schema_version", "grade", "locked", "solution"} <= set(meta):
            problems.append(f"{where}: a required key is missing from {sorted(meta)}")
            continue
        if set(meta) - NBGRADER_KEYS:
            problems.append(f"{where}: unknown keys {sorted(set(meta) - NBGRADER_KEYS)}")
        if meta["schema_version"] != 3:
            problems.append(f"{where}: schema_version {meta['schema_version']}")
        if not all(isinstance(meta[k], bool) for k in ("grade", "locked", "solution")):
            problems.append(f"{where}: grade/locked/solution must be booleans")
        if meta["grade"] or meta["solution"] or meta["locked"]:
            gid = meta.get("grade_id", "")
            if not re.fullmatch(r"[A-Za-z0-9_-]+", gid):
                problems.append(f"{where}: bad grade_id {gid!r}")
            if gid in seen:
                problems.append(f"{where}: duplicate grade_id {gid!r}")
            seen.add(gid)
        if meta["grade"] and not (isinstance(meta.get("points"), (int, float)) and meta["points"] >= 0):
            problems.append(f"{where}: a graded cell needs points >= 0")
        if cell.cell_type == "markdown" and meta["grade"] != meta["solution"]:
            problems.append(f"{where}: a markdown cell must be both grade and solution, or neither")
    return problems


def solution_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def check_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(cw.CHECK_LINE)]


# ---------------------------------------------------------------------------------------------
# the real chapters
# ---------------------------------------------------------------------------------------------
def test_every_chapter_is_found():
    on_disk = {p.stem for p in cw.BOOK.glob("*.md") if "kernelspec" in cw._front_matter(p)}
    assert on_disk and {p.stem for p in CHAPTERS} == on_disk


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_instructor_is_an_nbgrader_source_notebook(md):
    inst = cw.instructor_notebook(md)
    nbformat.validate(inst)
    assert nbgrader_problems(inst) == []
    chapter = jupytext.read(md)
    # the code is the chapter's code, the solutions wrapped in BEGIN/END SOLUTION
    unwrapped = [re.sub(rf"^{cw.BEGIN}\n|\n{cw.END}$", "", c.source) for c in inst.cells
                 if c.cell_type == "code"]
    assert unwrapped == [c.source.strip("\n") for c in chapter.cells if c.cell_type == "code"]
    for cell in solution_cells(inst):
        if cell.cell_type == "code":
            assert cell.source.startswith(cw.BEGIN + "\n") and cell.source.endswith("\n" + cw.END)
    # every check cell is a locked autograder test worth a point, and nothing else is graded code
    graded = [c for c in inst.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert graded == check_cells(inst)
    assert len(graded) == sum(c.source.startswith(cw.CHECK_LINE) for c in chapter.cells)
    assert all(c.metadata["nbgrader"]["locked"] and c.metadata["nbgrader"]["points"] == 1 for c in graded)
    # no MyST exercise/solution fence survives (Jupyter would show it as raw text)
    assert not any(re.search(r"\{(exercise|solution)-(start|end)\}", c.source) for c in inst.cells)


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_student_has_stubs_checks_and_no_solution_text(md):
    inst = cw.instructor_notebook(md)
    stud = cw.student_notebook(md)
    assert stud.cells == cw.clear_solutions(inst).cells   # deterministic, ids included
    assert len(stud.cells) == len(inst.cells)
    public = "\n".join(c.source for c in inst.cells if not c.metadata.get("nbgrader", {}).get("solution"))
    student_text = "\n".join(c.source for c in stud.cells)
    for a, b in zip(inst.cells, stud.cells):
        if a.metadata.get("nbgrader", {}).get("solution"):
            assert b.source == (cw.CODE_STUB if a.cell_type == "code" else cw.TEXT_STUB)
            for line in a.source.split("\n"):
                line = line.strip()
                if len(line) >= 8 and line not in (cw.BEGIN, cw.END) and line not in public:
                    assert line not in student_text, f"solution text left in the student notebook: {line!r}"
        else:
            assert b.source == a.source and b.metadata == a.metadata
    assert check_cells(stud) == check_cells(inst)


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_chapter_starts_with_the_hidden_install_cell(md):
    for path in (md, md.with_suffix(".ipynb")):
        assert cw.has_install_cell(path), (
            f"{path.name}: the first code cell must be dipnb.coursework.INSTALL_CELL tagged "
            f"{cw.INSTALL_TAG} (add it with `python -m dipnb.coursework --add-install-cell {md.stem}`)")


def test_install_cell_is_valid_ipython_that_pip_installs_only_when_dipnb_is_missing():
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(cw.INSTALL_CELL)
    compile(python, "<install cell>", "exec")
    assert "run_line_magic('pip', 'install" in python
    assert re.search(r"except ImportError:\n\s+get_ipython\(\)\.run_line_magic\('pip'", python)


def _verify_selection() -> list[Path]:
    wanted = os.environ.get("DIPNB_COURSEWORK_VERIFY", "")
    if wanted == "all":
        return CHAPTERS
    if wanted:
        return [cw.resolve_chapter(name.strip()) for name in wanted.split(",") if name.strip()]
    with_code = [md for md in CHAPTERS if any(c.cell_type == "code" for c in solution_cells(cw.instructor_notebook(md)))]
    return with_code[:1]


@pytest.mark.parametrize("md", _verify_selection(), ids=lambda p: p.stem)
def test_student_runs_to_its_first_stub_and_instructor_passes_every_check(md):
    result = cw.verify(md)
    assert result.first_stub is not None
    assert result.checks == len(check_cells(cw.instructor_notebook(md))) >= 1


def test_write_coursework(tmp_path):
    md = CHAPTERS[0]
    written = cw.write_coursework([md], tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        f"instructor/{md.stem}.ipynb", f"student/{md.stem}.ipynb"]
    assert nbformat.read(written[1], as_version=4).cells == cw.student_notebook(md).cells


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
    md = tmp_path / f"{name}.md"
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
assert cube == 8 and helper == 9
```

```{exercise-start}
:label: ex-toy-2
```
Explain.
```{exercise-end}
```

```{solution-start} ex-toy-2
:class: dropdown
```
SECRET-WRITTEN answer.
```{solution-end}
```
"""


def test_toy_chapter_marks_solutions_and_checks(tmp_path):
    inst = cw.instructor_notebook(chapter(tmp_path, TOY))
    assert nbgrader_problems(inst) == []
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in inst.cells
            if "nbgrader" in c.metadata}
    assert sorted(meta) == ["ex-toy-2-answer", "ex-toy-answer", "ex-toy-check", "ex-toy-code",
                            "ex-toy-code-2"]
    assert meta["ex-toy-code"] == {"grade": False, "grade_id": "ex-toy-code", "locked": False,
                                   "schema_version": 3, "solution": True}
    assert meta["ex-toy-check"]["grade"] and meta["ex-toy-check"]["locked"]
    assert not meta["ex-toy-check"]["solution"]
    assert meta["ex-toy-answer"]["grade"] and meta["ex-toy-answer"]["solution"]
    text = [c.source for c in inst.cells]
    assert "## Exercises\n\n### Exercise 1\nStore `base ** 3` in `cube`." in text
    assert "SECRET-WRITTEN answer." in text

    stud = cw.clear_solutions(inst)
    joined = "\n".join(c.source for c in stud.cells)
    assert "SECRET" not in joined
    assert joined.count("raise NotImplementedError()") == 2
    assert joined.count(cw.TEXT_STUB) == 2
    assert "assert cube == 8 and helper == 9" in joined


def test_clear_solutions_keeps_code_around_a_region_and_its_indentation():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(
            f"def f(x):\n    {cw.BEGIN}\n    return x + 1\n    {cw.END}\nprint('kept')",
            metadata={"nbgrader": {"solution": True, "grade": False, "locked": False,
                                   "grade_id": "f", "schema_version": 3}}),
        nbformat.v4.new_code_cell("untouched = 1"),
    ])
    out = cw.clear_solutions(nb)
    assert out.cells[0].source == ("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
                                   "print('kept')")
    assert out.cells[1].source == "untouched = 1"
    assert nb.cells[0].source.count("return x + 1") == 1   # the input is not modified


@pytest.mark.parametrize("source, message", [
    (f"{cw.BEGIN}\nx = 1", "without"),
    (f"{cw.BEGIN}\n{cw.BEGIN}\n{cw.END}", "nested"),
])
def test_clear_solutions_rejects_broken_regions(source, message):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        source, metadata={"nbgrader": {"solution": True, "grade": False, "locked": False,
                                       "grade_id": "a", "schema_version": 3}})])
    with pytest.raises(ValueError, match=message):
        cw.clear_solutions(nb)


def test_clear_solutions_rejects_a_region_outside_a_solution_cell():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"{cw.BEGIN}\nx = 1\n{cw.END}")])
    with pytest.raises(ValueError, match="not marked as a solution"):
        cw.clear_solutions(nb)


@pytest.mark.parametrize("body, message", [
    ("```{solution-start} ex\n```\ntext\n", "without solution-end"),
    ("```{solution-end}\n```\n", "solution-end without solution-start"),
    ("```{code-cell} ipython3\n# check: passes when the exercise is solved\nassert True\n```\n",
     "before the first exercise"),
    ("```{exercise-start}\n:label: a\nnot an option\n```\n", "unexpected line"),
])
def test_malformed_exercise_structure_is_reported(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        cw.instructor_notebook(chapter(tmp_path, body))


def test_verify_executes_a_toy_chapter(tmp_path):
    result = cw.verify(chapter(tmp_path, TOY))
    assert result.first_stub is not None and result.checks == 1


def test_verify_fails_when_a_cell_before_the_stub_fails(tmp_path):
    broken = TOY.replace("base = 2", "base = 2\n1 / 0")
    with pytest.raises(Exception, match="ZeroDivisionError"):
        cw.verify(chapter(tmp_path, broken))


def test_verify_fails_when_the_solution_does_not_pass_its_check(tmp_path):
    wrong = TOY.replace("cube = base ** 3", "cube = base ** 2")
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
    with pytest.raises(ValueError, match="must name one of"):
        cw.resolve_chapter("no_such_chapter")
