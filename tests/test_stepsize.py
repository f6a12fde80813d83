"""dipnb.stepsize: nu1/nu2, the parts of the Hessian, the gradient flow against gradient
descent, and the step-size sweep (chapter "Gradient descent as a discretised gradient flow")."""
import math

import numpy as np
import pytest
import torch

import dipnb


@pytest.fixture
def small():
    net = dipnb.TwoLayerDIP.init(2, 3, 12, d=1, seed=3)
    A = dipnb.gaussian_operator(2, 3, runs=2, seed=4)
    return net, dipnb.Problem.make(A, seed=5)


# --- nu1, nu2 -------------------------------------------------------------------------------

@pytest.mark.parametrize("L", [0.05, 1.0, 30.0])
def test_nu2_minimum_is_at_half_over_L(L):
    prof = dipnb.nu_profile(L=L)
    assert math.isclose(prof["gamma_star"] * L, 0.5, rel_tol=1e-6)
    assert math.isclose(prof["nu2_star"], 6 * L, rel_tol=1e-9)
    x = prof["gammaL"]
    assert np.allclose(prof["nu1"], (1 + x) / (1 - x / 2))
    assert np.allclose(prof["nu2"], (1 + x) ** 2 / (x / L - (x / L) ** 2 * L / 2))
    assert prof["nu2"].min() >= prof["nu2_star"] * (1 - 1e-12)


def test_nu_profile_rejects_out_of_range():
    with pytest.raises(ValueError, match=r"gammaL must lie in \]0, 2\["):
        dipnb.nu_profile([0.5, 2.0])
    with pytest.raises(ValueError, match="L must be"):
        dipnb.nu_profile(L=-1.0)


def test_loglog_slope():
    x = np.geomspace(1, 100, 7)
    assert math.isclose(dipnb.analysis.loglog_slope(x, 3 * x ** -1.5), -1.5, rel_tol=1e-12)
    with pytest.raises(ValueError, match="> 0"):
        dipnb.analysis.loglog_slope([1, 2], [1, -1])
    with pytest.raises(ValueError, match="same length"):
        dipnb.analysis.loglog_slope([1, 2, 3], [1, 2])


# --- Hessian parts --------------------------------------------------------------------------

@pytest.mark.parametrize("steps", [0, 7])
def test_hessian_parts_are_the_exact_decomposition(steps):
    net = dipnb.TwoLayerDIP.init(6, 3, 12, d=1, seed=13)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(2, 3, runs=6, seed=14), seed=15)
    # also away from theta_0, where the residual part is not special
    state = dipnb.gradient_descent(net, pb, 0.5, steps, tol=0.0, stall_window=None).final
    parts = dipnb.hessian_parts(net, pb, state)
    a, M, y, k = net.activation, pb.A.matrix(), pb.y, net.k
    for r in range(net.runs):
        def f(h, r=r):
            x = state.V[r] @ a.phi(h) / math.sqrt(k)
            return 0.5 * ((M[r] @ x - y[r]) ** 2).sum()
        H = torch.autograd.functional.hessian(f, state.h[r])
        J = state.V[r] * a.dphi(state.h[r])[None, :] / math.sqrt(k)      # J_h, n x k
        GN = J.T @ M[r].T @ M[r] @ J
        D = H - GN
        assert torch.allclose(D, torch.diag(torch.diagonal(D)), atol=1e-12)   # residual part is diagonal
        assert math.isclose(parts["gauss_newton"][r].item(), torch.linalg.eigvalsh(GN).abs().max().item(),
                            rel_tol=1e-9)
        assert math.isclose(parts["residual"][r].item(), torch.diagonal(D).abs().max().item(), rel_tol=1e-9)
        top = torch.linalg.eigvalsh(H).abs().max().item()
        gn, res = parts["gauss_newton"][r].item(), parts["residual"][r].item()
        assert abs(gn - res) - 1e-12 <= top <= gn + res + 1e-12
    assert (parts["residual"] <= parts["residual_bound"]).all()


def test_gauss_newton_part_tends_to_A_norm2_Cdphi2():
    net = dipnb.TwoLayerDIP.init(3, 4, 20000, d=1, seed=7)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(3, 4, runs=3, seed=8), seed=9)
    p = dipnb.hessian_parts(net, pb)
    ratio = p["gauss_newton"] / p["A_norm2_Cdphi2"]
    assert (ratio - 1).abs().max() < 0.1, ratio


def test_lipschitz_sweep_fields():
    cells = [(3, 2, 10), (3, 2, 40)]
    r = dipnb.experiments.lipschitz_sweep(cells, runs=2, steps=20, points=3, iters=60, seed=1)
    assert r["L0"].shape == (2, 2) and r["k"].tolist() == [10, 40]
    # cells differing only by k share A
    assert np.allclose(r["A_norm"][0], r["A_norm"][1])
    # the trajectory maximum includes theta_0
    assert (r["L_traj"] >= r["L0"] * (1 - 1e-12)).all()
    for i, (n, _m, k) in enumerate(cells):
        assert np.allclose(r["eq10_first"][i], r["A_norm"][i] ** 2 * n / k)
        assert np.allclose(r["eq10"][i], r["eq10_first"][i] + r["eq10_second"][i])
        assert np.allclose(r["eq10"][i], dipnb.L_eq10(r["A_norm"][i], r["residual0"][i], n, k))
    with pytest.raises(ValueError, match=r"gamma_factor .* \]0, 2\["):
        dipnb.experiments.lipschitz_sweep(cells, gamma_factor=2.5)
    with pytest.raises(ValueError, match="at least one"):
        dipnb.experiments.lipschitz_sweep([])


# --- gradient flow --------------------------------------------------------------------------

def test_gradient_flow_output_layer_matches_the_exact_linear_flow(small):
    """Training V only, x(t) obeys the linear ODE x' = -c A^T (A x - y), c = ||phi(h)||^2/k,
    whose solution is a matrix exponential."""
    net, pb = small
    times = np.linspace(0, 5, 6)
    fl = dipnb.gradient_flow(net, pb, times, layers="V")
    h0 = net.h0
    c = (net.activation.phi(h0) ** 2).sum(1) / net.k
    M, y, x0 = pb.A.matrix(), pb.y, net.forward()
    n = net.n
    for r in range(net.runs):
        G = M[r].T @ M[r]
        aug = torch.zeros(n + 1, n + 1, dtype=torch.float64)
        aug[:n, :n] = -c[r] * G
        aug[:n, n] = c[r] * M[r].T @ y[r]
        for j, t in enumerate(times):
            z = torch.linalg.matrix_exp(aug * t) @ torch.cat([x0[r], torch.ones(1, dtype=torch.float64)])
            exact = 0.5 * ((M[r] @ z[:n] - y[r]) ** 2).sum()
            assert math.isclose(fl.loss[j, r].item(), exact.item(), rel_tol=1e-7, abs_tol=1e-12)


def test_gradient_flow_loss_decreases_and_repr(small):
    net, pb = small
    fl = dipnb.gradient_flow(net, pb, np.linspace(0, 10, 21), layers="both")
    assert (fl.loss[1:] <= fl.loss[:-1] + 1e-12).all()
    assert fl.h.shape == (21, 2, 12) and fl.V.shape == (21, 2, 3, 12)
    assert torch.allclose(fl.dist[0], torch.zeros(2))
    assert "2 runs" in repr(fl)


def test_descent_states_are_gradient_descent_iterates(small):
    net, pb = small
    states = dipnb.core.flow.descent_states(net, pb, 0.3, [0, 4, 9])
    ref = dipnb.gradient_descent(net, pb, 0.3, 9, tol=0.0, stall_window=None).final
    assert torch.equal(states[0].h, net.h0)
    assert torch.allclose(states[-1].h, ref.h, atol=1e-14)
    with pytest.raises(ValueError, match="strictly increasing integers"):
        dipnb.core.flow.descent_states(net, pb, 0.3, [3, 2])


def test_descent_approaches_flow_at_first_order(small):
    net, pb = small
    gap = dipnb.flow_descent_gap(net, pb, [0.4, 0.2, 0.1, 0.05], t_max=4.0, n_times=8)
    gp = gap["gap_param"].numpy()
    for r in range(net.runs):
        slope = dipnb.analysis.loglog_slope(gap["gammas"], gp[:, r])
        assert 0.85 < slope < 1.15, slope
    # equal times: GD after tau steps is compared with the flow at gamma * tau
    assert np.allclose(gap["times"][1], 0.2 * np.round(np.linspace(0, 20, 9)))
    assert (gap["gap_loss"][-1] < gap["gap_loss"][0]).all()


def test_flow_errors(small):
    net, pb = small
    with pytest.raises(ValueError, match="strictly increasing"):
        dipnb.gradient_flow(net, pb, [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="unknown method"):
        dipnb.gradient_flow(net, pb, [0.0, 1.0], method="euler")
    with pytest.raises(ValueError, match="gamma <= t_max"):
        dipnb.flow_descent_gap(net, pb, [5.0], t_max=1.0)
    with pytest.raises(ValueError, match="gammas must be"):
        dipnb.flow_descent_gap(net, pb, [0.1, -0.1], t_max=1.0)


# --- gamma sweep ----------------------------------------------------------------------------

def test_gamma_sweep_locates_failure():
    g = [3.0, 10 ** 3.5]
    r = dipnb.experiments.gamma_sweep(3, 2, [50], g, runs=2, steps=3000, tol=1e-8, seed=2, stall_window=300)
    assert r["status"].shape == (1, 2, 2)
    assert (r["status"][0, 0] == "converged").all()
    assert not np.isin(r["status"][0, 1], ["converged"]).any()
    assert np.allclose(r["frac_conv"][0], [1.0, 0.0])
    assert r["threshold"][0] == g[1]
    assert np.allclose(r["last_conv"][0], g[0])
    assert np.allclose(r["first_fail"][0], g[1])
    assert not r["revived"].any()
    converged = r["status"] == "converged"
    assert (r["loss"][converged] <= 1e-8).all()
    assert (g[0] * r["L_final"][0, 0] < 2).all()


def test_gamma_sweep_errors():
    with pytest.raises(ValueError, match="increasing grid"):
        dipnb.experiments.gamma_sweep(3, 2, [10], [1.0, 0.5])
    with pytest.raises(ValueError, match="k must be"):
        dipnb.experiments.gamma_sweep(3, 2, [0], [1.0])


# --- figures --------------------------------------------------------------------------------

def test_figures_draw(small):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net, pb = small
    fig = dipnb.plotting.plot_nu_profile(dipnb.nu_profile())
    assert len(fig.axes) == 2
    r = dipnb.experiments.lipschitz_sweep([(3, 2, 10), (3, 2, 20)], runs=2, steps=0, iters=20)
    assert len(dipnb.plotting.plot_lipschitz_sweep(r, vary="k").axes) == 2
    with pytest.raises(ValueError, match="unknown vary"):
        dipnb.plotting.plot_lipschitz_sweep(r, vary="d")
    gap = dipnb.flow_descent_gap(net, pb, [0.4, 0.2, 0.1], t_max=2.0, n_times=4)
    assert len(dipnb.plotting.plot_flow_vs_descent(gap, run=1).axes) == 3
    sw = dipnb.experiments.gamma_sweep(3, 2, [20], [1.0, 1000.0], runs=2, steps=300, stall_window=100)
    assert len(dipnb.plotting.plot_gamma_sweep(sw).axes) == 3
    plt.close("all")
