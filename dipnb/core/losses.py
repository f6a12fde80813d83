"""Losses :math:`\\mathcal{L}_y` and their KL desingularising functions (Definition II.2).

Every loss here satisfies the KL inequality (3),

.. math:: \\psi'(\\mathcal{L}_y(v))\\,\\|\\nabla \\mathcal{L}_y(v)\\| \\ge 1
          \\quad\\text{on } [\\mathcal{L}_y < r_0],

with a desingulariser of the Łojasiewicz form :math:`\\psi(s) = c\\,s^{1-\\alpha}`,
:math:`\\alpha \\in [1/2, 1)`. Theorem III.1 also needs :math:`\\Psi`, a primitive
of :math:`-(\\psi')^2`, and its inverse (eq. 6):

* :math:`\\alpha = 1/2`: :math:`\\Psi(s) = -\\frac{c^2}{4}\\log s`,
  :math:`\\Psi^{-1}(t) = e^{-4t/c^2}` (a linear rate);
* :math:`\\alpha \\in (1/2, 1)`: :math:`\\Psi(s) = \\frac{c^2(1-\\alpha)^2}{2\\alpha-1} s^{1-2\\alpha}`,
  :math:`\\Psi^{-1}(t) = \\big[\\frac{(2\\alpha-1)t}{c^2(1-\\alpha)^2}\\big]^{-1/(2\\alpha-1)}`
  (a polynomial rate).

Normalisation matters: it changes :math:`\\psi`'s constant, the meaning of a
tolerance such as 1e-14, and the effective step. Each loss states its own in
``Loss.normalisation``; the book uses :class:`HalfMSE` unless it says otherwise.
All functions act on batches: ``v`` and ``y`` have shape (R, m), values have shape (R,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._validation import check_choice, check_positive

__all__ = ["Desingularizer", "Loss", "HalfMSE", "PowerLoss", "KullbackLeibler",
           "get_loss", "LOSSES"]


def _log(x):
    return torch.log(x) if torch.is_tensor(x) else np.log(x)


def _exp(x):
    return torch.exp(x) if torch.is_tensor(x) else np.exp(x)


@dataclass(frozen=True)
class Desingularizer:
    """:math:`\\psi(s) = c\\,s^{1-\\alpha}` with its :math:`\\Psi` and :math:`\\Psi^{-1}`.

    ``c`` may be a float or a tensor of shape (R,) (one constant per run).
    All methods accept floats, NumPy arrays or tensors.
    """

    c: float | torch.Tensor
    alpha: float

    def __post_init__(self):
        if not 0.5 <= self.alpha < 1:
            raise ValueError(f"Łojasiewicz exponent alpha must be in [1/2, 1), got {self.alpha}")
        check_positive("c", self.c)

    def psi(self, s):
        """:math:`\\psi(s) = c s^{1-\\alpha}`."""
        return self.c * s ** (1 - self.alpha)

    def dpsi(self, s):
        """:math:`\\psi'(s) = c(1-\\alpha)s^{-\\alpha}`."""
        return self.c * (1 - self.alpha) * s ** (-self.alpha)

    def Psi(self, s):
        """A primitive of :math:`-(\\psi')^2` (used in eq. 6)."""
        c2, a = self.c ** 2, self.alpha
        if a == 0.5:
            return -(c2 / 4) * _log(s)
        return c2 * (1 - a) ** 2 / (2 * a - 1) * s ** (1 - 2 * a)

    def Psi_inv(self, t):
        """The inverse of :attr:`Psi` (decreasing), so that (6) reads :math:`\\mathcal L \\le \\Psi^{-1}(\\xi_\\tau)`."""
        c2, a = self.c ** 2, self.alpha
        if a == 0.5:
            return _exp(-4 * t / c2)
        return ((2 * a - 1) * t / (c2 * (1 - a) ** 2)) ** (-1 / (2 * a - 1))

    @property
    def polynomial_exponent(self) -> float:
        """The exponent q of the rate :math:`\\Psi^{-1}(\\xi_\\tau) \\sim \\tau^{-q}` implied by (6):
        :math:`q = 1/(2\\alpha - 1)`; ``inf`` for :math:`\\alpha = 1/2` (a linear rate, faster
        than any power of τ)."""
        return math.inf if self.alpha == 0.5 else 1 / (2 * self.alpha - 1)

    def decay(self, slope, loss0, tau):
        """The bound (6) as a function of τ: :math:`\\Psi^{-1}(a\\tau + \\Psi(\\mathcal L_y(y_0)))`.

        ``slope`` is :math:`a = \\sigma_A^2\\sigma_{\\min}(J_g(0))^2/(4\\nu_2)` of
        :math:`\\xi_\\tau` (Theorem III.1). It does not depend on which primitive Ψ is
        used: a constant added to Ψ cancels. For :math:`\\alpha = 1/2` it equals
        :math:`\\mathcal L_y(y_0)\\,e^{-4a\\tau/c^2}`; for :math:`\\alpha > 1/2`,
        :math:`[\\mathcal L_y(y_0)^{1-2\\alpha} + (2\\alpha-1)a\\tau/(c^2(1-\\alpha)^2)]^{-1/(2\\alpha-1)}`.
        Arrays broadcast as NumPy does.
        """
        check_positive("slope", slope)
        check_positive("loss0", loss0)
        return self.Psi_inv(slope * tau + self.Psi(loss0))


class Loss:
    """Base class: value, gradient and KL function of a loss :math:`\\mathcal{L}_y(v)`."""

    name = "loss"
    normalisation = ""

    def value(self, v: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def grad(self, v: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """:math:`\\nabla_v \\mathcal{L}_y(v)`, shape (R, m)."""
        raise NotImplementedError

    def desingularizer(self, y: torch.Tensor | None = None, r0=None) -> Desingularizer:
        """A :math:`\\psi` such that :math:`\\mathcal{L}_y \\in KL_\\psi(r_0)` (Definition II.2)."""
        raise NotImplementedError

    def grad_ratio_bound(self, y: torch.Tensor, radius) -> torch.Tensor:
        """:math:`L_{\\mathcal{L},0} = \\max_{v \\in \\mathbb B(0, r)} \\|\\nabla\\mathcal L_y(v)\\| / \\|v - y\\|`
        (Corollary III.2), shape (R,)."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class PowerLoss(Loss):
    """:math:`\\mathcal{L}_y(v) = \\frac1p\\|v - y\\|^p`, ``p >= 2``: a family with Łojasiewicz exponent.

    :math:`\\|\\nabla\\mathcal L\\| = \\|v-y\\|^{p-1} = (p\\mathcal L)^{(p-1)/p}`, so
    :math:`\\psi(s) = (ps)^{1/p}` makes (3) an equality everywhere
    (:math:`r_0 = \\infty`): :math:`c = p^{1/p}` and exponent
    :math:`\\alpha = 1 - 1/p \\in [1/2, 1)`. ``p = 2`` is :class:`HalfMSE`; ``p > 2``
    has a polynomial rate. ``p < 2`` is refused: its gradient is not Lipschitz
    near ``y``, violating A-1.
    """

    name = "power"

    def __init__(self, p: float = 2.0):
        if not (math.isfinite(p) and p >= 2):
            raise ValueError(f"PowerLoss needs p >= 2 (A-1: Lipschitz gradient), got p={p}")
        self.p = float(p)
        self.normalisation = f"(1/{self.p:g}) * ||v - y||^{self.p:g}, summed over the m entries"

    @property
    def alpha(self) -> float:
        return 1 - 1 / self.p

    def value(self, v, y):
        return ((v - y) ** 2).sum(-1) ** (self.p / 2) / self.p

    def grad(self, v, y):
        e = v - y
        if self.p == 2:
            return e
        return ((e ** 2).sum(-1, keepdim=True) ** ((self.p - 2) / 2)) * e

    def desingularizer(self, y=None, r0=None):
        return Desingularizer(c=self.p ** (1 / self.p), alpha=self.alpha)

    def grad_ratio_bound(self, y, radius):
        if self.p == 2:
            return torch.ones(y.shape[0], dtype=y.dtype, device=y.device)
        return (radius + y.norm(dim=-1)) ** (self.p - 2)

    def __repr__(self):
        return f"PowerLoss(p={self.p:g})"


class HalfMSE(PowerLoss):
    """:math:`\\mathcal{L}_y(v) = \\frac12\\|v - y\\|^2` (summed, not averaged).

    :math:`\\|\\nabla \\mathcal L\\| = \\sqrt{2\\mathcal L}`, so :math:`\\psi(s) = \\sqrt{2s}`,
    :math:`\\Psi(s) = -\\frac12\\log s`, :math:`\\Psi^{-1}(t) = e^{-2t}`, and
    :math:`L_{\\mathcal L,0} = 1`.
    """

    name = "mse"

    def __init__(self):
        super().__init__(2.0)
        self.normalisation = "0.5 * ||v - y||^2, summed (not averaged) over the m entries"

    def __repr__(self):
        return "HalfMSE()"


class KullbackLeibler(Loss):
    """The generalised Kullback--Leibler (Poisson) loss
    :math:`\\mathcal{L}_y(v) = \\sum_i y_i\\log(y_i/v_i) - y_i + v_i` for ``v > 0`` (``+inf`` otherwise).

    Its Hessian is :math:`\\mathrm{diag}(y_i/v_i^2)`. On the sublevel set
    :math:`[\\mathcal L_y < r_0]` each coordinate obeys
    :math:`y_i\\log(y_i/v_i) - y_i + v_i < r_0`, hence :math:`v_i < v_{\\max,i}`,
    and the loss is :math:`\\mu`-strongly convex there with
    :math:`\\mu = \\min_i y_i / v_{\\max,i}^2`. Strong convexity gives the
    Polyak--Łojasiewicz inequality :math:`\\|\\nabla\\mathcal L\\|^2 \\ge 2\\mu\\mathcal L`,
    i.e. :math:`\\psi(s) = \\sqrt{2s/\\mu}` (:math:`\\alpha = 1/2`, :math:`c = \\sqrt{2/\\mu}`).
    Needs ``y > 0`` entry-wise.
    """

    name = "kl"
    normalisation = "sum_i y_i log(y_i / v_i) - y_i + v_i, summed over the m entries"

    def value(self, v, y):
        with torch.no_grad():
            pos = (v > 0).all(-1)
        vs = torch.where(v > 0, v, torch.ones_like(v))
        ylog = torch.where(y > 0, y * torch.log(torch.where(y > 0, y, torch.ones_like(y)) / vs),
                           torch.zeros_like(y))
        val = (ylog - y + vs).sum(-1)
        return torch.where(pos, val, torch.full_like(val, math.inf))

    def grad(self, v, y):
        return 1 - y / v

    def vmax(self, y: torch.Tensor, r0) -> torch.Tensor:
        """The largest :math:`v_i > y_i` with :math:`y_i\\log(y_i/v_i) - y_i + v_i = r_0` (bisection)."""
        r0 = torch.as_tensor(r0, dtype=y.dtype, device=y.device)
        r0 = r0.reshape(-1, *([1] * (y.ndim - 1))) if r0.ndim else r0
        def f(v):
            return y * torch.log(y / v) - y + v - r0

        lo = y.clone()
        hi = y + r0 + 1.0
        while True:  # grow the bracket: f(v) ~ v for v large
            bad = f(hi) < 0
            if not bad.any():
                break
            hi = torch.where(bad, 2 * hi, hi)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            neg = f(mid) < 0
            lo, hi = torch.where(neg, mid, lo), torch.where(neg, hi, mid)
        return hi

    def mu(self, y: torch.Tensor, r0) -> torch.Tensor:
        """The strong-convexity modulus on :math:`[\\mathcal L_y < r_0]`:
        :math:`\\mu = \\min_i y_i / v_{\\max,i}^2`, shape (R,). It decreases to 0 as
        :math:`r_0` grows: the loss is strongly convex on sublevel sets only."""
        if not (y > 0).all():
            raise ValueError(f"mu needs y > 0 entry-wise; got min(y) = {float(y.min()):g}")
        check_positive("r0", r0)
        return (y / self.vmax(y, r0) ** 2).min(-1).values

    def desingularizer(self, y=None, r0=None):
        if y is None or r0 is None:
            raise ValueError("KullbackLeibler.desingularizer needs y and the level r0 "
                             "(its psi depends on the sublevel set [L_y < r0])")
        if not (y > 0).all():
            raise ValueError(f"the Kullback–Leibler loss is strongly convex on sublevel sets only when y > 0; "
                             f"got min(y) = {float(y.min()):g}")
        mu = self.mu(y, r0)
        return Desingularizer(c=torch.sqrt(2 / mu), alpha=0.5)

    def grad_ratio_bound(self, y, radius):
        # |1 - y_i/v_i| / |v_i - y_i| = 1 / v_i: unbounded on any ball reaching v_i <= 0.
        return torch.full((y.shape[0],), math.inf, dtype=y.dtype, device=y.device)

    def __repr__(self):
        return "KullbackLeibler()"


LOSSES = {"mse": HalfMSE, "power": PowerLoss, "kl": KullbackLeibler}


def get_loss(loss="mse", **kwargs) -> Loss:
    """Return a loss by name (``"mse"``, ``"power"`` with ``p=...``, ``"kl"``) or pass one through."""
    if isinstance(loss, Loss):
        return loss
    check_choice("loss", loss, LOSSES)
    return LOSSES[loss](**kwargs)
