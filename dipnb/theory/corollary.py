"""Corollary III.2 in numbers: how wide must the two-layer network (9) be for (4) to hold?

Training the hidden layer ``W`` only (Fig 1 of the paper), condition (4) has a
closed form. With :math:`\\sigma_0 = \\sigma_{\\min}(\\mathcal J_g(0))`,
:math:`M = \\max_j\\|v_{0,j}\\|` (:math:`= \\sqrt n` for Rademacher :math:`V_0`)
and B the constant of A-3, eq. (5) gives
:math:`R = \\sigma_0\\sqrt k / (2BM\\|u\\|^2)` (see :func:`dipnb.radius_R`) and
:math:`R' = 2\\nu_1\\psi(\\mathcal L_y(y_0))/(\\sigma_A\\sigma_0)`, so that

.. math::
   R' < R \\iff \\sqrt k > \\frac{4\\nu_1 B M \\|u\\|^2\\,\\psi(\\mathcal L_y(y_0))}{\\sigma_A\\sigma_0^2},

with :math:`\\psi(\\mathcal L_y(y_0)) = \\|y_0 - y\\|` for the ½-MSE. Everything
in (4) is proportional to :math:`\\nu_1`: this module computes the ratio
:math:`\\zeta = R'/R` at :math:`\\nu_1 = 1` (the gradient-flow limit
:math:`\\gamma \\to 0`), and (4) holds for a step with constant :math:`\\nu_1`
iff :math:`\\nu_1 \\zeta < 1` (e.g. :math:`\\nu_1 = 2` at :math:`\\gamma = 1/(2L)`,
:math:`\\nu_1 = 4` at :math:`\\gamma = 1/L`). No ``L`` has to be computed.

The statistics of the initialisation that (4) needs are sums over the ``k``
hidden neurons (:func:`init_statistics`), so a sweep draws the network in
chunks of bounded memory and adds them up: :math:`V_0` alone is
``runs * n * k`` doubles (2 GB for 50 runs, n = 5, k = 10^6).

With *both* layers trained (as Corollary III.2 assumes), :math:`\\mathcal J_g\\mathcal J_g^\\top` gains
:math:`\\|\\phi(h)\\|^2/k\\,I_n`, so :math:`\\sigma_0^2 = \\lambda_{\\min}(J_WJ_W^\\top) + \\|\\phi(h)\\|^2/k`,
and the Lipschitz bound of :math:`\\mathcal J_g` grows with the radius of the ball
(:func:`dipnb.jacobian_lipschitz`), so R solves a quadratic (:func:`dipnb.radius_R`) and grows
like :math:`(\\sigma_0\\sqrt k/2B)^{1/2}`: (4) then needs :math:`k \\propto R'^4`
(:func:`critical_width_both`), against :math:`k \\propto R'^2` for W alone.
"""
from __future__ import annotations

import math

import torch

from .._validation import check_int, check_positive, check_same_runs
from ..core.losses import Loss, get_loss
from ..core.network import TwoLayerDIP
from ..core.problems import Problem
from .constants import radius_R_closed_form

__all__ = ["corollary_width", "corollary_probability", "corollary_terms", "constants_for_width",
           "init_statistics", "merge_statistics", "ratio_from_statistics", "condition4_ratio",
           "critical_width", "critical_width_both"]


def corollary_width(problem: Problem, d: int, loss: Loss | str = "mse", C: float = 1.0,
                    C_prime: float = 1.0) -> torch.Tensor:
    """The width that Corollary III.2 asks for, shape (R,):

    .. math::
       k \\ge C'\\sigma_A^{-4}\\, n\\, \\psi\\Big(\\frac{L_{\\mathcal L,0}}{2}\\,(\\beta_1 + \\beta_2)^2\\Big)^4,
       \\qquad \\beta_1 = C\\|A\\|\\sqrt{n\\log d},\\quad
       \\beta_2 = \\sqrt m\\,(\\|A\\bar x\\|_\\infty + \\|\\varepsilon\\|_\\infty).

    The paper leaves C and C' unnamed ("depend only on the activation and D");
    they are parameters here, 1 by default. For ½-MSE, :math:`L_{\\mathcal L,0} = 1`
    and :math:`\\psi(s) = \\sqrt{2s}`, so the bound is :math:`C'\\sigma_A^{-4} n (\\beta_1 + \\beta_2)^4`.
    """
    d = check_int("d", d, low=2)
    check_positive("C", C)
    check_positive("C_prime", C_prime)
    loss = get_loss(loss)
    A, n, m = problem.A, problem.A.n, problem.A.m
    rho = (C * A.norm * math.sqrt(n * math.log(d))
           + math.sqrt(m) * (problem.y_bar.abs().amax(1) + problem.noise.abs().amax(1)))
    LL0 = loss.grad_ratio_bound(problem.y, rho)
    if not torch.isfinite(LL0).all():  # e.g. Kullback–Leibler: no finite width is guaranteed
        return torch.full_like(rho, math.inf)
    s = LL0 / 2 * rho ** 2
    psi = loss.desingularizer(problem.y, s)
    return C_prime * A.sigma_min ** -4 * n * psi.psi(s) ** 4


def corollary_probability(n: int, d: int) -> float:
    """The probability :math:`1 - 2n^{-1} - d^{-1}` with which Corollary III.2 gives (4)."""
    return 1 - 2 / check_int("n", n) - 1 / check_int("d", d)


def corollary_terms(problem: Problem, d: int, C: float = 1.0) -> dict:
    """The two terms of the radius in Corollary III.2, shape (R,) each:

    :math:`\\beta_1 = C\\|A\\|\\sqrt{n\\log d}` (key ``"a"``) and
    :math:`\\beta_2 = \\sqrt m(\\|A\\bar x\\|_\\infty + \\|\\varepsilon\\|_\\infty)` (key ``"b"``),
    so that for the ½-MSE :func:`dipnb.corollary_width` is :math:`C'\\sigma_A^{-4}n(\\beta_1+\\beta_2)^4`.
    Expanding, :math:`(\\beta_1+\\beta_2)^4` lies between :math:`\\beta_1^4 + \\beta_2^4` and
    :math:`8(\\beta_1^4 + \\beta_2^4)`,
    i.e. the bound is of the order of
    :math:`C'C^4\\kappa(A)^4 n^3\\log^2 d + C'\\sigma_A^{-4} n m^2(\\|A\\bar x\\|_\\infty + \\|\\varepsilon\\|_\\infty)^4`:
    ``first`` and ``second`` are these two terms (with C' = 1).
    """
    d = check_int("d", d, low=2)
    check_positive("C", C)
    A, n, m = problem.A, problem.A.n, problem.A.m
    a = C * A.norm * math.sqrt(n * math.log(d))
    b = math.sqrt(m) * (problem.y_bar.abs().amax(1) + problem.noise.abs().amax(1))
    sA = A.sigma_min
    a, b = a.expand(problem.runs), b.expand(problem.runs)
    return {"a": a, "b": b, "first": sA ** -4 * n * a ** 4, "second": sA ** -4 * n * b ** 4}


def constants_for_width(problem: Problem, d: int, target: float) -> dict:
    """What the unnamed constants of Corollary III.2 must be for the bound to equal ``target`` (½-MSE).

    Returns tensors (R,): ``C_prime`` with C = 1 (the bound is linear in C'), and ``C``
    with C' = 1, solving :math:`\\sigma_A^{-4}n(C\\|A\\|\\sqrt{n\\log d} + \\beta_2)^4 = target`
    (:math:`\\beta_2` of :func:`corollary_terms`); ``C`` is NaN where even C → 0 gives a
    bound above ``target`` (then no positive C works).
    """
    check_positive("target", target)
    t = corollary_terms(problem, d, C=1.0)
    k1 = corollary_width(problem, d, C=1.0, C_prime=1.0).expand(problem.runs)
    root = (target * problem.A.sigma_min ** 4 / problem.A.n) ** 0.25
    C = (root - t["b"]) / t["a"]
    return {"C_prime": target / k1, "C": torch.where(C > 0, C, torch.full_like(C, math.nan))}


def init_statistics(h: torch.Tensor, V: torch.Tensor, activation) -> dict:
    """Sums over the hidden neurons that condition (4) needs, shape-batched over runs.

    Parameters
    ----------
    h : Tensor (R, k)
        :math:`h_0 = W_0 u` (exactly N(0, I_k) under A-6, A-7).
    V : Tensor (R, n, k)
        :math:`V_0`.
    activation : Activation

    Returns
    -------
    dict with ``k`` (int), ``G`` (R, n, n) :math:`= \\sum_j \\phi'(h_j)^2 v_jv_j^T`,
    ``xs`` (R, n) :math:`= \\sum_j \\phi(h_j) v_j`, ``phi2`` (R,) :math:`= \\sum_j\\phi(h_j)^2`
    (for both layers trained) and ``M2`` (R,) :math:`= \\max_j\\|v_j\\|^2`. Two chunks of
    neurons combine by adding ``k``, ``G``, ``xs``, ``phi2`` and taking the max of ``M2``
    (:func:`merge_statistics`); then
    :math:`J_WJ_W^T` is ``G``/k (for :math:`\\|u\\| = 1`) and :math:`x_0` is ``xs``/√k (eq. 9).
    """
    Vd = V * activation.dphi(h)[:, None, :]
    return {"k": V.shape[-1], "G": Vd @ Vd.transpose(1, 2),
            "xs": torch.einsum("rnk,rk->rn", V, activation.phi(h)),
            "phi2": (activation.phi(h) ** 2).sum(1), "M2": (V * V).sum(1).amax(1)}


def merge_statistics(a: dict | None, b: dict) -> dict:
    """The statistics of two blocks of neurons as one (:func:`init_statistics` of each): the
    sums add, the maximum is the larger; ``a = None`` gives ``b``."""
    if a is None:
        return b
    return {"k": a["k"] + b["k"], "G": a["G"] + b["G"], "xs": a["xs"] + b["xs"],
            "phi2": a["phi2"] + b["phi2"], "M2": torch.maximum(a["M2"], b["M2"])}


def ratio_from_statistics(stats: dict, problem: Problem, activation, loss: Loss, eta: float,
                          u_norm2=1.0, layers: str = "W") -> dict:
    """R, R' (at ν1 = 1), σ0 and ζ = R'/R from the statistics of :func:`init_statistics`.

    ``layers="W"``: :math:`\\sigma_0^2` the smallest eigenvalue of :math:`\\|u\\|^2` ``G``/k,
    :math:`R = \\sigma_0\\sqrt k/(2BM\\|u\\|^2)`. ``layers="both"``:
    :math:`\\sigma_0^2` that eigenvalue plus :math:`\\|\\phi(h)\\|^2/k` and R the positive root of
    :func:`dipnb.radius_R`'s quadratic (both by :func:`dipnb.theory.theorem.radius_R_closed_form`). In both cases
    (4) with constant ν1 holds iff :math:`\\nu_1 \\zeta < 1` (R does not depend on ν1, R' is proportional to it).
    """
    if layers not in ("W", "both"):
        raise ValueError(f"layers must be 'W' or 'both' for condition (4) (V alone: R is infinite), got {layers!r}")
    k = stats["k"]
    if layers == "W" and k < stats["G"].shape[-1]:
        raise ValueError(f"sigma_min(\\mathcal J_g) needs k >= n when only W is trained; got k={k} < n={stats['G'].shape[-1]}")
    u_norm2 = torch.as_tensor(u_norm2, dtype=stats["G"].dtype, device=stats["G"].device)
    gram = u_norm2.reshape(-1, 1, 1) * stats["G"] / k
    s2 = torch.linalg.eigvalsh(gram)[:, 0].clamp(min=0)
    if layers == "both":
        s2 = s2 + stats["phi2"] / k
    sigma0 = s2.sqrt()
    x0 = stats["xs"] / math.sqrt(k)
    y = problem.y
    y0 = problem.A.A(x0)
    loss0 = loss.value(y0, y)
    psi0 = loss.desingularizer(y, loss0 + eta).psi(loss0)
    M = stats["M2"].sqrt()
    R = radius_R_closed_form(sigma0, activation.B, M, u_norm2, k, layers)
    sA = problem.A.sigma_min.expand_as(sigma0)
    R_prime = 2 * psi0 / (sA * sigma0)
    return {"sigma0": sigma0, "R": R, "R_prime": R_prime, "ratio": R_prime / R,
            "residual": (y0 - y).norm(dim=1), "psi0": psi0, "M": M}


def condition4_ratio(net: TwoLayerDIP, problem: Problem, loss: Loss | str = "mse",
                     eta: float = 1.0, layers: str = "W") -> dict:
    """The quantities of condition (4) at :math:`\\theta_0`, hidden layer trained, :math:`\\nu_1 = 1`.

    Returns a dict of tensors of shape (R,): ``sigma0`` (:math:`\\sigma_{\\min}(\\mathcal J_g(0))`),
    ``R`` and ``R_prime`` of (5) (``R_prime`` at :math:`\\nu_1 = 1`), ``ratio``
    :math:`\\zeta = R'/R`, ``residual`` :math:`\\|y_0 - y\\|` and ``psi0``
    :math:`\\psi(\\mathcal L_y(y_0))`. Condition (4) holds with constant
    :math:`\\nu_1` iff ``sigma0 > 0`` and :math:`\\nu_1 \\zeta < 1`. ``eta`` is the η of A-2
    (only the Kullback–Leibler loss's ψ depends on it). ``layers="both"`` gives condition (4) with both
    layers trained (:func:`ratio_from_statistics`).
    """
    check_positive("eta", eta)
    loss = get_loss(loss)
    net.activation.require_A3("condition (4)")
    check_same_runs(net, problem)
    stats = init_statistics(net.h0, net.V0, net.activation)
    return ratio_from_statistics(stats, problem, net.activation, loss, eta, net.u_norm2, layers)


def critical_width(ratio, k: int, nu1=1.0):
    """The width at which (4) would hold if :math:`\\sigma_0` and :math:`\\|y_0-y\\|` kept their values at ``k``.

    ``ratio`` is :math:`\\zeta = R'/R` at :math:`\\nu_1 = 1`, and
    :math:`\\zeta \\propto 1/\\sqrt k` at fixed :math:`\\sigma_0, \\|y_0 - y\\|`, so
    :math:`\\nu_1 \\zeta\\sqrt{k'/k} < 1 \\iff k' > k\\,(\\nu_1 \\zeta)^2`. Both quantities
    converge as k grows (:math:`\\sigma_0^2 \\to C_{\\phi'}^2`, :math:`x_0 \\to N(0, C_\\phi^2 I_n)`),
    so at a large ``k`` the median of this per-run width estimates the width at which
    (4) holds with probability 1/2 (checked against the sweep in the chapter).
    """
    check_int("k", k)
    check_positive("nu1", nu1)
    return k * (nu1 * ratio) ** 2


def critical_width_both(R_prime, sigma0, M, B: float = 0.25, nu1=1.0, u_norm2=1.0):
    """The width at which (4) holds with both layers trained, if R', σ0 and M kept their values.

    R of (5) is the positive root of :math:`\\frac{2B\\|u\\|}{\\sqrt k}\\big(\\|u\\|R^2 + (2 + \\|u\\|M)R\\big) = \\sigma_0`
    (:func:`dipnb.radius_R`), increasing in k; since the left side increases with R,
    :math:`R' < R` iff :math:`\\frac{2B\\|u\\|}{\\sqrt k}\\big(\\|u\\|R'^2 + (2 + \\|u\\|M)R'\\big) < \\sigma_0`, i.e.

    .. math:: k > \\Big(\\frac{2B\\|u\\|\\,(\\|u\\|\\nu_1^2R'^2 + (2+\\|u\\|M)\\nu_1R')}{\\sigma_0}\\Big)^2 ,

    with ``R_prime`` at :math:`\\nu_1 = 1`. For large R' this is :math:`(2B/\\sigma_0)^2\\nu_1^4R'^4`:
    k grows like :math:`R'^4` (against :math:`(2BM/\\sigma_0)^2\\nu_1^2R'^2` for W alone,
    :func:`critical_width`). σ0 and M converge as k grows (Rademacher V0: M = √n), so at a
    large k this is the per-run critical width.
    """
    check_positive("B", B)
    check_positive("nu1", nu1)
    R_prime = torch.as_tensor(R_prime, dtype=torch.float64)
    sigma0 = torch.as_tensor(sigma0, dtype=torch.float64)
    M = torch.as_tensor(M, dtype=torch.float64)
    un = math.sqrt(float(u_norm2))
    Rp = nu1 * R_prime
    return (2 * B * un * (un * Rp ** 2 + (2 + un * M) * Rp) / sigma0) ** 2
