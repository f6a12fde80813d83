"""Numerical checks of the KL inequality (Definition II.2) and of the rate (6).

The loss classes of :mod:`dipnb.core.losses` carry their desingularisers ψ in closed form;
the functions here test those closed forms without using them: points of a sublevel set
(:func:`sublevel_samples`), the ratio :math:`\\psi'(f)\\|\\nabla f\\|` of (3) at those points
(:func:`kl_ratio`, :func:`check_kl_inequality`), and Ψ and :math:`\\Psi^{-1}` computed
from ψ alone (:func:`numeric_Psi`, :func:`numeric_inverse`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._random import make_generator
from .._validation import check_int, check_positive
from ..core.losses import Desingularizer, Loss, get_loss

__all__ = ["sublevel_samples", "kl_ratio", "KLCheck", "check_kl_inequality", "numeric_Psi",
           "numeric_inverse"]


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

    Every point of the set is :math:`y + t\\,\\Delta v` for a direction :math:`\\Delta v \\in S^{m-1}` and a
    level :math:`s = \\mathcal L_y(y + t\\Delta v) \\in [0, r_0[` (the losses here are convex with
    unique minimiser y, so :math:`t \\mapsto \\mathcal L_y(y + t\\Delta v)` increases from 0). We draw
    Δv uniformly on the sphere and s log-uniformly in :math:`[\\mathrm{low}\\cdot r_0, r_0[`,
    then solve for t by bisection (``+inf`` values, e.g. the Kullback–Leibler loss outside
    :math:`v > 0`, count as above the level). This covers every level, from near the
    minimiser to the boundary of the set, which uniform sampling of the volume would not
    (in dimension m most of the volume lies near the boundary).

    Parameters
    ----------
    loss : Loss or str
    y : Tensor, shape (R, m)
        One observation per run (``y > 0`` for the Kullback–Leibler loss).
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
    g = make_generator(seed, dev)
    d = torch.randn(R, samples, m, dtype=dt, device=dev, generator=g)
    d = d / d.norm(dim=-1, keepdim=True)
    u = torch.rand(R, samples, dtype=dt, device=dev, generator=g)
    level = r0 * torch.exp(u * math.log(low))                      # in [low r0, r0[
    def f(t):
        return _flat_value(loss, y[:, None] + t[..., None] * d, y)

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
    shows that a ψ valid on one sublevel set may fail on a larger one (the Kullback–Leibler loss).
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
