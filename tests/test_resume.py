"""Resume checks contents: input files, part checksums, replicate counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.cli.main import main
from sim.config.scenario import load_scenario
from sim.errors import RunError
from sim.fitting.calibration_run import _prepare as prepare_calibration
from sim.model.schema import Scenario
from sim.runs.results import ResultsError, combine_parts, read_manifest
from sim.runs.runner import run_scenario
from sim.runs.simulation import ReplicateResult

from fake_model import fake_replicate

FACILITIES = "id,district,level,sector,staff\n" + "".join(
    f"f{i},D{i % 2},health_centre,public,10\n" for i in range(8)
)


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sim.runs.runner.run_replicate", fake_replicate)


def listed_scenario(folder: Path) -> Path:
    (folder / "facilities.csv").write_text(FACILITIES)
    path = folder / "listed.yaml"
    path.write_text(
        "name: listed\nmonths: 6\nreplicates: 8\n"
        "countries:\n  - name: A\n    facility_file: facilities.csv\n"
    )
    return path


def fail_from(first: int):
    def replicate(scenario: Scenario, replicate: int) -> ReplicateResult:
        if replicate >= first:
            raise ValueError("stopped")
        return fake_replicate(scenario, replicate)

    return replicate


def test_a_facility_file_edited_before_resume_is_named(tmp_path: Path) -> None:
    scenario = load_scenario(listed_scenario(tmp_path))
    out = tmp_path / "r"
    with pytest.raises(RunError):
        run_scenario(scenario, replicates=4, out_dir=out, progress=False, replicate_fn=fail_from(2))
    assert str(tmp_path / "facilities.csv") in read_manifest(out)["inputs"]
    (tmp_path / "facilities.csv").write_text(FACILITIES.replace(",10\n", ",11\n"))
    with pytest.raises(ResultsError, match="facilities.csv changed since the run started"):
        run_scenario(
            load_scenario(tmp_path / "listed.yaml"),
            replicates=4,
            out_dir=out,
            resume=True,
            progress=False,
            replicate_fn=fake_replicate,
        )


def test_resume_with_fewer_replicates_is_an_error_not_a_shrink(tmp_path: Path, capsys) -> None:
    file = listed_scenario(tmp_path)
    out = tmp_path / "r"
    assert main(["run", str(file), "--out", str(out), "--quiet"]) == 0
    before = pd.read_csv(out / "summary.csv")
    assert len(before) == 8
    assert main(["run", str(file), "--out", str(out), "--resume", "--replicates", "4", "-q"]) == 2
    err = capsys.readouterr().err
    assert "holds a run of 8 replicates" in err and "--replicates 8" in err, err
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), before)


def finished_run(tmp_path: Path, name: str = "r", replicates: int = 5) -> Path:
    scenario = load_scenario(listed_scenario(tmp_path))
    return run_scenario(
        scenario,
        replicates=replicates,
        out_dir=tmp_path / name,
        progress=False,
        replicate_fn=fake_replicate,
    )


def resume(tmp_path: Path, out: Path, function=fake_replicate, replicates: int = 5) -> Path:
    return run_scenario(
        load_scenario(tmp_path / "listed.yaml"),
        replicates=replicates,
        out_dir=out,
        resume=True,
        progress=False,
        replicate_fn=function,
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:40]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: shutil.copyfile(p.with_name("r00002.parquet"), p), id="copied-over"),
    ],
)
def test_a_damaged_part_is_reported_and_run_again(tmp_path: Path, damage, caplog) -> None:
    out = finished_run(tmp_path)
    fresh = pd.read_csv(out / "summary.csv")
    damage(out / "parts" / "summary" / "r00003.parquet")
    calls: list[int] = []

    def counting(scenario: Scenario, replicate: int) -> ReplicateResult:
        calls.append(replicate)
        return fake_replicate(scenario, replicate)

    with caplog.at_level("WARNING"):
        resume(tmp_path, out, counting)
    assert "r00003.parquet cannot be trusted" in caplog.text
    assert calls == [3], "only the damaged replicate runs again"
    summary = pd.read_csv(out / "summary.csv")
    assert summary["replicate"].tolist() == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(summary, fresh)
    manifest = read_manifest(out)
    assert manifest["complete"] and "summary/r00003.parquet" in manifest["parts"]


def test_a_failed_resume_keeps_the_summary(tmp_path: Path, capsys) -> None:
    out = finished_run(tmp_path)
    (out / "parts" / "summary" / "r00001.parquet").write_bytes(b"PAR1")
    with pytest.raises(RunError):
        resume(tmp_path, out, fail_from(0))
    assert (out / "summary.csv").is_file(), "a failed resume must not delete summary.csv"


def test_combining_an_unreadable_part_is_a_clear_error(tmp_path: Path) -> None:
    out = finished_run(tmp_path)
    (out / "parts" / "timeseries" / "r00000.parquet").write_bytes(b"")
    with pytest.raises(ResultsError, match=r"r00000.parquet cannot be read .*--resume"):
        combine_parts(out, 5)
    assert (out / "summary.csv").is_file()


def test_a_sweep_part_damaged_before_resume_is_run_again(tmp_path: Path, caplog) -> None:
    from sim.sweeps.experiment_file import load_experiment
    from sim.sweeps.sweep import read_runs, run_sweep

    file = tmp_path / "e.yaml"
    file.write_text(
        "name: e\nmodel: ishigami\nparameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}\n"
        "method: sobol\nsamples: 8\nreplicates: 2\noutputs: [y]\n"
    )
    experiment = load_experiment(file)
    out = tmp_path / "s"
    run_sweep(experiment, out_dir=out, progress=False, flush_rows=10)
    whole = read_runs(out).drop(columns="seconds")
    parts = sorted((out / "parts").glob("runs-*.parquet"))
    assert len(parts) > 2
    parts[1].write_bytes(parts[1].read_bytes()[:50])
    with caplog.at_level("WARNING"):
        outcome = run_sweep(experiment, out_dir=out, resume=True, progress=False)
    assert "cannot be trusted" in caplog.text
    assert outcome.skipped < outcome.runs
    pd.testing.assert_frame_equal(read_runs(out).drop(columns="seconds"), whole)


def test_calibration_resume_refuses_changed_data(tmp_path: Path) -> None:
    (tmp_path / "abc.db").write_text("")
    (tmp_path / "manifest.json").write_text(json.dumps({"inputs": {"nodes.csv": "a" * 64}}))
    with pytest.raises(ResultsError, match="nodes.csv changed since the run started"):
        prepare_calibration(tmp_path, False, True, {"nodes.csv": "b" * 64})
    assert prepare_calibration(tmp_path, False, True, {"nodes.csv": "a" * 64}) is True
