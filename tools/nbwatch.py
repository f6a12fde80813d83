"""nbwatch: run a notebook with nbclient so that a lost message cannot stall it silently.

Both runners of the chapters use it: nbmake under ``make test`` (``tools/nbwatch_pytest.py``
puts this client in place of nbmake's) and myst-nb under ``make book``
(``tools/nbwatch_sphinx.py``). It is nbclient's ``NotebookClient`` with three additions:

1. **Missed wake-ups are recovered.** nbclient waits for a cell's ``execute_reply`` with
   one long ``zmq.asyncio`` poll (the cell timeout, 300 s here). A zmq socket's FD is
   edge-triggered: if its signal is consumed without the waiting future being resolved,
   the poll only returns when the timeout fires, and then (pyzmq ends every timed-out
   poll with a ``poll(0)``) *returns the reply that sat there all along*: nbclient carries
   on as if nothing had happened, 300 s later (issue 15). Every ``TICK_S`` the watchdog
   looks at each channel that has waited ``PROBE_QUIET_S`` without a message; if its FD
   is not readable but the socket holds a message, the wake-up was missed: it says so on
   one line and wakes the waiting poll up (reading ``EVENTS`` through the asyncio socket).

   Issue 15's actual trigger was a send on the shell socket while the reply waited unseen
   (jupyter_client sends through a plain shadow socket, and libzmq's send consumes the
   FD's signal); an earlier version re-checked ``EVENTS`` after every send on shell. That
   re-check is gone (issue 21): in nbclient 0.11.0 the only send on shell during a cell is
   its Output-widget mimic's ``comm_msg`` (``output_widget.py``, only for an
   ``@jupyter-widgets/output`` comm, which ``widgets.interact`` opened), no chapter opens
   one any more (counted over every chapter: no mid-cell send, no Output comm), and if
   one comes back the probe above recovers it within seconds, on a line that names the
   cell (``tests/test_stall.py::test_send_while_reply_waits_is_recovered``).
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

It relies on internals of nbclient, jupyter_client, pyzmq, nbmake, myst-nb and
jupyter-cache (listed in ``_INTERNALS`` below and pinned with ``==`` in requirements.txt).
``check_compat`` verifies them (every internal still there, with the signature and the
calls nbwatch expects, and the installed version the tested one) when a client is
created and when the runners load; on a mismatch it raises ``NbwatchCompatError`` naming
the library, the version found, the version tested and what to do. nbwatch never runs
unpatched on an untested library.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import copy
import importlib
import inspect
import os
import select
import sys
import time
import typing as t
from importlib import metadata

import zmq

# -- the libraries nbwatch reaches into --------------------------------------------------------
# The versions tests/test_stall.py and tools/soak.py were last run against; requirements.txt
# pins exactly these (tests/test_stall.py checks that the two agree).
TESTED = {
    "nbclient": "0.11.0",
    "jupyter_client": "8.10.0",
    "pyzmq": "27.3.0",
    "nbmake": "1.5.5",
    "myst-nb": "1.4.0",
    "jupyter-cache": "1.0.1",
}
UNTESTED_OK_ENV = "NBWATCH_UNTESTED_OK"   # =1: run on an untested version whose internals all check out


class NbwatchCompatError(RuntimeError):
    """An installed library is not the one nbwatch was tested with, or lacks an internal it uses."""


def _resolve(path: str):
    """``"pkg.mod:Class.attr"`` -> the object (AttributeError/ImportError when it is gone)."""
    mod, _, attr = path.partition(":")
    obj = importlib.import_module(mod)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def _params(path: str, *names: str) -> str | None:
    params = tuple(inspect.signature(_resolve(path)).parameters)
    return None if params == names else f"{path}{inspect.signature(_resolve(path))}, expected ({', '.join(names)})"


def _calls(path: str, *needles: str) -> str | None:
    src = inspect.getsource(_resolve(path))
    missing = [n for n in needles if n not in src]
    return None if not missing else f"{path} no longer contains {', '.join(repr(n) for n in missing)}"


def _own(path: str, name: str, *needles: str) -> str | None:
    cls = _resolve(path)
    if name not in vars(cls):
        return f"{path} no longer defines {name}"
    return _calls(f"{path}.{name}", *needles) if needles else None


def _is(path: str, what) -> str | None:
    return None if what(_resolve(path)) else f"{path} is not what nbwatch expects"


_NC = "nbclient.client:NotebookClient"
# What nbwatch and its runners rely on, per library: (the internal in words, a check returning the
# problem or None). Each entry is what tools/nbwatch*.py would silently lose if it changed.
_INTERNALS: dict[str, list[tuple[str, t.Callable[[], str | None]]]] = {
    "nbclient": [
        ("NotebookClient.async_start_new_kernel(**kwargs) (overridden: kernel env)",
         lambda: _params(f"{_NC}.async_start_new_kernel", "self", "kwargs")),
        ("NotebookClient.async_start_new_kernel_client() (overridden: channel wrappers)",
         lambda: _params(f"{_NC}.async_start_new_kernel_client", "self")),
        ("NotebookClient.async_execute(reset_kc, **kwargs) (overridden: the retry)",
         lambda: _params(f"{_NC}.async_execute", "self", "reset_kc", "kwargs")),
        (("NotebookClient.async_execute_cell(cell, cell_index, execution_count, store_history) "
         "(overridden: the watchdog); it starts _async_poll_kernel_alive, awaits "
         "self.task_poll_for_reply and turns its cancellation into DeadKernelError"),
         lambda: _params(f"{_NC}.async_execute_cell", "self", "cell", "cell_index", "execution_count",
                         "store_history")
         or _calls(f"{_NC}.async_execute_cell", "self._async_poll_kernel_alive()",
                   "self.task_poll_for_reply = ", "self.kc.execute(", 'raise DeadKernelError("Kernel died")')),
        ("private NotebookClient._async_poll_kernel_alive() (replaced) and _async_check_alive() (called)",
         lambda: _params(f"{_NC}._async_poll_kernel_alive", "self")
         or _params(f"{_NC}._async_check_alive", "self")),
        (("NotebookClient._async_poll_for_reply waits on self.kc.shell_channel.get_msg (wrapped) and "
         "raises 'Timeout waiting for IOPub output'; _async_poll_output_msg waits on iopub_channel.get_msg"),
         lambda: _calls(f"{_NC}._async_poll_for_reply", "self.kc.shell_channel.get_msg(",
                        "Timeout waiting for IOPub output", "raise_on_iopub_timeout")
         or _calls(f"{_NC}._async_poll_output_msg", "self.kc.iopub_channel.get_msg(")),
        (("traits iopub_timeout, raise_on_iopub_timeout, shutdown_kernel; attributes owns_km, "
         "task_poll_for_reply, code_cells_executed (reset_execution_trackers)"),
         lambda: _is(_NC, lambda c: {"iopub_timeout", "raise_on_iopub_timeout", "shutdown_kernel"}
                     <= set(c.class_traits()))
         or _calls(f"{_NC}.__init__", "self.owns_km")
         or _calls(f"{_NC}.reset_execution_trackers", "self.task_poll_for_reply", "self.code_cells_executed")),
        ("nbclient.util.run_sync; nbclient.execute(nb, cwd, km, **kwargs) (mirrored by nbwatch.execute)",
         lambda: _is("nbclient.util:run_sync", callable)
         or _params("nbclient.client:execute", "nb", "cwd", "km", "kwargs")),
    ],
    "jupyter_client": [
        (("AsyncKernelClient's shell and iopub channels are AsyncZMQSocketChannel: async get_msg(timeout) "
         "(wrapped per instance) and .socket (a zmq.asyncio.Socket, probed)"),
         lambda: _is("jupyter_client.asynchronous.client:AsyncKernelClient",
                     lambda c: all(issubclass(c.class_traits()[f"{ch}_channel_class"].default_value,
                                              _resolve("jupyter_client.channels:AsyncZMQSocketChannel"))
                                   for ch in ("shell", "iopub")))
         or _params("jupyter_client.channels:AsyncZMQSocketChannel.get_msg", "self", "timeout")
         or _is("jupyter_client.channels:AsyncZMQSocketChannel.get_msg", inspect.iscoroutinefunction)
         or _calls("jupyter_client.channels:ZMQSocketChannel.__init__", "self.socket")),
        ("KernelClient.execute returns the msg_id (traced per instance)",
         lambda: _calls("jupyter_client.client:KernelClient.execute", "self.shell_channel.send(",
                        'return msg["header"]["msg_id"]')),
        ("KernelManager.provisioner.process.pid (LocalProvisioner: the kernel's pid for its CPU time)",
         lambda: _is("jupyter_client.manager:KernelManager", lambda c: hasattr(c, "provisioner"))
         or _calls("jupyter_client.provisioning.local_provisioner:LocalProvisioner.launch_kernel",
                   "self.process = ")),
    ],
    "pyzmq": [
        (("zmq.asyncio.Socket.get(zmq.EVENTS) re-schedules the waiting poll "
         "(private _AsyncSocket.get -> _schedule_remaining_events): how the probe wakes it up"),
         lambda: _own("zmq._future:_AsyncSocket", "get", "_schedule_remaining_events")
         or _is("zmq.asyncio:Socket", lambda c: issubclass(c, _resolve("zmq._future:_AsyncSocket")))),
        ("Socket.underlying, zmq.Socket.shadow, the FD/EVENTS/POLLIN options (probe, stall report)",
         lambda: _is("zmq:Socket", lambda c: hasattr(c, "underlying") and hasattr(c, "shadow"))
         or _is("zmq", lambda m: all(hasattr(m, o) for o in ("FD", "EVENTS", "POLLIN")))),
    ],
    "nbmake": [
        (("module global nbmake.nb_run.NotebookClient (replaced by tools/nbwatch_pytest.py), "
         "called as NotebookClient(nb, timeout=..., ...) then .execute(cwd=...) in NotebookRun.execute"),
         lambda: _is("nbmake.nb_run", lambda m: "NotebookClient" in vars(m))
         or _calls("nbmake.nb_run:NotebookRun.execute", "NotebookClient(", ".execute(cwd=")),
        ("NotebookRun.execute(self) (wrapped), .filename, its NotebookResult(nb, error)",
         lambda: _params("nbmake.nb_run:NotebookRun.execute", "self")
         or _calls("nbmake.nb_run:NotebookRun.__init__", "self.filename")
         or _is("nbmake.nb_result:NotebookResult",
                lambda c: {"nb", "error"} <= set(getattr(c, "__annotations__", {})))),
    ],
    "myst-nb": [
        (("myst-nb executes a notebook through jupyter_cache.executors.utils.single_nb_execution "
         "(force and cache modes), so tools/nbwatch_sphinx.py can replace what that calls"),
         lambda: _is("myst_nb.core.execute.direct",
                     lambda m: m.single_nb_execution is _resolve("jupyter_cache.executors.utils:single_nb_execution"))
         or _is("myst_nb.core.execute.cache",
                lambda m: m.single_nb_execution is _resolve("jupyter_cache.executors.utils:single_nb_execution"))),
        ("config values nb_execution_mode, nb_execution_cache_path (set by tools/nbwatch_sphinx.py)",
         lambda: _is("myst_nb.core.config:NbParserConfig",
                     lambda c: {"execution_mode", "execution_cache_path"}
                     <= {f.name for f in __import__("dataclasses").fields(c)})),
    ],
    "jupyter-cache": [
        (("module global jupyter_cache.executors.utils.executenb (replaced by tools/nbwatch_sphinx.py), "
         "called by single_nb_execution"),
         lambda: _is("jupyter_cache.executors.utils", lambda m: "executenb" in vars(m))
         or _calls("jupyter_cache.executors.utils:single_nb_execution", "executenb(")),
        ("get_cache(path).cache_notebook_file(path, uri=, check_validity=, overwrite=)",
         lambda: _is("jupyter_cache:get_cache", callable)
         or _is("jupyter_cache.cache.main:JupyterCacheBase.cache_notebook_file",
                lambda f: {"uri", "check_validity", "overwrite"} <= set(inspect.signature(f).parameters))),
    ],
}
_checked: dict[str, str | None] = {}   # library -> its problem (None: fine), once per process


def _version(lib: str) -> str:
    try:
        return metadata.version(lib)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _compat_problem(lib: str) -> str | None:
    found, tested = _version(lib), TESTED[lib]
    broken = []
    for what, check in _INTERNALS[lib]:
        try:
            problem = check()
        except Exception as err:          # gone, moved, renamed, source unreadable
            problem = f"{type(err).__name__}: {err}"
        if problem:
            broken.append(f"  - {what}: {problem}")
    if found == tested:
        todo = (f"What to do: reinstall it (.venv/bin/pip install --force-reinstall '{lib}=={tested}'): "
                f"this copy of {lib} {found} is not the one nbwatch was tested with.")
    else:
        todo = (f"What to do: install the tested version (.venv/bin/pip install -r requirements.txt, "
                f"or .venv/bin/pip install '{lib}=={tested}'). To move to {lib} {found} instead: adapt "
                f"tools/nbwatch.py (and its runners) to it, run tests/test_stall.py and tools/soak.py "
                f"--passes 3, then update the pin in requirements.txt and nbwatch.TESTED.")
    if broken:
        return (f"nbwatch cannot run safely: {lib} {found} is installed, nbwatch was tested with "
                f"{lib} {tested}, and internals of {lib} it relies on are missing or changed:\n"
                + "\n".join(broken) + "\n" + todo)
    if found != tested:
        if os.environ.get(UNTESTED_OK_ENV, "").lower() in ("1", "true", "yes", "on"):
            report(f"{lib} {found} is not the tested {tested}; running on it because "
                   f"{UNTESTED_OK_ENV} is set")
            return None
        return (f"nbwatch cannot run safely: {lib} {found} is installed, nbwatch was tested with "
                f"{lib} {tested}; the internals it relies on are still there, but how they behave "
                f"on {found} is untested.\n{todo} Or set {UNTESTED_OK_ENV}=1 to run on {lib} {found} "
                f"anyway.")
    return None


def check_compat(*libs: str) -> None:
    """Raise ``NbwatchCompatError`` unless each library (default: all) is the tested version with
    every internal nbwatch uses in place. Each library is checked once per process."""
    problems = []
    for lib in libs or tuple(TESTED):
        if lib not in _checked:
            _checked[lib] = _compat_problem(lib)
        if _checked[lib]:
            problems.append(_checked[lib])
    if problems:
        raise NbwatchCompatError("\n".join(problems))


try:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync
except ImportError as _err:   # pragma: no cover - nbclient moved them
    raise NbwatchCompatError(f"nbwatch cannot run: nbclient {_version('nbclient')} is installed, nbwatch "
                             f"was tested with nbclient {TESTED['nbclient']}, and {_err}. What to do: "
                             f".venv/bin/pip install -r requirements.txt") from None

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


class CpuProbeError(Exception):
    """The kernel's CPU time cannot be read; ``args[0]`` says why."""


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of the kernel process and its children.

    Raises ``CpuProbeError`` when they cannot be read (pid unknown, psutil missing, no such
    process, no permission): a made-up 0.0 would make a busy kernel look idle (killed as
    stalled) or, after a good reading, an idle one look busy."""
    if pid is None:
        raise CpuProbeError("the kernel's pid is unknown (not a local kernel process)")
    try:
        import psutil
    except ImportError:
        raise CpuProbeError("psutil is not installed") from None
    try:
        p = psutil.Process(pid)
        total = sum(p.cpu_times()[:2])
        children = p.children(recursive=True)
    except psutil.NoSuchProcess:
        raise CpuProbeError(f"no process with pid {pid}") from None
    except psutil.AccessDenied:
        raise CpuProbeError(f"no permission to read process {pid}") from None
    except (psutil.Error, OSError) as err:
        raise CpuProbeError(f"reading process {pid} failed: {err!r}") from None
    for c in children:
        try:
            total += sum(c.cpu_times()[:2])
        except psutil.Error:        # a child that ended meanwhile
            pass
    return total


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
    ``events`` lists what happened (dicts with ``kind``: ``missed-wakeup``, ``cpu-unknown`` or
    ``stall``). Creating one runs ``check_compat`` for nbclient, jupyter_client and pyzmq.
    """

    def __init__(self, nb, km=None, *, name: str | None = None, silence: float | None = None,
                 kernel_env: dict | None = None, watchdog: bool | None = None, **kw):
        check_compat("nbclient", "jupyter_client", "pyzmq")
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
        self._cpu_unreadable: set = set()     # (attempt, pid) of the kernels whose CPU was reported unreadable

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

    def _kernel_cpu(self, pid: int | None) -> float | None:
        """The kernel's CPU seconds, or None (said once per kernel) when they cannot be read."""
        try:
            return _cpu_seconds(pid)
        except CpuProbeError as err:
            key = (self.attempts, pid)
            if key not in self._cpu_unreadable:
                self._cpu_unreadable.add(key)
                self.events.append({"kind": "cpu-unknown", "pid": pid, "why": err.args[0],
                                    "attempt": self.attempts, "cell": self._cell_index})
                report(f"{self.name}: cannot read the kernel's CPU time ({err.args[0]}); for this "
                       f"kernel a stall is judged on silence alone: {self.silence:.0f} s without a "
                       f"message counts as stalled even if the kernel is computing")
            return None

    async def _watch(self, cell, cell_index: int) -> None:
        pid = self._kernel_pid()
        cpu_prev = self._kernel_cpu(pid)
        seen = self._msg_count
        quiet_since = time.monotonic()
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            cpu = self._kernel_cpu(pid)
            busy = cpu is not None and cpu_prev is not None and cpu - cpu_prev > CPU_BUSY * TICK_S
            if self._msg_count != seen or busy:
                quiet_since = now
            seen, cpu_prev = self._msg_count, cpu
            self._probe(cell_index, now)
            if now - quiet_since >= self.silence:
                cpu_seen = ("the kernel used no CPU" if cpu is not None
                            else "the kernel's CPU time could not be read")
                self._stall = self._record_stall(
                    cell, cell_index, f"no message from the kernel for {now - quiet_since:.0f} s "
                                      f"and {cpu_seen}")
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
