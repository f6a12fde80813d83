"""Interactive figures of the theory chapters (02 and 04)."""
from __future__ import annotations

from ._base import Interactive, log_floor

__all__ = ["exponent_explorer"]


# -- chapter 02: the exponent of PowerLoss(p) ----------------------------------------------------
def exponent_explorer(reference, make, ps, r0: float = 10.0, loss0: float = 1.0,
                      slope: float = 1e-2, taus=None, start: float | None = None) -> Interactive:
    """ψ and the bound (6) of a family of losses on a slider, against a fixed reference.

    Parameters
    ----------
    reference : Desingularizer
        Drawn in every position (½-MSE in chapter 02).
    make : callable
        ``make(p)`` returns the Desingularizer of the loss at slider value ``p``
        (``lambda p: PowerLoss(p).desingularizer()``).
    ps : sequence of float
        The slider's positions (all precomputed: the page runs no Python).
    r0, loss0, slope : float
        Range of s for ψ; :math:`\\mathcal L_y(y_0)` and the slope ``a`` of
        :math:`\\xi_\\tau = a\\tau + \\Psi(\\mathcal L_y(y_0))` in (6).
    taus : array, optional
        Iterations at which (6) is drawn (default 1 … 10⁵).
    start : float, optional
        The slider's initial value (default: the middle of ``ps``).

    Returns
    -------
    Interactive
        Left: ψ(s); right: :math:`\\Psi^{-1}(\\xi_\\tau)`, both log-log; a line of text gives
        α, c and the rate of (6) at the chosen p.
    """
    import numpy as np
    from bokeh.layouts import column, row
    from bokeh.models import ColumnDataSource, CustomJS, Div, Slider
    from bokeh.plotting import figure

    ps = [float(p) for p in ps]
    if len(ps) < 2:
        raise ValueError(f"exponent_explorer: ps needs at least 2 values, got {ps}")
    start = ps[len(ps) // 2] if start is None else float(start)
    if start not in ps:
        raise ValueError(f"exponent_explorer: start={start} is not one of ps={ps}")
    s = np.logspace(-6, np.log10(r0), 120)
    taus = np.logspace(0, 5, 120) if taus is None else np.asarray(taus, dtype=float)

    def curves(d):
        c = float(np.asarray(d.c).ravel()[0])
        d1 = type(d)(c, d.alpha)
        return log_floor(d1.psi(s)), log_floor(d1.decay(slope, loss0, taus), 1e-16), c, d1

    data, text = {"s": s, "tau": taus}, []
    for i, p in enumerate(ps):
        psi, dec, c, d1 = curves(make(p))
        data[f"psi{i}"], data[f"dec{i}"] = psi, dec
        rate = "geometric (linear rate)" if d1.alpha == 0.5 else f"τ^−{d1.polynomial_exponent:.3g}"
        text.append(f"<b>p = {p:g}</b>: α = 1 − 1/p = {d1.alpha:.3f}, c = {c:.3f}, "
                    f"rate of (6): {rate}")
    k0 = ps.index(start)
    ref_psi, ref_dec, _, _ = curves(reference)
    ref = ColumnDataSource({"s": s, "tau": taus, "psi": ref_psi, "dec": ref_dec})
    cur = ColumnDataSource({"s": s, "tau": taus, "psi": data[f"psi{k0}"], "dec": data[f"dec{k0}"]})
    table = ColumnDataSource(data)

    tools = "pan,wheel_zoom,box_zoom,reset,save"
    left = figure(height=320, sizing_mode="stretch_width", x_axis_type="log", y_axis_type="log", tools=tools,
                  title="ψ(s)", x_axis_label="s")
    right = figure(height=320, sizing_mode="stretch_width", x_axis_type="log", y_axis_type="log", tools=tools,
                   title="bound (6): Ψ⁻¹(ξτ)", x_axis_label="τ", y_range=(1e-16, 2 * loss0))
    for fig, col in ((left, "psi"), (right, "dec")):
        x = "s" if col == "psi" else "tau"
        fig.line(x, col, source=ref, color="#1f77b4", line_width=2, legend_label="½-MSE")
        fig.line(x, col, source=cur, color="#d62728", line_width=2, legend_label="PowerLoss(p)",
                 name=f"current-{col}")
        fig.legend.location = "bottom_right" if col == "psi" else "bottom_left"
        fig.toolbar.logo = None
    info = Div(text=text[k0], name="exponent-info")
    slider = Slider(start=ps[0], end=ps[-1], step=ps[1] - ps[0], value=start, title="p",
                    sizing_mode="stretch_width", name="exponent-slider")
    slider.js_on_change("value", CustomJS(args=dict(cur=cur, table=table, info=info, ps=ps, text=text),
                                          code="""
        let i = 0;
        for (let j = 0; j < ps.length; j++) {
            if (Math.abs(ps[j] - cb_obj.value) < Math.abs(ps[i] - cb_obj.value)) i = j;
        }
        const d = Object.assign({}, cur.data);
        d.psi = table.data['psi' + i];
        d.dec = table.data['dec' + i];
        cur.data = d;
        info.text = text[i];
    """))
    return Interactive(column(slider, info, row(left, right, sizing_mode="stretch_width"),
                              sizing_mode="stretch_width"), "exponent")
