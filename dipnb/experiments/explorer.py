"""Chapter 04's explorer: Theorem III.1 on a grid of widths k, numbers of measurements m, steps
γL and noise levels, every point run once by :func:`dipnb.experiments.theorem_run` and saved, so
that the book's figure (:func:`dipnb.plotting.interactive.theorem.theorem_explorer`) lets a
reader move over the grid in the static page, with no kernel (registered as
``theorem-explorer``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._validation import check_int, check_positive
from .cells import keyed, run_cells
from .registry import register
from .theorem import theorem_run

__all__ = ["THEOREM_EXPLORER_PRESETS", "theorem_explorer_grid", "tau_samples"]


#: The grids of chapter 04's explorer. ``quick`` runs in seconds (the chapter without a saved
#: result, and the tests); ``paper`` is the grid the book draws (n = 2, one run per point).
THEOREM_EXPLORER_PRESETS = {
    "quick": dict(ks=(50, 5000), ms=(1, 2), gamma_Ls=(0.5, 1.5), noises=(0.0, 0.3), steps=100,
                  ref_steps=500, points=30),
    "paper": dict(ks=(50, 200, 1000, 5000, 20_000, 50_000), ms=(1, 2, 3, 4),
                  gamma_Ls=(0.1, 0.3, 0.5, 0.7, 1.0, 1.5, 1.9), noises=(0.0, 0.1, 0.3, 1.0),
                  steps=1000, ref_steps=5000, points=50),
}


def tau_samples(steps: int, points: int) -> np.ndarray:
    """About ``points`` iterations in [0, ``steps``] at which a trajectory is kept: 0, half of them
    evenly spaced and half log-spaced (the early, fast part of a run), sorted and unique."""
    steps, points = check_int("steps", steps), check_int("points", points, low=4)
    lin = np.linspace(0, steps, points // 2)
    log = np.geomspace(1, steps, points - points // 2)
    return np.unique(np.round(np.concatenate([[0], lin, log])).astype(np.int64))


def _grid(name: str, values, check) -> list:
    values = list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one value, got {values}")
    out = [check(v) for v in values]
    if len(set(out)) != len(out) or out != sorted(out):
        raise ValueError(f"{name} must be increasing without repeats, got {values}")
    return out


@keyed
def theorem_explorer_grid(ks=(50, 5000), ms=(1, 2), gamma_Ls=(0.5, 1.5), noises=(0.0, 0.3),
                          n: int = 2, steps: int = 100, ref_steps: int = 500, points: int = 30,
                          seed: int = 0, device="cpu", cache: Path | None = None,
                          progress: bool = False) -> dict:
    """Theorem III.1 at every point of the grid ``ks`` × ``ms`` × ``gamma_Ls`` × ``noises``.

    Each point is one run of :func:`dipnb.experiments.theorem_run` (sigmoid network of width
    k on :math:`\\mathbb R^n`, hidden layer trained with ½-MSE, ``m`` rows of the
    well-conditioned operator, :math:`\\bar x \\sim N(0, I_n)`, noise of standard deviation
    ``noise``), with the certified :math:`L = L_{\\rm descent}` and
    :math:`\\gamma = \\gamma L / L`. Every point takes the study's ``seed``: the same network,
    operator, :math:`\\bar x` and noise direction wherever k and m agree (common random
    numbers), so that moving γL or the noise changes only that parameter.

    Parameters
    ----------
    ks, ms : sequences of int
        Widths (``>= n``) and numbers of measurements, increasing.
    gamma_Ls : sequence of float
        :math:`\\gamma L` in ]0, 2[ (above 1 the theorem does not apply: ν₁, ν₂ are defined
        up to 2), increasing.
    noises : sequence of float
        Noise standard deviations (``>= 0``), increasing.
    n : int
        Size of the signal.
    steps, ref_steps : int
        Length of the recorded run, and budget of the long run that gives
        :math:`\\theta_\\infty` (stopped at round-off).
    points : int
        About how many iterations of each trajectory are kept (:func:`tau_samples`).
    seed : int
        The seed of every run.
    device : str
        Only ``"cpu"``: :func:`theorem_run` runs there.
    cache : folder, optional
        Save each finished (k, m, noise) at once and reuse it on a rerun
        (:func:`dipnb.experiments.run_cells`).
    progress : bool
        A progress bar over the (k, m, noise) cells.

    Returns
    -------
    dict
        The grid ``ks``, ``ms``, ``gamma_Ls``, ``noises``, ``tau`` (T,) and ``n``; per point,
        shape (K, M, G, N, T): ``loss`` (:math:`\\mathcal L_y(y_\\tau)`), ``loss_bound``
        (bound (6)), ``param`` (:math:`\\|\\theta_\\tau - \\theta_\\infty\\|`) and
        ``param_bound`` (bound (7)), NaN after a run stops; shape (K, M, G, N): ``R``,
        ``R_prime`` ((5)), ``cond4`` ((4) holds), ``step_ok`` (:math:`\\gamma \\le 1/L`),
        ``L`` (certified), ``gamma``, ``sigma0``, ``loss0``, ``final_loss`` (at ``steps``
        or where the run stopped), ``final_error`` (:math:`\\|x_\\tau - \\bar x\\|` there),
        ``dist_sigma`` (the bound on :math:`\\mathrm{dist}(\\bar x, \\Sigma')` of (8)) and
        ``stop_step``.
    """
    n = check_int("n", n)
    ks = _grid("ks", ks, lambda k: check_int("k", k, low=n))
    ms = _grid("ms", ms, lambda m: check_int("m", m))

    def gl_ok(g):
        check_positive("gamma_L", g)
        if not float(g) < 2:
            raise ValueError(f"gamma_L must lie in ]0, 2[ (nu1, nu2 are defined for gamma*L < 2), got {g}")
        return float(g)

    gamma_Ls = _grid("gamma_Ls", gamma_Ls, gl_ok)
    noises = _grid("noises", noises, lambda s: float(check_positive("noise", s, allow_zero=True)))
    steps, ref_steps = check_int("steps", steps), check_int("ref_steps", ref_steps)
    if str(device) != "cpu":
        raise ValueError(f"theorem_explorer_grid runs on the CPU only (theorem_run), got device {device!r}; "
                         f"accepted: 'cpu'")
    tau = tau_samples(steps, points)

    def one(k, m, gl, noise):
        r = theorem_run(n=n, m=m, k=k, gamma_L=gl, noise_std=noise, runs=1, steps=steps,
                        ref_steps=ref_steps, L_steps=0, seed=seed, L_rule="certified")
        th, tr = r.th, r.traj
        b = r.bounds(tau)                               # measured at every step, bounds at tau
        stop = int(tr.stop_step[0])
        rows = torch.as_tensor(np.searchsorted(np.asarray(tr.steps), tau))     # record=1: rows = tau
        kept = torch.as_tensor(tau) <= stop
        last = int(np.searchsorted(np.asarray(tr.steps), stop))

        def at(t):                                      # run 0 at tau, NaN after the run stopped
            return torch.where(kept, t[:, 0], torch.full_like(t[:, 0], float("nan"))).numpy()

        return {"loss": at(tr.loss[rows]), "loss_bound": at(b["loss"][1]),
                "param": at(tr.dist_ref[rows]), "param_bound": at(b["param"][1]),
                "R": th.R[0].item(), "R_prime": th.R_prime[0].item(),
                "cond4": bool(th.condition_4[0]), "step_ok": bool(th.step_ok[0]),
                "L": th.L[0].item(), "gamma": th.gamma[0].item(), "sigma0": th.sigma0[0].item(),
                "loss0": th.loss0[0].item(), "final_loss": tr.loss[last, 0].item(),
                "final_error": tr.error[last, 0].item(), "dist_sigma": r.dist_sigma[0].item(),
                "stop_step": stop}

    def cell(c):
        k, m, noise = c
        rows = [one(k, m, gl, noise) for gl in gamma_Ls]
        return {key: np.stack([np.asarray(row[key]) for row in rows]) for key in rows[0]}

    coords = [(k, m, s) for k in ks for m in ms for s in noises]
    cells = run_cells("theorem-explorer", coords, cell, cache, progress,
                      params=dict(n=n, gamma_Ls=gamma_Ls, steps=steps, ref_steps=ref_steps,
                                  tau=tau.tolist(), seed=seed))
    K, M, G, N = len(ks), len(ms), len(gamma_Ls), len(noises)
    res = {}
    for key in cells[0]:
        a = np.stack([c[key] for c in cells])               # (K*M*N, G, ...)
        a = a.reshape(K, M, N, G, *a.shape[2:])
        res[key] = np.moveaxis(a, 3, 2)                     # (K, M, G, N, ...)
    res.update(ks=np.asarray(ks), ms=np.asarray(ms), gamma_Ls=np.asarray(gamma_Ls),
               noises=np.asarray(noises), tau=tau, n=n, steps=steps, ref_steps=ref_steps)
    return res


@register("theorem-explorer", study=theorem_explorer_grid, presets=THEOREM_EXPLORER_PRESETS, chapter="04_theorem_iii1",
          doc="Theorem III.1 on a grid of k, m, gamma*L and noise, for the explorer of the chapter "
              "'Theorem III.1'")
def _theorem_explorer(preset, device, seed, cache, progress):
    return theorem_explorer_grid(**THEOREM_EXPLORER_PRESETS[preset], seed=seed, device=device,
                                 cache=cache, progress=progress)
