"""Tests of dipnb.imaging: images, PSNR, the image training loop, early stopping, the linear model."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import make_generator, offset_seed


def test_load_image_is_a_real_grey_photograph():
    x = dipnb.experiments.load_image("hopper", 32)
    assert x.shape == (32, 32) and x.dtype == np.float64
    assert 0 <= x.min() and x.max() <= 255
    # a photograph, not a constant or a random field: wide range, neighbouring pixels correlated
    assert x.max() - x.min() > 100
    dx = np.diff(x, axis=1)
    assert np.corrcoef(x[:, :-1].ravel(), x[:, 1:].ravel())[0, 1] > 0.5
    assert np.abs(dx).mean() < x.std()


def test_load_image_rejects_bad_input():
    with pytest.raises(ValueError, match="image"):
        dipnb.experiments.load_image("lena")
    with pytest.raises(ValueError, match="size"):
        dipnb.experiments.load_image("hopper", 0)


def test_psnr_known_values():
    ref = np.zeros((4, 4))
    assert dipnb.analysis.psnr(ref + 255.0, ref) == pytest.approx(0.0)
    assert dipnb.analysis.psnr(ref + 25.5, ref) == pytest.approx(20.0)
    assert np.isinf(dipnb.analysis.psnr(ref, ref))
    batch = np.stack([ref + 25.5, ref + 2.55])
    np.testing.assert_allclose(dipnb.analysis.psnr(batch, np.zeros_like(batch), axis=(1, 2)), [20.0, 40.0])
    with pytest.raises(ValueError, match="same shape"):
        dipnb.analysis.psnr(np.zeros(3), np.zeros(4))


def test_blur_operator_kernel_and_sigma():
    A3 = dipnb.blur_operator(16, kernel=3)
    A7 = dipnb.blur_operator(16, kernel=7)
    assert A3.kernel_size == 3 and A7.kernel_size == 7
    assert float(A3.norm[0]) == pytest.approx(1.0, abs=1e-12)
    assert float(A3.sigma_min[0]) < float(A7.sigma_min[0])
    with pytest.raises(ValueError, match="odd"):
        dipnb.blur_operator(16, kernel=4)


def _small(n_side=4, k=300, noise=0.5, seed=0):
    n = n_side * n_side
    net = dipnb.TwoLayerDIP.init(1, n, k, d=3, seed=seed)
    A = dipnb.blur_operator(n_side, kernel=3)
    x_bar = torch.as_tensor(dipnb.experiments.load_image("hopper", n_side).ravel())[None]
    pb = dipnb.Problem.make(A, x_bar=x_bar, noise_std=noise, seed=offset_seed(seed, 1))
    return net, pb


def test_train_image_matches_gradient_descent():
    """The in-place loop gives the iterates of dipnb.gradient_descent with both layers."""
    net, pb = _small()
    gamma, steps = 0.02, 40
    run = dipnb.train_image(net, pb, gamma, steps, snapshots=[0, 7, steps])
    ref = dipnb.gradient_descent(net, pb, gamma, steps, layers="both", tol=0.0, record=1,
                                 stall_window=None)
    np.testing.assert_allclose(run.loss, ref.loss[:, 0].numpy(), rtol=1e-10)
    np.testing.assert_allclose(run.error, ref.error[:, 0].numpy(), rtol=1e-10)
    np.testing.assert_allclose(run.x_final, net.forward(ref.final)[0].numpy(), rtol=1e-10, atol=1e-9)
    assert list(run.snap_steps) == [0, 7, steps]
    np.testing.assert_allclose(run.snapshots[0], net.forward()[0].numpy(), rtol=1e-6)
    # the network was not modified in place
    assert torch.equal(net.V0, dipnb.TwoLayerDIP.init(1, net.n, net.k, d=3, seed=0).V0)


def test_a_divergent_image_run_ends_as_gradient_descent_says_it():
    """One status vocabulary (issue 21): a step far too large ends the image run with status
    "nonfinite" at the step gradient_descent names, curves NaN from there, no exception."""
    net, pb = _small()
    gamma, steps = 1e4, 60
    run = dipnb.train_image(net, pb, gamma, steps, snapshots=[0, steps])
    ref = dipnb.gradient_descent(net, pb, gamma, steps, layers="both", tol=0.0, record=1, stall_window=None)
    assert ref.status == ["nonfinite"] and run.status == "nonfinite"
    assert run.stop_step == int(ref.stop_step[0]) < steps
    assert np.isnan(run.loss[run.stop_step:]).all() and np.isfinite(run.loss[:run.stop_step]).all()
    assert np.isnan(run.snapshots[1]).all() and "status" not in run.arrays()
    ok = dipnb.train_image(net, pb, 0.02, 5)
    assert ok.status == "max_steps" and ok.stop_step == 5 and ok.state is None


def test_train_image_records_oracle_and_discrepancy_iterates():
    net, pb = _small(noise=3.0)
    thr = math.sqrt(pb.A.m) * 3.0
    gamma, _ = dipnb.experiments.step_size(net, pb, iters=10)
    run = dipnb.train_image(net, pb, gamma, 3000, dp_threshold=thr)
    assert run.best_step == int(np.argmin(run.error))
    assert run.dp_step == dipnb.analysis.discrepancy_stop(run.residual, 3.0, pb.A.m)
    assert run.dp_step > 0 and run.residual[run.dp_step] <= thr < run.residual[run.dp_step - 1]
    np.testing.assert_allclose(run.psnr, 10 * np.log10(255 ** 2 * pb.A.n / run.error ** 2))


def test_discrepancy_stop():
    res = np.array([10.0, 5.0, 3.0, 2.0, 1.0])
    assert dipnb.analysis.discrepancy_stop(res, noise_std=1.0, m=9) == 2          # sqrt(9) * 1 = 3
    assert dipnb.analysis.discrepancy_stop(res, noise_std=1.0, m=9, tau_dp=2.0) == 1
    assert dipnb.analysis.discrepancy_stop(res, noise_std=0.1, m=1) == -1
    with pytest.raises(ValueError, match="noise_std"):
        dipnb.analysis.discrepancy_stop(res, noise_std=0.0, m=9)


def test_landweber_noise_error_matches_iteration():
    """The spectral formula equals the Landweber iteration run on the noise alone."""
    A = dipnb.blur_operator(8, kernel=3)
    g = make_generator(0)
    eps = torch.randn(1, 64, generator=g, dtype=torch.float64)
    omega, steps = 0.7, 50
    lw = dipnb.landweber(A, eps, torch.zeros_like(eps), omega, steps)
    spectral = dipnb.theory.linear.landweber_noise_error(A, eps[0], omega, [steps, np.inf])
    assert spectral[0] == pytest.approx(lw["x"].norm().item(), rel=1e-9)
    x_inf = torch.linalg.solve(A.matrix()[0], eps[0])
    assert spectral[1] == pytest.approx(x_inf.norm().item(), rel=1e-6)


def test_effective_step_is_the_mean_ntk_eigenvalue():
    net, _ = _small(k=200)
    G = net.gram(layers="both")[0]
    assert dipnb.effective_step(net, 0.5) == pytest.approx(0.5 * torch.trace(G).item() / net.n, rel=1e-10)


def test_fig3a_tiny_and_comparison_table():
    res = dipnb.experiments.fig3a(size=8, k=200, steps=60, noise_stds=[0.0, 2.5], hessian_iters=5)
    assert res["s0_error"].shape == (61,)
    # noiseless: the error falls; the blur is injective but badly conditioned
    assert res["s0_error"][-1] < res["s0_error"][0]
    assert res["sigma_A"] < 1e-2
    rows = dipnb.report.images.fig3a_comparison(res)
    assert len(rows) >= 3 and all(r["paper says"] and r["we measure"] and r["agree?"] for r in rows)
    assert str(dipnb.report.images.comparison_table(rows)).count("\n") == len(rows) + 1
    assert dipnb.report.images.comparison_table(rows)._repr_html_().count("<tr>") == len(rows) + 1


def test_fig3b_tiny_bound_and_table():
    res = dipnb.experiments.fig3b(size=8, k=300, steps=80, hessian_iters=5)
    assert res["bound8"].shape == res["error"].shape
    assert res["R_prime"] > res["R"]       # condition (4) fails at this scale (as at the paper's)
    rows = dipnb.report.images.fig3b_comparison(res)
    assert all(r["paper says"] and r["we measure"] and r["agree?"] for r in rows)


def test_train_image_checkpoint_resumes_and_continues_with_the_same_iterates(tmp_path):
    """A run continued from its checkpoint (after 12 steps, then to 30) equals one call of 30
    steps; a checkpoint beyond the asked budget is neither used nor overwritten; another
    run's checkpoint is refused by name."""
    net, pb = _small()
    ck = tmp_path / "run.pt"
    full = dipnb.train_image(net, pb, 0.02, 30, snapshots=[0, 5, 20, 30])
    dipnb.train_image(net, pb, 0.02, 12, snapshots=[0, 5], checkpoint=ck)
    assert torch.load(ck, weights_only=False)["tau"] == 12
    cont = dipnb.train_image(net, pb, 0.02, 30, snapshots=[0, 5, 20, 30], checkpoint=ck)
    for key in ("loss", "error", "residual", "x_final", "snapshots"):
        np.testing.assert_array_equal(getattr(cont, key), getattr(full, key), err_msg=key)
    assert cont.best_step == full.best_step
    short = dipnb.train_image(net, pb, 0.02, 20, checkpoint=ck)
    np.testing.assert_array_equal(short.loss, full.loss[:21])
    assert torch.load(ck, weights_only=False)["tau"] == 30
    with pytest.raises(ValueError, match="another run"):
        dipnb.train_image(net, pb, 0.03, 40, checkpoint=ck)
    # a step moved in its last bits (a refactor of the step rule) still continues the run
    nudged = dipnb.train_image(net, pb, 0.02 * (1 + 4e-16), 31, checkpoint=ck)
    np.testing.assert_array_equal(nudged.loss[:31], full.loss[:31])


def test_train_image_ctrl_c_saves_a_checkpoint_and_says_where(tmp_path, monkeypatch):
    """SIGINT during an image run: the step in progress finishes, the state is saved, and
    CheckpointInterrupt (a KeyboardInterrupt) names the step and the file; the same call resumes."""
    import os
    import signal

    net, pb = _small()
    ck = tmp_path / "run.pt"
    full = dipnb.train_image(net, pb, 0.02, 50)
    calls = {"n": 0}
    adjoint = pb.A.A_adjoint

    def adjoint_then_interrupt(y):          # Ctrl-C arrives in the middle of step 20
        calls["n"] += 1
        if calls["n"] == 21:
            os.kill(os.getpid(), signal.SIGINT)
        return adjoint(y)

    monkeypatch.setattr(pb.A, "A_adjoint", adjoint_then_interrupt)
    with pytest.raises(KeyboardInterrupt, match=r"step 21 of 50.*run\.pt") as info:
        dipnb.train_image(net, pb, 0.02, 50, checkpoint=ck)
    monkeypatch.undo()
    assert isinstance(info.value, dipnb.core.descent.CheckpointInterrupt) and info.value.step == 21
    assert torch.load(ck, weights_only=False)["tau"] == 21
    resumed = dipnb.train_image(net, pb, 0.02, 50, checkpoint=ck)
    np.testing.assert_array_equal(resumed.loss, full.loss)
    np.testing.assert_array_equal(resumed.x_final, full.x_final)
