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
:attr:`Loss.normalisation`; the book uses :class:`HalfMSE` unless it says otherwise.
All functions act on batches: ``v`` and ``y`` have shape (R, m), values have shape (R,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_choice, check_int, check_positive

__all__ = ["Desingularizer", "Loss", "HalfMSE", "PowerLoss", "KullbackLeibler",
           "get_loss", "LOSSES", "sublevel_samples", "kl_ratio", "KLCheck", "check_kl_inequality",
           "numeric_Psi", "numeric_inverse", "fit_decay"]


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
        """:math:`L_{\\mathcal{L},0} = \\max_{v \\in B(0, \\rho)} \\|\\nabla\\mathcal L_y(v)\\| / \\|v - y\\|`
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
        f = lambda v: y * torch.log(y / v) - y + v - r0
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
            raise ValueError(f"the KL loss is strongly convex on sublevel sets only when y > 0; "
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


# ---------------------------------------------------------------------------
# Numerical checks of Definition II.2 and of the rate (6)
# ---------------------------------------------------------------------------

def _as_y(y) -> torch.Tensor:
    if not torch.is_tensor(y):
        raise ValueError(f"y must be a torch tensor of shape (R, m), got {type(y).__name__}")
    if y.ndim != 2 or not y.is_floating_point():
        raise ValueError(f"y must be a floating tensor of shape (R, m), got shape {tuple(y.shape)} "
                         f"and dtype {y.dtype}")
    if not torch.isfinite(y).all():
        raise ValueError("y must be finite")
    return y


def _flat_value(loss: Loss, v: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``loss.value`` on ``v`` of shape (R, S, m) against ``y`` (R, m): shape (R, S)."""
    R, S, m = v.shape
    return loss.value(v.reshape(R * S, m), y[:, None].expand(R, S, m).reshape(R * S, m)).reshape(R, S)


def sublevel_samples(loss: Loss | str, y: torch.Tensor, r0, samples: int = 1000, seed: int = 0,
                     low: float = 1e-8) -> torch.Tensor:
    """Points of the sublevel set :math:`[\\mathcal L_y < r_0]` (Definition II.2), shape (R, S, m).

    Every point of the set is :math:`y + t\\,d` for a direction :math:`d \\in S^{m-1}` and a
    level :math:`s = \\mathcal L_y(y + td) \\in [0, r_0[` (the losses here are convex with
    unique minimiser y, so :math:`t \\mapsto \\mathcal L_y(y + td)` increases from 0). We draw
    d uniformly on the sphere and s log-uniformly in :math:`[\\mathrm{low}\\cdot r_0, r_0[`,
    then solve for t by bisection (``+inf`` values, e.g. the KL loss outside
    :math:`v > 0`, count as above the level). This covers every level, from near the
    minimiser to the boundary of the set, which uniform sampling of the volume would not
    (in dimension m most of the volume lies near the boundary).

    Parameters
    ----------
    loss : Loss or str
    y : Tensor, shape (R, m)
        One observation per run (``y > 0`` for the KL loss).
    r0 : float or Tensor (R,)
        The level of (3), > 0 and finite.
    samples : int
        Points per run, S.
    seed : int
    low : float in ]0, 1[
        The smallest level drawn, relative to ``r0``.
    """
    loss = get_loss(loss)
    y = _as_y(y)
    samples = check_int("samples", samples)
    check_positive("r0", r0)
    if not (isinstance(low, (int, float)) and 0 < low < 1):
        raise ValueError(f"low must be a float in ]0, 1[, got {low!r}")
    R, m = y.shape
    dt, dev = y.dtype, y.device
    r0 = torch.as_tensor(r0, dtype=dt, device=dev).expand(R).reshape(R, 1)
    g = torch.Generator(device=dev).manual_seed(int(seed))
    d = torch.randn(R, samples, m, dtype=dt, device=dev, generator=g)
    d = d / d.norm(dim=-1, keepdim=True)
    u = torch.rand(R, samples, dtype=dt, device=dev, generator=g)
    level = r0 * torch.exp(u * math.log(low))                      # in [low r0, r0[
    f = lambda t: _flat_value(loss, y[:, None] + t[..., None] * d, y)
    lo = torch.zeros_like(level)
    hi = torch.ones_like(level)
    for _ in range(200):                                          # grow the bracket
        below = f(hi) < level
        if not below.any():
            break
        lo = torch.where(below, hi, lo)
        hi = torch.where(below, 2 * hi, hi)
    else:
        raise ValueError("could not bracket the level set: is the loss coercive along rays from y?")
    for _ in range(120):
        mid = 0.5 * (lo + hi)
        below = f(mid) < level
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return y[:, None] + lo[..., None] * d                          # f(lo) < level < r0


def _expand_psi(psi: Desingularizer) -> Desingularizer:
    """ψ with its constant reshaped to broadcast against values of shape (R, S)."""
    c = psi.c.reshape(-1, 1) if torch.is_tensor(psi.c) and psi.c.ndim else psi.c
    return Desingularizer(c, psi.alpha)


def kl_ratio(loss: Loss | str, v: torch.Tensor, y: torch.Tensor, psi: Desingularizer):
    """The left-hand side of the KL inequality (3) at the points ``v``.

    Returns ``(f, ratio)``, both of shape (R, S): :math:`f = \\mathcal L_y(v)` and
    :math:`\\psi'(f)\\,\\|\\nabla\\mathcal L_y(v)\\|`, which (3) asks to be :math:`\\ge 1`
    on :math:`[\\mathcal L_y < r_0]`. ``v`` has shape (R, S, m), ``y`` (R, m); ``psi``'s
    constant may be a float or one per run, shape (R,).
    """
    loss = get_loss(loss)
    y = _as_y(y)
    if not torch.is_tensor(v) or v.ndim != 3 or v.shape[0] != y.shape[0] or v.shape[2] != y.shape[1]:
        shape = tuple(v.shape) if torch.is_tensor(v) else type(v).__name__
        raise ValueError(f"v must be a tensor of shape ({y.shape[0]}, S, {y.shape[1]}), got {shape}")
    R, S, m = v.shape
    f = _flat_value(loss, v, y)
    grad = loss.grad(v.reshape(R * S, m), y[:, None].expand(R, S, m).reshape(R * S, m))
    gnorm = grad.norm(dim=-1).reshape(R, S)
    return f, _expand_psi(psi).dpsi(f) * gnorm


@dataclass
class KLCheck:
    """The outcome of :func:`check_kl_inequality`, for R runs and S points per run.

    Attributes
    ----------
    f, ratio : Tensor, shape (R, S)
        Loss values of the sampled points and :math:`\\psi'(f)\\|\\nabla f\\|`.
    r0 : Tensor, shape (R,)
    psi : Desingularizer
    """

    f: torch.Tensor
    ratio: torch.Tensor
    r0: torch.Tensor
    psi: Desingularizer

    @property
    def min_ratio(self) -> torch.Tensor:
        """Smallest ratio per run, shape (R,)."""
        return self.ratio.min(dim=1).values

    def holds(self, rtol: float = 1e-9) -> torch.Tensor:
        """Whether (3) held at every sampled point, up to round-off ``rtol``, shape (R,)."""
        return self.min_ratio >= 1 - rtol


def check_kl_inequality(loss: Loss | str, y: torch.Tensor, r0, psi: Desingularizer | None = None,
                        samples: int = 1000, seed: int = 0, low: float = 1e-8,
                        sample_level=None) -> KLCheck:
    """Check the KL inequality (3), :math:`\\psi'(f(z))\\|\\nabla f(z)\\| \\ge 1`, on samples of
    :math:`[\\mathcal L_y < r_0]` (Definition II.2).

    ``psi`` defaults to ``loss.desingularizer(y, r0)``. Passing the ψ of another level
    shows that a ψ valid on one sublevel set may fail on a larger one (the KL loss).
    ``sample_level`` (default ``r0``) is the level of the set the points are drawn from.
    See :func:`sublevel_samples` for how points are drawn and :func:`kl_ratio` for the ratio.
    """
    loss = get_loss(loss)
    y = _as_y(y)
    check_positive("r0", r0)
    psi = loss.desingularizer(y, r0) if psi is None else psi
    level = r0 if sample_level is None else sample_level
    v = sublevel_samples(loss, y, level, samples, seed, low)
    f, ratio = kl_ratio(loss, v, y, psi)
    r0 = torch.as_tensor(level, dtype=y.dtype, device=y.device).expand(y.shape[0]).clone()
    return KLCheck(f, ratio, r0, psi)


def numeric_Psi(psi, s, s_ref: float = 1.0, points: int = 4001, rel_step: float = 1e-6) -> np.ndarray:
    """A primitive of :math:`-(\\psi')^2` (the Ψ of eq. 6) computed from ψ alone, numerically.

    :math:`\\psi'` is taken by central differences and
    :math:`\\Psi(s) = -\\int_{s_{ref}}^{s}\\psi'(t)^2\\,dt` by the trapezoidal rule on a
    logarithmic grid (the integrand blows up at 0). This confirms the closed forms of
    :class:`Desingularizer` without using them; Ψ is defined up to a constant, fixed here by
    :math:`\\Psi(s_{ref}) = 0`.

    Parameters
    ----------
    psi : callable
        ψ on NumPy float64 arrays of positive numbers.
    s : array_like of positive floats
    s_ref : float > 0
    points : int
        Grid points per integral (>= 3).
    rel_step : float
        Relative step of the central difference.
    """
    s = np.asarray(s, dtype=np.float64)
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise ValueError(f"s must be finite and > 0, got min {s.min() if s.size else s!r}")
    check_positive("s_ref", s_ref)
    points = check_int("points", points, low=3)
    check_positive("rel_step", rel_step)
    w = np.linspace(0.0, 1.0, points)
    grid = np.exp(np.log(s_ref) + np.outer(np.log(s) - np.log(s_ref), w))     # (len(s), points)
    h = rel_step * grid
    dpsi = (psi(grid + h) - psi(grid - h)) / (2 * h)
    integrand = -dpsi ** 2 * grid                                            # dt = t d(log t)
    du = (np.log(s) - np.log(s_ref))[:, None] / (points - 1)
    return (du[:, 0] * (integrand[:, 1:] + integrand[:, :-1]).sum(1) / 2).reshape(s.shape)


def numeric_inverse(fun, t, lo: float = 1e-12, hi: float = 1e6, iters: int = 200) -> np.ndarray:
    """The inverse of a *decreasing* function ``fun`` at ``t``, by bisection on ]lo, hi[ in
    log scale (used for :math:`\\Psi^{-1}` in eq. 6). Values outside the range
    ``[fun(hi), fun(lo)]`` are refused."""
    t = np.asarray(t, dtype=np.float64)
    check_positive("lo", lo)
    if not hi > lo:
        raise ValueError(f"hi must be > lo = {lo:g}, got {hi!r}")
    iters = check_int("iters", iters)
    f_lo, f_hi = float(fun(np.array([lo]))[0]), float(fun(np.array([hi]))[0])
    if not f_lo > f_hi:
        raise ValueError(f"fun must decrease on [lo, hi]; got fun(lo) = {f_lo:g} <= fun(hi) = {f_hi:g}")
    if np.any(t > f_lo) or np.any(t < f_hi):
        raise ValueError(f"t must lie in [fun(hi), fun(lo)] = [{f_hi:g}, {f_lo:g}], "
                         f"got [{t.min():g}, {t.max():g}]")
    a = np.full(t.shape, math.log(lo))
    b = np.full(t.shape, math.log(hi))
    for _ in range(iters):
        mid = 0.5 * (a + b)
        above = fun(np.exp(mid)) > t          # decreasing: still left of the solution
        a, b = np.where(above, mid, a), np.where(above, b, mid)
    return np.exp(0.5 * (a + b))


def fit_decay(tau, values, model: str = "geometric") -> np.ndarray:
    """Fit the decay of a loss curve, per run, by least squares in log scale.

    * ``"geometric"``: :math:`\\log f = b - \\rho\\,\\tau`, returns ρ (per-step rate,
      :math:`f \\propto e^{-\\rho\\tau}`): the linear rate of (6) for :math:`\\alpha = 1/2`;
    * ``"power"``: :math:`\\log f = b - q\\log\\tau`, returns q (:math:`f \\propto \\tau^{-q}`):
      the polynomial rate of (6), :math:`q = 1/(2\\alpha - 1)` for the bound.

    ``tau`` has shape (T,), ``values`` (T,) or (T, R), positive; returns shape (R,) (or a scalar).
    """
    check_choice("model", model, ("geometric", "power"))
    tau = np.asarray(tau, dtype=np.float64)
    vals = np.asarray(values.cpu() if torch.is_tensor(values) else values, dtype=np.float64)
    if vals.shape[0] != tau.shape[0] or tau.ndim != 1 or tau.size < 2:
        raise ValueError(f"tau must have shape (T,) with T >= 2 and values (T, ...), got "
                         f"{tau.shape} and {vals.shape}")
    if not (np.all(np.isfinite(vals)) and np.all(vals > 0)):
        raise ValueError("values must be finite and > 0 to be fitted in log scale")
    if model == "power" and np.any(tau <= 0):
        raise ValueError(f"the power model needs tau > 0, got min {tau.min():g}")
    x = tau if model == "geometric" else np.log(tau)
    X = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(X, np.log(vals.reshape(len(x), -1)), rcond=None)
    out = -coef[1]
    return out if vals.ndim > 1 else out[0]
