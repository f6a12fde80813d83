"""Fig 2 of the paper and its unshown step-size experiment (Section IV).

* **Fig 2** (:func:`fig2_sweep`): the probability of convergence on a grid of (n, γ) at
  k = 10^4.
* **The step-size threshold** (:func:`gamma_threshold_sweep`): n and m fixed, a grid of
  (k, γ); the paper reports that training fails once :math:`\\gamma \\ge 10^{1.6}` whatever k,
  and the estimate (10) of L is compared with the measured Hessian norm.

All training goes through :func:`dipnb.engine.sweep`; one resumable cell per n (Fig 2) or per
k (the threshold study), each trained with every γ of the grid.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._validation import check_int
from ..analysis import convergence_band
from ..core.network import draw_networks
from ..core.problems import gaussian_problems
from ..engine import Job, sweep
from ..theory.theorem import L_eq10, hessian_norm
from .cells import run_cells
from .fig1 import ks_from_log10
from .registry import log10_grid, register

__all__ = ["FIG2_PRESETS", "GAMMA_THRESHOLD_PRESETS", "fig2_sweep", "gamma_threshold_sweep"]


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


def _train_gammas(net, problem, gammas, steps, tol, progress=False):
    """Train ``net`` on ``problem`` with every γ of ``gammas`` (one Job each, sharing the draws)."""
    res = sweep([Job(net, problem, float(g)) for g in gammas], steps, tol=tol, progress=progress)
    return {"converged": np.stack([r.converged for r in res]),
            "loss": np.stack([r.loss for r in res]),
            "stop_step": np.stack([r.stop_step for r in res])}


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
    cells = run_cells("fig2", list(zip(ns, ms)),
                      lambda c: _gamma_cell(c[0], c[1], k, gammas, runs, steps, tol, seed, device),
                      cache, progress,
                      params=dict(k=k, gammas=gammas.tolist(), runs=runs, steps=steps, tol=float(tol), seed=seed))
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
    ks = ks_from_log10(log10_ks)
    for k in ks:
        check_int("k", k, low=n)
    gammas = 10.0 ** np.asarray(log10_gammas, dtype=float)
    if gammas.size == 0 or np.any(np.diff(gammas) <= 0):
        raise ValueError("log10_gammas must be a non-empty increasing grid")
    cells = run_cells("gamma-threshold", ks,
                      lambda k: _gamma_cell(n, m, k, gammas, runs, steps, tol, seed, device),
                      cache, progress,
                      params=dict(n=n, m=m, gammas=gammas.tolist(), runs=runs, steps=steps, tol=float(tol),
                                  seed=seed))
    out = _stack_gamma_cells(cells, gammas)
    out.update(ks=np.array(ks), n=n, m=m, steps=steps, tol=float(tol), runs=runs)
    return out


@register("fig2", presets=FIG2_PRESETS, chapter="07_fig2_stepsize",
          doc="Fig 2: probability of convergence over (n, gamma) at fixed k, m = ceil(n/2) "
              "(chapter 'Fig 2: the step size')")
def _fig2_experiment(preset, device, seed, cache, progress):
    return fig2_sweep(**FIG2_PRESETS[preset], seed=seed, device=device, cache=cache, progress=progress)


@register("gamma-threshold", presets=GAMMA_THRESHOLD_PRESETS, chapter="07_fig2_stepsize",
          doc="the unshown step-size experiment: convergence over (k, gamma), n = 5, m = 3, with the "
              "estimate (10) and the measured L (chapter 'Fig 2: the step size')")
def _gamma_threshold_experiment(preset, device, seed, cache, progress):
    return gamma_threshold_sweep(**GAMMA_THRESHOLD_PRESETS[preset], seed=seed, device=device,
                                 cache=cache, progress=progress)
