"""Inverse problems (1), :math:`y = A\\bar x + \\varepsilon`, batched over runs, and the random
problems of Section IV."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .._random import make_generator, offset_seed, problem_seed
from .._validation import check_device, check_finite, check_int, check_memory, check_positive, check_shape
from .operators import LinearOperator, gaussian_operator

__all__ = ["Problem", "gaussian_problems"]


@dataclass
class Problem:
    """An inverse problem (1): :math:`y = A\\bar x + \\varepsilon`, batched over runs.

    Build one with :meth:`Problem.make` (``Problem.make(A, x_bar=None, noise_std=0.0, runs=None,
    seed=0)``: :math:`\\bar x` and the noise drawn as in Section IV unless given); the constructor
    ``Problem(A, x_bar, noise)`` takes tensors you already have. ``print(problem)`` gives the
    sizes, dtype and device in one line.

    Attributes
    ----------
    A : LinearOperator
    x_bar : Tensor, shape (R, n)
    noise : Tensor, shape (R, m)
    """

    A: LinearOperator
    x_bar: torch.Tensor
    noise: torch.Tensor

    def __post_init__(self):
        if not isinstance(self.A, LinearOperator):
            raise ValueError(f"A must be a dipnb.LinearOperator (e.g. dipnb.gaussian_operator(m, n)), "
                             f"got {type(self.A).__name__}")
        check_finite("x_bar", self.x_bar)
        check_finite("noise", self.noise)
        R = check_shape("x_bar", self.x_bar, (None, self.A.n)).shape[0]
        check_shape("noise", self.noise, (R, self.A.m))
        if self.A.runs not in (1, R):
            raise ValueError(f"x_bar has {R} row{'s' if R != 1 else ''} (runs) but the operator has {self.A.runs} runs; "
                             f"accepted: "
                             f"x_bar with {self.A.runs} rows (one per run of the operator), or an operator "
                             f"with 1 run (shared by every row of x_bar)")
        for name in ("x_bar", "noise"):
            t = getattr(self, name)
            if t.dtype != self.A.dtype or not _same_device(t.device, self.A.device):
                raise ValueError(f"{name} is {t.dtype} on {t.device} but the operator is {self.A.dtype} on "
                                 f"{self.A.device}; accepted: the operator's dtype and device "
                                 f"(x.to(dtype=A.dtype, device=A.device))")

    def __repr__(self) -> str:
        noise = float(self.noise.detach().pow(2).mean().sqrt()) if self.noise.numel() else 0.0
        return (f"Problem(runs={self.runs}, n={self.A.n}, m={self.A.m}, A={type(self.A).__name__} "
                f"({self.A.runs} run{'s' if self.A.runs != 1 else ''}), noise rms {noise:.3g}, "
                f"dtype={self.A.dtype}, device={self.A.device})")

    @classmethod
    def make(cls, A: LinearOperator, x_bar: torch.Tensor | None = None, noise_std: float = 0.0,
             runs: int | None = None, seed: int = 0) -> Problem:
        """Build a problem; ``x_bar`` defaults to iid N(0, 1) entries (Section IV) and
        the noise is iid :math:`N(0, \\sigma^2)` with ``noise_std`` = σ.

        Parameters
        ----------
        A : LinearOperator
            The operator, of size m×n.
        x_bar : tensor or array, optional
            The signal: shape (n,) for one run, (runs, n), or (runs, ...) with n entries per run
            (an image); cast to the operator's dtype and device. Default: ``runs`` draws of
            N(0, I_n).
        noise_std : float
            σ >= 0.
        runs : int, optional
            Number of runs (default: the operator's); with ``x_bar`` it must equal its rows.
        seed : int
            Seed of the draws of x̄ and of the noise.
        """
        if not isinstance(A, LinearOperator):
            raise ValueError(f"A must be a dipnb.LinearOperator (e.g. dipnb.gaussian_operator(m, n)), "
                             f"got {type(A).__name__}")
        check_positive("noise_std", noise_std, allow_zero=True)
        given_runs = runs is not None
        runs = A.runs if runs is None else check_int("runs", runs)
        if x_bar is None:
            check_memory(f"Problem.make(runs={runs}) with n={A.n}, m={A.m}", runs * (A.n + A.m),
                         torch.finfo(A.dtype).bits // 8, A.device, "runs * (n + m)")
        g = make_generator(seed, A.device)
        if x_bar is None:
            x_bar = torch.randn(runs, A.n, dtype=A.dtype, device=A.device, generator=g)
        else:
            x_bar = _signal_rows(x_bar, A, runs if given_runs else None)
        noise = noise_std * torch.randn(x_bar.shape[0], A.m, dtype=A.dtype, device=A.device, generator=g)
        return cls(A, x_bar, noise)

    @property
    def runs(self) -> int:
        return self.x_bar.shape[0]

    def subset(self, idx) -> Problem:
        """The runs ``idx`` (an index, slice or list) as a problem of their own."""
        idx = [idx] if isinstance(idx, int) else idx
        return Problem(self.A.subset(idx), self.x_bar[idx], self.noise[idx])

    @property
    def y_bar(self) -> torch.Tensor:
        """Noiseless observation :math:`\\bar y = A\\bar x`."""
        return self.A.A(self.x_bar)

    @property
    def y(self) -> torch.Tensor:
        return self.y_bar + self.noise


def _same_device(a, b) -> bool:
    a, b = torch.device(a), torch.device(b)
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def _signal_rows(x_bar, A: LinearOperator, runs: int | None) -> torch.Tensor:
    """``x_bar`` as a (runs, n) tensor of the operator's dtype and device, or a ValueError."""
    n = A.n
    try:
        x = torch.as_tensor(x_bar, dtype=A.dtype, device=A.device)
    except (TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"x_bar must be a tensor or an array of numbers, got {type(x_bar).__name__} ({e})") from None
    shape = tuple(x.shape)
    if x.ndim >= 2 and math.prod(shape[1:]) == n:
        x = x.reshape(shape[0], n)                            # (runs, ...) with n entries per run
    elif x.numel() == n and x.ndim >= 1:
        x = x.reshape(1, n)                                   # one signal, of any shape
    else:
        raise ValueError(f"x_bar must hold n = {n} entries per run (the operator's input size): shape ({n},), "
                         f"(runs, {n}) or (runs, ...) with {n} entries per run; got shape {shape}")
    if runs is not None and x.shape[0] != runs:
        raise ValueError(f"runs={runs} but x_bar has {x.shape[0]} row{'s' if x.shape[0] != 1 else ''} (runs); "
                         f"accepted: runs={x.shape[0]} or "
                         f"no runs argument when x_bar is given")
    return x


def gaussian_problems(n: int, ms: Sequence[int], runs: int, seed: int = 0, noise_std: float = 0.0,
                      device="cpu") -> list[Problem]:
    """The problems of the paper's Fig 1: A (m×n) and :math:`\\bar x` with iid N(0, 1) entries, one per run.

    One :class:`~dipnb.Problem` per ``m`` in ``ms``; the draws depend on ``(seed, n, m)`` only,
    so the same call always gives the same problems (a saved sweep can be re-created).
    """
    n, runs = check_int("n", n), check_int("runs", runs)
    if isinstance(ms, (str, bytes)) or not isinstance(ms, Iterable):
        raise ValueError(f"ms must be a sequence of observation sizes m (integers >= 1), e.g. [{ms!r}], got {ms!r}")
    ms = [check_int("m", m) for m in ms]
    device = check_device(device)
    for m in ms:
        check_memory(f"gaussian_problems(n={n}, m={m}, runs={runs})", runs * (m * n + n + m), 8, device,
                     "runs * (m * n + n + m)")
    out = []
    for m in ms:
        s = problem_seed(seed, n, m)
        A = gaussian_operator(m, n, runs=runs, seed=s, device=device)
        out.append(Problem.make(A, noise_std=noise_std, seed=offset_seed(s, 1)))
    return out
