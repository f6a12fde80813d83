"""The two-layer Deep Inverse Prior network of eq. (9), batched over runs.

.. math:: g(u, \\theta) = \\frac{1}{\\sqrt{k}} V \\phi(W u), \\qquad
          V \\in R^{n\\times k},\\; W \\in R^{k\\times d},\\; \\theta = (V, W).

Every tensor carries a leading *runs* dimension ``R``: run ``r`` is an
independent network with its own ``u``, ``W0`` and ``V0``.

The reduction used throughout
-----------------------------
The loss depends on ``W`` only through ``h = W u``. Its gradient in ``W`` is
therefore rank one, :math:`\\nabla_W = (\\nabla_h) u^T`, and
a gradient step on ``W`` with step :math:`\\gamma` moves ``h`` by
:math:`-\\gamma\\|u\\|^2 \\nabla_h`. Gradient descent (2) on :math:`\\theta=(V, W)` is
thus exactly gradient descent on the state ``(h, V)``, at a cost of O(nk)
per step instead of O(kd); ``W`` is recovered as
:math:`W_\\tau = W_0 + (h_\\tau - h_0) u^T / \\|u\\|^2` and
:math:`\\|W_\\tau - W_0\\|_F = \\|h_\\tau - h_0\\| / \\|u\\|`. ``d`` enters
the theory only through ``u``, ``log d`` and the probability of Corollary III.2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._random import make_generator, network_seed
from .._validation import (
    DEFAULT_DTYPE,
    check_choice,
    check_device,
    check_finite,
    check_int,
    check_layers,
    check_memory,
    check_shape,
)
from .activations import Activation, get_activation

__all__ = [
    "TwoLayerDIP", "State", "forward", "jacobian", "jacobian_gram",
    "sigma_min_jacobian", "gradients", "V_INITS", "draw_initial_state", "draw_networks", "max_column_norm",
]

#: Output-layer initialisations satisfying A-8, with their entry bound D.
V_INITS = {"rademacher": 1.0, "uniform": math.sqrt(3.0)}


@dataclass
class State:
    """The trainable state ``(h, V)`` with ``h = W u`` (see module docstring).

    Attributes
    ----------
    h : Tensor, shape (R, k)
    V : Tensor, shape (R, n, k)
    """

    h: torch.Tensor
    V: torch.Tensor

    def clone(self) -> State:
        return State(self.h.clone(), self.V.clone())


@dataclass
class TwoLayerDIP:
    """A batch of two-layer networks (9) at their initialisation (A-6 to A-8).

    Draw one with :meth:`TwoLayerDIP.init` (``TwoLayerDIP.init(runs, n, k, d=16, seed=0)``: the
    laws of A-6 to A-8); the constructor ``TwoLayerDIP(u, W0, V0, activation, D)`` takes tensors
    you already have. ``print(net)`` gives the sizes, dtype and device in one line.

    Attributes
    ----------
    u : Tensor, shape (R, d)
        Latent inputs, uniform on the sphere :math:`S^{d-1}` (A-6).
    W0 : Tensor, shape (R, k, d)
        Hidden weights at initialisation, iid N(0, 1) (A-7).
    V0 : Tensor, shape (R, n, k)
        Output weights at initialisation, iid centred entries bounded by ``D`` (A-8).
    activation : Activation
    D : float
        Bound on the entries of ``V0`` (1 for Rademacher, :math:`\\sqrt 3` for uniform).
    """

    u: torch.Tensor
    W0: torch.Tensor
    V0: torch.Tensor
    activation: Activation
    D: float

    @classmethod
    def init(cls, runs: int, n: int, k: int, d: int = 16, activation="sigmoid",
             v_init: str = "rademacher", seed: int = 0, dtype=DEFAULT_DTYPE,
             device="cpu") -> TwoLayerDIP:
        """Draw ``runs`` independent initialisations satisfying A-6, A-7 and A-8.

        Parameters
        ----------
        runs, n, k, d : int
            Number of runs, signal size, width, latent size (all >= 1).
        activation : str or Activation
            ``"sigmoid"`` (default, as in the paper's experiments), ``"tanh"``, ...
        v_init : {"rademacher", "uniform"}
            Law of the entries of ``V0``: ±1 (D = 1) or uniform on
            :math:`[-\\sqrt3, \\sqrt3]` (D = √3); both have unit variance.
        seed : int
            Seed of the generator that draws ``u``, ``W0`` and ``V0``.
        """
        runs, n, k, d = (check_int(nm, v) for nm, v in
                         (("runs", runs), ("n", n), ("k", k), ("d", d)))
        check_choice("v_init", v_init, V_INITS)
        act = get_activation(activation)
        device = check_device(device)
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise ValueError(f"dtype must be a floating torch dtype (torch.float64, the default, or "
                             f"torch.float32), got {dtype!r}")
        check_memory(f"TwoLayerDIP.init(runs={runs}, n={n}, k={k}, d={d})", runs * (k * (n + d) + d),
                     torch.finfo(dtype).bits // 8, device, "runs * k * (n + d)")
        g = make_generator(seed, device)
        kw = dict(dtype=dtype, device=device, generator=g)
        u = torch.randn(runs, d, **kw)
        u = u / u.norm(dim=1, keepdim=True)
        W0 = torch.randn(runs, k, d, **kw)
        if v_init == "rademacher":
            V0 = torch.randint(0, 2, (runs, n, k), device=device, generator=g).to(dtype) * 2 - 1
        else:
            V0 = (torch.rand(runs, n, k, **kw) * 2 - 1) * math.sqrt(3.0)
        return cls(u, W0, V0, act, V_INITS[v_init])

    def __post_init__(self):
        for name in ("u", "W0", "V0"):
            check_finite(name, getattr(self, name))
        R, d = check_shape("u", self.u, (None, None)).shape
        check_shape("W0", self.W0, (R, None, d))
        check_shape("V0", self.V0, (R, None, self.W0.shape[1]))
        self.activation = get_activation(self.activation)

    def __repr__(self) -> str:
        return (f"TwoLayerDIP(runs={self.runs}, n={self.n}, k={self.k}, d={self.d}, "
                f"activation={self.activation.name!r}, D={self.D:g}, dtype={self.V0.dtype}, "
                f"device={self.V0.device})")

    # sizes ---------------------------------------------------------------
    @property
    def runs(self) -> int:
        return self.u.shape[0]

    @property
    def n(self) -> int:
        return self.V0.shape[1]

    @property
    def k(self) -> int:
        return self.V0.shape[2]

    @property
    def d(self) -> int:
        return self.u.shape[1]

    @property
    def u_norm2(self) -> torch.Tensor:
        """:math:`\\|u\\|^2` per run, shape (R,) (equal to 1 under A-6)."""
        return (self.u * self.u).sum(1)

    # state ---------------------------------------------------------------
    @property
    def h0(self) -> torch.Tensor:
        """:math:`h_0 = W_0 u`, shape (R, k); exactly N(0, I_k) when ``||u|| = 1``."""
        return torch.einsum("rkd,rd->rk", self.W0, self.u)

    def subset(self, idx) -> TwoLayerDIP:
        """The runs ``idx`` (an index, slice or list) as a network of their own."""
        idx = [idx] if isinstance(idx, int) else idx
        return TwoLayerDIP(self.u[idx], self.W0[idx], self.V0[idx], self.activation, self.D)

    def initial_state(self) -> State:
        return State(self.h0, self.V0.clone())

    def W(self, state: State) -> torch.Tensor:
        """Recover the hidden weights :math:`W = W_0 + (h - h_0) u^T/\\|u\\|^2`."""
        dh = (state.h - self.h0) / self.u_norm2[:, None]
        return self.W0 + dh[:, :, None] * self.u[:, None, :]

    def state_from_W(self, W: torch.Tensor, V: torch.Tensor) -> State:
        return State(torch.einsum("rkd,rd->rk", W, self.u), V)

    def param_distance(self, state: State, ref: State | None = None) -> torch.Tensor:
        """:math:`\\|\\theta - \\theta_{ref}\\|` (Frobenius over (V, W)), shape (R,).

        ``ref`` defaults to the initialisation :math:`\\theta_0`.
        """
        ref = self.initial_state() if ref is None else ref
        dV = ((state.V - ref.V) ** 2).sum((1, 2))
        dW = ((state.h - ref.h) ** 2).sum(1) / self.u_norm2
        return torch.sqrt(dV + dW)

    def forward(self, state: State | None = None) -> torch.Tensor:
        """:math:`x = g(u, \\theta)`, shape (R, n) (eq. 9)."""
        state = self.initial_state() if state is None else state
        return forward(state.h, state.V, self.activation)

    def gram(self, state: State | None = None, layers: str = "W") -> torch.Tensor:
        state = self.initial_state() if state is None else state
        return jacobian_gram(state.h, state.V, self.activation, layers, self.u_norm2)

    def sigma_min_jacobian(self, state: State | None = None, layers: str = "W") -> torch.Tensor:
        """:math:`\\sigma_{\\min}(J_g)` at ``state`` (default :math:`\\theta_0`), shape (R,)."""
        state = self.initial_state() if state is None else state
        return sigma_min_jacobian(state.h, state.V, self.activation, layers, self.u_norm2)


def max_column_norm(V: torch.Tensor) -> torch.Tensor:
    """:math:`M = \\max_j \\|v_j\\|` over the columns :math:`v_j` of V (R, n, k), shape (R,).

    The M of A-8 (:math:`M \\le D\\sqrt n`; :math:`M = \\sqrt n` for Rademacher :math:`V_0`)
    that enters the Lipschitz bound of :math:`\\mathcal J_g` and hence R of (5)
    (:func:`dipnb.jacobian_lipschitz`, :func:`dipnb.radius_R`) and the certified bounds on L
    (:func:`dipnb.certified_L`).
    """
    return V.norm(dim=1).max(dim=1).values


def forward(h: torch.Tensor, V: torch.Tensor, activation: Activation | str = "sigmoid") -> torch.Tensor:
    """:math:`g = V\\phi(h)/\\sqrt{k}` for ``h`` (R, k) and ``V`` (R, n, k); returns (R, n)."""
    act = get_activation(activation)
    k = V.shape[-1]
    return torch.einsum("rnk,rk->rn", V, act.phi(h)) / math.sqrt(k)


def jacobian_gram(h, V, activation="sigmoid", layers: str = "W", u_norm2=1.0) -> torch.Tensor:
    """The n×n Gram matrix :math:`J_g J_g^T` of the Jacobian of :math:`\\theta \\mapsto g(u,\\theta)`.

    .. math::
       J_W J_W^T = \\frac{\\|u\\|^2}{k} V \\mathrm{diag}(\\phi'(h)^2) V^T, \\qquad
       J_V J_V^T = \\frac{\\|\\phi(h)\\|^2}{k} I_n,

    and ``layers="both"`` adds the two. Shape (R, n, n).
    """
    check_layers(layers)
    act = get_activation(activation)
    R, n, k = V.shape
    u_norm2 = torch.as_tensor(u_norm2, dtype=V.dtype, device=V.device).reshape(-1, 1, 1)
    G = torch.zeros(R, n, n, dtype=V.dtype, device=V.device)
    if layers in ("W", "both"):
        Vd = V * act.dphi(h)[:, None, :]
        G = G + u_norm2 * (Vd @ Vd.transpose(1, 2)) / k
    if layers in ("V", "both"):
        s = (act.phi(h) ** 2).sum(1) / k
        G = G + s[:, None, None] * torch.eye(n, dtype=V.dtype, device=V.device)
    return G


def sigma_min_jacobian(h, V, activation="sigmoid", layers: str = "W", u_norm2=1.0) -> torch.Tensor:
    """:math:`\\sigma_{\\min}(J_g) = \\sqrt{\\lambda_{\\min}(J_g J_g^T)}`, shape (R,).

    This is the smallest singular value of the n×p Jacobian as a map onto
    :math:`R^n` (not the paper's "smallest non-zero" one, which would make
    :math:`\\sigma_{\\min}(J_g(0)) > 0` in (4) trivially true). Training ``W``
    alone, :math:`J_g` has rank at most ``k``, so ``k >= n`` is required.
    """
    check_layers(layers)
    n, k = V.shape[1], V.shape[2]
    if layers == "W" and k < n:
        raise ValueError(
            f"sigma_min(J_g) needs J_g to have rank n: training W only requires k >= n, "
            f"got k={k} < n={n}")
    G = jacobian_gram(h, V, activation, layers, u_norm2)
    return torch.linalg.eigvalsh(G)[:, 0].clamp(min=0).sqrt()


def gradients(h, V, r, activation="sigmoid", layers: str = "W"):
    """Gradients of :math:`\\ell(g)` in the state ``(h, V)`` given ``r`` = :math:`\\nabla_x \\ell`.

    With :math:`r = A^T\\nabla\\mathcal{L}_y(Ag)` (shape (R, n)):

    .. math::
       \\nabla_h = \\phi'(h) \\odot \\frac{V^T r}{\\sqrt k}, \\qquad
       \\nabla_V = \\frac{r\\,\\phi(h)^T}{\\sqrt k}, \\qquad
       \\nabla_W = \\nabla_h\\, u^T.

    Returns ``(grad_h, grad_V)``; the entry of an untrained layer is ``None``.
    """
    check_layers(layers)
    act = get_activation(activation)
    sk = math.sqrt(V.shape[-1])
    gh = gV = None
    if layers in ("W", "both"):
        gh = act.dphi(h) * torch.einsum("rnk,rn->rk", V, r) / sk
    if layers in ("V", "both"):
        gV = r[:, :, None] * act.phi(h)[:, None, :] / sk
    return gh, gV


def jacobian(u, W, V, activation="sigmoid", layers: str = "W") -> torch.Tensor:
    """The explicit Jacobian of :math:`\\theta \\mapsto g(u, \\theta)`, shape (R, n, p).

    Columns are ordered as :math:`\\theta = (\\mathrm{vec}\\,V, \\mathrm{vec}\\,W)`
    (row-major ``vec``), restricted to the trained layers. Meant for checks on
    small sizes: it has ``n(nk + kd)`` entries per run.
    """
    check_layers(layers)
    act = get_activation(activation)
    R, n, k = V.shape
    d = u.shape[1]
    h = torch.einsum("rkd,rd->rk", W, u)
    blocks = []
    if layers in ("V", "both"):
        # d g_i / d V_{ab} = delta_{ia} phi(h_b) / sqrt(k)
        eye = torch.eye(n, dtype=V.dtype, device=V.device)
        JV = eye[None, :, :, None] * act.phi(h)[:, None, None, :] / math.sqrt(k)
        blocks.append(JV.reshape(R, n, n * k))
    if layers in ("W", "both"):
        # d g_i / d W_{jl} = V_{ij} phi'(h_j) u_l / sqrt(k)
        JW = (V * act.dphi(h)[:, None, :])[:, :, :, None] * u[:, None, None, :] / math.sqrt(k)
        blocks.append(JW.reshape(R, n, k * d))
    return torch.cat(blocks, dim=2)


# --- reduced draws (h0 = W0 u, V0) for the sweeps ---------------------------------------

def draw_initial_state(runs: int, n: int, k: int, seed: int, device="cpu"):
    """``h0`` (runs, k) iid N(0, 1) and Rademacher ``V0`` (runs, n, k), in float64.

    This is the law of :meth:`dipnb.TwoLayerDIP.init` (``v_init="rademacher"``) for
    :math:`h_0 = W_0u`, whatever d (A-6, A-7), drawn without materialising ``W0`` and
    with the ±1 entries generated directly as floats (about 3x cheaper)."""
    check_memory(f"draw_initial_state(runs={runs}, n={n}, k={k})", runs * k * (n + 1), 8, check_device(device),
                 "runs * k * (n + 1)")
    g = make_generator(seed, device)
    h = torch.randn(runs, k, dtype=DEFAULT_DTYPE, device=device, generator=g)
    V = torch.randint(0, 2, (runs, n, k), dtype=DEFAULT_DTYPE, device=device, generator=g).mul_(2).sub_(1)
    return h, V


def draw_networks(runs: int, n: int, k: int, seed: int = 0, activation="sigmoid",
                  device="cpu") -> TwoLayerDIP:
    """``runs`` networks (9) of width ``k`` drawn by A-6..A-8 with Rademacher ``V0``, as ``d = 1`` networks.

    Under A-6 and A-7, :math:`h_0 = W_0u \\sim N(0, I_k)` whatever d, and training the hidden
    layer only depends on :math:`h = Wu` (see the module docstring): a network with d = 1,
    u = 1 and :math:`W_0 = h_0` has the same dynamics as any d. All ``runs`` networks are one
    draw of :func:`draw_initial_state`, seeded by ``network_seed(seed, n, k)``
    (``dipnb._random.network_seed`` with ``start = block = 0``).
    """
    runs, n, k = check_int("runs", runs), check_int("n", n), check_int("k", k)
    h, V = draw_initial_state(runs, n, k, network_seed(seed, n, k, 0, 0), device)
    u = torch.ones(runs, 1, dtype=h.dtype, device=h.device)
    return TwoLayerDIP(u, h[:, :, None], V, activation, V_INITS["rademacher"])
