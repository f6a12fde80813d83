"""The linear model behind the network: Landweber iteration and its spectral filter.

Training V alone is exactly Landweber iteration; with both layers trained the network follows
Landweber to first order with the effective step of :func:`effective_step`. Its
semi-convergence (the error falls, then rises towards the noisy least-squares solution) is
the classical one, and :func:`landweber_noise_error` computes its noise part exactly for a
separable blur.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validation import check_int, check_positive
from ..core.iteration import StopRule, iterate
from ..core.network import TwoLayerDIP
from ..core.operators import GaussianBlur, LinearOperator

__all__ = ["effective_step", "landweber", "blur_spectrum", "landweber_noise_error"]


def effective_step(net: TwoLayerDIP, gamma: float) -> float:
    """The step ω of the Landweber iteration that the network follows to first order.

    One step of (2) moves :math:`x` by :math:`-\\gamma \\mathcal J_g\\mathcal J_g^T A^T\\nabla\\mathcal L`.
    Training V alone this is exactly Landweber with step :math:`\\gamma\\|\\phi(h)\\|^2/k`; with both layers
    :math:`\\mathcal J_g\\mathcal J_g^T = \\frac{\\|\\phi(h)\\|^2}{k}I + \\frac{\\|u\\|^2}{k}V\\mathrm{diag}(\\phi'(h)^2)V^T`,
    whose mean eigenvalue (trace/n) at θ0 is
    :math:`\\big(\\|\\phi(h_0)\\|^2 + \\|u\\|^2\\sum_j\\phi'(h_{0,j})^2\\|v_j\\|^2/n\\big)/k`
    (about :math:`C_\\phi^2 + C_{\\phi'}^2 \\approx 0.34`). Returns γ times that.
    """
    check_positive("gamma", gamma)
    h, V, act = net.h0[0], net.V0[0], net.activation
    k, n = net.k, net.n
    col2 = (V * V).sum(0)
    c = ((act.phi(h) ** 2).sum() + net.u_norm2[0] * (act.dphi(h) ** 2 * col2).sum() / n) / k
    return float(gamma * c)


def landweber(A: LinearOperator, y: torch.Tensor, x0: torch.Tensor, omega: float, steps: int,
              x_bar: torch.Tensor | None = None) -> dict:
    """Landweber iteration :math:`x_{\\tau+1} = x_\\tau - \\omega A^T(Ax_\\tau - y)` (one run).

    Returns ``{"error": (steps+1,), "residual": (steps+1,), "x": final}``; ``error`` is
    NaN without ``x_bar``. The network's dynamics are this iteration to first order
    (:func:`effective_step`); its semi-convergence is the classical one.
    """
    steps = check_int("steps", steps, low=0)
    check_positive("omega", omega)
    err, resid = np.full(steps + 1, np.nan), np.full(steps + 1, np.nan)
    state = {"x": x0.clone()}

    class Landweber:                   # the update rule; the loop is dipnb's one loop (iterate)
        def observe(self, st):
            r = A.A(st["x"]) - y
            rn = r.norm()
            return {"r": r, "residual": rn.item(), "loss": (0.5 * rn ** 2).reshape(1)}

        def step(self, st, obs, active):
            st["x"] = st["x"] - omega * A.A_adjoint(obs["r"])

    def record(tau, obs, active, stopping):
        resid[tau] = obs["residual"]
        if x_bar is not None:
            err[tau] = (state["x"] - x_bar).norm().item()

    iterate(Landweber(), state, steps, StopRule(1, y.device, y.dtype), record)
    return {"error": err, "residual": resid, "x": state["x"]}


def blur_spectrum(A: GaussianBlur):
    """SVD of a separable blur :math:`A = A_1\\otimes A_2` (``A.BH``, ``A.BW``): returns ``(U_H, s_H, V_H, U_W, s_W, V_W)``
    so that the singular values of A are :math:`s_{H,i}s_{W,j}` with left singular vectors
    :math:`u_{H,i}\\otimes u_{W,j}`: every spectral quantity of a 4096-pixel blur for the
    price of two 64×64 SVDs."""
    UH, sH, VHt = torch.linalg.svd(A.BH)
    UW, sW, VWt = torch.linalg.svd(A.BW)
    return UH, sH, VHt.T, UW, sW, VWt.T


def landweber_noise_error(A: GaussianBlur, noise: torch.Tensor, omega: float, taus) -> np.ndarray:
    """Norm of the part of the Landweber iterate that is due to the noise, for a separable blur.

    With :math:`A = \\sum_i s_i u_iv_i^T`, Landweber from 0 gives
    :math:`x_\\tau = \\sum_i f_\\tau(s_i)\\,\\frac{\\langle u_i, y\\rangle}{s_i}v_i`,
    :math:`f_\\tau(s) = 1 - (1 - \\omega s^2)^\\tau`, so its noise part has norm
    :math:`\\big(\\sum_i f_\\tau(s_i)^2\\langle u_i,\\varepsilon\\rangle^2/s_i^2\\big)^{1/2}`.
    ``taus`` may contain ``np.inf`` (:math:`f = 1`: the norm of :math:`A^{-1}\\varepsilon`).
    Returns shape (len(taus),).
    """
    check_positive("omega", omega)
    UH, sH, _, UW, sW, _ = blur_spectrum(A)
    E = noise.reshape(A.shape)
    coef = (UH.T @ E @ UW).flatten().double()              # <u_i, eps>
    s = torch.outer(sH, sW).flatten().double()
    out = []
    for t in np.atleast_1d(taus):
        if np.isinf(t):
            f = torch.ones_like(s)
        else:
            # 1 - (1 - w s^2)^t computed stably for tiny w s^2
            f = -torch.expm1(float(t) * torch.log1p(-omega * s ** 2))
        out.append(torch.sqrt(((f * coef / s) ** 2).sum()).item())
    return np.array(out)
