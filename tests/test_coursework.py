"""Coursework notebooks (dipnb.coursework): what dipnb does that nbgrader does not.

* the exercise structure of a chapter becomes nbgrader's cell metadata, each ``grade_id``
  named after the label of its exercise (checked against the chapter's own text), and every
  source notebook passes nbgrader's own metadata validation (``CheckCellMetadata``);
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


def expected_grade_ids(md: Path) -> list[str]:
    """The grade_ids that the exercises of a chapter must give, read from its MyST text.

    Each exercise ``:label: L`` gives, in the order of the text, ``L-answer`` for each run of
    prose in its solution, ``L-code`` for each code cell in its solution and ``L-check`` for
    its check cell; a second cell of the same kind gets ``-2``.
    """
    lines = md.read_text(encoding="utf-8").split("\n")
    ids, seen, label, in_solution, prose = [], {}, None, False, False

    def add(part):
        base = f"{label}-{part}"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")

    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^`{3,}\{exercise-start\}", line):
            label = re.match(r"^:label:\s*(\S+)", lines[i + 1])[1]
        elif re.match(r"^`{3,}\{solution-start\}", line):
            assert line.split("}", 1)[1].strip() == label, f"{md.name}: {line!r} in exercise {label}"
            in_solution, prose = True, False
            i += 1
            while i + 1 < len(lines) and lines[i + 1].startswith(":"):
                i += 1                                    # the fence's options
            i += 1                                        # its closing ```
        elif re.match(r"^`{3,}\{solution-end\}", line):
            in_solution = False
            i += 1
        elif line.startswith("```{code-cell}"):
            j = i + 1
            while lines[j].startswith(":") or not lines[j].strip():
                j += 1
            if in_solution:
                add("code")
            elif lines[j].strip() == cw.CHECK_LINE:
                add("check")
            prose = False
            while not lines[i + 1].startswith("```"):
                i += 1
            i += 1
        elif in_solution and line.strip() and line.strip() != "+++" and not prose:
            add("answer")
            prose = True
        i += 1
    return ids


@pytest.mark.parametrize("md", CHAPTERS, ids=IDS)
def test_grade_ids_are_the_exercise_labels(md):
    inst = cw.instructor_notebook(md, stand_in_glue(md), INDEX)
    got = [c.metadata["nbgrader"]["grade_id"] for c in inst.cells if "nbgrader" in c.metadata]
    assert got == expected_grade_ids(md)


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
    public = "\n".join(c.source for c in inst.cells if not c.metadata.get("nbgrader", {}).get("solution"))
    student_text = "\n".join(c.source for c in stud.cells)
    for a, b in zip(inst.cells, stud.cells):
        if a.metadata.get("nbgrader", {}).get("solution"):
            assert b.source == (code_stub if a.cell_type == "code" else text_stub)
            for line in a.source.split("\n"):
                line = line.strip()
                if len(line) >= 8 and line not in (cw.BEGIN, cw.END) and line not in public:
                    assert line not in student_text, f"solution text left in the student notebook: {line!r}"
        elif a.source.startswith(cw.CHECK_LINE):     # the check without its hidden tests
            visible = re.sub(rf"\n?{cw.HIDDEN_BEGIN}\n.*?{cw.HIDDEN_END}", "", a.source, flags=re.S)
            assert b.source == visible and "assert" in visible
        else:
            assert b.source == a.source
    assert cw.HIDDEN_BEGIN not in student_text and cw.BEGIN not in student_text


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

```{exercise-start}
:label: ex-toy-3
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
    # ex-toy-2 and ex-toy-3 share one markdown cell: each answer is named after its own exercise
    assert list(meta) == ["ex-toy-answer", "ex-toy-code", "ex-toy-code-2", "ex-toy-check",
                          "ex-toy-2-answer", "ex-toy-3-answer"]
    assert expected_grade_ids(md) == list(meta)
    assert meta["ex-toy-code"] == {"grade": False, "grade_id": "ex-toy-code", "locked": False,
                                   "schema_version": 3, "solution": True}
    assert meta["ex-toy-check"]["grade"] and meta["ex-toy-check"]["locked"]
    assert not meta["ex-toy-check"]["solution"]
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in inst.cells
               if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-answer")}
    assert answers["ex-toy-2-answer"] == "SECRET-WRITTEN answer."
    assert answers["ex-toy-3-answer"] == "SECRET-THIRD answer."
    text = [c.source for c in inst.cells]
    assert "## Exercises" in text and "### Exercise 1\nStore `base ** 3` in `cube`." in text

    stud = cw.release(inst)
    joined = "\n".join(c.source for c in stud.cells)
    assert "SECRET" not in joined
    assert joined.count("raise NotImplementedError()") == 2
    assert joined.count("YOUR ANSWER HERE") == 3
    assert "assert np.ndim(cube) == 0" in joined


@pytest.mark.parametrize("body, message", [
    ("```{solution-start} ex\n```\ntext\n", "without solution-end"),
    ("```{solution-end}\n```\n", "solution-end without solution-start"),
    ("```{code-cell} ipython3\n# check: passes when the exercise is solved\nassert True\n```\n",
     "before the first exercise"),
    ("```{exercise-start}\n:label: a\nnot an option\n```\n", "unexpected line"),
    ("```{exercise-start}\n:label: a\n```\nx\n```{exercise-end}\n```\n```{solution-start} b\n```\n",
     "solution of 'b' after the exercise 'a'"),
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
