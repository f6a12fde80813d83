"""The registry of experiments: every study that the command line runs and saves under
``results/``. It knows no study: each study module registers itself where it is defined,

.. code-block:: python

    @register("fig2", presets=FIG2_PRESETS, chapter="07_fig2_stepsize",
              doc="Fig 2: probability of convergence over (n, gamma)")
    def _fig2(preset, device, seed, cache, progress):
        return fig2_sweep(**FIG2_PRESETS[preset], seed=seed, device=device, cache=cache,
                          progress=progress)

and :func:`run` calls it with ``preset, device, seed, cache, progress`` and saves what it
returns (a dict of arrays and scalars) with its provenance (:mod:`.results`). A study whose
presets are its own keyword arguments needs no runner of its own:
``register_study("fig2", fig2_sweep, FIG2_PRESETS, doc=..., chapter=...)``. Importing
:mod:`dipnb.experiments` imports every study, so the registry is full there and in the
command line.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import check_choice, check_device, check_positive, check_seed
from .cells import study_context
from .cluster import executor_info, on_cluster
from .results import best_result, environment, jsonable, results_dir, save_result

__all__ = ["PRESETS", "RUN_PRESETS", "current_preset", "log10_grid", "Experiment", "EXPERIMENTS",
           "register", "register_study", "get", "run", "saved_or_quick", "check_run", "ResultExists", "result_name",
           "default_out", "check_out", "Preset", "preset_type", "typed_presets", "declared_presets", "RUNTIME_ARGUMENTS"]

PRESETS = ("quick", "paper")
#: Presets the command line accepts: ``paper-cpu`` is the paper's steps, runs and tolerance on
#: the part of a grid that a CPU finishes in minutes to hours; ``paper-long`` (the images): the
#: paper's sizes at a step fixed by a stated rule, with 10^4 steps or more; ``paper-long-3x3``
#: (Fig 3a): the same with the 3x3 blur kernel, a sensitivity run (only some experiments define them).
RUN_PRESETS = PRESETS + ("paper-cpu", "paper-long", "paper-long-3x3")


def current_preset() -> str:
    """The preset chosen by the environment variable ``DIPNB_PRESET`` (default ``"quick"``)."""
    return check_choice("DIPNB_PRESET", os.environ.get("DIPNB_PRESET", "quick"), PRESETS)


def log10_grid(lo: float, hi: float, step: float) -> list[float]:
    """``[lo, lo + step, ..., hi]`` rounded to 3 decimals (exponents of a log grid)."""
    check_positive("step", step)
    if hi < lo:
        raise ValueError(f"hi must be >= lo, got lo={lo}, hi={hi}")
    return np.round(np.arange(lo, hi + step / 2, step), 3).tolist()


@dataclass
class Experiment:
    """A study that the command line can run at one of its presets and save under ``results/``.

    Attributes
    ----------
    name : str
        The name on the command line (``python -m dipnb run NAME``).
    doc : str
        One line for ``python -m dipnb list``.
    run : callable
        ``run(preset, device, seed, cache, progress) -> dict`` of arrays and scalars.
    presets : dict
        Preset name -> the parameters it runs with (recorded with every result).
    chapter : str
        The chapter that draws its results.
    """

    name: str
    doc: str
    run: Callable[..., dict]
    presets: dict = field(repr=False)
    chapter: str = ""


#: Every registered experiment, by name (filled by the study modules of :mod:`dipnb.experiments`).
EXPERIMENTS: dict[str, Experiment] = {}


def declared_presets(name: str, presets: dict, study: Callable | None = None) -> dict[str, Preset]:
    """The presets of an experiment with its own runner, typed: one frozen :class:`Preset` whose
    fields are the keys every preset must have (those of the first). Raises ``ValueError`` naming
    the preset and the keys it lacks or adds, or, with ``study``, the keys that are not parameters
    of the function the runner passes them to."""
    first = next(iter(presets.values()))
    keys = list(first)
    for p, kw in presets.items():
        if set(kw) != set(keys):
            raise ValueError(f"experiment {name!r}, preset {p!r}: keys {sorted(set(kw) ^ set(keys))} differ from "
                             f"those of preset {next(iter(presets))!r}; accepted: {keys}")
    if study is not None:
        params = inspect.signature(study).parameters
        bad = [k for k in keys if k not in params]
        if bad:
            raise ValueError(f"experiment {name!r}: preset keys {bad} are not parameters of {study.__name__}; "
                             f"accepted: {[k for k in params if k not in RUNTIME_ARGUMENTS]}")
    cls = _preset_class(name, [(k, object) for k in keys], __name__)
    return {p: cls(**kw) for p, kw in presets.items()}


def register(name: str, presets: dict, doc: str, chapter: str = "", study: Callable | None = None):
    """Decorator: register ``run(preset, device, seed, cache, progress) -> dict`` as experiment ``name``.

    The presets are typed here (:func:`declared_presets`; ``presets`` is updated in place): every
    preset has the same keys, and with ``study`` they are parameters of that function. Raises
    ``ValueError`` if ``name`` is taken, a preset is not one of :data:`RUN_PRESETS`, or the presets
    disagree.
    """
    bad = [p for p in presets if p not in RUN_PRESETS]
    if bad:
        raise ValueError(f"experiment {name!r}: unknown presets {bad}; accepted: {list(RUN_PRESETS)}")
    if not all(isinstance(v, Preset) for v in presets.values()):
        presets.update(declared_presets(name, presets, study))

    def deco(fn):
        if name in EXPERIMENTS:
            raise ValueError(f"an experiment named {name!r} is already registered "
                             f"({EXPERIMENTS[name].run.__module__})")
        EXPERIMENTS[name] = Experiment(name, doc, fn, presets, chapter)
        return fn

    return deco


class Preset(Mapping):
    """The base of the typed presets (:func:`preset_type`): a frozen dataclass of a study's
    parameters that reads like the dict it replaces (``P["steps"]``, ``**P``, ``dict(P)``)."""

    def __getitem__(self, key):
        if key not in self._names():
            raise KeyError(f"{key!r} is not a parameter of {type(self).__name__}; accepted: {self._names()}")
        return getattr(self, key)

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    @classmethod
    def _names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]


#: The arguments of a study that a preset never sets (the command line and the registry do).
RUNTIME_ARGUMENTS = ("seed", "device", "cache", "progress")


def preset_type(study: Callable) -> type[Preset]:
    """A frozen dataclass (:class:`Preset`) with one field per parameter of ``study`` but
    :data:`RUNTIME_ARGUMENTS`, each defaulting to the study's own default."""
    specs = []
    for p in inspect.signature(study).parameters.values():
        if p.name in RUNTIME_ARGUMENTS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            specs.append((p.name, object))
        else:
            specs.append((p.name, object, field(default_factory=lambda v=p.default: v)))
    return _preset_class(study.__name__, specs, study.__module__)


def _preset_class(name: str, specs: list, module: str) -> type[Preset]:
    """The frozen :class:`Preset` dataclass ``NamePreset`` (from ``name``, e.g. ``fig1_sweep`` or
    ``sigma-min``) with the fields ``specs`` (as :func:`dataclasses.make_dataclass` takes them)."""
    cls_name = "".join(w.capitalize() for w in name.replace("-", "_").split("_")) + "Preset"
    return dataclasses.make_dataclass(cls_name, specs, bases=(Preset,), frozen=True, kw_only=True,
                                      namespace={"__module__": module})


def typed_presets(study: Callable, presets: dict) -> dict[str, Preset]:
    """Each preset of ``presets`` (name -> keyword arguments of ``study``) as a :func:`preset_type`
    instance. Raises ``ValueError`` naming the preset, the key that is not a parameter of the
    study (and the accepted ones) or the parameter it lacks."""
    cls = preset_type(study)
    accepted = cls._names()
    out = {}
    for name, kw in presets.items():
        bad = sorted(set(kw) - set(accepted))
        if bad:
            raise ValueError(f"preset {name!r} of {study.__name__}: {bad} are not parameters of "
                             f"{study.__name__}; accepted: {accepted}")
        try:
            out[name] = cls(**kw)
        except TypeError as e:
            raise ValueError(f"preset {name!r} of {study.__name__}: {e}") from None
    return out


def register_study(name: str, study: Callable[..., dict], presets: dict, doc: str, chapter: str = ""):
    """Register a study whose presets are its keyword arguments: the experiment calls
    ``study(**presets[preset], seed=seed, device=device, cache=cache, progress=progress)``.

    The presets are checked against the study's signature here, when the module is imported
    (:func:`typed_presets`), and ``presets`` is updated in place to hold the typed presets, so
    that a misspelt or stale key fails at import, not hours into a run."""
    presets.update(typed_presets(study, presets))

    def run(preset, device, seed, cache, progress):
        return study(**presets[preset], seed=seed, device=device, cache=cache, progress=progress)

    run.__qualname__ = run.__name__ = f"run_{study.__name__}"
    run.__module__ = study.__module__
    register(name, presets=presets, doc=doc, chapter=chapter)(run)
    return study


def get(name: str) -> Experiment:
    """The registered experiment ``name``; the error lists the accepted names."""
    check_choice("experiment", name, sorted(EXPERIMENTS))
    return EXPERIMENTS[name]


def _command() -> str:
    if sys.argv and sys.argv[0].endswith(("__main__.py", "cli.py")):
        return " ".join([Path(sys.executable).name, "-m", "dipnb"] + sys.argv[1:])
    return None


def result_name(name: str, preset: str, seed: int = 0) -> str:
    """The file name (without suffix) of a result: ``NAME-PRESET`` for seed 0 (the committed
    results and :func:`dipnb.experiments.best_result` use these), ``NAME-PRESET-seedS`` otherwise."""
    return f"{name}-{preset}" if seed == 0 else f"{name}-{preset}-seed{seed}"


def default_out(preset: str) -> Path:
    """Where :func:`run` saves without ``out``: :func:`dipnb.experiments.results_dir` (``results/``,
    versioned), except the ``quick`` preset, which goes to its ``quick/`` subfolder (not versioned)."""
    return results_dir() / "quick" if preset == "quick" else results_dir()


def check_out(out) -> Path:
    """Make sure results can be written to the folder ``out`` (created if missing); return it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} is a file, not a folder; accepted: a folder that exists or can be "
                         f"created, and that can be written")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as e:
        raise ValueError(f"out {str(out)!r} cannot be written ({e.strerror or e}); accepted: a folder that exists "
                         f"or can be created, and that can be written") from None
    return out


class ResultExists(ValueError):
    """:func:`run` would replace the result ``path`` and was not told to (``overwrite``)."""

    def __init__(self, path: Path, message: str):
        self.path = path
        super().__init__(message)


def check_run(name: str, preset: str, device="cpu", seed: int = 0, out: Path | str | None = None,
              overwrite: bool = False) -> Path:
    """Check the arguments of :func:`run` before anything runs; return the ``.npz`` it would write.

    Raises ``ValueError`` for an unknown experiment or preset, a preset the experiment lacks, a
    device this machine lacks, a seed outside [0, 2**32 - 1], a folder that cannot be written, or
    a result that exists already (unless ``overwrite``).
    """
    exp = get(name)
    check_choice("preset", preset, RUN_PRESETS)
    if preset not in exp.presets:
        raise ValueError(f"experiment {name!r} has no preset {preset!r}; accepted: "
                         f"{', '.join(repr(p) for p in exp.presets)}")
    check_device(device)
    seed = check_seed(seed)
    out = check_out(default_out(preset) if out is None else out)
    path = out / f"{result_name(name, preset, seed)}.npz"
    if not overwrite:
        there = [f for f in (path, path.with_suffix(".json")) if f.exists()]
        if there:
            raise ResultExists(path, f"{there[0]} exists already (experiment {name!r}, preset {preset!r}, seed {seed}); "
                             f"accepted: overwrite=True (--overwrite) to replace it, another seed, or another "
                             f"folder (--out)")
    return path


def run(name: str, preset: str = "quick", device: str = "cpu", seed: int = 0,
        out: Path | str | None = None, progress: bool = True, overwrite: bool = False, client=None) -> Path:
    """Run experiment ``name`` at ``preset`` and save it as ``out/NAME-PRESET.npz`` (+ ``.json``).

    Each finished cell of a sweep is saved at once under ``out/.partial/`` (see
    :mod:`.cells`), so an interrupted run resumes where it stopped when the same command
    runs again; the partial cells are removed once the whole result is saved. The arguments
    are checked first (:func:`check_run`).

    Parameters
    ----------
    name, preset : str
        A registered experiment and one of its presets.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    seed : int
        The study's seed, in [0, 2**32 - 1]. A seed other than 0 is part of the file name,
        ``NAME-PRESET-seedS.npz`` (:func:`result_name`), so that it never replaces the seed-0
        result the chapters draw.
    out : folder, optional
        Default :func:`default_out`: ``results/``, and ``results/quick/`` (not versioned) for the
        quick preset.
    progress : bool
        A progress bar over the cells (``dipnb._progress.progress_bar``).
    overwrite : bool
        Replace an existing result; without it an existing result is refused before anything runs.
    client : dask.distributed.Client, optional
        Compute the cells on this Dask cluster (:mod:`dipnb.experiments.cluster`); this process
        saves them as they complete. The result is the same, bit for bit; its ``.json`` records
        the executor (``executor``). Default: in-process, the cells one after another.
    """
    path = check_run(name, preset, device, seed, out, overwrite)
    exp, seed, out = get(name), check_seed(seed), path.parent
    key = json.dumps(jsonable(exp.presets[preset]), sort_keys=True)
    cache = out / ".partial" / f"{name}-{preset}-seed{seed}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    t0 = time.time()
    # every cell of the run is keyed by the whole preset, the seed and the device (cells.study_context)
    with on_cluster(client), study_context(f"experiment {name}", {"preset": dict(exp.presets[preset]), "seed": seed,
                                                                   "device": device}):
        arrays = exp.run(preset, device, seed, cache, progress)
    meta = {"experiment": name, "preset": preset, "seed": seed,
            "parameters": dict(exp.presets[preset]),
            "command": _command() or f"dipnb.experiments.run({name!r}, {preset!r})",
            "wall_time_s": round(time.time() - t0, 2), "executor": executor_info(client),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **environment(device)}
    path = save_result(path.stem, arrays, meta, out)
    shutil.rmtree(cache, ignore_errors=True)     # the sweep is complete: drop its partial cells
    return path


def saved_or_quick(name: str, presets=("paper", "paper-cpu"), out=None) -> tuple[str, dict]:
    """``(preset, result)``: the saved result of experiment ``name`` at the first of ``presets`` that
    exists (:func:`dipnb.experiments.best_result`), else its quick preset computed here, in seconds,
    with nothing written (``preset`` is then ``"quick"``). How a chapter draws a study: the paper-scale
    file when the repository has it, and still runs where it does not."""
    exp = get(name)
    saved = best_result(name, out, presets)
    if saved is not None:
        return saved[0], saved[1]
    check_choice("preset", "quick", list(exp.presets))
    return "quick", exp.run("quick", "cpu", 0, None, False)
