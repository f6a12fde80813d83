"""The findings page: every row has a verdict, a status, a link to a section that exists, and a
command wherever our run is not at the paper's setting."""
import re
from pathlib import Path

from dipnb.report import AGREES, BEYOND, DISAGREES, FINDING_STATUSES, NOT_TESTED, VERDICTS, WITHIN, findings

BOOK = Path(__file__).resolve().parents[1] / "book"


def _anchors(md: Path) -> set:
    """Sphinx's ids of the headings and ``(label)=`` targets of a chapter (lower case, words
    joined by hyphens)."""
    out = set()
    for line in md.read_text().splitlines():
        m = re.match(r"^#{1,4} (.*)$", line) or re.match(r"^\((.*)\)=$", line)
        if m:
            out.add(re.sub(r"[^a-z0-9]+", "-", m.group(1).lower()).strip("-"))
    return out


def test_every_finding_is_well_formed():
    rows, missing = findings.findings()
    assert not missing, f"saved results missing: {missing}"
    assert rows and len({r.key for r in rows}) == len(rows)
    for r in rows:
        assert r.verdict in VERDICTS, (r.key, r.verdict)
        # a plain agreement is not a finding, unless another reading of our choices disagrees
        assert r.verdict not in (AGREES, WITHIN) or not r.robust, (r.key, r.verdict)
        assert r.verdict != BEYOND or r.key.startswith("theory."), (r.key, r.verdict)
        assert r.status in FINDING_STATUSES, (r.key, r.status)
        if r.verdict == NOT_TESTED:
            assert r.setting and r.command.startswith("python -m dipnb run "), r.key
        if r.readings:                                      # rule 9: the headline is the paper's reading
            assert sum(x.paper for x in r.readings) == 1 and r.why, r.key
        fam = r.key if r.key in findings.SECTIONS else r.key.split(".")[0]
        page, anchor, _ = findings.SECTIONS[fam]
        md = BOOK / f"{page}.md"
        assert md.exists(), page
        assert not anchor or anchor in _anchors(md), (page, anchor)


def test_the_table_links_and_escapes():
    rows, _ = findings.findings()
    html = findings.findings_table(rows)._repr_html_()
    assert html.count("<tr>") == len(rows) + 1
    assert '<a href="06_fig1_width.html#the-paper-against-our-numbers">' in html or \
        '<a href="07_fig2_stepsize.html#the-paper-against-our-numbers">' in html
    assert "&lt;a href" not in html                       # links are not escaped, the rest is


def test_every_listed_disagreement_is_robust_and_every_proved_problem_is_listed():
    rows, _ = findings.findings()
    sec = findings.sections(rows)
    assert all(c.robust and c.verdict == DISAGREES for c in sec["disagrees"])
    keys = {c.key for c in sec["disagrees"]}
    # the proved problems of the statements and of the paper's experiments (issue 19)
    assert {"theory.y_range", "theory.kl_loss", "fig1.layers", "fig3a.eq8", "threshold.vs_L0",
            "fig4.hypotheses"} <= keys, keys
    assert {c.key for c in sec["beyond"]} >= {"theory.a5", "theory.certified_L", "theory.constants"}
    listed = [c for v in sec.values() for c in v]
    assert len(listed) == len({c.key for c in listed}) == len(rows)


def test_the_audit_places_every_experiment_against_the_hypotheses():
    table, rows = findings.audit_table()
    assert table is not None, "results/audit-paper-cpu.npz is versioned and must be present"
    by = {r["experiment"]: r for r in rows}
    assert set(by) >= {"Fig 1a/1b", "Fig 2", "threshold study", "Fig 3b/4"} and any(k.startswith("Fig 3a (") for k in by)
    assert by["Fig 3b/4"]["verdict"] == "outside" and min(by["Fig 3b/4"]["values"]["R_prime_over_R_upper"]) > 1
    assert by["Fig 1a/1b"]["verdict"] == "partly"
    assert by["Fig 2"]["values"]["threshold_x_L0"].min() > 1 and by["threshold study"]["verdict"] != "inside the theorem"


def test_a_verdict_reads_at_a_glance():
    """The HTML of a verdict: a badge in its verdict's colour with the status beside it, the
    measurement's first clause (split outside brackets) on one line with the whole folded."""
    from dipnb.report.claims import BADGE_COLOURS, Claim, badge_html, evidence_html, headline, verdict_html

    assert headline("slope (median; over runs): 0.5; interval [0.4, 0.6]") == (
        "slope (median; over runs): 0.5", "interval [0.4, 0.6]")
    assert headline("no break here") == ("no break here", "")
    assert len(set(BADGE_COLOURS[v] for v in (AGREES, DISAGREES, NOT_TESTED, BEYOND))) == 4
    html = badge_html(DISAGREES, "proved")
    assert f"background:{BADGE_COLOURS[DISAGREES]}" in html and ">disagrees</span>" in html
    assert html.index("disagrees") < html.index("proved")           # the status beside the badge
    assert "background" not in badge_html("something else")          # not a verdict: plain text
    long = "a measurement with a long first clause, " * 3 + "; then its interval [1, 2]"
    folded = evidence_html(long, "settle at full size: python -m dipnb run x")
    assert folded.startswith('<details class="dipnb-evidence"><summary')
    assert "nowrap" in folded and "[1, 2]" in folded and "python -m dipnb run x" in folded
    assert evidence_html("short") == "short"
    c = Claim("k", "c", "p", "m", "disagrees at every reading", verdict=DISAGREES, status="numerical")
    v = verdict_html(c)
    assert ">disagrees</span>" in v and "numerical" in v and "<details><summary>why</summary>" in v
    assert "<details>" not in verdict_html(Claim("k", "c", "p", "m", DISAGREES, verdict=DISAGREES))
