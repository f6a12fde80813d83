"""Experiments: presets, saved results with metadata, resumable sweeps, the command line."""
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

import dipnb


def test_preset_from_environment(monkeypatch):
    monkeypatch.delenv("DIPNB_PRESET", raising=False)
    assert dipnb.experiments.current_preset() == "quick"
    monkeypatch.setenv("DIPNB_PRESET", "paper")
    assert dipnb.experiments.current_preset() == "paper"
    monkeypatch.setenv("DIPNB_PRESET", "huge")
    with pytest.raises(ValueError, match=r"unknown DIPNB_PRESET 'huge'.*'quick', 'paper'"):
        dipnb.experiments.current_preset()


def test_sigma_min_study_is_seeded_and_limits():
    a = dipnb.experiments.sigma_min_vs_width(n=3, ks=[10, 100], runs=4, seed=1)
    b = dipnb.experiments.sigma_min_vs_width(n=3, ks=[10, 100], runs=4, seed=1)
    assert np.array_equal(a["sigma"], b["sigma"]) and a["sigma"].shape == (2, 4)
    act = dipnb.get_activation("sigmoid")
    assert a["limit"] == act.C_dphi ** 2
    both = dipnb.experiments.sigma_min_vs_width(n=3, ks=[10], runs=2, layers="both")
    assert both["limit"] == act.C_phi ** 2 + act.C_dphi ** 2
    # runs split into memory-bounded batches still give one sigma per run
    c = dipnb.experiments.sigma_min_vs_width(n=3, ks=[100], runs=5, seed=1, max_batch=300)
    assert c["sigma"].shape == (1, 5) and np.all(c["sigma"] > 0)


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    calls = []

    def compute(cell):
        if cell == 3 and not calls.count("resumed"):
            raise KeyboardInterrupt          # the user pressed Ctrl-C during the 3rd cell
        calls.append(cell)
        return {"value": np.array([cell * 10.0])}

    with pytest.raises(KeyboardInterrupt, match="2 of 4 cells of 'demo' are saved in"):
        dipnb.experiments.run_cells("demo", [1, 2, 3, 4], compute, tmp_path, progress=False)
    assert calls == [1, 2] and len(list(tmp_path.glob("demo-*.npz"))) == 2
    calls.append("resumed")
    res = dipnb.experiments.run_cells("demo", [1, 2, 3, 4], compute, tmp_path, progress=False)
    assert calls == [1, 2, "resumed", 3, 4]            # cells 1 and 2 were not recomputed
    assert [float(r["value"][0]) for r in res] == [10.0, 20.0, 30.0, 40.0]


def test_run_experiment_saves_metadata(tmp_path):
    dipnb.experiments.run("sigma-min", "quick", out=tmp_path, progress=False)
    arrays, meta = dipnb.experiments.load_result("sigma-min-quick", tmp_path)
    p = dipnb.experiments.SIGMA_MIN_PRESETS["quick"]
    assert arrays["sigma_W"].shape == (len(p["ks"]), p["runs"])
    for key in ("command", "preset", "seed", "parameters", "torch", "numpy", "dipnb", "device",
                "wall_time_s", "date"):
        assert key in meta, key
    assert meta["preset"] == "quick" and meta["parameters"]["ks"] == p["ks"]
    assert not any((tmp_path / ".partial").iterdir())          # partial cells cleaned up
    assert dipnb.experiments.load_result("nothing-here", tmp_path) is None


def test_cli_runs_and_rejects_bad_input(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "dipnb", "run", "sigma-min", "--preset", "quick",
                         "--out", str(tmp_path), "--no-progress"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    meta = json.loads((tmp_path / "sigma-min-quick.json").read_text())
    assert meta["command"].endswith("run sigma-min --preset quick --out " + str(tmp_path) + " --no-progress")
    bad = subprocess.run([sys.executable, "-m", "dipnb", "run", "sigma-min", "--preset", "huge"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'huge'" in bad.stderr
    lst = subprocess.run([sys.executable, "-m", "dipnb", "list"], capture_output=True, text=True)
    assert "sigma-min" in lst.stdout


def test_figure_experiments_are_registered_with_their_presets():
    from dipnb.experiments import EXPERIMENTS, RUN_PRESETS
    for name in ("fig1", "fig2", "gamma-threshold", "fig3a", "fig3b-fig4"):
        assert name in EXPERIMENTS
        assert {"quick", "paper"} <= set(EXPERIMENTS[name].presets) <= set(RUN_PRESETS)


def test_a_preset_an_experiment_lacks_is_named(tmp_path):
    import pytest

    from dipnb.experiments import run
    with pytest.raises(ValueError, match="no preset 'paper-cpu'.*'quick', 'paper'"):
        run("sigma-min", "paper-cpu", out=tmp_path)



def test_table_escapes_and_checks_widths():
    import pytest

    from dipnb.report import Table
    t = Table([{"a": "x|y", "b": 1.5}, {"a": "line\nbreak <b>", "b": 2}])
    lines = str(t).splitlines()
    assert lines[0] == "| a | b |" and lines[1] == "|---|---|"
    assert lines[2] == "| x\\|y | 1.5 |" and lines[3] == "| line break <b> | 2 |"
    html = t._repr_html_()
    assert html.count("<tr>") == 3 and "&lt;b&gt;" in html and "<th>a</th>" in html
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        Table([("only",)], ["a", "b"])
    with pytest.raises(ValueError, match="missing \\['b'\\]"):
        Table([{"a": 1}], ["a", "b"])

def test_results_table_reads_what_run_experiment_saved(tmp_path):
    from dipnb.experiments import results_table, save_result
    meta = {"experiment": "demo", "preset": "paper", "device": "cpu (test)", "wall_time_s": 1.5,
            "command": "python -m dipnb run demo --preset paper", "seed": 0}
    save_result("demo-paper", {"x": [1, 2]}, meta, tmp_path)
    save_result("demo-quick", {"x": [1, 2]}, dict(meta, preset="quick"), tmp_path)
    (tmp_path / "benchmark-cpu.json").write_text("{}")      # not a result: no .npz twin
    rows = results_table(tmp_path)
    assert [(r["experiment"], r["preset"], r["seed"], r["device"], r["file"]) for r in rows] == \
        [("demo", "paper", 0, "cpu (test)", "demo-paper.npz")]                 # a quick run is not listed
    assert [r["file"] for r in results_table(tmp_path, quick=True)] == ["demo-paper.npz", "demo-quick.npz"]


def test_results_table_lists_only_what_git_tracks(tmp_path):
    """In a git work tree (the repository's results/), a result nobody committed is not listed."""
    import shutil

    from dipnb.experiments import results_table, save_result
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    meta = {"experiment": "demo", "preset": "paper-cpu", "seed": 0}
    save_result("demo-paper-cpu", {"x": [1]}, meta, tmp_path)
    subprocess.run(git + ["add", "demo-paper-cpu.npz", "demo-paper-cpu.json"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "a result"], check=True)
    save_result("demo-paper-cpu-seed1", {"x": [2]}, dict(meta, seed=1), tmp_path)     # run, not committed
    assert [r["file"] for r in results_table(tmp_path)] == ["demo-paper-cpu.npz"]
    assert len(results_table(tmp_path, tracked_only=False)) == 2


def test_run_names_the_seed_and_refuses_to_overwrite(tmp_path, monkeypatch):
    from dipnb.experiments.registry import default_out, result_name
    assert result_name("fig1", "paper-cpu", 0) == "fig1-paper-cpu"                # the committed names
    assert result_name("fig1", "paper-cpu", 1) == "fig1-paper-cpu-seed1"
    monkeypatch.setenv("DIPNB_RESULTS", str(tmp_path))
    assert default_out("quick") == tmp_path / "quick" and default_out("paper") == tmp_path
    dipnb.experiments.run("sigma-min", "quick", out=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"sigma-min-quick.npz exists already.*accepted: overwrite=True"):
        dipnb.experiments.run("sigma-min", "quick", out=tmp_path, progress=False)


# --- Ctrl-C and progress in every experiment ------------------------------------------------------

def _interrupt_at(monkeypatch, module, name, call):
    """Make ``module.name`` raise KeyboardInterrupt (Ctrl-C) at its ``call``-th call."""
    original, count = getattr(module, name), []

    def wrapper(*a, **kw):
        count.append(1)
        if len(count) == call:
            raise KeyboardInterrupt
        return original(*a, **kw)

    monkeypatch.setattr(module, name, wrapper)


def _interrupted(call) -> str:
    """The message of the :class:`Interrupted` that ``call()`` raises (a failure if Ctrl-C escapes raw)."""
    try:
        call()
    except dipnb.experiments.Interrupted as e:
        return str(e)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped as a raw KeyboardInterrupt: nothing says what was saved")
    pytest.fail("Ctrl-C was swallowed")


def _tiny(monkeypatch, name):
    """Shrink the quick preset of ``name`` to a few cells of a second or less; return the cell count."""
    from dipnb.experiments import corollary, stepsize, theorem
    if name == "lipschitz":
        monkeypatch.setitem(stepsize.STEPSIZE_PRESETS["quick"], "lipschitz",
                            dict(n=3, m=2, ks=[10, 20], ns=[2, 3], ms=[1], k_fixed=20, runs=2, steps=20, points=2,
                                 iters=10))
        return 2 + 2 + 1, stepsize, "lipschitz_sweep"
    if name == "gamma-sweep":
        monkeypatch.setitem(stepsize.STEPSIZE_PRESETS["quick"], "gamma",
                            dict(n=3, m=2, ks=[10, 20, 30], log10_gammas=[0.0, 1.0], runs=2, steps=50))
        return 3, stepsize, "gradient_descent"
    if name == "condition-vs-convergence":
        monkeypatch.setitem(theorem.CONDITION_VS_CONVERGENCE_PRESETS, "quick", dict(ks=(10, 20, 30), runs=2, steps=50))
        return 3, theorem, "gradient_descent"
    monkeypatch.setitem(corollary.SCALING_PRESETS, "quick",
                        dict(base=dict(n=4, m=2, kappa=2.0), n=[2, 4], m=[2, 3], kappa=[1.5, 3], runs=3, k_ref=50))
    return 6, corollary, "width_scaling"


@pytest.mark.parametrize("name", ["lipschitz", "gamma-sweep", "condition-vs-convergence", "width-scaling"])
def test_every_experiment_saves_its_cells_on_ctrl_c_and_shows_progress(tmp_path, monkeypatch, capsys, name):
    total, module, inner = _tiny(monkeypatch, name)
    with monkeypatch.context() as m:
        _interrupt_at(m, module, inner, 2)                      # Ctrl-C during the second cell
        msg = _interrupted(lambda: dipnb.experiments.run(name, "quick", out=tmp_path, progress=True))
    assert msg.startswith(f"interrupted: 1 of {total} cells of '{name}' are saved in"), msg
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"{name}: 1/{total} cells"), err        # the bar agrees
    assert "\r" not in err and "\x1b" not in err                                     # a log: plain lines
    path = dipnb.experiments.run(name, "quick", out=tmp_path, progress=True)      # the same call resumes
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"{name}: {total}/{total} cells")
    assert path.exists()


def test_fig1_bars_are_named_after_the_figure_and_the_compile_is_announced(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(dipnb.engine, "_KERNEL_READY", False)
    dipnb.experiments.fig1_sweep(n=3, ms=[1, 2], log10_ks_a=[1.0, 1.5], log10_ks_b=[1.0], runs=2, steps=20,
                                 cache=tmp_path, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split(":")[0] for ln in lines if "cells" in ln] == ["fig1a", "fig1b"], lines
    assert any("numba kernel" in ln for ln in lines)
    assert lines.index(next(ln for ln in lines if "numba kernel" in ln)) < \
        lines.index(next(ln for ln in lines if ln.startswith("fig1b")))


def test_gamma_grid_bar_ends_full_and_agrees_with_ctrl_c(capsys, monkeypatch, tmp_path):
    """A cell skipped above the band leaves the bar's total (the bar ends full), and Ctrl-C names
    the bar's own counts, the setup cells included."""
    from dipnb.experiments import fig2
    grid = dict(n=3, m=2, log10_ks=[2.0], log10_gammas=[0.0, 0.5, 3.5, 4.0, 4.5, 5.0], runs=3, steps=1500,
                tol=1e-10)
    fig2.gamma_threshold_sweep(**grid, progress=True)                   # two cells skipped
    assert capsys.readouterr().err.splitlines()[-1].startswith("gamma-threshold: 5/5 cells")
    with monkeypatch.context() as m:
        _interrupt_at(m, fig2, "sweep", 3)                                 # setup and two gamma cells saved
        msg = _interrupted(lambda: fig2.gamma_threshold_sweep(**grid, cache=tmp_path, progress=True))
    assert msg.startswith("interrupted: 3 of 7 cells of 'gamma-threshold'"), msg
    assert capsys.readouterr().err.splitlines()[-1].startswith("gamma-threshold: 3/7 cells")


def test_cells_are_keyed_by_their_parameters(tmp_path):
    """A cached cell is reused only by a call with the same parameters: another step budget (or
    any other parameter the cell depends on) recomputes it instead of reading a stale file."""
    calls = []

    def compute(cell):
        calls.append(cell)
        return {"value": np.array([float(cell)])}

    run = dipnb.experiments.run_cells
    run("demo", [1, 2], compute, tmp_path, params={"steps": 100})
    run("demo", [1, 2], compute, tmp_path, params={"steps": 100})
    assert calls == [1, 2]                                   # same parameters: read back
    run("demo", [2, 3], compute, tmp_path, params={"steps": 100})
    assert calls == [1, 2, 3]                                # a changed grid reuses only its shared cell
    run("demo", [1, 2], compute, tmp_path, params={"steps": 200})
    assert calls == [1, 2, 3, 1, 2]                          # another budget: nothing stale is reused
    assert dipnb.experiments.cell_key("demo", {"steps": 100}, 1) != dipnb.experiments.cell_key("demo", {"steps": 200}, 1)


def test_an_edited_computation_never_reuses_its_old_cells(tmp_path, monkeypatch):
    """Issue 21: a constant written in a cell's code (Fig 1b's ``iters=30``) was in no key, so
    editing it and resuming reused stale cells. The key now carries the code's fingerprint: the
    compute function and the dipnb helpers it calls."""
    import importlib
    import sys

    src = tmp_path / "src"
    src.mkdir()
    mod = src / "dipnb_cell_demo.py"
    monkeypatch.syspath_prepend(str(src))
    cache = tmp_path / "cache"

    def run(iters):
        mod.write_text(f"import numpy as np\n\n\ndef helper(c):\n    return c * {iters:d}\n\n\n"
                       "def compute(c):\n    return {'v': np.array(helper(c))}\n")
        sys.modules.pop("dipnb_cell_demo", None)
        importlib.invalidate_caches()
        m = importlib.import_module("dipnb_cell_demo")
        m.helper.__module__ = m.compute.__module__ = "dipnb.demo"     # a dipnb helper: looked into
        return [float(r["v"]) for r in dipnb.experiments.run_cells("demo", [1, 2], m.compute, cache)]

    assert run(30) == [30.0, 60.0]
    assert run(30) == [30.0, 60.0]                 # read back (same code)
    assert len(list(cache.glob("*.npz"))) == 2
    assert run(3000) == [3000.0, 6000.0]           # the helper's constant changed: recomputed, not stale
    assert len(list(cache.glob("*.npz"))) == 4


def test_results_dir_follows_the_book_not_the_package(tmp_path, monkeypatch):
    book = tmp_path / "mybook"
    (book / "book").mkdir(parents=True)
    (book / "_toc.yml").write_text("root: book/intro\n")
    monkeypatch.delenv("DIPNB_RESULTS", raising=False)
    monkeypatch.chdir(book / "book")                          # chapters run in book/
    assert dipnb.experiments.results_dir() == (book / "results").resolve()
    monkeypatch.chdir(tmp_path)                                # outside any book: ./results
    assert dipnb.experiments.results_dir() == tmp_path.resolve() / "results"
    monkeypatch.setenv("DIPNB_RESULTS", str(tmp_path / "elsewhere"))
    assert dipnb.experiments.results_dir() == tmp_path / "elsewhere"



def test_a_study_keys_its_cells_by_every_argument(tmp_path):
    """Issue 21: the cache key is built from every argument of the study (every preset field),
    not from a hand-written list: a study that lists none still never reuses a stale cell."""
    calls = []

    @dipnb.experiments.cells.keyed
    def study(steps: int = 10, tol: float = 1e-9, cache=None, progress=False):
        def compute(c):
            calls.append((c, steps, tol))
            return {"v": np.array(c * steps)}
        return [float(r["v"]) for r in dipnb.experiments.run_cells("demo-study", [1, 2], compute, cache)]

    assert study(10, cache=tmp_path) == [10.0, 20.0]
    assert study(steps=10, cache=tmp_path, progress=True) == [10.0, 20.0]   # read back: progress is no key
    assert len(calls) == 2
    assert study(10, tol=1e-12, cache=tmp_path) == [10.0, 20.0]              # tol, in no hand list: recomputed
    assert len(calls) == 4
    assert study(30, cache=tmp_path) == [30.0, 60.0]
    assert len(calls) == 6


def test_presets_are_typed_and_checked_against_the_study():
    from dipnb.experiments.registry import Preset, register_study, typed_presets

    P = dipnb.experiments.FIG1_PRESETS["quick"]
    assert isinstance(P, Preset) and P["n"] == P.n and dict(P)["steps"] == P.steps
    with pytest.raises(dataclasses.FrozenInstanceError):
        P.n = 3
    with pytest.raises(KeyError, match="not a parameter"):
        P["stepz"]
    with pytest.raises(ValueError, match=r"\['stepz'\] are not parameters of fig1_sweep; accepted: \['n', "):
        typed_presets(dipnb.experiments.fig1_sweep, {"quick": {"n": 5, "stepz": 3}})

    def study(k: int, runs: int = 2, seed=0, device="cpu", cache=None, progress=False):
        return {"k": k}

    with pytest.raises(ValueError, match="preset 'quick' of study: .*'k'"):
        register_study("demo-typed", study, {"quick": {"runs": 3}}, doc="x")      # k missing: fails at registration
    assert "demo-typed" not in dipnb.experiments.EXPERIMENTS


def test_every_experiment_has_typed_presets_and_a_runner_checks_its_keys():
    from dipnb.experiments.registry import Preset, declared_presets

    assert all(isinstance(p, Preset) for e in dipnb.experiments.EXPERIMENTS.values() for p in e.presets.values())
    with pytest.raises(ValueError, match=r"preset 'paper': keys \['ks', 'kz'\] differ"):
        declared_presets("demo", {"quick": {"n": 2, "ks": [1]}, "paper": {"n": 5, "kz": [1]}})
    with pytest.raises(ValueError, match=r"preset keys \['width'\] are not parameters of sigma_min_vs_width"):
        declared_presets("demo", {"quick": {"n": 2, "width": 3}}, study=dipnb.experiments.sigma_min_vs_width)
    P = declared_presets("demo", {"quick": {"n": 2, "ks": [1, 10]}})["quick"]
    assert dict(P) == {"n": 2, "ks": [1, 10]} and P.ks == [1, 10]
