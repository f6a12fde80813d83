"""The gradient flow :math:`\\dot\\theta = -\\nabla_\\theta\\mathcal L_y(Ag(u,\\theta))`, of which
gradient descent (2) is the forward-Euler discretisation with time step γ, and the comparison
of the two at equal times :math:`t = \\gamma\\tau`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validation import check_choice, check_int, check_layers, check_positive, check_same_runs
from .descent import gradient_descent
from .losses import Loss, get_loss
from .network import State, TwoLayerDIP, forward, gradients
from .problems import Problem

__all__ = ["FlowTrajectory", "gradient_flow", "descent_states", "flow_descent_gap"]


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
    check_same_runs(net, problem)
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
