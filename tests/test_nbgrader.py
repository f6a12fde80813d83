"""nbgrader itself, on the notebooks dipnb.coursework generates (book/instructors.md, step by step).

In a temporary course directory, with nbgrader's command line (``python -m nbgrader``, the
venv's ``bin`` first on PATH, as after ``source .venv/bin/activate``: nbgrader runs
``alembic`` from PATH, and its ``python3`` kernel is then the project's interpreter):

* ``nbgrader generate_assignment`` accepts the source notebook of every chapter, and its
  release is the student notebook that ``make student`` writes;
* one chapter goes through the whole loop: its notebooks written by
  :func:`dipnb.coursework.write_coursework` (the chapter run once for its glued values),
  ``generate_assignment``, three submissions collected and ``nbgrader autograde``-d: the
  solutions get every check's point, the release as handed out (stubs) none, and the solutions
  with one answer wrong lose the point of that answer's check only. The kernel runs in the
  course directory, outside the repository and without ``results/``. Each check is worth its
  exercise's level; each written answer is a manually graded task, which nbgrader leaves to the
  grader and shows with its mark scheme (model answer and rubric) put back from the source.

Cost: the chapter runs four times (once for its glued values, once per submission). Chapter
02 is the cheapest chapter with two checks (about 10 s a run). Measured on the 2-core machine at
a load of 3 (a background experiment): the loop 45-48 s, the generate_assignment test 12-16 s.
"""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from dipnb import coursework as cw

CHAPTER = cw.resolve_chapter("02")
# the wrong answer: a value 10% off, in the solution of this exercise
WRONG = ("ex-02-power-six", "\ntau_q6 = 1.1 * tau_q6")


def nbgrader(course: Path, *args: str, timeout: int = 900) -> str:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-6000:]}"
    return proc.stdout


def new_course(root: Path) -> Path:
    (root / "source").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "dipnb"\n')
    return root


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in (cw.BEGIN, cw.END))


def submission(release: nbformat.NotebookNode, source: nbformat.NotebookNode, wrong=None):
    """The release with every solution cell filled in from the source notebook."""
    solutions = {c.metadata["nbgrader"]["grade_id"]: strip_markers(c.source) for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = solutions[gid]
            if wrong and gid == f"{wrong[0]}-code":
                cell.source += wrong[1]
    return nb


def test_generate_assignment_accepts_every_chapter(tmp_path):
    course = new_course(tmp_path / "course")
    (course / "source" / "all").mkdir()
    index = cw.book_index()
    ours = {}
    for md in cw.chapters():
        inst = cw.instructor_notebook(md, None, index)   # glue roles kept: nbgrader does not read them
        nbformat.write(inst, course / "source" / "all" / f"{md.stem}.ipynb")
        ours[md.stem] = cw.release(inst)
    nbgrader(course, "generate_assignment", "all")
    for stem, student in ours.items():
        released = nbformat.read(course / "release" / "all" / f"{stem}.ipynb", as_version=4)
        assert [c.source for c in released.cells] == [c.source for c in student.cells], stem
        text = "\n".join(c.source for c in released.cells)
        assert cw.BEGIN not in text and cw.HIDDEN_BEGIN not in text and "HIDDEN TESTS" not in text


def test_the_instructor_loop_with_nbgrader(tmp_path):
    t0 = time.perf_counter()
    written = cw.write_coursework([CHAPTER], tmp_path / "coursework", executed_dirs=())
    for path in written:                                  # the glued values are in the text
        nb = nbformat.read(path, as_version=4)
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert not re.search(r"\{[A-Za-z][\w.+:-]*\}`|^\s*(`{3,}|:{3,})\{|^\s*\([^()\s]+\)=\s*$",
                             markdown, flags=re.M), path

    course = new_course(tmp_path / "course")
    name = f"{CHAPTER.stem}.ipynb"
    (course / "source" / "ch").mkdir()
    (course / "source" / "ch" / name).write_bytes((tmp_path / "coursework" / "instructor" / name).read_bytes())
    nbgrader(course, "generate_assignment", "ch")
    release = nbformat.read(course / "release" / "ch" / name, as_version=4)
    source = nbformat.read(course / "source" / "ch" / name, as_version=4)
    student = nbformat.read(tmp_path / "coursework" / "student" / name, as_version=4)
    assert [c.source for c in release.cells] == [c.source for c in student.cells]

    for who, nb in [("solutions", submission(release, source)), ("stubs", release),
                    ("wrong", submission(release, source, WRONG))]:
        (course / "submitted" / who / "ch").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / who / "ch" / name)
    nbgrader(course, "autograde", "ch", "--create", "--ExecutePreprocessor.timeout=600")

    from nbgrader.api import Gradebook
    points = {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in source.cells
              if "points" in c.metadata.get("nbgrader", {})}
    checks = [c.metadata["nbgrader"]["grade_id"] for c in source.cells
              if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert len(checks) >= 2
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {who: {g.name: (g.auto_score, g.max_score) for g in
                        gb.find_submission_notebook(CHAPTER.stem, "ch", who).grades}
                  for who in ("solutions", "stubs", "wrong")}
        # the grader sees each written answer's mark scheme: the task cell, put back from the source
        graded = nbformat.read(course / "autograded" / "solutions" / "ch" / name, as_version=4)
        tasks = [c.source for c in graded.cells if c.metadata.get("nbgrader", {}).get("task")]
    for gid in checks:                                # a check is worth its exercise's level
        full = points[gid]
        assert scores["solutions"][gid] == (full, full), (gid, scores["solutions"])
        assert scores["stubs"][gid] == (0.0, full), (gid, scores["stubs"])
        lost = gid == f"{WRONG[0]}-check"
        assert scores["wrong"][gid] == ((0.0 if lost else full), full), (gid, scores["wrong"])
    assert len(set(points.values())) > 1              # levels differ: the points are weighted
    # the written answers (manually graded tasks) are left to the instructor, with the rubric
    answers = [g for g in points if g.endswith("-answer")]
    assert answers and all(scores[who][g] == (None, points[g]) for g in answers for who in scores)
    assert tasks and all(cw.MARK_BEGIN in t and "**Rubric**" in t for t in tasks)
    assert not any("MARK SCHEME" in c.source for c in release.cells)
    print(f"nbgrader loop on {CHAPTER.stem}: {time.perf_counter() - t0:.1f} s")
