"""Small Sphinx fixes for the rendered book, found by tests/test_browser.py.

* sphinx-thebe 0.3 (pulled in by Jupyter Book 1) adds its inline configuration script
  twice, so every page logged "Identifier 'THEBE_JS_URL' has already been declared":
  drop exact duplicate script entries of each page.
* pydata-sphinx-theme logs "Got invalid theme mode" when no default mode is set:
  default to the light mode (readers can still switch).
* Interactive figures (:mod:`dipnb.plotting.interactive`): the chapters' kernels get
  ``DIPNB_BOOK=1``, so a figure's output leaves BokehJS out; each page whose body holds such
  a figure gets BokehJS's two scripts, once, from ``_static/bokeh-<version>/`` (copied from
  the installed ``bokeh`` when the build ends), and no other page loads them.
* Cross-references under ``nitpicky`` (every reference must resolve): dipnb re-exports its
  public names (``dipnb.gradient_descent`` is ``dipnb.core.descent.gradient_descent``), and a
  docstring may name a function of its own module without the module. The API page
  documents each object once, under the module that defines it; a reference that Sphinx does
  not find is looked up by importing it (from the module of the docstring that holds it, if it
  has no module) and resolved again at the object's home. What still fails is a broken
  reference, which ``-W`` makes an error.
* Exercises: the option ``:class: difficulty-N`` of ``{exercise-start}`` shows the level after the
  exercise's title (``static/dipnb_exercises.css``, on every page), and a scaffolded solution's
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines, which only nbgrader reads
  (:mod:`dipnb.coursework`), are left out of the code the page shows.
* The API page is generated: ``.. dipnb-modules:: dipnb.core`` documents the package and
  every public module under it (:func:`public_modules`), each object once, in the module that
  defines it, so that no public module can be left out of the page.
"""
import importlib
import os
import shutil

from dipnb.plotting.interactive import BOKEH_JS, BOOK_ENV, MARKER, bokeh_js_dir


def _bokeh_folder() -> str:
    import bokeh

    return f"bokeh-{bokeh.__version__}"


def _bokeh_scripts(app, pagename, templatename, context, doctree):
    if f'class="{MARKER}"' in (context.get("body") or ""):
        for name in BOKEH_JS:
            app.add_js_file(f"{_bokeh_folder()}/{name}")


def _copy_bokeh(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = os.path.join(app.outdir, "_static", _bokeh_folder())
    os.makedirs(target, exist_ok=True)
    for name in BOKEH_JS:
        shutil.copyfile(os.path.join(bokeh_js_dir(), name), os.path.join(target, name))


def _page_fixes(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):
        context["default_mode"] = "light"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", {}) or {}
        # the duplicates differ only in how "no file" is spelled (None vs ""): compare
        # what the page would contain
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")      # nbgrader's, as in dipnb.coursework


def without_solution_markers(text: str) -> str:
    """``text`` without the lines that are only an nbgrader solution marker."""
    return "\n".join(line for line in text.split("\n") if line.strip() not in SOLUTION_MARKERS)


def _hide_solution_markers(app, doctree):
    from docutils import nodes

    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        if any(marker in text for marker in SOLUTION_MARKERS):
            shown = without_solution_markers(text)
            block.rawsource = shown
            block.children = []
            block += nodes.Text(shown)


def _static_folder(app, config):
    config.html_static_path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "static"))


def _home(target: str, module: str | None) -> str | None:
    """Where the object ``target`` (a dotted name, maybe relative to ``module``) is defined:
    ``module.qualname`` of the object it names, or the module's own name; None when it is not
    dipnb's or cannot be imported."""
    candidates = [target] + ([f"{module}.{target}"] if module else [])
    for name in candidates:
        if not name.startswith("dipnb"):
            continue
        parts = name.split(".")
        for i in range(len(parts), 0, -1):          # the longest importable module prefix
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            if isinstance(obj, type(importlib)):
                return obj.__name__
            home, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
            if home and qual:
                return f"{home}.{qual}"
            if i < len(parts):                      # module data (a constant): its module's name
                return ".".join(parts[:i]) + "." + ".".join(parts[i:])
            break
    return None


def _resolve_at_home(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    home = _home(target, node.get("py:module"))
    if home is None:
        return None
    # an object of a private module is documented where a public module re-exports it
    public = ".".join(p for p in home.split(".") if not p.startswith("_"))
    domain = env.get_domain("py")
    for name in dict.fromkeys((home, public)):
        if name == target:
            continue
        new = node.deepcopy()
        new["reftarget"] = name
        new["py:module"] = None
        new["py:class"] = None
        found = domain.resolve_xref(env, node.get("refdoc"), app.builder, node["reftype"], name, new, contnode)
        if found is not None:
            return found
    return None


def public_modules(package: str) -> list[str]:
    """``package`` and every module under it whose dotted name has no part starting with ``_``,
    sorted (the package first)."""
    import pkgutil

    pkg = importlib.import_module(package)
    names = [package]
    if hasattr(pkg, "__path__"):
        for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return sorted(names, key=lambda n: (n != package, n))


def own_members(module: str) -> list[str] | None:
    """The names of ``module.__all__`` that the module defines itself (not re-exports, not
    submodules), or None for a module without ``__all__``."""
    from types import ModuleType

    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    if names is None:
        return None
    def here(name):            # defined in the module, or in a private module it re-exports from
        home = getattr(getattr(mod, name), "__module__", module) or module
        return home == module or (home.startswith("dipnb") and any(p.startswith("_") for p in home.split(".")))

    return [n for n in names if not isinstance(getattr(mod, n), ModuleType) and here(n)]


def _modules_directive():
    from docutils import nodes
    from docutils.parsers.rst import Directive
    from docutils.statemachine import StringList

    class DipnbModules(Directive):
        """``.. dipnb-modules:: PACKAGE``: automodule for PACKAGE and each public module under it."""

        required_arguments = 1

        def run(self):
            lines = []
            for name in public_modules(self.arguments[0]):
                own = own_members(name)
                lines.append(f".. automodule:: {name}")
                if own is None:
                    lines.append("   :members:")
                elif own:
                    lines.append(f"   :members: {', '.join(own)}")
                lines.append("")
            node = nodes.container()
            self.state.nested_parse(StringList(lines, source="dipnb-modules"), self.content_offset, node)
            return node.children

    return DipnbModules


def setup(app):
    os.environ[BOOK_ENV] = "1"          # kernels started by this build inherit it
    app.connect("html-page-context", _bokeh_scripts, priority=500)
    app.connect("html-page-context", _page_fixes, priority=900)
    app.connect("build-finished", _copy_bokeh)
    app.connect("missing-reference", _resolve_at_home)
    app.connect("config-inited", _static_folder)
    app.connect("doctree-read", _hide_solution_markers)
    app.add_css_file("dipnb_exercises.css")
    app.add_directive("dipnb-modules", _modules_directive())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
