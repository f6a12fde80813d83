"""Chapter 04 (Theorem III.1): the end-to-end run, the bound ratios, the condition-vs-convergence
study, the literal sigma_min, the rectangular operator and the Sigma' certificate."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import offset_seed, width_index_seed


@pytest.mark.parametrize("m,n", [(2, 2), (3, 2), (1, 3)])
def test_rectangular_well_conditioned_operator_spectrum(m, n):
    A = dipnb.well_conditioned_operator(n, runs=2, smin=1.0, smax=2.0, seed=0, m=m)
    sv = torch.linalg.svdvals(A.matrix())
    r = min(m, n)
    assert torch.allclose(sv[:, :r].min(1).values, torch.ones(2), atol=1e-12)
    assert torch.allclose(sv[:, 0], torch.full((2,), 2.0 if r > 1 else 1.0), atol=1e-12)
    assert torch.allclose(A.sigma_min, sv[:, r - 1])
    assert A.injective == (m >= n)


def test_rectangular_well_conditioned_operator_rejects_bad_input():
    with pytest.raises(ValueError, match="smax"):
        dipnb.well_conditioned_operator(2, smin=2.0, smax=1.0, m=2)
    with pytest.raises(ValueError, match="m"):
        dipnb.well_conditioned_operator(2, m=0)


def test_sigma_min_nonzero_differs_from_onto_when_rank_deficient():
    net = dipnb.TwoLayerDIP.init(runs=2, n=3, k=2, d=4, seed=0)
    lit = dipnb.sigma_min_nonzero_jacobian(net)
    J = dipnb.jacobian(net.u, net.W0, net.V0, net.activation, "W")
    sv = torch.linalg.svdvals(J)
    expected = torch.stack([s[s > 1e-8 * s[0]].min() for s in sv])
    assert torch.allclose(lit, expected, rtol=1e-8)
    assert (lit > 0).all()
    assert (torch.linalg.eigvalsh(net.gram())[:, 0] < 1e-12).all()   # not onto R^3
    # full rank: the two readings agree
    wide = dipnb.TwoLayerDIP.init(runs=2, n=3, k=50, seed=1)
    assert torch.allclose(dipnb.sigma_min_nonzero_jacobian(wide), wide.sigma_min_jacobian(), rtol=1e-8)


@pytest.fixture(scope="module")
def small_run():
    return dipnb.experiments.theorem_run(n=2, m=2, k=20000, runs=2, steps=300, ref_steps=2000, L_steps=100,
                             noise_std=0.3, seed=0)


def test_theorem_run_bounds_hold_and_constants_consistent(small_run):
    r = small_run
    th = r.th
    assert torch.allclose(th.gamma * th.L, torch.full_like(th.L, 0.5))
    assert torch.allclose(th.nu1, torch.full_like(th.L, 2.0)) and torch.allclose(th.nu2, 6 * th.L)
    assert (r.L_est >= r.L0 * (1 - 1e-12)).all()
    assert th.applies.all()
    for key, (meas, bnd) in r.bounds().items():
        assert meas.shape == bnd.shape == (len(r.traj.steps), 2), key
        assert bool((meas <= bnd * (1 + 1e-9) + 1e-12).all()), key
    # the dist term was certified at round-off, and theta_inf is a zero-loss point
    assert (r.dist_sigma < 1e-10).all()
    assert (r.traj.loss[-1] < 1e-20).all()
    # the noisy error converges to ||A^-1 eps||
    x_ls = torch.linalg.solve(r.problem.A.matrix(), r.problem.y)
    assert torch.allclose(r.traj.error[-1], (x_ls - r.problem.x_bar).norm(dim=1), rtol=1e-8)


def test_bound_ratios(small_run):
    rt = dipnb.experiments.bound_ratios(small_run, at_loss=1e-10)
    assert torch.allclose(rt["loss_0"], torch.ones(2))          # (6) is exact at tau = 0
    assert (rt["tau_star"] > 0).all()
    i = int(rt["tau_star"][0])
    meas, bnd = small_run.bounds()["error"]
    assert math.isclose(rt["error_star"][0].item(), (bnd[i, 0] / meas[i, 0]).item(), rel_tol=1e-12)
    assert (rt["loss_star"] > 1).all() and (rt["rate"] > 1).all()
    assert (small_run.traj.loss[i, 0] <= 1e-10) and (small_run.traj.loss[i - 1, 0] > 1e-10)


def test_dist_to_sigma_prime_fails_outside_ball(small_run):
    r = small_run
    tiny = torch.full_like(r.th.R_prime, 1e-6)
    assert torch.isinf(dipnb.dist_to_sigma_prime(r.net, r.problem, r.th.gamma, tiny, steps=500)).all()


def test_m_greater_than_n_with_noise_breaks_6():
    """y outside Im(A): the loss floors at 1/2 dist(y, Im A)^2 > 0 although (4) holds."""
    r = dipnb.experiments.theorem_run(n=2, m=3, k=20000, runs=2, steps=300, ref_steps=1500, L_steps=100,
                          noise_std=0.3, seed=0)
    A, y = r.problem.A.matrix(), r.problem.y
    proj = (A @ torch.linalg.lstsq(A, y[..., None]).solution)[..., 0]
    floor = 0.5 * ((y - proj) ** 2).sum(1)
    assert torch.allclose(r.traj.loss[-1], floor, rtol=1e-6)
    assert (r.traj.loss[-1] > r.th.loss_bound([300])[0])[r.th.applies].all()
    assert r.th.applies.any()


def test_condition_vs_convergence_consistent_with_theorem_quantities():
    res = dipnb.experiments.condition_vs_convergence(n=2, m=2, ks=(10, 3000), runs=6, steps=1500, seed=4)
    assert res["cond4"].shape == res["converged"].shape == (2, 6)
    assert np.array_equal(res["cond4"], res["R_prime"] < res["R"])
    # a run where (4) holds and gamma <= 1/L0 converges (the theorem, with L0 for L)
    assert res["converged"][res["cond4"]].all()
    assert res["converged"][-1].all()
    # recompute one cell directly
    net = dipnb.TwoLayerDIP.init(6, 2, 3000, d=1, seed=width_index_seed(4, 1))
    A = dipnb.well_conditioned_operator(2, runs=6, seed=offset_seed(width_index_seed(4, 1), 1), m=2)
    pb = dipnb.Problem.make(A, seed=offset_seed(width_index_seed(4, 1), 2))
    L0 = dipnb.hessian_norm(net, pb, iters=30)
    th = dipnb.theorem_quantities(net, pb, gamma=0.5 / L0, L=L0)
    assert np.allclose(res["R_prime"][1], th.R_prime.numpy())


def test_condition_vs_convergence_rejects_bad_input():
    with pytest.raises(ValueError, match="operator"):
        dipnb.experiments.condition_vs_convergence(operator="blur")
    with pytest.raises(ValueError, match="gamma_L"):
        dipnb.experiments.condition_vs_convergence(gamma_L=2.5)
    with pytest.raises(ValueError, match="k"):
        dipnb.experiments.condition_vs_convergence(n=3, ks=(2,))
    with pytest.raises(ValueError, match="gamma_L"):
        dipnb.experiments.theorem_run(gamma_L=2.0)


def test_hessian_norm_in_ball_at_least_at_theta0():
    net = dipnb.TwoLayerDIP.init(2, 2, 500, seed=0)
    pb = dipnb.Problem.make(dipnb.well_conditioned_operator(2, runs=2, seed=1, m=2), seed=2)
    h0 = dipnb.hessian_norm(net, pb, iters=30)
    hb = dipnb.experiments.hessian_norm_in_ball(net, pb, 5.0, points=3, seed=0)
    assert (hb >= h0).all()
    assert torch.allclose(dipnb.experiments.hessian_norm_in_ball(net, pb, 5.0, points=0), h0)


def test_plots_return_figures(small_run):
    import matplotlib.pyplot as plt
    fig = dipnb.plotting.plot_theorem_bounds(small_run.traj, small_run.th, dist=small_run.dist_sigma)
    assert len(fig.axes) == 3 and all(len(ax.lines) >= 4 for ax in fig.axes)
    res = dict(ks=np.array([10, 100]), cond4=np.zeros((2, 3), bool), converged=np.ones((2, 3), bool),
               tol=1e-14, steps=10, runs=3, n=2, m=2, operator="injective")
    fig2 = dipnb.plotting.plot_condition_vs_convergence(res)
    assert len(fig2.axes[0].lines) == 2
    plt.close("all")


def test_theorem_run_with_certified_L():
    """L_rule="certified": th.L is the certified bound, gamma * L = gamma_L exactly, the sampled
    values lie below it, and the bounds (6)-(8) still hold."""
    r = dipnb.experiments.theorem_run(n=2, m=2, k=5000, runs=2, steps=200, ref_steps=1500, L_steps=100,
                                      seed=0, L_rule="certified")
    cert = dipnb.certified_L(r.net, r.problem)
    assert torch.allclose(r.th.L, cert["L_descent"]) and torch.allclose(r.L_cert, cert["L_descent"])
    assert torch.allclose(r.th.gamma * r.th.L, torch.full((2,), 0.5, dtype=torch.float64))
    assert (r.L0 <= r.L_cert).all() and (r.L_est <= r.L_cert).all() and (r.L_cert <= r.L_global).all()
    for meas, bnd in r.bounds().values():
        assert (meas <= bnd * (1 + 1e-9) + 1e-12).all()
    with pytest.raises(ValueError, match="L_rule"):
        dipnb.experiments.theorem_run(L_rule="sampled")


def test_hessian_bounds_vs_width_sandwich():
    hb = dipnb.experiments.theorem.hessian_bounds_vs_width(n=3, m=2, ks=(30, 300), runs=2, steps=40, points=2)
    assert (hb["lower"] <= hb["H0"] * (1 + 1e-9)).all() and (hb["H0"] <= hb["L_descent"]).all()
    assert (hb["margin_traj"] >= -1e-9).all() and (hb["H_traj_max"] <= hb["L_descent"] * (1 + 1e-9)).all()
    assert hb["lower"].shape == (2, 2)
