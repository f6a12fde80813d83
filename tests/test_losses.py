"""Losses: gradients, the KL inequality (3) on sublevel sets, and Psi, Psi^{-1}."""
import math

import pytest
import torch

import dipnb
from dipnb._random import make_generator

LOSSES = [dipnb.HalfMSE(), dipnb.PowerLoss(3.0), dipnb.PowerLoss(4.0), dipnb.KullbackLeibler()]
IDS = ["mse", "power3", "power4", "kl"]


def data(runs=5, m=6, seed=0):
    g = make_generator(seed)
    y = torch.rand(runs, m, generator=g) * 3 + 0.5          # positive, as the Kullback–Leibler loss needs
    return y, g


@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_gradient_matches_autograd(loss):
    y, g = data()
    v = (y + 0.4 * torch.randn(y.shape, generator=g)).clamp(min=0.1).requires_grad_(True)
    loss.value(v, y).sum().backward()
    assert torch.allclose(loss.grad(v.detach(), y), v.grad, atol=1e-12)


def test_minimum_is_zero_at_y():
    y, _ = data()
    for loss in LOSSES:
        assert torch.allclose(loss.value(y, y), torch.zeros(y.shape[0]), atol=1e-12)


@pytest.mark.parametrize("loss", LOSSES, ids=IDS)
def test_kl_inequality_on_sublevel_set(loss):
    """psi'(f(z)) * ||grad f(z)|| >= 1 on points sampled from [f < r0] (Definition II.2)."""
    y, g = data(runs=4, m=5, seed=1)
    r0 = 2.0
    psi = loss.desingularizer(y, r0)
    kept = 0
    for scale in (0.01, 0.1, 0.5, 1.0, 2.0):
        v = y[None] + scale * torch.randn((400,) + y.shape, generator=g)
        v = v.reshape(-1, y.shape[1])
        yy = y.repeat(400, 1)
        f = loss.value(v, yy)
        inside = torch.isfinite(f) & (f < r0) & (f > 0)
        c = psi.c if not torch.is_tensor(psi.c) else psi.c.repeat(400)[inside]
        lhs = dipnb.Desingularizer(c, psi.alpha).dpsi(f[inside]) * loss.grad(v[inside], yy[inside]).norm(dim=1)
        assert (lhs >= 1 - 1e-9).all(), lhs.min()
        kept += int(inside.sum())
    assert kept > 1000


def test_kl_inequality_is_tight_for_power_losses():
    """For (1/p)||v-y||^p the inequality is an equality: psi is the best possible."""
    y, g = data()
    for p in (2.0, 3.0):
        loss = dipnb.PowerLoss(p)
        v = y + torch.randn(y.shape, generator=g)
        psi = loss.desingularizer()
        lhs = psi.dpsi(loss.value(v, y)) * loss.grad(v, y).norm(dim=1)
        assert torch.allclose(lhs, torch.ones_like(lhs), atol=1e-10)


@pytest.mark.parametrize("alpha,c", [(0.5, math.sqrt(2)), (0.5, 3.0), (2 / 3, 1.5), (0.75, 1.0)])
def test_Psi_is_a_primitive_of_minus_dpsi_squared_and_inverts(alpha, c):
    psi = dipnb.Desingularizer(c, alpha)
    s = torch.logspace(-8, 2, 50)
    eps = 1e-6 * s
    dPsi = (psi.Psi(s + eps) - psi.Psi(s - eps)) / (2 * eps)
    assert torch.allclose(dPsi, -psi.dpsi(s) ** 2, rtol=1e-5)
    dpsi = (psi.psi(s + eps) - psi.psi(s - eps)) / (2 * eps)
    assert torch.allclose(dpsi, psi.dpsi(s), rtol=1e-5)
    assert torch.allclose(psi.Psi_inv(psi.Psi(s)), s, rtol=1e-9)


def test_mse_constants_of_theory_notes():
    psi = dipnb.HalfMSE().desingularizer()
    assert psi.alpha == 0.5 and math.isclose(psi.c, math.sqrt(2))
    assert math.isclose(psi.Psi_inv(1.0), math.exp(-2.0))


def test_kl_vmax_and_strong_convexity():
    y, g = data(runs=3, m=4)
    loss = dipnb.KullbackLeibler()
    r0 = 1.5
    vmax = loss.vmax(y, r0)
    assert (vmax > y).all()
    per_coord = y * torch.log(y / vmax) - y + vmax
    assert torch.allclose(per_coord, torch.full_like(per_coord, r0), atol=1e-10)
    # the Hessian diag(y/v^2) is >= mu on the sublevel set
    mu = 2 / loss.desingularizer(y, r0).c ** 2
    v = y[None] * torch.exp(0.5 * torch.randn((500,) + y.shape, generator=g))
    f = loss.value(v.reshape(-1, 4), y.repeat(500, 1)).reshape(500, 3)
    hess_min = (y / v ** 2).min(-1).values
    inside = f < r0
    assert inside.sum() > 50
    assert (hess_min[inside] >= mu.expand(500, 3)[inside] - 1e-12).all()


def test_kl_value_is_inf_outside_domain():
    y = torch.ones(2, 3)
    v = torch.tensor([[1.0, -1.0, 2.0], [1.0, 1.0, 1.0]])
    f = dipnb.KullbackLeibler().value(v, y)
    assert math.isinf(f[0]) and f[1] == 0
