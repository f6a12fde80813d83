"""Sharpness along training (beyond the paper): the Hessian's extreme eigenvalues against 2/γ.

Fig 2 and the step-size threshold study train at steps far above :math:`1/L_0` and still
converge. Whether the runs sharpen progressively (:math:`\\lambda_{\\max}` rising towards
:math:`2/\\gamma`), sit at the edge of stability (:math:`\\lambda_{\\max} \\approx 2/\\gamma` while the
loss falls non-monotonically) or catapult (a loss spike, then :math:`\\lambda_{\\max}` below
:math:`2/\\gamma`) is read from :math:`\\lambda_{\\max}` and :math:`\\lambda_{\\min}` of
:math:`\\nabla^2_\\theta\\mathcal L_y(Ag(u,\\theta_\\tau))`, computed by Lanczos on Hessian–vector products
(:func:`dipnb.theory.theorem.hessian_extremes`) at logarithmically spaced iterations of gradient
descent (2) on Fig 1's problem (n = 5, m = 3, W trained, ½-MSE), with the same draws as Fig 1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validation import check_int, check_positive
from ..core.descent import gradient_descent
from ..core.network import draw_networks
from ..core.problems import gaussian_problems
from ..theory.theorem import hessian_extremes
from .cells import keyed, run_cells
from .fig1 import ks_from_log10
from .registry import log10_grid, register_study

__all__ = ["SHARPNESS_PRESETS", "sharpness_sweep"]

SHARPNESS_PRESETS = {
    "quick": dict(n=5, m=3, log10_ks=[2.0, 3.0], log10_gammas=[0.0, 1.0, 1.6], runs=4, steps=3000, points=12),
    # Fig 2's onset of failure is near γ = 10^1.6: steps below, at and above it; Fig 1b's budget
    "paper-cpu": dict(n=5, m=3, log10_ks=log10_grid(2.0, 4.0, 1.0), log10_gammas=[0.0, 1.0, 1.4, 1.6, 1.8, 2.0],
                      runs=8, steps=100_000, points=40),
}


@keyed
def sharpness_sweep(n: int = 5, m: int = 3, log10_ks=(2.0, 3.0), log10_gammas=(0.0, 1.0, 1.6), runs: int = 4,
                    steps: int = 3000, points: int = 12, iters: int = 40, seed: int = 0, device="cpu",
                    cache: Path | None = None, progress: bool = False) -> dict:
    """Trace the Hessian's extreme eigenvalues along gradient descent, per width k and step γ.

    Returns a dict with ``ks`` (K,), ``gammas`` (G,), ``marks`` (P,) the iterations where the
    Hessian is evaluated (0 and ``points`` logarithmically spaced up to ``steps``), and, shape
    (K, G, P, R): ``loss`` at the marks, ``loss_peak`` the largest loss since the previous mark
    (a catapult's spike), ``lam_max`` and ``lam_min`` (signed, Lanczos with ``iters`` steps).
    """
    n, m, runs = check_int("n", n), check_int("m", m), check_int("runs", runs)
    steps, points, iters = check_int("steps", steps), check_int("points", points), check_int("iters", iters)
    ks = ks_from_log10(log10_ks)
    for k in ks:
        check_int("k", k, low=n)
    gammas = [float(10.0 ** g) for g in log10_gammas]
    for g in gammas:
        check_positive("gamma", g)
    problem = gaussian_problems(n, [m], runs, seed=seed, device=device)[0]
    marks = np.unique(np.r_[0, np.round(np.geomspace(1, steps, points)).astype(int)])

    def cell(kg):
        k, gamma = kg
        net = draw_networks(runs, n, k, seed=seed, device=device)          # Fig 1's networks
        state, done = net.initial_state(), 0
        out = {key: np.full((len(marks), runs), np.nan) for key in ("loss", "loss_peak", "lam_max", "lam_min")}
        for i, t in enumerate(marks):
            if t > done:
                tr = gradient_descent(net, problem, gamma, int(t - done), tol=0.0, record=1, state=state,
                                      stall_window=None, progress=False)
                state, done = tr.final, int(t)
                out["loss_peak"][i] = tr.loss[1:].amax(0).cpu().numpy()
                out["loss"][i] = tr.loss[-1].cpu().numpy()
            else:
                x = net.forward(state)
                out["loss"][i] = out["loss_peak"][i] = (0.5 * ((problem.A.A(x) - problem.y) ** 2).sum(1)).cpu().numpy()
            hi, lo = hessian_extremes(net, problem, state, iters=iters)       # autograd HVPs
            out["lam_max"][i], out["lam_min"][i] = hi.cpu().numpy(), lo.cpu().numpy()
        return out

    grid = [(k, g) for k in ks for g in gammas]
    cells = run_cells("sharpness", grid, cell, cache, progress,
                      params=dict(n=n, m=m, runs=runs, steps=steps, points=points, iters=iters, seed=seed))
    out = {key: np.stack([np.stack([cells[grid.index((k, g))][key] for g in gammas]) for k in ks])
           for key in cells[0]}
    return {"ks": np.array(ks), "gammas": np.array(gammas), "marks": marks, "n": n, "m": m, "runs": runs,
            "max_steps": steps, **out}


register_study("sharpness", sharpness_sweep, SHARPNESS_PRESETS, chapter="09b_dynamics",
               doc="sharpness along training: the Hessian's extreme eigenvalues against 2/gamma, below, at "
                   "and above the onset of failure (beyond the paper)")
