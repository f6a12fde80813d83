"""Inverse problems (1), :math:`y = A\\bar x + \\varepsilon`, batched over runs, and the random
problems of Section IV."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .._random import make_generator, problem_seed
from .._validation import check_finite, check_int, check_positive, check_shape
from .operators import LinearOperator, gaussian_operator

__all__ = ["Problem", "gaussian_problems"]


@dataclass
class Problem:
    """An inverse problem (1): :math:`y = A\\bar x + \\varepsilon`, batched over runs.

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
        check_finite("x_bar", self.x_bar)
        check_finite("noise", self.noise)
        R = check_shape("x_bar", self.x_bar, (None, self.A.n)).shape[0]
        check_shape("noise", self.noise, (R, self.A.m))
        if self.A.runs not in (1, R):
            raise ValueError(f"the operator has {self.A.runs} runs; accepted: 1 or {R} (as x_bar)")

    @classmethod
    def make(cls, A: LinearOperator, x_bar: torch.Tensor | None = None, noise_std: float = 0.0,
             runs: int | None = None, seed: int = 0) -> "Problem":
        """Build a problem; ``x_bar`` defaults to iid N(0, 1) entries (Section IV) and
        the noise is iid :math:`N(0, \\sigma^2)` with ``noise_std`` = σ."""
        check_positive("noise_std", noise_std, allow_zero=True)
        runs = A.runs if runs is None else check_int("runs", runs)
        g = make_generator(seed, A.device)
        if x_bar is None:
            x_bar = torch.randn(runs, A.n, dtype=A.dtype, device=A.device, generator=g)
        x_bar = x_bar.reshape(-1, A.n)
        noise = noise_std * torch.randn(x_bar.shape[0], A.m, dtype=A.dtype, device=A.device, generator=g)
        return cls(A, x_bar, noise)

    @property
    def runs(self) -> int:
        return self.x_bar.shape[0]

    def subset(self, idx) -> "Problem":
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


def gaussian_problems(n: int, ms: Sequence[int], runs: int, seed: int = 0, noise_std: float = 0.0,
                      device="cpu") -> list[Problem]:
    """The problems of the paper's Fig 1: A (m×n) and :math:`\\bar x` with iid N(0, 1) entries, one per run.

    One :class:`~dipnb.Problem` per ``m`` in ``ms``; the draws depend on ``(seed, n, m)`` only,
    so the same call always gives the same problems (a saved sweep can be re-created).
    """
    n, runs = check_int("n", n), check_int("runs", runs)
    out = []
    for m in ms:
        m = check_int("m", m)
        s = problem_seed(seed, n, m)
        A = gaussian_operator(m, n, runs=runs, seed=s, device=device)
        out.append(Problem.make(A, noise_std=noise_std, seed=s + 1))
    return out
