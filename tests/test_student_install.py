"""Issue 26, item 5: `pip install -e ".[student]"` installs what the chapters import, and none of
the book's or the tests' tooling. Every third-party module a chapter's code imports must come
from dipnb's own dependencies or its `student` extra (mapped to distributions by
importlib.metadata, as installed here). The fresh environment itself was measured by hand: see
the README ("Running the chapters in Jupyter")."""
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLING = {"jupyter-book", "playwright", "pytest", "pytest-xdist", "nbmake", "nbgrader", "ruff", "import-linter",
           "sphinx-proof", "sphinx-exercise", "jupytext"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _project():
    """dipnb's dependencies and its student extra, as installed (make venv reinstalls when
    pyproject.toml changes)."""
    base, student = [], []
    for r in requires("dipnb") or []:
        req, _, marker = r.partition(";")
        if not marker.strip():
            base.append(req)
        elif re.search(r"""extra\s*==\s*["']student["']""", marker):
            student.append(req)
    return {"dependencies": base, "optional-dependencies": {"student": student}}


def _chapter_imports() -> set[str]:
    mods = set()
    for page in (ROOT / "book").glob("*.md"):
        for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", page.read_text("utf-8"), re.S):
            for line in cell.splitlines():
                m = re.match(r"\s*(?:import|from)\s+([A-Za-z_]\w*)", line)
                if m and not line.lstrip().startswith("#"):
                    mods.add(m[1])
    return mods


def test_the_student_extra_holds_no_book_or_test_tooling():
    student = {_name(r) for r in _project()["optional-dependencies"]["student"]}
    assert student and not student & TOOLING, student & TOOLING


def test_every_module_a_chapter_imports_comes_with_the_student_install():
    project = _project()
    allowed = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["student"]}
    dists = packages_distributions()
    missing = {}
    for mod in sorted(_chapter_imports()):
        if mod == "dipnb" or mod in sys.stdlib_module_names:
            continue
        if mod in {"dask", "dask_jobqueue", "dask_cuda"}:      # shown in chapter 10's examples, not run
            continue
        provided = {d.lower().replace("_", "-") for d in dists.get(mod, [])}
        # a module that comes with an allowed distribution's own requirements (IPython with ipykernel)
        if not provided & allowed and not _required_by(provided, allowed):
            missing[mod] = sorted(provided)
    assert not missing, f"chapters import modules the student install lacks: {missing}"


def _required_by(dists: set, allowed: set) -> bool:
    seen, todo = set(), list(allowed)
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        try:
            reqs = requires(d) or []
        except Exception:
            continue
        todo += [_name(r) for r in reqs if "extra ==" not in r]
    return bool(dists & seen)
