"""The built book, opened in headless Chromium as a reader would, with the network cut.

Each page of ``_build/html`` must: typeset all its math (no raw TeX left, no MathJax
error), load every figure, log no console error, request nothing outside the build,
and render its saved widgets (if any). Screenshots go to ``_build/screenshots/`` for people to
look at. ``make test`` builds the book first; run ``make book`` before calling this
file on its own.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from _browser import HTML, MAX_CHAPTER_HEIGHT_PX, SHOTS, check_claim_tables, check_figures, launch_browser, open_page, toc_pages

browser = pytest.fixture(scope="module")(launch_browser)


@pytest.mark.parametrize("page_name", toc_pages())
def test_page_renders_offline(browser, page_name):
    page, errors, outside = open_page(browser, page_name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # the API page is long: a full-page screenshot can take over the default 30 s on a loaded 2-core machine
    page.screenshot(path=str(SHOTS / f"{Path(page_name).name}.png"), full_page=True, timeout=120_000)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    (SHOTS / f"{Path(page_name).name}.height").write_text(f"{height}\n")
    if Path(page_name).name[:2].isdigit():
        assert height < MAX_CHAPTER_HEIGHT_PX, (
            f"page is {height} px tall at 1200 px width; a chapter must stay under "
            f"{MAX_CHAPTER_HEIGHT_PX} px (move asides into dropdowns or a page of their own)")

    # math: every math node typeset, no MathJax error, no raw TeX delimiters left
    math = page.evaluate("""() => {
        const nodes = [...document.querySelectorAll('.math')];
        return {total: nodes.length,
                raw: nodes.filter(n => !n.querySelector('mjx-container')).map(n => n.textContent.slice(0, 80)),
                errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
                        .map(n => n.getAttribute('data-mjx-error') || n.textContent)};
    }""")
    if Path(page_name).name[:2].isdigit():          # every chapter has math
        assert math["total"] > 0, "no math on the page"
    assert not math["raw"], f"math left as raw TeX: {math['raw'][:3]}"
    assert not math["errors"], f"MathJax errors: {math['errors'][:3]}"
    text = page.inner_text("main")
    assert "$$" not in text and "\\(" not in text.replace("\\\\(", "")

    # figures: every image loaded
    broken = page.evaluate("""() => [...document.images]
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))""")
    assert not broken, f"images that did not load: {broken}"

    # widgets: a page with saved widget state shows live widget views
    n_state = page.locator('script[type="application/vnd.jupyter.widget-state+json"]').count()
    if n_state:
        assert page.locator(".jupyter-widgets, .widget-slider").count() > 0, "saved widgets did not render"

    # interactive figures: each one FIGURES lists for this page, drawn and within the column
    check_figures(page, page_name)
    # tables of verdicts: full width, coloured badges, one-line evidence (CLAIM_TABLES lists them)
    check_claim_tables(page, page_name)

    assert not outside, f"requests outside the build (page is not offline): {outside[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
    page.close()


def test_every_chapter_has_figures_and_interactive_pages_exist(browser):
    """The checks above are not vacuous: the chapters do have figures, and interactive ones
    (tests/test_browser_interactive.py drives those)."""
    n_img, n_interactive_pages = 0, 0
    for name in toc_pages()[1:]:
        html = (HTML / f"{name}.html").read_text()
        n_img += html.count("<img")
        n_interactive_pages += 'class="dipnb-bokeh"' in html
    assert n_img >= 10 and n_interactive_pages >= 1, (n_img, n_interactive_pages)


def test_api_page_documents_every_public_module():
    """The API page is generated (book/_ext/dipnb_book.py): every public module of the package,
    found here from its files, has its entry, and every name a module exports is documented."""
    import importlib

    pkg = Path(__file__).resolve().parents[1] / "dipnb"
    modules = sorted(".".join(("dipnb",) + p.relative_to(pkg).with_suffix("").parts).removesuffix(".__init__")
                     for p in pkg.rglob("*.py"))
    public = [m for m in modules if m != "dipnb" and not any(part.startswith("_") for part in m.split("."))]
    assert len(public) > 30, public
    html = (HTML / "book" / "api.html").read_text()
    missing = [m for m in public if f'id="module-{m}"' not in html]
    assert not missing, f"public modules without an entry on the API page: {missing}"
    undocumented = []
    for m in public:
        mod = importlib.import_module(m)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            home = getattr(obj, "__module__", None)
            if not (callable(obj) and home and home.startswith("dipnb")):
                continue
            # documented where it is defined, or (an object of a private module) where it is exported
            if not any(f'id="{where}.{name}"' in html for where in (home, m)):
                undocumented.append(f"{m}.{name}")
    assert not undocumented, f"exported but not documented anywhere on the API page: {undocumented[:10]}"
