"""One style for every figure of the book, and the axes helper every figure function uses.

The book's text column is about 800 px wide at a 1200 px window; a figure is drawn at
``DPI`` and shrunk to that width. The sizes below are chosen so that, for figures no wider
than ``PAGE_WIDTH`` inches, titles, labels and legends stay at least about 10 px high on
the page. Figure functions take their font sizes, colour maps and widths from here rather
than writing numbers of their own.
"""
from __future__ import annotations

import numpy as np

__all__ = ["setup_style", "axes_grid", "cell_edges", "DPI", "PAGE_WIDTH", "FONT_SIZE", "TITLE_SIZE", "LABEL_SIZE",
           "TICK_SIZE", "LEGEND_SIZE", "ANNOTATION_SIZE", "IMAGE_TITLE_SIZE", "HEAT_CMAP", "IMAGE_CMAP",
           "LEGEND_FACE"]

#: dots per inch of the figures in the book
DPI = 110
#: the widest figure, in inches, that the text column shows without shrinking fonts below legibility
PAGE_WIDTH = 10.0
#: base font size (points) and the sizes derived from it
FONT_SIZE = 11
TITLE_SIZE = 11.5
LABEL_SIZE = 11
TICK_SIZE = 10
LEGEND_SIZE = 9.5
#: labels written on a plot (values beside markers)
ANNOTATION_SIZE = 9.5
#: titles above the panels of an image grid
IMAGE_TITLE_SIZE = 11
#: colour map of every probability heat map (Fig 1, Fig 2, condition (4)), and of grey images
HEAT_CMAP = "viridis"
IMAGE_CMAP = "gray"
#: background of legends that show white line samples (heat maps): mid grey, so white shows
LEGEND_FACE = "0.7"


def setup_style():
    """One call at the top of each chapter: a consistent, readable style."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6), "figure.dpi": DPI, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
        "font.size": FONT_SIZE, "axes.titlesize": TITLE_SIZE, "axes.labelsize": LABEL_SIZE,
        "xtick.labelsize": TICK_SIZE, "ytick.labelsize": TICK_SIZE, "legend.fontsize": LEGEND_SIZE,
        "figure.titlesize": TITLE_SIZE, "image.cmap": HEAT_CMAP, "savefig.bbox": "tight",
    })


def axes_grid(axes, n):
    """``(figure, list of n axes)``: new axes in one row when ``axes`` is None, else the given ones."""
    import matplotlib.pyplot as plt

    if axes is None:
        width = min(3.6 * n, PAGE_WIDTH)
        fig, axes = plt.subplots(1, n, figsize=(width, 3.4), squeeze=False)
        return fig, list(axes[0])
    axes = list(np.atleast_1d(axes))
    return axes[0].figure, axes


def cell_edges(x):
    """Cell edges around the points ``x`` (midpoints, half a step beyond both ends): the cells of
    every heat map, matplotlib (:mod:`dipnb.plotting.sweeps`) and interactive alike."""
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = (x[1:] + x[:-1]) / 2
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
