"""Chapter 04's explorer (issue 23): the grid the registered experiment ``theorem-explorer``
computes, that a point of it is what ``theorem_run`` gives there, what the figure embeds in
the page, and that bad inputs name the bad value. Fast: the quick grid, no browser
(``tests/test_browser_theorem.py`` drives the figure in the built book)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dipnb.experiments import THEOREM_EXPLORER_PRESETS, get, load_result, tau_samples, theorem_explorer_grid, theorem_run
from dipnb.plotting.interactive import Interactive
from dipnb.plotting.interactive.theorem import EXPLORER_AXES, explorer_index, explorer_text, theorem_explorer

QUICK = THEOREM_EXPLORER_PRESETS["quick"]
PAPER = THEOREM_EXPLORER_PRESETS["paper"]
AXES = [key for _, key, _ in EXPLORER_AXES]       # ks, ms, gamma_Ls, noises


@pytest.fixture(scope="module")
def quick():
    torch.set_num_threads(1)
    return theorem_explorer_grid(**QUICK)


def _axes(res):
    return {name: [v.item() for v in np.asarray(res[key])] for name, key, _ in EXPLORER_AXES}


def test_registered_with_both_presets_and_the_papers_grid():
    exp = get("theorem-explorer")
    assert set(exp.presets) == {"quick", "paper"} and exp.chapter == "04_theorem_iii1"
    assert tuple(PAPER["ks"]) == (50, 200, 1000, 5000, 20_000, 50_000)
    assert tuple(PAPER["ms"]) == (1, 2, 3, 4)
    g, s = PAPER["gamma_Ls"], PAPER["noises"]
    assert min(g) == 0.1 and max(g) == 1.9 and any(1 < x < 2 for x in g) and 0.5 in g and 1.0 in g
    assert min(s) == 0.0 and max(s) == 1.0 and len(s) >= 3


def test_quick_grid_shape(quick):
    K, M, G, N = (len(QUICK[key]) for key in AXES)
    tau = quick["tau"]
    assert tau[0] == 0 and tau[-1] == QUICK["steps"] and np.all(np.diff(tau) > 0)
    np.testing.assert_array_equal(tau, tau_samples(QUICK["steps"], QUICK["points"]))
    for key in ("loss", "loss_bound", "param", "param_bound"):
        assert quick[key].shape == (K, M, G, N, tau.size), key
    for key in ("R", "R_prime", "cond4", "step_ok", "final_loss", "dist_sigma", "stop_step"):
        assert quick[key].shape == (K, M, G, N), key
    for key in AXES:
        np.testing.assert_array_equal(quick[key], QUICK[key])
    # the quick grid exercises both answers of each hypothesis
    assert quick["cond4"].any() and not quick["cond4"].all()
    assert quick["step_ok"].any() and not quick["step_ok"].all()
    # (6) is exact at tau = 0 and (7) starts at R'
    np.testing.assert_allclose(quick["loss_bound"][..., 0], quick["loss"][..., 0], rtol=1e-12)
    np.testing.assert_allclose(quick["param_bound"][..., 0], quick["R_prime"], rtol=1e-12)


@pytest.mark.parametrize("point", [(1, 1, 1, 0), (0, 1, 0, 1)])   # gamma_L != noise: axes not swapped
def test_a_grid_point_is_what_theorem_run_gives(quick, point):
    ik, im, ig, i_n = point
    k, m = int(QUICK["ks"][ik]), int(QUICK["ms"][im])
    gl, noise = float(QUICK["gamma_Ls"][ig]), float(QUICK["noises"][i_n])
    # the chapter's former widget took L_steps=100: with the certified L it changes nothing
    r = theorem_run(n=2, m=m, k=k, gamma_L=gl, noise_std=noise, runs=1, steps=QUICK["steps"],
                    ref_steps=QUICK["ref_steps"], L_steps=100, seed=0, L_rule="certified")
    assert quick["R"][point] == pytest.approx(r.th.R[0].item(), rel=1e-12)
    assert quick["R_prime"][point] == pytest.approx(r.th.R_prime[0].item(), rel=1e-12)
    assert bool(quick["cond4"][point]) == bool(r.th.condition_4[0])
    assert bool(quick["step_ok"][point]) == bool(r.th.step_ok[0])
    assert quick["final_loss"][point] == pytest.approx(r.traj.loss[-1, 0].item(), rel=1e-9, abs=1e-300)
    tau = quick["tau"]
    kept = tau <= int(r.traj.stop_step[0])
    assert kept.sum() > 10
    np.testing.assert_allclose(quick["loss"][point][kept], r.traj.loss[tau[kept], 0].numpy(), rtol=1e-9)
    assert np.isnan(quick["loss"][point][~kept]).all()
    np.testing.assert_allclose(quick["param_bound"][point], r.th.param_bound(tau)[:, 0].numpy(),
                               rtol=1e-12)


def test_the_figure_embeds_every_point_in_grid_order(quick):
    from bokeh.models import CategoricalSlider, ColumnDataSource, CustomJS, Div

    fig = theorem_explorer(quick)
    assert isinstance(fig, Interactive) and fig.name == "theorem-explorer"
    lay = fig.layout
    table = lay.select_one({"name": "theorem-explorer-grid", "type": ColumnDataSource}).data
    cur = lay.select_one({"name": "theorem-explorer-current", "type": ColumnDataSource}).data
    sliders = [lay.select_one({"name": f"theorem-explorer-{name}", "type": CategoricalSlider})
               for name, _, _ in EXPLORER_AXES]
    axes = _axes(quick)
    for s, (name, _, _) in zip(sliders, EXPLORER_AXES):
        assert s.categories == [f"{v:g}" for v in axes[name]], name
    # the page's index (C order over k, m, gamma_L, noise) is the result's flat index: point i's
    # curves are entries i*T ... (i+1)*T - 1 of the flat columns
    shape, T = quick["R"].shape, quick["tau"].size
    cb = sliders[0].js_property_callbacks["change:value"][0]
    for i, idx in enumerate(np.ndindex(*shape)):
        assert cb.args["Rs"][i] == quick["R"][idx]
        np.testing.assert_allclose(table["pb"][i * T:(i + 1) * T], quick["param_bound"][idx], rtol=1e-6)
        pt = {name: axes[name][j] for (name, _, _), j in zip(EXPLORER_AXES, idx)}
        assert explorer_index(axes, pt) == i
    # it starts at the point nearest the chapter's problem, and shows that point's text
    start = {"k": 5000, "m": 2, "gamma_L": 0.5, "noise": 0.0}
    i0 = explorer_index(axes, start)
    assert [s.value for s in sliders] == ["5000", "2", "0.5", "0"]
    np.testing.assert_allclose(cur["lb"], table["lb"][i0 * T:(i0 + 1) * T])
    assert set(table) == {"loss", "lb", "par", "pb"} and len(table["loss"]) == quick["R"].size * T
    idx0 = np.unravel_index(i0, shape)
    info = lay.select_one({"name": "theorem-explorer-info", "type": Div})
    want = explorer_text(start, quick["R"][idx0], quick["R_prime"][idx0], bool(quick["cond4"][idx0]),
                         bool(quick["step_ok"][idx0]), quick["final_loss"][idx0])
    assert info.text == want and f"R′ = {quick['R_prime'][idx0]:.3g}" in want
    # one callback, shared by the four sliders, holding one text per point
    cbs = {id(cb) for s in sliders for cb in s.js_property_callbacks["change:value"]}
    assert len(cbs) == 1
    assert isinstance(cb, CustomJS) and len(cb.args["text"]) == int(np.prod(shape))
    assert ("holds" in cb.args["text"][0]) == bool(quick["cond4"].ravel()[0])


def test_the_saved_paper_grid_matches_its_preset():
    saved = load_result("theorem-explorer-paper")
    if saved is None:
        pytest.skip("results/theorem-explorer-paper.npz not saved")
    arrays, meta = saved
    assert meta["experiment"] == "theorem-explorer" and meta["preset"] == "paper"
    for key in AXES:
        np.testing.assert_array_equal(arrays[key], PAPER[key])
    shape = tuple(len(PAPER[key]) for key in AXES)
    assert arrays["loss"].shape == shape + (tau_samples(PAPER["steps"], PAPER["points"]).size,)
    assert arrays["R_prime"].shape == shape


@pytest.mark.parametrize("kwargs, words", [
    (dict(ks=(1,)), ["k", "got 1"]),
    (dict(ks=(5000, 50)), ["ks", "increasing", "[5000, 50]"]),
    (dict(ms=(0,)), ["m", "got 0"]),
    (dict(gamma_Ls=(0.5, 2.5)), ["gamma_L", "2.5"]),
    (dict(noises=(-0.1,)), ["noise", "-0.1"]),
    (dict(noises=()), ["noises", "at least one"]),
    (dict(steps=0), ["steps", "got 0"]),
    (dict(points=2), ["points", "got 2"]),
    (dict(device="cuda"), ["cpu", "'cuda'"]),
])
def test_bad_grid_inputs_name_the_bad_value(kwargs, words):
    with pytest.raises(ValueError) as e:
        theorem_explorer_grid(**{**QUICK, **kwargs})
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_bad_figure_inputs_name_the_bad_value(quick):
    with pytest.raises(ValueError, match=r"k=123 is not on the grid; accepted: \[50, 5000\]"):
        theorem_explorer(quick, start={"k": 123, "m": 2, "gamma_L": 0.5, "noise": 0.0})
    with pytest.raises(ValueError, match="start has no 'noise'"):
        theorem_explorer(quick, start={"k": 50, "m": 2, "gamma_L": 0.5})
    with pytest.raises(ValueError, match="no 'gamma_Ls'"):
        theorem_explorer({key: v for key, v in quick.items() if key != "gamma_Ls"})
    bad = dict(quick, loss=quick["loss"][..., :-1])
    with pytest.raises(ValueError, match=r"loss has shape \(2, 2, 2, 2, \d+\), expected"):
        theorem_explorer(bad)
    with pytest.raises(ValueError, match="height must be at least 100 px, got 20"):
        theorem_explorer(quick, height=20)


def test_run_saves_the_grid_with_its_provenance_and_resumes_after_ctrl_c(tmp_path, monkeypatch):
    from dipnb.experiments import Interrupted, explorer, run

    tiny = dict(QUICK, ks=(50,), ms=(1, 2), gamma_Ls=(0.5,), noises=(0.0,), steps=20, ref_steps=50)
    monkeypatch.setitem(THEOREM_EXPLORER_PRESETS, "quick", tiny)
    original, calls = explorer.theorem_run, []

    def ctrl_c_at_second_call(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*a, **kw)

    with monkeypatch.context() as m:
        m.setattr(explorer, "theorem_run", ctrl_c_at_second_call)
        with pytest.raises(Interrupted, match="1 of 2 cells of 'theorem-explorer' are saved"):
            run("theorem-explorer", "quick", out=tmp_path, progress=False)
    path = run("theorem-explorer", "quick", out=tmp_path, progress=False)     # resumes
    arrays, meta = load_result(path.stem, tmp_path)
    assert meta["experiment"] == "theorem-explorer" and meta["preset"] == "quick"
    assert meta["parameters"]["ks"] == [50] and "wall_time_s" in meta and "torch" in meta
    assert arrays["R"].shape == (1, 2, 1, 1) and arrays["loss"].shape[-1] == arrays["tau"].size
