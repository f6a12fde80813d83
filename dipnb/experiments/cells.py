"""Resumable cells: a sweep is a list of cells computed one by one, each saved as soon as it
finishes, under a file name that carries a hash of everything that made it.

A cell's key is the SHA-1 of ``(name, params, cell)`` in canonical JSON: the study's name,
the parameters the cell's result depends on, and the cell's own coordinates. A rerun with
the same parameters reuses the cells an interrupted run saved; a rerun with other
parameters (another step budget, another grid of m for a cell over k) never does. Ctrl-C
stops the sweep between two steps of a cell and raises :class:`Interrupted`, which says how
many cells were saved and where, so that the same call resumes.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .results import jsonable

__all__ = ["cell_key", "run_cells", "Interrupted", "progress_bar"]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_cells`: ``saved`` of ``total`` cells are in ``cache``."""

    def __init__(self, name: str, saved: int, total: int, cache, detail: str = ""):
        self.name, self.saved, self.total, self.cache = name, saved, total, cache
        where = f"saved in {cache}" if cache is not None else "not saved (no cache folder was given)"
        super().__init__(f"interrupted: {saved} of {total} cells of {name!r} are {where}; "
                         + (detail if detail else "the same call resumes from there"))


class _LogBar:
    """A progress bar for a log (stderr is not a terminal): a plain line now and then, and the last
    one on close, with no carriage return or escape code."""

    def __init__(self, total: int, desc: str, every: float = 30.0, file=None, silent: bool = False):
        self.total, self.desc, self.n, self.every, self.silent = total, desc, 0, every, silent
        self.file = sys.stderr if file is None else file
        self.t0 = self.last = time.monotonic()
        self.shown = None

    def _line(self):
        if self.silent:
            return
        s = int(time.monotonic() - self.t0)
        print(f"{self.desc}: {self.n}/{self.total} cells ({s // 60}:{s % 60:02d} elapsed)", file=self.file,
              flush=True)
        self.shown, self.last = (self.n, self.total), time.monotonic()

    def update(self, k: int = 1):
        self.n += k
        if time.monotonic() - self.last >= self.every:
            self._line()

    def refresh(self):
        pass

    def close(self):
        if self.shown != (self.n, self.total):
            self._line()


def progress_bar(total: int, desc: str, enabled: bool = True):
    """A progress bar over ``total`` cells: tqdm in a terminal or a notebook, plain lines in a log.

    When stderr is not a terminal (a log file, a pipe, a CI job) a line
    ``DESC: N/TOTAL cells (m:ss elapsed)`` is printed every 30 s and when the bar closes, so a
    log holds no carriage returns or escape codes. The bar has ``n``, ``total``, ``update(k)``,
    ``refresh()`` and ``close()``; with ``enabled=False`` it counts but shows nothing.
    """
    from tqdm.auto import tqdm

    if not enabled:
        return _LogBar(total, desc, silent=True)
    tty = getattr(sys.stderr, "isatty", lambda: False)()
    if tty or "ipykernel" in sys.modules:
        return tqdm(total=total, desc=desc, unit="cell")
    return _LogBar(total, desc)


def cell_key(name: str, params: dict | None, cell) -> str:
    """The hash (12 hex digits) that names the cache file of one cell."""
    text = json.dumps(jsonable({"name": name, "params": params or {}, "cell": cell}), sort_keys=True,
                      default=repr)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def run_cells(name: str, cells: list, compute: Callable[[object], dict], cache: Path | None = None,
              progress: bool = False, params: dict | None = None, desc: str | None = None) -> list[dict]:
    """Compute ``compute(cell)`` for each cell, in order; return the list of result dicts.

    With a ``cache`` folder, each cell is saved there as ``NAME-<key>.npz`` as soon as it
    finishes (atomically: never a half-written file) and a cell already there is loaded
    instead of computed. ``params`` must hold every parameter the cells depend on besides
    their own coordinates; it enters the key (:func:`cell_key`). ``desc`` labels the progress
    bar (:func:`progress_bar`) and the :class:`Interrupted` message (default ``name``); it does
    not enter the key.
    """
    label = name if desc is None else desc
    if cache is not None:
        cache = Path(cache)
        cache.mkdir(parents=True, exist_ok=True)
    results, done = [], 0
    bar = progress_bar(len(cells), label, progress)
    try:
        for cell in cells:
            f = None if cache is None else cache / f"{name}-{cell_key(name, params, cell)}.npz"
            if f is not None and f.exists():
                with np.load(f) as z:
                    results.append({k: z[k] for k in z.files})
                done += 1
                bar.update(1)
                continue
            res = {k: np.asarray(v) for k, v in compute(cell).items()}
            if f is not None:
                tmp = f.with_name(f.stem + ".tmp.npz")
                np.savez(tmp, **res)
                os.replace(tmp, f)
                done += 1
            results.append(res)
            bar.update(1)
    except KeyboardInterrupt as e:
        if isinstance(e, Interrupted):
            raise
        # a cell that saves its own progress (an image run's checkpoint) says where it stopped
        detail = str(e) if getattr(e, "path", None) is not None else ""
        raise Interrupted(label, done, len(cells), cache, detail) from None
    finally:
        bar.close()
    return results


