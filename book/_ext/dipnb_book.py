"""Small Sphinx fixes for the rendered book, found by tests/test_browser.py.

* sphinx-thebe 0.3 (pulled in by Jupyter Book 1) adds its inline configuration script
  twice, so every page logged "Identifier 'THEBE_JS_URL' has already been declared":
  drop exact duplicate script entries of each page.
* pydata-sphinx-theme logs "Got invalid theme mode" when no default mode is set:
  default to the light mode (readers can still switch).
"""


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
    app.connect("html-page-context", _page_fixes, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
