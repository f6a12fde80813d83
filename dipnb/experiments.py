"""The studies the chapters run, each with a *quick* and a *paper* preset.

A chapter calls an experiment with the preset of the environment
(``DIPNB_PRESET=quick`` by default, used by nbmake and the book build), or
draws the paper-scale result saved under ``results/`` by the command line::

    python -m dipnb run sigma-min --preset paper --device cpu --out results/

Results are small ``.npz`` files with a ``.json`` twin that records the
command, preset, parameters, seed, package versions, device and wall time.
Sweeps are saved cell by cell as they finish (under ``results/.partial/``),
so an interrupted run resumes where it stopped and loses nothing.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ._checks import check_choice, check_int, check_layers
from .network import TwoLayerDIP

__all__ = ["PRESETS", "RUN_PRESETS", "current_preset", "results_table", "Table", "results_dir", "save_result", "load_result",
           "sigma_min_vs_width", "EXPERIMENTS", "run_experiment", "environment"]

PRESETS = ("quick", "paper")
#: Presets the command line accepts: ``paper-cpu`` is the paper's steps, runs and tolerance on
#: the part of a grid that a CPU finishes in minutes (only some experiments define it).
RUN_PRESETS = PRESETS + ("paper-cpu",)


def current_preset() -> str:
    """The preset chosen by the environment variable ``DIPNB_PRESET`` (default ``"quick"``)."""
    return check_choice("DIPNB_PRESET", os.environ.get("DIPNB_PRESET", "quick"), PRESETS)


def results_dir() -> Path:
    """Where paper-scale results live: ``$DIPNB_RESULTS``, else ``results/`` at the repository root."""
    env = os.environ.get("DIPNB_RESULTS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "results"


def environment(device: str = "cpu") -> dict:
    """Versions and device, recorded with every result."""
    dev = str(device)
    if dev.startswith("cuda") and torch.cuda.is_available():
        dev = f"{dev} ({torch.cuda.get_device_name(torch.device(dev))})"
    else:
        dev = f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    from . import __version__
    return {"dipnb": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "device": dev, "platform": platform.platform()}


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
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
    (out / f"{name}.json").write_text(json.dumps(_jsonable(meta), indent=2) + "\n")
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


def _run_cells(name: str, cells: list, compute: Callable[[object], dict], cache: Path | None,
               progress: bool) -> list[dict]:
    """Compute each cell once; with a ``cache`` folder, save each cell as it finishes
    and reuse the cells saved there by an interrupted run."""
    from tqdm.auto import tqdm

    if cache is not None:
        cache = Path(cache)
        cache.mkdir(parents=True, exist_ok=True)
    results = []
    for i, cell in enumerate(tqdm(cells, desc=name, disable=not progress)):
        f = None if cache is None else cache / f"{name}-cell{i:04d}.npz"
        if f is not None and f.exists():
            with np.load(f) as z:
                results.append({k: z[k] for k in z.files})
            continue
        res = {k: np.asarray(v) for k, v in compute(cell).items()}
        if f is not None:
            tmp = f.with_name(f.stem + ".tmp.npz")     # atomic: never a half-written cell
            np.savez(tmp, **res)
            os.replace(tmp, f)
        results.append(res)
    return results


# --- the studies ---------------------------------------------------------------------------

SIGMA_MIN_PRESETS = {
    "quick": dict(n=5, ks=[10, 30, 100, 300, 1000, 3000, 10000], runs=20),
    "paper": dict(n=5, ks=[int(round(10 ** e)) for e in np.arange(1.0, 6.01, 0.5)], runs=50),
}


def sigma_min_vs_width(n: int = 5, ks=(10, 100, 1000), runs: int = 20, layers: str = "W",
                       activation="sigmoid", seed: int = 0, device="cpu", max_batch: int = 2 ** 24,
                       cache: Path | None = None, progress: bool = False) -> dict:
    """:math:`\\sigma_{\\min}(J_g(0))` at initialisation for each width ``k`` in ``ks``.

    Draws ``runs`` networks per width (seeded by ``seed`` and k) and returns
    ``{"ks", "sigma" (len(ks), runs), "C_phi", "C_dphi", "limit"}`` where
    ``limit`` is the wide-network value of :math:`\\sigma_{\\min}^2`:
    :math:`C_{\\phi'}^2` for the hidden layer, :math:`C_\\phi^2 + C_{\\phi'}^2` for both.
    Under A-6 and A-7, :math:`h_0 = W_0u \\sim N(0, I_k)` whatever ``d``, so ``d = 1``
    is used: the law of :math:`J_g(0)J_g(0)^T` is the same and the memory is O(nk).
    Runs are processed in batches of at most ``max_batch`` entries of V. With a
    ``cache`` folder each finished width is saved at once and reused on a rerun.
    """
    check_layers(layers)
    n, runs = check_int("n", n), check_int("runs", runs)
    ks = [check_int("k", k) for k in ks]

    def cell(k):
        per = max(1, min(runs, max_batch // (n * k)))
        sig = []
        for start in range(0, runs, per):
            b = min(per, runs - start)
            net = TwoLayerDIP.init(b, n, k, d=1, activation=activation,
                                   seed=seed * 1_000_003 + k * 1009 + start, device=device)
            sig.append(net.sigma_min_jacobian(layers=layers).cpu())
        return {"sigma": torch.cat(sig).numpy()}

    cells = _run_cells(f"sigma-min-{layers}", ks, cell, cache, progress)
    act = TwoLayerDIP.init(1, 1, 1, d=1, activation=activation).activation
    limit = act.C_dphi ** 2 + (act.C_phi ** 2 if layers == "both" else 0.0)
    return {"ks": np.array(ks), "sigma": np.stack([c["sigma"] for c in cells]), "n": n,
            "C_phi": act.C_phi, "C_dphi": act.C_dphi, "limit": limit, "layers": layers}


@dataclass
class Experiment:
    """A study that the command line can run at either preset and save under ``results/``."""

    name: str
    doc: str
    run: Callable[..., dict]
    presets: dict


def _sigma_min_experiment(preset, device, seed, cache, progress):
    p = SIGMA_MIN_PRESETS[preset]
    res = {}
    for layers in ("W", "both"):
        r = sigma_min_vs_width(p["n"], p["ks"], p["runs"], layers, seed=seed, device=device,
                               cache=cache, progress=progress)
        res[f"sigma_{layers}"] = r["sigma"]
        res[f"limit_{layers}"] = r["limit"]
    res.update(ks=r["ks"], n=r["n"], C_phi=r["C_phi"], C_dphi=r["C_dphi"])
    return res


EXPERIMENTS = {
    "sigma-min": Experiment(
        "sigma-min", "sigma_min(J_g(0)) against the width k, hidden layer and both layers "
        "(chapter 'The two-layer DIP network')", _sigma_min_experiment, SIGMA_MIN_PRESETS),
}


def run_experiment(name: str, preset: str = "quick", device: str = "cpu", seed: int = 0,
                   out: Path | str | None = None, progress: bool = True) -> Path:
    """Run experiment ``name`` at ``preset`` and save it as ``out/NAME-PRESET.npz`` (+ ``.json``)."""
    check_choice("experiment", name, EXPERIMENTS)
    check_choice("preset", preset, RUN_PRESETS)
    if preset not in EXPERIMENTS[name].presets:
        raise ValueError(f"experiment {name!r} has no preset {preset!r}; accepted: "
                         f"{', '.join(repr(p) for p in EXPERIMENTS[name].presets)}")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device; accepted here: 'cpu'")
    out = Path(out) if out is not None else results_dir()
    exp = EXPERIMENTS[name]
    key = json.dumps(_jsonable(exp.presets[preset]), sort_keys=True)
    cache = out / ".partial" / f"{name}-{preset}-seed{seed}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    t0 = time.time()
    arrays = exp.run(preset, device, seed, cache, progress)
    meta = {"experiment": name, "preset": preset, "seed": seed,
            "parameters": exp.presets[preset],
            "command": " ".join([Path(sys.executable).name, "-m", "dipnb"] + sys.argv[1:])
            if sys.argv and sys.argv[0].endswith("__main__.py") else f"dipnb.run_experiment({name!r}, {preset!r})",
            "wall_time_s": round(time.time() - t0, 2),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **environment(device)}
    path = save_result(f"{name}-{preset}", arrays, meta, out)
    shutil.rmtree(cache, ignore_errors=True)     # the sweep is complete: drop its partial cells
    return path


# --- chapter 'Corollary III.2: how wide is wide enough' (appended) ----------------------------------

def _condition4_experiment(preset, device, seed, cache, progress):
    from .corollary import CONDITION4_PRESETS, condition4_sweep, gaussian_problems

    p = CONDITION4_PRESETS[preset]
    problems = gaussian_problems(p["n"], p["ms"], p["runs"], seed=seed, device=device)
    res = condition4_sweep(problems, p["ks"], seed=seed, device=device, cache=cache, progress=progress)
    return {k: v for k, v in res.items() if not isinstance(v, dict)}


def _width_scaling_experiment(preset, device, seed, cache, progress):
    from .corollary import SCALING_PRESETS, width_scaling

    p = SCALING_PRESETS[preset]
    out = {}
    for param in ("n", "m", "kappa"):
        r = width_scaling(param, p[param], p["base"], runs=p["runs"], k_ref=p["k_ref"], seed=seed,
                          device=device)
        for key in ("values", "k_half", "bound", "first", "second", "kappa_A", "sigma_A"):
            out[f"{param}_{key}"] = r[key]
    return out


EXPERIMENTS["condition4"] = Experiment(
    "condition4", "probability that condition (4) holds at initialisation against the width k, "
    "n = 5, m in (2, 3, 5), Gaussian A (chapter 'Corollary III.2')", _condition4_experiment,
    {"quick": None, "paper": None})
EXPERIMENTS["width-scaling"] = Experiment(
    "width-scaling", "width needed for (4) and Corollary III.2's bound against n, m and kappa(A) "
    "(chapter 'Corollary III.2')", _width_scaling_experiment, {"quick": None, "paper": None})


def _fill_presets():
    from .corollary import CONDITION4_PRESETS, SCALING_PRESETS

    EXPERIMENTS["condition4"].presets = CONDITION4_PRESETS
    EXPERIMENTS["width-scaling"].presets = SCALING_PRESETS


_fill_presets()


# --- the experiment chapters (Fig 1 to Fig 4) --------------------------------------------------

def _register_figures():
    from .imaging import IMAGE_EXPERIMENTS
    from .sweeps import SWEEP_EXPERIMENTS

    EXPERIMENTS.update(SWEEP_EXPERIMENTS)
    EXPERIMENTS.update(IMAGE_EXPERIMENTS)



def results_table(out: Path | str | None = None) -> list[dict]:
    """One row per saved result in ``out`` (default ``results/``): what ran, where, how long.

    Each row has ``experiment``, ``preset``, ``device``, ``wall_time_s``, ``date``,
    ``command``, ``torch`` and ``file``, read from the ``.json`` twin of each result.
    """
    out = Path(out) if out is not None else results_dir()
    rows = []
    for js in sorted(out.glob("*.json")):
        if not (js.with_suffix(".npz")).exists():
            continue
        meta = json.loads(js.read_text())
        if "experiment" not in meta:
            continue
        rows.append({"experiment": meta["experiment"], "preset": meta.get("preset"),
                     "device": meta.get("device"), "wall_time_s": meta.get("wall_time_s"),
                     "date": meta.get("date"), "command": meta.get("command"),
                     "torch": meta.get("torch"), "file": js.with_suffix(".npz").name})
    return rows



class Table:
    """Rows (dicts, or sequences with ``columns``) shown as a table: HTML in the book and in
    Jupyter (the book renders Markdown outputs as CommonMark, which has no tables), Markdown
    with ``str()``.

    ``columns`` defaults to the keys of the first row. Cells are written with ``str``;
    HTML is escaped, and ``|`` and newlines are escaped in Markdown.
    """

    def __init__(self, rows, columns=None):
        rows = list(rows)
        if columns is None:
            if not rows or not isinstance(rows[0], dict):
                raise ValueError("Table needs `columns` unless rows are non-empty dicts")
            columns = list(rows[0])
        self.columns = list(columns)
        missing = sorted({c for r in rows if isinstance(r, dict) for c in self.columns if c not in r})
        if missing:
            raise ValueError(f"every row needs the columns {self.columns}; missing {missing}")
        self.cells = [[r[c] for c in self.columns] if isinstance(r, dict) else list(r) for r in rows]
        for i, c in enumerate(self.cells):
            if len(c) != len(self.columns):
                raise ValueError(f"row {i} has {len(c)} cells; accepted: {len(self.columns)} (the columns)")

    def to_markdown(self) -> str:
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["| " + " | ".join(esc(c) for c in self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(esc(x) for x in c) + " |" for c in self.cells]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in c) + "</tr>"
                       for c in self.cells)
        return f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    __str__ = to_markdown


_register_figures()     # last: dipnb.sweeps and dipnb.imaging import Table, _run_cells from here
