"""A sweep engine: gradient descent (2) on the hidden layer, for many cells at once.

Fig 1b and Fig 2 of the paper train 50 runs in every cell of a grid for up to
10^5 steps and only ask, per run, whether the loss reached the tolerance. This
module trains every run of every cell of such a sweep together and returns, per
run, the final loss, the step at which it stopped and the final error.

On the same seeds it computes the same iterates as :func:`dipnb.gradient_descent`
with ``layers="W"``, ``loss="mse"`` and no stall check, up to float64 round-off
(``tests/test_engine.py`` checks it). The update is eq. (2) on the reduced state
:math:`h = Wu` of :mod:`dipnb.network`:

.. math:: h_{\\tau+1} = h_\\tau - \\frac{\\gamma\\|u\\|^2}{\\sqrt k}\\,
          \\phi'(h_\\tau)\\odot V^\\top A^\\top(A x_\\tau - y), \\qquad
          x_\\tau = \\frac{1}{\\sqrt k} V\\phi(h_\\tau).

Backends
--------
``"numba"`` (CPU, sigmoid)
    One compiled kernel trains every run of the sweep, in parallel over the cores,
    each run to its end (converged or out of budget) before the next one starts, so
    that the run's V (one byte per entry when it is ±1, as under A-8's Rademacher law),
    h and φ(h) stay in the core's cache across its steps and the sweep runs from cache
    rather than from memory. Each step makes three vectorised passes: V^T r, the update
    of h with its sigmoid (kept to give φ' = φ(1 - φ) at the next step, so one
    exponential per entry and step), and Vφ(h). The sigmoid is a branch-free
    polynomial exponential (error below 8 ulp, tested against ``torch.sigmoid``).
``"torch"`` (any device, any activation)
    Runs of equal (n, k) are stacked (m is zero-padded, which changes no value),
    converged runs are masked on the device without a host sync, the host checks
    every ``check_every`` steps whether all have stopped, and finished runs are
    compacted away once fewer than half remain active.
``"reference"``
    Loops :func:`dipnb.gradient_descent` over the jobs (the definition).
``"auto"``
    ``"numba"`` for sigmoid networks on the CPU when numba is installed, else ``"torch"``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_choice, check_int, check_positive
from .descent import Problem, gradient_descent
from .network import TwoLayerDIP

__all__ = ["Job", "SweepResult", "SweepOutput", "sweep", "BACKENDS"]

BACKENDS = ("auto", "numba", "torch", "reference")


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


class SweepOutput(list):
    """The :class:`SweepResult` of each job, in order, with the sweep's cost.

    Attributes
    ----------
    backend : str
    wall_s : float
    run_steps : int
        Gradient steps actually taken, summed over runs (converged runs stop early).
    peak_bytes : int
        Largest memory the engine held at once for the sweep's state (V, h, A, y), over
        its chunks; on CUDA, ``torch.cuda.max_memory_allocated`` during the sweep.
    chunks : int
        How many pieces the sweep was streamed in (``max_bytes``).
    """

    backend: str = ""
    wall_s: float = 0.0
    run_steps: int = 0
    peak_bytes: int = 0
    chunks: int = 0

    @property
    def us_per_run_step(self) -> float:
        return 1e6 * self.wall_s / max(1, self.run_steps)


def sweep(jobs, steps: int, tol: float = 1e-14, backend: str = "auto", progress: bool = False,
          max_bytes: int = 2 ** 30, check_every: int = 64, threads: int | None = None) -> SweepOutput:
    """Train every run of every job (hidden layer, MSE) for at most ``steps`` steps.

    Parameters
    ----------
    jobs : sequence of Job
        The cells of the sweep; networks and problems may differ in n, m, k.
    steps : int
        Step budget (>= 0); the paper uses 10^5.
    tol : float
        A run stops once its loss is ``<= tol`` (Fig 1b: 1e-14).
    backend : {"auto", "numba", "torch", "reference"}
        See the module docstring.
    progress : bool
        A tqdm bar over the chunks of the sweep.
    max_bytes : int
        Memory for the state of the runs trained at once; a larger sweep is streamed
        in chunks of whole jobs (a single job larger than this is one chunk).
    check_every : int
        ``"torch"``: host syncs once per ``check_every`` steps.
    threads : int, optional
        ``"numba"``: threads (default ``torch.get_num_threads()``, so that
        ``OMP_NUM_THREADS`` and ``torch.set_num_threads`` apply).

    Returns
    -------
    SweepOutput
        A list with one :class:`SweepResult` per job, plus the sweep's cost.
    """
    steps = check_int("steps", steps, low=0)
    check_positive("tol", tol, allow_zero=True)
    check_choice("backend", backend, BACKENDS)
    max_bytes = check_int("max_bytes", max_bytes)
    check_every = check_int("check_every", check_every)
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        _check_job(i, job)
    if backend == "auto":
        backend = "numba" if all(_numba_ok(j) for j in jobs) and _have_numba() else "torch"
    if backend == "numba":
        bad = [i for i, j in enumerate(jobs) if not _numba_ok(j)]
        if bad:
            raise ValueError(f"backend 'numba' needs sigmoid networks on the CPU; job {bad[0]} is not "
                             f"(accepted backends for it: 'torch', 'reference')")
        if not _have_numba():
            raise ValueError("backend 'numba' asked for, but numba is not installed; accepted: 'torch', 'reference'")

    out = SweepOutput([None] * len(jobs))
    out.backend = backend
    t0 = time.perf_counter()
    cuda = any(j.net.V0.is_cuda for j in jobs)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    chunks = _chunks(jobs, max_bytes)
    from tqdm.auto import tqdm
    for chunk in tqdm(chunks, disable=not progress, desc=f"sweep ({backend})"):
        if backend == "reference":
            res, nbytes = [_reference(jobs[i], steps, tol) for i in chunk], 0
        elif backend == "numba":
            res, nbytes = _numba_chunk([jobs[i] for i in chunk], steps, tol, threads)
        else:
            res, nbytes = _torch_chunk([jobs[i] for i in chunk], steps, tol, check_every)
        for i, r in zip(chunk, res):
            out[i] = r
        out.peak_bytes = max(out.peak_bytes, nbytes)
    out.wall_s = time.perf_counter() - t0
    out.chunks = len(chunks)
    out.run_steps = int(sum(int(r.stop_step.sum()) for r in out))
    if cuda:
        out.peak_bytes = max(out.peak_bytes, torch.cuda.max_memory_allocated())
    return out


# --- checks and chunking -----------------------------------------------------------------

def _check_job(i, job):
    if not isinstance(job, Job):
        raise ValueError(f"jobs[{i}] is a {type(job).__name__}; accepted: dipnb.engine.Job(net, problem, gamma)")
    net, pb = job.net, job.problem
    if pb.runs != net.runs:
        raise ValueError(f"jobs[{i}]: problem has {pb.runs} runs but the network has {net.runs}; they must match")
    if pb.A.n != net.n:
        raise ValueError(f"jobs[{i}]: operator acts on R^{pb.A.n} but the network outputs R^{net.n}")
    check_positive(f"jobs[{i}].gamma", job.gamma)


def _numba_ok(job) -> bool:
    return job.net.activation.name == "sigmoid" and not job.net.V0.is_cuda


def _have_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _job_bytes(job) -> int:
    net = job.net
    return net.runs * (net.n * net.k * net.V0.element_size() + 3 * net.k * 8)


def _chunks(jobs, max_bytes):
    chunks, cur, size = [], [], 0
    for i, job in enumerate(jobs):
        b = _job_bytes(job)
        if cur and size + b > max_bytes:
            chunks.append(cur)
            cur, size = [], 0
        cur.append(i)
        size += b
    if cur:
        chunks.append(cur)
    return chunks


def _gammas(job) -> torch.Tensor:
    net = job.net
    return torch.as_tensor(job.gamma, dtype=net.V0.dtype, device=net.V0.device).expand(net.runs)


def _dense(job) -> torch.Tensor:
    M = job.problem.A.matrix()
    return M.expand(job.net.runs, -1, -1) if M.shape[0] == 1 else M


# --- reference backend -------------------------------------------------------------------

def _reference(job, steps, tol) -> SweepResult:
    tr = gradient_descent(job.net, job.problem, job.gamma, steps, layers="W", loss="mse", tol=tol,
                          record=[0, steps], stall_window=None, progress=False)
    conv = np.array([s == "converged" for s in tr.status])
    return SweepResult(tr.loss[-1].cpu().numpy(), tr.stop_step.cpu().numpy(), conv,
                       tr.error[-1].cpu().numpy())


# --- torch backend -----------------------------------------------------------------------

def _torch_chunk(jobs, steps, tol, check_every):
    """Stack the runs of equal (n, k); train each stack with masks and compaction."""
    groups = {}
    for j, job in enumerate(jobs):
        groups.setdefault((job.net.n, job.net.k, job.net.activation.name), []).append(j)
    results = [None] * len(jobs)
    peak = 0
    for idx in groups.values():
        part = [jobs[j] for j in idx]
        m_max = max(job.problem.A.m for job in part)
        dev = part[0].net.V0.device
        h = torch.cat([job.net.h0 for job in part])
        V = torch.cat([job.net.V0 for job in part])
        A = torch.cat([torch.nn.functional.pad(_dense(job), (0, 0, 0, m_max - job.problem.A.m)) for job in part])
        y = torch.cat([torch.nn.functional.pad(job.problem.y, (0, m_max - job.problem.A.m)) for job in part])
        xbar = torch.cat([job.problem.x_bar for job in part])
        c = torch.cat([_gammas(job) * job.net.u_norm2 for job in part]) / math.sqrt(V.shape[-1])
        peak = max(peak, sum(t.numel() * t.element_size() for t in (h, V, A, y, xbar)))
        loss, stop, err = _torch_descend(h, V, A, y, xbar, c, part[0].net.activation, steps, tol, check_every)
        start = 0
        for j, job in zip(idx, part):
            sl = slice(start, start + job.net.runs)
            start += job.net.runs
            results[j] = SweepResult(loss[sl], stop[sl], loss[sl] <= tol, err[sl])
    return results, peak


def _torch_descend(h, V, A, y, xbar, c, act, steps, tol, check_every):
    R, dev, dt = h.shape[0], h.device, h.dtype
    sqrtk = math.sqrt(V.shape[-1])
    ids = torch.arange(R, device=dev)              # global index of each row still in the stack
    loss_out = torch.full((R,), math.nan, dtype=dt, device=dev)
    err_out = torch.full((R,), math.nan, dtype=dt, device=dev)
    stop_out = torch.full((R,), steps, dtype=torch.long, device=dev)
    # the same records in the stack's row order: updated in place each step, written out
    # to the *_out tensors (by ids) only when the stack is compacted and at the end
    loss_r, err_r, stop_r = loss_out.clone(), err_out.clone(), stop_out.clone()
    active = torch.ones(R, dtype=torch.bool, device=dev)
    sigmoid = act.name == "sigmoid"
    s = act.phi(h)
    tau = 0
    while True:
        if tau > 0 and tau % check_every == 0:      # one host sync per check_every steps
            n_active = int(active.sum())
            if n_active == 0:
                break
            if n_active <= active.numel() // 2:    # compact: drop the finished runs
                loss_out[ids], err_out[ids], stop_out[ids] = loss_r, err_r, stop_r
                keep = active.nonzero().flatten()
                ids, h, V, A, y, xbar, c, s, active, loss_r, err_r, stop_r = (
                    t[keep] for t in (ids, h, V, A, y, xbar, c, s, active, loss_r, err_r, stop_r))
        x = torch.einsum("rnk,rk->rn", V, s) / sqrtk
        res = torch.einsum("rmn,rn->rm", A, x) - y
        f = 0.5 * (res * res).sum(1)
        stopping = active & (~torch.isfinite(f) | (f <= tol) | (tau == steps))
        loss_r = torch.where(stopping, f, loss_r)
        err_r = torch.where(stopping, (x - xbar).norm(dim=1), err_r)
        stop_r = stop_r.masked_fill(stopping, tau)
        active = active & ~stopping
        if tau == steps:
            break
        r = torch.einsum("rmn,rm->rn", A, res)
        g = torch.einsum("rnk,rn->rk", V, r)
        dphi = s * (1 - s) if sigmoid else act.dphi(h)
        h = h - torch.where(active, c, torch.zeros_like(c))[:, None] * dphi * g
        s = act.phi(h)
        tau += 1
    loss_out[ids], err_out[ids], stop_out[ids] = loss_r, err_r, stop_r
    return loss_out.cpu().numpy(), stop_out.cpu().numpy(), err_out.cpu().numpy()


# --- numba backend -----------------------------------------------------------------------

def _numba_chunk(jobs, steps, tol, threads):
    from . import _engine_numba as K

    R = sum(job.net.runs for job in jobs)
    ns = np.concatenate([np.full(job.net.runs, job.net.n) for job in jobs]).astype(np.int64)
    ks = np.concatenate([np.full(job.net.runs, job.net.k) for job in jobs]).astype(np.int64)
    ms = np.concatenate([np.full(job.net.runs, job.problem.A.m) for job in jobs]).astype(np.int64)
    Vs = [job.net.V0.reshape(job.net.runs, -1) for job in jobs]
    pm1 = all(bool(((V == 1) | (V == -1)).all()) for V in Vs)
    H = np.concatenate([job.net.h0.double().numpy().ravel() for job in jobs])
    Vflat = np.concatenate([V.numpy().astype(np.int8 if pm1 else np.float64).ravel() for V in Vs])
    Aflat = np.concatenate([_dense(job).double().numpy().ravel() for job in jobs])
    Y = np.concatenate([job.problem.y.double().numpy().ravel() for job in jobs])
    X = np.concatenate([job.problem.x_bar.double().numpy().ravel() for job in jobs])
    C = np.concatenate([(_gammas(job) * job.net.u_norm2).double().numpy() for job in jobs]) / np.sqrt(ks)
    off = lambda sizes: np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # noqa: E731
    loss, err = np.empty(R), np.empty(R)
    stop = np.empty(R, dtype=np.int64)
    nbytes = sum(a.nbytes for a in (H, Vflat, Aflat, Y, X)) + H.nbytes    # + each run's sigmoid cache
    order = np.argsort(-(ns * ks), kind="stable")          # largest runs first: better load balance
    K.run(H, off(ks), Vflat, off(ns * ks), ns, ks, Aflat, off(ms * ns), ms, Y, off(ms), X, off(ns), C,
          steps, tol, order, loss, stop, err, threads or torch.get_num_threads())
    results, start = [], 0
    for job in jobs:
        sl = slice(start, start + job.net.runs)
        start += job.net.runs
        results.append(SweepResult(loss[sl].copy(), stop[sl].copy(), loss[sl] <= tol, err[sl].copy()))
    return results, nbytes
