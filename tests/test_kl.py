"""Chapter 02: sampling sublevel sets, the KL inequality (3), Psi and Psi^{-1} numerically, rates (6)."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import make_generator


def positive_y(runs=3, m=4, seed=0):
    g = make_generator(seed)
    return 0.5 + 3 * torch.rand(runs, m, dtype=torch.float64, generator=g)


LOSSES = [dipnb.HalfMSE(), dipnb.PowerLoss(3.0), dipnb.KullbackLeibler()]


@pytest.mark.parametrize("loss", LOSSES, ids=["mse", "power3", "kl"])
def test_sublevel_samples_lie_in_the_set_and_cover_its_levels(loss):
    y, r0 = positive_y(), 5.0
    v = dipnb.sublevel_samples(loss, y, r0, samples=500, seed=1, low=1e-6)
    assert v.shape == (3, 500, 4) and v.dtype == torch.float64
    f = loss.value(v.reshape(-1, 4), y[:, None].expand(3, 500, 4).reshape(-1, 4)).reshape(3, 500)
    assert (f < r0).all() and (f > 0).all()
    # log-uniform levels: about as many points below r0/1000 as the log-range fraction says
    frac = (f < r0 * 1e-3).double().mean().item()
    assert 0.35 < frac < 0.65, frac
    assert f.max() > 0.9 * r0


def test_sublevel_samples_are_seeded():
    y = positive_y()
    a = dipnb.sublevel_samples("mse", y, 1.0, samples=10, seed=3)
    b = dipnb.sublevel_samples("mse", y, 1.0, samples=10, seed=3)
    c = dipnb.sublevel_samples("mse", y, 1.0, samples=10, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_kl_ratio_is_one_for_tight_power_losses_and_at_least_one_for_kl():
    y = positive_y()
    for p in (2.0, 4.0):
        chk = dipnb.check_kl_inequality(dipnb.PowerLoss(p), y, 3.0, samples=300)
        assert torch.allclose(chk.ratio, torch.ones_like(chk.ratio), atol=1e-9)
        assert chk.holds().all()
    chk = dipnb.check_kl_inequality(dipnb.KullbackLeibler(), y, 3.0, samples=300)
    assert chk.holds().all() and chk.ratio.shape == (3, 300)


def test_a_too_small_psi_is_caught():
    """The check must be able to fail: psi(s) = sqrt(s) is too small for 1/2-MSE."""
    y = positive_y()
    chk = dipnb.check_kl_inequality("mse", y, 3.0, psi=dipnb.Desingularizer(1.0, 0.5), samples=100)
    assert not chk.holds().any()
    assert torch.allclose(chk.min_ratio, torch.full((3,), 1 / math.sqrt(2)), atol=1e-9)


def test_kl_psi_of_a_small_level_fails_on_a_larger_set():
    y, kl = positive_y(), dipnb.KullbackLeibler()
    psi1 = kl.desingularizer(y, 1.0)
    inside = dipnb.check_kl_inequality(kl, y, 1.0, psi=psi1, samples=500, seed=2)
    outside = dipnb.check_kl_inequality(kl, y, 1.0, psi=psi1, samples=500, seed=2, sample_level=100.0)
    assert inside.holds().all()
    assert not outside.holds().all()


def test_kl_mu_decreases_with_the_level_and_bounds_the_hessian():
    y, kl = positive_y(), dipnb.KullbackLeibler()
    levels = [0.1, 1.0, 10.0, 100.0]
    mus = torch.stack([kl.mu(y, r) for r in levels])
    assert (mus[1:] < mus[:-1]).all()
    for r, mu in zip(levels, mus):
        v = dipnb.sublevel_samples(kl, y, r, samples=400, seed=5)
        assert ((y[:, None] / v ** 2).amin(dim=(1, 2)) >= mu * (1 - 1e-9)).all()


def test_numeric_Psi_and_inverse_match_the_closed_forms():
    for psi in (dipnb.HalfMSE().desingularizer(), dipnb.PowerLoss(4.0).desingularizer()):
        s = np.logspace(-6, 2, 9)
        num = dipnb.numeric_Psi(psi.psi, s, s_ref=1.0)
        assert np.allclose(num, psi.Psi(s) - psi.Psi(1.0), rtol=1e-5, atol=1e-8)
    t = np.array([-1.0, 0.0, 2.0])
    inv = dipnb.numeric_inverse(lambda x: -0.5 * np.log(x), t, lo=1e-6, hi=1e3)
    assert np.allclose(inv, np.exp(-2 * t), rtol=1e-10)


def test_decay_rates_and_fit_decay():
    mse, p4 = dipnb.HalfMSE().desingularizer(), dipnb.PowerLoss(4.0).desingularizer()
    tau = np.arange(0, 200.0)
    assert np.allclose(mse.decay(0.1, 3.0, tau), 3.0 * np.exp(-2 * 0.1 * tau))   # 4a/c^2 = 2a
    assert math.isclose(dipnb.analysis.fit_decay(tau, mse.decay(0.1, 3.0, tau)), 0.2, rel_tol=1e-9)
    assert mse.polynomial_exponent == math.inf and p4.polynomial_exponent == 2.0
    big = np.logspace(7, 9, 20)
    assert abs(dipnb.analysis.fit_decay(big, p4.decay(1.0, 1.0, big), "power") - 2.0) < 1e-3
    # per run
    vals = np.stack([np.exp(-0.1 * tau), np.exp(-0.3 * tau)], axis=1)
    assert np.allclose(dipnb.analysis.fit_decay(tau, vals), [0.1, 0.3])


def test_decay_matches_theorem_quantities_loss_bound():
    net = dipnb.TwoLayerDIP.init(2, 3, 50, seed=0)
    problem = dipnb.Problem.make(dipnb.gaussian_operator(2, 3, runs=2, seed=1), seed=2)
    q = dipnb.theorem_quantities(net, problem, gamma=0.1, loss=dipnb.PowerLoss(3.0), L=1.0)
    a = q.sigma_A ** 2 * q.sigma0 ** 2 / (4 * q.nu2)
    tau = torch.tensor([0.0, 10.0, 1000.0], dtype=torch.float64)[:, None]
    assert torch.allclose(q.psi.decay(a, q.loss0, tau), q.loss_bound(tau[:, 0]), rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: dipnb.sublevel_samples("mse", positive_y(), -1.0), "r0"),
    (lambda: dipnb.sublevel_samples("mse", positive_y(), 1.0, samples=0), "samples"),
    (lambda: dipnb.sublevel_samples("mse", positive_y(), 1.0, low=2.0), "low"),
    (lambda: dipnb.sublevel_samples("mse", torch.ones(3), 1.0), "shape"),
    (lambda: dipnb.kl_ratio("mse", torch.ones(2, 5, 3), positive_y(), dipnb.Desingularizer(1.0, 0.5)), "v must"),
    (lambda: dipnb.analysis.fit_decay([1, 2, 3], [1.0, 0.5, 0.0]), "> 0"),
    (lambda: dipnb.analysis.fit_decay([1, 2], [1.0, 0.5], "exp"), "accepted"),
    (lambda: dipnb.numeric_Psi(np.sqrt, [-1.0]), "s must"),
    (lambda: dipnb.numeric_inverse(lambda x: -np.log(x), [100.0], lo=1e-3, hi=1e3), r"\[fun\(hi\)"),
    (lambda: dipnb.KullbackLeibler().mu(-positive_y(), 1.0), "y > 0"),
    (lambda: dipnb.HalfMSE().desingularizer().decay(-1.0, 1.0, 1.0), "slope"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
