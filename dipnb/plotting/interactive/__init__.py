"""Figures a reader can probe in the static book, offline, with no kernel (Bokeh).

``_base`` holds :class:`Interactive` (how a figure is written into a page) and says why
Bokeh; ``theory`` has chapter 02's explorer, ``theorem`` chapter 04's, ``sweeps`` the heat
maps of Fig 1, Fig 2 and the threshold study, ``images`` Fig 3 and Fig 4.
"""
from ._base import BOKEH_JS, BOOK_ENV, MARKER, Interactive, bokeh_js_dir
from .images import fig3a_explorer, fig3b_explorer
from .sweeps import cell_tips, fig1_explorer, fig2_explorer, threshold_explorer
from .theorem import theorem_explorer
from .theory import exponent_explorer

__all__ = ["Interactive", "BOOK_ENV", "MARKER", "BOKEH_JS", "bokeh_js_dir", "exponent_explorer",
           "theorem_explorer", "fig1_explorer", "fig2_explorer", "threshold_explorer", "cell_tips",
           "fig3a_explorer", "fig3b_explorer"]
