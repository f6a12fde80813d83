"""Where results live and what is recorded with them.

A result is ``NAME-PRESET.npz`` (arrays) with a ``.json`` twin recording the command, preset,
parameters, seed, package versions, device and wall time; a seed S other than 0 saves
``NAME-PRESET-seedS`` instead, and the command line saves the quick preset under ``results/quick/``
(not versioned, see :func:`dipnb.experiments.registry.run`). Results are found in
``$DIPNB_RESULTS`` when it is set, else in the ``results/`` folder of the book that the
working directory belongs to (the nearest folder, from the working directory up, that holds
the book's ``_toc.yml``), else in ``./results``: never beside the installed package.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from .._version import __version__

__all__ = ["book_root", "results_dir", "save_result", "load_result", "best_result", "results_table",
           "tracked_files", "environment", "provenance", "jsonable"]


def book_root(start: Path | str | None = None) -> Path | None:
    """The root of the book that ``start`` (default: the working directory) belongs to: the
    nearest folder, from ``start`` up, that holds the book's ``_toc.yml``; ``None`` outside a book."""
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def results_dir() -> Path:
    """``$DIPNB_RESULTS``, else ``results/`` in the :func:`book_root` of the working directory
    (chapters run in ``book/``), else ``./results``."""
    env = os.environ.get("DIPNB_RESULTS")
    if env:
        return Path(env)
    root = book_root()
    return (root if root is not None else Path.cwd().resolve()) / "results"


def environment(device: str = "cpu") -> dict:
    """Versions and device, recorded with every result."""
    dev = str(device)
    if dev.startswith("cuda") and torch.cuda.is_available():
        dev = f"{dev} ({torch.cuda.get_device_name(torch.device(dev))})"
    else:
        dev = f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return {"dipnb": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "device": dev, "platform": platform.platform()}


def jsonable(x):
    """``x`` with NumPy scalars and arrays, tuples and non-string keys turned into what JSON
    writes (the provenance and scalars of a saved result)."""
    if isinstance(x, Mapping):          # a dict, or a typed preset (registry.Preset)
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x


def save_result(name: str, arrays: dict, meta: dict, out: Path | str | None = None) -> Path:
    """Write ``NAME.npz`` (arrays) and ``NAME.json`` (metadata) into ``out``; return the npz path."""
    out = Path(out) if out is not None else results_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.npz"
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})
    (out / f"{name}.json").write_text(json.dumps(jsonable(meta), indent=2) + "\n")
    return path


def load_result(name: str, out: Path | str | None = None):
    """Return ``(arrays, meta)`` of a saved result, or ``None`` when it does not exist."""
    out = Path(out) if out is not None else results_dir()
    path = out / f"{name}.npz"
    if not path.exists():
        return None
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads((out / f"{name}.json").read_text())
    return arrays, meta


def best_result(name: str, out=None, presets=("paper", "paper-cpu")):
    """The saved result of experiment ``name`` at the first preset of ``presets`` available.

    Tries ``NAME-paper`` then ``NAME-paper-cpu`` in ``results/`` (or ``out``) by default
    (the image chapters put ``paper-long``, the faithful step and budget, first); returns
    ``(preset, arrays, meta)`` or ``None`` when none exists.
    """
    for preset in presets:
        saved = load_result(f"{name}-{preset}", out)
        if saved is not None:
            return (preset, *saved)
    return None


def tracked_files(folder: Path | str) -> set[str] | None:
    """The names of the files of ``folder`` that git tracks, or ``None`` when ``folder`` is not in a
    git work tree (or git is not installed): then nothing can be said about what is versioned."""
    try:
        r = subprocess.run(["git", "-C", str(folder), "ls-files", "-z", "--", "."], capture_output=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return {Path(f).name for f in r.stdout.decode(errors="replace").split("\0") if f and "/" not in f}


def results_table(out: Path | str | None = None, quick: bool = False, tracked_only: bool = True) -> list[dict]:
    """One row per saved result in ``out`` (default ``results/``): what ran, where, how long.

    Each row has ``experiment``, ``preset``, ``seed``, ``device``, ``wall_time_s``, ``date``,
    ``command``, ``torch`` and ``file``, read from the ``.json`` twin of each result.

    Parameters
    ----------
    out : folder, optional
        Default :func:`results_dir`.
    quick : bool
        Also list results of the ``quick`` preset (left out by default: they are not the
        repository's results).
    tracked_only : bool
        When ``out`` is in a git work tree, list only the results git tracks (both the
        ``.npz`` and its ``.json``), so that a run nobody committed is not presented as one
        of the repository's results; outside a work tree every result is listed.
    """
    out = Path(out) if out is not None else results_dir()
    tracked = tracked_files(out) if tracked_only else None
    rows = []
    for js in sorted(out.glob("*.json")):
        npz = js.with_suffix(".npz")
        if not npz.exists():
            continue
        if tracked is not None and not {js.name, npz.name} <= tracked:
            continue
        meta = json.loads(js.read_text())
        if "experiment" not in meta or (meta.get("preset") == "quick" and not quick):
            continue
        rows.append({"experiment": meta["experiment"], "preset": meta.get("preset"), "seed": meta.get("seed"),
                     "device": meta.get("device"), "wall_time_s": meta.get("wall_time_s"),
                     "date": meta.get("date"), "command": meta.get("command"),
                     "torch": meta.get("torch"), "file": npz.name})
    return rows


def provenance(meta: dict, path: str | None = None) -> str:
    """Where a saved result came from, in two lines: the command, then its preset, runs and
    steps (when recorded), device (and the Dask cluster, when one computed it), torch version,
    wall time and date."""
    p = meta.get("parameters") or {}
    size = "".join(f", {p[key]} {key}" for key in ("runs", "steps") if isinstance(p, dict) and key in p)
    head = f"{path}: " if path else ""
    ex = meta.get("executor") or {}
    where = f" on a Dask cluster of {ex.get('workers')} workers" if ex.get("kind") == "dask" else ""
    return (f"{head}{meta.get('command')}\n  preset {meta.get('preset')!r}{size}, device {meta.get('device')}{where}, "
            f"torch {meta.get('torch')}, wall time {meta.get('wall_time_s')} s, {meta.get('date')}")
