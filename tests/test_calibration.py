"""Calibration: data formats, the mapping onto a scenario, ABC-SMC recovery, outputs, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli.main import main
from sim.config.scenario import load_scenario
from sim.errors import ScenarioError
from sim.fitting.adoption_data import read_adoption_data
from sim.fitting.bass import bass_share, fit_bass
from sim.fitting.calibration import build_problem
from sim.fitting.calibration_run import calibrate
from sim.fitting.calibration_spec import load_calibration
from sim.runs.simulation import run_replicate

ROOT = Path(__file__).parents[1]
CKM = ROOT / "calibration" / "ckm.yaml"

SPEC = """\
name: synthetic
seed: 7
data:
  nodes: nodes.csv
{edges}  periods: {periods}
parameters:
  - name: outside_rate
    key: channels.guidance.reach
    prior: {{low: 0.0, high: 0.3}}
  - name: imitation
    key: {imitation_key}
    prior: {{low: 0.0, high: {imitation_high}}}
stopping:
  population_size: {population}
  max_generations: {generations}
predictive_draws: 40
"""


def write_spec(folder: Path, *, edges: bool = False, periods: int = 12, **budget) -> Path:
    text = SPEC.format(
        edges="  edges: edges.csv\n" if edges else "",
        periods=periods,
        imitation_key=(
            "channels.peer_network.contact_probability"
            if edges
            else "channels.peer_network.full_mixing_rate"
        ),
        imitation_high=0.5 if edges else 1.0,
        population=budget.get("population", 40),
        generations=budget.get("generations", 2),
    )
    path = folder / "fit.yaml"
    path.write_text(text)
    return path


def write_blank_nodes(folder: Path, sizes: dict[str, int]) -> None:
    rows = [
        {"id": f"{group}-{i}", "group": group, "adoption_time": ""}
        for group, size in sizes.items()
        for i in range(size)
    ]
    pd.DataFrame(rows).to_csv(folder / "nodes.csv", index=False)


def write_ring_edges(folder: Path, sizes: dict[str, int]) -> None:
    rows = []
    for group, size in sizes.items():
        for i in range(size):
            for step in (1, 2):
                rows.append({"source": f"{group}-{i}", "target": f"{group}-{(i + step) % size}"})
    pd.DataFrame(rows).to_csv(folder / "edges.csv", index=False)


def synthesise(folder: Path, truth: dict[str, float], sizes: dict[str, int], **options) -> Path:
    """Write a dataset that the model itself generated with parameters ``truth``."""
    write_blank_nodes(folder, sizes)
    if options.get("edges"):
        write_ring_edges(folder, sizes)
    spec_path = write_spec(folder, **options)
    spec = load_calibration(spec_path)
    data = read_adoption_data(
        spec.path("nodes.csv"),
        spec.path("edges.csv") if options.get("edges") else None,
        spec.data.periods,
    )
    problem = build_problem(spec, data, folder / "truth")
    curves = problem.simulate(truth, replicate=99)
    rows = []
    for g, group in enumerate(problem.groups):
        times = np.repeat(np.arange(1, curves.shape[1] + 1), np.diff(curves[g], prepend=0))
        for i in range(sizes[group]):
            rows.append(
                {
                    "id": f"{group}-{i}",
                    "group": group,
                    "adoption_time": str(times[i]) if i < len(times) else "",
                }
            )
    pd.DataFrame(rows).to_csv(folder / "nodes.csv", index=False)
    return spec_path


# --------------------------------------------------------------------------- data formats
def test_ckm_data_has_the_125_physicians_at_risk():
    spec = load_calibration(CKM)
    data = read_adoption_data(spec.path(spec.data.nodes), spec.path(spec.data.edges), 17)
    assert data.group_sizes() == {"Peoria": 62, "Bloomington": 24, "Quincy": 21, "Galesburg": 18}
    assert data.dropped_nodes == 246 - 125
    final = data.cumulative().query("time == 17").set_index("group")["observed"].to_dict()
    assert final == {"Peoria": 55, "Bloomington": 21, "Quincy": 17, "Galesburg": 16}
    assert data.edges is not None
    assert (data.group[data.edges[:, 0]] == data.group[data.edges[:, 1]]).all()


def test_nodes_file_problems_are_all_reported(tmp_path):
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("id,groop,adoption_time,at_risk\na,X,1,1\na,X,two,1\nb,X,30,2\nc,X,3,0\n")
    with pytest.raises(ScenarioError) as caught:
        read_adoption_data(nodes, periods=17)
    text = str(caught.value)
    assert "unknown column" in text and "did you mean 'group'" in text
    assert "id is repeated (first on row 2)" in text
    assert "adoption_time is not a whole number" in text
    assert "outside the observation window" in text
    assert "at_risk must be 0 or 1" in text
    assert "a node not at risk has an adoption time" in text


def test_missing_columns_and_unknown_tie_ends(tmp_path):
    nodes = tmp_path / "nodes.csv"
    nodes.write_text("id,group\na,X\n")
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\na,zz\n")
    with pytest.raises(ScenarioError) as caught:
        read_adoption_data(nodes, edges)
    text = str(caught.value)
    assert "required column 'adoption_time' is missing" in text
    assert "not a facility id of the facilities file" in text or "zz" in text


def test_ties_to_nodes_not_at_risk_are_dropped(tmp_path):
    (tmp_path / "nodes.csv").write_text("id,adoption_time,at_risk\na,1,1\nb,,0\nc,2,1\n")
    (tmp_path / "edges.csv").write_text("source,target\na,b\na,c\nc,a\n")
    data = read_adoption_data(tmp_path / "nodes.csv", tmp_path / "edges.csv")
    assert data.ids.tolist() == ["a", "c"]
    assert data.edges is not None and data.edges.tolist() == [[0, 1]]
    assert data.groups == ["all"] and data.periods == 2


def test_calibration_file_problems_are_all_reported(tmp_path):
    path = tmp_path / "fit.yaml"
    path.write_text(
        "name: x\ndata: {nodes: n.csv, time_unit: week}\nstoping: {}\n"
        "parameters:\n"
        "  - {name: p, key: channels.guidance.rech, prior: {low: 0, high: 0.5}}\n"
        "  - {name: q, key: turnover.annual, prior: {low: 0.0, high: 2.0}}\n"
        "  - {name: r, key: channels.guidance, prior: {low: 0.5, high: 0.1}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_calibration(path)
    text = str(caught.value)
    assert "time_unit" in text
    assert "stoping: unknown key" in text and "did you mean 'stopping'" in text
    assert "must be below high" in text


def test_parameter_keys_and_prior_ranges_are_checked(tmp_path):
    path = tmp_path / "fit.yaml"
    path.write_text(
        "name: x\ndata: {nodes: n.csv}\n"
        "parameters:\n"
        "  - {name: p, key: channels.guidance.rech, prior: {low: 0, high: 0.5}}\n"
        "  - {name: q, key: turnover.annual, prior: {low: 0.0, high: 2.0}}\n"
        "  - {name: r, key: channels.guidance, prior: {low: 0.1, high: 0.5}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_calibration(path)
    text = str(caught.value)
    assert "did you mean 'reach'?" in text
    assert "prior reaches outside the range of turnover.annual" in text
    assert "names a section, not a parameter" in text


def test_cli_reports_a_bad_calibration_file_with_exit_code_2(tmp_path, capsys):
    path = tmp_path / "fit.yaml"
    path.write_text("name: x\ndata: {nodes: missing.csv}\nparameters: []\n")
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "problem" in capsys.readouterr().err


def test_unknown_holdout_group_is_a_clear_error(tmp_path):
    write_blank_nodes(tmp_path, {"A": 5, "B": 5})
    spec_path = write_spec(tmp_path)
    with pytest.raises(ScenarioError, match="no such group"):
        calibrate(spec_path, out=tmp_path / "out", holdout="C", executor="serial", quick=True)


# --------------------------------------------------------------------------- mapping
def test_each_node_is_a_single_clinician_facility_and_each_group_a_country(tmp_path):
    sizes = {"A": 30, "B": 20}
    write_blank_nodes(tmp_path, sizes)
    write_ring_edges(tmp_path, sizes)
    spec = load_calibration(write_spec(tmp_path, edges=True))
    data = read_adoption_data(tmp_path / "nodes.csv", tmp_path / "edges.csv", 12)
    problem = build_problem(spec, data, tmp_path / "scenario")
    scenario = problem.scenario({"outside_rate": 0.1, "imitation": 0.2})
    assert [c.name for c in scenario.countries] == ["A", "B"]
    assert all(c.channels.peer_network.mixing == "network" for c in scenario.countries)
    assert all(c.turnover.annual == 0.0 for c in scenario.countries)
    facilities = pd.read_csv(scenario.countries[0].facility_file)
    assert len(facilities) == 30 and (facilities["staff"] == 1).all()
    curves = problem.simulate({"outside_rate": 0.1, "imitation": 0.2}, replicate=0)
    assert curves.shape == (2, 12)
    assert (np.diff(curves, axis=1) >= 0).all(), "cumulative adopters never fall"
    assert (curves[:, -1] <= [30, 20]).all()
    silent = problem.simulate({"outside_rate": 0.0, "imitation": 0.5}, replicate=0)
    assert silent.sum() == 0, "without an outside channel nobody can start"


def test_without_edges_peers_mix_fully_and_follow_bass(tmp_path):
    sizes = {"A": 2000}
    write_blank_nodes(tmp_path, sizes)
    spec = load_calibration(write_spec(tmp_path, periods=24))
    data = read_adoption_data(tmp_path / "nodes.csv", None, 24)
    problem = build_problem(spec, data, tmp_path / "scenario")
    country = problem.scenario({"outside_rate": 0.01, "imitation": 0.3}).countries[0]
    assert country.channels.peer_network.mixing == "full"
    curve = problem.simulate({"outside_rate": 0.02, "imitation": 0.3}, replicate=1)[0] / 2000
    gap = np.abs(curve - monthly_bass(0.02, 0.3, 24)).max()
    assert gap < 0.06, f"largest gap to the monthly Bass recursion is {gap:.3f}"
    wrong = np.abs(curve - monthly_bass(0.02, 0.45, 24)).max()
    assert wrong > 0.06, "a 50 % error in the imitation rate went unnoticed"


def monthly_bass(p: float, q: float, months: int) -> np.ndarray:
    """Bass diffusion in monthly steps: hazard p + q F of last month's share F."""
    share, out = 0.0, []
    for _ in range(months):
        share += (1 - np.exp(-(p + q * share))) * (1 - share)
        out.append(share)
    return np.array(out)


# --------------------------------------------------------------------------- Bass baseline
def test_bass_fit_pools_groups_and_predicts_by_size():
    t = np.arange(1, 18)
    curves = {"A": 100 * bass_share(t, 0.05, 0.2, 0.8), "B": 40 * bass_share(t, 0.05, 0.2, 0.8)}
    fit = fit_bass(curves, {"A": 100, "B": 40})
    assert fit.rmse_share < 1e-6
    assert np.allclose(fit.predict(t, 60), 60 * bass_share(t, 0.05, 0.2, 0.8), atol=1e-4)


# --------------------------------------------------------------------------- ABC-SMC
@pytest.mark.slow
def test_synthetic_data_recover_the_true_parameters(tmp_path):
    truth = {"outside_rate": 0.04, "imitation": 0.35}
    spec_path = synthesise(tmp_path, truth, {"A": 400}, periods=12, population=100, generations=6)
    outcome = calibrate(spec_path, out=tmp_path / "out", executor="processes", workers=2)
    summary = outcome.summary.set_index("parameter")
    priors = {"outside_rate": 0.3, "imitation": 1.0}
    for name, value in truth.items():
        low, high = summary.loc[name, "p05"], summary.loc[name, "p95"]
        assert low <= value <= high, f"{name}: {value} outside [{low:.3f}, {high:.3f}]"
        assert high - low < 0.8 * priors[name], f"{name}: the interval barely narrowed"
    assert outcome.diagnostics["band_coverage_fitted"] >= 0.8


def test_quick_calibration_writes_every_output_and_a_runnable_scenario(tmp_path, capsys):
    truth = {"outside_rate": 0.08, "imitation": 0.2}
    sizes = {"A": 25, "B": 20}
    spec_path = synthesise(tmp_path, truth, sizes, edges=True, periods=6)
    out = tmp_path / "out"
    code = main(["calibrate", str(spec_path), "--quick", "--out", str(out), "--executor", "serial"])
    assert code == 0
    assert "band coverage" in capsys.readouterr().out
    fit = pd.read_csv(out / "fit.csv")
    assert list(fit.columns) == [
        "group",
        "time",
        "observed",
        "predicted_median",
        "predicted_p05",
        "predicted_p95",
        "held_out",
    ]
    assert len(fit) == 2 * 6 and not fit["held_out"].any()
    assert (fit["predicted_p05"] <= fit["predicted_p95"]).all()
    for name in ("posterior.csv", "posterior_summary.csv", "fit.png", "diagnostics.json"):
        assert (out / name).is_file(), name
    diagnostics = json.loads((out / "diagnostics.json").read_text())
    assert diagnostics["total_simulations"] >= 30 and len(diagnostics["generations"]) == 2

    scenario = load_scenario(out / "calibrated.yaml")
    assert scenario.posterior is not None
    samples = pd.read_csv(out / "posterior.csv")
    drawn = [run_replicate(scenario, r).summary["posterior_row"] for r in range(2)]
    again = [run_replicate(scenario, r).summary["posterior_row"] for r in range(2)]
    assert drawn == again, "the same replicate draws the same posterior row"
    assert all(0 <= row < len(samples) for row in drawn)


@pytest.mark.slow
def test_holdout_fits_the_other_groups_and_marks_the_held_out_one(tmp_path):
    truth = {"outside_rate": 0.08, "imitation": 0.4}
    spec_path = synthesise(tmp_path, truth, {"A": 25, "B": 20}, periods=8)
    outcome = calibrate(spec_path, out=tmp_path / "out", holdout="B", executor="serial", quick=True)
    fit = pd.read_csv(tmp_path / "out" / "fit.csv")
    assert fit.loc[fit["group"] == "B", "held_out"].all()
    assert not fit.loc[fit["group"] == "A", "held_out"].any()
    scores = outcome.scores.set_index("group")
    assert bool(scores.loc["B", "held_out"]) and not bool(scores.loc["A", "held_out"])
    assert outcome.diagnostics["band_coverage_held_out"] is not None


# --------------------------------------------------------------------------- posterior block
FACILITIES = ROOT / "tests" / "data" / "scenario_loader" / "csv" / "facilities.csv"


def posterior_scenario(folder: Path, samples: str, column: str = "reach") -> Path:
    (folder / "samples.csv").write_text(samples)
    path = folder / "projection.yaml"
    path.write_text(
        "name: projection\nmonths: 3\npractices: {count: 2}\n"
        "countries: [{name: A, districts: 2, facilities: 20}, {name: B, districts: 2, "
        "facilities: 20}]\n"
        f"posterior: {{samples: samples.csv, parameters: {{{column}: "
        "countries.*.channels.guidance.reach}}\n"
    )
    return path


def test_each_replicate_takes_a_weighted_posterior_row(tmp_path):
    from sim.config.posterior import apply_posterior

    path = posterior_scenario(tmp_path, "reach,weight\n0.11,0.0\n0.22,1.0\n")
    scenario = load_scenario(path)
    assert scenario.posterior is not None
    assert scenario.posterior.samples == str(tmp_path / "samples.csv")
    for replicate in range(3):
        drawn, row = apply_posterior(scenario, replicate)
        assert row == 1, "a row of weight 0 is never drawn"
        assert [c.channels.guidance.reach for c in drawn.countries] == [0.22, 0.22]
    assert run_replicate(scenario, 0).summary["posterior_row"] == 1.0


def test_posterior_rows_vary_between_replicates_and_repeat_within_one(tmp_path):
    from sim.config.posterior import apply_posterior

    rows = "reach\n" + "\n".join(f"{0.01 * i:.2f}" for i in range(1, 21)) + "\n"
    scenario = load_scenario(posterior_scenario(tmp_path, rows))
    first = [apply_posterior(scenario, r)[1] for r in range(10)]
    assert first == [apply_posterior(scenario, r)[1] for r in range(10)]
    assert len(set(first)) > 3, f"replicates should spread over the rows, got {first}"


def test_posterior_block_problems_are_reported(tmp_path):
    path = posterior_scenario(tmp_path, "reach,weight\n0.1,1\n", column="rech")
    with pytest.raises(ScenarioError, match="not a column of the samples file"):
        load_scenario(path)
    path = posterior_scenario(tmp_path, "reach\n1.7\n")
    with pytest.raises(ScenarioError, match="less than or equal to 1"):
        load_scenario(path)


def test_districts_without_facilities_are_a_problem(tmp_path):
    path = tmp_path / "real.yaml"
    path.write_text(
        f"name: real\ncountries: [{{name: A, districts: 5, facility_file: {FACILITIES}}}]\n"
    )
    with pytest.raises(ScenarioError, match="3 of the 5 districts would have no facilities"):
        load_scenario(path)
    path.write_text(f"name: real\ncountries: [{{name: A, facility_file: {FACILITIES}}}]\n")
    assert load_scenario(path).countries[0].facility_file == str(FACILITIES)


def test_scenario_changes_are_validated_against_the_scenario_schema(tmp_path):
    write_blank_nodes(tmp_path, {"A": 5})
    spec_path = write_spec(tmp_path)
    spec_path.write_text(
        spec_path.read_text() + "scenario:\n  country: {trials: {monts: 1}}\n  months: 5\n"
    )
    spec = load_calibration(spec_path)
    data = read_adoption_data(tmp_path / "nodes.csv", None, 12)
    with pytest.raises(ScenarioError) as caught:
        build_problem(spec, data, tmp_path / "scenario")
    text = str(caught.value)
    assert str(spec_path) in text and "did you mean 'months'?" in text


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_the_fit_depends_on_the_seed_only_not_on_the_executor(tmp_path, executor):
    truth = {"outside_rate": 0.08, "imitation": 0.2}
    spec_path = synthesise(tmp_path, truth, {"A": 25, "B": 20}, periods=6)
    common = ["calibrate", str(spec_path), "--quick", "-q"]
    assert main([*common, "--out", str(tmp_path / "serial"), "--executor", "serial"]) == 0
    parallel = ["--out", str(tmp_path / executor), "--executor", executor, "--workers", "2"]
    assert main([*common, *parallel]) == 0
    serial = pd.read_csv(tmp_path / "serial" / "posterior.csv")
    other = pd.read_csv(tmp_path / executor / "posterior.csv")
    pd.testing.assert_frame_equal(serial, other)
    assert serial["weight"].nunique() > 1, "a posterior of identical weights proves little"


# --------------------------------------------------------------------------- generalising
YEARLY = """\
name: yearly
seed: 11
data:
  nodes: nodes.csv
{edges}  time_unit: year
  periods: {periods}
parameters:
  - name: outside_rate
    key: channels.guidance.reach
    prior: {{distribution: loguniform, low: 0.0005, high: 0.05}}
  - name: imitation
    key: {imitation_key}
    prior: {{distribution: loguniform, low: 0.002, high: 0.2}}
{never}stopping:
  population_size: {population}
  max_generations: {generations}
predictive_draws: {draws}
"""


def yearly_record(folder: Path, truth: dict[str, float], *, edges: bool, fit_never: bool,
                  population: int = 10, generations: int = 1, periods: int = 10,
                  size: int = 300) -> Path:  # fmt: skip
    """A yearly record the model generated with ``truth`` (per-month rates, a ceiling)."""
    sizes = {"A": size}
    write_blank_nodes(folder, sizes)
    if edges:
        write_ring_edges(folder, sizes)
    never = "  - name: never\n    key: trials.never_share\n    prior: {low: 0.0, high: 0.9}\n"
    text = YEARLY.format(
        edges="  edges: edges.csv\n" if edges else "",
        imitation_key="channels.peer_network."
        + ("contact_probability" if edges else "full_mixing_rate"),
        never=never,
        population=population,
        generations=generations,
        periods=periods,
        draws=10 if generations == 1 else 100,
    )
    truth_spec = folder / "truth.yaml"
    truth_spec.write_text(text)
    spec = load_calibration(truth_spec)
    edge_file = folder / "edges.csv" if edges else None
    data = read_adoption_data(folder / "nodes.csv", edge_file, periods)
    curve = build_problem(spec, data, folder / "truth").simulate(truth, replicate=99)[0]
    times = np.repeat(np.arange(1, curve.size + 1), np.diff(curve, prepend=0))
    rows = [
        {"id": f"A-{i}", "group": "A", "adoption_time": str(times[i]) if i < times.size else ""}
        for i in range(sizes["A"])
    ]
    pd.DataFrame(rows).to_csv(folder / "nodes.csv", index=False)
    path = folder / "fit.yaml"
    path.write_text(text if fit_never else text.replace(never, ""))
    return path


# Fast enough to level off within the ten years: a ceiling is only seen in a record that
# reaches it (with 0.004 and 0.03 a month the record still rises at year 10, and the
# fit left never_share between 0.04 and 0.58).
TRUTH = {"outside_rate": 0.01, "imitation": 0.08, "never": 0.4}


def test_a_parameter_that_cannot_act_on_the_record_is_refused(tmp_path, capsys):
    path = write_spec(tmp_path, edges=False)
    write_blank_nodes(tmp_path, {"A": 10})
    text = path.read_text()
    coaching = "channels.coaching.intensity"
    cases = {
        "ties": text.replace("full_mixing_rate", "contact_probability"),
        "channel": text.replace("channels.peer_network.full_mixing_rate", coaching),
    }
    for case, body in cases.items():
        path.write_text(body)
        code = main(["calibrate", str(path), "--quick", "--out", str(tmp_path / case)])
        err = capsys.readouterr().err
        assert code == 2, case
        assert "cannot act on this record" in err, case
        fix = "full_mixing_rate (the Bass q) instead" if case == "ties" else "switch it on"
        assert fix in err, case
        assert not (tmp_path / case).exists(), "nothing ran"
    path.write_text(text)
    write_ring_edges(tmp_path, {"A": 10})
    path.write_text(
        text.replace("  nodes: nodes.csv\n", "  nodes: nodes.csv\n  edges: edges.csv\n")
    )
    assert main(["calibrate", str(path), "--quick", "--out", str(tmp_path / "mixing")]) == 2
    assert "peers meet along ties" in capsys.readouterr().err


def test_a_record_that_levels_off_is_flagged_when_the_ceiling_is_not_fitted(tmp_path):
    fast = {"outside_rate": 0.01, "imitation": 0.08, "never": 0.4}
    path = yearly_record(tmp_path, fast, edges=False, fit_never=False, periods=6, size=100)
    outcome = calibrate(path, out=tmp_path / "out", executor="serial", quiet=True)
    notes = " ".join(outcome.diagnostics["notes"])
    assert "levels off at about" in notes and "trials.never_share is fitted" in notes
    assert outcome.diagnostics["bass"]["m"] < 0.8
    assert outcome.diagnostics["stopped_by"] == "generations"
    assert outcome.diagnostics["reproducible_from_seed"] is True


@pytest.mark.slow
@pytest.mark.parametrize("edges", [False, True], ids=["full mixing", "ties"])
def test_yearly_records_with_a_ceiling_recover_the_truth(tmp_path, edges):
    truth = TRUTH
    path = yearly_record(tmp_path, truth, edges=edges, fit_never=True, population=100,
                         generations=6)  # fmt: skip
    outcome = calibrate(path, out=tmp_path / "out", executor="processes", workers=2, quiet=True)
    summary = outcome.summary.set_index("parameter")
    for name, value in truth.items():
        low, high = summary.loc[name, "p05"], summary.loc[name, "p95"]
        assert low <= value <= high, f"{name}: {value} outside [{low:.4f}, {high:.4f}]"
    assert summary.loc["never", "p95"] - summary.loc["never", "p05"] < 0.3, "ceiling not pinned"
    assert outcome.diagnostics["band_coverage_fitted"] >= 0.8
    assert outcome.diagnostics["notes"] == []
    scores = outcome.scores.iloc[0]
    chance = max(scores["rmse_bass"], scores["rmse_chance"], 1.0)
    assert scores["rmse_median"] < 1.5 * chance, (scores["rmse_median"], scores["rmse_bass"])
