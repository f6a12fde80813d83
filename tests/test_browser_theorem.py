"""Chapter 04's explorer in the built book, offline, with no kernel (issue 23): it renders,
moving the k and γL sliders changes what is drawn and the line of text, and the text then
gives the R′ of the saved grid at the point the sliders show. Run after the book is built
(``make test`` does)."""
from __future__ import annotations

import re

import numpy as np
import pytest
from _browser import FIGURES, SHOTS, drag_slider, figure, launch_browser, open_page, pixels

browser = pytest.fixture(scope="module")(launch_browser)

_POINT = re.compile(r"k = (\d+), m = (\d+), γL = ([\d.]+), noise = ([\d.]+): R = (\S+), R′ = (\S+), "
                    r"\(4\) (holds|fails) · γ ≤ 1/L: (yes|no)")


def _grid():
    """The grid the chapter draws: the saved paper grid, else the quick one (as the chapter)."""
    from dipnb.experiments import THEOREM_EXPLORER_PRESETS, load_result, theorem_explorer_grid

    saved = load_result("theorem-explorer-paper")
    return saved[0] if saved is not None else theorem_explorer_grid(**THEOREM_EXPLORER_PRESETS["quick"])


def _parse(text: str) -> dict:
    m = _POINT.search(text)
    assert m, f"the explorer's text does not say k, m, γL, noise, R, R′, (4), γ ≤ 1/L: {text!r}"
    k, mm, gl, noise, R, Rp, c4, ok = m.groups()
    return {"k": int(k), "m": int(mm), "gamma_L": float(gl), "noise": float(noise), "R": R,
            "R_prime": Rp, "cond4": c4 == "holds", "step_ok": ok == "yes"}


def _sliders(fig) -> dict:
    """The values the four sliders show (``width k: 20000``, ...), parsed like the text."""
    titles = fig.locator(".bk-slider-title")
    values = [titles.nth(i).inner_text().rsplit(":", 1)[1].strip() for i in range(titles.count())]
    assert len(values) == 4, values
    return {"k": int(values[0]), "m": int(values[1]), "gamma_L": float(values[2]), "noise": float(values[3])}


def _saved_at(grid, p):
    """R, R′, (4) and γ ≤ 1/L of the grid at the point ``p`` the page shows."""
    idx = tuple(int(np.flatnonzero(np.isclose(np.asarray(grid[key], dtype=float), p[name]))[0])
                for name, key in (("k", "ks"), ("m", "ms"), ("gamma_L", "gamma_Ls"), ("noise", "noises")))
    return (f"{grid['R'][idx]:.3g}", f"{grid['R_prime'][idx]:.3g}", bool(grid["cond4"][idx]),
            bool(grid["step_ok"][idx]))


def test_explorer_renders_and_its_sliders_move_it(browser):
    page, errors, outside = open_page(browser, FIGURES["theorem-explorer"])
    fig = figure(page, "theorem-explorer")
    box = fig.bounding_box()
    assert box and box["height"] > 250 and box["width"] > 500, box
    assert fig.locator(".noUi-handle").count() == 4, "expected four sliders (k, m, γL, noise)"
    info = fig.locator("text=/R′ = /").first
    SHOTS.mkdir(parents=True, exist_ok=True)
    fig.screenshot(path=str(SHOTS / "interactive-theorem-explorer-before.png"))
    text0, px0 = info.inner_text(), pixels(fig)
    p0 = _parse(text0)
    shown = [_sliders(fig)]

    drag_slider(page, fig, index=0, dx=-300)            # k: to the smallest width
    text1, px1 = info.inner_text(), pixels(fig)
    p1 = _parse(text1)
    shown.append(_sliders(fig))
    assert p1["k"] < p0["k"] and (p1["m"], p1["gamma_L"], p1["noise"]) == (p0["m"], p0["gamma_L"], p0["noise"])
    assert text1 != text0 and px1 != px0, "moving k changed neither the text nor the curves"

    drag_slider(page, fig, index=2, dx=300)             # γL: to the largest step, above 1
    text2, px2 = info.inner_text(), pixels(fig)
    fig.screenshot(path=str(SHOTS / "interactive-theorem-explorer-after.png"))
    p2 = _parse(text2)
    shown.append(_sliders(fig))
    assert p2["gamma_L"] > max(1.0, p1["gamma_L"]) and p2["k"] == p1["k"]
    assert not p2["step_ok"], f"γL = {p2['gamma_L']} > 1 but the page says γ ≤ 1/L: {text2!r}"
    assert text2 != text1 and px2 != px1, "moving γL changed neither the text nor the curves"

    grid = _grid()
    for p, at in zip((p0, p1, p2), shown):     # the text is the sliders' point, and the saved grid's values there
        assert {key: p[key] for key in at} == at, (p, at)
        assert (p["R"], p["R_prime"], p["cond4"], p["step_ok"]) == _saved_at(grid, p), p
    assert not outside and not errors, (outside[:3], errors[:3])
    page.close()
