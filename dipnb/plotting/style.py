"""One style for every figure of the book, and the axes helper every figure function uses."""
from __future__ import annotations

import numpy as np

__all__ = ["setup_style", "axes_grid"]


def setup_style():
    """One call at the top of each chapter: a consistent, readable style."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6), "figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
        "font.size": 10, "savefig.bbox": "tight",
    })


def axes_grid(axes, n):
    """``(figure, list of n axes)``: new axes in one row when ``axes`` is None, else the given ones."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
        return fig, list(axes[0])
    axes = list(np.atleast_1d(axes))
    return axes[0].figure, axes
