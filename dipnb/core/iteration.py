"""The one loop of dipnb's own training (:func:`iterate`) and when a run stops (:class:`StopRule`,
:data:`RUN_STATUSES`), kept apart from the update rules they drive: gradient descent (2)
(:class:`dipnb.core.descent.GradientStep`), the in-place step of the image runs
(:func:`dipnb.core.descent.train_image`) and Landweber's iteration
(:func:`dipnb.theory.linear.landweber`). A new stopping rule or recorded quantity is written once,
here or in the caller's record callback. (The sweep engine, :mod:`dipnb.engine`, keeps its own
compiled kernels, checked step for step against :func:`dipnb.core.descent.gradient_descent`.)
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["RUN_STATUSES", "StopRule", "iterate"]

#: Final status of a run: reached ``tol``; loss stopped decreasing; loss NaN/inf;
#: still decreasing when the step budget ran out.
RUN_STATUSES = ("converged", "stalled", "nonfinite", "max_steps")


class StopRule:
    """When each run stops, decided on the loss of its current iterate (one home for the
    statuses of :data:`RUN_STATUSES`).

    A run stops as ``"converged"`` once its loss is ``<= tol`` (never, with ``tol=None``), as
    ``"nonfinite"`` once its loss is NaN or infinite, and as ``"stalled"`` when its best loss has
    not decreased by a relative ``stall_rtol`` for ``stall_window`` steps (never, with
    ``stall_window=None``). A run that reaches the last step is ``"max_steps"``.
    """

    def __init__(self, runs: int, device, dtype, tol: float | None = None, stall_window: int | None = None,
                 stall_rtol: float = 1e-6):
        self.tol, self.stall_window, self.stall_rtol = tol, stall_window, stall_rtol
        self.best = torch.full((runs,), math.inf, dtype=dtype, device=device)
        self.last_improve = torch.zeros(runs, dtype=torch.long, device=device)

    def decide(self, tau: int, f: torch.Tensor, active: torch.Tensor) -> tuple:
        """``((status, mask), ...)``: the active runs that stop at iteration ``tau``, by status."""
        finite = torch.isfinite(f)
        bad = active & ~finite
        conv = active & finite & (f <= self.tol) if self.tol is not None else torch.zeros_like(active)
        if self.stall_window is None:
            stall = torch.zeros_like(active)
        else:
            improved = f < self.best * (1 - self.stall_rtol)
            self.best = torch.where(improved & active, f, self.best)
            self.last_improve = torch.where(improved & active, torch.full_like(self.last_improve, tau),
                                            self.last_improve)
            stall = active & finite & ~conv & ((tau - self.last_improve) >= self.stall_window)
        return (("converged", conv), ("nonfinite", bad), ("stalled", stall))


def iterate(rule, state, steps: int, stop: StopRule, record, start: int = 0, before=None):
    """The one loop of dipnb's own training: for τ = ``start``, ..., ``steps``, observe the
    iterate (``obs = rule.observe(state)``, a dict with at least ``"loss"``, shape (R,)), decide
    which runs stop (``stop``), let ``record(tau, obs, active, stopping)`` keep what it needs,
    and, unless every run has stopped or τ = ``steps``, take one step of the active runs
    (``rule.step(state, obs, active)``). ``before(tau)``, if given, runs first at each τ
    (checkpoints, Ctrl-C).

    Returns ``(status, stop_step, tau)``: one of :data:`RUN_STATUSES` per run (an array), the
    iteration at which each stopped (``steps`` for a run that did not), and the last τ observed.
    """
    status = np.array(["max_steps"] * stop.best.numel(), dtype=object)
    stop_step = torch.full(stop.best.shape, steps, dtype=torch.long, device=stop.best.device)
    active = torch.ones(stop.best.shape, dtype=torch.bool, device=stop.best.device)
    tau = start
    for tau in range(start, steps + 1):
        if before is not None:
            before(tau)
        obs = rule.observe(state)
        decided = stop.decide(tau, obs["loss"], active)
        stopping = torch.zeros_like(active)
        for _, mask in decided:
            stopping |= mask
        any_stop = bool(stopping.any())          # one device sync per step
        if any_stop:
            for name, mask in decided:
                idx = mask.nonzero().flatten()
                status[idx.cpu().numpy()] = name
                stop_step[idx] = tau
        record(tau, obs, active, stopping if any_stop else None)
        active = active & ~stopping
        if tau == steps or (any_stop and not active.any()):
            break
        rule.step(state, obs, active)
    return status, stop_step, tau
