"""The proof of Theorem III.1, measured: every quantity its inequalities compare, along a run.

The proof (book chapter "The proof, step by step") chains five inequalities on the iterates
:math:`\\theta_\\tau` of gradient descent (2), with :math:`F(\\theta) = \\mathcal L_y(Ag(u,\\theta))`,
:math:`F_\\tau = F(\\theta_\\tau)` and :math:`\\sigma_0 = \\sigma_{\\min}(\\mathcal J_g(\\theta_0))`:

* the chain rule, :math:`\\|\\nabla F(\\theta)\\| \\ge \\sigma_A\\,\\sigma_{\\min}(\\mathcal J_g(\\theta))\\,
  \\|\\nabla\\mathcal L_y(Ag(u,\\theta))\\|` (needs :math:`\\nabla\\mathcal L_y \\in \\mathrm{Im}(A)`);
* Weyl's inequality, :math:`\\sigma_{\\min}(\\mathcal J_g(\\theta)) \\ge \\sigma_0 -
  \\mathrm{Lip}(\\mathcal J_g)\\|\\theta - \\theta_0\\| \\ge \\sigma_0/2` on :math:`\\mathbb B(\\theta_0, R)` (R of (5));
* the KL inequality (3) of the loss, hence that of F on the ball,
  :math:`\\psi'(F(\\theta))\\|\\nabla F(\\theta)\\| \\ge \\sigma_A\\sigma_0/2`;
* the descent lemma, :math:`F_\\tau - F_{\\tau+1} \\ge \\gamma(1 - \\gamma L/2)\\|\\nabla F(\\theta_\\tau)\\|^2`;
* the length and rate steps that follow from them (:math:`\\psi` concave, :math:`\\psi'` non-increasing).

:func:`proof_quantities` evaluates the measured sides at one state, :func:`proof_trace` at every
iterate of a run, through the one loop of the package (:func:`dipnb.core.descent.iterate` with
:class:`~dipnb.core.descent.GradientStep`): nothing here trains the network another way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._validation import check_int, check_layers, check_positive, check_same_runs, check_step_shape
from ..core.descent import GradientStep, StopRule, iterate
from ..core.losses import Loss, get_loss
from ..core.network import State, TwoLayerDIP, forward, gradients, jacobian_gram
from ..core.problems import Problem

__all__ = ["proof_quantities", "ProofTrace", "proof_trace"]


def proof_quantities(net: TwoLayerDIP, problem: Problem, state: State | None = None, layers: str = "W",
                     loss: Loss | str = "mse", gram0: torch.Tensor | None = None) -> dict:
    """The measured sides of the proof's inequalities at ``state`` (default :math:`\\theta_0`), each (R,).

    Returns a dict: ``loss`` :math:`F(\\theta)`, ``grad`` :math:`\\|\\nabla F(\\theta)\\|` (Frobenius over
    the trained layers; :math:`\\nabla_W F = \\nabla_h F\\,u^\\top`, so its norm is
    :math:`\\|\\nabla_h F\\|\\,\\|u\\|`), ``loss_grad`` :math:`\\|\\nabla\\mathcal L_y(Ag(u,\\theta))\\|`,
    ``sigma_min`` :math:`\\sigma_{\\min}(\\mathcal J_g(\\theta))` (that of the n×n Gram matrix, as in (4)),
    ``dist`` :math:`\\|\\theta - \\theta_0\\|`, ``error`` :math:`\\|g(u,\\theta) - \\bar x\\|` and
    ``residual`` :math:`\\|Ag(u,\\theta) - y\\|`; with ``gram0`` (the Gram matrix
    :math:`K_0 = \\mathcal J_g\\mathcal J_g^\\top` at :math:`\\theta_0`, (R, n, n)) also ``kernel_drift``
    :math:`\\|K - K_0\\|/\\|K_0\\|` (spectral norms): how far the empirical NTK has moved.
    """
    check_layers(layers)
    check_same_runs(net, problem)
    loss = get_loss(loss)
    s = net.initial_state() if state is None else state
    x, v, dl, grad = _gradient(net, problem, s, layers, loss)
    gram = jacobian_gram(s.h, s.V, net.activation, layers, net.u_norm2)
    out = {"loss": loss.value(v, problem.y), "grad": grad, "loss_grad": dl.norm(dim=1),
            "sigma_min": torch.linalg.eigvalsh(gram)[:, 0].clamp(min=0).sqrt(),
            "dist": net.param_distance(s), "error": (x - problem.x_bar).norm(dim=1),
            "residual": (v - problem.y).norm(dim=1)}
    if gram0 is not None:
        out["kernel_drift"] = torch.linalg.matrix_norm(gram - gram0, 2) / torch.linalg.matrix_norm(gram0, 2)
    return out


def _gradient(net: TwoLayerDIP, problem: Problem, s: State, layers: str, loss: Loss):
    """:math:`x = g(u,\\theta)`, :math:`v = Ax`, :math:`\\nabla\\mathcal L_y(v)` and
    :math:`\\|\\nabla F(\\theta)\\|` at the state ``s``."""
    x = forward(s.h, s.V, net.activation)
    v = problem.A.A(x)
    dl = loss.grad(v, problem.y)
    gh, gV = gradients(s.h, s.V, problem.A.A_adjoint(dl), net.activation, layers)
    g2 = torch.zeros_like(dl[:, 0])
    if gh is not None:
        g2 = g2 + (gh ** 2).sum(1) * net.u_norm2
    if gV is not None:
        g2 = g2 + (gV ** 2).sum((1, 2))
    return x, v, dl, g2.sqrt()


@dataclass
class ProofTrace:
    """What :func:`proof_trace` records at every iteration τ = 0, ..., T; each tensor is (T + 1, R).

    Attributes
    ----------
    steps : ndarray (T,)
        The recorded iterations (every one by default).
    loss, grad, loss_grad, sigma_min, dist, error, residual, kernel_drift : the fields of
        :func:`proof_quantities` at :math:`\\theta_\\tau` (``kernel_drift`` against :math:`\\theta_0`);
        NaN after a run has stopped (its loss reached ``tol``).
    length : :math:`\\sum_{s<\\tau}\\|\\theta_{s+1} - \\theta_s\\| = \\gamma\\sum_{s<\\tau}\\|\\nabla F(\\theta_s)\\|`,
        the length of the path so far (an identity of (2), not an estimate).
    dist_ref : :math:`\\|\\theta_\\tau - \\theta_{\\rm ref}\\|` when a reference state was given, else None.
    status : list of str
        Each run's status (:data:`~dipnb.core.iteration.RUN_STATUSES`: ``"converged"`` once its loss
        reached ``tol``, else ``"max_steps"``).
    stop_step : Tensor (R,)
        The iteration at which each run stopped (``steps`` for a run that did not).
    gamma : Tensor (R,)
    layers : str
    final : State
    """

    steps: np.ndarray
    loss: torch.Tensor
    grad: torch.Tensor
    loss_grad: torch.Tensor
    sigma_min: torch.Tensor
    dist: torch.Tensor
    error: torch.Tensor
    residual: torch.Tensor
    kernel_drift: torch.Tensor
    length: torch.Tensor
    dist_ref: torch.Tensor | None
    status: list
    stop_step: torch.Tensor
    gamma: torch.Tensor
    layers: str
    final: State

    def __repr__(self):
        return (f"ProofTrace({self.loss.shape[1]} runs, {len(self.steps)} iterations recorded up to "
                f"{int(self.steps[-1])}, layers={self.layers})")


_FIELDS = ("loss", "grad", "loss_grad", "sigma_min", "dist", "error", "residual", "kernel_drift")


def proof_trace(net: TwoLayerDIP, problem: Problem, gamma, steps: int, layers: str = "W",
                loss: Loss | str = "mse", tol: float = 1e-20, reference: State | None = None,
                record=None) -> ProofTrace:
    """Run gradient descent (2) for at most ``steps`` steps and record :func:`proof_quantities` at
    every iterate, with the length of the path and, if ``reference`` is given (e.g. θ∞ of (7)),
    the distance to it.

    A run stops once its loss is ``<= tol`` (default 1e-20: below it, the differences
    :math:`F_\\tau - F_{\\tau+1}` that the descent lemma bounds are round-off); its later entries are NaN.
    ``record``: ``None`` records every iteration; an int ``e`` every ``e``-th (and the last); a
    sequence, those iterations. The path length is accumulated at every step whatever is recorded.
    The cost is twice that of :func:`dipnb.gradient_descent` (the gradient is evaluated once more)
    plus, at each recorded iteration, an n×n eigenvalue problem.
    """
    check_layers(layers)
    steps = check_int("steps", steps, low=0)
    check_positive("tol", tol, allow_zero=True)
    check_positive("gamma", gamma)
    check_same_runs(net, problem)
    loss = get_loss(loss)
    R, dtype, device = net.runs, net.V0.dtype, net.V0.device
    gamma = torch.as_tensor(check_step_shape("gamma", gamma, R), dtype=dtype, device=device).expand(R).clone()
    if record is None:
        rec = np.arange(steps + 1)
    elif isinstance(record, (int, np.integer)):
        rec = np.unique(np.r_[np.arange(0, steps + 1, check_int("record", record)), steps])
    else:
        rec = np.unique(np.asarray(record, dtype=int))
        if rec.size == 0 or rec.min() < 0 or rec.max() > steps:
            raise ValueError(f"record must be iterations in [0, {steps}], got {np.asarray(record).tolist()[:5]}")
    row = {int(t): i for i, t in enumerate(rec)}
    s = net.initial_state()
    gram0 = jacobian_gram(s.h, s.V, net.activation, layers, net.u_norm2)
    keys = _FIELDS + ("length",) + (("dist_ref",) if reference is not None else ())
    out = {key: torch.full((len(rec), R), math.nan, dtype=dtype, device=device) for key in keys}
    walked = torch.zeros(R, dtype=dtype, device=device)

    def keep(tau, obs, active, stopping):
        if tau in row:
            q = proof_quantities(net, problem, s, layers, loss, gram0)
            q["length"] = walked.clone()
            if reference is not None:
                q["dist_ref"] = net.param_distance(s, reference)
            for key in keys:
                out[key][row[tau]] = torch.where(active, q[key], out[key][row[tau]])
            grad = q["grad"]
        else:
            grad = _gradient(net, problem, s, layers, loss)[3]
        # the length of the step about to be taken, ‖θ_{τ+1} − θ_τ‖ = γ‖∇F(θ_τ)‖, by the runs that take it
        moving = active if stopping is None else active & ~stopping
        walked.add_(torch.where(moving, gamma * grad, torch.zeros_like(walked)))

    status, stop_step, _ = iterate(GradientStep(net, problem, gamma, layers, loss), s, steps,
                                   StopRule(R, device, dtype, tol=tol), keep)
    return ProofTrace(rec, *(out[key] for key in _FIELDS), length=out["length"], dist_ref=out.get("dist_ref"),
                      status=list(status), stop_step=stop_step, gamma=gamma, layers=layers, final=s)
