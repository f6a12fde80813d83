"""The sweep engine computes what gradient descent (2) computes, whatever the backend."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb.engine import Job, sweep


def _jobs(ms=(1, 2, 4), ks=(8, 60, 300), runs=4, v_init="rademacher", n=5, activation="sigmoid"):
    jobs = []
    for m in ms:
        for k in ks:
            A = dipnb.gaussian_operator(m, n, runs=runs, seed=m)
            pb = dipnb.Problem.make(A, runs=runs, seed=k + 10 * m)
            net = dipnb.TwoLayerDIP.init(runs, n, k, seed=7 * k + m, v_init=v_init, activation=activation)
            jobs.append(Job(net, pb, torch.linspace(0.3, 3.0, runs)))
    return jobs


def _same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.stop_step, y.stop_step)
        np.testing.assert_array_equal(x.converged, y.converged)
        np.testing.assert_allclose(x.error, y.error, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(x.loss, y.loss, rtol=1e-5, atol=1e-22)


@pytest.fixture(scope="module")
def grid():
    jobs = _jobs()
    return jobs, sweep(jobs, 1500, backend="reference")


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_backends_equal_reference(grid, backend):
    jobs, ref = grid
    out = sweep(jobs, 1500, backend=backend, check_every=7)
    _same(out, ref)
    # the grid mixes runs that converge with runs that use the whole budget
    conv = np.concatenate([r.converged for r in ref])
    assert 0 < conv.sum() < conv.size
    assert out.run_steps == sum(int(r.stop_step.sum()) for r in ref)


def test_uniform_output_layer_takes_the_float64_path():
    jobs = _jobs(ms=(2,), ks=(40, 200), v_init="uniform")
    _same(sweep(jobs, 800, backend="numba"), sweep(jobs, 800, backend="reference"))


def test_threads_and_chunks_do_not_change_results(grid):
    jobs, ref = grid
    one = sweep(jobs, 1500, backend="numba", threads=1)
    small = sweep(jobs, 1500, backend="numba", max_bytes=1)      # one job per chunk
    assert small.chunks == len(jobs) and one.chunks == 1
    _same(one, ref)
    _same(small, ref)
    assert 0 < small.peak_bytes < one.peak_bytes


def test_the_numba_kernel_leaves_the_thread_count_of_torch_as_it_was():
    """Issue 22: numba's OpenMP pool shares OpenMP's thread count with torch. Starting it and
    restoring numba's own count after a sweep raised torch's to every core, so OMP_NUM_THREADS=1
    (two notebook kernels at once in make test, one Dask worker per core) stopped holding after
    the first sweep, and two such processes on two cores each ran 4x slower than alone."""
    import os
    import subprocess
    import sys

    code = ("import torch, dipnb\n"
            "before = torch.get_num_threads()\n"
            "dipnb.engine.prepare()\n"              # numba's pool starts and a sweep runs
            "print(before, torch.get_num_threads())\n")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "OMP_NUM_THREADS": "1"},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "1"], out


def test_the_process_that_compiles_the_kernel_runs_what_every_later_process_loads(tmp_path):
    """Issue 22: with reassoc, the code numba runs in the process that compiles the kernel and the
    code it caches rounded differently: the first run in a fresh clone (an empty cache) gave the
    quick Fig 1 losses a relative 1e-9 away from every later run. Two processes on one empty
    numba cache, the first compiling, the second loading, now give the same bits."""
    import os
    import subprocess
    import sys

    code = ("import hashlib, dipnb\n"
            "from dipnb.experiments.fig1 import fig1_sweep, FIG1_PRESETS\n"
            "r = fig1_sweep(**dict(FIG1_PRESETS['quick'], log10_ks_a=[1.0]))\n"
            "print(hashlib.sha1(r['loss'].tobytes() + r['stop_step'].tobytes()).hexdigest())\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    first, later = (subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout.strip() for _ in range(2))
    assert any(tmp_path.rglob("*.nbi"))                 # the first process did compile into the empty cache
    assert first == later


def test_divergent_step_sizes_stop_as_nonfinite_or_unconverged():
    jobs = [Job(j.net, j.problem, 1e6) for j in _jobs(ms=(2,), ks=(50,))]
    ref = sweep(jobs, 300, backend="reference")
    for b in ("numba", "torch"):
        out = sweep(jobs, 300, backend=b)
        np.testing.assert_array_equal(out[0].stop_step, ref[0].stop_step)
        assert not out[0].converged.any()


def test_sigmoid_kernel_is_accurate_to_a_few_ulp():
    from dipnb.engine._numba import sigmoid_array

    x = np.concatenate([np.linspace(-700, 700, 200_001), np.linspace(-3, 3, 10_001)])
    # against the exact value (in long double, 64-bit mantissa), as its docstring states: 3 ulp
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    got = sigmoid_array(x)
    ulp = np.abs(got.astype(np.longdouble) - exact) / np.spacing(np.abs(exact.astype(np.float64)))
    assert ulp.max() <= 3, ulp.max()
    special = sigmoid_array(np.array([np.nan, np.inf, -np.inf, 0.0, -800.0]))
    assert math.isnan(special[0]) and special[1] == 1.0 and special[2] == 0.0 and special[3] == 0.5
    assert special[4] == 0.0


def test_auto_picks_numba_on_cpu_sigmoid_and_torch_otherwise():
    assert sweep(_jobs(ms=(2,), ks=(20,)), 10).backend == "numba"
    assert sweep(_jobs(ms=(2,), ks=(20,), activation="tanh"), 10).backend == "torch"


def test_tanh_on_the_torch_backend_equals_reference():
    jobs = _jobs(ms=(2,), ks=(30, 90), activation="tanh")
    _same(sweep(jobs, 600, backend="torch"), sweep(jobs, 600, backend="reference"))


def test_bad_input_is_named():
    jobs = _jobs(ms=(2,), ks=(20,))
    with pytest.raises(ValueError, match="backend.*'numba'"):
        sweep(jobs, 10, backend="cuda-graphs")
    with pytest.raises(ValueError, match="steps"):
        sweep(jobs, -1)
    with pytest.raises(ValueError, match="jobs\\[0\\]"):
        sweep([(jobs[0].net, jobs[0].problem, 1.0)], 10)
    with pytest.raises(ValueError, match="sigmoid"):
        sweep(_jobs(ms=(2,), ks=(20,), activation="tanh"), 10, backend="numba")
    other = Job(jobs[0].net.subset([0, 1]), jobs[0].problem, 1.0)
    with pytest.raises(ValueError, match="runs"):
        sweep([other], 10)
    with pytest.raises(ValueError, match="gamma"):
        sweep([Job(jobs[0].net, jobs[0].problem, -1.0)], 10)


@pytest.mark.parametrize("n", [1, 3, 4, 9])
def test_every_output_size_takes_a_path_that_equals_reference(n):
    # n < 4, n = 4 and n > 4 take different blocked paths through the numba kernel; k = 5000
    # spans a full block and a partial one
    from dipnb.engine._numba import BLOCK

    jobs = _jobs(ms=(1, 2), ks=(20, 5000), n=n)
    assert BLOCK < 5000 < 2 * BLOCK
    ref = sweep(jobs, 600, backend="reference")
    _same(sweep(jobs, 600, backend="numba"), ref)
    conv = np.concatenate([r.converged for r in ref])         # stop steps inside the budget and at it
    assert 0 < conv.sum() < conv.size
