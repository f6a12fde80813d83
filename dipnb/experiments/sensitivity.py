"""Fig 1b and Fig 2 again at other values of the choices that are ours, not the paper's.

The paper gives no step for Fig 1b (we use γ = 1) and no m for Fig 2 (we use m = ⌈n/2⌉). Each
verdict on those figures is recomputed here at other reasonable values, and enters the claim as
a reading (rule 9 of the verdicts, :func:`dipnb.report.settle`): a verdict that changes with one
of them is listed as depending on our choices.

* :func:`fig1_step_sensitivity`: Fig 1b (convergence over (m, k)) at γ ∈ {0.5, 2}, the same
  problems and networks as :func:`dipnb.experiments.fig1_sweep` (its seeds), Fig 1a left out;
* :func:`fig2_m_sensitivity`: Fig 2 (convergence over (n, γ)) with m = n, by
  :func:`dipnb.experiments.fig2_sweep` with ``m_ratio = 1``.

Each returns ``{name: result}`` flattened as ``"<name>/<key>"``; :func:`variants` unflattens it.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_positive
from .fig1 import FIG1_PRESETS, fig1_sweep
from .fig2 import FIG2_PRESETS, fig2_sweep
from .registry import register_study

__all__ = ["FIG1_STEP_PRESETS", "FIG2_M_PRESETS", "fig1_step_sensitivity", "fig2_m_sensitivity", "variants"]


def _flat(out: dict, name: str, res: dict) -> None:
    for key, v in res.items():
        out[f"{name}/{key}"] = v


def _label(name: str) -> str:
    """``"gamma=0.5"`` -> ``"γ = 0.5"``, ``"m=1n"`` -> ``"m = n"``: how the tables name a variant."""
    what, value = name.split("=", 1)
    if what == "gamma":
        return f"γ = {value}"
    return "m = n" if value == "1n" else f"m = {value}"


def variants(res: dict) -> dict:
    """``{label: result}`` from a flattened result of this module (keys ``"<name>/<key>"``), labelled
    as the tables name them (``"γ = 0.5"``, ``"m = n"``)."""
    out: dict = {}
    for key, v in res.items():
        if "/" in key:
            name, sub = key.split("/", 1)
            out.setdefault(_label(name), {})[sub] = v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v
    return out


def _without(preset, *keys) -> dict:
    """A preset's arguments but ``keys`` (the choice a sensitivity study varies itself)."""
    return {key: v for key, v in dict(preset).items() if key not in keys}


# Fig 1b's grid, runs, steps and tolerance of the fig1 presets; Fig 1a reduced to one width (γ does not enter it)
FIG1_STEP_PRESETS = {p: dict(gammas=[0.5, 2.0], **_without(FIG1_PRESETS[p], "gamma", "log10_ks_a"))
                     for p in ("quick", "paper-cpu")}

# Fig 2's grid, steps and tolerance of the fig2 presets, m = n; paper-cpu with 20 runs a cell, not 50
# (4196 s on 2 shared cores), which widens the Wilson intervals, stated where it is read
FIG2_M_PRESETS = {"quick": dict(m_ratios=[1.0], **_without(FIG2_PRESETS["quick"], "m_ratio")),
                  "paper-cpu": dict(m_ratios=[1.0], **{**_without(FIG2_PRESETS["paper-cpu"], "m_ratio"), "runs": 20})}


def fig1_step_sensitivity(gammas=(0.5, 2.0), n: int = 5, ms=(1, 2, 3, 5), log10_ks_b=(1, 2, 3), runs: int = 10,
                          steps: int = 3000, tol: float = 1e-14, d: int = 16, nu1: float = 2.0, seed: int = 0,
                          device="cpu", cache=None, progress: bool = False) -> dict:
    """Fig 1b at each step γ of ``gammas`` (the other arguments: those of :func:`dipnb.experiments.fig1_sweep`,
    which draws the same problems and networks whatever γ); results named ``"gamma=<γ>"``."""
    out: dict = {}
    for g in gammas:
        check_positive("gamma", g)
        res = fig1_sweep(n=n, ms=ms, log10_ks_a=[1.0], log10_ks_b=log10_ks_b, runs=runs, steps=steps, gamma=float(g),
                         tol=tol, d=d, nu1=nu1, seed=seed, device=device, cache=cache, progress=progress)
        _flat(out, f"gamma={float(g):g}", res)
    return out


def fig2_m_sensitivity(m_ratios=(1.0,), ns=(2, 5, 10, 20), k: int = 1000, log10_gammas=(-1, 0, 1, 2), runs: int = 8,
                       steps: int = 3000, tol: float = 1e-14, seed: int = 0, device="cpu", cache=None,
                       progress: bool = False) -> dict:
    """Fig 2 at each ``m_ratio`` of ``m_ratios`` (m = ⌈ratio · n⌉; the other arguments: those of
    :func:`dipnb.experiments.fig2_sweep`); results named ``"m=<ratio>n"``."""
    out: dict = {}
    for r in m_ratios:
        check_positive("m_ratio", r)
        res = fig2_sweep(ns=ns, m_ratio=float(r), k=k, log10_gammas=log10_gammas, runs=runs, steps=steps, tol=tol,
                         seed=seed, device=device, cache=cache, progress=progress)
        _flat(out, f"m={float(r):g}n", res)
    return out


register_study("fig1-step", fig1_step_sensitivity, FIG1_STEP_PRESETS, chapter="06_fig1_width",
               doc="Fig 1b at gamma = 0.5 and 2 beside our gamma = 1 (the paper gives no step): the verdicts' "
                   "sensitivity (chapter 'Fig 1: how wide in practice')")

register_study("fig2-m", fig2_m_sensitivity, FIG2_M_PRESETS, chapter="07_fig2_stepsize",
               doc="Fig 2 with m = n beside our m = n/2 (the paper gives no m): the verdicts' sensitivity "
                   "(chapter 'Fig 2: the step size')")
