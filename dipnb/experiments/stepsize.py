"""Chapter 03's studies of the step size: the measured L against the estimate (10)
(:func:`lipschitz_sweep`) and gradient descent over a grid of γ (:func:`gamma_sweep`),
with their presets (:data:`STEPSIZE_PRESETS`) registered as the experiments ``lipschitz``
and ``gamma-sweep``."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .._random import gamma_sweep_network_seed, offset_seed, problem_seed
from .._validation import check_int, check_positive
from ..analysis import failure_threshold
from ..core.activations import get_activation
from ..core.descent import gradient_descent
from ..core.network import TwoLayerDIP
from ..core.operators import gaussian_operator
from ..core.problems import Problem
from ..theory.theorem import L_eq10, estimate_L, hessian_norm, hessian_parts
from .cells import keyed, run_cells
from .registry import register

__all__ = ["STEPSIZE_PRESETS", "FAIL_STATUSES", "lipschitz_sweep", "gamma_sweep"]


#: Statuses of :func:`dipnb.gradient_descent` that count as a failed training.
FAIL_STATUSES = ("stalled", "nonfinite")


#: Sizes of the chapter's studies; ``quick`` runs in seconds on a laptop CPU.
STEPSIZE_PRESETS = {
    "quick": dict(
        lipschitz=dict(n=5, m=3, ks=[10, 30, 100, 300, 1000, 3000], ns=[2, 5, 10, 20, 40],
                       ms=[1, 3, 5, 10, 20], k_fixed=1000, runs=4, steps=500, points=5, iters=50),
        flow=dict(n=5, m=3, k=200, runs=3, t_max=60.0, gammas=[4.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.0625],
                  n_times=30),
        gamma=dict(n=5, m=3, ks=[100, 1000], log10_gammas=np.arange(0.0, 2.76, 0.25).round(2).tolist(),
                   runs=4, steps=3000),
    ),
    "paper": dict(
        lipschitz=dict(n=5, m=3, ks=[int(round(10 ** e)) for e in np.arange(1.0, 4.51, 0.5)],
                       ns=[2, 5, 10, 20, 40, 80], ms=[1, 3, 5, 10, 20, 40], k_fixed=10000, runs=20,
                       steps=10000, points=8, iters=100),
        flow=dict(n=5, m=3, k=1000, runs=10, t_max=200.0,
                  gammas=[2.0 ** -p for p in range(-1, 9)], n_times=50),
        gamma=dict(n=5, m=3, ks=[100, 1000, 10000], log10_gammas=np.arange(-0.5, 3.01, 0.1).round(2).tolist(),
                   runs=50, steps=100000),
    ),
}


def lipschitz_sweep(cells, runs: int = 4, steps: int = 2000, gamma_factor: float = 0.5,
                    activation="sigmoid", seed: int = 0, iters: int = 100, points: int = 8,
                    device="cpu") -> dict:
    """Measured L against the estimate (10), hidden layer W trained, ½-MSE, no noise.

    For each cell ``(n, m, k)``, ``runs`` problems with A and :math:`\\bar x` iid
    N(0, 1) (Section IV) and networks drawn by A-6..A-8 (V Rademacher). The seeds
    depend on ``seed`` and on ``(n, m)`` only, so cells that differ only by k share
    their A and :math:`\\bar x`. Measured:

    * ``L0``: :func:`dipnb.hessian_norm` at :math:`\\theta_0`;
    * ``L_traj``: :func:`dipnb.estimate_L`, the largest Hessian norm along gradient
      descent with :math:`\\gamma = ` ``gamma_factor`` / ``L0`` (the theorem's best
      :math:`1/(2L)` by default) for ``steps`` steps;
    * the parts of :func:`hessian_parts` at :math:`\\theta_0`;
    * the two terms of (10) with constant 1: ``eq10_first`` :math:`=\\|A\\|^2 n/k` and
      ``eq10_second`` :math:`=\\|A\\|\\,\\|y-y_0\\|\\sqrt{n/k}`.

    Parameters
    ----------
    cells : sequence of (n, m, k)
        Each with ``k >= 1``, ``n, m >= 1``.

    Returns
    -------
    dict of NumPy arrays: ``n``, ``m``, ``k`` (C,), and (C, runs) arrays ``L0``,
    ``L_traj``, ``gauss_newton``, ``residual``, ``residual_bound``, ``A_norm``, ``A_norm2_Cdphi2``,
    ``residual0`` (:math:`\\|y - y_0\\|`), ``eq10_first``, ``eq10_second``, ``eq10``.
    """
    runs, steps = check_int("runs", runs), check_int("steps", steps, low=0)
    check_positive("gamma_factor", gamma_factor)
    if gamma_factor >= 2:
        raise ValueError(f"gamma_factor (gamma * L0) must be in ]0, 2[ for the trajectory to stay "
                         f"stable, got {gamma_factor}")
    cells = [tuple(check_int(nm, v) for nm, v in zip(("n", "m", "k"), c)) for c in cells]
    if not cells:
        raise ValueError("cells must hold at least one (n, m, k)")
    keys = ("L0", "L_traj", "gauss_newton", "residual", "residual_bound", "A_norm", "A_norm2_Cdphi2",
            "residual0", "eq10_first", "eq10_second", "eq10")
    out = {key: [] for key in keys}
    for n, m, k in cells:
        base = problem_seed(seed, n, m)
        net = TwoLayerDIP.init(runs, n, k, activation=activation, seed=offset_seed(base, 1), device=device)
        A = gaussian_operator(m, n, runs=runs, seed=offset_seed(base, 2), device=device)
        pb = Problem.make(A, seed=offset_seed(base, 3))
        L0 = hessian_norm(net, pb, iters=iters)
        Lt = estimate_L(net, pb, gamma_factor / L0, steps, points=points, iters=iters)
        parts = hessian_parts(net, pb)
        res0 = (A.A(net.forward()) - pb.y).norm(dim=1)
        An = A.norm.expand(runs)
        first, second = An ** 2 * n / k, An * res0 * math.sqrt(n / k)
        vals = dict(L0=L0, L_traj=Lt, gauss_newton=parts["gauss_newton"], residual=parts["residual"],
                    residual_bound=parts["residual_bound"],
                    A_norm=An, A_norm2_Cdphi2=parts["A_norm2_Cdphi2"], residual0=res0,
                    eq10_first=first, eq10_second=second, eq10=L_eq10(An, res0, n, k))
        for key in keys:
            out[key].append(vals[key].detach().cpu().numpy())
    res = {key: np.stack(v) for key, v in out.items()}
    res.update(n=np.array([c[0] for c in cells]), m=np.array([c[1] for c in cells]),
               k=np.array([c[2] for c in cells]))
    return res


@keyed
def gamma_sweep(n: int, m: int, ks, gammas, runs: int = 4, steps: int = 4000, tol: float = 1e-14,
                activation="sigmoid", seed: int = 0, stall_window: int = 1000, iters: int = 100,
                device="cpu", cache: Path | None = None, progress: bool = False) -> dict:
    """Gradient descent (2) over a grid of step sizes, hidden layer W, ½-MSE, no noise.

    For each width k in ``ks`` the same ``runs`` problems (A and :math:`\\bar x` iid
    N(0, 1), seeds independent of k) are trained with every γ of ``gammas``, in a
    single batch of ``len(gammas) * runs`` runs, for at most ``steps`` steps.
    Statuses are those of :func:`dipnb.gradient_descent`: with the bounded sigmoid the loss
    stays finite, so a step that is too large ends as "stalled" (the loss stopped decreasing),
    often far above the initial loss: a divergence bounded by the sigmoid's range
    (:func:`dipnb.analysis.failed_run_losses`).

    Also computed per run: ``L0`` (:func:`dipnb.hessian_norm` at θ0), the linearised
    critical step ``gamma_lin`` :math:`= 2/(C_{\\phi'}^2\\|A\\|^2)` (GD on the
    linearised model :math:`\\phi'(h)\\approx` its wide average is stable iff
    :math:`\\gamma\\,\\|A\\|^2C_{\\phi'}^2 < 2`), and ``L_final``, the Hessian norm
    where each run stopped (a converged run at large γ has found a flatter minimum).

    Returns
    -------
    dict with ``ks`` (K,), ``gammas`` (G,), ``loss`` (K, G, R) loss at the end,
    ``status`` (K, G, R) strings, ``L0``, ``gamma_lin`` (K, R), ``L_final``
    (K, G, R), ``loss0`` (K, R), ``first_fail`` (K, R): the smallest γ of the grid
    whose run failed (stalled or non-finite; ``inf`` if none), ``last_conv`` (K, R):
    the largest γ below ``first_fail`` that converged (``nan`` if none), ``revived``
    (K, R): whether the run converged again at some γ above its ``first_fail`` (near the
    threshold the outcome is not monotone in γ), ``frac_conv`` (K, G): the fraction of
    runs that converged, and ``threshold`` (K,): the first γ of the grid, above the
    first one where at least half the runs converge, at which fewer than half do
    (``inf`` if none): the failure threshold of the paper's Fig 2 discussion.

    One resumable cell per width (:func:`dipnb.experiments.run_cells`): with a ``cache``
    folder each finished k is saved at once, and ``progress`` shows a bar over the widths.
    """
    n, m, runs = check_int("n", n), check_int("m", m), check_int("runs", runs)
    steps = check_int("steps", steps)
    ks = [check_int("k", k) for k in ks]
    if not ks:
        raise ValueError("ks must hold at least one width")
    g = np.asarray(gammas, dtype=np.float64).ravel()
    if g.size == 0 or np.any(np.diff(g) <= 0):
        raise ValueError(f"gammas must be a non-empty increasing grid, got {g[:5].tolist()}")
    check_positive("gammas", torch.as_tensor(g))
    check_positive("tol", tol, allow_zero=True)
    G = g.size
    base = problem_seed(seed, n, m)
    idx = [r for _ in range(G) for r in range(runs)]

    def cell(k):
        net = TwoLayerDIP.init(runs, n, k, activation=activation, seed=gamma_sweep_network_seed(base, k),
                               device=device)
        A = gaussian_operator(m, n, runs=runs, seed=offset_seed(base, 2), device=device)
        pb = Problem.make(A, seed=offset_seed(base, 3))
        L0 = hessian_norm(net, pb, iters=iters)
        netG, pbG = net.subset(idx), pb.subset(idx)
        gam = torch.as_tensor(np.repeat(g, runs), dtype=net.V0.dtype, device=net.V0.device)
        tr = gradient_descent(netG, pbG, gam, steps, tol=tol, record=[0, steps],
                              stall_window=stall_window, progress=False)
        Lf = hessian_norm(netG, pbG, tr.final, iters=iters)
        return {"loss": tr.loss[-1].reshape(G, runs).cpu().numpy(),
                "status": np.array(tr.status, dtype=str).reshape(G, runs),
                "L0": L0.cpu().numpy(),
                "gamma_lin": (2 / (net.activation.C_dphi ** 2 * A.norm ** 2)).expand(runs).cpu().numpy(),
                "L_final": Lf.reshape(G, runs).cpu().numpy(),
                "loss0": tr.loss[0, :runs].cpu().numpy()}

    cells = run_cells("gamma-sweep", ks, cell, cache, progress,
                      params=dict(n=n, m=m, gammas=g.tolist(), runs=runs, steps=steps, tol=float(tol),
                                  activation=str(activation), seed=seed, stall_window=stall_window, iters=iters))
    res = {key: np.stack([c[key] for c in cells]) for key in cells[0]}
    res["status"] = res["status"].astype(object)
    fail = np.isin(res["status"], FAIL_STATUSES)
    conv = res["status"] == "converged"
    K = len(ks)
    first_fail = np.full((K, runs), np.inf)
    last_conv = np.full((K, runs), np.nan)
    for a in range(K):
        for r in range(runs):
            bad = np.flatnonzero(fail[a, :, r])
            if bad.size:
                first_fail[a, r] = g[bad[0]]
            below = np.flatnonzero(conv[a, :, r] & (g < first_fail[a, r]))
            if below.size:
                last_conv[a, r] = g[below[-1]]
    frac = conv.mean(2)                                       # (K, G) fraction converged
    # no gamma with half the runs converged: no threshold on the grid either (inf)
    threshold = np.array([failure_threshold(g, frac[a]) for a in range(K)])
    threshold[np.isnan(threshold)] = np.inf
    revived = np.array([[bool(np.any(conv[a, :, r] & (g > first_fail[a, r]))) for r in range(runs)]
                        for a in range(K)])
    res.update(ks=np.array(ks), gammas=g, first_fail=first_fail, last_conv=last_conv, n=n, m=m,
               frac_conv=frac, threshold=threshold, revived=revived,
               steps=steps, tol=tol, C_dphi=get_activation(activation).C_dphi)
    return res


@register("lipschitz", presets={p: STEPSIZE_PRESETS[p]["lipschitz"] for p in STEPSIZE_PRESETS},
          chapter="03_gd_vs_flow",
          doc="measured L (Hessian norm at theta_0 and along GD) against the estimate (10), as k, n "
              "and m vary (chapter 'Gradient descent as a discretised gradient flow')")
def _lipschitz(preset, device, seed, cache, progress):
    P = STEPSIZE_PRESETS[preset]["lipschitz"]
    groups = (("k", [(P["n"], P["m"], k) for k in P["ks"]], P["steps"]),
              ("n", [(n, P["m"], P["k_fixed"]) for n in P["ns"]], 0),
              ("m", [(P["n"], m, P["k_fixed"]) for m in P["ms"]], 0))
    # one resumable cell per (n, m, k) of each group: every cell is drawn from its own seeds,
    # so a cell computed alone equals the same cell of a sweep over the whole group
    grid = [(vary, cell, steps) for vary, cells, steps in groups for cell in cells]
    done = run_cells("lipschitz", grid,
                     lambda c: lipschitz_sweep([c[1]], runs=P["runs"], steps=c[2], points=P["points"],
                                               iters=P["iters"], seed=seed, device=device),
                     cache, progress, params=dict(runs=P["runs"], points=P["points"], iters=P["iters"], seed=seed))
    out = {}
    for vary, _, _ in groups:
        mine = [r for (v, _, _), r in zip(grid, done) if v == vary]
        out.update({f"{vary}_{key}": np.concatenate([r[key] for r in mine]) for key in mine[0]})
    return out


@register("gamma-sweep", presets={p: STEPSIZE_PRESETS[p]["gamma"] for p in STEPSIZE_PRESETS},
          chapter="03_gd_vs_flow",
          doc="gradient descent over a grid of gamma, statuses and the Hessian norm where each run "
              "stopped (chapter 'Gradient descent as a discretised gradient flow')")
def _gamma_sweep(preset, device, seed, cache, progress):
    G = STEPSIZE_PRESETS[preset]["gamma"]
    res = gamma_sweep(G["n"], G["m"], G["ks"], 10.0 ** np.array(G["log10_gammas"]), runs=G["runs"],
                      steps=G["steps"], seed=seed, device=device, cache=cache, progress=progress)
    res["status"] = res["status"].astype(str)
    return res
