from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.errors import RunError
from sim.model.schema import Country, Scenario
from sim.runs.results import FINAL_FILES, TABLES, ResultsError, read_manifest
from sim.runs.runner import run_scenario
from sim.runs.simulation import ReplicateResult

from fake_model import failing_replicate, fake_replicate


def tiny(**changes: object) -> Scenario:
    return Scenario(
        name="tiny", months=12, countries=[Country(name="A", districts=2, facilities=10)]
    ).model_copy(update=changes)


def final_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FINAL_FILES.values()}


def test_parts_and_final_files_have_the_documented_columns(tmp_path: Path) -> None:
    out = run_scenario(
        tiny(),
        replicates=3,
        out_dir=tmp_path / "r",
        progress=False,
        replicate_fn=fake_replicate,
    )
    for table in TABLES:
        parts = sorted(p.name for p in (out / "parts" / table).iterdir())
        assert parts == ["r00000.parquet", "r00001.parquet", "r00002.parquet"], table
        part = pd.read_parquet(out / "parts" / table / "r00001.parquet")
        assert set(part["replicate"]) == {1}, f"{table} part should carry its replicate"
    timeseries = pd.read_parquet(out / "timeseries.parquet")
    assert list(timeseries.columns[:3]) == ["replicate", "month", "qoc"]
    assert len(timeseries) == 3 * 13, "one row per replicate and month (months 0..12)"
    practices = pd.read_parquet(out / "practices.parquet")
    assert {"replicate", "month", "practice", "coverage"} <= set(practices.columns)
    countries = pd.read_parquet(out / "countries.parquet")
    assert {"replicate", "month", "country"} <= set(countries.columns)
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["replicate"]) == [0, 1, 2], "one summary row per replicate, in order"
    for column in ["qoc_final", "lost_turnover", "lost_no_channel", "duplication_waste"]:
        assert column in summary.columns, column
    scale = pd.read_csv(out / "time_to_scale.csv")
    assert {"replicate", "practice", "months_to_50", "months_to_80"} <= set(scale.columns)
    assert not list(out.rglob("*.tmp")), "no temporary file should be left behind"


def test_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    one = run_scenario(
        tiny(), replicates=4, out_dir=tmp_path / "one", progress=False, replicate_fn=fake_replicate
    )
    two = run_scenario(
        tiny(),
        replicates=4,
        out_dir=tmp_path / "two",
        workers=2,
        progress=False,
        replicate_fn=fake_replicate,
    )
    assert final_bytes(one) == final_bytes(two), "workers=1 and workers=2 must write equal files"
    other_seed = run_scenario(
        tiny(seed=7),
        replicates=4,
        out_dir=tmp_path / "seed7",
        progress=False,
        replicate_fn=fake_replicate,
    )
    assert final_bytes(one)["summary.csv"] != final_bytes(other_seed)["summary.csv"]


def test_resume_after_a_crash_runs_only_the_missing_replicates(tmp_path: Path) -> None:
    calls: list[int] = []

    def crash_on_3(scenario: Scenario, replicate: int) -> ReplicateResult:
        calls.append(replicate)
        return failing_replicate(scenario, replicate)

    out = tmp_path / "r"
    with pytest.raises(RunError, match="replicate 3 failed: ValueError") as caught:
        run_scenario(tiny(), replicates=6, out_dir=out, progress=False, replicate_fn=crash_on_3)
    assert (caught.value.scenario, caught.value.replicate, caught.value.seed) == ("tiny", 3, 12345)
    assert read_manifest(out)["complete"] is False
    assert not (out / "summary.csv").exists(), "no combined files after a failed run"
    assert len(list((out / "parts" / "summary").iterdir())) == 3, "replicates 0-2 are on disk"

    def counting(scenario: Scenario, replicate: int) -> ReplicateResult:
        calls.append(replicate)
        return fake_replicate(scenario, replicate)

    calls.clear()
    run_scenario(
        tiny(), replicates=6, out_dir=out, resume=True, progress=False, replicate_fn=counting
    )
    assert calls == [3, 4, 5], "finished replicates must not be recomputed"
    manifest = read_manifest(out)
    assert manifest["complete"] is True and len(manifest["resumed"]) == 1
    fresh = run_scenario(
        tiny(), replicates=6, out_dir=tmp_path / "fresh", progress=False, replicate_fn=counting
    )
    assert final_bytes(out) == final_bytes(fresh), "a resumed run equals an uninterrupted one"


def test_a_failure_in_a_worker_keeps_the_finished_replicates(tmp_path: Path) -> None:
    out = tmp_path / "r"
    with pytest.raises(RunError, match="replicate 3") as caught:
        run_scenario(
            tiny(),
            replicates=5,
            out_dir=out,
            workers=2,
            progress=False,
            replicate_fn=failing_replicate,
        )
    assert isinstance(caught.value.__cause__, ValueError)
    written = {p.name for p in (out / "parts" / "summary").iterdir()}
    assert "r00003.parquet" not in written and "r00000.parquet" in written


def test_an_existing_folder_is_never_overwritten_silently(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_scenario(tiny(), replicates=2, out_dir=out, progress=False, replicate_fn=fake_replicate)
    with pytest.raises(ResultsError, match="use --force to replace them or --resume"):
        run_scenario(tiny(), replicates=2, out_dir=out, progress=False, replicate_fn=fake_replicate)
    run_scenario(
        tiny(seed=1),
        replicates=2,
        out_dir=out,
        force=True,
        progress=False,
        replicate_fn=fake_replicate,
    )
    assert read_manifest(out)["seed"] == 1, "--force replaces the folder"


def test_resume_refuses_a_folder_of_another_scenario(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_scenario(tiny(), replicates=2, out_dir=out, progress=False, replicate_fn=fake_replicate)
    with pytest.raises(ResultsError, match=r"different scenario \(differs in: months\)"):
        run_scenario(
            tiny(months=6),
            replicates=2,
            out_dir=out,
            resume=True,
            progress=False,
            replicate_fn=fake_replicate,
        )
    with pytest.raises(ResultsError, match=r"different scenario \(differs in: seed"):
        run_scenario(
            tiny(seed=99),
            replicates=2,
            out_dir=out,
            resume=True,
            progress=False,
            replicate_fn=fake_replicate,
        )


def test_force_never_deletes_a_folder_that_is_not_a_results_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ResultsError, match="was not made by lhsim"):
        run_scenario(
            tiny(),
            replicates=1,
            out_dir=tmp_path,
            force=True,
            progress=False,
            replicate_fn=fake_replicate,
        )
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_the_default_model_is_looked_up_when_the_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sim.runs.runner.run_replicate", fake_replicate)
    out = run_scenario(tiny(), replicates=1, out_dir=tmp_path / "r", progress=False)
    assert (out / "summary.csv").is_file()


def test_bad_counts_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="replicates must be at least 1"):
        run_scenario(tiny(), replicates=0, out_dir=tmp_path, replicate_fn=fake_replicate)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        run_scenario(tiny(), replicates=1, out_dir=tmp_path, workers=0)
