"""Gradient descent (2): batching, statuses, records."""

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import offset_seed


def setup(runs=4, n=5, m=3, k=300, seed=0, act="sigmoid"):
    net = dipnb.TwoLayerDIP.init(runs, n, k, d=6, activation=act, seed=seed)
    A = dipnb.gaussian_operator(m, n, runs=runs, seed=offset_seed(seed, 1))
    return net, dipnb.Problem.make(A, noise_std=0.05, seed=offset_seed(seed, 2))


@pytest.mark.parametrize("layers", ["W", "V", "both"])
def test_batched_equals_one_by_one(layers):
    net, pb = setup()
    gamma = torch.tensor([0.5, 1.0, 1.5, 2.0])
    traj = dipnb.gradient_descent(net, pb, gamma, 200, layers=layers, tol=1e-8, record=10)
    for r in range(net.runs):
        one = dipnb.gradient_descent(net.subset(r), pb.subset(r), gamma[r].item(), 200,
                                     layers=layers, tol=1e-8, record=10)
        assert one.status[0] == traj.status[r]
        assert one.stop_step[0] == traj.stop_step[r]
        for key in ("loss", "error", "dist"):
            assert torch.allclose(getattr(one, key)[:, 0], getattr(traj, key)[:, r],
                                  rtol=1e-10, atol=1e-14), key
        assert torch.allclose(one.final.h[0], traj.final.h[r], atol=1e-12)


def test_loss_decreases_and_converges_in_float64():
    net, pb = setup(k=2000)
    pb = dipnb.Problem(pb.A, pb.x_bar, torch.zeros_like(pb.noise))
    traj = dipnb.gradient_descent(net, pb, 1.0, 20000, tol=1e-14)
    assert traj.status == ["converged"] * 4
    assert (traj.loss[-1] <= 1e-14).all()
    assert (traj.loss[1:] <= traj.loss[:-1] + 1e-15).all()   # descent property for a small step
    assert (traj.stop_step < 20000).all()


def test_stopped_runs_are_frozen_and_repeat_their_values():
    net, pb = setup(k=2000)
    pb = dipnb.Problem(pb.A, pb.x_bar, torch.zeros_like(pb.noise))
    traj = dipnb.gradient_descent(net, pb, 1.0, 6000, tol=1e-6, record=50)
    after = torch.as_tensor(traj.steps)[:, None] >= traj.stop_step[None, :]
    for r in range(4):
        vals = traj.loss[after[:, r], r]
        assert vals.numel() > 1 and (vals == vals[0]).all()
        assert vals[0] <= 1e-6


def test_statuses_nonfinite_stalled_max_steps():
    # the output layer alone is linear; with the cubic gradient of PowerLoss(4) and a
    # large step the loss overflows to inf within a few steps
    net, pb = setup(k=200)
    bad = dipnb.gradient_descent(net, pb, 10.0, 50, layers="V", loss=dipnb.PowerLoss(4), record=1)
    assert bad.status == ["nonfinite"] * 4 and (bad.stop_step < 50).all()
    assert torch.isinf(bad.loss[-1]).all()      # reported as such, not as a number
    # sigmoid with a huge step: bounded outputs, the loss stalls at a finite value
    net, pb = setup(k=200)
    st = dipnb.gradient_descent(net, pb, 1e4, 3000, stall_window=200)
    assert st.status == ["stalled"] * 4
    assert torch.isfinite(st.loss).all() and (st.loss[-1] > 1e-3).all()
    # too few steps
    few = dipnb.gradient_descent(net, pb, 0.5, 3)
    assert few.status == ["max_steps"] * 4 and (few.stop_step == 3).all()
    assert "max_steps" in few.summary() and set(few.counts()) == {"max_steps"}


def test_record_positions():
    net, pb = setup(runs=1)
    t = dipnb.gradient_descent(net, pb, 0.5, 100, tol=0, stall_window=None, record=[0, 7, 100])
    assert list(t.steps) == [0, 7, 100] and t.loss.shape == (3, 1)
    t = dipnb.gradient_descent(net, pb, 0.5, 100, tol=0, stall_window=None)
    assert t.steps[0] == 0 and t.steps[-1] == 100 and np.all(np.diff(t.steps) > 0)
    assert t.dist[0, 0] == 0


def test_reference_distance():
    net, pb = setup(runs=2)
    ref = net.initial_state()
    t = dipnb.gradient_descent(net, pb, 0.5, 30, reference=ref, record=5)
    assert torch.allclose(t.dist_ref, t.dist)


def test_log_steps():
    s = dipnb.core.descent.log_steps(10 ** 5)
    assert s[0] == 0 and s[-1] == 10 ** 5 and len(s) < 200 and np.all(np.diff(s) > 0)


def test_the_one_loop_with_a_toy_rule():
    """dipnb.core.iteration: the loop and its stop rule, apart from any network. Three runs of
    x <- a x with a = 0.5 (converges), 1 (stalls) and 1e200 (overflows)."""
    from dipnb.core.iteration import StopRule, iterate

    class Scale:
        def __init__(self, *a):
            self.a = torch.tensor(a, dtype=torch.float64)

        def observe(self, st):
            return {"loss": st["x"] ** 2}

        def step(self, st, obs, active):
            st["x"] = torch.where(active, self.a * st["x"], st["x"])

    seen = []
    st = {"x": torch.ones(3, dtype=torch.float64)}
    stop = StopRule(3, "cpu", torch.float64, tol=1e-6, stall_window=5)
    def record(tau, obs, active, stopping):
        seen.append(int(active.sum()))

    status, stop_step, last = iterate(Scale(0.5, 1.0, 1e200), st, 100, stop, record)
    assert list(status) == ["converged", "stalled", "nonfinite"]
    # 0.25^tau <= 1e-6 first at tau = 10; no decrease for 5 steps at tau = 5; (1e200)^2 overflows at tau = 1
    assert stop_step.tolist() == [10, 5, 1] and last == 10
    assert seen[:3] == [3, 3, 2] and seen[-1] == 1 and len(seen) == 11   # active when recorded
    st = {"x": torch.ones(1, dtype=torch.float64)}
    status, stop_step, last = iterate(Scale(0.5), st, 4, StopRule(1, "cpu", torch.float64), lambda *a: None)
    assert list(status) == ["max_steps"] and stop_step.tolist() == [4] and last == 4
