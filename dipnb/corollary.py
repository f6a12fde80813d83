"""Corollary III.2 in numbers: how wide must the two-layer network (9) be for (4) to hold?

Training the hidden layer ``W`` only (Fig 1 of the paper), condition (4) has a
closed form. With :math:`\\sigma_0 = \\sigma_{\\min}(J_g(0))`,
:math:`M = \\max_j\\|v_{0,j}\\|` (:math:`= \\sqrt n` for Rademacher :math:`V_0`)
and B the constant of A-3, eq. (5) gives
:math:`R = \\sigma_0\\sqrt k / (2BM\\|u\\|^2)` (see :func:`dipnb.radius_R`) and
:math:`R' = 2\\nu_1\\psi(\\mathcal L_y(y_0))/(\\sigma_A\\sigma_0)`, so that

.. math::
   R' < R \\iff \\sqrt k > \\frac{4\\nu_1 B M \\|u\\|^2\\,\\psi(\\mathcal L_y(y_0))}{\\sigma_A\\sigma_0^2},

with :math:`\\psi(\\mathcal L_y(y_0)) = \\|y_0 - y\\|` for the ½-MSE. Everything
in (4) is proportional to :math:`\\nu_1`: this module computes the ratio
:math:`\\rho = R'/R` at :math:`\\nu_1 = 1` (the gradient-flow limit
:math:`\\gamma \\to 0`), and (4) holds for a step with constant :math:`\\nu_1`
iff :math:`\\nu_1\\rho < 1` (e.g. :math:`\\nu_1 = 2` at :math:`\\gamma = 1/(2L)`,
:math:`\\nu_1 = 4` at :math:`\\gamma = 1/L`). No ``L`` has to be computed.

The statistics of the initialisation that (4) needs are sums over the ``k``
hidden neurons (:func:`init_statistics`), so a sweep draws the network in
chunks of bounded memory and adds them up: :math:`V_0` alone is
``runs * n * k`` doubles (2 GB for 50 runs, n = 5, k = 10^6).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ._checks import DEFAULT_DTYPE, check_int, check_positive
from .descent import Problem
from .losses import Loss, get_loss
from .network import TwoLayerDIP, make_generator
from .operators import MatrixOperator, gaussian_operator
from .theory import corollary_probability, corollary_width

__all__ = ["init_statistics", "condition4_ratio", "condition4_sweep", "condition4_probability",
           "width_at_probability", "critical_width", "gaussian_problems", "spectrum_operator",
           "width_scaling", "fit_slope", "corollary_terms", "constants_for_width",
           "CONDITION4_PRESETS", "SCALING_PRESETS"]


# --- the statistics of the initialisation --------------------------------------------------------

def init_statistics(h: torch.Tensor, V: torch.Tensor, activation) -> dict:
    """Sums over the hidden neurons that condition (4) needs, shape-batched over runs.

    Parameters
    ----------
    h : Tensor (R, k)
        :math:`h_0 = W_0 u` (exactly N(0, I_k) under A-6, A-7).
    V : Tensor (R, n, k)
        :math:`V_0`.
    activation : Activation

    Returns
    -------
    dict with ``k`` (int), ``G`` (R, n, n) :math:`= \\sum_j \\phi'(h_j)^2 v_jv_j^T`,
    ``xs`` (R, n) :math:`= \\sum_j \\phi(h_j) v_j` and ``M2`` (R,)
    :math:`= \\max_j\\|v_j\\|^2`. Two chunks of neurons combine by adding ``k``,
    ``G``, ``xs`` and taking the max of ``M2`` (:func:`_merge`); then
    :math:`J_WJ_W^T = G/k` (for :math:`\\|u\\| = 1`) and :math:`x_0 = xs/\\sqrt k` (eq. 9).
    """
    Vd = V * activation.dphi(h)[:, None, :]
    return {"k": V.shape[-1], "G": Vd @ Vd.transpose(1, 2),
            "xs": torch.einsum("rnk,rk->rn", V, activation.phi(h)),
            "M2": (V * V).sum(1).amax(1)}


def _merge(a: dict | None, b: dict) -> dict:
    if a is None:
        return b
    return {"k": a["k"] + b["k"], "G": a["G"] + b["G"], "xs": a["xs"] + b["xs"],
            "M2": torch.maximum(a["M2"], b["M2"])}


def _ratio_from_stats(stats: dict, problem: Problem, activation, loss: Loss, eta: float,
                      u_norm2=1.0) -> dict:
    """R, R' (at ν1 = 1), σ0 and ρ = R'/R from the statistics of :func:`init_statistics`."""
    k = stats["k"]
    if k < stats["G"].shape[-1]:
        raise ValueError(f"sigma_min(J_g) needs k >= n when only W is trained; got k={k} < n={stats['G'].shape[-1]}")
    u_norm2 = torch.as_tensor(u_norm2, dtype=stats["G"].dtype, device=stats["G"].device)
    gram = u_norm2.reshape(-1, 1, 1) * stats["G"] / k
    sigma0 = torch.linalg.eigvalsh(gram)[:, 0].clamp(min=0).sqrt()
    x0 = stats["xs"] / math.sqrt(k)
    y = problem.y
    y0 = problem.A.A(x0)
    loss0 = loss.value(y0, y)
    psi0 = loss.desingularizer(y, loss0 + eta).psi(loss0)
    M = stats["M2"].sqrt()
    R = sigma0 * math.sqrt(k) / (2 * activation.B * M * u_norm2)
    sA = problem.A.sigma_min.expand_as(sigma0)
    R_prime = 2 * psi0 / (sA * sigma0)
    return {"sigma0": sigma0, "R": R, "R_prime": R_prime, "ratio": R_prime / R,
            "residual": (y0 - y).norm(dim=1), "psi0": psi0}


def condition4_ratio(net: TwoLayerDIP, problem: Problem, loss: Loss | str = "mse",
                     eta: float = 1.0) -> dict:
    """The quantities of condition (4) at :math:`\\theta_0`, hidden layer trained, :math:`\\nu_1 = 1`.

    Returns a dict of tensors of shape (R,): ``sigma0`` (:math:`\\sigma_{\\min}(J_g(0))`),
    ``R`` and ``R_prime`` of (5) (``R_prime`` at :math:`\\nu_1 = 1`), ``ratio``
    :math:`\\rho = R'/R`, ``residual`` :math:`\\|y_0 - y\\|` and ``psi0``
    :math:`\\psi(\\mathcal L_y(y_0))`. Condition (4) holds with constant
    :math:`\\nu_1` iff ``sigma0 > 0`` and :math:`\\nu_1\\rho < 1`. ``eta`` is the η of A-2
    (only the KL loss's ψ depends on it).
    """
    check_positive("eta", eta)
    loss = get_loss(loss)
    net.activation.require_A3("condition (4)")
    if problem.runs != net.runs:
        raise ValueError(f"problem has {problem.runs} runs but the network has {net.runs}; they must match")
    stats = init_statistics(net.h0, net.V0, net.activation)
    return _ratio_from_stats(stats, problem, net.activation, loss, eta, net.u_norm2)


def condition4_probability(ratio, nu1=1.0) -> np.ndarray:
    """Fraction of runs (last axis) where (4) holds with constant ``nu1``: mean of :math:`\\nu_1\\rho < 1`."""
    check_positive("nu1", nu1)
    if nu1 < 1:
        raise ValueError(f"nu1 = (1 + gamma L)/(1 - gamma L/2) is >= 1 for gamma >= 0; got nu1={nu1}")
    r = np.asarray(ratio.cpu() if torch.is_tensor(ratio) else ratio, dtype=float)
    return (nu1 * r < 1).mean(axis=-1)


def width_at_probability(ks, prob, level: float = 0.5) -> float:
    """The width at which the empirical probability ``prob`` (one value per k) first reaches ``level``.

    Linear interpolation in :math:`\\log_{10} k` between the two grid points around
    the first crossing; ``ks[0]`` if it already holds there, NaN if it never does.
    """
    ks, prob = np.asarray(ks, dtype=float), np.asarray(prob, dtype=float)
    if ks.ndim != 1 or ks.shape != prob.shape:
        raise ValueError(f"ks and prob must be 1-D of the same length, got {ks.shape} and {prob.shape}")
    if not 0 < level <= 1:
        raise ValueError(f"level must be in ]0, 1], got {level}")
    hit = np.nonzero(prob >= level)[0]
    if hit.size == 0:
        return math.nan
    i = hit[0]
    if i == 0:
        return float(ks[0])
    l0, l1 = np.log10(ks[i - 1]), np.log10(ks[i])
    t = (level - prob[i - 1]) / (prob[i] - prob[i - 1])
    return float(10 ** (l0 + t * (l1 - l0)))


def critical_width(ratio, k: int, nu1=1.0):
    """The width at which (4) would hold if :math:`\\sigma_0` and :math:`\\|y_0-y\\|` kept their values at ``k``.

    :math:`\\rho \\propto 1/\\sqrt k` at fixed :math:`\\sigma_0, \\|y_0 - y\\|`, so
    :math:`\\nu_1\\rho\\sqrt{k'/k} < 1 \\iff k' > k\\,(\\nu_1\\rho)^2`. Both quantities
    converge as k grows (:math:`\\sigma_0^2 \\to C_{\\phi'}^2`, :math:`x_0 \\to N(0, C_\\phi^2 I_n)`),
    so at a large ``k`` the median of this per-run width estimates the width at which
    (4) holds with probability 1/2 (checked against the sweep in the chapter).
    """
    check_int("k", k)
    check_positive("nu1", nu1)
    return k * (nu1 * ratio) ** 2


# --- problems ----------------------------------------------------------------------------------

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
        s = seed * 1_000_003 + 7919 * n + 104_729 * m
        A = gaussian_operator(m, n, runs=runs, seed=s, device=device)
        out.append(Problem.make(A, noise_std=noise_std, seed=s + 1))
    return out


def spectrum_operator(m: int, n: int, kappa: float = 2.0, runs: int = 1, smin: float = 1.0,
                      seed: int = 0, dtype=DEFAULT_DTYPE, device="cpu") -> MatrixOperator:
    """An m×n operator with prescribed singular values, for scaling studies.

    :math:`A = U_{:, :r}\\,\\mathrm{diag}(s)\\,V_{:, :r}^T` with U, V Haar-random orthogonal
    (m×m and n×n), :math:`r = \\min(m, n)` and
    :math:`s = \\mathrm{linspace}(s_{\\min}\\kappa, s_{\\min}, r)`: so
    :math:`\\sigma_A = s_{\\min}` and :math:`\\kappa(A) = \\kappa` whatever m and n.
    For ``m == n`` this is the law of :func:`dipnb.well_conditioned_operator`
    (with ``smax = kappa * smin``).
    """
    m, n, runs = check_int("m", m), check_int("n", n), check_int("runs", runs)
    check_positive("smin", smin)
    check_positive("kappa", kappa)
    if kappa < 1:
        raise ValueError(f"kappa = ||A|| / sigma_A must be >= 1, got {kappa}")
    r = min(m, n)
    g = make_generator(seed, device)

    def haar(size):
        # QR in NumPy: torch's batched CPU QR can be 100x slower when the cores are shared
        Z = torch.randn(runs, size, size, dtype=dtype, device=device, generator=g).cpu().numpy()
        Q, Rr = np.linalg.qr(Z)
        Q = Q * np.sign(np.diagonal(Rr, axis1=1, axis2=2))[:, None, :]
        return torch.from_numpy(Q).to(device=device, dtype=dtype)

    U, Vh = haar(m)[:, :, :r], haar(n)[:, :, :r]
    if r == 1 and kappa != 1:
        raise ValueError(f"an operator of rank min(m, n) = 1 has kappa = 1; got kappa={kappa}")
    s = torch.linspace(smin * kappa, smin, r, dtype=dtype, device=device)
    M = (U * s[None, None, :]) @ Vh.transpose(1, 2)
    return MatrixOperator(M, singular_values=s.expand(runs, r).clone())


# --- the sweep over widths ------------------------------------------------------------------------

def _network_seed(seed: int, n: int, k: int, start: int, block: int) -> int:
    """Seed of the networks of runs ``start...`` at width ``k``, neuron block ``block``."""
    return (seed * 1_000_003 + n * 10_007 + k * 1009 + start * 101 + block) % (2 ** 63)


def _draw_statistics(runs: int, n: int, k: int, seed: int, activation, max_batch: int, device):
    """Yield ``(start, stop, stats)`` over blocks of runs, each drawn in blocks of neurons
    so that at most ``max_batch`` entries of :math:`V_0` are in memory at once."""
    per = max(1, min(runs, max_batch // (n * k)))
    kc = k if per > 1 or n * k <= max_batch else max(1, max_batch // n)
    for start in range(0, runs, per):
        b = min(per, runs - start)
        stats = None
        for block, k0 in enumerate(range(0, k, kc)):
            h, V = _draw_chunk(b, n, min(kc, k - k0), _network_seed(seed, n, k, start, block), device)
            stats = _merge(stats, init_statistics(h, V, activation))
        yield start, start + b, stats


def _draw_chunk(runs: int, n: int, k: int, seed: int, device="cpu"):
    """``h0`` (runs, k) iid N(0, 1) and Rademacher ``V0`` (runs, n, k), in float64.

    This is the law of :meth:`dipnb.TwoLayerDIP.init` (``v_init="rademacher"``) for
    :math:`h_0 = W_0u`, whatever d (A-6, A-7), drawn without materialising ``W0`` and
    with the ±1 entries generated directly as floats (about 3x cheaper)."""
    g = make_generator(seed, device)
    h = torch.randn(runs, k, dtype=DEFAULT_DTYPE, device=device, generator=g)
    V = torch.randint(0, 2, (runs, n, k), dtype=DEFAULT_DTYPE, device=device, generator=g).mul_(2).sub_(1)
    return h, V


def condition4_sweep(problems: Sequence[Problem], ks: Sequence[int], seed: int = 0,
                     activation="sigmoid", loss: Loss | str = "mse", eta: float = 1.0,
                     max_batch: int = 2 ** 22, device="cpu", cache: Path | None = None,
                     progress: bool = False) -> dict:
    """Condition (4) at initialisation for every problem and every width k, hidden layer trained.

    Parameters
    ----------
    problems : sequence of Problem
        All with the same ``n`` and number of runs R (e.g. :func:`gaussian_problems`).
    ks : sequence of int
        Widths (>= n).
    seed : int
        Seeds the networks. Run r at width k uses the *same* network for every problem
        (common random numbers); networks at different widths are independent draws.
        The draws also depend on ``max_batch`` (the chunking of the runs and neurons).
    max_batch : int
        At most this many entries of :math:`V_0` are drawn at once (2**22 doubles = 32 MB).
    cache : folder, optional
        Save each finished width there and reuse it on a rerun (resumable sweeps).

    Returns
    -------
    dict with ``ks`` (K,), ``n``, ``ms`` (P,), ``ratio`` (P, K, R) the :math:`\\rho = R'/R`
    of :func:`condition4_ratio` at :math:`\\nu_1 = 1`, ``residual`` (P, K, R)
    :math:`\\|y_0 - y\\|`, ``sigma0`` (K, R), ``M`` (K, R) :math:`\\max_j\\|v_j\\|`,
    ``sigma_A`` and ``A_norm`` (P, R).
    """
    from .experiments import _run_cells

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
    act = TwoLayerDIP.init(1, 1, 1, d=1, activation=activation).activation
    act.require_A3("condition (4)")

    def cell(k):
        out = {"ratio": np.empty((len(problems), runs)), "residual": np.empty((len(problems), runs)),
               "sigma0": np.empty(runs), "M": np.empty(runs)}
        for a, b, stats in _draw_statistics(runs, n, k, seed, act, max_batch, device):
            for i, p in enumerate(problems):
                q = _ratio_from_stats(stats, p.subset(list(range(a, b))), act, loss, eta)
                out["ratio"][i, a:b] = q["ratio"].cpu().numpy()
                out["residual"][i, a:b] = q["residual"].cpu().numpy()
            out["sigma0"][a:b] = q["sigma0"].cpu().numpy()
            out["M"][a:b] = stats["M2"].sqrt().cpu().numpy()
        return out

    cells = _run_cells("condition4", ks, cell, cache, progress)
    return {"ks": np.array(ks), "n": n, "ms": np.array([p.A.m for p in problems]),
            "ratio": np.stack([c["ratio"] for c in cells], axis=1),
            "residual": np.stack([c["residual"] for c in cells], axis=1),
            "sigma0": np.stack([c["sigma0"] for c in cells]), "M": np.stack([c["M"] for c in cells]),
            "sigma_A": np.stack([p.A.sigma_min.expand(runs).cpu().numpy() for p in problems]),
            "A_norm": np.stack([p.A.norm.expand(runs).cpu().numpy() for p in problems]),
            "B": act.B, "C_dphi": act.C_dphi, "C_phi": act.C_phi}


# --- the corollary's bound ----------------------------------------------------------------------

def corollary_terms(problem: Problem, d: int, C: float = 1.0) -> dict:
    """The two terms of the radius in Corollary III.2, shape (R,) each:

    :math:`a = C\\|A\\|\\sqrt{n\\log d}` and :math:`b = \\sqrt m(\\|A\\bar x\\|_\\infty + \\|\\varepsilon\\|_\\infty)`,
    so that for the ½-MSE :func:`dipnb.corollary_width` is :math:`C'\\sigma_A^{-4}n(a+b)^4`.
    Expanding, :math:`(a+b)^4` lies between :math:`a^4 + b^4` and :math:`8(a^4 + b^4)`,
    i.e. the bound is of the order of
    :math:`C'C^4\\kappa(A)^4 n^3\\log^2 d + C'\\sigma_A^{-4} n m^2(\\|A\\bar x\\|_\\infty + \\|\\varepsilon\\|_\\infty)^4`:
    ``first`` and ``second`` are these two terms (with C' = 1).
    """
    d = check_int("d", d, low=2)
    check_positive("C", C)
    A, n, m = problem.A, problem.A.n, problem.A.m
    a = C * A.norm * math.sqrt(n * math.log(d))
    b = math.sqrt(m) * (problem.y_bar.abs().amax(1) + problem.noise.abs().amax(1))
    sA = A.sigma_min
    a, b = a.expand(problem.runs), b.expand(problem.runs)
    return {"a": a, "b": b, "first": sA ** -4 * n * a ** 4, "second": sA ** -4 * n * b ** 4}


def constants_for_width(problem: Problem, d: int, target: float) -> dict:
    """What the unnamed constants of Corollary III.2 must be for the bound to equal ``target`` (½-MSE).

    Returns tensors (R,): ``C_prime`` with C = 1 (the bound is linear in C'), and ``C``
    with C' = 1, solving :math:`\\sigma_A^{-4}n(Ca_1 + b)^4 = target` with
    :math:`a_1 = \\|A\\|\\sqrt{n\\log d}`; ``C`` is NaN where even C → 0 gives a
    bound above ``target`` (then no positive C works).
    """
    check_positive("target", target)
    t = corollary_terms(problem, d, C=1.0)
    k1 = corollary_width(problem, d, C=1.0, C_prime=1.0).expand(problem.runs)
    root = (target * problem.A.sigma_min ** 4 / problem.A.n) ** 0.25
    C = (root - t["b"]) / t["a"]
    return {"C_prime": target / k1, "C": torch.where(C > 0, C, torch.full_like(C, math.nan))}


# --- how the width scales --------------------------------------------------------------------------

def fit_slope(x, y) -> tuple[float, float]:
    """Least-squares fit of :math:`\\log y = s\\log x + c`; returns ``(s, c)`` (natural logs).

    Points where x or y is not finite and positive are ignored; at least two must remain.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        raise ValueError(f"fit_slope needs at least 2 positive finite points, got {int(ok.sum())}")
    s, c = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return float(s), float(c)


SCALING_PARAMS = ("n", "m", "kappa")


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
    act = TwoLayerDIP.init(1, 1, 1, d=1).activation
    loss = get_loss("mse")
    out = {key: [] for key in ("k_half", "bound", "first", "second", "kappa_A", "sigma_A")}
    for v in values:
        p = dict(base, **{param: v})
        n, m, kappa = check_int("n", p["n"]), check_int("m", p["m"]), float(p["kappa"])
        if k_ref < 10 * n:
            raise ValueError(f"k_ref must be >= 10 n for sigma_min(J_g(0)) to concentrate; got k_ref={k_ref}, n={n}")
        s = seed * 1_000_003 + 17     # same seed for every value: common random numbers
        A = operator(m, n, kappa, runs, s)
        pb = Problem.make(A, noise_std=0.0, runs=runs, seed=s + 1)
        ratio = torch.empty(runs, dtype=A.dtype)
        for a, b, stats in _draw_statistics(runs, n, k_ref, s + 2, act, max_batch, device):
            ratio[a:b] = _ratio_from_stats(stats, pb.subset(list(range(a, b))), act, loss, 1.0)["ratio"]
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
    res["slopes"] = ({key: fit_slope(res["values"], res[key])[0] for key in ("k_half", "bound", "first", "second")}
                     if len(res["values"]) >= 2 else {})
    return res


# --- presets --------------------------------------------------------------------------------------

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
