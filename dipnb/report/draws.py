"""The image claims over photographs, draws and image scales: the criteria of the image verdicts
(one home, used by :mod:`dipnb.report.images` on a single run and here on each draw), and the
readings and intervals of a :func:`dipnb.experiments.image_draws` result.

A draw's verdict is the criterion on that draw. The reading over the draws of one image scale is
fixed before looking at the data: it agrees when at least 90 % of the draws agree (the level the
sweeps read a probability at), disagrees when more than 10 % disagree, and is not tested when the
rest are not tested (a budget still improving). Intervals are the median and the range (min–max)
over the draws.
"""
from __future__ import annotations

import math

import numpy as np

from .claims import AGREES, DISAGREES, NOT_TESTED, Reading

__all__ = ["RISING_DB", "limit_verdict", "degraded_verdict", "observation_verdict", "better_verdict",
           "rise_verdict", "DRAW_LEVEL", "draw_verdicts", "draw_readings", "draws_summary", "draws_setting",
           "spread"]

#: The share of draws at which a reading over draws agrees (and 1 - it, the share that makes it disagree).
DRAW_LEVEL = 0.9


#: "Still rising" when the PSNR of the noiseless run gains at least this much (dB) over the last
#: doubling of the step budget: the run has not reached the limit the theorem speaks of.
RISING_DB = 0.1


def limit_verdict(p0: float, gain: float) -> str:
    """"Perfectly recovered" (Fig 3a, noiseless): the theorem's limit is x̄ itself, so a run at or above
    40 dB that is not getting worse agrees; one below 40 dB that still gains :data:`RISING_DB` dB over the
    last doubling of its budget is not tested (budget); one that has stopped rising below 40 dB disagrees."""
    return AGREES if p0 >= 40 and gain > -RISING_DB else (NOT_TESTED if gain >= RISING_DB else DISAGREES)


def degraded_verdict(p0: float, p1: float) -> str:
    """"Degraded with noise" (Fig 3a): the noisy PSNR ``p1`` is at least 1 dB below the noiseless ``p0``
    at the same step."""
    return AGREES if p0 - p1 >= 1 else DISAGREES


def observation_verdict(residual: float, noise_norm: float) -> str:
    """"Very good in observation space" (Fig 3a): :math:`\\|Ax_\\tau - y\\| \\le \\|\\varepsilon\\|` at the last step."""
    return AGREES if residual <= noise_norm else DISAGREES


def better_verdict(p_start: float, p_best: float) -> str:
    """"Gets better after a few iterations" (Fig 3b): the best PSNR beats :math:`x_0`'s by 3 dB or more."""
    return AGREES if p_best >= p_start + 3 else DISAGREES


def rise_verdict(rise: float, tail: float) -> str:
    """"Increases slightly, then stabilises" (Fig 4): the final error is 0 to 20 % above the minimum and
    varies by less than 0.1 % over the last 10 % of the steps."""
    return AGREES if 0 < rise <= 0.2 and tail < 1e-3 else DISAGREES



def draw_verdicts(res: dict) -> dict:
    """Each criterion's verdict on each draw of an :func:`dipnb.experiments.image_draws` result:
    ``{claim key: array of str, shape (S, I, D)}`` (scales, photographs, draws)."""
    r = {key: np.asarray(v, dtype=float) for key, v in res.items() if key[:2] in ("a_", "b_")}
    vec = np.vectorize
    return {"fig3a.perfect": vec(limit_verdict)(r["a_psnr0"], r["a_psnr0"] - r["a_psnr0_half"]),
            "fig3a.degraded": vec(degraded_verdict)(r["a_psnr0"], r["a_psnr1"]),
            "fig3a.observation": vec(observation_verdict)(r["a_residual"], r["a_noise_norm"]),
            "fig3b.better": vec(better_verdict)(r["b_psnr_start"], r["b_psnr_best"]),
            "fig4.rise": vec(rise_verdict)(r["b_rise"], r["b_tail"])}


def _over_draws(v: np.ndarray) -> str:
    n = v.size
    if np.sum(v == AGREES) >= DRAW_LEVEL * n:
        return AGREES
    if np.sum(v == DISAGREES) > (1 - DRAW_LEVEL) * n:
        return DISAGREES
    return NOT_TESTED


_COUNT_WORDS = ((AGREES, "agree"), (DISAGREES, "disagree"), (NOT_TESTED, "not tested (still improving)"))


def _scale_name(scale: float) -> str:
    return f"[0, {scale:g}]"


def draws_setting(res: dict, short: bool = False) -> str:
    """The setting of the draws, in words: how many, the size, width, budget and step rule (``short``:
    how many and the size only, as the tables quote it)."""
    n_img, d, size = len(res["images"]), int(res["draws"]), int(res["size"])
    if short:
        return f"{n_img * d} draws ({n_img} photographs × {d}, {size}×{size})"
    return (f"{n_img * d} draws ({n_img} photographs × {d} draws of θ0 and the noise), {size}×"
            f"{size} pixels, k = {int(res['k'])}, {int(res['steps'])} steps at the "
            f"{'largest stable step' if str(res['step_rule']) == 'stable' else '1/L0 step'}")


def draw_readings(res: dict, key: str) -> tuple[list[Reading], str]:
    """The readings of claim ``key`` over the draws, one per image scale (none is the paper's reading:
    the paper's photograph, draw and size are not ours to repeat), and the counts in words."""
    v = draw_verdicts(res)[key]
    readings, words = [], []
    for i, scale in enumerate(np.asarray(res["scales"], dtype=float)):
        vi = v[i]
        counts = ", ".join(f"{int(np.sum(vi == x))} {w}" for x, w in _COUNT_WORDS if np.any(vi == x))
        name = f"{vi.size} draws on {_scale_name(scale)}"
        readings.append(Reading(name, _over_draws(vi), counts, paper=False))
        words.append(f"{name}: {counts}")
    return readings, "; ".join(words)


def spread(x) -> tuple[float, float, float]:
    """``(median, min, max)`` of the finite values of ``x`` (NaN where there is none)."""
    x = np.asarray(x, dtype=float).ravel()
    x = x[np.isfinite(x)]
    return (math.nan,) * 3 if x.size == 0 else (float(np.median(x)), float(x.min()), float(x.max()))


def draws_summary(res: dict) -> dict:
    """The quantities of the image claims over the draws, per image scale: ``{scale: {name: (median,
    min, max)}}`` for the PSNR (dB) of Fig 3a's noiseless and noisy runs at the last step and their
    difference, Fig 3b's PSNR at τ = 0, best and last, τ* and ωτ*, and the PSNR the discrepancy
    principle loses against the oracle; ``{"per_image": {scale: {name: medians per photograph}}}``."""
    out, per = {}, {}
    for i, scale in enumerate(np.asarray(res["scales"], dtype=float)):
        r = {key: np.asarray(res[key], dtype=float)[i] for key in res if key[:2] in ("a_", "b_")}
        q = {"psnr_noiseless": r["a_psnr0"], "psnr_noisy": r["a_psnr1"], "drop": r["a_psnr0"] - r["a_psnr1"],
             "gain_last_doubling": r["a_psnr0"] - r["a_psnr0_half"],
             "psnr_start": r["b_psnr_start"], "psnr_best": r["b_psnr_best"], "psnr_end": r["b_psnr_end"],
             "tau_star": r["b_tau_star"], "omega_tau_star": r["b_omega"] * r["b_tau_star"],
             "dp_loss": r["b_psnr_best"] - r["b_psnr_dp"], "gamma_L0_fig3b": r["b_gamma"] * r["b_L0"],
             "gamma_L0_fig3a": r["a_gamma"] * r["a_L0"]}
        out[float(scale)] = {name: spread(x) for name, x in q.items()}
        per[float(scale)] = {name: np.nanmedian(x, axis=-1) for name, x in q.items()}
    out["per_image"] = per
    return out
