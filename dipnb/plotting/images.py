"""Figures of the image chapters (Fig 3a, Fig 3b, Fig 4). Numerics live in :mod:`dipnb.experiments.images`;
these functions only draw, take an optional ``axes`` and return the figure."""
from __future__ import annotations

import math

import numpy as np

from ..analysis import psnr
from .style import IMAGE_CMAP, IMAGE_TITLE_SIZE, LEGEND_SIZE, PAGE_WIDTH, TITLE_SIZE, axes_grid

__all__ = ["plot_image_grid", "plot_fig3a", "plot_fig3a_curves", "plot_noise_amplification",
           "plot_fig3b", "plot_fig4", "plot_early_stopping"]


def _side(v):
    n = np.asarray(v).size
    s = int(round(math.sqrt(n)))
    if s * s != n:
        raise ValueError(f"an image must have a square number of pixels, got {n}")
    return s


def _img(v):
    v = np.asarray(v, dtype=np.float64)
    return v if v.ndim == 2 else v.reshape(_side(v), _side(v))


def plot_image_grid(images, titles=None, ncols=None, axes=None, vmin=0.0, vmax=255.0, size=2.3):
    """Grey images (2-D arrays or flattened squares) side by side, clipped to [vmin, vmax].

    Panels are ``size`` inches wide, shrunk so that the grid is at most the page's width;
    titles use the style's ``IMAGE_TITLE_SIZE``.
    """
    import matplotlib.pyplot as plt

    images = [_img(im) for im in images]
    ncols = ncols or len(images)
    nrows = math.ceil(len(images) / ncols)
    size = min(size, PAGE_WIDTH / ncols)
    lines = max((str(t).count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    if axes is None:
        fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.25 * lines + 0.1) * nrows),
                                 squeeze=False)
        axes = axes.ravel()
    else:
        axes = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < len(images):
            ax.imshow(np.clip(images[i], vmin, vmax), cmap=IMAGE_CMAP, vmin=vmin, vmax=vmax,
                      interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=IMAGE_TITLE_SIZE)
    fig = axes[0].figure
    fig.tight_layout()
    return fig


def _omega(res: dict) -> float:
    """The effective Landweber step ω of an image result (1 where it was not recorded)."""
    w = float(res.get("omega", math.nan))
    return w if math.isfinite(w) and w > 0 else 1.0


def _time_axis(ax, omega: float):
    """x is ωτ, the step-invariant time of the Landweber model (issue 11: runs at different
    steps are compared at equal ωτ); the iteration count τ is on the top axis."""
    ax.set_xlabel(f"ωτ (step-invariant time; ω = {omega:.3g})")
    top = ax.secondary_xaxis("top", functions=(lambda x: x / omega, lambda t: t * omega))
    top.set_xlabel("iteration τ", fontsize="small")
    top.tick_params(labelsize="small")


def plot_fig3a(res: dict):
    """The paper's Fig 3a: one row per noise level; image space (x̄, x_τ at the last step τ) and
    observation space (y, A x_τ), each titled with its PSNR (image space against x̄, observation space
    against the noiseless observation ȳ = A x̄). A noiseless observation is titled
    "exact: y = ȳ": its PSNR against ȳ would only measure round-off (it printed 159.3 dB)."""
    x_bar, y_bar = res["x_bar"], res["y_bar"]
    sig = np.asarray(res["noise_stds"])
    T = int(res["steps"])
    imgs, titles = [], []
    for i, s in enumerate(sig):
        y, x, Ax = res[f"s{i}_y"], res[f"s{i}_x_final"], res[f"s{i}_Ax_final"]
        imgs += [x_bar, x, y, Ax]
        obs = f"{psnr(y, y_bar):.1f} dB vs ȳ" if s > 0 else "exact: y = ȳ"
        titles += ["ground truth x̄", f"x_τ, τ = {T}\n{psnr(x, x_bar):.1f} dB",
                   f"y (σ = {s:g})\n{obs}", f"A x_τ\n{psnr(Ax, y_bar):.1f} dB vs ȳ"]
    fig = plot_image_grid(imgs, titles, ncols=4, size=2.0)
    fig.suptitle("image space (left two), observation space (right two); one row per σ; PSNR",
                 fontsize=TITLE_SIZE, y=1.02)
    return fig


def plot_fig3a_curves(res: dict, axes=None):
    """PSNR of x_τ against τ for each noise level (network: solid; Landweber with the
    network's effective step: dotted), and the residual ‖Ax_τ − y‖ with the noise level."""

    fig, (a1, a2) = axes_grid(axes, 2)
    sig = np.asarray(res["noise_stds"])
    n = np.asarray(res["x_bar"]).size
    w = _omega(res)
    for i, s in enumerate(sig):
        tau = w * np.arange(len(res[f"s{i}_psnr"]))
        line, = a1.semilogx(tau[1:], res[f"s{i}_psnr"][1:], label=f"network, σ={s:g}")
        lw = 10 * np.log10(255 ** 2 * n / np.asarray(res[f"s{i}_lw_error"]) ** 2)
        a1.semilogx(tau[1:], lw[1:], ":", color=line.get_color(), label=f"Landweber, σ={s:g}")
        a2.loglog(tau[1:], res[f"s{i}_residual"][1:], color=line.get_color(), label=f"σ={s:g}")
        if s > 0:
            a2.axhline(math.sqrt(n) * s, color=line.get_color(), ls="--", lw=0.8, label=f"√m σ = {math.sqrt(n) * s:.0f}")
    a1.axhline(float(psnr(res["y_bar"], res["x_bar"])), color="gray", lw=0.8, ls="--", label="blurred ȳ")
    a1.set(ylabel="PSNR(x_τ, x̄) [dB]", title="reconstruction quality")
    a2.set(ylabel="‖A x_τ − y‖", title="data fit")
    for a in (a1, a2):
        _time_axis(a, w)
        a.legend(fontsize=LEGEND_SIZE)
    fig.tight_layout()
    return fig


def plot_noise_amplification(res: dict, ax=None, index: int | None = None):
    """Noise part of the Landweber error (linear model of the network) against τ, up to
    τ = ∞ (drawn at the right end), with ‖x̄‖ and the network's measured total error."""
    import matplotlib.pyplot as plt

    sig = np.asarray(res["noise_stds"])
    i = int(np.argmax(sig)) if index is None else index
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.6, 3.2))
    fig = ax.figure
    w = _omega(res)
    taus = w * np.asarray(res["taus_linear"], dtype=float)
    vals = np.asarray(res[f"s{i}_lw_noise"])
    fin = np.isfinite(taus)
    ax.loglog(taus[fin], vals[fin], "o-", label="noise part of the Landweber error")
    t_inf = taus[fin][-1] * 30
    ax.plot([t_inf], [vals[~fin][0]], "s", color="C3", label="τ = ∞: ‖A⁻¹ε‖")
    ax.axhline(np.linalg.norm(res["x_bar"]), color="gray", ls="--", lw=0.8, label="‖x̄‖")
    tau = w * np.arange(1, len(res[f"s{i}_error"]))
    ax.loglog(tau, res[f"s{i}_error"][1:], color="C1", label="network: total error ‖x_τ − x̄‖")
    ax.set(ylabel="norm", title=f"noise amplification, σ = {sig[i]:g}, σ_A = {float(res['sigma_A']):.1e}")
    _time_axis(ax, w)
    ax.legend(fontsize=LEGEND_SIZE)
    fig.tight_layout()
    return fig


def _full_grid(n_snaps: int, max_cols: int = 5) -> tuple[int, int]:
    """``(snapshots to show, columns)`` for y + snapshots + x̄ on a grid with no blank cell:
    the most snapshots (at most ``n_snaps``) whose total fills whole rows of at most
    ``max_cols`` columns, preferring wide rows."""
    for shown in range(n_snaps, 0, -1):
        total = shown + 2
        if total <= max_cols:
            return shown, total
        for cols in range(max_cols, 2, -1):
            if total % cols == 0:
                return shown, cols
    return 0, 2


def _short(v: float) -> str:
    """A time ωτ in at most 4 characters where it can: two significant digits below 100,
    the integer above (no exponent: ``5.9e+02`` reads as 586)."""
    return f"{v:.2g}" if abs(v) < 100 else f"{v:.0f}"


def plot_fig3b(res: dict, max_images: int = 8):
    """The paper's Fig 3b: the observation y, then x_τ at increasing τ, with PSNR; the last
    panel is the ground truth. The grid has no blank cell: up to ``max_images`` snapshots,
    as many as fill whole rows of at most five panels."""
    steps, snaps = np.asarray(res["snap_steps"]), np.asarray(res["snapshots"])
    keep = np.unique(np.linspace(0, len(steps) - 1, min(max_images, len(steps))).round().astype(int))
    shown, ncols = _full_grid(len(keep))
    keep = keep[np.unique(np.linspace(0, len(keep) - 1, shown).round().astype(int))] if shown else keep[:0]
    x_bar = res["x_bar"]
    imgs = [res["y"]] + [snaps[j] for j in keep] + [x_bar]
    w = _omega(res)
    # "τ = 10000 (ωτ = 5.9e+02)" was wider than a panel and overlapped its neighbour
    titles = ["observation y"] + [f"τ = {int(steps[j])}, ωτ = {_short(w * steps[j])}\n"
                                  f"{psnr(snaps[j], x_bar):.1f} dB" for j in keep]
    titles += ["ground truth x̄"]
    fig = plot_image_grid(imgs, titles, ncols=ncols, vmin=0, vmax=255, size=2.0)
    return fig


def plot_fig4(res: dict, ax=None, landweber: bool = True):
    """The paper's Fig 4: ‖x_τ − x̄‖ against τ with bound (8) dashed, the oracle best τ and
    the discrepancy-principle τ marked, and (optionally) the Landweber model dotted."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.2, 4.0))
    fig = ax.figure
    err = np.asarray(res["error"])
    w = _omega(res)
    tau = w * np.arange(len(err))
    ax.semilogx(tau[1:], err[1:], label="‖x_τ − x̄‖ (network)")
    if landweber and "lw_error" in res:
        ax.semilogx(tau[1:], np.asarray(res["lw_error"])[1:], ":", color="C2", label="Landweber, same ω")
    if "bound8" in res and np.all(np.isfinite(np.asarray(res["bound8"], dtype=float))):
        ax.semilogx(tau[1:], np.asarray(res["bound8"])[1:], "--", color="k", lw=1,
                    label="bound (8) (condition (4) fails)")
    tb = int(np.argmin(err))
    ax.plot([w * tb], [err[tb]], "v", color="C1", ms=8, label=f"oracle best τ = {tb}")
    dp = int(res["dp_step"])
    if dp >= 0:
        ax.plot([w * dp], [err[dp]], "o", color="C3", ms=7, label=f"discrepancy principle τ = {dp}")
    ax.axhline(float(res["ls_error"]), color="gray", lw=0.8, ls="-.", label="‖A⁻¹y − x̄‖")
    ax.set(ylabel="error", title="Fig 4: reconstruction error")
    _time_axis(ax, w)
    ax.legend(fontsize=LEGEND_SIZE)
    fig.tight_layout()
    return fig


def plot_early_stopping(res: dict, tau_dps=(0.9, 1.0, 1.1, 1.2), axes=None):
    """Left: the residual ‖Ax_τ − y‖ with the discrepancy thresholds τ_dp √m σ. Right: PSNR
    along the run, with the oracle best τ and the τ chosen by each threshold."""
    from ..analysis import discrepancy_stop

    fig, (a1, a2) = axes_grid(axes, 2)
    r, ps = np.asarray(res["residual"]), np.asarray(res["psnr"])
    tau = np.arange(len(r))
    m = np.asarray(res["x_bar"]).size
    s = float(res["noise_std"])
    a1.loglog(tau[1:], r[1:], color="C0")
    a2.semilogx(tau[1:], ps[1:], color="C0")
    tb = int(np.argmax(ps))
    a2.plot([tb], [ps[tb]], "v", color="C1", ms=8, label=f"oracle τ = {tb}")
    for j, t in enumerate(tau_dps):
        c = f"C{j + 2}"
        a1.axhline(t * math.sqrt(m) * s, color=c, ls="--", lw=0.8, label=f"τ_dp = {t:g}")
        st = discrepancy_stop(r, s, m, t)
        if st >= 0:
            a2.plot([st], [ps[st]], "o", color=c, label=f"τ_dp = {t:g}: τ = {st}")
    a1.set(xlabel="iteration τ", ylabel="‖A x_τ − y‖", title="residual and thresholds")
    a2.set(xlabel="iteration τ", ylabel="PSNR(x_τ, x̄) [dB]", title="where each rule stops")
    a1.legend(fontsize=LEGEND_SIZE)
    a2.legend(fontsize=LEGEND_SIZE)
    fig.tight_layout()
    return fig
