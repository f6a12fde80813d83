"""dipnb: the helper package of the executable companion book to
Buskulic, Quéau & Fadili, *Recovery Guarantees of Unsupervised Neural Networks
for Inverse Problems trained with Gradient Descent* (EUSIPCO 2024).

The package has one import direction, each layer importing only from those before it:

* :mod:`dipnb.core`: the model of the paper: activations (A-3, A-7), the two-layer
  network (9), losses and their KL functions (Definition II.2), operators A of (1),
  problems, gradient descent (2) and the gradient flow;
* :mod:`dipnb.theory`: Theorem III.1 (every constant, bounds (6)-(8)), Corollary III.2
  (the width bound, the closed form of (4)), checks of the KL inequality, the Landweber model;
* :mod:`dipnb.engine`: many runs of gradient descent at once (the sweeps of Fig 1 and 2);
* :mod:`dipnb.analysis`: reading measurements (slopes, thresholds, widths at a probability);
* :mod:`dipnb.experiments`: the studies of the chapters, their presets, resumable cells,
  saved results and every number the paper quotes;
* :mod:`dipnb.report` (the paper's claims against our numbers) and :mod:`dipnb.plotting`
  (the figures);
* :mod:`dipnb.cli` (``python -m dipnb``) and :mod:`dipnb.coursework` (the book's tooling).

The names below (the core and the theory) are the public API; the other layers are reached
as ``dipnb.experiments``, ``dipnb.plotting``, ... (imported on first use).
"""
import importlib
import sys as _sys

try:
    from ._random import make_generator
    from ._version import __version__ as __version__
    from .core.activations import Activation, gaussian_moment, get_activation
    from .core.descent import Trajectory, gradient_descent, train_image
    from .core.flow import flow_descent_gap, gradient_flow
    from .core.losses import Desingularizer, HalfMSE, KullbackLeibler, Loss, PowerLoss, get_loss
    from .core.network import State, TwoLayerDIP, forward, gradients, jacobian, jacobian_gram, sigma_min_jacobian
    from .core.operators import (
        GaussianBlur,
        Identity,
        Inpainting,
        LinearOperator,
        MatrixOperator,
        blur_operator,
        gaussian_operator,
        spectrum_operator,
        well_conditioned_operator,
    )
    from .core.problems import Problem, gaussian_problems
    from .theory.bounds import certified_L
    from .theory.corollary import (
        condition4_ratio,
        constants_for_width,
        corollary_probability,
        corollary_terms,
        corollary_width,
        critical_width,
    )
    from .theory.kl import check_kl_inequality, kl_ratio, numeric_inverse, numeric_Psi, sublevel_samples
    from .theory.linear import effective_step, landweber
    from .theory.theorem import (
        L_eq10,
        TheoremIII1,
        dist_to_sigma_prime,
        estimate_L,
        hessian_norm,
        hessian_parts,
        jacobian_lipschitz,
        nu1,
        nu2,
        nu_profile,
        radius_R,
        sigma_min_nonzero_jacobian,
        theorem_quantities,
    )
    from .theory.theorem import hessian_extremes as hessian_extremes  # public (chapter 03), outside the capped __all__
except KeyboardInterrupt:                  # Ctrl-C while `python -m dipnb ...` imports torch: one line
    if _sys.argv[:1] != ["-m"]:            # imported by a program or a notebook: theirs to handle
        raise
    print("\ninterrupted while starting: nothing was run", file=_sys.stderr)
    raise SystemExit(130) from None

__all__ = [
    # core
    "Activation", "get_activation", "gaussian_moment", "make_generator",
    "TwoLayerDIP", "State", "forward", "gradients", "jacobian", "jacobian_gram", "sigma_min_jacobian",
    "Loss", "HalfMSE", "PowerLoss", "KullbackLeibler", "Desingularizer", "get_loss",
    "LinearOperator", "MatrixOperator", "GaussianBlur", "Identity", "Inpainting", "gaussian_operator",
    "well_conditioned_operator", "spectrum_operator", "blur_operator",
    "Problem", "gaussian_problems", "gradient_descent", "Trajectory", "train_image",
    "gradient_flow", "flow_descent_gap",
    # theory
    "TheoremIII1", "theorem_quantities", "nu1", "nu2", "nu_profile", "L_eq10", "hessian_norm",
    "hessian_parts", "estimate_L", "certified_L", "jacobian_lipschitz", "radius_R", "sigma_min_nonzero_jacobian",
    "dist_to_sigma_prime", "corollary_width", "corollary_probability", "corollary_terms",
    "constants_for_width", "condition4_ratio", "critical_width", "check_kl_inequality", "kl_ratio",
    "sublevel_samples", "numeric_Psi", "numeric_inverse", "landweber", "effective_step",
]

#: The layers above the core and the theory, imported on first use (``dipnb.experiments``, ...).
_SUBPACKAGES = ("core", "theory", "engine", "analysis", "experiments", "report", "plotting", "cli",
                "coursework")


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dipnb' has no attribute {name!r}")


def __dir__():
    # the public names and the layers: no imported helper module (importlib, _random, ...) or private name
    names = {n for n, v in globals().items()
             if (n.startswith("__") or not n.startswith("_")) and not isinstance(v, type(importlib))}
    return sorted(names | set(_SUBPACKAGES))
