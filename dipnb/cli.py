"""The command line: ``python -m dipnb list`` and
``python -m dipnb run EXPERIMENT --preset {quick,paper,paper-cpu,paper-long,paper-long-3x3} --device {cpu,cuda}
--out results/``.

Each experiment saves ``NAME-PRESET.npz`` and ``.json`` under ``--out`` (default: the book's
``results/``, see :func:`dipnb.experiments.results_dir`). A sweep saves every finished cell
at once; Ctrl-C says how many were saved, and the same command resumes from there.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from . import experiments
from .experiments import EXPERIMENTS, RUN_PRESETS, Interrupted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dipnb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the experiments")
    run = sub.add_parser("run", help="run an experiment and save it under --out")
    run.add_argument("experiment", choices=sorted(EXPERIMENTS) + ["all"])
    run.add_argument("--preset", choices=RUN_PRESETS, default="quick",
                     help="quick (minutes on a laptop), paper (the paper's sizes: a GPU), paper-cpu (the "
                          "paper's steps on the part of the grid a CPU can do), paper-long (the images "
                          "at a stated step rule and 10^4 steps or more) or paper-long-3x3 (Fig 3a with the "
                          "3x3 blur kernel); the last three for some experiments")
    run.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default=None, help="folder of the results (default: results/)")
    run.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for name, exp in sorted(EXPERIMENTS.items()):
            print(f"{name:26s} {exp.doc}")
        return 0
    names = sorted(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    if args.experiment == "all":
        skipped = [n for n in names if args.preset not in EXPERIMENTS[n].presets]
        if skipped:
            print(f"no preset {args.preset!r} for {', '.join(skipped)}: skipped")
        names = [n for n in names if n not in skipped]
    for name in names:
        try:
            path = experiments.run(name, args.preset, args.device, args.seed, args.out,
                                   progress=not args.no_progress)
        except ValueError as e:
            parser.error(str(e))
        except Interrupted as e:
            again = "python -m dipnb " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
            print(f"\n{name}: {e}\nto resume: {again}", file=sys.stderr)
            return 130
        print(f"{name}: saved {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
