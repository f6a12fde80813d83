"""Chapter 04's argument that A-5 is injectivity for the sigmoid network (9) (beyond the paper):
the Jacobian is onto R^n at every theta, with the Gram matrices of the lemma, and it maps the
ball's tangent half-space at a boundary point onto a set holding z or -z for every z."""
import pytest
import torch

import dipnb
from dipnb._random import make_generator
from dipnb.core.network import forward

F64 = torch.float64


def jacobian(net, W, V, layers):
    """The n x p Jacobian of theta -> g(u, theta) by autograd, theta = (vec V, vec W)."""
    u, act = net.u[0], net.activation

    def g(flat):
        Vt = flat[:V.numel()].reshape(V.shape) if layers == "both" else V
        Wt = flat[-W.numel():].reshape(W.shape)
        return forward((Wt @ u)[None], Vt[None], act)[0]

    theta = torch.cat([V.ravel(), W.ravel()]) if layers == "both" else W.ravel()
    return torch.autograd.functional.jacobian(g, theta), theta


def far_point(net, scale, seed):
    gen = make_generator(seed)
    W = net.W0[0] + scale * torch.randn(net.W0[0].shape, generator=gen, dtype=F64)
    V = net.V0[0] + scale * torch.randn(net.V0[0].shape, generator=gen, dtype=F64)
    return W, V


@pytest.mark.parametrize("scale", [0.0, 1.0, 3.0])
def test_gram_of_W_alone_is_the_lemma_s_and_positive_definite(scale):
    net = dipnb.TwoLayerDIP.init(1, n=4, k=30, d=3, seed=0)
    W, _ = far_point(net, scale, seed=1)
    V = net.V0[0]                                          # V fixed at V0: W alone
    J, _ = jacobian(net, W, V, "W")
    h = W @ net.u[0]
    act = net.activation
    lemma = net.u_norm2[0] / net.k * (V * act.dphi(h) ** 2) @ V.T
    torch.testing.assert_close(J @ J.T, lemma, rtol=1e-10, atol=1e-14)
    assert torch.linalg.matrix_rank(net.V0[0]) == 4        # sigma_0 > 0
    assert torch.linalg.eigvalsh(J @ J.T)[0] > 0           # onto, far from theta_0 too


@pytest.mark.parametrize("scale", [0.0, 1.0, 3.0])
def test_gram_of_both_layers_dominates_the_V_block(scale):
    net = dipnb.TwoLayerDIP.init(1, n=4, k=30, d=3, seed=2)
    W, V = far_point(net, scale, seed=3)
    J, _ = jacobian(net, W, V, "both")
    p_V = V.numel()
    J_V = J[:, :p_V]
    phi = net.activation.phi(W @ net.u[0])
    s = (phi ** 2).sum() / net.k
    torch.testing.assert_close(J_V @ J_V.T, s * torch.eye(4, dtype=F64), rtol=1e-10, atol=1e-14)
    assert torch.linalg.eigvalsh(J @ J.T - s * torch.eye(4, dtype=F64))[0] > -1e-12
    assert s > 0


def test_the_half_space_of_a_boundary_point_maps_onto_z_or_minus_z():
    # theta* on the sphere ||theta|| = rho: the ball's tangent cone is {v : <v, theta*> <= 0};
    # for every z in R^n, z or -z is J v with v in it (so ker A != {0} meets the cone)
    net = dipnb.TwoLayerDIP.init(1, n=3, k=12, d=2, seed=4)
    W, _ = far_point(net, 1.0, seed=5)
    J, theta = jacobian(net, W, net.V0[0], "W")
    P = torch.eye(J.shape[1], dtype=F64) - torch.linalg.pinv(J) @ J            # projector on ker J
    gen = make_generator(6)
    for _ in range(20):
        z = torch.randn(3, generator=gen, dtype=F64)
        v0 = torch.linalg.pinv(J) @ z
        w = P @ theta
        if w.norm() > 1e-9 * theta.norm():              # shift along ker J into the cone
            v = v0 - (max(float(v0 @ theta), 0.0) / float(w @ theta) + 1.0) * w
            target = z
        else:                                           # J theta* spans the rest: a sign
            sign = -1.0 if float(v0 @ theta) > 0 else 1.0
            v, target = sign * v0, sign * z
        assert float(v @ theta) <= 1e-12
        torch.testing.assert_close(J @ v, target, rtol=1e-8, atol=1e-10)
