"""Command line: ``python -m dipnb run EXPERIMENT --preset {quick,paper,paper-cpu} --device {cpu,cuda} --out results/``."""
from __future__ import annotations

import argparse
import sys

from .experiments import EXPERIMENTS, RUN_PRESETS, run_experiment


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dipnb", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the experiments")
    run = sub.add_parser("run", help="run an experiment and save it under --out")
    run.add_argument("experiment", choices=sorted(EXPERIMENTS) + ["all"])
    run.add_argument("--preset", choices=RUN_PRESETS, default="quick",
                     help="quick (minutes on a laptop), paper (the paper's sizes: a GPU) or paper-cpu "
                          "(the paper's steps on the part of the grid a CPU can do; some experiments)")
    run.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default=None, help="folder of the results (default: results/)")
    run.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for name, exp in sorted(EXPERIMENTS.items()):
            print(f"{name:16s} {exp.doc}")
        return 0
    names = sorted(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    if args.experiment == "all":
        skipped = [n for n in names if args.preset not in EXPERIMENTS[n].presets]
        if skipped:
            print(f"no preset {args.preset!r} for {', '.join(skipped)}: skipped")
        names = [n for n in names if n not in skipped]
    for name in names:
        try:
            path = run_experiment(name, args.preset, args.device, args.seed, args.out,
                                  progress=not args.no_progress)
        except ValueError as e:
            parser.error(str(e))
        print(f"{name}: saved {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
