"""The cost of running a sweep's cells on a Dask cluster, against the in-process run, in one process.

Prints, on this machine:

  (a) the overhead per cell: trivial cells (a few bytes of work) through
      ``dipnb.experiments.run_cells``, saved to a cache folder, in-process and on a local
      cluster of one worker; per cell, the latency (one cell at a time, submission to saved
      result) and the throughput cost (many cells at once, pipelined);
  (b) the speed-up from 1 to 2 workers on a cell-bound sweep: the Fig 1b grid below (35 cells
      of 50 runs, the paper's 10^5-step budget and tolerance), in-process (all threads) and on
      local clusters of 1 and 2 workers of one thread each; the ratios of their wall times, and
      a check that the three results are identical, bit for bit.

Each timing is the median of ``--repeats``; the clusters' start-up is timed apart.

    python benchmarks/cluster_cells.py [--repeats 3] [--json results/benchmark-cluster.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import dipnb  # noqa: E402
from dipnb.experiments import cluster  # noqa: E402

#: The cell-bound sweep of (b): Fig 1b's cells, 7 m x 5 k.
FIG1B = dict(n=5, ms=[1, 2, 3, 4, 5, 6, 8], log10_ks_a=[1.0], log10_ks_b=[1.0, 1.5, 2.0, 2.5, 3.0], runs=50,
             steps=100_000, tol=1e-14)


def trivial(cell):
    return {"value": np.array([cell])}


def per_cell(client, cells: int, one_at_a_time: bool) -> float:
    """Seconds per cell of ``cells`` trivial cells, each saved to a fresh cache folder."""
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        if one_at_a_time:
            for i in range(cells):
                dipnb.experiments.run_cells("bench", [i], trivial, Path(d), client=client)
        else:
            dipnb.experiments.run_cells("bench", list(range(cells)), trivial, Path(d), client=client)
        return (time.perf_counter() - t0) / cells


def fig1b(client):
    """Wall seconds and result of the Fig 1b grid ``FIG1B`` on ``client`` (``None``: in-process)."""
    t0 = time.perf_counter()
    with cluster.on_cluster(client):
        out = dipnb.experiments.fig1_sweep(**FIG1B)
    return time.perf_counter() - t0, out


def identical(a: dict, b: dict) -> bool:
    return sorted(a) == sorted(b) and all(
        np.array_equal(np.asarray(a[k]), np.asarray(b[k]), equal_nan=np.asarray(a[k]).dtype.kind in "fc") for k in a)


def machine() -> dict:
    info = {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    from importlib import metadata
    info.update(torch=metadata.version("torch"), numba=metadata.version("numba"),
                distributed=metadata.version("distributed"))
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cells", type=int, default=200, help="trivial cells of the throughput measurement")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    med = statistics.median
    info = machine()
    print(f"machine: {info.get('cpu')}, {info['cores']} cores; torch {info['torch']}, numba {info['numba']}, "
          f"distributed {info['distributed']}")
    dipnb.engine.prepare()
    rows = {}

    # (a) overhead per cell
    t0 = time.perf_counter()
    one = cluster.local_cluster(1, dashboard=False, threads=1)
    start_1 = time.perf_counter() - t0
    per_cell(one, 5, False)                                   # warm: the worker imports dipnb
    for label, client in (("in-process", None), ("1 worker", one)):
        rows[f"latency {label}"] = med(per_cell(client, 20, True) for _ in range(args.repeats))
        rows[f"throughput {label}"] = med(per_cell(client, args.cells, False) for _ in range(args.repeats))
    print("\n(a) seconds per trivial cell (saved to a cache folder)")
    print(f"  {'':28s}{'in-process':>12s}{'1 worker':>12s}{'overhead':>12s}")
    for kind in ("latency", "throughput"):
        a, b = rows[f"{kind} in-process"], rows[f"{kind} 1 worker"]
        what = "one at a time" if kind == "latency" else f"{args.cells} at once"
        print(f"  {kind + ' (' + what + ')':28s}{a:12.5f}{b:12.5f}{b - a:12.5f}")

    # (b) a cell-bound sweep, 1 and 2 workers
    fig1b(one)                                                 # warm: the worker loads the kernel
    times, outs = {}, {}
    times["in-process"], outs["in-process"] = fig1b(None)
    t = [fig1b(one) for _ in range(args.repeats)]
    times["1 worker"], outs["1 worker"] = med(x[0] for x in t), t[0][1]
    cluster.close(one, local=True)
    t0 = time.perf_counter()
    two = cluster.local_cluster(2, dashboard=False, threads=1)
    start_2 = time.perf_counter() - t0
    fig1b(two)
    t = [fig1b(two) for _ in range(args.repeats)]
    times["2 workers"], outs["2 workers"] = med(x[0] for x in t), t[0][1]
    cluster.close(two, local=True)
    t = [fig1b(None) for _ in range(args.repeats - 1)]
    times["in-process"] = med([times["in-process"]] + [x[0] for x in t])
    same = identical(outs["in-process"], outs["1 worker"]) and identical(outs["in-process"], outs["2 workers"])
    cells = len(FIG1B["ms"]) * len(FIG1B["log10_ks_b"])
    print(f"\n(b) Fig 1b grid, {cells} cells of {FIG1B['runs']} runs, {FIG1B['steps']} steps (wall s, median of "
          f"{args.repeats})")
    for label, sec in times.items():
        print(f"  {label:12s}{sec:9.2f} s   {times['1 worker'] / sec:5.2f}x the 1-worker time")
    print(f"  speed-up 1 -> 2 workers: {times['1 worker'] / times['2 workers']:.2f}x "
          f"(ideal {min(2, info['cores'])}x on {info['cores']} cores)")
    print(f"  results identical bit for bit: {same}")
    print(f"  cluster start-up: {start_1:.1f} s (1 worker), {start_2:.1f} s (2 workers), not counted above")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "command": "python benchmarks/cluster_cells.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": info, "per_cell_s": rows, "fig1b_s": times, "fig1b_cells": cells, "identical": same,
            "speedup_1_to_2": times["1 worker"] / times["2 workers"],
            "startup_s": {"1 worker": start_1, "2 workers": start_2}}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
