"""Progress bars that suit where the output goes: tqdm in a terminal or a notebook, a plain
line every 30 s in a log (no carriage returns or escape codes). One home for the sweeps' cells
(:mod:`dipnb.experiments.cells`) and the image runs' steps (:func:`dipnb.train_image`)."""
from __future__ import annotations

import sys
import time

__all__ = ["progress_bar"]


class _LogBar:
    """A progress bar for a log (stderr is not a terminal): a plain line now and then, and the last
    one on close, with no carriage return or escape code."""

    def __init__(self, total: int, desc: str, every: float = 30.0, file=None, silent: bool = False,
                 unit: str = "cell"):
        self.total, self.desc, self.n, self.every, self.silent = total, desc, 0, every, silent
        self.unit = unit
        self.file = sys.stderr if file is None else file
        self.t0 = self.last = time.monotonic()
        self.shown = None

    def _line(self):
        if self.silent:
            return
        s = int(time.monotonic() - self.t0)
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}s ({s // 60}:{s % 60:02d} elapsed)",
              file=self.file, flush=True)
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


def _in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook shows a tqdm widget), not merely in a
    process that imported ipykernel (pytest with nbmake does)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "ZMQ" in type(shell).__name__


def progress_bar(total: int, desc: str, enabled: bool = True, unit: str = "cell", leave: bool = True):
    """A progress bar over ``total`` items (cells, steps): tqdm in a terminal or a notebook, plain
    lines in a log.

    When stderr is not a terminal (a log file, a pipe, a CI job) a line
    ``DESC: N/TOTAL cells (m:ss elapsed)`` is printed every 30 s and when the bar closes, so a
    log holds no carriage returns or escape codes. The bar has ``n``, ``total``, ``update(k)``,
    ``refresh()`` and ``close()``; with ``enabled=False`` it counts but shows nothing.
    """
    from tqdm.auto import tqdm

    if not enabled:
        return _LogBar(total, desc, silent=True, unit=unit)
    tty = getattr(sys.stderr, "isatty", lambda: False)()
    if tty or _in_kernel():
        return tqdm(total=total, desc=desc, unit=unit, leave=leave)
    return _LogBar(total, desc, unit=unit)
