"""The command line, ``python -m dipnb``: ``list`` the experiments and their presets, and ``run``
one of them (or ``all``) and save its result. :data:`DESCRIPTION` is its help, in plain text.

Each experiment saves ``NAME-PRESET.npz`` and ``.json`` under ``--out`` (default: the book's
``results/``, see :func:`dipnb.experiments.results_dir`, and ``results/quick/``, not versioned,
for the quick preset); a seed S other than 0 saves ``NAME-PRESET-seedS``; an existing result is
replaced only with ``--overwrite``. Every experiment computes resumable cells: Ctrl-C says how
many were saved and prints the command that resumes from there.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import textwrap

from . import experiments
from ._validation import SEED_MAX
from .experiments import EXPERIMENTS, RUN_PRESETS, Interrupted
from .experiments.cluster import WORKERS_MAX
from .experiments.registry import ResultExists, check_run

__all__ = ["main", "DESCRIPTION"]

#: The help of ``python -m dipnb``.
DESCRIPTION = """\
Run the experiments of the book and save their results.

  python -m dipnb list                      the experiments and their presets
  python -m dipnb run NAME [options]        run one experiment (or 'all') and save it
  python -m dipnb run --help                the options of run

A result is OUT/NAME-PRESET.npz with a .json twin (command, preset, parameters, seed,
versions, device, wall time); a seed S other than 0 saves OUT/NAME-PRESET-seedS. OUT is the
book's results/ folder (versioned), and results/quick/ (not versioned) for the quick preset,
unless --out names another. An existing result is replaced only with --overwrite.
Every experiment saves its finished cells at once under OUT/.partial/: Ctrl-C says how
many were saved and prints the command that resumes from them.

The cells run in this process, one after another, unless --workers N (a local Dask
cluster of N processes) or --scheduler ADDRESS (a running Dask scheduler: SLURM through
dask-jobqueue, one worker per GPU through dask-cuda, ...) sends them to a cluster; both need
pip install 'dipnb[cluster]'. The results are the same, bit for bit.
"""

#: One line per preset, for ``--help``.
PRESET_HELP = {
    "quick": "minutes on a laptop (the chapters' default)",
    "paper": "the paper's sizes, meant for a GPU (hours on a CPU for the sweeps)",
    "paper-cpu": "the paper's steps and runs on the part of the grid a CPU can do",
    "paper-long": "the images at a stated step rule and 10^4 steps or more",
    "paper-long-3x3": "Fig 3a with the 3x3 blur kernel",
}


def _int_in(low: int, high: int, accepted: str):
    """An argparse type: an integer in [low, high]; the error names the value and ``accepted``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in {accepted}, got {text!r}")
        return value
    return parse


_seed = _int_in(0, SEED_MAX, f"[0, 2**32 - 1] = [0, {SEED_MAX}]")
_workers = _int_in(1, WORKERS_MAX, f"[1, {WORKERS_MAX}] (worker processes)")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m dipnb", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="{list,run}")
    sub.add_parser("list", help="list the experiments and their presets",
                   description="List the experiments, the presets each one has, and what each computes.")
    presets = "\n".join(f"  {p:15s} {PRESET_HELP.get(p, '')}" for p in RUN_PRESETS)
    run = sub.add_parser("run", help="run an experiment and save it under --out",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Run an experiment (or all of them) and save its result.\n\n"
                                     f"Presets (each experiment has some of them; 'list' says which):\n{presets}")
    run.add_argument("experiment", choices=sorted(EXPERIMENTS) + ["all"], metavar="EXPERIMENT",
                     help="an experiment of 'python -m dipnb list', or 'all' (those that have the preset)")
    run.add_argument("--preset", choices=RUN_PRESETS, default="quick",
                     help="the sizes to run at (default quick; see above)")
    run.add_argument("--device", default="cpu", help="where to compute: cpu, cuda or cuda:N (default cpu)")
    run.add_argument("--seed", type=_seed, default=0,
                     help=f"the study's seed, an integer in [0, 2**32 - 1] = [0, {SEED_MAX}] (default 0, "
                          "the seed of the saved results); another seed S saves NAME-PRESET-seedS")
    run.add_argument("--out", default=None,
                     help="folder of the results (default results/, and results/quick/ for the quick preset)")
    run.add_argument("--overwrite", action="store_true", help="replace a result that exists already")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, metavar="N",
                       help="run the cells on a local Dask cluster of N processes, each computing one cell at a "
                            "time with the cores shared out among them; needs pip install 'dipnb[cluster]'")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the cells on the running Dask scheduler at ADDRESS (e.g. tcp://host:8786, as a "
                            "SLURM cluster of dask-jobqueue or a dask-cuda cluster prints it); needs "
                            "pip install 'dipnb[cluster]'")
    return parser, run


def _client(args, run):
    """The Dask client of ``--workers`` or ``--scheduler`` (``None`` without either: Dask is not imported)."""
    if args.workers is None and args.scheduler is None:
        return None
    from .experiments.cluster import connect, executor_info, local_cluster

    try:
        client = local_cluster(args.workers) if args.workers is not None else connect(args.scheduler)
    except ValueError as e:
        run.error(str(e))
    info = executor_info(client)
    threads = "/".join(str(t) for t in info["threads_per_worker"])
    where = (f"a local Dask cluster of {args.workers} processes of {threads} threads" if args.workers is not None
             else f"the Dask scheduler at {args.scheduler} ({info['workers']} workers now)")
    print(f"cells run on {where}; dashboard: {client.dashboard_link}", file=sys.stderr)
    return client


def _list() -> int:
    for name, exp in sorted(EXPERIMENTS.items()):
        print(f"{name}  (presets: {', '.join(exp.presets)})")
        print(textwrap.fill(exp.doc, width=88, initial_indent="    ", subsequent_indent="    "))
    return 0


def main(argv=None) -> int:
    """``python -m dipnb`` with the arguments ``argv`` (default ``sys.argv[1:]``); returns the exit status
    (0, 2 for bad arguments, 130 when interrupted)."""
    parser, run = _parser()
    args = parser.parse_args(argv)
    if args.cmd == "list":
        return _list()
    argv = list(sys.argv[1:] if argv is None else argv)
    names = sorted(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    if args.experiment == "all":
        skipped = [n for n in names if args.preset not in EXPERIMENTS[n].presets]
        if skipped:
            print(f"no preset {args.preset!r} for {', '.join(skipped)}: skipped", file=sys.stderr)
        names = [n for n in names if n not in skipped]
    todo = []
    for name in names:                  # every argument is checked before anything runs
        try:
            path = check_run(name, args.preset, args.device, args.seed, args.out, args.overwrite)
        except ResultExists as e:
            if args.experiment != "all":
                run.error(str(e))
            print(f"{name}: {e.path} exists already: skipped (--overwrite replaces it)", file=sys.stderr)
            continue
        except ValueError as e:
            run.error(str(e))
        todo.append((name, path))
    if args.preset == "paper" and args.device.startswith("cpu") and todo:
        cpu = [n for n, _ in todo if "paper-cpu" in EXPERIMENTS[n].presets]
        print("warning: the preset 'paper' runs the paper's sizes, meant for a GPU: on a CPU the sweeps can "
              "take hours (the result's .json records each run's time; README lists them)"
              + (f"; the preset 'paper-cpu' runs the paper's steps on the part of the grid a CPU can do "
                 f"({', '.join(cpu)}: python -m dipnb run {cpu[0]} --preset paper-cpu)" if cpu else ""),
              file=sys.stderr)
    client = _client(args, run) if todo else None
    try:
        return _run_all(args, argv, run, todo, client)
    finally:
        if client is not None:
            from .experiments.cluster import close

            close(client, local=args.workers is not None)


def _run_all(args, argv, run, todo, client) -> int:
    done = []
    for name, _ in todo:
        try:
            path = experiments.run(name, args.preset, args.device, args.seed, args.out,
                                   progress=not args.no_progress, overwrite=args.overwrite, client=client)
        except ValueError as e:
            run.error(str(e))
        except KeyboardInterrupt as e:
            again = "python -m dipnb " + " ".join(shlex.quote(a) for a in argv)
            what = str(e) if isinstance(e, Interrupted) else "interrupted before its first cell was saved"
            finished = f"\nfinished and saved before: {', '.join(done)}" if done else ""
            print(f"\n{name}: {what}{finished}\nto resume: {again}", file=sys.stderr)
            return 130
        done.append(name)
        print(f"{name}: saved {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
