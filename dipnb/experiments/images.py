"""Images: the experiments of the paper's Fig 3a, Fig 3b and Fig 4, and early stopping.

Section IV of the paper trains the two-layer network (9) on 64×64 grayscale images,
seen as vectors of :math:`[0, 255]^{4096}`, with width :math:`k = 10^4`:

* **Fig 3a**: A is a Gaussian blur of standard deviation 1 (n = m), no noise or
  additive white Gaussian noise (AWGN) of standard deviation 2.5;
* **Fig 3b / Fig 4**: :math:`A = Q_1\\,\\mathrm{diag}(\\mathrm{linspace}(1, 2, n))\\,Q_2^T` with
  :math:`Q_1`, :math:`Q_2` random orthogonal, AWGN of standard deviation 50; reconstructions along
  training (3b) and the error :math:`\\|x_\\tau - \\bar x\\|` against τ with bound (8) (4).

Beyond the paper, :func:`dipnb.analysis.discrepancy_stop` is an early-stopping rule that needs no
ground truth (Morozov's discrepancy principle), compared with the oracle best τ.

Choices the paper leaves open, made here and stated in the chapters:

* images: photographs shipped with matplotlib (Tiny ImageNet cannot be downloaded
  here), see :data:`IMAGE_SOURCES`; grayscale, centre-cropped, resized with PIL;
* both layers are trained (with V fixed, :math:`|x_i| \\le \\sqrt k\\,\\sup\\phi` cannot
  reach 255 for Rademacher V0 and k = 10^4; Corollary III.2 also trains both);
* the loss is :math:`\\frac12\\|Ax - y\\|^2` on the raw [0, 255] scale, and the step is
  :math:`\\gamma = \\text{gamma\\_L}/L_0`, :math:`L_0` the Hessian norm at θ0
  (:func:`dipnb.hessian_norm`);
* Gaussian blur: the Gaussian of std 1 sampled by the field's standard rule (scipy's
  ``gaussian_filter``, truncated at 4 standard deviations: a 9×9 kernel, reflecting boundary),
  :math:`\\sigma_A \\approx 2.1\\cdot10^{-4}`; the 3×3 kernel, which gives the paper's
  :math:`\\sigma_A \\sim 10^{-5}` through a near-zero of its response at one frequency, is the
  ``paper-long-3x3`` sensitivity preset (:class:`dipnb.GaussianBlur` lists the others).
* the image runs save a checkpoint every few minutes (:func:`dipnb.train_image`) under
  ``results/.partial/checkpoints/``: an interrupted run resumes, and a finished one can be
  continued to more steps.

The training loop is :func:`dipnb.core.descent.train_image` (gradient descent (2) on both
layers for one large run), the linear model :mod:`dipnb.theory.linear`, the readings (PSNR,
the discrepancy principle) :mod:`dipnb.analysis`, and the comparison with the paper
:mod:`dipnb.report.images`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._random import make_generator, offset_seed
from .._validation import DEFAULT_DTYPE, check_choice, check_int, check_positive
from ..core.descent import train_image
from ..core.network import TwoLayerDIP
from ..core.operators import blur_operator, well_conditioned_operator
from ..core.problems import Problem
from ..theory.linear import blur_spectrum, effective_step, landweber, landweber_noise_error
from ..theory.theorem import TheoremIII1, certified_dist, hessian_norm, theorem_quantities
from .cells import cell_key, keyed, run_cells
from .registry import register_study

__all__ = ["IMAGE_SOURCES", "load_image", "step_size", "fig3a", "fig3b", "FIG3A_PRESETS",
           "FIG3B_PRESETS", "image_setting", "stable_step", "choose_step", "finite_run"]


#: Real photographs that ship inside an installed dependency (matplotlib's and scikit-image's sample
#: data; nothing is downloaded), with their origin and licence as documented by the package.
#: ``crop`` is (left, top, right, bottom): the central square, except for "hopper" (a square on the face).
IMAGE_SOURCES = {
    "hopper": dict(package="matplotlib", file="mpl-data/sample_data/grace_hopper.jpg",
                   description="portrait of Rear Admiral Grace M. Hopper (U.S. Navy photograph, 1984)",
                   licence="public domain (work of the U.S. federal government); shipped as "
                           "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                   crop=(44, 80, 468, 504)),
    "camera": dict(package="skimage", file="data/camera.png",
                   description="a photographer with a camera on a tripod (scikit-image's 'camera', since 0.18)",
                   licence="CC0 by the photographer (Lav Varshney); shipped as skimage/data/camera.png",
                   crop=(0, 0, 512, 512)),
    "coffee": dict(package="skimage", file="data/coffee.png",
                   description="a cup of coffee on a saucer (scikit-image's 'coffee')",
                   licence="CC0 by the photographer (Rachel Michetti); shipped as skimage/data/coffee.png",
                   crop=(100, 0, 500, 400)),
    "chelsea": dict(package="skimage", file="data/chelsea.png",
                    description="Chelsea the cat (scikit-image's 'chelsea')",
                    licence="CC0 by the photographer (Stefan van der Walt); shipped as skimage/data/chelsea.png",
                    crop=(75, 0, 375, 300)),
}


def _sample_data(src: dict):
    """The file of an :data:`IMAGE_SOURCES` entry inside its installed package (not imported)."""
    from importlib.util import find_spec

    spec = find_spec(src["package"])
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"the image needs the package {src['package']!r}, which is not installed; "
                         f"pip install -e . installs it")
    from pathlib import Path

    path = Path(list(spec.submodule_search_locations)[0]) / src["file"]
    if not path.is_file():
        raise ValueError(f"{src['package']} has no {src['file']!r}; is it installed in full?")
    return path


def load_image(name: str = "hopper", size: int = 64, scale: float = 255.0) -> np.ndarray:
    """A real photograph as a ``size``×``size`` float64 array of grey levels in [0, ``scale``].

    The image is read with PIL from the sample data of matplotlib or scikit-image
    (:data:`IMAGE_SOURCES`), converted to grayscale (ITU-R 601-2 luma, PIL mode ``"L"``), cropped to
    the square of :data:`IMAGE_SOURCES`, resized with a Lanczos filter, clipped to [0, 255] and
    multiplied by ``scale`` / 255 (the paper's scale is 255; 1 is the other common convention).
    Flatten it row-major (``.ravel()``) to get :math:`\\bar x \\in [0, \\text{scale}]^{n}`,
    :math:`n = \\text{size}^2`.
    """
    from PIL import Image

    check_choice("image", name, IMAGE_SOURCES)
    size = check_int("size", size, low=4, high=512)
    check_positive("scale", scale)
    src = IMAGE_SOURCES[name]
    with Image.open(_sample_data(src)) as im:
        im = im.convert("L").crop(src["crop"]).resize((size, size), Image.Resampling.LANCZOS)
        x = np.clip(np.asarray(im, dtype=np.float64), 0.0, 255.0)
    return x if scale == 255.0 else x * (float(scale) / 255.0)


def step_size(net: TwoLayerDIP, problem: Problem, gamma_L: float = 1.0, iters: int = 20) -> tuple:
    """γ = ``gamma_L`` / L0 with L0 the Hessian norm of the loss at θ0 (both layers).

    Returns ``(gamma, L0)``. On the [0, 255] scale, L0 is dominated by the residual
    part of the Hessian (about :math:`B\\|A^T(y_0 - y)\\|/\\sqrt k` and more), not by the
    Gauss–Newton part :math:`\\|A\\|^2(C_\\phi^2 + C_{\\phi'}^2)`; it falls as the residual falls,
    so L0 is the largest value along the run (checked at the end of the paper-scale runs).
    """
    check_positive("gamma_L", gamma_L)
    L0 = float(hessian_norm(net, problem, layers="both", iters=iters)[0])
    return gamma_L / L0, L0


STEP_RULES = ("1/L0", "stable")


def stable_step(net: TwoLayerDIP, problem: Problem, gamma0: float, growth: float = 2.0, trials: int = 10,
                probe_steps: int = 200) -> tuple[float, list]:
    """The largest step of a short γ sweep at which training stays stable: a rule fixed in
    advance, that looks at the loss only (never at the reconstruction error).

    Tries :math:`\\gamma_j = \\gamma_0\\,g^j`, j = 0, 1, ..., ``trials - 1`` (g = ``growth``), each for
    ``probe_steps`` steps of :func:`dipnb.train_image` from θ0, and returns the largest γ_j
    below the first one whose loss is non-finite or rises at some step (by more than a
    relative 1e-9, round-off), with the list of ``(gamma, stable)`` probes. With γ0 = 1/L0
    (:func:`step_size`) the first probe is the theorem's step. When γ0 itself is not stable
    (L0, the Hessian norm at θ0, is only a lower estimate of L: on the [0, 1] image scale the loss
    can rise at 1/L0), the sweep goes down instead, :math:`\\gamma_0 g^{-1}, \\gamma_0 g^{-2}, \\dots`
    (``trials - 1`` more probes), and returns the first stable step.
    """
    check_positive("gamma0", gamma0)
    if not growth > 1:
        raise ValueError(f"growth must be > 1, got {growth}")
    trials, probe_steps = check_int("trials", trials), check_int("probe_steps", probe_steps)
    best, probes = None, []

    def stable(g):
        run = train_image(net, problem, g, probe_steps)
        loss = run.loss
        ok = run.status != "nonfinite" and bool(np.all(np.diff(loss) <= 1e-9 * loss[:-1]))
        probes.append((g, ok))
        return ok

    for j in range(trials):
        g = gamma0 * growth ** j
        if not stable(g):
            break
        best = g
    for j in range(1, trials if best is None else 0):
        g = gamma0 * growth ** (-j)
        if stable(g):
            best = g
            break
    if best is None:
        raise ValueError(f"no stable step: even gamma0 / {growth:g}^{trials - 1} = {gamma0 * growth ** (1 - trials):g} "
                         f"makes the loss rise within {probe_steps} steps; accepted: a smaller gamma0")
    return best, probes


def choose_step(net, problem, rule, gamma_L, hessian_iters, probe_steps):
    """``(gamma, L0, probes)`` by the stated ``rule`` ("1/L0": gamma_L / L0; "stable": :func:`stable_step`):
    the one home of the image studies' step rule."""
    check_choice("step_rule", rule, STEP_RULES)
    gamma, L0 = step_size(net, problem, gamma_L, hessian_iters)
    if rule == "1/L0":
        return gamma, L0, []
    g, probes = stable_step(net, problem, gamma, probe_steps=probe_steps)
    return g, L0, probes


# The blur is the Gaussian of std 1 sampled by scipy's rule (kernel=9, see dipnb.gaussian_radius);
# "paper-long-3x3" is the sensitivity run with the 3x3 kernel (the earlier headline operator).
# "paper-long" runs the noiseless problem 4x longer than the noisy one (steps_noiseless): the
# claim "perfectly recovered" is about where training ends up.
FIG3A_PRESETS = {
    "quick": dict(size=32, k=2500, steps=1500, noise_stds=[0.0, 2.5], kernel=9, boundary="reflect",
                  gamma_L=1.0, hessian_iters=15, image="hopper"),
    "paper": dict(size=64, k=10_000, steps=3000, noise_stds=[0.0, 2.5], kernel=9, boundary="reflect",
                  gamma_L=1.0, hessian_iters=20, image="hopper"),
    "paper-long": dict(size=64, k=10_000, steps=10_000, steps_noiseless=40_000, noise_stds=[0.0, 2.5],
                       kernel=9, boundary="reflect", gamma_L=1.0, hessian_iters=20, image="hopper",
                       step_rule="stable", probe_steps=200),
    "paper-long-3x3": dict(size=64, k=10_000, steps=10_000, noise_stds=[0.0, 2.5], kernel=3, boundary="reflect",
                           gamma_L=1.0, hessian_iters=20, image="hopper", step_rule="stable", probe_steps=200),
}


# "paper-long": the paper's sizes at a step fixed by a stated rule (the largest stable step of a
# short sweep, :func:`stable_step`) and 10^4 steps, so that where training ends up is tested.
FIG3B_PRESETS = {
    "quick": dict(size=32, k=2500, steps=800, noise_std=50.0, gamma_L=1.0, hessian_iters=15,
                  tau_dp=1.0, image="hopper"),
    "paper": dict(size=64, k=10_000, steps=3000, noise_std=50.0, gamma_L=1.0, hessian_iters=20,
                  tau_dp=1.0, image="hopper"),
    "paper-long": dict(size=64, k=10_000, steps=10_000, noise_std=50.0, gamma_L=1.0, hessian_iters=20,
                       tau_dp=1.0, image="hopper", step_rule="stable", probe_steps=200),
}


_TAUS_LINEAR = [1e2, 1e3, 1e4, 1e5, 1e6, 1e8, 1e10, 1e12, np.inf]


#: snapshots per decade of τ that an image run keeps (:func:`_snap_list`)
SNAPS_PER_DECADE = 4


def _snap_list(steps):
    """The iterations at which an image run keeps :math:`x_\\tau`: 0, the end, and
    :data:`SNAPS_PER_DECADE` per decade spaced evenly in log τ (1, 2, 3, 6, 10, 18, 32, 56, 100, …),
    so that the slider of Fig 3a/3b (:mod:`dipnb.plotting.interactive.images`) moves smoothly:
    18 snapshots for 10^4 steps, 14 for the 800 steps of the quick Fig 3b. Only what is stored
    depends on it, not the iterates nor any cache key; the results saved with the earlier
    schedule (0, 1, 3, 10, 30, …) load and draw as before."""
    steps = int(steps)
    top = math.log10(steps) if steps >= 1 else 0.0
    pts = {int(round(10 ** (j / SNAPS_PER_DECADE))) for j in range(int(top * SNAPS_PER_DECADE) + 1)}
    return sorted({t for t in pts if t <= steps} | {0, steps})


def _setup(size, k, image, seed, device, scale=255.0):
    x_bar = torch.as_tensor(load_image(image, size, scale).ravel(), dtype=DEFAULT_DTYPE, device=device)[None]
    net = TwoLayerDIP.init(1, size * size, k, d=16, seed=seed, device=device)
    return x_bar, net


def _unit_noise(n: int, seed: int, device) -> torch.Tensor:
    """The noise draw of the image studies, at standard deviation 1 (scaled per noise level),
    from the stream ``offset_seed(seed, 1)`` of the study's seed."""
    g = make_generator(offset_seed(seed, 1), device)
    return torch.randn(1, n, dtype=DEFAULT_DTYPE, device=device, generator=g)


def image_setting(which: str, size: int = 64, k: int = 10_000, image: str = "hopper", kernel: int = 9,
                  boundary: str = "reflect", seed: int = 0, device="cpu", scale: float = 255.0):
    """The network, operator, image and unit noise of an image study, as the study draws them:
    ``(net, A, x_bar, z)`` for ``which`` = ``"fig3a"`` (the blur of ``kernel`` and ``boundary``)
    or ``"fig3b"`` (the well-conditioned operator, seed ``offset_seed(seed, 2)``); the noise of level σ is
    ``σ z``; the image is on [0, ``scale``] (:func:`load_image`). One home for these draws:
    :func:`fig3a`, :func:`fig3b`, the audit of the theorem's hypotheses (:mod:`dipnb.experiments.audit`)
    and the study over images and draws (:mod:`dipnb.experiments.robustness`) all call it."""
    check_choice("which", which, ("fig3a", "fig3b"))
    x_bar, net = _setup(size, k, image, seed, device, scale)
    n = size * size
    A = (blur_operator(size, kernel, boundary, device=device) if which == "fig3a"
         else well_conditioned_operator(n, seed=offset_seed(seed, 2), device=device))
    return net, A, x_bar, _unit_noise(n, seed, device)


def finite_run(run, gamma: float, what: str):
    """``run`` (a :class:`dipnb.core.descent.ImageRun`), or a ValueError, naming the step and the way out,
    if it went non-finite."""
    if run.status == "nonfinite":
        raise ValueError(f"{what}: the loss became non-finite at step {run.stop_step} with gamma = {gamma:g}; "
                         f"accepted: a smaller step (a smaller gamma_L, or step_rule='1/L0')")
    return run


def _checkpoint(cache, name: str, params: dict, cell):
    """Where an image run keeps its checkpoint: ``checkpoints/`` beside the sweep's cache folder,
    keyed by everything but the step budget, so that a later call with more steps continues it,
    and with γ to 10 significant digits, so that a change of its last bits does not lose it."""
    if cache is None:
        return None
    from pathlib import Path

    params = dict(params, gamma=f"{float(params['gamma']):.10g}") if "gamma" in params else params
    return Path(cache).parent / "checkpoints" / f"{name}-{cell_key(name, params, cell)}.pt"


@keyed
def fig3a(size: int = 64, k: int = 10_000, steps: int = 5000, noise_stds=(0.0, 2.5), kernel: int = 9,
          boundary: str = "reflect", gamma_L: float = 1.0, hessian_iters: int = 20, image: str = "hopper",
          step_rule: str = "1/L0", probe_steps: int = 200, steps_noiseless: int | None = None, seed: int = 0,
          device="cpu", cache=None, progress: bool = False) -> dict:
    """Fig 3a: Gaussian-blur deconvolution, noiseless and noisy, with the network (9).

    One network (seed ``seed``), the image ``image`` at ``size``×``size``, the blur of
    :func:`blur_operator` (``kernel`` 9: the Gaussian of std 1 sampled as scipy samples it);
    for each noise level σ in ``noise_stds`` (noise seed ``offset_seed(seed, 1)``, the same draw scaled),
    ``steps`` steps of :func:`train_image` (``steps_noiseless`` for σ = 0, when given) with
    γ = ``gamma_L`` / L0, L0 the Hessian norm at θ0 on the noisy data of the largest σ.
    Also: the Landweber iteration with the network's effective step (linear model), and
    the noise part of the Landweber error at later τ and at τ = ∞ (:func:`landweber_noise_error`).

    Returns a dict of arrays (keys prefixed ``s{i}_`` per noise level).
    """
    size, k, steps = check_int("size", size, low=4), check_int("k", k), check_int("steps", steps, low=0)
    steps0 = steps if steps_noiseless is None else check_int("steps_noiseless", steps_noiseless, low=0)
    noise_stds = [float(check_positive("noise_std", s, allow_zero=True)) for s in noise_stds]
    net, A, x_bar, z = image_setting("fig3a", size, k, image, kernel, boundary, seed, device)
    n = size * size
    s_max = max(noise_stds)

    def setup_cell(_):
        gamma, L0, probes = choose_step(net, Problem(A, x_bar, s_max * z), step_rule, gamma_L, hessian_iters,
                                         probe_steps)
        return {"gamma": gamma, "L0": L0, "probes": np.array(probes, dtype=float).reshape(-1, 2)}

    base = dict(size=size, k=k, image=image, seed=seed, kernel=kernel, boundary=boundary)
    st = run_cells("fig3a-step", [0], setup_cell, cache, progress,
                   params=dict(base, s_max=s_max, gamma_L=gamma_L, hessian_iters=hessian_iters,
                               step_rule=step_rule, probe_steps=probe_steps))[0]
    gamma, L0 = float(st["gamma"]), float(st["L0"])
    omega = effective_step(net, gamma)
    x0 = net.forward()

    def run_cell(sig):
        pb = Problem(A, x_bar, sig * z)
        thr = math.sqrt(n) * sig if sig > 0 else None
        T = steps0 if sig == 0 else steps
        run = finite_run(train_image(net, pb, gamma, T, _snap_list(T), dp_threshold=thr, progress=progress,
                                  checkpoint=_checkpoint(cache, "fig3a-run", dict(base, gamma=gamma), sig)),
                      gamma, f"Fig 3a, noise {sig:g}")
        lw = landweber(A, pb.y, x0, omega, T, x_bar)
        out = run.arrays()
        out.update(y=pb.y[0].cpu().numpy().astype(np.float32),
                   Ax_final=A.A(torch.as_tensor(run.x_final, device=device)[None])[0].cpu().numpy(),
                   lw_error=lw["error"], lw_residual=lw["residual"])
        return out

    cells = run_cells("fig3a-runs", noise_stds, run_cell, cache, progress,
                      params=dict(base, gamma=gamma, steps=steps,
                                  **({} if steps_noiseless is None else {"steps_noiseless": steps0})))
    res = {"x_bar": x_bar[0].cpu().numpy(), "y_bar": A.A(x_bar)[0].cpu().numpy(),
           "noise_stds": np.array(noise_stds), "gamma": gamma, "L0": L0, "omega": omega,
           "step_rule": step_rule, "step_probes": st["probes"],
           "sigma_A": float(A.sigma_min[0]), "A_norm": float(A.norm[0]), "kernel": A.kernel_size,
           "boundary": boundary, "size": size, "k": k, "steps": steps, "steps_noiseless": steps0,
           "image": image, "taus_linear": np.array(_TAUS_LINEAR),
           "sigma_A_7x7": float(blur_operator(size, 7, boundary).sigma_min[0]),
           "sigma_A_by_kernel": np.array([[ks, float(blur_operator(size, ks, boundary).sigma_min[0])]
                                          for ks in (3, 5, 7, 9, 11)])}
    for i, (sig, c) in enumerate(zip(noise_stds, cells)):
        for key, v in c.items():
            res[f"s{i}_{key}"] = v
        eps = sig * z
        res[f"s{i}_noise_norm"] = float(eps.norm())
        if sig > 0:
            res[f"s{i}_lw_noise"] = landweber_noise_error(A, eps[0], omega, _TAUS_LINEAR)
            UH, sH, _, UW, sW, _ = blur_spectrum(A)
            coef = (UH.T @ eps[0].reshape(A.shape) @ UW).flatten()
            s = torch.outer(sH, sW).flatten()
            amp = (coef / s) ** 2
            small = s < 1e-3
            res[f"s{i}_frac_small_sv"] = float(small.double().mean())
            res[f"s{i}_noise_small_share"] = float((coef[small] ** 2).sum() / (coef ** 2).sum())
            res[f"s{i}_inv_small_share"] = float(amp[small].sum() / amp.sum())
    return res


@keyed
def fig3b(size: int = 64, k: int = 10_000, steps: int = 3000, noise_std: float = 50.0,
          gamma_L: float = 1.0, hessian_iters: int = 20, tau_dp: float = 1.0, image: str = "hopper",
          step_rule: str = "1/L0", probe_steps: int = 200, seed: int = 0, device="cpu", cache=None,
          progress: bool = False, theorem: bool = True) -> dict:
    """Fig 3b and Fig 4: the well-conditioned operator (:func:`dipnb.well_conditioned_operator`,
    :math:`\\sigma_A = 1`, :math:`\\|A\\| = 2`, seed ``offset_seed(seed, 2)``) and AWGN of std ``noise_std``.

    One noisy run of :func:`train_image` (snapshots along training, error at every step,
    the oracle and discrepancy-principle iterates), a noiseless run from the same θ0 (it
    certifies an upper bound on :math:`\\mathrm{dist}(\\bar x, \\Sigma')` in (8), as in
    :func:`dipnb.dist_to_sigma_prime`: ``dist_sigma`` is its final error if its parameters end
    within R' of θ0, ``clean_param_distance`` :math:`\\le` R', and ``+inf`` otherwise, by
    :func:`dipnb.theory.theorem.certified_dist`), the Landweber iteration with the effective step,
    and with ``theorem`` every constant of Theorem III.1 (``layers="both"``, L = L0) for bound (8).
    Without ``theorem`` R' is not computed and ``dist_sigma`` is ``+inf`` (no certificate).
    """
    size, k, steps = check_int("size", size, low=4), check_int("k", k), check_int("steps", steps, low=0)
    check_positive("noise_std", noise_std)
    net, A, x_bar, z = image_setting("fig3b", size, k, image, seed=seed, device=device)
    n = size * size
    eps = noise_std * z
    pb = Problem(A, x_bar, eps)
    clean = Problem(A, x_bar, torch.zeros_like(eps))

    def setup_cell(_):
        gamma, L0, probes = choose_step(net, pb, step_rule, gamma_L, hessian_iters, probe_steps)
        out = {"gamma": gamma, "L0": L0, "step_probes": np.array(probes, dtype=float).reshape(-1, 2)}
        if theorem:
            th = theorem_quantities(net, pb, gamma, layers="both", L=L0)
            out.update(th.scalars())
        return out

    base = dict(size=size, k=k, image=image, seed=seed, noise_std=noise_std)
    st = run_cells("fig3b-step", [0], setup_cell, cache, progress,
                   params=dict(base, gamma_L=gamma_L, hessian_iters=hessian_iters, theorem=theorem,
                               step_rule=step_rule, probe_steps=probe_steps))[0]
    gamma = float(st["gamma"])
    omega = effective_step(net, gamma)
    thr = tau_dp * math.sqrt(n) * noise_std
    ck = dict(base, gamma=gamma, tau_dp=tau_dp)

    def run_cell(which):
        if which == "noisy":
            run = finite_run(train_image(net, pb, gamma, steps, _snap_list(steps), dp_threshold=thr, progress=progress,
                                      return_state=True, checkpoint=_checkpoint(cache, "fig3b-run", ck, which)),
                          gamma, "Fig 3b")
            out = run.arrays()
            # L at the end of the run: is L0 (at theta_0) the largest Hessian norm along the run?
            out["L_end"] = float(hessian_norm(net, pb, run.state, layers="both", iters=hessian_iters)[0])
            del run
            out["y"] = pb.y[0].cpu().numpy().astype(np.float32)
            lw = landweber(A, pb.y, net.forward(), omega, steps, x_bar)
            out.update(lw_error=lw["error"], lw_residual=lw["residual"])
            x_ls = torch.linalg.solve(A.M[0], pb.y[0])
            out["ls_error"] = float((x_ls - x_bar[0]).norm())
            return out
        run = finite_run(train_image(net, clean, gamma, steps, [], progress=progress, return_state=True,
                                  checkpoint=_checkpoint(cache, "fig3b-run", ck, which)), gamma, "Fig 3b, noiseless")
        return {"clean_error": run.error, "clean_loss": run.loss,
                "clean_param_distance": float(net.param_distance(run.state)[0])}

    # "dist_guard" keeps the cells cached before the clean run recorded its distance to theta_0
    # from being reused (a finished run's checkpoint makes their recomputation cheap)
    cells = run_cells("fig3b-runs", ["noisy", "clean"], run_cell, cache, progress,
                      params=dict(base, gamma=gamma, steps=steps, tau_dp=tau_dp, dist_guard=True))
    res = {"x_bar": x_bar[0].cpu().numpy(), "noise_std": noise_std, "omega": omega, "size": size, "k": k,
           "steps": steps, "image": image, "tau_dp": tau_dp, "dp_threshold": thr, "step_rule": step_rule,
           "sigma_A": float(A.sigma_min[0]), "A_norm": float(A.norm[0])}
    res.update({key: v for key, v in st.items()})
    res.update(cells[0])
    res.update(cells[1])
    # dist(x_bar, Sigma') <= error of the noiseless limit, if that limit lies within R' of theta_0
    R_prime = st["R_prime"] if theorem else math.nan
    res["dist_sigma"] = float(certified_dist(float(cells[1]["clean_error"][-1]),
                                             float(cells[1]["clean_param_distance"]), float(R_prime)))
    if theorem:   # bound (8) of Theorem III.1 along the run, with that dist(x_bar, Sigma')
        th = TheoremIII1.from_scalars(st, layers="both")
        res["bound8"] = th.error_bound(np.arange(steps + 1), dist=res["dist_sigma"])[:, 0].cpu().numpy()
    return res


register_study("fig3a", fig3a, FIG3A_PRESETS, chapter="08_fig3_images",
               doc="Fig 3a: Gaussian-blur deconvolution of a 64x64 photograph, noiseless and AWGN std 2.5, "
                   "both layers trained (chapter 'Fig 3a')")


register_study("fig3b-fig4", fig3b, FIG3B_PRESETS, chapter="09_fig3b_fig4",
               doc="Fig 3b and Fig 4: well-conditioned operator, AWGN std 50, reconstructions along training, "
                   "error vs tau with bound (8), early stopping (chapter 'Fig 3b and Fig 4')")
