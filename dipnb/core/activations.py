"""Activation functions and the constants the paper attaches to them.

Assumption A-3 of the paper asks that the activation :math:`\\phi` be
:math:`C^1` with :math:`\\sup|\\phi'| \\le B` and :math:`\\phi'` B-Lipschitz;
assumption A-7 asks that

.. math:: C_\\phi = \\sqrt{E[\\phi(X)^2]},\\quad C_{\\phi'} = \\sqrt{E[\\phi'(X)^2]},
          \\quad X \\sim N(0, 1)

be finite. Each :class:`Activation` carries ``B``, ``C_phi`` and ``C_dphi``;
the Gaussian moments are computed by Gauss--Hermite quadrature, never by
sampling. Activations that violate A-3 (ReLU) can still be used to train a
network, but asking them for a guarantee constant raises a ``ValueError``
that names the assumption.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["Activation", "get_activation", "ACTIVATIONS", "gaussian_moment"]


def gaussian_moment(f: Callable[[np.ndarray], np.ndarray], order: int = 200) -> float:
    """Return :math:`E[f(X)]` for :math:`X \\sim N(0,1)` by Gauss--Hermite quadrature.

    Uses the probabilists' Hermite nodes (weight :math:`e^{-x^2/2}`), exact for
    polynomials of degree ``< 2*order`` and accurate to round-off for the smooth,
    slowly growing integrands used here.
    """
    x, w = np.polynomial.hermite_e.hermegauss(order)
    return float(np.sum(w * f(x)) / math.sqrt(2.0 * math.pi))


@dataclass(frozen=True)
class Activation:
    """A component-wise activation :math:`\\phi` with its derivatives and constants.

    Parameters
    ----------
    name : str
        Short name (``"sigmoid"``, ``"tanh"``, ...).
    phi, dphi, d2phi : callable
        :math:`\\phi`, :math:`\\phi'` and :math:`\\phi''` on torch tensors.
    np_phi, np_dphi : callable
        The same on NumPy arrays, used for the quadrature of ``C_phi``, ``C_dphi``.
    sup_dphi, sup_d2phi : float or None
        :math:`\\sup|\\phi'|` and :math:`\\sup|\\phi''|` (the Lipschitz constant
        of :math:`\\phi'`). ``None`` when A-3 does not hold.
    violation : str
        Why A-3 fails (empty when it holds).
    """

    name: str
    phi: Callable[[torch.Tensor], torch.Tensor]
    dphi: Callable[[torch.Tensor], torch.Tensor]
    d2phi: Callable[[torch.Tensor], torch.Tensor]
    np_phi: Callable[[np.ndarray], np.ndarray]
    np_dphi: Callable[[np.ndarray], np.ndarray]
    sup_dphi: float | None
    sup_d2phi: float | None
    violation: str = ""
    _moments: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def satisfies_A3(self) -> bool:
        """Whether the activation satisfies assumption A-3."""
        return not self.violation

    def require_A3(self, what: str = "this guarantee quantity") -> None:
        """Raise ``ValueError`` if A-3 fails, naming the assumption and ``what``."""
        if self.violation:
            raise ValueError(
                f"activation {self.name!r} violates assumption A-3 ({self.violation}); "
                f"{what} is only defined for activations satisfying A-3, e.g. "
                f"{sorted(n for n, a in ACTIVATIONS.items() if a.satisfies_A3)}"
            )

    @property
    def B(self) -> float:
        """``max(sup|phi'|, Lip(phi'))``, the constant B of assumption A-3."""
        self.require_A3("the constant B of A-3")
        return max(self.sup_dphi, self.sup_d2phi)

    @property
    def C_phi(self) -> float:
        """:math:`C_\\phi = \\sqrt{E[\\phi(X)^2]}` (A-7), by Gauss--Hermite quadrature."""
        if "C_phi" not in self._moments:
            self._moments["C_phi"] = math.sqrt(gaussian_moment(lambda x: self.np_phi(x) ** 2))
        return self._moments["C_phi"]

    @property
    def C_dphi(self) -> float:
        """:math:`C_{\\phi'} = \\sqrt{E[\\phi'(X)^2]}` (A-7), by Gauss--Hermite quadrature."""
        if "C_dphi" not in self._moments:
            self._moments["C_dphi"] = math.sqrt(gaussian_moment(lambda x: self.np_dphi(x) ** 2))
        return self._moments["C_dphi"]

    def __repr__(self) -> str:  # short, readable in notebooks
        return f"Activation({self.name!r})"


def _np_sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sigmoid_d1(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s)


def _sigmoid_d2(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 - s) * (1 - 2 * s)


def _relu_d1(x: torch.Tensor) -> torch.Tensor:
    return (x > 0).to(x.dtype)


ACTIVATIONS: dict[str, Activation] = {
    # sigmoid: phi' = s(1-s) <= 1/4 at 0; phi'' = s(1-s)(1-2s), max 1/(6 sqrt 3)
    "sigmoid": Activation(
        "sigmoid", torch.sigmoid, _sigmoid_d1, _sigmoid_d2,
        _np_sigmoid, lambda x: _np_sigmoid(x) * (1 - _np_sigmoid(x)),
        sup_dphi=0.25, sup_d2phi=1.0 / (6.0 * math.sqrt(3.0)),
    ),
    # tanh: phi' = 1 - t^2 <= 1; phi'' = -2 t (1 - t^2), max 4/(3 sqrt 3)
    "tanh": Activation(
        "tanh", torch.tanh, lambda x: 1 - torch.tanh(x) ** 2,
        lambda x: -2 * torch.tanh(x) * (1 - torch.tanh(x) ** 2),
        np.tanh, lambda x: 1 - np.tanh(x) ** 2,
        sup_dphi=1.0, sup_d2phi=4.0 / (3.0 * math.sqrt(3.0)),
    ),
    # softplus: phi' = sigmoid <= 1, phi'' = sigmoid' <= 1/4; unbounded but A-3 holds
    "softplus": Activation(
        "softplus", torch.nn.functional.softplus, torch.sigmoid, _sigmoid_d1,
        lambda x: np.logaddexp(0.0, x), _np_sigmoid,
        sup_dphi=1.0, sup_d2phi=0.25,
    ),
    "relu": Activation(
        "relu", torch.relu, _relu_d1, torch.zeros_like,
        lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float),
        sup_dphi=None, sup_d2phi=None,
        violation="ReLU is not C^1: its derivative jumps at 0, so phi' is not Lipschitz",
    ),
}


def get_activation(activation: str | Activation) -> Activation:
    """Return the :class:`Activation` called ``activation`` (or pass one through).

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the accepted names.
    """
    if isinstance(activation, Activation):
        return activation
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {activation!r}; accepted: {sorted(ACTIVATIONS)}"
        ) from None
