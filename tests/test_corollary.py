"""Chapter 'Corollary III.2': condition (4) in closed form, the width sweep, the bound's terms."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import offset_seed


def _setup(runs=3, n=4, m=2, k=50, seed=0):
    net = dipnb.TwoLayerDIP.init(runs, n, k, d=6, seed=seed)
    A = dipnb.gaussian_operator(m, n, runs=runs, seed=offset_seed(seed, 1))
    pb = dipnb.Problem.make(A, noise_std=0.1, seed=offset_seed(seed, 2))
    return net, pb


def test_condition4_ratio_matches_theorem_quantities():
    net, pb = _setup()
    q = dipnb.condition4_ratio(net, pb)
    # gamma = 1/(2L) gives nu1 = 2: R' of theory.py must be twice ours (nu1 = 1), R the same
    L = 3.0
    th = dipnb.theorem_quantities(net, pb, gamma=1 / (2 * L), layers="W", L=L)
    assert torch.allclose(th.nu1, torch.full_like(th.nu1, 2.0))
    assert torch.allclose(q["sigma0"], th.sigma0)
    assert torch.allclose(q["R"], th.R)
    assert torch.allclose(2 * q["R_prime"], th.R_prime)
    assert torch.equal(2 * q["ratio"] < 1, th.condition_4)
    # the closed form of the chapter: sqrt(k) > 4 nu1 B M ||y0 - y|| / (sigma_A sigma0^2)
    M = net.V0.norm(dim=1).amax(1)
    rhs = 4 * net.activation.B * M * q["residual"] / (pb.A.sigma_min * q["sigma0"] ** 2)
    assert torch.allclose(q["ratio"], rhs / math.sqrt(net.k))


def test_init_statistics_add_up_over_chunks_of_neurons():
    net, _ = _setup(k=40)
    h, V, act = net.h0, net.V0, net.activation
    whole = dipnb.theory.corollary.init_statistics(h, V, act)
    parts = None
    for a, b in [(0, 7), (7, 30), (30, 40)]:
        part = dipnb.theory.corollary.init_statistics(h[:, a:b], V[:, :, a:b], act)
        parts = dipnb.theory.corollary.merge_statistics(parts, part)
    assert parts["k"] == whole["k"] == 40
    for key in ("G", "xs", "M2"):
        assert torch.allclose(parts[key], whole[key])
    # G / k is the Jacobian Gram of network.py (||u|| = 1)
    assert torch.allclose(whole["G"] / 40, net.gram(layers="W"))


def test_sweep_matches_direct_computation_and_is_seeded():
    pbs = dipnb.gaussian_problems(4, [2, 3], runs=5, seed=3)
    ks = [8, 60]
    res = dipnb.experiments.condition4_sweep(pbs, ks, seed=2)
    again = dipnb.experiments.condition4_sweep(pbs, ks, seed=2)
    assert np.array_equal(res["ratio"], again["ratio"]) and res["ratio"].shape == (2, 2, 5)
    # without chunking, width k of the sweep is one draw of (h0, V0): rebuild it as a
    # TwoLayerDIP with d = 1 (u = 1, W0 = h0) and compare with the direct computation
    for j, k in enumerate(ks):
        h, V = dipnb.core.network.draw_initial_state(5, 4, k, dipnb._random.network_seed(2, 4, k, 0, 0))
        assert set(V.unique().tolist()) == {-1.0, 1.0} and V.dtype == torch.float64
        net = dipnb.TwoLayerDIP(torch.ones(5, 1), h[:, :, None], V, "sigmoid", 1.0)
        for i, pb in enumerate(pbs):
            direct = dipnb.condition4_ratio(net, pb)["ratio"].numpy()
            assert np.allclose(res["ratio"][i, j], direct)
    # chunked over runs and neurons: other draws, same law; every run gets a finite ratio
    small = dipnb.experiments.condition4_sweep(pbs, [200], seed=2, max_batch=90)
    assert small["ratio"].shape == (2, 1, 5) and np.all(np.isfinite(small["ratio"]))
    assert np.allclose(small["M"], 2.0)            # Rademacher columns: ||v_j|| = sqrt(n)


def test_sweep_probability_grows_with_width():
    pbs = dipnb.gaussian_problems(5, [2], runs=40, seed=0)
    res = dipnb.experiments.condition4_sweep(pbs, [10, 100, 10 ** 5], seed=0)
    p1 = dipnb.analysis.condition4_probability(res["ratio"][0], 1.0)
    p2 = dipnb.analysis.condition4_probability(res["ratio"][0], 2.0)
    assert p1[0] == 0 and p1[-1] > 0.8             # the ratio falls like k^{-1/2}
    assert np.all(p2 <= p1)                        # a larger nu1 only makes (4) harder


def test_width_at_probability_interpolates_in_log_k():
    ks = [10, 100, 1000]
    assert dipnb.analysis.width_at_probability(ks, [0.0, 0.25, 0.75]) == pytest.approx(10 ** 2.5)
    assert dipnb.analysis.width_at_probability(ks, [0.6, 0.7, 0.9]) == 10
    assert math.isnan(dipnb.analysis.width_at_probability(ks, [0.0, 0.1, 0.2]))
    with pytest.raises(ValueError, match="level must be in"):
        dipnb.analysis.width_at_probability(ks, [0, 0, 1], level=0.0)


def test_critical_width_inverts_the_ratio():
    ratio = torch.tensor([0.5, 2.0])
    kc = dipnb.critical_width(ratio, 400, nu1=2.0)
    # at k' = kc, nu1 * ratio * sqrt(k / k') = 1
    assert torch.allclose(2.0 * ratio * torch.sqrt(400 / kc), torch.ones(2))


def test_corollary_terms_and_constants():
    A = dipnb.gaussian_operator(2, 5, runs=4, seed=0)
    pb = dipnb.Problem.make(A, noise_std=0.05, seed=1)
    d = 16
    t = dipnb.corollary_terms(pb, d, C=0.7)
    k = dipnb.corollary_width(pb, d, C=0.7, C_prime=3.0)
    assert torch.allclose(k, 3.0 * A.sigma_min ** -4 * 5 * (t["a"] + t["b"]) ** 4)
    # (a + b)^4 lies between a^4 + b^4 and 8 (a^4 + b^4)
    s = t["first"] + t["second"]
    assert torch.all(k / 3.0 >= s) and torch.all(k / 3.0 <= 8 * s)
    # first term = C^4 kappa^4 n^3 log^2 d
    assert torch.allclose(t["first"], 0.7 ** 4 * A.condition_number ** 4 * 5 ** 3 * math.log(d) ** 2)
    target = 10 ** 6.8
    c = dipnb.constants_for_width(pb, d, target)
    assert torch.allclose(dipnb.corollary_width(pb, d, C_prime=1.0) * c["C_prime"], torch.full((4,), target))
    ok = torch.isfinite(c["C"])
    assert ok.any()
    kC = dipnb.corollary_width(pb.subset(ok.nonzero().flatten().tolist()), d, C=1.0)  # C=1 reference
    for i in ok.nonzero().flatten().tolist():
        ki = dipnb.corollary_width(pb.subset([i]), d, C=float(c["C"][i]), C_prime=1.0)
        assert ki.item() == pytest.approx(target, rel=1e-9)
    assert kC.shape[0] == int(ok.sum())


def test_spectrum_operator_has_the_asked_spectrum():
    for m, n in [(3, 7), (7, 3), (5, 5)]:
        A = dipnb.spectrum_operator(m, n, kappa=4.0, runs=2, smin=0.5, seed=1)
        sv = torch.linalg.svdvals(A.M)
        assert A.M.shape == (2, m, n)
        assert torch.allclose(sv[:, 0], torch.full((2,), 2.0)) and torch.allclose(sv[:, -1], torch.full((2,), 0.5))
        assert torch.allclose(A.condition_number, torch.full((2,), 4.0))
    with pytest.raises(ValueError, match="kappa"):
        dipnb.spectrum_operator(3, 3, kappa=0.5)


def test_fit_slope_recovers_a_power_law():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    s, c = dipnb.analysis.loglog_fit(x, 3 * x ** 2.5)
    assert s == pytest.approx(2.5) and math.exp(c) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="at least 2"):
        dipnb.analysis.loglog_fit([1.0, 2.0], [1.0, -1.0], drop_invalid=True)


def test_width_scaling_slopes():
    base = dict(n=8, m=4, kappa=2.0)
    r = dipnb.experiments.width_scaling("kappa", [2.0, 8.0, 32.0], base, runs=12, k_ref=2000, d=16)
    # the first term of the bound is exactly C^4 kappa^4 n^3 log^2 d: slope 4
    assert r["slopes"]["first"] == pytest.approx(4.0, abs=1e-9)
    # the bound grows faster in kappa than the empirical width, which grows at most like kappa^2
    assert r["slopes"]["bound"] > 3 and r["slopes"]["k_half"] < 2.2
    assert np.allclose(r["kappa_A"], [2.0, 8.0, 32.0])


def test_bad_inputs_name_the_value():
    pbs = dipnb.gaussian_problems(5, [2], runs=2)
    with pytest.raises(ValueError, match="k must be an integer >= 5"):
        dipnb.experiments.condition4_sweep(pbs, [3])
    with pytest.raises(ValueError, match="problems must hold"):
        dipnb.experiments.condition4_sweep([], [10])
    with pytest.raises(ValueError, match="nu1"):
        dipnb.analysis.condition4_probability(np.ones(3), 0.5)
    with pytest.raises(ValueError, match="unknown param 'd'"):
        dipnb.experiments.width_scaling("d", [2, 3], dict(n=4, m=2, kappa=2.0))
    with pytest.raises(ValueError, match="missing"):
        dipnb.experiments.width_scaling("n", [4, 8], dict(m=2, kappa=2.0))
    with pytest.raises(ValueError, match="k_ref must be >= 10 n"):
        dipnb.experiments.width_scaling("n", [4, 8], dict(n=4, m=2, kappa=2.0), k_ref=50)
    with pytest.raises(ValueError, match="relu"):
        net = dipnb.TwoLayerDIP.init(2, 5, 20, activation="relu")
        dipnb.condition4_ratio(net, pbs[0])


def test_plots_draw_one_line_per_curve():
    import matplotlib

    matplotlib.use("Agg")
    pbs = dipnb.gaussian_problems(5, [2, 3], runs=4, seed=0)
    res = dipnb.experiments.condition4_sweep(pbs, [10, 100], seed=0)
    fig = dipnb.plotting.plot_condition4_probability(res, nu1s=(1.0, 2.0), bound={2: 1e4, 3: 1e5},
                                                     promised=0.5, d=16)
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 2 and line.get_marker() == "o"]
    assert len(curves) == 4                      # 2 values of m x 2 values of nu1
    r = dipnb.experiments.width_scaling("kappa", [2.0, 4.0], dict(n=4, m=2, kappa=2.0), runs=3, k_ref=100)
    fig = dipnb.plotting.plot_width_scaling([r, r], printed={"kappa": 1})
    assert len(fig.axes) == 2 and "slope" in fig.axes[0].get_legend().get_texts()[0].get_text()


# --- condition (4) with both layers trained (Corollary III.2's setting) ----------------------

def test_both_layers_ratio_matches_theorem_quantities():
    net = dipnb.TwoLayerDIP.init(runs=3, n=4, k=3000, d=5, seed=0)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(3, 4, runs=3, seed=1), seed=2)
    qb = dipnb.condition4_ratio(net, pb, layers="both")
    th = dipnb.theorem_quantities(net, pb, gamma=0.5, layers="both", L=1.0)     # nu1 = 2
    assert torch.allclose(qb["R"], th.R) and torch.allclose(2 * qb["R_prime"], th.R_prime)
    assert torch.allclose(qb["sigma0"], net.sigma_min_jacobian(layers="both"))
    # R solves R = sigma0 / (2 Lip_{B(theta0, R)}(J_g))
    lip = dipnb.jacobian_lipschitz(net, "both", qb["R"])
    assert torch.allclose(qb["R"], qb["sigma0"] / (2 * lip))
    # the two-layer sigma0 is larger (J_V J_V^T adds ||phi(h)||^2/k), its R smaller than W's at this k
    qw = dipnb.condition4_ratio(net, pb)
    assert (qb["sigma0"] > qw["sigma0"]).all() and (qb["R"] < qw["R"]).all()
    with pytest.raises(ValueError, match="layers"):
        dipnb.condition4_ratio(net, pb, layers="V")


def test_phi2_statistic_adds_up_over_chunks():
    net, _ = _setup(k=40)
    h, V, act = net.h0, net.V0, net.activation
    whole = dipnb.theory.corollary.init_statistics(h, V, act)
    parts = None
    for a, b in [(0, 13), (13, 40)]:
        parts = dipnb.theory.corollary.merge_statistics(
            parts, dipnb.theory.corollary.init_statistics(h[:, a:b], V[:, :, a:b], act))
    assert torch.allclose(parts["phi2"], whole["phi2"])
    assert torch.allclose(whole["phi2"] / 40, (act.phi(h) ** 2).mean(1))


def test_critical_width_both_is_where_R_reaches_R_prime():
    """At k = critical_width_both, the radius of radius_R's quadratic equals R' (to round-off);
    10% below it R < R'. For large R', doubling R' multiplies the width by about 16 (R'^4)."""
    crit = dipnb.theory.corollary.critical_width_both
    B, sigma0, M = 0.25, torch.tensor([0.58, 0.6]), torch.tensor([math.sqrt(5), math.sqrt(5)])
    for Rp in (0.5, 5.0, 50.0):
        k = crit(torch.full((2,), Rp), sigma0, M, B)
        for kk, sign in ((k, 0), (0.9 * k, -1)):
            a = 2 * B / kk.sqrt()
            b = 2 * B * (2 + M) / kk.sqrt()
            R = 2 * sigma0 / (b + torch.sqrt(b ** 2 + 4 * a * sigma0))
            if sign == 0:
                assert torch.allclose(R, torch.full((2,), Rp, dtype=R.dtype), rtol=1e-10)
            else:
                assert (R < Rp).all()
    big = crit(torch.tensor([1e4]), sigma0[:1], M[:1], B, nu1=2.0) / crit(torch.tensor([1e4]), sigma0[:1], M[:1], B)
    assert abs(float(big) - 16) < 0.05
    small = crit(torch.tensor([1e-3]), sigma0[:1], M[:1], B, nu1=2.0) / crit(torch.tensor([1e-3]), sigma0[:1], M[:1], B)
    assert abs(float(small) - 4) < 0.05                         # small R': the linear term, k ~ R'^2


def test_sweep_both_layers_keeps_the_W_results_and_matches_direct():
    pbs = dipnb.gaussian_problems(4, [2, 3], runs=5, seed=3)
    ks = [8, 60]
    w = dipnb.experiments.condition4_sweep(pbs, ks, seed=2)
    both = dipnb.experiments.condition4_sweep(pbs, ks, seed=2, both_layers=True)
    assert np.array_equal(w["ratio"], both["ratio"]) and "ratio_both" not in w
    assert both["ratio_both"].shape == (2, 2, 5) and both["R_both"].shape == (2, 5)
    for j, k in enumerate(ks):
        h, V = dipnb.core.network.draw_initial_state(5, 4, k, dipnb._random.network_seed(2, 4, k, 0, 0))
        net = dipnb.TwoLayerDIP(torch.ones(5, 1), h[:, :, None], V, "sigmoid", 1.0)
        for i, pb in enumerate(pbs):
            direct = dipnb.condition4_ratio(net, pb, layers="both")
            assert np.allclose(both["ratio_both"][i, j], direct["ratio"].numpy())
            assert np.allclose(both["R_both"][j], direct["R"].numpy())
    # the W-only cache key is unchanged, the two-layer one differs
    key = dipnb.experiments.cell_key
    assert key("condition4", {"a": 1}, 8) != key("condition4", {"a": 1, "both_layers": True}, 8)


def test_R_grows_like_k_to_the_quarter_with_both_layers():
    pbs = dipnb.gaussian_problems(5, [2], runs=10, seed=0)
    ks = [10 ** 4, 10 ** 5, 10 ** 6]
    res = dipnb.experiments.condition4_sweep(pbs, ks, seed=0, both_layers=True)
    sb = dipnb.analysis.loglog_slope(ks, np.median(res["R_both"], axis=1))
    sw = dipnb.analysis.loglog_slope(ks, np.median(res["R_W"], axis=1))
    assert 0.24 < sb < 0.32 and 0.48 < sw < 0.52, (sb, sw)


def test_plot_condition4_layers_and_radius():
    import matplotlib.pyplot as plt
    pbs = dipnb.gaussian_problems(4, [2, 3], runs=5, seed=3)
    res = dipnb.experiments.condition4_sweep(pbs, [10, 100], seed=0, both_layers=True)
    fig = dipnb.plotting.theory.plot_condition4_layers(res, nu1s=(1.0, 2.0), bound={2: 1e4})
    assert len(fig.axes) == 2 and all(len(ax.lines) >= 4 for ax in fig.axes)
    fig2 = dipnb.plotting.theory.plot_radius_vs_width(res)
    assert len(fig2.axes[0].lines) == 6
    plt.close("all")
