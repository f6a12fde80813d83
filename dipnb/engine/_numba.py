"""The compiled CPU kernel of :mod:`dipnb.engine` (numba; imported only when used).

Every run of a sweep is stored flat (h, V, A, y, x̄ concatenated, with offsets), so
runs of any (n, m, k) are trained by one parallel loop. Each run is trained to the
end in one go: its V and h stay in the core's cache across steps.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic

from ._common import SweepResult, dense, gammas


def _start_pool() -> None:
    """Start numba's thread pool now, leaving torch's thread count as it was.

    With numba's OpenMP threading layer, starting the pool (numba's first parallel call, or
    ``numba.get_num_threads()``) and ``numba.set_num_threads`` set OpenMP's thread count, which
    torch shares: it rose to every core. So ``OMP_NUM_THREADS=1`` (two notebook kernels at
    once in ``make test``, one Dask worker per core) no longer held after the first sweep, and
    the processes oversubscribed the cores: two single-threaded processes on two cores each
    took 4x longer than one alone (benchmarks/cluster_cells.py, issue 22). Started here and
    restored after each run of the kernel (:func:`run`), the count stays the user's.
    """
    threads = torch.get_num_threads()
    numba.get_num_threads()
    torch.set_num_threads(threads)


_start_pool()

# fast-math without "nnan"/"ninf": NaN and inf must still propagate to the loss
_FM = {"contract", "arcp", "nsz", "reassoc"}
BLOCK = 4096           # entries of k per block: its V, h, phi(h) and g stay in L2 (L1 for V) across its passes

# e^r on |r| <= ln2/2 as in fdlibm's e_exp.c: e^r = 1 + r + r c/(2 - c) = (2 + 2r - c)/(2 - c)
_P1, _P2, _P3 = 1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05
_P4, _P5 = -1.65339022054652515390e-06, 4.13813679705723846039e-08
_LN2HI, _LN2LO, _LOG2E = 6.93147180369123816490e-01, 1.90821492927058770002e-10, 1.44269504088896338700e+00
_TWO_M54 = 2.0 ** -54


@intrinsic
def _as_float(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits`` (a bitcast: free, and it vectorises)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(fastmath=_FM, error_model="numpy", inline="always", cache=True)
def sigmoid(x):
    """1/(1+e^{-x}) in float64 with one division, branch-free so that loops over it vectorise.

    With a = |x| = q ln2 - r (q = round(a/ln2) <= 1077, |r| <= ln2/2, Cody-Waite), e^{-a} =
    2^{-q} N/D where N/D = (2 + 2r - c)/(2 - c) is fdlibm's rational form of e^r (c a degree-5
    polynomial in r^2); then sigmoid = D/(D + E) for x >= 0 and E/(D + E) otherwise, with
    E = 2^{-q} N built from the exponent bits (2^{54-q} 2^{-54}, so that subnormals round once).
    Error <= 3 ulp against the exact value (tests/test_engine.py, in long double); NaN stays NaN, +-inf give 1 and 0.
    """
    a = abs(x)
    aq = a if a < 746.0 else 746.0          # finite, NaN included, for the integer conversion
    ac = 746.0 if a > 746.0 else a          # inf -> 746 (e^-746 rounds to 0); NaN stays NaN
    qf = np.rint(aq * _LOG2E)               # one rounding instruction (was a round trip through int)
    r = (qf * _LN2HI - ac) + qf * _LN2LO
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    d = 2.0 - c
    e = ((2.0 + 2.0 * r) - c) * _as_float((np.int64(1077) - np.int64(qf)) << 52) * _TWO_M54
    return (d if x >= 0 else e) / (d + e)


@njit(fastmath=_FM, error_model="numpy", cache=True)
def sigmoid_array(x):
    """:func:`sigmoid` over an array (for the tests)."""
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = sigmoid(x[i])
    return out


@njit(fastmath=_FM, error_model="numpy", inline="always", cache=True)
def _update(h, s, j, c, gj):
    """h_j -= c phi'(h_j) g_j with phi' = s(1 - s); s_j = phi(h_j); returns the new s_j."""
    sj = s[j]
    hj = h[j] - c * (sj * (1.0 - sj)) * gj
    h[j] = hj
    sj = sigmoid(hj)
    s[j] = sj
    return sj


@njit(fastmath=_FM, error_model="numpy", inline="always", cache=True)
def _block(Vb, hb, sb, g, r, xa, c):
    """One step on one block of any n: g = V^T r, the update and sigmoid, then xa += V s."""
    n, L = Vb.shape
    r0 = r[0]
    for j in range(L):
        g[j] = Vb[0, j] * r0
    for i in range(1, n):
        ri = r[i]
        for j in range(L):
            g[j] += Vb[i, j] * ri
    for j in range(L):
        _update(hb, sb, j, c, g[j])
    for i in range(n):
        acc = 0.0
        for j in range(L):
            acc += Vb[i, j] * sb[j]
        xa[i] += acc


@njit(fastmath=_FM, error_model="numpy", inline="always", cache=True)
def _block4(Vb, hb, sb, g, r, xa, c):
    """One step on one block, n >= 4: rows 0..n-5 go backward into g first and forward last;
    the last four rows are fused with the update, so each of their entries is widened from
    int8 once and used for both products, and s is used as soon as it is computed."""
    n, L = Vb.shape
    p = n - 4
    for i in range(p):
        ri = r[i]
        if i == 0:
            for j in range(L):
                g[j] = Vb[0, j] * ri
        else:
            for j in range(L):
                g[j] += Vb[i, j] * ri
    V0, V1, V2, V3 = Vb[p], Vb[p + 1], Vb[p + 2], Vb[p + 3]
    r0, r1, r2, r3 = r[p], r[p + 1], r[p + 2], r[p + 3]
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    if p == 0:
        for j in range(L):
            v0, v1, v2, v3 = float(V0[j]), float(V1[j]), float(V2[j]), float(V3[j])
            sj = _update(hb, sb, j, c, (v0 * r0 + v1 * r1) + (v2 * r2 + v3 * r3))
            a0 += v0 * sj
            a1 += v1 * sj
            a2 += v2 * sj
            a3 += v3 * sj
    else:
        for j in range(L):
            v0, v1, v2, v3 = float(V0[j]), float(V1[j]), float(V2[j]), float(V3[j])
            sj = _update(hb, sb, j, c, g[j] + ((v0 * r0 + v1 * r1) + (v2 * r2 + v3 * r3)))
            a0 += v0 * sj
            a1 += v1 * sj
            a2 += v2 * sj
            a3 += v3 * sj
    xa[p] += a0
    xa[p + 1] += a1
    xa[p + 2] += a2
    xa[p + 3] += a3
    for i in range(p):
        acc = 0.0
        for j in range(L):
            acc += Vb[i, j] * sb[j]
        xa[i] += acc


@njit(fastmath=_FM, error_model="numpy", cache=True)
def descend_one(h, V, A, y, xbar, c, steps, tol):
    """Gradient descent (2) on the hidden layer of one run, in place on ``h``.

    ``V`` is (n, k) (int8 ±1 or float64), ``A`` is (m, n), ``c`` = γ‖u‖²/√k.
    Returns (loss, stop step, ‖x − x̄‖) at the step where the run stopped.

    One pass over k per step, in blocks of :data:`BLOCK` entries (:func:`_block4`, or
    :func:`_block` for n < 4): g = V^T r on the block, the update of h and its sigmoid
    (kept to give phi' = s(1 - s) at the next step), then the block's share of
    x = V s / sqrt(k) for the next step, while the block is in L1/L2.
    """
    n, k = V.shape
    m = A.shape[0]
    sqrtk = math.sqrt(k)
    s = np.empty(k)
    g = np.empty(BLOCK)
    x = np.zeros(n)
    xa = np.zeros(n)
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
            xa[i] = 0.0
        for j0 in range(0, k, BLOCK):
            L = min(BLOCK, k - j0)
            if n >= 4:
                _block4(V[:, j0:j0 + L], h[j0:j0 + L], s[j0:j0 + L], g, r, xa, c)
            else:
                _block(V[:, j0:j0 + L], h[j0:j0 + L], s[j0:j0 + L], g, r, xa, c)
        for i in range(n):
            x[i] = xa[i] / sqrtk
        tau += 1
    err = 0.0
    for i in range(n):
        err += (x[i] - xbar[i]) ** 2
    return f, tau, math.sqrt(err)


@njit(parallel=True, cache=True)
def _run(H, hoff, V, voff, ns, ks, A, aoff, ms, Y, yoff, X, xoff, C, steps, tol, order,
         loss, stop, err):
    """The parallel loop of :func:`run`: the fields of a :class:`Flat`, then ``steps``, ``tol``,
    ``order``, then the fields of an :class:`Outcome`, passed one by one (the call unpacks them)."""
    for q in prange(order.size):
        r = order[q]
        n, k, m = ns[r], ks[r], ms[r]
        f, t, e = descend_one(H[hoff[r]:hoff[r + 1]], V[voff[r]:voff[r + 1]].reshape((n, k)),
                              A[aoff[r]:aoff[r + 1]].reshape((m, n)), Y[yoff[r]:yoff[r + 1]],
                              X[xoff[r]:xoff[r + 1]], C[r], steps, tol)
        loss[r] = f
        stop[r] = t
        err[r] = e


class Flat(NamedTuple):
    """The runs of a chunk stored flat for :func:`_run`: run r's ``h`` is ``H[hoff[r]:hoff[r + 1]]``
    (k entries), its ``V`` ``V[voff[r]:voff[r + 1]]`` (n k, row-major), its ``A``
    ``A[aoff[r]:aoff[r + 1]]`` (m n), its ``y`` and ``x̄`` likewise in ``Y`` and ``X``; ``ns``, ``ks``,
    ``ms`` are the sizes of each run and ``C`` its γ‖u‖²/√k."""

    H: np.ndarray
    hoff: np.ndarray
    V: np.ndarray
    voff: np.ndarray
    ns: np.ndarray
    ks: np.ndarray
    A: np.ndarray
    aoff: np.ndarray
    ms: np.ndarray
    Y: np.ndarray
    yoff: np.ndarray
    X: np.ndarray
    xoff: np.ndarray
    C: np.ndarray


class Outcome(NamedTuple):
    """Where :func:`_run` writes each run's final loss, stop step and ‖x − x̄‖ (one entry per run)."""

    loss: np.ndarray
    stop: np.ndarray
    err: np.ndarray


_CACHED: set = set()      # signatures of _run this process has loaded as numba's cache holds them


def _cached_kernel(args):
    """The kernel :func:`_run` for the arguments ``args``, loaded from numba's cache: the code
    every process runs.

    With ``reassoc`` (the vectorised sums, 2.5x faster here), the code numba runs in the process
    that compiles the kernel and the code it writes to its cache round differently on this CPU
    (issue 22: the first run in a fresh clone gave the quick Fig 1's converged losses a relative
    1e-9 away from every later run, which loaded the cache, and from the Dask workers; reloading
    in the compiling process does not help, its callees stay as compiled). So when the cache
    lacks the kernel, a child process compiles it and writes it there, and this process loads
    it: every process, whoever compiled first, runs the same instructions. Where nothing can be
    cached (numba's cache disabled, or a read-only install without ``NUMBA_CACHE_DIR``), every
    process compiles the kernel itself, and runs the same code as every other.
    """
    sig = tuple(numba.typeof(a) for a in args)
    if sig not in _CACHED:
        cache = getattr(_run, "_cache", None)
        if sig not in _run.overloads and cache is not None and type(cache).__name__ != "NullCache" \
                and cache.load_overload(sig, _run.targetctx) is None:
            import os
            import subprocess
            import sys

            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}   # dipnb as imported here
            subprocess.run([sys.executable, "-c", "from dipnb.engine import _numba; _numba._warm()"],
                           capture_output=True, check=False, env=env)
        _run.compile(sig)                             # from the cache (compiled here only if it cannot be)
        _CACHED.add(sig)
    return _run


def _warm() -> None:
    """Compile :func:`_run` (which numba then caches) for both kinds of output layer: ±1 (int8) and
    any other (float64); the child process of :func:`_cached_kernel`."""
    one, i8 = np.ones(1), np.array([0, 1], dtype=np.int64)
    for V in (np.ones(1, dtype=np.int8), np.ones(1)):
        _run(one.copy(), i8, V, i8, i8[1:].copy(), i8[1:].copy(), one, i8, i8[1:].copy(), one, i8, one, i8, one,
             1, 0.0, np.zeros(1, dtype=np.int64), np.empty(1), np.empty(1, dtype=np.int64), np.empty(1))


def run(flat: Flat, steps, tol, order, out: Outcome, threads):
    """Train every run of ``flat`` (see :func:`descend_one`) in the order ``order`` with ``threads``
    threads, one run per task, writing into ``out``."""
    args = (*flat, int(steps), float(tol), order, *out)
    kernel = _cached_kernel(args)
    threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    old_torch = torch.get_num_threads()
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        with numba.parallel_chunksize(1):          # dynamic: a free thread takes the next run
            kernel(*args)
    finally:
        numba.set_num_threads(old)
        torch.set_num_threads(old_torch)           # see _start_pool: numba's OpenMP count is torch's


# --- the backend: flatten a chunk of jobs, run the kernel, split the records back ----------

@njit(parallel=True, cache=True)
def _to_pm1(src, dst):
    """``dst`` = the sign of ``src`` as int8; returns how many entries of ``src`` are not ±1."""
    bad = 0
    for i in prange(src.size):
        v = src[i]
        dst[i] = 1 if v > 0 else -1
        bad += 0 if (v == 1.0 or v == -1.0) else 1
    return bad


def run_chunk(jobs, steps, tol, threads):
    R = sum(job.net.runs for job in jobs)
    ns = np.concatenate([np.full(job.net.runs, job.net.n) for job in jobs]).astype(np.int64)
    ks = np.concatenate([np.full(job.net.runs, job.net.k) for job in jobs]).astype(np.int64)
    ms = np.concatenate([np.full(job.net.runs, job.problem.A.m) for job in jobs]).astype(np.int64)
    Vs = [job.net.V0.reshape(-1).double().numpy() for job in jobs]
    # one byte per entry when every V is ±1 (one parallel pass converts and checks)
    Vflat, start = np.empty(sum(V.size for V in Vs), dtype=np.int8), 0
    for V in Vs:
        if _to_pm1(V, Vflat[start:start + V.size]):
            Vflat = np.concatenate(Vs)
            break
        start += V.size
    H = np.concatenate([job.net.h0.double().numpy().ravel() for job in jobs])
    Aflat = np.concatenate([dense(job).double().numpy().ravel() for job in jobs])
    Y = np.concatenate([job.problem.y.double().numpy().ravel() for job in jobs])
    X = np.concatenate([job.problem.x_bar.double().numpy().ravel() for job in jobs])
    C = np.concatenate([(gammas(job) * job.net.u_norm2).double().numpy() for job in jobs]) / np.sqrt(ks)
    off = lambda sizes: np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # noqa: E731
    loss, err = np.empty(R), np.empty(R)
    stop = np.empty(R, dtype=np.int64)
    nbytes = sum(a.nbytes for a in (H, Vflat, Aflat, Y, X)) + H.nbytes    # + each run's sigmoid cache
    order = np.argsort(-(ns * ks), kind="stable")          # largest runs first: better load balance
    flat = Flat(H=H, hoff=off(ks), V=Vflat, voff=off(ns * ks), ns=ns, ks=ks, A=Aflat, aoff=off(ms * ns), ms=ms,
                Y=Y, yoff=off(ms), X=X, xoff=off(ns), C=C)
    run(flat, steps, tol, order, Outcome(loss, stop, err), threads or torch.get_num_threads())
    results, start = [], 0
    for job in jobs:
        sl = slice(start, start + job.net.runs)
        start += job.net.runs
        results.append(SweepResult(loss[sl].copy(), stop[sl].copy(), loss[sl] <= tol, err[sl].copy()))
    return results, nbytes
