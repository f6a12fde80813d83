"""One home for each formula (issue 21): every seed formula and every seeded generator of dipnb is
in ``dipnb/_random.py``, and the formulas that were written several times have one function each.

The scanner reads the code of every module but ``dipnb/_random.py`` with its strings and comments
removed (docstrings may quote a formula), and flags ``manual_seed(``, a ``torch.Generator(`` built
by hand, and arithmetic on a seed: an operator next to a name that contains "seed", an operator in
the value of a ``seed=`` argument, or ``base +`` (the old ``base + 1 + 31 * k``).
"""
from __future__ import annotations

import io
import math
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest
import torch

import dipnb
from dipnb._random import gamma_sweep_network_seed, make_generator, offset_seed, width_index_seed, width_network_seed
from dipnb._validation import check_same_runs
from dipnb.core.activations import get_activation
from dipnb.core.network import max_column_norm
from dipnb.core.operators import haar_orthogonal
from dipnb.theory.constants import nu1, nu2, radius_R, radius_R_closed_form
from dipnb.theory.corollary import init_statistics, ratio_from_statistics
from dipnb.theory.theorem import certified_dist, theorem_quantities

PKG = Path(__file__).resolve().parents[1] / "dipnb"

#: What the scanner flags in code (strings and comments removed), with the reason it gives.
PATTERNS = [
    (re.compile(r"\bmanual_seed\s*\("), "a generator seeded by hand: use dipnb._random.make_generator"),
    (re.compile(r"\bGenerator\s*\("), "a generator built by hand: use dipnb._random.make_generator"),
    (re.compile(r"\b\w*seed\w*\s*(?:[-+*/%]|\*\*)(?!=)", re.I), "arithmetic on a seed"),
    (re.compile(r"(?<![=!<>])[-+*/%]\s*\w*seed\w*\b", re.I), "arithmetic on a seed"),
    (re.compile(r"\bseed\s*=\s*[^,()=]*[-+*/%]"), "arithmetic in a seed argument"),
    (re.compile(r"\bbase\s*[-+*]"), "arithmetic on a base seed"),
]


def code_lines(source: str) -> dict[int, str]:
    """The code of ``source`` line by line, with every string and comment replaced by a blank."""
    lines: dict[int, list[str]] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                        tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        lines.setdefault(tok.start[0], []).append(tok.string)
    return {n: " ".join(toks) for n, toks in lines.items()}


def scan(source: str, name: str = "<source>") -> list[str]:
    """Every place of ``source`` a pattern of :data:`PATTERNS` matches, as ``name:line: reason: code``."""
    found = []
    for n, line in code_lines(source).items():
        for pattern, reason in PATTERNS:
            if pattern.search(line):
                found.append(f"{name}:{n}: {reason}: {line}")
    return found


def package_files():
    return sorted(p for p in PKG.rglob("*.py") if p != PKG / "_random.py")


def test_no_seed_formula_or_hand_made_generator_outside_random():
    found = [hit for p in package_files() for hit in scan(p.read_text(), str(p.relative_to(PKG.parent)))]
    assert not found, "seed formulas outside dipnb/_random.py:\n" + "\n".join(found)


@pytest.mark.parametrize("source", [
    "net = TwoLayerDIP.init(2, 3, 4, seed=seed + 1)",
    "g = torch.Generator().manual_seed(3)",
    "g = torch.Generator(device=dev)",
    "s = seed + 1000 * i",
    "net = init(seed=base + 1 + 31 * k)",
    "pb = Problem.make(A, seed=s + 1)",
    "z = start(seed + 1 + j)",
    "t = 7 * seed",
    "x = f(seed=2*s)",
])
def test_the_scanner_fails_on_the_old_forms(source):
    assert scan(source), source


def test_the_scanner_fails_on_a_made_up_module():
    source = ('"""A module."""\nimport torch\n\n\ndef draw(seed):\n'
              '    g = torch.Generator().manual_seed(3)\n'
              '    return f(seed=seed + 1, generator=g)\n')
    found = scan(source, "made_up.py")
    assert any("made_up.py:6:" in f and "by hand" in f for f in found)
    assert any("made_up.py:7:" in f and "seed" in f for f in found)
    with pytest.raises(AssertionError):
        assert not found


@pytest.mark.parametrize("source", [
    'name = f"{name}-{preset}-seed{seed}"',          # a seed inside a string
    '"""seeds ``seed + 1``, ``seed + 2``."""',        # a formula quoted in a docstring
    "x = 1  # seed + 1",                              # or in a comment
    "net = init(seed=offset_seed(s, 1 + j))",
    "if seed == 0 and seeds >= 2: pass",
    "seed = check_seed(seed)",
])
def test_the_scanner_leaves_the_new_forms_alone(source):
    assert not scan(source), source


# --- the seed helpers return the integers the old expressions gave --------------------------------

@pytest.mark.parametrize("seed", [0, 1, 7, 123_456, 2 ** 32 - 1, np.int64(5)])
@pytest.mark.parametrize("j", [0, 1, 2, 3, 17])
def test_seed_helpers_equal_the_old_expressions(seed, j):
    assert offset_seed(seed, j) == seed + j
    assert width_index_seed(seed, j) == seed + 1000 * j
    assert gamma_sweep_network_seed(seed, j) == seed + 1 + 31 * j
    assert width_network_seed(seed, j) == seed + 10 + j
    assert type(offset_seed(seed, j)) is type(seed + j)


def test_make_generator_draws_as_a_hand_seeded_generator():
    for seed in (0, 3, 2 ** 40 + 1):
        g = torch.Generator()
        g.manual_seed(seed)
        assert torch.equal(torch.randn(5, generator=make_generator(seed)), torch.randn(5, generator=g))


def test_the_condition_vs_convergence_cell_is_the_helpers_draw():
    res = dipnb.experiments.condition_vs_convergence(n=2, m=2, ks=(10, 20), runs=3, steps=50, seed=4)
    s = width_index_seed(4, 1)
    net = dipnb.TwoLayerDIP.init(3, 2, 20, d=1, seed=s)
    pb = dipnb.Problem.make(dipnb.well_conditioned_operator(2, runs=3, seed=offset_seed(s, 1), m=2),
                            seed=offset_seed(s, 2))
    L0 = dipnb.hessian_norm(net, pb, iters=30)
    th = theorem_quantities(net, pb, gamma=0.5 / L0, L=L0)
    np.testing.assert_array_equal(res["R_prime"][1], th.R_prime.numpy())
    np.testing.assert_array_equal(res["R"][1], th.R.numpy())


# --- one function per formula --------------------------------------------------------------------

def test_radius_R_of_a_network_and_of_its_statistics_is_one_formula():
    net = dipnb.TwoLayerDIP.init(3, 4, 50, d=1, seed=2)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(3, 4, runs=3, seed=3), seed=4)
    stats = init_statistics(net.h0, net.V0, net.activation)
    for layers in ("W", "both"):
        q = ratio_from_statistics(stats, pb, net.activation, dipnb.core.losses.get_loss("mse"), 1.0,
                                  net.u_norm2, layers)
        s0, M = q["sigma0"], q["M"]
        R = radius_R_closed_form(s0, net.activation.B, M, net.u_norm2, net.k, layers)
        torch.testing.assert_close(R, q["R"], rtol=0, atol=0)
        torch.testing.assert_close(radius_R(net, layers), R, rtol=1e-12, atol=0)
    assert torch.isinf(radius_R_closed_form(s0, 0.25, M, 1.0, 50, "V")).all()


def test_radius_R_both_is_the_positive_root_of_its_quadratic():
    s0 = torch.tensor([0.3, 0.1, 1e-3], dtype=torch.float64)
    M, B, k = torch.full_like(s0, 2.0), 0.25, 10
    R = radius_R_closed_form(s0, B, M, 1.0, k, "both")
    a, b = 2 * B / math.sqrt(k), 2 * B * (2 + M) / math.sqrt(k)
    torch.testing.assert_close(a * R ** 2 + b * R, s0, rtol=1e-13, atol=0)


def test_nu1_nu2_are_the_theorem_quantities():
    net = dipnb.TwoLayerDIP.init(2, 2, 30, d=1, seed=1)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(2, 2, runs=2, seed=2), seed=3)
    L = torch.tensor([2.0, 3.0], dtype=torch.float64)
    gamma = torch.tensor([0.2, 0.1], dtype=torch.float64)
    th = theorem_quantities(net, pb, gamma=gamma, L=L)
    assert torch.equal(th.nu1, nu1(gamma, L)) and torch.equal(th.nu2, nu2(gamma, L))
    th = theorem_quantities(net, pb, gamma=gamma, L=torch.tensor([20.0, 3.0], dtype=torch.float64))
    assert math.isnan(th.nu1[0]) and math.isnan(th.nu2[0]) and th.nu1[1] == nu1(0.1, 3.0)


def test_certified_dist_keeps_the_error_only_inside_the_ball():
    err = torch.tensor([1e-9, 2e-9, 3e-9, 4e-9], dtype=torch.float64)
    d = certified_dist(err, torch.tensor([1.0, 5.0, 2.0, 1.0]), torch.tensor([2.0, 2.0, 2.0, math.nan]))
    assert d.tolist() == [1e-9, math.inf, 3e-9, math.inf]
    assert float(certified_dist(0.5, 1.0, 3.0)) == 0.5 and math.isinf(float(certified_dist(0.5, 4.0, 3.0)))


def test_max_column_norm():
    V = torch.tensor([[[1.0, 0.0, 3.0], [0.0, 2.0, 4.0]]], dtype=torch.float64)
    assert max_column_norm(V).tolist() == [5.0]


def test_one_message_for_runs_that_do_not_match():
    net = dipnb.TwoLayerDIP.init(2, 2, 5, seed=0)
    pb = dipnb.Problem.make(dipnb.gaussian_operator(2, 2, runs=3, seed=1), seed=2)
    msg = "problem has 3 runs but the network has 2; they must match"
    with pytest.raises(ValueError, match=msg):
        check_same_runs(net, pb)
    for call in (lambda: dipnb.gradient_descent(net, pb, 0.1, 1),
                 lambda: dipnb.certified_L(net, pb),
                 lambda: dipnb.condition4_ratio(net, pb)):
        with pytest.raises(ValueError, match=msg):
            call()
    from dipnb.engine import Job, sweep
    with pytest.raises(ValueError, match=r"jobs\[0\]: " + msg):
        sweep([Job(net, pb, 0.1)], 1)


def test_activation_lookup_is_the_networks():
    for name in ("sigmoid", "tanh"):
        assert get_activation(name) is dipnb.TwoLayerDIP.init(1, 1, 1, activation=name).activation


def test_haar_orthogonal_backends_draw_the_same_law_from_the_same_numbers():
    for qr in ("torch", "numpy"):
        Q = haar_orthogonal(3, 5, make_generator(1), qr=qr)
        torch.testing.assert_close(Q @ Q.transpose(1, 2), torch.eye(5, dtype=Q.dtype).expand(3, 5, 5),
                                   rtol=0, atol=1e-13)
    a = haar_orthogonal(2, 6, make_generator(4), qr="torch")
    b = haar_orthogonal(2, 6, make_generator(4), qr="numpy")
    torch.testing.assert_close(a, b, rtol=0, atol=1e-13)
    with pytest.raises(ValueError, match="qr"):
        haar_orthogonal(1, 2, make_generator(0), qr="scipy")


def test_operators_keep_their_qr_backend():
    """well_conditioned_operator draws with torch's QR and spectrum_operator with NumPy's (their
    committed results were drawn so): the same matrices as the two backends give directly."""
    g = make_generator(5)
    U = haar_orthogonal(2, 4, g)
    V = haar_orthogonal(2, 4, g)
    s = torch.linspace(1.0, 2.0, 4, dtype=torch.float64)
    A = dipnb.well_conditioned_operator(4, runs=2, seed=5)
    assert torch.equal(A.M, (U * s) @ V.transpose(1, 2))
    g = make_generator(5)
    U = haar_orthogonal(2, 3, g, qr="numpy")
    V = haar_orthogonal(2, 5, g, qr="numpy")[:, :, :3]
    s = torch.linspace(3.0, 1.0, 3, dtype=torch.float64)
    B = dipnb.spectrum_operator(3, 5, kappa=3.0, runs=2, seed=5)
    assert torch.equal(B.M, (U * s) @ V.transpose(1, 2))


def test_inpainting_subset_keeps_the_masks():
    op = dipnb.Inpainting(8, 5, runs=3, seed=3)
    sub = op.subset([2, 0])
    assert isinstance(sub, dipnb.Inpainting) and sub.runs == 2 and sub.m == 5 and sub.n == 8
    assert torch.equal(sub.index, op.index[[2, 0]])
    x = torch.arange(16, dtype=torch.float64).reshape(2, 8)
    assert torch.equal(sub.A(x), torch.gather(x, 1, op.index[[2, 0]]))
    assert op.subset([1]).sigma_min.tolist() == [1.0]
