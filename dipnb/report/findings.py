"""The book's findings on the paper: every claim our numbers do not simply confirm, every proved
problem of the statements, and every erratum, each with its status (proved, numerical,
depends on our choices), the section that shows it and the command that would settle it at the
paper's full size; and the audit of where each experiment sits against the theorem's
hypotheses (:mod:`dipnb.report.audit`).

The rows are the :class:`~dipnb.report.Claim` rows of the comparison tables, recomputed from
the saved results at the same bootstrap repetitions as the chapters (:data:`REPS`), plus
:data:`THEORY`: findings about the statements themselves. A disagreement is listed as such only
when it is the verdict at the paper's own reading and survives every reasonable reading of our
choices (:attr:`~dipnb.report.claims.Claim.robust`); one that changes between readings is listed as depending on our
choices, with each reading's verdict.
"""
from __future__ import annotations

import html

from ..experiments.results import best_result, load_result
from ..experiments.sensitivity import variants
from . import audit as _audit
from . import images, sweeps
from .claims import (
    AGREES,
    BEYOND,
    DISAGREES,
    ERRATUM,
    NOT_TESTABLE,
    NOT_TESTED,
    WITHIN,
    Claim,
    Table,
    evidence_html,
    fixed_table_html,
    verdict_html,
)

__all__ = ["THEORY", "SECTIONS", "REPS", "saved_claims", "findings", "sections", "findings_table", "FindingsTable",
           "saved_audit", "saved_sensitivity", "SECTION_TITLES", "audit_table"]

#: Bootstrap repetitions of every interval on the findings page and in the chapters that quote
#: the same claims (one number for one quantity).
REPS = 1000

#: Where each family of claims is shown: (page, anchor, title).
SECTIONS = {
    "fig1": ("06_fig1_width", "the-paper-against-our-numbers", "Fig 1"),
    "fig1.layers": ("05_corollary_iii2", "sec-05-layers", "Corollary III.2"),
    "fig2": ("07_fig2_stepsize", "the-paper-against-our-numbers", "Fig 2"),
    "threshold": ("07_fig2_stepsize", "the-paper-against-our-numbers", "Fig 2: the step-size threshold"),
    "fig3a": ("08_fig3_images", "paper-against-measurement", "Fig 3a"),
    "fig3b": ("09_fig3b_fig4", "paper-against-measurement", "Fig 3b"),
    "fig4": ("09_fig3b_fig4", "paper-against-measurement", "Fig 4"),
    "fig3a.scale": ("09c_robustness", "sec-09c-scale", "How robust the verdicts are"),
    "erratum.sigma_min": ("04_theorem_iii1", "where-the-printed-statement-needs-care", "Theorem III.1"),
    "erratum.gamma": ("04_theorem_iii1", "where-the-printed-statement-needs-care", "Theorem III.1"),
    "erratum.kl": ("02_kl_inequality", "the-inequality", "Definition II.2"),
    "theory.scaling": ("05_corollary_iii2", "sec-05-scaling", "Corollary III.2"),
    "theory.y_range": ("04_theorem_iii1", "where-the-printed-statement-needs-care", "Theorem III.1 (i)"),
    "theory.kl_loss": ("02b_kl_loss", "sec-02-cond4", "A-1, A-2"),
    "theory.certified_L": ("04_theorem_iii1", "ch04-which-l", "Theorem III.1: L"),
    "threshold.eq10": ("03_gd_vs_flow", "why-no-bound-of-order-n-k-can-hold-a-proof", "estimate (10)"),
    "theory.a5": ("04_theorem_iii1", "ch04-a5", "A-5"),
    "theory.constants": ("04b_proof", "sec-04b-flow", "Theorem III.1: ν₁, ν₂"),
}

#: Findings about the statements themselves (shown in the chapters named by :data:`SECTIONS`).
THEORY = [
    Claim("theory.y_range", "Theorem III.1 (i): the loss converges to 0 at the rate (6)",
          "under A-1 to A-4, (4) and γ ≤ 1/L", "false as printed when y ∉ Im A (m > n with noise): the loss "
          "cannot go below ½ dist(y, Im A)² > 0, and chapter 04 shows runs where (4) and γ ≤ 1/L (certified) "
          "hold and (6) fails; the proof's ‖Aᵀ∇ℒ‖ ≥ σ_A‖∇ℒ‖ needs y ∈ Im A (automatic without noise or "
          "for m ≤ n, as in the paper's figures)", DISAGREES, verdict=DISAGREES, status="proved"),
    Claim("theory.kl_loss", "A-2 'is met by many classical loss functions (MSE, Kullback–Leibler …)'",
          "the Kullback–Leibler loss among the losses the theorem covers",
          "the Kullback–Leibler loss violates A-1 (it is +∞ where some v_i ≤ 0, and its gradient is not Lipschitz on "
          "bounded sets of ℝᵐ) and is finite at initialisation for only a minority of random draws "
          "(chapter 02b); it satisfies a KL inequality only on sublevel sets", DISAGREES, verdict=DISAGREES,
          status="proved"),
    Claim("fig1.layers", "Fig 1: 'our theoretical bound in Corollary III.2 is validated'",
          "Fig 1 trains the hidden layer only", "Corollary III.2 is stated for both layers trained; Fig 1 trains "
          "W alone, for which (4) has another form (width ∝ R'² with W alone against R'⁴ with both: chapter "
          "05): the figure compares the corollary with a setting outside its hypotheses",
          DISAGREES, verdict=DISAGREES, status="proved"),
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
          DISAGREES, verdict=DISAGREES, status="proved",
          command="python -m dipnb run width-scaling --preset paper"),
    Claim("theory.certified_L", "Theorem III.1: 'there exists a constant L > 0' (not computed in the paper)",
          "L exists by A-4", "the book's certified L bounds the Hessian on the segments between consecutive "
          "iterates; that it certifies γ ≤ 1/L for the theorem rests on the proof using the Hessian only "
          "there, as the standard descent-lemma argument does. The proof in the paper's reference [17] was "
          "not available to check: an assumption, stated where the certified L is used",
          BEYOND, verdict=BEYOND, status="depends on our choices"),
    Claim("theory.constants", "ν₁ = (1+γL)/(1−γL/2) ∈ ]1, 4] in (5), (7) and ν₂ = (1+γL)²/(γ−γ²L/2) in (6); "
          "'ν₂ is minimized when γ = 1/(2L)'", "the constants of Theorem III.1 for gradient descent",
          "our proof (chapter 04b) applies the KL inequality at θ_τ and gives 1/(1−γL/2) ∈ ]1, 2] and "
          "1/(γ−γ²L/2): smaller by (1+γL) and (1+γL)², so (4) holds whenever the paper's does, with R' "
          "smaller by 1+γL. The paper's ν₁, ν₂ are the constants b/a and b²/a of the Attouch–Bolte–Svaiter "
          "route (KL inequality at θ_{τ+1}). With ours the certified rate per step is best at γ = 1/L: the "
          "trade-off at γ = 1/(2L) comes from the route, not from gradient descent. Each step of the proof "
          "is checked on every iterate of a run",
          BEYOND, verdict=BEYOND, status="proved"),
    Claim("theory.a5", "a more expressive network (larger Σ') 'may hinder' the restricted injectivity A-5",
          "a trade-off between dist(x̄, Σ') and A-5", "for the network (9) with the sigmoid, 𝒥_g is onto ℝⁿ at "
          "every θ (W alone: φ' > 0 and rank V0 = n; both layers: 𝒥_V𝒥_Vᵀ = ‖φ(h)‖²/k · I), so the tangent "
          "cone of Σ' contains a closed half-space at every point, x̄_Σ' on its boundary included: A-5 holds "
          "iff ker A = {0}, whatever the expressivity, and λ_min(A; T) = σ_A; recovery (ii) needs m ≥ n. The "
          "paper's hedged 'may hinder' is general; for this architecture the trade-off does not arise",
          BEYOND, verdict=BEYOND, status="proved"),
]


def _link(key: str) -> str:
    fam = key if key in SECTIONS else key.split(".")[0]
    page, anchor, title = SECTIONS.get(fam, ("", "", ""))
    if not page:
        return ""
    href = f"{page}.html" + (f"#{anchor}" if anchor else "")
    return f'<a href="{href}">{title}</a>'


def saved_audit(out=None):
    """The saved audit of the theorem's hypotheses (:func:`dipnb.experiments.audit_hypotheses`)
    at its largest preset, or None."""
    saved = best_result("audit", out, presets=("paper", "paper-cpu"))
    return None if saved is None else saved[1]


def _saved_images(out):
    """The image results the findings read: Fig 3a at the stated step (headline operator) with the
    3×3 sensitivity run, and Fig 3b/4 at the stated step with the γ = 1/L0 run for bound (8)."""
    a = best_result("fig3a", out, presets=("paper-long", "paper"))
    a3 = load_result("fig3a-paper-long-3x3", out)
    b = best_result("fig3b-fig4", out, presets=("paper-long", "paper"))
    b1 = load_result("fig3b-fig4-paper", out)
    return (None if a is None else a[1], None if a3 is None else a3[0], None if b is None else b[1],
            None if b1 is None else b1[0])


def saved_sensitivity(out=None) -> dict:
    """The saved sensitivity runs of our free choices at their largest preset, by the experiment
    they vary: ``{"fig1": {label: result}, "fig2": ..., "images": draws result}`` (what is missing is
    left out): Fig 1b at other γ (``fig1-step``), Fig 2 at m = n (``fig2-m``), and the image claims
    over photographs, draws and scales (``image-draws``)."""
    found = {}
    for key, name in (("fig1", "fig1-step"), ("fig2", "fig2-m")):
        saved = best_result(name, out, presets=("paper", "paper-cpu"))
        if saved is not None:
            found[key] = variants(saved[1])
    saved = best_result("image-draws", out, presets=("paper", "paper-cpu"))
    if saved is not None:
        found["images"] = saved[1]
    return found


def saved_claims(out=None, reps: int = REPS) -> tuple[list[Claim], list[str]]:
    """Every claim row of the saved results in ``out`` (default ``results/``): the sweeps at
    their largest preset, the images at the stated step (paper-long) where it exists, else at
    1/L0, with their sensitivity runs (:func:`saved_sensitivity`) as readings; with the names of the
    results not found."""
    claims, missing = [], []
    sens = saved_sensitivity(out)
    for name, fn in (("fig1", sweeps.fig1_table), ("fig2", sweeps.fig2_table),
                     ("gamma-threshold", sweeps.gamma_threshold_table)):
        saved = best_result(name, out)
        if saved is None:
            missing.append(name)
            continue
        claims += fn(saved[1], reps=reps, **({"sensitivity": sens[name]} if name in sens else {}))
    audit = saved_audit(out)
    a, a3, b, b1 = _saved_images(out)
    if a is None:
        missing.append("fig3a-paper-long")
    else:
        kernels = {"the 3×3 blur": a3} if a3 is not None and int(a["kernel"]) != 3 else None
        claims += images.fig3a_comparison(a, sensitivity=kernels, audit=audit, draws=sens.get("images"))
    if b is None:
        missing.append("fig3b-fig4-paper-long")
    else:
        claims += images.fig3b_comparison(b, bound_run=b1, audit=audit, draws=sens.get("images"))
    if audit is None:
        missing.append("audit-paper-cpu")
    return claims, missing


#: The sections of the findings page, in order: key -> title.
SECTION_TITLES = {
    "disagrees": "Disagreements that survive every reasonable reading",
    "depends": "Verdicts that depend on our choices",
    "open": "Claims not tested at the paper's setting, or not testable",
    "beyond": "Errata, assumptions and consequences beyond the paper",
}


def sections(claims) -> dict:
    """The claims of the findings page by section (:data:`SECTION_TITLES`): robust disagreements
    (at the paper's reading, under every reasonable reading of our choices); verdicts that change
    between readings; claims not tested or not testable; errata, assumptions and consequences
    beyond the paper. A plain, robust agreement is in no section."""
    out = {key: [] for key in SECTION_TITLES}
    for c in claims:
        if c.verdict == DISAGREES and c.robust:
            out["disagrees"].append(c)
        elif not c.robust:
            out["depends"].append(c)
        elif c.verdict in (NOT_TESTED, NOT_TESTABLE):
            out["open"].append(c)
        elif c.verdict == ERRATUM or (c.verdict == BEYOND and c.key.startswith("theory.")):
            out["beyond"].append(c)
    return out


def findings() -> tuple[list[Claim], list[str]]:
    """Every claim of the saved results that is not a plain, robust agreement, and :data:`THEORY`;
    with the names of the results not found (their claims are left out)."""
    claims, missing = saved_claims()
    keep = [c for c in claims if not (c.verdict in (AGREES, WITHIN, BEYOND) and c.robust)]
    return keep + THEORY, missing


class FindingsTable(Table):
    """The findings as a table that reads at a glance: the finding, its verdict as a coloured badge
    with its status beside it and the verdict in words folded under it, the evidence on one line
    with the whole measurement and the command that would settle it at full size folded under it,
    and the section that shows it. ``str()`` gives the same rows in Markdown, unfolded."""

    #: The columns of the Markdown table (``str()``).
    COLUMNS = ("finding", "verdict", "status", "evidence", "where", "settle at full size")
    #: The columns of the HTML table, whose verdict cell shows the status and whose evidence cell
    #: folds the command, and their widths (percent).
    HTML = ("finding", "verdict", "evidence", "where")
    WIDTHS = (26, 22, 40, 12)

    def __init__(self, claims):
        self.claims = list(claims)
        super().__init__([[c.claim, self.verdict_text(c), c.status or "numerical", c.measured, _link(c.key),
                           c.command or "—"] for c in self.claims], list(self.COLUMNS), raw=("where",))

    @staticmethod
    def verdict_text(c: Claim) -> str:
        """The verdict in words (with the setting of a claim not tested at the paper's setting)."""
        text = c.agree or c.verdict
        if c.verdict == NOT_TESTED and c.setting and c.setting not in text:
            text = f"{NOT_TESTED}: {c.setting}"
        return text

    def _repr_html_(self) -> str:
        rows = []
        for c, cells in zip(self.claims, self.cells):
            finding, verdict, status, measured, where, command = cells
            settle = f"settle at full size: {command}" if c.command else ""
            rows.append([html.escape(finding), verdict_html(c, verdict, status), evidence_html(measured, settle), where])
        return fixed_table_html(self.HTML, rows, self.WIDTHS)


def findings_table(claims) -> FindingsTable:
    """The findings as a table (:class:`FindingsTable`)."""
    return FindingsTable(claims)


def audit_table(out=None):
    """The audit of the theorem's hypotheses from the saved results: ``(Table, rows)``, or
    ``(None, [])`` without a saved audit."""
    audit = saved_audit(out)
    if audit is None:
        return None, []

    def arrays(name, presets=("paper", "paper-cpu")):
        saved = best_result(name, out, presets=presets)
        return None if saved is None else saved[1]

    a, a3, b, b1 = _saved_images(out)
    rows = _audit.audit_rows(audit, fig1=arrays("fig1"), fig2=arrays("fig2"), threshold=arrays("gamma-threshold"),
                             fig3a=a, fig3a_3x3=a3, fig3b=b, fig3b_1L0=b1)
    return _audit.audit_table(rows), rows
