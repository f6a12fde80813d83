"""Interactive figures in the built book, with no kernel and the network cut (issue 23).

Each figure of :data:`FIGURES` must render on its page (checked where tests/test_browser.py
opens the page, by :func:`_browser.check_figures`), change what it draws when a reader moves
its control (checked on the page: the pixels and the text it shows), and log no console
error. BokehJS must be loaded once on each page that has a figure and on no other page. Each
page's weight (the HTML and every local file it loads) is written to
``_build/screenshots/weights.txt``; a page over :data:`MAX_PAGE_BYTES` fails.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from _browser import FIGURES, HTML, SHOTS, drag_slider, figure, launch_browser, open_page, pixels, toc_pages

browser = pytest.fixture(scope="module")(launch_browser)

#: a page's HTML plus every local script, style sheet and image it loads. MathJax's and the
#: theme's files come to about 2.5 MB; BokehJS (core and widgets) adds 1.7 MB.
MAX_PAGE_BYTES = 8_000_000


def _local_files(page_name: str) -> list[Path]:
    """Every file of the build a page loads (scripts, style sheets, images)."""
    path = HTML / f"{page_name}.html"
    html = path.read_text()
    files = [path]
    for ref in re.findall(r'(?:src|href)="([^"#?]+)(?:[?#][^"]*)?"', html):
        if "://" in ref or ref.startswith(("mailto:", "data:")):
            continue
        f = (path.parent / ref).resolve()
        if f.is_file() and f.suffix in {".js", ".css", ".png", ".svg", ".jpg", ".woff2"}:
            files.append(f)
    return sorted(set(files))


def test_bokeh_loaded_once_where_needed_and_pages_not_too_heavy():
    lines = []
    for name in toc_pages():
        html = (HTML / f"{name}.html").read_text()
        has_fig = 'class="dipnb-bokeh"' in html
        n_core = len(re.findall(r'<script[^>]+src="[^"]*/bokeh\.min\.js', html))
        assert n_core == (1 if has_fig else 0), f"{name}: BokehJS loaded {n_core} times"
        weight = sum(f.stat().st_size for f in _local_files(name))
        lines.append(f"{weight / 1e6:6.2f} MB  {name}")
        assert weight < MAX_PAGE_BYTES, f"{name} weighs {weight / 1e6:.1f} MB"
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "weights.txt").write_text("\n".join(lines) + "\n")
    for fig, page in FIGURES.items():
        assert f'data-figure="{fig}"' in (HTML / f"{page}.html").read_text(), f"{fig} not on {page}"


def test_exponent_slider_moves_the_curves(browser):
    """Chapter 02: dragging p changes the text (α, c, rate) and the curves drawn."""
    page, errors, _ = open_page(browser, FIGURES["exponent"])
    fig = figure(page, "exponent")
    info = fig.locator("text=/α = 1 − 1\\/p/").first
    before_text, before = info.inner_text(), pixels(fig)
    SHOTS.mkdir(parents=True, exist_ok=True)
    fig.screenshot(path=str(SHOTS / "interactive-exponent-before.png"))
    drag_slider(page, fig, dx=250)
    after_text = info.inner_text()
    fig.screenshot(path=str(SHOTS / "interactive-exponent-after.png"))
    assert before_text != after_text, before_text
    p_before = float(re.search(r"p = ([\d.]+)", before_text).group(1))
    p_after = float(re.search(r"p = ([\d.]+)", after_text).group(1))
    assert p_after > p_before
    alpha = float(re.search(r"α = 1 − 1/p = ([\d.]+)", after_text).group(1))
    assert abs(alpha - (1 - 1 / p_after)) < 1e-3       # the text is the model's, not a stale label
    assert pixels(fig) != before, "the curves did not change"
    assert not errors, errors[:3]
    page.close()
