"""A sweep engine: gradient descent (2) on the hidden layer, for many cells at once.

Fig 1b and Fig 2 of the paper train 50 runs in every cell of a grid for up to
10^5 steps and only ask, per run, whether the loss reached the tolerance. This
module trains every run of every cell of such a sweep together and returns, per
run, the final loss, the step at which it stopped and the final error.

On the same seeds it computes the same iterates as :func:`dipnb.gradient_descent`
with ``layers="W"``, ``loss="mse"`` and no stall check, up to float64 round-off
(``tests/test_engine.py`` checks it). The update is eq. (2) on the reduced state
:math:`h = Wu` of :mod:`dipnb.core.network`:

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
    rather than from memory. Each step makes one vectorised pass over k, in blocks that
    stay in L1/L2: V^T r, the update of h with its sigmoid (kept to give φ' = φ(1 - φ) at
    the next step, so one exponential per entry and step), and Vφ(h). The sigmoid is a
    branch-free rational exponential with one division (error at most 3 ulp against
    the exact value, tested in long double).
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

import time
from dataclasses import dataclass

import torch

from .._validation import check_choice, check_compatible, check_int, check_positive, check_same_runs, check_step_shape
from ..core.network import TwoLayerDIP
from ..core.problems import Problem
from ._common import SweepResult

__all__ = ["Job", "SweepResult", "SweepOutput", "sweep", "prepare", "BACKENDS"]

BACKENDS = ("auto", "numba", "torch", "reference")


@dataclass
class Job:
    """One cell of a sweep: ``net.runs`` runs of gradient descent on ``problem`` with step ``gamma``.

    ``gamma`` is a float or a tensor of shape (R,) (one step size per run).
    """

    net: TwoLayerDIP
    problem: Problem
    gamma: float | torch.Tensor


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
            from . import _reference
            res, nbytes = [_reference.run_job(jobs[i], steps, tol) for i in chunk], 0
        elif backend == "numba":
            from . import _numba
            res, nbytes = _numba.run_chunk([jobs[i] for i in chunk], steps, tol, threads)
        else:
            from . import _torch
            res, nbytes = _torch.run_chunk([jobs[i] for i in chunk], steps, tol, check_every)
        for i, r in zip(chunk, res):
            out[i] = r
        out.peak_bytes = max(out.peak_bytes, nbytes)
    out.wall_s = time.perf_counter() - t0
    if backend == "numba":
        _mark_ready()
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
    check_same_runs(net, pb, f"jobs[{i}]: ")
    if pb.A.n != net.n:
        raise ValueError(f"jobs[{i}]: operator acts on R^{pb.A.n} but the network outputs R^{net.n}")
    check_positive(f"jobs[{i}].gamma", job.gamma)
    check_step_shape(f"jobs[{i}].gamma", job.gamma, net.runs)
    check_compatible(net, pb, f"jobs[{i}]: ")
    if net.V0.dtype != torch.float64:
        raise ValueError(f"jobs[{i}]: the network is {net.V0.dtype}, but the engine trains in float64; accepted: "
                         f"torch.float64 (the default of TwoLayerDIP.init and draw_networks)")


_KERNEL_READY = False       # the numba kernel has been compiled or loaded in this process


def _mark_ready():
    global _KERNEL_READY
    _KERNEL_READY = True


def prepare(announce: bool = False, file=None) -> float:
    """Compile the numba kernel now, or load it from numba's cache, before a sweep starts.

    The first sweep in a process on the CPU waits for this: about 10 s the first time the
    kernel is compiled (numba then caches it beside the package), under a second after.
    With ``announce``, a line on ``file`` (default ``sys.stderr``) says what is happening and
    how long it took, so that a sweep does not seem to hang before its first cell. Returns
    the seconds spent (0 when numba is missing or the kernel is already loaded). The draws
    are the engine's own small problem: no random state of a study is touched.
    """
    if _KERNEL_READY or not _have_numba():
        return 0.0
    import sys

    from ..core.network import draw_networks
    from ..core.operators import gaussian_operator

    out = sys.stderr if file is None else file
    if announce:
        print("preparing the numba kernel of the sweep engine (about 10 s when it is compiled, the first "
              "time; then loaded from numba's cache)...", file=out, flush=True)
    t0 = time.perf_counter()
    net = draw_networks(1, 1, 1, seed=0)
    sweep([Job(net, Problem.make(gaussian_operator(1, 1, seed=0), seed=0), 1.0)], 1, backend="numba")
    took = time.perf_counter() - t0
    if announce:
        print(f"numba kernel ready ({took:.1f} s)", file=out, flush=True)
    return took


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
