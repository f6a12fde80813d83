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


def test_image_draws_repeats_the_image_runs_over_photographs_draws_and_scales(tmp_path):
    from dipnb._random import draw_seed
    from dipnb.core.descent import train_image
    from dipnb.core.problems import Problem
    from dipnb.experiments import image_draws, image_setting
    from dipnb.experiments.images import choose_step
    r = image_draws(images=["hopper", "camera"], draws=2, size=8, k=160, steps=40, scales=[255.0, 1.0],
                    step_rule="1/L0", hessian_iters=10, cache=tmp_path)
    assert r["a_psnr0"].shape == (2, 2, 2) and r["b_curve"].shape == (2, 2, 2, len(r["taus"]))
    assert draw_seed(0, 0) == 0 and draw_seed(0, 1) != draw_seed(0, 0) != draw_seed(1, 0)
    # draw 1 of the camera on [0, 1], Fig 3b: the run recomputed here from its stated draws
    net, A, x_bar, z = image_setting("fig3b", 8, 160, "camera", seed=draw_seed(0, 1), scale=1.0)
    assert float(x_bar.max()) <= 1.0 < float(image_setting("fig3b", 8, 160, "camera")[2].max())
    pb = Problem(A, x_bar, (50.0 / 255.0) * z)
    gamma, L0, _ = choose_step(net, pb, "1/L0", 1.0, 10, 200)
    run = train_image(net, pb, gamma, 40)
    np.testing.assert_allclose(r["b_L0"][1, 1, 1], L0, rtol=1e-12)
    assert r["b_tau_star"][1, 1, 1] == int(np.argmin(run.error))
    # PSNR against the scale's peak: the psnr of dipnb.analysis at peak 1
    x = run.best_x
    np.testing.assert_allclose(r["b_psnr_best"][1, 1, 1], dipnb.analysis.psnr(x, x_bar[0].numpy(), peak=1.0), rtol=1e-9)
    again = image_draws(images=["hopper", "camera"], draws=2, size=8, k=160, steps=40, scales=[255.0, 1.0],
                        step_rule="1/L0", hessian_iters=10, cache=tmp_path)
    np.testing.assert_array_equal(again["b_curve"], r["b_curve"])


def test_draw_readings_agree_only_when_nine_draws_in_ten_do():
    from dipnb.report import AGREES, DISAGREES, NOT_TESTED
    from dipnb.report.draws import draw_readings, draw_verdicts
    shape = (2, 2, 5)                                  # scales, photographs, draws
    res = {"images": np.array(["hopper", "camera"]), "scales": np.array([255.0, 1.0]), "size": 8, "k": 10,
           "steps": 100, "draws": 5, "step_rule": "stable"}
    for key in ("a_psnr0", "a_psnr0_half", "a_psnr1", "a_residual", "a_noise_norm", "b_psnr_start",
                "b_psnr_best", "b_rise", "b_tail"):
        res[key] = np.ones(shape)
    res["b_psnr_start"] = np.zeros(shape)
    res["b_psnr_best"] = np.full(shape, 5.0)           # +5 dB: "gets better" on every draw...
    res["b_psnr_best"][1, 0, 0] = 2.0                  # ...but one draw of ten on [0, 1]: 90% still agree
    res["a_psnr0"] = np.full(shape, 41.0)
    res["a_psnr0_half"] = np.full(shape, 41.0)         # at 41 dB and flat: the limit agrees
    res["a_psnr0"][1, :, :2] = 30.0                    # 4 of 10 below 40 dB and flat: disagree
    res["a_psnr0_half"][1, :, :2] = 30.0
    res["a_psnr0"][0, 1, :] = 35.0                     # 5 of 10 still rising: not tested, 5 agree
    res["a_psnr0_half"][0, 1, :] = 34.0
    v = draw_verdicts(res)
    assert (v["fig3b.better"] == AGREES).sum() == 19
    better, _ = draw_readings(res, "fig3b.better")
    assert [r.verdict for r in better] == [AGREES, AGREES]
    res["b_psnr_best"][1, 1, 0] = 2.0                  # two of ten: no longer 90%
    assert [r.verdict for r in draw_readings(res, "fig3b.better")[0]] == [AGREES, DISAGREES]
    perfect, words = draw_readings(res, "fig3a.perfect")
    assert [r.verdict for r in perfect] == [NOT_TESTED, DISAGREES] and "4 disagree" in words
    assert not any(r.paper for r in perfect)


def test_choice_sensitivity_enters_the_verdicts_as_readings():
    from dipnb.experiments.sensitivity import variants
    from dipnb.report import DEPENDS
    from dipnb.report.sweeps import fig1_table
    res = dipnb.experiments.fig1_sweep(n=3, ms=[2], log10_ks_a=[1.0], log10_ks_b=[1.0, 1.5, 2.0, 2.5], runs=6,
                                       steps=2000)
    flat = {f"gamma=0.5/{key}": v for key, v in res.items()}
    flat.update({f"gamma=2/{key}": v for key, v in res.items()})
    var = variants(flat)
    assert list(var) == ["γ = 0.5", "γ = 2"] and var["γ = 2"]["ks_b"] is res["ks_b"]
    head = dipnb.report.claims_by_key(fig1_table(res, reps=50, sensitivity=var))["fig1.conv_m2"]
    names = [r.name for r in head.readings]
    assert "every run (P = 1), γ = 0.5" in names
    same = {r.name: r.verdict for r in head.readings}                # the same runs read at γ = 0.5
    assert same["every run (P = 1), γ = 0.5"] == same["every run (P = 1)"]
    from dipnb.report import AGREES, DISAGREES
    conv = np.asarray(res["converged"]).astype(bool)
    early = dict(res, converged=np.ones_like(conv))                # every run from k = 10: 1.5 decades early
    late = dict(res, converged=np.zeros_like(conv))
    late["converged"][:, -1] = True                                # every run from k = 10^2.5, the paper's
    c = dipnb.report.claims_by_key(fig1_table(res, reps=50, sensitivity={"γ = 0.5": early, "γ = 2": late}))
    c = c["fig1.conv_m2"]
    got = {r.name: r.verdict for r in c.readings}
    assert got["every run (P = 1), γ = 0.5"] == DISAGREES and got["every run (P = 1), γ = 2"] == AGREES
    assert c.status == DEPENDS and not c.robust


def test_the_image_scale_leaves_R_and_x0_and_scales_the_image():
    from dipnb.experiments.robustness import scale_constants
    c = scale_constants(size=8, k=160, hessian_iters=10, steps=50)
    np.testing.assert_allclose(c["R"][0], c["R"][1], rtol=1e-10)          # R does not see the data
    np.testing.assert_allclose(c["x0_norm"][0], c["x0_norm"][1], rtol=1e-12)
    np.testing.assert_allclose(c["xbar_norm"][0] / c["xbar_norm"][1], 255.0, rtol=1e-12)
    assert c["R_prime"][0] > 10 * c["R_prime"][1] and c["L0"][0] > c["L0"][1]
    assert c["distance"][0] > 10 * c["distance"][1] > 0                   # [0, 255] moves the weights far more
    np.testing.assert_allclose(c["V0_norm"], np.sqrt(64 * 160), rtol=1e-12)


def test_landweber_from_zero_does_not_see_the_scale_and_x0_costs_more_on_0_1():
    from dipnb.experiments.robustness import scale_landweber
    lw = scale_landweber(size=8, k=160, steps=300)
    np.testing.assert_allclose(lw["psnr_from_zero"][0], lw["psnr_from_zero"][1], rtol=1e-9)
    loss = lw["psnr_from_zero"] - lw["psnr_from_x0"]               # dB that starting from x0 costs
    assert loss[1] > 10 * max(loss[0], 1e-3) and loss[1] > 1.0


def test_the_stable_step_rule_goes_down_when_the_first_probe_is_not_stable():
    from dipnb.core.problems import Problem
    from dipnb.experiments import image_setting, step_size
    from dipnb.experiments.images import stable_step
    net, A, x_bar, z = image_setting("fig3b", 8, 160, "camera", scale=1.0)
    pb = Problem(A, x_bar, (50.0 / 255.0) * z)
    _, L0 = step_size(net, pb, 1.0, 10)
    best, probes = stable_step(net, pb, 64.0 / L0, probe_steps=50)
    assert probes[0] == (64.0 / L0, False) and probes[-1] == (best, True)
    assert best < 64.0 / L0 and all(not ok for _, ok in probes[:-1])
    assert [g for g, _ in probes] == sorted((g for g, _ in probes), reverse=True)      # downward, halving
    up, _ = stable_step(net, pb, best, probe_steps=50)                 # from a stable start it goes up
    assert up >= best


def test_saved_or_quick_reads_the_saved_file_else_computes_the_quick_preset(tmp_path):
    from dipnb.experiments import save_result, saved_or_quick
    preset, quick = saved_or_quick("sigma-min", out=tmp_path)          # nothing saved there
    assert preset == "quick" and not list(tmp_path.iterdir())          # computed, nothing written
    save_result("sigma-min-paper-cpu", {"marker": np.array([7.0])}, {"preset": "paper-cpu"}, tmp_path)
    preset, saved = saved_or_quick("sigma-min", out=tmp_path)
    assert preset == "paper-cpu" and float(saved["marker"][0]) == 7.0
    assert set(quick) != {"marker"}
