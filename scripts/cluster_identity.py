"""Every registered experiment's quick preset, in-process and on a local Dask cluster, compared
array by array, bit for bit (wall-clock fields, ``*seconds*``, left out: they time the machine).

Run it with one thread per process, so that torch's own reductions, which can move in their
last bits with the thread count, run as on the workers (the sweeps the engine trains do not
depend on the threads):

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python scripts/cluster_identity.py [--workers 2] [NAME ...]

Exit status 1 if any array differs. About 2 minutes on 2 cores for all thirteen experiments.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import dipnb  # noqa: E402
from dipnb.experiments import EXPERIMENTS, cluster  # noqa: E402


def arrays(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files if "seconds" not in k}


def differing(a: dict, b: dict) -> list[str]:
    keys = sorted(set(a) | set(b))
    return [k for k in keys if k not in a or k not in b or a[k].shape != b[k].shape or a[k].dtype != b[k].dtype
            or not np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind in "fc")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="experiments (default: every one with a quick preset)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    names = args.names or sorted(n for n, e in EXPERIMENTS.items() if "quick" in e.presets)
    client = cluster.local_cluster(args.workers, dashboard=False, threads=1)
    out, bad = Path(tempfile.mkdtemp()), 0
    try:
        for name in names:
            t0 = time.perf_counter()
            a = arrays(dipnb.experiments.run(name, "quick", out=out / "here", progress=False))
            t1 = time.perf_counter()
            b = arrays(dipnb.experiments.run(name, "quick", out=out / "there", progress=False, client=client))
            t2 = time.perf_counter()
            diff = differing(a, b)
            bad += bool(diff)
            print(f"{name:26s} in-process {t1 - t0:5.1f} s, {args.workers} workers {t2 - t1:5.1f} s: "
                  + (f"DIFFER in {', '.join(diff)}" if diff else f"{len(a)} arrays identical"), flush=True)
    finally:
        cluster.close(client, local=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
