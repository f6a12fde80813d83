"""Bad input raises a ValueError that names the bad value and what is accepted."""
import math

import pytest
import torch

import dipnb


@pytest.fixture
def net_pb():
    net = dipnb.TwoLayerDIP.init(2, 3, 20, d=4, seed=0)
    A = dipnb.gaussian_operator(2, 3, runs=2, seed=1)
    return net, dipnb.Problem.make(A, seed=2)


def test_unknown_names():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*sigmoid"):
        dipnb.get_activation("swish")
    with pytest.raises(ValueError, match=r"unknown loss 'l1'.*mse"):
        dipnb.get_loss("l1")
    with pytest.raises(ValueError, match=r"unknown v_init 'gauss'.*rademacher"):
        dipnb.TwoLayerDIP.init(1, 2, 3, v_init="gauss")
    with pytest.raises(ValueError, match=r"unknown boundary 'wrap'.*reflect"):
        dipnb.GaussianBlur((4, 4), boundary="wrap")


def test_unknown_layers(net_pb):
    net, pb = net_pb
    with pytest.raises(ValueError, match=r"unknown layers 'hidden'.*'W', 'V', 'both'"):
        dipnb.gradient_descent(net, pb, 0.1, 5, layers="hidden")


def test_relu_violates_A3():
    net = dipnb.TwoLayerDIP.init(2, 3, 20, activation="relu")
    A = dipnb.gaussian_operator(2, 3, runs=2)
    pb = dipnb.Problem.make(A)
    # training works, guarantees do not
    assert dipnb.gradient_descent(net, pb, 0.1, 5).loss.isfinite().all()
    with pytest.raises(ValueError, match=r"'relu' violates assumption A-3"):
        dipnb.theorem_quantities(net, pb, 0.1, L=1.0)
    with pytest.raises(ValueError, match="A-3"):
        dipnb.get_activation("relu").B
    with pytest.raises(ValueError, match="A-3"):
        dipnb.jacobian_lipschitz(net)


def test_k_smaller_than_n():
    net = dipnb.TwoLayerDIP.init(1, 5, 3)
    with pytest.raises(ValueError, match=r"k >= n, got k=3 < n=5"):
        net.sigma_min_jacobian(layers="W")
    assert net.sigma_min_jacobian(layers="both") > 0      # both layers: J_V has rank n


@pytest.mark.parametrize("gamma", [0.0, -1.0, math.inf, math.nan])
def test_bad_gamma(net_pb, gamma):
    net, pb = net_pb
    with pytest.raises(ValueError, match=r"gamma must be finite and > 0"):
        dipnb.gradient_descent(net, pb, gamma, 5)
    with pytest.raises(ValueError, match=r"gamma must be finite and > 0"):
        dipnb.theorem_quantities(net, pb, gamma, L=1.0)


def test_gamma_times_L_too_large():
    with pytest.raises(ValueError, match=r"gamma\*L < 2.*got gamma\*L = 3"):
        dipnb.nu1(3.0, 1.0)


def test_bad_integers():
    with pytest.raises(ValueError, match=r"k must be an integer >= 1, got 0"):
        dipnb.TwoLayerDIP.init(1, 3, 0)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 2.5"):
        dipnb.TwoLayerDIP.init(1, 2.5, 4)
    with pytest.raises(ValueError, match=r"m must be an integer \[1, 4\], got 6"):
        dipnb.Inpainting(4, 6)
    with pytest.raises(ValueError, match=r"d must be an integer >= 2, got 1"):
        dipnb.corollary_width(dipnb.Problem.make(dipnb.Identity(2)), d=1)


def test_bad_steps_tol_record(net_pb):
    net, pb = net_pb
    with pytest.raises(ValueError, match=r"steps must be an integer >= 0, got -1"):
        dipnb.gradient_descent(net, pb, 0.1, -1)
    with pytest.raises(ValueError, match=r"tol must be finite and >= 0"):
        dipnb.gradient_descent(net, pb, 0.1, 5, tol=-1.0)
    with pytest.raises(ValueError, match=r"record iterations must lie in \[0, 5\]"):
        dipnb.gradient_descent(net, pb, 0.1, 5, record=[0, 9])


def test_non_finite_data():
    A = dipnb.gaussian_operator(2, 3)
    x = torch.tensor([[1.0, math.nan, 0.0]])
    with pytest.raises(ValueError, match=r"x_bar must be finite; it has 1 non-finite"):
        dipnb.Problem.make(A, x_bar=x)
    M = torch.ones(2, 3)
    M[0, 0] = math.inf
    with pytest.raises(ValueError, match=r"A must be finite"):
        dipnb.MatrixOperator(M)
    with pytest.raises(ValueError, match=r"noise_std must be finite and >= 0"):
        dipnb.Problem.make(A, noise_std=-0.1)


def test_wrong_shapes(net_pb):
    net, pb = net_pb
    A = dipnb.gaussian_operator(2, 3)
    with pytest.raises(ValueError, match=r"x_bar must have shape \(\*, 3\), got \(1, 4\)"):
        dipnb.Problem(A, torch.zeros(1, 4), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"noise must have shape \(1, 2\), got \(1, 3\)"):
        dipnb.Problem(A, torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"x must have last dimension 3"):
        A.A(torch.zeros(1, 5))
    other = dipnb.Problem.make(dipnb.gaussian_operator(2, 3, runs=3))
    with pytest.raises(ValueError, match=r"problem has 3 runs but the network has 2"):
        dipnb.gradient_descent(net, other, 0.1, 5)
    wrong_n = dipnb.Problem.make(dipnb.gaussian_operator(2, 4, runs=2))
    with pytest.raises(ValueError, match=r"operator acts on R\^4 but the network outputs R\^3"):
        dipnb.gradient_descent(net, wrong_n, 0.1, 5)
    with pytest.raises(ValueError, match=r"W0 must have shape"):
        dipnb.TwoLayerDIP(net.u, net.W0[:, :, :2], net.V0, "sigmoid", 1.0)


def test_bad_loss_parameters():
    with pytest.raises(ValueError, match=r"p >= 2.*got p=1.5"):
        dipnb.PowerLoss(1.5)
    with pytest.raises(ValueError, match=r"y > 0.*min\(y\) = -1"):
        dipnb.KullbackLeibler().desingularizer(torch.tensor([[1.0, -1.0]]), 1.0)
    with pytest.raises(ValueError, match=r"alpha must be in \[1/2, 1\), got 0.3"):
        dipnb.Desingularizer(1.0, 0.3)
