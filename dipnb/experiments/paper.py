"""Every number the paper quotes about its experiments (Section IV), once.

Tables, figures and chapters read them from here, so the paper's :math:`10^{1.6}` or its
:math:`k \\ge 10^{6.8}` is written in one place.
"""
from __future__ import annotations

__all__ = ["PAPER"]


#: What the paper states about these experiments (Section IV), used by the ``*_table`` functions.
PAPER = {
    "fig1_conv_m2_log10k": 2.5,      # "for m = 2 ... convergence occurs when k >= 10^2.5"
    "fig1_bound_m2_log10k": 6.8,     # "for m = 2, our bound ... requires k >= 10^6.8"
    "threshold_log10_gamma": 1.6,    # "training will start to diverge when gamma >= 10^1.6"
    "fig2_k": 10_000,
    "runs": 50, "steps": 100_000, "tol": 1e-14, "n_fig1": 5,
    "fig3a_sigma_A": 1e-5,           # "the blur operator ... sigma_min(A) ~ 10^-5"
    "fig4_best_tau": 10,             # "the recovery error decreases until tau ~ 10"
}
