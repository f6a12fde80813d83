"""Linear forward operators :math:`A: R^n \\to R^m` of model (1), batched over runs.

Every operator exposes, like deepinv's ``LinearPhysics``, ``A(x)`` and
``A_adjoint(y)`` on batches of shape (R, n) and (R, m), and the spectral
quantities the theorems need:

* :attr:`LinearOperator.sigma_min`: :math:`\\sigma_A`, the smallest *non-zero*
  singular value (Section II-A), shape (R_op,);
* :attr:`LinearOperator.norm`: :math:`\\|A\\|`, the largest singular value;
* :attr:`LinearOperator.lambda_min`: :math:`\\inf_{z \\ne 0}\\|Az\\|/\\|z\\|`
  over all of :math:`R^n`, i.e. :math:`\\sigma_A` if A is injective and 0
  otherwise (the cone quantity of (8) when :math:`T_{\\Sigma'} = R^n`).

``R_op`` is 1 for an operator shared by every run, or R for one per run.
"""
from __future__ import annotations

import numpy as np
import torch

from .._random import make_generator
from .._validation import DEFAULT_DTYPE, check_choice, check_finite, check_int, check_positive, check_shape

__all__ = ["LinearOperator", "MatrixOperator", "GaussianBlur", "Identity", "Inpainting",
           "gaussian_operator", "well_conditioned_operator", "spectrum_operator", "blur_operator",
           "blur_matrix_1d", "gaussian_radius", "haar_orthogonal", "BOUNDARIES", "GAUSSIAN_TRUNCATE"]


class LinearOperator:
    """Base class. Subclasses set ``n``, ``m`` and implement ``A``, ``A_adjoint``
    and ``_singular_values`` (all non-zero singular values, shape (R_op, r))."""

    n: int
    m: int

    def A(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def A_adjoint(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _singular_values(self) -> torch.Tensor:
        raise NotImplementedError

    def singular_values(self) -> torch.Tensor:
        """Non-zero singular values in decreasing order, shape (R_op, rank) (cached)."""
        if getattr(self, "_sv", None) is None:
            self._sv = self._singular_values()
        return self._sv

    @property
    def sigma_min(self) -> torch.Tensor:
        """:math:`\\sigma_A`: smallest non-zero singular value, shape (R_op,)."""
        return self.singular_values()[:, -1]

    @property
    def norm(self) -> torch.Tensor:
        """:math:`\\|A\\|`: spectral norm, shape (R_op,)."""
        return self.singular_values()[:, 0]

    @property
    def rank(self) -> int:
        return self.singular_values().shape[1]

    @property
    def injective(self) -> bool:
        return self.rank == self.n

    @property
    def lambda_min(self) -> torch.Tensor:
        """:math:`\\inf_{z\\neq0}\\|Az\\|/\\|z\\|` over :math:`R^n`: :math:`\\sigma_A` if injective, else 0."""
        return self.sigma_min if self.injective else torch.zeros_like(self.sigma_min)

    @property
    def condition_number(self) -> torch.Tensor:
        """:math:`\\kappa(A) = \\|A\\|/\\sigma_A`."""
        return self.norm / self.sigma_min

    def matrix(self) -> torch.Tensor:
        """The dense matrix, shape (R_op, m, n), built by applying ``A`` to the identity."""
        eye = torch.eye(self.n, dtype=self.dtype, device=self.device)
        return torch.stack([self.A(eye[None, j].expand(self.runs, -1)) for j in range(self.n)], -1)

    def subset(self, idx) -> LinearOperator:
        """The operator of runs ``idx``; a shared operator (``runs == 1``) returns itself."""
        if self.runs == 1:
            return self
        return self._subset(idx)

    def _subset(self, idx):
        raise NotImplementedError(f"{type(self).__name__} with several runs cannot be subset")

    def _check_x(self, x, size, name):
        if x.shape[-1] != size:
            raise ValueError(f"{name} must have last dimension {size}, got shape {tuple(x.shape)}")

    def __repr__(self):
        return f"{type(self).__name__}(m={self.m}, n={self.n}, runs={self.runs})"


def _nonzero(s: torch.Tensor, shape) -> torch.Tensor:
    """Keep the singular values above the usual numerical-rank tolerance."""
    s, _ = torch.sort(s, dim=-1, descending=True)
    tol = max(shape) * torch.finfo(s.dtype).eps * s[:, :1]
    rank = int((s > tol).sum(-1).min())
    if rank == 0:
        raise ValueError("the operator is zero: it has no non-zero singular value")
    return s[:, :rank]


class MatrixOperator(LinearOperator):
    """A dense matrix operator, shape (R_op, m, n) or (m, n).

    ``singular_values`` may be passed when known exactly (e.g. by construction).
    """

    def __init__(self, M: torch.Tensor, singular_values: torch.Tensor | None = None):
        if M.ndim == 2:
            M = M[None]
        check_finite("A", check_shape("A", M, (None, None, None)))
        self.M = M
        self.runs, self.m, self.n = M.shape
        self.dtype, self.device = M.dtype, M.device
        self._sv = None if singular_values is None else torch.as_tensor(
            singular_values, dtype=M.dtype, device=M.device).reshape(self.runs, -1)

    def A(self, x):
        self._check_x(x, self.n, "x")
        return torch.einsum("rmn,rn->rm", self.M, x)

    def A_adjoint(self, y):
        self._check_x(y, self.m, "y")
        return torch.einsum("rmn,rm->rn", self.M, y)

    def _singular_values(self):
        return _nonzero(torch.linalg.svdvals(self.M), (self.m, self.n))

    def matrix(self):
        return self.M

    def _subset(self, idx):
        return MatrixOperator(self.M[idx], None if self._sv is None else self._sv[idx])


def gaussian_operator(m: int, n: int, runs: int = 1, seed: int = 0, dtype=DEFAULT_DTYPE,
                      device="cpu") -> MatrixOperator:
    """A with iid N(0, 1) entries (Section IV, Fig 1 and 2), one per run; not normalised."""
    m, n, runs = check_int("m", m), check_int("n", n), check_int("runs", runs)
    g = make_generator(seed, device)
    return MatrixOperator(torch.randn(runs, m, n, dtype=dtype, device=device, generator=g))


#: The QR factorisations :func:`haar_orthogonal` can use (they agree to round-off, not bit for bit).
QR_BACKENDS = ("torch", "numpy")


def haar_orthogonal(runs: int, n: int, g: torch.Generator, dtype=DEFAULT_DTYPE, device="cpu",
                    qr: str = "torch") -> torch.Tensor:
    """``runs`` Haar-distributed (uniform) random orthogonal n×n matrices, shape (runs, n, n).

    Q of the QR factorisation :math:`Z = QR` of a matrix Z with iid N(0, 1) entries (drawn
    from ``g``), its columns multiplied by the signs of :math:`\\mathrm{diag}(R)`, which makes
    the law of Q the Haar measure on O(n) (Mezzadri, *How to generate random matrices from
    the classical compact groups*, Notices AMS 54, 2007).

    Parameters
    ----------
    runs, n : int
    g : torch.Generator
        The generator Z is drawn from (``dipnb._random.make_generator``).
    qr : {"torch", "numpy"}
        Where the QR factorisation runs: ``torch.linalg.qr`` on ``device`` (the draws of
        :func:`well_conditioned_operator`), or ``numpy.linalg.qr`` on the CPU (those of
        :func:`spectrum_operator`: torch's batched CPU QR can be 100x slower when the cores are
        shared). The same Z gives the same Q to round-off but not bit for bit (different
        LAPACK builds), so each operator keeps the backend its committed results were drawn
        with.
    """
    check_choice("qr", qr, QR_BACKENDS)
    Z = torch.randn(runs, n, n, dtype=dtype, device=device, generator=g)
    if qr == "numpy":
        Q, Rr = np.linalg.qr(Z.cpu().numpy())
        Q = Q * np.sign(np.diagonal(Rr, axis1=1, axis2=2))[:, None, :]
        return torch.from_numpy(Q).to(device=device, dtype=dtype)
    Q, R = torch.linalg.qr(Z)
    return Q * torch.sign(torch.diagonal(R, dim1=1, dim2=2))[:, None, :]


def well_conditioned_operator(n: int, runs: int = 1, smin: float = 1.0, smax: float = 2.0,
                              seed: int = 0, dtype=DEFAULT_DTYPE, device="cpu",
                              m: int | None = None) -> MatrixOperator:
    """The paper's well-conditioned operator of Fig 3b and 4:
    :math:`A = Q_1\\,\\mathrm{diag}(\\mathrm{linspace}(s_{\\min}, s_{\\max}, r))\\,Q_2^T`,
    ``r = min(m, n)``, with :math:`Q_1` (m×r) and :math:`Q_2` (n×r) Haar-random orthonormal columns;
    :math:`\\sigma_A = s_{\\min}`, :math:`\\|A\\| = s_{\\max}`.

    ``m`` defaults to ``n`` (the paper's square case). For ``m > n`` the operator is
    injective but not surjective, for ``m < n`` surjective but not injective.
    """
    n, runs = check_int("n", n), check_int("runs", runs)
    m = n if m is None else check_int("m", m)
    check_positive("smin", smin)
    if not smax >= smin:
        raise ValueError(f"smax must be >= smin={smin}, got {smax}")
    g = make_generator(seed, device)
    r = min(m, n)
    U = haar_orthogonal(runs, m, g, dtype, device)[:, :, :r]
    V = haar_orthogonal(runs, n, g, dtype, device)[:, :, :r]
    s = torch.linspace(smin, smax, r, dtype=dtype, device=device)
    M = (U * s[None, None, :]) @ V.transpose(1, 2)
    return MatrixOperator(M, singular_values=s.flip(0).expand(runs, r).clone())


BOUNDARIES = ("zero", "reflect", "circular")

#: Where a sampled Gaussian kernel is cut, in standard deviations: the field's standard rule
#: (``scipy.ndimage.gaussian_filter``'s default ``truncate=4.0``; deepinv's ``gaussian_blur``
#: gives the same 9 taps at ``sigma`` = 1).
GAUSSIAN_TRUNCATE = 4.0


def gaussian_radius(sigma: float = 1.0, truncate: float = GAUSSIAN_TRUNCATE) -> int:
    """The radius of a sampled Gaussian kernel by scipy's rule, ``int(truncate * sigma + 0.5)``:
    4 at ``sigma`` = 1, a 9-tap kernel (``scipy.ndimage.gaussian_filter1d``, whose default boundary
    ``mode="reflect"`` is this module's ``"reflect"``)."""
    check_positive("sigma", sigma)
    check_positive("truncate", truncate)
    return int(truncate * sigma + 0.5)


def blur_matrix_1d(size: int, sigma: float = 1.0, radius: int | None = None,
                   boundary: str = "reflect", dtype=DEFAULT_DTYPE, device="cpu") -> torch.Tensor:
    """The ``size``×``size`` matrix of a 1-D Gaussian blur.

    The kernel is :math:`w_j \\propto e^{-j^2/(2\\,\\mathrm{sigma}^2)}`, :math:`|j| \\le` ``radius``,
    normalised to sum 1; ``radius`` defaults to :func:`gaussian_radius` (scipy's rule,
    truncated at 4 ``sigma``).
    ``boundary``: ``"zero"`` (pixels outside are 0), ``"reflect"`` (half-sample
    symmetric, ``d c b a | a b c d``), or ``"circular"`` (periodic).
    """
    size = check_int("size", size)
    check_positive("sigma", sigma)
    check_choice("boundary", boundary, BOUNDARIES)
    radius = gaussian_radius(sigma) if radius is None else check_int("radius", radius, low=0)
    j = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    w = torch.exp(-j ** 2 / (2 * sigma ** 2))
    w = w / w.sum()
    B = torch.zeros(size, size, dtype=dtype, device=device)
    for i in range(size):
        for jj, wj in zip(range(-radius, radius + 1), w):
            c = i + jj
            if boundary == "circular":
                c %= size
            elif boundary == "reflect":
                period = 2 * size
                c %= period
                if c >= size:
                    c = period - 1 - c
            elif not 0 <= c < size:
                continue
            B[i, c] += wj
    return B


class GaussianBlur(LinearOperator):
    """2-D Gaussian blur of an image of ``shape`` = (H, W), flattened row-major (n = m = H W).

    The kernel is separable, so :math:`A = A_1 \\otimes A_2` with 1-D blur
    matrices from :func:`blur_matrix_1d` (attributes ``BH`` and ``BW``, along the height and
    the width), applied as :math:`X \\mapsto A_1 X A_2^T`.
    Its singular values are the products :math:`\\sigma_i(A_1)\\sigma_j(A_2)`, so
    :math:`\\sigma_A` and :math:`\\|A\\|` are exact and cheap even for 64×64 images.
    The default ``radius`` is the field's standard sampling, :func:`gaussian_radius` (scipy's
    ``truncate=4``: 9×9 at ``sigma`` = 1), with scipy's default ``"reflect"`` boundary. The kernel size
    (``2 radius + 1``) and the boundary change :math:`\\sigma_A` by an order of magnitude:
    print :attr:`~dipnb.core.operators.LinearOperator.sigma_min` for the choice you make. For a 64×64 image and ``sigma`` = 1
    (``tests/test_operators.py`` checks these ranges):

    * 9×9 kernel (the default) and 7×7: about 2.0e-4 to 2.1e-4 for every boundary;
    * 5×5 kernel: about 5.4e-4 for every boundary;
    * 3×3 kernel: 1.5e-5 (reflect), 1.5e-5 (circular), 4.4e-5 (zero). Its taps [0.274,
      0.452, 0.274] have the response 0.452 + 0.548 cos(frequency), which vanishes at the
      frequency 2.54 rad/sample; on 64 points with a reflecting boundary the frequency πj/64
      nearest it (j = 52, frequency 2.55) has a
      response of 0.0039 in absolute value, and σ_A = 0.0039². The 3×3 kernel is nearly singular at one frequency,
      not smoothly ill-conditioned as a Gaussian blur is.

    The paper quotes :math:`\\sigma_{\\min}(A) \\sim 10^{-5}`, which only the 3×3 kernel gives;
    :math:`\\|A\\| \\approx 1` in every case (the kernel sums to 1).
    """

    def __init__(self, shape=(64, 64), sigma: float = 1.0, radius: int | None = None,
                 boundary: str = "reflect", dtype=DEFAULT_DTYPE, device="cpu"):
        H, W = (check_int("shape[0]", shape[0]), check_int("shape[1]", shape[1]))
        self.shape, self.sigma, self.boundary = (H, W), sigma, boundary
        self.radius = gaussian_radius(sigma) if radius is None else check_int("radius", radius, low=0)
        self.BH = blur_matrix_1d(H, sigma, self.radius, boundary, dtype, device)
        self.BW = self.BH if W == H else blur_matrix_1d(W, sigma, self.radius, boundary, dtype, device)
        self.n = self.m = H * W
        self.runs, self.dtype, self.device = 1, dtype, device

    @property
    def kernel_size(self) -> int:
        return 2 * self.radius + 1

    def A(self, x):
        self._check_x(x, self.n, "x")
        X = x.reshape(-1, *self.shape)
        return (self.BH @ X @ self.BW.T).reshape(x.shape)

    def A_adjoint(self, y):
        self._check_x(y, self.m, "y")
        Y = y.reshape(-1, *self.shape)
        return (self.BH.T @ Y @ self.BW).reshape(y.shape)

    def _singular_values(self):
        s = torch.outer(torch.linalg.svdvals(self.BH), torch.linalg.svdvals(self.BW)).flatten()
        return _nonzero(s[None], (self.m, self.n))

    def __repr__(self):
        return (f"GaussianBlur(shape={self.shape}, sigma={self.sigma}, "
                f"kernel={self.kernel_size}x{self.kernel_size}, boundary={self.boundary!r})")


class Identity(LinearOperator):
    """:math:`A = I_n` (denoising)."""

    def __init__(self, n: int, dtype=DEFAULT_DTYPE, device="cpu"):
        self.n = self.m = check_int("n", n)
        self.runs, self.dtype, self.device = 1, dtype, device

    def A(self, x):
        self._check_x(x, self.n, "x")
        return x

    A_adjoint = A

    def _singular_values(self):
        return torch.ones(1, self.n, dtype=self.dtype, device=self.device)


class Inpainting(LinearOperator):
    """Random inpainting: keep ``m`` of the ``n`` entries (a row selection of :math:`I_n`).

    All non-zero singular values equal 1 (:math:`\\sigma_A = \\|A\\| = 1`); A is
    injective only if ``m == n``. One random mask per run, drawn from ``seed``, unless
    ``index`` (runs, m) gives the kept entries (sorted, in ``[0, n)``) of each run.
    """

    def __init__(self, n: int, m: int, runs: int = 1, seed: int = 0, dtype=DEFAULT_DTYPE,
                 device="cpu", index: torch.Tensor | None = None):
        self.n = check_int("n", n)
        self.m = check_int("m", m, low=1, high=self.n)
        self.runs = check_int("runs", runs)
        self.dtype, self.device = dtype, device
        if index is None:           # the masks: one random m-subset of [0, n) per run
            g = make_generator(seed, device)
            index = torch.stack([torch.randperm(self.n, generator=g, device=device)[: self.m].sort().values
                                 for _ in range(self.runs)])
        self.index = check_shape("index", index, (self.runs, self.m))

    def A(self, x):
        self._check_x(x, self.n, "x")
        return torch.gather(x, -1, self.index.expand(x.shape[0], -1))

    def A_adjoint(self, y):
        self._check_x(y, self.m, "y")
        out = torch.zeros(*y.shape[:-1], self.n, dtype=y.dtype, device=y.device)
        return out.scatter(-1, self.index.expand(y.shape[0], -1), y)

    def _singular_values(self):
        return torch.ones(self.runs, self.m, dtype=self.dtype, device=self.device)

    def _subset(self, idx):
        index = self.index[idx]
        return Inpainting(self.n, self.m, runs=index.shape[0], dtype=self.dtype, device=self.device, index=index)


def spectrum_operator(m: int, n: int, kappa: float = 2.0, runs: int = 1, smin: float = 1.0,
                      seed: int = 0, dtype=DEFAULT_DTYPE, device="cpu") -> MatrixOperator:
    """An m×n operator with prescribed singular values, for scaling studies.

    :math:`A = Q_{1, :r}\\,\\mathrm{diag}(s)\\,Q_{2, :r}^T` with :math:`Q_1`, :math:`Q_2` Haar-random orthogonal
    (m×m and n×n), :math:`r = \\min(m, n)` and
    :math:`s = \\mathrm{linspace}(s_{\\min}\\kappa, s_{\\min}, r)`: so
    :math:`\\sigma_A = s_{\\min}` and :math:`\\kappa(A) = \\kappa` whatever m and n.
    For ``m == n`` this is the law of :func:`dipnb.well_conditioned_operator`
    (with ``smax = kappa * smin``).
    """
    m, n, runs = check_int("m", m), check_int("n", n), check_int("runs", runs)
    check_positive("smin", smin)
    check_positive("kappa", kappa)
    if kappa < 1:
        raise ValueError(f"kappa = ||A|| / sigma_A must be >= 1, got {kappa}")
    r = min(m, n)
    g = make_generator(seed, device)
    U = haar_orthogonal(runs, m, g, dtype, device, qr="numpy")[:, :, :r]
    Vh = haar_orthogonal(runs, n, g, dtype, device, qr="numpy")[:, :, :r]
    if r == 1 and kappa != 1:
        raise ValueError(f"an operator of rank min(m, n) = 1 has kappa = 1; got kappa={kappa}")
    s = torch.linspace(smin * kappa, smin, r, dtype=dtype, device=device)
    M = (U * s[None, None, :]) @ Vh.transpose(1, 2)
    return MatrixOperator(M, singular_values=s.expand(runs, r).clone())


def blur_operator(size: int = 64, kernel: int | None = None, boundary: str = "reflect", sigma: float = 1.0,
                  dtype=DEFAULT_DTYPE, device="cpu") -> GaussianBlur:
    """The Gaussian blur of Fig 3a (standard deviation ``sigma`` = 1) on ``size``×``size`` images,
    with a ``kernel``×``kernel`` kernel (odd; default: the standard sampling of
    :func:`gaussian_radius`, 9×9 at ``sigma`` = 1) and the given boundary handling."""
    kernel = 2 * gaussian_radius(sigma) + 1 if kernel is None else check_int("kernel", kernel, low=1)
    if kernel % 2 == 0:
        raise ValueError(f"kernel must be odd (2 radius + 1), got {kernel}")
    return GaussianBlur((size, size), sigma, radius=kernel // 2, boundary=boundary, dtype=dtype,
                        device=device)
