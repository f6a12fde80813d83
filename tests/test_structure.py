"""The shape of the package (README, "Layout"): one import direction, no cycles,
no private names across modules, every module importable on its own, a curated top level."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "dipnb"

def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path):
    """``(imported module, [names], line)`` for every import of dipnb in the file, wherever it is
    (function-level imports count: they are edges of the graph too)."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "dipnb" or target.startswith("dipnb."):
                names = [a.name for a in node.names]
                # `from . import x` imports the submodule x when x is one
                for a in names:
                    sub = PKG.parent / Path(*(target + "." + a).split("."))
                    if sub.with_suffix(".py").exists() or (sub / "__init__.py").exists():
                        out.append((target + "." + a, [], node.lineno))
                        names = [n for n in names if n != a]
                if names:
                    out.append((target, names, node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "dipnb" or a.name.startswith("dipnb."):
                    out.append((a.name, [], node.lineno))
    return out


MODULES = sorted(PKG.rglob("*.py"))
NAMES = {module_name(p): p for p in MODULES}


def resolve(target: str) -> str:
    """The module a target names (a ``from X import Y`` target is X itself)."""
    if target not in NAMES:
        raise AssertionError(f"import of unknown module {target}")
    return target


# The layers themselves (one import direction) are import-linter's contract in pyproject.toml,
# run by `make test` (lint-imports); the tests below check that it covers every module and that it
# fails on an import against the direction, and what it does not check.
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contract_layers() -> list[str]:
    import tomllib

    conf = tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in conf["contracts"] if c["type"] == "layers"]
    return [m.strip() for layer in contract["layers"] for m in layer.replace("|", ":").split(":")]


def test_every_module_is_in_a_layer_of_the_contract():
    layers = _contract_layers()
    outside = [m for m in NAMES if m != "dipnb" and not any(m == p or m.startswith(p + ".") for p in layers)]
    assert not outside, f"modules in no layer of [tool.importlinter] in pyproject.toml: {outside}"


def test_the_layers_contract_holds_and_fails_on_an_import_against_the_direction(tmp_path):
    import shutil

    ok = subprocess.run([str(LINT_IMPORTS), "--config", str(PKG.parent / "pyproject.toml")],
                        capture_output=True, text=True, cwd=PKG.parent)
    assert ok.returncode == 0, ok.stdout[-2000:]
    shutil.copytree(PKG, tmp_path / "dipnb", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "dipnb" / "core" / "losses.py", "a") as f:
        f.write("\nfrom dipnb.experiments import cells  # against the direction\n")
    bad = subprocess.run([str(LINT_IMPORTS), "--config", str(PKG.parent / "pyproject.toml"), "--no-cache"],
                         capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert bad.returncode != 0 and "dipnb.core.losses -> dipnb.experiments.cells" in bad.stdout, bad.stdout[-2000:]


def test_no_module_imports_the_top_level_package():
    """dipnb/__init__.py re-exports every layer, so a module that imports it imports them all."""
    bad = [f"{path.relative_to(PKG.parent)}:{line}" for mod, path in NAMES.items() if mod != "dipnb"
           for target, _, line in imports_of(path) if resolve(target) == "dipnb"]
    assert not bad, "modules that import the top-level package dipnb: " + ", ".join(bad)


def _graph():
    g = {m: set() for m in NAMES}
    for mod, path in NAMES.items():
        for target, _, _ in imports_of(path):
            t = resolve(target)
            if t != mod:
                g[mod].add(t)
    return g


def find_cycle(graph):
    """A cycle of the directed graph as a list of nodes, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in graph}
    stack = []

    def visit(n):
        color[n] = GREY
        stack.append(n)
        for m in sorted(graph[n]):
            if color[m] == GREY:
                return stack[stack.index(m):] + [m]
            if color[m] == WHITE:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        color[n] = BLACK
        return None

    for n in sorted(graph):
        if color[n] == WHITE:
            c = visit(n)
            if c:
                return c
    return None


def test_no_import_cycle():
    cycle = find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def private_imports(imports) -> list:
    """``(target, name, line)`` for every private name in ``imports`` (from :func:`imports_of`)."""
    return [(t, n, line) for t, names, line in imports for n in names
            if n.startswith("_") and not n.startswith("__")]


def test_no_private_name_crosses_modules():
    bad = [f"{path.relative_to(PKG.parent)}:{line}: from {t} import {n}"
           for path in MODULES for t, n, line in private_imports(imports_of(path))]
    assert not bad, "private names imported from another module (make them public in the lower layer):\n" + \
        "\n".join(bad)


def test_the_private_name_check_catches_one():
    imports = imports_of(PKG / "engine" / "_numba.py")            # a real file: imports ._common
    assert ("dipnb.engine._common", ["SweepResult", "dense", "gammas"]) in [(t, n) for t, n, _ in imports]
    assert private_imports(imports) == []
    assert private_imports([("dipnb.core.network", ["forward", "_helper"], 3)]) == [("dipnb.core.network", "_helper", 3)]
    # a private *module* is fine (rule 4): `from . import _numba` imports no private name
    assert private_imports([("dipnb.engine._numba", [], 1)]) == []


def test_top_level_is_curated():
    src = (PKG / "__init__.py").read_text()
    tree = ast.parse(src)
    assert not any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in tree.body)
    import dipnb
    assert len(dipnb.__all__) <= 60, len(dipnb.__all__)
    missing = [n for n in dipnb.__all__ if not hasattr(dipnb, n)]
    assert not missing
    for sub in ("experiments", "plotting", "report", "engine", "analysis"):
        assert getattr(dipnb, sub).__name__ == f"dipnb.{sub}"


def test_no_module_is_too_long():
    long = {str(p.relative_to(PKG.parent)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 560}
    assert not long, f"modules longer than about 500 lines: {long}"


def test_docstrings_have_no_invalid_escapes():
    """A single backslash in a non-raw docstring is a silent bug (``\\nabla`` is a newline)."""
    for p in MODULES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(p.read_text(), str(p), "exec")


# One fresh interpreter (the zygote) imports the third-party packages dipnb builds on, and
# nothing of dipnb; each dipnb module is then imported in its own forked child, so that no
# dipnb module is loaded before it. This tests the same thing as one interpreter per module
# (a module that works only after another dipnb module was imported fails) at a fraction of
# the cost: torch, numba and scipy are imported once instead of once per module (about 80 s
# of a worker otherwise).
_ZYGOTE = """
import importlib, json, os, sys, traceback
import numpy, scipy, torch, numba          # third-party only
assert not [m for m in sys.modules if m == "dipnb" or m.startswith("dipnb.")]
out = {}
for mod in json.loads(sys.argv[1]):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            importlib.import_module(mod)
            rc, msg = 0, ""
        except BaseException:
            rc, msg = 1, traceback.format_exc()[-2000:]
        os.write(w, msg.encode())
        os._exit(rc)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    out[mod] = [os.waitstatus_to_exitcode(status), b"".join(chunks).decode()]
print(json.dumps(out))
"""


def _import_each_alone(mods) -> dict:
    import json

    r = subprocess.run([sys.executable, "-c", _ZYGOTE, json.dumps(mods)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_every_module_imports_alone_in_a_fresh_interpreter():
    mods = [m for m in NAMES if m != "dipnb.__main__"]
    results = _import_each_alone(mods)
    assert sorted(results) == sorted(mods)
    bad = [f"{m}: {err}" for m, (rc, err) in results.items() if rc != 0]
    assert not bad, "\n".join(bad)


def test_a_module_that_needs_another_first_fails_the_import_check(tmp_path, monkeypatch):
    """The check can fail: a package whose module uses a name only another module defines."""
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import builtins\nbuiltins.FAKE_FROM_A = 1\n")
    (pkg / "b.py").write_text("x = FAKE_FROM_A\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    results = _import_each_alone(["fakepkg.a", "fakepkg.b"])
    assert results["fakepkg.a"][0] == 0 and results["fakepkg.b"][0] != 0, results


def _escape_slips(source: str, name: str) -> list[str]:
    """Docstrings where a single backslash made a *valid* escape: ``\\tau`` -> TAB + "au",
    ``\\nabla`` -> newline + "abla" inside a :math: role (compile() warns only on invalid ones)."""
    import re

    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc and (re.search(r"[\t\a\b\v\f\r]", doc) or re.search(r":math:`[^`]*\n\S", doc)):
                bad.append(f"{name}: {getattr(node, 'name', 'module')}")
    return bad


def test_docstrings_have_no_silent_escapes():
    bad = [hit for p in MODULES for hit in _escape_slips(p.read_text(), str(p.relative_to(PKG.parent)))]
    assert not bad, f"a single backslash made a tab or a newline in these docstrings: {bad}"
    assert _escape_slips('def f():\n    """:math:`x_\\tau` and :math:`\\nabla`"""\n', "demo") == ["demo: f"]
    assert _escape_slips('def f():\n    """:math:`x_\\\\tau`"""\n', "demo") == []
