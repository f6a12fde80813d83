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
        _ = dipnb.get_activation("relu").B
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


# --- the paths of a new user (issue "Every user's path, end to end") --------------------------

@pytest.mark.parametrize("device", ["gpu", "CPU", "mps"])
def test_misspelled_device_is_named_with_the_accepted_ones(device):
    for call in (lambda: dipnb.TwoLayerDIP.init(1, 2, 3, device=device),
                 lambda: dipnb.make_generator(0, device),
                 lambda: dipnb.gaussian_problems(3, [2], 2, device=device)):
        with pytest.raises(ValueError, match=rf"device '{device}'.*accepted.*'cpu'"):
            call()


def test_cuda_without_a_gpu_or_a_gpu_it_lacks():
    if torch.cuda.is_available():
        bad = f"cuda:{torch.cuda.device_count()}"
        with pytest.raises(ValueError, match=rf"device '{bad}'.*accepted: 'cpu', 'cuda'"):
            dipnb.TwoLayerDIP.init(1, 2, 3, device=bad)
    else:
        with pytest.raises(ValueError, match=r"device 'cuda' asked for, but torch sees no CUDA device; "
                                             r"accepted here: 'cpu'"):
            dipnb.TwoLayerDIP.init(1, 2, 3, device="cuda")


def test_step_size_of_the_wrong_length(net_pb):
    from dipnb import engine
    net, pb = net_pb                                                    # 2 runs
    for gamma in (torch.tensor([0.1, 0.2, 0.3]), torch.tensor([[0.1, 0.2]])):
        with pytest.raises(ValueError, match=r"gamma must be a number or a tensor of shape \(2,\).*got shape"):
            dipnb.gradient_descent(net, pb, gamma, 5)
    with pytest.raises(ValueError, match=r"jobs\[0\].gamma must be a number or a tensor of shape \(2,\).*\(3,\)"):
        engine.sweep([engine.Job(net, pb, torch.tensor([0.1, 0.2, 0.3]))], 5)
    dipnb.gradient_descent(net, pb, torch.tensor([0.1, 0.2]), 2)     # one step per run is fine


def test_float32_network(net_pb):
    from dipnb import engine
    net, pb = net_pb
    net32 = dipnb.TwoLayerDIP.init(2, 3, 20, d=4, seed=0, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"network is torch.float32 on cpu but the problem is torch.float64"):
        dipnb.gradient_descent(net32, pb, 0.1, 5)
    pb32 = dipnb.Problem.make(dipnb.gaussian_operator(2, 3, runs=2, seed=1, dtype=torch.float32), seed=2)
    dipnb.gradient_descent(net32, pb32, 0.1, 2)                      # one dtype throughout: fine
    for backend in ("auto", "torch"):
        with pytest.raises(ValueError, match=r"jobs\[0\]: the network is torch.float32.*accepted: torch.float64"):
            engine.sweep([engine.Job(net32, pb32, 0.1)], 5, backend=backend)
    with pytest.raises(ValueError, match=r"dtype must be a floating torch dtype.*got 'float32'"):
        dipnb.TwoLayerDIP.init(1, 2, 3, dtype="float32")


def test_x_bar_of_the_wrong_shape_or_rows():
    A = dipnb.gaussian_operator(2, 3, runs=2, seed=1)
    for shape in ((2, 4), (5,), (6,)):
        with pytest.raises(ValueError, match=rf"x_bar must hold n = 3 entries per run.*got shape \({shape[0]},"):
            dipnb.Problem.make(A, x_bar=torch.zeros(shape))
    msg = r"x_bar has 3 rows \(runs\) but the operator has 2 runs; accepted: x_bar with 2 rows.*operator with 1 run"
    with pytest.raises(ValueError, match=msg):
        dipnb.Problem.make(A, x_bar=torch.zeros(3, 3))
    with pytest.raises(ValueError, match=msg):
        dipnb.Problem(A, torch.zeros(3, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"runs=5 but x_bar has 2 rows.*accepted: runs=2"):
        dipnb.Problem.make(A, x_bar=torch.zeros(2, 3), runs=5)
    with pytest.raises(ValueError, match=r"x_bar is torch.float32 on cpu but the operator is torch.float64"):
        dipnb.Problem(A, torch.zeros(2, 3, dtype=torch.float32), torch.zeros(2, 2))
    # what is accepted: (n,), (runs, n), (runs, ...) with n entries, any array, cast to A's dtype
    assert dipnb.Problem.make(dipnb.gaussian_operator(2, 4), x_bar=[1.0, 2, 3, 4]).x_bar.shape == (1, 4)
    assert dipnb.Problem.make(A, x_bar=torch.zeros(2, 3, dtype=torch.float32)).x_bar.dtype == torch.float64
    assert dipnb.Problem.make(dipnb.gaussian_operator(2, 4), x_bar=torch.ones(1, 2, 2)).x_bar.shape == (1, 4)


def test_gaussian_problems_wants_a_sequence_of_m():
    with pytest.raises(ValueError, match=r"ms must be a sequence of observation sizes m.*e.g. \[3\], got 3"):
        dipnb.gaussian_problems(5, 3, 4)


def test_sizes_beyond_memory_are_refused_before_allocating():
    from dipnb.core.network import draw_networks
    with pytest.raises(ValueError, match=r"TwoLayerDIP.init\(runs=4, n=5, k=1000000000000, d=16\) needs .* TB.*"
                                         r"accepted: runs \* k \* \(n \+ d\) <= "):
        dipnb.TwoLayerDIP.init(4, 5, 10 ** 12)
    with pytest.raises(ValueError, match=r"k=1000000000000\) needs .*accepted: runs \* k \* \(n \+ 1\) <="):
        draw_networks(4, 5, 10 ** 12)
    with pytest.raises(ValueError, match=r"m=1000000000000, runs=4\) needs .*accepted: runs \* \(m \* n \+ n \+ m\)"):
        dipnb.gaussian_problems(5, [10 ** 12], 4)


def test_seeds_out_of_range(tmp_path):
    with pytest.raises(ValueError, match=r"seed must be an integer in \[-2\*\*63, 2\*\*64 - 1\], got 1"):
        dipnb.make_generator(10 ** 22)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[-2\*\*63, 2\*\*64 - 1\], got 'a'"):
        dipnb.make_generator("a")
    from dipnb.experiments import run
    for seed in (-1, 2 ** 32, 10 ** 22, 1.5):
        with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32 - 1\] = \[0, 4294967295\]"):
            run("sigma-min", "quick", seed=seed, out=tmp_path)
    assert not list(tmp_path.iterdir())                                 # refused before anything ran


def test_print_gives_one_short_line(net_pb):
    net, pb = net_pb
    for obj, words in ((net, ("TwoLayerDIP(", "runs=2", "n=3", "k=20", "d=4", "float64", "cpu")),
                       (pb, ("Problem(", "runs=2", "n=3", "m=2", "MatrixOperator", "float64", "cpu"))):
        text = str(obj)
        assert len(text.splitlines()) == 1 and len(text) < 160, text
        assert all(w in text for w in words), text


def test_docstrings_name_the_constructors():
    assert "TwoLayerDIP.init" in dipnb.TwoLayerDIP.__doc__
    assert "Problem.make" in dipnb.Problem.__doc__


def test_dir_lists_no_stray_module():
    import types
    modules = [n for n in dir(dipnb) if isinstance(getattr(dipnb, n, None), types.ModuleType)]
    assert set(modules) <= {"core", "theory", "engine", "analysis", "experiments", "report", "plotting", "cli",
                            "coursework"}, modules
    assert "importlib" not in dir(dipnb) and not any(n.startswith("_") and not n.startswith("__") for n in dir(dipnb))
    assert set(dipnb.__all__) <= set(dir(dipnb))
