"""The abstract's claims on discretisation, measured (beyond the paper's figures).

"The discretization only affects the overparametrization bound for a two-layer DIP network by a
constant": condition (4) at step γ is the flow's with :math:`R'` multiplied by :math:`\\nu_1`, so the
critical width is the flow's times :math:`\\nu_1^2` with W alone and up to :math:`\\nu_1^4` with both
layers (:func:`dipnb.theory.corollary.critical_width`, :func:`~dipnb.theory.corollary.critical_width_both`);
this study evaluates that factor over γL on Fig 1's draws, for the paper's :math:`\\nu_1` and for the
constant :math:`1/(1-\\gamma L/2)` of the book's proof (chapter "The proof, step by step").

":math:`\\nu_2` is minimized when γ = 1/(2L) … a trade-off between the convergence speed and the
requirements": the rate per step that (6) certifies is :math:`\\sigma_A^2\\sigma_0^2/(2\\nu_2)` for the
½-MSE; this study measures the average rate per step of gradient descent,
:math:`\\ln(\\mathcal L_y(y_0)/\\text{tol})/\\tau_{\\rm tol}`, at γ = t/L with L the certified
:math:`L_{\\rm descent}` of each run (:func:`dipnb.certified_L`), on Fig 1's problem (W trained), with the
engine of Fig 1b.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._validation import check_device, check_int, check_positive
from ..core.network import draw_networks
from ..core.problems import gaussian_problems
from ..engine import Job, prepare, sweep
from ..theory.bounds import certified_L
from ..theory.constants import nu1 as nu1_of
from ..theory.corollary import condition4_ratio, critical_width_both
from .cells import keyed, run_cells
from .registry import register_study

__all__ = ["DISCRETISATION_PRESETS", "discretisation_study"]

DISCRETISATION_PRESETS = {
    "quick": dict(n=5, m=3, k=1000, runs=6, gamma_Ls=[0.1, 0.25, 0.5, 1.0, 1.5], steps=20_000, tol=1e-12),
    # Fig 1b's runs, budget and tolerance, at a width where every run converges
    "paper-cpu": dict(n=5, m=3, k=10_000, runs=50,
                      gamma_Ls=[0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75],
                      steps=100_000, tol=1e-14),
}


@keyed
def discretisation_study(n: int = 5, m: int = 3, k: int = 1000, runs: int = 6, gamma_Ls=(0.1, 0.5, 1.0),
                         steps: int = 20_000, tol: float = 1e-12, seed: int = 0, device="cpu",
                         cache: Path | None = None, progress: bool = False) -> dict:
    """The width factor and the rate per step of gradient descent over t = γL.

    Returns a dict with ``gamma_Ls`` (T,), ``L`` (R,) the certified :math:`L_{\\rm descent}`,
    ``sigma_A``, ``sigma0``, ``loss0`` (R,), the width factors over the flow's (T, R):
    ``width_W_paper``, ``width_W_ours`` (:math:`\\nu_1^2`), ``width_both_paper``, ``width_both_ours``
    (Fig 1's draws at width k, both layers' constants), and, from training at γ = t/L, (T, R):
    ``stop_step``, ``converged``, ``rate`` :math:`\\ln(\\mathcal L_y(y_0)/\\text{tol})/\\tau_{\\rm tol}`
    (NaN where the run did not converge), ``rate_paper`` :math:`\\sigma_A^2\\sigma_0^2/(2\\nu_2)` and
    ``rate_ours`` :math:`\\sigma_A^2\\sigma_0^2\\gamma(1-\\gamma L/2)/2` (the certified rates per step).
    """
    n, m, k, runs = check_int("n", n), check_int("m", m), check_int("k", k, low=n), check_int("runs", runs)
    steps = check_int("steps", steps)
    check_positive("tol", tol)
    ts = [float(t) for t in gamma_Ls]
    for t in ts:
        check_positive("gamma_L", t)
        if not t < 2:
            raise ValueError(f"gamma_Ls must lie in ]0, 2[ (the descent lemma's range), got {t}")
    problem = gaussian_problems(n, [m], runs, seed=seed, device=device)[0]
    net = draw_networks(runs, n, k, seed=seed, device=device)          # Fig 1's draws
    L = certified_L(net, problem)["L_descent"]
    w, both = condition4_ratio(net, problem), condition4_ratio(net, problem, layers="both")
    loss0 = 0.5 * w["residual"] ** 2
    M = net.V0.norm(dim=1).max(dim=1).values
    t_ = torch.tensor(ts, dtype=torch.float64)[:, None]
    ours = 1 / (1 - t_ / 2)
    paper = nu1_of(t_, 1.0)

    def width_both(nu):
        return critical_width_both(both["R_prime"], both["sigma0"], M, nu1=nu) / \
            critical_width_both(both["R_prime"], both["sigma0"], M, nu1=1.0)

    if check_device(device).type == "cpu":
        prepare(announce=progress)

    def cell(t):
        r = sweep([Job(net, problem, (t / L).to(net.V0.dtype))], steps, tol=tol)[0]
        return {"stop_step": r.stop_step, "converged": r.converged}

    cells = run_cells("discretisation", ts, cell, cache, progress,
                      params=dict(n=n, m=m, k=k, runs=runs, steps=steps, tol=float(tol), seed=seed))
    stop = np.stack([c["stop_step"] for c in cells]).astype(float)
    conv = np.stack([c["converged"] for c in cells])
    s2 = (problem.A.sigma_min ** 2 * w["sigma0"] ** 2).cpu().numpy()        # σ_A² σ0², (R,)
    t_np = np.array(ts)[:, None]
    decrease = (t_np / L.cpu().numpy()) * (1 - t_np / 2)                  # γ(1 − γL/2), (T, R)
    as_np = lambda x: x.cpu().numpy()                                   # noqa: E731
    return {"gamma_Ls": np.array(ts), "L": as_np(L), "sigma_A": as_np(problem.A.sigma_min.expand(runs)),
            "sigma0": as_np(w["sigma0"]), "loss0": as_np(loss0), "k": k, "n": n, "m": m, "tol": float(tol),
            "width_W_paper": np.broadcast_to(as_np(paper ** 2), (len(ts), runs)).copy(),
            "width_W_ours": np.broadcast_to(as_np(ours ** 2), (len(ts), runs)).copy(),
            "width_both_paper": as_np(width_both(paper)), "width_both_ours": as_np(width_both(ours)),
            "stop_step": stop, "converged": conv,
            "rate": np.where(conv, np.log(as_np(loss0) / tol) / np.maximum(stop, 1), np.nan),
            "rate_paper": s2 * decrease / (2 * (1 + t_np) ** 2),             # σ_A²σ0²/(2ν2)
            "rate_ours": s2 * decrease / 2}


register_study("discretisation", discretisation_study, DISCRETISATION_PRESETS, chapter="09b_dynamics",
               doc="the abstract's claims on discretisation: the width factor nu1^2 / nu1^4 over gamma L, and "
                   "the rate per step against gamma L beside nu2's minimum at gamma L = 1/2 (beyond the paper)")
