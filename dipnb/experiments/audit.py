"""Where the paper's experiments sit against Theorem III.1's hypotheses (rule 10 of the verdicts).

For each experiment of Section IV this study redraws the problems and networks exactly as the
study that ran it does (same seeds, same functions), and computes at :math:`\\theta_0`, per run:

* the step condition :math:`\\gamma \\le 1/L`: a certified upper bound on L where one exists
  (:func:`dipnb.certified_L`, hidden layer trained: Fig 1, Fig 2, the threshold study); for the
  images (both layers trained) no certified L exists, and the reports compare γ with
  :math:`1/L_0`, :math:`L_0` the sampled Hessian norm at :math:`\\theta_0` saved with each run (a
  *lower* estimate of L: :math:`\\gamma L_0 > 1` proves the step condition fails);
* condition (4) from both sides: ``ratio`` is :math:`R'/R` at :math:`\\nu_1 = 1` with the R of
  (5) from the upper bound on :math:`\\mathrm{Lip}(\\mathcal J_g)` (so :math:`\\nu_1\\,` ``ratio`` < 1
  proves (4)), and ``ratio_up`` is :math:`R'/R_{\\rm up}` with the upper bound on R of
  :func:`dipnb.theory.bounds.radius_R_upper` (so ``ratio_up`` >= 1 proves (4) fails, whatever
  the Lipschitz constant and γ);
* whether :math:`y \\in \\mathrm{Im}\\,A` (the relative distance of y to the range of A) and
  whether A is injective (A-5 reduces to ``ker A = {0}`` for this network: chapter 04).

The comparison with the steps each experiment used, read from the saved results, is
:func:`dipnb.report.audit.audit_table`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core.network import draw_networks
from ..core.problems import Problem, gaussian_problems
from ..theory.bounds import certified_L, radius_R_upper
from ..theory.corollary import condition4_ratio
from ..theory.theorem import hessian_norm
from .cells import keyed, run_cells
from .fig1 import FIG1_PRESETS, ks_from_log10
from .fig2 import FIG2_PRESETS, GAMMA_THRESHOLD_PRESETS
from .images import FIG3A_PRESETS, FIG3B_PRESETS, image_setting
from .registry import register_study

__all__ = ["AUDIT_PRESETS", "audit_hypotheses"]


def _pick(preset: dict, *keys) -> dict:
    return {key: preset[key] for key in keys}


def _images(size: int, k: int, iters: int) -> list[dict]:
    """The image settings of Section IV: Fig 3a with the headline 9x9 blur and the 3x3
    sensitivity kernel (noiseless and AWGN 2.5), Fig 3b/4 (AWGN 50)."""
    return [dict(which="fig3a", kernel=9, noise_stds=[0.0, 2.5], size=size, k=k, hessian_iters=iters),
            dict(which="fig3a", kernel=3, noise_stds=[0.0, 2.5], size=size, k=k, hessian_iters=iters),
            dict(which="fig3b", kernel=0, noise_stds=[50.0], size=size, k=k, hessian_iters=iters)]


def _preset(name: str, fig3a: str, fig3b: str) -> dict:
    a, b = FIG3A_PRESETS[fig3a], FIG3B_PRESETS[fig3b]
    assert (a["size"], a["k"]) == (b["size"], b["k"])
    return dict(fig1=_pick(FIG1_PRESETS[name], "n", "ms", "log10_ks_b", "runs"),
                fig2=_pick(FIG2_PRESETS[name], "ns", "m_ratio", "k", "runs"),
                threshold=_pick(GAMMA_THRESHOLD_PRESETS[name], "n", "m", "log10_ks", "runs"),
                images=_images(a["size"], a["k"], a["hessian_iters"]))


#: The grids of the studies' own presets, so that the audit of ``paper-cpu`` redraws the runs
#: of the saved ``paper-cpu`` results (and of the image runs at the paper's sizes).
AUDIT_PRESETS = {"quick": _preset("quick", "quick", "quick"),
                 "paper": _preset("paper", "paper", "paper"),
                 "paper-cpu": _preset("paper-cpu", "paper-long", "paper-long")}


def _range_distance(pb) -> np.ndarray:
    """:math:`\\|y - AA^+y\\| / \\|y\\|` per run: 0 when y lies in the range of A (round-off there).

    Computed with NumPy's least squares, run by run: torch's batched ``lstsq`` (MKL) gave
    last-bit differences between two calls on the same data in one process (issue 22: the
    audit was not reproducible bit for bit, in-process or on a cluster); NumPy's is."""
    M, y = pb.A.matrix().cpu().numpy(), pb.y.cpu().numpy()
    out = np.empty(y.shape[0])
    for r in range(y.shape[0]):
        Mr = M[r] if M.ndim == 3 else M
        x = np.linalg.lstsq(Mr, y[r], rcond=None)[0]
        out[r] = np.linalg.norm(Mr @ x - y[r]) / np.linalg.norm(y[r])
    return out


def _w_cell(net, pb) -> dict:
    """The hypotheses of one (n, m, k) cell of a sweep that trains W only, per run."""
    c4 = condition4_ratio(net, pb)
    R_up = radius_R_upper(net, "W", sigma0=c4["sigma0"])
    cl = certified_L(net, pb)
    return {"L_cert": cl["L_descent"].cpu().numpy(), "L_global": cl["L_global"].cpu().numpy(),
            "ratio": c4["ratio"].cpu().numpy(), "ratio_up": (c4["R_prime"] / R_up).cpu().numpy(),
            "sigma0": c4["sigma0"].cpu().numpy(), "range_distance": _range_distance(pb),
            "injective": np.full(net.runs, pb.A.injective)}


def _stack(cells: list[dict], prefix: str) -> dict:
    return {f"{prefix}_{key}": np.stack([c[key] for c in cells]) for key in cells[0]}


@keyed
def audit_hypotheses(fig1: dict, fig2: dict, threshold: dict, images: list, seed: int = 0, device="cpu",
                     cache: Path | None = None, progress: bool = False) -> dict:
    """Theorem III.1's hypotheses at :math:`\\theta_0` for every experiment of Section IV.

    Parameters
    ----------
    fig1, fig2, threshold : dict
        The grids of :func:`dipnb.experiments.fig1_sweep` (``n``, ``ms``, ``log10_ks_b``,
        ``runs``), :func:`dipnb.experiments.fig2_sweep` (``ns``, ``m_ratio``, ``k``, ``runs``) and
        :func:`dipnb.experiments.gamma_threshold_sweep` (``n``, ``m``, ``log10_ks``, ``runs``).
    images : list of dict
        Image settings: ``which`` ("fig3a" or "fig3b"), ``kernel``, ``noise_stds``, ``size``,
        ``k``, ``hessian_iters``.

    Returns
    -------
    dict of arrays. Per run, for each (m, k) of Fig 1b (``fig1_*``, shape (M, K, R)), each n of
    Fig 2 (``fig2_*``, (N, R)) and each k of the threshold study (``thr_*``, (K, R)):
    ``L_cert`` (the certified L on the descent path, :func:`dipnb.certified_L`), ``L_global``,
    ``ratio`` (:math:`R'/R`, :math:`\\nu_1 = 1`), ``ratio_up`` (:math:`R'/R_{\\rm up}`), ``sigma0``,
    ``range_distance`` and ``injective``. Per image setting and noise level (``img_*``, (S,)):
    ``label``, ``noise_std``, ``sigma_A``, ``A_norm``, ``sigma0`` (both layers), ``R``,
    ``R_upper``, ``R_prime`` (:math:`\\nu_1 = 1`), ``L0``, ``noise_norm``, ``x_norm``,
    ``residual0`` (:math:`\\|y_0 - y\\|`), ``injective`` and ``range_distance``.
    """
    from tqdm.auto import tqdm

    out = {}
    # Fig 1b: the problems of fig1_sweep (seed, n, m) and its networks (seed, n, k)
    n, ms, runs = int(fig1["n"]), [int(m) for m in fig1["ms"]], int(fig1["runs"])
    ks = ks_from_log10(fig1["log10_ks_b"])
    problems = gaussian_problems(n, ms, runs, seed=seed, device=device)
    grid = [(m, k) for k in ks for m in ms]
    cells = run_cells("audit-fig1", grid, lambda mk: _w_cell(draw_networks(runs, n, mk[1], seed=seed, device=device),
                                                              problems[ms.index(mk[0])]),
                      cache, progress, params=dict(n=n, runs=runs, seed=seed))
    at = dict(zip(grid, cells))
    out.update({f"fig1_{key}": np.stack([np.stack([at[(m, k)][key] for k in ks]) for m in ms])
                for key in cells[0]})
    out.update(fig1_ms=np.array(ms), fig1_ks=np.array(ks))
    # Fig 2: one (n, ceil(m_ratio n), k) problem per n, as fig2_sweep draws it
    ns, k2, r2 = [int(v) for v in fig2["ns"]], int(fig2["k"]), int(fig2["runs"])
    m2 = [max(1, math.ceil(float(fig2["m_ratio"]) * v)) for v in ns]

    def fig2_cell(nm):
        nn, mm = nm
        pb = gaussian_problems(nn, [mm], r2, seed=seed, device=device)[0]
        return _w_cell(draw_networks(r2, nn, k2, seed=seed, device=device), pb)

    out.update(_stack(run_cells("audit-fig2", list(zip(ns, m2)), fig2_cell, cache, progress,
                                params=dict(k=k2, runs=r2, seed=seed)), "fig2"))
    out.update(fig2_ns=np.array(ns), fig2_m=np.array(m2), fig2_k=k2)
    # the threshold study: one problem, the networks of every k
    nt, mt, rt = int(threshold["n"]), int(threshold["m"]), int(threshold["runs"])
    kt = ks_from_log10(threshold["log10_ks"])
    pbt = gaussian_problems(nt, [mt], rt, seed=seed, device=device)[0]
    out.update(_stack(run_cells("audit-threshold", kt,
                                lambda k: _w_cell(draw_networks(rt, nt, k, seed=seed, device=device), pbt),
                                cache, progress, params=dict(n=nt, m=mt, runs=rt, seed=seed)), "thr"))
    out.update(thr_ks=np.array(kt), thr_n=nt, thr_m=mt)

    # the images: both layers trained; R' at nu1 = 1 for each noise level
    def image_cell(setting):
        net, A, x_bar, z = image_setting(setting["which"], setting["size"], setting["k"],
                                         kernel=setting["kernel"] or 9, seed=seed, device=device)
        rows = []
        for sig in setting["noise_stds"]:
            pb = Problem(A, x_bar, sig * z)
            c4 = condition4_ratio(net, pb, layers="both")
            R_up = radius_R_upper(net, "both", sigma0=c4["sigma0"])
            L0 = hessian_norm(net, pb, layers="both", iters=int(setting["hessian_iters"]))
            rows.append([float(sig), float(A.sigma_min[0]), float(A.norm[0]), float(c4["sigma0"][0]),
                         float(c4["R"][0]), float(R_up[0]), float(c4["R_prime"][0]), float(L0[0]),
                         float((sig * z).norm()), float(x_bar.norm()), float(c4["residual"][0]),
                         float(A.injective), 0.0 if A.m == A.n and A.injective else math.nan])
        return {"rows": np.array(rows)}

    labels = [f"{s['which']} {s['kernel']}x{s['kernel']}" if s["which"] == "fig3a" else s["which"] for s in images]
    img = run_cells("audit-image", [dict(s) for s in images], image_cell, cache, progress,
                    params=dict(seed=seed))
    rows = np.concatenate([c["rows"] for c in img])
    names = ("noise_std", "sigma_A", "A_norm", "sigma0", "R", "R_upper", "R_prime", "L0", "noise_norm",
             "x_norm", "residual0", "injective", "range_distance")
    out.update({f"img_{key}": rows[:, i] for i, key in enumerate(names)})
    out["img_label"] = np.array([lab for lab, s in zip(labels, images) for _ in s["noise_stds"]])
    if progress:
        tqdm.write("audit: done")
    return out


register_study("audit", audit_hypotheses, AUDIT_PRESETS, chapter="findings",
               doc="where each experiment of Section IV sits against Theorem III.1's hypotheses: "
                   "gamma against a certified L, condition (4) from both sides, y in Im A, A-5 (page 'Findings')")
