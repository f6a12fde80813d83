"""Figures of the Foundations and Theory chapters (01 to 05). Numerics live in the other
layers; these functions only draw.

Every function takes an optional ``ax`` (or ``axes``) and returns the figure, so a
chapter shows one line per figure and no matplotlib plumbing.
"""
from __future__ import annotations

import numpy as np

from ..experiments.paper import PAPER
from .style import axes_grid

__all__ = ["plot_sigma_min_vs_width", "plot_trajectory", "plot_kl_ratio",
           "plot_desingularizers", "plot_rate_vs_descent", "plot_kl_levels", "plot_nu_profile",
           "plot_lipschitz_sweep", "plot_flow_vs_descent", "plot_gamma_sweep",
           "plot_condition4_probability", "plot_width_scaling", "plot_theorem_bounds",
           "plot_condition_vs_convergence", "plot_condition4_layers", "plot_radius_vs_width"]


def plot_sigma_min_vs_width(res: dict, axes=None, label: str = "hidden layer W"):
    """Left: :math:`\\sigma_{\\min}(\\mathcal J_g(0))^2` against k (median and 10--90% band over runs)
    with its wide-network limit. Right: the relative deviation from the limit, with a
    :math:`k^{-1/2}` guide."""
    own = axes is None
    fig, (a0, a1) = axes_grid(axes, 2)
    ks, s2, lim = np.asarray(res["ks"]), np.asarray(res["sigma"]) ** 2, float(res["limit"])
    lo, med, hi = np.quantile(s2, [0.1, 0.5, 0.9], axis=1)
    a0.fill_between(ks, lo, hi, alpha=0.25, label="10–90% of runs")
    a0.plot(ks, med, "o-", ms=3, label=f"median, {label}")
    a0.axhline(lim, color="k", ls="--", lw=1, label=f"limit {lim:.4f}")
    a0.set(xscale="log", xlabel="width k", ylabel=r"$\sigma_{\min}(\mathcal{J}_g(0))^2$")
    a0.legend(fontsize=8)
    dev = np.abs(s2 - lim) / lim
    dlo, dmed, dhi = np.quantile(dev, [0.1, 0.5, 0.9], axis=1)
    a1.fill_between(ks, dlo, dhi, alpha=0.25)
    a1.plot(ks, dmed, "o-", ms=3, label="median relative deviation")
    ref = dmed[0] * np.sqrt(ks[0] / ks)
    a1.plot(ks, ref, "k:", lw=1, label=r"$\propto k^{-1/2}$")
    a1.set(xscale="log", yscale="log", xlabel="width k", ylabel="relative gap to the limit")
    a1.legend(fontsize=8)
    if own:                  # a figure of our own: keep the right y-label off the left panel
        fig.tight_layout()
    return fig


def plot_trajectory(traj, axes=None, tol: float | None = None, runs=None):
    """Loss, :math:`\\|x_\\tau - \\bar x\\|` and :math:`\\|\\theta_\\tau - \\theta_0\\|`
    against τ, one line per run; each run is drawn up to the iteration where it stopped."""
    fig, axes = axes_grid(axes, 3)
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


# --- chapter 02: the KL inequality -------------------------------------------------------

def plot_kl_ratio(checks: dict, axes=None):
    """The KL inequality (3) on samples of a sublevel set: :math:`\\psi'(f)\\|\\nabla f\\|`
    against f, one panel per entry of ``checks`` (label -> :class:`dipnb.theory.kl.KLCheck`),
    with the line 1 below which (3) fails."""
    fig, axes = axes_grid(axes, len(checks))
    for ax, (label, chk) in zip(axes, checks.items()):
        f, ratio = chk.f.cpu().numpy(), chk.ratio.cpu().numpy()
        for r in range(f.shape[0]):
            ax.scatter(f[r], ratio[r], s=2, alpha=0.4, label=f"run {r}")
        ax.axhline(1.0, color="k", ls="--", lw=1)
        lo, hi = ratio.min(), ratio.max()
        ax.set(xscale="log", yscale="log" if hi / max(lo, 1e-300) > 20 else "linear",
               xlabel=r"$f(z) = \mathcal{L}_y(v)$", title=label)
        if hi - lo < 1e-6:
            ax.set_ylim(lo - 0.5, hi + 0.5)
    axes[0].set_ylabel(r"$\psi'(f(z))\,\|\nabla f(z)\|$")
    return fig


def plot_desingularizers(psis: dict, r0: float = 10.0, loss0: float = 1.0, slope: float = 1.0,
                         taus=None, axes=None):
    """ψ, Ψ and Ψ⁻¹ of each Desingularizer in ``psis`` (label -> Desingularizer), and the bound
    (6), :math:`\\Psi^{-1}(\\xi_\\tau)` with :math:`\\xi_\\tau = a\\tau + \\Psi(\\mathcal L_y(y_0))`,
    against τ on log axes. Four panels (2×2 when ``axes`` is None)."""
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(2, 2, figsize=(8.0, 6.0))
        axes = list(axes.flat)
    else:
        axes = list(np.atleast_1d(axes).flat)
        fig = axes[0].figure
    s = np.logspace(-6, np.log10(r0), 300)
    taus = np.logspace(0, 5, 300) if taus is None else np.asarray(taus, dtype=float)
    for label, psi in psis.items():
        c = float(np.asarray(psi.c).ravel()[0])
        p1 = type(psi)(c, psi.alpha)          # the same ψ with a scalar constant
        line, = axes[0].plot(s, p1.psi(s), label=label)
        axes[1].plot(s, p1.Psi(s), color=line.get_color())
        t = p1.Psi(s)
        axes[2].plot(t, p1.Psi_inv(t), color=line.get_color())
        axes[3].plot(taus, p1.decay(slope, loss0, taus), color=line.get_color(),
                     label=label + (" (linear rate)" if p1.alpha == 0.5
                                    else fr" ($\tau^{{-{p1.polynomial_exponent:.3g}}}$)"))
    axes[0].set(xscale="log", yscale="log", xlabel="s", title=r"$\psi(s)$")
    axes[0].legend(fontsize=8)
    axes[1].set(xscale="log", yscale="symlog", xlabel="s", title=r"$\Psi(s)$, a primitive of $-(\psi')^2$")
    axes[2].set(xscale="symlog", yscale="log", xlabel="t", title=r"$\Psi^{-1}(t)$")
    axes[3].set(xscale="log", yscale="log", xlabel=r"$\tau$", ylim=(1e-16, 2 * loss0),
                title=fr"$\Psi^{{-1}}(\xi_\tau)$, $a = {slope:g}$, $\mathcal{{L}}_y(y_0) = {loss0:g}$")
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_rate_vs_descent(curves: dict, axes=None, tol: float | None = None):
    """Measured loss of gradient descent (solid) against the bound (6), :math:`\\Psi^{-1}(\\xi_\\tau)`
    (dashed), for each entry of ``curves``: label -> dict with ``steps`` (T,), ``loss`` (T, R)
    and ``bound`` (T, R), optionally ``stop`` (R,), the iteration where each run stopped (its
    loss is drawn up to there). Left: τ linear (a geometric decay is a straight line); right: τ
    logarithmic (a polynomial decay is a straight line)."""
    fig, axes = axes_grid(axes, 2)
    for label, cur in curves.items():
        steps = np.asarray(cur["steps"], dtype=float)
        loss, bound = np.asarray(cur["loss"]), np.asarray(cur["bound"])
        loss, bound = loss.reshape(len(steps), -1), bound.reshape(len(steps), -1)
        stop = np.asarray(cur.get("stop", np.full(loss.shape[1], np.inf)), dtype=float).reshape(-1)
        color = None
        for r in range(loss.shape[1]):
            keep = steps <= stop[r]
            for ax, x in ((axes[0], steps), (axes[1], np.maximum(steps, 1))):
                line, = ax.plot(x[keep], loss[keep, r], color=color, lw=1.3,
                                label=f"{label}: GD" if r == 0 else None)
                color = line.get_color()
                ax.plot(x, bound[:, r], color=color, ls="--", lw=1,
                        label=f"{label}: bound (6)" if r == 0 else None)
    for ax, xs in zip(axes, ("linear", "log")):
        ax.set(xscale=xs, yscale="log", xlabel=r"iteration $\tau$" + (" (+1)" if xs == "log" else ""),
               title=r"$\mathcal{L}_y(y_\tau)$, " + ("log-linear" if xs == "linear" else "log-log"))
        if tol is not None:
            ax.axhline(tol, color="k", ls=":", lw=1)
    axes[1].legend(fontsize=7)
    return fig


def plot_kl_levels(r0s, mu, hess_min, axes=None):
    """The Kullback–Leibler (Poisson) loss: its strong-convexity modulus :math:`\\mu(r_0) = \\min_i y_i/v_{\\max,i}^2`
    on :math:`[\\mathcal L_y < r_0]` and the smallest Hessian eigenvalue :math:`\\min_i y_i/v_i^2`
    seen on samples of the set, against :math:`r_0`; one line per run (arrays of shape (N, R))."""
    fig, (ax,) = axes_grid(axes, 1)
    r0s = np.asarray(r0s, dtype=float)
    mu, hess_min = np.asarray(mu).reshape(len(r0s), -1), np.asarray(hess_min).reshape(len(r0s), -1)
    for r in range(mu.shape[1]):
        line, = ax.plot(r0s, mu[:, r], lw=1.5, label=r"$\mu(r_0)$" if r == 0 else None)
        ax.plot(r0s, hess_min[:, r], "o", ms=3, color=line.get_color(),
                label=r"min Hessian eigenvalue on samples" if r == 0 else None)
    ax.set(xscale="log", yscale="log", xlabel=r"level $r_0$",
           title="Kullback–Leibler loss: strong convexity on $[f < r_0]$")
    ax.legend(fontsize=8)
    return fig


# --- chapter "Gradient descent as a discretised gradient flow" (dipnb.stepsize) -------------

def plot_nu_profile(prof: dict, axes=None):
    """Left: :math:`\\nu_1` against :math:`\\gamma L` (the theorem's range :math:`\\gamma L \\le 1`
    shaded). Right: :math:`\\nu_2/L` against :math:`\\gamma L`, with the numerical minimiser of
    :func:`dipnb.theory.constants.nu_profile` marked. ``prof`` is the output of ``nu_profile``."""
    own = axes is None
    fig, (a0, a1) = axes_grid(axes, 2)
    if own:
        fig.set_size_inches(9.0, 3.2)            # a compact row of two panels
    x, L = np.asarray(prof["gammaL"]), float(prof["L"])
    for ax in (a0, a1):
        ax.axvspan(x.min(), 1.0, color="C2", alpha=0.08, label=r"$\gamma \leq 1/L$ (Theorem III.1)")
        ax.axvline(1.0, color="C2", lw=0.8)
    a0.plot(x, prof["nu1"], "C0")
    a0.axhline(4, color="k", ls=":", lw=1, label=r"$\nu_1 = 4$ at $\gamma L = 1$")
    a0.set(xscale="log", yscale="log", xlabel=r"$\gamma L$", title=r"$\nu_1 = (1+\gamma L)/(1-\gamma L/2)$")
    a0.legend(fontsize=7)
    a1.plot(x, np.asarray(prof["nu2"]) / L, "C1")
    xs, ys = prof["gamma_star"] * L, prof["nu2_star"] / L
    a1.plot([xs], [ys], "ko", ms=5, label=fr"minimum: $\gamma L$ = {xs:.4f}, $\nu_2/L$ = {ys:.4f}")
    a1.set(xscale="log", yscale="log", xlabel=r"$\gamma L$", title=r"$\nu_2 / L$")
    a1.legend(fontsize=7)
    if own:
        fig.tight_layout()
    return fig


def plot_lipschitz_sweep(res: dict, vary: str = "k", axes=None):
    """The measured :math:`L_{\\rm est}` against the estimate (10), medians over runs, as
    ``vary`` (``"k"``, ``"n"`` or ``"m"``) changes. Left: the values; right: :math:`L_{\\rm est}`
    (the largest Hessian norm along the trajectory; :math:`L_0` when it has no steps)
    divided by :math:`\\|A\\|^2C_{\\phi'}^2`, by the first term of (10) and by
    the whole of (10). ``res`` is the output of :func:`dipnb.experiments.lipschitz_sweep`."""
    if vary not in ("k", "n", "m"):
        raise ValueError(f"unknown vary {vary!r}; accepted: ['k', 'n', 'm']")
    fig, (a0, a1) = axes_grid(axes, 2)
    xv = np.asarray(res[vary])
    def med(key):
        return np.median(np.asarray(res[key]), axis=1)

    curves = [("L_traj", r"$L_{\rm est}$ (max along GD)", "C0", "o-"),
              ("L0", r"$L_0 = \|\nabla^2 F(\theta_0)\|$", "C0", "x:"),
              ("gauss_newton", r"Gauss–Newton part at $\theta_0$", "C2", "s--"),
              ("residual", r"residual part at $\theta_0$", "C4", "v--"),
              ("A_norm2_Cdphi2", r"$\|A\|^2 C_{\phi'}^2$", "k", "-"),
              ("eq10_first", r"(10): $\|A\|^2 n/k$", "C3", "^-"),
              ("eq10_second", r"(10): $\|A\|\|y-y_0\|\sqrt{n/k}$", "C1", "d-")]
    for key, lab, c, st in curves:
        a0.plot(xv, med(key), st, color=c, ms=4, lw=1.2, label=lab)
    a0.set(xscale="log", yscale="log", xlabel=vary, title="medians over runs")
    a0.legend(fontsize=6.5)
    L = np.asarray(res["L_traj"])
    for den, lab, c in (("A_norm2_Cdphi2", r"$L_{\rm est} / (\|A\|^2 C_{\phi'}^2)$", "k"),
                        ("eq10_first", r"$L_{\rm est}$ / first term of (10)", "C3"),
                        ("eq10", r"$L_{\rm est}$ / (10) (constant 1)", "C1")):
        q = L / np.asarray(res[den])
        lo, md, hi = np.quantile(q, [0.1, 0.5, 0.9], axis=1)
        a1.fill_between(xv, lo, hi, color=c, alpha=0.15)
        a1.plot(xv, md, "o-", color=c, ms=4, label=lab)
    a1.axhline(1, color="grey", lw=0.8)
    a1.set(xscale="log", yscale="log", xlabel=vary, title="ratios (median, 10–90%)")
    a1.legend(fontsize=7)
    for ax in (a0, a1):          # label the values of the sweep, not a crowded log axis
        ax.set_xticks(xv, [str(v) for v in xv], minor=False)
        ax.set_xticks([], minor=True)
    return fig


def plot_flow_vs_descent(gap: dict, run: int = 0, show=None, axes=None):
    """Gradient descent against the gradient flow (output of
    :func:`dipnb.core.flow.flow_descent_gap`). Left: loss against :math:`t = \\gamma\\tau` for
    run ``run``, the flow as a line and descent as markers for the step sizes ``show``
    (default: the three largest). Middle: the paths of :math:`h` projected on the two
    principal directions of the flow's path. Right: the largest gap
    :math:`\\|\\theta_\\tau - \\theta(\\gamma\\tau)\\|` against γ (each run), with a slope-1 guide."""
    from ..analysis import project_paths

    fig, (a0, a1, a2) = axes_grid(axes, 3)
    g = np.asarray(gap["gammas"])
    show = list(np.argsort(-g)[:3]) if show is None else [int(np.flatnonzero(np.isclose(g, s))[0]) for s in show]
    flow = gap["flow"]
    a0.plot(flow.times, flow.loss[:, run].cpu().numpy(), "k-", lw=1.5, label="gradient flow")
    proj, captured = project_paths(flow.h, *[gap["path_gd"][i] for i in show], run=run)
    a1.plot(proj[0][:, 0], proj[0][:, 1], "k-", lw=1.5, label="gradient flow")
    for c, i in enumerate(show):
        a0.plot(gap["times"][i], gap["loss_gd"][i][:, run].cpu().numpy(), "o", ms=3.5, mfc="none",
                color=f"C{c}", label=fr"GD, $\gamma$ = {g[i]:g}")
        a1.plot(proj[c + 1][:, 0], proj[c + 1][:, 1], "o-", ms=3, lw=0.8, color=f"C{c}",
                label=fr"GD, $\gamma$ = {g[i]:g}")
    a0.set(yscale="log", xlabel=r"time $t = \gamma\tau$", title=fr"loss, run {run}")
    a0.legend(fontsize=7)
    a1.set(xlabel="direction 1", ylabel="direction 2",
           title=fr"path of $h - h_0$ ({captured:.1%} in view)")
    a1.legend(fontsize=7)
    gp = gap["gap_param"].cpu().numpy()
    for r in range(gp.shape[1]):
        a2.plot(g, gp[:, r], "o-", ms=4, label=f"run {r}")
    ref = np.median(gp[-1]) * g / g[-1]
    a2.plot(g, ref, "k:", lw=1, label=r"$\propto \gamma$")
    a2.set(xscale="log", yscale="log", xlabel=r"$\gamma$",
           title=r"$\max_\tau \|\theta_\tau - \theta(\gamma\tau)\|$")
    a2.legend(fontsize=7)
    return fig


def plot_gamma_sweep(res: dict, axes=None, paper_threshold: float = 10 ** PAPER["threshold_log10_gamma"]):
    """Gradient descent over a grid of γ (output of :func:`dipnb.experiments.gamma_sweep`).
    Left: fraction of runs that converged against γ, one line per width k, with the median
    1/L0, 2/L0 and linearised critical step :math:`2/(C_{\\phi'}^2\\|A\\|^2)`, and the paper's
    :math:`10^{1.6}`. Middle: loss after the step budget, each run, marker by status.
    Right: :math:`\\gamma L_{\\mathrm{final}}` (Hessian norm where the run stopped) for the
    converged runs, against the linear-stability limit 2."""
    fig, (a0, a1, a2) = axes_grid(axes, 3)
    g, ks = np.asarray(res["gammas"]), np.asarray(res["ks"])
    marks = {"converged": "o", "stalled": "x", "nonfinite": "*", "max_steps": "^"}
    for a, k in enumerate(ks):
        c = f"C{a}"
        a0.plot(g, res["frac_conv"][a], "o-", color=c, ms=4, label=f"k = {k}")
        for s, mk in marks.items():
            sel = res["status"][a] == s
            if sel.any():
                gg = np.broadcast_to(g[:, None], sel.shape)[sel] * (1 + 0.04 * (a - (len(ks) - 1) / 2))
                a1.plot(gg, np.maximum(res["loss"][a][sel], 1e-16), mk, color=c, ms=4, mfc="none")
        conv = res["status"][a] == "converged"
        gl = (g[:, None] * res["L_final"][a])[conv]
        a2.plot(np.broadcast_to(g[:, None], conv.shape)[conv], gl, "o", color=c, ms=4, mfc="none",
                label=f"k = {k}")
    L0 = np.median(res["L0"])
    for val, lab, st in ((1 / L0, r"$1/L_0$", "--"), (2 / L0, r"$2/L_0$", "-."),
                         (np.median(res["gamma_lin"]), r"$2/(C_{\phi'}^2\|A\|^2)$", ":"),
                         (paper_threshold, r"paper: $10^{1.6}$", "-")):
        a0.axvline(val, color="grey" if st != "-" else "C3", ls=st, lw=1, label=lab)
    a0.set(xscale="log", xlabel=r"$\gamma$", ylabel="fraction converged", ylim=(-0.05, 1.05),
           title=f"tol {res['tol']:g} within {res['steps']} steps")
    a0.legend(fontsize=6.5)
    for s, mk in marks.items():      # legend: marker = status (colour = k, as on the left)
        if (res["status"] == s).any():
            a1.plot([], [], mk, color="k", ms=4, mfc="none", label=s)
    a1.set(xscale="log", yscale="log", xlabel=r"$\gamma$", title="loss at the end (½-MSE)")
    a1.legend(fontsize=7)
    a2.axhline(2, color="k", ls="--", lw=1, label=r"$\gamma L = 2$")
    a2.plot(g, g * L0, color="grey", lw=1, label=r"$\gamma L_0$ (median)")
    a2.set(xscale="log", yscale="log", xlabel=r"$\gamma$",
           title=r"$\gamma\,\|\nabla^2\|$ at the minimum reached")
    a2.legend(fontsize=7)
    return fig


def plot_condition4_probability(res: dict, nu1s=(1.0, 2.0), bound=None, promised=None, C: float = 1.0,
                                C_prime: float = 1.0, d: int | None = None, ax=None):
    """Empirical probability that condition (4) holds against the width k, one colour per m
    and one line style per :math:`\\nu_1`, from :func:`dipnb.experiments.condition4_sweep`.

    ``bound``: optional dict ``m -> width`` drawn as vertical dotted lines (the corollary's
    bound, e.g. its median over runs); ``promised``: the probability the corollary promises
    (horizontal line); C, C', d are written on the figure."""
    import matplotlib.pyplot as plt

    from ..analysis import condition4_probability

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 3.8))
    fig = ax.figure
    ks = np.asarray(res["ks"])
    styles = ["-", "--", ":", "-."]
    for i, m in enumerate(res["ms"]):
        color = f"C{i}"
        for j, nu in enumerate(nu1s):
            p = condition4_probability(res["ratio"][i], nu)
            ax.plot(ks, p, styles[j % 4], marker="o", ms=2.5, color=color,
                    label=fr"$m={m}$, $\nu_1={nu:g}$")
        if bound is not None and m in bound:
            ax.axvline(bound[m], color=color, ls=(0, (1, 2)), lw=1.5)
    if promised is not None:
        ax.axhline(promised, color="k", lw=0.8, ls="--")
        ax.text(ks[0], promised + 0.02, f"promised: {promised:.3f}", fontsize=7)
    runs = np.asarray(res["ratio"]).shape[-1]
    ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="width k",
           ylabel="P[(4) holds]", title=f"condition (4) at initialisation, n = {res['n']}, {runs} runs")
    if bound is not None:
        txt = f"dotted verticals: Corollary III.2 bound\n(median over runs), C = {C:g}, C' = {C_prime:g}"
        txt += f", d = {d}" if d is not None else ""
        ax.text(0.99, 0.03, txt, transform=ax.transAxes, ha="right", va="bottom", fontsize=7)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    return fig


def plot_width_scaling(results, printed=None, axes=None):
    """Log-log panels, one per result of :func:`dipnb.experiments.width_scaling`: the empirical
    width at which (4) holds with probability 1/2 and the corollary's bound, with fitted
    slopes; ``printed`` (dict param -> exponent) adds a dashed line with the paper's
    printed exponent, anchored at the first empirical point."""
    results = list(results)
    fig, axes = axes_grid(axes, len(results))
    names = {"n": "n", "m": "m", "kappa": r"\kappa(A)"}
    for ax, r in zip(axes, results):
        x = np.asarray(r["values"], dtype=float)
        for key, marker, label in (("k_half", "o", r"empirical $k_{1/2}$ of (4)"),
                                   ("bound", "s", f"bound, C = {r['C']:g}, C' = {r['C_prime']:g}")):
            y = np.asarray(r[key])
            s = r["slopes"][key]
            line = ax.plot(x, y, marker, ms=4, label=f"{label}: slope {s:.2f}")[0]
            c = np.polyfit(np.log(x), np.log(y), 1)
            ax.plot(x, np.exp(np.polyval(c, np.log(x))), color=line.get_color(), lw=1)
        if printed is not None and r["param"] in printed:
            e = printed[r["param"]]
            ax.plot(x, r["k_half"][0] * (x / x[0]) ** e, "k--", lw=1, label=f"printed exponent {e:g}")
        fixed = ", ".join(f"{k}={v:g}" for k, v in r["base"].items() if k != r["param"])
        ax.set(xscale="log", yscale="log", xlabel=f"${names[r['param']]}$", ylabel="width k",
               title=f"{fixed}, d={r['d']}")
        from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

        ax.xaxis.set_major_locator(FixedLocator(x))           # label the values used, nothing else
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=6.5, loc="upper left")
    fig.tight_layout()
    return fig


def plot_theorem_bounds(traj, th, dist=0.0, axes=None, runs=None, title: str | None = None):
    """Theorem III.1 against a run: loss vs bound (6), :math:`\\|\\theta_\\tau-\\theta_\\infty\\|`
    vs (7) and :math:`\\|x_\\tau-\\bar x\\|` vs (8), one colour per run (solid: measured,
    dashed: bound). ``traj`` is a :class:`dipnb.Trajectory` recorded with ``reference=θ∞``
    (else the middle panel is left empty), ``th`` a :class:`dipnb.TheoremIII1`, ``dist`` the
    value used for :math:`\\mathrm{dist}(\\bar x, \\Sigma')` (float or (R,)). A bound that is
    not finite (e.g. (8) for a non-injective A) is not drawn and the panel says so."""
    import torch

    fig, axes = axes_grid(axes, 3)
    steps = np.asarray(traj.steps)
    tau = torch.as_tensor(steps)
    stop = traj.stop_step.cpu().numpy()
    R = traj.loss.shape[1]
    runs = range(R) if runs is None else runs
    panels = [("loss", traj.loss, th.loss_bound(tau), r"$\mathcal{L}_y(y_\tau)$ and (6)"),
              ("param", traj.dist_ref, th.param_bound(tau), r"$\|\theta_\tau-\theta_\infty\|$ and (7)"),
              ("error", traj.error, th.error_bound(tau, dist=dist), r"$\|x_\tau-\bar x\|$ and (8)")]
    for ax, (_key, meas, bound, lab) in zip(axes, panels):
        ax.set(yscale="log", xlabel=r"iteration $\tau$", title=lab)
        if meas is None:
            ax.text(0.5, 0.5, "no reference state\n(pass reference= to gradient_descent)",
                    transform=ax.transAxes, ha="center", fontsize=8)
            continue
        meas, bound = meas.detach().cpu().numpy(), bound.detach().cpu().numpy()
        missing = []
        for j, r in enumerate(runs):
            c = f"C{j % 10}"
            keep = steps <= stop[r]
            mv = np.where(meas[keep, r] > 0, meas[keep, r], np.nan)     # exact zeros cannot be drawn in log
            ax.plot(steps[keep], mv, color=c, lw=1.3,
                    label=f"run {r}: (4) {'holds' if bool(th.condition_4[r]) else 'fails'}")
            if np.isfinite(bound[:, r]).all():
                ax.plot(steps, bound[:, r], color=c, lw=1.1, ls="--")
            else:
                missing.append(r)
        if missing:
            ax.text(0.03, 0.04, f"bound not finite for run(s) {missing}\n(A not injective: A-5 fails)",
                    transform=ax.transAxes, fontsize=7)
    axes[0].plot([], [], color="gray", ls="--", label="bound")
    axes[0].legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_condition_vs_convergence(res: dict, ax=None):
    """Fraction of runs where condition (4) holds, and fraction that converge
    (loss :math:`\\le` tol within the step budget), against the width k; ``res`` is the
    dict of :func:`dipnb.experiments.condition_vs_convergence`."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
    fig = ax.figure
    ks = np.asarray(res["ks"])
    ax.plot(ks, np.asarray(res["cond4"]).mean(1), "o-", label="condition (4) holds")
    ax.plot(ks, np.asarray(res["converged"]).mean(1), "s-",
            label=rf"converged: $\mathcal{{L}}_y \leq$ {res['tol']:g} within {res['steps']} steps")
    ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="width k", ylabel=f"fraction of {res['runs']} runs",
           title=f"n = {res['n']}, m = {res['m']}, {res['operator']} A")
    ax.legend(fontsize=8, loc="center right")
    return fig


def plot_condition4_layers(res: dict, nu1s=(1.0, 2.0), bound=None, axes=None):
    """P[(4) holds] against k with both layers trained (solid) and the hidden layer only
    (dashed), one colour per m, one panel per :math:`\\nu_1`, from
    :func:`dipnb.experiments.condition4_sweep` with ``both_layers=True``; ``bound``: dict
    ``m -> width`` (Corollary III.2, dotted verticals)."""
    from ..analysis import condition4_probability

    fig, axes = axes_grid(axes, len(nu1s))
    ks = np.asarray(res["ks"])
    for ax, nu in zip(axes, nu1s):
        for i, m in enumerate(res["ms"]):
            c = f"C{i}"
            ax.plot(ks, condition4_probability(res["ratio_both"][i], nu), "-", marker="o", ms=2.5, color=c,
                    label=f"m={m}, both layers")
            ax.plot(ks, condition4_probability(res["ratio"][i], nu), "--", color=c, lw=1.2,
                    label=f"m={m}, W only")
            if bound is not None and m in bound:
                ax.axvline(bound[m], color=c, ls=(0, (1, 2)), lw=1.5)
        ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="width k", ylabel="P[(4) holds]",
               title=fr"$\nu_1 = {nu:g}$, n = {res['n']}, {np.asarray(res['ratio']).shape[-1]} runs")
    axes[0].legend(fontsize=7, loc="upper left")
    if bound is not None:
        axes[-1].text(0.99, 0.03, "dotted: Corollary III.2 bound\n(median, C = C' = 1)",
                      transform=axes[-1].transAxes, ha="right", va="bottom", fontsize=7)
    return fig


def plot_radius_vs_width(res: dict, ax=None):
    """The radius R of (5) against k, both layers and W only (median over runs, with the
    :math:`k^{1/4}` and :math:`k^{1/2}` laws through the last point), and the median R' of
    each m at :math:`\\nu_1 = 1` (both layers) as horizontal lines: (4) holds where R crosses R'."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 3.8))
    fig = ax.figure
    ks = np.asarray(res["ks"], dtype=float)
    for key, lab, c, p in (("R_both", "R, both layers", "k", 0.25), ("R_W", "R, W only", "0.5", 0.5)):
        med = np.median(res[key], axis=1)
        ax.plot(ks, med, "o-", ms=3, color=c, label=lab)
        ax.plot(ks, med[-1] * (ks / ks[-1]) ** p, ":", color=c, lw=1, label=fr"$\propto k^{{{p:g}}}$")
    for i, m in enumerate(res["ms"]):
        ax.axhline(np.median(res["R_prime_both"][i, -1]), color=f"C{i}", lw=1, ls="--",
                   label=fr"median $R'$ (both), m={m}")
    ax.set(xscale="log", yscale="log", xlabel="width k", ylabel="radius",
           title=r"R of (5) against $R'$ ($\nu_1 = 1$)")
    ax.legend(fontsize=7, ncol=2)
    return fig
