"""Cells on a Dask cluster: the executor behind :func:`dipnb.experiments.run_cells` when a Dask
client is given (``run_cells(..., client=c)``, :func:`on_cluster`, ``python -m dipnb run ...
--workers N`` or ``--scheduler ADDRESS``).

Nothing here is imported unless a client is asked for: without one, the cells run in the
calling process, one after another, and Dask is never imported. With one, every cell not
already in the cache is submitted as a task; the *client* saves each result under its key as
it completes (so a cluster without a shared file system works, and resume, Ctrl-C and the
provenance behave as in-process). Every random draw of a cell is derived from its parameters
(``dipnb._random``), never from the worker that computes it, so the results are identical,
bit for bit, whatever the executor and the number of workers (``tests/test_cluster.py``).

A sweep with a sequential rule (Fig 2 and the threshold study skip the γ above two all-failed
cells of a row) is run speculatively: the cells of every row are submitted at once, earliest
γ first across rows (a task's priority is minus its place in its row), and the rule is
applied to each row's results *in order*, as in-process. Once it says a row's remaining cells
are not needed, they are cancelled, and any that had finished are left out of the result
(their files stay in the cache, valid but unused). The rule sees exactly the values it sees
in-process, so the result is the same; the only cost is the few cells of a row that were
running when its rule fired.
"""
from __future__ import annotations

import contextvars
import os
import time
import uuid
from collections.abc import Callable
from importlib import metadata

__all__ = ["on_cluster", "current_client", "local_cluster", "connect", "close", "executor_info", "check_workers",
           "run_on_client", "CLUSTER_EXTRA", "WORKERS_MAX"]

#: How to install what this module needs.
CLUSTER_EXTRA = "pip install 'dipnb[cluster]' (dask and distributed, versions in constraints/cluster.txt)"

#: The most worker processes a local cluster (``--workers``) starts.
WORKERS_MAX = 256

#: How often (seconds) the client looks for finished cells.
POLL_S = 0.005

_CLIENT: contextvars.ContextVar = contextvars.ContextVar("dipnb_client", default=None)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ValueError(f"a Dask cluster was asked for, but dask.distributed is not installed; install it with "
                         f"{CLUSTER_EXTRA}") from None
    return distributed


class on_cluster:
    """``with on_cluster(client):`` every :func:`dipnb.experiments.run_cells` inside submits its cells
    to the Dask ``client`` (``None``: in-process, the default)."""

    def __init__(self, client):
        if client is not None and not hasattr(client, "submit"):
            raise ValueError(f"client must be a dask.distributed.Client or None, got {type(client).__name__}")
        self.client = client

    def __enter__(self):
        self._token = _CLIENT.set(self.client)
        return self.client

    def __exit__(self, *exc):
        _CLIENT.reset(self._token)
        return False


def current_client():
    """The client of the innermost :class:`on_cluster`, or ``None`` (in-process)."""
    return _CLIENT.get()


def local_cluster(workers: int, dashboard: bool = True, threads: int | None = None):
    """A Dask client on a new local cluster of ``workers`` processes.

    Each process computes one cell at a time, with ``threads`` threads for torch and the compiled
    kernel of :mod:`dipnb.engine` (default: this machine's cores shared out, at least one), so the
    cluster fills the machine without oversubscribing it. A cell's arrays do not depend on the
    number of workers; the sweeps trained by the engine (Fig 1, Fig 2, ...) do not depend on the
    threads either, while torch's own reductions (power iterations, SVDs) can move in their last
    bits with the thread count, as they do in-process with ``OMP_NUM_THREADS``.
    ``close(client, local=True)`` stops it (the command line does).
    """
    from .._validation import check_int

    check_int("workers", workers, low=1, high=WORKERS_MAX)
    threads = max(1, (os.cpu_count() or 1) // workers) if threads is None else check_int("threads", threads)
    distributed = _distributed()
    import dask

    env = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}),
           **{v: threads for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):    # read before each worker starts
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0" if dashboard else None)
    client = distributed.Client(cluster)

    class IgnoreCtrlC(distributed.WorkerPlugin):
        """Ctrl-C in a terminal reaches every process of its group: the workers leave it to this
        client, which cancels the cells, says what was saved and stops them (replaced workers too)."""

        def setup(self, worker):
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)

    client.register_plugin(IgnoreCtrlC(), name="dipnb-ignore-ctrl-c")
    return client


def close(client, local: bool) -> None:
    """Close ``client``, and its local cluster when ``local``. Cells still running are cancelled
    first (after Ctrl-C), and Dask's warnings about them are not shown: they were expected."""
    import logging

    def quiet():
        logging.getLogger("distributed").setLevel(logging.ERROR)

    quiet()
    try:
        client.run(quiet)
    except Exception:                   # a worker that is gone: nothing to quiet
        pass
    cluster = client.cluster if local else None
    client.close()
    if cluster is not None:
        cluster.close()


def connect(address: str, timeout: float = 20.0):
    """A Dask client connected to the running scheduler at ``address`` (``tcp://host:8786``)."""
    distributed = _distributed()
    try:
        return distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise ValueError(f"no Dask scheduler answered at {address!r} within {timeout:g} s ({e}); accepted: the "
                         f"address a running scheduler prints, e.g. tcp://host:8786") from None


def executor_info(client) -> dict:
    """What the provenance records of the executor: in-process, or the scheduler, its workers and Dask's version."""
    if client is None:
        return {"kind": "in-process"}
    info = client.scheduler_info()
    from .._version import source_digest

    threads = sorted(set(client.run(_torch_threads).values()))
    return {"kind": "dask", "scheduler": info.get("address", str(client.scheduler.address)),
            "workers": len(info.get("workers", {})), "threads_per_worker": threads,
            "dipnb_source": source_digest(), "distributed": metadata.version("distributed")}


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _call(compute, cell):
    return compute(cell)


def check_workers(client) -> None:
    """Refuse a cluster whose workers run another dipnb than this process: a cell is keyed by the
    code of this process (:func:`dipnb.experiments.cells.code_fingerprint`), so a worker with other
    code would save results under keys that do not describe them. Compares
    ``dipnb._version.source_digest`` of every worker with this process's."""
    from .._version import source_digest

    here = source_digest()
    try:
        there = client.run(source_digest)
    except Exception as e:                       # e.g. dipnb is not importable on a worker
        raise ValueError(f"the Dask workers could not run dipnb ({type(e).__name__}: {e}); accepted: workers "
                         f"with this dipnb installed (source digest {here})") from None
    other = sorted(w for w, d in there.items() if d != here)
    if other:
        raise ValueError(f"{len(other)} of {len(there)} Dask workers run another dipnb (source digest "
                         f"{there[other[0]]} on {other[0]}, this process {here}); accepted: workers with the same "
                         f"dipnb code as the client, e.g. the same commit installed with pip install -e") from None


def run_on_client(client, items: list, compute: Callable, save: Callable, rank: Callable) -> None:
    """Submit ``compute(cell)`` for every ``(i, cell)`` of ``items`` to ``client``, as tasks of
    priority ``-rank(i)``; call ``save(i, result)`` in this process as each one completes. ``save``
    returns the indices whose cells are no longer needed: they are cancelled. A cell's error, or
    Ctrl-C, cancels what is left and is raised here."""
    distributed = _distributed()
    check_workers(client)
    tag = uuid.uuid4().hex[:8]
    # the compute function carries what its cells share (a problem, an image, a network): sent to
    # the cluster once, not once per cell
    shared = client.scatter(compute, hash=False) if items else None
    futures = {client.submit(_call, shared, cell, key=f"dipnb-cell-{i}-{tag}", priority=-rank(i), pure=False): i
               for i, cell in items}
    by_index = {i: f for f, i in futures.items()}
    pending = distributed.as_completed(list(futures))
    try:
        while not pending.is_empty():
            # polled, not waited on: a Ctrl-C that lands on another thread (the client's event
            # loop) would never wake a blocking wait, so this loop looks every POLL_S seconds
            batch = pending.next_batch(block=False)
            if not batch:
                time.sleep(POLL_S)
            for fut in batch:
                if fut.cancelled():
                    continue
                drop = save(futures[fut], fut.result())     # a cell's own error is raised by result()
                fut.release()                               # saved here: the worker may forget it
                stale = [by_index[j] for j in drop if j in by_index and not by_index[j].done()]
                if stale:
                    client.cancel(stale)
    except BaseException:
        client.cancel([f for f in futures if not f.done()])
        raise
