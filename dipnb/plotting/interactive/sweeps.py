"""Interactive heat maps of the training sweeps (chapters 06 and 07): Fig 1 (a and b), Fig 2
and the unshown step-size experiment (the threshold study).

Every cell shows on hover what the saved result holds for it: the probability P with its
95% Wilson interval (:func:`dipnb.analysis.wilson_interval`), the runs behind it, the share
of runs meeting condition (4) where the result records it (Fig 1), and for the step-size
sweeps the spread of the final losses and how the failed runs end
(:func:`dipnb.analysis.failed_run_losses`). The readings of the chapters' tables are drawn
on the maps and can be switched on and off (a :class:`bokeh.models.CheckboxGroup`) or, for
the threshold study, chosen (a :class:`bokeh.models.RadioButtonGroup`). Everything is
computed here, in Python; the page only copies precomputed columns or toggles visibility.

The texts of the tooltips are columns of the cells' :class:`bokeh.models.ColumnDataSource`
(``tip``), so that a test can compare them with the saved result without a browser.
"""
from __future__ import annotations

import html
import math

import numpy as np

from ...analysis import (
    condition4_probability,
    failed_run_losses,
    log10_onset_at,
    log10_threshold_at,
    width_at_probability,
    wilson_interval,
)
from ...experiments.paper import PAPER
from ..style import cell_edges
from ._base import WIDTH, Interactive

__all__ = ["fig1_explorer", "fig2_explorer", "threshold_explorer", "cell_tips"]

#: heat-map colours: matplotlib's viridis (``dipnb.plotting.style.HEAT_CMAP``), P from 0 to 1
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
#: a widget spans the figure's width, no more (a bare width is ignored: Bokeh stretches it to the page)
_WIDGET = dict(sizing_mode="stretch_width", max_width=WIDTH)
#: where a threshold marker sits in its row, per reading (so that readings in one cell do not hide each other)
_LEVEL_STYLE = {"onset": ("inverted_triangle", "▼", -0.25), "90": ("square", "■", 0.0),
                "half": ("circle", "●", 0.25)}


def _np(x):
    """A NumPy array of a result's entry (tensors from a live sweep included)."""
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)


def _p_line(what: str, successes: int, runs: int) -> str:
    lo, hi = wilson_interval(successes, runs)
    return f"{what}: P = {successes / runs:.2f} [{float(lo):.2f}, {float(hi):.2f}] (95% Wilson)"


def _tip(lines) -> str:
    return "<br>".join(html.escape(s) for s in lines if s)


def _loss_lines(loss, ran: bool, failed: int, above: float) -> list[str]:
    """The spread of the final losses of one cell's runs, and how its failed runs end."""
    if not ran:
        return ["not run (above two γ where every run failed): its runs count as failed"]
    v = np.asarray(loss, dtype=float)
    v = v[np.isfinite(v)]
    out = []
    if v.size:
        q1, q2, q3 = np.quantile(v, [0.25, 0.5, 0.75])
        out += [f"final loss: median {q2:.1e}, quartiles [{q1:.1e}, {q3:.1e}]",
                f"final loss: min {v.min():.1e}, max {v.max():.1e}"]
    if failed:
        out.append(f"failed runs ending above their initial loss: {int(round(above * failed))} / {failed}")
    return out


def cell_tips(res: dict, kind: str, nu1: float | None = None) -> np.ndarray:
    """The tooltip text (HTML lines) of every cell of a saved sweep, shape (rows, columns).

    Parameters
    ----------
    res : dict
        A result of :func:`dipnb.experiments.fig1_sweep` (``kind`` ``"fig1a"`` or
        ``"fig1b"``), :func:`dipnb.experiments.fig2_sweep` (``"fig2"``) or
        :func:`dipnb.experiments.gamma_threshold_sweep` (``"threshold"``).
    kind : str
        Which map.
    nu1 : float, optional
        The constant of condition (4) (default: the sweep's, ``res["nu1"]``).

    Returns
    -------
    numpy.ndarray of str
        Per cell: its coordinates, ``P = share [low, high]`` (the share of runs, with the 95%
        Wilson interval of :func:`dipnb.analysis.wilson_interval`), the runs counted, and
        (Fig 1) the share meeting (4) with :math:`\\nu_1 \\zeta < 1` as in
        :func:`dipnb.analysis.condition4_probability`, or (Fig 2, threshold study) the final
        losses' quartiles and range and the failed runs that end above their initial loss.
    """
    if kind in ("fig1a", "fig1b"):
        nu1 = float(_np(res["nu1"])) if nu1 is None else float(nu1)
        ms = _np(res["ms"]).astype(int)
        ks_a, ks_b = _np(res["ks_a"]), _np(res["ks_b"])
        held_a = nu1 * _np(res["ratio_a"]) < 1                      # (M, Ka, R)
        conv = _np(res["converged"]).astype(bool)                   # (M, Kb, R)
        held_b = nu1 * _np(res["ratio_b"]) < 1
        bound = np.log10(np.median(_np(res["bound"]), axis=1))
        runs = held_a.shape[-1]
        ks = ks_a if kind == "fig1a" else ks_b
        out = np.empty((len(ms), len(ks)), dtype=object)
        for i, m in enumerate(ms):
            for j, k in enumerate(ks):
                head = f"m = {m}, k = 10^{math.log10(k):.2f} ({int(k)})"
                if kind == "fig1a":
                    s = int(held_a[i, j].sum())
                    jb = np.flatnonzero(ks_b == k)
                    lines = [head, _p_line("(4) holds", s, runs), f"(4) holds in {s} / {runs} runs (ν₁ = {nu1:g})",
                             (f"Fig 1b at this k: converged in {int(conv[i, jb[0]].sum())} / {runs} runs"
                              if jb.size else "Fig 1b: not trained at this k"),
                             f"bound (C = C' = 1), median over runs: k = 10^{bound[i]:.2f}"]
                else:
                    s, h = int(conv[i, j].sum()), int(held_b[i, j].sum())
                    lines = [head, _p_line("converges", s, runs), f"converged in {s} / {runs} runs",
                             f"(4) holds (ν₁ = {nu1:g}) in {h} / {runs} runs ({h / runs:.0%})"]
                out[i, j] = _tip(lines)
        return out
    if kind not in ("fig2", "threshold"):
        raise ValueError(f"cell_tips: kind must be 'fig1a', 'fig1b', 'fig2' or 'threshold', got {kind!r}")
    conv = _np(res["converged"]).astype(bool)                       # (rows, G, R)
    ran = _np(res["ran"]).astype(bool) if "ran" in res else np.ones(conv.shape[:2], bool)
    loss = _np(res["loss"]).astype(float)
    fails = failed_run_losses({k: _np(res[k]) for k in ("converged", "residual0", "loss")}
                              | ({"ran": ran} if "ran" in res else {}))
    g = _np(res["gammas"]).astype(float)
    runs = conv.shape[-1]
    out = np.empty(conv.shape[:2], dtype=object)
    for i, name in enumerate(_row_names(res, kind)):
        for j, gam in enumerate(g):
            s = int(conv[i, j].sum())
            lines = [f"{name}, γ = 10^{math.log10(gam):.2f}", _p_line("converges", s, runs),
                     f"converged in {s} / {runs} runs",
                     *_loss_lines(loss[i, j], bool(ran[i, j]), int(fails["cell_failed"][i, j]),
                                  float(np.nan_to_num(fails["cell_above"][i, j])))]
            out[i, j] = _tip(lines)
    return out


def _row_names(res, kind):
    if kind == "fig2":
        return [f"n = {int(n)} (m = {int(m)})" for n, m in zip(_np(res["ns"]), _np(res["m"]))]
    return [f"k = {int(k)}" for k in _np(res["ks"])]


# -- the pieces every map shares ---------------------------------------------------------------------
def _heat(x, rows, prob, tips, title, x_label, y_label, row_labels, width, height, hatch=None,
          colorbar=True, y_range=None):
    """A heat map of ``prob`` (rows × x) as rectangles, viridis from 0 to 1, with tooltips ``tips``.

    Returns the figure and the renderer of the cells (the one the hover reads)."""
    from bokeh.models import ColorBar, ColumnDataSource, FixedTicker, HoverTool, LinearColorMapper, Range1d
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    x = np.asarray(x, dtype=float)
    e = cell_edges(x)
    R, C = len(rows), len(x)
    ii, jj = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    src = ColumnDataSource({"x": x[jj].ravel(), "w": (e[1:] - e[:-1])[jj].ravel(), "y": ii.ravel().astype(float),
                            "p": np.asarray(prob, dtype=float).ravel(), "tip": list(np.asarray(tips).ravel())})
    mapper = LinearColorMapper(palette=Viridis256, low=0.0, high=1.0)
    # sizing_mode "fixed": without it an embedded Bokeh 3 figure stretches to its container's width
    fig = figure(width=width, height=height, sizing_mode="fixed", tools=_TOOLS, toolbar_location="above",
                 title=title, x_axis_label=x_label, y_axis_label=y_label,
                 x_range=Range1d(e[0], e[-1], bounds=(e[0], e[-1])),
                 y_range=y_range or Range1d(-0.5, R - 0.5, bounds=(-0.5, R - 0.5)))
    colour = {"field": "p", "transform": mapper}
    cells = fig.rect("x", "y", width="w", height=1.0, source=src, line_color=colour, fill_color=colour)
    if hatch is not None and (~hatch).any():
        i, j = np.nonzero(~hatch)
        fig.rect(x[j], i.astype(float), width=(e[1:] - e[:-1])[j], height=1.0, fill_color="#d9d9d9",
                 line_color="#808080", hatch_pattern="/", hatch_color="#808080")
    fig.add_tools(HoverTool(renderers=[cells], tooltips="<div style='font-size:12px'>@tip{safe}</div>",
                            point_policy="follow_mouse"))
    fig.yaxis.ticker = FixedTicker(ticks=list(range(R)))
    fig.yaxis.major_label_overrides = {i: lab for i, lab in enumerate(row_labels)}
    fig.grid.visible = False
    fig.toolbar.logo = None
    if colorbar:
        fig.add_layout(ColorBar(color_mapper=mapper, width=12, title="P", padding=4), "right")
    return fig, cells


def _halo_line(fig, x, y, dash, name):
    """A white line on a black one (visible on dark and bright cells), with its points; returns the renderers."""
    rs = [fig.line(x, y, color="black", line_width=4, line_dash=dash, name=f"{name}-halo"),
          fig.line(x, y, color="white", line_width=2, line_dash=dash, name=name),
          fig.scatter(x, y, marker="circle", size=5, fill_color="white", line_color="black")]
    return rs


def _toggles(labels, groups, active, name):
    """A CheckboxGroup whose callback shows the renderers of the checked groups (and hides the others)."""
    from bokeh.models import CheckboxGroup, CustomJS, InlineStyleSheet

    # inline items wrap onto a second line in a narrow column instead of overflowing it
    wrap = InlineStyleSheet(css=".bk-input-group.bk-inline { flex-wrap: wrap; row-gap: 2px; }")
    box = CheckboxGroup(labels=labels, active=list(active), inline=True, name=name, stylesheets=[wrap],
                        **_WIDGET)
    for k, rs in enumerate(groups):
        for r in rs:
            r.visible = k in active
    box.js_on_change("active", CustomJS(args=dict(groups=groups), code="""
        for (let k = 0; k < groups.length; k++) {
            for (const r of groups[k]) r.visible = cb_obj.active.includes(k);
        }
    """))
    return box


# -- Fig 1 -----------------------------------------------------------------------------------------
def fig1_explorer(res: dict, nu1: float | None = None, levels=(1.0, 0.9, 0.5), name: str = "fig1") -> Interactive:
    """Fig 1 a and b as heat maps over (log₁₀ k, m) that answer a hover, with the readings on switches.

    Parameters
    ----------
    res : dict
        A result of :func:`dipnb.experiments.fig1_sweep` (or its saved arrays).
    nu1 : float, optional
        The constant :math:`\\nu_1 = \\frac{1+\\gamma L}{1-\\gamma L/2}` of condition (4)
        (default: the sweep's).
    levels : three floats
        The probabilities whose widths are drawn (chapter 06's table reads P = 1, 0.9 and 1/2):
        per m, :func:`dipnb.analysis.width_at_probability` of the probability that (4) holds
        (left) and that training converges (right), drawn solid, dash-dot and dashed.
    name : str
        The figure's ``data-figure`` name.

    Returns
    -------
    Interactive
        Left, Fig 1a: P[(4) holds] over the runs (:func:`dipnb.analysis.condition4_probability`);
        right, Fig 1b: P[:math:`\\mathcal L_y(y_\\tau) \\le` tol within the step budget]. A
        cell's hover: P with its Wilson interval, the runs, the share meeting (4); each row's
        median Corollary III.2 bound with C = C' = 1 (◆, or ▶ with its value beyond the
        grid); the paper's two numbers for m = 2 (★). Switches: each level, the bound, the paper.
    """
    from bokeh.layouts import column
    from bokeh.models import Range1d

    if len(levels) != 3:
        raise ValueError(f"fig1_explorer: levels must be three probabilities, got {levels}")
    nu1 = float(_np(res["nu1"])) if nu1 is None else float(nu1)
    ms = _np(res["ms"]).astype(int)
    ks_a, ks_b = _np(res["ks_a"]).astype(float), _np(res["ks_b"]).astype(float)
    lka, lkb = np.log10(ks_a), np.log10(ks_b)
    pa = np.asarray(condition4_probability(_np(res["ratio_a"]), nu1), dtype=float)
    pb = _np(res["converged"]).astype(float).mean(-1)
    runs = _np(res["converged"]).shape[-1]
    rows = np.arange(len(ms))
    labels = [str(m) for m in ms]
    y_range = Range1d(-0.5, len(ms) - 0.5, bounds=(-0.5, len(ms) - 0.5))
    fa, ca = _heat(lka, ms, pa, cell_tips(res, "fig1a", nu1), f"(a) P[(4) holds], ν₁ = {nu1:g}, {runs} runs",
                   "log₁₀ k", "m", labels, WIDTH, 290, y_range=y_range)
    fb, cb = _heat(lkb, ms, pb, cell_tips(res, "fig1b", nu1),
                   f"(b) P[loss ≤ {float(_np(res['tol'])):g} within {float(_np(res['steps'])):g} steps], "
                   f"γ = {float(_np(res['gamma'])):g}", "log₁₀ k", "m", labels, WIDTH, 290, y_range=y_range)
    fa.name, fb.name = f"{name}-a", f"{name}-b"
    groups = [[] for _ in range(5)]
    for k, (level, dash) in enumerate(zip(levels, ("solid", "dashdot", "dashed"))):
        for fig, ks, prob in ((fa, ks_a, pa), (fb, ks_b, pb)):
            w = np.array([width_at_probability(ks, p, level) for p in prob])
            lx = np.where(np.isfinite(w), np.log10(np.where(np.isfinite(w), w, 1.0)), np.nan)
            groups[k] += _halo_line(fig, lx, rows.astype(float), dash, f"level-{level:g}")
    bound = np.log10(np.median(_np(res["bound"]), axis=1))
    for fig, lk in ((fa, lka), (fb, lkb)):
        lo, hi = cell_edges(lk)[[0, -1]]
        inside = (bound >= lo) & (bound <= hi)
        groups[3].append(fig.scatter(bound[inside], rows[inside].astype(float), marker="diamond", size=11,
                                     fill_color="white", line_color="black"))
        out = ~inside
        if out.any():
            right = bound[out] > hi
            xs = np.where(right, hi, lo)
            groups[3].append(fig.scatter(xs, rows[out].astype(float), marker="triangle", size=11,
                                         angle=np.where(right, -np.pi / 2, np.pi / 2),
                                         fill_color="white", line_color="black"))
            groups[3].append(fig.text(xs - np.where(right, 0.04, -0.04) * (hi - lo), rows[out].astype(float),
                                      text=[f"10^{b:.1f}" for b in bound[out]], text_font_size="10px",
                                      text_align=np.where(right, "right", "left").tolist(), text_baseline="middle",
                                      background_fill_color="white", background_fill_alpha=0.8))
    if 2 in ms:
        i = float(np.flatnonzero(ms == 2)[0])
        for fig, key, lk in ((fa, "fig1_bound_m2_log10k", lka), (fb, "fig1_conv_m2_log10k", lkb)):
            x = PAPER[key]
            lo, hi = cell_edges(lk)[[0, -1]]
            if lo <= x <= hi:
                groups[4].append(fig.scatter([x], [i], marker="star", size=15, fill_color="#d62728",
                                             line_color="white"))
    box = _toggles([f"P = {levels[0]:g} (solid)", f"P = {levels[1]:g} (dash-dot)", f"P = {levels[2]:g} (dashed)",
                    "bound, C = C' = 1 (◆, ▶ beyond the grid)", "paper, m = 2 (★)"],
                   groups, active=(0, 2, 3, 4), name=f"{name}-toggles")
    return Interactive(column(box, fa, fb), name)   # stacked: the column is too narrow for two


# -- Fig 2 and the threshold study --------------------------------------------------------------------
def _step_thresholds(res, levels, read_at):
    """Per reading of ``levels`` ((key, words, level) as :data:`dipnb.report.sweeps.STEP_LEVELS`):
    the log10 threshold of each row (:func:`dipnb.analysis.log10_threshold_at`, or
    :func:`dipnb.analysis.log10_onset_at` for level None) and whether the row is read: its
    convergence at the smallest γ reaches ``max(read_at, level)`` (every run for the onset)."""
    g = _np(res["gammas"]).astype(float)
    conv = _np(res["converged"]).astype(bool)
    frac = conv.mean(-1)
    out = []
    for key, words, level in levels:
        need = max(read_at, 1.0 if level is None else level)
        x = [log10_onset_at(g, c) if level is None else log10_threshold_at(g, c, level) for c in conv]
        read = [bool(f >= need - 1e-12) for f in frac[:, 0]]
        out.append((key, words, level, np.asarray(x, dtype=float), read, need))
    return out


def _marker_xy(x, read, hi, dy):
    """Marker positions of a reading: read rows with a threshold on the grid; rows where none is
    on the grid (a ▶ at the grid's end); rows the table does not read (drawn hollow)."""
    rows = np.arange(len(x), dtype=float) + dy
    read = np.array(read, dtype=bool)
    on = read & np.isfinite(x)
    beyond = read & (x == np.inf)
    return (np.where(on, x, np.nan), rows), (np.full(int(beyond.sum()), hi), rows[beyond]), \
        (np.where(~read & np.isfinite(x), x, np.nan), rows)


def _reading_text(words, x, read, need, frac0, names, top) -> str:
    parts = []
    for name, v, r, f in zip(names, x, read, frac0):
        if not r:
            parts.append(f"{name}: not read (at the smallest γ, P = {f:.2f} &lt; {need:g})")
        elif v == math.inf:
            parts.append(f"{name}: none on the grid (beyond 10^{top:.2f})")
        elif math.isnan(v):
            parts.append(f"{name}: not reached")
        else:
            parts.append(f"{name}: from γ = 10^{v:.2f}")
    return f"<b>{html.escape(words)}</b>, per row: " + "; ".join(parts)


def _step_map(res, kind, title, width, height):
    lg = np.log10(_np(res["gammas"]).astype(float))
    frac = _np(res["converged"]).astype(float).mean(-1)
    ran = _np(res["ran"]).astype(bool) if "ran" in res else None
    names = _row_names(res, kind)
    labels = ([f"{int(n)} (m={int(m)})" for n, m in zip(_np(res["ns"]), _np(res["m"]))] if kind == "fig2"
              else [str(int(k)) for k in _np(res["ks"])])
    fig, cells = _heat(lg, names, frac, cell_tips(res, kind), title, "log₁₀ γ", "n" if kind == "fig2" else "k",
                       labels, width, height, hatch=ran)
    return fig, lg, frac, names


def fig2_explorer(res: dict, *, levels, read_at: float,
                  paper_threshold: float = PAPER["threshold_log10_gamma"], name: str = "fig2") -> Interactive:
    """Fig 2 as a heat map over (log₁₀ γ, n) that answers a hover, with the thresholds on switches.

    Parameters
    ----------
    res : dict
        A result of :func:`dipnb.experiments.fig2_sweep` (or its saved arrays).
    levels : sequence of (key, words, level)
        The readings of a step-size threshold, :data:`dipnb.report.sweeps.STEP_LEVELS`
        (level None: the first failure). Keys ``onset``, ``90`` and ``half`` are drawn ▼, ■, ●.
    read_at : float
        A row's threshold is drawn only where its convergence at the smallest γ reaches
        ``max(read_at, level)`` (every run for the first failure), as the chapter's table
        reads it (``dipnb.report.sweeps.SMALL_GAMMA_LEVEL``).
    paper_threshold : float
        :math:`\\log_{10}` of the paper's step, drawn as a vertical orange line.
    name : str
        The figure's ``data-figure`` name.

    Returns
    -------
    Interactive
        P[converge] per cell, hatched where the sweep did not run a cell; a cell's hover: P
        with its Wilson interval, the runs, the final losses' quartiles and range, the failed
        runs that end above their initial loss. Per n: the threshold at each reading (hollow
        where the table does not read it), the
        median :math:`2/L_0` (white dashed) and :math:`1/L` by (10) with constant 1 (white
        dotted). Switches: each reading, the two theory steps, the paper's step.
    """
    from bokeh.models import Span

    fig, lg, frac, names = _step_map(
        res, "fig2", f"P[converge], k = {int(_np(res['k']))}, m = ⌈n/2⌉, {_np(res['converged']).shape[-1]} runs, "
                     f"τ ≤ {float(_np(res['steps'])):g}", WIDTH, 340)
    fig.name = f"{name}-map"
    hi = cell_edges(lg)[-1]
    groups, labels = [], []
    for key, words, _level, x, read, _need in _step_thresholds(res, levels, read_at):
        marker, sign, dy = _LEVEL_STYLE.get(key, ("diamond", "◆", 0.0))
        (mx, my), (bx, by), (hx, hy) = _marker_xy(x, read, hi, dy)
        rs = [fig.line(mx, my, color="#d62728", line_width=1.5),
              fig.scatter(mx, my, marker=marker, size=10, fill_color="#d62728", line_color="white"),
              fig.scatter(hx, hy, marker=marker, size=10, fill_color="white", fill_alpha=0.6, line_color="#d62728",
                          line_width=2)]
        if bx.size:
            rs.append(fig.scatter(bx, by, marker="triangle", angle=-np.pi / 2, size=10, fill_color="#d62728",
                                  line_color="white"))
        groups.append(rs)
        labels.append(f"{words} ({sign})")
    y = np.arange(len(names), dtype=float)
    for val, dash, lab in ((2 / _np(res["L0"]), "dashed", "2/L₀ measured (dashed)"),
                           (1 / _np(res["L_eq10"]), "dotted", "1/L by (10), const. 1 (dotted)")):
        groups.append([fig.line(np.log10(np.median(val, axis=1)), y, color="white", line_width=2, line_dash=dash)])
        labels.append(lab)
    span = Span(location=paper_threshold, dimension="height", line_color="#ff7f0e", line_width=1.5)
    fig.add_layout(span)
    groups.append([span])
    labels.append(f"paper: 10^{paper_threshold:g} (n = 5)")
    keys = [lv[0] for lv in levels]
    active = [k for k, key in enumerate(keys) if key in ("90", "half")] + list(range(len(keys), len(groups)))
    box = _toggles(labels, groups, active=active, name=f"{name}-toggles")
    from bokeh.layouts import column
    from bokeh.models import Div

    note = Div(text="red: the first γ at which a reading fails (hollow: an n the table does not read; ▶ none on "
                    "the grid); hatched: not run", **_WIDGET)
    return Interactive(column(box, fig, note), name)


def threshold_explorer(res: dict, *, levels, read_at: float,
                       paper_threshold: float = PAPER["threshold_log10_gamma"], start: str | None = None,
                       name: str = "gamma-threshold") -> Interactive:
    """The threshold study as a heat map over (log₁₀ γ, k) that answers a hover, with the
    reading of the threshold chosen by buttons.

    Parameters
    ----------
    res : dict
        A result of :func:`dipnb.experiments.gamma_threshold_sweep` (or its saved arrays).
    levels, read_at
        As in :func:`fig2_explorer` (:data:`dipnb.report.sweeps.STEP_LEVELS`, the
        convergence at the smallest γ a row needs to be read).
    paper_threshold : float
        :math:`\\log_{10}` of the paper's "start to diverge when γ ≥ 10^1.6" (orange line).
    start : str, optional
        Key of the reading shown first (default: the first of ``levels``, the first failure).
    name : str
        The figure's ``data-figure`` name.

    Returns
    -------
    Interactive
        P[converge] per cell (the hover of :func:`fig2_explorer`); the chosen reading's
        threshold per k (red: ●, ▶ where none is on the grid, hollow where the table does not
        read it), and a line of text giving it per k, or why a k is not read.
    """
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, CustomJS, Div, RadioButtonGroup, Span

    fig, lg, frac, names = _step_map(
        res, "threshold", f"P[converge], n = {int(_np(res['n']))}, m = {int(_np(res['m']))}, "
                          f"{_np(res['converged']).shape[-1]} runs, τ ≤ {float(_np(res['steps'])):g}", WIDTH, 330)
    fig.name = f"{name}-map"
    hi, top = cell_edges(lg)[-1], float(lg.max())
    th = _step_thresholds(res, levels, read_at)
    keys = [t[0] for t in th]
    k0 = keys.index(start) if start is not None else 0
    table, texts = {}, []
    for k, (_key, words, _level, x, read, need) in enumerate(th):
        (mx, my), _, (hx, _) = _marker_xy(x, read, hi, 0.0)
        table[f"x{k}"], table[f"h{k}"] = mx, hx
        table[f"b{k}"] = np.where(np.array(read) & (x == np.inf), hi, np.nan)
        texts.append(_reading_text(words, x, read, need, frac[:, 0], names, top))
    y = np.arange(len(names), dtype=float)
    cur = ColumnDataSource({"y": y, "x": table[f"x{k0}"], "b": table[f"b{k0}"], "h": table[f"h{k0}"]})
    src = ColumnDataSource(dict(table, y=y))
    fig.line("x", "y", source=cur, color="#d62728", line_width=2, name="threshold-line")
    fig.scatter("x", "y", source=cur, marker="circle", size=11, fill_color="#d62728", line_color="white")
    fig.scatter("h", "y", source=cur, marker="circle", size=11, fill_color="white", fill_alpha=0.6,
                line_color="#d62728", line_width=2)
    fig.scatter("b", "y", source=cur, marker="triangle", angle=-np.pi / 2, size=11, fill_color="#d62728",
                line_color="white")
    fig.add_layout(Span(location=paper_threshold, dimension="height", line_color="#ff7f0e", line_width=1.5))
    info = Div(text=texts[k0], name=f"{name}-info", **_WIDGET)
    radio = RadioButtonGroup(labels=[t[1] for t in th], active=k0, name=f"{name}-levels", **_WIDGET)
    radio.js_on_change("active", CustomJS(args=dict(cur=cur, src=src, info=info, texts=texts), code="""
        const k = cb_obj.active;
        cur.data = {y: src.data.y, x: src.data['x' + k], b: src.data['b' + k], h: src.data['h' + k]};
        info.text = texts[k];
    """))
    note = Div(text=f"red: the threshold at the chosen reading (● the first γ where it fails, ▶ none on the "
                    f"grid, hollow: a k the table does not read); orange: the paper's 10^{paper_threshold:g}",
               **_WIDGET)
    return Interactive(column(radio, fig, info, note), name)
