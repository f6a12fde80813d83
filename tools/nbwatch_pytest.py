"""pytest plugin (loaded by the root conftest.py): nbmake runs the chapters through nbwatch.

nbmake still collects every ``book/*.ipynb`` as a named test and reports a failing cell
with its source and traceback. This plugin only changes how a notebook is run and what
is kept of it:

* nbmake's ``NotebookClient`` becomes ``nbwatch.WatchdogClient``: a missed wake-up is
  recovered, a stall (60 s of silence with an idle kernel) is reported with the chapter
  and the cell, and the chapter is run once more; a second stall fails its test. Each
  such line also becomes a pytest warning of that test (``NbwatchWarning``, in the
  warnings summary even when the retry passed).
* The kernel runs without ``MPLBACKEND`` (``make test`` sets Agg for the unit tests; with
  it, ``plt.show()`` draws nothing in a kernel and the book would lose its figures).
* Before patching, ``nbwatch.check_compat`` verifies nbmake's internals used here
  (``nb_run.NotebookClient``, ``NotebookRun.execute``) and those of the client; a mismatch
  ends the run with its message (``pytest.UsageError``) instead of running unpatched.
* With ``DIPNB_EXECUTED=DIR`` set, the executed notebook of every chapter that passed is
  written to ``DIR/book/NAME.ipynb`` (nbmake's timing metadata removed, so that its code
  cells hash like the ``.md``'s); ``tools/nbwatch_sphinx.py`` gives them to the book
  build through jupyter-cache. A chapter that failed leaves no file there, so the book
  build runs it again and fails on it too.
"""
from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import nbformat
import nbwatch

# The environment before any test module or conftest changes it (tests/conftest.py sets
# test-only defaults): the chapters' kernels get this one, minus MPLBACKEND.
_ENV_AT_START = dict(os.environ)


class NbwatchWarning(UserWarning):
    """A chapter stalled or lost a wake-up (and was recovered or retried)."""


def kernel_env() -> dict:
    env = dict(_ENV_AT_START)
    env.pop("MPLBACKEND", None)
    env["DIPNB_BOOK"] = "1"     # = dipnb.plotting.interactive.BOOK_ENV: the book serves BokehJS once per page
    return env


def _warn(line: str) -> None:
    warnings.warn(NbwatchWarning(line), stacklevel=2)


def _save_executed(filename: Path, nb, ok: bool, root: Path) -> None:
    out_dir = os.environ.get("DIPNB_EXECUTED")
    if not out_dir:
        return
    try:
        rel = filename.resolve().relative_to(root)
    except ValueError:
        rel = Path(filename.name)
    target = Path(out_dir) / rel
    if not ok:
        target.unlink(missing_ok=True)
        return
    source = nbformat.read(str(filename), nbformat.NO_CONVERT)
    executed = nbformat.from_dict(nb)
    # nbmake records timing in cell metadata; jupyter-cache hashes cell metadata
    for src, cell in zip(source.cells, executed.cells):
        if "execution" not in src.metadata:
            cell.metadata.pop("execution", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".ipynb.tmp")
    nbformat.write(executed, str(tmp))
    tmp.replace(target)


def pytest_configure(config):
    if not getattr(config.option, "nbmake", False):
        return
    import pytest

    try:   # nbmake's internals patched below, and the ones the client uses: fail the run, never run unpatched
        nbwatch.check_compat("nbmake", "nbclient", "jupyter_client", "pyzmq")
    except nbwatch.NbwatchCompatError as err:
        raise pytest.UsageError(str(err)) from None
    from nbmake import nb_run

    if getattr(nb_run.NotebookRun.execute, "_nbwatch", False):
        return
    root = Path(str(config.rootpath)).resolve()
    nb_run.NotebookClient = functools.partial(nbwatch.WatchdogClient, kernel_env=kernel_env())
    if _warn not in nbwatch.REPORTERS:
        nbwatch.REPORTERS.append(_warn)
    run_notebook = nb_run.NotebookRun.execute

    @functools.wraps(run_notebook)
    def execute(self):
        try:
            name = str(Path(self.filename).resolve().relative_to(root))
        except ValueError:
            name = str(self.filename)
        token = nbwatch.CURRENT_NOTEBOOK.set(name)
        try:
            res = run_notebook(self)
        finally:
            nbwatch.CURRENT_NOTEBOOK.reset(token)
        _save_executed(Path(self.filename), res.nb, res.error is None, root)
        return res

    execute._nbwatch = True
    nb_run.NotebookRun.execute = execute
