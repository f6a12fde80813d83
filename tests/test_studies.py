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


def test_discretisation_study_factors_and_rates(tmp_path):
    from dipnb.experiments import discretisation_study
    from dipnb.theory.bounds import certified_L
    r = discretisation_study(n=3, m=2, k=200, runs=3, gamma_Ls=[0.5, 1.0], steps=5000, tol=1e-10, cache=tmp_path)
    t = np.array([0.5, 1.0])[:, None]
    nu1 = (1 + t) / (1 - t / 2)
    np.testing.assert_allclose(r["width_W_paper"], np.broadcast_to(nu1 ** 2, (2, 3)), rtol=1e-12)
    np.testing.assert_allclose(r["width_W_ours"], np.broadcast_to(1 / (1 - t / 2) ** 2, (2, 3)), rtol=1e-12)
    assert (r["width_both_paper"] >= nu1 ** 2 * (1 - 1e-12)).all() and (r["width_both_paper"] <= nu1 ** 4).all()
    np.testing.assert_allclose(r["rate_paper"] / r["rate_ours"], np.broadcast_to(1 / (1 + t) ** 2, (2, 3)))
    # the measured rate: the engine's stop step is gradient descent's first step below tol
    net = dipnb.core.network.draw_networks(3, 3, 200, seed=0)
    pb = dipnb.gaussian_problems(3, [2], 3, seed=0)[0]
    L = certified_L(net, pb)["L_descent"]
    np.testing.assert_allclose(r["L"], L.numpy())
    tr = dipnb.gradient_descent(net, pb, 1.0 / L, 5000, tol=1e-10, record=[0], stall_window=None)
    np.testing.assert_array_equal(r["stop_step"][1], tr.stop_step.numpy())
    loss0 = 0.5 * ((pb.A.A(net.forward()) - pb.y) ** 2).sum(1).numpy()
    conv = tr.converged.numpy()
    assert conv.any() and (r["converged"][1] == conv).all()
    np.testing.assert_allclose(r["rate"][1], np.where(conv, np.log(loss0 / 1e-10) / tr.stop_step.numpy(), np.nan),
                               rtol=1e-12)
