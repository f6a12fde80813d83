"""The studies beyond the paper's figures (issue 24): laziness and sharpness along training.
Each runs at a tiny size here; what is checked can fail (values against an independent
computation, the same draws as Fig 1, the cache)."""
import numpy as np

import dipnb


def test_laziness_sweep_traces_fig1_draws(tmp_path):
    from dipnb.experiments import laziness_sweep
    from dipnb.theory.corollary import condition4_ratio
    r = laziness_sweep(n=3, m=2, log10_ks=[1.5, 2.5], runs=4, steps=300, cache=tmp_path)
    assert r["dist"].shape == (2, len(r["steps"]), 4) and r["R"].shape == (2, 4)
    assert (r["dist_max"] <= r["length"] * (1 + 1e-12)).all()
    np.testing.assert_allclose(r["sigma_ratio"][:, 0], 1.0, rtol=1e-12)
    assert (r["drift"][:, 0] == 0).all()
    assert np.median(r["drift_max"][1]) < np.median(r["drift_max"][0])       # wider: lazier
    # the same draws as Fig 1: R of the first width from the shared seeds
    net = dipnb.core.network.draw_networks(4, 3, 32, seed=0)
    pb = dipnb.gaussian_problems(3, [2], 4, seed=0)[0]
    np.testing.assert_allclose(r["R"][0], condition4_ratio(net, pb)["R"].numpy(), rtol=1e-12)
    again = laziness_sweep(n=3, m=2, log10_ks=[1.5, 2.5], runs=4, steps=300, cache=tmp_path)   # from cache
    np.testing.assert_array_equal(again["dist"], r["dist"])


def test_sharpness_sweep_traces_the_hessian_along_descent(tmp_path):
    from dipnb.experiments import sharpness_sweep
    from dipnb.theory.theorem import hessian_extremes
    r = sharpness_sweep(n=3, m=2, log10_ks=[1.5], log10_gammas=[0.0, 1.5], runs=3, steps=200, points=5,
                        iters=32, cache=tmp_path)
    P = len(r["marks"])
    assert r["marks"][0] == 0 and (np.diff(r["marks"]) > 0).all() and r["marks"][-1] == 200
    assert r["lam_max"].shape == (1, 2, P, 3)
    assert (r["lam_max"] >= r["lam_min"]).all() and (r["loss_peak"] >= r["loss"] * (1 - 1e-12)).all()
    # at τ = 0, the Hessian and the loss of Fig 1's draws, computed here independently
    net = dipnb.core.network.draw_networks(3, 3, 32, seed=0)
    pb = dipnb.gaussian_problems(3, [2], 3, seed=0)[0]
    hi, lo = hessian_extremes(net, pb, iters=32)
    np.testing.assert_allclose(r["lam_max"][0, :, 0], np.stack([hi.numpy()] * 2), rtol=1e-8)
    loss0 = 0.5 * ((pb.A.A(net.forward()) - pb.y) ** 2).sum(1)
    np.testing.assert_allclose(r["loss"][0, :, 0], np.stack([loss0.numpy()] * 2), rtol=1e-12)
    # the loss at the last mark is that of gradient descent run in one piece
    tr = dipnb.gradient_descent(net, pb, 10 ** 1.5, 200, tol=0.0, record=[200], stall_window=None)
    np.testing.assert_allclose(r["loss"][0, 1, -1], tr.loss[-1].numpy(), rtol=1e-9, atol=1e-30)
    again = sharpness_sweep(n=3, m=2, log10_ks=[1.5], log10_gammas=[0.0, 1.5], runs=3, steps=200, points=5,
                            iters=32, cache=tmp_path)
    np.testing.assert_array_equal(again["lam_max"], r["lam_max"])
