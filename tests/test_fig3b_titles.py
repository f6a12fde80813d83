"""The snapshot panel of Fig 3b (dipnb.plotting.plot_fig3b): no two panel titles overlap at
the book's figure width, on the saved paper-scale result and on a longer synthetic run."""
import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import dipnb  # noqa: E402
from dipnb.plotting.style import PAGE_WIDTH  # noqa: E402


def overlapping_titles(fig):
    """Pairs of axis titles whose rendered bounding boxes (in pixels) intersect."""
    fig.canvas.draw()
    boxes = [(ax.get_title(), ax.title.get_window_extent()) for ax in fig.axes if ax.get_title()]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]


def check_fig3b(res):
    dipnb.plotting.setup_style()
    fig = dipnb.plotting.plot_fig3b(res)
    try:
        assert fig.get_size_inches()[0] <= PAGE_WIDTH + 1e-9
        clash = overlapping_titles(fig)
        assert not clash, f"overlapping titles: {clash}"
        return [ax.get_title() for ax in fig.axes]
    finally:
        plt.close(fig)


def test_the_overlap_check_catches_an_overlap():
    fig, axes = plt.subplots(1, 2, figsize=(2.0, 1.0))
    axes[0].set_title("a title far wider than its panel")
    axes[1].set_title("another title far wider than its panel")
    assert overlapping_titles(fig)
    plt.close(fig)


def test_fig3b_titles_do_not_overlap_on_the_saved_paper_long_run():
    saved = dipnb.experiments.load_result("fig3b-fig4-paper-long")
    if saved is None:
        pytest.skip("no results/fig3b-fig4-paper-long.npz")
    titles = check_fig3b(saved[0])
    assert any("10000" in t for t in titles)          # the widest label of that run is drawn


def test_fig3b_titles_do_not_overlap_on_a_longer_run():
    # snapshots to tau = 10^5 with a large omega: the longest titles the runs can produce
    rng = np.random.default_rng(0)
    steps = np.array([0, 1, 10, 100, 1000, 10_000, 30_000, 100_000])
    x_bar = rng.uniform(0, 255, 64 * 64)
    res = {"snap_steps": steps, "x_bar": x_bar, "y": rng.uniform(0, 255, 64 * 64),
           "snapshots": x_bar + rng.normal(0, 30, (len(steps), 64 * 64)), "omega": 0.987}
    titles = check_fig3b(res)
    assert any("100000" in t for t in titles)
