"""Learning-network maturity: a documented mapping of six domains onto parameters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.config.scenario import load_scenario, setting_notes
from sim.errors import ScenarioError
from sim.model.maturity import DOMAINS, STAGES, apply_profile, domain_levels, step_up
from sim.model.schema import Country
from sim.planning.maturity_steps import PROFILE, maturity_steps, step_scenarios


def resolved(country: dict) -> dict:
    return Country.model_validate(country).model_dump(mode="json", exclude={"maturity"})


def test_level_two_everywhere_is_the_default_country() -> None:
    plain = resolved({"name": "A"})
    assert resolved({"name": "A", "maturity": {"stage": "implementation"}}) == plain
    levels = {domain.name: 2 for domain in DOMAINS}
    assert resolved({"name": "A", "maturity": levels}) == plain


def test_each_level_sets_what_the_table_says_and_the_stage_fills_the_rest() -> None:
    for stage, level in STAGES.items():
        country = resolved({"name": "A", "maturity": {"stage": stage, "finance": 1}})
        for domain in DOMAINS:
            expected_level = 1 if domain.name == "finance" else level
            for path, values in domain.settings.items():
                node = country
                for key in path.split("."):
                    node = node[key]
                assert node == values[expected_level - 1], (stage, path)


def test_every_mapping_moves_one_way_as_the_level_rises() -> None:
    for domain in DOMAINS:
        assert domain.basis, domain.name
        assert set(domain.costed) <= set(domain.settings), domain.name
        for path, values in domain.settings.items():
            if isinstance(values[0], (int, float)) and not isinstance(values[0], bool):
                steps = [b - a for a, b in zip(values, values[1:], strict=False)]
                assert all(s >= 0 for s in steps) or all(s <= 0 for s in steps), path


def test_the_file_wins_over_its_profile_and_validate_says_so(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncountries:\n  - name: A\n    maturity: {stage: sustainability}\n"
        "    national: {capacity: 30}\n"
    )
    scenario = load_scenario(path)
    assert scenario.countries[0].national.capacity == 30
    assert scenario.countries[0].national.routing == "free", "the rest of the profile applies"
    notes = dict(setting_notes(scenario))
    assert (
        "governance level would set 240; the file's 30 is kept"
        in notes["countries.0.national.capacity"]
    )


def test_a_bad_profile_is_reported_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncountries:\n  - name: A\n"
        "    maturity: {stage: grown, leadership: 5, engagment: 2}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "maturity.stage" in text and "maturity.leadership: too large" in text
    assert "maturity.engagment" in text and "did you mean 'engagement'" in text


def test_a_step_up_changes_its_own_domain_only() -> None:
    country = Country.model_validate({"name": "A", "maturity": {"stage": "design"}})
    document = country.model_dump(mode="json")
    raised, changed = step_up(document, "governance")
    assert set(changed) == {"national.capacity", "national.time_to_live"}
    assert raised["national"]["capacity"] == 60 and raised["maturity"]["governance"] == 2
    assert domain_levels(raised["maturity"])["leadership"] == 1
    untouched = {k: v for k, v in raised.items() if k not in ("national", "maturity")}
    assert untouched == {k: v for k, v in document.items() if k not in ("national", "maturity")}
    top = apply_profile({"name": "A", "maturity": {"governance": 4}})
    with pytest.raises(ValueError, match="cannot step up from level 4"):
        step_up(Country.model_validate(top).model_dump(mode="json"), "governance")


def test_steps_need_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ncountries:\n  - name: A\n")
    with pytest.raises(ScenarioError, match="no country has a maturity profile"):
        step_scenarios(path)


def test_the_steps_are_compared_with_the_profile_best_value_first(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nmonths: 18\npractices: {count: 8}\ncountries:\n"
        "  - {name: A, districts: 3, facilities: 60,\n"
        "     maturity: {stage: implementation, governance: 4, engagement: 4}}\n"
    )
    documents, steps = step_scenarios(path)
    assert list(documents) == [PROFILE, *(f"{d} up" for d in steps["domain"])]
    assert set(steps["domain"]) == {d.name for d in DOMAINS} - {"governance", "engagement"}
    table = maturity_steps(path, out_dir=tmp_path / "out", replicates=2)
    assert (tmp_path / "out" / "report.html").is_file()
    assert (
        pd.read_csv(tmp_path / "out" / "maturity_steps.csv")["domain"].tolist()
        == table["domain"].tolist()
    )
    gaining = table[table["gain_points"] > 0]
    costly = gaining[gaining["extra_cost"] > 0]["cost_per_point"].tolist()
    assert costly == sorted(costly), "value for money first"
    assert table["gain_points"].tolist()[len(gaining) :] == sorted(
        table["gain_points"].tolist()[len(gaining) :], reverse=True
    )
    finance = table.set_index("domain").loc["finance"]
    assert finance["changed"] == "channels.coaching.capacity", "the interval is 3 at both levels"
    assert "QoC points" in finance["reading"]


def test_a_step_says_which_of_its_changes_act_on_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\ncountries:\n"
        "  - {name: A, maturity: {stage: implementation},\n"
        "     channels: {coaching: {enabled: false}}}\n"
        "  - {name: B, maturity: {stage: implementation}, learning_centres: {count: 1}}\n"
    )
    steps = step_scenarios(path)[1].set_index("domain")
    engagement = steps.loc["engagement", "idle"]
    assert "channels.community_of_practice.reach" in engagement
    assert "A has none" in engagement, "B has a learning centre, A does not"
    finance = steps.loc["finance", "idle"]
    assert finance.startswith("channels.coaching.capacity (channels.coaching is off in A")
    assert steps.loc["governance", "idle"] == "", "national settings always act"
    funded = path.read_text().replace(
        "channels: {coaching: {enabled: false}}",
        "channels: {coaching: {enabled: false}},\n     programmes: [{name: c, lever: coaching}]",
    )
    path.write_text(funded)
    assert "coaching" not in step_scenarios(path)[1].set_index("domain").loc["finance", "idle"]
