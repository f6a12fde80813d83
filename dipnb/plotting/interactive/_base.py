"""The base of every interactive figure: figures a reader can probe in the static book, offline, with no kernel (Bokeh).

Why Bokeh: its JavaScript ships inside the Python package (``bokeh/server/static/js``), so
the built book serves it from its own files, offline; hover, sliders and selects are part of
its model, and a control that combines several others (chapter 04's explorer: k, m, γL,
noise) is one :class:`bokeh.models.CustomJS` callback, the library's own API. Plotly's
static sliders cannot combine controls without JavaScript outside its API, and its script
weighs 4.7 MB against BokehJS's 1.7 MB (core and widgets).

Every interactive figure of the book is an :class:`Interactive`: a Bokeh layout whose
notebook output is the layout's ``<div>`` and its embedding ``<script>``, wrapped in
``<div class="dipnb-bokeh">``.

* In the book (``DIPNB_BOOK=1``: set by the book's Sphinx extension and by the test runner
  for the chapters' kernels) the output does not carry BokehJS: the extension
  ``book/_ext/dipnb_book.py`` adds the two scripts, copied from the installed ``bokeh``,
  once to each page that has such an output, and to no other page.
* Anywhere else (Jupyter, Colab) each output carries BokehJS inline, so that it renders
  in a notebook without network and in Colab's one-frame-per-output.
"""
from __future__ import annotations

import functools
import html
import os

__all__ = ["Interactive", "BOOK_ENV", "MARKER", "BOKEH_JS", "WIDTH", "bokeh_js_dir", "log_floor"]

#: environment variable that says "BokehJS is on the page already" (the book build)
BOOK_ENV = "DIPNB_BOOK"
#: class of the element that wraps every interactive figure (the book's extension looks for it)
MARKER = "dipnb-bokeh"
#: the BokehJS bundles a figure needs: the core and the widgets (sliders, selects, toggles)
BOKEH_JS = ("bokeh.min.js", "bokeh-widgets.min.js")


def bokeh_js_dir() -> str:
    """Folder of the installed ``bokeh`` that holds ``BOKEH_JS`` (the two scripts a page needs)."""
    import bokeh

    return os.path.join(os.path.dirname(bokeh.__file__), "server", "static", "js")


@functools.lru_cache(maxsize=1)
def _inline_js() -> str:
    """BokehJS as inline script tags (read once per process; 1.7 MB)."""
    parts = []
    for name in BOKEH_JS:
        with open(os.path.join(bokeh_js_dir(), name), encoding="utf-8") as f:
            parts.append(f"<script type=\"text/javascript\">{f.read()}</script>")
    return "".join(parts)


class Interactive:
    """A Bokeh layout shown as HTML that works with no kernel.

    Parameters
    ----------
    layout : bokeh.model.Model
        The figure, or a layout of figures and widgets.
    name : str
        A short identifier (letters, digits, ``-``), written in ``data-figure`` so that a
        page, and ``tests/test_browser*.py``, can find the figure.
    stretch : bool
        Give every plot, widget and layout that has no sizing mode of its own
        ``sizing_mode="stretch_width"`` (heights stay as set), so that the figure fills the
        column it is in and never overflows it: the book's text column is narrower than
        ``WIDTH`` on many screens. Pass False for a layout that sets its own sizes.
    """

    def __init__(self, layout, name: str, stretch: bool = True):
        if not name or not all(c.isalnum() or c == "-" for c in name):
            raise ValueError(f"Interactive: name must be letters, digits and '-', got {name!r}")
        if stretch:
            from bokeh.models import LayoutDOM

            for model in layout.select({"type": LayoutDOM}):
                if model.sizing_mode is None:
                    model.sizing_mode = "stretch_width"
        self.layout = layout
        self.name = name

    def __repr__(self) -> str:
        return f"Interactive({self.name!r})"

    def _repr_html_(self) -> str:
        from bokeh.embed import components

        script, div = components(self.layout)
        js = "" if os.environ.get(BOOK_ENV) else _inline_js()
        return (f'<div class="{MARKER}" data-figure="{html.escape(self.name)}">'
                f"{js}{div}{script}</div>")


# -- shared pieces ------------------------------------------------------------------------------
#: the widest an interactive figure may be, in px: the book's text column at a 1200 px window
#: measures 624 px (tests/test_browser_interactive.py fails a figure wider than its column).
#: Figures of fixed size take their widths from here; others use ``sizing_mode="stretch_width"``
WIDTH = 620


def log_floor(a, floor: float = 1e-300):
    """Values for a log axis: non-positive and non-finite values become NaN (a gap)."""
    import numpy as np

    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a) & (a > floor), a, np.nan)

