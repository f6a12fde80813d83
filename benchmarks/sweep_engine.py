"""Time per run-step of gradient descent on the hidden layer: naive vs simple batched vs dipnb's engine.

One process, the same problems, the same machine, interleaved repeats; prints the
time per run-step of

  (a) naive: one run at a time, ``torch.nn.Linear`` + autograd + ``optim.SGD`` (W of shape k x 32);
  (b) simple batched: the closed-form gradient in h-space, ``torch.bmm`` over the runs;
  (c) dipnb.engine.sweep (``numba`` backend on the CPU, ``torch`` backend on CUDA);

their ratios (medians over the repeats), and the memory-bandwidth floor
(16 n k + 24 k bytes per run-step at the bandwidth measured here, see
../shared/guide/performance.md), for k = 10^2 ... 10^5 (n = 5, m = 2, 50 runs).
A second table compares a whole small-k sweep (a Fig-1-like grid of cells) run at once
by the engine with the simple batched baseline run cell by cell.

    python benchmarks/sweep_engine.py [--device cpu|cuda] [--ks 100 1000 10000 100000]
                                      [--repeats 3] [--json results/benchmark-cpu.json]
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
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
    bw = bandwidth(dev)
    print(f"# dipnb sweep-engine benchmark on {env['device']}, torch {env['torch']}, "
          f"{torch.get_num_threads()} torch threads; measured copy bandwidth {bw / 1e9:.1f} GB/s")
    print(f"# n = {N}, m = {M}, {RUNS} runs; time per run-step in microseconds, median of {args.repeats} repeats")
    engine(100, dev, 5)                                  # compile / warm up
    rows = []
    hdr = f"{'k':>7} | {'naive':>9} | {'batched':>9} | {'engine':>9} | {'floor':>8} | {'eng/naive':>10} | {'eng/batched':>11} | {'eng/floor':>9}"
    print(hdr)
    print("-" * len(hdr))
    for k in args.ks:
        floor = (16 * N * k + 24 * k) / bw
        st = batched_state(k, dev)
        guess = {"naive": 2e-4 + 3e-9 * k * N, "batched": 2e-6 + 3e-9 * k * N, "engine": 1e-7 + 1e-9 * k * N}
        t = {key: [] for key in guess}
        for _ in range(args.repeats):
            t["naive"].append(naive(k, dev, steps_for(k, guess["naive"], args.budget, 2)))
            t["batched"].append(batched(k, dev, steps_for(k, guess["batched"], args.budget, RUNS), st))
            t["engine"].append(engine(k, dev, steps_for(k, guess["engine"], args.budget, RUNS))[0])
        ratio = lambda a, b: statistics.median(x / y for x, y in zip(t[a], t[b]))  # noqa: E731
        row = {"k": k, **{key: statistics.median(v) * 1e6 for key, v in t.items()}, "floor": floor * 1e6,
               "speedup_vs_naive": ratio("naive", "engine"), "speedup_vs_batched": ratio("batched", "engine"),
               "engine_over_floor": statistics.median(x / floor for x in t["engine"])}
        rows.append(row)
        print(f"{k:>7} | {row['naive']:>9.2f} | {row['batched']:>9.3f} | {row['engine']:>9.3f} | {row['floor']:>8.3f} | "
              f"{row['speedup_vs_naive']:>9.0f}x | {row['speedup_vs_batched']:>10.1f}x | {row['engine_over_floor']:>9.2f}")

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
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "command": " ".join(["python"] + sys.argv), "environment": env, "bandwidth_GBps": bw / 1e9,
            "torch_threads": torch.get_num_threads(), "rows": rows,
            "sweep": {"cells": len(grid), "runs": RUNS, "steps": steps, "speedup": sweep_ratio,
                      **{f"{k}_run_steps_per_s": statistics.median(v) for k, v in thr.items()}},
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
