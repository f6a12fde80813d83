"""Soak test of the chapters' execution: run every chapter N times the way `make test` does.

    nice .venv/bin/python tools/soak.py [--passes 10] [--workers 2] [--out _build/soak]

Each pass is the chapter part of `make test`'s pytest run: nbmake over every
book/*.ipynb, two at a time, through tools/nbwatch.py (the root conftest.py), with
MPLBACKEND=Agg OMP_NUM_THREADS=1 as in the Makefile. Per pass it records pytest's exit
code, the wall time and each chapter's duration (JUnit XML), and collects every nbwatch
line (NBWATCH_LOG). At the end it prints, per chapter, the fastest, median and slowest
execution, and flags a *silent stall*: an execution slower than twice its chapter's
median plus 30 s with no nbwatch line naming that chapter in that pass. Exit status 1
if a pass failed or a silent stall was seen.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "_build" / "soak"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "nbwatch.log"
    log.unlink(missing_ok=True)
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", NBWATCH_LOG=str(log))
    env.pop("DIPNB_EXECUTED", None)
    chapters = sorted(p.name for p in (ROOT / "book").glob("*.ipynb"))
    times: dict[str, list[float]] = {c: [] for c in chapters}
    rows, failed = [], 0
    for k in range(1, args.passes + 1):
        xml = out / f"pass{k:02d}.xml"
        lines_before = len(log.read_text().splitlines()) if log.exists() else 0
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "-n", str(args.workers), "--dist", "worksteal", "book/",
                             "--nbmake", "--nbmake-timeout=300", f"--junitxml={xml}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        wall = time.monotonic() - t0
        new = log.read_text().splitlines()[lines_before:] if log.exists() else []
        durations = {}
        if xml.exists():
            for case in ET.parse(xml).getroot().iter("testcase"):
                name = case.get("name", "")
                durations[name] = float(case.get("time", "nan"))
        for c in chapters:
            times[c].append(durations.get(c, float("nan")))
        failed += rc != 0
        rows.append((k, rc, wall, len(durations), new))
        print(f"pass {k:2d}: exit {rc}, {wall:6.1f} s wall, {len(durations)} chapters, "
              f"{len(new)} nbwatch lines, slowest "
              f"{max(durations, key=durations.get) if durations else '-'} "
              f"{max(durations.values()) if durations else float('nan'):.1f} s", flush=True)
        for line in new:
            print("    " + line, flush=True)

    silent = []
    print(f"\n{'chapter':28s} {'min':>6s} {'median':>6s} {'max':>6s}  (seconds, {args.passes} passes)")
    for c in chapters:
        ts = [t for t in times[c] if t == t]
        if not ts:
            print(f"{c:28s}  never ran")
            continue
        med = statistics.median(ts)
        print(f"{c:28s} {min(ts):6.1f} {med:6.1f} {max(ts):6.1f}")
        for k, t in enumerate(times[c], start=1):
            if t == t and t > 2 * med + 30 and not any(c.removesuffix(".ipynb") in ln for ln in rows[k - 1][4]):
                silent.append(f"pass {k}: {c} took {t:.0f} s (median {med:.0f} s) with no nbwatch line")
    events = sum(len(r[4]) for r in rows)
    print(f"\n{args.passes} passes, {failed} failed, {events} nbwatch lines, "
          f"{len(silent)} silent stalls")
    for s in silent:
        print("SILENT STALL: " + s)
    return 1 if failed or silent else 0


if __name__ == "__main__":
    sys.exit(main())
