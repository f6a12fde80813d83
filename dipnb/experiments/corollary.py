"""Chapter 05's studies of Corollary III.2: how often condition (4) holds at initialisation as
the width grows (:func:`condition4_sweep`, registered as ``condition4``), and how the width
needed for (4) and the corollary's bound grow with n, m and κ(A) (:func:`width_scaling`,
registered as ``width-scaling``). The closed form of (4) they evaluate is in
:mod:`dipnb.theory.corollary`."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from .._random import derive_seed, network_seed, offset_seed
from .._validation import check_int, check_positive
from ..analysis import loglog_fit
from ..core.activations import get_activation
from ..core.losses import Loss, get_loss
from ..core.network import draw_initial_state
from ..core.operators import spectrum_operator
from ..core.problems import Problem, gaussian_problems
from ..theory.corollary import (
    corollary_terms,
    corollary_width,
    critical_width,
    init_statistics,
    merge_statistics,
    ratio_from_statistics,
)
from .cells import keyed, run_cells
from .registry import register

__all__ = ["condition4_sweep", "width_scaling", "SCALING_PARAMS", "CONDITION4_PRESETS",
           "SCALING_PRESETS", "problem_digest"]


def problem_digest(problem: Problem) -> str:
    """A short hash of a problem's A, x̄ and noise (keys the cached cells that depend on it)."""
    h = hashlib.sha1()
    for t in (problem.A.matrix(), problem.x_bar, problem.noise):
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def _draw_statistics(runs: int, n: int, k: int, seed: int, activation, max_batch: int, device):
    """Yield ``(start, stop, stats)`` over blocks of runs, each drawn in blocks of neurons
    so that at most ``max_batch`` entries of :math:`V_0` are in memory at once."""
    per = max(1, min(runs, max_batch // (n * k)))
    kc = k if per > 1 or n * k <= max_batch else max(1, max_batch // n)
    for start in range(0, runs, per):
        b = min(per, runs - start)
        stats = None
        for block, k0 in enumerate(range(0, k, kc)):
            h, V = draw_initial_state(b, n, min(kc, k - k0), network_seed(seed, n, k, start, block), device)
            stats = merge_statistics(stats, init_statistics(h, V, activation))
        yield start, start + b, stats


@keyed
def condition4_sweep(problems: Sequence[Problem], ks: Sequence[int], seed: int = 0,
                     activation="sigmoid", loss: Loss | str = "mse", eta: float = 1.0,
                     max_batch: int = 2 ** 22, device="cpu", cache: Path | None = None,
                     progress: bool = False, both_layers: bool = False, desc: str | None = None) -> dict:
    """Condition (4) at initialisation for every problem and every width k, hidden layer trained
    (and, with ``both_layers``, both layers trained, as Corollary III.2 assumes).

    Parameters
    ----------
    problems : sequence of Problem
        All with the same ``n`` and number of runs R (e.g. :func:`gaussian_problems`).
    ks : sequence of int
        Widths (>= n).
    seed : int
        Seeds the networks. Run r at width k uses the *same* network for every problem
        (common random numbers); networks at different widths are independent draws.
        The draws also depend on ``max_batch`` (the chunking of the runs and neurons). Where
        ``runs * n * k <= max_batch`` (2**22 by default),
        width k is a single draw, the one of :func:`dipnb.core.network.draw_networks` at the same
        ``(runs, n, k, seed)``: both see the same networks there.
    max_batch : int
        At most this many entries of :math:`V_0` are drawn at once (2**22 doubles = 32 MB).
    cache : folder, optional
        Save each finished width there and reuse it on a rerun (resumable sweeps).
    both_layers : bool
        Also evaluate (4) with both layers trained, from the same networks: adds
        ``ratio_both``, ``R_prime_both`` (P, K, R) at :math:`\\nu_1 = 1`, ``sigma0_both``,
        ``R_both`` and ``R_W`` (K, R), the radius R of (5) for both layers and for W alone.
    desc : str, optional
        Label of the progress bar and of an interruption's message (default ``"condition4"``;
        Fig 1 says ``"fig1a"``). It does not enter the keys of the cached cells.

    Returns
    -------
    dict with ``ks`` (K,), ``n``, ``ms`` (P,), ``ratio`` (P, K, R) the :math:`\\zeta = R'/R`
    of :func:`dipnb.theory.corollary.condition4_ratio` at :math:`\\nu_1 = 1`, ``residual`` (P, K, R)
    :math:`\\|y_0 - y\\|`, ``sigma0`` (K, R), ``M`` (K, R) :math:`\\max_j\\|v_j\\|`,
    ``sigma_A`` and ``A_norm`` (P, R).
    """
    if len(problems) == 0:
        raise ValueError("problems must hold at least one Problem, got none")
    n, runs = problems[0].A.n, problems[0].runs
    for p in problems:
        if p.A.n != n or p.runs != runs:
            raise ValueError(f"every problem must have n={n} and {runs} runs; got n={p.A.n}, runs={p.runs}")
    ks = [check_int("k", k, low=n) for k in ks]
    max_batch = check_int("max_batch", max_batch)
    check_positive("eta", eta)
    loss = get_loss(loss)
    act = get_activation(activation)
    act.require_A3("condition (4)")

    P = len(problems)

    def cell(k):
        out = {"ratio": np.empty((P, runs)), "residual": np.empty((P, runs)),
               "sigma0": np.empty(runs), "M": np.empty(runs)}
        if both_layers:
            out.update(ratio_both=np.empty((P, runs)), R_prime_both=np.empty((P, runs)),
                       sigma0_both=np.empty(runs), R_both=np.empty(runs), R_W=np.empty(runs))
        for a, b, stats in _draw_statistics(runs, n, k, seed, act, max_batch, device):
            for i, p in enumerate(problems):
                q = ratio_from_statistics(stats, p.subset(list(range(a, b))), act, loss, eta)
                out["ratio"][i, a:b] = q["ratio"].cpu().numpy()
                out["residual"][i, a:b] = q["residual"].cpu().numpy()
                if both_layers:
                    qb = ratio_from_statistics(stats, p.subset(list(range(a, b))), act, loss, eta,
                                               layers="both")
                    out["ratio_both"][i, a:b] = qb["ratio"].cpu().numpy()
                    out["R_prime_both"][i, a:b] = qb["R_prime"].cpu().numpy()
            out["sigma0"][a:b] = q["sigma0"].cpu().numpy()
            out["M"][a:b] = stats["M2"].sqrt().cpu().numpy()
            if both_layers:
                out["sigma0_both"][a:b] = qb["sigma0"].cpu().numpy()
                out["R_both"][a:b] = qb["R"].cpu().numpy()
                out["R_W"][a:b] = q["R"].cpu().numpy()
        return out

    params = dict(seed=seed, activation=str(activation), loss=loss.name, eta=eta, both_layers=bool(both_layers),
                  max_batch=max_batch, n=n, runs=runs, problems=[problem_digest(p) for p in problems])
    cells = run_cells("condition4", ks, cell, cache, progress, params=params, desc=desc)
    extra = {}
    if both_layers:
        extra = {key: np.stack([c[key] for c in cells], axis=1 if key in ("ratio_both", "R_prime_both") else 0)
                 for key in ("ratio_both", "R_prime_both", "sigma0_both", "R_both", "R_W")}
    return {**extra, "ks": np.array(ks), "n": n, "ms": np.array([p.A.m for p in problems]),
            "ratio": np.stack([c["ratio"] for c in cells], axis=1),
            "residual": np.stack([c["residual"] for c in cells], axis=1),
            "sigma0": np.stack([c["sigma0"] for c in cells]), "M": np.stack([c["M"] for c in cells]),
            "sigma_A": np.stack([p.A.sigma_min.expand(runs).cpu().numpy() for p in problems]),
            "A_norm": np.stack([p.A.norm.expand(runs).cpu().numpy() for p in problems]),
            "B": act.B, "C_dphi": act.C_dphi, "C_phi": act.C_phi}


SCALING_PARAMS = ("n", "m", "kappa")


@keyed
def width_scaling(param: str, values: Sequence, base: dict, runs: int = 20, k_ref: int = 10 ** 4,
                  d: int = 16, nu1: float = 1.0, C: float = 1.0, C_prime: float = 1.0, seed: int = 0,
                  operator: Callable | None = None, max_batch: int = 2 ** 22, device="cpu") -> dict:
    """How the width needed for (4), and the corollary's bound, grow with ``n``, ``m`` or ``kappa``.

    For each value of ``param`` (the others taken from ``base``, a dict with keys
    ``n``, ``m``, ``kappa``), draws ``runs`` problems with
    ``operator(m, n, kappa, runs, seed)`` (default :func:`spectrum_operator`:
    :math:`\\sigma_A = 1`, :math:`\\kappa(A) = \\kappa`), :math:`\\bar x \\sim N(0, I_n)`,
    no noise, and networks of width ``k_ref``, and returns

    * ``k_half``: the median over runs of :func:`critical_width` at ``nu1``, i.e. the
      width where (4) holds with probability about 1/2;
    * ``bound``: the median over runs of :func:`dipnb.corollary_width` (constants C, C', d);
    * ``first``, ``second``: the medians of the two terms of :func:`corollary_terms` (C' = 1);
    * ``slopes``: log-log slopes of ``k_half`` and ``bound`` against the values.

    The same seed serves every value (common random numbers: scanning ``kappa`` changes
    only the singular values, scanning ``m`` keeps :math:`\\bar x` and the networks), which
    makes the slopes far less noisy. ``k_ref`` must be well above n: at finite width
    :math:`\\sigma_0^2` sits below :math:`C_{\\phi'}^2` by a relative :math:`O(\\sqrt{n/k})`,
    which inflates ``k_half`` slightly for the largest n.
    """
    if param not in SCALING_PARAMS:
        raise ValueError(f"unknown param {param!r}; accepted: {list(SCALING_PARAMS)}")
    missing = set(SCALING_PARAMS) - set(base)
    if missing:
        raise ValueError(f"base must give n, m and kappa; missing {sorted(missing)}")
    runs, k_ref = check_int("runs", runs), check_int("k_ref", k_ref)
    operator = spectrum_operator if operator is None else operator
    act = get_activation("sigmoid")
    loss = get_loss("mse")
    out = {key: [] for key in ("k_half", "bound", "first", "second", "kappa_A", "sigma_A")}
    for v in values:
        p = dict(base, **{param: v})
        n, m, kappa = check_int("n", p["n"]), check_int("m", p["m"]), float(p["kappa"])
        if k_ref < 10 * n:
            raise ValueError(f"k_ref must be >= 10 n for sigma_min(J_g(0)) to concentrate; got k_ref={k_ref}, n={n}")
        s = derive_seed(seed, (17, 1))     # same seed for every value: common random numbers
        A = operator(m, n, kappa, runs, s)
        pb = Problem.make(A, noise_std=0.0, runs=runs, seed=offset_seed(s, 1))
        ratio = torch.empty(runs, dtype=A.dtype)
        for a, b, stats in _draw_statistics(runs, n, k_ref, offset_seed(s, 2), act, max_batch, device):
            ratio[a:b] = ratio_from_statistics(stats, pb.subset(list(range(a, b))), act, loss, 1.0)["ratio"]
        t = corollary_terms(pb, d, C)
        out["k_half"].append(float(critical_width(ratio, k_ref, nu1).median()))
        out["bound"].append(float(corollary_width(pb, d, C=C, C_prime=C_prime).expand(runs).median()))
        out["first"].append(float(t["first"].median()))
        out["second"].append(float(t["second"].median()))
        out["kappa_A"].append(float(A.condition_number.median()))
        out["sigma_A"].append(float(A.sigma_min.median()))
    res = {key: np.array(val) for key, val in out.items()}
    res.update(param=param, values=np.asarray(values, dtype=float), base=dict(base), runs=runs,
               k_ref=k_ref, d=d, nu1=nu1, C=C, C_prime=C_prime)
    res["slopes"] = ({key: loglog_fit(res["values"], res[key], drop_invalid=True)[0]
                      for key in ("k_half", "bound", "first", "second")}
                     if len(res["values"]) >= 2 else {})
    return res


CONDITION4_PRESETS = {
    "quick": dict(n=5, ms=[2, 3, 5], ks=[int(round(10 ** e)) for e in np.arange(1.0, 5.01, 0.25)], runs=20),
    "paper": dict(n=5, ms=[2, 3, 5], ks=[int(round(10 ** e)) for e in np.arange(1.0, 6.51, 0.25)], runs=50),
}


SCALING_PRESETS = {
    "quick": dict(base=dict(n=16, m=8, kappa=2.0), n=[8, 16, 32, 64], m=[2, 4, 8, 16],
                  kappa=[1.5, 3, 6, 12, 24], runs=30, k_ref=10000),
    "paper": dict(base=dict(n=16, m=8, kappa=2.0), n=[8, 16, 32, 64, 128], m=[2, 4, 8, 16],
                  kappa=[1.5, 3, 6, 12, 24, 48], runs=100, k_ref=50000),
}


@register("condition4", presets=CONDITION4_PRESETS, chapter="05_corollary_iii2",
          doc="probability that condition (4) holds at initialisation against the width k, hidden "
              "layer and both layers, n = 5, m in (2, 3, 5), Gaussian A (chapter 'Corollary III.2')")
def _condition4_experiment(preset, device, seed, cache, progress):
    p = CONDITION4_PRESETS[preset]
    problems = gaussian_problems(p["n"], p["ms"], p["runs"], seed=seed, device=device)
    res = condition4_sweep(problems, p["ks"], seed=seed, device=device, cache=cache, progress=progress,
                           both_layers=True)
    return {k: v for k, v in res.items() if not isinstance(v, dict)}


@register("width-scaling", presets=SCALING_PRESETS, chapter="05_corollary_iii2",
          doc="width needed for (4) and Corollary III.2's bound against n, m and kappa(A) "
              "(chapter 'Corollary III.2')")
def _width_scaling_experiment(preset, device, seed, cache, progress):
    p = SCALING_PRESETS[preset]
    keys = ("values", "k_half", "bound", "first", "second", "kappa_A", "sigma_A")
    # one resumable cell per value of each parameter: every value is drawn from the same seeds
    # (common random numbers), so a value computed alone equals the same value of the whole scan
    grid = [(param, v) for param in ("n", "m", "kappa") for v in p[param]]
    done = run_cells("width-scaling", grid,
                     lambda c: {key: np.asarray(val) for key, val in width_scaling(
                         c[0], [c[1]], p["base"], runs=p["runs"], k_ref=p["k_ref"], seed=seed,
                         device=device).items() if key in keys},
                     cache, progress, params=dict(base=p["base"], runs=p["runs"], k_ref=p["k_ref"], seed=seed))
    out = {}
    for param in ("n", "m", "kappa"):
        mine = [r for (q, _), r in zip(grid, done) if q == param]
        out.update({f"{param}_{key}": np.concatenate([r[key] for r in mine]) for key in keys})
    return out
