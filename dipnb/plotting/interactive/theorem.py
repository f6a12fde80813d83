"""Chapter 04's explorer: Theorem III.1 over a saved grid of k, m, γL and noise, in the static
page (Bokeh, no kernel)."""
from __future__ import annotations

import numpy as np

from ._base import WIDTH, Interactive, log_floor

__all__ = ["theorem_explorer", "EXPLORER_AXES", "explorer_index", "explorer_text"]

#: the four controls: (name in ``start``, key of the grid in the result, slider title)
EXPLORER_AXES = (("k", "ks", "width k"), ("m", "ms", "measurements m"),
                 ("gamma_L", "gamma_Ls", "step γL"), ("noise", "noises", "noise σ"))
#: the curves drawn, per grid point: key in the result -> column of the drawn source
_CURVES = {"loss": "loss", "loss_bound": "lb", "param": "par", "param_bound": "pb"}
_SCALARS = ("R", "R_prime", "cond4", "step_ok", "final_loss")
#: the chapter's problem: where the explorer starts when ``start`` is not given (nearest point)
_HOME = {"k": 20_000, "m": 2, "gamma_L": 0.5, "noise": 0.0}


def _label(v) -> str:
    """A grid value as its slider shows it (``50``, ``0.5``, ``0``)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def _axes(res: dict) -> dict:
    out = {}
    for name, key, _ in EXPLORER_AXES:
        if key not in res:
            raise ValueError(f"theorem_explorer: the result has no {key!r}; expected the dict of "
                             f"dipnb.experiments.theorem_explorer_grid (keys {sorted(res)[:12]})")
        a = np.asarray(res[key]).ravel()
        if a.size == 0:
            raise ValueError(f"theorem_explorer: {key} is empty")
        out[name] = [int(v) for v in a] if name in ("k", "m") else [float(v) for v in a]
    return out


def _positions(axes: dict, point: dict) -> list[int]:
    out = []
    for name, _, _ in EXPLORER_AXES:
        values = axes[name]
        if name not in point:
            raise ValueError(f"theorem_explorer: start has no {name!r}; expected keys "
                             f"{[a[0] for a in EXPLORER_AXES]}")
        v = point[name]
        matches = [j for j, g in enumerate(values) if np.isclose(g, float(v), rtol=1e-9, atol=1e-12)]
        if not matches:
            raise ValueError(f"theorem_explorer: {name}={v!r} is not on the grid; accepted: {values}")
        out.append(matches[0])
    return out


def explorer_index(axes: dict, point: dict) -> int:
    """The flat index of the grid point ``point`` (``{"k", "m", "gamma_L", "noise"}``) in the
    C-ordered grid (K, M, G, N), the index the page's callback computes from its four sliders;
    ``axes`` maps the same names to the grid's values."""
    return int(np.ravel_multi_index(_positions(axes, point), [len(axes[a[0]]) for a in EXPLORER_AXES]))


def explorer_text(point: dict, R: float, R_prime: float, cond4: bool, step_ok: bool,
                  final_loss: float) -> str:
    """The line of text the explorer shows at one grid point (R, R′, (4), γ ≤ 1/L, final loss)."""
    where = ", ".join(f"{n} = {_label(point[key])}" for key, n in
                      (("k", "k"), ("m", "m"), ("gamma_L", "γL"), ("noise", "noise")))
    return (f"<b>{where}</b>: R = {R:.3g}, R′ = {R_prime:.3g}, (4) {'holds' if cond4 else 'fails'}"
            f" · γ ≤ 1/L: {'yes' if step_ok else 'no'} · final loss {final_loss:.1e}")


def theorem_explorer(res: dict, start: dict | None = None, height: int = 230) -> Interactive:
    """The loss and :math:`\\|\\theta_\\tau - \\theta_\\infty\\|` against the bounds (6) and (7),
    over a grid of width k, measurements m, step γL and noise, with one slider each.

    Every grid point is precomputed (the page runs no Python): moving a slider copies that
    point's curves into the drawn source and its text into the line above the plots.

    Parameters
    ----------
    res : dict
        The result of :func:`dipnb.experiments.theorem_explorer_grid` (or its saved arrays,
        ``results/theorem-explorer-PRESET.npz``): the grid ``ks``, ``ms``, ``gamma_Ls``,
        ``noises``, the iterations ``tau`` (T,), the curves ``loss``, ``loss_bound`` (bound (6):
        :math:`\\Psi^{-1}(\\xi_\\tau)`), ``param`` and ``param_bound`` (bound (7):
        :math:`2\\nu_1\\psi(\\Psi^{-1}(\\xi_\\tau))/(\\sigma_0\\sigma_A)`), shape (K, M, G, N, T), and
        ``R``, ``R_prime`` ((5)), ``cond4`` ((4)), ``step_ok`` (:math:`\\gamma \\le 1/L`),
        ``final_loss``, shape (K, M, G, N).
    start : dict, optional
        The point shown first, ``{"k": 20000, "m": 2, "gamma_L": 0.5, "noise": 0.0}``: each
        value must be on the grid. Default: the grid point nearest to that one (k on a log scale).
    height : int
        Height of the plots in px.

    Returns
    -------
    Interactive
        Four sliders, a line giving R, R′, whether (4) holds, whether γ ≤ 1/L and the final
        loss, and two log-scale panels: :math:`\\mathcal L_y(y_\\tau)` with (6), and
        :math:`\\|\\theta_\\tau - \\theta_\\infty\\|` with (7) and the radius R of (4) (dotted:
        (7) starts at R′, so it starts below R exactly when (4) holds, given σ₀ > 0).
    """
    from bokeh.layouts import column, row
    from bokeh.models import CategoricalSlider, ColumnDataSource, CustomJS, Div
    from bokeh.plotting import figure

    axes = _axes(res)
    shape = tuple(len(axes[a[0]]) for a in EXPLORER_AXES)
    if "tau" not in res:
        raise ValueError("theorem_explorer: the result has no 'tau' (the iterations of the curves)")
    tau = np.asarray(res["tau"], dtype=float).ravel()
    arrays = {}
    for key, want in [(k, shape + (tau.size,)) for k in _CURVES] + [(k, shape) for k in _SCALARS]:
        if key not in res:
            raise ValueError(f"theorem_explorer: the result has no {key!r}")
        a = np.asarray(res[key])
        if a.shape != want:
            raise ValueError(f"theorem_explorer: {key} has shape {a.shape}, expected {want} "
                             f"(ks × ms × gamma_Ls × noises{' × tau' if key in _CURVES else ''})")
        arrays[key] = a.reshape(-1)
    if start is None:
        start = {}
        for name, _, _ in EXPLORER_AXES:
            g = np.asarray(axes[name], dtype=float)
            dist = np.abs(np.log(g) - np.log(_HOME[name])) if name == "k" else np.abs(g - _HOME[name])
            start[name] = axes[name][int(np.argmin(dist))]
    at0 = _positions(axes, start)
    i0 = explorer_index(axes, start)
    height = int(height)
    if height < 100:
        raise ValueError(f"theorem_explorer: height must be at least 100 px, got {height}")

    # every grid point, one after the other in C order: its curves (float32, gaps where a log
    # axis cannot draw) in one flat column per curve, its R and its line of text
    T = tau.size
    table = {col: log_floor(arrays[key], 1e-37).astype(np.float32).ravel() for key, col in _CURVES.items()}
    Rs = [float(r) for r in arrays["R"]]
    text = []
    for i, idx in enumerate(np.ndindex(*shape)):
        pt = {name: axes[name][j] for (name, _, _), j in zip(EXPLORER_AXES, idx)}
        text.append(explorer_text(pt, Rs[i], float(arrays["R_prime"][i]), bool(arrays["cond4"][i]),
                                  bool(arrays["step_ok"][i]), float(arrays["final_loss"][i])))
    cols = list(_CURVES.values())
    cur = ColumnDataSource({"tau": tau, **{c: table[c][i0 * T:(i0 + 1) * T] for c in cols},
                            "R": np.full(T, Rs[i0], dtype=np.float32)}, name="theorem-explorer-current")
    table = ColumnDataSource(table, name="theorem-explorer-grid")

    tools = "pan,wheel_zoom,box_zoom,reset,save"
    panels = []
    for title, meas, bound in (("loss (solid), bound (6) (dashed)", "loss", "lb"),
                               ("‖θτ − θ∞‖ (solid), (7) (dashed), R (dotted)", "par", "pb")):
        fig = figure(width=WIDTH // 2, height=height, y_axis_type="log", tools=tools, title=title,
                     x_axis_label="iteration τ")
        fig.line("tau", meas, source=cur, color="#1f77b4", line_width=2, name=f"explorer-{meas}")
        fig.line("tau", bound, source=cur, color="#d62728", line_width=2, line_dash="dashed")
        if meas == "par":
            fig.line("tau", "R", source=cur, color="gray", line_width=1.5, line_dash="dotted")
        fig.title.text_font_size = "9pt"
        fig.toolbar.logo = None
        panels.append(fig)

    info = Div(text=text[i0], name="theorem-explorer-info", width=WIDTH - 20)
    sliders = []
    for (name, _, title), j in zip(EXPLORER_AXES, at0):
        cats = [_label(v) for v in axes[name]]
        sliders.append(CategoricalSlider(categories=cats, value=cats[j], title=title,
                                         width=WIDTH // 4 - 15, name=f"theorem-explorer-{name}"))
    callback = CustomJS(args=dict(cur=cur, table=table, info=info, text=text, cols=cols, Rs=Rs,
                                  sliders=sliders), code="""
        let i = 0;
        for (const s of sliders) i = i * s.categories.length + s.categories.indexOf(s.value);
        const T = cur.data.tau.length;
        const d = Object.assign({}, cur.data);
        for (const c of cols) d[c] = table.data[c].slice(i * T, (i + 1) * T);
        d.R = new Float32Array(T).fill(Rs[i]);
        cur.data = d;
        info.text = text[i];
    """)
    for s in sliders:
        s.js_on_change("value", callback)
    return Interactive(column(row(*sliders), info, row(*panels)), "theorem-explorer")
