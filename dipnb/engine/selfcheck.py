"""The engine against its definition on a device, without pytest (for a machine that has only
torch, numba, numpy, matplotlib and tqdm)::

    python -m dipnb.engine.selfcheck --device cuda

The grid mixes widths, observation sizes and step sizes so that some runs converge and some use
their whole budget (the grid of ``tests/test_engine.py``). A backend passes when every run
stops at the same step as :func:`dipnb.gradient_descent` on the CPU (the reference backend),
converges the same way, and ends with the same error to ``rtol`` 1e-8.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from .._random import selfcheck_seeds
from ..core.network import TwoLayerDIP
from ..core.operators import gaussian_operator
from ..core.problems import Problem
from . import Job, sweep

__all__ = ["mixed_grid", "compare", "run"]


def mixed_grid(device="cpu", ms=(1, 2, 4), ks=(8, 60, 300), runs: int = 4, n: int = 5) -> list:
    """The jobs of the check, on ``device``: every (m, k), γ from 0.3 to 3 across the runs."""
    jobs = []
    for m in ms:
        for k in ks:
            s_op, s_pb, s_net = selfcheck_seeds(m, k)
            A = gaussian_operator(m, n, runs=runs, seed=s_op, device=device)
            pb = Problem.make(A, runs=runs, seed=s_pb)
            net = TwoLayerDIP.init(runs, n, k, seed=s_net, device=device)
            jobs.append(Job(net, pb, torch.linspace(0.3, 3.0, runs, dtype=torch.float64, device=device)))
    return jobs


def compare(out, ref, rtol: float = 1e-8) -> dict:
    """How far ``out`` is from ``ref`` (lists of SweepResult): mismatched stop steps and
    convergence, and the largest relative error difference."""
    stop = sum(int((a.stop_step != b.stop_step).sum()) for a, b in zip(out, ref))
    conv = sum(int((a.converged != b.converged).sum()) for a, b in zip(out, ref))
    rel = max(float(np.max(np.abs(a.error - b.error) / np.maximum(np.abs(b.error), 1e-300)))
              for a, b in zip(out, ref))
    runs = sum(len(b.stop_step) for b in ref)
    return {"runs": runs, "stop_step_mismatches": stop, "convergence_mismatches": conv,
            "max_rel_error_diff": rel, "ok": stop == 0 and conv == 0 and rel <= rtol,
            "converged": int(sum(int(b.converged.sum()) for b in ref))}


def run(device="cpu", backend: str = "torch", steps: int = 1500) -> dict:
    """Train the grid on ``device`` with ``backend`` and compare with the reference on the CPU."""
    ref = sweep(mixed_grid("cpu"), steps, backend="reference")
    t0 = time.perf_counter()
    out = sweep(mixed_grid(device), steps, backend=backend, check_every=7)
    report = compare(out, ref)
    report.update(device=str(device), backend=backend, steps=steps, wall_s=round(time.perf_counter() - t0, 3),
                  torch=torch.__version__,
                  card=torch.cuda.get_device_name(torch.device(device)) if str(device).startswith("cuda") else "")
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dipnb.engine.selfcheck", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--backend", default="torch", choices=("torch", "numba"))
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--json", default=None, help="also write the report here")
    args = ap.parse_args(argv)
    report = run(args.device, args.backend, args.steps)
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    print("PASS" if report["ok"] else "FAIL: the backend does not equal the reference")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
