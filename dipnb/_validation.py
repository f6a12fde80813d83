"""Input validation shared by every module: each error names the bad value and
what is accepted, so a reader can fix the call without opening the source."""
from __future__ import annotations

import operator
from typing import Iterable

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
