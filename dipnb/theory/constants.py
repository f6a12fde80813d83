"""The closed-form constants of Theorem III.1: the Lipschitz bound of :math:`\\mathcal J_g`
(:func:`jacobian_lipschitz`), the radius R of (5) (:func:`radius_R`, :func:`radius_R_closed_form`),
the step-size constants :math:`\\nu_1, \\nu_2` (:func:`nu1`, :func:`nu2`, :func:`nu_constants`,
:func:`nu_profile`) and the estimate (10) of L (:func:`L_eq10`). Each formula is written once here;
:mod:`dipnb.theory.theorem` (every constant of a problem) and :mod:`dipnb.theory.corollary` (condition
(4) from the sums of a sweep) call them.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_layers, check_positive
from ..core.network import TwoLayerDIP, max_column_norm

__all__ = ["jacobian_lipschitz", "radius_R", "radius_R_closed_form", "nu_constants", "nu1", "nu2",
           "nu_profile", "L_eq10"]


def jacobian_lipschitz(net: TwoLayerDIP, layers: str = "W", radius=None) -> torch.Tensor:
    """An upper bound on the Lipschitz constant of :math:`\\mathcal J_g` on the ball of radius ``radius``
    around :math:`\\theta_0`, shape (R,).

    With :math:`M = \\max_j \\|v_{0,j}\\|` (column norms of :math:`V_0`,
    :math:`\\le D\\sqrt n` by A-8) and B the constant of A-3:

    * ``"W"`` (V fixed): :math:`\\mathcal J_g(W)\\Delta = V\\mathrm{diag}(\\phi'(Wu))\\Delta u/\\sqrt k`,
      so :math:`\\|\\mathcal J_g(W) - \\mathcal J_g(W')\\| \\le B M\\|u\\|^2 \\|W-W'\\|_F/\\sqrt k`:
      a global constant, ``radius`` is ignored;
    * ``"V"``: :math:`\\mathcal J_g` does not depend on V: 0;
    * ``"both"``: on the ball of radius ``radius``,
      :math:`\\frac{B\\|u\\|}{\\sqrt k}\\big(2 + \\|u\\|(M + \\mathrm{radius})\\big)`.
    """
    check_layers(layers)
    act = net.activation
    act.require_A3("the Lipschitz constant of the Jacobian")
    B, k = act.B, net.k
    un = net.u_norm2.sqrt()
    M = max_column_norm(net.V0)
    if layers == "W":
        return B * M * un ** 2 / math.sqrt(k)
    if layers == "V":
        return torch.zeros_like(M)
    if radius is None:
        raise ValueError("layers='both' needs the radius of the ball (the Lipschitz bound grows with it)")
    return B * un / math.sqrt(k) * (2 + un * (M + radius))


def radius_R_closed_form(sigma0, B: float, M, u_norm2, k: int, layers: str = "W"):
    """R of (5), :math:`R = \\sigma_0 / (2\\,\\mathrm{Lip}_{\\mathbb B(\\theta_0,R)}(\\mathcal J_g))`, in closed form
    from the Lipschitz bounds of :func:`jacobian_lipschitz`: the one formula of R that
    :func:`radius_R` (from a network) and :func:`dipnb.theory.corollary.ratio_from_statistics`
    (from the sums of a sweep) both evaluate.

    * ``"W"``: :math:`\\mathrm{Lip} = BM\\|u\\|^2/\\sqrt k`, so :math:`R = \\sigma_0\\sqrt k/(2BM\\|u\\|^2)`;
    * ``"both"``: :math:`\\mathrm{Lip} = B\\|u\\|(2 + \\|u\\|(M + R))/\\sqrt k` grows with the radius,
      and R is the positive root of
      :math:`\\frac{2B\\|u\\|}{\\sqrt k}\\big(\\|u\\|R^2 + (2 + \\|u\\|M)R\\big) = \\sigma_0`, computed as
      :math:`R = 2\\sigma_0/(\\text{lin} + \\sqrt{\\text{lin}^2 + 4\\,\\text{quad}\\,\\sigma_0})` with lin and
      quad the coefficients of R and :math:`R^2` (no cancellation when the linear one dominates);
    * ``"V"``: the model is linear in V, :math:`R = +\\infty`.

    Parameters
    ----------
    sigma0 : Tensor (R,)
        :math:`\\sigma_{\\min}(\\mathcal J_g(0))` for the trained ``layers``.
    B : float
        The constant of A-3.
    M : Tensor (R,)
        :math:`\\max_j\\|v_{0,j}\\|` (:func:`dipnb.core.network.max_column_norm`).
    u_norm2 : float or Tensor (R,)
        :math:`\\|u\\|^2`.
    k : int
        The width.
    layers : {"W", "both", "V"}
    """
    check_layers(layers)
    if layers == "V":
        return torch.full_like(sigma0, math.inf)
    u_norm2 = torch.as_tensor(u_norm2, dtype=sigma0.dtype, device=sigma0.device)
    if layers == "W":
        return sigma0 * math.sqrt(k) / (2 * B * M * u_norm2)
    un = u_norm2.sqrt()
    a = 2 * B * u_norm2 / math.sqrt(k)
    b = 2 * B * un * (2 + un * M) / math.sqrt(k)
    return 2 * sigma0 / (b + torch.sqrt(b ** 2 + 4 * a * sigma0))


def radius_R(net: TwoLayerDIP, layers: str = "W", sigma0: torch.Tensor | None = None) -> torch.Tensor:
    """The radius ``R`` of (5):
    :math:`R = \\sigma_{\\min}(\\mathcal J_g(0)) / (2\\,\\mathrm{Lip}_{\\mathbb B(\\theta_0,R)}(\\mathcal J_g))`.

    With the bounds of :func:`jacobian_lipschitz` (:func:`radius_R_closed_form`): ``"W"`` gives
    :math:`R = \\sigma_0\\sqrt k/(2BM\\|u\\|^2)`; ``"V"`` gives :math:`R = +\\infty`
    (the model is linear in V); ``"both"`` gives the positive root of
    :math:`\\frac{2B\\|u\\|}{\\sqrt k}\\big(\\|u\\|R^2 + (2 + \\|u\\|M)R\\big) = \\sigma_0`.
    """
    check_layers(layers)
    s0 = net.sigma_min_jacobian(layers=layers) if sigma0 is None else sigma0
    if layers == "W":
        net.activation.require_A3("the Lipschitz constant of the Jacobian")
    return radius_R_closed_form(s0, net.activation.B, max_column_norm(net.V0), net.u_norm2, net.k, layers)


def _check_gamma_L(gamma, L):
    check_positive("gamma", gamma)
    check_positive("L", L)
    gl = torch.as_tensor(gamma, dtype=torch.float64) * torch.as_tensor(L, dtype=torch.float64)
    if (gl >= 2).any():
        raise ValueError(f"nu1 and nu2 are defined for gamma*L < 2 (the theorem asks gamma*L <= 1); "
                         f"got gamma*L = {gl.max().item():g}")


def nu_constants(gamma, L):
    """:math:`(\\nu_1, \\nu_2)` of Theorem III.1, unchecked: the one place their formulas are written
    (:func:`nu1`, :func:`nu2` and :func:`dipnb.theorem_quantities` call it).

    :math:`\\nu_1 = (1+\\gamma L)/(1-\\gamma L/2)` and
    :math:`\\nu_2 = (1+\\gamma L)^2/(\\gamma - \\gamma^2 L/2)`, the latter evaluated as
    :math:`(1+\\gamma L)^2/(\\gamma - \\gamma(\\gamma L)/2)`. Finite for :math:`\\gamma L < 2` only.
    """
    gl = gamma * L
    return (1 + gl) / (1 - gl / 2), (1 + gl) ** 2 / (gamma - gamma * gl / 2)


def nu1(gamma, L):
    """:math:`\\nu_1 = (1+\\gamma L)/(1-\\gamma L/2)`, in ]1, 4] for :math:`\\gamma \\in ]0, 1/L]`."""
    _check_gamma_L(gamma, L)
    return nu_constants(gamma, L)[0]


def nu2(gamma, L):
    """:math:`\\nu_2 = (1+\\gamma L)^2/(\\gamma - \\gamma^2 L/2)`; minimal, equal to 6L, at γ = 1/(2L)."""
    _check_gamma_L(gamma, L)
    return nu_constants(gamma, L)[1]


def nu_profile(gammaL=None, L: float = 1.0) -> dict:
    """:math:`\\nu_1` and :math:`\\nu_2` of Theorem III.1 on a grid of :math:`\\gamma L`.

    :math:`\\nu_1` depends on γ and L through :math:`\\gamma L` only, and
    so does :math:`\\nu_2/L = (1+\\gamma L)^2/(\\gamma L - (\\gamma L)^2/2)`; the
    minimiser of :math:`\\nu_2` over γ is found numerically (bounded Brent search on
    :math:`]0, 2/L[`), for comparison with the paper's claim :math:`\\gamma = 1/(2L)`,
    :math:`\\nu_2 = 6L`.

    Parameters
    ----------
    gammaL : array-like in ]0, 2[, optional
        Default: 400 points spread logarithmically in [1e-2, 1.99].
    L : float
        Lipschitz constant (> 0) used for :math:`\\nu_2` (ν1 does not depend on it).

    Returns
    -------
    dict with ``gammaL``, ``nu1``, ``nu2`` (arrays), ``L``, ``gamma_star`` (the
    numerical minimiser of ν2) and ``nu2_star`` (its minimum).
    """
    from scipy.optimize import minimize_scalar

    check_positive("L", L)
    x = np.geomspace(1e-2, 1.99, 400) if gammaL is None else np.asarray(gammaL, dtype=np.float64)
    if x.size == 0 or not np.all((x > 0) & (x < 2)):
        raise ValueError(f"gammaL must lie in ]0, 2[ (nu1, nu2 are undefined beyond), got "
                         f"[{x.min() if x.size else 'empty'}, {x.max() if x.size else ''}]")
    g = torch.as_tensor(x / L, dtype=torch.float64)
    opt = minimize_scalar(lambda gm: float(nu2(gm, L)), bounds=(1e-9 / L, (2 - 1e-9) / L),
                          method="bounded", options={"xatol": 1e-12 / L})
    return {"gammaL": x, "nu1": nu1(g, L).numpy(), "nu2": nu2(g, L).numpy(), "L": float(L),
            "gamma_star": float(opt.x), "nu2_star": float(opt.fun)}


def L_eq10(A_norm, residual_norm, n: int, k: int, const: float = 1.0):
    """The estimate (10): :math:`L \\lesssim \\|A\\|^2 n/k + \\|A\\|\\,\\|y - y_0\\|\\sqrt{n/k}`.

    ``const`` is the unnamed constant of :math:`\\lesssim` (it depends on B, D and
    :math:`\\sup|\\phi|`). The book compares this against :func:`dipnb.theory.theorem.hessian_norm`.
    """
    return const * (A_norm ** 2 * n / k + A_norm * residual_norm * math.sqrt(n / k))
