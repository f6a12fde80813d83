"""The command line and the experiments as a new user meets them: errors that name the bad value
with the run subcommand's usage, Ctrl-C that says what was saved and how to resume, progress bars
whose counts match their messages, and results that never replace a committed one."""
import importlib.abc
import json
import re
import runpy
import subprocess
import sys

import numpy as np
import pytest

from dipnb import cli
from dipnb import experiments as E
from dipnb.experiments import registry


@pytest.fixture
def fake(monkeypatch):
    """A registered experiment ``fake`` of three cells that takes no time; ``calls`` lists the
    cells it computed, and ``stop_at`` makes it raise KeyboardInterrupt (Ctrl-C) at that cell."""
    state = {"calls": [], "stop_at": None}

    def run(preset, device, seed, cache, progress):
        def compute(cell):
            if cell == state["stop_at"]:
                raise KeyboardInterrupt
            state["calls"].append(cell)
            return {"v": np.array([cell + seed])}

        cells = E.run_cells("fake", [1, 2, 3], compute, cache, progress, params=dict(seed=seed))
        return {"v": np.concatenate([c["v"] for c in cells])}

    presets = {"quick": {"size": 1}, "paper": {"size": 2}, "paper-cpu": {"size": 3}, "paper-long-3x3": {}}
    monkeypatch.setitem(registry.EXPERIMENTS, "fake", registry.Experiment("fake", "a test experiment", run, presets))
    return state


def usage_error(capsys, argv):
    """Run the command line, expect argparse's exit 2, return stderr."""
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m dipnb run"), err          # the run subcommand's usage
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("device", ["gpu", "CPU"])
def test_misspelled_device(capsys, tmp_path, device):
    err = usage_error(capsys, ["run", "fig1", "--device", device, "--out", str(tmp_path)])
    assert f"unknown device '{device}'; accepted: 'cpu'" in err


def test_out_that_cannot_be_written(capsys, tmp_path, fake):
    afile = tmp_path / "README.md"
    afile.write_text("not a folder\n")
    err = usage_error(capsys, ["run", "fake", "--out", str(afile)])
    assert f"out '{afile}' is a file, not a folder; accepted: a folder" in err
    err = usage_error(capsys, ["run", "fake", "--out", str(afile / "sub")])
    assert f"out '{afile / 'sub'}' cannot be written" in err and "accepted: a folder" in err
    assert afile.read_text() == "not a folder\n"


@pytest.mark.parametrize("seed", ["-1", "2" * 23, "4294967296", "1.5"])
def test_seed_out_of_range(capsys, seed, fake):
    err = usage_error(capsys, ["run", "fake", "--seed", seed])
    assert f"argument --seed: must be an integer in [0, 2**32 - 1] = [0, 4294967295], got '{seed}'" in err


def test_a_preset_the_experiment_lacks_gives_the_run_usage(capsys, tmp_path):
    err = usage_error(capsys, ["run", "sigma-min", "--preset", "paper-cpu", "--out", str(tmp_path)])
    assert "experiment 'sigma-min' has no preset 'paper-cpu'; accepted: 'quick', 'paper'" in err


def test_help_is_plain_text_and_list_shows_presets(capsys):
    for argv in (["--help"], ["run", "--help"]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert not re.search(r"``|:func:|:mod:|:data:|:math:", out), out
    assert re.search(r"--seed SEED\s+the study's seed, an integer in \[0, 2\*\*32 - 1\]", out)
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for name, exp in E.EXPERIMENTS.items():
        assert f"{name}  (presets: {', '.join(exp.presets)})" in out


def test_paper_preset_on_a_cpu_warns(capsys, tmp_path, fake):
    assert cli.main(["run", "fake", "--preset", "paper", "--out", str(tmp_path), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "warning: the preset 'paper'" in err and "hours" in err and "preset 'paper-cpu'" in err
    assert cli.main(["run", "fake", "--preset", "paper-cpu", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_quick_runs_go_to_an_unversioned_folder(capsys, tmp_path, monkeypatch, fake):
    monkeypatch.setenv("DIPNB_RESULTS", str(tmp_path))
    assert cli.main(["run", "fake", "--no-progress"]) == 0
    assert (tmp_path / "quick" / "fake-quick.npz").exists() and not (tmp_path / "fake-quick.npz").exists()
    assert "results/quick/" in open(".gitignore").read().split()


def test_seed_in_the_name_and_no_silent_overwrite(capsys, tmp_path, fake):
    out = str(tmp_path)
    assert cli.main(["run", "fake", "--preset", "paper-cpu", "--out", out, "--no-progress"]) == 0
    assert cli.main(["run", "fake", "--preset", "paper-cpu", "--seed", "1", "--out", out, "--no-progress"]) == 0
    assert np.load(tmp_path / "fake-paper-cpu.npz")["v"].tolist() == [1, 2, 3]              # seed 0
    assert np.load(tmp_path / "fake-paper-cpu-seed1.npz")["v"].tolist() == [2, 3, 4]        # seed 1 beside it
    assert json.loads((tmp_path / "fake-paper-cpu-seed1.json").read_text())["seed"] == 1
    assert E.best_result("fake", out)[1]["v"].tolist() == [1, 2, 3]                          # still found
    (tmp_path / "fake-paper-cpu.json").write_text('{"committed": true}')      # stands for a committed result
    capsys.readouterr()
    err = usage_error(capsys, ["run", "fake", "--preset", "paper-cpu", "--out", out])
    assert "fake-paper-cpu.npz exists already" in err and "--overwrite" in err
    assert (tmp_path / "fake-paper-cpu.json").read_text() == '{"committed": true}'
    assert cli.main(["run", "fake", "--preset", "paper-cpu", "--out", out, "--overwrite", "--no-progress"]) == 0
    assert json.loads((tmp_path / "fake-paper-cpu.json").read_text())["experiment"] == "fake"


def test_run_all_skips_existing_results(capsys, tmp_path, monkeypatch, fake):
    # paper-long-3x3: fig3a (here a stand-in that must not run) and fake; fig3a's result exists
    def must_not_run(*args):
        raise AssertionError("fig3a ran although its result exists")

    monkeypatch.setitem(registry.EXPERIMENTS, "fig3a", registry.Experiment("fig3a", "stand-in", must_not_run,
                                                                          {"paper-long-3x3": {}}))
    for suffix in (".npz", ".json"):
        (tmp_path / f"fig3a-paper-long-3x3{suffix}").write_text("committed")
    assert cli.main(["run", "all", "--preset", "paper-long-3x3", "--out", str(tmp_path), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "fig3a: " in captured.err and "exists already: skipped (--overwrite replaces it)" in captured.err
    assert "fake: saved" in captured.out and (tmp_path / "fig3a-paper-long-3x3.npz").read_text() == "committed"


def test_ctrl_c_says_what_was_saved_and_how_to_resume(capsys, tmp_path, fake):
    argv = ["run", "fake", "--out", str(tmp_path), "--seed", "5"]
    fake["stop_at"] = 2
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted: 1 of 3 cells of 'fake' are saved in" in err
    assert f"to resume: python -m dipnb run fake --out {tmp_path} --seed 5" in err
    assert "fake: 1/3 cells" in err                                      # the bar agrees with the message
    assert "Traceback" not in err and "\r" not in err and "\x1b" not in err
    fake["stop_at"] = None
    assert cli.main(argv) == 0
    assert fake["calls"] == [1, 2, 3]                                  # cell 1 was not computed again
    assert "fake: 3/3 cells" in capsys.readouterr().err


class _InterruptImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "dipnb.cli":
            raise KeyboardInterrupt


def test_ctrl_c_while_starting_gives_one_line(capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "dipnb.cli")
    monkeypatch.delitem(sys.modules, "dipnb.__main__", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_InterruptImport()] + sys.meta_path)
    try:
        runpy.run_module("dipnb", run_name="__main__")
    except SystemExit as e:
        assert e.code == 130
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C while starting escaped as a KeyboardInterrupt (a traceback)")
    assert capsys.readouterr().err.strip() == "interrupted: nothing was run"


def test_cli_in_a_fresh_interpreter(tmp_path):
    """The real entry point: a bad device ends with exit 2 and the run usage, no traceback."""
    r = subprocess.run([sys.executable, "-m", "dipnb", "run", "fig1", "--device", "gpu", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("usage: python -m dipnb run") and "Traceback" not in r.stderr
    assert "unknown device 'gpu'" in r.stderr
