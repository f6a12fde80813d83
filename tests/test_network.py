"""The network (9): initialisation, closed-form Jacobians and gradients, the h-reduction."""
import math

import pytest
import torch

import dipnb
from dipnb._random import offset_seed
from dipnb.core.network import forward, gradients, jacobian, jacobian_gram

ACTS = ["sigmoid", "tanh", "softplus"]


def small_problem(runs=3, n=4, k=7, d=5, m=3, act="sigmoid", v_init="rademacher", seed=0):
    net = dipnb.TwoLayerDIP.init(runs, n, k, d, activation=act, v_init=v_init, seed=seed)
    A = dipnb.gaussian_operator(m, n, runs=runs, seed=offset_seed(seed, 1))
    pb = dipnb.Problem.make(A, noise_std=0.1, seed=offset_seed(seed, 2))
    return net, pb


def autograd_loss(u, W, V, act, A, y):
    """Reference: the network and the loss written with plain torch ops, differentiated by autograd."""
    k = V.shape[-1]
    x = (V @ act.phi(W @ u[:, :, None])).squeeze(-1) / math.sqrt(k)
    v = (A @ x[:, :, None]).squeeze(-1)
    return 0.5 * ((v - y) ** 2).sum()


def test_init_satisfies_A6_A8():
    for v_init, D in (("rademacher", 1.0), ("uniform", math.sqrt(3))):
        net = dipnb.TwoLayerDIP.init(runs=4, n=6, k=3000, d=9, v_init=v_init, seed=3)
        assert torch.allclose(net.u.norm(dim=1), torch.ones(4))
        assert net.V0.abs().max() <= D + 1e-12 and net.D == D
        # centred, unit variance entries: sample checks at 5 standard errors
        N = net.V0.numel()
        assert abs(net.V0.mean()) < 5 / math.sqrt(N)
        assert abs((net.V0 ** 2).mean() - 1) < 5 * math.sqrt(2 / N) * D
        # h0 = W0 u is N(0, I): mean 0, variance 1
        h0 = net.h0
        assert abs(h0.mean()) < 5 / math.sqrt(h0.numel())
        assert abs(h0.var() - 1) < 0.05
    rad = dipnb.TwoLayerDIP.init(runs=1, n=3, k=50, v_init="rademacher").V0
    assert set(rad.unique().tolist()) == {-1.0, 1.0}


def test_init_is_seeded():
    a = dipnb.TwoLayerDIP.init(2, 3, 10, 4, seed=5)
    b = dipnb.TwoLayerDIP.init(2, 3, 10, 4, seed=5)
    c = dipnb.TwoLayerDIP.init(2, 3, 10, 4, seed=6)
    assert torch.equal(a.V0, b.V0) and torch.equal(a.W0, b.W0)
    assert not torch.equal(a.W0, c.W0)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("layers", ["W", "V", "both"])
def test_gradients_match_autograd(act, layers):
    net, pb = small_problem(act=act)
    a = net.activation
    W = net.W0.clone().requires_grad_(True)
    V = (net.V0 + 0.3 * torch.randn_like(net.V0)).requires_grad_(True)
    M = pb.A.matrix()
    y = pb.y
    autograd_loss(net.u, W, V, a, M, y).backward()

    h = torch.einsum("rkd,rd->rk", W.detach(), net.u)
    x = forward(h, V.detach(), a)
    r = pb.A.A_adjoint(pb.A.A(x) - y)
    gh, gV = gradients(h, V.detach(), r, a, layers)
    if layers in ("W", "both"):
        gW = gh[:, :, None] * net.u[:, None, :]       # grad_W = grad_h u^T
        assert torch.allclose(gW, W.grad, atol=1e-12)
    else:
        assert gh is None
    if layers in ("V", "both"):
        assert torch.allclose(gV, V.grad, atol=1e-12)
    else:
        assert gV is None


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
@pytest.mark.parametrize("layers", ["W", "V", "both"])
def test_jacobian_and_gram_match_autograd(act, layers):
    net, _ = small_problem(act=act, runs=2)
    a = net.activation
    V = net.V0 + 0.2 * torch.randn_like(net.V0)
    J = jacobian(net.u, net.W0, V, a, layers)
    for r in range(net.runs):
        def g(Vf, Wf, r=r):
            return (Vf @ a.phi(Wf @ net.u[r])) / math.sqrt(net.k)
        JV, JW = torch.autograd.functional.jacobian(g, (V[r], net.W0[r]))
        blocks = {"V": JV.reshape(net.n, -1), "W": JW.reshape(net.n, -1)}
        ref = torch.cat([blocks[name] for name in ("V", "W") if layers in (name, "both")], 1)
        assert torch.allclose(J[r], ref, atol=1e-12)
    G = jacobian_gram(net.h0, V, a, layers, net.u_norm2)
    assert torch.allclose(G, J @ J.transpose(1, 2), atol=1e-12)


def test_sigma_min_concentrates_at_C_dphi():
    """sigma_min(J_g(0))^2 -> C_phi'^2 (W only) and C_phi^2 + C_phi'^2 (both) as k grows."""
    act = dipnb.get_activation("sigmoid")
    errs = {}
    for k in (100, 1000, 30000):
        net = dipnb.TwoLayerDIP.init(runs=8, n=5, k=k, d=3, seed=k)
        s2 = net.sigma_min_jacobian(layers="W") ** 2
        errs[k] = (s2 - act.C_dphi ** 2).abs().median().item() / act.C_dphi ** 2
        s2b = net.sigma_min_jacobian(layers="both") ** 2
        errs[("both", k)] = ((s2b - act.C_phi ** 2 - act.C_dphi ** 2).abs().median().item()
                             / (act.C_phi ** 2 + act.C_dphi ** 2))
    assert errs[100] > errs[1000] > errs[30000]
    assert errs[30000] < 0.06 and errs[("both", 30000)] < 0.03


def explicit_gd(net, M, y, gamma, steps, layers):
    """Reference gradient descent (2) on the full (V, W) with autograd: losses of the
    iterates 0..steps and the final (W, V)."""
    W, V, losses = net.W0.clone(), net.V0.clone(), []
    for tau in range(steps + 1):
        W.requires_grad_(True)
        V.requires_grad_(layers == "both")
        f = autograd_loss(net.u, W, V, net.activation, M, y)
        losses.append(f.item())
        if tau == steps:
            return torch.tensor(losses), W.detach(), V.detach()
        grads = torch.autograd.grad(f, [W, V] if layers == "both" else [W])
        with torch.no_grad():
            W = W - gamma * grads[0]
            if layers == "both":
                V = V - gamma * grads[1]


@pytest.mark.parametrize("layers", ["W", "both"])
@pytest.mark.parametrize("d", [1, 4, 17])
def test_explicit_W_descent_equals_reduced_h_dynamics(layers, d):
    """Gradient descent on W (autograd, any d) follows exactly the reduced (h, V) dynamics."""
    runs, n, k, gamma, steps = 2, 3, 40, 0.7, 25
    net = dipnb.TwoLayerDIP.init(runs, n, k, d, seed=d)
    A = dipnb.gaussian_operator(2, n, runs=runs, seed=1)
    pb = dipnb.Problem.make(A, seed=2)
    losses, W, V = explicit_gd(net, A.matrix(), pb.y, gamma, steps, layers)
    traj = dipnb.gradient_descent(net, pb, gamma, steps, layers=layers, tol=0, record=1,
                                  stall_window=None)
    assert losses[-1] < 0.5 * losses[0]          # it did train
    assert torch.allclose(traj.loss.sum(1), losses, rtol=1e-10)
    assert torch.allclose(net.W(traj.final), W, atol=1e-12)
    assert torch.allclose(traj.final.V, V, atol=1e-12)
    full_dist = torch.sqrt(((W - net.W0) ** 2).sum((1, 2)) + ((V - net.V0) ** 2).sum((1, 2)))
    assert torch.allclose(traj.dist[-1], full_dist, atol=1e-12)


def test_subset_and_shapes():
    net, pb = small_problem(runs=3)
    one = net.subset(1)
    assert one.runs == 1 and torch.equal(one.V0[0], net.V0[1])
    assert (net.n, net.k, net.d) == (4, 7, 5)
    assert net.forward().shape == (3, 4)
