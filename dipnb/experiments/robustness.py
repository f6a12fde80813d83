"""The image claims over several photographs, network draws and noise draws, on two image scales.

Every image verdict of chapters 08 and 09 rests on one photograph, one network draw and one
noise draw. This study repeats the runs of Fig 3a (the 9×9 Gaussian blur, noiseless and AWGN of
std 2.5) and of Fig 3b / Fig 4 (the well-conditioned operator, AWGN of std 50) for each photograph
of ``images`` (``dipnb.experiments.IMAGE_SOURCES``: matplotlib's and scikit-image's sample
data) and ``draws`` independent draws of (θ0, the noise, the operator of Fig 3b), seeded by
``dipnb._random.draw_seed``, and on each image scale of ``scales``: 255 (the paper's
[0, 255]) and 1 ([0, 1], the other convention; the noise std scales with the image, so the
problem is the same up to the factor, but L0, the step rule and R' are not).

What a cell keeps (the readings themselves are :func:`dipnb.report.images.draws_summary`):

* Fig 3a: the PSNR of the noiseless and the noisy run along training, at every step of
  :func:`dipnb.core.descent.log_steps`, and at the last step; ‖Ax_T − y‖ and ‖ε‖;
* Fig 3b / Fig 4: the PSNR along training, the oracle step τ* (smallest error) with ωτ*
  (ω the effective Landweber step, :func:`dipnb.theory.linear.effective_step`), the error at
  τ* and at the end, its variation over the last 10 % of the steps, and the step of the
  discrepancy principle (τ_dp = 1) with its PSNR.

The steps are chosen by the images' stated rule (:func:`dipnb.experiments.images.choose_step`,
the largest stable step of a short sweep from 1/L0, as the ``paper-long`` presets) on each draw.
PSNR is measured against the scale's peak (255 or 1), so the two scales compare directly.
"""
from __future__ import annotations

import math

import numpy as np

from .._random import draw_seed
from .._validation import check_choice, check_int, check_positive
from ..analysis import psnr
from ..core.descent import log_steps, train_image
from ..core.problems import Problem
from ..theory.linear import effective_step, landweber
from ..theory.theorem import theorem_quantities
from .cells import keyed, run_cells
from .images import IMAGE_SOURCES, STEP_RULES, choose_step, finite_run, image_setting, load_image, step_size
from .registry import register_study

__all__ = ["ROBUSTNESS_PRESETS", "image_draws", "scale_constants", "scale_landweber", "FIG3A_NOISE", "FIG3B_NOISE"]

#: The paper's noise levels (standard deviations) on its 0-255 image scale: Fig 3a (blur) and Fig 3b / Fig 4.
FIG3A_NOISE, FIG3B_NOISE = 2.5, 50.0

_IMAGES = ["hopper", "camera", "coffee", "chelsea"]

# k / n is the paper's 10^4 / 64^2 = 2.44 at every size. paper-cpu: 32x32 images, k = 2500, 10^4
# steps (about 40 minutes a scale on one core); paper: the paper's 64x64 and k = 10^4, for a GPU.
ROBUSTNESS_PRESETS = {
    "quick": dict(images=_IMAGES, draws=2, size=16, k=625, steps=400, scales=[255.0, 1.0],
                  step_rule="stable", probe_steps=50, hessian_iters=15),
    "paper-cpu": dict(images=_IMAGES, draws=5, size=32, k=2500, steps=10_000, scales=[255.0, 1.0],
                      step_rule="stable", probe_steps=200, hessian_iters=20),
    "paper": dict(images=_IMAGES, draws=5, size=64, k=10_000, steps=10_000, scales=[255.0, 1.0],
                  step_rule="stable", probe_steps=200, hessian_iters=20),
}


def _psnr_curve(error, n: int, peak: float) -> np.ndarray:
    """The PSNR along a run from its error curve ‖x_τ − x̄‖ (the MSE is ‖x_τ − x̄‖²/n), by
    :func:`dipnb.analysis.psnr` against the scale's ``peak``."""
    e = np.asarray(error, dtype=float)[:, None] / math.sqrt(n)
    return psnr(e, np.zeros_like(e), peak=peak, axis=1)


@keyed
def image_draws(images=tuple(_IMAGES), draws: int = 5, size: int = 32, k: int = 2500, steps: int = 10_000,
                scales=(255.0, 1.0), step_rule: str = "stable", probe_steps: int = 200, hessian_iters: int = 20,
                seed: int = 0, device="cpu", cache=None, progress: bool = False) -> dict:
    """Fig 3a and Fig 3b / Fig 4 over photographs × draws × image scales (see the module's text).

    Parameters
    ----------
    images : sequence of str
        Names of ``dipnb.experiments.IMAGE_SOURCES``.
    draws : int
        Independent draws per photograph: draw j uses the seed ``dipnb._random.draw_seed``
        (seed, j) for θ0, the noise and Fig 3b's operator (draw 0 of seed 0 is the single-run studies' draw).
    size, k, steps : int
        Image side, width and step budget of every run.
    scales : sequence of float
        Image scales (255: [0, 255]; 1: [0, 1]); the noise std is scaled with the image.
    step_rule, probe_steps, hessian_iters
        The step rule of :func:`dipnb.experiments.images.choose_step` on each draw.

    Returns
    -------
    dict with ``images``, ``scales`` and, per (scale, image, draw), arrays of shape (S, I, D):
    ``a_gamma``, ``a_L0``, ``a_psnr0`` / ``a_psnr1`` (the noiseless / noisy Fig 3a run at the last
    step), ``a_psnr0_half`` (the noiseless run at half the budget), ``a_residual``, ``a_noise_norm``,
    ``b_gamma``, ``b_L0``, ``b_omega``, ``b_psnr_start``, ``b_psnr_best``, ``b_tau_star``, ``b_psnr_end``,
    ``b_rise``, ``b_tail``, ``b_dp_step``, ``b_psnr_dp``; the curves ``a_curve0``, ``a_curve1`` and
    ``b_curve`` (S, I, D, T') at the steps ``taus`` (T' = ``len(taus)``); the photographs ``x_bar``
    (I, size, size) on [0, 255].
    """
    images = [check_choice("image", im, IMAGE_SOURCES) for im in images]
    draws, size, k = check_int("draws", draws), check_int("size", size, low=4), check_int("k", k)
    steps = check_int("steps", steps, low=10)
    scales = [float(check_positive("scale", s)) for s in scales]
    check_choice("step_rule", step_rule, STEP_RULES)
    n = size * size
    taus = log_steps(steps, per_decade=10)

    def cell(c):
        scale, image, j = c
        s = draw_seed(seed, j)
        out = {}
        net, A, x_bar, z = image_setting("fig3a", size, k, image, 9, "reflect", s, device, scale=scale)
        eps = (FIG3A_NOISE * scale / 255.0) * z
        noisy, clean = Problem(A, x_bar, eps), Problem(A, x_bar, 0.0 * eps)
        gamma, L0, _ = choose_step(net, noisy, step_rule, 1.0, hessian_iters, probe_steps)
        r1 = finite_run(train_image(net, noisy, gamma, steps), gamma, f"image draws, Fig 3a, {image}, draw {j}")
        r0 = finite_run(train_image(net, clean, gamma, steps), gamma, f"image draws, Fig 3a noiseless, {image}, draw {j}")
        c0, c1 = _psnr_curve(r0.error, n, scale), _psnr_curve(r1.error, n, scale)
        out.update(a_gamma=gamma, a_L0=L0, a_psnr0=c0[-1], a_psnr0_half=c0[steps // 2], a_psnr1=c1[-1],
                   a_residual=float(r1.residual[-1]), a_noise_norm=float(eps.norm()),
                   a_curve0=c0[taus], a_curve1=c1[taus])
        net, A, x_bar, z = image_setting("fig3b", size, k, image, seed=s, device=device, scale=scale)
        sig = FIG3B_NOISE * scale / 255.0
        pb = Problem(A, x_bar, sig * z)
        gamma, L0, _ = choose_step(net, pb, step_rule, 1.0, hessian_iters, probe_steps)
        run = finite_run(train_image(net, pb, gamma, steps, dp_threshold=math.sqrt(n) * sig), gamma,
                         f"image draws, Fig 3b, {image}, draw {j}")
        err = np.asarray(run.error)
        cb = _psnr_curve(err, n, scale)
        tb = int(np.argmin(err))
        tail = err[int(0.9 * steps):]
        dp = int(run.dp_step)
        out.update(b_gamma=gamma, b_L0=L0, b_omega=effective_step(net, gamma), b_psnr_start=cb[0],
                   b_psnr_best=cb[tb], b_tau_star=tb, b_psnr_end=cb[-1], b_rise=err[-1] / err[tb] - 1,
                   b_tail=float(np.ptp(tail) / err[-1]), b_dp_step=dp, b_psnr_dp=cb[dp] if dp >= 0 else math.nan,
                   b_curve=cb[taus])
        return {key: np.asarray(v, dtype=float) for key, v in out.items()}

    grid = [(sc, im, j) for sc in scales for im in images for j in range(draws)]
    cells = run_cells("image-draws", grid, cell, cache, progress)
    shape = (len(scales), len(images), draws)
    res = {key: np.stack([c[key] for c in cells]).reshape(shape + np.shape(cells[0][key]))
           for key in cells[0]}
    res.update(images=np.array(images), scales=np.array(scales), taus=taus, size=size, k=k, steps=steps,
               draws=draws, step_rule=step_rule, noise_fig3a=FIG3A_NOISE, noise_fig3b=FIG3B_NOISE,
               x_bar=np.stack([load_image(im, size) for im in images]))
    return res


def scale_constants(size: int = 32, k: int = 2500, image: str = "hopper", scales=(255.0, 1.0), seed: int = 0,
                    hessian_iters: int = 20, steps: int = 1000, device="cpu") -> dict:
    """What the image scale changes at θ0, on Fig 3b's problem (draw ``seed``): per scale, the norms of
    :math:`x_0 = g(\\theta_0)` and :math:`\\bar x`, :math:`L_0` (:func:`dipnb.experiments.step_size`), and the
    radii R and R' of Theorem III.1 at γ = 1/L0 with L = L0 (both layers,
    :func:`dipnb.theory.theorem.theorem_quantities`), and how far the parameters move in ``steps`` steps of
    :func:`dipnb.train_image` at that step, ``distance`` = :math:`\\|\\theta_T - \\theta_0\\|`, beside
    :math:`\\|V_0\\| = \\sqrt{nk}` (Rademacher entries): ``{name: array over scales}``."""
    out = {key: [] for key in ("scale", "x0_norm", "xbar_norm", "L0", "R", "R_prime", "distance", "V0_norm")}
    for scale in scales:
        net, A, x_bar, z = image_setting("fig3b", size, k, image, seed=seed, device=device, scale=float(scale))
        pb = Problem(A, x_bar, (FIG3B_NOISE * float(scale) / 255.0) * z)
        gamma, L0 = step_size(net, pb, 1.0, hessian_iters)
        th = theorem_quantities(net, pb, gamma, layers="both", L=L0).scalars()
        run = finite_run(train_image(net, pb, gamma, steps, return_state=True), gamma, "scale_constants")
        for key, v in (("scale", scale), ("x0_norm", net.forward().norm()), ("xbar_norm", x_bar.norm()), ("L0", L0),
                       ("R", th["R"]), ("R_prime", th["R_prime"]), ("distance", net.param_distance(run.state)[0]),
                       ("V0_norm", net.V0.norm())):
            out[key].append(float(v))
    return {key: np.array(v) for key, v in out.items()}


def scale_landweber(size: int = 32, k: int = 2500, image: str = "hopper", scales=(255.0, 1.0), steps: int = 10_000,
                    seed: int = 0, device="cpu") -> dict:
    """The linear model of Fig 3a's noiseless run on each scale: the PSNR after ``steps`` Landweber steps
    (:func:`dipnb.theory.linear.landweber`) at the classical step ω = 1/‖A‖², started from the network's
    output :math:`x_0 = g(\\theta_0)` (draw ``seed``) and from 0: ``{"psnr_from_x0", "psnr_from_zero"}``, arrays
    over ``scales``. From 0 the two scales give the same PSNR (the iteration is linear); what the start
    from :math:`x_0` loses is the part of :math:`x_0` in the blur's nearly invisible directions, which
    Landweber removes only at the rate :math:`(1 - \\omega s^2)^\\tau`."""
    out = {key: [] for key in ("psnr_from_x0", "psnr_from_zero")}
    n = size * size
    for scale in scales:
        net, A, x_bar, _ = image_setting("fig3a", size, k, image, 9, "reflect", seed, device, scale=float(scale))
        y = A.A(x_bar)
        omega = 1.0 / float(A.norm[0]) ** 2
        for key, x0 in (("psnr_from_x0", net.forward()), ("psnr_from_zero", 0.0 * x_bar)):
            err = landweber(A, y, x0, omega, steps, x_bar)["error"][-1:]
            out[key].append(float(_psnr_curve(err, n, float(scale))[0]))
    return {key: np.array(v) for key, v in out.items()}


register_study("image-draws", image_draws, ROBUSTNESS_PRESETS, chapter="09_fig3b_fig4",
               doc="Fig 3a and Fig 3b/4 over 4 photographs x 5 draws of the network and noise, on the "
                   "[0, 255] and [0, 1] scales: intervals for PSNR and tau* (chapter 'Fig 3b and Fig 4')")
