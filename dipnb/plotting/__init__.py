"""Figures of the book, kept apart from the numerics: every function takes what a study returned
(or the arrays of a saved result), draws it, and returns the matplotlib Figure.

:mod:`.style` (one style, :func:`setup_style`), :mod:`.theory` (chapters 01 to 05),
:mod:`.sweeps` (Fig 1, Fig 2, the threshold study), :mod:`.images` (Fig 3, Fig 4) and
:mod:`.robustness` (the verdicts over photographs, draws and our other choices).
"""
from .images import (
                     plot_early_stopping,
                     plot_fig3a,
                     plot_fig3a_curves,
                     plot_fig3b,
                     plot_fig4,
                     plot_image_grid,
                     plot_noise_amplification,
)
from .robustness import plot_choice_sensitivity, plot_draw_images, plot_image_draws
from .style import axes_grid, setup_style
from .sweeps import plot_fig1, plot_fig2, plot_gamma_threshold
from .theory import (
                     plot_condition4_probability,
                     plot_condition_vs_convergence,
                     plot_desingularizers,
                     plot_flow_vs_descent,
                     plot_gamma_sweep,
                     plot_kl_levels,
                     plot_kl_ratio,
                     plot_lipschitz_sweep,
                     plot_nu_profile,
                     plot_rate_vs_descent,
                     plot_sigma_min_vs_width,
                     plot_theorem_bounds,
                     plot_trajectory,
                     plot_width_scaling,
)

__all__ = ["setup_style", "axes_grid", "plot_sigma_min_vs_width", "plot_trajectory", "plot_kl_ratio",
           "plot_desingularizers", "plot_rate_vs_descent", "plot_kl_levels", "plot_nu_profile",
           "plot_lipschitz_sweep", "plot_flow_vs_descent", "plot_gamma_sweep", "plot_condition4_probability",
           "plot_width_scaling", "plot_theorem_bounds", "plot_condition_vs_convergence", "plot_fig1", "plot_fig2",
           "plot_gamma_threshold", "plot_image_grid", "plot_fig3a", "plot_fig3a_curves",
           "plot_noise_amplification", "plot_fig3b", "plot_fig4", "plot_early_stopping", "plot_draw_images",
           "plot_image_draws", "plot_choice_sensitivity"]
