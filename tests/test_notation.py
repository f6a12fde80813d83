"""One meaning per symbol: the clashes a review found stay fixed (book/*.md and dipnb's strings).

"KL" abbreviates Kurdyka–Łojasiewicz only; the Kullback–Leibler loss is written out, in the prose
and in every string dipnb shows (docstrings, titles, labels, messages). And each symbol renamed to
end a clash must not come back in its old role (book/intro.md, section Notation, has the table):

* ``q`` is the exponent of the polynomial rate (chapter 02), the ratio R'/R is ``ζ`` (chapter 05);
* ``p`` is the exponent of ``PowerLoss(p)`` only: the parameter count is ``dim θ``, a fitted
  log-log slope is a number or ``ŝ``, a binomial proportion ``P̂`` (chapter 06);
* ``c`` is the coefficient of ψ(s) = c s^{1-α}: the residual coefficient of the certified L is ``Λ``;
* ``a`` is the slope of ξ_τ: the two terms of Corollary III.2's radius are ``β₁``, ``β₂``;
* ``B`` is the constant of A-3: the 1-D blur matrix is ``A₁`` (chapter 08);
* ``ρ`` is the geometric rate: the radius of Σ''s ball is written R' + ‖θ₀‖ (chapter 04);
* ``ω`` is the Landweber step: the blur's frequency is spelled out (chapter 08);
* ``r_0`` is the level of Definition II.2: the initial residual is ‖y₀ − y‖ (chapter 04).

The patterns are written for the forms these symbols took, so that they catch a relapse, not
every use of a letter. Reads files only."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "book").glob("*.md"))
MODULES = sorted(p for p in (ROOT / "dipnb").rglob("*.py") if "__pycache__" not in p.parts)

# "KL" for the Kullback–Leibler loss, in words or as a label shown to readers
KULLBACK_AS_KL = re.compile(r"\bKL[\s-]+(?:loss|divergence)|\bKL\s*\(Poisson\)|[\"']KL[\"']\s*[:,\]]")

# (name, pattern, what to write instead); matched against the .md text and dipnb's strings
OLD_ROLES = [
    ("q as R'/R", re.compile(r"\bq\s*=\s*R'\s*/\s*R\b|\\nu_1\s*q\b|ν[1₁]\s*q\b"), "ζ = R'/R"),
    ("p as a parameter count",
     re.compile(r"\\mathbb\s*\{?R\}?\^\{?p\}?(?![\w{])|\\times\s*p\$|\bp\s*=\s*nk\b"), "dim θ"),
    ("p as a fitted slope",
     re.compile(r"\^\{?p\}?\$,?\s+(?:with\s+)?\$p(?:\s*=)?\$|\$p\s*=\$\s*\{glue:text\}"
                r"|exponent p (?:in|of) :math:"), "the slope in words, or ŝ"),
    ("p as a proportion", re.compile(r"\\hat\s*p\b"), "P̂"),
    ("c as the residual coefficient",
     re.compile(r"G\s*\+\s*2?\s*c\s*(?:\\[,|]|\()|\}_\{c\}|\bc\s*=\s*\\sup\|\\phi''\||:math:`c\s*=\s*\\\|u"),
     "Λ"),
    ("a, b as Corollary III.2's radius",
     re.compile(r"\ba\s*=\s*C\s*\\\|A\\\||\(a\s*\+\s*b\)\s*\^|\\max\(a,\s*b\)|\bb\s*=\s*\\sqrt\s*m"
                r"|\\,\s*a\s*\+\s*b\)"), "β₁, β₂"),
    ("B as the blur matrix", re.compile(r"\bB(?:_[HW])?\s*\\otimes|\\sigma_[ij]\(B(?:_[HW])?\)"), "A₁"),
    ("rho as a radius", re.compile(r"\\rho\s*=\s*R'|\(0,\s*\\rho\)|\\le\s*\\rho\b"), "R' + ‖θ₀‖"),
    ("omega as a frequency", re.compile(r"\\cos\s*\\omega|cos ω|\$\|H\|"), "the frequency, in words"),
    ("r_0 as the initial residual", re.compile(r"\\\|r_0\\\||\\\|r_\\tau\\\|"), "‖y₀ − y‖, ‖y_τ − y‖"),
    ("r as a radius", re.compile(r"\\mathbb\s*\{?B\}?\(\\theta(?:_0)?,\s*r\)"), "R, or the word radius"),
    ("B as a ball", re.compile(r"(?<![A-Za-z\\])(?<!mathbb )B\((?:\\theta|0,)"), "\\mathbb B"),
    ("a, b as the coefficients of R's quadratic", re.compile(r"aR\^2\s*\+\s*bR"), "the quadratic written out"),
    ("T as the step budget", re.compile(r"\bx_T\b|\\omega T\b|\bat T = |40 dB at T\b"), "x_τ at the last step"),
    ("lambda as a loss scale", re.compile(r"\\lambda\s*\\mathcal L_y|\\lambda f\b|\\psi_\\lambda"), "χ"),
    ("x as gamma L", re.compile(r"\bx\s*=\s*\\gamma L\b|f\(\\gamma L\)"), "γL itself"),
    ("U, V as the orthogonal factors of A", re.compile(r"A\s*=\s*U(?:_\{[^}]*\})?\W{0,3}\\mathrm\{diag\}"),
     "Q₁, Q₂ (V is the output layer)"),
    ("sigma as the blur's width", re.compile(r"\$4\\sigma\$|truncated at 4σ"), "the blur's standard deviation, in words"),
]


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module (docstrings, messages, titles, labels, f-string parts)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _lines(text: str) -> list[tuple[int, str]]:
    return list(enumerate(text.split("\n"), 1))


def _clashes(pieces: list[tuple[int, str]]) -> list[str]:
    bad = []
    for line, text in pieces:
        for m in KULLBACK_AS_KL.finditer(text):
            bad.append(f"line {line}: {m.group(0)!r} (write 'Kullback–Leibler loss'; KL is Kurdyka–Łojasiewicz)")
        for name, pattern, instead in OLD_ROLES:
            for m in pattern.finditer(text):
                bad.append(f"line {line}: {m.group(0)!r} is {name} (write {instead})")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_book_page_keeps_one_meaning_per_symbol(page):
    bad = _clashes(_lines(page.read_text("utf-8")))
    assert not bad, f"{page.name}: " + "; ".join(bad)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dipnb_strings_keep_one_meaning_per_symbol(module):
    bad = _clashes(_strings(module))
    assert not bad, f"{module.relative_to(ROOT)}: " + "; ".join(bad)


# the forms each clash had before it was fixed (from the chapters and docstrings), and the
# forms that are right: the patterns catch the first and leave the second alone
BEFORE = [
    "For the KL loss $c = \\sqrt{2/\\mu}$", "the KL-loss", "a KL divergence", "The KL (Poisson) loss",
    'losses = {"KL": dipnb.KullbackLeibler()}',
    "with $q = R'/R$ at $\\nu_1 = 1$, (4) holds iff $\\nu_1 q < 1$", "critical widths $k\\,(\\nu_1 q)^2$",
    "ratio q = R'/R", "(4) with ν1 q < 1",
    "$\\theta \\in \\mathbb{R}^p$ with $p = nk + kd$", "the explicit $n\\times p$ Jacobian",
    "tangent cone is $\\mathbb R^p$ if", "an $n \\times p$ matrix",
    "$R$ grows like $k^{p}$, $p =$ {glue:text}`c5_slope_Rb:.2f`",
    "a gap of order $\\gamma^p$, $p$ between", "decreases like $\\gamma^p$ with $p$ between",
    "The bound: $p =$ {glue:text}`c5_slope_bound_kappa:.1f`", "the exponent p of :math:`y \\propto x^p`",
    "With $\\hat p = s/n$ for $s$ successes",
    "$L_{\\rm descent} = G + 2c\\|y_0 - y\\|$", "$G + c(\\|A\\|\\|V_0\\|_2 + \\|y\\|)$",
    "\\frac{a_2M\\|A\\|}{\\sqrt k}}_{c}", "Write $c = \\sup|\\phi''|\\,M\\|A\\|/\\sqrt k$",
    ":math:`c = \\|u\\|^2 a_2 M\\|A\\|/\\sqrt k`", "$G + 2c\\,\\|y_0 - y\\|$",
    "let $a = C\\|A\\|\\sqrt{n\\log d}$", "(a + b)^4", "\\max(a,b)^4 \\le (a+b)^4", "\\mathbb B(0,\\, a + b)",
    "$b = \\sqrt m(\\|A\\bar x\\|_\\infty)$",
    "$A = B\\otimes B$", "products $\\sigma_i(B)\\sigma_j(B)$", ":math:`A = B_H \\otimes B_W`",
    "$\\Sigma' = g(u, \\bar{\\mathbb B}(0, \\rho))$, $\\rho = R' + \\|\\theta_0\\|$", "$\\|\\theta^*\\| \\le \\rho$",
    "response $0.452 + 0.548\\cos\\omega$", "response 0.452 + 0.548 cos ω", "with $|H|$ =",
    "assume $\\|r_\\tau\\| \\le \\|r_0\\|$", ":math:`\\sigma_0^2\\|A\\|^2/4 - c\\|r_0\\|`",
    "on $\\mathbb B(\\theta_0, r)$, $\\mathrm{Lip}(\\mathcal J_g) \\le$", ":math:`\\mathrm{Lip}_{B(\\theta_0,R)}`",
    ":math:`\\Sigma' = g(u, B(0, R' + \\|\\theta_0\\|))`", "the positive root of :math:`aR^2 + bR - \\sigma_0 = 0`",
    "the reconstruction $x_T$ is", "and $\\omega T$ =", "PSNR(x_T, x̄) = 30 dB at T = 100", "40 dB at T",
    "Multiply a loss by a constant: $\\lambda\\mathcal L_y$", "With $f_\\lambda = \\lambda f$",
    "increases with $x = \\gamma L$", "$\\nu_2 = L\\,f(\\gamma L)$",
    "$A = U\\,\\mathrm{diag}(\\mathrm{linspace}(1, 2, n))\\,V^\\top$", ":math:`A = U_{:, :r}\\,\\mathrm{diag}(s)`",
    "the kernel truncated at $4\\sigma$",
]
AFTER = [
    "the Kullback–Leibler loss satisfies a KL inequality", "the KL inequality (3)", "$\\mathrm{KL}_\\psi(r_0)$",
    "dipnb.KullbackLeibler()", 'get_loss("kl")', "class KLCheck", "kl_ratio_min",
    "with $\\zeta = R'/R$ at $\\nu_1 = 1$, (4) holds iff $\\nu_1 \\zeta < 1$",
    "\\sim \\tau^{-q},\\qquad q = \\frac{1}{2\\alpha-1}", "For PowerLoss(p), $q = p/(p-2)$",
    "$\\frac1p\\|v - y\\|^p$ with $p \\ge 2$", "$\\theta \\in \\mathbb{R}^{\\dim\\theta}$", "$p = 3$",
    "an $n \\times \\dim\\theta$ matrix", "a power of $k$ of exponent {glue:text}`c5_slope_Rb:.2f`",
    "With $\\hat P = S/N$ for $S$ successes", "$\\psi(s) = c\\,s^{1-\\alpha}$ with $c = p^{1/p}$",
    "$L_{\\rm descent} = G + 2\\Lambda\\|y_0 - y\\|$", "e^{-4a\\tau/c^2}", "\\Psi^{-1}(a\\tau + \\Psi(s))",
    "\\beta_1 = C\\|A\\|\\sqrt{n\\log d}", "(\\beta_1 + \\beta_2)^4", "mid = 0.5 * (a + b)",
    "\\mathbb B(0,\\, \\beta_1 + \\beta_2)",
    "$A = A_1\\otimes A_1$", "$\\sup|\\phi'| \\le B$", "$\\sigma_A = \\sigma_{\\min}(A)$",
    "$\\mathcal L_y(y_\\tau) \\propto e^{-\\rho\\tau}$", "$x_{\\tau+1} = x_\\tau - \\omega A^\\top(Ax_\\tau - y)$",
    "$[\\mathcal{L}_y < r_0]$", "$\\|y_\\tau - y\\| \\le \\|y_0 - y\\|$",
    "$\\mathrm{Lip}_{\\mathbb B(\\theta_0, R)}(\\mathcal J_g)$", "$L_{\\mathcal L,0} = \\max_{v \\in \\mathbb B(0, r)}$",
    "$r = Ag(u,W) - y$", "$x_\\tau$ at the last step", "$T_{\\Sigma'}(\\bar x_{\\Sigma'})$", "$\\lambda_{\\min}(A; T)$",
    "$\\chi\\mathcal L_y$", "$A = Q_1\\,\\mathrm{diag}(\\mathrm{linspace}(1, 2, n))\\,Q_2^\\top$",
    "$\\mathcal N(0, \\sigma^2 I_m)$", "$A = \\sum_i s_iu_iv_i^\\top$",
]


@pytest.mark.parametrize("text", BEFORE)
def test_the_check_catches_each_old_form(text):
    assert _clashes([(1, text)]), text


@pytest.mark.parametrize("text", AFTER)
def test_the_check_leaves_the_right_forms_alone(text):
    assert not _clashes([(1, text)]), _clashes([(1, text)])
