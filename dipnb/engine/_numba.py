"""The compiled CPU kernel of :mod:`dipnb.engine` (numba; imported only when used).

Every run of a sweep is stored flat (h, V, A, y, x̄ concatenated, with offsets), so
runs of any (n, m, k) are trained by one parallel loop. Each run is trained to the
end in one go: its V and h stay in the core's cache across steps.
"""
from __future__ import annotations

import math

import numba
import numpy as np
import torch
from numba import njit, prange

from ._common import SweepResult, dense, gammas

# fast-math without "nnan"/"ninf": NaN and inf must still propagate to the loss
_FM = {"contract", "arcp", "nsz", "reassoc"}
_E = tuple(math.exp(-float(2 ** b)) for b in range(9, -1, -1))   # e^-512, ..., e^-1


@njit(fastmath=_FM, error_model="numpy", inline="always", cache=True)
def sigmoid(x):
    """1/(1+e^{-x}) in float64, branch-free so that loops over it vectorise.

    e = exp(-|x|) = e^{-q} e^{r} with q = round(|x|) <= 745 (e^{-q} as a product of
    e^{-2^b} over the bits of q) and |r| <= 1/2 (Taylor polynomial of degree 15,
    truncation error < 1e-17); e = 0 below -745 where exp underflows anyway.
    """
    t = -abs(x)
    tc = max(t, -745.0)
    q = float(np.int64(0.5 - tc))
    r = t + q
    p = 1.0 / 1307674368000.0
    p = p * r + 1.0 / 87178291200.0
    p = p * r + 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    b = q >= 512.0; w = _E[0] if b else 1.0; d = 512.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 256.0; w = _E[1] if b else 1.0; d = 256.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 128.0; w = _E[2] if b else 1.0; d = 128.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 64.0; w = _E[3] if b else 1.0; d = 64.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 32.0; w = _E[4] if b else 1.0; d = 32.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 16.0; w = _E[5] if b else 1.0; d = 16.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 8.0; w = _E[6] if b else 1.0; d = 8.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 4.0; w = _E[7] if b else 1.0; d = 4.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 2.0; w = _E[8] if b else 1.0; d = 2.0 if b else 0.0; p = p * w; q = q - d
    b = q >= 1.0; w = _E[9] if b else 1.0; p = p * w
    e = 0.0 if t < -745.0 else p
    inv = 1.0 / (1.0 + e)
    lo = e * inv
    return inv if x >= 0 else lo


@njit(fastmath=_FM, error_model="numpy", cache=True)
def sigmoid_array(x):
    """:func:`sigmoid` over an array (for the tests)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = sigmoid(x[i])
    return out


@njit(fastmath=_FM, error_model="numpy", cache=True)
def descend_one(h, V, A, y, xbar, c, steps, tol):
    """Gradient descent (2) on the hidden layer of one run, in place on ``h``.

    ``V`` is (n, k) (int8 ±1 or float64), ``A`` is (m, n), ``c`` = γ‖u‖²/√k.
    Returns (loss, stop step, ‖x − x̄‖) at the step where the run stopped.
    """
    n, k = V.shape
    m = A.shape[0]
    sqrtk = math.sqrt(k)
    s = np.empty(k)
    g = np.empty(k)
    x = np.zeros(n)
    r = np.empty(n)
    res = np.empty(m)
    for j in range(k):
        s[j] = sigmoid(h[j])
    for i in range(n):
        acc = 0.0
        for j in range(k):
            acc += V[i, j] * s[j]
        x[i] = acc / sqrtk
    f = 0.0
    tau = 0
    while True:
        f = 0.0
        for a in range(m):
            acc = 0.0
            for i in range(n):
                acc += A[a, i] * x[i]
            res[a] = acc - y[a]
            f += res[a] * res[a]
        f *= 0.5
        if not (f > tol) or tau == steps or not math.isfinite(f):
            break
        for i in range(n):
            acc = 0.0
            for a in range(m):
                acc += A[a, i] * res[a]
            r[i] = acc
        # three vectorised passes: g = V^T r, then h and its sigmoid (kept for phi' = s(1-s)
        # at the next step), then x = V s / sqrt(k); a run's V, h, s stay in cache across steps
        for j in range(k):
            g[j] = 0.0
        for i in range(n):
            ri = r[i]
            for j in range(k):
                g[j] += V[i, j] * ri
        for j in range(k):
            sj = s[j]
            hj = h[j] - c * (sj * (1.0 - sj)) * g[j]
            h[j] = hj
            s[j] = sigmoid(hj)
        for i in range(n):
            acc = 0.0
            for j in range(k):
                acc += V[i, j] * s[j]
            x[i] = acc / sqrtk
        tau += 1
    err = 0.0
    for i in range(n):
        err += (x[i] - xbar[i]) ** 2
    return f, tau, math.sqrt(err)


@njit(parallel=True, cache=True)
def _run(H, hoff, V, voff, ns, ks, A, aoff, ms, Y, yoff, X, xoff, C, steps, tol, order,
         loss, stop, err):
    for q in prange(order.size):
        r = order[q]
        n, k, m = ns[r], ks[r], ms[r]
        f, t, e = descend_one(H[hoff[r]:hoff[r + 1]], V[voff[r]:voff[r + 1]].reshape((n, k)),
                              A[aoff[r]:aoff[r + 1]].reshape((m, n)), Y[yoff[r]:yoff[r + 1]],
                              X[xoff[r]:xoff[r + 1]], C[r], steps, tol)
        loss[r] = f
        stop[r] = t
        err[r] = e


def run(H, hoff, V, voff, ns, ks, A, aoff, ms, Y, yoff, X, xoff, C, steps, tol, order, loss, stop, err,
        threads):
    """Train every run (see :func:`descend_one`) with ``threads`` threads, one run per task."""
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with numba.parallel_chunksize(1):          # dynamic: a free thread takes the next run
            _run(H, hoff, V, voff, ns, ks, A, aoff, ms, Y, yoff, X, xoff, C, steps,
                 float(tol), order, loss, stop, err)
    finally:
        numba.set_num_threads(old)


# --- the backend: flatten a chunk of jobs, run the kernel, split the records back ----------

def run_chunk(jobs, steps, tol, threads):
    R = sum(job.net.runs for job in jobs)
    ns = np.concatenate([np.full(job.net.runs, job.net.n) for job in jobs]).astype(np.int64)
    ks = np.concatenate([np.full(job.net.runs, job.net.k) for job in jobs]).astype(np.int64)
    ms = np.concatenate([np.full(job.net.runs, job.problem.A.m) for job in jobs]).astype(np.int64)
    Vs = [job.net.V0.reshape(job.net.runs, -1) for job in jobs]
    pm1 = all(bool(((V == 1) | (V == -1)).all()) for V in Vs)
    H = np.concatenate([job.net.h0.double().numpy().ravel() for job in jobs])
    Vflat = np.concatenate([V.numpy().astype(np.int8 if pm1 else np.float64).ravel() for V in Vs])
    Aflat = np.concatenate([dense(job).double().numpy().ravel() for job in jobs])
    Y = np.concatenate([job.problem.y.double().numpy().ravel() for job in jobs])
    X = np.concatenate([job.problem.x_bar.double().numpy().ravel() for job in jobs])
    C = np.concatenate([(gammas(job) * job.net.u_norm2).double().numpy() for job in jobs]) / np.sqrt(ks)
    off = lambda sizes: np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # noqa: E731
    loss, err = np.empty(R), np.empty(R)
    stop = np.empty(R, dtype=np.int64)
    nbytes = sum(a.nbytes for a in (H, Vflat, Aflat, Y, X)) + H.nbytes    # + each run's sigmoid cache
    order = np.argsort(-(ns * ks), kind="stable")          # largest runs first: better load balance
    run(H, off(ks), Vflat, off(ns * ks), ns, ks, Aflat, off(ms * ns), ms, Y, off(ms), X, off(ns), C,
          steps, tol, order, loss, stop, err, threads or torch.get_num_threads())
    results, start = [], 0
    for job in jobs:
        sl = slice(start, start + job.net.runs)
        start += job.net.runs
        results.append(SweepResult(loss[sl].copy(), stop[sl].copy(), loss[sl] <= tol, err[sl].copy()))
    return results, nbytes
