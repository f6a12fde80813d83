"""The certified upper bound on L (dipnb.certified_L; certified_L_both for both layers on a ball), the
rigorous lower bound on the Hessian norm (hessian_lower_bound) and the conic singular value of A-5
(tangent_lambda_min).

Every check compares a bound with the exact Hessian norm (a dense k x k eigenproblem) and with
the power iteration of dipnb.hessian_norm, and each has a twin that shows the check rejects a
wrong bound (scaled by 0.5, or with the wrong power of ||u||)."""
import math

import pytest
import torch

import dipnb
from dipnb._random import make_generator, offset_seed
from dipnb.core.activations import get_activation
from dipnb.core.network import State, TwoLayerDIP
from dipnb.theory.bounds import certified_L, certified_L_both, hessian_lower_bound, tangent_lambda_min


def exact_hessian_norm(net, problem, state=None):
    """Largest |eigenvalue| of the Hessian in W, from the dense Hessian in h (times ||u||^2)."""
    s = net.initial_state() if state is None else state
    act, k = net.activation, net.k
    Am = problem.A.matrix().expand(net.runs, -1, -1)
    Jh = s.V * act.dphi(s.h)[:, None, :] / math.sqrt(k)
    r = problem.A.A(dipnb.forward(s.h, s.V, act)) - problem.y
    res = act.d2phi(s.h) * torch.einsum("rnk,rn->rk", s.V, problem.A.A_adjoint(r)) / math.sqrt(k)
    H = Jh.transpose(1, 2) @ Am.transpose(1, 2) @ Am @ Jh + torch.diag_embed(res)
    return net.u_norm2 * torch.linalg.eigvalsh(H).abs().amax(1)


def is_upper(bound, H, rtol=1e-10):
    return bool((H <= bound * (1 + rtol)).all())


def is_lower(bound, H, rtol=1e-10):
    return bool((bound <= H * (1 + rtol)).all())


def small_case(runs=4, n=3, m=2, k=60, seed=0, u_scale=1.0):
    net = TwoLayerDIP.init(runs, n, k, d=3, seed=seed)
    if u_scale != 1.0:
        net = TwoLayerDIP(net.u * u_scale, net.W0, net.V0, net.activation, net.D)
    A = dipnb.gaussian_operator(m, n, runs=runs, seed=offset_seed(seed, 1))
    pb = dipnb.Problem.make(A, seed=offset_seed(seed, 2))
    return net, pb


def test_exact_hessian_matches_power_iteration():
    net, pb = small_case()
    assert torch.allclose(dipnb.hessian_norm(net, pb, iters=300), exact_hessian_norm(net, pb), rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("u_scale", [1.0, 0.5, 2.0])
def test_certified_L_above_hessian_at_theta0_and_random_points(seed, u_scale):
    net, pb = small_case(seed=seed, u_scale=u_scale)
    cl = certified_L(net, pb)
    assert is_upper(cl["L_global"], exact_hessian_norm(net, pb))
    assert is_upper(cl["L_descent"], exact_hessian_norm(net, pb))
    assert is_upper(cl["L_descent"], dipnb.hessian_norm(net, pb))
    g = make_generator(seed)
    s0 = net.initial_state()
    for scale in (0.1, 1.0, 3.0, 10.0):          # anywhere, saturated sigmoids included
        h = s0.h + scale * torch.randn(s0.h.shape, dtype=s0.h.dtype, generator=g)
        st = State(h, s0.V)
        H = exact_hessian_norm(net, pb, st)
        assert is_upper(cl["L_global"], H)       # the global bound holds at every W
        cs = certified_L(net, pb, st)
        assert is_upper(cs["L_descent"], H)      # the residual at the point itself
        assert torch.allclose(cs["L_global"], cl["L_global"])   # does not depend on the point


def test_certified_L_global_holds_for_arbitrary_data():
    """The global bound uses ||y||: a huge y makes the residual part dominate."""
    net, pb = small_case(seed=5)
    far = dipnb.Problem(pb.A, pb.x_bar * 300.0, pb.noise)
    g = make_generator(0)
    s0 = net.initial_state()
    cl = certified_L(net, far)
    for _ in range(5):
        st = State(s0.h + 2.0 * torch.randn(s0.h.shape, dtype=s0.h.dtype, generator=g), s0.V)
        assert is_upper(cl["L_global"], exact_hessian_norm(net, far, st))


def test_L_descent_certifies_gradient_descent_and_its_segments():
    """With gamma = 1/L_descent the loss decreases at every step, the residual on every segment
    stays below 2 ||r_0||, and the Hessian norm on the segments stays below L_descent."""
    net, pb = small_case(runs=3, n=4, m=3, k=80, seed=7)
    cl = certified_L(net, pb)
    gamma = 1.0 / cl["L_descent"]
    state, r0 = net.initial_state(), cl["residual_norm"]
    prev_loss = 0.5 * r0 ** 2
    for _ in range(40):
        step = dipnb.gradient_descent(net, pb, gamma, 1, tol=0.0, record=[0], state=state,
                                      stall_window=None, progress=False).final
        for t in (0.25, 0.5, 0.75, 1.0):
            mid = State(state.h + t * (step.h - state.h), state.V)
            cm = certified_L(net, pb, mid)
            assert (cm["residual_norm"] <= 2 * r0 * (1 + 1e-12)).all()
            assert is_upper(cl["L_descent"], exact_hessian_norm(net, pb, mid))
        loss = 0.5 * certified_L(net, pb, step)["residual_norm"] ** 2
        assert (loss <= prev_loss * (1 + 1e-12)).all()
        prev_loss, state = loss, step


def test_certified_L_is_attained_so_half_of_it_is_rejected():
    """At h = 0 (every sigmoid at its steepest), A = I and y = g(u, theta): the residual is 0
    and the Hessian norm equals the Gauss-Newton bound ||u||^2 ||V||_2^2 / (16 k) exactly."""
    runs, n, k = 2, 3, 40
    base = TwoLayerDIP.init(runs, n, k, d=1, seed=3)
    net = TwoLayerDIP(base.u, torch.zeros_like(base.W0), base.V0, base.activation, base.D)
    A = dipnb.MatrixOperator(torch.eye(n, dtype=torch.float64))
    pb = dipnb.Problem(A, net.forward(), torch.zeros(runs, n, dtype=torch.float64))
    cl = certified_L(net, pb)
    H = exact_hessian_norm(net, pb)
    assert torch.allclose(cl["residual_norm"], torch.zeros(runs, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(H, cl["L_descent"], rtol=1e-10)
    assert is_upper(cl["L_descent"], H)
    assert not is_upper(0.5 * cl["L_descent"], H)             # a wrong bound fails the check
    assert not is_upper(0.5 * cl["L_descent"], dipnb.hessian_norm(net, pb, iters=200))


def test_u_norm_enters_squared_not_to_the_fourth():
    """With ||u|| = 1/2, a Gauss-Newton bound with ||u||^4 would fall below the Hessian norm."""
    runs, n, k = 2, 3, 40
    base = TwoLayerDIP.init(runs, n, k, d=1, seed=4)
    u = 0.5 * base.u / base.u.norm(dim=1, keepdim=True)
    net = TwoLayerDIP(u, torch.zeros_like(base.W0), base.V0, base.activation, base.D)
    A = dipnb.MatrixOperator(torch.eye(n, dtype=torch.float64))
    pb = dipnb.Problem(A, net.forward(), torch.zeros(runs, n, dtype=torch.float64))
    cl = certified_L(net, pb)
    H = exact_hessian_norm(net, pb)
    assert is_upper(cl["gauss_newton"], H)
    assert not is_upper(cl["gauss_newton"] * net.u_norm2, H)      # the ||u||^4 reading is wrong


def test_residual_constant_is_sharp():
    """n = k = 1, A = 1, h where |phi''| is largest, |y| large: the Hessian norm approaches
    sup|phi'|^2 + sup|phi''| (||A|| ||V|| sup|phi| + |y|) within a few per cent."""
    h_star = math.log(2 + math.sqrt(3))                    # sigmoid(h*) = 1/2 + 1/(2 sqrt 3)
    u = torch.ones(1, 1, dtype=torch.float64)
    net = TwoLayerDIP(u, torch.full((1, 1, 1), h_star, dtype=torch.float64),
                      -torch.ones(1, 1, 1, dtype=torch.float64), "sigmoid", 1.0)
    A = dipnb.MatrixOperator(torch.eye(1, dtype=torch.float64))
    pb = dipnb.Problem(A, torch.full((1, 1), 1e4, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64))
    cl = certified_L(net, pb)
    H = exact_hessian_norm(net, pb)
    assert is_upper(cl["L_global"], H)
    assert (H / cl["L_global"] > 0.99).all()
    assert (H / (cl["L_descent"] / 2) > 0.99).all()       # at the point itself: c ||r|| is attained


@pytest.mark.parametrize("k", [30, 300, 3000])
def test_lower_bound_below_hessian_and_tight_for_wide_networks(k):
    net = TwoLayerDIP.init(4, 3, k, d=2, seed=k)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(3, 3, runs=4, seed=1), seed=2)
    lb = hessian_lower_bound(net, pb)
    H = exact_hessian_norm(net, pb) if k <= 300 else dipnb.hessian_norm(net, pb, iters=300)
    assert is_lower(lb["lower"], H)
    assert is_lower(lb["lower_ball"], H)
    assert (lb["lower_ball"] <= lb["lower"]).all() or k < 100
    g = make_generator(k)
    s0 = net.initial_state()
    for scale in (0.3, 1.0):
        st = State(s0.h + scale * torch.randn(s0.h.shape, dtype=s0.h.dtype, generator=g), s0.V)
        Hs = exact_hessian_norm(net, pb, st) if k <= 300 else dipnb.hessian_norm(net, pb, st, iters=300)
        assert is_lower(hessian_lower_bound(net, pb, st)["lower"], Hs)
    if k == 3000:   # the bound is close to the truth: twice it is rejected
        assert not is_lower(2 * lb["lower"], H)


def test_lower_bound_does_not_vanish_with_k_while_eq10_does():
    pb = dipnb.Problem.make(dipnb.gaussian_operator(3, 5, runs=1, seed=1), seed=2)
    low, eq10 = [], []
    for k in (1000, 10_000, 100_000):
        net = TwoLayerDIP.init(1, 5, k, d=1, seed=0)
        low.append(float(hessian_lower_bound(net, pb)["lower"]))
        r0 = float(certified_L(net, pb)["residual_norm"])
        eq10.append(float(dipnb.L_eq10(pb.A.norm, r0, 5, k)))
    limit = float(pb.A.norm) ** 2 * net.activation.C_dphi ** 2
    assert min(low) > 0.5 * limit and low[-1] > 0.9 * limit
    assert eq10[-1] < low[-1] < eq10[0] * 100
    assert eq10[-1] / eq10[0] < 0.2


def test_tangent_lambda_min_reduces_to_injectivity_when_onto():
    net = TwoLayerDIP.init(3, 4, 200, d=2, seed=0)
    for m in (2, 4, 6):
        pb = dipnb.Problem.make(dipnb.gaussian_operator(m, 4, runs=3, seed=m), seed=1)
        t = tangent_lambda_min(net, pb)
        assert (t["rank"] == 4).all()
        assert torch.allclose(t["lambda_min"], pb.A.lambda_min.expand(3), atol=1e-10)
        assert ((t["lambda_min"] > 0) == (m >= 4)).all()


def test_tangent_lambda_min_is_restricted_injectivity_when_k_below_n():
    """k = 2 < n = 5, m = 3: A has a kernel, yet the 2-dimensional tangent space meets it only at 0."""
    net = TwoLayerDIP.init(3, 5, 2, d=2, seed=0, v_init="uniform")  # Rademacher columns can be parallel
    pb = dipnb.Problem.make(dipnb.gaussian_operator(3, 5, runs=3, seed=1), seed=2)
    t = tangent_lambda_min(net, pb)
    assert (t["rank"] == 2).all()
    assert (pb.A.lambda_min == 0).all()
    assert (t["lambda_min"] > 1e-3).all()
    # direct check: inf ||Az|| / ||z|| over the range of V diag(phi'(h)), by sampling
    s = net.initial_state()
    Jr = s.V * net.activation.dphi(s.h)[:, None, :]
    z = Jr @ torch.randn(3, 2, 5000, dtype=torch.float64, generator=make_generator(0))
    ratio = (pb.A.matrix() @ z).norm(dim=1) / z.norm(dim=1)
    assert (ratio.min(1).values >= t["lambda_min"] * (1 - 1e-9)).all()
    assert (ratio.min(1).values <= t["lambda_min"] * 1.05).all()


def test_jacobian_lipschitz_lower_is_attained_by_a_difference_of_jacobians():
    """The lower bound on Lip(J_g) is the limit of true difference quotients of the Jacobian
    (computed by autograd) along one neuron's row of W, and lies below the upper bound of
    jacobian_lipschitz; so R <= radius_R_upper, and radius_R (from the upper bound) is below it."""
    from dipnb.core.network import forward
    from dipnb.theory.bounds import jacobian_lipschitz_lower, radius_R_upper
    from dipnb.theory.theorem import jacobian_lipschitz, radius_R

    net = dipnb.TwoLayerDIP.init(1, 4, 30, d=3, seed=2)
    s = net.initial_state()
    lo = float(jacobian_lipschitz_lower(net)[0])
    un = float(net.u_norm2[0]) ** 0.5
    jac = lambda h: torch.autograd.functional.jacobian(                       # noqa: E731
        lambda hh: forward(hh[None], s.V, net.activation)[0], h)                  # J_h, (n, k)
    j = int((s.V[0].norm(dim=0) * net.activation.d2phi(s.h[0]).abs()).argmax())
    t = 1e-6
    h1 = s.h[0].clone()
    h1[j] += t * un
    # J_W = J_h (x) u^T, so ||J_W(theta_1) - J_W(theta_0)|| = ||J_h(h_1) - J_h(h_0)|| ||u||
    quotient = float(torch.linalg.matrix_norm(jac(h1) - jac(s.h[0]), ord=2)) * un / t
    assert quotient == pytest.approx(lo, rel=1e-4)
    assert lo < float(jacobian_lipschitz(net, "W")[0]) < float(jacobian_lipschitz(net, "both", radius=1.0)[0])
    for layers in ("W", "both"):
        assert float(radius_R(net, layers)[0]) < float(radius_R_upper(net, layers)[0])


# --- certified_L_both: both layers trained, on the ball B(theta_0, radius) ---------------------------

def ball_points(net, problem, radius, points=20, seed=0):
    """Each run repeated 1 + ``points`` times: theta_0, then points at distances radius * sqrt(i/points)
    of it along random directions of (h, V) (h moves by ||u|| times the W step, so that
    param_distance is the distance in theta = (V, W)). Returns (net, problem, states) batched."""
    idx = [r for r in range(net.runs) for _ in range(points + 1)]
    netr, pbr = net.subset(idx), problem.subset(idx)
    s0 = netr.initial_state()
    g = make_generator(seed)
    dh = torch.randn(s0.h.shape, dtype=torch.float64, generator=g)
    dV = torch.randn(s0.V.shape, dtype=torch.float64, generator=g)
    t = torch.linspace(0, 1, points + 1, dtype=torch.float64).sqrt().repeat(net.runs)
    scale = radius * t / torch.sqrt((dh ** 2).sum(1) + (dV ** 2).sum((1, 2)))
    st = State(s0.h + (scale * netr.u_norm2.sqrt())[:, None] * dh, s0.V + scale[:, None, None] * dV)
    assert (netr.param_distance(st) <= radius * (1 + 1e-12)).all()
    return netr, pbr, st


def sampled_both(net, problem, radius, points=20):
    """The Hessian norm (both layers, power iteration) at theta_0 and ``points`` points of the ball, (R, 1 + points)."""
    netr, pbr, st = ball_points(net, problem, radius, points)
    return dipnb.hessian_norm(netr, pbr, st, layers="both").reshape(net.runs, points + 1)


def L_both(parts, halve=None):
    """L = G + lambda_+(S_VW, S_WW), S_VW = Lambda_VW rbar_A, S_WW = Lambda_WW rbar_V, from the parts of
    certified_L_both, with one of them halved (a halved residual rbar enters through
    rbar_A = min(..., ||A|| rbar); rbar_V is kept, which can only make L larger)."""
    p = {key: (v / 2 if key == halve else v) for key, v in parts.items()}
    if halve == "residual":
        p["adjoint_residual"] = torch.minimum(p["adjoint_residual"], p["A_norm"] * p["residual"])
    x, w = p["cross_coef"] * p["adjoint_residual"], p["ww_coef"] * p["column_residual"]
    second = p["second_order"] if halve == "second_order" else (w + torch.sqrt(w ** 2 + 4 * x ** 2)) / 2
    return p["gauss_newton"] + second


def one_neuron(h, v, y, act="sigmoid"):
    """n = k = d = 1, u = 1, A = 1: g = v phi(h)."""
    one = lambda x: torch.full((1, 1), x, dtype=torch.float64)                   # noqa: E731
    net = TwoLayerDIP(one(1.0), one(h)[:, :, None], one(v)[:, :, None], act, 1.0)
    return net, dipnb.Problem(dipnb.MatrixOperator(torch.eye(1, dtype=torch.float64)), one(y), one(0.0))


def tight_cases():
    """Where each part of the bound is nearly attained (within 0.3 % at radius 0.01): the Gauss-Newton
    part (h = 0, A = I, y = g(theta_0): no residual, ||J|| as large as it gets), the VW cross part
    (h = 0 where phi' = 1/4, tiny V, large y) and the WW part (h where |phi''| = 1/(6 sqrt 3), large V and y)."""
    base = TwoLayerDIP.init(2, 3, 40, d=1, seed=3)
    net = TwoLayerDIP(base.u, torch.zeros_like(base.W0), base.V0, base.activation, base.D)
    gn = (net, dipnb.Problem(dipnb.MatrixOperator(torch.eye(3, dtype=torch.float64)), net.forward(),
                             torch.zeros(2, 3, dtype=torch.float64)))
    return {"gauss_newton": gn, "cross": one_neuron(0.0, 0.01, 1e4),
            "ww": one_neuron(math.log(2 + math.sqrt(3)), -100.0, 1e5)}


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
@pytest.mark.parametrize("n,m,k", [(3, 2, 8), (5, 5, 20)])
def test_certified_L_both_above_the_hessian_on_the_ball(act, n, m, k):
    assert get_activation(act).name == act
    net = TwoLayerDIP.init(2, n, k, d=3, seed=n, activation=act)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(m, n, runs=2, seed=1), seed=2)
    for radius in (0.0, 0.5, 2.0):
        L = certified_L_both(net, pb, radius)["L"]
        assert is_upper(L[:, None], sampled_both(net, pb, radius))


def test_certified_L_both_grows_with_the_radius_and_must():
    net, pb = small_case(runs=2)
    radii = [0.0, 0.1, 1.0, 10.0, 100.0]
    Ls = torch.stack([certified_L_both(net, pb, r)["L"] for r in radii])
    assert (Ls[1:] > Ls[:-1]).all()
    # per-run radii are accepted and are the same as one radius at a time
    assert torch.allclose(certified_L_both(net, pb, torch.tensor([0.1, 10.0]))["L"], Ls[[1, 3], [0, 1]])
    # the growth is needed: the bound at radius 0 is exceeded inside the ball of radius 1
    one, pb1 = one_neuron(0.0, 1.0, 0.0)
    pb1 = dipnb.Problem(pb1.A, one.forward(), pb1.noise)
    H = sampled_both(one, pb1, 1.0)
    assert not is_upper(certified_L_both(one, pb1, 0.0)["L"][:, None], H)
    assert is_upper(certified_L_both(one, pb1, 1.0)["L"][:, None], H)


@pytest.fixture(scope="module")
def tight_samples():
    """(parts of the bound, sampled Hessian norms) of each of :func:`tight_cases` at radius 0.01."""
    out = {}
    for name, (net, pb) in tight_cases().items():
        out[name] = (dict(certified_L_both(net, pb, 0.01), A_norm=pb.A.norm.expand(net.runs)),
                     sampled_both(net, pb, 0.01))
    return out


def test_certified_L_both_is_nearly_attained(tight_samples):
    for parts, H in tight_samples.values():
        assert torch.allclose(L_both(parts), parts["L"])
        assert is_upper(parts["L"][:, None], H)
        assert (H.max(1).values >= parts["L"] / 1.005).all()            # tight within 0.5 %


@pytest.mark.parametrize("halve", ["gauss_newton", "second_order", "residual", "adjoint_residual", "column_residual",
                                   "cross_coef", "ww_coef"])
def test_certified_L_both_with_a_part_halved_is_rejected(halve, tight_samples):
    failed = [name for name, (parts, H) in tight_samples.items() if not is_upper(L_both(parts, halve)[:, None], H)]
    assert failed, f"halving {halve} is never caught"


def test_certified_L_both_names_a_bad_radius_or_loss():
    net, pb = small_case(runs=2)
    for bad in (-1.0, math.nan, math.inf, torch.tensor([0.5, -0.1])):
        with pytest.raises(ValueError, match="radius must be finite and >= 0"):
            certified_L_both(net, pb, bad)
    with pytest.raises(ValueError, match=r"radius must be a number or a tensor of shape \(2,\)"):
        certified_L_both(net, pb, torch.ones(3))
    with pytest.raises(ValueError, match="radius must be a finite number >= 0"):
        certified_L_both(net, pb, "far")
    for loss in ("kl", dipnb.PowerLoss(4)):
        with pytest.raises(ValueError, match=r"½-MSE loss only, got loss .*accepted: 'mse'"):
            certified_L_both(net, pb, 1.0, loss=loss)
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        certified_L_both(net, pb, 1.0, loss="l1")
    relu = TwoLayerDIP(net.u, net.W0, net.V0, "relu", net.D)
    with pytest.raises(ValueError, match="violates assumption A-3"):
        certified_L_both(relu, pb, 1.0)
    assert set(certified_L_both(net, pb, 1.0, loss=dipnb.HalfMSE())) >= {"L", "gauss_newton", "second_order",
                                                                         "residual"}
