"""The findings page: every row has a verdict, a status, a link to a section that exists, and a
command wherever our run is not at the paper's setting."""
import re
from pathlib import Path

from dipnb.report import AGREES, BEYOND, NOT_TESTED, STATUSES, VERDICTS, WITHIN, findings

BOOK = Path(__file__).resolve().parents[1] / "book"


def _anchors(md: Path) -> set:
    """Sphinx's ids of the headings of a chapter (lower case, words joined by hyphens)."""
    out = set()
    for line in md.read_text().splitlines():
        m = re.match(r"^#{1,4} (.*)$", line)
        if m:
            out.add(re.sub(r"[^a-z0-9]+", "-", m.group(1).lower()).strip("-"))
    return out


def test_every_finding_is_well_formed():
    rows, missing = findings.findings()
    assert not missing, f"saved results missing: {missing}"
    assert rows and len({r.key for r in rows}) == len(rows)
    for r in rows:
        assert r.verdict in VERDICTS and r.verdict not in (AGREES, WITHIN, BEYOND), (r.key, r.verdict)
        assert r.status in STATUSES, (r.key, r.status)
        if r.verdict == NOT_TESTED:
            assert r.setting and r.command.startswith("python -m dipnb run "), r.key
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
