"""Figures of the book. Numerics live in the other modules; these functions only draw.

Every function takes an optional ``ax`` (or ``axes``) and returns the figure, so a
chapter shows one line per figure and no matplotlib plumbing.
"""
from __future__ import annotations

import numpy as np

__all__ = ["setup_style", "plot_sigma_min_vs_width", "plot_trajectory"]


def setup_style():
    """One call at the top of each chapter: a consistent, readable style."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (7.0, 3.6), "figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
        "font.size": 10, "savefig.bbox": "tight",
    })


def _axes(axes, n):
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
        return fig, list(axes[0])
    axes = list(np.atleast_1d(axes))
    return axes[0].figure, axes


def plot_sigma_min_vs_width(res: dict, axes=None, label: str = "hidden layer W"):
    """Left: :math:`\\sigma_{\\min}(J_g(0))^2` against k (median and 10--90% band over runs)
    with its wide-network limit. Right: the relative deviation from the limit, with a
    :math:`k^{-1/2}` guide."""
    fig, (a0, a1) = _axes(axes, 2)
    ks, s2, lim = np.asarray(res["ks"]), np.asarray(res["sigma"]) ** 2, float(res["limit"])
    lo, med, hi = np.quantile(s2, [0.1, 0.5, 0.9], axis=1)
    a0.fill_between(ks, lo, hi, alpha=0.25, label="10–90% of runs")
    a0.plot(ks, med, "o-", ms=3, label=f"median, {label}")
    a0.axhline(lim, color="k", ls="--", lw=1, label=f"limit {lim:.4f}")
    a0.set(xscale="log", xlabel="width k", ylabel=r"$\sigma_{\min}(J_g(0))^2$")
    a0.legend(fontsize=8)
    dev = np.abs(s2 - lim) / lim
    dlo, dmed, dhi = np.quantile(dev, [0.1, 0.5, 0.9], axis=1)
    a1.fill_between(ks, dlo, dhi, alpha=0.25)
    a1.plot(ks, dmed, "o-", ms=3, label="median relative deviation")
    ref = dmed[0] * np.sqrt(ks[0] / ks)
    a1.plot(ks, ref, "k:", lw=1, label=r"$\propto k^{-1/2}$")
    a1.set(xscale="log", yscale="log", xlabel="width k",
           ylabel=r"$|\sigma_{\min}^2 - \lim| / \lim$")
    a1.legend(fontsize=8)
    return fig


def plot_trajectory(traj, axes=None, tol: float | None = None, runs=None):
    """Loss, :math:`\\|x_\\tau - \\bar x\\|` and :math:`\\|\\theta_\\tau - \\theta_0\\|`
    against τ, one line per run; each run is drawn up to the iteration where it stopped."""
    fig, axes = _axes(axes, 3)
    steps = np.asarray(traj.steps)
    stop = traj.stop_step.cpu().numpy()
    runs = range(traj.loss.shape[1]) if runs is None else runs
    keys = (("loss", r"$\mathcal{L}_y(y_\tau)$", "log"), ("error", r"$\|x_\tau - \bar x\|$", "log"),
            ("dist", r"$\|\theta_\tau - \theta_0\|$", "linear"))
    for ax, (key, lab, scale) in zip(axes, keys):
        vals = getattr(traj, key).cpu().numpy()
        for r in runs:
            keep = steps <= stop[r]
            ax.plot(np.maximum(steps[keep], 1), vals[keep, r], lw=1.2, label=f"run {r}: {traj.status[r]}")
        ax.set(xscale="log", yscale=scale, xlabel=r"iteration $\tau$ (+1)", title=lab)
    if tol is not None:
        axes[0].axhline(tol, color="k", ls="--", lw=1, label=f"tol = {tol:g}")
    axes[0].legend(fontsize=7)
    return fig
