"""Input validation shared by every module: each error names the bad value and
what is accepted, so a reader can fix the call without opening the source."""
from __future__ import annotations

import operator
import os
from collections.abc import Iterable

import torch

DEFAULT_DTYPE = torch.float64
LAYERS = ("W", "V", "both")


def check_int(name: str, value, low: int = 1, high: int | None = None) -> int:
    """Accept an integer (Python, NumPy or integer tensor) within ``[low, high]``."""
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}") from None
    if value < low or (high is not None and value > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
    return value


def check_positive(name: str, value, allow_zero: bool = False):
    """Accept a positive finite float or tensor (checked element-wise)."""
    t = torch.as_tensor(value, dtype=torch.float64)
    bad = ~torch.isfinite(t) | ((t < 0) if allow_zero else (t <= 0))
    if bad.any():
        which = t[bad].flatten()[:5].tolist()
        rng = "finite and >= 0" if allow_zero else "finite and > 0"
        raise ValueError(f"{name} must be {rng}, got {which if t.ndim else float(t)}")
    return value


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; accepted: {list(choices)}")
    return value


def check_layers(layers: str) -> str:
    return check_choice("layers", layers, LAYERS)


def check_finite(name: str, t: torch.Tensor) -> torch.Tensor:
    if not torch.is_tensor(t):
        raise ValueError(f"{name} must be a torch tensor, got {type(t).__name__}")
    if t.is_floating_point() and not torch.isfinite(t).all():
        n_bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} must be finite; it has {n_bad} non-finite entries (NaN or inf)")
    return t


def check_shape(name: str, t: torch.Tensor, shape: tuple) -> torch.Tensor:
    """``shape`` may contain ``None`` for a free dimension."""
    ok = t.ndim == len(shape) and all(s is None or s == ts for s, ts in zip(shape, t.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    return t


#: Seeds of a study (the command line's ``--seed``, :func:`dipnb.experiments.run`): 32-bit
#: unsigned integers. Every draw's own seed is derived from it (``dipnb._random``).
SEED_MAX = 2 ** 32 - 1


def check_seed(seed, name: str = "seed") -> int:
    """Accept the seed of a study: an integer in ``[0, 2**32 - 1]``."""
    try:
        if isinstance(seed, bool):
            raise TypeError
        seed = operator.index(seed)
    except TypeError:
        raise ValueError(f"{name} must be an integer in [0, 2**32 - 1] = [0, {SEED_MAX}], "
                         f"got {seed!r}") from None
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"{name} must be an integer in [0, 2**32 - 1] = [0, {SEED_MAX}], got {seed}")
    return seed


def _cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def accepted_devices() -> str:
    """The devices this machine accepts, in words (for error messages and ``--help``)."""
    n = _cuda_count()
    if n == 0:
        return "'cpu' (torch sees no CUDA device here)"
    return "'cpu', 'cuda' or " + ("'cuda:0'" if n == 1 else f"'cuda:N' with N in [0, {n - 1}]")


def check_device(device) -> torch.device:
    """Accept ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (a string or a ``torch.device``) that this
    machine has; return it as a ``torch.device``."""
    if isinstance(device, str) and device == "cpu":          # the common case, without a CUDA query
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {device!r}; accepted: {accepted_devices()}") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"device {device!r} is not supported; accepted: {accepted_devices()}")
    n = _cuda_count()
    if n == 0:
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device; accepted here: 'cpu'")
    if dev.index is not None and dev.index >= n:
        raise ValueError(f"device {device!r} asked for, but torch sees {n} CUDA device(s); "
                         f"accepted: {accepted_devices()}")
    return dev


def memory_bytes(device) -> int:
    """The memory of ``device``: physical memory for the CPU, total memory of a CUDA device."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return int(torch.cuda.get_device_properties(dev).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):      # not a POSIX system: no check
        return 2 ** 62


def _size(nbytes: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB", "EB"):
        if nbytes < 1000 or unit == "EB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.3g} {unit}"
        nbytes /= 1000


def check_memory(what: str, entries: int, per_entry: int, device, accepted: str) -> None:
    """Refuse a draw of ``entries`` tensor entries (``per_entry`` bytes each) larger than the
    memory of ``device``; ``accepted`` names the sizes in words (e.g. ``"runs * k * (n + d)"``)."""
    limit = memory_bytes(device)
    need = int(entries) * int(per_entry)
    if need > limit:
        raise ValueError(f"{what} needs {_size(need)} ({entries:.3g} entries of {per_entry} bytes), more than the "
                         f"{_size(limit)} of memory of the device {str(torch.device(device))!r}; accepted: {accepted} "
                         f"<= {limit // per_entry:.3g} here")


def check_step_shape(name: str, gamma, runs: int):
    """Accept a step size that is a number or a tensor of shape (), (1,) or (runs,)."""
    shape = tuple(torch.as_tensor(gamma).shape)
    if len(shape) > 1 or (len(shape) == 1 and shape[0] not in (1, runs)):
        raise ValueError(f"{name} must be a number or a tensor of shape ({runs},) (one step per run), "
                         f"got shape {shape}")
    return gamma


def check_same_runs(net, problem, where: str = "") -> None:
    """A network (:class:`dipnb.TwoLayerDIP`) and a problem (:class:`dipnb.Problem`) with the
    same number of runs R: a ValueError ``"{where}problem has P runs but the network has N;
    they must match"`` otherwise.

    Parameters
    ----------
    net, problem
        Anything with an integer ``runs``.
    where : str
        A prefix naming the argument in the message, e.g. ``"jobs[3]: "``.
    """
    if problem.runs != net.runs:
        raise ValueError(f"{where}problem has {problem.runs} runs but the network has {net.runs}; they must match")


def check_compatible(net, problem, where: str = "") -> None:
    """A network (:class:`dipnb.TwoLayerDIP`) and a problem (:class:`dipnb.Problem`) of the same
    dtype and device (a ValueError naming both otherwise)."""
    a, b = net.V0, problem.x_bar
    if a.dtype != b.dtype or a.device != b.device:
        raise ValueError(f"{where}the network is {a.dtype} on {a.device} but the problem is {b.dtype} on {b.device}; "
                         f"accepted: both of one dtype and device (float64 is the default of "
                         f"TwoLayerDIP.init and of the operators)")
