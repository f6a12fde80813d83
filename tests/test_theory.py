"""Theorem III.1 and Corollary III.2: constants, and the bounds against real trajectories."""
import math

import pytest
import torch

import dipnb
from dipnb._random import make_generator
from dipnb.core.network import jacobian


@pytest.mark.parametrize("layers", ["W", "both"])
def test_jacobian_lipschitz_bound_holds(layers):
    net = dipnb.TwoLayerDIP.init(runs=2, n=3, k=30, d=4, seed=1)
    a = net.activation
    rho = 2.0
    lip = dipnb.jacobian_lipschitz(net, layers, radius=rho)
    g = make_generator(0)
    worst = torch.zeros(2)
    for _ in range(40):
        def point(scale):
            dV = torch.randn(net.V0.shape, generator=g) if layers == "both" else torch.zeros_like(net.V0)
            dW = torch.randn(net.W0.shape, generator=g)
            nrm = torch.sqrt((dV ** 2).sum((1, 2)) + (dW ** 2).sum((1, 2)))[:, None, None]
            return net.V0 + scale * rho * dV / nrm, net.W0 + scale * rho * dW / nrm
        V1, W1 = point(torch.rand(1, generator=g).item())
        V2, W2 = point(torch.rand(1, generator=g).item())
        dJ = jacobian(net.u, W1, V1, a, layers) - jacobian(net.u, W2, V2, a, layers)
        dth = torch.sqrt(((V1 - V2) ** 2).sum((1, 2)) + ((W1 - W2) ** 2).sum((1, 2)))
        ratio = torch.linalg.matrix_norm(dJ, ord=2) / dth
        worst = torch.maximum(worst, ratio)
    assert (worst <= lip).all()
    assert (worst > 0.01 * lip).all()      # the bound is not vacuous


def test_radius_R_solves_its_fixed_point():
    net = dipnb.TwoLayerDIP.init(runs=3, n=4, k=500, seed=2)
    for layers in ("W", "both"):
        s0 = net.sigma_min_jacobian(layers=layers)
        R = dipnb.radius_R(net, layers)
        lip = dipnb.jacobian_lipschitz(net, layers, radius=R)
        assert torch.allclose(R, s0 / (2 * lip), rtol=1e-10)
    assert torch.isinf(dipnb.radius_R(net, "V")).all()


def test_nu1_nu2():
    L = 3.0
    g = torch.linspace(1e-4, 1 / L, 2001)
    n1, n2 = dipnb.nu1(g, L), dipnb.nu2(g, L)
    assert (n1 > 1).all() and (n1 <= 4 + 1e-12).all() and math.isclose(n1[-1].item(), 4.0)
    i = int(torch.argmin(n2))
    assert abs(g[i].item() - 1 / (2 * L)) < 2e-3
    assert math.isclose(dipnb.nu2(1 / (2 * L), L), 6 * L)
    assert math.isclose(dipnb.nu1(1 / (2 * L), L), 2.0)


def explicit_hessian(net, pb, r, layers):
    """The Hessian of run r in theta = (V, W), restricted to the trained layers, by autograd."""
    a, M, y = net.activation, pb.A.matrix(), pb.y

    def f(V, W):
        x = V @ a.phi(W @ net.u[r]) / math.sqrt(net.k)
        return 0.5 * ((M[r] @ x - y[r]) ** 2).sum()
    H = torch.autograd.functional.hessian(f, (net.V0[r], net.W0[r]))
    pV, pW = net.V0[r].numel(), net.W0[r].numel()
    full = torch.cat([torch.cat([H[0][0].reshape(pV, pV), H[0][1].reshape(pV, pW)], 1),
                      torch.cat([H[1][0].reshape(pW, pV), H[1][1].reshape(pW, pW)], 1)], 0)
    sl = {"V": slice(0, pV), "W": slice(pV, pV + pW), "both": slice(0, pV + pW)}[layers]
    return full[sl, sl]


@pytest.mark.parametrize("layers", ["W", "V", "both"])
def test_hessian_norm_matches_explicit_hessian_in_theta(layers):
    """Power iteration in the reduced (a, V) coordinates equals the top |eigenvalue|
    of the full Hessian in theta = (V, W), for d > 1."""
    net = dipnb.TwoLayerDIP.init(runs=2, n=3, k=6, d=4, seed=3)
    A = dipnb.gaussian_operator(2, 3, runs=2, seed=4)
    pb = dipnb.Problem.make(A, seed=5)
    est = dipnb.hessian_norm(net, pb, layers=layers, iters=500)
    for r in range(2):
        top = torch.linalg.eigvalsh(explicit_hessian(net, pb, r, layers)).abs().max()
        assert math.isclose(est[r].item(), top.item(), rel_tol=1e-6)


def far_problem(net, scale):
    """Problems whose x_bar is ``scale`` times a N(0, I) draw: the larger the residual, the
    larger the residual (indefinite) part of the Hessian."""
    A = dipnb.gaussian_operator(2, net.n, runs=net.runs, seed=4)
    pb = dipnb.Problem.make(A, seed=5)
    return dipnb.Problem(A, scale * pb.x_bar, pb.noise)


@pytest.mark.parametrize("layers", ["W", "both"])
@pytest.mark.parametrize("scale, d", [(1.0, 1), (30.0, 4)])
def test_hessian_extremes_match_explicit_hessian(layers, scale, d):
    """Both ends of the spectrum, signed, against eigvalsh of the explicit Hessian in theta,
    on indefinite Hessians: lambda_min < 0, never -lambda_max, and with scale 30 (a large
    residual) some run has |lambda_min| > lambda_max, where hessian_norm is |lambda_min|."""
    net = dipnb.TwoLayerDIP.init(runs=3, n=3, k=6, d=d, seed=3)
    pb = far_problem(net, scale)
    lam_max, lam_min = dipnb.hessian_extremes(net, pb, layers=layers)
    assert lam_max.dtype == lam_min.dtype == torch.float64
    assert lam_max.shape == lam_min.shape == (3,)
    ev = torch.stack([torch.linalg.eigvalsh(explicit_hessian(net, pb, r, layers)) for r in range(3)])
    top, bottom = ev[:, -1], ev[:, 0]
    assert (bottom < -1e-3).all()                                   # indefinite
    assert not torch.allclose(bottom, -top, rtol=1e-2)              # lambda_min is not -lambda_max
    torch.testing.assert_close(lam_max, top, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(lam_min, bottom, rtol=1e-9, atol=1e-12)
    if scale > 1:
        assert (-bottom > top).any()           # there the norm is |lambda_min|, not lambda_max
        norm = dipnb.hessian_norm(net, pb, layers=layers, iters=500)
        torch.testing.assert_close(norm, torch.maximum(lam_max, -lam_min), rtol=1e-3, atol=0.0)


@pytest.mark.parametrize("d", [1, 4])
def test_hessian_extremes_semi_definite_and_partial(d):
    """At a zero residual the Hessian is Gauss-Newton: positive definite in (a, V) when k <= m,
    so lambda_min > 0 for d = 1 and 0 for d = 4 (the directions of W orthogonal to u). With
    fewer Lanczos steps than coordinates the Ritz values lie inside [lambda_min, lambda_max]."""
    net = dipnb.TwoLayerDIP.init(runs=2, n=3, k=2, d=d, seed=6)
    A = dipnb.gaussian_operator(3, 3, runs=2, seed=7)
    pb = dipnb.Problem(A, net.forward(), torch.zeros(2, 3, dtype=torch.float64))
    lam_max, lam_min = dipnb.hessian_extremes(net, pb, layers="W")
    ev = torch.stack([torch.linalg.eigvalsh(explicit_hessian(net, pb, r, "W")) for r in range(2)])
    torch.testing.assert_close(lam_max, ev[:, -1], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(lam_min, ev[:, 0], rtol=1e-9, atol=1e-12)
    assert (lam_min > 1e-6).all() if d == 1 else (lam_min.abs() <= 1e-12).all()
    big = dipnb.TwoLayerDIP.init(runs=2, n=3, k=30, d=d, seed=6)
    pb = far_problem(big, 3.0)
    part_max, part_min = dipnb.hessian_extremes(big, pb, layers="both", iters=4)
    ev = torch.stack([torch.linalg.eigvalsh(explicit_hessian(big, pb, r, "both")) for r in range(2)])
    assert (part_max <= ev[:, -1] * (1 + 1e-12)).all() and (part_min >= ev[:, 0] * (1 + 1e-12)).all()
    assert (part_max > 0.5 * ev[:, -1]).all()                       # and not vacuous


@pytest.mark.parametrize("kwargs, match", [(dict(iters=0), "iters must be an integer >= 1"),
                                           (dict(seed=-1), "seed must be an integer >= 0"),
                                           (dict(layers="U"), "accepted: \\['W', 'V', 'both'\\]")])
def test_hessian_extremes_rejects_bad_input(kwargs, match):
    net = dipnb.TwoLayerDIP.init(runs=1, n=2, k=3, seed=0)
    with pytest.raises(ValueError, match=match):
        dipnb.hessian_extremes(net, far_problem(net, 1.0), **kwargs)


def test_L_eq10_formula():
    assert math.isclose(dipnb.L_eq10(2.0, 3.0, 5, 20), 4 * 5 / 20 + 2 * 3 * math.sqrt(5 / 20))
    assert math.isclose(dipnb.L_eq10(2.0, 3.0, 5, 20, const=2.0), 2 * dipnb.L_eq10(2.0, 3.0, 5, 20))


def test_condition_4_closed_form_hidden_layer():
    """For W only and 1/2-MSE, (4) reads sqrt(k) > 4 nu1 B M ||y0 - y|| / (sigma_A sigma0^2)."""
    net = dipnb.TwoLayerDIP.init(runs=3, n=2, k=20000, seed=1)
    A = dipnb.well_conditioned_operator(2, runs=3, seed=2)
    pb = dipnb.Problem.make(A, seed=3)
    th = dipnb.theorem_quantities(net, pb, gamma=0.5, L=1.0)
    res = (A.A(net.forward()) - pb.y).norm(dim=1)
    M = net.V0.norm(dim=1).max(1).values
    rhs = 4 * th.nu1 * net.activation.B * M * res / (th.sigma_A * th.sigma0 ** 2)
    assert torch.equal(th.condition_4, math.sqrt(net.k) > rhs)
    assert torch.allclose(th.R_prime, 2 * th.nu1 * res / (th.sigma_A * th.sigma0))
    assert torch.allclose(th.L_eq10, dipnb.L_eq10(th.A_norm, res, net.n, net.k))
    assert torch.allclose(th.nu1, dipnb.nu1(th.gamma, th.L)) and torch.allclose(th.nu2, dipnb.nu2(th.gamma, th.L))


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_bounds_6_7_8_hold_along_gradient_descent(noise):
    """When (4) holds and gamma <= 1/L, the measured loss, ||theta_tau - theta_inf||,
    ||theta_tau - theta_0|| and ||x_tau - x_bar|| stay under (6), (7), R' and (8)."""
    runs, n, k = 4, 2, 20000
    net = dipnb.TwoLayerDIP.init(runs, n, k, d=4, seed=1)
    A = dipnb.well_conditioned_operator(n, runs=runs, seed=2)
    pb = dipnb.Problem.make(A, noise_std=noise, seed=3)
    L = dipnb.estimate_L(net, pb, gamma=1.0, steps=300, points=4, iters=30)
    gamma = 0.5 / L
    th = dipnb.theorem_quantities(net, pb, gamma=gamma, L=L)
    ok = th.applies                  # the test is about the regime of the theorem
    assert ok.sum() >= 2
    theta_inf = dipnb.gradient_descent(net, pb, gamma, 5000, tol=0, stall_window=200, record=[0]).final
    tr = dipnb.gradient_descent(net, pb, gamma, 2000, tol=1e-24, record=1, reference=theta_inf)
    tau = torch.as_tensor(tr.steps)
    valid = (tau[:, None] <= tr.stop_step[None, :]) & ok[None, :]
    assert valid.sum() > 100
    def under(measured, bound, slack=1e-12):
        return bool(((measured <= bound * (1 + 1e-9) + slack) | ~valid).all())
    assert under(tr.loss, th.loss_bound(tau))
    assert under(tr.dist_ref, th.param_bound(tau), slack=1e-7)
    assert under(tr.dist, th.R_prime.expand_as(tr.dist))
    assert under(tr.error, th.error_bound(tau, dist=0.0))
    # and the bounds are not vacuous: at the end the error bound is within 100x of the error
    assert (th.error_bound(tau)[-1] < 100 * tr.error[-1] + 1e-6 + 100 * th.noise_norm)[ok].all()


def test_corollary_width_for_mse():
    A = dipnb.gaussian_operator(2, 5, runs=2, seed=0)
    pb = dipnb.Problem.make(A, noise_std=0.1, seed=1)
    d = 10
    k = dipnb.corollary_width(pb, d, C=0.5, C_prime=2.0)
    rho = (0.5 * A.norm * math.sqrt(5 * math.log(d))
           + math.sqrt(2) * (pb.y_bar.abs().amax(1) + pb.noise.abs().amax(1)))
    assert torch.allclose(k, 2.0 * A.sigma_min ** -4 * 5 * rho ** 4)
    assert torch.isinf(dipnb.corollary_width(pb, d, loss="kl")).all()
    assert math.isclose(dipnb.corollary_probability(5, 10), 1 - 2 / 5 - 1 / 10)
