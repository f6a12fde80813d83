"""Reading measurements: slopes, thresholds, the width at a probability, decay rates, PSNR,
early stopping and projections of paths.

Everything here takes arrays that a study returned (or a saved result holds) and computes
what a chapter or a table reads off them; nothing here trains a network. There is one
function per reading, so a table, a figure and a chapter that quote the same threshold
compute it the same way.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ._validation import check_choice, check_int, check_positive

__all__ = ["loglog_slope", "loglog_fit", "width_at_probability", "condition4_probability",
           "failure_threshold", "convergence_band", "fit_decay", "psnr", "discrepancy_stop",
           "project_paths", "wilson_interval", "bootstrap", "log10_width_at", "log10_threshold_at",
           "log10_onset_at", "failed_run_losses"]


def loglog_fit(x, y, drop_invalid: bool = False) -> tuple[float, float]:
    """Least-squares line through :math:`(\\log x, \\log y)` (natural logs); returns ``(slope, intercept)``.

    The slope is the exponent :math:`\\hat s` of :math:`y \\propto x^{\\hat s}`. ``x`` and ``y`` must have the same
    length. Points where x or y is not finite and positive raise a ``ValueError``, or with
    ``drop_invalid`` are left out; at least two points must remain.
    """
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length >= 2, got {x.size} and {y.size}")
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if not drop_invalid and not ok.all():
        raise ValueError("x and y must be finite and > 0 for a log-log slope "
                         "(or pass drop_invalid=True to leave such points out)")
    if ok.sum() < 2:
        raise ValueError(f"a log-log fit needs at least 2 positive finite points, got {int(ok.sum())}")
    s, c = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return float(s), float(c)


def loglog_slope(x, y, drop_invalid: bool = False) -> float:
    """The slope alone of :func:`loglog_fit` (the exponent :math:`\\hat s` in :math:`y \\propto x^{\\hat s}`)."""
    return loglog_fit(x, y, drop_invalid)[0]


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


def condition4_probability(ratio, nu1=1.0) -> np.ndarray:
    """Fraction of runs (last axis) where (4) holds with constant ``nu1``: mean of
    :math:`\\nu_1 \\zeta < 1` (ζ = R'/R at ν1 = 1)."""
    check_positive("nu1", nu1)
    if nu1 < 1:
        raise ValueError(f"nu1 = (1 + gamma L)/(1 - gamma L/2) is >= 1 for gamma >= 0; got nu1={nu1}")
    r = np.asarray(ratio.cpu() if torch.is_tensor(ratio) else ratio, dtype=float)
    return (nu1 * r < 1).mean(axis=-1)


def failure_threshold(gammas, frac, level: float = 0.5) -> float:
    """The step size at which training starts to fail: the first γ of the (increasing) grid,
    above the first γ where at least ``level`` of the runs converge, at which fewer than
    ``level`` do. ``inf`` if this never happens on the grid, ``nan`` if no γ reaches ``level``.
    (The same definition as ``threshold`` in :func:`dipnb.experiments.gamma_sweep`.)"""
    g, f = np.asarray(gammas, dtype=float), np.asarray(frac, dtype=float)
    if g.ndim != 1 or g.shape != f.shape:
        raise ValueError(f"gammas and frac must be 1-D of the same length, got {g.shape} and {f.shape}")
    ok = np.flatnonzero(f >= level)
    if ok.size == 0:
        return math.nan
    bad = np.flatnonzero((f < level) & (np.arange(g.size) > ok[0]))
    return float(g[bad[0]]) if bad.size else math.inf


def convergence_band(gammas, frac, level: float = 0.5) -> tuple[float, float]:
    """``(lowest γ with frac >= level, failure_threshold)``: the band of step sizes that work.
    Below it, runs are too slow to reach the tolerance within the step budget; above it,
    they stall. ``(nan, nan)`` if no γ of the grid reaches ``level``."""
    g, f = np.asarray(gammas, dtype=float), np.asarray(frac, dtype=float)
    ok = np.flatnonzero(f >= level)
    return (float(g[ok[0]]) if ok.size else math.nan), failure_threshold(g, f, level)


def fit_decay(tau, values, model: str = "geometric") -> np.ndarray:
    """Fit the decay of a loss curve, per run, by least squares in log scale.

    * ``"geometric"``: :math:`\\log f = b - \\rho\\,\\tau`, returns ρ (per-step rate,
      :math:`f \\propto e^{-\\rho\\tau}`): the linear rate of (6) for :math:`\\alpha = 1/2`;
    * ``"power"``: :math:`\\log f = b - q\\log\\tau`, returns q (:math:`f \\propto \\tau^{-q}`):
      the polynomial rate of (6), :math:`q = 1/(2\\alpha - 1)` for the bound.

    ``tau`` has shape (T,), ``values`` (T,) or (T, R), positive; returns shape (R,) (or a scalar).
    """
    check_choice("model", model, ("geometric", "power"))
    tau = np.asarray(tau, dtype=np.float64)
    vals = np.asarray(values.cpu() if torch.is_tensor(values) else values, dtype=np.float64)
    if vals.shape[0] != tau.shape[0] or tau.ndim != 1 or tau.size < 2:
        raise ValueError(f"tau must have shape (T,) with T >= 2 and values (T, ...), got "
                         f"{tau.shape} and {vals.shape}")
    if not (np.all(np.isfinite(vals)) and np.all(vals > 0)):
        raise ValueError("values must be finite and > 0 to be fitted in log scale")
    if model == "power" and np.any(tau <= 0):
        raise ValueError(f"the power model needs tau > 0, got min {tau.min():g}")
    x = tau if model == "geometric" else np.log(tau)
    X = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(X, np.log(vals.reshape(len(x), -1)), rcond=None)
    out = -coef[1]
    return out if vals.ndim > 1 else out[0]


def psnr(x, ref, peak: float = 255.0, axis=None):
    """Peak signal-to-noise ratio :math:`10\\log_{10}(\\text{peak}^2/\\mathrm{MSE})` in dB.

    ``x`` and ``ref`` are arrays or tensors of the same shape; the squared error is
    averaged over ``axis`` (default: all entries, i.e. one image). No clipping: an
    estimate outside [0, 255] pays for it. ``+inf`` when ``x == ref``.
    """
    check_positive("peak", peak)
    x = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float64)
    ref = np.asarray(ref.detach().cpu() if torch.is_tensor(ref) else ref, dtype=np.float64)
    if x.shape != ref.shape:
        raise ValueError(f"x and ref must have the same shape, got {x.shape} and {ref.shape}")
    mse = ((x - ref) ** 2).mean(axis=axis)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(peak ** 2 / mse)


def discrepancy_stop(residual, noise_std: float, m: int, tau_dp: float = 1.0) -> int:
    """Morozov's discrepancy principle: the first τ with
    :math:`\\|Ax_\\tau - y\\| \\le \\tau_{dp}\\sqrt m\\,\\sigma`, or -1 if the residual never gets there.

    :math:`\\sqrt m\\,\\sigma` is the expected norm of the noise
    (:math:`\\mathbb E\\|\\varepsilon\\|^2 = m\\sigma^2`), so the rule stops as soon as the
    data are fitted *to the noise level*: fitting further can only fit noise. It needs the
    noise level σ but not :math:`\\bar x`. ``tau_dp >= 1`` is a safety factor (the theory
    of Landweber iteration asks :math:`\\tau_{dp} > 2` in the worst case; 1 to 1.1 is common).
    """
    check_positive("noise_std", noise_std)
    m = check_int("m", m)
    check_positive("tau_dp", tau_dp)
    residual = np.asarray(residual, dtype=np.float64)
    hit = np.nonzero(residual <= tau_dp * math.sqrt(m) * noise_std)[0]
    return int(hit[0]) if hit.size else -1


def project_paths(reference: torch.Tensor, *others: torch.Tensor, run: int = 0, dims: int = 2):
    """Coordinates of paths :math:`h(t) - h_0` in the top ``dims`` principal directions of ``reference``.

    ``reference`` and each of ``others`` have shape (T, R, k) (e.g. the flow's ``h`` and
    gradient descent's ``path_gd``); run ``run`` is projected. The directions are the
    leading right singular vectors of the reference path minus its start, so a 2-D
    picture of a k-dimensional path loses as little as possible of the flow.
    Returns a list of (T_i, dims) NumPy arrays, reference first, and the fraction of
    the reference path's squared length the directions capture.
    """
    run = check_int("run", run, low=0, high=reference.shape[1] - 1)
    dims = check_int("dims", dims, low=1)
    ref = reference[:, run] - reference[0, run]
    U, S, Vh = torch.linalg.svd(ref, full_matrices=False)
    P = Vh[:dims].T
    captured = float((S[:dims] ** 2).sum() / (S ** 2).sum()) if S.sum() > 0 else 1.0
    out = [(ref @ P).cpu().numpy()]
    for o in others:
        out.append(((o[:, run] - reference[0, run]) @ P).cpu().numpy())
    return out, captured


# --- uncertainty ------------------------------------------------------------------------------

def wilson_interval(successes, trials, z: float = 1.96):
    """Wilson score interval of a binomial proportion: ``(low, high)`` (arrays broadcast).

    For 50 runs the half-width is up to about 0.14 (at a proportion of 1/2); at 0 or 1 the
    interval stays one-sided and non-degenerate (e.g. 50/50 gives ``(0.929, 1)``), which
    is why a probability read off 50 runs is never "exactly 1".
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(n <= 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {k} of {n}")
    check_positive("z", z)
    p = k / n
    den = 1 + z ** 2 / n
    mid = (p + z ** 2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / den
    return np.clip(mid - half, 0.0, 1.0), np.clip(mid + half, 0.0, 1.0)


def bootstrap(statistic, outcomes, reps: int = 1000, seed: int = 0, alpha: float = 0.05):
    """Percentile bootstrap of ``statistic(outcomes)`` over runs: ``(estimate, low, high)``.

    ``outcomes`` is an array whose *last* axis is the runs (e.g. converged, shape (cells, runs)).
    Each replicate resamples the runs with replacement, the same runs for every cell, so that
    cells which share their problems (common random numbers) stay paired. Replicates where the
    statistic is not finite are counted: if more than ``alpha / 2`` of them are, the
    corresponding end of the interval is infinite (the reading may not exist on the grid).
    """
    reps = check_int("reps", reps)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in ]0, 1[, got {alpha}")
    x = np.asarray(outcomes)
    R = x.shape[-1]
    est = float(statistic(x))
    rng = np.random.default_rng(seed)
    vals = np.array([float(statistic(x[..., rng.integers(0, R, R)])) for _ in range(reps)])
    vals = np.where(np.isnan(vals), np.inf, vals)       # "not reached" counts as beyond the grid
    lo, hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")   # no interpolation: inf stays inf
    return est, float(lo), float(hi)


def log10_width_at(ks, converged, level: float):
    """:math:`\\log_{10}` of :func:`width_at_probability` for boolean outcomes ``(K, runs)``:
    the width from which a fraction ``level`` of the runs converge (NaN if never on the grid)."""
    w = width_at_probability(ks, np.asarray(converged, dtype=float).mean(-1), level)
    return math.log10(w) if np.isfinite(w) else math.nan


def log10_threshold_at(gammas, converged, level: float = 0.5):
    """:math:`\\log_{10}` of :func:`failure_threshold` for boolean outcomes ``(G, runs)``
    (``+inf`` when no failure is on the grid, NaN when no γ reaches ``level``)."""
    t = failure_threshold(gammas, np.asarray(converged, dtype=float).mean(-1), level)
    return math.log10(t) if np.isfinite(t) else t


def log10_onset_at(gammas, converged):
    """:math:`\\log_{10}` of the first γ of the (increasing) grid at which fewer runs converge
    than at its smallest γ: the onset of failure ("start to diverge"), for boolean outcomes
    ``(G, runs)``. Read it where every run converges at the smallest γ (there it is the first γ
    where some run fails); ``+inf`` when no run is lost on the grid."""
    c = np.asarray(converged, dtype=float)
    if c.ndim != 2 or c.shape[0] != np.size(gammas):
        raise ValueError(f"converged must have shape (len(gammas), runs) = ({np.size(gammas)}, R), got {c.shape}")
    return log10_threshold_at(gammas, c, float(c[0].mean()))


def failed_run_losses(res: dict) -> dict:
    """How the failed runs of a step-size sweep (:func:`dipnb.experiments.fig2_sweep`,
    :func:`dipnb.experiments.gamma_threshold_sweep`) end, against their initial loss
    :math:`\\mathcal L_y(y_0) = \\frac12\\|y - y_0\\|^2`: a run that ends far above it diverged
    (bounded only by the sigmoid's range), one that ends below it stalled or was too slow.

    Returns a dict: ``failed`` (the number of failed runs that ran), ``above`` and ``above10``
    (the shares of them that end above, and more than 10x above, their initial loss), and per
    cell (rows, γ) ``cell_failed``, ``cell_above`` (NaN where no run failed), ``final_median``
    (median final loss of the failed runs) and ``initial_median`` (per row).
    """
    conv = np.asarray(res["converged"]).astype(bool)                  # (rows, G, R)
    ran = np.asarray(res["ran"]).astype(bool) if "ran" in res else np.ones(conv.shape[:2], bool)
    loss0 = 0.5 * np.asarray(res["residual0"], dtype=float) ** 2       # (rows, R)
    loss = np.asarray(res["loss"], dtype=float)
    failed = ~conv & ran[:, :, None]
    ratio = loss / loss0[:, None, :]
    above = failed & (ratio > 1)
    n_failed = failed.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_above = np.where(n_failed > 0, above.sum(-1) / np.maximum(n_failed, 1), np.nan)
    final_median = np.full(conv.shape[:2], np.nan)
    for i, j in zip(*np.nonzero(n_failed)):
        final_median[i, j] = float(np.median(loss[i, j][failed[i, j]]))
    total = int(failed.sum())
    return {"failed": total,
            "above": float(above.sum() / total) if total else math.nan,
            "above10": float((failed & (ratio > 10)).sum() / total) if total else math.nan,
            "cell_failed": n_failed, "cell_above": cell_above, "final_median": final_median,
            "initial_median": np.median(loss0, axis=1)}
