"""The book's MyST made plain Markdown that Jupyter and Colab render, for :mod:`dipnb.coursework`:
glued values written out (read from an executed chapter, or from a run of it), cross-references
and citations resolved against the whole book (:func:`book_index`), directives as a bold title and
their body. Only what no tool does: the book's own conversion for its generated notebooks."""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml
from nbclient import NotebookClient

from .experiments.results import book_root

__all__ = ["BookIndex", "PageContext", "book_index", "plain", "inline", "reference_text", "glue_values",
           "chapter_glue", "glue_text", "directive_title", "closing", "directive_options", "OPTION", "TARGET",
           "ROLE", "DIRECTIVE"]

OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
HEADING = re.compile(r"^\s*#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
DIRECTIVE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,}|~{3,})\{(?P<name>[^}\s]+)\}\s*(?P<arg>.*?)\s*$")
CODE_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?!.*`)")
ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w.+:-]*)\}`(?P<content>[^`]*)`")
EQ_LABEL = re.compile(r"\$\$\s*\((?P<label>[\w.:-]+)\)\s*$")
TEXT_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>\s*$", re.S)
ADMONITIONS = set("note warning tip hint important caution attention danger error seealso".split())
DROPPED = {"bibliography", "toctree", "tableofcontents", "eval-rst", "raw", "include"}


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


def chapter_glue(md: Path | str, executed_dirs=None, timeout: int = 300, log=print) -> dict:
    """The glued values of a chapter: from an executed notebook ``DIR/book/NAME.ipynb`` of
    ``executed_dirs`` (``make test``: ``_build/executed``; ``make book``: ``_build/jupyter_execute``,
    values in ``NAME.glue.json``) whose code is the chapter's and that holds every value the text
    uses; otherwise from a run of the chapter in ``book/`` (as long as its test)."""
    if executed_dirs is None:                            # the book's _build, from the working directory up
        root = book_root() or Path.cwd()
        executed_dirs = (root / "_build" / "executed", root / "_build" / "jupyter_execute")
    md, code = Path(md), lambda nb: [c.source.strip() for c in nb.cells if c.cell_type == "code"]
    chapter = jupytext.read(md)
    needed = {m["content"].split(":", 1)[0].strip() for c in chapter.cells if c.cell_type == "markdown"
              for m in ROLE.finditer(c.source) if m["name"].startswith("glue")}
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


def glue_text(name: str, role: str, spec: str, glue: Mapping, where: str) -> str:
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


def closing(line: str, fence: str) -> bool:
    s = line.strip()
    return len(s) >= len(fence) and set(s) == {fence[0]}


def directive_title(name: str, arg: str) -> str:
    kind = name.split(":")[-1]
    if name.startswith("prf:"):
        return "Proof" if kind == "proof" else f"{kind.capitalize()} ({arg})" if arg else kind.capitalize()
    if name in ADMONITIONS:
        return arg or ("See also" if name == "seealso" else name.capitalize())
    return arg or kind.replace("-", " ").capitalize()


def book_index(root: Path | str | None = None) -> BookIndex:
    """Labels, equation numbers, page titles and bibliography of the book under ``root`` (default: the
    book's root, ``_toc.yml``, from the working directory up)."""
    root, index = Path(root or book_root() or Path.cwd()), BookIndex()
    for path in sorted((root / "book").glob("**/*.md")):
        if any(part.startswith((".", "_")) for part in path.relative_to(root / "book").parts):
            continue
        doc, lines = path.relative_to(root / "book").with_suffix("").as_posix(), path.read_text("utf-8").split("\n")
        index.docs[doc] = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), doc)
        numbers = index.equations.setdefault(doc, {})
        for i, line in enumerate(lines):
            if (target := TARGET.match(line)):           # (label)= before a heading or a directive
                nxt = next((ln for ln in lines[i + 1:i + 4] if ln.strip()), "")
                heading, directive = HEADING.match(nxt), DIRECTIVE.match(nxt)
                index.titles[target["label"]] = heading["text"] if heading else (directive and directive_title(
                    directive["name"], directive["arg"]) or target["label"])
            if (directive := DIRECTIVE.match(line)):      # :label: of a directive
                for option in map(OPTION.match, (ln.strip() for ln in lines[i + 1:i + 8])):
                    if not option:
                        break
                    if option["key"] == "label":
                        index.titles[option["value"]] = ("Exercise" if directive["name"].startswith("exercise")
                                                         else directive_title(directive["name"], directive["arg"]))
            if (eq := EQ_LABEL.search(line)):
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


def reference_text(entry: dict) -> str:
    venue = entry.get("journal") or entry.get("booktitle") or entry.get("publisher") or entry.get("note", "")
    text = ". ".join(p for p in (entry.get("author", ""), f"*{entry['title']}*" if "title" in entry else "") if p)
    text += ". " + ", ".join(p for p in (venue, entry.get("year", "")) if p)
    url = entry.get("url") or (f"https://doi.org/{entry['doi']}" if "doi" in entry else "")
    return text.strip().rstrip(".") + "." + (f" {url}" if url else "")


@dataclass
class PageContext:             # a page being converted; cites: the keys cited so far, [1], [2]... in order
    doc: str
    index: BookIndex
    glue: Mapping | None
    cites: list = field(default_factory=list)


def _role(m: re.Match, ctx: PageContext) -> str:
    name, content = m["name"], m["content"]
    split = TEXT_TARGET.match(content)
    text, target = (split["text"], split["target"]) if split else (None, content.strip())
    if name.startswith("glue"):
        key, _, spec = content.partition(":")
        return m[0] if ctx.glue is None else glue_text(key.strip(), name, spec.strip(), ctx.glue, f"{ctx.doc}.md")
    if name == "eq":
        number = ctx.index.equations.get(ctx.doc, {}).get(target)
        return text or f"({number or target})"
    if name in ("ref", "numref", "prf:ref", "term", "abbr", "any"):
        return text or inline(ctx.index.titles.get(target, target), ctx)
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


def inline(line: str, ctx: PageContext) -> str:
    m = EQ_LABEL.search(line)              # $$ ... $$ (label): the book's equation number as a tag
    if m:
        number = ctx.index.equations.get(ctx.doc, {}).get(m["label"])
        tag, head = (f"\\tag{{{number}}}" if number else ""), line[: m.start()].rstrip()
        line = f"{head} {tag} $$".replace("  ", " ") if head.strip() else (f"{tag}\n$$" if tag else "$$")
    return ROLE.sub(lambda r: _role(r, ctx), line)


def _render_directive(name: str, arg: str, options: dict, body: str, ctx: PageContext) -> str:
    if name in DROPPED:
        return ""
    if name.startswith("glue"):
        raise ValueError(f"{ctx.doc}.md: the {{{name}}} directive is not supported in generated notebooks")
    inner = plain(body, ctx).strip("\n")
    if name == "math":
        number = ctx.index.equations.get(ctx.doc, {}).get(options.get("label"))
        return f"$$\n{inner}\n" + (f"\\tag{{{number}}}\n" if number else "") + "$$"
    title = inline(directive_title(name, arg), ctx)
    head = f"**{title}.**" if name == "prf:proof" else f"**{title}**"
    return f"{head}\n\n{inner}" if inner.strip() else head


def directive_options(body: list[str]) -> tuple[dict, list[str]]:
    """A directive's options (a YAML block or ``:key: value`` lines) and the rest of its body."""
    options = {}
    if body and body[0].strip() == "---":        # YAML options
        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), 0)
        options, body = (yaml.safe_load("\n".join(body[1:end])) or {}), body[end + 1:]
    while body and (opt := OPTION.match(body[0].strip())):
        options[opt["key"]], body = opt["value"], body[1:]
    return options, body


def plain(text: str, ctx: PageContext) -> str:
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line, i = lines[i], i + 1
        opening = DIRECTIVE.match(line) or CODE_FENCE.match(line)
        if opening:
            start = i
            while i < len(lines) and not closing(lines[i], opening["fence"]):
                i += 1
            body, last, i = lines[start:i], lines[i] if i < len(lines) else opening["fence"], i + 1
            if "name" not in opening.groupdict():        # a plain code block: as it is
                out += [line, *body, last]
                continue
            options, body = directive_options(body)
            rendered = _render_directive(opening["name"], opening["arg"], options, "\n".join(body).strip("\n"), ctx)
            out += ["", rendered, ""] if rendered else []
        elif not TARGET.match(line):
            out.append(inline(line, ctx))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


