"""Pieces every backend of :mod:`dipnb.engine` shares: the per-run records and job accessors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class SweepResult:
    """Per run of one :class:`Job`: final loss, stop step, convergence, final error.

    Attributes
    ----------
    loss : ndarray (R,)
        :math:`\\mathcal L_y(y_\\tau)` where the run stopped.
    stop_step : ndarray (R,) of int
        First τ with loss <= tol, or with a NaN/inf loss, else ``steps``.
    converged : ndarray (R,) of bool
        Loss <= tol (the criterion of Fig 1b and Fig 2).
    error : ndarray (R,)
        :math:`\\|x_\\tau - \\bar x\\|` where the run stopped.
    """

    loss: np.ndarray
    stop_step: np.ndarray
    converged: np.ndarray
    error: np.ndarray


def gammas(job) -> torch.Tensor:
    net = job.net
    return torch.as_tensor(job.gamma, dtype=net.V0.dtype, device=net.V0.device).expand(net.runs)


def dense(job) -> torch.Tensor:
    M = job.problem.A.matrix()
    return M.expand(job.net.runs, -1, -1) if M.shape[0] == 1 else M
