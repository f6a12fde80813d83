"""Resumable cells: a sweep is a list of cells computed one by one, each saved as soon as it
finishes, under a file name that carries a hash of everything that made it.

A cell's key is the SHA-1 of ``(name, params, cell, code)`` in canonical JSON: the study's
name, the parameters the cell's result depends on, the cell's own coordinates, and the code
that computes it (:func:`code_fingerprint`: the source of the compute function and of the
dipnb functions it calls by name, with :data:`CELL_FORMAT`). A rerun with the same
parameters and code reuses the cells an interrupted run saved; a rerun with other parameters
(another step budget, another grid of m for a cell over k) or with an edited computation (a
constant written in the code, such as an iteration count) never does. Ctrl-C
stops the sweep between two steps of a cell and raises :class:`Interrupted`, which says how
many cells were saved and where, so that the same call resumes.
"""
from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from .._progress import progress_bar
from .cluster import current_client
from .results import jsonable

__all__ = ["cell_key", "code_fingerprint", "CELL_FORMAT", "run_cells", "keyed", "study_context", "Interrupted",
           "progress_bar"]

#: The format of the cells' keys; raise it when what a saved cell means changes in a way that
#: neither its parameters nor its code show.
CELL_FORMAT = 2


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_cells`: ``saved`` of ``total`` cells are in ``cache``."""

    def __init__(self, name: str, saved: int, total: int, cache, detail: str = ""):
        self.name, self.saved, self.total, self.cache = name, saved, total, cache
        where = f"saved in {cache}" if cache is not None else "not saved (no cache folder was given)"
        super().__init__(f"interrupted: {saved} of {total} cells of {name!r} are {where}; "
                         + (detail if detail else "the same call resumes from there"))


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):            # no source (a builtin, code made at run time)
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def _names(code) -> set:
    out = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            out |= _names(const)
    return out


def code_fingerprint(compute) -> str:
    """What a cell's result depends on besides its parameters: :data:`CELL_FORMAT`, the source of
    ``compute`` and the source of each dipnb function it calls by name (one level down), so that
    editing a constant of the computation (an iteration count, a tolerance written in the code)
    changes the keys of its cells. ``functools.partial`` objects are looked through.
    """
    fn = getattr(compute, "func", compute)
    parts = [f"format {CELL_FORMAT}", _source(fn)]
    code, glob = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    if code is not None:
        for name in sorted(_names(code)):
            obj = glob.get(name)
            if inspect.isfunction(obj) and (obj.__module__ or "").startswith("dipnb") and obj is not fn:
                parts.append(_source(obj))
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


#: The study being computed and its arguments (:func:`keyed`, :func:`study_context`): they enter
#: the key of every cell it computes.
_STUDY: contextvars.ContextVar = contextvars.ContextVar("dipnb_study", default=None)
#: Arguments that change no result: never in a key.
NOT_KEYED = ("cache", "progress", "client")


def _plain(v) -> bool:
    """Whether ``v`` is plain data (JSON-like, NumPy scalars included), whose value enters a key as it is."""
    if v is None or isinstance(v, (bool, int, float, str, np.generic)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    if isinstance(v, Mapping):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    return False


class study_context:
    """``with study_context(name, arguments):`` every cell computed inside is keyed by ``name`` and
    by every argument whose value is plain data (every field of a preset, the seed, the device),
    besides the ``params`` its study lists. Arguments that are objects (a problem, a network) are
    left to the study's own ``params`` (e.g. a digest of the problem's tensors)."""

    def __init__(self, name: str, arguments: Mapping):
        self.value = {"study": name, "args": {k: (str(v) if k == "device" else v) for k, v in arguments.items()
                                              if k not in NOT_KEYED and (k == "device" or _plain(v))}}

    def __enter__(self):
        self._token = _STUDY.set(self.value)
        return self

    def __exit__(self, *exc):
        _STUDY.reset(self._token)
        return False


def keyed(study: Callable) -> Callable:
    """Decorator for a study function: every argument of a call that is plain data enters the keys
    of the cells it computes (:class:`study_context`), so that no hand-written list of parameters
    can leave one out."""
    sig = inspect.signature(study)

    @functools.wraps(study)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        with study_context(f"{study.__module__}.{study.__qualname__}", bound.arguments):
            return study(*args, **kwargs)

    return wrapper


def cell_key(name: str, params: dict | None, cell, code: str = "") -> str:
    """The hash (12 hex digits) that names the cache file of one cell (``code``: the
    :func:`code_fingerprint` of its computation)."""
    text = json.dumps(jsonable({"name": name, "params": params or {}, "cell": cell, "code": code}),
                      sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def run_cells(name: str, cells: list, compute: Callable[[object], dict], cache: Path | None = None,
              progress: bool = False, params: dict | None = None, desc: str | None = None, *,
              client=None, group: Callable | None = None, until: Callable | None = None) -> list:
    """Compute ``compute(cell)`` for each cell; return the list of result dicts, in the order of ``cells``.

    With a ``cache`` folder, each cell is saved there as ``NAME-<key>.npz`` as soon as it
    finishes (atomically: never a half-written file) and a cell already there is loaded
    instead of computed. The key (:func:`cell_key`) holds ``params``, the arguments of the study
    being computed (:func:`keyed`, :class:`study_context`: every preset field, the seed, the
    device) and the code of ``compute`` (:func:`code_fingerprint`); ``params`` needs to list only
    what none of these shows (e.g. a digest of a problem passed as an object). ``desc`` labels the progress
    bar (``dipnb._progress.progress_bar``) and the :class:`Interrupted` message (default ``name``); it does
    not enter the key.

    Parameters
    ----------
    client : dask.distributed.Client, optional
        Submit the cells to this Dask cluster (default: the client of an enclosing
        :class:`dipnb.experiments.on_cluster`, else none: the cells run here, one after another,
        and Dask is not imported). This process saves each result as it completes; the results
        are the same, bit for bit (:mod:`dipnb.experiments.cluster`).
    group, until : callables, optional
        A sequential rule: the cells ``c`` with the same ``group(c)`` form a row, in the order of
        ``cells``; once ``until(results)`` is true for the results of a row's first cells, the
        row's remaining cells are not needed and their entries are ``None`` (they leave the
        progress bar's total). With a client the rows run at once and the rule is applied to
        each row's results in order, so the same cells are left out.
    """
    label = name if desc is None else desc
    if cache is not None:
        cache = Path(cache)
        cache.mkdir(parents=True, exist_ok=True)
    if client is None:
        client = current_client()
    code = code_fingerprint(compute)
    study = _STUDY.get()
    if study is not None:          # the study's arguments, all of them (keyed, study_context)
        params = {"study": study, "params": params or {}}
    files = [None if cache is None else cache / f"{name}-{cell_key(name, params, cell, code)}.npz"
             for cell in cells]
    rows: dict = {}                # row -> the indices of its cells, in order
    for i, cell in enumerate(cells):
        rows.setdefault(group(cell) if group is not None else i, []).append(i)
    row_of = {i: r for r, idx in rows.items() for i in idx}
    rank = {i: place for idx in rows.values() for place, i in enumerate(idx)}
    results: list = [None] * len(cells)
    have, skipped, decided = set(), set(), {r: 0 for r in rows}
    bar = progress_bar(len(cells), label, progress)

    def record(i, res) -> list:
        """Keep cell ``i``'s result; apply its row's rule to the row's results in order; return the
        indices the rule leaves out."""
        if i in skipped:
            return []
        results[i] = res
        have.add(i)
        bar.update(1)
        r, out = row_of[i], []
        idx = rows[r]
        while until is not None and decided[r] < len(idx) and idx[decided[r]] in have:
            decided[r] += 1
            if decided[r] < len(idx) and until([results[j] for j in idx[:decided[r]]]):
                out = idx[decided[r]:]
                decided[r] = len(idx)
        if out:
            counted = [j for j in out if j in have]
            for j in out:
                results[j] = None
                have.discard(j)
            skipped.update(out)
            bar.n -= len(counted)
            bar.total -= len(out)
            bar.refresh()
        return out

    def save(i, res) -> list:
        res = {k: np.asarray(v) for k, v in res.items()}
        if files[i] is not None:
            tmp = files[i].with_name(files[i].stem + ".tmp.npz")
            np.savez(tmp, **res)
            os.replace(tmp, files[i])
        return record(i, res)

    try:
        todo = []
        for i, f in enumerate(files):
            if i in skipped:
                continue
            if f is not None and f.exists():
                with np.load(f) as z:
                    record(i, {k: z[k] for k in z.files})
            elif client is None:
                save(i, compute(cells[i]))
            else:
                todo.append(i)
        if client is not None:
            from .cluster import run_on_client

            run_on_client(client, [(i, cells[i]) for i in todo if i not in skipped], compute, save, rank.__getitem__)
    except KeyboardInterrupt as e:
        if isinstance(e, Interrupted):
            raise
        # a cell that saves its own progress (an image run's checkpoint) says where it stopped
        detail = str(e) if getattr(e, "path", None) is not None else ""
        raise Interrupted(label, bar.n if cache is not None else 0, bar.total, cache, detail) from None
    finally:
        bar.close()
    return results
