"""The studies the chapters run, each with a *quick* and a *paper* preset, registered for the
command line (``python -m dipnb run NAME --preset paper``) and saved under ``results/``.

The machinery: :mod:`.registry` (:func:`register`, :func:`get`, :func:`run`), :mod:`.cells`
(resumable cells keyed by a hash of their parameters), :mod:`.cluster` (the same cells on a
Dask cluster: :class:`on_cluster`), :mod:`.results` (where results live,
with their provenance) and :mod:`.paper` (every number the paper quotes). One module per
study: :mod:`.sigma_min` (chapter 01), :mod:`.stepsize` (03), :mod:`.theorem` (04),
:mod:`.corollary` (05), :mod:`.fig1` (06), :mod:`.fig2` (07),
:mod:`.images` (08, 09), :mod:`.robustness` (09: the image claims over photographs, draws
and scales), :mod:`.sensitivity` (06, 07: Fig 1b and Fig 2 at other values of our choices),
:mod:`.sharpness`, :mod:`.laziness`, :mod:`.discretisation` (09b), and
:mod:`.audit` (the findings page: each experiment against the theorem's hypotheses).
Importing this package registers them all.
"""
from .audit import AUDIT_PRESETS, audit_hypotheses
from .cells import Interrupted, cell_key, keyed, run_cells
from .cluster import on_cluster
from .corollary import CONDITION4_PRESETS, SCALING_PRESETS, condition4_sweep, width_scaling
from .discretisation import DISCRETISATION_PRESETS, discretisation_study
from .explorer import THEOREM_EXPLORER_PRESETS, tau_samples, theorem_explorer_grid
from .fig1 import FIG1_PRESETS, fig1_sweep
from .fig2 import FIG2_PRESETS, GAMMA_THRESHOLD_PRESETS, fig2_sweep, gamma_threshold_sweep
from .images import FIG3A_PRESETS, FIG3B_PRESETS, IMAGE_SOURCES, fig3a, fig3b, image_setting, load_image, step_size
from .laziness import LAZINESS_PRESETS, laziness_sweep
from .paper import PAPER
from .registry import (
                       EXPERIMENTS,
                       PRESETS,
                       RUN_PRESETS,
                       Experiment,
                       Preset,
                       current_preset,
                       get,
                       log10_grid,
                       register,
                       register_study,
                       run,
                       saved_or_quick,
)
from .results import best_result, environment, load_result, provenance, results_dir, results_table, save_result
from .robustness import ROBUSTNESS_PRESETS, image_draws
from .sensitivity import FIG1_STEP_PRESETS, FIG2_M_PRESETS, fig1_step_sensitivity, fig2_m_sensitivity
from .sharpness import SHARPNESS_PRESETS, sharpness_sweep
from .sigma_min import SIGMA_MIN_PRESETS, sigma_min_vs_width
from .stepsize import FAIL_STATUSES, STEPSIZE_PRESETS, gamma_sweep, lipschitz_sweep
from .theorem import (
                       CONDITION_VS_CONVERGENCE_PRESETS,
                       TheoremRun,
                       bound_ratios,
                       condition_vs_convergence,
                       hessian_norm_in_ball,
                       theorem_run,
)

__all__ = [
    "EXPERIMENTS", "PRESETS", "RUN_PRESETS", "Experiment", "current_preset", "get", "log10_grid",
    "register", "register_study", "Preset", "keyed", "run", "saved_or_quick", "Interrupted", "cell_key", "run_cells",
    "on_cluster",
    "best_result", "environment",
    "load_result", "provenance", "results_dir", "results_table", "save_result", "PAPER",
    "SIGMA_MIN_PRESETS", "sigma_min_vs_width", "STEPSIZE_PRESETS", "FAIL_STATUSES", "gamma_sweep",
    "lipschitz_sweep", "CONDITION_VS_CONVERGENCE_PRESETS", "TheoremRun", "bound_ratios",
    "condition_vs_convergence", "hessian_norm_in_ball", "theorem_run", "CONDITION4_PRESETS",
    "SCALING_PRESETS", "condition4_sweep", "width_scaling", "FIG1_PRESETS", "fig1_sweep",
    "FIG2_PRESETS", "GAMMA_THRESHOLD_PRESETS", "fig2_sweep", "gamma_threshold_sweep",
    "FIG3A_PRESETS", "FIG3B_PRESETS", "IMAGE_SOURCES", "fig3a", "fig3b", "load_image", "step_size",
    "image_setting", "AUDIT_PRESETS", "audit_hypotheses", "THEOREM_EXPLORER_PRESETS",
    "theorem_explorer_grid", "tau_samples", "LAZINESS_PRESETS", "laziness_sweep",
    "SHARPNESS_PRESETS", "sharpness_sweep", "DISCRETISATION_PRESETS", "discretisation_study",
    "ROBUSTNESS_PRESETS", "image_draws", "FIG1_STEP_PRESETS", "FIG2_M_PRESETS", "fig1_step_sensitivity",
    "fig2_m_sensitivity",
]
