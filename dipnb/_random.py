"""Random draws: the seeded generator every draw in dipnb takes, and the one function that
derives the seed of a draw from the seed of a study and the coordinates of a cell.

Keeping both here means a study never writes a seed formula of its own: two cells that must
share their problems (common random numbers) ask for the same coordinates, and two that must
be independent ask for different ones.
"""
from __future__ import annotations

import operator

import torch

from ._validation import check_device

__all__ = ["make_generator", "derive_seed", "problem_seed", "network_seed"]


#: The seeds ``torch.Generator.manual_seed`` accepts (a derived seed lies in [0, 2**63)).
GENERATOR_SEEDS = (-(2 ** 63), 2 ** 64 - 1)


def make_generator(seed: int, device="cpu") -> torch.Generator:
    """A seeded ``torch.Generator`` on ``device`` (every random draw in dipnb takes one).

    Parameters
    ----------
    seed : int
        An integer in [-2**63, 2**64 - 1], torch's range (a float with an integer value is
        accepted as that integer).
    device : str or torch.device
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``, one this machine has.
    """
    dev = check_device(device)
    try:
        if isinstance(seed, bool):
            raise TypeError
        s = operator.index(seed)
    except TypeError:
        if not (isinstance(seed, float) and seed.is_integer()):
            raise ValueError(f"seed must be an integer in [-2**63, 2**64 - 1], got {seed!r}") from None
        s = int(seed)
    if not GENERATOR_SEEDS[0] <= s <= GENERATOR_SEEDS[1]:
        raise ValueError(f"seed must be an integer in [-2**63, 2**64 - 1], got {s}")
    g = torch.Generator(device=dev)
    g.manual_seed(s)
    return g


def derive_seed(seed: int, *parts: tuple[int, int]) -> int:
    """The seed of one draw: :math:`(1000003\\,\\text{seed} + \\sum_i w_i c_i) \\bmod 2^{63}`.

    ``parts`` are ``(weight, coordinate)`` pairs, e.g. ``(7919, n), (104729, m)``; distinct
    weights (primes) keep the cells of a grid apart. Every seed formula of dipnb is a call
    of this function (see :func:`problem_seed` and :func:`network_seed`).
    """
    return (int(seed) * 1_000_003 + sum(int(w) * int(c) for w, c in parts)) % (2 ** 63)


def problem_seed(seed: int, n: int, m: int) -> int:
    """Seed of the problems (A, x̄) of size (n, m): the same for every width k and step γ, so
    that the cells of a sweep over k or γ share their problems (common random numbers)."""
    return derive_seed(seed, (7919, n), (104_729, m))


def network_seed(seed: int, n: int, k: int, start: int = 0, block: int = 0) -> int:
    """Seed of the networks of width ``k`` for runs ``start...``, neuron block ``block``."""
    return derive_seed(seed, (10_007, n), (1009, k), (101, start), (1, block))
