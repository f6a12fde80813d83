"""Laziness along training (beyond the paper): how far Fig 1's runs move against the theorem's ball.

Theorem III.1's proof keeps every iterate in :math:`\\mathbb B(\\theta_0, R')` and uses that, inside
:math:`\\mathbb B(\\theta_0, R)`, :math:`\\sigma_{\\min}(\\mathcal J_g(\\theta))` keeps half its initial value
(book chapter "The proof, step by step"). This study traces, along gradient descent on Fig 1's
problems (n = 5, Gaussian A and :math:`\\bar x`, W trained, ½-MSE, γ = 1), with the same draws
as Fig 1 (:func:`dipnb.gaussian_problems`, :func:`dipnb.core.network.draw_networks`):

* :math:`\\|\\theta_\\tau - \\theta_0\\|` against R and :math:`R'` of (5) (:math:`\\nu_1 = 1`, the flow's);
* :math:`\\sigma_{\\min}(\\mathcal J_g(\\theta_\\tau))` against :math:`\\sigma_0/2`;
* the drift of the empirical NTK, :math:`\\|K_\\tau - K_0\\|/\\|K_0\\|` with :math:`K = \\mathcal J_g\\mathcal J_g^\\top`,

all measured by :func:`dipnb.theory.proof.proof_trace` (one cell per width).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validation import check_int, check_positive
from ..core.descent import log_steps
from ..core.network import draw_networks
from ..core.problems import gaussian_problems
from ..theory.corollary import condition4_ratio
from ..theory.proof import proof_trace
from .cells import keyed, run_cells
from .fig1 import ks_from_log10
from .registry import log10_grid, register_study

__all__ = ["LAZINESS_PRESETS", "laziness_sweep"]

LAZINESS_PRESETS = {
    "quick": dict(n=5, m=3, log10_ks=log10_grid(2.0, 4.0, 1.0), runs=8, steps=20_000, gamma=1.0, tol=1e-14),
    # Fig 1b's runs, steps, step and tolerance, at the widths where training starts to work
    "paper-cpu": dict(n=5, m=3, log10_ks=log10_grid(2.0, 4.0, 0.5), runs=50, steps=100_000, gamma=1.0, tol=1e-14),
}


@keyed
def laziness_sweep(n: int = 5, m: int = 3, log10_ks=(2.0, 3.0, 4.0), runs: int = 8, steps: int = 20_000,
                   gamma: float = 1.0, tol: float = 1e-14, seed: int = 0, device="cpu",
                   cache: Path | None = None, progress: bool = False) -> dict:
    """Trace laziness along gradient descent on Fig 1's problem (n, m), for each width.

    Returns a dict with ``ks`` (K,), ``steps`` (T,) (the recorded iterations, logarithmic),
    per width and run (K, R): ``R``, ``R_prime`` (:math:`\\nu_1 = 1`), ``sigma0``,
    ``converged`` (loss ≤ ``tol``), ``dist_max`` :math:`\\max_\\tau\\|\\theta_\\tau - \\theta_0\\|`,
    ``length`` (the path's length), ``sigma_ratio_min``
    :math:`\\min_\\tau\\sigma_{\\min}(\\mathcal J_g(\\theta_\\tau))/\\sigma_0`,
    ``drift_max`` :math:`\\max_\\tau\\|K_\\tau - K_0\\|/\\|K_0\\|`; and the traces (K, T, R) ``dist``,
    ``sigma_ratio``, ``drift`` (NaN after a run stopped).
    """
    n, m, runs = check_int("n", n), check_int("m", m), check_int("runs", runs)
    steps = check_int("steps", steps)
    check_positive("gamma", gamma)
    check_positive("tol", tol)
    ks = ks_from_log10(log10_ks)
    for k in ks:
        check_int("k", k, low=n)
    problem = gaussian_problems(n, [m], runs, seed=seed, device=device)[0]
    rec = log_steps(steps)

    def cell(k):
        net = draw_networks(runs, n, k, seed=seed, device=device)       # Fig 1's networks
        c4 = condition4_ratio(net, problem)
        tr = proof_trace(net, problem, float(gamma), steps, tol=tol, record=rec)
        sigma_ratio = tr.sigma_min / c4["sigma0"]
        as_np = lambda t: t.cpu().numpy()                            # noqa: E731
        return {"R": as_np(c4["R"]), "R_prime": as_np(c4["R_prime"]), "sigma0": as_np(c4["sigma0"]),
                "converged": np.array([st == "converged" for st in tr.status]), "stop_step": as_np(tr.stop_step),
                "dist_max": np.nanmax(as_np(tr.dist), 0), "length": np.nanmax(as_np(tr.length), 0),
                "sigma_ratio_min": np.nanmin(as_np(sigma_ratio), 0),
                "drift_max": np.nanmax(as_np(tr.kernel_drift), 0),
                "dist": as_np(tr.dist), "sigma_ratio": as_np(sigma_ratio), "drift": as_np(tr.kernel_drift)}

    cells = run_cells("laziness", ks, cell, cache, progress,
                      params=dict(n=n, m=m, runs=runs, steps=steps, gamma=float(gamma), tol=float(tol), seed=seed))
    out = {key: np.stack([c[key] for c in cells]) for key in cells[0]}
    return {"ks": np.array(ks), "steps": rec, "n": n, "m": m, "runs": runs, "gamma": float(gamma),
            "tol": float(tol), "max_steps": steps, **out}


register_study("laziness", laziness_sweep, LAZINESS_PRESETS, chapter="09b_dynamics",
               doc="laziness along training on Fig 1's problems: distance travelled against R and R', "
                   "sigma_min(J_g) against sigma0/2, drift of the empirical NTK (beyond the paper)")
