"""The quantities of Theorem III.1 and Corollary III.2, computed for a given problem.

Everything is batched over runs (shape (R,)). The paper is short and leaves some
constants implicit; what this module uses, and why, is stated in each docstring:

* :math:`\\sigma_{\\min}(J_g(0))` is the smallest singular value of the Jacobian
  as a map onto :math:`R^n` (square root of the smallest eigenvalue of the
  n×n Gram matrix), see :func:`dipnb.network.sigma_min_jacobian`.
* :math:`\\mathrm{Lip}_{B(\\theta_0,R)}(J_g)` is bounded in closed form
  (:func:`jacobian_lipschitz`), which turns the implicit definition of ``R`` in
  (5) into an explicit formula (:func:`radius_R`).
* ``L``, the Lipschitz constant of :math:`\\nabla_\\theta\\mathcal L_y(Ag(u,\\cdot))`,
  is either given, estimated by eq. (10) with its unnamed constant exposed
  (:func:`L_eq10`), or measured as the largest Hessian eigenvalue (in absolute
  value) at θ0 or along a trajectory (:func:`hessian_norm`, :func:`estimate_L`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import DEFAULT_DTYPE, check_choice, check_int, check_layers, check_positive
from .descent import Problem, gradient_descent
from .losses import Desingularizer, Loss, get_loss
from .network import State, TwoLayerDIP, forward, jacobian_gram
from .operators import gaussian_operator, well_conditioned_operator

__all__ = ["jacobian_lipschitz", "radius_R", "nu1", "nu2", "L_eq10", "hessian_norm",
           "estimate_L", "TheoremIII1", "theorem_quantities", "corollary_width",
           "corollary_probability", "sigma_min_nonzero_jacobian", "injective_operator", "TheoremRun",
           "dist_to_sigma_prime", "theorem_run", "bound_ratios", "condition_vs_convergence",
           "hessian_norm_in_ball"]


def _col_norm_max(V: torch.Tensor) -> torch.Tensor:
    """:math:`\\max_j \\|v_j\\|` over the columns of V, shape (R,)."""
    return V.norm(dim=1).max(dim=1).values


def jacobian_lipschitz(net: TwoLayerDIP, layers: str = "W", radius=None) -> torch.Tensor:
    """An upper bound on :math:`\\mathrm{Lip}_{B(\\theta_0, \\rho)}(J_g)`, shape (R,).

    With :math:`M = \\max_j \\|v_{0,j}\\|` (column norms of :math:`V_0`,
    :math:`\\le D\\sqrt n` by A-8) and B the constant of A-3:

    * ``"W"`` (V fixed): :math:`J_g(W)\\Delta = V\\mathrm{diag}(\\phi'(Wu))\\Delta u/\\sqrt k`,
      so :math:`\\|J_g(W) - J_g(W')\\| \\le B M\\|u\\|^2 \\|W-W'\\|_F/\\sqrt k`:
      a global constant, ``radius`` is ignored;
    * ``"V"``: :math:`J_g` does not depend on V: 0;
    * ``"both"``: on the ball of radius :math:`\\rho`,
      :math:`\\frac{B\\|u\\|}{\\sqrt k}\\big(2 + \\|u\\|(M + \\rho)\\big)`.
    """
    check_layers(layers)
    act = net.activation
    act.require_A3("the Lipschitz constant of the Jacobian")
    B, k = act.B, net.k
    un = net.u_norm2.sqrt()
    M = _col_norm_max(net.V0)
    if layers == "W":
        return B * M * un ** 2 / math.sqrt(k)
    if layers == "V":
        return torch.zeros_like(M)
    if radius is None:
        raise ValueError("layers='both' needs the radius of the ball (the Lipschitz bound grows with it)")
    return B * un / math.sqrt(k) * (2 + un * (M + radius))


def radius_R(net: TwoLayerDIP, layers: str = "W", sigma0: torch.Tensor | None = None) -> torch.Tensor:
    """The radius ``R`` of (5): :math:`R = \\sigma_{\\min}(J_g(0)) / (2\\,\\mathrm{Lip}_{B(\\theta_0,R)}(J_g))`.

    With the bounds of :func:`jacobian_lipschitz`: ``"W"`` gives
    :math:`R = \\sigma_0\\sqrt k/(2BM\\|u\\|^2)`; ``"V"`` gives :math:`R = +\\infty`
    (the model is linear in V); ``"both"`` gives the positive root of
    :math:`aR^2 + bR - \\sigma_0 = 0`, :math:`a = 2B\\|u\\|^2/\\sqrt k`,
    :math:`b = 2B\\|u\\|(2 + \\|u\\|M)/\\sqrt k`.
    """
    check_layers(layers)
    s0 = net.sigma_min_jacobian(layers=layers) if sigma0 is None else sigma0
    if layers == "V":
        return torch.full_like(s0, math.inf)
    if layers == "W":
        return s0 / (2 * jacobian_lipschitz(net, "W"))
    B, k = net.activation.B, net.k
    un = net.u_norm2.sqrt()
    M = _col_norm_max(net.V0)
    a = 2 * B * un ** 2 / math.sqrt(k)
    b = 2 * B * un * (2 + un * M) / math.sqrt(k)
    return (-b + torch.sqrt(b ** 2 + 4 * a * s0)) / (2 * a)


def _check_gamma_L(gamma, L):
    check_positive("gamma", gamma)
    check_positive("L", L)
    gl = torch.as_tensor(gamma, dtype=torch.float64) * torch.as_tensor(L, dtype=torch.float64)
    if (gl >= 2).any():
        raise ValueError(f"nu1 and nu2 are defined for gamma*L < 2 (the theorem asks gamma*L <= 1); "
                         f"got gamma*L = {gl.max().item():g}")


def nu1(gamma, L):
    """:math:`\\nu_1 = (1+\\gamma L)/(1-\\gamma L/2)`, in ]1, 4] for :math:`\\gamma \\in ]0, 1/L]`."""
    _check_gamma_L(gamma, L)
    return (1 + gamma * L) / (1 - gamma * L / 2)


def nu2(gamma, L):
    """:math:`\\nu_2 = (1+\\gamma L)^2/(\\gamma - \\gamma^2 L/2)`; minimal, equal to 6L, at γ = 1/(2L)."""
    _check_gamma_L(gamma, L)
    return (1 + gamma * L) ** 2 / (gamma - gamma ** 2 * L / 2)


def L_eq10(A_norm, residual_norm, n: int, k: int, const: float = 1.0):
    """The estimate (10): :math:`L \\lesssim \\|A\\|^2 n/k + \\|A\\|\\,\\|y - y_0\\|\\sqrt{n/k}`.

    ``const`` is the unnamed constant of :math:`\\lesssim` (it depends on B, D and
    :math:`\\sup|\\phi|`). The book compares this against :func:`hessian_norm`.
    """
    return const * (A_norm ** 2 * n / k + A_norm * residual_norm * math.sqrt(n / k))


def hessian_norm(net: TwoLayerDIP, problem: Problem, state: State | None = None, layers: str = "W",
                 loss: Loss | str = "mse", iters: int = 100, seed: int = 0) -> torch.Tensor:
    """Largest absolute eigenvalue of the Hessian of :math:`\\theta \\mapsto \\mathcal L_y(Ag(u,\\theta))`
    at ``state`` (default θ0), by power iteration with autograd Hessian-vector products; shape (R,).

    The loss depends on W only through :math:`h = Wu`; writing
    :math:`h = h_\\tau + \\|u\\| a` the Hessian in (a, V) has the same non-zero
    spectrum as the Hessian in θ = (V, W), at the cost of a (k + nk)-vector.
    """
    check_layers(layers)
    iters = check_int("iters", iters)
    loss = get_loss(loss)
    s = net.initial_state() if state is None else state
    un = net.u_norm2.sqrt()[:, None]
    y = problem.y
    act = net.activation

    a = torch.zeros_like(s.h, requires_grad=layers in ("W", "both"))
    V = s.V.detach().clone().requires_grad_(layers in ("V", "both"))
    params = [p for p in (a, V) if p.requires_grad]

    def total(a, V):
        return loss.value(problem.A.A(forward(s.h.detach() + un * a, V, act)), y).sum()

    grads = torch.autograd.grad(total(a, V), params, create_graph=True)
    g = torch.Generator(device=s.h.device).manual_seed(seed)
    vecs = [torch.randn(p.shape, dtype=p.dtype, device=p.device, generator=g) for p in params]

    def per_run_norm(vs):
        return torch.sqrt(sum((v.reshape(v.shape[0], -1) ** 2).sum(1) for v in vs))

    lam = torch.zeros(s.h.shape[0], dtype=s.h.dtype, device=s.h.device)
    for _ in range(iters):
        nrm = per_run_norm(vecs)
        vecs = [v / nrm.reshape(-1, *([1] * (v.ndim - 1))) for v in vecs]
        dot = sum((gi * vi).sum() for gi, vi in zip(grads, vecs))
        Hv = torch.autograd.grad(dot, params, retain_graph=True)
        lam = per_run_norm(Hv)
        vecs = [h.detach() for h in Hv]
    return lam.detach()


def estimate_L(net: TwoLayerDIP, problem: Problem, gamma, steps: int, layers: str = "W",
               loss: Loss | str = "mse", points: int = 8, iters: int = 50) -> torch.Tensor:
    """Largest Hessian norm seen along gradient descent: a numerical estimate of ``L``.

    Runs (2) for ``steps`` steps and evaluates :func:`hessian_norm` at θ0 and at
    ``points`` iterations spaced logarithmically; returns the maximum, shape (R,).
    This is a *lower* bound of the true Lipschitz constant on a ball that
    contains the iterates, but the one that governs stability in practice.
    """

    steps = check_int("steps", steps, low=0)
    marks = np.unique(np.round(np.geomspace(1, max(steps, 1), points)).astype(int)) if steps else []
    state, done = net.initial_state(), 0
    best = hessian_norm(net, problem, state, layers, loss, iters)
    for t in marks:
        traj = gradient_descent(net, problem, gamma, int(t) - done, layers, loss, tol=0.0,
                                record=[0], state=state, stall_window=None, progress=False)
        state, done = traj.final, int(t)
        best = torch.maximum(best, hessian_norm(net, problem, state, layers, loss, iters))
    return best


@dataclass
class TheoremIII1:
    """Every constant of Theorem III.1 for a batch of runs (each field has shape (R,)).

    Attributes
    ----------
    sigma_A, A_norm, lambda_min : :math:`\\sigma_A`, :math:`\\|A\\|` and
        :math:`\\lambda_{\\min}(A; R^n)` (used for :math:`\\lambda_{\\min}(A;T_{\\Sigma'})`
        in (8): equal when :math:`T_{\\Sigma'} = R^n`; 0 if A is not injective).
    sigma0 : :math:`\\sigma_{\\min}(J_g(0))`.
    lip_J, R, R_prime : the Lipschitz bound of :math:`J_g` on :math:`B(\\theta_0, R)`, and R, R' of (5).
    L, gamma, nu1, nu2 : step-size quantities (ν's are NaN where γL >= 2).
    L_eq10 : the estimate (10) with its unnamed constant set to 1, for comparison with ``L``.
    loss0, noise_norm : :math:`\\mathcal L_y(y_0)` and :math:`\\|\\varepsilon\\|`.
    psi : the Desingularizer of the loss on :math:`[\\mathcal L_y < \\mathcal L_y(y_0) + \\eta]` (A-2).
    condition_4 : :math:`\\sigma_0 > 0` and :math:`R' < R`.
    step_ok : :math:`\\gamma \\le 1/L`.
    """

    sigma_A: torch.Tensor
    A_norm: torch.Tensor
    lambda_min: torch.Tensor
    sigma0: torch.Tensor
    lip_J: torch.Tensor
    R: torch.Tensor
    R_prime: torch.Tensor
    L: torch.Tensor
    gamma: torch.Tensor
    nu1: torch.Tensor
    nu2: torch.Tensor
    L_eq10: torch.Tensor
    loss0: torch.Tensor
    noise_norm: torch.Tensor
    psi: Desingularizer
    layers: str

    @property
    def condition_4(self) -> torch.Tensor:
        return (self.sigma0 > 0) & (self.R_prime < self.R)

    @property
    def step_ok(self) -> torch.Tensor:
        return self.gamma * self.L <= 1

    @property
    def applies(self) -> torch.Tensor:
        """Both hypotheses of Theorem III.1: condition (4) and :math:`\\gamma \\le 1/L`."""
        return self.condition_4 & self.step_ok

    def _tau(self, tau):
        return torch.as_tensor(tau, dtype=self.sigma0.dtype, device=self.sigma0.device).reshape(-1, 1)

    def xi(self, tau) -> torch.Tensor:
        """:math:`\\xi_\\tau = \\frac{\\sigma_A^2\\sigma_0^2}{4\\nu_2}\\tau + \\Psi(\\mathcal L_y(y_0))`, shape (T, R)."""
        return self.sigma_A ** 2 * self.sigma0 ** 2 / (4 * self.nu2) * self._tau(tau) + self.psi.Psi(self.loss0)

    def loss_bound(self, tau) -> torch.Tensor:
        """Bound (6) on :math:`\\mathcal L_y(y_\\tau)`: :math:`\\Psi^{-1}(\\xi_\\tau)`, shape (T, R)."""
        return self.psi.Psi_inv(self.xi(tau))

    def param_bound(self, tau) -> torch.Tensor:
        """Bound (7) on :math:`\\|\\theta_\\tau - \\theta_\\infty\\|`:
        :math:`2\\nu_1\\psi(\\Psi^{-1}(\\xi_\\tau))/(\\sigma_0\\sigma_A)`, shape (T, R)."""
        return 2 * self.nu1 * self.psi.psi(self.loss_bound(tau)) / (self.sigma0 * self.sigma_A)

    def error_bound(self, tau, dist=0.0) -> torch.Tensor:
        """Bound (8) on :math:`\\|x_\\tau - \\bar x\\|`, shape (T, R).

        ``dist`` stands for :math:`\\mathrm{dist}(\\bar x, \\Sigma')`, which is not
        computable in general: it is 0 when :math:`\\bar x` is generated by the
        network inside the ball (e.g. noiseless, injective A, convergence); say what
        you pass otherwise. ``+inf`` where A is not injective (A-5 fails when
        :math:`T_{\\Sigma'} = R^n`).
        """
        lam = self.lambda_min
        with torch.no_grad():
            first = self.psi.psi(self.loss_bound(tau)) / lam
            return first + (1 + self.A_norm / lam) * dist + self.noise_norm / lam

    def table(self) -> dict:
        """The scalar constants as a dict of Python lists (handy for printing)."""
        keys = ["sigma_A", "A_norm", "lambda_min", "sigma0", "lip_J", "R", "R_prime", "L", "L_eq10",
                "gamma", "nu1", "nu2", "loss0", "noise_norm"]
        out = {k: getattr(self, k).tolist() for k in keys}
        out["condition_4"] = self.condition_4.tolist()
        out["step_ok"] = self.step_ok.tolist()
        return out


def theorem_quantities(net: TwoLayerDIP, problem: Problem, gamma, layers: str = "W",
                       loss: Loss | str = "mse", L=None, eta: float = 1.0) -> TheoremIII1:
    """Compute every constant of Theorem III.1 at the initialisation of ``net``.

    Parameters
    ----------
    gamma : float or Tensor (R,)
        Step size.
    L : None, float or Tensor (R,)
        Lipschitz constant of the gradient. ``None`` uses :func:`hessian_norm` at
        θ0, a local value: pass :func:`estimate_L` (the maximum along the
        trajectory) or a bound when you need the theorem's L.
    eta : float
        The η of A-2; only the KL loss's ψ depends on it.
    """
    check_layers(layers)
    loss = get_loss(loss)
    net.activation.require_A3("Theorem III.1")
    check_positive("gamma", gamma)
    check_positive("eta", eta)
    R_ = net.runs
    dt, dev = net.V0.dtype, net.V0.device
    as_runs = lambda t: torch.as_tensor(t, dtype=dt, device=dev).expand(R_).clone()

    y = problem.y
    y0 = problem.A.A(net.forward())
    loss0 = loss.value(y0, y)
    psi = loss.desingularizer(y, loss0 + eta)
    sigma0 = net.sigma_min_jacobian(layers=layers)
    R = radius_R(net, layers, sigma0)
    lip = jacobian_lipschitz(net, layers, R if layers == "both" else None)
    if L is None:
        L = hessian_norm(net, problem, None, layers, loss)
    L, gamma = as_runs(L), as_runs(gamma)
    check_positive("L", L)
    gl = gamma * L
    ok = gl < 2
    n1 = torch.where(ok, (1 + gl) / (1 - gl / 2), torch.full_like(gl, math.nan))
    n2 = torch.where(ok, (1 + gl) ** 2 / (gamma - gamma * gl / 2), torch.full_like(gl, math.nan))
    sA = as_runs(problem.A.sigma_min)
    R_prime = 2 * n1 * psi.psi(loss0) / (sA * sigma0)
    return TheoremIII1(
        sigma_A=sA, A_norm=as_runs(problem.A.norm), lambda_min=as_runs(problem.A.lambda_min),
        sigma0=sigma0, lip_J=lip, R=R, R_prime=R_prime, L=L, gamma=gamma, nu1=n1, nu2=n2,
        L_eq10=L_eq10(as_runs(problem.A.norm), (y0 - y).norm(dim=1), net.n, net.k),
        loss0=loss0, noise_norm=problem.noise.norm(dim=1), psi=psi, layers=layers)


def corollary_width(problem: Problem, d: int, loss: Loss | str = "mse", C: float = 1.0,
                    C_prime: float = 1.0) -> torch.Tensor:
    """The width that Corollary III.2 asks for, shape (R,):

    .. math::
       k \\ge C'\\sigma_A^{-4}\\, n\\, \\psi\\Big(\\frac{L_{\\mathcal L,0}}{2}\\,\\rho^2\\Big)^4,
       \\qquad \\rho = C\\|A\\|\\sqrt{n\\log d} + \\sqrt m\\,(\\|A\\bar x\\|_\\infty + \\|\\varepsilon\\|_\\infty).

    The paper leaves C and C' unnamed ("depend only on the activation and D");
    they are parameters here, 1 by default. For ½-MSE, :math:`L_{\\mathcal L,0} = 1`
    and :math:`\\psi(s) = \\sqrt{2s}`, so the bound is :math:`C'\\sigma_A^{-4} n \\rho^4`.
    """
    d = check_int("d", d, low=2)
    check_positive("C", C)
    check_positive("C_prime", C_prime)
    loss = get_loss(loss)
    A, n, m = problem.A, problem.A.n, problem.A.m
    rho = (C * A.norm * math.sqrt(n * math.log(d))
           + math.sqrt(m) * (problem.y_bar.abs().amax(1) + problem.noise.abs().amax(1)))
    LL0 = loss.grad_ratio_bound(problem.y, rho)
    if not torch.isfinite(LL0).all():  # e.g. the KL loss: no finite width is guaranteed
        return torch.full_like(rho, math.inf)
    s = LL0 / 2 * rho ** 2
    psi = loss.desingularizer(problem.y, s)
    return C_prime * A.sigma_min ** -4 * n * psi.psi(s) ** 4


def corollary_probability(n: int, d: int) -> float:
    """The probability :math:`1 - 2n^{-1} - d^{-1}` with which Corollary III.2 gives (4)."""
    return 1 - 2 / check_int("n", n) - 1 / check_int("d", d)


# ---------------------------------------------------------------------------
# Chapter "Theorem III.1": one problem end to end, the bounds against the run,
# and how often condition (4) holds compared with how often training converges.
# ---------------------------------------------------------------------------

def sigma_min_nonzero_jacobian(net: TwoLayerDIP, layers: str = "W", state: State | None = None,
                               rtol: float = 1e-10) -> torch.Tensor:
    """The paper's literal :math:`\\sigma_{\\min}(J_g)`: the smallest *non-zero* singular value
    (Section II-A), shape (R,).

    The non-zero singular values of :math:`J_g` are the square roots of the
    eigenvalues of the n×n Gram matrix :math:`J_gJ_g^T` above ``rtol`` times the
    largest. Unlike :meth:`TwoLayerDIP.sigma_min_jacobian`, this is positive even when
    :math:`J_g` does not map onto :math:`R^n` (e.g. ``k < n`` training W alone), which is
    why condition (4) must be read with the latter.
    """
    check_layers(layers)
    check_positive("rtol", rtol)
    s = net.initial_state() if state is None else state
    ev = torch.linalg.eigvalsh(jacobian_gram(s.h, s.V, net.activation, layers, net.u_norm2))
    keep = ev > rtol * ev[:, -1:]
    return torch.where(keep, ev, torch.full_like(ev, math.inf)).min(dim=1).values.sqrt()


def injective_operator(m: int, n: int, runs: int = 1, smin: float = 1.0, smax: float = 2.0,
                       seed: int = 0, dtype=None, device="cpu"):
    """:math:`A = U\\,\\mathrm{diag}(\\mathrm{linspace}(s_{\\min}, s_{\\max}, r))\\,V^T`, ``r = min(m, n)``,
    with U (m×r) and V (n×r) Haar-random orthonormal columns; shape (runs, m, n).

    For ``m = n`` this is the paper's well-conditioned operator of Fig 3b/4
    (:func:`dipnb.well_conditioned_operator`). For ``m > n`` it is injective but not
    surjective, for ``m < n`` surjective but not injective; in every case
    :math:`\\sigma_A = s_{\\min}` (smallest non-zero singular value) and :math:`\\|A\\| = s_{\\max}`.
    """
    return well_conditioned_operator(n, runs, smin, smax, seed,
                                     DEFAULT_DTYPE if dtype is None else dtype, device, m=m)


@dataclass
class TheoremRun:
    """One problem of Theorem III.1 run end to end (see :func:`theorem_run`).

    Attributes
    ----------
    net, problem : the networks and problems (R runs).
    th : TheoremIII1, every constant at θ0 with ``L = L_est``.
    L0, L_est : Hessian norm at θ0, and its maximum along a preliminary run (the
        numerical ``L``).
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

    def bounds(self, tau=None) -> dict:
        """Measured curves and bounds (6), (7), (8) at ``tau`` (default: recorded steps), each (T, R)."""
        tau = torch.as_tensor(self.traj.steps if tau is None else tau)
        return {"loss": (self.traj.loss, self.th.loss_bound(tau)),
                "param": (self.traj.dist_ref, self.th.param_bound(tau)),
                "error": (self.traj.error, self.th.error_bound(tau, dist=self.dist_sigma))}


def dist_to_sigma_prime(net: TwoLayerDIP, problem: Problem, gamma, R_prime, steps: int = 5000,
                        layers: str = "W", tol: float = 1e-28) -> torch.Tensor:
    """A certified upper bound on :math:`\\mathrm{dist}(\\bar x, \\Sigma')` in (8), shape (R,).

    :math:`\\Sigma' = g(u, B(0, R' + \\|\\theta_0\\|))` contains :math:`g(u,\\theta)` for
    every θ with :math:`\\|\\theta - \\theta_0\\| \\le R'`. Gradient descent (2) on the
    *noiseless* data :math:`\\bar y = A\\bar x` from the same θ0 gives a limit θ'. If
    :math:`\\|\\theta' - \\theta_0\\| \\le R'` then :math:`g(u,\\theta') \\in \\Sigma'` and
    :math:`\\mathrm{dist}(\\bar x, \\Sigma') \\le \\|g(u,\\theta') - \\bar x\\|`, which is at
    round-off when the run converged and A is injective. Returns ``+inf`` for the runs
    where the certificate fails (θ' left the ball). Without noise this is the
    error at the end of the run itself.
    """
    clean = Problem(problem.A, problem.x_bar, torch.zeros_like(problem.noise))
    tr = gradient_descent(net, clean, gamma, steps, layers, tol=tol, record=[0],
                          stall_window=200, progress=False)
    err = (net.forward(tr.final) - problem.x_bar).norm(dim=1)
    inside = net.param_distance(tr.final) <= torch.as_tensor(R_prime, dtype=err.dtype)
    return torch.where(inside, err, torch.full_like(err, math.inf))


def theorem_run(n: int = 2, m: int = 2, k: int = 20000, gamma_L: float = 0.5, noise_std: float = 0.0,
                runs: int = 1, steps: int = 2000, ref_steps: int = 5000, d: int = 4, seed: int = 0,
                L_steps: int = 300) -> TheoremRun:
    """Theorem III.1 on the problem of its chapter: every constant, a run, and the bounds.

    The hidden layer W of the network (9) (sigmoid, Rademacher V0) is trained with
    ½-MSE on :math:`y = A\\bar x + \\varepsilon`, ``A`` from :func:`injective_operator`
    (:math:`\\sigma_A = 1`, :math:`\\|A\\| = 2`), :math:`\\bar x \\sim N(0, I_n)`,
    :math:`\\varepsilon \\sim N(0, \\text{noise\\_std}^2 I_m)`.

    ``L`` is estimated by :func:`estimate_L` (largest Hessian norm along ``L_steps``
    steps at γ = 1/(2 L0)), then :math:`\\gamma = \\text{gamma\\_L}/L`. θ∞ is the
    state of a run of ``ref_steps`` steps stopped when its loss stalls (round-off);
    the recorded run (every step, ``steps`` steps) measures
    :math:`\\|\\theta_\\tau-\\theta_\\infty\\|`. ``dist(x̄, Σ')`` is bounded by
    :func:`dist_to_sigma_prime`. Seeds: network ``seed``, operator ``seed+1``, data ``seed+2``.
    """
    n, m, k = check_int("n", n), check_int("m", m), check_int("k", k, low=n)
    check_positive("gamma_L", gamma_L)
    if not gamma_L < 2:
        raise ValueError(f"gamma_L must lie in ]0, 2[ (nu1, nu2 are defined for gamma*L < 2), got {gamma_L}")
    check_positive("noise_std", noise_std, allow_zero=True)
    net = TwoLayerDIP.init(runs, n, k, d=d, seed=seed)
    A = injective_operator(m, n, runs=runs, seed=seed + 1)
    pb = Problem.make(A, noise_std=noise_std, seed=seed + 2)
    L0 = hessian_norm(net, pb, iters=30)
    L = estimate_L(net, pb, gamma=0.5 / L0, steps=L_steps, points=4, iters=30) if L_steps else L0
    gamma = gamma_L / L
    th = theorem_quantities(net, pb, gamma=gamma, L=L)
    theta_inf = gradient_descent(net, pb, gamma, ref_steps, tol=0.0, stall_window=200, record=[0],
                                 progress=False).final
    traj = gradient_descent(net, pb, gamma, steps, tol=0.0, record=1, reference=theta_inf,
                            stall_window=None, progress=False)
    if noise_std == 0:   # the long run above is the noiseless run: reuse its limit
        err = (net.forward(theta_inf) - pb.x_bar).norm(dim=1)
        dist = torch.where(net.param_distance(theta_inf) <= th.R_prime, err, torch.full_like(err, math.inf))
    else:
        dist = dist_to_sigma_prime(net, pb, gamma, th.R_prime, steps=ref_steps)
    return TheoremRun(net, pb, th, L0, L, traj, theta_inf, dist)


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


def condition_vs_convergence(n: int = 2, m: int = 2, ks=(10, 100, 1000, 10000), runs: int = 50,
                             steps: int = 3000, tol: float = 1e-14, operator: str = "injective",
                             gamma_L: float = 0.5, noise_std: float = 0.0, d: int = 1,
                             seed: int = 0) -> dict:
    """How often condition (4) holds, against how often gradient descent converges.

    For each width ``k``, ``runs`` independent draws (network, operator, x̄) are
    trained on the hidden layer with ½-MSE and :math:`\\gamma = \\text{gamma\\_L}/L_0`,
    :math:`L_0` the Hessian norm at θ0 (so :math:`\\nu_1` is the same for every run).
    A run *converges* when :math:`\\mathcal L_y(y_\\tau) \\le` ``tol`` within ``steps``
    steps (the paper's Fig 1 uses 1e-14 and :math:`10^5` steps).

    Parameters
    ----------
    operator : {"injective", "gaussian"}
        :func:`injective_operator` (:math:`\\sigma_A = 1`, :math:`\\|A\\| = 2`) or iid N(0, 1)
        entries as in Fig 1.
    d : int
        Latent size; it does not change the dynamics (only ``h = Wu`` matters), so the
        default 1 keeps memory at O(runs·k).

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
    out = {key: [] for key in ("cond4", "converged", "stop_step", "R", "R_prime")}
    for i, k in enumerate(ks):
        s = seed + 1000 * i
        net = TwoLayerDIP.init(runs, n, k, d=d, seed=s)
        A = (injective_operator(m, n, runs=runs, seed=s + 1) if operator == "injective"
             else gaussian_operator(m, n, runs=runs, seed=s + 1))
        pb = Problem.make(A, noise_std=noise_std, seed=s + 2)
        L0 = hessian_norm(net, pb, iters=30)
        gamma = gamma_L / L0
        th = theorem_quantities(net, pb, gamma=gamma, L=L0)
        tr = gradient_descent(net, pb, gamma, steps, tol=tol, record=[0], stall_window=None, progress=False)
        out["cond4"].append(th.condition_4.cpu())
        out["converged"].append(tr.converged.cpu())
        out["stop_step"].append(tr.stop_step.cpu())
        out["R"].append(th.R.cpu())
        out["R_prime"].append(th.R_prime.cpu())
    res = {key: torch.stack(v).numpy() for key, v in out.items()}
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
    A perturbation of W with Frobenius norm ρ moves ``h = Wu`` by at most ρ‖u‖, so the
    points are :math:`h_0 + \\rho\\|u\\| e`, e a random unit vector.
    """
    points = check_int("points", points, low=0)
    check_positive("radius", radius)
    g = torch.Generator(device=net.V0.device).manual_seed(int(seed))
    s0 = net.initial_state()
    rho = torch.as_tensor(radius, dtype=s0.h.dtype, device=s0.h.device).expand(net.runs)
    best = hessian_norm(net, problem, s0, "W", loss, iters)
    for _ in range(points):
        e = torch.randn(s0.h.shape, dtype=s0.h.dtype, device=s0.h.device, generator=g)
        e = e / e.norm(dim=1, keepdim=True)
        st = State(s0.h + (rho * net.u_norm2.sqrt())[:, None] * e, s0.V)
        best = torch.maximum(best, hessian_norm(net, problem, st, "W", loss, iters))
    return best
