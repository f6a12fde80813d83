"""Forward operators: adjointness, spectra, the paper's constructions."""
import math

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import make_generator


def operators():
    return {
        "gaussian": dipnb.gaussian_operator(3, 5, runs=2, seed=0),
        "gaussian_tall": dipnb.gaussian_operator(7, 4, runs=2, seed=1),
        "well_conditioned": dipnb.well_conditioned_operator(6, runs=2, seed=2),
        "blur_reflect": dipnb.GaussianBlur((6, 5), sigma=1.0, boundary="reflect"),
        "blur_zero": dipnb.GaussianBlur((6, 6), sigma=1.0, radius=1, boundary="zero"),
        "blur_circular": dipnb.GaussianBlur((5, 5), sigma=0.7, boundary="circular"),
        "identity": dipnb.Identity(4),
        "inpainting": dipnb.Inpainting(8, 5, runs=2, seed=3),
    }


@pytest.mark.parametrize("name", list(operators()))
def test_adjoint(name):
    A = operators()[name]
    g = make_generator(0)
    R = max(A.runs, 2)
    x = torch.randn(R, A.n, generator=g)
    y = torch.randn(R, A.m, generator=g)
    lhs = (A.A(x) * y).sum(1)
    rhs = (x * A.A_adjoint(y)).sum(1)
    assert torch.allclose(lhs, rhs, atol=1e-12)


@pytest.mark.parametrize("name", list(operators()))
def test_spectrum_matches_dense_svd(name):
    A = operators()[name]
    M = A.matrix() if A.runs > 1 or not hasattr(A, "M") else A.M
    s = torch.linalg.svdvals(M)
    s = s[:, s[0] > 1e-10 * s[0, 0]]
    assert torch.allclose(A.norm, s[:, 0], rtol=1e-10)
    assert torch.allclose(A.sigma_min, s[:, -1], rtol=1e-8)
    assert A.rank == s.shape[1]
    assert A.injective == (A.rank == A.n)
    expect_lam = A.sigma_min if A.injective else torch.zeros_like(A.sigma_min)
    assert torch.equal(A.lambda_min, expect_lam)


def test_well_conditioned_has_the_papers_spectrum():
    A = dipnb.well_conditioned_operator(10, seed=4)
    s = torch.linalg.svdvals(A.M[0])
    assert torch.allclose(s.flip(0), torch.linspace(1, 2, 10), atol=1e-12)
    assert A.sigma_min.item() == 1.0 and A.norm.item() == 2.0


def test_blur_rows_sum_to_one_and_boundary_changes_sigma_min():
    for b in ("reflect", "circular"):
        B = dipnb.core.operators.blur_matrix_1d(16, 1.0, boundary=b)
        assert torch.allclose(B.sum(1), torch.ones(16), atol=1e-12)
    Bz = dipnb.core.operators.blur_matrix_1d(16, 1.0, boundary="zero")
    assert Bz.sum(1)[0] < 1 - 1e-3 and math.isclose(Bz.sum(1)[8].item(), 1.0)
    s = {b: dipnb.GaussianBlur((16, 16), 1.0, boundary=b).sigma_min.item() for b in dipnb.core.operators.BOUNDARIES}
    assert len({round(math.log10(v), 3) for v in s.values()}) == 3


def test_blur_is_separable_kronecker():
    A = dipnb.GaussianBlur((4, 3), sigma=1.0, boundary="reflect")
    assert torch.allclose(A.matrix()[0], torch.kron(A.BH, A.BW), atol=1e-14)


def test_gaussian_is_seeded_and_per_run():
    a = dipnb.gaussian_operator(2, 3, runs=2, seed=9)
    b = dipnb.gaussian_operator(2, 3, runs=2, seed=9)
    assert torch.equal(a.M, b.M) and not torch.equal(a.M[0], a.M[1])


def test_blur_sigma_min_for_64x64_images_matches_independent_reports():
    """theory-notes (derived separately): a 3x3 kernel gives sigma_A between 1e-5 and 4e-5
    depending on the boundary, 7x7 and larger about 2e-4; the paper quotes ~1e-5."""
    for b in dipnb.core.operators.BOUNDARIES:
        s3 = dipnb.GaussianBlur((64, 64), 1.0, radius=1, boundary=b).sigma_min.item()
        s7 = dipnb.GaussianBlur((64, 64), 1.0, radius=3, boundary=b).sigma_min.item()
        s9 = dipnb.GaussianBlur((64, 64), 1.0, radius=4, boundary=b).sigma_min.item()
        assert 1e-5 <= s3 <= 5e-5, (b, s3)
        assert 1.5e-4 <= s7 <= 2.5e-4 and 1.5e-4 <= s9 <= 2.5e-4, (b, s7, s9)


def test_default_blur_is_scipy_gaussian_filter():
    """The headline blur of Fig 3a is the Gaussian sampled by the field's standard rule:
    scipy.ndimage.gaussian_filter (truncate=4, mode='reflect'), 9x9 at sigma = 1."""
    import scipy.ndimage as nd

    A = dipnb.blur_operator(20)
    assert A.kernel_size == 9 and dipnb.GaussianBlur((20, 20)).kernel_size == 9
    assert dipnb.core.operators.gaussian_radius(1.0) == 4 and dipnb.core.operators.gaussian_radius(0.5) == 2
    x = torch.rand(1, 400, dtype=torch.float64, generator=make_generator(3))
    ref = nd.gaussian_filter(x[0].numpy().reshape(20, 20), 1.0)
    np.testing.assert_allclose(A.A(x)[0].numpy().reshape(20, 20), ref, atol=1e-14)


def test_three_tap_blur_sigma_is_one_frequency_near_the_response_zero():
    """Why the 3x3 kernel gives the paper's 1e-5: its response 0.452 + 0.548 cos(w) vanishes
    at w = 2.54, and on 64 points (reflect: frequencies pi j / 64) j = 52 lies next to it, so
    sigma_A = |H(w_52)|^2 (separable: the product of two 1-D factors)."""
    w = np.exp(-0.5 * np.arange(-1, 2) ** 2)
    w /= w.sum()
    zero = math.acos(-w[1] / (2 * w[0]))
    assert zero == pytest.approx(2.54, abs=0.005)
    H = w[1] + 2 * w[0] * np.cos(np.pi * np.arange(64) / 64)       # DCT-II spectrum of the 1-D blur
    j = int(np.argmin(np.abs(H)))
    assert j == 52 and abs(H[j]) == pytest.approx(0.0039, abs=1e-4)
    s3 = dipnb.blur_operator(64, kernel=3).sigma_min.item()
    assert s3 == pytest.approx(H[j] ** 2, rel=1e-6)
