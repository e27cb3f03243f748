from __future__ import annotations

import pytest

from sim.errors import ScenarioError
from sim.model.model import LearningHealthSystem
from sim.model.rules import Blame
from sim.model.schema import Country, Scenario, iter_parameters
from sim.trainer.levers import (
    LEVER_PATHS,
    LOOP_LEVERS,
    SLIDER_REACH,
    LeverReader,
    apply_levers,
    lever_value,
    levers,
)

from builders import small


def test_every_lever_comes_from_the_parameter_source() -> None:
    known = {info.path: info for info in iter_parameters(Country)}
    for lever in levers():
        info = known[lever.path]
        assert lever.default == info.default, f"{lever.path}: slider default drifted"
        assert lever.low == info.low, f"{lever.path}: slider low drifted"
        expected_high = info.high
        if lever.path in SLIDER_REACH:
            expected_high = min(info.high or SLIDER_REACH[lever.path], SLIDER_REACH[lever.path])
        assert lever.high == expected_high, f"{lever.path}: slider high {lever.high}"
        assert lever.description == info.description


def test_levers_cover_the_teaching_list_and_every_channel_switch() -> None:
    paths = [lever.path for lever in levers()]
    assert paths[: len(LEVER_PATHS)] == list(LEVER_PATHS)
    switches = {p for p in paths if p.endswith(".enabled")}
    expected = {
        info.path
        for info in iter_parameters(Country)
        if info.path.startswith("channels.") and info.path.endswith(".enabled")
    }
    assert switches == expected and len(expected) == 10, switches


def test_lever_kinds_follow_the_field_types() -> None:
    found = {lever.path: lever for lever in levers()}
    assert found["turnover.annual"].kind == "float"
    assert found["channels.learning_sessions.interval_months"].kind == "int"
    assert found["national.capacity"].optional, "capacity null means unlimited"
    assert found["national.routing"].kind == "choice"
    assert found["channels.coaching.enabled"].kind == "bool"


def test_apply_levers_changes_only_the_named_countries() -> None:
    scenario = Scenario(
        name="two", countries=[{"name": "A"}, {"name": "B", "turnover": {"annual": 0.3}}]
    )
    changed = apply_levers(scenario, {"blame.facility": 0.9, "national.capacity": None}, ["A"])
    assert lever_value(changed, "blame.facility", 0) == 0.9
    assert lever_value(changed, "national.capacity", 0) is None
    assert lever_value(changed, "blame.facility", 1) == Blame().facility, "B must keep its blame"
    assert lever_value(changed, "turnover.annual", 1) == 0.3, "B must keep its turnover"
    assert lever_value(scenario, "blame.facility", 0) == Blame().facility, (
        "the original is unchanged"
    )


def test_apply_levers_reports_out_of_range_values_readably() -> None:
    with pytest.raises(ScenarioError, match=r"turnover\.annual.*less than or equal to 0\.9"):
        apply_levers(small(), {"turnover.annual": 1.5})
    with pytest.raises(ScenarioError, match="no such country"):
        apply_levers(small(), {"turnover.annual": 0.2}, ["Atlantis"])


def test_labels_are_plain_words_and_tooltips_are_the_parameter_descriptions() -> None:
    found = levers()
    labels = [lever.label for lever in found]
    assert len(set(labels)) == len(labels), "two levers share a label"
    for lever in found:
        assert not set(lever.label) & set("._:"), f"{lever.path}: label reads like code"
        assert lever.label[0].isupper(), lever.label
        assert lever.tooltip.startswith(lever.description.rstrip(".")), lever.tooltip
        assert "default" in lever.tooltip.lower()


def test_the_reader_follows_what_the_triple_loop_moves() -> None:
    model = LearningHealthSystem(
        small(
            {"blame": {"facility": 0.9}},
            months=12,
            loops={"triple": True, "review_interval_months": 3, "loss_share_trigger": 0.0},
        )
    )
    reader = LeverReader(model)
    start = reader.values(0)
    assert start["blame.facility"] == 0.9 and start["facility_mix.documentation"] == 0.4
    for _ in range(12):
        model.step()
    moved = {path for d in model.decisions for path in d.levers}
    assert moved and moved <= set(LOOP_LEVERS), moved
    now = reader.values(0)
    assert now["blame.facility"] == pytest.approx(float(model.system.blame_facility[0]))
    assert now["channels.learning_sessions.interval_months"] == model.system.session_interval[0]
    docs = model.world.documentation
    assert now["facility_mix.documentation"] > 0.4, "templates raise documentation"
    assert now["facility_mix.documentation"] <= 1.0 and docs.max() <= 1.0
    assert {path for path in LOOP_LEVERS if now[path] != start[path]} <= moved
