"""The heat maps of chapters 06 and 07 (Fig 1, Fig 2, the threshold study) in the built book,
with no kernel and the network cut (issue 23), and the data they embed.

* Fast, without a browser: every cell's tooltip text says P, its Wilson interval and the runs
  that the saved result holds for that cell; the thresholds drawn are those the chapter's
  table reads (:mod:`dipnb.report.sweeps`).
* In chromium, against ``_build/html``: each figure renders; hovering a cell chosen by its data
  coordinates (mapped to the page through the plot's own scales) shows that cell's numbers;
  switching a reading off (or choosing another) changes the pixels; no console error.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from _browser import FIGURES, data_to_page, figure, launch_browser, open_page, pixels, tooltip_at

import dipnb
from dipnb.analysis import condition4_probability, log10_onset_at, log10_threshold_at, wilson_interval
from dipnb.plotting.interactive.sweeps import cell_tips, fig1_explorer, fig2_explorer, threshold_explorer
from dipnb.report.sweeps import SMALL_GAMMA_LEVEL, STEP_LEVELS

browser = pytest.fixture(scope="module")(launch_browser)

P_RE = re.compile(r"P = ([\d.]+) \[([\d.]+), ([\d.]+)\]")
RUNS_RE = re.compile(r"(\d+) / (\d+) runs")


def _saved(name):
    """The result the chapter draws: the paper preset if saved, else paper-cpu."""
    saved = dipnb.experiments.best_result(name)
    assert saved is not None, f"no saved result for {name} under results/ (they are committed)"
    return saved[1]


def _check_p(text: str, successes: int, runs: int) -> None:
    """``text`` holds ``P = p [lo, hi]`` and ``s / n runs`` for ``successes`` of ``runs``."""
    p, lo, hi = map(float, P_RE.search(text).groups())
    s, n = map(int, RUNS_RE.search(text).groups())
    elo, ehi = wilson_interval(successes, runs)
    assert (s, n) == (successes, runs), text
    assert abs(p - successes / runs) < 0.006 and abs(lo - elo) < 0.006 and abs(hi - ehi) < 0.006, text


# -- the data the figures embed (no browser) ----------------------------------------------------------
def test_fig1_tips_hold_each_cells_counts():
    res = _saved("fig1")
    nu1 = float(res["nu1"])
    tips_a, tips_b = cell_tips(res, "fig1a"), cell_tips(res, "fig1b")
    held_a, conv = nu1 * res["ratio_a"] < 1, res["converged"].astype(bool)
    held_b = nu1 * res["ratio_b"] < 1
    runs = conv.shape[-1]
    assert tips_a.shape == res["ratio_a"].shape[:2] and tips_b.shape == conv.shape[:2]
    np.testing.assert_allclose(held_a.mean(-1), condition4_probability(res["ratio_a"], nu1))
    for i, m in enumerate(res["ms"]):
        for j, k in enumerate(res["ks_a"]):
            assert f"m = {m}, k = 10^{math.log10(k):.2f} " in tips_a[i, j]
            _check_p(tips_a[i, j], int(held_a[i, j].sum()), runs)
        for j, _k in enumerate(res["ks_b"]):
            _check_p(tips_b[i, j], int(conv[i, j].sum()), runs)
            assert f"(4) holds (ν₁ = {nu1:g}) in {int(held_b[i, j].sum())} / {runs} runs" in tips_b[i, j]


@pytest.mark.parametrize("name", ["fig2", "gamma-threshold"])
def test_step_tips_hold_counts_and_loss_spread(name):
    res = _saved(name)
    tips = cell_tips(res, "fig2" if name == "fig2" else "threshold")
    conv = res["converged"].astype(bool)
    ran = res["ran"].astype(bool) if "ran" in res else np.ones(conv.shape[:2], bool)
    for i in range(conv.shape[0]):
        for j in range(conv.shape[1]):
            _check_p(tips[i, j], int(conv[i, j].sum()), conv.shape[-1])
            if ran[i, j]:
                med = float(np.median(res["loss"][i, j]))
                assert f"median {med:.1e}" in tips[i, j], tips[i, j]
                assert f"max {float(np.max(res['loss'][i, j])):.1e}" in tips[i, j]
            else:
                assert "not run" in tips[i, j]


def test_thresholds_drawn_are_the_tables():
    """The threshold per row at each reading is :func:`log10_threshold_at` / :func:`log10_onset_at`,
    drawn only where the table of chapter 07 reads it (its ``read`` flags)."""
    res = _saved("gamma-threshold")
    claims = dipnb.report.sweeps.gamma_threshold_table(res, reps=2)
    levels = dipnb.report.claims_by_key(claims)["threshold.onset"].values["levels"]
    fig = threshold_explorer(res, levels=STEP_LEVELS, read_at=SMALL_GAMMA_LEVEL)
    from bokeh.models import ColumnDataSource

    src = [s for s in fig.layout.select({"type": ColumnDataSource}) if "x0" in s.data][0]
    g = np.asarray(res["gammas"], dtype=float)
    for k, (key, _, level) in enumerate(STEP_LEVELS):
        x = np.asarray(src.data[f"x{k}"], dtype=float)
        table = np.asarray(levels[key]["log10_threshold"], dtype=float)
        read = np.asarray(levels[key]["read"])
        ours = np.array([log10_onset_at(g, c) if level is None else log10_threshold_at(g, c, level)
                         for c in res["converged"]])
        np.testing.assert_allclose(ours, table)                       # the same reading as the table
        np.testing.assert_allclose(x[read & np.isfinite(table)], table[read & np.isfinite(table)])
        hollow = np.asarray(src.data[f"h{k}"], dtype=float)
        np.testing.assert_allclose(hollow[~read & np.isfinite(table)], table[~read & np.isfinite(table)])
        assert np.isnan(x[~read]).all() and np.isnan(hollow[read]).all(), (key, x, read)   # not read: hollow only


def test_fig2_and_fig1_build_and_name():
    res1, res2 = _saved("fig1"), _saved("fig2")
    assert fig1_explorer(res1).name == "fig1"
    f2 = fig2_explorer(res2, levels=STEP_LEVELS, read_at=SMALL_GAMMA_LEVEL, name="fig2-x")
    assert f2.name == "fig2-x" and 'data-figure="fig2-x"' in f2._repr_html_()


# -- in the browser ----------------------------------------------------------------------------------------
def check_fig1(page, res, name="fig1", fig=None):
    """Hover a cell of each panel and switch P = 1/2 off; return the panel screenshots before/after."""
    fig = fig or figure(page, name)
    i = list(res["ms"]).index(2)
    runs = res["converged"].shape[-1]
    for panel, ks, counts in (("a", res["ks_a"], (float(res["nu1"]) * res["ratio_a"] < 1)),
                              ("b", res["ks_b"], res["converged"].astype(bool))):
        j = len(ks) // 2
        text = tooltip_at(page, data_to_page(page, f"{name}-{panel}", math.log10(ks[j]), i))
        assert f"m = 2, k = 10^{math.log10(ks[j]):.2f}" in text, text
        _check_p(text, int(counts[i, j].sum()), runs)
    page.mouse.move(0, 0)
    before = pixels(fig)
    fig.locator("input[type=checkbox]").nth(2).click()            # P = 1/2 off
    page.wait_for_timeout(300)
    after = pixels(fig)
    assert after != before, "switching the P = 1/2 widths off changed nothing"
    return before, after


def check_step(page, res, name, row_j=None):
    """Hover one cell of a step-size map (Fig 2 or the threshold study) and check its numbers."""
    fig = figure(page, name)
    conv = res["converged"].astype(bool)
    i, j = row_j or (1, len(res["gammas"]) // 2 + 2)
    text = tooltip_at(page, data_to_page(page, f"{name}-map", math.log10(res["gammas"][j]), i))
    assert f"γ = 10^{math.log10(res['gammas'][j]):.2f}" in text, text
    _check_p(text, int(conv[i, j].sum()), conv.shape[-1])
    assert "final loss: median" in text, text
    page.mouse.move(0, 0)
    return fig


def check_threshold_levels(page, fig):
    """Choosing another reading changes the text per k and the pixels."""
    info = fig.locator("text=/per row:/").first
    before_text, before = info.inner_text(), pixels(fig)
    fig.locator("text=fewer than half converge").first.click()
    page.wait_for_timeout(300)
    after_text = info.inner_text()
    assert after_text.startswith("fewer than half converge") and before_text != after_text, after_text
    assert pixels(fig) != before, "choosing another reading changed nothing"


def _open(browser, name):
    return open_page(browser, FIGURES[name])


def test_fig1_hover_and_toggle(browser):
    page, errors, outside = _open(browser, "fig1")
    check_fig1(page, _saved("fig1"))
    assert not errors and not outside, (errors[:3], outside[:3])
    page.close()


def test_fig2_hover_and_toggle(browser):
    page, errors, outside = _open(browser, "fig2")
    fig = check_step(page, _saved("fig2"), "fig2")
    before = pixels(fig)
    fig.locator("input[type=checkbox]").nth(2).click()            # fewer than half converge: off
    page.wait_for_timeout(300)
    assert pixels(fig) != before, "switching a reading off changed nothing"
    assert not errors and not outside, (errors[:3], outside[:3])
    page.close()


def test_threshold_hover_and_levels(browser):
    page, errors, outside = _open(browser, "gamma-threshold")
    fig = check_step(page, _saved("gamma-threshold"), "gamma-threshold", row_j=(3, 9))
    check_threshold_levels(page, fig)
    assert not errors and not outside, (errors[:3], outside[:3])
    page.close()
