"""Activations: derivatives, the constants B, C_phi, C_phi' of A-3 and A-7."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import make_generator

SMOOTH = ["sigmoid", "tanh", "softplus"]


def test_gauss_hermite_moments_are_exact_for_polynomials():
    assert math.isclose(dipnb.gaussian_moment(lambda x: x ** 2), 1.0, rel_tol=1e-12)
    assert math.isclose(dipnb.gaussian_moment(lambda x: x ** 4), 3.0, rel_tol=1e-12)
    assert abs(dipnb.gaussian_moment(lambda x: x ** 3)) < 1e-12


@pytest.mark.parametrize("name", SMOOTH)
def test_derivatives_match_autograd(name):
    act = dipnb.get_activation(name)
    x = torch.linspace(-8, 8, 401, requires_grad=True)
    d1, = torch.autograd.grad(act.phi(x).sum(), x, create_graph=True)
    d2, = torch.autograd.grad(d1.sum(), x)
    assert torch.allclose(act.dphi(x.detach()), d1.detach(), atol=1e-12)
    assert torch.allclose(act.d2phi(x.detach()), d2, atol=1e-12)
    xn = np.linspace(-8, 8, 401)
    assert np.allclose(act.np_phi(xn), act.phi(torch.from_numpy(xn)).numpy(), atol=1e-12)
    assert np.allclose(act.np_dphi(xn), act.dphi(torch.from_numpy(xn)).numpy(), atol=1e-12)


@pytest.mark.parametrize("name", SMOOTH)
def test_B_is_the_sup_of_phi_prime_and_phi_second(name):
    act = dipnb.get_activation(name)
    x = torch.linspace(-30, 30, 600001)
    assert math.isclose(act.dphi(x).abs().max().item(), act.sup_dphi, rel_tol=1e-6)
    assert math.isclose(act.d2phi(x).abs().max().item(), act.sup_d2phi, rel_tol=1e-6)
    assert act.B == max(act.sup_dphi, act.sup_d2phi)


@pytest.mark.parametrize("name", SMOOTH + ["relu"])
def test_gaussian_constants_agree_with_monte_carlo(name):
    act = dipnb.get_activation(name)
    g = make_generator(0)
    X = torch.randn(2_000_000, generator=g)
    for const, f in ((act.C_phi, act.phi), (act.C_dphi, act.dphi)):
        vals = f(X) ** 2
        se = vals.std().item() / math.sqrt(X.numel())
        assert abs(vals.mean().item() - const ** 2) < 5 * se + 1e-12


def test_sigmoid_constants_of_the_paper_setting():
    act = dipnb.get_activation("sigmoid")
    assert act.B == 0.25 and math.isclose(act.sup_d2phi, 1 / (6 * math.sqrt(3)))
    # C_phi'^2 = E[s(X)^2 (1 - s(X))^2] is below (1/4)^2 and above its value at |X| ~ 1
    assert 0.04 < act.C_dphi ** 2 < 0.0625
