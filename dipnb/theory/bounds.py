r"""Certified bounds for Theorem III.1 on the two-layer network (9), ½-MSE (hidden layer W unless said).

* :func:`certified_L`: upper bounds on the L of Theorem III.1 (the Hessian norms sampled by
  :func:`dipnb.hessian_norm` and :func:`dipnb.estimate_L` are *lower* estimates and cannot
  certify :math:`\gamma \le 1/L`): ``L_global`` everywhere; ``L_descent`` on the segments
  between iterates, which is the theorem's L under an assumption on the paper's proof
  (stated there);
* :func:`certified_L_both`: both layers trained, an upper bound on the Hessian norm on the ball
  :math:`\mathbb B(\theta_0, \varrho)`, i.e. a Lipschitz constant of :math:`\nabla F` there;
* :func:`hessian_lower_bound`: a rigorous lower bound on the Hessian norm, of order
  :math:`\sigma_0^2\|A\|^2`, which no bound of order n/k (eq. 10) can stay above for large k;
* :func:`tangent_lambda_min`: :math:`\lambda_{\min}(A; T)` of A-5 and (8) on the tangent space of
  the network's image at a regular point (T = :math:`R^n` when :math:`\mathcal J_g` is onto).
"""
from __future__ import annotations

import math

import torch

from .._validation import check_layers, check_positive, check_same_runs
from ..core.losses import PowerLoss, get_loss
from ..core.network import State, TwoLayerDIP, forward, max_column_norm
from ..core.problems import Problem

__all__ = ["SUP_PHI", "certified_L", "certified_L_both", "hessian_lower_bound", "tangent_lambda_min",
           "jacobian_lipschitz_lower", "radius_R_upper"]


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
    * ``residual_coef`` :math:`\Lambda = \|u\|^2 a_2 M\|A\|/\sqrt k`: the residual part is at most
      :math:`\Lambda\|r\|` (its diagonal entries are :math:`\phi''(h_j)v_j^\top A^\top r/\sqrt k`);
    * ``L_global`` :math:`= G + \Lambda\,(\|A\|\|V_0\|_2\sup|\phi| + \|y\|)`: since
      :math:`\|g\| \le \|V_0\|_2\|\phi(h)\|/\sqrt k \le \|V_0\|_2\sup|\phi|`, this bounds the
      Hessian norm at *every* W, hence is a global Lipschitz constant of :math:`\nabla F`
      (what the paper's discussion of (10) asserts exists; ``inf`` for an unbounded φ);
    * ``L_descent`` :math:`= G + 2\Lambda\,\|r(\text{state})\|`: a Lipschitz constant of
      :math:`\nabla F` on every segment :math:`[\theta_\tau, \theta_{\tau+1}]` of gradient descent
      started at ``state`` with any step :math:`\gamma \le 1/L_{\rm descent}`. Proof, by
      induction on τ with the hypothesis :math:`\|y_\tau - y\| \le \|y_0 - y\|`: on the segment,
      :math:`\|r\| \le \|y_\tau - y\| + \|A\|\,\mathrm{Lip}(g)\,\gamma\|\nabla F(\theta_\tau)\|
      \le (1 + \gamma G)\|y_\tau - y\| \le 2\|y_0 - y\|` (:math:`\mathrm{Lip}(g)^2\|A\|^2 \le G`,
      :math:`\gamma G \le 1`), so the Hessian norm is :math:`\le L_{\rm descent}` there, the descent
      lemma gives :math:`F(\theta_{\tau+1}) \le F(\theta_\tau)`, i.e. :math:`\|y_{\tau+1} - y\| \le \|y_0 - y\|`.
      (The factor 2 is for the segments: at the iterates themselves
      :math:`\|y_\tau - y\| \le \|y_0 - y\|`.)

    **Assumption** (not proved here). That ``L_descent`` certifies :math:`\gamma \le 1/L` for
    Theorem III.1 assumes that the theorem's proof uses L only through the Hessian on the
    segments :math:`[\theta_\tau, \theta_{\tau+1}]` between consecutive iterates (the
    descent lemma and differences of gradients), as the standard gradient-descent argument
    does. The paper defers its proof to its reference [17] (Buskulic, Fadili, Quéau, HAL
    preprint 04496435), which was not examined here. If that proof used L on a larger set
    (the ball :math:`\mathbb B(\theta_0, R')`, the convex hull of the iterates), ``L_descent`` would
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


def _check_both_mse(net: TwoLayerDIP, problem: Problem, loss, what: str):
    """:func:`_check_W_mse` for both layers, and the loss: the bound is derived for the ½-MSE only."""
    _check_W_mse(net, problem, what)
    lo = get_loss(loss)
    if not (isinstance(lo, PowerLoss) and lo.p == 2):
        raise ValueError(f"{what} is derived for the ½-MSE loss only, got loss {lo!r}; accepted: 'mse' (HalfMSE())")


def _check_radius(radius, runs: int) -> torch.Tensor:
    try:
        t = torch.as_tensor(radius, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"radius must be a finite number >= 0 or a tensor of them, got {radius!r}") from None
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] not in (1, runs)):
        raise ValueError(f"radius must be a number or a tensor of shape ({runs},) (one radius per run), "
                         f"got shape {tuple(t.shape)}")
    check_positive("radius", t, allow_zero=True)
    return t.expand(runs)


def _spectral_norm(X: torch.Tensor) -> torch.Tensor:
    """:math:`\\|X\\|_2` of each (n, k) matrix of X (R, n, k), from the smaller Gram matrix; shape (R,)."""
    G = X @ X.transpose(1, 2) if X.shape[1] <= X.shape[2] else X.transpose(1, 2) @ X
    return torch.linalg.eigvalsh(G)[:, -1].clamp(min=0).sqrt()


def certified_L_both(net: TwoLayerDIP, problem: Problem, radius, state: State | None = None,
                     loss="mse") -> dict:
    r"""A certified upper bound on :math:`\sup_{\mathbb B(\theta_c,\varrho)}\|\nabla^2F\|`, both layers
    trained, ½-MSE: a Lipschitz constant of :math:`\nabla F` on the (convex) ball; shape (R,).

    :math:`F(\theta) = \frac12\|Ag(u,\theta) - y\|^2` with g of (9), :math:`\theta = (V, W)` with the
    Frobenius norm :math:`\|\Delta\|^2 = \|\Delta_V\|_F^2 + \|\Delta_W\|_F^2`, centre
    :math:`\theta_c` = ``state`` (default :math:`\theta_0`), :math:`\varrho` = ``radius`` (any
    :math:`\varrho \ge 0`, e.g. R or R' of (5)). Notation: :math:`h = Wu`, :math:`r = Ag - y` (the
    residual), :math:`a_1 = \sup|\phi'|`, :math:`a_2 = \sup|\phi''|` (not A-3's B),
    :math:`M_c = \max_j\|v_{c,j}\|`, :math:`\|\cdot\|_2` the spectral norm, a subscript c for the value at
    :math:`\theta_c`. For a unit direction Δ, :math:`t_V = \|\Delta_V\|_F`, :math:`t_W = \|\Delta_W\|_F`
    (:math:`t_V^2 + t_W^2 = 1`) and :math:`\delta h = \Delta_W u` (:math:`\|\delta h\| \le t_W\|u\|`), exactly
    (the second derivative of (9) along Δ: the VW cross block and the WW block of
    :math:`\sum_i (A^\top r)_i\nabla^2g_i`)

    .. math::
       \nabla^2F[\Delta,\Delta] = \|A\mathcal J_g\Delta\|^2 + (A^\top r)^\top\frac{2\Delta_V(\phi'(h)\odot\delta h)
       + V(\phi''(h)\odot\delta h\odot\delta h)}{\sqrt k},

    and :math:`\|\nabla^2F\| = \sup_\Delta|\nabla^2F[\Delta,\Delta]|` (a symmetric operator). At every θ of
    the ball, :math:`\|V - V_c\|_F \le \varrho` and :math:`\|h - h_c\| \le \|u\|\varrho`, so:

    1. :math:`\|\mathcal J_V\| = \|\phi(h)\|/\sqrt k \le j_V := \min(\|\phi(h_c)\| + a_1\|u\|\varrho,\
       \sqrt k\sup|\phi|)/\sqrt k` (φ is :math:`a_1`-Lipschitz; ``SUP_PHI``, :math:`+\infty` if φ is unbounded);
    2. :math:`\|\mathcal J_W\| \le \|u\|\,\|V\mathrm{diag}\,\phi'(h)\|_2/\sqrt k \le j_W :=
       \frac{\|u\|}{\sqrt k}\min\big(a_1(\|V_c\|_2 + \varrho),\ \|V_c\mathrm{diag}\,\phi'(h_c)\|_2 + a_2M_c\|u\|\varrho
       + a_1\varrho\big)`, the second from :math:`V\mathrm{diag}\,\phi'(h) = V_c\mathrm{diag}\,\phi'(h_c) +
       V_c\mathrm{diag}(\phi'(h) - \phi'(h_c)) + (V - V_c)\mathrm{diag}\,\phi'(h)` and
       :math:`\|V_c\mathrm{diag}(d)\|_2 \le \|V_c\mathrm{diag}(d)\|_F \le M_c\|d\|`;
    3. ``gauss_newton`` :math:`G = \|A\|^2(j_V^2 + j_W^2) \ge \|A\mathcal J_g\Delta\|^2`, as
       :math:`\|\mathcal J_g\Delta\| \le j_Vt_V + j_Wt_W \le (j_V^2 + j_W^2)^{1/2}` (Cauchy–Schwarz);
    4. :math:`\|g(\theta) - g(\theta_c)\| \le \ell\varrho`, ``lip_g``
       :math:`\ell = (j_V^2 + a_1^2\|u\|^2\|V_c\|_2^2/k)^{1/2}`, from
       :math:`\sqrt k(g - g_c) = (V - V_c)\phi(h) + V_c(\phi(h) - \phi(h_c))` and Cauchy–Schwarz (a Lipschitz
       bound of g on the ball). Hence ``residual`` :math:`\bar r \ge \|r\|`, the smaller of
       :math:`\|r_c\| + \|A\|\ell\varrho` and :math:`\|A\|(\|V_c\|_2 + \varrho)j_V + \|y\|`
       (:math:`\|g\| \le \|V\|_2\|\phi(h)\|/\sqrt k`); ``adjoint_residual``
       :math:`\bar r_A = \min(\|A^\top r_c\| + \|A\|^2\ell\varrho,\ \|A\|\bar r) \ge \|A^\top r\|`;
       ``column_residual`` :math:`\bar r_V \ge \max_j|v_j^\top A^\top r|`, the smaller of
       :math:`(M_c + \varrho)\bar r_A` and :math:`\max_j|v_{c,j}^\top A^\top r_c| + \varrho(M_c\|A\|^2\ell + \bar r_A)`
       (from :math:`v_j^\top A^\top r = v_{c,j}^\top A^\top r_c + v_{c,j}^\top A^\top(r - r_c) + (v_j - v_{c,j})^\top A^\top r`);
    5. the cross block: :math:`|2(A^\top r)^\top\Delta_V(\phi'(h)\odot\delta h)|/\sqrt k \le 2S_{VW}t_Vt_W` with
       ``cross`` :math:`S_{VW} = \Lambda_{VW}\bar r_A`, ``cross_coef`` :math:`\Lambda_{VW} = a_1\|u\|/\sqrt k`
       (:math:`\|\Delta_V\|_2 \le t_V`); the WW block:
       :math:`|\sum_j(v_j^\top A^\top r)\phi''(h_j)\delta h_j^2|/\sqrt k \le S_{WW}t_W^2` with ``ww``
       :math:`S_{WW} = \Lambda_{WW}\bar r_V`, ``ww_coef`` :math:`\Lambda_{WW} = a_2\|u\|^2/\sqrt k`. So the
       second-order part is at most ``second_order``
       :math:`\lambda_+ = (S_{WW} + \sqrt{S_{WW}^2 + 4S_{VW}^2})/2 = \max_{t_V^2+t_W^2=1}(2S_{VW}t_Vt_W + S_{WW}t_W^2)`,
       the largest eigenvalue of :math:`\begin{pmatrix}0&S_{VW}\\S_{VW}&S_{WW}\end{pmatrix}`.

    Hence ``L`` :math:`= G + \lambda_+ \ge \|\nabla^2F(\theta)\|` on all of :math:`\mathbb B(\theta_c, \varrho)`, so
    :math:`\|\nabla F(\theta) - \nabla F(\theta')\| \le L\|\theta - \theta'\|` there (mean value inequality,
    the ball being convex): the L of Theorem III.1 on a ball that holds the iterates (A-4; the paper's
    discussion after (10) bounds L only up to a constant). Every part is non-decreasing in ϱ; at ϱ = 0,
    G, :math:`\bar r_A` and :math:`\bar r_V` are the exact :math:`\|A\|^2\|\mathcal J_g\|^2`,
    :math:`\|A^\top r_c\|`, :math:`\max_j|v_{c,j}^\top A^\top r_c|`. Unlike :func:`certified_L`, there is no
    global bound: V is unbounded.

    Parameters
    ----------
    net, problem : TwoLayerDIP (activation satisfying A-3), Problem; R runs.
    radius : float or Tensor (R,)
        ϱ, finite and >= 0.
    state : State, optional
        The centre :math:`\theta_c` of the ball (default :math:`\theta_0`).
    loss : ``"mse"`` or HalfMSE
        Only the ½-MSE is accepted.

    Returns
    -------
    dict of float64 tensors (R,): ``L``, ``gauss_newton``, ``second_order``, ``residual``,
    ``adjoint_residual``, ``column_residual``, ``cross``, ``ww``, ``cross_coef``, ``ww_coef``, ``jac_V``,
    ``jac_W`` (:math:`j_V, j_W`), ``lip_g`` (ℓ); ``residual`` bounds :math:`\|Ag - y\|`, not
    :func:`certified_L`'s ``residual_norm`` (a value at one point).
    """
    _check_both_mse(net, problem, loss, "the certified bound on L for both layers")
    rho = _check_radius(radius, net.runs).to(device=net.V0.device)
    act, k, f64 = net.activation, net.k, torch.float64
    s = net.initial_state() if state is None else state
    h, V = s.h.to(f64), s.V.to(f64)
    un = net.u_norm2.to(f64).sqrt()
    a1, a2, sk = act.sup_dphi, act.sup_d2phi, math.sqrt(k)
    A_norm = problem.A.norm.to(f64).expand(net.runs)
    jV = act.phi(h).norm(dim=1) + a1 * un * rho
    if math.isfinite(SUP_PHI.get(act.name, math.inf)):
        jV = jV.clamp(max=sk * SUP_PHI[act.name])
    jV = jV / sk
    V_spec, M = _spectral_norm(V), max_column_norm(V)
    VD_spec = _spectral_norm(V * act.dphi(h)[:, None, :])
    jW = un / sk * torch.minimum(a1 * (V_spec + rho), VD_spec + a2 * M * un * rho + a1 * rho)
    G = A_norm ** 2 * (jV ** 2 + jW ** 2)
    lip = torch.sqrt(jV ** 2 + (a1 * un * V_spec) ** 2 / k)
    r_c = problem.A.A(forward(s.h, s.V, act)) - problem.y
    Ar_c = problem.A.A_adjoint(r_c).to(f64)
    r_bar = torch.minimum(r_c.to(f64).norm(dim=1) + A_norm * lip * rho,
                          A_norm * (V_spec + rho) * jV + problem.y.norm(dim=1).to(f64))
    rA_bar = torch.minimum(Ar_c.norm(dim=1) + A_norm ** 2 * lip * rho, A_norm * r_bar)
    vr_c = torch.einsum("rnk,rn->rk", V, Ar_c).abs().amax(1)
    rV_bar = torch.minimum((M + rho) * rA_bar, vr_c + rho * (M * A_norm ** 2 * lip + rA_bar))
    lam_vw, lam_ww = a1 * un / sk, a2 * un ** 2 / sk
    s_vw, s_ww = lam_vw * rA_bar, lam_ww * rV_bar
    second = (s_ww + torch.sqrt(s_ww ** 2 + 4 * s_vw ** 2)) / 2
    return {"L": G + second, "gauss_newton": G, "second_order": second, "residual": r_bar,
            "adjoint_residual": rA_bar, "column_residual": rV_bar, "cross": s_vw, "ww": s_ww,
            "cross_coef": lam_vw, "ww_coef": lam_ww, "jac_V": jV, "jac_W": jW, "lip_g": lip}


def hessian_lower_bound(net: TwoLayerDIP, problem: Problem, state: State | None = None,
                        sigma0: torch.Tensor | None = None) -> dict:
    r"""A rigorous lower bound on the Hessian norm of :math:`W\mapsto\frac12\|Ag(u,W)-y\|^2`; shape (R,).

    If :math:`J = \mathcal J_g(\theta)` maps onto :math:`R^n`, :math:`\|J^\top w\| \ge \sigma_{\min}(J)\|w\|`
    for every :math:`w \in R^n`, so :math:`\|J^\top A^\top A J\| = \|AJ\|^2 = \|J^\top A^\top\|^2
    \ge \sigma_{\min}(J)^2\|A^\top\|^2 = \sigma_{\min}(J)^2\|A\|^2` (:math:`\|A\| = \sigma_{\max}(A)`,
    for any A, square or not, injective or not). The residual part has norm at most
    :math:`\Lambda\|r\|` (:func:`certified_L`), so by the triangle inequality

    .. math:: \|\nabla^2F(\theta)\| \ge \sigma_{\min}(\mathcal J_g(\theta))^2\|A\|^2 - \Lambda\,\|r(\theta)\| .

    ``lower`` is this bound at ``state`` (default θ0). ``lower_ball`` is
    :math:`\sigma_0^2\|A\|^2/4 - \Lambda\|y_0 - y\|`, valid at every iterate of a run that Theorem
    III.1 covers: there :math:`\|\theta_\tau - \theta_0\| \le R' < R`, so (Weyl)
    :math:`\sigma_{\min}(\mathcal J_g(\theta_\tau)) \ge \sigma_0 - \mathrm{Lip}(\mathcal J_g)R = \sigma_0/2`, and
    :math:`\gamma \le 1/L` gives the descent property, :math:`\|y_\tau - y\| \le \|y_0 - y\|`.
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
    r"""A rigorous *lower* bound on the Lipschitz constant of :math:`\mathcal J_g` on any ball around ``state``
    (default θ0), whatever its radius and whether W alone or both layers are trained; shape (R,).

    Move W along :math:`E_j = e_j u^\top/\|u\|` (unit Frobenius norm), so that only
    :math:`h_j` changes, by :math:`t\|u\|`. Applied to the direction :math:`E_j`, the
    Jacobian is :math:`\mathcal J_g(\theta)E_j = v_j\phi'(h_j)\|u\|/\sqrt k`, hence

    .. math:: \frac{\|\mathcal J_g(\theta + tE_j) - \mathcal J_g(\theta)\|}{t} \ge
              \frac{\|v_j\|\,\|u\|\,|\phi'(h_j + t\|u\|) - \phi'(h_j)|}{t\sqrt k}
              \xrightarrow[t\to0]{} \frac{\|v_j\|\,\|u\|^2|\phi''(h_j)|}{\sqrt k},

    and every quotient with t at most the radius is at most the Lipschitz constant on the ball. The
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
