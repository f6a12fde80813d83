"""Forced stalls: the chapters' executor (tools/nbwatch.py) must notice them and say so.

Each test runs a two-cell notebook in a real kernel and breaks one exchange on purpose:

* ``test_lost_reply_is_detected_and_retried``: the client swallows the first cell's
  ``execute_reply``; both sides then sit idle. The cell timeout is 90 s, so without the
  watchdog the test ends in ``CellTimeoutError`` after 90 s and fails; with it, the stall
  is reported (notebook and cell named) after 6 s of silence (the chapters' default,
  ``nbwatch.SILENCE_S`` = 60 s, lies below the 90 s cell timeout too: asserted, not waited
  for) and the notebook runs again and completes.
* ``test_missed_wakeup_is_recovered``: the reply arrives, but its wake-up is consumed
  before the event loop sees it (the edge-triggered zmq FD). Plain nbclient then waits
  out the whole cell timeout and carries on silently with the late reply: issue 15's
  symptom. The watchdog must report the missed wake-up and recover it.
* ``test_send_while_reply_waits_is_recovered``: issue 15's actual cause, found in the soak
  (tools/soak.py): the client sends on the shell socket (nbclient's Output-widget mimic,
  in a ``widgets.interact`` cell) just after the reply arrived and before the event loop
  saw it; jupyter_client's send goes through a plain shadow socket and consumes the
  reply's wake-up. No chapter does that any more; if one did, the probe must recover the
  reply within seconds, not at the cell timeout.
* ``test_second_stall_fails_the_run``: every reply to the first cell is swallowed; after
  the one retry the run must fail with ``StallError`` (a ``CellTimeoutError``: nbmake then
  fails the chapter's test, myst-nb warns and ``-W`` fails the build).

``NBWATCH=off pytest tests/test_stall.py`` runs them against plain nbclient behaviour:
they fail, which shows they can.

The other tests check nbwatch's own safety: ``check_compat`` fails loudly when a library it
reaches into is not the tested version or lacks an internal (and requirements.txt pins
exactly the tested versions), and a kernel whose CPU time cannot be read is said so, once.
"""
from __future__ import annotations

import asyncio
import os
import select
import sys
import time
from pathlib import Path

import pytest
import zmq
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import nbwatch  # noqa: E402

CELL_TIMEOUT = 90   # the acceptance bound: a stall must be reported before this cell timeout


def notebook():
    # the first cell takes a second, so that its reply comes while the client waits
    nb = new_notebook(cells=[new_code_cell("import time\ntime.sleep(1)\nx = 6 * 7"),
                             new_code_cell("print(x)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def reports(monkeypatch):
    lines = []
    monkeypatch.setattr(nbwatch, "REPORTERS", [lines.append])
    monkeypatch.setattr(nbwatch, "_log_path", None)   # forced stalls stay out of make test's log
    return lines


class DropFirstReply(nbwatch.WatchdogClient):
    """Loses the execute_reply of the first execution of cell 0 (drop=1) or of all of them."""
    drop = 1

    def _deliver(self, channel, msg):
        if channel == "shell" and msg["msg_type"] == "execute_reply" and self.drop \
                and self.code_cells_executed == 1:
            self.drop -= 1
            return False
        return True


def test_lost_reply_is_detected_and_retried(reports):
    assert nbwatch.SILENCE_S + 10 < CELL_TIMEOUT       # the default would report before the cell timeout
    nb = notebook()
    client = DropFirstReply(nb, timeout=CELL_TIMEOUT, name="stall-test.ipynb", silence=6)
    client.execute()
    stalls = [e for e in client.events if e["kind"] == "stall"]
    assert len(stalls) == 1 and stalls[0]["cell"] == 0
    assert any("stall-test.ipynb: STALL in cell 0 (import time)" in r for r in reports), reports
    assert "execute_reply: NO" in stalls[0]["line"]
    assert client.attempts == 2
    assert nb.cells[1].outputs[0]["text"] == "42\n"


class FirstReplyHook(nbwatch.WatchdogClient):
    """Runs ``interfere(channel, task)`` (a coroutine) while the shell reply of the first code
    cell is awaited, ``task`` being that wait; the subclasses disturb the socket there."""
    done = False

    def _wrap_channel(self, name, channel):
        super()._wrap_channel(name, channel)
        if name != "shell":
            return
        wrapped = channel.get_msg
        client = self

        async def get_msg(timeout=None):
            if client.done or client.code_cells_executed != 1:
                return await wrapped(timeout=timeout)
            client.done = True
            task = asyncio.ensure_future(wrapped(timeout=timeout))
            await asyncio.sleep(0.3)             # the poll waits on the FD; the reply is ~1 s away
            await client.interfere(channel, task)
            return await task

        channel.get_msg = get_msg


class SwallowWakeup(FirstReplyHook):
    """Consumes the shell socket's wake-up for the first reply, as a stray EVENTS read does."""
    swallowed = False

    async def interfere(self, channel, task):
        shadow = zmq.Socket.shadow(channel.socket.underlying)
        t0 = time.monotonic()
        # block the loop until the reply is in; reading EVENTS drains the FD's signal
        while not task.done() and not shadow.get(zmq.EVENTS) & zmq.POLLIN \
                and time.monotonic() - t0 < 30:
            time.sleep(0.01)
        self.swallowed = not task.done()


def test_missed_wakeup_is_recovered(reports):
    nb = notebook()
    client = SwallowWakeup(nb, timeout=CELL_TIMEOUT, name="wakeup-test.ipynb")
    client.execute()
    assert client.done and client.swallowed
    missed = [e for e in client.events if e["kind"] == "missed-wakeup"]
    assert missed and missed[0]["channel"] == "shell" and missed[0]["cell"] == 0, client.events
    assert any("wakeup-test.ipynb: cell 0 (import time): a message sat unseen on the shell socket" in r
               for r in reports), reports
    assert not [e for e in client.events if e["kind"] == "stall"]
    assert nb.cells[1].outputs[0]["text"] == "42\n"


class SendWhileReplyWaits(FirstReplyHook):
    """Sends on the shell socket just after the first reply arrived, before the client saw it.

    That is what nbclient's Output-widget mimic does (a ``comm_msg`` on shell, answering a
    widget's ``clear_output``) while it waits for the ``execute_reply`` of an
    ``interact`` cell. jupyter_client sends on a plain shadow of the asyncio socket, and
    libzmq's send consumes the FD signal of the reply.
    """
    fd_was_readable = fd_readable_after_send = False
    sent_at = woken_at = None

    async def interfere(self, channel, task):
        fd = channel.socket.get(zmq.FD)
        t0 = time.monotonic()
        # block the loop until the reply's signal is on the FD (select does not consume it)
        while not task.done() and not select.select([fd], [], [], 0)[0] \
                and time.monotonic() - t0 < 30:
            time.sleep(0.01)
        self.fd_was_readable = not task.done() and bool(select.select([fd], [], [], 0)[0])
        time.sleep(0.01)                     # libzmq processes commands on send at most every ~1 ms
        self.kc.kernel_info()                # a send on shell, through jupyter_client's Session
        self.sent_at = time.monotonic()
        self.fd_readable_after_send = bool(select.select([fd], [], [], 0)[0])
        task.add_done_callback(lambda _: setattr(self, "woken_at", time.monotonic()))


def test_send_while_reply_waits_is_recovered(reports):
    """Issue 15's stall in chapter 02: a send on shell while its reply waits unseen."""
    nb = notebook()
    client = SendWhileReplyWaits(nb, timeout=CELL_TIMEOUT, name="send-test.ipynb")
    client.execute()
    # the situation arose: the reply's signal was on the FD, and the send consumed it
    assert client.done and client.fd_was_readable and not client.fd_readable_after_send
    # the probe found the reply and woke the poll within a few ticks, not at the cell timeout
    assert client.woken_at - client.sent_at < nbwatch.PROBE_QUIET_S + 2 * nbwatch.TICK_S + 3, client.events
    assert [(e["kind"], e["channel"], e["cell"]) for e in client.events] == \
        [("missed-wakeup", "shell", 0)], client.events
    assert any("send-test.ipynb: cell 0 (import time): a message sat unseen on the shell socket" in r
               for r in reports), reports
    assert nb.cells[1].outputs[0]["text"] == "42\n"


def test_second_stall_fails_the_run(reports):
    nb = notebook()
    client = DropFirstReply(nb, timeout=CELL_TIMEOUT, name="stall-twice.ipynb", silence=6)
    client.drop = 2
    with pytest.raises(nbwatch.StallError) as err:
        client.execute()
    assert "stall-twice.ipynb: STALL in cell 0" in str(err.value)
    assert client.attempts == 2
    assert any("stalled again on attempt 2; giving up" in r for r in reports), reports


# -- nbwatch's own safety ------------------------------------------------------------------------
@pytest.fixture
def fresh_compat(monkeypatch):
    """check_compat runs its checks again (it remembers them per process)."""
    monkeypatch.setattr(nbwatch, "_checked", {})
    monkeypatch.delenv(nbwatch.UNTESTED_OK_ENV, raising=False)


def test_installed_libraries_are_the_tested_ones(fresh_compat):
    nbwatch.check_compat()      # every library, every internal: what the chapters run on here


def test_requirements_pin_the_tested_versions():
    pins = {}
    for line in (Path(__file__).resolve().parent.parent / "requirements.txt").read_text().splitlines():
        req = line.split("#", 1)[0].strip()
        if "==" in req:
            name, _, version = req.partition("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    for lib, version in nbwatch.TESTED.items():
        assert pins.get(lib.lower().replace("_", "-")) == version, (lib, version, pins)


def test_untested_version_fails_loudly(fresh_compat, monkeypatch):
    monkeypatch.setitem(nbwatch.TESTED, "pyzmq", "0.0.1")
    with pytest.raises(nbwatch.NbwatchCompatError) as err:
        nbwatch.WatchdogClient(notebook())
    msg = str(err.value)
    assert f"pyzmq {zmq.__version__} is installed, nbwatch was tested with pyzmq 0.0.1" in msg, msg
    assert "pip install -r requirements.txt" in msg and nbwatch.UNTESTED_OK_ENV in msg, msg


def test_untested_version_runs_only_when_asked(fresh_compat, monkeypatch, reports):
    monkeypatch.setitem(nbwatch.TESTED, "pyzmq", "0.0.1")
    monkeypatch.setenv(nbwatch.UNTESTED_OK_ENV, "1")
    nbwatch.check_compat("pyzmq")
    assert any(f"pyzmq {zmq.__version__} is not the tested 0.0.1" in r for r in reports), reports


def test_missing_internal_fails_loudly(fresh_compat, monkeypatch):
    # pyzmq without the async get() that re-schedules the waiting poll: the probe could not wake it
    monkeypatch.delattr(zmq._future._AsyncSocket, "get")
    with pytest.raises(nbwatch.NbwatchCompatError) as err:
        nbwatch.WatchdogClient(notebook())
    msg = str(err.value)
    assert f"pyzmq {zmq.__version__} is installed, nbwatch was tested with pyzmq " \
           f"{nbwatch.TESTED['pyzmq']}, and internals of pyzmq it relies on are missing" in msg, msg
    assert "zmq._future:_AsyncSocket no longer defines get" in msg, msg
    # even on the tested version number: the internals decide, not the number alone
    assert zmq.__version__ == nbwatch.TESTED["pyzmq"]


def test_changed_signature_fails_loudly(fresh_compat, monkeypatch):
    from nbclient import NotebookClient

    async def _async_check_alive(self, timeout):   # a private method that grew a parameter
        pass

    monkeypatch.setattr(NotebookClient, "_async_check_alive", _async_check_alive)
    with pytest.raises(nbwatch.NbwatchCompatError, match=r"(?s)nbclient .*_async_check_alive\(self, timeout\), "
                                                         r"expected \(self\).*What to do"):
        nbwatch.check_compat("nbclient")


def test_nbmake_internal_gone_fails_loudly(fresh_compat, monkeypatch):
    from nbmake import nb_run

    monkeypatch.delattr(nb_run, "NotebookClient")
    with pytest.raises(nbwatch.NbwatchCompatError, match="nbmake.nb_run is not what nbwatch expects"):
        nbwatch.check_compat("nbmake")


def _missing_pid() -> int:
    import psutil

    pid = int(Path("/proc/sys/kernel/pid_max").read_text()) if Path("/proc/sys/kernel/pid_max").exists() \
        else 2 ** 22 + 1
    assert not psutil.pid_exists(pid)     # pids lie below pid_max
    return pid


def test_cpu_probe_of_missing_pid_raises():
    pid = _missing_pid()
    with pytest.raises(nbwatch.CpuProbeError, match=f"no process with pid {pid}"):
        nbwatch._cpu_seconds(pid)
    with pytest.raises(nbwatch.CpuProbeError, match="pid is unknown"):
        nbwatch._cpu_seconds(None)
    assert nbwatch._cpu_seconds(os.getpid()) > 0


class UnknownKernelPid(nbwatch.WatchdogClient):
    def _kernel_pid(self):
        return self.missing_pid


def test_unreadable_kernel_cpu_is_reported_once(reports):
    nb = notebook()
    client = UnknownKernelPid(nb, timeout=CELL_TIMEOUT, name="cpu-test.ipynb")
    client.missing_pid = pid = _missing_pid()
    client.execute()                      # two cells, each read at its start and every tick
    lines = [r for r in reports if "cannot read the kernel's CPU time" in r]
    assert lines == [(f"nbwatch: cpu-test.ipynb: cannot read the kernel's CPU time (no process with pid {pid}); "
                     f"for this kernel a stall is judged on silence alone: {nbwatch.SILENCE_S:.0f} s "
                     f"without a message counts as stalled even if the kernel is computing")], reports
    assert [e["kind"] for e in client.events] == ["cpu-unknown"], client.events
    assert nb.cells[1].outputs[0]["text"] == "42\n"
