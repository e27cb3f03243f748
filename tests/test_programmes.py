"""Programmes: a district channel in target districts, from a start month to the end of support."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.config.scenario import load_scenario, setting_notes
from sim.errors import ScenarioError
from sim.metrics.costs import cost_by_year
from sim.model.mechanisms.programmes import covered_now
from sim.model.model import LearningHealthSystem
from sim.model.schema import Scenario
from tests.builders import small


def run(scenario: Scenario) -> tuple[LearningHealthSystem, pd.DataFrame]:
    model = LearningHealthSystem(scenario, 0)
    model.run()
    return model, pd.DataFrame(model.recorder.rows)


def coaching_programme(**programme: object) -> Scenario:
    plan = {"name": "coaching", "lever": "coaching", **programme}
    return small({"channels": {"coaching": {"enabled": False}}, "programmes": [plan]})


@given(
    start=st.integers(1, 40),
    length=st.integers(0, 40),
    ramp=st.integers(0, 12),
    targets=st.integers(0, 30),
)
def test_coverage_grows_during_support_and_is_zero_outside(
    start: int, length: int, ramp: int, targets: int
) -> None:
    end = start + length
    counts = [covered_now(m, start, end, ramp, targets) for m in range(1, end + 5)]
    inside = counts[start - 1 : end]
    assert all(c == 0 for c in counts[: start - 1]) and all(c == 0 for c in counts[end:])
    assert inside == sorted(inside), "coverage never shrinks during support"
    assert all(0 <= c <= targets for c in counts)
    if len(inside) >= max(ramp, 1):
        assert inside[max(ramp, 1) - 1] == targets, "every target is covered once ramped up"


def test_coaching_runs_only_in_target_districts_and_during_support() -> None:
    scenario = coaching_programme(start=7, end=20, districts=["D002", "Testland-D005"])
    model, rows = run(scenario)
    visits = rows.set_index("month")["coaching_visits"]
    assert visits.loc[:6].sum() == 0 and visits.loc[21:].sum() == 0
    assert (visits.loc[7:20] > 0).all()
    w = model.world
    coached_districts = set(
        w.district_names[np.unique(w.facility_district[model.population.coached_until > 0])]
    )
    assert coached_districts == {"Testland-D002", "Testland-D005"}
    assert rows.set_index("month")["programme_district_months"].loc[7:20].eq(2).all()


def test_a_share_is_drawn_once_and_kept_when_another_programme_is_added() -> None:
    one = coaching_programme(share=0.3)
    plans = [
        {"name": "coaching", "lever": "coaching", "share": 0.3},
        {"name": "visits", "lever": "exchange_visits", "share": 0.5},
    ]
    two = small({"channels": {"coaching": {"enabled": False}}, "programmes": plans})
    targets = []
    for scenario in (one, two):
        model = LearningHealthSystem(scenario, 0)
        programme = model.mechanisms[0]
        assert programme.name == "programmes"
        targets.append(sorted(programme.plans[0][1].tolist()))  # type: ignore[attr-defined]
    assert len(targets[0]) == 3 and targets[0] == targets[1]


def test_a_programme_everywhere_from_month_one_is_the_whole_run_lever() -> None:
    _, switched_on = run(small())
    _, programme = run(coaching_programme())
    columns = [c for c in switched_on.columns if c != "programme_district_months"]
    pd.testing.assert_frame_equal(switched_on[columns], programme[columns])


def test_ending_support_stops_the_channel_and_keeps_what_was_learned() -> None:
    _, never = run(coaching_programme(start=1, end=1, districts=["D001"]))
    _, funded = run(coaching_programme(start=1, end=18))
    month = funded.set_index("month")
    assert month["coaching_visits"].loc[19:].sum() == 0
    assert month["qoc"].loc[36] > never.set_index("month")["qoc"].loc[36] - 0.02


def test_turnover_draws_the_same_with_and_without_a_programme() -> None:
    _, without = run(small({"channels": {"coaching": {"enabled": False}}}))
    _, with_programme = run(coaching_programme(start=6, share=0.5))
    assert (
        without["practices_lost_turnover"].iloc[:5]
        == with_programme["practices_lost_turnover"].iloc[:5]
    ).all()
    assert without["coaching_visits"].sum() == 0 < with_programme["coaching_visits"].sum()


def test_programme_support_is_charged_only_for_covered_district_months() -> None:
    scenario = coaching_programme(
        start=13, end=24, ramp_up_months=6, districts=["D001", "D002", "D003"]
    )
    _, rows = run(scenario)
    rows["replicate"] = 0
    table = cost_by_year(rows, scenario)
    support = table[table.activity == "programme_support_per_district_month"]
    assert support.groupby("year")["units"].sum().tolist() == [
        0.0,
        1 + 1 + 2 + 2 + 3 + 3 + 3 * 6,
        0.0,
    ]
    assert support["cost"].sum() == pytest.approx(
        30 * scenario.costs.programme_support_per_district_month
    )


def write(tmp_path: Path, programmes: str, channels: str = "{coaching: {enabled: false}}") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncountries:\n  - name: A\n    districts: 4\n    facilities: 40\n"
        f"    channels: {channels}\n    programmes:\n{programmes}"
    )
    return path


def test_bad_programmes_are_reported_with_key_and_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "      - {name: a, lever: coaching, start: 10, end: 4}\n"
        "      - {name: b, lever: coching}\n"
        "      - {name: c, lever: coaching, share: 1.5}\n"
        "      - {name: d, lever: coaching, share: 0.5, districts: [D001]}\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "programmes.0.end: end must not come before start" in text
    assert "programmes.1.lever: not one of the allowed choices" in text
    assert "programmes.2.share: too large" in text
    assert "programmes.3" in text and "districts or share, not both" in text


def test_an_unknown_district_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "      - {name: a, lever: coaching, districts: [D001, D04]}\n")
    with pytest.raises(ScenarioError, match=r"unknown district of A.*did you mean 'D004'"):
        load_scenario(path)


def test_a_programme_for_a_channel_already_on_everywhere_is_noted(tmp_path: Path) -> None:
    inert = load_scenario(write(tmp_path, "      - {name: a, lever: coaching}\n", "{}"))
    assert [key for key, _ in setting_notes(inert)] == ["countries.0.programmes.0"]
    useful = load_scenario(write(tmp_path, "      - {name: a, lever: coaching}\n"))
    assert setting_notes(useful) == []


def test_settings_that_can_change_nothing_are_noted_only_when_set_on_purpose() -> None:
    from sim.model.schema import Scenario

    quiet = Scenario(name="s", countries=[{"name": "A"}])
    assert setting_notes(quiet) == [], "defaults are not the user's doing"
    loud = Scenario(
        name="s",
        global_learning={"enabled": True},
        countries=[{"name": "A", "channels": {"community_of_practice": {"enabled": True}}}],
    )
    assert [key for key, _ in setting_notes(loud)] == [
        "countries.0.channels.community_of_practice.enabled",
        "global_learning.enabled",
    ]


def facility_programme(lever: str, **programme: object) -> Scenario:
    plan = {"name": lever, "lever": lever, **programme}
    return small({"programmes": [plan]}, loops={"triple": False})


def test_a_blame_free_programme_lowers_blame_only_where_and_while_it_supports() -> None:
    scenario = facility_programme(
        "blame_free_culture", reduction=0.4, start=4, end=9, districts=["D001", "D003"]
    )
    model = LearningHealthSystem(scenario, 0)
    w = model.world
    everyone = np.arange(w.n_facilities)
    base = model.system.blame_facility[w.facility_country]
    covered = np.isin(w.district_names[w.facility_district], ["Testland-D001", "Testland-D003"])
    for month in range(1, 13):
        model.step()
        blame = model.month_context.facility_blame(everyone)
        expected = np.where(covered & (4 <= month <= 9), np.maximum(0.0, base - 0.4), base)
        np.testing.assert_allclose(blame, expected, err_msg=f"month {month}")
    rows = pd.DataFrame(model.recorder.rows).set_index("month")
    tenths = rows["blame_tenth_facility_months"]
    assert tenths.loc[4:9].eq(4 * covered.sum()).all() and tenths.drop(range(4, 10)).eq(0).all()


def test_less_blame_loses_fewer_lessons_to_blame() -> None:
    from sim.model.ledger import CAUSES

    blame = CAUSES.index("blame")
    lost = []
    for reduction in (0.0, 0.3, 0.6):
        model, _ = run(facility_programme("blame_free_culture", reduction=reduction))
        lost.append(int(model.ledger.lost[:, blame].sum()))
    assert lost[0] > lost[1] > lost[2], lost


def test_documentation_training_reaches_districts_as_they_join_and_stays() -> None:
    scenario = facility_programme(
        "documentation_training", documentation=0.9, start=3, end=6, ramp_up_months=2,
        districts=["D002", "D004"],
    )  # fmt: skip
    model = LearningHealthSystem(scenario, 0)
    w = model.world
    before = w.documentation.copy()
    members = np.isin(w.district_names[w.facility_district], ["Testland-D002", "Testland-D004"])
    model.run()
    assert (w.documentation[members] >= 0.9).all()
    np.testing.assert_array_equal(w.documentation[~members], before[~members])
    rows = pd.DataFrame(model.recorder.rows).set_index("month")
    trained = rows["facilities_trained"]
    assert trained.sum() == members.sum(), "each facility is trained once"
    assert trained.loc[3] > 0 and trained.loc[4] > 0 and trained.drop([3, 4]).eq(0).all()
    rows = rows.reset_index().assign(replicate=0)
    table = cost_by_year(rows, scenario)
    charged = table[table.activity == "documentation_training_per_facility"]["cost"].sum()
    assert charged == pytest.approx(
        members.sum() * scenario.costs.documentation_training_per_facility
    )


def test_a_facility_programme_needs_its_own_dose(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "      - {name: a, lever: blame_free_culture}\n"
        "      - {name: b, lever: coaching, reduction: 0.2}\n"
        "      - {name: c, lever: documentation_training, documentation: 1.4}\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "programmes.0" in text and "needs its dose: set reduction" in text
    assert "programmes.1" in text and "reduction is the dose of a blame_free_culture" in text
    assert "programmes.2.documentation: too large" in text


def test_a_blame_free_programme_without_blame_to_lower_is_noted(tmp_path: Path) -> None:
    plan = "      - {name: a, lever: blame_free_culture, reduction: 0.3}\n"
    useful = load_scenario(write(tmp_path, plan))
    assert setting_notes(useful) == []
    path = write(tmp_path, plan)
    path.write_text(path.read_text() + "    blame: {facility: 0.0}\n")
    notes = setting_notes(load_scenario(path))
    assert [key for key, _ in notes] == ["countries.0.programmes.0"]
    assert "nothing changes" in notes[0][1]
