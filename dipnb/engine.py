"""A sweep engine: gradient descent (2) on the hidden layer, for many cells at once.

Fig 1b and Fig 2 of the paper train 50 runs in every cell of a grid for up to
10^5 steps and only ask, per run, whether the loss reached the tolerance. This
module trains every run of every cell of such a sweep together and returns, per
run, the final loss, the step at which it stopped and the final error. On the same
seeds it gives the same iterates as :func:`dipnb.gradient_descent` with
``layers="W"``, ``loss="mse"`` and no stall check (to float64 round-off).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_choice, check_int, check_positive
from .descent import Problem, gradient_descent
from .network import TwoLayerDIP

__all__ = ["Job", "SweepResult", "sweep", "BACKENDS"]

BACKENDS = ("auto", "reference")


@dataclass
class Job:
    """One cell of a sweep: ``net.runs`` runs of gradient descent on ``problem`` with step ``gamma``.

    ``gamma`` is a float or a tensor of shape (R,) (one step size per run).
    """

    net: TwoLayerDIP
    problem: Problem
    gamma: float | torch.Tensor


@dataclass
class SweepResult:
    """Per run of one :class:`Job`: final loss, stop step, convergence, final error.

    Attributes
    ----------
    loss : ndarray (R,)
        :math:`\\mathcal L_y(y_\\tau)` where the run stopped.
    stop_step : ndarray (R,) of int
        First τ with loss <= tol, else ``steps`` (or the step at which it became NaN/inf).
    converged : ndarray (R,) of bool
        Loss <= tol (the criterion of Fig 1b and Fig 2).
    error : ndarray (R,)
        :math:`\\|x_\\tau - \\bar x\\|` where the run stopped.
    """

    loss: np.ndarray
    stop_step: np.ndarray
    converged: np.ndarray
    error: np.ndarray


def sweep(jobs, steps: int, tol: float = 1e-14, backend: str = "auto",
          progress: bool = False) -> list[SweepResult]:
    """Train every run of every job (hidden layer, MSE) for at most ``steps`` steps.

    Parameters
    ----------
    jobs : sequence of Job
    steps : int
        Step budget (>= 0); the paper uses 10^5.
    tol : float
        A run stops once its loss is ``<= tol`` (Fig 1b: 1e-14).
    backend : {"auto", "reference"}
        ``"reference"`` loops :func:`dipnb.gradient_descent` over the jobs.
    progress : bool
        A tqdm bar over the jobs.

    Returns
    -------
    list of SweepResult, one per job, in order.
    """
    steps = check_int("steps", steps, low=0)
    check_positive("tol", tol, allow_zero=True)
    check_choice("backend", backend, BACKENDS)
    jobs = list(jobs)
    out = []
    from tqdm.auto import tqdm
    for job in tqdm(jobs, disable=not progress, desc="sweep"):
        tr = gradient_descent(job.net, job.problem, job.gamma, steps, layers="W", loss="mse", tol=tol,
                              record=[0, steps], stall_window=None, progress=False)
        conv = np.array([s == "converged" for s in tr.status])
        out.append(SweepResult(tr.loss[-1].cpu().numpy(), tr.stop_step.cpu().numpy(), conv,
                               tr.error[-1].cpu().numpy()))
    return out
