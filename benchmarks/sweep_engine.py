"""Time per run-step of gradient descent on the hidden layer: naive vs simple batched vs dipnb's engine.

One process, the same problems, the same machine, interleaved repeats; prints the
time per run-step of

  (a) naive: one run at a time, ``torch.nn.Linear`` + autograd + ``optim.SGD`` (W of shape k x 32);
  (b) simple batched: the closed-form gradient in h-space, ``torch.bmm`` over the runs;
  (c) dipnb.engine.sweep (``numba`` backend on the CPU, ``torch`` backend on CUDA);

their ratios (medians over the repeats), the memory-bandwidth floor (16 n k + 24 k
bytes per run-step at the copy bandwidth measured here) and the compute floor (the 4 n k
flops of a step's two n x k matrix-vector products at the float64 GEMM rate measured
here, ``torch.matmul`` on 2048^2 matrices with all threads; see
../shared/guide/performance.md), and the engine's scaling from one thread to all of
them, for k = 10^2 ... 10^5 (n = 5, m = 2, 50 runs).
A second table compares a whole small-k sweep (a Fig-1-like grid of cells) run at once
by the engine with the simple batched baseline run cell by cell.

    python benchmarks/sweep_engine.py [--device cpu|cuda] [--ks 100 1000 10000 100000]
                                      [--repeats 3] [--json results/benchmark-cpu.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import dipnb  # noqa: E402
from dipnb.engine import Job, sweep  # noqa: E402

N, M, RUNS = 5, 2, 50


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def problems(k, runs, dev, seed=0):
    A = dipnb.gaussian_operator(M, N, runs=runs, seed=seed, device=dev)
    pb = dipnb.Problem.make(A, runs=runs, seed=seed + 1)
    net = dipnb.TwoLayerDIP.init(runs, N, k, d=1, seed=seed + 2, device=dev)
    return net, pb


def naive(k, dev, steps, runs=2, gamma=1.0):
    """Per run: nn.Linear(32, k) + autograd + SGD; returns seconds per run-step."""
    net, pb = problems(k, runs, dev)
    A = pb.A.matrix().expand(runs, -1, -1)
    total = 0.0
    for r in range(runs):
        g = torch.Generator(device="cpu").manual_seed(r)
        u = torch.randn(32, generator=g, dtype=torch.float64)
        u = (u / u.norm()).to(dev)
        lin = torch.nn.Linear(32, k, bias=False, dtype=torch.float64, device=dev)
        V, Ar, y = net.V0[r], A[r], pb.y[r]
        opt = torch.optim.SGD(lin.parameters(), lr=gamma)
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            x = V @ torch.sigmoid(lin(u)) / math.sqrt(k)
            loss = 0.5 * ((Ar @ x - y) ** 2).sum()
            loss.backward()
            opt.step()
        sync(dev)
        total += time.perf_counter() - t0
    return total / (runs * steps)


def batched_state(k, dev, runs=RUNS, seed=0):
    net, pb = problems(k, runs, dev, seed)
    A = pb.A.matrix().expand(runs, -1, -1).contiguous()
    return net.h0.clone(), net.V0, A, pb.y


def batched(k, dev, steps, state=None, gamma=1.0):
    """Closed-form gradient in h-space, torch.bmm over runs; returns seconds per run-step."""
    h, V, A, y = state if state is not None else batched_state(k, dev)
    h = h.clone()
    runs = h.shape[0]
    At, Vt = A.transpose(1, 2), V.transpose(1, 2)
    c = gamma / math.sqrt(k)
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        s = torch.sigmoid(h)
        x = torch.bmm(V, s[:, :, None]) / math.sqrt(k)
        r = torch.bmm(At, torch.bmm(A, x) - y[:, :, None])
        g = torch.bmm(Vt, r)[:, :, 0]
        h = h - c * s * (1 - s) * g
    sync(dev)
    return (time.perf_counter() - t0) / (runs * steps)


def engine(k, dev, steps, runs=RUNS, threads=None):
    net, pb = problems(k, runs, dev)
    backend = "torch" if dev.type == "cuda" else "numba"
    out = sweep([Job(net, pb, 1.0)], steps, tol=0.0, backend=backend, threads=threads)
    return out.wall_s / out.run_steps, out


def engine_step_cost(k, dev, budget_s):
    """Seconds per run-step of the engine without its setup: the difference of two short sweeps."""
    s = steps_for(k, 1e-7 + 5e-10 * k * N, budget_s, RUNS)
    a, b = engine(k, dev, s)[1].wall_s, engine(k, dev, 2 * s)[1].wall_s
    return max(b - a, 0.3 * b) / (s * RUNS)


def engine_cpu_1thread(k, dev, steps):
    """Thread CPU seconds per run-step of the engine on one thread, its setup subtracted.

    CPU time of the calling thread (where numba runs a one-thread loop) does not count what
    other processes take from the core, so this holds on a loaded machine, where wall times
    do not."""
    net, pb = problems(k, RUNS, dev)

    def cpu(s):
        t0 = time.thread_time()
        out = sweep([Job(net, pb, 1.0)], s, tol=0.0, backend="numba", threads=1)
        return time.thread_time() - t0, out.run_steps
    c0 = cpu(0)[0]
    c1, run_steps = cpu(steps)
    return max(c1 - c0, 1e-9) / run_steps


def gemm_rate_1thread_cpu(n=2048, reps=3):
    """float64 flops per thread CPU second of ``torch.matmul`` on one thread (see engine_cpu_1thread)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = torch.randn(n, n, dtype=torch.float64), torch.randn(n, n, dtype=torch.float64)
        torch.matmul(a, b)
        best = math.inf
        for _ in range(reps):
            t0 = time.thread_time()
            torch.matmul(a, b)
            best = min(best, time.thread_time() - t0)
    finally:
        torch.set_num_threads(old)
    return 2 * n ** 3 / best


def reference_mhz():
    """The clock /proc/cpuinfo reports (under KVM: the TSC's), to turn seconds into reference cycles."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    except (OSError, ValueError):
        pass
    return math.nan


def bandwidth(dev, mb=512):
    """Bytes per second of a large copy (read + write)."""
    a = torch.empty(mb * 2 ** 20 // 8, dtype=torch.float64, device=dev).uniform_()
    b = torch.empty_like(a)
    b.copy_(a)
    best = math.inf
    for _ in range(5):
        sync(dev)
        t0 = time.perf_counter()
        b.copy_(a)
        sync(dev)
        best = min(best, time.perf_counter() - t0)
    return 2 * a.numel() * 8 / best


def gemm_rate(dev, n=2048, reps=5):
    """float64 flop/s of ``torch.matmul`` on n x n matrices (all threads; best of ``reps``)."""
    a = torch.randn(n, n, dtype=torch.float64, device=dev)
    b = torch.randn(n, n, dtype=torch.float64, device=dev)
    torch.matmul(a, b)
    best = math.inf
    for _ in range(reps):
        sync(dev)
        t0 = time.perf_counter()
        torch.matmul(a, b)
        sync(dev)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best


SIMD = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512vl", "avx512bw", "avx512_vnni", "amx_tile")


def cpu_info():
    """CPU model, family/model numbers, SIMD flags and the target numba compiles for."""
    info = {"model": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    try:
        fields = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        flags = set(fields.get("flags", "").split())
        info.update(model=fields.get("model name", info["model"]), vendor=fields.get("vendor_id"),
                    family=fields.get("cpu family"), model_number=fields.get("model"),
                    simd=[f for f in SIMD if f in flags])
    except OSError:
        pass
    try:
        import llvmlite.binding as ll
        info["numba_target"] = ll.get_host_cpu_name()
    except Exception:                                      # numba absent: the torch backend only
        pass
    return info


def steps_for(k, per_run_step_guess, budget_s, runs):
    return int(max(3, min(20000, budget_s / (per_run_step_guess * runs))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--ks", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per timed measurement (about)")
    ap.add_argument("--json", type=Path, default=None, help="also write the table here")
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device; accepted here: cpu")
    env = dipnb.experiments.environment(str(dev))
    load0 = os.getloadavg()
    cpu = cpu_info()
    threads = torch.get_num_threads()
    bw = bandwidth(dev)
    gemm = gemm_rate(dev)
    gemm1 = gemm_rate_1thread_cpu() if dev.type == "cpu" else math.nan
    mhz = reference_mhz() if dev.type == "cpu" else math.nan
    print(f"# dipnb sweep-engine benchmark on {env['device']}: {cpu['model']} "
          f"(family {cpu.get('family')} model {cpu.get('model_number')}; {' '.join(cpu.get('simd', []))}; "
          f"numba target {cpu.get('numba_target')}), torch {env['torch']}, {threads} threads")
    print(f"# measured: copy bandwidth {bw / 1e9:.1f} GB/s, float64 GEMM {gemm / 1e9:.1f} GFLOP/s "
          f"(torch.matmul 2048^2, {threads} threads; {gemm1 / 1e9:.1f} per CPU-second on one thread); "
          f"load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    print(f"# n = {N}, m = {M}, {RUNS} runs; time per run-step in microseconds, median of {args.repeats} repeats;")
    print("# floor: 16nk+24k bytes at the copy bandwidth; flops: 4nk flops at the GEMM rate; "
          "1 thr: the engine on one thread (scaling = 1 thr / engine)")
    engine(100, dev, 5)                                  # compile / warm up
    rows = []
    hdr = (f"{'k':>7} | {'naive':>9} | {'batched':>9} | {'engine':>9} | {'1 thr':>9} | {'floor':>8} | {'flops':>8} | "
           f"{'eng/naive':>10} | {'eng/batched':>11} | {'eng/floor':>9} | {'eng/flops':>9} | {'scaling':>7}")
    print(hdr)
    print("-" * len(hdr))
    for k in args.ks:
        floor = (16 * N * k + 24 * k) / bw
        flops = 4 * N * k / gemm
        st = batched_state(k, dev)
        guess = {"naive": 2e-4 + 3e-9 * k * N, "batched": 2e-6 + 3e-9 * k * N}
        # the engine's steps from a short calibration run, so that setup is a small part of each timing
        guess["engine"] = guess["engine_1thread"] = engine_step_cost(k, dev, 0.05 * args.budget)
        t = {key: [] for key in guess}
        for _ in range(args.repeats):
            t["naive"].append(naive(k, dev, steps_for(k, guess["naive"], args.budget, 2)))
            t["batched"].append(batched(k, dev, steps_for(k, guess["batched"], args.budget, RUNS), st))
            t["engine"].append(engine(k, dev, steps_for(k, guess["engine"], args.budget, RUNS))[0])
            if dev.type == "cpu":
                t["engine_1thread"].append(engine(k, dev, steps_for(k, 2 * guess["engine"], args.budget, RUNS),
                                                  threads=1)[0])
        if not t["engine_1thread"]:
            del t["engine_1thread"]
        cpu1 = ([engine_cpu_1thread(k, dev, steps_for(k, 2 * guess["engine"], args.budget, RUNS))
                 for _ in range(args.repeats)] if dev.type == "cpu" else [])
        def ratio(a, b, t=t):
            return statistics.median(x / y for x, y in zip(t[a], t[b]))

        row = {"k": k, **{key: statistics.median(v) * 1e6 for key, v in t.items()}, "floor": floor * 1e6,
               "compute_floor": flops * 1e6,
               "speedup_vs_naive": ratio("naive", "engine"), "speedup_vs_batched": ratio("batched", "engine"),
               "engine_over_floor": statistics.median(x / floor for x in t["engine"]),
               "engine_over_compute_floor": statistics.median(x / flops for x in t["engine"])}
        if "engine_1thread" in t:
            row["thread_scaling"] = ratio("engine_1thread", "engine")
        if cpu1:
            c = statistics.median(cpu1)
            row.update(engine_1thread_cpu=c * 1e6, compute_floor_1thread_cpu=4 * N * k / gemm1 * 1e6,
                       engine_cpu_over_compute_floor_1thread=c * gemm1 / (4 * N * k),
                       ref_cycles_per_entry=c / k * mhz * 1e6)
        rows.append(row)
        print(f"{k:>7} | {row['naive']:>9.2f} | {row['batched']:>9.3f} | {row['engine']:>9.3f} | "
              f"{row.get('engine_1thread', math.nan):>9.3f} | {row['floor']:>8.3f} | {row['compute_floor']:>8.3f} | "
              f"{row['speedup_vs_naive']:>9.0f}x | {row['speedup_vs_batched']:>10.1f}x | {row['engine_over_floor']:>9.2f} | "
              f"{row['engine_over_compute_floor']:>9.2f} | {row.get('thread_scaling', math.nan):>6.2f}x")

    if dev.type == "cpu":
        print(f"\n# the same on one thread in thread CPU time (what other processes take from the core does not"
              f" count):\n# engine CPU us per run-step, 4nk flops at the one-thread GEMM rate, their ratio, and"
              f" reference cycles per entry at {mhz:.0f} MHz")
        print(f"{'k':>7} | {'engine':>9} | {'flops':>8} | {'eng/flops':>9} | {'cyc/entry':>9}")
        for row in rows:
            print(f"{row['k']:>7} | {row['engine_1thread_cpu']:>9.3f} | {row['compute_floor_1thread_cpu']:>8.3f} | "
                  f"{row['engine_cpu_over_compute_floor_1thread']:>9.2f} | {row['ref_cycles_per_entry']:>9.2f}")

    # a whole small-k sweep: the engine trains all cells at once; the baseline goes cell by cell
    grid = [(m, k) for m in (1, 2, 3, 4, 5) for k in (10, 32, 100, 316)]
    steps = 2000
    jobs = []
    for i, (m, k) in enumerate(grid):
        A = dipnb.gaussian_operator(m, N, runs=RUNS, seed=i, device=dev)
        jobs.append(Job(dipnb.TwoLayerDIP.init(RUNS, N, k, d=1, seed=100 + i, device=dev),
                        dipnb.Problem.make(A, runs=RUNS, seed=200 + i), 1.0))
    thr = {"batched": [], "engine": []}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for job in jobs:
            net, pb = job.net, job.problem
            A = pb.A.matrix().expand(RUNS, -1, -1).contiguous()
            batched(net.k, dev, steps, (net.h0, net.V0, A, pb.y))
        thr["batched"].append(len(jobs) * RUNS * steps / (time.perf_counter() - t0))
        out = sweep(jobs, steps, tol=0.0, backend="torch" if dev.type == "cuda" else "numba")
        thr["engine"].append(out.run_steps / out.wall_s)
    sweep_ratio = statistics.median(e / b for e, b in zip(thr["engine"], thr["batched"]))
    print(f"\n# whole sweep, {len(grid)} cells (m in 1..5, k in 10..316) x {RUNS} runs x {steps} steps:")
    print(f"  simple batched, cell by cell: {statistics.median(thr['batched']):.3g} run-steps/s")
    print(f"  dipnb engine, whole grid:     {statistics.median(thr['engine']):.3g} run-steps/s "
          f"({sweep_ratio:.1f}x)")
    load1 = os.getloadavg()
    print(f"# load average at the end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "command": " ".join(["python"] + sys.argv), "environment": env, "cpu": cpu, "bandwidth_GBps": bw / 1e9,
            "gemm_GFLOPs": gemm / 1e9, "gemm_1thread_GFLOPs_per_cpu_s": gemm1 / 1e9, "reference_MHz": mhz,
            "torch_threads": threads,
            "load_average": {"start": list(load0), "end": list(load1)}, "rows": rows,
            "sweep": {"cells": len(grid), "runs": RUNS, "steps": steps, "speedup": sweep_ratio,
                      **{f"{k}_run_steps_per_s": statistics.median(v) for k, v in thr.items()}},
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:           # Ctrl-C, or the time limit of scripts/paper-on-gpu.sh
        print("\nbenchmark interrupted: the rows above were measured; nothing was written to --json",
              file=sys.stderr)
        sys.exit(130)
