"""Random draws: the seeded generator every draw in dipnb takes, and every seed formula.

:func:`derive_seed` derives the seed of a draw from the seed of a study and the coordinates of
a cell (:func:`problem_seed`, :func:`network_seed`). The studies written before it keep their
own, simpler formulas, because their committed results and the numbers the chapters show were
drawn with them; those formulas live here too, each a named function
(:func:`offset_seed`, :func:`width_index_seed`, :func:`gamma_sweep_network_seed`,
:func:`width_network_seed`, :func:`selfcheck_seeds`), so that no module outside this one writes a seed expression
(``tests/test_one_home.py`` checks it).

Keeping them here means a study never writes a seed formula of its own: two cells that must
share their problems (common random numbers) ask for the same coordinates, and two that must
be independent ask for different ones.
"""
from __future__ import annotations

import operator

import torch

from ._validation import check_device

__all__ = ["make_generator", "derive_seed", "problem_seed", "network_seed", "draw_seed", "offset_seed",
           "width_index_seed", "gamma_sweep_network_seed", "width_network_seed", "selfcheck_seeds"]


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
    weights (primes) keep the cells of a grid apart. The sweeps' seeds are calls of this
    function (see :func:`problem_seed` and :func:`network_seed`); the other seed formulas of
    dipnb are the named functions below it.
    """
    return (int(seed) * 1_000_003 + sum(int(w) * int(c) for w, c in parts)) % (2 ** 63)


def problem_seed(seed: int, n: int, m: int) -> int:
    """Seed of the problems (A, x̄) of size (n, m): the same for every width k and step γ, so
    that the cells of a sweep over k or γ share their problems (common random numbers)."""
    return derive_seed(seed, (7919, n), (104_729, m))


def draw_seed(seed: int, draw: int) -> int:
    """Seed of the ``draw``-th independent draw (network, noise, operator) of a study repeated over
    draws, e.g. the image study over photographs and seeds: draw 0 of study seed 0 is seed 0, the
    draw of the single-run studies."""
    return derive_seed(seed, (6133, draw))


def network_seed(seed: int, n: int, k: int, start: int = 0, block: int = 0) -> int:
    """Seed of the networks of width ``k`` for runs ``start...``, neuron block ``block``."""
    return derive_seed(seed, (10_007, n), (1009, k), (101, start), (1, block))


# --- the seed formulas of the studies that predate derive_seed ------------------------------
# Each returns exactly the integer its study always used (the committed results and the
# chapters' numbers were drawn with them); they add no int() conversion, so a seed of any
# integer type gives what the expression ``seed + ...`` gave.

def offset_seed(seed: int, offset: int) -> int:
    """The seed of stream ``offset`` of a study seeded by ``seed``: ``seed + offset``.

    A study that draws its network, operator and data from one seed gives each draw its own
    stream, e.g. :func:`dipnb.experiments.theorem_run` (network ``offset_seed(seed, 0)``,
    operator ``offset_seed(seed, 1)``, data ``offset_seed(seed, 2)``).

    Parameters
    ----------
    seed : int
        The seed of the study (or of a cell of it).
    offset : int
        The stream, >= 0.

    Returns
    -------
    int
        ``seed + offset``.
    """
    return seed + offset


def width_index_seed(seed: int, index: int) -> int:
    """The seed of the draws of the ``index``-th width of a sweep over widths: ``seed + 1000 index``.

    :func:`dipnb.experiments.condition_vs_convergence` seeds the networks of its ``index``-th
    width with it, and their operator and data with the streams
    ``offset_seed(width_index_seed(seed, index), 1)`` and ``..., 2)``, so that two widths never
    share a draw (for fewer than 1000 streams per width).

    Returns
    -------
    int
        ``seed + 1000 * index``.
    """
    return seed + 1000 * index


def gamma_sweep_network_seed(base: int, k: int) -> int:
    """The seed of the networks of width ``k`` in :func:`dipnb.experiments.gamma_sweep`: ``base + 1 + 31 k``.

    ``base`` is the seed of the cell's problems (:func:`problem_seed` of the study's seed and
    (n, m)), whose operator and data use the streams ``offset_seed(base, 2)`` and
    ``offset_seed(base, 3)``; the networks of different widths are independent draws.

    Returns
    -------
    int
        ``base + 1 + 31 * k``.
    """
    return base + 1 + 31 * k


def width_network_seed(seed: int, k: int) -> int:
    """The seed of the networks of width ``k`` in :func:`dipnb.experiments.hessian_bounds_vs_width`:
    ``seed + 10 + k`` (its operator and data use the streams 1 and 2 of :func:`offset_seed`).

    Returns
    -------
    int
        ``seed + 10 + k``.
    """
    return seed + 10 + k


def selfcheck_seeds(m: int, k: int) -> tuple[int, int, int]:
    """The seeds of cell (m, k) of the engine's self-check grid (:func:`dipnb.engine.selfcheck.mixed_grid`):
    the operator ``m``, the problem ``k + 10 m`` and the networks ``7 k + m``.

    Returns
    -------
    (int, int, int)
        ``(m, k + 10 * m, 7 * k + m)``.
    """
    return m, k + 10 * m, 7 * k + m
