"""Fig 3a, Fig 3b and Fig 4 as interactive figures (issue 23): the data they embed, and the
figures in the built book, with no kernel and the network cut.

The first tests need no browser: they read what :mod:`dipnb.plotting.interactive.images`
embeds (snapshots, curves, the texts the slider shows) on small synthetic results and on the
saved paper-scale ones. The browser tests open the built book (``_build/html``, made by
``make book``): each figure of :data:`FIGURES` renders; dragging the τ slider changes the image
drawn and the τ and PSNR shown, and the PSNR shown is the saved run's at that τ; hovering Fig 4
gives the error at the τ under the mouse; no console error.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from _browser import FIGURES, SHOTS, drag_slider, figure, launch_browser, open_page, tooltip_at

from dipnb.experiments.images import _snap_list
from dipnb.plotting.interactive.images import curve_steps, fig3a_explorer, fig3b_explorer, grey_image, valid_snapshots


# -- the data the figures embed (no browser) -----------------------------------------------------
def _callback_args(fig):
    slider = fig.layout.select_one({"name": f"{fig.name}-slider"})
    return slider, slider.js_property_callbacks["change:value"][0].args


def _fake_run(rng, size, steps, snap_steps, prefix=""):
    n = size * size
    err = np.linspace(2000.0, 500.0, steps + 1) + rng.uniform(0, 10, steps + 1)
    return {prefix + "error": err, prefix + "psnr": 20 * np.log10(255 * math.sqrt(n) / err),
            prefix + "snap_steps": np.array(snap_steps),
            prefix + "snapshots": rng.uniform(-20, 280, (len(snap_steps), n)).astype(np.float32),
            prefix + "lw_error": err * 1.1}


def test_snapshot_schedule_is_dense_and_keeps_both_ends():
    for steps in (0, 1, 7, 800, 1500, 10_000, 40_000):
        s = _snap_list(steps)
        assert s[0] == 0 and s[-1] == steps and s == sorted(set(s)), s
        pos = np.array([t for t in s if t > 0], dtype=float)
        assert np.all(pos[1:] / pos[:-1] <= 2.0 + 1e-12), s      # never a gap above a doubling
    assert len(_snap_list(10_000)) == 18 and len(_snap_list(800)) == 14
    assert {1, 10, 100, 1000, 10_000} <= set(_snap_list(10_000))


def test_curve_steps_grey_image_and_valid_snapshots():
    ts = curve_steps(40_000, 100, extra=[0, 7, 12_345, 50_000])
    assert ts[0] == 1 and ts[-1] == 40_000 and np.all(np.diff(ts) > 0)
    assert {7, 12_345} <= set(ts.tolist()) and 50_000 not in ts and len(ts) <= 103
    x = np.arange(16, dtype=float) * 20 - 20              # -20 ... 280 on a 4x4 image
    g = grey_image(x)
    assert g.dtype == np.uint8 and g.shape == (4, 4)
    assert g[-1, 0] == 0 and g[0, -1] == 255               # first row at the top, clipped
    assert np.array_equal(g[::-1].ravel()[1:15], np.clip(np.round(x[1:15]), 0, 255))
    with pytest.raises(ValueError):
        grey_image(np.zeros(10))
    snaps = np.ones((3, 4))
    snaps[1, 2] = np.nan
    st, sn = valid_snapshots([0, 5, 9], snaps)
    assert st.tolist() == [0, 9] and sn.shape == (2, 4)


def test_fig3a_explorer_embeds_each_snapshot_and_the_runs_values():
    rng = np.random.default_rng(0)
    size = 8
    res = {"x_bar": rng.uniform(0, 255, size * size), "y_bar": rng.uniform(0, 255, size * size),
           "noise_stds": np.array([0.0, 2.5]), "omega": 0.5}
    res.update(_fake_run(rng, size, 400, [0, 1, 10, 100, 400], "s0_"))
    res.update(_fake_run(rng, size, 100, [0, 3, 30, 100], "s1_"))
    fig = fig3a_explorer(res, points=50)
    slider, args = _callback_args(fig)
    taus = [0, 1, 3, 10, 30, 100, 400]                     # the union of both schedules
    assert slider.end == len(taus) - 1 and len(args["texts"]) == len(taus)
    for i, (_t0, snaps) in enumerate(((400, res["s0_snapshots"]), (100, res["s1_snapshots"]))):
        table = fig.layout.select_one({"name": f"fig3a-table{i}"})
        assert len(table.data["image"]) == len(snaps)
        for img, x in zip(table.data["image"], snaps):
            assert np.array_equal(img, grey_image(x))
    for k, tau in enumerate(taus):
        shown = re.findall(r"σ = ([\d.]+)</b>: τ = (\d+)[^,]*, PSNR = ([\d.]+) dB", args["texts"][k])
        assert len(shown) == 2, args["texts"][k]
        for i, (_s, t, p) in enumerate(shown):
            steps = res[f"s{i}_snap_steps"]
            assert int(t) == steps[steps <= tau].max()            # its last snapshot up to τ
            assert abs(float(p) - res[f"s{i}_psnr"][int(t)]) < 0.006
        assert f"τ = {tau} " in args["titles"][k]
    assert "end of its run" in args["texts"][-1]                # σ = 2.5 stopped at 100
    curve = fig.layout.select_one({"name": "fig3a-curve"})
    tau = np.asarray(curve.data["tau"])
    assert np.allclose(curve.data["psnr0"], res["s0_psnr"][tau])
    assert np.all(np.isnan(np.asarray(curve.data["psnr1"])[tau > 100]))


def test_fig3b_explorer_marks_tau_and_draws_bound8_only_where_defined():
    rng = np.random.default_rng(1)
    size, T = 8, 300
    res = {"x_bar": rng.uniform(0, 255, size * size), "omega": 0.1, "best_step": 40, "dp_step": 5,
           "ls_error": 600.0}
    res.update(_fake_run(rng, size, T, [0, 1, 2, 3, 6, 10, 18, 32, 56, 100, 178, T]))
    res["snapshots"][4] = np.nan                          # a snapshot a resumed run did not keep
    for b8, drawn in ((np.full(T + 1, np.nan), False), (np.linspace(9000.0, 8000.0, T + 1), True)):
        fig = fig3b_explorer(dict(res, bound8=b8), points=60)
        slider, args = _callback_args(fig)
        st = [0, 1, 2, 3, 10, 18, 32, 56, 100, 178, T]
        assert slider.end == len(st) - 1
        for k, t in enumerate(st):
            m = re.search(r"τ = (\d+)</b>, ωτ = [\d.]+: error ‖x_τ − x̄‖ = ([\d.]+), PSNR = ([\d.]+) dB",
                          args["texts"][k])
            assert int(m.group(1)) == t
            assert abs(float(m.group(2)) - res["error"][t]) < 0.06
            assert abs(float(m.group(3)) - res["psnr"][t]) < 0.006
            assert (math.isnan(args["mx"][k]) if t == 0 else args["mx"][k] == pytest.approx(0.1 * t))
        curve = fig.layout.select_one({"name": "fig3b-curve"})
        assert {40, 5, 178} <= set(np.asarray(curve.data["tau"]).tolist())   # oracle, DP, snapshots
        assert ("b8" in curve.data) is drawn
        hover = [t for t in fig.layout.select_one({"name": "fig3b-fig4"}).tools if type(t).__name__ == "HoverTool"]
        assert len(hover) == 1 and hover[0].mode == "vline"
        assert any(label == "bound (8)" for label, _ in hover[0].tooltips) is drawn


def test_saved_results_embed_all_snapshots_and_stay_light(monkeypatch):
    """The committed paper-scale results (the earlier schedule of about ten snapshots) draw as
    they are, every snapshot on the slider, and the page stays small."""
    from dipnb.experiments import load_result

    monkeypatch.setenv("DIPNB_BOOK", "1")          # as in the book: BokehJS is not inlined
    for key, make, runs in (("fig3a-paper-long", fig3a_explorer, ("s0_", "s1_")),
                            ("fig3b-fig4-paper-long", fig3b_explorer, ("",))):
        saved = load_result(key)
        if saved is None:
            pytest.skip(f"results/{key}.npz is not here")
        res = saved[0]
        fig = fig3a_explorer(res) if make is fig3a_explorer else fig3b_explorer(res)
        slider, _ = _callback_args(fig)
        n_taus = len(np.unique(np.concatenate([res[f"{p}snap_steps"] for p in runs])))
        assert slider.end == n_taus - 1
        assert len(fig._repr_html_()) < 300_000


# -- in the built book ------------------------------------------------------------------------------
browser = pytest.fixture(scope="module")(launch_browser)


def _saved(study: str) -> dict:
    """The result the chapter draws at the paper's scale (the chapter's own choice)."""
    import dipnb

    saved = dipnb.experiments.best_result(study, presets=("paper-long", "paper"))
    assert saved is not None, f"no saved {study} result: the chapter draws the quick run"
    return saved[1]


def _tooltip(page, fig, fx: float, fy: float, plot: int) -> str:
    """Hover (fx, fy) of the ``plot``-th plot of the figure; the tooltip's text ('' if none).
    Bokeh writes it inside a shadow root: ``.bk-tooltip-content`` is found through it."""
    fig.scroll_into_view_if_needed()
    box = fig.locator(".bk-Figure, .bk-Plot").nth(plot).bounding_box()
    return tooltip_at(page, (box["x"] + fx * box["width"], box["y"] + fy * box["height"]))


def _title_tau(fig) -> int:
    """τ in the slider's title (Bokeh writes widgets in shadow roots: found through them)."""
    return int(re.search(r"τ = (\d+) +\(ωτ", fig.locator(".bk-slider-title").inner_text()).group(1))


def _info(fig) -> str:
    """The line of text under the slider."""
    return fig.locator("text=/PSNR = /").first.inner_text()


def test_fig3a_slider_moves_the_images_and_the_psnr_is_the_runs(browser):
    R = _saved("fig3a")
    page, errors, _ = open_page(browser, FIGURES["fig3a"])
    fig = figure(page, "fig3a")
    fig.scroll_into_view_if_needed()          # the mouse acts on what is in view
    images = [fig.locator(".bk-Figure, .bk-Plot").nth(i) for i in (0, 1)]
    before_tau, before = _title_tau(fig), [im.screenshot() for im in images]
    SHOTS.mkdir(parents=True, exist_ok=True)
    fig.screenshot(path=str(SHOTS / "interactive-fig3a-before.png"))
    drag_slider(page, fig, dx=180)
    after_tau = _title_tau(fig)
    fig.screenshot(path=str(SHOTS / "interactive-fig3a-after.png"))
    assert after_tau > before_tau, (before_tau, after_tau)
    changed = [im.screenshot() != b for im, b in zip(images, before)]
    assert all(changed), f"images changed: {changed}"
    shown = re.findall(r"σ = ([\d.]+): τ = (\d+)[^,]*, PSNR = ([\d.]+) dB", _info(fig))
    assert len(shown) == len(R["noise_stds"]), _info(fig)
    for i, (s, t, p) in enumerate(shown):
        assert float(s) == float(R["noise_stds"][i])
        t = int(t)
        assert t in R[f"s{i}_snap_steps"] and t <= after_tau
        assert abs(float(p) - float(R[f"s{i}_psnr"][t])) < 0.006, (s, t, p)
    assert not errors, errors[:3]
    page.close()


def test_fig3b_slider_and_fig4_hover_show_the_runs_values(browser):
    R = _saved("fig3b-fig4")
    page, errors, _ = open_page(browser, FIGURES["fig3b"])
    fig = figure(page, "fig3b")
    fig.scroll_into_view_if_needed()          # the mouse acts on what is in view
    image = fig.locator(".bk-Figure, .bk-Plot").nth(0)
    before_tau, before = _title_tau(fig), image.screenshot()
    drag_slider(page, fig, dx=-150)
    after_tau = _title_tau(fig)
    SHOTS.mkdir(parents=True, exist_ok=True)
    fig.screenshot(path=str(SHOTS / "interactive-fig3b-after.png"))
    assert after_tau < before_tau, (before_tau, after_tau)
    changed = image.screenshot() != before
    assert changed, "the image did not change"
    m = re.search(r"τ = (\d+), ωτ = [\d.]+: error ‖x_τ − x̄‖ = ([\d.]+), PSNR = ([\d.]+) dB", _info(fig))
    t = int(m.group(1))
    assert t == after_tau and t in R["snap_steps"]
    assert abs(float(m.group(2)) - float(R["error"][t])) < 0.06
    assert abs(float(m.group(3)) - float(R["psnr"][t])) < 0.006
    # Fig 4: the tooltip along the error gives the run's error at the τ under the mouse
    tip = _tooltip(page, fig, 0.45, 0.5, plot=1)
    assert tip, "no tooltip over Fig 4"
    t = int(re.search(r"τ:\s*(\d+)", tip).group(1))
    err = float(re.search(r"error ‖x_τ − x̄‖:\s*([\d.]+)", tip).group(1))
    assert abs(err - float(R["error"][t])) < 0.06, tip
    assert "Landweber" in tip
    assert not errors, errors[:3]
    page.close()


def test_fig4_of_the_1_over_L0_run_shows_bound8_on_hover(browser):
    import dipnb

    ref = dipnb.experiments.load_result("fig3b-fig4-paper")
    assert ref is not None, "results/fig3b-fig4-paper.npz is missing"
    b8 = np.asarray(ref[0]["bound8"])
    page, errors, _ = open_page(browser, FIGURES["fig3b-ref"])
    fig = figure(page, "fig3b-ref")
    tip = _tooltip(page, fig, 0.3, 0.5, plot=1)
    t = int(re.search(r"τ:\s*(\d+)", tip).group(1))
    bound = float(re.search(r"bound \(8\):\s*([\d.]+)", tip).group(1))
    assert abs(bound - float(b8[t])) < 0.06, tip
    assert not errors, errors[:3]
    page.close()
