"""The book's findings on the paper, in one table: every claim our numbers do not simply confirm
(a disagreement, a claim not tested at the paper's setting, a claim that cannot be tested) and
every erratum, each with its status (proved, numerical, depends on our choices), the section
that shows it, and the command that would settle it at the paper's full size.

The rows are the :class:`~dipnb.report.Claim` rows of the comparison tables, recomputed from
the saved results, plus :data:`THEORY`: findings about the statements themselves.
"""
from __future__ import annotations

from ..experiments.results import best_result
from . import images, sweeps
from .claims import AGREES, BEYOND, ERRATUM, NOT_TESTED, WITHIN, Claim, Table

__all__ = ["THEORY", "SECTIONS", "saved_claims", "findings", "findings_table"]

#: Where each family of claims is shown: (page, anchor, title).
SECTIONS = {
    "fig1": ("06_fig1_width", "the-paper-against-our-numbers", "Fig 1"),
    "fig2": ("07_fig2_stepsize", "the-paper-against-our-numbers", "Fig 2"),
    "threshold": ("07_fig2_stepsize", "the-paper-against-our-numbers", "Fig 2: the step-size threshold"),
    "fig3a": ("08_fig3_images", "paper-against-measurement", "Fig 3a"),
    "fig3b": ("09_fig3b_fig4", "paper-against-measurement", "Fig 3b"),
    "fig4": ("09_fig3b_fig4", "paper-against-measurement", "Fig 4"),
    "erratum.sigma_min": ("04_theorem_iii1", "where-the-printed-statement-needs-care", "Theorem III.1"),
    "erratum.gamma": ("04_theorem_iii1", "where-the-printed-statement-needs-care", "Theorem III.1"),
    "erratum.kl": ("02_kl_inequality", "the-inequality", "Definition II.2"),
    "theory.scaling": ("05_corollary_iii2", "", "Corollary III.2"),
    "threshold.eq10": ("03_gd_vs_flow", "why-no-bound-of-order-n-k-can-hold-a-proof", "estimate (10)"),
    "theory.a5": ("04_theorem_iii1", "a-5-for-this-architecture-injectivity-nothing-weaker", "A-5"),
}

#: Findings about the statements themselves (shown in the chapters named by :data:`SECTIONS`).
THEORY = [
    Claim("erratum.sigma_min", "σ_min is the smallest non-zero singular value (Section II-A)",
          "σ_min(𝒥_g(0)) > 0 in (4)", "read literally, σ_min(𝒥_g(0)) > 0 always holds (𝒥_g of rank 1 has a "
          "positive smallest non-zero singular value); the book uses the smallest singular value of 𝒥_g as a "
          "map onto ℝⁿ", ERRATUM, verdict=ERRATUM, status="proved"),
    Claim("erratum.gamma", "the step size: γ ∈ ]0, 1/L] (Theorem III.1) or ]0, 1/L[ (Section III-C)",
          "both are printed", "the proof's descent property holds on the closed interval; the book uses "
          "γ ≤ 1/L", ERRATUM, verdict=ERRATUM, status="proved"),
    Claim("erratum.kl", "ψ ∈ C⁰([0, r0[) ∩ C¹(]0, r0]) (Definition II.2)", "as printed",
          "the half-closed ]0, r0] does not match [0, r0[; ]0, r0[ is meant", ERRATUM, verdict=ERRATUM,
          status="proved"),
    Claim("theory.scaling", "for the MSE, Corollary III.2 gives k ≳ κ(A) n² m", "k ≳ κ(A) n² m",
          "substituting ψ(s) = √(2s) into the stated bound gives k ≳ κ(A)⁴ n³ log² d + σ_A⁻⁴ n m² "
          "(‖Ax̄‖∞ + ‖ε‖∞)⁴, not the printed scaling; the chapter fits both against n, m and κ(A)",
          "disagrees", verdict="disagrees", status="proved",
          command="python -m dipnb run width-scaling --preset paper"),
    Claim("theory.a5", "a more expressive network (larger Σ') may hinder the restricted injectivity A-5",
          "a trade-off between dist(x̄, Σ') and A-5", "for the network (9) with 𝒥_g onto ℝⁿ (the theorem's "
          "regime, σ_min(𝒥_g(0)) > 0), Σ' has interior there and A-5 is equivalent to ker A = {0} whatever "
          "the expressivity: the trade-off does not arise for this architecture", "disagrees",
          verdict="disagrees", status="proved"),
]


def _link(key: str) -> str:
    fam = key if key in SECTIONS else key.split(".")[0]
    page, anchor, title = SECTIONS.get(fam, ("", "", ""))
    if not page:
        return ""
    href = f"{page}.html" + (f"#{anchor}" if anchor else "")
    return f'<a href="{href}">{title}</a>'


def saved_claims(out=None, reps: int = 300) -> tuple[list[Claim], list[str]]:
    """Every claim row of the saved results in ``out`` (default ``results/``): the sweeps at
    their largest preset, the images at the stated step (paper-long) where it exists, else at
    1/L0; with the names of the results not found."""
    claims, missing = [], []
    for name, fn in (("fig1", sweeps.fig1_table), ("fig2", sweeps.fig2_table),
                     ("gamma-threshold", sweeps.gamma_threshold_table)):
        saved = best_result(name, out)
        if saved is None:
            missing.append(name)
            continue
        claims += fn(saved[1], reps=reps)
    for name, fn in (("fig3a", images.fig3a_comparison), ("fig3b-fig4", images.fig3b_comparison)):
        saved = best_result(name, out, presets=("paper-long", "paper"))
        if saved is None:
            missing.append(f"{name}-paper-long")
            continue
        claims += fn(saved[1])
    return claims, missing


def findings() -> tuple[list[Claim], list[str]]:
    """Every claim of the saved results that is not a plain agreement, and :data:`THEORY`;
    with the names of the results not found (their claims are left out)."""
    claims, missing = saved_claims()
    keep = [c for c in claims if c.verdict not in (AGREES, WITHIN, BEYOND)]
    return keep + THEORY, missing


def findings_table(claims) -> Table:
    """The findings as a table (HTML in the book): finding, verdict, status, measured, where, settle."""
    rows = []
    for c in claims:
        verdict = c.verdict or c.agree
        if c.verdict == NOT_TESTED and c.setting:
            verdict = f"{NOT_TESTED}: {c.setting}"
        rows.append({"finding": c.claim, "verdict": verdict, "status": c.status or "numerical",
                     "we measure": c.measured, "where": _link(c.key), "settle at full size": c.command or "—"})
    return Table(rows, ["finding", "verdict", "status", "we measure", "where", "settle at full size"],
                 raw=("where",))
