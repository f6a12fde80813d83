"""The built book, opened in headless Chromium as a reader would, with the network cut.

Each page of ``_build/html`` must: typeset all its math (no raw TeX left, no MathJax
error), load every figure, log no console error, request nothing outside the build,
and render its saved widgets. Screenshots go to ``_build/screenshots/`` for people to
look at. ``make test`` builds the book first; run ``make book`` before calling this
file on its own.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
# Issue 12: every chapter page is shorter than this at the 1200 px viewport (asides go into
# dropdowns, which are closed when measured, or onto a page of their own).
MAX_CHAPTER_HEIGHT_PX = 11_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part["chapters"]]
    return pages


@pytest.fixture(scope="module")
def browser():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built book at {HTML}: run `make book` first (make test does)")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed: `make test` and .ci/run install the Debian package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, page_name: str):
    """Load a page offline; return (page, console errors, requests that tried to leave the build)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def block(route):
        outside.append(route.request.url)
        route.abort()

    page.route("http://**", block)
    page.route("https://**", block)
    page.goto((HTML / f"{page_name}.html").as_uri())
    page.wait_for_load_state("load")
    # Sphinx loads MathJax only on pages with math (the instructors' page has none)
    if page.evaluate("() => [...document.scripts].some(s => /mathjax/i.test(s.src))"):
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=30000)
        page.evaluate("() => MathJax.startup.promise")
    page.wait_for_timeout(500)       # widget manager renders after load
    return page, errors, outside


@pytest.mark.parametrize("page_name", toc_pages())
def test_page_renders_offline(browser, page_name):
    page, errors, outside = open_page(browser, page_name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(page_name).name}.png"), full_page=True)
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

    assert not outside, f"requests outside the build (page is not offline): {outside[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
    page.close()


def test_every_chapter_has_figures_and_widget_pages_exist(browser):
    """The checks above are not vacuous: the chapters do have figures and widgets."""
    n_img, n_widget_pages = 0, 0
    for name in toc_pages()[1:]:
        html = (HTML / f"{name}.html").read_text()
        n_img += html.count("<img")
        n_widget_pages += "application/vnd.jupyter.widget-state+json" in html
    assert n_img >= 10 and n_widget_pages >= 1, (n_img, n_widget_pages)
