"""Published patterns: the observables, the patterns file, the check and the milestones."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.cli.main import main
from sim.errors import ScenarioError
from sim.fitting.observables import OBSERVABLES
from sim.fitting.pattern_fit import fit_patterns
from sim.fitting.patterns import (
    PatternSpec,
    Target,
    check_patterns,
    load_patterns,
    observe_scenario,
    range_distance,
)
from sim.model.milestones import MILESTONE_COLUMNS
from sim.model.model import LearningHealthSystem
from sim.runs.simulation import run_replicate
from tests.builders import small

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = ROOT / "calibration" / "patterns.yaml"


def _pattern(observable: str, low: float = 0.0, high: float = 1.0, **options: int) -> PatternSpec:
    return PatternSpec(
        name=observable,
        description="d",
        source="s",
        scenario="x.yaml",
        observable=observable,
        options=options,
        target=Target(low=low, high=high),
    )


def test_the_patterns_file_covers_what_a_planner_asks_about():
    spec = load_patterns(PATTERNS)
    assert len(spec.patterns) >= 8
    assert {p.observable for p in spec.patterns} == set(OBSERVABLES)
    assert all(p.source and p.mapping for p in spec.patterns)
    assert any(p.fast for p in spec.patterns)
    assert spec.fit is not None and len(spec.fit.parameters) >= 4


def test_a_bad_patterns_file_lists_every_problem(tmp_path):
    scenario = ROOT / "scenarios" / "patterns" / "typical_country.yaml"
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: x\nreplicates: 2\npatterns:\n"
        f"  - {{name: a, description: d, source: s, scenario: {scenario}, "
        "observable: staff_retenton, target: {low: 0, high: 1}}\n"
        f"  - {{name: b, description: d, source: s, scenario: {scenario}, "
        "observable: sustainment, options: {end: 3, later: 2}, target: {low: 0, high: 1}}\n"
        "  - {name: c, description: d, source: s, scenario: missing.yaml, "
        "observable: years_to_half, target: {low: 2, high: 1}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_patterns(path)
    text = str(caught.value)
    assert "did you mean 'staff_retention'" in text
    assert "takes no option 'later'" in text and "'follow_up' is missing" in text
    assert "must be below high" in text


def test_range_distance_is_zero_inside_and_grows_outside():
    target = Target(low=1.0, high=3.0)
    assert range_distance(2.0, target) == 0.0
    assert range_distance(4.0, target) == pytest.approx(0.5)
    assert range_distance(0.0, target) == pytest.approx(0.5)
    assert range_distance(float("nan"), target) > range_distance(100.0, target) / 100


def test_staff_retention_follows_the_turnover_rate():
    scenario = small({"turnover": {"annual": 0.2}}, months=36)
    found = observe_scenario(scenario, 0, [_pattern("staff_retention", months=36)])
    assert found["staff_retention"] == pytest.approx(0.8**3, abs=0.02)
    none = small({"turnover": {"annual": 0.0}}, months=36)
    assert observe_scenario(none, 0, [_pattern("staff_retention", months=36)])[
        "staff_retention"
    ] == pytest.approx(1.0)


def test_reporting_completeness_is_what_the_parameter_says():
    scenario = small({"channels": {"upward_reporting": {"completeness": 0.6}}}, months=24)
    found = observe_scenario(scenario, 0, [_pattern("reporting_completeness")])
    assert found["reporting_completeness"] == pytest.approx(0.6, abs=0.02)


def test_blame_keeps_failures_from_the_district():
    def share(blame: float) -> float:
        scenario = small({"blame": {"facility": blame}}, months=36, loops={"triple": False})
        return observe_scenario(scenario, 0, [_pattern("failures_reaching_district")])[
            "failures_reaching_district"
        ]

    open_culture, middling, blaming = share(0.0), share(0.5), share(1.0)
    assert blaming == 0.0  # blame 1 lets no failure be told
    # a told failure may still be passed to peers before the month's report leaves
    assert 0.1 < open_culture <= 1.0
    assert open_culture > middling > blaming


def test_a_programme_gain_is_paired_against_the_same_replicate_without_it():
    country = {
        "channels": {"coaching": {"enabled": False}},
        "programmes": [{"name": "c", "lever": "coaching", "start": 1, "districts": ["D001"]}],
    }
    scenario = small(country, months=24)
    found = observe_scenario(
        scenario,
        1,
        [_pattern("programme_qoc_gain", month=24), _pattern("sustainment", end=12, follow_up=12)],
    )
    assert found["programme_qoc_gain"] > 0.0
    assert 0.0 <= found["sustainment"] <= 1.0
    # without any programme, the paired gain is exactly nothing to compare
    plain = small({"channels": {"coaching": {"enabled": False}}}, months=24)
    empty = observe_scenario(plain, 1, [_pattern("programme_qoc_gain", month=24)])
    assert math.isnan(empty["programme_qoc_gain"])


def test_years_to_half_counts_practices_that_never_get_there_as_after_the_run():
    from tests.builders import all_channels_off

    scenario = small({**all_channels_off(), "innovation": {"rate": 0.0}}, months=12)
    found = observe_scenario(scenario, 0, [_pattern("years_to_half")])
    assert found["years_to_half"] == pytest.approx(13 / 12)


def test_the_fast_patterns_check_names_its_misses():
    spec = load_patterns(PATTERNS)
    check = check_patterns(spec, replicates=2, fast=True)
    table = check.table.set_index("pattern")
    assert set(table.index) == {p.name for p in spec.patterns if p.fast}
    inside = (table["target_low"] <= table["median"]) & (table["median"] <= table["target_high"])
    assert (table["inside"] == inside).all()
    assert sorted(check.missed) == sorted(table.index[~inside])
    # Completeness is a parameter read straight back: it must sit inside its range.
    assert table.loc["reporting_completeness", "inside"]
    with pytest.raises(ScenarioError, match="no such pattern"):
        check_patterns(spec, only=["nonsense"])


def test_lhsim_patterns_exits_non_zero_on_a_miss(tmp_path, capsys):
    scenario = ROOT / "scenarios" / "patterns" / "typical_country.yaml"
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: x\nreplicates: 1\npatterns:\n"
        f"  - {{name: a, description: d, source: s, scenario: {scenario}, "
        "observable: reporting_completeness, target: {low: 0.0, high: 1.0}}\n"
        f"  - {{name: b, description: d, source: s, scenario: {scenario}, "
        "observable: reporting_completeness, target: {low: 0.0, high: 0.1}}\n"
    )
    out = tmp_path / "out"
    code = main(["patterns", str(path), "--out", str(out), "--executor", "serial", "--only", "a"])
    assert code == 0 and (out / "patterns.png").is_file()
    assert main(["patterns", str(path), "--out", str(out), "--executor", "serial"]) == 1
    assert "MISSED" in capsys.readouterr().out
    assert main(["patterns", str(tmp_path / "none.yaml"), "--out", str(out)]) == 2


def test_milestones_follow_the_life_of_each_practice():
    result = run_replicate(small(months=36), 0)
    table = result.milestones
    assert list(table.columns) == ["practice", "topic", "effect", *MILESTONE_COLUMNS]
    assert len(table) == 12
    # a practice is tried before it succeeds, and succeeds before guidance is issued
    tried = table.dropna(subset=["first_success"])
    assert not tried.empty and (tried["first_trial"] <= tried["first_success"]).all()
    issued = table.dropna(subset=["guidance_issued"])
    assert (issued["first_lesson_at_national"] <= issued["guidance_issued"]).all()
    coverage = result.practices.pivot(index="month", columns="practice", values="coverage")
    for row in table.itertuples():
        if not np.isnan(row.months_to_50):
            assert coverage[row.practice].iloc[int(row.months_to_50) - 1] >= 0.5


def test_staff_departures_are_counted_every_month():
    model = LearningHealthSystem(small({"turnover": {"annual": 0.3}}, months=3), 0)
    model.step()
    assert model.counts["staff_departures"] > 0


@pytest.mark.slow
def test_a_pattern_fit_depends_on_the_seed_only(tmp_path):
    scenario = ROOT / "scenarios" / "patterns" / "typical_country.yaml"
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: x\nseed: 7\nreplicates: 1\npatterns:\n"
        f"  - {{name: retention, description: d, source: s, scenario: {scenario}, "
        "observable: staff_retention, options: {months: 36}, target: {low: 0.46, high: 0.54}}\n"
        "fit:\n  parameters:\n"
        "    - {name: turnover, key: turnover.annual, prior: {low: 0.05, high: 0.4}}\n"
        "  stopping: {population_size: 12, max_generations: 2}\n"
    )
    serial = fit_patterns(path, out=tmp_path / "a", executor="serial", quiet=True)
    pooled = fit_patterns(path, out=tmp_path / "b", executor="processes", workers=2, quiet=True)
    assert serial.summary.equals(pooled.summary)
    row = serial.summary.set_index("parameter").loc["turnover"]
    assert 0.05 <= row["p05"] <= row["median"] <= row["p95"] <= 0.4
    # Half of staff gone in three years needs about 0.2 a year: the fit narrows towards it.
    assert 0.12 < row["median"] < 0.3
    assert (tmp_path / "a" / "posterior.png").is_file()
