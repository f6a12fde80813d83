"""dipnb: the helper package of the executable companion book to
Buskulic, Quéau & Fadili, *Recovery Guarantees of Unsupervised Neural Networks
for Inverse Problems trained with Gradient Descent* (EUSIPCO 2024).

One module per idea of the paper, re-exported here as a flat API:

* :mod:`dipnb.activations`: φ with its constants B, C_φ, C_φ' (A-3, A-7);
* :mod:`dipnb.network`: the two-layer network (9), its Jacobian and gradients;
* :mod:`dipnb.losses`: losses and their KL functions ψ, Ψ, Ψ⁻¹ (Definition II.2);
* :mod:`dipnb.operators`: forward operators A of model (1);
* :mod:`dipnb.descent`: gradient descent (2) with statuses and records;
* :mod:`dipnb.theory`: the constants and bounds of Theorem III.1, Corollary III.2;
* :mod:`dipnb.stepsize`: gradient flow vs descent, ν1, ν2 and the Lipschitz constant L;
* :mod:`dipnb.corollary`: how wide the network must be for condition (4) (Corollary III.2);
* :mod:`dipnb.experiments`: the studies the chapters run, with quick/paper presets;
* :mod:`dipnb.plotting`: figures (kept apart from the numerics);
* :mod:`dipnb.engine`: the sweep engine (many runs of gradient descent at once);
* :mod:`dipnb.sweeps`, :mod:`dipnb.imaging`: the experiments of Fig 1, 2 and Fig 3, 4,
  with their figures in :mod:`dipnb.plotting_sweeps` and :mod:`dipnb.plotting_images`.
"""
from .activations import ACTIVATIONS, Activation, gaussian_moment, get_activation
from .descent import STATUSES, Problem, Trajectory, gradient_descent, log_steps
from .losses import (LOSSES, Desingularizer, HalfMSE, KLCheck, KullbackLeibler, Loss, PowerLoss,
                     check_kl_inequality, fit_decay, get_loss, kl_ratio, numeric_inverse,
                     numeric_Psi, sublevel_samples)
from .network import (V_INITS, State, TwoLayerDIP, forward, gradients, jacobian, jacobian_gram,
                      make_generator, sigma_min_jacobian)
from .operators import (BOUNDARIES, GaussianBlur, Identity, Inpainting, LinearOperator,
                        MatrixOperator, blur_matrix_1d, gaussian_operator,
                        well_conditioned_operator)
from .theory import (L_eq10, TheoremIII1, TheoremRun, bound_ratios, condition_vs_convergence,
                     corollary_probability, corollary_width, dist_to_sigma_prime, estimate_L,
                     hessian_norm, hessian_norm_in_ball, injective_operator, jacobian_lipschitz,
                     nu1, nu2, radius_R, sigma_min_nonzero_jacobian, theorem_quantities,
                     theorem_run)
from .stepsize import (STEPSIZE_PRESETS, FlowTrajectory, descent_states, flow_descent_gap,
                       gamma_sweep, gradient_flow, hessian_parts, lipschitz_sweep, loglog_slope,
                       nu_profile, project_paths)
from .corollary import (condition4_probability, condition4_ratio, condition4_sweep,
                        constants_for_width, corollary_terms, critical_width, fit_slope,
                        gaussian_problems, init_statistics, spectrum_operator,
                        width_at_probability, width_scaling)
from .experiments import (EXPERIMENTS, PRESETS, current_preset, environment, load_result,
                          results_dir, run_experiment, save_result, sigma_min_vs_width)
from .plotting import *  # noqa: F401,F403  (every plot_* function and setup_style)
from . import engine, imaging, sweeps  # noqa: E402,F401  (used as dipnb.engine, dipnb.sweeps, ...)

__version__ = "0.1.0"
