"""Fig 2 of the paper and its unshown step-size experiment (Section IV).

* **Fig 2** (:func:`fig2_sweep`): the probability of convergence on a grid of (n, γ) at
  k = 10^4.
* **The step-size threshold** (:func:`gamma_threshold_sweep`): n and m fixed, a grid of
  (k, γ); the paper reports that training fails once :math:`\\gamma \\ge 10^{1.6}` whatever k,
  and the estimate (10) of L is compared with the measured Hessian norm.

All training goes through :func:`dipnb.engine.sweep`; one resumable cell per (n, γ) (Fig 2) or
(k, γ) (the threshold study), so an interrupted sweep loses at most one cell.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from .._validation import check_device, check_int
from ..analysis import convergence_band
from ..core.network import draw_networks
from ..core.problems import gaussian_problems
from ..engine import Job, prepare, sweep
from ..theory.theorem import L_eq10, hessian_norm
from .cells import Interrupted, keyed, run_cells
from .fig1 import ks_from_log10
from .registry import log10_grid, register_study

__all__ = ["FIG2_PRESETS", "GAMMA_THRESHOLD_PRESETS", "fig2_sweep", "gamma_threshold_sweep"]


FIG2_PRESETS = {
    "quick": dict(ns=[2, 5, 10, 20], m_ratio=0.5, k=1000, log10_gammas=log10_grid(-1.0, 2.5, 0.5),
                  runs=8, steps=3000, tol=1e-14),
    "paper": dict(ns=[2, 5, 10, 20, 50, 100], m_ratio=0.5, k=10_000,
                  log10_gammas=log10_grid(-1.0, 3.0, 0.125), runs=50, steps=100_000, tol=1e-14),
    # the paper's k = 10^4, runs, steps and tolerance for n <= 20 (1 to 2 hours on 2 cores)
    "paper-cpu": dict(ns=[2, 5, 10, 20], m_ratio=0.5, k=10_000, log10_gammas=log10_grid(-1.0, 3.0, 0.25),
                      runs=50, steps=100_000, tol=1e-14),
}


GAMMA_THRESHOLD_PRESETS = {
    "quick": dict(n=5, m=3, log10_ks=[2.0, 3.0], log10_gammas=log10_grid(0.5, 2.5, 0.25), runs=8,
                  steps=3000, tol=1e-14),
    "paper": dict(n=5, m=3, log10_ks=log10_grid(1.5, 5.0, 0.5), log10_gammas=log10_grid(0.5, 2.5, 0.1),
                  runs=50, steps=100_000, tol=1e-14),
    # k up to the paper's 10^4 (about 20 minutes on 2 cores)
    "paper-cpu": dict(n=5, m=3, log10_ks=[1.5, 2.0, 2.5, 3.0, 3.5, 4.0], log10_gammas=log10_grid(0.8, 2.4, 0.1),
                      runs=50, steps=100_000, tol=1e-14),
}


def _setup_stats(net, pb, n, k):
    """What a (n, m, k) cell reports besides training: L at θ0, the estimate (10), ||A||, ..."""
    runs = net.runs
    res0 = (pb.A.A(net.forward()) - pb.y).norm(dim=1)
    A_norm = pb.A.norm.expand(runs)
    return dict(L0=hessian_norm(net, pb, iters=50).cpu().numpy(),
                L_eq10=L_eq10(A_norm, res0, n, k).cpu().numpy(),
                A_norm=A_norm.cpu().numpy(), residual0=res0.cpu().numpy(),
                gamma_lin=(2 / (net.activation.C_dphi ** 2 * A_norm ** 2)).cpu().numpy())


def _gamma_cell(net, pb, gamma: float, steps: int, tol: float) -> dict:
    """One cell of a γ grid: gradient descent at step ``gamma`` on every run (:func:`dipnb.engine.sweep`),
    as the arrays ``converged``, ``loss`` and ``stop_step`` that the cache keeps."""
    r = sweep([Job(net, pb, gamma)], steps, tol=tol)[0]
    return {"converged": r.converged, "loss": r.loss, "stop_step": r.stop_step}


def _row_cell(cell, runs: int, steps: int, tol: float, seed: int, device) -> dict:
    """One cell of a row ``(n, m, k)``: its setup statistics (``cell = (n, m, k)``) or its training at
    one γ (``cell = (n, m, k, γ)``). The problem and the networks are drawn here from ``(n, m, k)``
    and the seed alone (the same draws for every cell of the row, whatever process computes it)."""
    n, m, k = cell[:3]
    pb = gaussian_problems(n, [m], runs, seed=seed, device=device)[0]
    net = draw_networks(runs, n, k, seed=seed, device=device)
    return _setup_stats(net, pb, n, k) if len(cell) == 3 else _gamma_cell(net, pb, cell[3], steps, tol)


def _past_band(row: list) -> bool:
    """The γ grid's shortcut, given the results of a row's first cells in order (its setup cell, then
    one per γ): true once two consecutive γ cells where every run failed follow a γ where at least
    half the runs converged. The γ above are then not run: the failure threshold of the (resampled)
    fractions is at or below the first of those two cells, so no threshold reading changes. Below
    the band (runs too slow for the budget) nothing is skipped."""
    seen_ok, zeros = False, 0
    for c in row:
        if "converged" in c:
            f = float(np.mean(c["converged"]))
            seen_ok = seen_ok or f >= 0.5
            zeros = zeros + 1 if (seen_ok and f == 0) else 0
    return seen_ok and zeros >= 2


def _gamma_grid(name, rows, gammas, runs, steps, tol, seed, device, cache, progress, params):
    """Every ``(n, m, k)`` of ``rows`` trained with every γ: one resumable cell for the row's setup
    statistics and one per γ, with the shortcut :func:`_past_band` applied to each row in order
    (the cells it leaves out have ``ran`` False and count as failed). One bar counts every cell; a
    cell left out leaves its total, so the bar ends full and an interruption names its counts.
    Returns one dict per row."""
    cells = [c for n, m, k in rows for c in [(n, m, k)] + [(n, m, k, float(g)) for g in gammas]]
    if check_device(device).type == "cpu":
        try:
            prepare(announce=progress)           # the numba compile is not a silent pause
        except KeyboardInterrupt:
            raise Interrupted(name, 0, len(cells), cache) from None
    compute = functools.partial(_row_cell, runs=runs, steps=steps, tol=tol, seed=seed, device=device)
    res = run_cells(name, cells, compute, cache, progress, params, group=lambda c: c[:3], until=_past_band)
    out, G = [], len(gammas) + 1
    for r in range(len(rows)):
        setup, row = res[r * G], res[r * G + 1:(r + 1) * G]
        ran = np.array([c is not None for c in row])
        out.append({**setup,
                    "converged": np.stack([c["converged"].astype(bool) if c is not None else np.zeros(runs, bool)
                                           for c in row]),
                    "loss": np.stack([c["loss"] if c is not None else np.full(runs, np.nan) for c in row]),
                    "stop_step": np.stack([c["stop_step"] if c is not None else np.full(runs, -1) for c in row]),
                    "ran": ran})
    return out


def _stack_gamma_cells(cells, gammas, level=0.5):
    out = {key: np.stack([c[key] for c in cells]) for key in cells[0]}
    frac = out["converged"].mean(-1)
    band = np.array([convergence_band(gammas, f, level) for f in frac])
    out.update(frac_conv=frac, gamma_low=band[:, 0], threshold=band[:, 1], gammas=np.asarray(gammas))
    return out


@keyed
def fig2_sweep(ns=(2, 5, 10, 20), m_ratio: float = 0.5, k: int = 1000, log10_gammas=(-1, 0, 1, 2),
               runs: int = 8, steps: int = 3000, tol: float = 1e-14, seed: int = 0, device="cpu",
               cache: Path | None = None, progress: bool = False) -> dict:
    """Fig 2 of the paper: probability of convergence over a grid of (n, γ) at width ``k``.

    For each n, :math:`m = \\lceil` ``m_ratio`` :math:`\\cdot n\\rceil` (the paper does not
    give m), ``runs`` problems (A, :math:`\\bar x` iid N(0, 1)) and networks, each trained
    with every γ of the grid (hidden layer, ½-MSE, at most ``steps`` steps, success:
    loss <= ``tol``). One resumable cell per (n, γ); cells above the band are skipped as
    ``_gamma_cells`` says (``ran`` (N, G) is False there).

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
    cells = _gamma_grid("fig2", [(n, m, k) for n, m in zip(ns, ms)], gammas, runs, steps, tol, seed, device,
                        cache, progress, params=dict(runs=runs, steps=steps, tol=float(tol), seed=seed))
    out = _stack_gamma_cells(cells, gammas)
    out.update(ns=np.array(ns), m=np.array(ms), k=k, steps=steps, tol=float(tol), runs=runs,
               m_ratio=float(m_ratio))
    return out


@keyed
def gamma_threshold_sweep(n: int = 5, m: int = 3, log10_ks=(2, 3), log10_gammas=(0.5, 1, 1.5, 2, 2.5),
                          runs: int = 8, steps: int = 3000, tol: float = 1e-14, seed: int = 0,
                          device="cpu", cache: Path | None = None, progress: bool = False) -> dict:
    """The paper's unshown experiment: n and m fixed, probability of convergence over (k, γ).

    The problems do not depend on k (same A and :math:`\\bar x` at every width), the networks
    are fresh draws per k. One resumable cell per (k, γ). Returns the keys of :func:`fig2_sweep`
    with ``ks`` (K,) in place of ``ns``.
    """
    n, m = check_int("n", n), check_int("m", m)
    ks = ks_from_log10(log10_ks)
    for k in ks:
        check_int("k", k, low=n)
    gammas = 10.0 ** np.asarray(log10_gammas, dtype=float)
    if gammas.size == 0 or np.any(np.diff(gammas) <= 0):
        raise ValueError("log10_gammas must be a non-empty increasing grid")
    cells = _gamma_grid("gamma-threshold", [(n, m, k) for k in ks], gammas, runs, steps, tol, seed, device,
                        cache, progress, params=dict(runs=runs, steps=steps, tol=float(tol), seed=seed))
    out = _stack_gamma_cells(cells, gammas)
    out.update(ks=np.array(ks), n=n, m=m, steps=steps, tol=float(tol), runs=runs)
    return out


register_study("fig2", fig2_sweep, FIG2_PRESETS, chapter="07_fig2_stepsize",
               doc="Fig 2: probability of convergence over (n, gamma) at fixed k, m = ceil(n/2) "
                   "(chapter 'Fig 2: the step size')")


register_study("gamma-threshold", gamma_threshold_sweep, GAMMA_THRESHOLD_PRESETS, chapter="07_fig2_stepsize",
               doc="the unshown step-size experiment: convergence over (k, gamma), n = 5, m = 3, with the "
                   "estimate (10) and the measured L (chapter 'Fig 2: the step size')")
