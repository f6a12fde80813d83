"""The experiments of Section IV that need training sweeps: Fig 1, Fig 2 and the unshown step-size study.

* **Fig 1** (:func:`fig1_sweep`): n = 5, A (m×n) and :math:`\\bar x` iid N(0, 1), hidden
  layer trained with the ½-MSE, on a grid of (m, k). Fig 1a is the probability that
  condition (4) holds at initialisation (no training: :func:`dipnb.condition4_sweep`);
  Fig 1b the probability that gradient descent (2) reaches
  :math:`\\mathcal L_y(y_\\tau) \\le 10^{-14}` within :math:`10^5` steps.
* **Fig 2** (:func:`fig2_sweep`): the same probability of convergence on a grid of
  (n, γ) at k = 10^4.
* **The step-size threshold** (:func:`gamma_threshold_sweep`): n and m fixed, a grid of
  (k, γ); the paper reports that training fails once :math:`\\gamma \\ge 10^{1.6}`
  whatever k, and the estimate (10) of L is compared with the measured Hessian norm.

All training goes through :func:`dipnb.engine.sweep` (every run of a resumable cell in one
call). The problems are :func:`dipnb.gaussian_problems` (seeded by ``(seed, n, m)`` only) and
the networks :func:`draw_networks` (seeded by ``(seed, n, k)`` only), so the cells of one grid
share their draws where the paper's setting allows it (common random numbers), and Fig 1a
and Fig 1b use the same problems (and, for ``runs * n * k <= 2**22``, the same networks).

Each ``*_PRESETS`` dict has a ``quick`` preset (seconds, for the book build), ``paper``
(the paper's sizes) and ``paper-cpu`` (the paper's steps, runs and tolerance on a grid that
fits a 2-core CPU in well under an hour); ``*_table`` functions compare a saved result with
what the paper says, row by row.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ._checks import check_int, check_positive
from .corollary import (_draw_chunk, _network_seed, condition4_probability, condition4_ratio,
                        condition4_sweep, gaussian_problems, width_at_probability)
from .engine import Job, sweep
from .experiments import Experiment, Table, _run_cells
from .network import V_INITS, TwoLayerDIP
from .stepsize import loglog_slope
from .theory import L_eq10, corollary_width, hessian_norm

__all__ = ["FIG1_PRESETS", "FIG2_PRESETS", "GAMMA_THRESHOLD_PRESETS", "SWEEP_EXPERIMENTS",
           "PAPER", "draw_networks", "fig1_sweep", "fig2_sweep", "gamma_threshold_sweep",
           "failure_threshold", "convergence_band", "fig1_table", "fig2_table",
           "gamma_threshold_table", "table_markdown", "ComparisonTable", "best_result", "log10_grid"]


def log10_grid(lo: float, hi: float, step: float) -> list[float]:
    """``[lo, lo + step, ..., hi]`` rounded to 3 decimals (exponents of a log grid)."""
    check_positive("step", step)
    if hi < lo:
        raise ValueError(f"hi must be >= lo, got lo={lo}, hi={hi}")
    return np.round(np.arange(lo, hi + step / 2, step), 3).tolist()


def _ks(log10_ks) -> list[int]:
    return sorted({int(round(10 ** e)) for e in log10_ks})


#: What the paper states about these experiments (Section IV), used by the ``*_table`` functions.
PAPER = {
    "fig1_conv_m2_log10k": 2.5,      # "for m = 2 ... convergence occurs when k >= 10^2.5"
    "fig1_bound_m2_log10k": 6.8,     # "for m = 2, our bound ... requires k >= 10^6.8"
    "threshold_log10_gamma": 1.6,    # "training will start to diverge when gamma >= 10^1.6"
    "fig2_k": 10_000,
    "runs": 50, "steps": 100_000, "tol": 1e-14, "n_fig1": 5,
}

# --- presets ----------------------------------------------------------------------------------------
# Grids the paper does not give are justified in the chapters (book/06_fig1_width.md,
# book/07_fig2_stepsize.md). ``paper-cpu`` keeps the paper's runs, steps and tolerance.

FIG1_PRESETS = {
    "quick": dict(n=5, ms=[1, 2, 3, 5], log10_ks_a=log10_grid(1.0, 5.0, 0.5),
                  log10_ks_b=log10_grid(1.0, 3.0, 0.5), runs=10, steps=3000, gamma=1.0, tol=1e-14,
                  d=16, nu1=2.0),
    "paper": dict(n=5, ms=[1, 2, 3, 4, 5, 6, 8], log10_ks_a=log10_grid(1.0, 7.0, 0.25),
                  log10_ks_b=log10_grid(1.0, 6.0, 0.25), runs=50, steps=100_000, gamma=1.0,
                  tol=1e-14, d=16, nu1=2.0),
    "paper-cpu": dict(n=5, ms=[1, 2, 3, 4, 5, 6, 8], log10_ks_a=log10_grid(1.0, 6.5, 0.25),
                      log10_ks_b=log10_grid(1.0, 3.5, 0.25), runs=50, steps=100_000, gamma=1.0,
                      tol=1e-14, d=16, nu1=2.0),
}

FIG2_PRESETS = {
    "quick": dict(ns=[2, 5, 10, 20], m_ratio=0.5, k=1000, log10_gammas=log10_grid(-1.0, 2.5, 0.5),
                  runs=8, steps=3000, tol=1e-14),
    "paper": dict(ns=[2, 5, 10, 20, 50, 100], m_ratio=0.5, k=10_000,
                  log10_gammas=log10_grid(-1.0, 3.0, 0.125), runs=50, steps=100_000, tol=1e-14),
    "paper-cpu": dict(ns=[2, 5, 10, 20], m_ratio=0.5, k=1000, log10_gammas=log10_grid(-1.0, 3.0, 0.25),
                      runs=50, steps=100_000, tol=1e-14),
}

GAMMA_THRESHOLD_PRESETS = {
    "quick": dict(n=5, m=3, log10_ks=[2.0, 3.0], log10_gammas=log10_grid(0.5, 2.5, 0.25), runs=8,
                  steps=3000, tol=1e-14),
    "paper": dict(n=5, m=3, log10_ks=log10_grid(1.5, 5.0, 0.5), log10_gammas=log10_grid(0.5, 2.5, 0.1),
                  runs=50, steps=100_000, tol=1e-14),
    "paper-cpu": dict(n=5, m=3, log10_ks=[1.5, 2.0, 2.5, 3.0], log10_gammas=log10_grid(0.8, 2.4, 0.1),
                      runs=50, steps=100_000, tol=1e-14),
}


# --- shared pieces -------------------------------------------------------------------------------

def draw_networks(runs: int, n: int, k: int, seed: int = 0, activation="sigmoid",
                  device="cpu") -> TwoLayerDIP:
    """``runs`` networks (9) of width ``k`` drawn by A-6..A-8 with Rademacher ``V0``, as ``d = 1`` networks.

    Under A-6 and A-7, :math:`h_0 = W_0u \\sim N(0, I_k)` whatever d, and training the hidden
    layer only depends on :math:`h = Wu` (see :mod:`dipnb.engine`): a network with d = 1,
    u = 1 and :math:`W_0 = h_0` has the same dynamics as any d. The draw is the one of
    :func:`dipnb.condition4_sweep` at the same ``(seed, n, k)`` whenever
    ``runs * n * k <= 2**22`` (its default chunk), so both see the same networks there.
    """
    runs, n, k = check_int("runs", runs), check_int("n", n), check_int("k", k)
    h, V = _draw_chunk(runs, n, k, _network_seed(seed, n, k, 0, 0), device)
    u = torch.ones(runs, 1, dtype=h.dtype, device=h.device)
    return TwoLayerDIP(u, h[:, :, None], V, activation, V_INITS["rademacher"])


def failure_threshold(gammas, frac, level: float = 0.5) -> float:
    """The step size at which training starts to fail: the first γ of the (increasing) grid,
    above the first γ where at least ``level`` of the runs converge, at which fewer than
    ``level`` do. ``inf`` if this never happens on the grid, ``nan`` if no γ reaches ``level``.
    (The same definition as ``threshold`` in :func:`dipnb.gamma_sweep`.)"""
    g, f = np.asarray(gammas, dtype=float), np.asarray(frac, dtype=float)
    if g.ndim != 1 or g.shape != f.shape:
        raise ValueError(f"gammas and frac must be 1-D of the same length, got {g.shape} and {f.shape}")
    ok = np.flatnonzero(f >= level)
    if ok.size == 0:
        return math.nan
    bad = np.flatnonzero((f < level) & (np.arange(g.size) > ok[0]))
    return float(g[bad[0]]) if bad.size else math.inf


def convergence_band(gammas, frac, level: float = 0.5) -> tuple[float, float]:
    """``(lowest γ with frac >= level, failure_threshold)``: the band of step sizes that work.
    Below it, runs are too slow to reach the tolerance within the step budget; above it,
    they stall. ``(nan, nan)`` if no γ of the grid reaches ``level``."""
    g, f = np.asarray(gammas, dtype=float), np.asarray(frac, dtype=float)
    ok = np.flatnonzero(f >= level)
    return (float(g[ok[0]]) if ok.size else math.nan), failure_threshold(g, f, level)


def _train_gammas(net, problem, gammas, steps, tol, progress=False):
    """Train ``net`` on ``problem`` with every γ of ``gammas`` (one Job each, sharing the draws)."""
    res = sweep([Job(net, problem, float(g)) for g in gammas], steps, tol=tol, progress=progress)
    return {"converged": np.stack([r.converged for r in res]),
            "loss": np.stack([r.loss for r in res]),
            "stop_step": np.stack([r.stop_step for r in res])}


# --- Fig 1 ---------------------------------------------------------------------------------------

def fig1_sweep(n: int = 5, ms=(1, 2, 3, 5), log10_ks_a=(1, 2, 3, 4, 5), log10_ks_b=(1, 2, 3),
               runs: int = 10, steps: int = 3000, gamma: float = 1.0, tol: float = 1e-14, d: int = 16,
               nu1: float = 2.0, seed: int = 0, device="cpu", cache: Path | None = None,
               progress: bool = False) -> dict:
    """Fig 1 of the paper: condition (4) (1a) and convergence (1b) over a grid of (m, k).

    Parameters
    ----------
    n : int
        Signal size (the paper: 5).
    ms : sequence of int
        Observation sizes m (rows of the heat maps).
    log10_ks_a, log10_ks_b : sequences of float
        Exponents of the widths for Fig 1a (no training, cheap: can go to 10^7) and for
        Fig 1b (training).
    runs, steps, tol : int, int, float
        Runs per cell (paper 50), step budget (paper 10^5) and success threshold on the
        ½-MSE (paper 1e-14).
    gamma : float
        Step size of Fig 1b (not given in the paper).
    d : int
        Latent size used in the corollary's bound (it enters only through log d).
    nu1 : float
        The :math:`\\nu_1` at which (4) is evaluated for Fig 1a (2: the step
        :math:`\\gamma = 1/(2L)` that minimises :math:`\\nu_2`); ``ratio`` lets any other be used.

    Returns
    -------
    dict with ``ms`` (P,), ``ks_a`` (Ka,), ``ks_b`` (Kb,), ``ratio_a`` (P, Ka, R) the
    :math:`R'/R` at :math:`\\nu_1 = 1` of :func:`dipnb.condition4_sweep`, ``prob_a`` (P, Ka)
    at ``nu1``, ``bound`` (P, R) the corollary's width (C = C' = 1, d), ``converged``,
    ``stop_step``, ``loss``, ``ratio_b`` (P, Kb, R) (the same runs as the training),
    ``prob_b`` (P, Kb), ``L0`` (P, Kb, R) the Hessian norm at :math:`\\theta_0`,
    ``sigma_A``, ``A_norm`` (P, R), and the scalar parameters.
    """
    n, runs, steps = check_int("n", n), check_int("runs", runs), check_int("steps", steps, low=0)
    check_positive("gamma", gamma)
    check_positive("tol", tol)
    ms = [check_int("m", m) for m in ms]
    ks_a, ks_b = _ks(log10_ks_a), _ks(log10_ks_b)
    for k in ks_a + ks_b:
        check_int("k", k, low=n)
    problems = gaussian_problems(n, ms, runs, seed=seed, device=device)
    a = condition4_sweep(problems, ks_a, seed=seed, device=device, cache=cache, progress=progress)

    def cell(k):
        net = draw_networks(runs, n, k, seed=seed, device=device)
        res = sweep([Job(net, pb, float(gamma)) for pb in problems], steps, tol=tol)
        return {"converged": np.stack([r.converged for r in res]),
                "stop_step": np.stack([r.stop_step for r in res]),
                "loss": np.stack([r.loss for r in res]),
                "ratio": np.stack([condition4_ratio(net, pb)["ratio"].cpu().numpy() for pb in problems]),
                "L0": np.stack([hessian_norm(net, pb, iters=30).cpu().numpy() for pb in problems])}

    cells = _run_cells("fig1b", ks_b, cell, cache, progress)
    out = {key: np.stack([c[key] for c in cells], axis=1)
           for key in ("converged", "stop_step", "loss", "ratio", "L0")}
    conv = out.pop("converged")
    return {"n": n, "ms": np.array(ms), "ks_a": np.array(ks_a), "ks_b": np.array(ks_b),
            "ratio_a": a["ratio"], "prob_a": condition4_probability(a["ratio"], nu1),
            "bound": np.stack([corollary_width(pb, d).expand(runs).cpu().numpy() for pb in problems]),
            "converged": conv, "prob_b": conv.mean(-1), "ratio_b": out["ratio"],
            "stop_step": out["stop_step"], "loss": out["loss"], "L0": out["L0"],
            "sigma_A": a["sigma_A"], "A_norm": a["A_norm"], "gamma": float(gamma), "steps": steps,
            "tol": float(tol), "d": d, "nu1": float(nu1), "runs": runs}


def _fig1_experiment(preset, device, seed, cache, progress):
    p = dict(FIG1_PRESETS[preset])
    return fig1_sweep(**p, seed=seed, device=device, cache=cache, progress=progress)


def fig1_table(res: dict, level: float = 0.5, tolerance: float = 0.5) -> list[dict]:
    """Rows ``{"claim", "paper says", "we measure", "agree?"}`` comparing a Fig 1 result with Section IV.

    ``level``: the probability at which a width "suffices" (interpolated in log k by
    :func:`dipnb.width_at_probability`); ``tolerance``: the largest difference in
    :math:`\\log_{10} k` counted as agreement (the paper reads its numbers off a heat map).
    The paper's "convergence occurs when k >= 10^2.5" is read both at ``level`` and at 0.9
    (nearly all runs); it agrees if either reading is within ``tolerance``.
    A claim that the result cannot test says so ("n/a").
    """
    ms = list(np.asarray(res["ms"]).astype(int))
    rows = []
    nu1 = float(res["nu1"])
    ks_a, ks_b = np.asarray(res["ks_a"]), np.asarray(res["ks_b"])

    def lg(x):
        return math.log10(x) if np.isfinite(x) and x > 0 else math.nan

    def fmt(x):
        return f"10^{x:.2f}" if np.isfinite(x) else "not reached on the grid"

    def fmt_w(x, ks):
        if np.isfinite(x) and x <= math.log10(ks[0]) + 1e-12:
            return f"<= 10^{x:.2f} (already at the smallest k of the grid)"
        return f"= {fmt(x)}" if np.isfinite(x) else fmt(x)

    conv_k, cond_k = {}, {}
    for i, m in enumerate(ms):
        conv_k[m] = lg(width_at_probability(ks_b, res["prob_b"][i], level))
        cond_k[m] = lg(width_at_probability(ks_a, condition4_probability(res["ratio_a"][i], nu1), level))
    if 2 in ms:
        i = ms.index(2)
        x = conv_k[2]
        x90 = lg(width_at_probability(ks_b, res["prob_b"][i], 0.9))
        close = [abs(v - PAPER["fig1_conv_m2_log10k"]) <= tolerance for v in (x, x90) if np.isfinite(v)]
        rows.append({"claim": "m = 2: training converges from k ≈ 10^2.5",
                     "paper says": f"k >= 10^{PAPER['fig1_conv_m2_log10k']}",
                     "we measure": f"P(converge) >= {level:g} from k {fmt_w(x, ks_b)}; "
                                   f">= 0.9 from k {fmt_w(x90, ks_b)}",
                     "agree?": "n/a" if not close else "yes" if any(close) else "no"})
        i = ms.index(2)
        b = lg(float(np.median(res["bound"][i])))
        rows.append({"claim": "m = 2: Corollary III.2's bound requires k ≈ 10^6.8",
                     "paper says": f"k >= 10^{PAPER['fig1_bound_m2_log10k']}",
                     "we measure": f"bound (C = C' = 1, d = {res['d']}, median): {fmt(b)}; "
                                   f"(4) holds with P >= {level:g} (nu1 = {nu1:g}) from {fmt(cond_k[2])}",
                     "agree?": "yes" if abs(b - PAPER["fig1_bound_m2_log10k"]) <= tolerance else
                               "no (C, C' are not given)"})
    gaps = {m: cond_k[m] - conv_k[m] for m in ms if np.isfinite(cond_k[m]) and np.isfinite(conv_k[m])}
    rows.append({"claim": "the bound is pessimistic: practice needs far less width than (4)",
                 "paper says": "convergence at widths well below where (4) holds",
                 "we measure": ("; ".join(f"m = {m}: {g:+.1f} decades" for m, g in gaps.items())
                                or "no m where both widths are on the grids"),
                 "agree?": ("n/a" if not gaps else "yes" if min(gaps.values()) >= 1.0 else "no")})
    held = nu1 * np.asarray(res["ratio_b"]) < 1          # (4) on the very runs that were trained
    conv = np.asarray(res["converged"]).astype(bool)
    n_held = int(held.sum())
    rows.append({"claim": "Theorem III.1: where (4) holds, training converges",
                 "paper says": "(4) is sufficient for convergence",
                 "we measure": (f"{int((held & conv).sum())} of the {n_held} runs of Fig 1b with (4) "
                                f"(nu1 = {nu1:g}) converged" if n_held else
                                f"no run of the Fig 1b grid satisfies (4) at nu1 = {nu1:g}"),
                 "agree?": "n/a" if n_held == 0 else "yes" if bool(conv[held].all()) else "no"})
    order = [conv_k[m] for m in ms]
    finite = [x for x in order if np.isfinite(x)]
    rows.append({"claim": "larger m needs wider networks (Fig 1b)",
                 "paper says": "the converged region shifts to larger k as m grows",
                 "we measure": ", ".join(f"m = {m}: {fmt(conv_k[m])}" for m in ms),
                 "agree?": ("n/a" if len(finite) < 2 else
                            "yes" if all(b >= a - 0.25 for a, b in zip(finite, finite[1:])) else "no")})
    return rows


# --- Fig 2 and the step-size threshold --------------------------------------------------------------

def _gamma_cell(n, m, k, gammas, runs, steps, tol, seed, device):
    """One (n, m, k) cell trained with every γ: converged (G, R) and the L estimates (R,)."""
    pb = gaussian_problems(n, [m], runs, seed=seed, device=device)[0]
    net = draw_networks(runs, n, k, seed=seed, device=device)
    out = _train_gammas(net, pb, gammas, steps, tol)
    res0 = (pb.A.A(net.forward()) - pb.y).norm(dim=1)
    A_norm = pb.A.norm.expand(runs)
    out.update(L0=hessian_norm(net, pb, iters=50).cpu().numpy(),
               L_eq10=L_eq10(A_norm, res0, n, k).cpu().numpy(),
               A_norm=A_norm.cpu().numpy(), residual0=res0.cpu().numpy(),
               gamma_lin=(2 / (net.activation.C_dphi ** 2 * A_norm ** 2)).cpu().numpy())
    return out


def _stack_gamma_cells(cells, gammas, level=0.5):
    out = {key: np.stack([c[key] for c in cells]) for key in cells[0]}
    frac = out["converged"].mean(-1)
    band = np.array([convergence_band(gammas, f, level) for f in frac])
    out.update(frac_conv=frac, gamma_low=band[:, 0], threshold=band[:, 1], gammas=np.asarray(gammas))
    return out


def fig2_sweep(ns=(2, 5, 10, 20), m_ratio: float = 0.5, k: int = 1000, log10_gammas=(-1, 0, 1, 2),
               runs: int = 8, steps: int = 3000, tol: float = 1e-14, seed: int = 0, device="cpu",
               cache: Path | None = None, progress: bool = False) -> dict:
    """Fig 2 of the paper: probability of convergence over a grid of (n, γ) at width ``k``.

    For each n, :math:`m = \\lceil` ``m_ratio`` :math:`\\cdot n\\rceil` (the paper does not
    give m), ``runs`` problems (A, :math:`\\bar x` iid N(0, 1)) and networks, each trained
    with every γ of the grid (hidden layer, ½-MSE, at most ``steps`` steps, success:
    loss <= ``tol``). One resumable cell per n.

    Returns
    -------
    dict with ``ns``, ``m`` (N,), ``gammas`` (G,), ``converged`` (N, G, R), ``loss``,
    ``stop_step`` (N, G, R), ``frac_conv`` (N, G), ``gamma_low`` and ``threshold`` (N,)
    (:func:`convergence_band`), and per run (N, R): ``L0`` (Hessian norm at
    :math:`\\theta_0`), ``L_eq10`` (estimate (10), constant 1), ``gamma_lin``
    (:math:`2/(C_{\\phi'}^2\\|A\\|^2)`), ``A_norm``, ``residual0`` (:math:`\\|y - y_0\\|`).
    """
    if not 0 < m_ratio <= 1:
        raise ValueError(f"m_ratio must lie in ]0, 1], got {m_ratio}")
    ns = [check_int("n", n) for n in ns]
    k, runs = check_int("k", k, low=max(ns)), check_int("runs", runs)
    gammas = 10.0 ** np.asarray(log10_gammas, dtype=float)
    if gammas.size == 0 or np.any(np.diff(gammas) <= 0):
        raise ValueError("log10_gammas must be a non-empty increasing grid")
    ms = [max(1, math.ceil(m_ratio * n)) for n in ns]
    cells = _run_cells("fig2", list(zip(ns, ms)),
                       lambda c: _gamma_cell(c[0], c[1], k, gammas, runs, steps, tol, seed, device),
                       cache, progress)
    out = _stack_gamma_cells(cells, gammas)
    out.update(ns=np.array(ns), m=np.array(ms), k=k, steps=steps, tol=float(tol), runs=runs,
               m_ratio=float(m_ratio))
    return out


def gamma_threshold_sweep(n: int = 5, m: int = 3, log10_ks=(2, 3), log10_gammas=(0.5, 1, 1.5, 2, 2.5),
                          runs: int = 8, steps: int = 3000, tol: float = 1e-14, seed: int = 0,
                          device="cpu", cache: Path | None = None, progress: bool = False) -> dict:
    """The paper's unshown experiment: n and m fixed, probability of convergence over (k, γ).

    The problems do not depend on k (same A and :math:`\\bar x` at every width), the networks
    are fresh draws per k. One resumable cell per k. Returns the keys of :func:`fig2_sweep`
    with ``ks`` (K,) in place of ``ns``.
    """
    n, m = check_int("n", n), check_int("m", m)
    ks = _ks(log10_ks)
    for k in ks:
        check_int("k", k, low=n)
    gammas = 10.0 ** np.asarray(log10_gammas, dtype=float)
    if gammas.size == 0 or np.any(np.diff(gammas) <= 0):
        raise ValueError("log10_gammas must be a non-empty increasing grid")
    cells = _run_cells("gamma-threshold", ks,
                       lambda k: _gamma_cell(n, m, k, gammas, runs, steps, tol, seed, device),
                       cache, progress)
    out = _stack_gamma_cells(cells, gammas)
    out.update(ks=np.array(ks), n=n, m=m, steps=steps, tol=float(tol), runs=runs)
    return out


def _fig2_experiment(preset, device, seed, cache, progress):
    return fig2_sweep(**FIG2_PRESETS[preset], seed=seed, device=device, cache=cache, progress=progress)


def _gamma_threshold_experiment(preset, device, seed, cache, progress):
    return gamma_threshold_sweep(**GAMMA_THRESHOLD_PRESETS[preset], seed=seed, device=device,
                                 cache=cache, progress=progress)


def _lg(x):
    return math.log10(x) if np.isfinite(x) and x > 0 else (math.inf if x == math.inf else math.nan)


def _fmt_gamma(x):
    if x == math.inf:
        return "none on the grid"
    return f"10^{_lg(x):.2f}" if np.isfinite(x) else "level never reached"


def fig2_table(res: dict) -> list[dict]:
    """Rows ``{"claim", "paper says", "we measure", "agree?"}`` comparing a Fig 2 result with Section IV.

    "γ must get smaller as n increases" agrees when the failure threshold never increases
    with n on the grid and is lower at the largest n than at the smallest.
    """
    ns, thr = np.asarray(res["ns"]), np.asarray(res["threshold"], dtype=float)
    lt = np.array([_lg(t) for t in thr])
    fin = np.isfinite(lt)
    rows = [{"claim": "the allowed γ gets smaller as n grows",
             "paper says": "clear correlation between n and the allowed γ",
             "we measure": ", ".join(f"n = {n}: fails from {_fmt_gamma(t)}" for n, t in zip(ns, thr)),
             "agree?": ("n/a" if fin.sum() < 2 else
                        "yes" if np.all(np.diff(lt[fin]) <= 1e-9) and lt[fin][-1] < lt[fin][0] else "no")}]
    if fin.sum() >= 2:
        slope = loglog_slope((np.median(res["A_norm"], axis=1) ** 2)[fin], thr[fin])
        rows.append({"claim": "through ||A||: by (10), γ ∝ 1/||A||² in the wide regime",
                     "paper says": "||A|| <= √n + (1+δ)√m grows with n, so γ must shrink",
                     "we measure": f"slope of log threshold against log ||A||² (median): {slope:.2f}",
                     "agree?": "yes" if abs(slope + 1) <= 0.3 else "no"})
    return rows


def gamma_threshold_table(res: dict, tolerance: float = math.log10(2), onset: float = 0.9) -> list[dict]:
    """Rows ``{"claim", "paper says", "we measure", "agree?"}`` for the unshown step-size experiment.

    The failure threshold is read at two levels: where fewer than half the runs converge
    (``res["threshold"]``), and the *onset*, where fewer than ``onset`` (90%) of them do
    (:func:`failure_threshold` at that level). ``tolerance`` (default :math:`\\log_{10}2`,
    the factor by which the unstated normalisation of the MSE could shift γ) is the largest
    difference in :math:`\\log_{10}\\gamma` counted as agreement with :math:`10^{1.6}`;
    "whatever k" agrees when the thresholds of all widths lie within two grid steps of
    each other.
    """
    ks = np.asarray(res["ks"])
    gam = np.asarray(res["gammas"])
    step = float(np.median(np.diff(np.log10(gam)))) if len(gam) > 1 else 0.0
    p = PAPER["threshold_log10_gamma"]
    levels = {"half": np.asarray(res["threshold"], dtype=float),
              "onset": np.array([failure_threshold(gam, f, onset) for f in res["frac_conv"]])}
    words = {"half": "fewer than half the runs converge", "onset": f"fewer than {onset:.0%} converge"}
    rows = []
    for key, thr in levels.items():
        lt = np.array([_lg(t) for t in thr])
        fin = np.isfinite(lt)
        rows.append({"claim": f"n = {res['n']}, m = {res['m']}: training starts to fail once γ >= 10^1.6 "
                              f"(read where {words[key]})",
                     "paper says": f"10^{p}",
                     "we measure": ", ".join(f"k = {k}: {_fmt_gamma(t)}" for k, t in zip(ks, thr)),
                     "agree?": ("n/a" if not fin.any() else
                                "yes" if np.all(np.abs(lt[fin] - p) <= tolerance + 1e-9) else "no")})
        if fin.sum() >= 2:
            spread = float(lt[fin].max() - lt[fin].min())
            rows.append({"claim": f"the threshold does not depend on k ({words[key]})",
                         "paper says": "whatever k is chosen",
                         "we measure": f"from 10^{lt[fin][0]:.2f} (k = {ks[fin][0]}) to 10^{lt[fin][-1]:.2f} "
                                       f"(k = {ks[fin][-1]}): spread {spread:.2f} decades (grid step {step:.2f})",
                         "agree?": "yes" if spread <= 2 * step + 1e-9 else "no"})
    L0 = np.median(res["L0"], axis=1)
    Le = np.median(res["L_eq10"], axis=1)
    if len(ks) >= 2:
        sL0, sLe = loglog_slope(ks, L0), loglog_slope(ks, Le)
        rows.append({"claim": "estimate (10) of L: L ≲ ||A||² n/k + ||A|| ||y − y0|| √(n/k)",
                     "paper says": "L decreases as k grows (larger γ allowed)",
                     "we measure": f"slope of log L against log k: (10) {sLe:.2f}, measured Hessian "
                                   f"norm at θ0 {sL0:.2f}",
                     "agree?": "yes" if sL0 <= -0.25 else "no: the measured L does not fall with k"})
    thr = levels["half"]
    fin = np.isfinite(thr)
    if fin.any():
        ratio = thr[fin] * L0[fin]
        rows.append({"claim": "the failure threshold against 1/L (measured L0)",
                     "paper says": "γ ∈ ]0, 1/L] (sufficient)",
                     "we measure": "threshold × L0 = " + ", ".join(f"{r:.0f}" for r in ratio),
                     "agree?": "consistent (1/L is sufficient, not necessary)" if np.all(ratio >= 1) else "no"})
    return rows


def table_markdown(rows: list[dict]) -> str:
    """The rows of a ``*_table`` function as a Markdown table (columns: claim, paper says, we measure, agree?)."""
    return str(ComparisonTable(rows))


class ComparisonTable(Table):
    """The rows of a ``*_table`` function, displayed as a table (HTML in the book, Markdown elsewhere)."""

    columns = ("claim", "paper says", "we measure", "agree?")

    def __init__(self, rows: list[dict]):
        super().__init__(rows, list(type(self).columns))
        self.rows = list(rows)


def best_result(name: str, out=None):
    """The saved result of experiment ``name`` at the largest preset available.

    Tries ``NAME-paper`` then ``NAME-paper-cpu`` in ``results/`` (or ``out``); returns
    ``(preset, arrays, meta)`` or ``None`` when neither exists.
    """
    from .experiments import load_result

    for preset in ("paper", "paper-cpu"):
        saved = load_result(f"{name}-{preset}", out)
        if saved is not None:
            return (preset, *saved)
    return None


SWEEP_EXPERIMENTS = {
    "fig1": Experiment(
        "fig1", "Fig 1: probability that (4) holds (1a) and that training converges (1b) over (m, k), "
        "n = 5, Gaussian A (chapter 'Fig 1: how wide in practice')", _fig1_experiment, FIG1_PRESETS),
    "fig2": Experiment(
        "fig2", "Fig 2: probability of convergence over (n, gamma) at fixed k, m = ceil(n/2) "
        "(chapter 'Fig 2: the step size')", _fig2_experiment, FIG2_PRESETS),
    "gamma-threshold": Experiment(
        "gamma-threshold", "the unshown step-size experiment: convergence over (k, gamma), n = 5, m = 3, "
        "with the estimate (10) and the measured L (chapter 'Fig 2: the step size')",
        _gamma_threshold_experiment, GAMMA_THRESHOLD_PRESETS),
}
