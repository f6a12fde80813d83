"""Issue 22: the sweeps' cells on a real Dask cluster (a LocalCluster of two worker processes on
this machine) give the same arrays, bit for bit, as the in-process run; a worker killed in the
middle of a sweep is replaced and its cells rerun; an interrupted client resumes from the saved
cells; without a cluster Dask is never imported. Dask comes from the ``cluster`` extra, pinned
in constraints/cluster.txt."""
import json
import os
import signal
import sys

import numpy as np
import pytest

import dipnb
from dipnb import cli
from dipnb.experiments import cluster as dc

distributed = pytest.importorskip("distributed", reason="the cluster extra (pip install 'dipnb[cluster]')")


@pytest.fixture(scope="module")
def client():
    c = dc.local_cluster(2, dashboard=False)
    yield c
    dc.close(c, local=True)


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _assert_identical(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind in "fc"), f"{k} differs"


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """The quick Fig 1 and Fig 2, computed in this process: the reference."""
    out = tmp_path_factory.mktemp("in-process")
    return {name: _arrays(dipnb.experiments.run(name, "quick", out=out, progress=False)) for name in ("fig1", "fig2")}


@pytest.mark.parametrize("name", ["fig1", "fig2"])
def test_a_quick_sweep_on_the_cluster_is_identical_to_the_in_process_run(client, in_process, tmp_path, name):
    path = dipnb.experiments.run(name, "quick", out=tmp_path, progress=False, client=client)
    _assert_identical(_arrays(path), in_process[name])
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["executor"]["kind"] == "dask" and meta["executor"]["workers"] == 2
    assert meta["executor"]["threads_per_worker"] == [max(1, (os.cpu_count() or 1) // 2)]   # the cores shared out
    if name == "fig2":            # the sequential rule ran speculatively and still left out the same cells
        assert not _arrays(path)["ran"].all()


def test_a_worker_killed_in_the_middle_is_replaced_and_its_cells_rerun(client, in_process, tmp_path):
    """The first worker to start its third cell kills itself (SIGKILL, as the OOM killer would): its
    nanny starts a new worker, the scheduler gives the lost cells to the workers, and the result
    is the same."""
    marker = tmp_path / "killed"

    class KillOnce(distributed.WorkerPlugin):
        def setup(self, worker):
            self.started = 0

        def transition(self, key, start, finish, **kwargs):
            if finish == "executing":
                self.started += 1
                if self.started == 3:
                    try:
                        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
                    except FileExistsError:
                        return
                    os.kill(os.getpid(), signal.SIGKILL)

    before = set(client.run(os.getpid).values())
    client.register_plugin(KillOnce(), name="kill-once")
    try:
        path = dipnb.experiments.run("fig2", "quick", out=tmp_path / "out", progress=False, client=client)
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists()                                              # a worker did die mid-sweep
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != before              # ... and was replaced
    _assert_identical(_arrays(path), in_process["fig2"])


def test_an_interrupted_client_resumes_from_the_saved_cells(client, in_process, tmp_path, monkeypatch):
    """Ctrl-C in the client (here: while it saves its fourth cell) cancels what is left and says what
    was saved; the same call then computes only the cells that were not saved, never rewrites those
    that were, and gives the same result."""
    savez, calls = np.savez, []

    def interrupted_savez(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return savez(*args, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(dipnb.experiments.Interrupted, match=r"interrupted: 3 of 9 cells of 'fig1a'") as e:
        dipnb.experiments.run("fig1", "quick", out=out, progress=False, client=client)
    saved = {f.name for f in e.value.cache.glob("*.npz")}
    assert len(saved) == 3
    calls.clear()
    monkeypatch.setattr(np, "savez", lambda *a, **k: (calls.append(a[0]), savez(*a, **k))[1])
    path = dipnb.experiments.run("fig1", "quick", out=out, progress=False, client=client)
    cells = {os.path.basename(c).replace(".tmp.npz", ".npz") for c in calls if ".partial" in str(c)}
    assert len(cells) == 9 + 20 - 3 and not cells & saved    # only the cells not saved were computed
    _assert_identical(_arrays(path), in_process["fig1"])


def test_without_a_cluster_dask_is_never_imported(tmp_path, monkeypatch, capsys):
    for mod in ("distributed", "dask"):
        monkeypatch.setitem(sys.modules, mod, None)           # any import of them would now fail
    assert cli.main(["run", "fig2", "--preset", "quick", "--out", str(tmp_path), "--no-progress"]) == 0
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "fig2", "--preset", "quick", "--out", str(tmp_path / "b"), "--workers", "2"])
    assert e.value.code == 2
    assert "dask.distributed is not installed" in capsys.readouterr().err and "dipnb[cluster]" in dc.CLUSTER_EXTRA


@pytest.mark.parametrize("argv, said", [
    (["--workers", "0"], "must be an integer in [1, 256] (worker processes), got '0'"),
    (["--workers", "two"], "got 'two'"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "not allowed with argument"),
])
def test_the_command_line_names_a_bad_cluster_argument(argv, said, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "fig2", "--out", str(tmp_path)] + argv)
    assert e.value.code == 2 and said in capsys.readouterr().err


def test_workers_with_another_dipnb_are_refused(client, tmp_path, monkeypatch):
    """A cell is keyed by the client's code: a worker running other dipnb code would save results
    under keys that do not describe them, so the run is refused before any cell is submitted."""
    import dipnb._version as v

    real, me = v.source_digest, os.getpid()
    monkeypatch.setattr(v, "source_digest", lambda: "0123456789ab" if os.getpid() == me else real())
    with pytest.raises(ValueError, match=r"2 of 2 Dask workers run another dipnb .*this process 0123456789ab"):
        dipnb.experiments.run_cells("demo", [1, 2], lambda c: {"v": np.array(c)}, tmp_path, client=client)
    assert not list(tmp_path.glob("*.npz"))


def test_a_scheduler_that_does_not_answer_is_named():
    with pytest.raises(ValueError, match=r"no Dask scheduler answered at 'tcp://127.0.0.1:9' within 1 s"):
        dc.connect("tcp://127.0.0.1:9", timeout=1)


def test_cells_run_ahead_of_a_sequential_rule_are_left_out_as_in_process(client, tmp_path, capsys):
    """The rule of a row fires on its third cell, which is slow: the other worker has meanwhile
    finished later cells of the row speculatively. They are left out (None), as in-process where
    they never run, and the bar's counts agree."""
    import time

    def compute(cell):
        row, j = cell
        if (row, j) == (0, 2):
            time.sleep(1.5)
        return {"converged": np.array([j < 2 or row == 1])}

    def stop(done):                 # the row stops after its first cell where nothing converged
        return not done[-1]["converged"].all()

    cells = [(r, j) for r in range(2) for j in range(6)]
    run = dipnb.experiments.run_cells
    here = run("rule", cells, compute, tmp_path / "here", True, group=lambda c: c[0], until=stop)
    bar_here = capsys.readouterr().err.splitlines()[-1]
    there = run("rule", cells, compute, tmp_path / "there", True, group=lambda c: c[0], until=stop, client=client)
    bar_there = capsys.readouterr().err.splitlines()[-1]
    assert bar_here.startswith("rule: 9/9 cells") and bar_there.startswith("rule: 9/9 cells"), (bar_here, bar_there)
    assert [c is None for c in here] == [c is None for c in there] == [False] * 3 + [True] * 3 + [False] * 6
    assert len(list((tmp_path / "there").glob("*.npz"))) > 9          # some cells did run ahead of the rule
