"""Coursework: nbgrader source notebooks and student notebooks generated from the chapters.

``python -m dipnb.coursework [--out DIR] [CHAPTER ...]`` (``make student``) writes, for each chapter
``book/NAME.md``, ``DIR/instructor/NAME.ipynb``, an nbgrader *source* notebook (solution code and
prose, check cells as autograder tests; each ``grade_id`` is its exercise's label followed by
``-code``, ``-answer`` or ``-check``), and ``DIR/student/NAME.ipynb``, what nbgrader's own
preprocessors make of it (as ``nbgrader generate_assignment``: solutions and hidden tests removed).
This module does only what nbgrader does not: the book's exercise structure becomes nbgrader's
metadata, and the chapter's MyST becomes Markdown that Jupyter and Colab render (glued values,
references and citations written out, directives as a bold title and their body).
"""
from __future__ import annotations

import argparse
import copy
import json
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

from ._book import INSTALL_TAG, install_cell, set_install_cell
from ._book import has_install_cell as _has_install_cell
from .experiments.results import book_root

__all__ = ["BookIndex", "Verified", "CHECK_LINE", "INSTALL_CELL", "chapters", "instructor_notebook", "release",
           "write_coursework", "verify", "glue_values", "chapter_glue", "book_index", "has_install_cell",
           "add_install_cell"]

#: The book's root (``_toc.yml``) from the working directory up, never beside the installed package.
ROOT = book_root() or Path.cwd().resolve()
BOOK = ROOT / "book"
DEFAULT_OUT = ROOT / "_build" / "coursework"
#: Executed chapters, as ``DIR/book/NAME.ipynb`` (``make test``, ``make book``), read for the glued values.
EXECUTED_DIRS = (ROOT / "_build" / "executed", ROOT / "_build" / "jupyter_execute")

CHECK_LINE = "# check: passes when the exercise is solved"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"              # nbgrader's markers
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SCHEMA_VERSION = 3                                                  # nbgrader's cell metadata

# The hidden first code cell of every chapter, generated from the repository's address in
# pyproject.toml ([tool.dipnb]; one home for it: dipnb._book).
INSTALL_CELL = install_cell(ROOT) if (ROOT / "pyproject.toml").is_file() else None

# a MyST directive fence of the exercise structure: ```{solution-start} ex-label
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<kind>exercise|solution)-(?P<end>start|end)\}\s*(?P<arg>.*?)\s*$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
_TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_DIRECTIVE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,}|~{3,})\{(?P<name>[^}\s]+)\}\s*(?P<arg>.*?)\s*$")
_CODE_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?!.*`)")
_ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w.+:-]*)\}`(?P<content>[^`]*)`")
_EQ_LABEL = re.compile(r"\$\$\s*\((?P<label>[\w.:-]+)\)\s*$")
_TEXT_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)
_ADMONITIONS = set("note warning tip hint important caution attention danger error seealso".split())
_DROPPED = {"bibliography", "toctree", "tableofcontents", "eval-rst", "raw", "include"}


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


# --- glued values -----------------------------------------------------------------------------
def glue_values(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """The values glued by an executed notebook: ``{name: mime bundle}`` (``myst_nb.glue``)."""
    found = {}
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if meta and "name" in meta:
                prefix = meta.get("mime_prefix", "")
                found[meta["name"]] = {k.removeprefix(prefix): v for k, v in out.get("data", {}).items()}
    return found


def chapter_glue(md: Path | str, executed_dirs=EXECUTED_DIRS, timeout: int = 300, log=print) -> dict:
    """The glued values of a chapter: from an executed notebook ``DIR/book/NAME.ipynb`` of
    ``executed_dirs`` (``make test``: ``_build/executed``; ``make book``: ``_build/jupyter_execute``,
    values in ``NAME.glue.json``) whose code is the chapter's and that holds every value the text
    uses; otherwise from a run of the chapter in ``book/`` (as long as its test)."""
    md, code = Path(md), lambda nb: [c.source.strip() for c in nb.cells if c.cell_type == "code"]
    chapter = jupytext.read(md)
    needed = {m["content"].split(":", 1)[0].strip() for c in chapter.cells if c.cell_type == "markdown"
              for m in _ROLE.finditer(c.source) if m["name"].startswith("glue")}
    if not needed:
        return {}
    for path in (Path(d) / md.parent.name / f"{md.stem}.ipynb" for d in executed_dirs or ()):
        try:
            executed = nbformat.read(path, as_version=4)
            values = glue_values(executed)
            stored = path.with_suffix(".glue.json")         # where myst-nb moves the glued values
            if stored.is_file():
                values.update({k: v.get("data", {}) for k, v in json.loads(stored.read_text()).items()})
        except (OSError, ValueError):                       # missing, or half written
            continue
        if code(executed) == code(chapter) and needed <= set(values):
            log(f"{md.stem}: glued values from {path}")
            return values
    log(f"{md.stem}: executing the chapter for its glued values")
    nb = copy.deepcopy(chapter)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(md.parent)}}).execute()
    return glue_values(nb)


def _glue_text(name: str, role: str, spec: str, glue: Mapping, where: str) -> str:
    bundle = glue[name] if name in glue else {}
    if role == "glue:md" and "text/markdown" in bundle:
        return str(bundle["text/markdown"])
    if "text/plain" not in bundle:
        raise ValueError(f"{where}: no glued value {name!r} (the chapter does not glue it, or the "
                         f"values come from another version of the chapter)")
    from myst_nb.core.variables import format_plain_text  # the book's own formatting of {glue:text}
    return format_plain_text(str(bundle["text/plain"]), spec)


# --- MyST -> Markdown that Jupyter renders ----------------------------------------------------
@dataclass
class BookIndex:
    """What cross-references and citations resolve to, for the whole book."""
    titles: dict = field(default_factory=dict)      # label -> the text of a {ref} / {prf:ref}
    equations: dict = field(default_factory=dict)   # page -> {equation label: number}
    docs: dict = field(default_factory=dict)        # page (relative to book/, no suffix) -> title
    bib: dict = field(default_factory=dict)         # citation key -> fields of the entry


def _closing(line: str, fence: str) -> bool:
    s = line.strip()
    return len(s) >= len(fence) and set(s) == {fence[0]}


def _directive_title(name: str, arg: str) -> str:
    kind = name.split(":")[-1]
    if name.startswith("prf:"):
        return "Proof" if kind == "proof" else f"{kind.capitalize()} ({arg})" if arg else kind.capitalize()
    if name in _ADMONITIONS:
        return arg or ("See also" if name == "seealso" else name.capitalize())
    return arg or kind.replace("-", " ").capitalize()


def book_index(root: Path | str = ROOT) -> BookIndex:
    """Labels, equation numbers, page titles and bibliography of the book under ``root``."""
    root, index = Path(root), BookIndex()
    for path in sorted((root / "book").glob("**/*.md")):
        if any(part.startswith((".", "_")) for part in path.relative_to(root / "book").parts):
            continue
        doc, lines = path.relative_to(root / "book").with_suffix("").as_posix(), path.read_text("utf-8").split("\n")
        index.docs[doc] = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), doc)
        numbers = index.equations.setdefault(doc, {})
        for i, line in enumerate(lines):
            if (target := _TARGET.match(line)):           # (label)= before a heading or a directive
                nxt = next((ln for ln in lines[i + 1:i + 4] if ln.strip()), "")
                heading, directive = _HEADING.match(nxt), _DIRECTIVE.match(nxt)
                index.titles[target["label"]] = heading["text"] if heading else (directive and _directive_title(
                    directive["name"], directive["arg"]) or target["label"])
            if (directive := _DIRECTIVE.match(line)):      # :label: of a directive
                for option in map(_OPTION.match, (ln.strip() for ln in lines[i + 1:i + 8])):
                    if not option:
                        break
                    if option["key"] == "label":
                        index.titles[option["value"]] = ("Exercise" if directive["name"].startswith("exercise")
                                                         else _directive_title(directive["name"], directive["arg"]))
            if (eq := _EQ_LABEL.search(line)):
                numbers[eq["label"]] = len(numbers) + 1
    if (root / "book" / "references.bib").exists():
        from pybtex.database import parse_file  # as sphinxcontrib-bibtex reads it
        from pybtex.richtext import Text
        for key, entry in parse_file(root / "book" / "references.bib").entries.items():
            index.bib[key] = {k.lower(): Text.from_latex(v).render_as("text") for k, v in entry.fields.items()}
            index.bib[key]["author"] = ", ".join(Text.from_latex(" ".join(
                p.first_names + p.middle_names + p.prelast_names + p.last_names)).render_as("text")
                for p in entry.persons.get("author", []))
    return index


def _reference_text(entry: dict) -> str:
    venue = entry.get("journal") or entry.get("booktitle") or entry.get("publisher") or entry.get("note", "")
    text = ". ".join(p for p in (entry.get("author", ""), f"*{entry['title']}*" if "title" in entry else "") if p)
    text += ". " + ", ".join(p for p in (venue, entry.get("year", "")) if p)
    url = entry.get("url") or (f"https://doi.org/{entry['doi']}" if "doi" in entry else "")
    return text.strip().rstrip(".") + "." + (f" {url}" if url else "")


@dataclass
class _Context:             # a page being converted; cites: the keys cited so far, [1], [2]... in order
    doc: str
    index: BookIndex
    glue: Mapping | None
    cites: list = field(default_factory=list)


def _role(m: re.Match, ctx: _Context) -> str:
    name, content = m["name"], m["content"]
    split = _TEXT_TARGET.match(content)
    text, target = (split["text"], split["target"]) if split else (None, content.strip())
    if name.startswith("glue"):
        key, _, spec = content.partition(":")
        return m[0] if ctx.glue is None else _glue_text(key.strip(), name, spec.strip(), ctx.glue, f"{ctx.doc}.md")
    if name == "eq":
        number = ctx.index.equations.get(ctx.doc, {}).get(target)
        return text or f"({number or target})"
    if name in ("ref", "numref", "prf:ref", "term", "abbr", "any"):
        return text or _inline(ctx.index.titles.get(target, target), ctx)
    if name == "doc":
        doc = target.removesuffix(".md").removesuffix(".ipynb").lstrip("/")
        return text or ctx.index.docs.get(doc, doc)
    if name == "cite" or name.startswith("cite:"):
        keys = [k.strip() for k in target.split(",")]
        ctx.cites.extend(k for k in dict.fromkeys(keys) if k not in ctx.cites)
        return "[" + ", ".join(str(ctx.cites.index(k) + 1) for k in keys) + "]"
    if name in ("math", "sub", "sup", "download", "link"):
        return {"math": f"${content}$", "sub": f"<sub>{content}</sub>", "sup": f"<sup>{content}</sup>"}.get(
            name, text or target)
    shown = text or target                  # {func}, {class}, {meth}, any other role: code
    return f"`{shown[1:].rsplit('.', 1)[-1] if shown.startswith('~') else shown}`"


def _inline(line: str, ctx: _Context) -> str:
    m = _EQ_LABEL.search(line)              # $$ ... $$ (label): the book's equation number as a tag
    if m:
        number = ctx.index.equations.get(ctx.doc, {}).get(m["label"])
        tag, head = (f"\\tag{{{number}}}" if number else ""), line[: m.start()].rstrip()
        line = f"{head} {tag} $$".replace("  ", " ") if head.strip() else (f"{tag}\n$$" if tag else "$$")
    return _ROLE.sub(lambda r: _role(r, ctx), line)


def _render_directive(name: str, arg: str, options: dict, body: str, ctx: _Context) -> str:
    if name in _DROPPED:
        return ""
    if name.startswith("glue"):
        raise ValueError(f"{ctx.doc}.md: the {{{name}}} directive is not supported in generated notebooks")
    inner = _plain(body, ctx).strip("\n")
    if name == "math":
        number = ctx.index.equations.get(ctx.doc, {}).get(options.get("label"))
        return f"$$\n{inner}\n" + (f"\\tag{{{number}}}\n" if number else "") + "$$"
    title = _inline(_directive_title(name, arg), ctx)
    head = f"**{title}.**" if name == "prf:proof" else f"**{title}**"
    return f"{head}\n\n{inner}" if inner.strip() else head


def _plain(text: str, ctx: _Context) -> str:
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line, i = lines[i], i + 1
        opening = _DIRECTIVE.match(line) or _CODE_FENCE.match(line)
        if opening:
            start = i
            while i < len(lines) and not _closing(lines[i], opening["fence"]):
                i += 1
            body, closing, i = lines[start:i], lines[i] if i < len(lines) else opening["fence"], i + 1
            if "name" not in opening.groupdict():        # a plain code block: as it is
                out += [line, *body, closing]
                continue
            options = {}
            if body and body[0].strip() == "---":        # YAML options
                end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), 0)
                options, body = (yaml.safe_load("\n".join(body[1:end])) or {}), body[end + 1:]
            while body and (opt := _OPTION.match(body[0].strip())):
                options[opt["key"]], body = opt["value"], body[1:]
            rendered = _render_directive(opening["name"], opening["arg"], options, "\n".join(body).strip("\n"), ctx)
            out += ["", rendered, ""] if rendered else []
        elif not _TARGET.match(line):
            out.append(_inline(line, ctx))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


# --- the source notebook ----------------------------------------------------------------------
@dataclass
class _State:
    chapter: str
    exercise: int = 0                   # exercises seen so far
    label: str | None = None            # label of the current exercise
    in_solution: bool = False
    ids: dict = field(default_factory=dict)

    def nbgrader(self, label: str | None, part: str) -> dict:
        """nbgrader's metadata of a cell: code (autograded answer), answer (manually graded answer,
        1 point) or check (autograder tests, 1 point, locked); grade_id ``LABEL-PART`` (then -2...)."""
        base = re.sub(r"[^A-Za-z0-9_-]", "-", f"{label or f'{self.chapter}-ex{self.exercise}'}-{part}")
        self.ids[base] = self.ids.get(base, 0) + 1
        meta = {"grade": part != "code", "grade_id": base if self.ids[base] == 1 else f"{base}-{self.ids[base]}",
                "locked": part == "check", "schema_version": SCHEMA_VERSION, "solution": part != "check"}
        return {**meta, "points": 1} if meta["grade"] else meta


def _split_markdown(source: str, state: _State, where: str) -> list[tuple[str, str, str | None]]:
    """A markdown cell split at the exercise fences into ``(kind, markdown, label)``: kind 'text' or
    'solution', label that of the part's exercise; exercise-start becomes ``### Exercise N``."""
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
            if not (opt := _OPTION.match(lines[j])):
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
            state.exercise, state.label = state.exercise + 1, options.get("label") or m["arg"] or None
            parts.append(("text", [f"### Exercise {state.exercise}"], state.label))
        elif what == "solution-start":
            state.label, state.in_solution = m["arg"] or state.label, True
            parts.append(("solution", [], state.label))
        elif what == "solution-end":
            state.in_solution = False
            parts.append(("text", [], state.label))
    return [(kind, "\n".join(text).strip("\n"), label) for kind, text, label in parts if "\n".join(text).strip()]


def instructor_notebook(md: Path | str, glue: Mapping | None = None,
                        index: BookIndex | None = None) -> nbformat.NotebookNode:
    """The nbgrader source notebook of a chapter, its MyST made plain Markdown with the glued values
    ``glue`` (:func:`chapter_glue`); ``None`` keeps the glue roles, which only uses that execute the
    code (:func:`verify`, the tests of the checks) may do."""
    md = Path(md)
    src, index = jupytext.read(md), index or book_index(md.parent.parent)
    ctx, state = _Context(md.stem, index, glue), _State(md.stem)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": src.metadata.get("kernelspec", {}), "language_info": {
        "name": "python"}, "dipnb": {"chapter": md.stem, "version": "instructor"}})
    for number, cell in enumerate(src.cells):
        where = f"{md.name}, cell {number}"
        meta = {k: copy.deepcopy(v) for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "markdown":
            for kind, text, label in _split_markdown(cell.source, state, where):
                new = nbformat.v4.new_markdown_cell(_plain(text, ctx).strip("\n"), metadata=copy.deepcopy(meta))
                if kind == "solution":   # written answer: nbgrader "manually graded answer"
                    new.metadata["nbgrader"] = state.nbgrader(label, "answer")
                if new.source.strip():
                    nb.cells.append(new)
        elif cell.cell_type == "code":
            source = cell.source.strip("\n")
            check = source.split("\n", 1)[0].strip() == CHECK_LINE
            fault = ("a check cell inside a solution" if state.in_solution and CHECK_LINE in source else
                     "a check cell before the first exercise" if check and not state.exercise else
                     "hidden tests outside a check cell" if HIDDEN_BEGIN in source and not check else None)
            if fault:
                raise ValueError(f"{where}: {fault}")
            new = nbformat.v4.new_code_cell(f"{BEGIN}\n{source}\n{END}" if state.in_solution else source, metadata=meta)
            if state.in_solution or check:   # nbgrader's "autograded answer" or "autograder tests"
                new.metadata["nbgrader"] = state.nbgrader(state.label, "code" if state.in_solution else "check")
            nb.cells.append(new)
        else:
            nb.cells.append(nbformat.v4.new_raw_cell(cell.source, metadata=meta))
    if state.in_solution:
        raise ValueError(f"{md.name}: a solution-start without solution-end")
    if ctx.cites:                        # the works cited, numbered as in the text
        refs = [f"{i}. {_reference_text(index.bib[k]) if k in index.bib else k}" for i, k in enumerate(ctx.cites, 1)]
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
    ``NotImplementedError`` (no cell before it may fail), then, in the same kernel (working
    directory ``book/``), the instructor's cells from there: every solution and every check,
    hidden tests included, must pass. Raises AssertionError or CellExecutionError otherwise."""
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
            try:
                client.execute_cell(stud.cells[stop], stop)
                raise AssertionError(f"{md.stem}: the first stub (cell {stop}) did not raise")
            except CellExecutionError as err:
                assert err.ename == "NotImplementedError", (
                    f"{md.stem}: the first stub (cell {stop}) raised {err.ename}, not NotImplementedError")
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
