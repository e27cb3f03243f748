from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.model.schema import Scenario
from sim.runs.results import read_manifest
from sim.runs.simulation import ReplicateResult

from fake_model import failing_replicate, fake_replicate

VALID = """\
name: tiny
months: 12
replicates: 2
countries:
  - name: A
    districts: 2
    facilities: 10
"""
MISSPELT = VALID.replace("months: 12", "monthz: 12")


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(VALID)
    return path


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(MISSPELT)
    return path


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sim.runs.runner.run_replicate", fake_replicate)


@pytest.mark.parametrize("command", [[], ["validate"], ["run"]])
def test_help_is_available_everywhere(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: lhsim" in capsys.readouterr().out


def test_validate_a_valid_file(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(scenario_file)]) == 0
    assert capsys.readouterr().out.strip() == f"ok  {scenario_file}"


def test_validate_reports_each_problem(
    scenario_file: Path, bad_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(scenario_file), str(bad_file)]) == 2
    out = capsys.readouterr().out
    assert f"ok  {scenario_file}" in out
    assert "monthz" in out, f"the misspelt key should be named: {out}"


def test_run_a_bad_file_exits_2_without_traceback(
    bad_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(bad_file), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "monthz" in captured.err, f"the problem should be on stderr: {captured.err}"
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "r").exists(), "nothing is written for an invalid scenario"


def test_run_writes_results_figures_and_a_summary(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    code = main(["run", str(scenario_file), "--out", str(out), "--seed", "7", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    assert "final quality of care" in printed and "staff turnover" in printed
    manifest = read_manifest(out)
    assert manifest["seed"] == 7 and manifest["scenario"]["seed"] == 7, "--seed overrides"
    assert manifest["replicates"] == 2, "replicates default to the scenario's"
    assert manifest["command"][:2] == ["lhsim", "run"]
    for name in ("qoc.png", "loss_ledger.png", "coverage.png"):
        assert (out / "figures" / name).is_file(), name


def test_run_refuses_to_overwrite_then_forces_and_resumes(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ["run", str(scenario_file), "--out", str(tmp_path / "r"), "--quiet"]
    assert main([*run, "--replicates", "1"]) == 0
    capsys.readouterr()
    assert main(run) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "--resume" in err and "Traceback" not in err
    assert main([*run, "--resume", "--replicates", "3"]) == 0
    assert read_manifest(tmp_path / "r")["replicates"] == 3
    assert main([*run, "--force"]) == 0


def test_run_rejects_an_out_of_range_seed(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", str(scenario_file), "--out", str(tmp_path / "r"), "--seed", "-1"])
    assert exited.value.code == 2
    assert "--seed: must be between 0 and" in capsys.readouterr().err


def test_a_failed_run_exits_1_and_points_to_resume(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sim.runs.runner.run_replicate", failing_replicate)
    out = tmp_path / "r"
    assert main(["run", str(scenario_file), "--out", str(out), "--replicates", "5", "-q"]) == 1
    err = capsys.readouterr().err
    assert "replicate 3" in err and "seed 12345" in err and "--resume" in err
    assert "Traceback" not in err
    monkeypatch.setattr("sim.runs.runner.run_replicate", fake_replicate)
    assert main(["run", str(scenario_file), "--out", str(out), "--replicates", "5", "-q"]) == 2
    resumed = ["run", str(scenario_file), "--out", str(out), "--replicates", "5", "--resume"]
    assert main([*resumed, "--quiet"]) == 0


def test_debug_shows_the_traceback(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sim.runs.runner.run_replicate", failing_replicate)
    run = ["--debug", "run", str(scenario_file), "--out", str(tmp_path / "r"), "--quiet"]
    with pytest.raises(Exception, match="replicate 3 failed"):
        main([*run, "--replicates", "5"])


def test_interrupt_exits_130_and_points_to_resume(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def interrupted(scenario: Scenario, replicate: int) -> ReplicateResult:
        raise KeyboardInterrupt

    monkeypatch.setattr("sim.runs.runner.run_replicate", interrupted)
    assert main(["run", str(scenario_file), "--out", str(tmp_path / "r"), "--quiet"]) == 130
    assert "--resume" in capsys.readouterr().err


def test_python_dash_m_sim_is_the_command(scenario_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(scenario_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok  {scenario_file}"
