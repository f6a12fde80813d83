"""The reference backend of :mod:`dipnb.engine`: :func:`dipnb.gradient_descent` job by job (the definition)."""
from __future__ import annotations

import numpy as np

from ..core.descent import gradient_descent
from ._common import SweepResult


def run_job(job, steps, tol) -> SweepResult:
    tr = gradient_descent(job.net, job.problem, job.gamma, steps, layers="W", loss="mse", tol=tol,
                          record=[0, steps], stall_window=None, progress=False)
    conv = np.array([s == "converged" for s in tr.status])
    return SweepResult(tr.loss[-1].cpu().numpy(), tr.stop_step.cpu().numpy(), conv,
                       tr.error[-1].cpu().numpy())
