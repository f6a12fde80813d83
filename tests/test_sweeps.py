"""Tests of the sweeps of Fig 1, Fig 2 and the step-size threshold (dipnb.experiments.fig1, .fig2),
their comparison tables (dipnb.report.sweeps) and figures (dipnb.plotting.sweeps)."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb.analysis import convergence_band, failure_threshold
from dipnb.experiments import FIG1_PRESETS, FIG2_PRESETS, GAMMA_THRESHOLD_PRESETS, PAPER

TINY1 = dict(n=3, ms=[1, 2], log10_ks_a=[1.0, 2.0], log10_ks_b=[1.0, 1.5], runs=3, steps=400, gamma=1.0,
             tol=1e-10, d=16, nu1=2.0)
TINY2 = dict(ns=[4, 6], m_ratio=0.5, k=100, log10_gammas=[1.0, 4.0], runs=3, steps=1500, tol=1e-10)
TINYG = dict(n=3, m=2, log10_ks=[1.5, 2.0], log10_gammas=[0.0, 4.0], runs=3, steps=1500, tol=1e-10)


# --- thresholds ----------------------------------------------------------------------------------

def test_failure_threshold_is_first_failure_after_success():
    g = 10.0 ** np.arange(6)
    assert failure_threshold(g, [0.0, 0.2, 0.8, 1.0, 0.4, 0.0]) == g[4]
    # an early failure (too slow) before the first success is not the threshold
    assert failure_threshold(g, [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]) == math.inf
    assert math.isnan(failure_threshold(g, [0.0] * 6))
    assert convergence_band(g, [0.0, 0.6, 1.0, 0.3, 0.0, 0.0]) == (g[1], g[3])


def test_failure_threshold_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same length"):
        failure_threshold([1.0, 2.0], [0.5])


# --- networks and the two halves of Fig 1 -----------------------------------------------------------

def test_draw_networks_are_the_networks_of_condition4_sweep():
    n, k, runs = 4, 50, 5
    pb = dipnb.gaussian_problems(n, [2], runs, seed=3)[0]
    net = dipnb.core.network.draw_networks(runs, n, k, seed=3)
    assert net.d == 1 and torch.allclose(net.u_norm2, torch.ones(runs, dtype=net.u_norm2.dtype))
    direct = dipnb.condition4_ratio(net, pb)["ratio"].numpy()
    swept = dipnb.experiments.condition4_sweep([pb], [k], seed=3)["ratio"][0, 0]
    np.testing.assert_allclose(direct, swept, rtol=1e-12)
    other = dipnb.core.network.draw_networks(runs, n, k, seed=4)
    assert not torch.equal(other.V0, net.V0)


def test_fig1_sweep_shapes_and_consistency():
    r = dipnb.experiments.fig1_sweep(**TINY1)
    P, R = 2, 3
    assert r["ratio_a"].shape == (P, 2, R) and r["converged"].shape == (P, 2, R)
    np.testing.assert_array_equal(r["prob_b"], r["converged"].mean(-1))
    np.testing.assert_array_equal(r["prob_a"], dipnb.analysis.condition4_probability(r["ratio_a"], 2.0))
    # success means reaching the tolerance, and a converged run stopped before the budget
    assert np.all(r["loss"][r["converged"]] <= TINY1["tol"])
    assert np.all(r["loss"][~r["converged"]] > TINY1["tol"])
    assert np.all(r["stop_step"][r["converged"]] < TINY1["steps"])
    # the bound is Corollary III.2's with C = C' = 1 on the same problems
    pbs = dipnb.gaussian_problems(3, [1, 2], 3, seed=0)
    np.testing.assert_allclose(r["bound"][1], dipnb.corollary_width(pbs[1], 16).expand(3).numpy())
    # at k = 10 (the first width of both grids) 1a and 1b see the same networks
    np.testing.assert_allclose(r["ratio_b"][:, 0], r["ratio_a"][:, 0], rtol=1e-12)


def test_fig1_without_steps_nothing_converges():
    r = dipnb.experiments.fig1_sweep(**dict(TINY1, steps=0))
    assert not r["converged"].any()


# --- Fig 2 and the threshold ----------------------------------------------------------------------

def test_fig2_small_steps_converge_huge_steps_fail():
    r = dipnb.experiments.fig2_sweep(**TINY2)
    assert list(r["m"]) == [2, 3]
    assert r["converged"].shape == (2, 2, 3)
    assert r["frac_conv"][:, 0].min() >= 2 / 3          # gamma = 10: converges for these small problems
    assert r["frac_conv"][:, 1].max() == 0               # gamma = 10^4: far beyond any threshold
    np.testing.assert_array_equal(r["threshold"], [1e4, 1e4])
    # the linearised critical step and (10) follow from ||A|| and the residual at theta_0
    np.testing.assert_allclose(r["gamma_lin"], 2 / (dipnb.get_activation("sigmoid").C_dphi ** 2 * r["A_norm"] ** 2))
    assert np.all(r["L0"] > 0) and np.all(r["L_eq10"] > 0)


def test_gamma_threshold_problems_do_not_depend_on_k():
    r = dipnb.experiments.gamma_threshold_sweep(**TINYG)
    np.testing.assert_array_equal(r["A_norm"][0], r["A_norm"][1])     # same A at every width
    assert not np.array_equal(r["residual0"][0], r["residual0"][1])   # fresh networks per width
    assert list(r["ks"]) == [32, 100]


def test_sweeps_resume_from_cache(tmp_path, monkeypatch):
    first = dipnb.experiments.gamma_threshold_sweep(**TINYG, cache=tmp_path)
    # 2 widths x (a setup cell + one cell per gamma of the grid of 2)
    assert len(list(tmp_path.glob("gamma-threshold-*.npz"))) == 2 * (1 + 2)

    def boom(*a, **k):
        raise AssertionError("a cached cell was recomputed")

    monkeypatch.setattr(dipnb.experiments.fig2, "sweep", boom)
    again = dipnb.experiments.gamma_threshold_sweep(**TINYG, cache=tmp_path)
    np.testing.assert_array_equal(first["converged"], again["converged"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(m_ratio=0.0), "m_ratio"),
    (dict(log10_gammas=[1.0, 0.5]), "increasing"),
    (dict(k=3), "k"),
])
def test_fig2_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dipnb.experiments.fig2_sweep(**dict(TINY2, **kwargs))


# --- presets, registration, tables ------------------------------------------------------------------

@pytest.mark.parametrize("presets", [FIG1_PRESETS, FIG2_PRESETS, GAMMA_THRESHOLD_PRESETS])
def test_paper_presets_keep_the_papers_runs_steps_and_tolerance(presets):
    assert {"quick", "paper", "paper-cpu"} <= set(presets)
    for name in ("paper", "paper-cpu"):
        p = presets[name]
        assert (p["runs"], p["steps"], p["tol"]) == (PAPER["runs"], PAPER["steps"], PAPER["tol"])
    assert presets["quick"]["steps"] < PAPER["steps"]
    assert FIG2_PRESETS["paper"]["k"] == PAPER["fig2_k"]
    assert FIG1_PRESETS["paper"]["n"] == PAPER["n_fig1"]


def test_registered_experiment_saves_a_result_the_table_reads(tmp_path, monkeypatch):
    monkeypatch.setitem(dipnb.experiments.EXPERIMENTS, "gamma-threshold", dipnb.experiments.EXPERIMENTS["gamma-threshold"])
    monkeypatch.setitem(GAMMA_THRESHOLD_PRESETS, "quick", TINYG)
    path = dipnb.experiments.run("gamma-threshold", "quick", out=tmp_path, progress=False)
    arrays, meta = dipnb.experiments.load_result("gamma-threshold-quick", tmp_path)
    assert path.exists() and meta["parameters"]["runs"] == 3
    rows = dipnb.report.sweeps.gamma_threshold_table(arrays)
    # 10^4 is not within a factor 2 of 10^1.6; at 3 runs and 1500 steps it is not the paper's setting
    assert rows[0].verdict == dipnb.report.NOT_TESTED and "3 runs instead of 50" in rows[0].setting
    assert rows[0].command == "python -m dipnb run gamma-threshold --preset paper-cpu"
    assert "10^4.00" in rows[0]["we measure"]
    md = str(dipnb.report.ClaimTable(rows))
    assert md.splitlines()[0] == "| claim | paper says | we measure | agree? |"
    assert len(md.splitlines()) == len(rows) + 2
    html = dipnb.report.ClaimTable(rows)._repr_html_()
    assert html.count("<tr>") == len(rows) + 1
    with pytest.raises(ValueError, match="agree"):
        dipnb.report.ClaimTable([{"claim": "x", "paper says": "y", "we measure": "z"}])


def _gamma_result(log10_thresholds, ks=(100, 1000, 10000)):
    """A synthetic result (at the paper's setting) where every run converges below its width's
    threshold and fails above."""
    K = len(ks)
    lg = np.round(np.arange(0.5, 2.51, 0.1), 3)
    frac = np.array([(lg < t - 1e-9).astype(float) for t in log10_thresholds])
    return {"ks": np.array(ks), "threshold": 10.0 ** np.array(log10_thresholds), "n": 5, "m": 3,
            "runs": 50, "steps": 100_000, "tol": 1e-14,
            "gammas": 10.0 ** lg, "frac_conv": frac, "L0": np.full((K, 4), 0.7),
            "L_eq10": np.array([[1.0], [0.3], [0.1]])[:K].repeat(4, 1)}


def test_gamma_threshold_table_verdicts():
    R = dipnb.report
    ok = R.sweeps.gamma_threshold_table(_gamma_result([1.6, 1.7, 1.6]))
    verdict = {r.key: r.verdict for r in ok}
    # every reading: at 10^1.6 and independent of k (a synthetic result at the paper's setting,
    # where every run fails at once, so that the onset, 90% and half levels coincide)
    assert [verdict[k] for k in ("threshold.onset", "threshold.onset_vs_k")] == [R.AGREES] * 2
    assert all(r.robust for r in ok)
    assert verdict["threshold.eq10"] == R.DISAGREES                          # L0 flat in k
    far = R.sweeps.gamma_threshold_table(_gamma_result([2.0, 1.6, 1.2]))
    assert [r.verdict for r in far[:2]] == [R.DISAGREES] * 2 and far[0].robust and far[1].robust
    assert "highest 10^2.00 (k = 100)" in far[1]["we measure"]


def _fig2_result(thresholds):
    """Every run converges below its row's threshold and fails from it (all readings coincide)."""
    g = 2.0 ** np.arange(0, 9)
    frac = np.array([(g < t).astype(float) for t in thresholds])
    return {"ns": np.array([2, 5, 10]), "A_norm": np.array([[2.0], [4.0], [8.0]]), "gammas": g, "frac_conv": frac}


def test_fig2_table_verdicts():
    R = dipnb.report
    down = R.sweeps.fig2_table(_fig2_result([64.0, 16.0, 4.0]))                      # γ* ∝ 1/||A||²
    assert down[0].verdict == R.AGREES and down[1].verdict == R.BEYOND
    assert down[1]["agree?"] == "beyond the paper: consistent with −1 ± 0.3 where fewer than 90% converge"
    up = R.sweeps.fig2_table(_fig2_result([4.0, 16.0, 64.0]))
    assert up[0].verdict == R.DISAGREES and up[0].robust
    assert up[1]["agree?"] == "beyond the paper: not consistent with −1 ± 0.3 where fewer than 90% converge"


def test_fig1_table_reads_the_sweep():
    r = dipnb.experiments.fig1_sweep(**dict(TINY1, ms=[2], log10_ks_b=[1.0, 2.0, 3.0]))
    rows = dipnb.report.sweeps.fig1_table(r)
    claims = [row["claim"] for row in rows]
    assert any("10^2.5" in c for c in claims) and any("10^6.8" in c for c in claims)
    b = math.log10(float(np.median(r["bound"][0])))
    assert f"10^{b:.2f}" in rows[1]["we measure"]
    assert all(row.verdict in dipnb.report.VERDICTS for row in rows)
    # 3 runs, 400 steps: the convergence claim is not tested at the paper's setting, and says so
    assert rows[0].verdict == dipnb.report.NOT_TESTED and "3 runs instead of 50" in rows[0].setting
    assert rows[0].command == "python -m dipnb run fig1 --preset paper-cpu"


def test_plots_return_figures():
    import matplotlib
    matplotlib.use("Agg")
    from dipnb.plotting import sweeps as ps

    f1 = ps.plot_fig1(dipnb.experiments.fig1_sweep(**TINY1))
    f2 = ps.plot_fig2(dipnb.experiments.fig2_sweep(**TINY2))
    f3 = ps.plot_gamma_threshold(dipnb.experiments.gamma_threshold_sweep(**TINYG))
    assert len(f1.axes) == 3 and len(f2.axes) == 2 and len(f3.axes) == 2
    import matplotlib.pyplot as plt
    plt.close("all")


def test_gamma_cells_skip_above_two_failed_cells_only_above_the_band(tmp_path):
    """The shortcut changes no threshold: it skips only γ above two consecutive all-failed cells
    that lie above a γ where half the runs converged, and records them as not run."""
    grid = dict(TINYG, log10_ks=[2.0], log10_gammas=[0.0, 0.5, 3.5, 4.0, 4.5, 5.0])
    r = dipnb.experiments.gamma_threshold_sweep(**grid, cache=tmp_path)
    ran, frac = r["ran"][0], r["frac_conv"][0]
    assert frac[0] >= 0.5 and frac[2] == 0 and frac[3] == 0       # converges at small γ, fails from 10^3.5
    assert ran.tolist() == [True, True, True, True, False, False]
    full = dipnb.experiments.gamma_threshold_sweep(**dict(grid, log10_gammas=grid["log10_gammas"][:4]))
    assert r["threshold"][0] == full["threshold"][0] == 10 ** 3.5
    # a grid that starts below the band (too slow for the budget) skips nothing there
    slow = dipnb.experiments.gamma_threshold_sweep(**dict(TINYG, log10_ks=[2.0], steps=3,
                                                          log10_gammas=[-3.0, -2.5, -2.0, 0.0]))
    assert slow["ran"].all() and slow["frac_conv"][0, :3].max() == 0


def test_fig1_cells_are_one_per_m_and_k(tmp_path):
    r = dipnb.experiments.fig1_sweep(**TINY1, cache=tmp_path)
    assert len(list(tmp_path.glob("fig1b-*.npz"))) == len(TINY1["ms"]) * len(TINY1["log10_ks_b"])
    again = dipnb.experiments.fig1_sweep(**TINY1, cache=tmp_path)        # read back, same numbers
    np.testing.assert_array_equal(r["converged"], again["converged"])
    np.testing.assert_array_equal(r["stop_step"], again["stop_step"])


def test_failed_run_losses_and_onset_on_synthetic_sweep():
    """Failed runs ending above their initial loss are counted as such (divergence, not a
    stall); the onset is the first gamma where a run is lost against the smallest gamma."""
    from dipnb.analysis import failed_run_losses, log10_onset_at

    conv = np.ones((1, 4, 4), bool)
    conv[0, 2, :2] = False                   # two runs fail at the third gamma
    conv[0, 3, :] = False                    # all fail at the fourth
    loss = np.zeros((1, 4, 4))
    loss[0, 2, :2] = [50.0, 0.5]             # initial loss 2: one ends 25x above, one below
    loss[0, 3, :] = [1.0, 3.0, 30.0, 1e-3]
    res = {"converged": conv, "loss": loss, "residual0": np.full((1, 4), 2.0), "ran": np.ones((1, 4), bool)}
    out = failed_run_losses(res)
    assert out["failed"] == 6
    assert out["above"] == pytest.approx(3 / 6) and out["above10"] == pytest.approx(2 / 6)
    np.testing.assert_allclose(out["cell_above"][0], [np.nan, np.nan, 0.5, 0.5])
    g = 10.0 ** np.arange(4)
    assert log10_onset_at(g, conv[0]) == 2.0
    assert log10_onset_at(g, np.ones((4, 5), bool)) == math.inf
