"""Experiment files: schema, dotted paths, sampling and the errors raised before any run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.errors import ScenarioError
from sim.model.schema import Scenario
from sim.sweeps.experiment import ExperimentSpec, RunSpec, evaluate, run_seed
from sim.sweeps.experiment_file import load_experiment, parameter_kind

ROOT = Path(__file__).resolve().parents[1]

TINY_SCENARIO = """\
name: tiny
months: 6
countries:
  - name: A
    districts: 2
    facilities: 20
"""


def write(tmp_path: Path, experiment: dict, scenario: str = TINY_SCENARIO) -> Path:
    (tmp_path / "tiny.yaml").write_text(scenario)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment, sort_keys=False))
    return path


def scenario_experiment(**changes: object) -> dict:
    experiment: dict = {
        "name": "levers",
        "scenario": "tiny.yaml",
        "parameters": {
            "countries.0.turnover.annual": [0.05, 0.4],
            "countries.0.national.capacity": [5, 100],
        },
        "method": "sobol",
        "samples": 4,
        "replicates": 2,
        "outputs": ["qoc_final"],
        "seed": 3,
    }
    experiment.update(changes)
    return experiment


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_experiment(path)
    return [str(problem) for problem in caught.value.problems]


# --------------------------------------------------------------------------- good files
def test_a_valid_file_builds_the_salib_problem_and_parameter_kinds(tmp_path: Path) -> None:
    experiment = load_experiment(write(tmp_path, scenario_experiment()))
    problem = experiment.problem()
    assert problem["names"] == ["countries.0.turnover.annual", "countries.0.national.capacity"]
    assert problem["bounds"] == [[0.05, 0.4], [5.0, 100.0]]
    assert experiment.kinds == {
        "countries.0.turnover.annual": "float",
        "countries.0.national.capacity": "int",
    }


def test_sobol_sample_size_and_run_ids(tmp_path: Path) -> None:
    experiment = load_experiment(write(tmp_path, scenario_experiment()))
    sample = experiment.sample()
    assert sample.shape == (4 * (2 + 2), 2), "Sobol' without second order draws N (D + 2) points"
    runs = list(experiment.runs(sample))
    assert [r.run_id for r in runs] == list(range(len(sample) * 2))
    assert all(r.run_id == r.point * 2 + r.replicate for r in runs)
    capacities = {r.values["countries.0.national.capacity"] for r in runs}
    assert all(isinstance(c, int) for c in capacities), "whole-number parameters are rounded"


def test_the_sample_is_reproducible_from_the_seed(tmp_path: Path) -> None:
    first = load_experiment(write(tmp_path, scenario_experiment(seed=11))).sample()
    again = load_experiment(write(tmp_path, scenario_experiment(seed=11))).sample()
    other = load_experiment(write(tmp_path, scenario_experiment(seed=12))).sample()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_run_seeds_depend_on_the_point_unless_random_numbers_are_common() -> None:
    spec = ExperimentSpec(
        name="x",
        model="ishigami",
        parameters={"x1": [0, 1]},
        method="latin",
        samples=9,
        outputs=["y"],
        seed=4,
    )
    assert spec.random_numbers == "independent"
    assert run_seed(spec, 0) != run_seed(spec, 1)
    assert run_seed(spec, 1) == run_seed(spec, 1)
    common = spec.model_copy(update={"random_numbers": "common"})
    assert run_seed(common, 0) == run_seed(common, 7)


def test_settings_change_the_base_document(tmp_path: Path) -> None:
    experiment = load_experiment(
        write(tmp_path, scenario_experiment(settings={"months": 3, "countries.0.districts": 1}))
    )
    assert experiment.model.document["months"] == 3
    assert experiment.model.document["countries"][0]["districts"] == 1


def test_parameter_kind_follows_the_schema() -> None:
    assert parameter_kind(Scenario, "countries.0.turnover.annual") == "float"
    assert (
        parameter_kind(Scenario, "countries.0.channels.learning_sessions.interval_months") == "int"
    )
    assert parameter_kind(Scenario, "countries.0.channels.coaching.enabled") == "bool"
    assert parameter_kind(Scenario, "countries.0.name") is None


def test_a_failing_run_becomes_a_row_with_its_error(tmp_path: Path) -> None:
    experiment = load_experiment(write(tmp_path, scenario_experiment()))
    bad = RunSpec(
        run_id=0,
        point=0,
        replicate=0,
        seed=1,
        values={"countries.0.turnover.annual": 5.0, "countries.0.national.capacity": 10},
    )
    row = evaluate(experiment.model, experiment.outputs, bad)
    assert "ValidationError" in row["error"] and "0.9" in row["error"]
    assert np.isnan(row["qoc_final"])
    assert row["countries.0.turnover.annual"] == 5.0, "the failed run keeps its parameters"


# --------------------------------------------------------------------------- errors
def test_unknown_parameter_path_suggests_the_nearest(tmp_path: Path) -> None:
    experiment = scenario_experiment(
        parameters={"countries.0.turnover.anual": [0.1, 0.2], "countries.0.blame.facility": [0, 1]}
    )
    problems = problems_of(write(tmp_path, experiment))
    assert len(problems) == 1, problems
    assert "countries.0.turnover.anual" in problems[0]
    assert "did you mean 'countries.0.turnover.annual'" in problems[0]


def test_list_index_out_of_range_is_an_unknown_path(tmp_path: Path) -> None:
    experiment = scenario_experiment(parameters={"countries.3.turnover.annual": [0.1, 0.2]})
    (problem,) = problems_of(write(tmp_path, experiment))
    assert "no such parameter" in problem and "countries.0.turnover.annual" in problem


def test_inverted_bounds_are_reported_with_the_fix(tmp_path: Path) -> None:
    experiment = scenario_experiment(parameters={"countries.0.turnover.annual": [0.4, 0.05]})
    (problem,) = problems_of(write(tmp_path, experiment))
    assert "inverted" in problem and "write [0.05, 0.4]" in problem


def test_bounds_outside_the_documented_range_are_reported(tmp_path: Path) -> None:
    experiment = scenario_experiment(parameters={"countries.0.turnover.annual": [0.1, 1.5]})
    (problem,) = problems_of(write(tmp_path, experiment))
    assert "high bound is not allowed" in problem and "0.9" in problem


def test_unknown_method_suggests_one(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, scenario_experiment(method="sobel")))
    assert "unknown method" in problem and "did you mean 'sobol'" in problem


def test_sobol_needs_a_power_of_two(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, scenario_experiment(samples=100)))
    assert "power of 2" in problem and "use 64 or 128" in problem


def test_fast_needs_enough_runs(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, scenario_experiment(method="fast", samples=40)))
    assert "FAST needs more than 4 M**2 = 64" in problem


def test_groups_only_with_methods_that_take_them(tmp_path: Path) -> None:
    parameters = {
        "countries.0.blame.facility": {"bounds": [0.1, 0.9], "group": "blame"},
        "countries.0.blame.district": {"bounds": [0.1, 0.9], "group": "blame"},
    }
    path = write(
        tmp_path, scenario_experiment(method="rbd_fast", samples=20, parameters=parameters)
    )
    (problem,) = problems_of(path)
    assert "does not take groups" in problem


def test_unknown_output_and_key_suggest_names(tmp_path: Path) -> None:
    experiment = scenario_experiment(outputs=["qoc_finall"], replicate=2)
    problems = problems_of(write(tmp_path, experiment))
    assert any(
        "replicate: unknown key" in p and "did you mean 'replicates'" in p for p in problems
    ), problems


def test_unknown_output_suggests_a_summary_value(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, scenario_experiment(outputs=["qoc_finall"])))
    assert "unknown output" in problem and "did you mean 'qoc_final'" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    experiment = scenario_experiment(
        method="sobol",
        samples=100,
        parameters={
            "countries.0.turnover.anual": [0.1, 0.2],
            "countries.0.blame.facility": [0.9, 0.1],
        },
        outputs=["qoc_finall"],
    )
    problems = problems_of(write(tmp_path, experiment))
    assert len(problems) == 4, problems


def test_scenario_and_model_are_exclusive(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, scenario_experiment(model="ishigami")))
    assert "exactly one of 'scenario'" in problem


def test_a_switch_is_swept_between_zero_and_one(tmp_path: Path) -> None:
    experiment = scenario_experiment(
        parameters={"countries.0.channels.coaching.enabled": [0, 1]}, method="latin", samples=10
    )
    loaded = load_experiment(write(tmp_path, experiment))
    values = {
        r.values["countries.0.channels.coaching.enabled"] for r in loaded.runs(loaded.sample())
    }
    assert values == {True, False}


# --------------------------------------------------------------------------- shipped files
@pytest.mark.parametrize(
    "name", ["levers_sobol.yaml", "screening_morris.yaml", "validation/ishigami.yaml"]
)
def test_shipped_experiments_are_valid(name: str) -> None:
    experiment = load_experiment(ROOT / "experiments" / name)
    assert len(list(experiment.runs(experiment.sample()))) > 0


def test_the_morris_screening_covers_every_numeric_parameter() -> None:
    experiment = load_experiment(ROOT / "experiments" / "screening_morris.yaml")
    left_out = {
        "seed",
        "months",
        "replicates",
        "practices.count",
        "countries.0.districts",
        "countries.0.facilities",
    }
    from sim.config.paths import leaf_paths

    numeric = {
        path
        for path in leaf_paths(experiment.model.document)
        if parameter_kind(Scenario, path) in ("int", "float")
        and path not in left_out
        and not path.startswith(("global_learning.", "costs."))
    }
    missing = numeric - set(experiment.names)
    assert not missing, f"numeric parameters missing from the Morris screening: {sorted(missing)}"


def test_ranges_valid_alone_but_not_together_are_reported(tmp_path: Path) -> None:
    experiment = scenario_experiment(
        parameters={"practices.effective_share": [0.3, 0.9], "practices.harmful_share": [0.05, 0.2]}
    )
    (problem,) = problems_of(write(tmp_path, experiment))
    assert "at their high bounds together are not allowed" in problem
    assert "effective_share + harmful_share must not exceed 1" in problem
