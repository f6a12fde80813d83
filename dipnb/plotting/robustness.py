"""Figures of the robustness page: the image claims over photographs, draws and scales
(:func:`dipnb.experiments.image_draws`) and Fig 1b / Fig 2 at other values of our choices
(:mod:`dipnb.experiments.sensitivity`)."""
from __future__ import annotations

import numpy as np

from .style import ANNOTATION_SIZE, IMAGE_CMAP, IMAGE_TITLE_SIZE, axes_grid

__all__ = ["plot_draw_images", "plot_image_draws", "plot_choice_sensitivity"]

_SCALE_COLOURS = ("C0", "C3", "C2", "C4")


def plot_draw_images(res: dict, axes=None):
    """The photographs of an :func:`dipnb.experiments.image_draws` result, as the runs see them."""
    names = [str(x) for x in res["images"]]
    fig, axes = axes_grid(axes, len(names))
    if fig.get_figheight() > 2.4 and len(axes) == len(names):
        fig.set_size_inches(min(2.0 * len(names), 8.0), 2.2)
    for ax, name, img in zip(axes, names, np.asarray(res["x_bar"])):
        ax.imshow(img, cmap=IMAGE_CMAP, vmin=0, vmax=255)
        ax.set_title(name, fontsize=IMAGE_TITLE_SIZE)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    return fig


def plot_image_draws(res: dict, axes=None):
    """Three panels over photographs (x axis) and draws (one marker each), one colour per image scale:
    Fig 3a's PSNR at the last step, noiseless (filled) and noisy (open); Fig 3b's best and last PSNR;
    and Fig 4's oracle step on the step-invariant axis ωτ*."""
    names = [str(x) for x in res["images"]]
    scales = np.asarray(res["scales"], dtype=float)
    fig, (a1, a2, a3) = axes_grid(axes, 3)
    x = np.arange(len(names))
    for i, scale in enumerate(scales):
        col = _SCALE_COLOURS[i % len(_SCALE_COLOURS)]
        dx = (i - (len(scales) - 1) / 2) * 0.22
        lab = f"[0, {scale:g}]"
        for ax, key_f, key_o in ((a1, "a_psnr0", "a_psnr1"), (a2, "b_psnr_best", "b_psnr_end")):
            f, o = np.asarray(res[key_f], float)[i], np.asarray(res[key_o], float)[i]
            for j in range(len(names)):
                ax.plot(np.full(f.shape[-1], x[j] + dx), f[j], "o", color=col, ms=4,
                        label=lab if j == 0 else None)
                ax.plot(np.full(o.shape[-1], x[j] + dx), o[j], "o", mfc="none", color=col, ms=4)
        wt = np.asarray(res["b_omega"], float)[i] * np.asarray(res["b_tau_star"], float)[i]
        for j in range(len(names)):
            a3.plot(np.full(wt.shape[-1], x[j] + dx), wt[j], "s", color=col, ms=4, label=lab if j == 0 else None)
    a1.set_title("Fig 3a: PSNR at the last step")
    a1.set_ylabel("dB (filled: noiseless, open: noisy)")
    a2.set_title("Fig 3b: best (filled), last (open)")
    a2.set_ylabel("dB")
    a3.set_title("Fig 4: oracle step ωτ*")
    a3.set_yscale("log")
    for ax in (a1, a2, a3):
        ax.set_xticks(x, names, rotation=30)
    a1.legend(title="image scale", fontsize=ANNOTATION_SIZE, loc="center left")
    return fig


def plot_choice_sensitivity(fig1: dict, fig1_variants: dict, fig2: dict, fig2_variants: dict, m: int = 2,
                            axes=None):
    """Fig 1b's probability of converging against k at ``m`` for our γ = 1 and each other γ, and
    Fig 2's against γ for each n, at m = ⌈n/2⌉ (solid) and at each other m (dashed)."""
    fig, (a1, a2) = axes_grid(axes, 2)
    for (name, res), style in zip([(f"γ = {float(fig1['gamma']):g} (ours)", fig1)] + list(fig1_variants.items()),
                                  ("o-", "s--", "^:", "d-.")):
        i = [int(v) for v in np.asarray(res["ms"])].index(m)
        a1.plot(np.asarray(res["ks_b"], float), np.asarray(res["prob_b"], float)[i], style, ms=3, label=name)
    a1.set_xscale("log")
    a1.set_xlabel("width k")
    a1.set_ylabel("P(converge)")
    a1.set_title(f"Fig 1b, m = {m}")
    a1.legend()
    ns = [int(v) for v in np.asarray(fig2["ns"])]
    for j, n in enumerate(ns):
        col = f"C{j}"
        a2.plot(np.asarray(fig2["gammas"], float), np.asarray(fig2["frac_conv"], float)[j], "-", color=col,
                label=f"n = {n}")
        for res in fig2_variants.values():
            jj = [int(v) for v in np.asarray(res["ns"])].index(n)
            a2.plot(np.asarray(res["gammas"], float), np.asarray(res["frac_conv"], float)[jj], "--", color=col)
    a2.set_xscale("log")
    a2.set_xlabel("step γ")
    a2.set_title("Fig 2: m = ⌈n/2⌉ (solid), " + ", ".join(fig2_variants) + " (dashed)")
    a2.legend(ncol=len(ns), loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=ANNOTATION_SIZE,
              handlelength=1.2, columnspacing=0.8)
    return fig
