"""Interactive figures of the image chapters: Fig 3a (chapter 08), Fig 3b and Fig 4 (chapter 09).

Each figure takes a result of :func:`dipnb.experiments.fig3a` or :func:`dipnb.experiments.fig3b`
(a saved ``results/*.npz`` or a live run) and embeds what the page needs: the snapshots
:math:`x_\\tau` kept by :func:`dipnb.train_image` (as grey levels 0…255, one byte per pixel) and
the curves along training, thinned to a few hundred iterations spaced evenly in log τ (every
snapshot, the oracle τ and the discrepancy-principle τ among them; the values are the run's
own, never interpolated). A slider moves over the snapshots, whatever their number; its
:class:`bokeh.models.CustomJS` callback only copies precomputed values.

Time is :math:`\\omega\\tau`, the step-invariant time of the Landweber model (L) of chapter 08
(ω: :func:`dipnb.effective_step`), as in :mod:`dipnb.plotting.images`; τ is given on the
slider and in the tooltips.
"""
from __future__ import annotations

import math

import numpy as np

from ._base import WIDTH, Interactive, log_floor

__all__ = ["fig3a_explorer", "fig3b_explorer", "curve_steps", "grey_image", "valid_snapshots"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
_TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
#: what a curve plot needs beside its frame: the y axis and the toolbar (px)
_AXES_PX = 85


# -- the data a figure embeds --------------------------------------------------------------------
def curve_steps(steps: int, points: int = 400, extra=()) -> np.ndarray:
    """Iterations 1 … ``steps`` at which a curve is drawn: about ``points`` spaced evenly in
    log τ, plus every iteration of ``extra`` within [1, steps] (snapshots, the oracle and the
    discrepancy-principle τ), sorted and unique. τ = 0 is left out (a log axis)."""
    steps = int(steps)
    if steps < 1:
        return np.zeros(0, dtype=int)
    grid = np.round(np.logspace(0, math.log10(steps), max(int(points), 2))).astype(int)
    extra = [int(t) for t in extra if 1 <= int(t) <= steps]
    return np.unique(np.concatenate([grid, extra, [steps]]).astype(int))


def grey_image(x) -> np.ndarray:
    """A flattened square image (row-major, as :func:`dipnb.experiments.load_image` ``.ravel()``)
    as the 2-D array a Bokeh ``image`` glyph draws: grey levels rounded and clipped to 0…255 as
    uint8, first row at the top (Bokeh puts the array's row 0 at the bottom)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    side = int(round(math.sqrt(x.size)))
    if side * side != x.size:
        raise ValueError(f"an image must have a square number of pixels, got {x.size}")
    return np.flipud(np.clip(np.round(x), 0, 255).astype(np.uint8).reshape(side, side))


def valid_snapshots(snap_steps, snapshots) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, snapshots)`` without the snapshots that hold NaN (a run resumed from a checkpoint
    written with a sparser schedule has NaN at the iterations it did not keep)."""
    steps = np.asarray(snap_steps, dtype=int).ravel()
    snaps = np.asarray(snapshots, dtype=np.float64).reshape(len(steps), -1)
    ok = np.all(np.isfinite(snaps), axis=1)
    if not ok.any():
        raise ValueError("the result holds no snapshot without NaN: nothing to show")
    return steps[ok], snaps[ok]


def _omega(res) -> float:
    w = float(res.get("omega", math.nan))
    return w if math.isfinite(w) and w > 0 else 1.0


def _fmt_wt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def _image_panel(size: int, px: int, title: str, source, name: str):
    from bokeh.models import LinearColorMapper
    from bokeh.palettes import Greys256
    from bokeh.plotting import figure

    # a fixed frame (the image's square) in a fixed box; without sizing_mode="fixed" a row stretches it
    p = figure(frame_width=px, frame_height=px, width=px, height=px + 25, sizing_mode="fixed",
               x_range=(0, size), y_range=(0, size),
               toolbar_location=None, title=title, tools="", name=name, min_border=0,
               x_axis_location=None, y_axis_location=None, outline_line_color=None)
    p.image(image="image", x=0, y=0, dw=size, dh=size, source=source,
            color_mapper=LinearColorMapper(palette=Greys256, low=0, high=255))
    p.grid.visible = False
    return p


# -- chapter 08: Fig 3a ----------------------------------------------------------------------------

def _finish(fig, legend_location: str) -> None:
    """The legend and toolbar every curve panel here shares: small, half-transparent (the curves
    show through), a click on an entry hides its curve; no Bokeh logo."""
    fig.legend.location = legend_location
    fig.legend.label_text_font_size = "8pt"
    fig.legend.spacing = 0
    fig.legend.padding = 4
    fig.legend.background_fill_alpha = 0.6
    fig.legend.click_policy = "hide"
    fig.toolbar.logo = None


def _tau_controls(name: str, texts, titles, k0: int):
    """The line of text and the slider over the snapshots (one position per entry of ``texts``)."""
    from bokeh.models import Div, Slider

    info = Div(text=texts[k0], name=f"{name}-info", width=WIDTH)
    slider = Slider(start=0, end=max(len(texts) - 1, 1), step=1, value=k0, show_value=False,
                    title=titles[k0], width=WIDTH - 40, name=f"{name}-slider", disabled=len(texts) < 2)
    return info, slider

def fig3a_explorer(res: dict, name: str = "fig3a", points: int = 400, image_px: int = 160) -> Interactive:
    """Fig 3a on a slider: the reconstruction :math:`x_\\tau` of each noise level at a snapshot,
    beside its PSNR along training with a marker at τ.

    Gradient descent (2) trains both layers of the network (9) on the Gaussian blur of
    :func:`dipnb.experiments.fig3a`; the PSNR curves are drawn against ωτ with Landweber's
    iteration at the same ω dotted, the linear model (L) of chapter 08.

    Parameters
    ----------
    res : dict
        A result of :func:`dipnb.experiments.fig3a`: ``noise_stds``, ``omega``, ``x_bar`` and,
        per noise level i, ``s{i}_psnr``, ``s{i}_snap_steps``, ``s{i}_snapshots`` (optionally
        ``s{i}_lw_error``, and ``y_bar`` for the PSNR of the blurred observation).
    name : str
        The figure's ``data-figure`` name.
    points : int
        About how many iterations of each curve are embedded (:func:`curve_steps`).
    image_px : int
        Width of each image in px; the curves take the rest of ``WIDTH``.

    Returns
    -------
    Interactive
        A slider over the snapshots (the union of the runs' snapshot iterations; a run that
        ended earlier, or kept no snapshot there, shows its last snapshot up to that τ), one
        image per noise level, the PSNR curves; a line of text gives, per noise level, the
        iteration shown, its ωτ and the run's PSNR there.
    """
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Span
    from bokeh.plotting import figure

    from ...analysis import psnr

    sig = [float(s) for s in np.atleast_1d(res["noise_stds"])]
    w = _omega(res)
    size = int(round(math.sqrt(np.asarray(res["x_bar"]).size)))
    runs = []
    for i, s in enumerate(sig):
        st, sn = valid_snapshots(res[f"s{i}_snap_steps"], res[f"s{i}_snapshots"])
        runs.append(dict(sigma=s, psnr=np.asarray(res[f"s{i}_psnr"], dtype=float), steps=st, snaps=sn,
                         lw=(np.asarray(res[f"s{i}_lw_error"], dtype=float) if f"s{i}_lw_error" in res else None)))
    taus = np.unique(np.concatenate([r["steps"] for r in runs]))
    n = np.asarray(res["x_bar"]).size

    pick, mx, my = [], [], []                      # per run, per slider position
    for r in runs:
        j = np.searchsorted(r["steps"], taus, side="right") - 1
        j = np.maximum(j, 0)                       # before a run's first snapshot: its first
        t = r["steps"][j]
        pick.append([int(v) for v in j])
        mx.append(np.where(t > 0, w * t, np.nan))
        my.append(np.where(t > 0, r["psnr"][t], np.nan))
    titles, texts = [], []
    for k, tau in enumerate(taus):
        titles.append(f"τ = {int(tau)}  (ωτ = {_fmt_wt(w * tau)})")
        parts = []
        for i, r in enumerate(runs):
            t = int(r["steps"][pick[i][k]])
            ended = " (end of its run)" if t < tau and t == int(r["steps"][-1]) else ""
            parts.append(f"<b>σ = {r['sigma']:g}</b>: τ = {t}{ended}, PSNR = {r['psnr'][t]:.2f} dB")
        texts.append(" &nbsp;|&nbsp; ".join(parts))
    k0 = len(taus) // 2

    images, currents, marks = [], [], []
    for i, r in enumerate(runs):
        table = ColumnDataSource({"image": [grey_image(x) for x in r["snaps"]]}, name=f"{name}-table{i}")
        cur = ColumnDataSource({"image": [table.data["image"][pick[i][k0]]]}, name=f"{name}-image{i}")
        images.append(table)
        currents.append(cur)
        marks.append(ColumnDataSource({"x": [mx[i][k0]], "y": [my[i][k0]]}, name=f"{name}-mark{i}"))
    panels = [_image_panel(size, image_px, f"x_τ, σ = {r['sigma']:g}", currents[i], f"{name}-panel{i}")
              for i, r in enumerate(runs)]

    cw = max(WIDTH - image_px * len(runs) - _AXES_PX, 200)
    # sized by width and height only (a frame size as well left no room for the axis label)
    curves = figure(width=cw + _AXES_PX, height=image_px + 80,
                    sizing_mode="fixed", x_axis_type="log", tools=_TOOLS,
                    title="PSNR(x_τ, x̄) [dB]", x_axis_label=f"ωτ (ω = {w:.3g})", name=f"{name}-curves")
    # one table for every run (NaN beyond a run's end), so that the tooltip shows them all at τ
    ts = np.unique(np.concatenate([curve_steps(len(r["psnr"]) - 1, points, r["steps"]) for r in runs]))
    data = {"tau": ts, "wt": w * ts}
    tips = [("τ", "@tau"), ("ωτ", "@wt{0.[000]}")]
    for i, r in enumerate(runs):
        inside = ts <= len(r["psnr"]) - 1
        t = np.where(inside, ts, 0)
        data[f"psnr{i}"] = np.where(inside, r["psnr"][t], np.nan)
        if r["lw"] is not None:
            data[f"lw{i}"] = np.where(inside, 20 * np.log10(255 * math.sqrt(n) / np.maximum(r["lw"][t], 1e-300)),
                                      np.nan)
        tips.append((f"PSNR, σ = {r['sigma']:g}", f"@psnr{i}{{0.00}} dB"))
    src = ColumnDataSource(data, name=f"{name}-curve")
    lines = []
    for i, r in enumerate(runs):
        c = _COLORS[i % len(_COLORS)]
        lines.append(curves.line("wt", f"psnr{i}", source=src, color=c, line_width=2,
                                 legend_label=f"network, σ = {r['sigma']:g}"))
        if r["lw"] is not None:
            curves.line("wt", f"lw{i}", source=src, color=c, line_dash="dotted", line_width=1.5,
                        legend_label=f"Landweber, σ = {r['sigma']:g}")
        curves.scatter("x", "y", source=marks[i], size=9, color=c, line_color="black")
    longest = int(np.argmax([len(r["psnr"]) for r in runs]))
    if "y_bar" in res:
        curves.add_layout(Span(location=float(psnr(res["y_bar"], res["x_bar"])), dimension="width",
                               line_color="gray", line_dash="dashed", line_width=1))
    span = Span(location=w * float(taus[k0]) if taus[k0] > 0 else None, dimension="height",
                line_color="black", line_alpha=0.5, line_width=1)
    curves.add_layout(span)
    curves.add_tools(HoverTool(renderers=[lines[longest]], mode="vline", tooltips=tips))
    _finish(curves, "top_left")

    info, slider = _tau_controls(name, texts, titles, k0)
    loc = [w * float(t) if t > 0 else None for t in taus]
    slider.js_on_change("value", CustomJS(
        args=dict(tables=images, currents=currents, marks=marks, pick=pick, mx=mx, my=my, span=span,
                  loc=loc, titles=titles, texts=texts, info=info),
        code="""
        const k = Math.round(cb_obj.value);
        for (let i = 0; i < currents.length; i++) {
            const j = pick[i][k];
            currents[i].data = {image: [tables[i].data.image[j]]};
            marks[i].data = {x: [mx[i][k]], y: [my[i][k]]};
        }
        span.location = loc[k];
        cb_obj.title = titles[k];
        info.text = texts[k];
    """))
    return Interactive(column(slider, info, row(*panels, curves)), name)


# -- chapter 09: Fig 3b and Fig 4 -------------------------------------------------------------------
def fig3b_explorer(res: dict, name: str = "fig3b", points: int = 400, image_px: int = 230) -> Interactive:
    """Fig 3b and Fig 4 on one slider: the reconstruction :math:`x_\\tau` at a snapshot, beside the
    error :math:`\\|x_\\tau - \\bar x\\|` along training with a marker at τ; hovering the error
    gives, at that τ, the error, Landweber's error and bound (8) of Theorem III.1 where it is
    defined.

    Parameters
    ----------
    res : dict
        A result of :func:`dipnb.experiments.fig3b`: ``error``, ``psnr``, ``omega``,
        ``snap_steps``, ``snapshots``, and if present ``lw_error`` (Landweber with the same ω),
        ``bound8`` (bound (8), NaN where the theorem's constants are undefined, e.g. γL > 1),
        ``best_step`` (the oracle), ``dp_step`` (the discrepancy principle, -1 if it never
        stops) and ``ls_error`` (:math:`\\|A^{-1}y - \\bar x\\|`).
    name : str
        The figure's ``data-figure`` name.
    points : int
        About how many iterations of the curves are embedded (:func:`curve_steps`).
    image_px : int
        Width of the image in px; the error plot takes the rest of ``WIDTH``.

    Returns
    -------
    Interactive
        A slider over the snapshots; the image :math:`x_\\tau`; Fig 4 (the error against ωτ,
        Landweber dotted, bound (8) dashed where finite, the oracle and discrepancy-principle
        τ marked) with a tooltip along the error; a line of text gives τ, ωτ, the error and
        the PSNR of the snapshot shown.
    """
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Span
    from bokeh.plotting import figure

    w = _omega(res)
    err = np.asarray(res["error"], dtype=float)
    ps = np.asarray(res["psnr"], dtype=float)
    T = len(err) - 1
    size = int(round(math.sqrt(np.asarray(res["x_bar"]).size)))
    st, sn = valid_snapshots(res["snap_steps"], res["snapshots"])
    best = int(res["best_step"]) if "best_step" in res else int(np.argmin(err))
    dp = int(res["dp_step"]) if "dp_step" in res else -1
    k0 = len(st) // 2

    titles = [f"τ = {int(t)}  (ωτ = {_fmt_wt(w * t)})" for t in st]
    texts = [f"<b>τ = {int(t)}</b>, ωτ = {_fmt_wt(w * t)}: error ‖x_τ − x̄‖ = {err[t]:.1f}, "
             f"PSNR = {ps[t]:.2f} dB" for t in st]
    mx = np.where(st > 0, w * st, np.nan)
    my = np.where(st > 0, err[st], np.nan)

    table = ColumnDataSource({"image": [grey_image(x) for x in sn]}, name=f"{name}-table")
    cur = ColumnDataSource({"image": [table.data["image"][k0]]}, name=f"{name}-image")
    mark = ColumnDataSource({"x": [mx[k0]], "y": [my[k0]]}, name=f"{name}-mark")
    panel = _image_panel(size, image_px, "x_τ (the slider's τ)", cur, f"{name}-panel")

    ts = curve_steps(T, points, list(st) + [best, dp])
    data = {"tau": ts, "wt": w * ts, "err": err[ts], "psnr": ps[ts]}
    tips = [("τ", "@tau"), ("ωτ", "@wt{0.[000]}"), ("error ‖x_τ − x̄‖", "@err{0.0}")]
    if "lw_error" in res:
        data["lw"] = np.asarray(res["lw_error"], dtype=float)[ts]
        tips.append(("Landweber", "@lw{0.0}"))
    b8 = np.asarray(res["bound8"], dtype=float) if "bound8" in res else None
    has_b8 = b8 is not None and b8.shape == err.shape and bool(np.isfinite(b8[1:]).any())
    if has_b8:
        data["b8"] = log_floor(b8[ts])
        tips.append(("bound (8)", "@b8{0.0}"))
    tips.append(("PSNR", "@psnr{0.00} dB"))
    src = ColumnDataSource(data, name=f"{name}-curve")

    fw = max(WIDTH - image_px - _AXES_PX - 20, 200)
    fig4 = figure(width=fw + _AXES_PX + 20, height=image_px + 80,
                  sizing_mode="fixed", x_axis_type="log", tools=_TOOLS,
                  title="Fig 4: reconstruction error", x_axis_label=f"ωτ (ω = {w:.3g})",
                  y_axis_label="error", name=f"{name}-fig4")
    line = fig4.line("wt", "err", source=src, color=_COLORS[0], line_width=2,
                     legend_label="‖x_τ − x̄‖ (network)")
    if "lw" in data:
        fig4.line("wt", "lw", source=src, color=_COLORS[2], line_dash="dotted", line_width=2,
                  legend_label="Landweber, same ω")
    if has_b8:
        fig4.line("wt", "b8", source=src, color="black", line_dash="dashed", line_width=1,
                  legend_label="bound (8)")
    if "ls_error" in res:
        fig4.add_layout(Span(location=float(res["ls_error"]), dimension="width", line_color="gray",
                             line_dash="dashdot", line_width=1))
    if best >= 1:
        fig4.scatter([w * best], [err[best]], marker="inverted_triangle", size=11, color=_COLORS[1],
                     legend_label=f"oracle τ = {best}")
    if dp >= 1:
        fig4.scatter([w * dp], [err[dp]], marker="circle", size=9, color=_COLORS[3],
                     legend_label=f"discrepancy principle τ = {dp}")
    fig4.scatter("x", "y", source=mark, size=10, fill_color=None, line_color="black", line_width=2)
    span = Span(location=w * float(st[k0]) if st[k0] > 0 else None, dimension="height", line_color="black",
                line_alpha=0.5, line_width=1)
    fig4.add_layout(span)
    fig4.add_tools(HoverTool(renderers=[line], mode="vline", tooltips=tips))
    _finish(fig4, "center_right")

    info, slider = _tau_controls(name, texts, titles, k0)
    loc = [w * float(t) if t > 0 else None for t in st]
    slider.js_on_change("value", CustomJS(
        args=dict(table=table, cur=cur, mark=mark, mx=mx, my=my, span=span, loc=loc, titles=titles,
                  texts=texts, info=info),
        code="""
        const k = Math.round(cb_obj.value);
        cur.data = {image: [table.data.image[k]]};
        mark.data = {x: [mx[k]], y: [my[k]]};
        span.location = loc[k];
        cb_obj.title = titles[k];
        info.text = texts[k];
    """))
    return Interactive(column(slider, info, row(panel, fig4)), name)
