"""Gradient descent (eq. 2) on the two-layer DIP network, batched over runs.

.. math:: \\theta_{\\tau+1} = \\theta_\\tau - \\gamma\\,\\nabla_\\theta
          \\mathcal{L}_y(A g(u, \\theta_\\tau))

runs on the reduced state ``(h, V)`` (see :mod:`dipnb.core.network`), for the
hidden layer ``W``, the output layer ``V`` or both. Each run stops on its own
once its loss reaches ``tol``; runs whose loss stops decreasing (*stalled*)
or becomes NaN/inf (*nonfinite*) are frozen and reported as such, never
returned silently as if they had converged.

Every iteration of the library's own training goes through one loop, :func:`iterate`, kept
apart from what it iterates (an update *rule*: :class:`GradientStep` for (2), the in-place
rank-one step of :func:`train_image`, Landweber's iteration in :mod:`dipnb.theory.linear`),
from when a run stops (:class:`StopRule`: one status vocabulary, :data:`~dipnb.core.iteration.RUN_STATUSES`) and
from what is recorded (a callback), in the way deepinv keeps its iterators apart from its
fixed-point loop. A new stopping rule or recorded quantity is written once.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, fields

import numpy as np
import torch

from .._progress import progress_bar
from .._validation import check_compatible, check_int, check_layers, check_positive, check_same_runs, check_step_shape
from .iteration import RUN_STATUSES, StopRule, iterate
from .losses import Loss, get_loss
from .network import State, TwoLayerDIP, forward, gradients
from .problems import Problem

__all__ = ["Trajectory", "gradient_descent", "log_steps", "RUN_STATUSES", "ImageRun", "train_image",
           "CheckpointInterrupt", "StopRule", "iterate", "GradientStep"]

class GradientStep:
    """The update rule of gradient descent (2) on the reduced state (h, V), batched over runs:
    ``observe`` computes :math:`x_\\tau = g(u, \\theta_\\tau)`, :math:`v = Ax_\\tau` and the loss;
    ``step`` moves the active runs by :math:`-\\gamma\\nabla` on the trained ``layers``."""

    def __init__(self, net: TwoLayerDIP, problem: Problem, gamma: torch.Tensor, layers: str, loss: Loss):
        self.net, self.problem, self.gamma, self.loss = net, problem, gamma, loss
        self.train_h, self.train_V = layers in ("W", "both"), layers in ("V", "both")
        self.layers = layers

    def observe(self, s: State) -> dict:
        x = forward(s.h, s.V, self.net.activation)
        v = self.problem.A.A(x)
        return {"x": x, "v": v, "loss": self.loss.value(v, self.problem.y)}

    def step(self, s: State, obs: dict, active: torch.Tensor) -> None:
        r = self.problem.A.A_adjoint(self.loss.grad(obs["v"], self.problem.y))
        gh, gV = gradients(s.h, s.V, r, self.net.activation, self.layers)
        step = torch.where(active, self.gamma, torch.zeros_like(self.gamma))
        if self.train_h:
            s.h = s.h - (step * self.net.u_norm2)[:, None] * gh
        if self.train_V:
            s.V = s.V - step[:, None, None] * gV




def log_steps(steps: int, per_decade: int = 20) -> np.ndarray:
    """Iterations 0, 1, ..., ``steps`` spaced logarithmically (always including both ends)."""
    steps = check_int("steps", steps, low=0)
    if steps == 0:
        return np.array([0])
    pts = np.unique(np.round(np.logspace(0, math.log10(steps), per_decade * max(1, int(math.log10(steps)) + 1))))
    return np.unique(np.concatenate([[0], pts.astype(int), [steps]]))


@dataclass
class Trajectory:
    """What :func:`gradient_descent` records, at the iterations ``steps``.

    Attributes
    ----------
    steps : ndarray, shape (T,)
        Recorded iterations τ (the state *before* step τ+1).
    loss, error, dist : Tensor, shape (T, R)
        :math:`\\mathcal L_y(y_\\tau)`, :math:`\\|x_\\tau - \\bar x\\|` and
        :math:`\\|\\theta_\\tau - \\theta_0\\|`. A stopped run repeats its last values.
    status : list of str
        One of :data:`~dipnb.core.iteration.RUN_STATUSES` per run.
    stop_step : Tensor, shape (R,)
        Iteration at which each run stopped (``steps[-1]`` if it never did).
    final : State
        The state of each run where it stopped.
    gamma : Tensor, shape (R,)
    layers : str
    max_steps : int
        The step budget the run was given.
    dist_ref : Tensor, shape (T, R) or None
        :math:`\\|\\theta_\\tau - \\theta_{ref}\\|` when a ``reference`` state was given
        (e.g. :math:`\\theta_\\infty` for bound (7)).
    """

    steps: np.ndarray
    loss: torch.Tensor
    error: torch.Tensor
    dist: torch.Tensor
    status: list
    stop_step: torch.Tensor
    final: State
    gamma: torch.Tensor
    layers: str
    max_steps: int
    dist_ref: torch.Tensor | None = None

    @property
    def converged(self) -> torch.Tensor:
        """Boolean mask (R,) of the runs whose loss reached the tolerance."""
        return torch.tensor([s == "converged" for s in self.status])

    def counts(self) -> dict:
        return {s: self.status.count(s) for s in RUN_STATUSES if s in self.status}

    def summary(self) -> str:
        c = ", ".join(f"{v} {k}" for k, v in self.counts().items())
        return f"{len(self.status)} runs, {self.max_steps} steps max, layers={self.layers}: {c}"

    def __repr__(self):
        return f"Trajectory({self.summary()})"


def _progress_default(steps: int) -> bool:
    """Progress bars by default only in a terminal, for long runs: in notebooks and in
    the book build a bar is a widget that needs extra scripts and clutters the page."""
    env = os.environ.get("DIPNB_PROGRESS")
    if env is not None:
        return env not in ("0", "", "false", "False")
    return steps >= 20000 and sys.stderr is not None and sys.stderr.isatty()


def gradient_descent(net: TwoLayerDIP, problem: Problem, gamma, steps: int, layers: str = "W",
                     loss: Loss | str = "mse", tol: float = 1e-14, record=None,
                     state: State | None = None, reference: State | None = None, stall_window: int | None = 1000,
                     stall_rtol: float = 1e-6, progress: bool | None = None) -> Trajectory:
    """Run gradient descent (2) from ``state`` (default :math:`\\theta_0`) for at most ``steps`` steps.

    Parameters
    ----------
    net : TwoLayerDIP
    problem : Problem
        Must have as many runs as ``net``.
    gamma : float or Tensor of shape (R,)
        Step size :math:`\\gamma > 0`; one per run allows a γ-sweep in one batch.
    steps : int
        Maximal number of steps (>= 0).
    layers : {"W", "V", "both"}
        Trained layers: hidden only (as in Fig 1 and 2), output only, or both.
    loss : Loss or str
        Default ``"mse"``, i.e. :math:`\\frac12\\|v - y\\|^2`.
    tol : float
        A run stops (status ``converged``) once its loss is ``<= tol`` (>= 0).
    record : None, int or sequence of int
        Iterations at which to record: ``None`` for :func:`log_steps`, an int ``e``
        for every ``e``-th iteration, or an explicit list.
    state : State, optional
        Where to start (default :math:`\\theta_0`); distances are still measured from θ0.
    reference : State, optional
        Also record :math:`\\|\\theta_\\tau - \\theta_{ref}\\|` as ``dist_ref``.
    stall_window, stall_rtol
        A run is ``stalled`` when its best loss has not decreased by a relative
        ``stall_rtol`` for ``stall_window`` steps; ``None`` disables the check.
    progress : bool or None
        tqdm progress bar; ``None``: shown for ``steps >= 20000`` in a terminal,
        or as the environment variable ``DIPNB_PROGRESS`` (0 or 1) says.
    """
    check_layers(layers)
    steps = check_int("steps", steps, low=0)
    check_positive("tol", tol, allow_zero=True)
    loss = get_loss(loss)
    R = net.runs
    check_same_runs(net, problem)
    if problem.A.n != net.n:
        raise ValueError(f"operator acts on R^{problem.A.n} but the network outputs R^{net.n}")
    check_positive("gamma", gamma)
    check_compatible(net, problem)
    dtype, device = net.V0.dtype, net.V0.device
    gamma = torch.as_tensor(check_step_shape("gamma", gamma, R), dtype=dtype, device=device).expand(R).clone()
    if stall_window is not None:
        stall_window = check_int("stall_window", stall_window)

    if record is None:
        rec = log_steps(steps)
    elif isinstance(record, (int, np.integer)):
        rec = np.unique(np.r_[np.arange(0, steps + 1, check_int("record", record)), steps])
    else:
        rec = np.unique(np.asarray(record, dtype=int))
        if rec.size and (rec.min() < 0 or rec.max() > steps):
            raise ValueError(f"record iterations must lie in [0, {steps}], got [{rec.min()}, {rec.max()}]")
    rec_index = {int(t): i for i, t in enumerate(rec)}

    s = (net.initial_state() if state is None else state).clone()
    theta0 = State(net.h0, net.V0)
    x_bar = problem.x_bar

    T = len(rec)
    keys = ("loss", "error", "dist") + (("dist_ref",) if reference is not None else ())
    out = {k: torch.full((T, R), math.nan, dtype=dtype, device=device) for k in keys}
    last = {}

    if progress is None:
        progress = _progress_default(steps)
    from tqdm.auto import tqdm
    bar = tqdm(total=steps, disable=not progress, desc=f"GD ({R} runs)", leave=False)

    def record(tau, obs, active, stopping):
        if tau in rec_index or stopping is not None:
            now = {"loss": obs["loss"], "error": (obs["x"] - x_bar).norm(dim=1), "dist": net.param_distance(s, theta0)}
            if reference is not None:
                now["dist_ref"] = net.param_distance(s, reference)
        if tau in rec_index:
            i = rec_index[tau]
            for key in out:
                out[key][i] = now[key]
            # stopped runs repeat the values they had when they stopped
            if "loss" in last:
                for key in out:
                    out[key][i] = torch.where(active, out[key][i], last[key])
        if stopping is not None:
            for key in out:
                prev = last.get(key, torch.full_like(obs["loss"], math.nan))
                last[key] = torch.where(stopping, now[key], prev)
        if tau > 0:
            bar.update(1)

    rule = GradientStep(net, problem, gamma, layers, loss)
    stop = StopRule(R, device, dtype, tol=tol, stall_window=stall_window, stall_rtol=stall_rtol)
    status, stop_step, tau = iterate(rule, s, steps, stop, record)
    bar.close()

    # iterations recorded after every run stopped repeat the stopped values
    last_tau = tau
    for t, i in rec_index.items():
        if t > last_tau:
            for key in out:
                out[key][i] = last[key]
    return Trajectory(rec, out["loss"], out["error"], out["dist"], list(status), stop_step, s,
                      gamma, layers, steps, out.get("dist_ref"))


# --- one large run of both layers (the images of Fig 3 and 4) -------------------------------

@dataclass
class ImageRun:
    """What :func:`train_image` records (one run, every step τ = 0..steps).

    Attributes
    ----------
    loss, error, residual, psnr : ndarray, shape (steps + 1,)
        :math:`\\frac12\\|Ax_\\tau - y\\|^2`, :math:`\\|x_\\tau - \\bar x\\|`, :math:`\\|Ax_\\tau - y\\|`
        and PSNR of :math:`x_\\tau` against :math:`\\bar x`.
    snap_steps : ndarray (S,), snapshots : ndarray (S, n) float32
        :math:`x_\\tau` at the requested iterations.
    best_step, best_x : the iterate of smallest error (the oracle stopping time).
    dp_step, dp_x : the iterate where :func:`dipnb.analysis.discrepancy_stop` stops (-1 / NaN if never).
    x_final : ndarray (n,), the last iterate.
    seconds_per_step : float
    status : str
        How the run ended, one of :data:`~dipnb.core.iteration.RUN_STATUSES`: ``"max_steps"`` (it ran every step), or
        ``"nonfinite"`` (its loss or error became NaN or infinite at ``stop_step``; the curves are
        NaN from there on), as :func:`gradient_descent` reports a run.
    stop_step : int
        The step at which it stopped (``steps`` when it ran them all).
    state : State or None
        The final parameters (h, V) when :func:`train_image` was asked for them (``return_state``);
        not saved by :meth:`arrays`.
    """

    loss: np.ndarray
    error: np.ndarray
    residual: np.ndarray
    psnr: np.ndarray
    snap_steps: np.ndarray
    snapshots: np.ndarray
    best_step: int
    best_x: np.ndarray
    dp_step: int
    dp_x: np.ndarray
    x_final: np.ndarray
    seconds_per_step: float
    status: str = "max_steps"
    stop_step: int = -1
    state: State | None = None

    def arrays(self, prefix: str = "") -> dict:
        """The recorded arrays and numbers by name (with ``prefix``), to be saved: every field but
        ``state``, ``status`` and ``stop_step`` (a saved run ran every step)."""
        skip = ("state", "status", "stop_step")
        return {prefix + f.name: np.asarray(getattr(self, f.name)) for f in fields(self) if f.name not in skip}


class CheckpointInterrupt(KeyboardInterrupt):
    """Ctrl-C during :func:`train_image` with a ``checkpoint``: the state before step ``step``
    of ``steps`` is saved in ``path``, and the same call resumes from there."""

    def __init__(self, step: int, steps: int, path):
        self.step, self.steps, self.path = step, steps, path
        super().__init__(f"image run interrupted at step {step} of {steps}; its checkpoint is saved in {path}, "
                         f"and the same call resumes from step {step}")


class _DeferredInterrupt:
    """Within ``with``: a first Ctrl-C (SIGINT) only sets :attr:`hit`, which the loop reads
    between two steps (a step half done leaves V updated and h not); a second one interrupts
    at once. Outside the main thread nothing is deferred."""

    def __enter__(self):
        import signal
        import threading

        self.hit, self._old = False, None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.getsignal(signal.SIGINT)

            def handler(signum, frame):
                if self.hit:
                    raise KeyboardInterrupt
                self.hit = True

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def _load_checkpoint(path, gamma: float, net: TwoLayerDIP, problem: Problem, steps: int):
    """``(checkpoint, beyond)``: the checkpoint at ``path`` if there is one at a step <= ``steps``
    (else None), and whether there is one beyond ``steps``; an error if it belongs to another
    run (γ, θ0 or y differ)."""
    from pathlib import Path

    if path is None or not Path(path).is_file():
        return None, False
    ck = torch.load(path, map_location=net.V0.device, weights_only=False)
    # the same step up to round-off (a refactor of the step rule may move its last bits)
    same = (abs(float(ck.get("gamma", math.nan)) - gamma) <= 1e-9 * gamma and tuple(ck["V"].shape) == tuple(net.V0.shape)
            and bool(torch.equal(ck["h0"], net.h0)) and bool(torch.equal(ck["V00"], net.V0[:, :, :8]))
            and bool(torch.equal(ck["y"], problem.y)))
    if not same:
        raise ValueError(f"the checkpoint {path} was written by another run (gamma, network or data "
                         f"differ); accepted: this run's checkpoint, or none (delete the file to start afresh)")
    return (ck, False) if int(ck["tau"]) <= steps else (None, True)


def _save_checkpoint(path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (never a half-written checkpoint)."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


class _RankOneStep:
    """The update rule of :func:`train_image`: gradient descent (2) on both layers of one network,
    ½-MSE, with V updated in place by a rank-one step (:math:`\\nabla_V = r\\phi(h)^T/\\sqrt k`), so
    that a step reads V three times and allocates nothing of size nk."""

    def __init__(self, net: TwoLayerDIP, problem: Problem, gamma: float):
        self.act, self.A, self.y, self.x_bar = net.activation, problem.A, problem.y, problem.x_bar
        self.sk, self.un2, self.gamma = math.sqrt(net.k), float(net.u_norm2[0]), gamma

    def observe(self, st: State) -> dict:
        phi = self.act.phi(st.h)
        x = torch.einsum("rnk,rk->rn", st.V, phi) / self.sk
        res = self.A.A(x) - self.y
        rn, err = res.norm().item(), (x - self.x_bar).norm().item()
        # the loss the stop rule reads: NaN where the residual or the error is not finite
        f = 0.5 * rn ** 2 if math.isfinite(rn) and math.isfinite(err) else math.nan
        return {"phi": phi, "x": x, "res": res, "residual": rn, "error": err,
                "loss": torch.tensor([f], dtype=res.dtype, device=res.device)}

    def step(self, st: State, obs: dict, active) -> None:
        r = self.A.A_adjoint(obs["res"])                              # A^T grad L(Ax), shape (1, n)
        gh = self.act.dphi(st.h) * torch.einsum("rnk,rn->rk", st.V, r) / self.sk
        st.V[0].addr_(r[0], obs["phi"][0], alpha=-self.gamma / self.sk)   # V <- V - gamma r phi^T / sqrt(k)
        st.h = st.h - (self.gamma * self.un2) * gh


def train_image(net: TwoLayerDIP, problem: Problem, gamma: float, steps: int, snapshots=(),
                dp_threshold: float | None = None, progress: bool = False,
                return_state: bool = False, checkpoint=None, checkpoint_every: float = 300.0) -> ImageRun:
    """Gradient descent (2) on both layers of one network (9), ½-MSE loss, for ``steps`` steps.

    Same iterates as ``dipnb.gradient_descent(net, problem, gamma, steps, layers="both",
    tol=0, stall_window=None)``, computed with an in-place rank-one update of V
    (:math:`\\nabla_V = r\\phi(h)^T/\\sqrt k`) so that a step reads V three times and
    allocates nothing of size nk. Records the curves at every step.

    Parameters
    ----------
    net, problem : one run each (``runs == 1``).
    gamma : float, the step size.
    snapshots : iterable of int, iterations at which to keep :math:`x_\\tau` (float32).
    dp_threshold : float or None
        If given, keep the first iterate with :math:`\\|Ax_\\tau - y\\| \\le` ``dp_threshold``
        (:func:`dipnb.analysis.discrepancy_stop` with the threshold :math:`\\tau_{dp}\\sqrt m\\,\\sigma`).
    return_state : bool
        Also return the final :class:`dipnb.State` as ``.state`` (not saved by :meth:`ImageRun.arrays`).
    checkpoint : path or None
        A file where the run saves its state (h, V) and everything recorded so far, every
        ``checkpoint_every`` seconds of wall time and on Ctrl-C, which then raises
        :class:`CheckpointInterrupt` (a ``KeyboardInterrupt``) saying where and at which step.
        A call that finds the checkpoint of the same run (same θ0 and y, the same γ up to a
        relative 1e-9) at a step <= ``steps`` continues from it: an interrupted run resumes, and a
        finished one can be continued later to more steps, with the same iterates as one
        uninterrupted call (to round-off, where γ moved in its last bits).
        A checkpoint beyond ``steps`` is neither used nor overwritten.
    """
    if net.runs != 1 or problem.runs != 1:
        raise ValueError(f"train_image trains one run; got {net.runs} networks and {problem.runs} problems")
    if problem.A.n != net.n:
        raise ValueError(f"operator acts on R^{problem.A.n} but the network outputs R^{net.n}")
    steps = check_int("steps", steps, low=0)
    check_positive("gamma", gamma)
    check_positive("checkpoint_every", checkpoint_every)
    snaps = sorted({check_int("snapshot", int(t), low=0, high=steps) for t in snapshots})
    y = problem.y
    curves = {key: np.empty(steps + 1) for key in ("loss", "error", "residual")}
    kept, best, best_step, best_x, dp_step, dp_x = {}, math.inf, -1, None, -1, None
    start, spent = 0, 0.0
    ck, beyond = _load_checkpoint(checkpoint, gamma, net, problem, steps)
    if beyond:                          # a longer run of the same problem: leave its checkpoint alone
        checkpoint = None
    if ck is not None:                  # the same run, continued from where it was saved
        start, spent = int(ck["tau"]), float(ck["seconds"])
        h, V = ck["h"], ck["V"]
        for key in curves:
            curves[key][:start] = ck[key][:start]
        kept = {t: ck["kept"].get(t, np.full(net.n, np.nan, dtype=np.float32)) for t in snaps if t < start}
        best, best_step, best_x = ck["best"], ck["best_step"], ck["best_x"]
        dp_step, dp_x = ck["dp_step"], ck["dp_x"]
        del ck
    else:
        h = net.h0.clone()
        V = net.V0.clone()
    bar = progress_bar(steps + 1, "GD (image)", enabled=progress, unit="step", leave=False)
    bar.update(start)
    t0 = time.perf_counter()
    last_save = t0
    st = State(h, V)
    rule = _RankOneStep(net, problem, gamma)
    last = {}

    def save(tau):                      # the state before step tau's forward pass
        _save_checkpoint(checkpoint, dict(
            tau=tau, gamma=gamma, h0=net.h0, V00=net.V0[:, :, :8].clone(), y=y, h=st.h, V=st.V,
            seconds=spent + time.perf_counter() - t0, kept=kept, best=best, best_step=best_step,
            best_x=best_x, dp_step=dp_step, dp_x=dp_x, **{key: c[:tau].copy() for key, c in curves.items()}))

    def before(tau):                    # a checkpoint every checkpoint_every seconds, and on Ctrl-C
        nonlocal last_save
        bar.update(1)
        if checkpoint is not None and tau > start and (interrupt.hit or time.perf_counter() - last_save >= checkpoint_every):
            save(tau)
            last_save = time.perf_counter()
        if interrupt.hit:
            if checkpoint is not None:
                raise CheckpointInterrupt(tau, steps, checkpoint)
            raise KeyboardInterrupt

    def record(tau, obs, active, stopping):
        nonlocal best, best_step, best_x, dp_step, dp_x
        last["x"] = obs["x"]
        rn, err = obs["residual"], obs["error"]
        curves["loss"][tau], curves["error"][tau], curves["residual"][tau] = 0.5 * rn ** 2, err, rn
        if stopping is not None:        # non-finite: the curves stay NaN from here
            for key in curves:
                curves[key][tau:] = math.nan
            return
        x = obs["x"]
        if tau in snaps:
            kept[tau] = x[0].cpu().numpy().astype(np.float32)
        if err < best:
            best, best_step, best_x = err, tau, x[0].cpu().numpy().copy()
        if dp_threshold is not None and dp_step < 0 and rn <= dp_threshold:
            dp_step, dp_x = tau, x[0].cpu().numpy().copy()

    with _DeferredInterrupt() as interrupt:
        status, stop_step, tau = iterate(rule, st, steps, StopRule(1, y.device, y.dtype), record, start=start,
                                         before=before)
    status, stop_step, h, V, x = status[0], int(stop_step[0]), st.h, st.V, last["x"]
    bar.close()
    if checkpoint is not None and steps > start and status != "nonfinite":
        save(steps)                     # the end of this call: a later call may continue from here
    sps = (spent + time.perf_counter() - t0) / max(steps, 1)
    n = net.n
    mse = np.maximum(curves["error"], 1e-300) ** 2 / n          # PSNR from the error: MSE = ||x - x_bar||^2 / n
    out = ImageRun(curves["loss"], curves["error"], curves["residual"], 10 * np.log10(255.0 ** 2 / mse),
                   np.array(snaps, dtype=int), np.array([kept.get(t, np.full(n, np.nan, dtype=np.float32)) for t in snaps],
                            dtype=np.float32).reshape(-1, n),
                   int(best_step), best_x, int(dp_step),
                   dp_x if dp_x is not None else np.full(n, np.nan), x[0].cpu().numpy(), sps,
                   status=status, stop_step=stop_step, state=State(h, V) if return_state else None)
    return out
