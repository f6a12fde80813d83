"""Images: the experiments of the paper's Fig 3a, Fig 3b and Fig 4, and early stopping.

Section IV of the paper trains the two-layer network (9) on 64×64 grayscale images,
seen as vectors of :math:`[0, 255]^{4096}`, with width :math:`k = 10^4`:

* **Fig 3a**: A is a Gaussian blur of standard deviation 1 (n = m), no noise or
  additive white Gaussian noise (AWGN) of standard deviation 2.5;
* **Fig 3b / Fig 4**: :math:`A = U\\,\\mathrm{diag}(\\mathrm{linspace}(1, 2, n))\\,V^T` with
  U, V random orthogonal, AWGN of standard deviation 50; reconstructions along
  training (3b) and the error :math:`\\|x_\\tau - \\bar x\\|` against τ with bound (8) (4).

Beyond the paper, :func:`discrepancy_stop` is an early-stopping rule that needs no
ground truth (Morozov's discrepancy principle), compared with the oracle best τ.

Choices the paper leaves open, made here and stated in the chapters:

* images: photographs shipped with matplotlib (Tiny ImageNet cannot be downloaded
  here), see :data:`IMAGE_SOURCES`; grayscale, centre-cropped, resized with PIL;
* both layers are trained (with V fixed, :math:`|x_i| \\le \\sqrt k\\,\\sup\\phi` cannot
  reach 255 for Rademacher V0 and k = 10^4; Corollary III.2 also trains both);
* the loss is :math:`\\frac12\\|Ax - y\\|^2` on the raw [0, 255] scale, and the step is
  :math:`\\gamma = \\text{gamma\\_L}/L_0`, :math:`L_0` the Hessian norm at θ0
  (:func:`dipnb.hessian_norm`);
* Gaussian blur: 3×3 kernel with reflecting boundary, :math:`\\sigma_A \\approx 1.5\\cdot10^{-5}`,
  the order of magnitude the paper quotes (:class:`dipnb.GaussianBlur` lists the others).

The training loop :func:`train_image` is the gradient descent (2) of
:func:`dipnb.gradient_descent` (both layers, ½-MSE) written for one large run: it
updates V in place (one rank-one update per step) and records the loss, error and
residual at *every* step, and a few images. ``tests/test_imaging.py`` checks that the
two loops give the same iterates.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch

from ._checks import DEFAULT_DTYPE, check_choice, check_int, check_positive
from .descent import Problem
from .experiments import Experiment, _run_cells
from .network import State, TwoLayerDIP
from .operators import GaussianBlur, LinearOperator, well_conditioned_operator

__all__ = ["IMAGE_SOURCES", "load_image", "psnr", "blur_operator", "train_image", "ImageRun",
           "discrepancy_stop", "effective_step", "landweber", "blur_spectrum",
           "landweber_noise_error", "step_size", "fig3a", "fig3b", "FIG3A_PRESETS",
           "FIG3B_PRESETS", "fig3a_comparison", "fig3b_comparison", "comparison_table",
           "IMAGE_EXPERIMENTS"]

#: Real photographs that ship inside an installed dependency (matplotlib's sample data),
#: with their origin and licence as far as they are documented.
IMAGE_SOURCES = {
    "hopper": dict(file="grace_hopper.jpg",
                   description="portrait of Rear Admiral Grace M. Hopper (U.S. Navy photograph, 1984)",
                   licence="public domain (work of the U.S. federal government); shipped as "
                           "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                   crop=(44, 80, 468, 504)),     # (left, top, right, bottom): a square on the face
}


def _sample_data(fname: str):
    import matplotlib

    path = resources.files(matplotlib) / "mpl-data" / "sample_data" / fname
    if not path.is_file():
        raise ValueError(f"matplotlib's sample data has no {fname!r}; is matplotlib installed in full?")
    return path


def load_image(name: str = "hopper", size: int = 64) -> np.ndarray:
    """A real photograph as a ``size``×``size`` float64 array of grey levels in [0, 255].

    The image is read with PIL from matplotlib's sample data (:data:`IMAGE_SOURCES`),
    converted to grayscale (ITU-R 601-2 luma, PIL mode ``"L"``), cropped to the square
    of :data:`IMAGE_SOURCES` and resized with a Lanczos filter. Flatten it row-major
    (``.ravel()``) to get :math:`\\bar x \\in [0, 255]^{n}`, :math:`n = \\text{size}^2`.
    """
    from PIL import Image

    check_choice("image", name, IMAGE_SOURCES)
    size = check_int("size", size, low=4, high=512)
    src = IMAGE_SOURCES[name]
    with Image.open(_sample_data(src["file"])) as im:
        im = im.convert("L").crop(src["crop"]).resize((size, size), Image.Resampling.LANCZOS)
        return np.clip(np.asarray(im, dtype=np.float64), 0.0, 255.0)


def psnr(x, ref, peak: float = 255.0, axis=None):
    """Peak signal-to-noise ratio :math:`10\\log_{10}(\\text{peak}^2/\\mathrm{MSE})` in dB.

    ``x`` and ``ref`` are arrays or tensors of the same shape; the squared error is
    averaged over ``axis`` (default: all entries, i.e. one image). No clipping: an
    estimate outside [0, 255] pays for it. ``+inf`` when ``x == ref``.
    """
    check_positive("peak", peak)
    x = np.asarray(x.detach().cpu() if torch.is_tensor(x) else x, dtype=np.float64)
    ref = np.asarray(ref.detach().cpu() if torch.is_tensor(ref) else ref, dtype=np.float64)
    if x.shape != ref.shape:
        raise ValueError(f"x and ref must have the same shape, got {x.shape} and {ref.shape}")
    mse = ((x - ref) ** 2).mean(axis=axis)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(peak ** 2 / mse)


def blur_operator(size: int = 64, kernel: int = 3, boundary: str = "reflect", sigma: float = 1.0,
                  dtype=DEFAULT_DTYPE, device="cpu") -> GaussianBlur:
    """The Gaussian blur of Fig 3a (standard deviation ``sigma`` = 1) on ``size``×``size`` images,
    with a ``kernel``×``kernel`` kernel (odd) and the given boundary handling."""
    kernel = check_int("kernel", kernel, low=1)
    if kernel % 2 == 0:
        raise ValueError(f"kernel must be odd (2 radius + 1), got {kernel}")
    return GaussianBlur((size, size), sigma, radius=kernel // 2, boundary=boundary, dtype=dtype,
                        device=device)


# --- training ---------------------------------------------------------------------------------

@dataclass
class ImageRun:
    """What :func:`train_image` records (one run, every step τ = 0..steps).

    Attributes
    ----------
    loss, error, residual, psnr : ndarray, shape (steps + 1,)
        :math:`\\frac12\\|Ax_\\tau - y\\|^2`, :math:`\\|x_\\tau - \\bar x\\|`, :math:`\\|Ax_\\tau - y\\|`
        and PSNR of :math:`x_\\tau` against :math:`\\bar x`.
    snap_steps : ndarray (S,), snapshots : ndarray (S, n) float32
        :math:`x_\\tau` at the requested iterations.
    best_step, best_x : the iterate of smallest error (the oracle stopping time).
    dp_step, dp_x : the iterate where :func:`discrepancy_stop` stops (-1 / NaN if never).
    x_final : ndarray (n,), the last iterate.
    seconds_per_step : float
    """

    loss: np.ndarray
    error: np.ndarray
    residual: np.ndarray
    psnr: np.ndarray
    snap_steps: np.ndarray
    snapshots: np.ndarray
    best_step: int
    best_x: np.ndarray
    dp_step: int
    dp_x: np.ndarray
    x_final: np.ndarray
    seconds_per_step: float

    def arrays(self, prefix: str = "") -> dict:
        return {prefix + k: np.asarray(v) for k, v in self.__dict__.items() if k != "state"}


def train_image(net: TwoLayerDIP, problem: Problem, gamma: float, steps: int, snapshots=(),
                dp_threshold: float | None = None, progress: bool = False,
                return_state: bool = False) -> ImageRun:
    """Gradient descent (2) on both layers of one network (9), ½-MSE loss, for ``steps`` steps.

    Same iterates as ``dipnb.gradient_descent(net, problem, gamma, steps, layers="both",
    tol=0, stall_window=None)``, computed with an in-place rank-one update of V
    (:math:`\\nabla_V = r\\phi(h)^T/\\sqrt k`) so that a step reads V three times and
    allocates nothing of size nk. Records the curves at every step.

    Parameters
    ----------
    net, problem : one run each (``runs == 1``).
    gamma : float, the step size.
    snapshots : iterable of int, iterations at which to keep :math:`x_\\tau` (float32).
    dp_threshold : float or None
        If given, keep the first iterate with :math:`\\|Ax_\\tau - y\\| \\le` ``dp_threshold``
        (:func:`discrepancy_stop` with the threshold :math:`\\tau_{dp}\\sqrt m\\,\\sigma`).
    return_state : bool
        Also attach the final :class:`dipnb.State` as ``.state`` (not saved by :meth:`ImageRun.arrays`).
    """
    if net.runs != 1 or problem.runs != 1:
        raise ValueError(f"train_image trains one run; got {net.runs} networks and {problem.runs} problems")
    if problem.A.n != net.n:
        raise ValueError(f"operator acts on R^{problem.A.n} but the network outputs R^{net.n}")
    steps = check_int("steps", steps, low=0)
    check_positive("gamma", gamma)
    snaps = sorted({check_int("snapshot", int(t), low=0, high=steps) for t in snapshots})
    act, A = net.activation, problem.A
    sk = math.sqrt(net.k)
    h = net.h0.clone()
    V = net.V0.clone()
    y, x_bar = problem.y, problem.x_bar
    un2 = float(net.u_norm2[0])
    curves = {key: np.empty(steps + 1) for key in ("loss", "error", "residual")}
    kept, best, best_x, dp_step, dp_x = [], math.inf, None, -1, None
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    for tau in tqdm(range(steps + 1), disable=not progress, desc="GD (image)", leave=False):
        phi = act.phi(h)
        x = torch.einsum("rnk,rk->rn", V, phi) / sk
        res = A.A(x) - y
        rn = res.norm().item()
        err = (x - x_bar).norm().item()
        curves["loss"][tau], curves["error"][tau], curves["residual"][tau] = 0.5 * rn ** 2, err, rn
        if not (math.isfinite(rn) and math.isfinite(err)):
            raise FloatingPointError(f"the loss became non-finite at step {tau} (gamma={gamma:g} too large?)")
        if tau in snaps:
            kept.append(x[0].cpu().numpy().astype(np.float32))
        if err < best:
            best, best_step, best_x = err, tau, x[0].cpu().numpy().copy()
        if dp_threshold is not None and dp_step < 0 and rn <= dp_threshold:
            dp_step, dp_x = tau, x[0].cpu().numpy().copy()
        if tau == steps:
            break
        r = A.A_adjoint(res)                                   # A^T grad L(Ax), shape (1, n)
        gh = act.dphi(h) * torch.einsum("rnk,rn->rk", V, r) / sk
        V[0].addr_(r[0], phi[0], alpha=-gamma / sk)            # V <- V - gamma r phi^T / sqrt(k)
        h = h - (gamma * un2) * gh
    sps = (time.perf_counter() - t0) / max(steps, 1)
    n = net.n
    mse = np.maximum(curves["error"], 1e-300) ** 2 / n          # PSNR from the error: MSE = ||x - x_bar||^2 / n
    out = ImageRun(curves["loss"], curves["error"], curves["residual"], 10 * np.log10(255.0 ** 2 / mse),
                   np.array(snaps, dtype=int), np.array(kept, dtype=np.float32).reshape(len(kept), n),
                   int(best_step), best_x, int(dp_step),
                   dp_x if dp_x is not None else np.full(n, np.nan), x[0].cpu().numpy(), sps)
    if return_state:
        out.state = State(h, V)
    return out


def discrepancy_stop(residual, noise_std: float, m: int, tau_dp: float = 1.0) -> int:
    """Morozov's discrepancy principle: the first τ with
    :math:`\\|Ax_\\tau - y\\| \\le \\tau_{dp}\\sqrt m\\,\\sigma`, or -1 if the residual never gets there.

    :math:`\\sqrt m\\,\\sigma` is the expected norm of the noise
    (:math:`\\mathbb E\\|\\varepsilon\\|^2 = m\\sigma^2`), so the rule stops as soon as the
    data are fitted *to the noise level*: fitting further can only fit noise. It needs the
    noise level σ but not :math:`\\bar x`. ``tau_dp >= 1`` is a safety factor (the theory
    of Landweber iteration asks :math:`\\tau_{dp} > 2` in the worst case; 1 to 1.1 is common).
    """
    check_positive("noise_std", noise_std)
    m = check_int("m", m)
    check_positive("tau_dp", tau_dp)
    residual = np.asarray(residual, dtype=np.float64)
    hit = np.nonzero(residual <= tau_dp * math.sqrt(m) * noise_std)[0]
    return int(hit[0]) if hit.size else -1


def effective_step(net: TwoLayerDIP, gamma: float) -> float:
    """The step ω of the Landweber iteration that the network follows to first order.

    One step of (2) moves :math:`x` by :math:`-\\gamma J_gJ_g^T A^T\\nabla\\mathcal L`. Training
    V alone this is exactly Landweber with step :math:`\\gamma\\|\\phi(h)\\|^2/k`; with both
    layers :math:`J_gJ_g^T = \\frac{\\|\\phi(h)\\|^2}{k}I + \\frac{\\|u\\|^2}{k}V\\mathrm{diag}(\\phi'(h)^2)V^T`,
    whose mean eigenvalue (trace/n) at θ0 is
    :math:`\\big(\\|\\phi(h_0)\\|^2 + \\|u\\|^2\\sum_j\\phi'(h_{0,j})^2\\|v_j\\|^2/n\\big)/k`
    (about :math:`C_\\phi^2 + C_{\\phi'}^2 \\approx 0.34`). Returns γ times that.
    """
    check_positive("gamma", gamma)
    h, V, act = net.h0[0], net.V0[0], net.activation
    k, n = net.k, net.n
    col2 = (V * V).sum(0)
    c = ((act.phi(h) ** 2).sum() + net.u_norm2[0] * (act.dphi(h) ** 2 * col2).sum() / n) / k
    return float(gamma * c)


def landweber(A: LinearOperator, y: torch.Tensor, x0: torch.Tensor, omega: float, steps: int,
              x_bar: torch.Tensor | None = None) -> dict:
    """Landweber iteration :math:`x_{\\tau+1} = x_\\tau - \\omega A^T(Ax_\\tau - y)` (one run).

    Returns ``{"error": (steps+1,), "residual": (steps+1,), "x": final}``; ``error`` is
    NaN without ``x_bar``. The network's dynamics are this iteration to first order
    (:func:`effective_step`); its semi-convergence is the classical one.
    """
    steps = check_int("steps", steps, low=0)
    check_positive("omega", omega)
    x = x0.clone()
    err, resid = np.full(steps + 1, np.nan), np.empty(steps + 1)
    for tau in range(steps + 1):
        r = A.A(x) - y
        resid[tau] = r.norm().item()
        if x_bar is not None:
            err[tau] = (x - x_bar).norm().item()
        if tau < steps:
            x = x - omega * A.A_adjoint(r)
    return {"error": err, "residual": resid, "x": x}


def blur_spectrum(A: GaussianBlur):
    """SVD of a separable blur :math:`A = B_H\\otimes B_W`: returns ``(U_H, s_H, V_H, U_W, s_W, V_W)``
    so that the singular values of A are :math:`s_{H,i}s_{W,j}` with left singular vectors
    :math:`u_{H,i}\\otimes u_{W,j}`: every spectral quantity of a 4096-pixel blur for the
    price of two 64×64 SVDs."""
    UH, sH, VHt = torch.linalg.svd(A.BH)
    UW, sW, VWt = torch.linalg.svd(A.BW)
    return UH, sH, VHt.T, UW, sW, VWt.T


def landweber_noise_error(A: GaussianBlur, noise: torch.Tensor, omega: float, taus) -> np.ndarray:
    """Norm of the part of the Landweber iterate that is due to the noise, for a separable blur.

    With :math:`A = \\sum_i s_i u_iv_i^T`, Landweber from 0 gives
    :math:`x_\\tau = \\sum_i f_\\tau(s_i)\\,\\frac{\\langle u_i, y\\rangle}{s_i}v_i`,
    :math:`f_\\tau(s) = 1 - (1 - \\omega s^2)^\\tau`, so its noise part has norm
    :math:`\\big(\\sum_i f_\\tau(s_i)^2\\langle u_i,\\varepsilon\\rangle^2/s_i^2\\big)^{1/2}`.
    ``taus`` may contain ``np.inf`` (:math:`f = 1`: the norm of :math:`A^{-1}\\varepsilon`).
    Returns shape (len(taus),).
    """
    check_positive("omega", omega)
    UH, sH, _, UW, sW, _ = blur_spectrum(A)
    E = noise.reshape(A.shape)
    coef = (UH.T @ E @ UW).flatten().double()              # <u_i, eps>
    s = torch.outer(sH, sW).flatten().double()
    out = []
    for t in np.atleast_1d(taus):
        if np.isinf(t):
            f = torch.ones_like(s)
        else:
            # 1 - (1 - w s^2)^t computed stably for tiny w s^2
            f = -torch.expm1(float(t) * torch.log1p(-omega * s ** 2))
        out.append(torch.sqrt(((f * coef / s) ** 2).sum()).item())
    return np.array(out)


def step_size(net: TwoLayerDIP, problem: Problem, gamma_L: float = 1.0, iters: int = 20) -> tuple:
    """γ = ``gamma_L`` / L0 with L0 the Hessian norm of the loss at θ0 (both layers).

    Returns ``(gamma, L0)``. On the [0, 255] scale, L0 is dominated by the residual
    part of the Hessian (about :math:`B\\|A^T(y_0 - y)\\|/\\sqrt k` and more), not by the
    Gauss–Newton part :math:`\\|A\\|^2(C_\\phi^2 + C_{\\phi'}^2)`; it falls as the residual falls,
    so L0 is the largest value along the run (checked at the end of the paper-scale runs).
    """
    from .theory import hessian_norm

    check_positive("gamma_L", gamma_L)
    L0 = float(hessian_norm(net, problem, layers="both", iters=iters)[0])
    return gamma_L / L0, L0


# --- the experiments ----------------------------------------------------------------------------

FIG3A_PRESETS = {
    "quick": dict(size=32, k=2500, steps=1500, noise_stds=[0.0, 2.5], kernel=3, boundary="reflect",
                  gamma_L=1.0, hessian_iters=15, image="hopper"),
    "paper": dict(size=64, k=10_000, steps=3000, noise_stds=[0.0, 2.5], kernel=3, boundary="reflect",
                  gamma_L=1.0, hessian_iters=20, image="hopper"),
}

FIG3B_PRESETS = {
    "quick": dict(size=32, k=2500, steps=800, noise_std=50.0, gamma_L=1.0, hessian_iters=15,
                  tau_dp=1.0, image="hopper"),
    "paper": dict(size=64, k=10_000, steps=3000, noise_std=50.0, gamma_L=1.0, hessian_iters=20,
                  tau_dp=1.0, image="hopper"),
}

_TAUS_LINEAR = [1e2, 1e3, 1e4, 1e5, 1e6, 1e8, 1e10, 1e12, np.inf]


def _snap_list(steps):
    pts = [0, 1, 3, 10, 30, 100, 300, 1000, 3000, 10_000, 30_000]
    return sorted({t for t in pts if t <= steps} | {steps})


def _setup(size, k, image, seed, device):
    x_bar = torch.as_tensor(load_image(image, size).ravel(), dtype=DEFAULT_DTYPE, device=device)[None]
    net = TwoLayerDIP.init(1, size * size, k, d=16, seed=seed, device=device)
    return x_bar, net


def fig3a(size: int = 64, k: int = 10_000, steps: int = 5000, noise_stds=(0.0, 2.5), kernel: int = 3,
          boundary: str = "reflect", gamma_L: float = 1.0, hessian_iters: int = 20, image: str = "hopper",
          seed: int = 0, device="cpu", cache=None, progress: bool = False) -> dict:
    """Fig 3a: Gaussian-blur deconvolution, noiseless and noisy, with the network (9).

    One network (seed ``seed``), the image ``image`` at ``size``×``size``, the blur of
    :func:`blur_operator`; for each noise level σ in ``noise_stds`` (noise seed ``seed + 1``,
    the same draw scaled), ``steps`` steps of :func:`train_image` with
    γ = ``gamma_L`` / L0, L0 the Hessian norm at θ0 on the noisy data of the largest σ.
    Also: the Landweber iteration with the network's effective step (linear model), and
    the noise part of the Landweber error at later τ and at τ = ∞ (:func:`landweber_noise_error`).

    Returns a dict of arrays (keys prefixed ``s{i}_`` per noise level).
    """
    size, k, steps = check_int("size", size, low=4), check_int("k", k), check_int("steps", steps, low=0)
    noise_stds = [float(check_positive("noise_std", s, allow_zero=True)) for s in noise_stds]
    x_bar, net = _setup(size, k, image, seed, device)
    A = blur_operator(size, kernel, boundary, device=device)
    n = size * size
    g = torch.Generator(device=torch.device(device)).manual_seed(seed + 1)
    z = torch.randn(1, n, dtype=DEFAULT_DTYPE, device=device, generator=g)
    s_max = max(noise_stds)

    def setup_cell(_):
        gamma, L0 = step_size(net, Problem(A, x_bar, s_max * z), gamma_L, hessian_iters)
        return {"gamma": gamma, "L0": L0}

    st = _run_cells("fig3a-step", [0], setup_cell, cache, progress)[0]
    gamma, L0 = float(st["gamma"]), float(st["L0"])
    omega = effective_step(net, gamma)
    x0 = net.forward()

    def run_cell(sig):
        pb = Problem(A, x_bar, sig * z)
        thr = math.sqrt(n) * sig if sig > 0 else None
        run = train_image(net, pb, gamma, steps, _snap_list(steps), dp_threshold=thr, progress=progress)
        lw = landweber(A, pb.y, x0, omega, steps, x_bar)
        out = run.arrays()
        out.update(y=pb.y[0].cpu().numpy().astype(np.float32),
                   Ax_final=A.A(torch.as_tensor(run.x_final, device=device)[None])[0].cpu().numpy(),
                   lw_error=lw["error"], lw_residual=lw["residual"])
        return out

    cells = _run_cells("fig3a-runs", noise_stds, run_cell, cache, progress)
    res = {"x_bar": x_bar[0].cpu().numpy(), "y_bar": A.A(x_bar)[0].cpu().numpy(),
           "noise_stds": np.array(noise_stds), "gamma": gamma, "L0": L0, "omega": omega,
           "sigma_A": float(A.sigma_min[0]), "A_norm": float(A.norm[0]), "kernel": A.kernel_size,
           "boundary": boundary, "size": size, "k": k, "steps": steps, "image": image,
           "taus_linear": np.array(_TAUS_LINEAR),
           "sigma_A_7x7": float(blur_operator(size, 7, boundary).sigma_min[0])}
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


def fig3b(size: int = 64, k: int = 10_000, steps: int = 3000, noise_std: float = 50.0,
          gamma_L: float = 1.0, hessian_iters: int = 20, tau_dp: float = 1.0, image: str = "hopper",
          seed: int = 0, device="cpu", cache=None, progress: bool = False, theorem: bool = True) -> dict:
    """Fig 3b and Fig 4: the well-conditioned operator (:func:`dipnb.well_conditioned_operator`,
    :math:`\\sigma_A = 1`, :math:`\\|A\\| = 2`, seed ``seed + 2``) and AWGN of std ``noise_std``.

    One noisy run of :func:`train_image` (snapshots along training, error at every step,
    the oracle and discrepancy-principle iterates), a noiseless run from the same θ0 (it
    certifies an upper bound on :math:`\\mathrm{dist}(\\bar x, \\Sigma')` in (8), as in
    :func:`dipnb.dist_to_sigma_prime`), the Landweber iteration with the effective step,
    and with ``theorem`` every constant of Theorem III.1 (``layers="both"``, L = L0) for bound (8).
    """
    from .theory import hessian_norm, theorem_quantities

    size, k, steps = check_int("size", size, low=4), check_int("k", k), check_int("steps", steps, low=0)
    check_positive("noise_std", noise_std)
    x_bar, net = _setup(size, k, image, seed, device)
    n = size * size
    A = well_conditioned_operator(n, seed=seed + 2, device=device)
    g = torch.Generator(device=torch.device(device)).manual_seed(seed + 1)
    eps = noise_std * torch.randn(1, n, dtype=DEFAULT_DTYPE, device=device, generator=g)
    pb = Problem(A, x_bar, eps)
    clean = Problem(A, x_bar, torch.zeros_like(eps))

    def setup_cell(_):
        gamma, L0 = step_size(net, pb, gamma_L, hessian_iters)
        out = {"gamma": gamma, "L0": L0}
        if theorem:
            th = theorem_quantities(net, pb, gamma, layers="both", L=L0)
            for key in ("sigma0", "R", "R_prime", "nu1", "nu2", "loss0", "noise_norm", "lip_J", "L_eq10"):
                out[key] = float(getattr(th, key)[0])
        return out

    st = _run_cells("fig3b-step", [0], setup_cell, cache, progress)[0]
    gamma = float(st["gamma"])
    omega = effective_step(net, gamma)
    thr = tau_dp * math.sqrt(n) * noise_std

    def run_cell(which):
        if which == "noisy":
            run = train_image(net, pb, gamma, steps, _snap_list(steps), dp_threshold=thr, progress=progress,
                              return_state=True)
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
        run = train_image(net, clean, gamma, steps, [], progress=progress)
        return {"clean_error": run.error, "clean_loss": run.loss}

    cells = _run_cells("fig3b-runs", ["noisy", "clean"], run_cell, cache, progress)
    res = {"x_bar": x_bar[0].cpu().numpy(), "noise_std": noise_std, "omega": omega, "size": size, "k": k,
           "steps": steps, "image": image, "tau_dp": tau_dp, "dp_threshold": thr,
           "sigma_A": float(A.sigma_min[0]), "A_norm": float(A.norm[0])}
    res.update({key: v for key, v in st.items()})
    res.update(cells[0])
    res.update(cells[1])
    # dist(x_bar, Sigma') <= error of the noiseless limit, if that limit lies within R' of theta_0
    res["dist_sigma"] = float(cells[1]["clean_error"][-1])
    if theorem:
        th_tau = np.arange(steps + 1, dtype=np.float64)
        nu2, s0, sA = res["nu2"], res["sigma0"], res["sigma_A"]
        first = math.sqrt(2 * res["loss0"]) * np.exp(-sA ** 2 * s0 ** 2 * th_tau / (4 * nu2)) / sA
        res["bound8"] = first + (1 + res["A_norm"] / sA) * res["dist_sigma"] + res["noise_norm"] / sA
    return res


def _fig3a_experiment(preset, device, seed, cache, progress):
    return fig3a(**FIG3A_PRESETS[preset], seed=seed, device=device, cache=cache, progress=progress)


def _fig3b_experiment(preset, device, seed, cache, progress):
    return fig3b(**FIG3B_PRESETS[preset], seed=seed, device=device, cache=cache, progress=progress)


IMAGE_EXPERIMENTS = {
    "fig3a": Experiment("fig3a", "Fig 3a: Gaussian-blur deconvolution of a 64x64 photograph, "
                        "noiseless and AWGN std 2.5, both layers trained (chapter 'Fig 3a')",
                        _fig3a_experiment, FIG3A_PRESETS),
    "fig3b-fig4": Experiment("fig3b-fig4", "Fig 3b and Fig 4: well-conditioned operator, AWGN std 50, "
                             "reconstructions along training, error vs tau with bound (8), early "
                             "stopping (chapter 'Fig 3b and Fig 4')", _fig3b_experiment, FIG3B_PRESETS),
}


# --- what the paper says against what we measure -------------------------------------------------

def _yes(ok) -> str:
    return "yes" if ok else "no"


def fig3a_comparison(res: dict) -> list[tuple[str, str, str]]:
    """Rows ``(paper says, we measure, agree?)`` for Fig 3a, computed from a :func:`fig3a` result.

    The criteria for "agree" are fixed here, not tuned to the data:

    * σ_min(A) ~ 1e-5: :math:`|\\log_{10}\\sigma_A + 5| \\le 0.5`;
    * "perfectly recovered": PSNR of the noiseless :math:`x_T` >= 40 dB ("partly" if it
      at least beats the blurred observation by 3 dB);
    * "degraded with noise": the noisy PSNR is >= 1 dB below the noiseless one;
    * "very good in observation space": :math:`\\|Ax_T - y\\| \\le \\|\\varepsilon\\|` (the data are
      fitted below the noise level);
    * "noise greatly amplified": the Landweber model's noise error at τ = ∞,
      :math:`\\|A^{-1}\\varepsilon\\|`, exceeds :math:`\\|\\bar x\\|`.
    """
    x_bar, y_bar = np.asarray(res["x_bar"]), np.asarray(res["y_bar"])
    sig = np.asarray(res["noise_stds"])
    i0 = int(np.argmin(sig))
    i1 = int(np.argmax(sig))
    T = int(res["steps"])
    sA = float(res["sigma_A"])
    p_obs = float(psnr(y_bar, x_bar))
    p0 = float(res[f"s{i0}_psnr"][-1])
    p1 = float(res[f"s{i1}_psnr"][-1])
    rows = [("σ_min(A) ~ 1e-5 (Gaussian blur, std 1)",
             f"σ_A = {sA:.2g} ({int(res['kernel'])}×{int(res['kernel'])} kernel, {res['boundary']} boundary); "
             f"7×7 kernel: {float(res['sigma_A_7x7']):.2g}",
             _yes(abs(math.log10(sA) + 5) <= 0.5))]
    agree = "yes" if p0 >= 40 else ("partly" if p0 >= p_obs + 3 else "no")
    rows.append(("noiseless: the original image is perfectly recovered",
                 f"PSNR(x_T, x̄) = {p0:.1f} dB after T = {T} steps (blurred observation: {p_obs:.1f} dB; "
                 f"criterion for 'perfect': ≥ 40 dB)", agree))
    if sig[i1] > 0:
        rows.append((f"noise std {sig[i1]:g}: degraded reconstruction in image space",
                     f"PSNR(x_T, x̄) = {p1:.1f} dB, {p0 - p1:.1f} dB below the noiseless run; best along "
                     f"the run {float(np.max(res[f's{i1}_psnr'])):.1f} dB at τ = {int(res[f's{i1}_best_step'])}",
                     _yes(p0 - p1 >= 1)))
        y = np.asarray(res[f"s{i1}_y"], dtype=np.float64)
        Ax = np.asarray(res[f"s{i1}_Ax_final"])
        rn, en = float(np.linalg.norm(Ax - y)), float(res[f"s{i1}_noise_norm"])
        rows.append(("… though the reconstruction is very good in observation space",
                     f"‖Ax_T − y‖ = {rn:.1f} vs ‖ε‖ = {en:.1f}; PSNR(Ax_T, y) = {float(psnr(Ax, y)):.1f} dB, "
                     f"PSNR(Ax_T, ȳ) = {float(psnr(Ax, y_bar)):.1f} dB", _yes(rn <= en)))
        lw = np.asarray(res[f"s{i1}_lw_noise"])
        rows.append(("σ_min(A) tiny ⇒ the noise is greatly amplified (8); early stopping needed",
                     f"‖ε‖/σ_A = {en / sA:.2g}; noise part of the Landweber error: ‖A⁻¹ε‖ = {lw[-1]:.3g} at τ = ∞ "
                     f"vs ‖x̄‖ = {np.linalg.norm(x_bar):.3g}; the network run is still at "
                     f"‖x_T − x̄‖ = {float(res[f's{i1}_error'][-1]):.3g} at T = {T}",
                     _yes(lw[-1] > np.linalg.norm(x_bar))))
    return rows


def fig3b_comparison(res: dict) -> list[tuple[str, str, str]]:
    """Rows ``(paper says, we measure, agree?)`` for Fig 3b and Fig 4 from a :func:`fig3b` result.

    Criteria: "gets better after a few iterations": the best PSNR beats :math:`x_0`'s by
    >= 3 dB; minimum "at τ ≈ 10": :math:`3 \\le \\tau^* \\le 30`; "increases slightly then
    stabilises": final error above the minimum by 0 to 20 % and changing by < 0.1 % over
    the last 10 % of the steps; the dashed bound (8) lies above the error at every τ.
    """
    err, ps = np.asarray(res["error"]), np.asarray(res["psnr"])
    T = len(err) - 1
    tb = int(np.argmin(err))
    rise = err[-1] / err[tb] - 1
    tail = err[int(0.9 * T):]
    stable = float(np.ptp(tail) / err[-1]) if tail.size else 0.0
    rows = [("the reconstruction gets better after a few iterations, then converges",
             f"PSNR {ps[0]:.1f} dB at τ = 0, best {ps[tb]:.1f} dB at τ = {tb}, {ps[-1]:.1f} dB at T = {T} "
             f"(least squares A⁻¹y: ‖A⁻¹y − x̄‖ = {float(res['ls_error']):.4g}, final ‖x_T − x̄‖ = {err[-1]:.4g})",
             _yes(ps[tb] >= ps[0] + 3)),
            ("Fig 4: the error decreases until τ ≈ 10",
             f"minimum at τ* = {tb} with γ = {float(res['gamma']):.3g} = 1/L0 (ωτ* = {float(res['omega']) * tb:.2g}, "
             f"ω the effective Landweber step); the Landweber model's minimum: τ = {int(np.argmin(res['lw_error']))}",
             _yes(3 <= tb <= 30)),
            ("… then increases slightly before stabilising",
             f"final error {100 * rise:.1f} % above the minimum; it varies by {100 * stable:.2g} % over the last "
             f"10 % of the run", _yes(0 < rise <= 0.2 and stable < 1e-3))]
    if "bound8" in res:
        b = np.asarray(res["bound8"])
        held = bool(np.all(err <= b))
        rows.append(("Fig 4: the theorem's upper bound (8) (dashed)",
                     f"(8) = {b[0]:.4g} at τ = 0 and {b[-1]:.4g} at τ = {T} lies above the error at every τ: "
                     f"{held}; but condition (4) fails: R' = {float(res['R_prime']):.3g} > R = {float(res['R']):.3g}",
                     "partly" if held else "no"))
        Lend = res.get("L_end")
        rows.append(("γ ∈ ]0, 1/L]",
                     f"γ = 1/L0, L0 = {float(res['L0']):.3g} (Hessian norm at θ0)"
                     + (f"; at τ = {T}: {float(Lend):.3g}" if Lend is not None else ""),
                     "yes (with L estimated, not bounded)"))
    dp = int(res["dp_step"])
    if dp >= 0:
        rows.append(("early stopping is needed (no rule given)",
                     f"discrepancy principle (τ_dp = {float(res['tau_dp']):g}) stops at τ = {dp}: PSNR {ps[dp]:.1f} dB "
                     f"vs oracle {ps[tb]:.1f} dB at τ = {tb} ({ps[tb] - ps[dp]:.2f} dB lost; running to T loses "
                     f"{ps[tb] - ps[-1]:.2f} dB)", "n/a (beyond the paper)"))
    return rows


def comparison_table(rows):
    """The ``(paper says, we measure, agree?)`` rows as a :class:`dipnb.experiments.Table`
    (HTML in the book and in Jupyter, Markdown with ``str``)."""
    from .experiments import Table

    return Table(rows, ["paper says", "we measure", "agree?"])
