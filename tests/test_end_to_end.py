"""The real model through the runner and the command line."""

import subprocess
import sys

import pandas as pd

from sim.model.recorder import SUMMARY_COLUMNS
from sim.runs.runner import run_scenario

from builders import small

TABLES = ("timeseries.parquet", "practices.parquet", "countries.parquet")


def test_identical_results_whatever_the_worker_count(tmp_path):
    scenario = small(months=12)
    one = run_scenario(scenario, replicates=3, out_dir=tmp_path / "one", workers=1, progress=False)
    two = run_scenario(scenario, replicates=3, out_dir=tmp_path / "two", workers=2, progress=False)
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(one / table), pd.read_parquet(two / table))
    a = pd.read_csv(one / "summary.csv")
    b = pd.read_csv(two / "summary.csv")
    pd.testing.assert_frame_equal(a, b)
    assert sorted(a["replicate"]) == [0, 1, 2]


def test_validate_and_run_demo_through_the_cli(tmp_path):
    lhsim = [sys.executable, "-m", "sim"]
    checked = subprocess.run(
        [*lhsim, "validate", "scenarios/demo.yaml"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    out = tmp_path / "demo"
    ran = subprocess.run(
        [*lhsim, "run", "scenarios/demo.yaml", "--replicates", "2", "--out", str(out), "-q"],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    summary = pd.read_csv(out / "summary.csv")
    for column in SUMMARY_COLUMNS:
        assert column in summary.columns, column
    assert len(summary) == 2
    assert summary["qoc_final"].between(0, 1).all()
    series = pd.read_parquet(out / "timeseries.parquet")
    assert len(series) == 2 * 60, "one row per replicate and month"
    for figure in ("qoc.png", "loss_ledger.png", "coverage.png"):
        assert (out / "figures" / figure).stat().st_size > 10_000, figure
    again = subprocess.run(
        [*lhsim, "run", "scenarios/demo.yaml", "--replicates", "2", "--out", str(out), "-q"],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "--force" in again.stderr
