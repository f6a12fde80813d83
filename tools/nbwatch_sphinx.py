"""Sphinx extension (``_config.yml``: ``sphinx.local_extensions``): how the book gets its outputs.

* ``make book``: myst-nb executes every chapter (``execute_notebooks: force``). It runs
  notebooks through ``jupyter_cache.executors.utils.executenb`` (= ``nbclient.execute``);
  this extension puts ``nbwatch.execute`` there, so the build has the same stall watchdog
  and retry as the tests. A recovered stall is an info line; a second stall is a failed
  execution, which myst-nb reports as a warning and ``-W`` turns into a failed build.
* ``make test``: the chapters were executed once, by nbmake, and written to
  ``$DIPNB_EXECUTED/book/NAME.ipynb`` (tools/nbwatch_pytest.py). With ``DIPNB_EXECUTED``
  set, this extension puts exactly those notebooks into a new, empty jupyter-cache and
  switches myst-nb to ``cache`` mode on it: a page whose code cells match its executed
  notebook gets that notebook's outputs, with nothing executed again. A chapter that has
  no executed notebook (its test failed or did not run) or whose code differs from it is
  executed here and named in a warning, which fails the build under ``-W``: the build
  never quietly runs a chapter that nbmake did not pass, nor reuses an old cache (the
  cache is rebuilt from this run's notebooks at every build).

At setup ``nbwatch.check_compat`` verifies the myst-nb and jupyter-cache internals used here
(``jupyter_cache.executors.utils.executenb``, reached through ``single_nb_execution``; the
``nb_execution_*`` config values) and the client's; a mismatch stops the build with its message.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbwatch
from sphinx.util import logging
from sphinx.util.console import bold, red

logger = logging.getLogger(__name__)
_state: dict = {"app": None, "cache_mode": False}


def _docname() -> str:
    app = _state["app"]
    try:
        return str(Path(app.env.doc2path(app.env.docname)).resolve().relative_to(Path(app.srcdir).resolve()))
    except Exception:
        return "<notebook>"


def _execute(nb, cwd=None, km=None, **kwargs):
    name = _docname()
    if _state["cache_mode"]:
        logger.warning(f"{name}: no notebook executed by the tests matches it (its nbmake test "
                       f"failed or did not run, or its code differs from the .ipynb): executing it "
                       f"here [nbwatch]")
    token = nbwatch.CURRENT_NOTEBOOK.set(name)
    try:
        return nbwatch.execute(nb, cwd=cwd, km=km, **kwargs)
    finally:
        nbwatch.CURRENT_NOTEBOOK.reset(token)


def _report(line: str) -> None:
    logger.info(bold(red(line)))


def _config_inited(app, config):
    executed = os.environ.get("DIPNB_EXECUTED")
    if not executed:
        return
    from jupyter_cache import get_cache

    root = Path(executed).resolve()
    cache_dir = root / ".jupyter_cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache = get_cache(str(cache_dir))
    notebooks = sorted(p for p in root.rglob("*.ipynb") if ".jupyter_cache" not in p.parts)
    for path in notebooks:
        cache.cache_notebook_file(str(path), uri=str(path), check_validity=False, overwrite=True)
    config.nb_execution_mode = "cache"
    config.nb_execution_cache_path = str(cache_dir)
    _state["cache_mode"] = True
    logger.info(bold(f"nbwatch: {len(notebooks)} notebooks executed by the tests, from {root}, "
                     f"in a fresh jupyter-cache at {cache_dir}"))


def setup(app):
    from sphinx.errors import ExtensionError

    try:   # the myst-nb / jupyter-cache internals patched here, and the client's: never run unpatched
        nbwatch.check_compat("myst-nb", "jupyter-cache", "nbclient", "jupyter_client", "pyzmq")
    except nbwatch.NbwatchCompatError as err:
        raise ExtensionError(str(err)) from None
    import jupyter_cache.executors.utils as jc_utils

    _state["app"] = app
    jc_utils.executenb = _execute
    nbwatch.REPORTERS[:] = [_report]
    app.connect("config-inited", _config_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
