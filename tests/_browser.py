"""What the browser tests share: the built book, Debian's chromium with the network cut, and
the gestures a reader makes on an interactive figure (drag a slider, hover a cell, click).

Each ``tests/test_browser*.py`` imports from here; ``make test`` runs them after building the
book. An interactive figure is ``<div class="dipnb-bokeh" data-figure=NAME>`` (see
:mod:`dipnb.plotting.interactive`); Bokeh draws into canvases inside open shadow roots,
which Playwright's CSS selectors pierce.
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


def launch_browser():
    """Yield a headless chromium (use as a module-scoped fixture:
    ``browser = pytest.fixture(scope="module")(launch_browser)``)."""
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




# -- interactive figures ---------------------------------------------------------------------
#: every interactive figure of the book: name (``data-figure``) -> page. The generic checks of
#: tests/test_browser_interactive.py run on each (renders, fits its column, no console error,
#: BokehJS once per page); tests/test_browser_{interactive,theorem,sweeps,images}.py drive them.
FIGURES = {
    "exponent": "book/02_kl_inequality",
    "theorem-explorer": "book/04_theorem_iii1",
    "fig1": "book/06_fig1_width",
    "fig1-quick": "book/06_fig1_width",
    "fig2": "book/07_fig2_stepsize",
    "fig2-quick": "book/07_fig2_stepsize",
    "gamma-threshold": "book/07_fig2_stepsize",
    "fig3a": "book/08_fig3_images",
    "fig3b-quick": "book/09_fig3b_fig4",
    "fig3b": "book/09_fig3b_fig4",
    "fig3b-ref": "book/09_fig3b_fig4",
}


def figure(page, name: str):
    """The figure ``name`` on ``page``, once BokehJS has drawn it (a canvas inside it)."""
    loc = page.locator(f'.dipnb-bokeh[data-figure="{name}"]')
    assert loc.count() == 1, f"figure {name!r}: {loc.count()} on the page, expected 1"
    page.wait_for_function(
        """(name) => { const f = document.querySelector(`.dipnb-bokeh[data-figure="${name}"]`);
                      return window.Bokeh && f && f.querySelector('.bk-Column, .bk-Row, .bk-Figure, [class*="bk-"]'); }""",
        arg=name, timeout=15000)
    page.wait_for_timeout(300)
    return loc


def check_figures(page, page_name: str) -> int:
    """Every interactive figure on an open page: exactly the figures :data:`FIGURES` lists for
    it, each drawn (a canvas, a sensible size) and no wider than its column. Returns how many."""
    names = page.evaluate("() => [...document.querySelectorAll('.dipnb-bokeh')].map(f => f.dataset.figure)")
    expected = sorted(n for n, p in FIGURES.items() if p == page_name)
    assert sorted(names) == expected, f"{page_name}: figures {sorted(names)}, FIGURES lists {expected}"
    for name in names:
        fig = figure(page, name)
        box = fig.bounding_box()
        assert box and box["height"] > 150 and box["width"] > 300, (name, box)
        n_canvas = page.evaluate(
            """(name) => { const f = document.querySelector(`.dipnb-bokeh[data-figure="${name}"]`);
                const walk = (n) => [...(n.shadowRoot ? n.shadowRoot.querySelectorAll('*') : []),
                                     ...n.querySelectorAll('*')];
                let count = 0, stack = [f];
                while (stack.length) { const n = stack.pop();
                  for (const c of walk(n)) { if (c.tagName === 'CANVAS') count++; if (c.shadowRoot) stack.push(c); } }
                return count; }""", name)
        assert n_canvas > 0, f"{name}: no canvas drawn"
        overflow = page.evaluate(
            """(name) => { const f = document.querySelector(`.dipnb-bokeh[data-figure="${name}"]`);
                          const col = f.closest('.cell_output, article') || f.parentElement;
                          return [f.getBoundingClientRect().right, col.getBoundingClientRect().right,
                                  f.scrollWidth, f.clientWidth]; }""", name)
        assert overflow[0] <= overflow[1] + 1 and overflow[2] <= overflow[3] + 1, (
            f"{name} overflows its column (right edge, column's, scroll and client widths): {overflow}")
    return len(names)


def drag_slider(page, fig, index: int = 0, dx: float = 200.0) -> None:
    """Drag the handle of the figure's ``index``-th slider by ``dx`` px, as a mouse would."""
    handle = fig.locator(".noUi-handle").nth(index)
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    assert box is not None, "slider handle is not visible"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()
    page.wait_for_timeout(400)


def data_to_page(page, plot_name: str, x: float, y: float) -> tuple[float, float]:
    """Page (viewport) coordinates of the data point (x, y) of the Bokeh plot named ``plot_name``,
    by the plot's own scales."""
    return tuple(page.evaluate(
        """([name, x, y]) => {
            const doc = Bokeh.documents.find(d => d.get_model_by_name(name));
            const view = Bokeh.index.find_one(doc.get_model_by_name(name));
            view.el.scrollIntoView({block: "center"});
            const box = view.el.getBoundingClientRect();
            return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
        }""", [plot_name, x, y]))


def tooltip_at(page, xy) -> str:
    """Move the mouse to page coordinates ``xy`` and return the visible tooltips' text (Bokeh 3.9
    writes it inside the tooltip's shadow root, which Playwright's CSS selectors pierce)."""
    page.mouse.move(*xy)
    page.wait_for_timeout(300)
    tips = page.locator(".bk-Tooltip .bk-tooltip-content")
    texts = (tips.nth(i).inner_text() for i in range(tips.count()) if tips.nth(i).is_visible())
    return "\n".join(t for t in texts if t.strip())


def pixels(fig) -> bytes:
    """A screenshot of the figure, to tell whether an interaction changed what is drawn."""
    return fig.screenshot()


# -- the tables of verdicts ----------------------------------------------------------------------
#: every "paper against our numbers" table of the book (``table.dipnb-claims``): page -> how many.
CLAIM_TABLES = {
    "book/findings": 4,
    "book/06_fig1_width": 1,
    "book/07_fig2_stepsize": 1,
    "book/08_fig3_images": 1,
    "book/09_fig3b_fig4": 1,
}


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def check_claim_tables(page, page_name: str) -> int:
    """Every table of verdicts on an open page reads at a glance (issue 23, item 2): the number
    :data:`CLAIM_TABLES` lists, each wider than the text column and inside the window, each verdict
    a badge in its verdict's colour (:data:`dipnb.report.claims.BADGE_COLOURS`), each folded
    measurement one line tall until it is opened. Returns how many tables."""
    from dipnb.report.claims import BADGE_COLOURS

    info = page.evaluate("""() => {
        const text = document.querySelector('article p');
        return {column: text ? text.getBoundingClientRect().width : 0, window: window.innerWidth,
                tables: [...document.querySelectorAll('table.dipnb-claims')].map(t => {
                  const box = t.getBoundingClientRect();
                  return {width: box.width, right: box.right, rows: t.tBodies[0].rows.length,
                          badges: [...t.querySelectorAll('.dipnb-verdict')].map(b =>
                              [b.textContent, getComputedStyle(b).backgroundColor]),
                          lines: [...t.querySelectorAll('details.dipnb-evidence:not([open]) > summary')].map(s =>
                              s.getBoundingClientRect().height / parseFloat(getComputedStyle(s).lineHeight))};
                })};
    }""")
    tables = info["tables"]
    expected = CLAIM_TABLES.get(page_name, 0)
    assert len(tables) == expected, f"{page_name}: {len(tables)} tables of verdicts, CLAIM_TABLES lists {expected}"
    for i, t in enumerate(tables):
        assert t["width"] > 1.2 * info["column"], \
            f"table {i} is {t['width']:.0f} px, not wider than the text column ({info['column']:.0f} px)"
        assert t["right"] <= info["window"], f"table {i} runs out of the window: right edge {t['right']:.0f} px"
        assert t["badges"], f"table {i}: no verdict badge"
        wrong = [(text, colour) for text, colour in t["badges"] if _rgb(BADGE_COLOURS[text]) != colour]
        assert not wrong, f"table {i}: badges not in their verdict's colour: {wrong[:3]}"
        tall = [round(n, 2) for n in t["lines"] if n > 1.5]
        assert not tall, f"table {i}: folded measurements more than one line tall (in lines): {tall[:5]}"
    return len(tables)
