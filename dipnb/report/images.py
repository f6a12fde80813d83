"""The paper's claims about Fig 3a, Fig 3b and Fig 4 against the image results, as
:class:`~dipnb.report.Claim` rows (the claim is in the paper's words, so the tables show
three columns: paper says, we measure, agree?)."""
from __future__ import annotations

import math

import numpy as np

from ..analysis import psnr
from ..experiments.paper import PAPER
from .claims import AGREES, BEYOND, DISAGREES, NOT_TESTABLE, NOT_TESTED, Claim, ClaimTable

__all__ = ["fig3a_comparison", "fig3b_comparison", "comparison_table", "image_setting_gaps", "MIN_STEPS"]

#: The least step budget at which a claim about where training ends up is tested (issue 11:
#: at gamma = 1/L0 and 3000 steps, omega * tau ~ 33 and the noiseless and noisy runs look alike).
MIN_STEPS = 10_000


def image_setting_gaps(res: dict) -> list[str]:
    """How an image result's step and budget fall short of a test of where training ends up."""
    gaps = []
    steps = int(res["steps"])
    omega = float(res.get("omega", math.nan))
    if steps < MIN_STEPS:
        gaps.append(f"{steps} steps (< {MIN_STEPS}); omega * T = {omega * steps:.3g}")
    rule = str(res.get("step_rule", "1/L0"))
    if rule == "1/L0":
        gaps.append(f"gamma = 1/L0 (omega = {omega:.3g}), far below the step the late phase tolerates")
    return gaps


_CMD = {"fig3a": "python -m dipnb run fig3a --preset paper-long",
        "fig3b": "python -m dipnb run fig3b-fig4 --preset paper-long"}


def _verdict(claim: Claim, agree: bool, gaps=(), which: str = "fig3a") -> Claim:
    """Set the claim's verdict from ``agree``; with setting ``gaps`` it is not tested there."""
    v = AGREES if agree else DISAGREES
    claim.verdict, claim.status = v, "numerical"
    if gaps:
        claim.setting, claim.command = "; ".join(gaps), _CMD[which]
        claim.agree = f"{NOT_TESTED} ({claim.setting}); measured: {v}"
        claim.verdict = NOT_TESTED
        claim.status = "depends on our choices"
    else:
        claim.agree = v
    return claim


def _step_words(res: dict) -> str:
    """The step of an image result and the rule that chose it, in words."""
    g = float(res["gamma"])
    if str(res.get("step_rule", "1/L0")) == "stable":
        return f"γ = {g:.3g} (the largest stable step of a short sweep from 1/L0)"
    return f"γ = {g:.3g} = 1/L0"


def _claim(key, text, measured, agree, **kw) -> Claim:
    return Claim(key, text, text, measured, agree, **kw)


def _yes(ok) -> str:
    return "yes" if ok else "no"


def fig3a_comparison(res: dict) -> list[Claim]:
    """The claims of Section IV about Fig 3a against a :func:`dipnb.experiments.fig3a` result.

    The criteria for "agree" are fixed here, not tuned to the data:

    * σ_min(A) ~ 1e-5: :math:`|\\log_{10}\\sigma_A + 5| \\le 0.5`;
    * "perfectly recovered": PSNR of the noiseless :math:`x_T` >= 40 dB ("partly" if it
      at least beats the blurred observation by 3 dB);
    * "degraded with noise": the noisy PSNR is >= 1 dB below the noiseless one;
    * "very good in observation space": :math:`\\|Ax_T - y\\| \\le \\|\\varepsilon\\|` (the data are
      fitted below the noise level);
    * "noise greatly amplified": the Landweber model's noise error at τ = ∞,
      :math:`\\|A^{-1}\\varepsilon\\|`, exceeds :math:`\\|\\bar x\\|`.
    """
    x_bar, y_bar = np.asarray(res["x_bar"]), np.asarray(res["y_bar"])
    sig = np.asarray(res["noise_stds"])
    i0 = int(np.argmin(sig))
    i1 = int(np.argmax(sig))
    T = int(res["steps"])
    sA = float(res["sigma_A"])
    p_obs = float(psnr(y_bar, x_bar))
    p0 = float(res[f"s{i0}_psnr"][-1])
    p1 = float(res[f"s{i1}_psnr"][-1])
    rows = [_claim("fig3a.sigma_A", "σ_min(A) ~ 1e-5 (Gaussian blur, std 1)",
             f"σ_A = {sA:.2g} ({int(res['kernel'])}×{int(res['kernel'])} kernel, {res['boundary']} boundary); "
             f"7×7 kernel: {float(res['sigma_A_7x7']):.2g}",
             _yes(abs(math.log10(sA) - math.log10(PAPER["fig3a_sigma_A"])) <= 0.5), value=sA)]
    agree = "yes" if p0 >= 40 else ("partly" if p0 >= p_obs + 3 else "no")
    n_pix = x_bar.size
    lw0 = np.asarray(res.get(f"s{i0}_lw_error", [np.nan]), dtype=float)
    p_lw = float(10 * np.log10(255.0 ** 2 * n_pix / lw0[-1] ** 2)) if np.isfinite(lw0[-1]) and lw0[-1] > 0 else math.nan
    p_half = float(res[f"s{i0}_psnr"][T // 2])
    rows.append(_claim("fig3a.perfect", "noiseless: the original image is perfectly recovered",
                 f"PSNR(x_T, x̄) = {p0:.1f} dB after T = {T} steps, still rising ({p_half:.1f} dB at T/2); "
                 f"Landweber at the same ω: {p_lw:.1f} dB (blurred observation: {p_obs:.1f} dB; "
                 f"criterion for 'perfect': ≥ 40 dB)", agree, value=p0,
                 values={"psnr_observation": p_obs, "psnr_landweber": p_lw, "psnr_half": p_half}))
    if sig[i1] > 0:
        rows.append(_claim("fig3a.degraded", f"noise std {sig[i1]:g}: degraded reconstruction in image space",
                     f"PSNR(x_T, x̄) = {p1:.1f} dB, {p0 - p1:.1f} dB below the noiseless run; best along "
                     f"the run {float(np.max(res[f's{i1}_psnr'])):.1f} dB at τ = {int(res[f's{i1}_best_step'])}",
                     _yes(p0 - p1 >= 1), value=p0 - p1, values={"psnr_noisy": p1}))
        y = np.asarray(res[f"s{i1}_y"], dtype=np.float64)
        Ax = np.asarray(res[f"s{i1}_Ax_final"])
        rn, en = float(np.linalg.norm(Ax - y)), float(res[f"s{i1}_noise_norm"])
        rows.append(_claim("fig3a.observation", "… though the reconstruction is very good in observation space",
                     f"‖Ax_T − y‖ = {rn:.1f} vs ‖ε‖ = {en:.1f}; PSNR(Ax_T, y) = {float(psnr(Ax, y)):.1f} dB, "
                     f"PSNR(Ax_T, ȳ) = {float(psnr(Ax, y_bar)):.1f} dB", _yes(rn <= en), value=rn,
                     values={"noise_norm": en}))
        lw = np.asarray(res[f"s{i1}_lw_noise"])
        rows.append(_claim("fig3a.amplified", "σ_min(A) tiny ⇒ the noise is greatly amplified (8); early stopping needed",
                     f"‖ε‖/σ_A = {en / sA:.2g}; noise part of the Landweber error: ‖A⁻¹ε‖ = {lw[-1]:.3g} at τ = ∞ "
                     f"vs ‖x̄‖ = {np.linalg.norm(x_bar):.3g}; the network run is still at "
                     f"‖x_T − x̄‖ = {float(res[f's{i1}_error'][-1]):.3g} at T = {T}",
                     _yes(lw[-1] > np.linalg.norm(x_bar)), value=float(lw[-1])))
    # verdicts: final-state claims need a faithful step and budget (image_setting_gaps)
    gaps = image_setting_gaps(res)
    for c in rows:
        agree = c.agree == "yes"
        if c.key == "fig3a.sigma_A":
            _verdict(c, agree)
            c.status = "depends on our choices"
            c.setting = f"{int(res['kernel'])}x{int(res['kernel'])} kernel, {res['boundary']} boundary"
        elif c.key in ("fig3a.perfect", "fig3a.degraded", "fig3a.observation"):
            _verdict(c, agree, gaps, "fig3a")
        else:
            _verdict(c, agree)
    return rows


def fig3b_comparison(res: dict) -> list[Claim]:
    """The claims of Section IV about Fig 3b and Fig 4 against a :func:`dipnb.experiments.fig3b` result.

    Criteria: "gets better after a few iterations": the best PSNR beats :math:`x_0`'s by
    >= 3 dB; minimum "at τ ≈ 10": :math:`3 \\le \\tau^* \\le 30`; "increases slightly then
    stabilises": final error above the minimum by 0 to 20 % and changing by < 0.1 % over
    the last 10 % of the steps; the dashed bound (8) lies above the error at every τ.
    """
    err, ps = np.asarray(res["error"]), np.asarray(res["psnr"])
    T = len(err) - 1
    step = _step_words(res)
    tb = int(np.argmin(err))
    rise = err[-1] / err[tb] - 1
    tail = err[int(0.9 * T):]
    stable = float(np.ptp(tail) / err[-1]) if tail.size else 0.0
    rows = [_claim("fig3b.better", "the reconstruction gets better after a few iterations, then converges",
             f"PSNR {ps[0]:.1f} dB at τ = 0, best {ps[tb]:.1f} dB at τ = {tb}, {ps[-1]:.1f} dB at T = {T} "
             f"(least squares A⁻¹y: ‖A⁻¹y − x̄‖ = {float(res['ls_error']):.4g}, final ‖x_T − x̄‖ = {err[-1]:.4g})",
             _yes(ps[tb] >= ps[0] + 3), value=float(ps[tb])),
            _claim("fig4.minimum", "Fig 4: the error decreases until τ ≈ 10",
             f"minimum at τ* = {tb} with {step} (ωτ* = {float(res['omega']) * tb:.2g}, "
             f"ω the effective Landweber step); the Landweber model's minimum: τ = {int(np.argmin(res['lw_error']))}",
             _yes(3 <= tb <= 30), value=tb),
            _claim("fig4.rise", "… then increases slightly before stabilising",
             f"final error {100 * rise:.1f} % above the minimum; it varies by {100 * stable:.2g} % over the last "
             f"10 % of the run", _yes(0 < rise <= 0.2 and stable < 1e-3), value=float(rise),
             values={"tail_variation": stable})]
    gl = float(res["gamma"]) * float(res["L0"])
    if "bound8" in res and not np.all(np.isfinite(np.asarray(res["bound8"], dtype=float))):
        rows.append(_claim("fig4.bound8", "Fig 4: the theorem's upper bound (8) (dashed)",
                     f"undefined at this step: γL0 = {gl:.3g} > 1, outside γ ∈ ]0, 1/L], so ν1, R' and (8) "
                     f"have no value (R = {float(res['R']):.3g}); the γ = 1/L0 run tests it",
                     "n/a", values={"R": float(res["R"]), "gamma_L0": gl}))
    elif "bound8" in res:
        b = np.asarray(res["bound8"])
        held = bool(np.all(err <= b))
        rows.append(_claim("fig4.bound8", "Fig 4: the theorem's upper bound (8) (dashed)",
                     f"(8) = {b[0]:.4g} at τ = 0 and {b[-1]:.4g} at τ = {T} lies above the error at every τ: "
                     f"{held}; but condition (4) fails: R' = {float(res['R_prime']):.3g} > R = {float(res['R']):.3g}",
                     "partly" if held else "no", values={"R": float(res["R"]), "R_prime": float(res["R_prime"])}))
    if "bound8" in res:
        Lend = res.get("L_end")
        rows.append(_claim("fig4.step", "γ ∈ ]0, 1/L]",
                     f"{step}, L0 = {float(res['L0']):.3g} (Hessian norm at θ0; γL0 = "
                     f"{float(res['gamma']) * float(res['L0']):.3g})"
                     + (f"; at τ = {T}: {float(Lend):.3g}" if Lend is not None else ""),
                     "yes (with L estimated, not bounded)"))
    dp = int(res["dp_step"])
    if dp >= 0:
        rows.append(_claim("fig4.early_stopping", "early stopping is needed (no rule given)",
                     f"discrepancy principle (τ_dp = {float(res['tau_dp']):g}) stops at τ = {dp}: PSNR {ps[dp]:.1f} dB "
                     f"vs oracle {ps[tb]:.1f} dB at τ = {tb} ({ps[tb] - ps[dp]:.2f} dB lost; running to T loses "
                     f"{ps[tb] - ps[-1]:.2f} dB)", "n/a (beyond the paper)"))
    # verdicts: the position of the minimum only on a step-invariant axis (rule 5)
    gaps = image_setting_gaps(res)
    omega = float(res["omega"])
    for c in rows:
        agree = c.agree == "yes"
        if c.key == "fig4.minimum":
            c.verdict, c.status = NOT_TESTABLE, "depends on our choices"
            c.agree = (f"{NOT_TESTABLE}: the paper gives no γ, so τ* ≈ {PAPER['fig4_best_tau']} has no "
                       f"step-invariant position; ours is ωτ* = {omega * tb:.3g}"
                       + (f" (that our τ* = {tb} falls near the paper's comes from our step rule, not a test)"
                          if 3 <= tb <= 30 else ""))
            c.values.update(omega_tau_star=omega * tb)
        elif c.key in ("fig3b.better", "fig4.rise"):
            _verdict(c, agree, gaps, "fig3b")
        elif c.key == "fig4.bound8" and c.agree == "n/a":
            c.verdict, c.status = NOT_TESTABLE, "depends on our choices"
            c.agree = f"{NOT_TESTABLE} at this step (γL0 = {gl:.3g} > 1): the theorem has no bound there"
        elif c.key == "fig4.bound8":
            _verdict(c, c.agree in ("yes", "partly"))
            c.agree = f"{c.verdict}: the bound lies above the error, but (4) fails, so the theorem does not apply"
        elif c.key == "fig4.step":
            c.verdict, c.status = NOT_TESTABLE, "depends on our choices"
            c.agree = (f"{NOT_TESTABLE}: L0 is a lower estimate of L (a sampled Hessian norm), not a certificate"
                       + ("; the stable-step rule goes beyond 1/L0 on purpose"
                          if str(res.get("step_rule", "1/L0")) == "stable" else ""))
        elif c.key == "fig4.early_stopping":
            c.verdict, c.agree = BEYOND, f"{BEYOND}: no rule is given by the paper"
        else:
            _verdict(c, agree)
    return rows


def comparison_table(claims) -> ClaimTable:
    """The claims as a table of three columns (paper says, we measure, agree?): HTML in the
    book and in Jupyter, Markdown with ``str``."""
    return ClaimTable(claims, ["paper says", "we measure", "agree?"])
