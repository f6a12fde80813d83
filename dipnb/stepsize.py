"""Step size: gradient descent (2) as a forward-Euler discretisation of the gradient flow.

Theorem III.1 of the paper asks :math:`\\gamma \\in ]0, 1/L]`, with ``L`` the Lipschitz
constant of :math:`\\nabla_\\theta\\mathcal L_y(Ag(u,\\cdot))` on a ball containing the
iterates, and pays for the discretisation through

.. math:: \\nu_1 = \\frac{1+\\gamma L}{1-\\gamma L/2}, \\qquad
          \\nu_2 = \\frac{(1+\\gamma L)^2}{\\gamma - \\gamma^2 L/2}.

This module holds the numerics of the book's chapter on the step size:

* :func:`nu_profile`: :math:`\\nu_1` and :math:`\\nu_2/L` as functions of
  :math:`\\gamma L`, and the minimiser of :math:`\\nu_2` found numerically;
* :func:`hessian_parts`: the Gauss--Newton and residual parts of the Hessian,
  exactly, for the hidden layer;
* :func:`lipschitz_sweep`: measured L against the estimate (10) as k, n, m vary;
* :func:`gradient_flow`: the flow :math:`\\dot\\theta = -\\nabla_\\theta\\mathcal L_y`
  integrated by an ODE solver on the reduced state ``(h, V)``;
* :func:`descent_states`, :func:`flow_descent_gap`: GD against GF at equal time
  :math:`t = \\gamma\\tau`;
* :func:`gamma_sweep`: what happens as γ grows past 1/L and past failure.

Everything is float64 (the dtype of the network), seeded and batched over runs.
The loss is the ½-MSE :math:`\\frac12\\|v-y\\|^2` summed over the m entries unless said.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_choice, check_int, check_layers, check_positive
from .descent import Problem, gradient_descent
from .losses import Loss, get_loss
from .network import State, TwoLayerDIP, forward, gradients
from .operators import gaussian_operator
from .theory import L_eq10, estimate_L, hessian_norm, nu1, nu2

__all__ = ["STEPSIZE_PRESETS", "nu_profile", "hessian_parts", "lipschitz_sweep", "FlowTrajectory",
           "gradient_flow", "descent_states", "flow_descent_gap", "project_paths", "gamma_sweep",
           "FAIL_STATUSES", "loglog_slope"]

#: Statuses of :func:`dipnb.gradient_descent` that count as a failed training.
FAIL_STATUSES = ("stalled", "nonfinite")

#: Sizes of the chapter's studies; ``quick`` runs in seconds on a laptop CPU.
STEPSIZE_PRESETS = {
    "quick": dict(
        lipschitz=dict(n=5, m=3, ks=[10, 30, 100, 300, 1000, 3000], ns=[2, 5, 10, 20, 40],
                       ms=[1, 3, 5, 10, 20], k_fixed=1000, runs=4, steps=500, points=5, iters=50),
        flow=dict(n=5, m=3, k=200, runs=3, t_max=60.0, gammas=[4.0, 2.0, 1.0, 0.5, 0.25, 0.125, 0.0625],
                  n_times=30),
        gamma=dict(n=5, m=3, ks=[100, 1000], log10_gammas=np.arange(0.0, 2.76, 0.25).round(2).tolist(),
                   runs=4, steps=3000),
    ),
    "paper": dict(
        lipschitz=dict(n=5, m=3, ks=[int(round(10 ** e)) for e in np.arange(1.0, 4.51, 0.5)],
                       ns=[2, 5, 10, 20, 40, 80], ms=[1, 3, 5, 10, 20, 40], k_fixed=10000, runs=20,
                       steps=10000, points=8, iters=100),
        flow=dict(n=5, m=3, k=1000, runs=10, t_max=200.0,
                  gammas=[2.0 ** -p for p in range(-1, 9)], n_times=50),
        gamma=dict(n=5, m=3, ks=[100, 1000, 10000], log10_gammas=np.arange(-0.5, 3.01, 0.1).round(2).tolist(),
                   runs=50, steps=100000),
    ),
}


def loglog_slope(x, y) -> float:
    """Least-squares slope of :math:`\\log y` against :math:`\\log x` (an exponent p in
    :math:`y \\propto x^p`). ``x`` and ``y`` must be positive, of equal length >= 2."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size or x.size < 2:
        raise ValueError(f"x and y must have the same length >= 2, got {x.size} and {y.size}")
    if not (np.all(x > 0) and np.all(y > 0) and np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite and > 0 for a log-log slope")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# --- nu1, nu2 -------------------------------------------------------------------------------

def nu_profile(gammaL=None, L: float = 1.0) -> dict:
    """:math:`\\nu_1` and :math:`\\nu_2` of Theorem III.1 on a grid of :math:`\\gamma L`.

    :math:`\\nu_1` depends on γ and L through :math:`\\gamma L` only, and
    :math:`\\nu_2 = L\\,f(\\gamma L)` with :math:`f(x) = (1+x)^2/(x - x^2/2)`; the
    minimiser of :math:`\\nu_2` over γ is found numerically (bounded Brent search on
    :math:`]0, 2/L[`), for comparison with the paper's claim :math:`\\gamma = 1/(2L)`,
    :math:`\\nu_2 = 6L`.

    Parameters
    ----------
    gammaL : array-like in ]0, 2[, optional
        Default: 400 points spread logarithmically in [1e-2, 1.99].
    L : float
        Lipschitz constant (> 0) used for :math:`\\nu_2` (ν1 does not depend on it).

    Returns
    -------
    dict with ``gammaL``, ``nu1``, ``nu2`` (arrays), ``L``, ``gamma_star`` (the
    numerical minimiser of ν2) and ``nu2_star`` (its minimum).
    """
    from scipy.optimize import minimize_scalar

    check_positive("L", L)
    x = np.geomspace(1e-2, 1.99, 400) if gammaL is None else np.asarray(gammaL, dtype=np.float64)
    if x.size == 0 or not np.all((x > 0) & (x < 2)):
        raise ValueError(f"gammaL must lie in ]0, 2[ (nu1, nu2 are undefined beyond), got "
                         f"[{x.min() if x.size else 'empty'}, {x.max() if x.size else ''}]")
    g = torch.as_tensor(x / L, dtype=torch.float64)
    opt = minimize_scalar(lambda gm: float(nu2(gm, L)), bounds=(1e-9 / L, (2 - 1e-9) / L),
                          method="bounded", options={"xatol": 1e-12 / L})
    return {"gammaL": x, "nu1": nu1(g, L).numpy(), "nu2": nu2(g, L).numpy(), "L": float(L),
            "gamma_star": float(opt.x), "nu2_star": float(opt.fun)}


# --- L: measured against the estimate (10) --------------------------------------------------

def hessian_parts(net: TwoLayerDIP, problem: Problem, state: State | None = None) -> dict:
    """The two parts of the Hessian of :math:`W \\mapsto \\frac12\\|Ag(u, W) - y\\|^2`, exactly.

    Training the hidden layer only, in the coordinates of :func:`dipnb.hessian_norm`
    (:math:`h = h_\\tau + \\|u\\|a`, same non-zero spectrum as the Hessian in W),

    .. math::
       H = \\underbrace{\\|u\\|^2 J_h^\\top A^\\top A J_h}_{\\text{Gauss--Newton}}
         + \\underbrace{\\|u\\|^2\\,\\mathrm{diag}\\big(\\phi''(h)\\odot V^\\top r\\big)/\\sqrt k}_{\\text{residual}},
       \\qquad J_h = V\\mathrm{diag}(\\phi'(h))/\\sqrt k,\\quad r = A^\\top(Ag - y).

    The Gauss--Newton norm is :math:`\\lambda_{\\max}(A\\,J_gJ_g^\\top A^\\top)`, which tends
    to :math:`\\|A\\|^2C_{\\phi'}^2` for wide networks (:math:`J_gJ_g^\\top \\to C_{\\phi'}^2 I`);
    the residual norm is :math:`\\|u\\|^2\\max_j|\\phi''(h_j)(V^\\top r)_j|/\\sqrt k`, at most
    :math:`B D\\sqrt{n/k}\\,\\|A\\|\\,\\|y - y_\\tau\\|`: the second term of (10).
    The top absolute eigenvalue of H lies between
    :math:`|\\text{GN} - \\text{res}|` and :math:`\\text{GN} + \\text{res}`.

    Returns
    -------
    dict of tensors (R,): ``gauss_newton``, ``residual``, ``A_norm2_Cdphi2``
    (:math:`\\|A\\|^2C_{\\phi'}^2`), ``residual_bound`` (:math:`BD\\sqrt{n/k}\\|A\\|\\|y-y_\\tau\\|`).
    """
    s = net.initial_state() if state is None else state
    act, k = net.activation, net.k
    M = problem.A.matrix()
    G = net.gram(s, layers="W")                                  # includes ||u||^2
    gn = torch.linalg.eigvalsh(M @ G @ M.transpose(1, 2))[:, -1]
    x = forward(s.h, s.V, act)
    res_v = problem.A.A(x) - problem.y
    r = problem.A.A_adjoint(res_v)
    diag = act.d2phi(s.h) * torch.einsum("rnk,rn->rk", s.V, r) / math.sqrt(k)
    residual = net.u_norm2 * diag.abs().amax(1)
    A_norm = problem.A.norm.expand(net.runs)
    return {"gauss_newton": gn, "residual": residual,
            "A_norm2_Cdphi2": A_norm ** 2 * act.C_dphi ** 2,
            "residual_bound": act.B * net.D * math.sqrt(net.n / k) * A_norm * res_v.norm(dim=1)}


def lipschitz_sweep(cells, runs: int = 4, steps: int = 2000, gamma_factor: float = 0.5,
                    activation="sigmoid", seed: int = 0, iters: int = 100, points: int = 8,
                    device="cpu") -> dict:
    """Measured L against the estimate (10), hidden layer W trained, ½-MSE, no noise.

    For each cell ``(n, m, k)``, ``runs`` problems with A and :math:`\\bar x` iid
    N(0, 1) (Section IV) and networks drawn by A-6..A-8 (V Rademacher). The seeds
    depend on ``seed`` and on ``(n, m)`` only, so cells that differ only by k share
    their A and :math:`\\bar x`. Measured:

    * ``L0``: :func:`dipnb.hessian_norm` at :math:`\\theta_0`;
    * ``L_traj``: :func:`dipnb.estimate_L`, the largest Hessian norm along gradient
      descent with :math:`\\gamma = ` ``gamma_factor`` / ``L0`` (the theorem's best
      :math:`1/(2L)` by default) for ``steps`` steps;
    * the parts of :func:`hessian_parts` at :math:`\\theta_0`;
    * the two terms of (10) with constant 1: ``eq10_first`` :math:`=\\|A\\|^2 n/k` and
      ``eq10_second`` :math:`=\\|A\\|\\,\\|y-y_0\\|\\sqrt{n/k}`.

    Parameters
    ----------
    cells : sequence of (n, m, k)
        Each with ``k >= 1``, ``n, m >= 1``.

    Returns
    -------
    dict of NumPy arrays: ``n``, ``m``, ``k`` (C,), and (C, runs) arrays ``L0``,
    ``L_traj``, ``gauss_newton``, ``residual``, ``residual_bound``, ``A_norm``, ``A_norm2_Cdphi2``,
    ``residual0`` (:math:`\\|y - y_0\\|`), ``eq10_first``, ``eq10_second``, ``eq10``.
    """
    runs, steps = check_int("runs", runs), check_int("steps", steps, low=0)
    check_positive("gamma_factor", gamma_factor)
    if gamma_factor >= 2:
        raise ValueError(f"gamma_factor (gamma * L0) must be in ]0, 2[ for the trajectory to stay "
                         f"stable, got {gamma_factor}")
    cells = [tuple(check_int(nm, v) for nm, v in zip(("n", "m", "k"), c)) for c in cells]
    if not cells:
        raise ValueError("cells must hold at least one (n, m, k)")
    keys = ("L0", "L_traj", "gauss_newton", "residual", "residual_bound", "A_norm", "A_norm2_Cdphi2",
            "residual0", "eq10_first", "eq10_second", "eq10")
    out = {key: [] for key in keys}
    for n, m, k in cells:
        base = seed * 1_000_003 + 7919 * n + 104_729 * m
        net = TwoLayerDIP.init(runs, n, k, activation=activation, seed=base + 1, device=device)
        A = gaussian_operator(m, n, runs=runs, seed=base + 2, device=device)
        pb = Problem.make(A, seed=base + 3)
        L0 = hessian_norm(net, pb, iters=iters)
        Lt = estimate_L(net, pb, gamma_factor / L0, steps, points=points, iters=iters)
        parts = hessian_parts(net, pb)
        res0 = (A.A(net.forward()) - pb.y).norm(dim=1)
        An = A.norm.expand(runs)
        first, second = An ** 2 * n / k, An * res0 * math.sqrt(n / k)
        vals = dict(L0=L0, L_traj=Lt, gauss_newton=parts["gauss_newton"], residual=parts["residual"],
                    residual_bound=parts["residual_bound"],
                    A_norm=An, A_norm2_Cdphi2=parts["A_norm2_Cdphi2"], residual0=res0,
                    eq10_first=first, eq10_second=second, eq10=L_eq10(An, res0, n, k))
        for key in keys:
            out[key].append(vals[key].detach().cpu().numpy())
    res = {key: np.stack(v) for key, v in out.items()}
    res.update(n=np.array([c[0] for c in cells]), m=np.array([c[1] for c in cells]),
               k=np.array([c[2] for c in cells]))
    return res


# --- gradient flow --------------------------------------------------------------------------

@dataclass
class FlowTrajectory:
    """What :func:`gradient_flow` records at the times ``times`` (mirrors :class:`dipnb.Trajectory`).

    Attributes
    ----------
    times : ndarray (T,)
        Times t; gradient descent with step γ is compared at :math:`t = \\gamma\\tau`.
    loss, error, dist : Tensor (T, R)
        :math:`\\mathcal L_y(y(t))`, :math:`\\|x(t) - \\bar x\\|`, :math:`\\|\\theta(t) - \\theta_0\\|`.
    h : Tensor (T, R, k)
        The hidden pre-activations :math:`h(t) = W(t)u` (the path of W).
    V : Tensor (T, R, n, k) or None
        The output layer, when it is trained.
    final : State
        The state at ``times[-1]``.
    layers : str
    nfev : int
        Right-hand-side evaluations of the solver (for the whole batch).
    message : str
        The solver's message.
    """

    times: np.ndarray
    loss: torch.Tensor
    error: torch.Tensor
    dist: torch.Tensor
    h: torch.Tensor
    V: torch.Tensor | None
    final: State
    layers: str
    nfev: int
    message: str

    def state(self, i: int) -> State:
        """The state at ``times[i]``."""
        return State(self.h[i], self.V[i] if self.V is not None else self.final.V)

    def __repr__(self):
        return (f"FlowTrajectory({self.loss.shape[1]} runs, t in [{self.times[0]:g}, {self.times[-1]:g}], "
                f"layers={self.layers}, {self.nfev} evaluations)")


def gradient_flow(net: TwoLayerDIP, problem: Problem, times, layers: str = "W", loss: Loss | str = "mse",
                  rtol: float = 1e-10, atol: float = 1e-12, method: str = "DOP853") -> FlowTrajectory:
    """Integrate the gradient flow :math:`\\dot\\theta(t) = -\\nabla_\\theta\\mathcal L_y(Ag(u, \\theta(t)))`.

    Gradient descent (2) is the forward-Euler discretisation of this ODE with time
    step γ: :math:`\\theta_\\tau \\approx \\theta(\\gamma\\tau)`. As for
    :func:`dipnb.gradient_descent`, the flow in W is the flow in :math:`h = Wu`
    (:math:`\\dot h = -\\|u\\|^2\\nabla_h`, :math:`\\dot V = -\\nabla_V`), so the state
    integrated is ``(h, V)``. All runs are integrated as one system by
    :func:`scipy.integrate.solve_ivp` (they are independent; its error control is per
    component, so batching changes nothing but the shared step).

    Parameters
    ----------
    net, problem : as for :func:`dipnb.gradient_descent` (same number of runs).
    times : array-like, increasing, >= 0
        Where to record; integration runs from 0 to ``times[-1]``.
    layers : {"W", "V", "both"}
    loss : Loss or str
    rtol, atol : float
        Solver tolerances (> 0); the defaults make the solver error negligible
        against the discretisation error of gradient descent at practical γ.
    method : {"DOP853", "RK45", "Radau", "LSODA", "BDF"}

    Returns
    -------
    FlowTrajectory
    """
    from scipy.integrate import solve_ivp

    check_layers(layers)
    check_choice("method", method, ("DOP853", "RK45", "Radau", "LSODA", "BDF"))
    check_positive("rtol", rtol)
    check_positive("atol", atol)
    loss = get_loss(loss)
    if problem.runs != net.runs:
        raise ValueError(f"problem has {problem.runs} runs but the network has {net.runs}; they must match")
    t = np.asarray(times, dtype=np.float64).ravel()
    if t.size == 0 or not np.all(np.isfinite(t)) or t[0] < 0 or np.any(np.diff(t) <= 0):
        raise ValueError("times must be a non-empty, strictly increasing array of finite values >= 0, "
                         f"got {t[:5].tolist()}{'...' if t.size > 5 else ''}")
    R, n, k = net.runs, net.n, net.k
    dtype, device = net.V0.dtype, net.V0.device
    act, un2 = net.activation, net.u_norm2
    s0 = net.initial_state()
    train_h, train_V = layers in ("W", "both"), layers in ("V", "both")
    y = problem.y

    def unpack(z):
        z = torch.as_tensor(z, dtype=dtype, device=device)
        h = z[:R * k].reshape(R, k) if train_h else s0.h
        V = z[R * k if train_h else 0:].reshape(R, n, k) if train_V else s0.V
        return h, V

    def rhs(_t, z):
        h, V = unpack(z)
        v = problem.A.A(forward(h, V, act))
        gh, gV = gradients(h, V, problem.A.A_adjoint(loss.grad(v, y)), act, layers)
        parts = ([(-un2[:, None] * gh).reshape(-1)] if train_h else []) + ([-gV.reshape(-1)] if train_V else [])
        return torch.cat(parts).cpu().numpy()

    z0 = torch.cat(([s0.h.reshape(-1)] if train_h else []) + ([s0.V.reshape(-1)] if train_V else []))
    sol = solve_ivp(rhs, (0.0, float(t[-1])), z0.cpu().numpy(), method=method, t_eval=t,
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"the ODE solver failed: {sol.message}")
    hs, Vs, lo, er, di = [], [], [], [], []
    for j in range(len(t)):
        h, V = unpack(sol.y[:, j])
        s = State(h, V)
        x = forward(h, V, act)
        lo.append(loss.value(problem.A.A(x), y))
        er.append((x - problem.x_bar).norm(dim=1))
        di.append(net.param_distance(s))
        hs.append(h)
        Vs.append(V)
    return FlowTrajectory(t, torch.stack(lo), torch.stack(er), torch.stack(di), torch.stack(hs),
                          torch.stack(Vs) if train_V else None, State(hs[-1].clone(), Vs[-1].clone()),
                          layers, int(sol.nfev), str(sol.message))


def descent_states(net: TwoLayerDIP, problem: Problem, gamma, steps, layers: str = "W",
                   loss: Loss | str = "mse") -> list:
    """The states :math:`\\theta_\\tau` of gradient descent (2) at the iterations ``steps``.

    Runs :func:`dipnb.gradient_descent` piece by piece (no stopping rule), so the
    iterates are exactly those of the book's gradient descent. Returns a list of
    :class:`dipnb.State`, one per entry of ``steps`` (increasing integers >= 0).
    """
    st = np.asarray(steps).ravel()
    if st.size == 0 or np.any(st < 0) or np.any(np.diff(st) <= 0) or not np.all(st == np.round(st)):
        raise ValueError(f"steps must be strictly increasing integers >= 0, got {st[:5].tolist()}")
    state, done, out = net.initial_state(), 0, []
    for tau in st.astype(int):
        if tau > done:
            traj = gradient_descent(net, problem, gamma, int(tau - done), layers, loss, tol=0.0,
                                    record=[0], state=state, stall_window=None, progress=False)
            state, done = traj.final, int(tau)
        out.append(state.clone())
    return out


def flow_descent_gap(net: TwoLayerDIP, problem: Problem, gammas, t_max: float, n_times: int = 30,
                     layers: str = "W", loss: Loss | str = "mse", rtol: float = 1e-10,
                     atol: float = 1e-12) -> dict:
    """Gradient descent with step γ against the gradient flow, at equal times :math:`t = \\gamma\\tau`.

    For each γ, gradient descent runs ``round(t_max/γ)`` steps and is compared with the
    flow at ``n_times`` + 1 times :math:`t_j = \\gamma\\tau_j`, :math:`\\tau_j` evenly spread in
    :math:`[0, t_{\\max}/\\gamma]` (rounded to integers; the flow is evaluated at the exact
    :math:`\\gamma\\tau_j`). Forward Euler is a first-order method: on a fixed time
    interval, the gap :math:`\\max_j\\|\\theta_{\\tau_j} - \\theta(\\gamma\\tau_j)\\|` should
    shrink like γ as :math:`\\gamma \\to 0`.

    Returns
    -------
    dict with ``gammas`` (G,), ``flow`` (a :class:`FlowTrajectory` on the union of all
    the times), and per γ lists ``times`` (arrays), ``loss_gd``, ``loss_gf`` (T_g, R),
    ``path_gd`` (T_g, R, k) (h along GD), plus ``gap_param`` (G, R), the largest
    :math:`\\|\\theta_{\\tau_j} - \\theta(\\gamma\\tau_j)\\|`, and ``gap_loss`` (G, R),
    the largest :math:`|\\mathcal L_y(y_{\\tau_j}) - \\mathcal L_y(y(\\gamma\\tau_j))| / \\mathcal L_y(y_0)`.
    """
    check_positive("t_max", t_max)
    n_times = check_int("n_times", n_times)
    g = np.asarray(gammas, dtype=np.float64).ravel()
    if g.size == 0:
        raise ValueError("gammas must hold at least one step size")
    check_positive("gammas", torch.as_tensor(g))
    loss = get_loss(loss)
    steps_per = []
    for gm in g:
        total = int(round(t_max / gm))
        if total < 1:
            raise ValueError(f"gamma = {gm:g} is larger than t_max = {t_max:g}: no step fits; "
                             f"accepted: gamma <= t_max")
        steps_per.append(np.unique(np.round(np.linspace(0, total, n_times + 1)).astype(int)))
    all_t = np.unique(np.concatenate([gm * st for gm, st in zip(g, steps_per)]))
    flow = gradient_flow(net, problem, all_t, layers, loss, rtol, atol)
    index = {float(tv): i for i, tv in enumerate(all_t)}
    loss0 = flow.loss[0]
    times, l_gd, l_gf, p_gd, gap_p, gap_l = [], [], [], [], [], []
    for gm, st in zip(g, steps_per):
        states = descent_states(net, problem, float(gm), st, layers, loss)
        idx = [index[float(tv)] for tv in gm * st]
        lg = torch.stack([loss.value(problem.A.A(forward(s.h, s.V, net.activation)), problem.y)
                          for s in states])
        lf = flow.loss[idx]
        dp = torch.stack([net.param_distance(s, flow.state(i)) for s, i in zip(states, idx)])
        times.append(gm * st)
        l_gd.append(lg)
        l_gf.append(lf)
        p_gd.append(torch.stack([s.h for s in states]))
        gap_p.append(dp.amax(0))
        gap_l.append(((lg - lf).abs() / loss0).amax(0))
    return {"gammas": g, "t_max": float(t_max), "flow": flow, "times": times, "loss_gd": l_gd,
            "loss_gf": l_gf, "path_gd": p_gd, "gap_param": torch.stack(gap_p),
            "gap_loss": torch.stack(gap_l)}


def project_paths(reference: torch.Tensor, *others: torch.Tensor, run: int = 0, dims: int = 2):
    """Coordinates of paths :math:`h(t) - h_0` in the top ``dims`` principal directions of ``reference``.

    ``reference`` and each of ``others`` have shape (T, R, k) (e.g. the flow's ``h`` and
    gradient descent's ``path_gd``); run ``run`` is projected. The directions are the
    leading right singular vectors of the reference path minus its start, so a 2-D
    picture of a k-dimensional path loses as little as possible of the flow.
    Returns a list of (T_i, dims) NumPy arrays, reference first, and the fraction of
    the reference path's squared length the directions capture.
    """
    run = check_int("run", run, low=0, high=reference.shape[1] - 1)
    dims = check_int("dims", dims, low=1)
    ref = reference[:, run] - reference[0, run]
    U, S, Vh = torch.linalg.svd(ref, full_matrices=False)
    P = Vh[:dims].T
    captured = float((S[:dims] ** 2).sum() / (S ** 2).sum()) if S.sum() > 0 else 1.0
    out = [(ref @ P).cpu().numpy()]
    for o in others:
        out.append(((o[:, run] - reference[0, run]) @ P).cpu().numpy())
    return out, captured


# --- step-size sweep ------------------------------------------------------------------------

def gamma_sweep(n: int, m: int, ks, gammas, runs: int = 4, steps: int = 4000, tol: float = 1e-14,
                activation="sigmoid", seed: int = 0, stall_window: int = 1000, iters: int = 100,
                device="cpu") -> dict:
    """Gradient descent (2) over a grid of step sizes, hidden layer W, ½-MSE, no noise.

    For each width k in ``ks`` the same ``runs`` problems (A and :math:`\\bar x` iid
    N(0, 1), seeds independent of k) are trained with every γ of ``gammas``, in a
    single batch of ``len(gammas) * runs`` runs, for at most ``steps`` steps.
    Statuses are those of :func:`dipnb.gradient_descent`: with the bounded sigmoid,
    a step that is too large makes the loss *stall* at a finite value rather than blow up.

    Also computed per run: ``L0`` (:func:`dipnb.hessian_norm` at θ0), the linearised
    critical step ``gamma_lin`` :math:`= 2/(C_{\\phi'}^2\\|A\\|^2)` (GD on the
    linearised model :math:`\\phi'(h)\\approx` its wide average is stable iff
    :math:`\\gamma\\,\\|A\\|^2C_{\\phi'}^2 < 2`), and ``L_final``, the Hessian norm
    where each run stopped (a converged run at large γ has found a flatter minimum).

    Returns
    -------
    dict with ``ks`` (K,), ``gammas`` (G,), ``loss`` (K, G, R) loss at the end,
    ``status`` (K, G, R) strings, ``L0``, ``gamma_lin`` (K, R), ``L_final``
    (K, G, R), ``loss0`` (K, R), ``first_fail`` (K, R): the smallest γ of the grid
    whose run failed (stalled or non-finite; ``inf`` if none), ``last_conv`` (K, R):
    the largest γ below ``first_fail`` that converged (``nan`` if none), ``revived``
    (K, R): whether the run converged again at some γ above its ``first_fail`` (near the
    threshold the outcome is not monotone in γ), ``frac_conv`` (K, G): the fraction of
    runs that converged, and ``threshold`` (K,): the first γ of the grid, above the
    first one where at least half the runs converge, at which fewer than half do
    (``inf`` if none): the failure threshold of the paper's Fig 2 discussion.
    """
    n, m, runs = check_int("n", n), check_int("m", m), check_int("runs", runs)
    steps = check_int("steps", steps)
    ks = [check_int("k", k) for k in ks]
    if not ks:
        raise ValueError("ks must hold at least one width")
    g = np.asarray(gammas, dtype=np.float64).ravel()
    if g.size == 0 or np.any(np.diff(g) <= 0):
        raise ValueError(f"gammas must be a non-empty increasing grid, got {g[:5].tolist()}")
    check_positive("gammas", torch.as_tensor(g))
    G = g.size
    base = seed * 1_000_003 + 7919 * n + 104_729 * m
    idx = [r for _ in range(G) for r in range(runs)]
    out = {key: [] for key in ("loss", "status", "L0", "gamma_lin", "L_final", "loss0")}
    for k in ks:
        net = TwoLayerDIP.init(runs, n, k, activation=activation, seed=base + 1 + 31 * k, device=device)
        A = gaussian_operator(m, n, runs=runs, seed=base + 2, device=device)
        pb = Problem.make(A, seed=base + 3)
        L0 = hessian_norm(net, pb, iters=iters)
        netG, pbG = net.subset(idx), pb.subset(idx)
        gam = torch.as_tensor(np.repeat(g, runs), dtype=net.V0.dtype, device=net.V0.device)
        tr = gradient_descent(netG, pbG, gam, steps, tol=tol, record=[0, steps],
                              stall_window=stall_window, progress=False)
        Lf = hessian_norm(netG, pbG, tr.final, iters=iters)
        out["loss"].append(tr.loss[-1].reshape(G, runs).cpu().numpy())
        out["status"].append(np.array(tr.status, dtype=object).reshape(G, runs))
        out["L0"].append(L0.cpu().numpy())
        out["gamma_lin"].append((2 / (net.activation.C_dphi ** 2 * A.norm ** 2)).expand(runs).cpu().numpy())
        out["L_final"].append(Lf.reshape(G, runs).cpu().numpy())
        out["loss0"].append(tr.loss[0, :runs].cpu().numpy())
    res = {key: np.stack(v) for key, v in out.items()}
    fail = np.isin(res["status"], FAIL_STATUSES)
    conv = res["status"] == "converged"
    K = len(ks)
    first_fail = np.full((K, runs), np.inf)
    last_conv = np.full((K, runs), np.nan)
    for a in range(K):
        for r in range(runs):
            bad = np.flatnonzero(fail[a, :, r])
            if bad.size:
                first_fail[a, r] = g[bad[0]]
            below = np.flatnonzero(conv[a, :, r] & (g < first_fail[a, r]))
            if below.size:
                last_conv[a, r] = g[below[-1]]
    frac = conv.mean(2)                                       # (K, G) fraction converged
    threshold = np.full(K, np.inf)
    for a in range(K):
        ok = np.flatnonzero(frac[a] >= 0.5)
        if ok.size:
            bad = np.flatnonzero((frac[a] < 0.5) & (np.arange(G) > ok[0]))
            if bad.size:
                threshold[a] = g[bad[0]]
    revived = np.array([[bool(np.any(conv[a, :, r] & (g > first_fail[a, r]))) for r in range(runs)]
                        for a in range(K)])
    res.update(ks=np.array(ks), gammas=g, first_fail=first_fail, last_conv=last_conv, n=n, m=m,
               frac_conv=frac, threshold=threshold, revived=revived,
               steps=steps, tol=tol, C_dphi=TwoLayerDIP.init(1, 1, 1, activation=activation).activation.C_dphi)
    return res
