"""Results folders: --force removes only what lhsim wrote; names; one writer at a time."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.model.parameters import check_name
from sim.model.schema import Country, Scenario
from sim.runs.folders import (
    LOCK,
    MARKER,
    FolderLock,
    FolderLockedError,
    clear_folder,
    folder_kind,
)
from sim.runs.results import ResultsError, read_manifest
from sim.runs.runner import run_scenario

from fake_model import fake_replicate

SCENARIO = """\
name: {name}
months: 6
replicates: 2
countries:
  - name: A
    districts: 2
    facilities: 10
"""


def tiny(**changes: object) -> Scenario:
    return Scenario(
        name="tiny", months=6, countries=[Country(name="A", districts=2, facilities=10)]
    ).model_copy(update=changes)


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sim.runs.runner.run_replicate", fake_replicate)


def scenario_file(folder: Path, name: str = "small", file: str = "small.yaml") -> Path:
    path = folder / file
    path.write_text(SCENARIO.format(name=json.dumps(name)))
    return path


def foreign_folder(folder: Path) -> Path:
    """The issue's reproducer: a folder with a manifest.json that lhsim did not write."""
    (folder / "src").mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "src" / "code.js").write_text("x")
    return folder


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize("name", ["..", ".", "a/b", "..\\x", "tab\there", "", "   ", "x" * 121])
def test_names_that_could_leave_the_results_folder_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        check_name(name)


@pytest.mark.parametrize("name", ["Country I", "v1.2-draft", "demo_2"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_name(name) == name


def test_run_refuses_a_scenario_named_dot_dot(tmp_path: Path, capsys, monkeypatch) -> None:
    file = scenario_file(tmp_path, "..")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(file), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "letter or digit" in err and "Traceback" not in err, err
    assert not (tmp_path / "results").exists(), "nothing is written for a refused name"


def test_compare_refuses_a_scenario_named_with_a_separator(tmp_path: Path, capsys) -> None:
    good = scenario_file(tmp_path, "base", "base.yaml")
    bad = scenario_file(tmp_path, "../escape", "bad.yaml")
    code = main(["compare", str(good), str(bad), "--out", str(tmp_path / "c"), "--quiet"])
    assert code == 2
    assert "must not contain /" in capsys.readouterr().err


def test_sweep_refuses_an_experiment_named_dot_dot(tmp_path: Path, capsys) -> None:
    file = tmp_path / "e.yaml"
    file.write_text(
        textwrap.dedent(
            """\
            name: ".."
            model: ishigami
            parameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}
            method: sobol
            samples: 8
            outputs: [y]
            """
        )
    )
    assert main(["sweep", str(file), "--executor", "serial", "-q"]) == 2
    assert "letter or digit" in capsys.readouterr().err


def calibration_file(folder: Path, name: str) -> Path:
    (folder / "nodes.csv").write_text("id,group,adoption_time\na1,A,1\na2,A,\na3,A,2\n")
    path = folder / "fit.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: {json.dumps(name)}
            data: {{nodes: nodes.csv, time_unit: month, periods: 3}}
            parameters:
              - name: reach
                key: channels.peer_network.full_mixing_rate
                prior: {{distribution: uniform, low: 0.0, high: 1.0}}
            """
        )
    )
    return path


def test_calibrate_refuses_a_fit_named_dot_dot(tmp_path: Path, capsys, monkeypatch) -> None:
    file = calibration_file(tmp_path, "..")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.txt").write_text("keep")
    assert main(["calibrate", str(file), "--force", "--executor", "serial", "-q"]) == 2
    assert "letter or digit" in capsys.readouterr().err
    assert (tmp_path / "results" / "keep.txt").read_text() == "keep"


# --------------------------------------------------------------------------- --force
def test_run_force_leaves_a_folder_lhsim_did_not_make(tmp_path: Path, capsys) -> None:
    out = foreign_folder(tmp_path / "p")
    file = scenario_file(tmp_path)
    assert main(["run", str(file), "--force", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not made by lhsim" in err and "Traceback" not in err, err
    assert (out / "src" / "code.js").read_text() == "x", "--force must not delete src/"
    assert (out / "manifest.json").read_text() == "{}"


def test_sweep_force_leaves_a_folder_lhsim_did_not_make(tmp_path: Path, capsys) -> None:
    out = foreign_folder(tmp_path / "p")
    file = tmp_path / "e.yaml"
    file.write_text(
        "name: e\nmodel: ishigami\nparameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}\n"
        "method: sobol\nsamples: 8\noutputs: [y]\n"
    )
    args = ["sweep", str(file), "--force", "--out", str(out), "--executor", "serial", "-q"]
    assert main(args) == 2
    assert "not made by lhsim" in capsys.readouterr().err
    assert (out / "src" / "code.js").read_text() == "x"


def test_calibrate_force_leaves_a_folder_lhsim_did_not_make(tmp_path: Path, capsys) -> None:
    out = foreign_folder(tmp_path / "p")
    file = calibration_file(tmp_path, "fit")
    args = ["calibrate", str(file), "--force", "--out", str(out), "--executor", "serial", "-q"]
    assert main(args) == 2
    assert "not made by lhsim" in capsys.readouterr().err
    assert (out / "src" / "code.js").read_text() == "x"


def test_force_removes_what_the_run_wrote_and_keeps_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_scenario(tiny(), replicates=2, out_dir=out, progress=False, replicate_fn=fake_replicate)
    assert folder_kind(out) == "run"
    (out / "notes.md").write_text("mine")
    (out / "parts" / "summary" / "mine.txt").write_text("mine too")
    run_scenario(
        tiny(seed=7),
        replicates=1,
        out_dir=out,
        force=True,
        progress=False,
        replicate_fn=fake_replicate,
    )
    assert read_manifest(out)["seed"] == 7
    assert not (out / "parts" / "summary" / "r00001.parquet").exists(), "old parts are gone"
    assert (out / "notes.md").read_text() == "mine"
    assert (out / "parts" / "summary" / "mine.txt").read_text() == "mine too"


def test_force_refuses_a_folder_of_another_kind(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text(json.dumps({"kind": "sweep"}))
    (tmp_path / "runs.parquet").write_text("x")
    with pytest.raises(ResultsError, match="results of a sweep, not of a run"):
        clear_folder(tmp_path, "run", ("runs.parquet",))
    assert (tmp_path / "runs.parquet").exists()


def test_clear_folder_never_follows_a_link_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "r").mkdir(parents=True)
    (outside / "r" / "r00000.parquet").write_text("keep")
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / MARKER).write_text(json.dumps({"kind": "run"}))
    (folder / "parts").symlink_to(outside)
    clear_folder(folder, "run", ("parts/*/r*.parquet",))
    assert (outside / "r" / "r00000.parquet").read_text() == "keep"


# --------------------------------------------------------------------------- the lock
def test_a_second_writer_is_refused_with_exit_2(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r"
    file = scenario_file(tmp_path)
    with FolderLock(out, ["lhsim", "run", "other.yaml"]):
        assert main(["run", str(file), "--out", str(out), "--force", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "being written by another lhsim command" in err, err
    assert f"process {os.getpid()} on host {socket.gethostname()}" in err, err
    assert "other.yaml" in err
    assert not (out / "summary.csv").exists()
    assert main(["run", str(file), "--out", str(out), "--quiet"]) == 0, "free once released"
    assert not (out / LOCK).exists(), "the lock file is removed when the writer ends"


def test_two_sweeps_resuming_one_folder_do_not_both_write(tmp_path: Path) -> None:
    from sim.sweeps.experiment_file import load_experiment
    from sim.sweeps.sweep import run_sweep

    file = tmp_path / "e.yaml"
    file.write_text(
        "name: e\nmodel: ishigami\nparameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}\n"
        "method: sobol\nsamples: 8\noutputs: [y]\n"
    )
    experiment = load_experiment(file)
    out = tmp_path / "s"
    with FolderLock(out), pytest.raises(FolderLockedError):
        run_sweep(experiment, out_dir=out, resume=True, progress=False)


def test_a_stale_lock_of_a_killed_writer_is_taken_over(tmp_path: Path, caplog) -> None:
    out = tmp_path / "r"
    out.mkdir()
    # a writer killed with SIGKILL leaves its lock file, but the kernel has released it
    script = (
        "import os, sys\n"
        "from sim.runs.folders import FolderLock\n"
        f"FolderLock({str(out)!r}, ['lhsim', 'run', 'killed.yaml']).acquire()\n"
        "os.kill(os.getpid(), 9)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", script], env=env, check=False, timeout=120)
    assert "killed.yaml" in (out / LOCK).read_text(), "the killed writer left its lock file"
    with caplog.at_level("WARNING", logger="sim.runs.folders"), FolderLock(out):
        pass
    assert "stale lock" in caplog.text and "killed.yaml" in caplog.text


def test_out_naming_an_existing_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    target = tmp_path / "taken"
    target.write_text("a file")
    file = scenario_file(tmp_path)
    assert main(["run", str(file), "--out", str(target), "--quiet"]) == 2
    assert main(["run", str(file), "--out", str(target / "below"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is not a folder" in err and "Errno" not in err and "Traceback" not in err, err
    assert target.read_text() == "a file"


def test_report_refuses_a_folder_being_written(tmp_path: Path, capsys) -> None:
    from sim.runs.simulation import run_replicate

    out = tmp_path / "r"
    run_scenario(tiny(), replicates=2, out_dir=out, progress=False, replicate_fn=run_replicate)
    with FolderLock(out, ["lhsim", "run", "again.yaml"]):
        assert main(["report", str(out)]) == 2
    assert "being written by another lhsim command" in capsys.readouterr().err
    assert main(["report", str(out)]) == 0
    assert not (out / LOCK).exists()
