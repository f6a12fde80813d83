"""The findings page in a real browser: the verdicts read at a glance, and the details are one
click away (issue 23, item 2). ``tests/test_browser.py`` checks every table of verdicts of the
book (:func:`_browser.check_claim_tables`); this file opens what a reader opens."""
from __future__ import annotations

import pytest
from _browser import SHOTS, launch_browser, open_page

browser = pytest.fixture(scope="module")(launch_browser)

PAGE = "book/findings"


def test_findings_fold_and_unfold(browser):
    page, errors, outside = open_page(browser, PAGE)
    # the rows are grouped under the four headings, in this order
    headings = page.evaluate("""() => [...document.querySelectorAll('table.dipnb-claims')].map(t =>
        t.closest('section').querySelector('h2').textContent.toLowerCase())""")
    assert len(headings) == 4
    for h, word in zip(headings, ("disagreements", "depend", "not tested", "errata")):
        assert word in h, (h, word)
    # the disagreements' badges all say "disagrees"
    first = page.evaluate("""() => [...document.querySelectorAll('table.dipnb-claims')[0]
        .querySelectorAll('.dipnb-verdict')].map(b => b.textContent)""")
    assert first and set(first) == {"disagrees"}, first

    SHOTS.mkdir(parents=True, exist_ok=True)
    table = page.locator("table.dipnb-claims").first
    table.scroll_into_view_if_needed()
    page.wait_for_timeout(600)             # the theme folds its table of contents while a wide table shows
    page.screenshot(path=str(SHOTS / "findings-before.png"))
    summary = page.locator("table.dipnb-claims details.dipnb-evidence > summary").first
    shown = summary.inner_text()
    whole_before = page.evaluate("""() => document.querySelector('table.dipnb-claims details.dipnb-evidence')
        .getBoundingClientRect().height""")
    summary.click()
    page.wait_for_timeout(200)
    details = page.locator("table.dipnb-claims details.dipnb-evidence").first
    assert details.evaluate("d => d.open"), "a click did not unfold the evidence"
    whole_after = details.evaluate("d => d.getBoundingClientRect().height")
    assert whole_after > whole_before + 10, (whole_before, whole_after)
    body = details.inner_text()
    assert shown.strip() in body and len(body) > len(shown) + 20, (shown, body[:200])
    page.screenshot(path=str(SHOTS / "findings-after.png"))

    assert not outside, outside[:5]
    assert not errors, errors[:5]
    page.close()
