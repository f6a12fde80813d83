r"""Certified bounds for Theorem III.1 on the two-layer network (9), hidden layer W, ½-MSE.

* :func:`certified_L`: upper bounds on the L of Theorem III.1 (the Hessian norms sampled by
  :func:`dipnb.hessian_norm` and :func:`dipnb.estimate_L` are *lower* estimates and cannot
  certify :math:`\gamma \le 1/L`): ``L_global`` everywhere; ``L_descent`` on the segments
  between iterates, which is the theorem's L under an assumption on the paper's proof
  (stated there);
* :func:`hessian_lower_bound`: a rigorous lower bound on the Hessian norm, of order
  :math:`\sigma_0^2\|A\|^2`, which no bound of order n/k (eq. 10) can stay above for large k;
* :func:`tangent_lambda_min`: :math:`\lambda_{\min}(A; T)` of A-5 and (8) on the tangent space of
  the network's image at a regular point (T = :math:`R^n` when :math:`\mathcal J_g` is onto).
"""
from __future__ import annotations

import math

import torch

from .._validation import check_layers, check_positive, check_same_runs
from ..core.network import State, TwoLayerDIP, forward, max_column_norm
from ..core.problems import Problem

__all__ = ["SUP_PHI", "certified_L", "hessian_lower_bound", "tangent_lambda_min", "jacobian_lipschitz_lower",
           "radius_R_upper"]


#: :math:`\sup|\phi|` of the bounded activations (the global bound of :func:`certified_L` needs it).
SUP_PHI = {"sigmoid": 1.0, "tanh": 1.0}


def _check_W_mse(net: TwoLayerDIP, problem: Problem, what: str):
    net.activation.require_A3(what)
    check_same_runs(net, problem)


def certified_L(net: TwoLayerDIP, problem: Problem, state: State | None = None) -> dict:
    r"""Certified upper bounds on the L of Theorem III.1, ½-MSE, hidden layer W trained; shape (R,).

    With :math:`F(W) = \frac12\|Ag(u,W) - y\|^2`, :math:`h = Wu`, :math:`r = Ag - y`,
    :math:`J_h = V\mathrm{diag}(\phi'(h))/\sqrt k` and V = V0 fixed, the Hessian is (exactly)

    .. math::
       \nabla^2_W F[\Delta,\Delta] = \nabla^2_h f[\Delta u, \Delta u],\quad
       \nabla^2_h f = J_h^\top A^\top A J_h + \mathrm{diag}\big(\phi''(h)\odot V^\top A^\top r\big)/\sqrt k ,

    so :math:`\|\nabla^2_W F\| = \|u\|^2\|\nabla^2_h f\|` (the factor is :math:`\|u\|^2`, from
    :math:`\|\Delta u\| \le \|\Delta\|_F\|u\|`, for *both* parts). With
    :math:`a_1 = \sup|\phi'|`, :math:`a_2 = \sup|\phi''|` (the sigmoid: 1/4 and
    :math:`1/(6\sqrt3)`; not A-3's B, which is only an upper bound of both),
    :math:`M = \max_j\|v_j\|` and :math:`\|V_0\|_2` the spectral norm:

    * ``gauss_newton`` :math:`G = \|u\|^2 a_1^2\|A\|^2\|V_0\|_2^2/k \ge \|u\|^2\|AJ_h\|^2`, everywhere;
    * ``residual_coef`` :math:`c = \|u\|^2 a_2 M\|A\|/\sqrt k`: the residual part is at most
      :math:`c\|r\|` (its diagonal entries are :math:`\phi''(h_j)v_j^\top A^\top r/\sqrt k`);
    * ``L_global`` :math:`= G + c\,(\|A\|\|V_0\|_2\sup|\phi| + \|y\|)`: since
      :math:`\|g\| \le \|V_0\|_2\|\phi(h)\|/\sqrt k \le \|V_0\|_2\sup|\phi|`, this bounds the
      Hessian norm at *every* W, hence is a global Lipschitz constant of :math:`\nabla F`
      (what the paper's discussion of (10) asserts exists; ``inf`` for an unbounded φ);
    * ``L_descent`` :math:`= G + 2c\,\|r(\text{state})\|`: a Lipschitz constant of
      :math:`\nabla F` on every segment :math:`[\theta_\tau, \theta_{\tau+1}]` of gradient descent
      started at ``state`` with any step :math:`\gamma \le 1/L_{\rm descent}`. Proof, by
      induction on τ with the hypothesis :math:`\|r_\tau\| \le \|r_0\|`: on the segment,
      :math:`\|r\| \le \|r_\tau\| + \|A\|\,\mathrm{Lip}(g)\,\gamma\|\nabla F(\theta_\tau)\|
      \le (1 + \gamma G)\|r_\tau\| \le 2\|r_0\|` (:math:`\mathrm{Lip}(g)^2\|A\|^2 \le G`,
      :math:`\gamma G \le 1`), so the Hessian norm is :math:`\le L_{\rm descent}` there, the descent
      lemma gives :math:`F(\theta_{\tau+1}) \le F(\theta_\tau)`, i.e. :math:`\|r_{\tau+1}\| \le \|r_0\|`.
      (The factor 2 is for the segments: at the iterates themselves
      :math:`\|r_\tau\| \le \|r_0\|`.)

    **Assumption** (not proved here). That ``L_descent`` certifies :math:`\gamma \le 1/L` for
    Theorem III.1 assumes that the theorem's proof uses L only through the Hessian on the
    segments :math:`[\theta_\tau, \theta_{\tau+1}]` between consecutive iterates (the
    descent lemma and differences of gradients), as the standard gradient-descent argument
    does. The paper defers its proof to its reference [17] (Buskulic, Fadili, Quéau, HAL
    preprint 04496435), which was not examined here. If that proof used L on a larger set
    (the ball :math:`B(\theta_0, R')`, the convex hull of the iterates), ``L_descent`` would
    not be certified for it; ``L_global`` would, being a Lipschitz constant of
    :math:`\nabla F` everywhere. What is proved above (both bounds, on their sets) does not
    depend on this assumption.

    Returns
    -------
    dict of tensors (R,): ``gauss_newton``, ``residual_coef``, ``residual_norm``
    (:math:`\|r\|` at ``state``), ``residual_global`` (the global bound on :math:`\|r\|`),
    ``L_global`` and ``L_descent``.
    """
    _check_W_mse(net, problem, "the certified bound on L")
    act, k = net.activation, net.k
    s = net.initial_state() if state is None else state
    u2 = net.u_norm2
    A_norm = problem.A.norm.expand(net.runs)
    V_spec = torch.linalg.matrix_norm(s.V, ord=2)
    M = max_column_norm(s.V)
    G = u2 * act.sup_dphi ** 2 * A_norm ** 2 * V_spec ** 2 / k
    c = u2 * act.sup_d2phi * M * A_norm / math.sqrt(k)
    r = (problem.A.A(forward(s.h, s.V, act)) - problem.y).norm(dim=1)
    r_glob = A_norm * V_spec * SUP_PHI.get(act.name, math.inf) + problem.y.norm(dim=1)
    return {"gauss_newton": G, "residual_coef": c, "residual_norm": r, "residual_global": r_glob,
            "L_global": G + c * r_glob, "L_descent": G + 2 * c * r}


def hessian_lower_bound(net: TwoLayerDIP, problem: Problem, state: State | None = None,
                        sigma0: torch.Tensor | None = None) -> dict:
    r"""A rigorous lower bound on the Hessian norm of :math:`W\mapsto\frac12\|Ag(u,W)-y\|^2`; shape (R,).

    If :math:`J = \mathcal J_g(\theta)` maps onto :math:`R^n`, :math:`\|J^\top w\| \ge \sigma_{\min}(J)\|w\|`
    for every :math:`w \in R^n`, so :math:`\|J^\top A^\top A J\| = \|AJ\|^2 = \|J^\top A^\top\|^2
    \ge \sigma_{\min}(J)^2\|A^\top\|^2 = \sigma_{\min}(J)^2\|A\|^2` (:math:`\|A\| = \sigma_{\max}(A)`,
    for any A, square or not, injective or not). The residual part has norm at most
    :math:`c\|r\|` (:func:`certified_L`), so by the triangle inequality

    .. math:: \|\nabla^2F(\theta)\| \ge \sigma_{\min}(\mathcal J_g(\theta))^2\|A\|^2 - c\,\|r(\theta)\| .

    ``lower`` is this bound at ``state`` (default θ0). ``lower_ball`` is
    :math:`\sigma_0^2\|A\|^2/4 - c\|r_0\|`, valid at every iterate of a run that Theorem
    III.1 covers: there :math:`\|\theta_\tau - \theta_0\| \le R' < R`, so (Weyl)
    :math:`\sigma_{\min}(\mathcal J_g(\theta_\tau)) \ge \sigma_0 - \mathrm{Lip}(\mathcal J_g)R = \sigma_0/2`, and
    :math:`\gamma \le 1/L` gives the descent property, :math:`\|r_\tau\| \le \|r_0\|`.
    ``sigma0`` defaults to :math:`\sigma_{\min}(\mathcal J_g(\theta_0))`.

    Returns dict of tensors (R,): ``sigma_min2`` (:math:`\sigma_{\min}(\mathcal J_g)^2` at ``state``),
    ``gauss_newton_lower``, ``residual_upper``, ``lower``, ``lower_ball``.
    """
    _check_W_mse(net, problem, "the lower bound on the Hessian norm")
    s = net.initial_state() if state is None else state
    cl = certified_L(net, problem, s)
    A_norm = problem.A.norm.expand(net.runs)
    s2 = torch.linalg.eigvalsh(net.gram(s, layers="W"))[:, 0].clamp(min=0)
    gn_low = s2 * A_norm ** 2
    res_up = cl["residual_coef"] * cl["residual_norm"]
    s0 = net.sigma_min_jacobian(layers="W") if sigma0 is None else sigma0
    r0 = cl["residual_norm"] if state is None else certified_L(net, problem)["residual_norm"]
    return {"sigma_min2": s2, "gauss_newton_lower": gn_low, "residual_upper": res_up,
            "lower": gn_low - res_up,
            "lower_ball": s0 ** 2 * A_norm ** 2 / 4 - cl["residual_coef"] * r0}


def tangent_lambda_min(net: TwoLayerDIP, problem: Problem, state: State | None = None,
                       layers: str = "W", rtol: float = 1e-10) -> dict:
    r""":math:`\lambda_{\min}(A; T)` of A-5 and (8), with T the range of :math:`\mathcal J_g` at ``state``; shape (R,).

    At a point :math:`g(u,\theta)` near which :math:`\mathcal J_g` has constant rank r, the image of the
    network is locally an r-dimensional manifold with tangent space
    :math:`T = \mathrm{range}\,\mathcal J_g(\theta)` (the range of the n×n Gram matrix). With Q an
    orthonormal basis of T, :math:`\lambda_{\min}(A;T) = \sigma_r(AQ)` (0 if
    :math:`\ker A\cap T \ne \{0\}`, e.g. when m < r). When :math:`\mathcal J_g` is onto (r = n),
    T = :math:`R^n` and this is the n-th singular value of A: A-5 is then ``ker A = {0}``.

    Returns dict: ``rank`` (R,) ints and ``lambda_min`` (R,).
    """
    check_layers(layers)
    check_positive("rtol", rtol)
    s = net.initial_state() if state is None else state
    ev, vec = torch.linalg.eigh(net.gram(s, layers=layers))
    keep = ev > rtol * ev[:, -1:]
    Amat = problem.A.matrix().expand(net.runs, -1, -1)
    ranks, lams = [], []
    for i in range(net.runs):
        Q = vec[i][:, keep[i]]
        sv = torch.linalg.svdvals(Amat[i] @ Q)
        r = Q.shape[1]
        ranks.append(r)
        lams.append(sv[r - 1] if sv.numel() >= r else torch.zeros((), dtype=sv.dtype))
    return {"rank": torch.tensor(ranks), "lambda_min": torch.stack(lams)}


def jacobian_lipschitz_lower(net: TwoLayerDIP, state: State | None = None) -> torch.Tensor:
    r"""A rigorous *lower* bound on :math:`\mathrm{Lip}_{B(\theta, r)}(\mathcal J_g)` at ``state``
    (default θ0), for any radius r > 0 and whether W alone or both layers are trained; shape (R,).

    Move W along :math:`E_j = e_j u^\top/\|u\|` (unit Frobenius norm), so that only
    :math:`h_j` changes, by :math:`t\|u\|`. Applied to the direction :math:`E_j`, the
    Jacobian is :math:`\mathcal J_g(\theta)E_j = v_j\phi'(h_j)\|u\|/\sqrt k`, hence

    .. math:: \frac{\|\mathcal J_g(\theta + tE_j) - \mathcal J_g(\theta)\|}{t} \ge
              \frac{\|v_j\|\,\|u\|\,|\phi'(h_j + t\|u\|) - \phi'(h_j)|}{t\sqrt k}
              \xrightarrow[t\to0]{} \frac{\|v_j\|\,\|u\|^2|\phi''(h_j)|}{\sqrt k},

    and every quotient with :math:`t \le r` is at most the Lipschitz constant on the ball. The
    bound is the largest of these limits over the neurons j. Against the upper bound of
    :func:`dipnb.jacobian_lipschitz` it shows how much the radius R of (5) could grow with a
    sharper constant (:func:`radius_R_upper`).
    """
    s = net.initial_state() if state is None else state
    act, k = net.activation, net.k
    act.require_A3("the lower bound on the Lipschitz constant of the Jacobian")
    u2 = net.u_norm2
    per = s.V.norm(dim=1) * act.d2phi(s.h).abs()                 # (R, k): ||v_j|| |phi''(h_j)|
    return u2 * per.max(dim=1).values / math.sqrt(k)


def radius_R_upper(net: TwoLayerDIP, layers: str = "W", sigma0: torch.Tensor | None = None) -> torch.Tensor:
    r"""An upper bound on the radius R of (5), :math:`R \le \sigma_0/(2\,\mathrm{Lip}_{\rm low})`, with
    :math:`\mathrm{Lip}_{\rm low}` of :func:`jacobian_lipschitz_lower` (a lower bound on the
    Lipschitz constant of the Jacobian on any ball around θ0); shape (R,). Condition (4),
    :math:`R' < R`, fails for *every* admissible Lipschitz constant once :math:`R'` exceeds it."""
    check_layers(layers)
    s0 = net.sigma_min_jacobian(layers=layers) if sigma0 is None else sigma0
    if layers == "V":
        return torch.full_like(s0, math.inf)
    return s0 / (2 * jacobian_lipschitz_lower(net))
