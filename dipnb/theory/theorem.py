"""The quantities of Theorem III.1, computed for a given problem and network.

The closed-form constants (the Lipschitz bound of :math:`\\mathcal J_g`, R of (5), ν1, ν2, the
estimate (10)) are written in :mod:`dipnb.theory.constants` and re-exported here.

Everything is batched over runs (shape (R,)). The paper is short and leaves some
constants implicit; what this module uses, and why, is stated in each docstring:

* :math:`\\sigma_{\\min}(\\mathcal J_g(0))` is the smallest singular value of the Jacobian
  as a map onto :math:`R^n` (square root of the smallest eigenvalue of the
  n×n Gram matrix), see :func:`dipnb.sigma_min_jacobian`.
* :math:`\\mathrm{Lip}_{\\mathbb B(\\theta_0,R)}(\\mathcal J_g)` is bounded in closed form
  (:func:`jacobian_lipschitz`), which turns the implicit definition of ``R`` in
  (5) into an explicit formula (:func:`radius_R`).
* ``L``, the Lipschitz constant of :math:`\\nabla_\\theta\\mathcal L_y(Ag(u,\\cdot))`,
  is either given, estimated by eq. (10) with its unnamed constant exposed
  (:func:`L_eq10`), or measured as the largest Hessian eigenvalue (in absolute
  value) at θ0 or along a trajectory (:func:`hessian_norm`, :func:`estimate_L`): these
  are *lower* estimates of the theorem's L; :func:`dipnb.theory.bounds.certified_L` gives certified
  *upper* bounds (½-MSE, hidden layer W), and :func:`dipnb.theory.bounds.hessian_lower_bound`
  the rigorous lower bound on the Hessian norm that rules out the n/k of (10).
* :func:`dipnb.theory.bounds.tangent_lambda_min` is :math:`\\lambda_{\\min}(A; T)` of A-5 and (8) on the tangent
  space of the network's image at a regular point.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._random import make_generator, offset_seed
from .._validation import check_int, check_layers, check_positive
from ..core.descent import gradient_descent
from ..core.losses import Desingularizer, Loss, get_loss
from ..core.network import State, TwoLayerDIP, forward, jacobian_gram
from ..core.problems import Problem
from .constants import L_eq10, jacobian_lipschitz, nu1, nu2, nu_constants, nu_profile, radius_R, radius_R_closed_form

__all__ = ["jacobian_lipschitz", "radius_R", "radius_R_closed_form", "nu1", "nu2", "nu_profile", "L_eq10",
           "hessian_norm", "hessian_extremes", "hessian_parts", "estimate_L", "TheoremIII1",
           "theorem_quantities", "sigma_min_nonzero_jacobian", "certified_dist", "dist_to_sigma_prime"]


def _hessian_operator(net: TwoLayerDIP, problem: Problem, state: State | None, layers: str,
                      loss: Loss | str):
    """``(hvp, start)``: the Hessian-vector product of :func:`hessian_norm`'s coordinates, on
    (R, D) tensors (D trained coordinates per run; the runs do not interact), and ``start(seed)``,
    a standard normal (R, D) vector."""
    check_layers(layers)
    loss = get_loss(loss)
    s = net.initial_state() if state is None else state
    un = net.u_norm2.sqrt()[:, None]
    a = torch.zeros_like(s.h, requires_grad=layers in ("W", "both"))
    V = s.V.detach().clone().requires_grad_(layers in ("V", "both"))
    params = [p for p in (a, V) if p.requires_grad]
    total = loss.value(problem.A.A(forward(s.h.detach() + un * a, V, net.activation)), problem.y).sum()
    grads = torch.autograd.grad(total, params, create_graph=True)
    R, sizes = s.h.shape[0], [p[0].numel() for p in params]

    def hvp(v: torch.Tensor) -> torch.Tensor:
        parts = torch.split(v, sizes, dim=1)
        dot = sum((gi * vi.reshape(gi.shape)).sum() for gi, vi in zip(grads, parts))
        Hv = torch.autograd.grad(dot, params, retain_graph=True)
        return torch.cat([h.reshape(R, -1) for h in Hv], dim=1).detach()

    def start(seed: int) -> torch.Tensor:
        g = make_generator(seed, s.h.device)
        return torch.cat([torch.randn(p.shape, dtype=p.dtype, device=p.device, generator=g).reshape(R, -1)
                          for p in params], dim=1)

    return hvp, start


def hessian_norm(net: TwoLayerDIP, problem: Problem, state: State | None = None, layers: str = "W",
                 loss: Loss | str = "mse", iters: int = 100, seed: int = 0) -> torch.Tensor:
    """Largest absolute eigenvalue of the Hessian of :math:`\\theta \\mapsto \\mathcal L_y(Ag(u,\\theta))`
    at ``state`` (default θ0), by power iteration with autograd Hessian-vector products; shape (R,).

    The loss depends on W only through :math:`h = Wu`; writing
    :math:`h = h_\\tau + \\|u\\| a` the Hessian in (a, V) has the same non-zero
    spectrum as the Hessian in θ = (V, W), at the cost of a (k + nk)-vector.
    Where the Hessian is indefinite this is :math:`\\max(\\lambda_{\\max}, -\\lambda_{\\min})`,
    an upper bound of :math:`\\lambda_{\\max}`: :func:`hessian_extremes` gives both, signed.
    """
    iters = check_int("iters", iters)
    hvp, start = _hessian_operator(net, problem, state, layers, loss)
    v = start(seed)
    for _ in range(iters):
        v = v / v.norm(dim=1, keepdim=True)
        v = hvp(v)
    return v.norm(dim=1)


def hessian_extremes(net: TwoLayerDIP, problem: Problem, state: State | None = None, layers: str = "W",
                     loss: Loss | str = "mse", iters: int = 60, seed: int = 0):
    """Largest and smallest eigenvalues of the Hessian of
    :math:`\\theta \\mapsto \\mathcal L_y(Ag(u,\\theta))` at ``state`` (default θ0), signed.

    :func:`hessian_norm` is :math:`\\max(\\lambda_{\\max}, -\\lambda_{\\min})`, which is
    :math:`\\lambda_{\\max}` only where the Hessian is positive semi-definite. Gradient descent
    on a quadratic is stable iff :math:`0 \\le \\gamma\\lambda < 2` for every eigenvalue λ:
    :math:`\\gamma\\lambda_{\\max} < 2` limits γ, a :math:`\\lambda_{\\min} < 0` does not.
    Lanczos with full reorthogonalisation on the Hessian-vector products of
    :func:`hessian_norm` (coordinates (a, V)), batched over runs: the extreme Ritz values lie
    in :math:`[\\lambda_{\\min}, \\lambda_{\\max}]`, converge to its ends as ``iters`` grows,
    and are exact to round-off once ``iters`` reaches the D trained coordinates of a run (k
    for ``"W"``, nk for ``"V"``, k + nk for ``"both"``). With W trained and d > 1, the
    k(d - 1) directions of W that leave :math:`h = Wu` unchanged have zero curvature: then
    :math:`\\lambda_{\\min} \\le 0 \\le \\lambda_{\\max}` (the Hessian in θ = (V, W)).

    Parameters
    ----------
    net, problem : TwoLayerDIP, Problem
        R runs.
    state : State, optional
        Where to evaluate the Hessian (default θ0).
    layers : {"W", "V", "both"}
        The trained layers.
    loss : Loss or str
        Default ``"mse"`` (the ½-MSE).
    iters : int
        Lanczos steps (>= 1), capped at D.
    seed : int
        Seed (>= 0) of the starting vector.

    Returns
    -------
    lam_max, lam_min : Tensor, shape (R,), float64
    """
    iters = check_int("iters", iters)
    seed = check_int("seed", seed, low=0)
    hvp, start = _hessian_operator(net, problem, state, layers, loss)
    v = start(seed)
    R, D = v.shape
    steps = min(iters, D)
    eps = torch.finfo(v.dtype).eps

    def orthogonalise(w, Q):                          # twice is enough (Kahan-Parlett)
        for _ in range(2):
            w = w - torch.einsum("rj,rjd->rd", torch.einsum("rjd,rd->rj", Q, w), Q)
        return w

    Q = torch.zeros(R, steps, D, dtype=v.dtype, device=v.device)
    alpha = torch.zeros(R, steps, dtype=v.dtype, device=v.device)
    beta = torch.zeros(R, max(steps - 1, 0), dtype=v.dtype, device=v.device)
    scale = torch.zeros(R, dtype=v.dtype, device=v.device)
    q = v / v.norm(dim=1, keepdim=True)
    for j in range(steps):
        Q[:, j] = q
        w = hvp(q)
        alpha[:, j] = (w * q).sum(1)
        if j + 1 == steps:
            break
        w = orthogonalise(w, Q[:, :j + 1])
        b = w.norm(dim=1)
        scale = torch.maximum(scale, torch.maximum(alpha[:, j].abs(), b))
        # an invariant subspace is exhausted: go on from a fresh direction, uncoupled (β = 0)
        lost = b <= 100 * eps * scale
        if lost.any():
            z = orthogonalise(start(offset_seed(seed, 1 + j)), Q[:, :j + 1])
            w = torch.where(lost[:, None], z, w)
            b = torch.where(lost, torch.zeros_like(b), b)
        q = w / w.norm(dim=1, keepdim=True)
        beta[:, j] = b
    T = torch.diag_embed(alpha) + torch.diag_embed(beta, 1) + torch.diag_embed(beta, -1)
    ritz = torch.linalg.eigvalsh(T.to(torch.float64))
    lam_max, lam_min = ritz[:, -1], ritz[:, 0]
    if layers != "V" and net.d > 1:                  # the directions of W orthogonal to u
        lam_max, lam_min = lam_max.clamp(min=0.0), lam_min.clamp(max=0.0)
    return lam_max, lam_min


def hessian_parts(net: TwoLayerDIP, problem: Problem, state: State | None = None) -> dict:
    """The two parts of the Hessian of :math:`W \\mapsto \\frac12\\|Ag(u, W) - y\\|^2`, exactly.

    Training the hidden layer only, in the coordinates of :func:`dipnb.hessian_norm`
    (:math:`h = h_\\tau + \\|u\\|a`, same non-zero spectrum as the Hessian in W),

    .. math::
       H = \\underbrace{\\|u\\|^2 J_h^\\top A^\\top A J_h}_{\\text{Gauss--Newton}}
         + \\underbrace{\\|u\\|^2\\,\\mathrm{diag}\\big(\\phi''(h)\\odot V^\\top r\\big)/\\sqrt k}_{\\text{residual}},
       \\qquad J_h = V\\mathrm{diag}(\\phi'(h))/\\sqrt k,\\quad r = A^\\top(Ag - y).

    The Gauss--Newton norm is :math:`\\lambda_{\\max}(A\\,\\mathcal J_g\\mathcal J_g^\\top A^\\top)`, which tends
    to :math:`\\|A\\|^2C_{\\phi'}^2` for wide networks (:math:`\\mathcal J_g\\mathcal J_g^\\top \\to C_{\\phi'}^2 I`);
    the residual norm is :math:`\\|u\\|^2\\max_j|\\phi''(h_j)(V^\\top r)_j|/\\sqrt k`, at most
    :math:`B D\\sqrt{n/k}\\,\\|A\\|\\,\\|y - y_\\tau\\|`: the second term of (10).
    The top absolute eigenvalue of H lies between
    :math:`|\\text{GN} - \\text{res}|` and :math:`\\text{GN} + \\text{res}`.

    Returns
    -------
    dict of tensors (R,): ``gauss_newton``, ``residual``, ``A_norm2_Cdphi2``
    (:math:`\\|A\\|^2C_{\\phi'}^2`), ``residual_bound`` (:math:`BD\\sqrt{n/k}\\|A\\|\\|y-y_\\tau\\|`).
    """
    s = net.initial_state() if state is None else state
    act, k = net.activation, net.k
    M = problem.A.matrix()
    G = net.gram(s, layers="W")                                  # includes ||u||^2
    gn = torch.linalg.eigvalsh(M @ G @ M.transpose(1, 2))[:, -1]
    x = forward(s.h, s.V, act)
    res_v = problem.A.A(x) - problem.y
    r = problem.A.A_adjoint(res_v)
    diag = act.d2phi(s.h) * torch.einsum("rnk,rn->rk", s.V, r) / math.sqrt(k)
    residual = net.u_norm2 * diag.abs().amax(1)
    A_norm = problem.A.norm.expand(net.runs)
    return {"gauss_newton": gn, "residual": residual,
            "A_norm2_Cdphi2": A_norm ** 2 * act.C_dphi ** 2,
            "residual_bound": act.B * net.D * math.sqrt(net.n / k) * A_norm * res_v.norm(dim=1)}


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
    sigma0 : :math:`\\sigma_{\\min}(\\mathcal J_g(0))`.
    lip_J, R, R_prime : the Lipschitz bound of :math:`\\mathcal J_g` on :math:`\\mathbb B(\\theta_0, R)`, and R, R' of (5).
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

    _SCALARS = ("sigma_A", "A_norm", "lambda_min", "sigma0", "lip_J", "R", "R_prime", "L", "gamma",
                "nu1", "nu2", "L_eq10", "loss0", "noise_norm")

    def scalars(self, run: int = 0) -> dict:
        """The constants of run ``run`` as plain floats (with ψ's ``psi_c`` and ``psi_alpha``),
        e.g. to save them with a result; :meth:`from_scalars` rebuilds the object."""
        out = {key: float(getattr(self, key)[run]) for key in self._SCALARS}
        c = self.psi.c
        out.update(psi_c=float(c[run] if torch.is_tensor(c) and c.ndim else c), psi_alpha=float(self.psi.alpha))
        return out

    @classmethod
    def from_scalars(cls, d: dict, layers: str) -> TheoremIII1:
        """One run's :class:`TheoremIII1` from the dict of :meth:`scalars` (e.g. a saved result)."""
        missing = [key for key in cls._SCALARS + ("psi_c", "psi_alpha") if key not in d]
        if missing:
            raise ValueError(f"from_scalars needs the keys of TheoremIII1.scalars(); missing {missing}")
        as1 = lambda v: torch.as_tensor([float(v)], dtype=torch.float64)  # noqa: E731
        psi = Desingularizer(float(d["psi_c"]), float(d["psi_alpha"]))
        return cls(**{key: as1(d[key]) for key in cls._SCALARS}, psi=psi, layers=check_layers(layers))

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
        The η of A-2; only the Kullback–Leibler loss's ψ depends on it.
    """
    check_layers(layers)
    loss = get_loss(loss)
    net.activation.require_A3("Theorem III.1")
    check_positive("gamma", gamma)
    check_positive("eta", eta)
    R_ = net.runs
    dt, dev = net.V0.dtype, net.V0.device
    def as_runs(t):
        return torch.as_tensor(t, dtype=dt, device=dev).expand(R_).clone()


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
    ok = gamma * L < 2
    n1, n2 = (torch.where(ok, nu, torch.full_like(nu, math.nan)) for nu in nu_constants(gamma, L))
    sA = as_runs(problem.A.sigma_min)
    R_prime = 2 * n1 * psi.psi(loss0) / (sA * sigma0)
    return TheoremIII1(
        sigma_A=sA, A_norm=as_runs(problem.A.norm), lambda_min=as_runs(problem.A.lambda_min),
        sigma0=sigma0, lip_J=lip, R=R, R_prime=R_prime, L=L, gamma=gamma, nu1=n1, nu2=n2,
        L_eq10=L_eq10(as_runs(problem.A.norm), (y0 - y).norm(dim=1), net.n, net.k),
        loss0=loss0, noise_norm=problem.noise.norm(dim=1), psi=psi, layers=layers)


def sigma_min_nonzero_jacobian(net: TwoLayerDIP, layers: str = "W", state: State | None = None,
                               rtol: float = 1e-10) -> torch.Tensor:
    """The paper's literal :math:`\\sigma_{\\min}(\\mathcal J_g)`: the smallest *non-zero* singular value
    (Section II-A), shape (R,).

    The non-zero singular values of :math:`\\mathcal J_g` are the square roots of the
    eigenvalues of the n×n Gram matrix :math:`\\mathcal J_g\\mathcal J_g^T` above ``rtol`` times the
    largest. Unlike :meth:`TwoLayerDIP.sigma_min_jacobian`, this is positive even when
    :math:`\\mathcal J_g` does not map onto :math:`R^n` (e.g. ``k < n`` training W alone), which is
    why condition (4) must be read with the latter.
    """
    check_layers(layers)
    check_positive("rtol", rtol)
    s = net.initial_state() if state is None else state
    ev = torch.linalg.eigvalsh(jacobian_gram(s.h, s.V, net.activation, layers, net.u_norm2))
    keep = ev > rtol * ev[:, -1:]
    return torch.where(keep, ev, torch.full_like(ev, math.inf)).min(dim=1).values.sqrt()


def dist_to_sigma_prime(net: TwoLayerDIP, problem: Problem, gamma, R_prime, steps: int = 5000,
                        layers: str = "W", tol: float = 1e-28) -> torch.Tensor:
    """A certified upper bound on :math:`\\mathrm{dist}(\\bar x, \\Sigma')` in (8), shape (R,).

    :math:`\\Sigma' = g(u, \\mathbb B(0, R' + \\|\\theta_0\\|))` contains :math:`g(u,\\theta)` for
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
    return certified_dist(err, net.param_distance(tr.final), R_prime)


def certified_dist(error, param_distance, R_prime) -> torch.Tensor:
    """The certificate of :func:`dist_to_sigma_prime`: an upper bound on
    :math:`\\mathrm{dist}(\\bar x, \\Sigma')` in (8) from a network state θ', shape (R,).

    :math:`\\Sigma' = g(u, \\mathbb B(0, R' + \\|\\theta_0\\|))` contains :math:`g(u, \\theta')` whenever
    :math:`\\|\\theta' - \\theta_0\\| \\le R'` (R' of (5)), and then
    :math:`\\mathrm{dist}(\\bar x, \\Sigma') \\le \\|g(u, \\theta') - \\bar x\\|`. Returns ``error`` where
    ``param_distance <= R_prime`` and ``+inf`` elsewhere (θ' outside the ball, or R' undefined,
    NaN, e.g. where :math:`\\gamma L \\ge 2`).

    Parameters
    ----------
    error : Tensor (R,) or float
        :math:`\\|g(u, \\theta') - \\bar x\\|`.
    param_distance : Tensor (R,) or float
        :math:`\\|\\theta' - \\theta_0\\|` (:meth:`dipnb.TwoLayerDIP.param_distance`).
    R_prime : Tensor (R,) or float
        R' of (5).
    """
    error = torch.as_tensor(error, dtype=torch.float64) if not torch.is_tensor(error) else error
    inside = (torch.as_tensor(param_distance, dtype=error.dtype, device=error.device)
              <= torch.as_tensor(R_prime, dtype=error.dtype, device=error.device))
    return torch.where(inside, error, torch.full_like(error, math.inf))

