"""Smaller hardening: truth values for numbers, calibration problems at once, report on a
sweep, calibrate's help."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli.main import build_parser, main
from sim.errors import ScenarioError
from sim.fitting.calibration_spec import load_calibration


def test_replicates_true_is_not_taken_as_one(tmp_path: Path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: x\nreplicates: true\ncountries: [{name: A, facilities: 5, districts: 1,"
        " trials: {months: false}}]\n"
    )
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "replicates: expected a number, not true" in out, out
    assert "trials.months: expected a number, not false" in out, out


def test_an_experiment_with_replicates_true_is_refused(tmp_path: Path) -> None:
    from sim.sweeps.experiment_file import load_experiment

    path = tmp_path / "e.yaml"
    path.write_text(
        "name: e\nmodel: ishigami\nparameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}\n"
        "method: sobol\nsamples: 8\nreplicates: true\noutputs: [y]\n"
    )
    with pytest.raises(ScenarioError, match="expected a number, not true"):
        load_experiment(path)


def test_truth_values_still_set_true_false_keys(tmp_path: Path) -> None:
    from sim.model.schema import Scenario

    scenario = Scenario.model_validate(
        {"name": "x", "countries": [{"name": "A", "channels": {"coaching": {"enabled": False}}}]}
    )
    assert scenario.countries[0].channels.coaching.enabled is False


def test_calibration_problems_come_out_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "fit.yaml"
    path.write_text(
        "name: x\nseed: true\ndata: {nodes: missing.csv, edges: ties.txt}\n"
        "stopping: {population_size: 0}\n"
        "parameters:\n"
        "  - {name: p, key: channels.guidance.rech, prior: {low: 0, high: 0.5}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_calibration(path)
    text = str(caught.value)
    for expected in (
        "seed: expected a number, not true",
        "population_size",
        "did you mean 'reach'",
        "data.nodes: file not found",
        "data.edges: must name a .csv file",
    ):
        assert expected in text, f"{expected!r} missing from one pass:\n{text}"


def test_report_on_a_finished_sweep_points_to_analyze(tmp_path: Path, capsys) -> None:
    from sim.sweeps.experiment_file import load_experiment
    from sim.sweeps.sweep import run_sweep

    path = tmp_path / "e.yaml"
    path.write_text(
        "name: e\nmodel: ishigami\nparameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}\n"
        "method: sobol\nsamples: 8\noutputs: [y]\n"
    )
    run_sweep(load_experiment(path), out_dir=tmp_path / "s", progress=False)
    assert main(["report", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "holds a sensitivity sweep" in err and "lhsim analyze" in err, err
    assert "did not finish" not in err


def test_calibrate_help_agrees_with_the_docs_on_reproducibility() -> None:
    parser = build_parser()
    text = next(
        action.choices["calibrate"].format_help()
        for action in parser._actions
        if getattr(action, "choices", None) and "calibrate" in action.choices
    )
    flat = " ".join(text.split())
    assert "only serial is reproducible" not in flat
    assert "depends on the seed only" in flat
    docs = (Path(__file__).resolve().parents[1] / "docs" / "calibration.md").read_text()
    assert "The fit depends on the seed only" in docs
