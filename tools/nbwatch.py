"""nbwatch: run a notebook with nbclient so that a lost message cannot stall it silently.

Both runners of the chapters use it: nbmake under ``make test`` (``tools/nbwatch_pytest.py``
puts this client in place of nbmake's) and myst-nb under ``make book``
(``tools/nbwatch_sphinx.py``). It is nbclient's ``NotebookClient`` with three additions:

1. **The cause of issue 15's stall is removed, and missed wake-ups are recovered.**
   nbclient waits for a cell's ``execute_reply`` with one long ``zmq.asyncio`` poll (the
   cell timeout, 300 s here). A zmq socket's FD is edge-triggered: if its signal is
   consumed without the waiting future being resolved, the poll only returns when the
   timeout fires, and then (pyzmq ends every timed-out poll with a ``poll(0)``) *returns
   the reply that sat there all along*: nbclient carries on as if nothing had happened,
   300 s later. What consumes the signal: a send on the same shell socket while the reply
   waits unseen. jupyter_client sends through a plain shadow socket, libzmq processes the
   socket's pending commands on send, and pyzmq's asyncio layer is not told. nbclient does
   send there mid-cell: its Output-widget mimic answers a widget's ``clear_output`` with a
   ``comm_msg`` (``widgets.interact``, chapter 02 cell 12, also chapter 04). The fix: after
   every send on shell, re-check ``EVENTS`` through the asyncio socket, as pyzmq does after
   its own sends (``_wrap_send``). Safety net for any other cause: every ``TICK_S`` the
   watchdog looks at each channel that has waited ``PROBE_QUIET_S`` without a message; if
   its FD is not readable but the socket holds a message, the wake-up was missed: it says
   so on one line and wakes the waiting poll up.
2. **A stall is detected and retried once.** When nothing came from the kernel for
   ``SILENCE_S`` seconds (no message on any channel) and the kernel process used no CPU
   meanwhile, the cell is stalled: one line names the notebook and the cell and says what
   was seen of the request (busy / execute_input / reply / idle), the kernel is killed and
   the notebook runs again from the start in a fresh kernel. A second stall raises
   ``StallError`` (a ``CellTimeoutError``: nbmake fails the named test, myst-nb warns,
   which ``-W`` makes an error). A reply without its IOPub ``idle`` within
   ``iopub_timeout`` counts as a stall too (nbclient's default only logs it and drops the
   cell's late outputs).
3. **Every message received is kept** (type, parent, time) in a ring buffer, printed with
   a stall: that is the message logging asked for in issue 15.

``NBWATCH=off`` switches 1 and 2 off (plain nbclient behaviour), to show what the tests
in ``tests/test_stall.py`` catch.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import copy
import os
import select
import sys
import time
import typing as t

import zmq
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

SILENCE_S = float(os.environ.get("NBWATCH_SILENCE_S", "60"))  # both sides idle this long: stalled
TICK_S = 2.0            # how often the watchdog looks
PROBE_QUIET_S = 4.0     # a channel waiting this long without a message gets its socket probed
CPU_BUSY = 0.05         # kernel CPU seconds per wall second above which it is working, not stalled
IOPUB_TIMEOUT_S = 30    # wait this long for the IOPub idle after a reply (nbclient's default: 4 s, then a warning)

# The notebook being run, for the log lines (set by the runners; nbclient does not know paths).
CURRENT_NOTEBOOK: contextvars.ContextVar[str | None] = contextvars.ContextVar("nbwatch_notebook",
                                                                             default=None)


def enabled() -> bool:
    return os.environ.get("NBWATCH", "on").lower() not in ("off", "0", "false", "no")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# Where the one-line reports go; runners append their own (pytest warnings, a log file).
REPORTERS: list[t.Callable[[str], None]] = [_stderr]
_log_path = os.environ.get("NBWATCH_LOG")


def report(line: str) -> None:
    line = f"nbwatch: {line}"
    for r in REPORTERS:
        try:
            r(line)
        except Exception:  # a reporter must never break an execution
            pass
    if _log_path:
        try:
            with open(_log_path, "a", encoding="utf8") as f:
                f.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + line + "\n")
        except OSError:
            pass


class StallError(CellTimeoutError):
    """A cell stalled (no message, kernel idle) twice in a row."""


class _Channel:
    def __init__(self, name: str):
        self.name = name
        self.waiting_since: float | None = None   # a get_msg is pending since
        self.last_delivery = time.monotonic()
        self.probed_pending = False


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        import psutil
        p = psutil.Process(pid)
        total = sum(p.cpu_times()[:2])
        for c in p.children(recursive=True):
            try:
                total += sum(c.cpu_times()[:2])
            except psutil.Error:
                pass
        return total
    except Exception:
        return 0.0


def _thread_states(pid: int | None) -> str:
    """Per kernel thread: name, state and kernel wait channel (e.g. do_epoll_wait)."""
    if pid is None:
        return "?"
    out = []
    try:
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            base = f"/proc/{pid}/task/{tid}"
            try:
                comm = open(f"{base}/comm").read().strip()
                state = open(f"{base}/stat").read().rsplit(")", 1)[1].split()[0]
                wchan = open(f"{base}/wchan").read().strip() or "-"
            except OSError:
                continue
            out.append(f"{comm}:{state}:{wchan}")
    except OSError:
        return "?"
    return " ".join(out)


class WatchdogClient(NotebookClient):
    """``nbclient.NotebookClient`` that recovers missed wake-ups and retries a stalled run once.

    Extra keyword arguments: ``name`` (for the log lines; default: ``CURRENT_NOTEBOOK``),
    ``silence`` (seconds, default ``SILENCE_S``), ``kernel_env`` (the kernel's environment,
    default: this process's), ``watchdog`` (default: ``NBWATCH`` is not ``off``).
    ``events`` lists what happened (dicts with ``kind``: ``missed-wakeup`` or ``stall``).
    """

    def __init__(self, nb, km=None, *, name: str | None = None, silence: float | None = None,
                 kernel_env: dict | None = None, watchdog: bool | None = None, **kw):
        self.watchdog = enabled() if watchdog is None else watchdog
        if self.watchdog:
            kw.setdefault("iopub_timeout", IOPUB_TIMEOUT_S)
            kw.setdefault("raise_on_iopub_timeout", True)
        super().__init__(nb, km=km, **kw)
        self.name = name or CURRENT_NOTEBOOK.get() or "<notebook>"
        self.silence = SILENCE_S if silence is None else silence
        self.kernel_env = kernel_env
        self.events: list[dict] = []
        self.attempts = 0
        self._stall: str | None = None
        self._messages: collections.deque = collections.deque(maxlen=40)
        self._msg_count = 0
        self._last_request: str | None = None
        self._channels: dict[str, _Channel] = {}
        self._cell_index = -1

    # -- kernel start: environment, channel wrappers ---------------------------------------
    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_env is not None and "env" not in kwargs:
            kwargs["env"] = dict(self.kernel_env)
        return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        self._channels = {}
        for name in ("shell", "iopub"):
            self._wrap_channel(name, getattr(kc, f"{name}_channel"))
        execute = kc.execute

        def traced_execute(*a, **k):
            msg_id = execute(*a, **k)
            self._last_request = msg_id
            self._messages.append((time.monotonic(), "shell>", "execute_request", msg_id, ""))
            return msg_id

        kc.execute = traced_execute
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _wrap_channel(self, name: str, channel) -> None:
        state = self._channels[name] = _Channel(name)
        orig = channel.get_msg

        async def get_msg(timeout=None):
            while True:
                state.waiting_since = time.monotonic()
                try:
                    msg = await orig(timeout=timeout)
                finally:
                    state.waiting_since = None
                state.last_delivery = time.monotonic()
                state.probed_pending = False
                self._msg_count += 1
                parent = msg.get("parent_header") or {}
                deliver = self._deliver(name, msg)
                self._messages.append((state.last_delivery, name, msg["msg_type"],
                                       str(parent.get("msg_id", "")),
                                       msg.get("content", {}).get("execution_state", "")
                                       if deliver else "dropped"))
                if deliver:
                    return msg
                # a message the test hook swallowed: wait on (with what is left of the timeout)

        channel.get_msg = get_msg
        if name == "shell" and self.watchdog:
            self._wrap_send(state, channel)

    def _wrap_send(self, state: _Channel, channel) -> None:
        """Re-arm the shell socket's wake-up after every send: the cause of issue 15's stall.

        jupyter_client's ``Session.send`` sends on a plain ``zmq.Socket.shadow`` of the
        asyncio socket. libzmq processes the socket's pending commands on send, which
        consumes the FD's signal for a message that has just arrived, and the plain
        shadow does not tell pyzmq's asyncio layer (its own sends re-check ``EVENTS``
        afterwards, pyzmq PR #1208). nbclient sends on the shell socket while it waits
        there for an ``execute_reply``: its Output-widget mimic answers the widget's
        ``clear_output`` with a ``comm_msg`` (``widgets.interact`` in chapters 02 and 04).
        When the reply lands just before that send, the waiting poll is never woken and
        returns the reply only when the cell timeout fires. Reading ``EVENTS`` through the
        asyncio socket after the send does what pyzmq does after its own sends.
        """
        send = channel.send

        def send_and_rearm(msg):
            sock = channel.socket
            try:
                fd = sock.get(zmq.FD)
                before = bool(select.select([fd], [], [], 0)[0])
            except (zmq.ZMQError, OSError, ValueError):
                return send(msg)
            send(msg)
            if state.waiting_since is None or sock.closed:
                return
            try:
                after = bool(select.select([fd], [], [], 0)[0])
                pending = zmq.Socket.shadow(sock.underlying).get(zmq.EVENTS) & zmq.POLLIN
                sock.get(zmq.EVENTS)          # pyzmq schedules the waiting poll if a message is in
            except (zmq.ZMQError, OSError, ValueError):
                return
            if before and not after and pending:
                self.events.append({"kind": "rearmed", "channel": state.name, "attempt": self.attempts,
                                    "cell": self._cell_index})
                report(f"{self.name}: cell {self._cell_index} ({self._first_line(self._cell_index)}): a "
                       f"send on the shell socket consumed the wake-up of a waiting message "
                       f"(jupyter_client sends on a plain shadow socket); re-armed it")

        channel.send = send_and_rearm

    def _deliver(self, channel: str, msg: dict) -> bool:
        """Hook for tests: return False to drop a received message as if it were lost."""
        return True

    # -- execution with one retry -------------------------------------------------------------
    async def async_execute(self, reset_kc: bool = False, **kwargs):
        pristine_cells = copy.deepcopy(self.nb.cells)
        pristine_meta = copy.deepcopy(self.nb.metadata)
        while True:
            self.attempts += 1
            self._stall = None
            try:
                return await super().async_execute(reset_kc=reset_kc, **kwargs)
            except StallError as err:
                if self.attempts >= 2 or not self.owns_km:
                    report(f"{self.name}: stalled again on attempt {self.attempts}; giving up")
                    raise
                report(f"{self.name}: retrying from the start in a fresh kernel "
                       f"(attempt {self.attempts + 1} of 2) after: {err.args[0].splitlines()[0]}")
                # same notebook object (callers such as nbmake hold it), fresh cells
                self.nb.cells[:] = copy.deepcopy(pristine_cells)
                self.nb.metadata.clear()
                self.nb.metadata.update(copy.deepcopy(pristine_meta))
                self.shutdown_kernel = "graceful"
                reset_kc = False

    execute = run_sync(async_execute)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if not self.watchdog or cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count=execution_count,
                                                    store_history=store_history)
        self._cell_index = cell_index
        dog = asyncio.ensure_future(self._watch(cell, cell_index))
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count=execution_count,
                                                    store_history=store_history)
        except (DeadKernelError, asyncio.CancelledError):
            if self._stall is not None:
                raise StallError(self._stall) from None
            raise
        except CellTimeoutError as err:
            if isinstance(err, StallError) or "IOPub" not in str(err):
                raise
            self._stall = self._record_stall(cell, cell_index, f"reply came but no IOPub idle within "
                                                               f"{self.iopub_timeout} s")
            raise StallError(self._stall) from None
        finally:
            dog.cancel()

    async def _async_poll_kernel_alive(self) -> None:
        # nbclient's loop, ended when the watchdog aborts the cell, or the attempt is over
        attempt = self.attempts
        while self._stall is None and self.kc is not None and self.attempts == attempt:
            await asyncio.sleep(1)
            try:
                await self._async_check_alive()
            except DeadKernelError:
                if self.task_poll_for_reply is not None:
                    self.task_poll_for_reply.cancel()
                return
            except AssertionError:
                return

    # -- the watchdog ----------------------------------------------------------------------------
    def _kernel_pid(self) -> int | None:
        prov = getattr(self.km, "provisioner", None)
        proc = getattr(prov, "process", None)
        return getattr(proc, "pid", None)

    async def _watch(self, cell, cell_index: int) -> None:
        pid = self._kernel_pid()
        cpu_prev = _cpu_seconds(pid)
        seen = self._msg_count
        quiet_since = time.monotonic()
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            cpu = _cpu_seconds(pid)
            if self._msg_count != seen or cpu - cpu_prev > CPU_BUSY * TICK_S:
                quiet_since = now
            seen, cpu_prev = self._msg_count, cpu
            self._probe(cell_index, now)
            if now - quiet_since >= self.silence:
                self._stall = self._record_stall(
                    cell, cell_index, f"no message from the kernel for {now - quiet_since:.0f} s "
                                      f"and the kernel used no CPU")
                self.shutdown_kernel = "immediate"
                if self.task_poll_for_reply is not None:
                    self.task_poll_for_reply.cancel()
                return

    def _probe(self, cell_index: int, now: float) -> None:
        """Wake up a poll whose socket holds a message but whose FD did not signal it."""
        if self.kc is None:
            return
        for name, state in self._channels.items():
            if state.waiting_since is None or now - state.waiting_since < PROBE_QUIET_S \
                    or now - state.last_delivery < PROBE_QUIET_S:
                continue
            sock = getattr(self.kc, f"{name}_channel").socket
            if sock is None or sock.closed:
                continue
            try:
                fd = sock.get(zmq.FD)
                if select.select([fd], [], [], 0)[0]:
                    continue          # the event loop will see it: nothing missed
                # FD quiet, so no unprocessed command: reading EVENTS on a plain shadow
                # socket changes nothing, and shows whether a message is waiting.
                pending = zmq.Socket.shadow(sock.underlying).get(zmq.EVENTS) & zmq.POLLIN
            except zmq.ZMQError:
                continue
            if not pending:
                continue
            waited = now - state.last_delivery
            self.events.append({"kind": "missed-wakeup", "channel": name, "cell": cell_index,
                                "waited": waited, "attempt": self.attempts})
            report(f"{self.name}: cell {cell_index} ({self._first_line(cell_index)}): a message sat "
                   f"unseen on the {name} socket for {waited:.0f} s (its FD never became readable: "
                   f"missed wake-up); waking the poll up")
            # pyzmq's async socket re-checks EVENTS and resolves the waiting poll
            sock.get(zmq.EVENTS)

    def _first_line(self, cell_index: int) -> str:
        if not 0 <= cell_index < len(self.nb.cells):
            return ""
        src = self.nb.cells[cell_index].source.strip().splitlines()
        return (src[0][:60] if src else "").replace("\n", " ")

    def _record_stall(self, cell, cell_index: int, why: str) -> str:
        pid = self._kernel_pid()
        req = self._last_request or "?"
        seen = {m[2] + (f"({m[4]})" if m[4] else "") for m in self._messages if m[3] == req}
        wanted = ["status(busy)", "execute_input", "execute_reply", "status(idle)"]
        got = ", ".join(f"{w}: {'yes' if w in seen else 'NO'}" for w in wanted)
        pending = []
        for name in ("shell", "iopub"):
            try:
                sock = getattr(self.kc, f"{name}_channel").socket
                waiting = zmq.Socket.shadow(sock.underlying).poll(0)
                pending.append(f"{name} {'has a message' if waiting else 'empty'}")
            except Exception:
                pending.append(f"{name} ?")
        t0 = time.monotonic()
        recent = "; ".join(f"{t0 - m[0]:.1f}s ago {m[1]} {m[2]}{'(' + m[4] + ')' if m[4] else ''}"
                           f" re …{m[3][-6:]}" for m in list(self._messages)[-8:])
        line = (f"{self.name}: STALL in cell {cell_index} ({self._first_line(cell_index)}), attempt "
                f"{self.attempts}: {why}. For its execute_request …{req[-6:]}: {got}. Sockets: {', '.join(pending)}. "
                f"Kernel threads: {_thread_states(pid)}. Last messages: {recent}")
        self.events.append({"kind": "stall", "cell": cell_index, "why": why, "attempt": self.attempts,
                            "line": line})
        report(line)
        return line


def execute(nb, cwd=None, km=None, **kwargs):
    """Drop-in for ``nbclient.execute`` (what jupyter-cache, hence myst-nb, calls)."""
    resources = {}
    if cwd is not None:
        resources["metadata"] = {"path": cwd}
    return WatchdogClient(nb=nb, resources=resources, km=km, **kwargs).execute()
