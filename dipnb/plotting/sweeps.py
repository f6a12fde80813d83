"""Figures of the training sweeps (Fig 1, Fig 2, the step-size threshold), from :mod:`dipnb.experiments`.

Each function takes the dict returned by the sweep (or the arrays of its saved result)
and returns the matplotlib Figure; nothing is computed here but medians and interpolations.
"""
from __future__ import annotations

import math

import numpy as np

from ..analysis import condition4_probability, width_at_probability
from ..experiments.paper import PAPER
from .style import ANNOTATION_SIZE, HEAT_CMAP, LEGEND_FACE, LEGEND_SIZE, PAGE_WIDTH, cell_edges

__all__ = ["plot_fig1", "plot_fig2", "plot_gamma_threshold"]


def _heat(ax, x, rows, Z, cmap=HEAT_CMAP):
    """Heat map of Z (rows × x) with categorical rows (unevenly spaced values are fine)."""
    mesh = ax.pcolormesh(cell_edges(x), np.arange(len(rows) + 1) - 0.5, np.asarray(Z, dtype=float),
                         vmin=0, vmax=1, cmap=cmap, shading="flat")
    ax.grid(False)
    ax.set_yticks(np.arange(len(rows)), [str(int(r)) for r in rows])
    return mesh


def _width_line(ax, ks, prob, level, style, label):
    xs = [width_at_probability(ks, p, level) for p in prob]
    y = np.arange(len(xs))
    lx = np.array([math.log10(v) if np.isfinite(v) else np.nan for v in xs])
    ax.plot(lx, y, style, lw=1.5, ms=5, label=label)


def plot_fig1(res: dict, nu1: float | None = None, level: float = 0.5, axes=None):
    """Fig 1 of the paper from :func:`dipnb.experiments.fig1_sweep`: two heat maps over (log10 k, m).

    Left (Fig 1a): probability that condition (4) holds at initialisation with constant
    ``nu1`` (default: the one of the sweep). Right (Fig 1b): probability that gradient
    descent reached the tolerance. On both: the median Corollary III.2 bound
    (C = C' = 1) per m (white diamonds; beyond the grid, a white triangle at the edge of its row,
    with the value written beside it, one label per row so that they never collide), the width at which (4)
    holds with probability ``level`` (white dashed), and the paper's two numbers for m = 2
    (red stars: :math:`10^{6.8}` for the bound, :math:`10^{2.5}` for convergence).
    """
    import matplotlib.pyplot as plt

    nu1 = float(res["nu1"]) if nu1 is None else float(nu1)
    ms = np.asarray(res["ms"]).astype(int)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 4.2), sharey=True,
                                 gridspec_kw={"width_ratios": [len(res["ks_a"]), max(len(res["ks_b"]), 6)]})
    fig = axes[0].figure
    lka, lkb = np.log10(res["ks_a"]), np.log10(res["ks_b"])
    pa = np.stack([condition4_probability(r, nu1) for r in res["ratio_a"]])
    mesh = _heat(axes[0], lka, ms, pa)
    _heat(axes[1], lkb, ms, res["prob_b"])
    bound = np.log10(np.median(res["bound"], axis=1))
    # the reading levels: where half the runs, and where every run, satisfy (4) / converge
    _width_line(axes[1], res["ks_b"], res["prob_b"], 0.5, "k^--", "converges with P = 0.5")
    _width_line(axes[1], res["ks_b"], res["prob_b"], 1.0, "k^-", "all runs converge (P = 1)")
    for ax, lk in zip(axes, (lka, lkb)):
        _width_line(ax, res["ks_a"], pa, level, "w--", f"(4) holds with P = {level:g}")
        _width_line(ax, res["ks_a"], pa, 1.0, "w-", "(4) holds in every run (P = 1)")
        lo, hi = cell_edges(lk)[[0, -1]]
        inside = (bound >= lo) & (bound <= hi)
        ax.plot(bound[inside], np.arange(len(ms))[inside], "wD", ms=5, mec="k", label="bound (C = C' = 1)")
        # a bound beyond the grid: a triangle on the edge of its row and the value beside it,
        # centred on the row (one label per row and per panel, so labels cannot overlap)
        for i in np.flatnonzero(~inside):
            right = bound[i] > hi
            edge, pad = (hi, -0.035) if right else (lo, 0.035)
            ax.plot([edge], [i], ">" if right else "<", color="w", mec="k", ms=8, clip_on=False,
                    label="bound beyond the grid (its value)")
            ax.text(edge + pad * (hi - lo), i, f"$10^{{{bound[i]:.1f}}}$", fontsize=ANNOTATION_SIZE,
                    ha="right" if right else "left", va="center", color="k",
                    bbox=dict(boxstyle="round,pad=0.15", fc="w", ec="none", alpha=0.8))
        ax.set_xlim(lo, hi)
        ax.set_xlabel(r"$\log_{10} k$")
    if 2 in ms:
        i = int(np.flatnonzero(ms == 2)[0])
        for ax, key, lk in ((axes[0], "fig1_bound_m2_log10k", lka), (axes[1], "fig1_conv_m2_log10k", lkb)):
            x = PAPER[key]
            lo, hi = cell_edges(lk)[[0, -1]]
            if lo <= x <= hi:
                ax.plot([x], [i], "*", color="C3", ms=11, mec="w", label=f"paper, m = 2: $10^{{{x}}}$")
    axes[0].set(ylabel="m", title=f"(a) P[(4) holds], $\\nu_1 = {nu1:g}$, {res['runs']} runs")
    axes[1].set_title(f"(b) P[$\\mathcal{{L}}_y(y_{{\\tau}}) \\leq {res['tol']:g}$], "
                      f"$\\tau \\leq {res['steps']:g}$, $\\gamma = {res['gamma']:g}$")
    handles = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.colorbar(mesh, ax=list(axes), shrink=0.9, label="probability")
    fig.legend(list(handles.values()), list(handles), fontsize=LEGEND_SIZE, ncol=3, loc="upper center",
               bbox_to_anchor=(0.45, 0.0), frameon=True, facecolor=LEGEND_FACE, edgecolor="none")
    return fig


def _hatch_not_run(ax, x, res):
    """Hatch the cells a sweep did not run (above two all-failed cells: ``res["ran"]`` False)."""
    if "ran" not in res:
        return
    from matplotlib.patches import Rectangle

    edges = cell_edges(x)
    ran = np.asarray(res["ran"], dtype=bool)
    for n, (i, j) in enumerate(zip(*np.nonzero(~ran))):
        ax.add_patch(Rectangle((edges[j], i - 0.5), edges[j + 1] - edges[j], 1.0, fill=True, fc="0.85",
                               ec="0.5", hatch="///", lw=0,
                               label="not run (above two failed cells)" if n == 0 else None))


def plot_fig2(res: dict, paper_threshold: float = 10 ** PAPER["threshold_log10_gamma"], ax=None):
    """Fig 2 of the paper from :func:`dipnb.experiments.fig2_sweep`: probability of convergence
    over (log10 γ, n), with per n the measured failure threshold (red), the median
    :math:`2/L_0` (white dashed, :math:`L_0` the Hessian norm at :math:`\\theta_0`), the
    median :math:`1/L` of the estimate (10) with constant 1 (white dotted) and the paper's
    :math:`10^{1.6}` (quoted for n = 5 only)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(8.0, 3.8))
    fig = ax.figure
    lg = np.log10(res["gammas"])
    ns = np.asarray(res["ns"]).astype(int)
    mesh = _heat(ax, lg, ns, res["frac_conv"])
    y = np.arange(len(ns))
    _hatch_not_run(ax, lg, res)
    thr = np.array([math.log10(t) if np.isfinite(t) else np.nan for t in res["threshold"]])
    ax.plot(thr, y, "o", color="C3", mec="w", ms=7, label="fails from (P < 1/2)")
    ax.plot(np.log10(np.median(2 / res["L0"], axis=1)), y, "w--", lw=1.5, label=r"$2/L_0$ (measured)")
    ax.plot(np.log10(np.median(1 / res["L_eq10"], axis=1)), y, "w:", lw=2, label=r"$1/L$ by (10), const. 1")
    ax.axvline(math.log10(paper_threshold), color="C1", lw=1, label=r"paper: $10^{1.6}$ (n = 5)")
    lo, hi = cell_edges(lg)[[0, -1]]
    ax.set(xlim=(lo, hi), xlabel=r"$\log_{10}\gamma$", ylabel="n",
           title=f"P[converge], k = {res['k']}, m = ⌈n/2⌉, {res['runs']} runs, "
                 f"$\\tau \\leq {res['steps']:g}$")
    ax.set_yticks(y, [f"{n} (m={m})" for n, m in zip(ns, np.asarray(res["m"]).astype(int))])
    ax.legend(fontsize=LEGEND_SIZE, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=True,
              facecolor=LEGEND_FACE, edgecolor="none")
    fig.colorbar(mesh, ax=ax, label="probability")
    return fig


def plot_gamma_threshold(res: dict, paper_threshold: float = 10 ** PAPER["threshold_log10_gamma"], axes=None):
    """The unshown step-size experiment from :func:`dipnb.experiments.gamma_threshold_sweep`.

    Left: fraction of runs that converged against γ, one line per width k, and the
    paper's :math:`10^{1.6}`. Right: against k, the measured failure thresholds (where the first
    run fails, where 10% do and where half do) and the
    step sizes the theory allows: :math:`1/L_0` and :math:`2/L_0` (measured Hessian norm at
    :math:`\\theta_0`), :math:`1/L` by the estimate (10) with constant 1, and the linearised
    critical step :math:`2/(C_{\\phi'}^2\\|A\\|^2)` (medians over runs)."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.8))
    a0, a1 = axes
    fig = a0.figure
    g, ks = np.asarray(res["gammas"]), np.asarray(res["ks"])
    for a, k in enumerate(ks):
        a0.plot(g, res["frac_conv"][a], "o-", ms=3, color=f"C{a}", label=f"k = {k}")
    a0.axvline(paper_threshold, color="C3", lw=1, label=r"paper: $10^{1.6}$")
    a0.set(xscale="log", xlabel=r"$\gamma$", ylabel="fraction converged", ylim=(-0.05, 1.05),
           title=f"n = {res['n']}, m = {res['m']}, {res['runs']} runs, $\\tau \\leq {res['steps']:g}$")
    a0.legend(fontsize=LEGEND_SIZE)
    from ..analysis import failure_threshold

    thr = np.where(np.isfinite(res["threshold"]), res["threshold"], np.nan)
    a1.plot(ks, thr, "o-", color="C3", label="measured: half the runs fail from")
    onset = np.array([failure_threshold(g, f, 0.9) for f in res["frac_conv"]])
    a1.plot(ks, np.where(np.isfinite(onset), onset, np.nan), "s--", color="C3", mfc="none",
            label="measured: 10% fail from")
    # the paper's reading, 'start to diverge': the first failure, where every run converges at small γ
    first = np.array([failure_threshold(g, f, f[0]) if f[0] == 1 else np.nan for f in res["frac_conv"]])
    a1.plot(ks, np.where(np.isfinite(first), first, np.nan), "v:", color="C3",
            label="measured: the first run fails at")
    for val, lab, st in ((1 / res["L0"], r"$1/L_0$", "--"), (2 / res["L0"], r"$2/L_0$", "-."),
                         (1 / res["L_eq10"], r"$1/L$ by (10), const. 1", ":"),
                         (res["gamma_lin"], r"$2/(C_{\phi'}^2\|A\|^2)$", "-")):
        a1.plot(ks, np.median(val, axis=1), st, color="grey" if st != "-" else "C2", label=lab)
    a1.axhline(paper_threshold, color="C3", lw=0.8, ls=(0, (4, 2)), label=r"paper: $10^{1.6}$")
    a1.set(xscale="log", yscale="log", xlabel="width k", ylabel=r"$\gamma$",
           title="step sizes: measured failure vs theory")
    a1.legend(fontsize=LEGEND_SIZE, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    return fig
