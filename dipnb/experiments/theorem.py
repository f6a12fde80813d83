"""Chapter 04's studies of Theorem III.1: one problem end to end with every constant, a run and
the bounds (:func:`theorem_run`), how loose the bounds are (:func:`bound_ratios`), how often
condition (4) holds against how often training converges (:func:`condition_vs_convergence`,
registered as ``condition-vs-convergence``), and the Hessian norm sampled in a ball
(:func:`hessian_norm_in_ball`), and the certified bounds on the Hessian norm against the width
(:func:`hessian_bounds_vs_width`, used by chapter 03 against eq. (10))."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._random import make_generator, offset_seed, width_index_seed, width_network_seed
from .._validation import check_choice, check_int, check_positive
from ..core.descent import gradient_descent
from ..core.losses import Loss
from ..core.network import State, TwoLayerDIP
from ..core.operators import gaussian_operator, well_conditioned_operator
from ..core.problems import Problem
from ..theory.bounds import certified_L, hessian_lower_bound
from ..theory.theorem import (
    L_eq10,
    TheoremIII1,
    certified_dist,
    dist_to_sigma_prime,
    estimate_L,
    hessian_norm,
    theorem_quantities,
)
from .cells import keyed, run_cells
from .registry import register

__all__ = ["TheoremRun", "theorem_run", "bound_ratios", "CONDITION_VS_CONVERGENCE_PRESETS",
           "condition_vs_convergence", "hessian_norm_in_ball", "hessian_bounds_vs_width"]


@dataclass
class TheoremRun:
    """One problem of Theorem III.1 run end to end (see :func:`theorem_run`).

    Attributes
    ----------
    net, problem : the networks and problems (R runs).
    th : TheoremIII1, every constant at θ0 with the ``L`` of ``L_rule`` (:func:`theorem_run`).
    L0, L_est : Hessian norm at θ0, and its maximum along a preliminary run: sampled
        values, hence *lower* estimates of the theorem's L.
    L_cert, L_global : the certified upper bounds ``L_descent`` and ``L_global`` of
        :func:`dipnb.certified_L` at θ0.
    traj : Trajectory with ``dist_ref`` = :math:`\\|\\theta_\\tau - \\theta_\\infty\\|`.
    theta_inf : the state of a long run stopped at round-off (:math:`\\theta_\\infty` of (7)).
    dist_sigma : an upper bound on :math:`\\mathrm{dist}(\\bar x, \\Sigma')` of (8), shape (R,)
        (see :func:`dist_to_sigma_prime`).
    """

    net: TwoLayerDIP
    problem: Problem
    th: TheoremIII1
    L0: torch.Tensor
    L_est: torch.Tensor
    traj: object
    theta_inf: State
    dist_sigma: torch.Tensor
    L_cert: torch.Tensor | None = None
    L_global: torch.Tensor | None = None

    def bounds(self, tau=None) -> dict:
        """Measured curves and bounds (6), (7), (8) at ``tau`` (default: recorded steps), each (T, R)."""
        tau = torch.as_tensor(self.traj.steps if tau is None else tau)
        return {"loss": (self.traj.loss, self.th.loss_bound(tau)),
                "param": (self.traj.dist_ref, self.th.param_bound(tau)),
                "error": (self.traj.error, self.th.error_bound(tau, dist=self.dist_sigma))}


def theorem_run(n: int = 2, m: int = 2, k: int = 20000, gamma_L: float = 0.5, noise_std: float = 0.0,
                runs: int = 1, steps: int = 2000, ref_steps: int = 5000, d: int = 4, seed: int = 0,
                L_steps: int = 300, L_rule: str = "estimate") -> TheoremRun:
    """Theorem III.1 on the problem of its chapter: every constant, a run, and the bounds.

    The hidden layer W of the network (9) (sigmoid, Rademacher V0) is trained with
    ½-MSE on :math:`y = A\\bar x + \\varepsilon`, ``A`` from :func:`dipnb.well_conditioned_operator` (``m`` rows)
    (:math:`\\sigma_A = 1`, :math:`\\|A\\| = 2`), :math:`\\bar x \\sim N(0, I_n)`,
    :math:`\\varepsilon \\sim N(0, \\text{noise\\_std}^2 I_m)`.

    ``L_rule="estimate"``: ``L`` is estimated by :func:`estimate_L` (largest Hessian norm
    along ``L_steps`` steps at γ = 1/(2 L0)), a lower estimate; ``L_rule="certified"``: ``L``
    is the certified upper bound ``L_descent`` of :func:`dipnb.certified_L`, so that
    :math:`\\gamma \\le 1/L` is proved, not sampled. Then :math:`\\gamma = \\text{gamma\\_L}/L`. θ∞ is the
    state of a run of ``ref_steps`` steps stopped when its loss stalls (round-off);
    the recorded run (every step, ``steps`` steps) measures
    :math:`\\|\\theta_\\tau-\\theta_\\infty\\|`. ``dist(x̄, Σ')`` is bounded by
    :func:`dist_to_sigma_prime`. Seeds: network ``seed``, operator and data the streams 1 and 2
    of ``dipnb._random.offset_seed`` (``seed + 1``, ``seed + 2``).
    """
    n, m, k = check_int("n", n), check_int("m", m), check_int("k", k, low=n)
    check_positive("gamma_L", gamma_L)
    if not gamma_L < 2:
        raise ValueError(f"gamma_L must lie in ]0, 2[ (nu1, nu2 are defined for gamma*L < 2), got {gamma_L}")
    check_positive("noise_std", noise_std, allow_zero=True)
    check_choice("L_rule", L_rule, ("estimate", "certified"))
    net = TwoLayerDIP.init(runs, n, k, d=d, seed=seed)
    A = well_conditioned_operator(n, runs=runs, seed=offset_seed(seed, 1), m=m)
    pb = Problem.make(A, noise_std=noise_std, seed=offset_seed(seed, 2))
    L0 = hessian_norm(net, pb, iters=30)
    L_est = estimate_L(net, pb, gamma=0.5 / L0, steps=L_steps, points=4, iters=30) if L_steps else L0
    cert = certified_L(net, pb)
    L = cert["L_descent"] if L_rule == "certified" else L_est
    gamma = gamma_L / L
    th = theorem_quantities(net, pb, gamma=gamma, L=L)
    theta_inf = gradient_descent(net, pb, gamma, ref_steps, tol=0.0, stall_window=200, record=[0],
                                 progress=False).final
    traj = gradient_descent(net, pb, gamma, steps, tol=0.0, record=1, reference=theta_inf,
                            stall_window=None, progress=False)
    if noise_std == 0:   # the long run above is the noiseless run: reuse its limit
        err = (net.forward(theta_inf) - pb.x_bar).norm(dim=1)
        dist = certified_dist(err, net.param_distance(theta_inf), th.R_prime)
    else:
        dist = dist_to_sigma_prime(net, pb, gamma, th.R_prime, steps=ref_steps)
    return TheoremRun(net, pb, th, L0, L_est, traj, theta_inf, dist, cert["L_descent"], cert["L_global"])


def bound_ratios(run: TheoremRun, at_loss: float = 1e-10) -> dict:
    """How loose the bounds (6), (7), (8) are on ``run``, per run (R,).

    Returns, for each of ``"loss"``, ``"param"``, ``"error"``, the ratio
    bound/measured at τ = 0 (``"<key>_0"``) and at τ*, the first recorded τ where
    the measured loss is ``<= at_loss`` (``"<key>_star"``); ``"tau_star"`` (−1 if never)
    and ``"rate"``: :math:`\\log(\\mathcal L_0/\\mathcal L_{\\tau^*}) / \\log(\\mathcal L_0/\\text{bound}_{\\tau^*})`,
    how many times faster the loss falls than (6) says (on a log scale).
    """
    check_positive("at_loss", at_loss)
    b = run.bounds()
    loss = run.traj.loss
    R_ = loss.shape[1]
    hit = loss <= at_loss
    idx = torch.where(hit.any(0), hit.double().argmax(0), torch.full((R_,), -1, dtype=torch.long))
    safe = idx.clamp(min=0)
    cols = torch.arange(R_)
    out = {"tau_star": torch.as_tensor(run.traj.steps)[safe].where(idx >= 0, torch.tensor(-1))}
    for key, (meas, bnd) in b.items():
        out[f"{key}_0"] = bnd[0] / meas[0]
        r = bnd[safe, cols] / meas[safe, cols]
        out[f"{key}_star"] = torch.where(idx >= 0, r, torch.full_like(r, math.nan))
    L0 = loss[0]
    rate = torch.log(L0 / loss[safe, cols]) / torch.log(L0 / b["loss"][1][safe, cols])
    out["rate"] = torch.where(idx >= 0, rate, torch.full_like(rate, math.nan))
    return out


#: Sizes of chapter 04's study "when the condition fails" (n = m = 2, injective A).
CONDITION_VS_CONVERGENCE_PRESETS = {
    "quick": dict(ks=(10, 100, 1000, 10_000), runs=50, steps=3000),
    "paper": dict(ks=(10, 100, 1000, 10_000, 100_000), runs=50, steps=100_000),
}


@keyed
def condition_vs_convergence(n: int = 2, m: int = 2, ks=(10, 100, 1000, 10000), runs: int = 50,
                             steps: int = 3000, tol: float = 1e-14, operator: str = "injective",
                             gamma_L: float = 0.5, noise_std: float = 0.0, d: int = 1,
                             seed: int = 0, device="cpu", cache: Path | None = None,
                             progress: bool = False) -> dict:
    """How often condition (4) holds, against how often gradient descent converges.

    For each width ``k``, ``runs`` independent draws (network, operator, x̄) are
    trained on the hidden layer with ½-MSE and :math:`\\gamma = \\text{gamma\\_L}/L_0`,
    :math:`L_0` the Hessian norm at θ0 (so :math:`\\nu_1` is the same for every run).
    A run *converges* when :math:`\\mathcal L_y(y_\\tau) \\le` ``tol`` within ``steps``
    steps (the paper's Fig 1 uses 1e-14 and :math:`10^5` steps).

    Parameters
    ----------
    operator : {"injective", "gaussian"}
        :func:`dipnb.well_conditioned_operator` with m rows (:math:`\\sigma_A = 1`, :math:`\\|A\\| = 2`) or iid N(0, 1)
        entries as in Fig 1.
    d : int
        Latent size; it does not change the dynamics (only ``h = Wu`` matters), so the
        default 1 keeps memory at O(runs·k).
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    cache : folder, optional
        Save each finished width there at once and reuse it on a rerun (one resumable cell
        per width, :func:`dipnb.experiments.run_cells`).
    progress : bool
        A progress bar over the widths.

    Returns
    -------
    dict with ``ks`` (K,), ``cond4``, ``converged`` (bool, (K, runs)), ``stop_step``,
    ``R``, ``R_prime`` ((K, runs)) and the parameters.
    """

    n, m, runs, steps = (check_int(a, b) for a, b in (("n", n), ("m", m), ("runs", runs), ("steps", steps)))
    check_choice("operator", operator, ("injective", "gaussian"))
    ks = [check_int("k", kk, low=n) for kk in ks]
    if not ks:
        raise ValueError("ks must hold at least one width")
    check_positive("tol", tol)
    if not 0 < gamma_L < 2:
        raise ValueError(f"gamma_L must lie in ]0, 2[, got {gamma_L}")
    check_positive("noise_std", noise_std, allow_zero=True)

    def cell(ik):                       # the draws of width ks[i]: streams 0, 1, 2 of width_index_seed
        i, k = ik
        s = width_index_seed(seed, i)
        net = TwoLayerDIP.init(runs, n, k, d=d, seed=s, device=device)
        A = (well_conditioned_operator(n, runs=runs, seed=offset_seed(s, 1), m=m, device=device)
             if operator == "injective" else gaussian_operator(m, n, runs=runs, seed=offset_seed(s, 1), device=device))
        pb = Problem.make(A, noise_std=noise_std, seed=offset_seed(s, 2))
        L0 = hessian_norm(net, pb, iters=30)
        gamma = gamma_L / L0
        th = theorem_quantities(net, pb, gamma=gamma, L=L0)
        tr = gradient_descent(net, pb, gamma, steps, tol=tol, record=[0], stall_window=None, progress=False)
        return {"cond4": th.condition_4.cpu().numpy(), "converged": tr.converged.cpu().numpy(),
                "stop_step": tr.stop_step.cpu().numpy(), "R": th.R.cpu().numpy(),
                "R_prime": th.R_prime.cpu().numpy()}

    cells = run_cells("condition-vs-convergence", list(enumerate(ks)), cell, cache, progress,
                      params=dict(n=n, m=m, runs=runs, steps=steps, tol=float(tol), operator=operator,
                                  gamma_L=float(gamma_L), noise_std=float(noise_std), d=d, seed=seed))
    res = {key: np.stack([c[key] for c in cells]) for key in cells[0]}
    res.update(ks=np.asarray(ks), n=n, m=m, runs=runs, steps=steps, tol=tol, operator=operator,
               gamma_L=gamma_L, noise_std=noise_std)
    return res


def hessian_norm_in_ball(net: TwoLayerDIP, problem: Problem, radius, points: int = 8, seed: int = 0,
                         loss: Loss | str = "mse", iters: int = 30) -> torch.Tensor:
    """Largest Hessian norm of :math:`\\theta\\mapsto\\mathcal L_y(Ag(u,\\theta))` (hidden layer W)
    seen at θ0 and at ``points`` random points on the sphere of radius ``radius`` (float or (R,))
    around θ0, shape (R,).

    The L of Theorem III.1 is a Lipschitz constant of the gradient on a ball that
    contains every iterate, i.e. (for a C² loss) the supremum of the Hessian norm over
    that ball. Sampling gives a lower bound of that supremum; comparing it with
    :func:`estimate_L` (the maximum along the trajectory) shows how much the choice matters.
    A perturbation of W with Frobenius norm r moves ``h = Wu`` by at most r‖u‖, so the
    points are :math:`h_0 + r\\|u\\| e`, e a random unit vector.
    """
    points = check_int("points", points, low=0)
    check_positive("radius", radius)
    g = make_generator(seed, net.V0.device)
    s0 = net.initial_state()
    rho = torch.as_tensor(radius, dtype=s0.h.dtype, device=s0.h.device).expand(net.runs)
    best = hessian_norm(net, problem, s0, "W", loss, iters)
    for _ in range(points):
        e = torch.randn(s0.h.shape, dtype=s0.h.dtype, device=s0.h.device, generator=g)
        e = e / e.norm(dim=1, keepdim=True)
        st = State(s0.h + (rho * net.u_norm2.sqrt())[:, None] * e, s0.V)
        best = torch.maximum(best, hessian_norm(net, problem, st, "W", loss, iters))
    return best


def hessian_bounds_vs_width(n: int = 5, m: int = 3, ks=(10, 30, 100, 300, 1000, 3000), runs: int = 4,
                            steps: int = 200, points: int = 4, iters: int = 100, seed: int = 0) -> dict:
    """The Hessian norm of the hidden-layer ½-MSE loss between its certified bounds, against k.

    For each width, ``runs`` networks (seed depends on k) on the same problems (A and
    :math:`\\bar x` iid N(0, 1), seeds ``offset_seed(seed, 1)``, ``offset_seed(seed, 2)``; networks
    ``width_network_seed(seed, k)``, see ``dipnb._random``): the Hessian norm at θ0
    (:func:`dipnb.hessian_norm`, power iteration: itself a lower estimate), the lower bound
    :func:`dipnb.theory.bounds.hessian_lower_bound` (``lower`` at θ0 and ``lower_ball``, valid
    along a run that Theorem III.1 covers), the certified upper bound ``L_descent`` of
    :func:`dipnb.certified_L`, and the two terms of (10) with constant 1. Then gradient
    descent with :math:`\\gamma = 1/L_{\\rm descent}` for ``steps`` steps, with the Hessian norm
    and the pointwise lower bound at ``points`` states along it.

    Returns dict of arrays (K, runs): ``H0``, ``lower``, ``lower_ball``, ``L_descent``,
    ``eq10_first``, ``eq10``, ``limit`` (:math:`\\|A\\|^2C_{\\phi'}^2`), ``H_traj_min`` and
    ``H_traj_max`` (extremes of the Hessian norm along the run), ``margin_traj`` (the smallest
    Hessian norm minus pointwise lower bound along the run: >= 0 when the bound holds), and ``ks``.
    """
    ks = [check_int("k", kk, low=n) for kk in ks]
    runs, steps, points = check_int("runs", runs), check_int("steps", steps, low=0), check_int("points", points)
    A = gaussian_operator(m, n, runs=runs, seed=offset_seed(seed, 1))
    pb = Problem.make(A, seed=offset_seed(seed, 2))
    keys = ("H0", "lower", "lower_ball", "L_descent", "eq10_first", "eq10", "limit", "H_traj_min",
            "H_traj_max", "margin_traj")
    out = {key: [] for key in keys}
    for k in ks:
        net = TwoLayerDIP.init(runs, n, k, d=1, seed=width_network_seed(seed, k))
        H0 = hessian_norm(net, pb, iters=iters)
        lb = hessian_lower_bound(net, pb)
        cl = certified_L(net, pb)
        An = A.norm.expand(runs)
        gamma = 1.0 / cl["L_descent"]
        state, h_min, h_max, margin = net.initial_state(), H0.clone(), H0.clone(), H0 - lb["lower"]
        for _ in range(points):
            state = gradient_descent(net, pb, gamma, max(1, steps // points), tol=0.0, record=[0], state=state,
                                     stall_window=None, progress=False).final
            Ht = hessian_norm(net, pb, state, iters=iters)
            h_min, h_max = torch.minimum(h_min, Ht), torch.maximum(h_max, Ht)
            margin = torch.minimum(margin, Ht - hessian_lower_bound(net, pb, state)["lower"])
        vals = dict(H0=H0, lower=lb["lower"], lower_ball=lb["lower_ball"], L_descent=cl["L_descent"],
                    eq10_first=An ** 2 * n / k, eq10=L_eq10(An, cl["residual_norm"], n, k),
                    limit=An ** 2 * net.activation.C_dphi ** 2, H_traj_min=h_min, H_traj_max=h_max,
                    margin_traj=margin)
        for key in keys:
            out[key].append(vals[key].detach().cpu().numpy())
    res = {key: np.stack(v) for key, v in out.items()}
    res.update(ks=np.asarray(ks), n=n, m=m, runs=runs, steps=steps)
    return res


@register("condition-vs-convergence", study=condition_vs_convergence, presets=CONDITION_VS_CONVERGENCE_PRESETS,
          chapter="04_theorem_iii1",
          doc="how often condition (4) holds against how often GD converges, n = m = 2, injective A "
              "(chapter 'Theorem III.1')")
def _condition_vs_convergence(preset, device, seed, cache, progress):
    res = condition_vs_convergence(n=2, m=2, operator="injective", seed=seed, device=device, cache=cache,
                                   progress=progress, **CONDITION_VS_CONVERGENCE_PRESETS[preset])
    return res
