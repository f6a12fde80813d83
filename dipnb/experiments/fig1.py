"""Fig 1 of the paper (Section IV): condition (4) (Fig 1a) and convergence (Fig 1b) over a grid
of (m, k), n = 5, A (m×n) and :math:`\\bar x` iid N(0, 1), hidden layer trained with the ½-MSE.

Fig 1a is the probability that condition (4) holds at initialisation (no training:
:func:`dipnb.experiments.condition4_sweep`); Fig 1b the probability that gradient descent (2)
reaches :math:`\\mathcal L_y(y_\\tau) \\le 10^{-14}` within :math:`10^5` steps, trained by
:func:`dipnb.engine.sweep`. The problems are :func:`dipnb.gaussian_problems` (seeded by
``(seed, n, m)`` only) and the networks :func:`dipnb.core.network.draw_networks` (seeded by
``(seed, n, k)`` only), so Fig 1a and Fig 1b use the same problems (and, for
``runs * n * k <= 2**22``, the same networks).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validation import check_device, check_int, check_positive
from ..analysis import condition4_probability
from ..core.network import draw_networks
from ..core.problems import gaussian_problems
from ..engine import Job, prepare, sweep
from ..theory.corollary import condition4_ratio, corollary_width
from ..theory.theorem import hessian_norm
from .cells import Interrupted, keyed, run_cells
from .corollary import condition4_sweep
from .registry import log10_grid, register_study

__all__ = ["FIG1_PRESETS", "fig1_sweep", "ks_from_log10"]


def ks_from_log10(log10_ks) -> list[int]:
    """The widths :math:`k = 10^e` of a grid given in decades, rounded to integers, distinct and sorted."""
    return sorted({int(round(10 ** e)) for e in log10_ks})


# Grids the paper does not give are justified in the chapter (book/06_fig1_width.md).
# ``paper-cpu`` keeps the paper's runs, steps and tolerance.
FIG1_PRESETS = {
    "quick": dict(n=5, ms=[1, 2, 3, 5], log10_ks_a=log10_grid(1.0, 5.0, 0.5),
                  log10_ks_b=log10_grid(1.0, 3.0, 0.5), runs=10, steps=3000, gamma=1.0, tol=1e-14,
                  d=16, nu1=2.0),
    "paper": dict(n=5, ms=[1, 2, 3, 4, 5, 6, 8], log10_ks_a=log10_grid(1.0, 7.0, 0.25),
                  log10_ks_b=log10_grid(1.0, 6.0, 0.25), runs=50, steps=100_000, gamma=1.0,
                  tol=1e-14, d=16, nu1=2.0),
    # the paper's runs, steps and tolerance, Fig 1b to k = 10^5 (about 40 minutes on 2 cores)
    "paper-cpu": dict(n=5, ms=[1, 2, 3, 4, 5, 6, 8], log10_ks_a=log10_grid(1.0, 6.5, 0.25),
                      log10_ks_b=log10_grid(1.0, 5.0, 0.25), runs=50, steps=100_000, gamma=1.0,
                      tol=1e-14, d=16, nu1=2.0),
}


@keyed
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
    :math:`R'/R` at :math:`\\nu_1 = 1` of :func:`dipnb.experiments.condition4_sweep`, ``prob_a`` (P, Ka)
    at ``nu1``, ``bound`` (P, R) the corollary's width (C = C' = 1, d), ``converged``,
    ``stop_step``, ``loss``, ``ratio_b`` (P, Kb, R) (the same runs as the training),
    ``prob_b`` (P, Kb), ``L0`` (P, Kb, R) the Hessian norm at :math:`\\theta_0`,
    ``sigma_A``, ``A_norm`` (P, R), and the scalar parameters.
    """
    n, runs, steps = check_int("n", n), check_int("runs", runs), check_int("steps", steps, low=0)
    check_positive("gamma", gamma)
    check_positive("tol", tol)
    ms = [check_int("m", m) for m in ms]
    ks_a, ks_b = ks_from_log10(log10_ks_a), ks_from_log10(log10_ks_b)
    for k in ks_a + ks_b:
        check_int("k", k, low=n)
    problems = gaussian_problems(n, ms, runs, seed=seed, device=device)
    a = condition4_sweep(problems, ks_a, seed=seed, device=device, cache=cache, progress=progress, desc="fig1a")

    def cell(mk):                       # one (m, k) pair: an interrupted sweep loses at most one
        m, k = mk
        pb = problems[ms.index(m)]
        net = draw_networks(runs, n, k, seed=seed, device=device)   # the same networks for every m
        r = sweep([Job(net, pb, float(gamma))], steps, tol=tol)[0]
        return {"converged": r.converged, "stop_step": r.stop_step, "loss": r.loss,
                "ratio": condition4_ratio(net, pb)["ratio"].cpu().numpy(),
                "L0": hessian_norm(net, pb, iters=30).cpu().numpy()}

    grid = [(m, k) for k in ks_b for m in ms]              # widths outer: small k first, every m
    if check_device(device).type == "cpu":
        try:
            prepare(announce=progress)                     # the numba compile is not a silent pause
        except KeyboardInterrupt:
            raise Interrupted("fig1b", 0, len(grid), cache) from None
    cells = run_cells("fig1b", grid, cell, cache, progress,
                      params=dict(n=n, runs=runs, steps=steps, gamma=float(gamma), tol=float(tol), seed=seed))
    at = {mk: c for mk, c in zip(grid, cells)}
    out = {key: np.stack([np.stack([at[(m, k)][key] for k in ks_b]) for m in ms])
           for key in ("converged", "stop_step", "loss", "ratio", "L0")}
    conv = out.pop("converged")
    return {"n": n, "ms": np.array(ms), "ks_a": np.array(ks_a), "ks_b": np.array(ks_b),
            "ratio_a": a["ratio"], "prob_a": condition4_probability(a["ratio"], nu1),
            "bound": np.stack([corollary_width(pb, d).expand(runs).cpu().numpy() for pb in problems]),
            "converged": conv, "prob_b": conv.mean(-1), "ratio_b": out["ratio"],
            "stop_step": out["stop_step"], "loss": out["loss"], "L0": out["L0"],
            "sigma_A": a["sigma_A"], "A_norm": a["A_norm"], "gamma": float(gamma), "steps": steps,
            "tol": float(tol), "d": d, "nu1": float(nu1), "runs": runs}


register_study("fig1", fig1_sweep, FIG1_PRESETS, chapter="06_fig1_width",
               doc="Fig 1: probability that (4) holds (1a) and that training converges (1b) over (m, k), "
                   "n = 5, Gaussian A (chapter 'Fig 1: how wide in practice')")
