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
"""
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


def setup(app):
    os.environ[BOOK_ENV] = "1"          # kernels started by this build inherit it
    app.connect("html-page-context", _bokeh_scripts, priority=500)
    app.connect("html-page-context", _page_fixes, priority=900)
    app.connect("build-finished", _copy_bokeh)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
