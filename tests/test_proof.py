"""The proof's measurements (dipnb.theory.proof): what they record is what the proof compares,
every step of the proof holds on a run that the theorem covers, and the checks can fail."""

import numpy as np
import pytest
import torch

import dipnb
from dipnb.theory.bounds import certified_L
from dipnb.theory.proof import proof_quantities, proof_trace


def _problem(runs=2, n=2, m=2, k=2000, seed=0):
    net = dipnb.TwoLayerDIP.init(runs, n, k, d=4, seed=seed)
    A = dipnb.well_conditioned_operator(n, runs=runs, seed=seed + 1, m=m)
    return net, dipnb.Problem.make(A, seed=seed + 2)


@pytest.mark.parametrize("layers", ["W", "both"])
def test_gradient_norm_is_that_of_the_explicit_jacobian(layers):
    net, pb = _problem(k=30)
    W = net.W(net.initial_state())
    J = dipnb.jacobian(net.u, W, net.V0, net.activation, layers=layers)       # (R, n, p)
    M = pb.A.matrix()
    r = torch.einsum("rmn,rn->rm", M, net.forward()) - pb.y
    grad = torch.einsum("rnp,rmn,rm->rp", J, M, r)                            # 𝒥ᵀAᵀ(Ag − y)
    q = proof_quantities(net, pb, layers=layers)
    torch.testing.assert_close(q["grad"], grad.norm(dim=1), rtol=1e-12, atol=0)
    torch.testing.assert_close(q["sigma_min"], torch.linalg.svdvals(J)[:, -1], rtol=1e-10, atol=0)
    torch.testing.assert_close(q["loss_grad"], r.norm(dim=1))


def test_every_step_of_the_proof_holds_on_a_covered_run():
    net, pb = _problem(runs=2, k=3000)
    net, pb = net.subset([0]), pb.subset([0])           # the draw where (4) holds
    L = certified_L(net, pb)["L_descent"]
    th = dipnb.theorem_quantities(net, pb, gamma=0.5 / L, L=L)
    assert bool(th.applies.all())
    tr = proof_trace(net, pb, th.gamma, 400)
    F, dF, g, sA, s0, psi = tr.loss, tr.grad, th.gamma, th.sigma_A, th.sigma0, th.psi
    done = ~torch.isnan(F[-1])
    assert not bool(done.any()), "every run reaches the tolerance within the budget"
    ok = lambda x: bool((x[~torch.isnan(x)] >= 1 - 1e-9).all())   # noqa: E731
    assert ok(dF / (sA * tr.sigma_min * tr.loss_grad))                                   # chain rule
    assert ok(tr.sigma_min / (s0 - th.lip_J * tr.dist))                                 # Weyl
    assert ok(psi.dpsi(F) * dF / (sA * s0 / 2))                                         # KL of F
    assert ok((F[:-1] - F[1:]) / (g * (1 - g * L / 2) * dF[:-1] ** 2))                  # descent
    P = psi.psi(F)
    assert ok((P[:-1] - P[1:]) / (sA * s0 / 2 * (1 - g * L / 2) * g * dF[:-1]))         # length
    # the path: its length is γ Σ‖∇F‖, at least the distance travelled, at most R'_γ < R' < R
    length = torch.from_numpy(np.nanmax(tr.length.numpy(), 0))
    R_gamma = 2 * psi.psi(th.loss0) / (sA * s0 * (1 - g * L / 2))
    assert bool((torch.from_numpy(np.nanmax(tr.dist.numpy(), 0)) <= length).all())
    assert bool((length <= R_gamma).all() and (R_gamma < th.R_prime).all())
    steps = (~torch.isnan(F)).sum(0) - 1
    t = int(steps[0])
    torch.testing.assert_close(tr.length[t, 0], g[0] * dF[:t, 0].sum())


def test_the_descent_check_fails_beyond_the_stable_step():
    # the same check at γ = 4/L₀, past 2/λ_max at θ0: the descent inequality must fail somewhere
    net, pb = _problem()
    L0 = dipnb.hessian_norm(net, pb)
    tr = proof_trace(net, pb, 4 / L0, 50)
    F, dF, g = tr.loss, tr.grad, tr.gamma
    ratio = (F[:-1] - F[1:]) / (g * (1 - g * L0 / 2) * dF[:-1] ** 2)      # 1 − γL/2 < 0 here
    assert bool((ratio[~torch.isnan(ratio)] < 1).any())


def test_trace_stops_at_tol_and_records_reference_distance():
    net, pb = _problem()
    tr = proof_trace(net, pb, 1.0, 300, tol=1e-6, reference=net.initial_state())
    stopped = (~torch.isnan(tr.loss)).sum(0) - 1
    assert bool((stopped < 300).all())
    for r in range(2):
        assert tr.loss[stopped[r], r] <= 1e-6 < tr.loss[stopped[r] - 1, r]
    torch.testing.assert_close(tr.dist_ref, tr.dist, equal_nan=True)


@pytest.mark.parametrize("kwargs, match", [({"steps": -1}, "steps"), ({"gamma": 0.0}, "gamma"),
                                           ({"layers": "U"}, "layers"), ({"tol": -1.0}, "tol")])
def test_bad_input_is_named(kwargs, match):
    net, pb = _problem(k=10)
    args = {"gamma": 1.0, "steps": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        proof_trace(net, pb, **args)


def test_a_sparse_record_gives_the_same_values_and_length():
    net, pb = _problem(k=200)
    full = proof_trace(net, pb, 1.0, 60, tol=0.0)
    sparse = proof_trace(net, pb, 1.0, 60, tol=0.0, record=[0, 7, 60])
    assert list(sparse.steps) == [0, 7, 60]
    for key in ("loss", "grad", "sigma_min", "dist", "length", "kernel_drift"):
        torch.testing.assert_close(getattr(sparse, key), getattr(full, key)[[0, 7, 60]], rtol=1e-12, atol=0)
    assert bool((full.kernel_drift[0] == 0).all() and (full.kernel_drift[-1] > 0).all())
    with pytest.raises(ValueError, match="record"):
        proof_trace(net, pb, 1.0, 10, record=[11])

