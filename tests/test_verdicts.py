"""The verdict rules (the findings page, "How a verdict is decided") on synthetic data, where the right answer is known."""
import math

import numpy as np
import pytest

from dipnb import analysis
from dipnb.report import AGREES, DISAGREES, NOT_TESTABLE, WITHIN, decide, decide_direction


def test_a_p1_width_within_half_a_decade_agrees():
    # the paper reads k >= 10^2.5 off a heat map; all runs converge from 10^2.0 in ours
    assert decide(2.0, 2.5, tolerance=0.5, interval=(1.9, 2.2), resolution=0.25) == AGREES
    assert decide(3.2, 2.5, tolerance=0.5, interval=(3.1, 3.3), resolution=0.25) == DISAGREES
    # 0.6 decades off: more than the tolerance, less than it plus half a grid step
    assert decide(3.1, 2.5, tolerance=0.5, interval=(3.0, 3.2), resolution=0.25) == WITHIN


def test_a_difference_inside_the_interval_is_never_disagrees():
    rng = np.random.default_rng(0)
    for _ in range(500):
        paper = rng.uniform(-3, 3)
        lo, hi = sorted(rng.uniform(-4, 4, 2))
        measured = rng.uniform(lo, hi)
        if lo <= paper <= hi:
            assert decide(measured, paper, tolerance=0.1, interval=(lo, hi)) != DISAGREES


def test_half_a_grid_step_widens_the_interval():
    assert decide(3.0, 2.5, tolerance=0.3, interval=(2.9, 3.1), resolution=0.0) == DISAGREES
    assert decide(3.0, 2.5, tolerance=0.3, interval=(2.9, 3.1), resolution=0.5) == WITHIN


def test_no_measurement_is_not_a_disagreement():
    assert decide(math.nan, 2.5, tolerance=0.5) == NOT_TESTABLE
    assert decide(None, 2.5, tolerance=0.5) == NOT_TESTABLE


def test_direction():
    tight = [(v - 0.05, v + 0.05) for v in (2.5, 2.0, 1.5)]
    assert decide_direction([2.5, 2.0, 1.5], tight) == AGREES
    assert decide_direction([1.5, 2.0, 2.5], [(v - 0.05, v + 0.05) for v in (1.5, 2.0, 2.5)]) == DISAGREES
    # estimates that go the claimed way, but overlapping intervals: the data cannot tell
    assert decide_direction([2.5, 2.4], [(2.0, 3.0), (2.0, 2.8)]) == WITHIN
    # one significant step the other way is a disagreement even if the ends agree
    assert decide_direction([3.0, 3.5, 1.0], [(2.95, 3.05), (3.45, 3.55), (0.95, 1.05)]) == DISAGREES
    assert decide_direction([2.0], [(1.0, 3.0)]) == NOT_TESTABLE
    assert decide_direction([1.0, 2.0], decreasing=False) == AGREES


def test_wilson_interval():
    lo, hi = analysis.wilson_interval(50, 50)
    assert hi == 1.0 and lo == pytest.approx(0.9287, abs=1e-4)          # 50 of 50 is not "exactly 1"
    lo, hi = analysis.wilson_interval(25, 50)
    assert (lo, hi) == pytest.approx((0.3664, 0.6336), abs=1e-4)       # about ±0.13 at p = 1/2
    with pytest.raises(ValueError, match="successes <= trials"):
        analysis.wilson_interval(51, 50)


def test_bootstrap_of_a_width_covers_the_estimate_and_is_reproducible():
    ks = [10, 100, 1000, 10_000]
    conv = np.array([[0] * 50, [1] * 20 + [0] * 30, [1] * 45 + [0] * 5, [1] * 50], dtype=bool)
    stat = lambda c: analysis.log10_width_at(ks, c, 0.98)          # noqa: E731
    est, lo, hi = analysis.bootstrap(stat, conv, reps=300, seed=1)
    assert lo <= est <= hi and est == pytest.approx(math.log10(ks[2]) + (0.98 - 0.9) / 0.1)
    assert analysis.bootstrap(stat, conv, reps=300, seed=1) == (est, lo, hi)
    # a level never reached on the grid: the upper end of the interval is infinite
    none = np.zeros((4, 50), dtype=bool)
    e2, lo2, hi2 = analysis.bootstrap(stat, none, reps=50)
    assert math.isnan(e2) and hi2 == math.inf


def test_threshold_reading():
    g = 10.0 ** np.arange(0, 3.01, 0.5)
    conv = np.array([[1] * 10] * 4 + [[0] * 10] * 3, dtype=bool)        # fails from 10^2.0
    assert analysis.log10_threshold_at(g, conv) == pytest.approx(2.0)
    assert analysis.log10_threshold_at(g, np.ones((7, 10), bool)) == math.inf


def _synthetic_fig1(widths, runs=50, sigma_bad=0.01):
    """A Fig 1 result where, for each m, every run converges from log10 k = widths[m] (inf: one
    run, with a nearly singular A, never does)."""
    ms = sorted(widths)
    ks = 10.0 ** np.arange(1.0, 5.01, 0.5)
    conv = np.zeros((len(ms), ks.size, runs), bool)
    sigma = np.full((len(ms), runs), 0.5)
    loss = np.full((len(ms), ks.size, runs), 1e-15)
    for i, m in enumerate(ms):
        w = widths[m]
        conv[i] = (np.log10(ks) >= min(w, 1e9))[:, None]
        if not math.isfinite(w):
            conv[i, :, 1:] = True
            sigma[i, 0], loss[i, :, 0] = sigma_bad, 1e-6
    ratio = np.full((len(ms), ks.size, runs), 10.0)
    return dict(n=5, ms=np.array(ms), ks_a=ks, ks_b=ks, ratio_a=ratio, ratio_b=ratio, converged=conv,
                bound=np.full((len(ms), runs), 1e6), sigma_A=sigma, loss=loss, gamma=1.0, nu1=2.0,
                runs=runs, steps=100_000, tol=1e-14, d=16)


def test_the_trend_in_m_is_our_reading_and_names_an_ill_conditioned_m():
    from dipnb.report import BEYOND
    from dipnb.report.sweeps import fig1_table

    rows = {c.key: c for c in fig1_table(_synthetic_fig1({1: 1.5, 2: 2.0, 5: math.inf, 8: 2.0}), reps=50)}
    trend = rows["fig1.m_order"]
    assert trend.verdict == BEYOND                      # the paper states no trend in m
    assert trend.values["hardest_m"] == 5 and trend.values["direction"] == DISAGREES
    assert "m = 5: at k = 10^5 the 1 run that has not converged: σ_A ≤ 0.01" in trend.measured
    grows = {c.key: c for c in fig1_table(_synthetic_fig1({1: 1.5, 2: 2.5, 5: 4.0}), reps=50)}
    assert grows["fig1.m_order"].values["direction"] == AGREES
    assert "not converged" not in grows["fig1.m_order"].measured


def test_a_per_run_table_has_one_row_per_run_and_refuses_ragged_columns():
    from dipnb.report import Table

    t = Table.by_run({"L0": np.array([1.0, 2.5]), "held": np.array([True, False]), "n": 5})
    assert t.columns == ["run", "L0", "held", "n"]
    assert t.cells == [[0, "1", "yes", "5"], [1, "2.5", "no", "5"]]
    with pytest.raises(ValueError, match="one per run"):
        Table.by_run({"a": [1, 2, 3], "b": [1, 2]})


def test_a_threshold_beyond_the_grid_counts_in_the_direction_of_fig2():
    # n = 2 never fails on the grid (its threshold lies beyond 10^3), n = 5 and n = 20 both fail
    # from 10^2: "γ gets smaller as n grows" agrees, which only the grid's end can show (dropping
    # n = 2 leaves two equal thresholds, "within resolution").
    from dipnb.report.sweeps import fig2_table

    g = 10.0 ** np.arange(-1.0, 3.01, 0.5)
    runs = 50
    fails_from = {2: math.inf, 5: 2.0, 20: 2.0}
    conv = np.stack([np.repeat((np.log10(g) < fails_from[n])[:, None], runs, axis=1) for n in fails_from])
    res = dict(ns=np.array(list(fails_from)), gammas=g, converged=conv, frac_conv=conv.mean(-1), k=10_000,
               runs=runs, steps=100_000, tol=1e-14)
    row = {c.key: c for c in fig2_table(res, reps=50)}["fig2.gamma_vs_n"]
    assert row.verdict == AGREES, row.measured
    res_up = dict(res, converged=conv[::-1], frac_conv=conv[::-1].mean(-1))   # the other way round
    assert {c.key: c for c in fig2_table(res_up, reps=50)}["fig2.gamma_vs_n"].verdict == DISAGREES


def test_bound8_beyond_one_over_L_is_not_testable_not_a_disagreement():
    # at a step with gamma * L0 > 1 the theorem's nu1, R' and (8) have no value (NaN): the row
    # must say so, not read the NaN bound as "the error lies above it"
    from dipnb.experiments import load_result
    from dipnb.report import NOT_TESTABLE
    from dipnb.report.images import fig3b_comparison

    saved = load_result("fig3b-fig4-paper")
    if saved is None:
        pytest.fail("results/fig3b-fig4-paper.npz is versioned and must be present")
    res = dict(saved[0])
    assert {c.key: c for c in fig3b_comparison(res)}["fig4.bound8"].verdict != NOT_TESTABLE
    res.update(gamma=4.0 / float(res["L0"]), bound8=np.full_like(np.asarray(res["bound8"]), np.nan),
               R_prime=np.nan)
    rows = {c.key: c for c in fig3b_comparison(res)}
    assert rows["fig4.bound8"].verdict == NOT_TESTABLE and "γL0 = 4 > 1" in rows["fig4.bound8"].measured
    assert "fig4.step" in rows


# --- rule 9: a disagreement must survive every reasonable reading ----------------------------------

def test_settle_headline_is_the_papers_reading_and_a_flip_is_depends():
    from dipnb.report import DEPENDS, Claim, Reading, settle

    c = settle(Claim("x", "claim", "paper", "measured", ""),
               [Reading("the onset", AGREES, paper=True), Reading("half the runs", DISAGREES)],
               "'start to diverge' is the onset")
    assert c.verdict == AGREES and not c.robust and c.status == DEPENDS
    assert "half the runs: disagrees" in c.agree and "'start to diverge' is the onset" in c.agree
    d = settle(Claim("y", "claim", "paper", "measured", "", status="numerical"),
               [Reading("the onset", DISAGREES, paper=True), Reading("90%", DISAGREES),
                Reading("half", DISAGREES)], "why")
    assert d.verdict == DISAGREES and d.robust and d.status == "numerical"
    # within resolution and agrees are the same kind of verdict
    e = settle(Claim("z", "c", "p", "m", ""), [Reading("a", WITHIN, paper=True), Reading("b", AGREES)], "w")
    assert e.robust
    with pytest.raises(ValueError, match="exactly one reading"):
        settle(Claim("w", "c", "p", "m", ""), [Reading("a", AGREES), Reading("b", AGREES)], "w")
    with pytest.raises(ValueError, match="unknown verdicts"):
        settle(Claim("w", "c", "p", "m", ""), [Reading("a", "partly", paper=True)], "w")


def test_findings_list_a_disagreement_only_when_it_is_robust():
    from dipnb.report import Claim, Reading, findings, settle

    flip = settle(Claim("threshold.onset", "c", "p", "m", ""),
                  [Reading("the onset", DISAGREES, paper=True), Reading("half", AGREES)], "w")
    robust = settle(Claim("threshold.onset_vs_k", "c", "p", "m", ""),
                    [Reading("the onset", DISAGREES, paper=True), Reading("half", DISAGREES)], "w")
    agree = Claim("fig1.sufficient", "c", "p", "m", AGREES, verdict=AGREES)
    sec = findings.sections([flip, robust, agree])
    assert [c.key for c in sec["disagrees"]] == ["threshold.onset_vs_k"]
    assert [c.key for c in sec["depends"]] == ["threshold.onset"]
    assert all(agree not in v for v in sec.values())


def _synthetic_threshold(onset, half, ks=(316, 1000, 3162, 10_000), runs=50):
    """A threshold study where, at every k, every run converges below 10^onset, 80% from there,
    and fewer than half from 10^half."""
    g = 10.0 ** np.round(np.arange(0.8, 2.41, 0.1), 2)
    lg = np.log10(g)
    conv = np.zeros((len(ks), g.size, runs), bool)
    for j, x in enumerate(lg):
        n_ok = runs if x < onset - 1e-9 else int(0.8 * runs) if x < half - 1e-9 else int(0.3 * runs)
        conv[:, j, :n_ok] = True
    R = len(ks)
    return dict(ks=np.array(ks), gammas=g, converged=conv, frac_conv=conv.mean(-1), n=5, m=3, runs=runs,
                steps=100_000, tol=1e-14, L0=np.full((R, runs), 0.4), L_eq10=np.full((R, runs), 1.0),
                threshold=np.full(R, 10.0 ** half))


def test_threshold_disagrees_at_half_but_agrees_at_the_onset_is_not_a_disagreement():
    """'start to diverge when gamma >= 10^1.6': failures start at 10^1.5 (the onset agrees) but
    half the runs only fail from 10^2.3 (the half level disagrees): the headline is the onset
    (agrees), the row depends on our choices, and the findings page lists no disagreement."""
    from dipnb.report import DEPENDS, findings
    from dipnb.report.sweeps import gamma_threshold_table

    rows = {c.key: c for c in gamma_threshold_table(_synthetic_threshold(1.5, 2.3), reps=50)}
    on = rows["threshold.onset"]
    assert on.verdict == AGREES and on.status == DEPENDS and not on.robust
    assert {r.name: r.verdict for r in on.readings}["fewer than half converge"] == DISAGREES
    assert on not in findings.sections(list(rows.values()))["disagrees"]
    # failures that start far above the paper's 10^1.6 at every reading: a robust disagreement
    late = {c.key: c for c in gamma_threshold_table(_synthetic_threshold(2.2, 2.3), reps=50)}["threshold.onset"]
    assert late.verdict == DISAGREES and late.robust
    # the steps at which training fails, against 1/L0: at least 0.4 * 10^1.5 = 12.6x
    vs = rows["threshold.vs_L0"]
    assert vs.verdict == DISAGREES and vs.value == pytest.approx(0.4 * 10 ** 1.5, rel=1e-6)


def test_fig2_direction_reads_the_allowed_gamma_and_names_a_significant_reversal():
    """Monotone where fewer than 90% converge, reversed at the half level with disjoint Wilson
    intervals (n = 10 converges more often than n = 5 where n = 5 fails): headline agrees, the
    row depends on our choices and names the reversal."""
    from dipnb.report import DEPENDS
    from dipnb.report.sweeps import fig2_table

    g = 10.0 ** np.arange(-1.0, 3.01, 0.25)
    lg = np.log10(g)
    runs = 50
    # n: (first gamma below 90%, first gamma below half)
    spec = {2: (2.0, 9.0), 5: (1.75, 2.0), 10: (1.5, 2.5), 20: (1.25, 1.75)}
    conv = np.zeros((len(spec), g.size, runs), bool)
    for i, (p90, p50) in enumerate(spec.values()):
        for j, x in enumerate(lg):
            ok = runs if x < p90 - 1e-9 else int(0.8 * runs) if x < p50 - 1e-9 else int(0.3 * runs)
            conv[i, j, :ok] = True
    res = dict(ns=np.array(list(spec)), gammas=g, converged=conv, frac_conv=conv.mean(-1), k=10_000,
               runs=runs, steps=100_000, tol=1e-14)
    row = {c.key: c for c in fig2_table(res, reps=50)}["fig2.gamma_vs_n"]
    assert row.verdict in (AGREES, WITHIN) and row.status == DEPENDS
    half = {r.name: r for r in row.readings}["fewer than half converge"]
    assert half.verdict == DISAGREES and "significant reversal: at γ = 10^2.00, n = 10 converges" in half.measured
    assert row.values["levels"]["90"]["log10_threshold"] == pytest.approx([2.0, 1.75, 1.5, 1.25])


def test_fig3a_perfect_is_not_tested_while_the_psnr_still_rises_and_has_no_partly():
    """"Perfectly recovered" is the theorem's limit: a run below 40 dB still gaining 1.3 dB per doubling of
    its budget is not tested (budget), whatever our 40 dB bar says; a flat run below 40 dB
    disagrees at every reading."""
    from dipnb.experiments import load_result
    from dipnb.report import NOT_TESTED
    from dipnb.report.images import fig3a_comparison

    saved = load_result("fig3a-paper-long-3x3")
    if saved is None:
        pytest.fail("results/fig3a-paper-long-3x3.npz is versioned and must be present")
    res = dict(saved[0])
    rows = {c.key: c for c in fig3a_comparison(res)}
    perfect = rows["fig3a.perfect"]
    assert perfect.verdict == NOT_TESTED and "still rising" in perfect.measured
    assert {r.name: r.verdict for r in perfect.readings}["40 dB at the last step"] == DISAGREES
    assert all("partly" not in c.agree for c in rows.values())
    flat = np.asarray(res["s0_psnr"], dtype=float).copy()
    flat[flat.size // 2:] = flat[-1]                            # no gain over the last doubling
    rows = {c.key: c for c in fig3a_comparison(dict(res, s0_psnr=flat))}
    assert rows["fig3a.perfect"].verdict == DISAGREES and rows["fig3a.perfect"].robust
    # above 40 dB and still rising: on its way to the limit, and past our bar
    high = {c.key: c for c in fig3a_comparison(dict(res, s0_psnr=np.asarray(res["s0_psnr"]) + 5))}
    assert high["fig3a.perfect"].verdict == AGREES and high["fig3a.perfect"].robust
    # the 3x3 kernel agrees with the paper's 1e-5; the standard 9x9 sampling does not: depends
    sig = rows["fig3a.sigma_A"]
    assert sig.verdict == DISAGREES and not sig.robust
    assert {r.name: r.verdict for r in sig.readings}["the 3×3 blur"] == AGREES


def test_a_reading_that_does_not_test_the_claim_contradicts_nothing():
    from dipnb.report import NOT_TESTED, Claim, Reading, settle

    c = settle(Claim("x", "c", "p", "m", "", status="numerical"),
               [Reading("headline run", AGREES, paper=True), Reading("a shorter sensitivity run", NOT_TESTED)], "w")
    assert c.robust and c.status == "numerical" and c.verdict == AGREES
    d = settle(Claim("y", "c", "p", "m", ""), [Reading("a", AGREES, paper=True), Reading("b", NOT_TESTED),
                                               Reading("c", DISAGREES)], "w")
    assert not d.robust
