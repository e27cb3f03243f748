"""Sweeps end to end: Ishigami recovery, seed noise, resume after a kill, determinism."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.runs.executors import DaskEvaluator, ProcessEvaluator, SerialEvaluator
from sim.runs.results import ResultsError, read_manifest
from sim.sweeps.experiment_file import load_experiment
from sim.sweeps.ishigami import analytic_indices
from sim.sweeps.sensitivity import AnalysisError, analyze_sweep
from sim.sweeps.sweep import read_runs, run_sweep

ROOT = Path(__file__).resolve().parents[1]
ISHIGAMI = ROOT / "experiments" / "validation" / "ishigami.yaml"
PI = math.pi


def ishigami_file(tmp_path: Path, name: str = "ish", **changes: object) -> Path:
    experiment: dict = {
        "name": name,
        "model": "ishigami",
        "parameters": {"x1": [-PI, PI], "x2": [-PI, PI], "x3": [-PI, PI]},
        "method": "sobol",
        "samples": 16,
        "replicates": 2,
        "outputs": ["y"],
        "seed": 5,
        "settings": {"noise_sd": 1.0},
    }
    experiment.update(changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def runs_without_timing(folder: Path) -> pd.DataFrame:
    return read_runs(folder).drop(columns="seconds")


# --------------------------------------------------------------------------- known answers
def test_ishigami_recovers_the_analytic_indices_within_their_intervals(tmp_path: Path) -> None:
    experiment = load_experiment(ISHIGAMI)
    run_sweep(experiment, out_dir=tmp_path / "ish", progress=False)
    indices = analyze_sweep(tmp_path / "ish").indices.set_index("parameter")
    truth = analytic_indices()
    for name in ("x1", "x2", "x3"):
        for key in ("S1", "ST"):
            estimate, interval = indices.loc[name, key], indices.loc[name, f"{key}_conf"]
            expected = truth[key][name]
            assert abs(estimate - expected) <= interval, (
                f"{key}({name}) = {estimate:.3f} +/- {interval:.3f}, analytic {expected:.3f}"
            )
            assert interval < 0.1, f"the interval of {key}({name}) is too wide to mean much"
    written = pd.read_csv(tmp_path / "ish" / "indices.csv")
    assert list(written.columns[:6]) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert (tmp_path / "ish" / "figures" / "y.png").stat().st_size > 0


def test_seed_noise_share_matches_the_added_noise(tmp_path: Path) -> None:
    sd = 2.0
    path = ishigami_file(
        tmp_path, method="rbd_fast", samples=400, replicates=4, settings={"noise_sd": sd}
    )
    run_sweep(load_experiment(path), out_dir=tmp_path / "noisy", progress=False)
    noise = analyze_sweep(tmp_path / "noisy", figures=False).noise.iloc[0]
    variance = analytic_indices()["variance"]["Y"]
    expected = sd**2 / (variance + sd**2)
    assert noise["seed_noise_share_low"] <= expected <= noise["seed_noise_share_high"], noise
    assert abs(noise["seed_noise_share"] - expected) < 0.05
    assert abs(noise["within_variance"] - sd**2) < 0.5


def test_no_noise_gives_a_zero_seed_noise_share(tmp_path: Path) -> None:
    path = ishigami_file(
        tmp_path, method="latin", samples=50, replicates=2, settings={"noise_sd": 0.0}
    )
    run_sweep(load_experiment(path), out_dir=tmp_path / "clean", progress=False)
    analysis = analyze_sweep(tmp_path / "clean", figures=False)
    assert analysis.noise.iloc[0]["seed_noise_share"] == 0.0
    assert (analysis.indices["seed_noise_share"] == 0.0).all()


def test_morris_screens_out_a_parameter_without_effect(tmp_path: Path) -> None:
    path = ishigami_file(
        tmp_path,
        method="morris",
        samples=20,
        replicates=1,
        parameters={"x1": [-PI, PI], "x2": [-PI, PI], "x3": [-0.01, 0.01]},
        settings={},
    )
    run_sweep(load_experiment(path), out_dir=tmp_path / "morris", progress=False)
    indices = analyze_sweep(tmp_path / "morris").indices.set_index("parameter")
    assert indices.loc["x3", "mu_star"] < 1e-6, "x3 on [-0.01, 0.01] moves y by at most 1e-9"
    assert indices.loc["x1", "mu_star"] > 0.5 and indices.loc["x2", "mu_star"] > 0.5
    assert (tmp_path / "morris" / "figures" / "y.png").is_file()


# --------------------------------------------------------------------------- determinism
def test_results_do_not_depend_on_the_executor(tmp_path: Path) -> None:
    experiment = load_experiment(ishigami_file(tmp_path))
    evaluators = {
        "serial": SerialEvaluator(),
        "processes1": ProcessEvaluator(1),
        "processes2": ProcessEvaluator(2),
        "dask": DaskEvaluator(2, processes=False),
    }
    frames = {}
    for name, evaluator in evaluators.items():
        run_sweep(experiment, out_dir=tmp_path / name, evaluator=evaluator, progress=False)
        frames[name] = runs_without_timing(tmp_path / name)
    assert len(frames["serial"]) == 16 * 5 * 2
    assert frames["serial"]["y"].std() > 0
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame, frames["serial"], obj=name)
    assert "DaskEvaluator" in read_manifest(tmp_path / "dask")["executor"]


@pytest.mark.slow
def test_dask_local_cluster_with_worker_processes_gives_the_same_rows(tmp_path: Path) -> None:
    experiment = load_experiment(ishigami_file(tmp_path))
    run_sweep(experiment, out_dir=tmp_path / "serial", progress=False)
    run_sweep(experiment, out_dir=tmp_path / "dask", evaluator=DaskEvaluator(2), progress=False)
    pd.testing.assert_frame_equal(
        runs_without_timing(tmp_path / "dask"), runs_without_timing(tmp_path / "serial")
    )


SIMULATOR_EXPERIMENT = {
    "name": "tiny_levers",
    "scenario": "tiny.yaml",
    "parameters": {
        "countries.0.turnover.annual": [0.05, 0.4],
        "countries.0.blame.facility": [0.1, 0.9],
    },
    "method": "latin",
    "samples": 9,
    "replicates": 2,
    "outputs": [
        "qoc_final",
        {"name": "qoc_mean_last3", "column": "qoc", "statistic": "mean", "last_months": 3},
    ],
    "seed": 8,
}
TINY = (
    "name: tiny\nmonths: 8\npractices: {count: 6}\n"
    "countries: [{name: A, districts: 2, facilities: 30}]\n"
)


def test_simulator_sweeps_match_lhsim_runs_and_every_executor(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(SIMULATOR_EXPERIMENT))
    experiment = load_experiment(path)
    run_sweep(experiment, out_dir=tmp_path / "serial", progress=False)
    run_sweep(
        experiment, out_dir=tmp_path / "processes", evaluator=ProcessEvaluator(2), progress=False
    )
    serial = runs_without_timing(tmp_path / "serial")
    pd.testing.assert_frame_equal(runs_without_timing(tmp_path / "processes"), serial)
    assert (serial["error"] == "").all()
    # A run of the sweep is the run of `lhsim run` with the same values and seed.
    from sim.runs.simulation import run_replicate

    row = serial.iloc[3]
    config = experiment.model.build(
        {name: row[name] for name in experiment.names}, int(row["seed"])
    )
    direct = run_replicate(config, int(row["replicate"]))  # type: ignore[arg-type]
    assert direct.summary["qoc_final"] == row["qoc_final"]
    assert direct.timeseries["qoc"].iloc[-3:].mean() == pytest.approx(row["qoc_mean_last3"])


# --------------------------------------------------------------------------- storage
KILLER = """
import os, sys
from pathlib import Path
import sim.sweeps.sweep
from sim.sweeps.experiment_file import load_experiment

original = sim.sweeps.sweep._write_part
calls = []

def dying_write(folder, index, rows):
    calls.append(index)
    if len(calls) == 3:  # die in the middle of writing the third part
        (folder / "parts" / ".runs-half.parquet.tmp").write_bytes(b"PAR1 half a file")
        os._exit(9)
    original(folder, index, rows)

sim.sweeps.sweep._write_part = dying_write
sim.sweeps.sweep.run_sweep(load_experiment(sys.argv[1]), out_dir=Path(sys.argv[2]),
                    progress=False, flush_rows=25)
"""


def test_resume_after_a_kill_loses_and_repeats_nothing(tmp_path: Path) -> None:
    path = ishigami_file(tmp_path)
    killed = tmp_path / "killed"
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLER), str(path), str(killed)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 9, child.stderr
    parts = sorted((killed / "parts").glob("runs-*.parquet"))
    assert len(parts) == 2, "two parts were written before the kill"
    assert not (killed / "runs.parquet").exists()
    assert read_manifest(killed)["complete"] is False

    experiment = load_experiment(path)
    with pytest.raises(ResultsError, match="--resume"):
        run_sweep(experiment, out_dir=killed, progress=False)
    written = sum(len(pd.read_parquet(part)) for part in parts)
    outcome = run_sweep(experiment, out_dir=killed, resume=True, progress=False)
    assert 0 < written < 160 and outcome.skipped == written, "runs in the parts are not rerun"
    resumed = runs_without_timing(killed)
    assert resumed["run_id"].tolist() == list(range(160)), "every run once, none twice"

    run_sweep(experiment, out_dir=tmp_path / "whole", progress=False)
    pd.testing.assert_frame_equal(resumed, runs_without_timing(tmp_path / "whole"))
    manifest = read_manifest(killed)
    assert manifest["complete"] is True and len(manifest["resumed"]) == 1
    assert not list((killed / "parts").glob(".*.tmp")), "the half-written part is cleared"


def test_resume_refuses_a_different_experiment(tmp_path: Path) -> None:
    run_sweep(load_experiment(ishigami_file(tmp_path)), out_dir=tmp_path / "out", progress=False)
    changed = load_experiment(ishigami_file(tmp_path, seed=6))
    with pytest.raises(ResultsError, match="different sweep.*seed"):
        run_sweep(changed, out_dir=tmp_path / "out", resume=True, progress=False)


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    experiment = dict(SIMULATOR_EXPERIMENT)
    # Fewer facilities than districts is invalid: the low end of this range fails.
    experiment["parameters"] = {"countries.0.facilities": [1, 40]}
    experiment["settings"] = {"countries.0.districts": 10}
    experiment["samples"] = 10
    experiment["replicates"] = 1
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment))
    outcome = run_sweep(
        load_experiment_allowing_bad_low_end(path), out_dir=tmp_path / "out", progress=False
    )
    runs = read_runs(tmp_path / "out")
    failed = runs[runs["error"] != ""]
    assert outcome.failed == len(failed) > 0 and len(runs) == 10
    assert (failed["countries.0.facilities"] < 10).all()
    assert failed["error"].str.contains("at least districts").all()
    assert runs.loc[runs["error"] == "", "qoc_final"].notna().all()
    with pytest.raises(AnalysisError, match="failed"):
        analyze_sweep(tmp_path / "out")


def load_experiment_allowing_bad_low_end(path: Path):  # type: ignore[no-untyped-def]
    """The range check rejects [1, 40] up front; build the experiment around it."""
    from sim.errors import ScenarioError

    with pytest.raises(ScenarioError, match="low bound is not allowed"):
        load_experiment(path)
    document = yaml.safe_load(path.read_text())
    document["parameters"] = {"countries.0.facilities": [10, 40]}
    path.write_text(yaml.safe_dump(document))
    experiment = load_experiment(path)
    spec = experiment.spec.model_copy(
        update={"parameters": {"countries.0.facilities": [1.0, 40.0]}}
    )
    experiment.spec = spec
    return experiment


# --------------------------------------------------------------------------- command line
def test_cli_sweep_and_analyze_run_the_ishigami_self_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    code = main(["sweep", str(ISHIGAMI), "--out", str(out), "--workers", "2", "-q"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "5,120 runs" in printed and "ProcessEvaluator(workers=2)" in printed
    first = pd.read_csv(out / "indices.csv")
    (out / "indices.csv").unlink()
    assert main(["analyze", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), first)
    truth = analytic_indices()
    for row in first.itertuples():
        assert abs(row.ST - truth["ST"][row.parameter]) <= row.ST_conf


def test_cli_reports_bad_experiments_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ishigami_file(tmp_path, method="sobbol", samples=10)
    assert main(["sweep", str(path), "--out", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err
    assert "did you mean 'sobol'" in error and "Traceback" not in error
    assert not (tmp_path / "x").exists(), "nothing runs when the file is bad"


def test_cli_scheduler_needs_the_dask_executor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = ishigami_file(tmp_path)
    code = main(["sweep", str(path), "--scheduler", "tcp://127.0.0.1:1"])
    assert code == 1 and "--scheduler needs --executor dask" in capsys.readouterr().err


def test_cli_analyze_of_an_unfinished_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["analyze", str(tmp_path)])
    assert code == 2 and "not an lhsim results folder" in capsys.readouterr().err


def test_results_folder_layout(tmp_path: Path) -> None:
    run_sweep(load_experiment(ishigami_file(tmp_path)), out_dir=tmp_path / "out", progress=False)
    runs = read_runs(tmp_path / "out")
    expected = ["run_id", "point", "replicate", "seed", "x1", "x2", "x3", "y", "error", "seconds"]
    assert list(runs.columns) == expected
    samples = pd.read_parquet(tmp_path / "out" / "samples.parquet")
    np.testing.assert_array_equal(
        runs.groupby("point")["x1"].first().to_numpy(), samples["x1"].to_numpy()
    )


@pytest.mark.parametrize(
    ("method", "samples", "columns"),
    [
        ("fast", 129, ["S1", "S1_conf", "ST", "ST_conf"]),
        ("rbd_fast", 200, ["S1", "S1_conf"]),
        ("pawn", 200, ["minimum", "mean", "median", "maximum", "CV"]),
        ("factorial", None, ["ME"]),
    ],
)
def test_every_method_runs_through_the_same_pipeline(
    tmp_path: Path, method: str, samples: int | None, columns: list[str]
) -> None:
    changes: dict = {"method": method, "samples": samples, "replicates": 1}
    if samples is None:
        del changes["samples"]
    path = ishigami_file(tmp_path, **changes)
    if samples is None:
        document = yaml.safe_load(path.read_text())
        del document["samples"]
        path.write_text(yaml.safe_dump(document))
    run_sweep(load_experiment(path), out_dir=tmp_path / "out", progress=False)
    indices = analyze_sweep(tmp_path / "out", figures=False).indices
    assert list(indices.columns[2 : 2 + len(columns)]) == columns
    assert {"x1", "x2", "x3"} <= set(indices["parameter"])
    if "S1" in columns:  # x2 carries 44 % of the variance, x3 none on its own
        first = indices.set_index("parameter")["S1"]
        assert first["x2"] > 0.3 and abs(first["x3"]) < 0.15


def test_sobol_second_order_writes_the_pairs(tmp_path: Path) -> None:
    path = ishigami_file(
        tmp_path, samples=256, replicates=1, second_order=True, settings={"noise_sd": 0.0}
    )
    run_sweep(load_experiment(path), out_dir=tmp_path / "out", progress=False)
    analyze_sweep(tmp_path / "out", figures=False)
    pairs = pd.read_csv(tmp_path / "out" / "second_order.csv").set_index(["parameter", "other"])
    truth = analytic_indices()
    expected_13 = truth["ST"]["x1"] - truth["S1"]["x1"]  # the only interaction: x1 with x3
    assert abs(pairs.loc[("x1", "x3"), "S2"] - expected_13) <= pairs.loc[("x1", "x3"), "S2_conf"]
    assert abs(pairs.loc[("x1", "x2"), "S2"]) <= pairs.loc[("x1", "x2"), "S2_conf"]


def test_analyze_refuses_a_folder_of_lhsim_run(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"scenario_name": "demo", "complete": true}')
    with pytest.raises(ResultsError, match="not of a sweep"):
        analyze_sweep(tmp_path)


class InterruptedEvaluator(SerialEvaluator):
    """Serial, but Ctrl-C arrives after ``after`` chunks."""

    def __init__(self, after: int) -> None:
        self.after = after

    def imap_unordered(self, function, arguments):  # type: ignore[no-untyped-def]
        for count, result in enumerate(super().imap_unordered(function, arguments)):
            if count == self.after:
                raise KeyboardInterrupt
            yield result


def test_an_interrupted_sweep_keeps_the_runs_it_finished(tmp_path: Path) -> None:
    experiment = load_experiment(ishigami_file(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            experiment,
            out_dir=tmp_path / "out",
            evaluator=InterruptedEvaluator(1),
            progress=False,
            flush_rows=10_000,
        )
    parts = list((tmp_path / "out" / "parts").glob("runs-*.parquet"))
    kept = pd.concat(pd.read_parquet(part) for part in parts)
    assert 0 < len(kept) < 160, "the finished runs were written on the way out"
    outcome = run_sweep(experiment, out_dir=tmp_path / "out", resume=True, progress=False)
    assert outcome.skipped == len(kept)
    assert read_runs(tmp_path / "out")["run_id"].tolist() == list(range(160))


def test_common_random_numbers_give_an_unused_parameter_no_effect(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    experiment = {
        **SIMULATOR_EXPERIMENT,
        "parameters": {
            "countries.0.turnover.annual": [0.05, 0.6],
            # read only under full mixing; the tiny country mixes along its network
            "countries.0.channels.peer_network.full_mixing_rate": [0.1, 1.0],
        },
        "method": "morris",
        "samples": 4,
        "replicates": 1,
        "outputs": ["qoc_final"],
        "random_numbers": "common",
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment))
    run_sweep(load_experiment(path), out_dir=tmp_path / "out", progress=False)
    indices = analyze_sweep(tmp_path / "out", figures=False).indices.set_index("parameter")
    assert indices.loc["countries.0.channels.peer_network.full_mixing_rate", "mu_star"] == 0.0
    # the comparison is not vacuous: turnover changes QoC (a little, in 8 months)
    assert indices.loc["countries.0.turnover.annual", "mu_star"] > 0.0, "turnover costs QoC"
