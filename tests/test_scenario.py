"""Tests of the scenario loader: YAML in, validated Scenario or every problem out."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config.scenario import load_scenario, resolved_document, validate_files
from sim.errors import Problem, ScenarioError
from sim.model.mechanisms.turnover import TurnoverParameters
from sim.model.schema import Country, Scenario, iter_parameters

DATA = Path(__file__).parent / "data" / "scenario_loader"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems_of(path: Path, match: str | None = None) -> list[Problem]:
    with pytest.raises(ScenarioError, match=match) as caught:
        load_scenario(path)
    return caught.value.problems


def by_key(problems: list[Problem], key: str) -> Problem:
    found = [p for p in problems if p.key == key]
    assert len(found) == 1, f"expected one problem at {key!r}, got {[str(p) for p in problems]}"
    return found[0]


# --------------------------------------------------------------------------- valid files
def test_minimal_file_loads_with_every_default(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: tiny\ncountries:\n  - name: A\n")
    scenario = load_scenario(path)
    assert scenario.name == "tiny"
    assert [c.name for c in scenario.countries] == ["A"]
    assert scenario.countries[0] == Country.model_validate({"name": "A"})
    assert scenario.months == Scenario.model_fields["months"].default


def test_resolved_document_is_json_ready_and_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: tiny\ncountries: [{name: A}, {name: B}]\n")
    scenario = load_scenario(path)
    document = resolved_document(scenario)
    assert document["countries"][1]["name"] == "B"
    assert isinstance(document["countries"][0]["channels"], dict)
    assert Scenario.model_validate(document) == scenario


def test_validate_files_lists_problems_per_file(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", "name: ok\ncountries: [{name: A}]\n")
    bad = write(tmp_path, "bad.yaml", "name: bad\nmonths: 0\ncountries: [{name: A, seed: 1}]\n")
    report = validate_files([good, bad])
    assert list(report) == [str(good), str(bad)]
    assert report[str(good)] == []
    assert sorted(p.key for p in report[str(bad)]) == ["countries.0.seed", "months"]


# --------------------------------------------------------------------------- key problems
def test_unknown_key_suggests_the_close_section_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: typo
        countries:
          - name: A
            turnovr: {annual: 0.3}
        """,
    )
    problem = by_key(problems_of(path, match="unknown key"), "countries.0.turnovr")
    assert problem.file == str(path)
    assert problem.value == {"annual": 0.3}
    assert problem.fix == "did you mean 'turnover'?"


def test_unknown_nested_key_suggests_the_close_field_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: typo
        countries:
          - name: A
            turnover: {anual: 0.3}
        """,
    )
    problem = by_key(problems_of(path), "countries.0.turnover.anual")
    assert problem.message == "unknown key"
    assert problem.fix == "did you mean 'annual'?"


def test_unknown_top_level_key_can_suggest_country_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        "name: t\ncountry_default: {}\ncountries: [{name: A}]\n",
    )
    assert by_key(problems_of(path), "country_default").fix == "did you mean 'country_defaults'?"


def test_unknown_key_without_close_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: t\ncountries: [{name: A, blame: {zzz: 1}}]\n")
    problem = by_key(problems_of(path), "countries.0.blame.zzz")
    assert problem.fix == "allowed keys here: facility, district, national, success_factor"


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "countries: [{facilities: 30}]\n")
    problems = problems_of(path, match="2 problems")
    assert {p.key for p in problems} == {"name", "countries.0.name"}
    assert by_key(problems, "countries.0.name").message == "required key 'name' is missing"


# --------------------------------------------------------------------------- value problems
def test_out_of_range_value_names_the_allowed_range(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: range
        countries:
          - name: A
            turnover: {annual: 1.5}
        """,
    )
    problem = by_key(problems_of(path, match="between 0 and 0.9"), "countries.0.turnover.annual")
    assert problem.value == 1.5
    assert problem.message == "too large: must be at most 0.9"
    assert problem.fix == "use a number between 0 and 0.9"


def test_whole_number_range_is_said_so(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: r\ncountries: [{name: A, districts: 0}]\n")
    problem = by_key(problems_of(path), "countries.0.districts")
    assert problem.fix == "use a whole number between 1 and 10000"


@pytest.mark.parametrize(
    ("setting", "key", "message", "fix"),
    [
        ("facilities: many", "countries.0.facilities", "must be a whole number", "between 1 and"),
        ("facilities: 12.5", "countries.0.facilities", "must be a whole number", "whole number"),
        ("turnover: {annual: high}", "countries.0.turnover.annual", "must be a number", "0.9"),
        ("channels: {coaching: {enabled: maybe}}", "countries.0.channels.coaching.enabled",
         "must be true or false", "use true or false"),
        ("national: {routing: anarchic}", "countries.0.national.routing",
         "not one of the allowed choices", "'centralised' or 'free'"),
        ("turnover: 0.2", "countries.0.turnover", "must be a mapping of keys", "annual"),
    ],
)  # fmt: skip
def test_wrong_type_says_what_is_expected(
    tmp_path: Path, setting: str, key: str, message: str, fix: str
) -> None:
    path = write(tmp_path, "s.yaml", f"name: t\ncountries:\n  - name: A\n    {setting}\n")
    problem = by_key(problems_of(path), key)
    assert problem.message == message
    assert fix in problem.fix


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: many
        months: 0
        practices: {effective_share: 0.8, harmful_share: 0.5}
        countries:
          - name: A
            turnovr: {annual: 0.3}
            blame: {facility: 2}
            facilities: 3
            districts: 5
          - name: B
            channels: {peer_network: {mixing: everyone}}
        global_links: [[A, Atlantis]]
        """,
    )
    problems = problems_of(path, match="^7 problems found")
    assert sorted(p.key for p in problems) == [
        "countries.0.blame.facility",
        "countries.0.facilities",
        "countries.0.turnovr",
        "countries.1.channels.peer_network.mixing",
        "global_links.0.1",
        "months",
        "practices.effective_share",
    ]
    assert {p.file for p in problems} == {str(path)}
    shares = by_key(problems, "practices.effective_share")
    assert shares.value == {"effective_share": 0.8, "harmful_share": 0.5}
    assert shares.message == "effective_share + harmful_share must not exceed 1"
    assert by_key(problems, "countries.0.facilities").fix == "raise facilities or lower districts"


def test_model_check_on_a_value_that_failed_is_not_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        "name: t\ncountries: [{name: A, facilities: lots, districts: 5}]\n",
    )
    problems = problems_of(path, match="^1 problem found")
    assert problems[0].key == "countries.0.facilities"


def test_global_link_to_an_unknown_country(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: links
        countries: [{name: A}, {name: B}]
        global_links: [[A, B], [Atlantis, A]]
        """,
    )
    problem = by_key(problems_of(path, match="^1 problem found"), "global_links.1.0")
    assert problem.value == "Atlantis"
    assert problem.message == "unknown country"
    assert problem.fix == "use a country name of this scenario: 'A', 'B'"


def test_repeated_country_name_and_self_link(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        "name: t\ncountries: [{name: A}, {name: A}]\nglobal_links: [[A, A]]\n",
    )
    problems = problems_of(path, match="^2 problems found")
    assert by_key(problems, "countries.1.name").message == "country name is used more than once"
    assert by_key(problems, "global_links.0").value == ["A", "A"]


# --------------------------------------------------------------------------- YAML problems
def test_duplicate_yaml_key_is_a_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: dup
        countries:
          - name: A
            turnover: {annual: 0.3}
            turnover: {annual: 0.4}
        """,
    )
    problem = by_key(problems_of(path, match="appears twice"), "countries.0.turnover")
    assert problem.file == str(path)
    assert problem.message == "key appears twice in the same mapping (lines 4 and 5)"
    assert problem.value == "{annual: 0.4}"


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: broken
        countries:
          - name: A
             facilities: 3
        """,
    )
    problems = problems_of(path, match="YAML syntax error")
    assert len(problems) == 1
    assert problems[0].key == "line 4, column 16"
    assert problems[0].value == "     facilities: 3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "must hold a mapping of keys, not a list"),
        ("just words\n", "must hold a mapping of keys, not a str"),
        ("# nothing but a comment\n", "file is empty"),
        ("name: a\n---\nname: b\n", "YAML syntax error"),
        ("name: !!python/object:os.system x\n", "YAML syntax error"),
    ],
)
def test_file_that_is_not_a_scenario_mapping(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "s.yaml", text)
    problems = problems_of(path, match=message)
    assert len(problems) == 1
    assert problems[0].file == str(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "absent.yaml", match="file not found")[0].value == str(
        tmp_path / "absent.yaml"
    )
    (tmp_path / "folder.yaml").mkdir()
    assert "a folder, not a file" in problems_of(tmp_path / "folder.yaml")[0].message
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    assert problems_of(binary)[0].message == "file is not UTF-8 text"


# --------------------------------------------------------------------------- extends
def test_extends_chain_merges_child_over_base(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        name: base
        seed: 1
        months: 36
        countries:
          - name: A
            facilities: 100
            districts: 4
            turnover: {annual: 0.1}
            blame: {facility: 0.7, district: 0.3}
          - name: B
            turnover: {annual: 0.2}
        practices: {count: 10, topics: [one, two]}
        """,
    )
    write(tmp_path, "middle.yaml", "extends: base.yaml\nseed: 2\n")
    child = write(
        tmp_path,
        "child.yaml",
        """
        extends: middle.yaml
        name: child
        countries:
          - name: A
            turnover: {annual: 0.5}
            blame: {district: 0.9}
          - name: C
            new_country: true
        practices: {topics: [three]}
        """,
    )
    scenario = load_scenario(child)
    assert (scenario.name, scenario.seed, scenario.months) == ("child", 2, 36)
    assert [c.name for c in scenario.countries] == ["A", "B", "C"]
    a, b, c = scenario.countries
    assert (a.turnover.annual, a.facilities, a.districts) == (0.5, 100, 4)
    assert (a.blame.facility, a.blame.district) == (0.7, 0.9)
    assert b.turnover.annual == 0.2
    assert c.turnover.annual == TurnoverParameters().annual, "a new country takes the defaults"
    assert scenario.practices.count == 10
    assert scenario.practices.topics == ["three"], "lists other than countries replace"


def test_a_misspelt_country_in_a_changes_file_is_an_error_not_a_new_country(
    tmp_path: Path,
) -> None:
    write(tmp_path, "base.yaml", "name: b\ncountries: [{name: Malawi}, {name: Zambia}]\n")
    child = write(
        tmp_path,
        "child.yaml",
        "extends: base.yaml\ncountries: [{name: Malawii, turnover: {annual: 0.3}}]\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(child)
    (problem,) = caught.value.problems
    assert (problem.key, problem.value) == ("countries.0.name", "Malawii")
    assert "did you mean 'Malawi'?" in problem.fix and "new_country: true" in problem.fix


def test_extends_relative_to_the_naming_file_from_another_folder() -> None:
    scenario = load_scenario(DATA / "variants" / "high_turnover.yaml")
    assert scenario.name == "loader-high-turnover"
    ruritania, freedonia = scenario.countries
    assert freedonia.turnover.annual == 0.4
    assert (freedonia.facilities, freedonia.districts, freedonia.blame.facility) == (120, 6, 0.6)
    assert ruritania.turnover.annual == 0.1
    assert ruritania.facility_file == os.path.abspath(DATA / "csv" / "facilities.csv")
    assert scenario.global_links == [("Ruritania", "Freedonia")]


def test_problem_names_the_file_that_set_the_key(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        "base.yaml",
        "name: b\ncountries:\n  - name: A\n    districts: 0\n  - name: B\n",
    )
    child = write(
        tmp_path,
        "sub/child.yaml",
        "extends: ../base.yaml\ncountries:\n  - name: A\n    turnover: {annual: 2}\n",
    )
    problems = problems_of(child, match="^2 problems found")
    assert by_key(problems, "countries.0.districts").file == str(base)
    assert by_key(problems, "countries.0.turnover.annual").file == str(child)


def test_extends_cycle_is_reported_with_the_chain(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    b = write(tmp_path, "b.yaml", "extends: a.yaml\ncountries: [{name: A}]\n")
    problems = problems_of(a, match="loops back")
    assert len(problems) == 1
    assert problems[0].file == str(b)
    assert problems[0].key == "extends"
    assert problems[0].message.endswith(f"{a} -> {b} -> {a}")


def test_extends_of_itself_is_a_cycle(tmp_path: Path) -> None:
    path = write(tmp_path, "self.yaml", "extends: ./self.yaml\nname: s\n")
    problems_of(path, match="loops back")


@pytest.mark.parametrize(
    ("reference", "message"),
    [("nowhere.yaml", "base file not found"), ("[1, 2]", "extends must name a file")],
)
def test_bad_extends_reference(tmp_path: Path, reference: str, message: str) -> None:
    path = write(tmp_path, "s.yaml", f"extends: {reference}\nname: s\ncountries: [{{name: A}}]\n")
    problem = problems_of(path, match=message)[0]
    assert (problem.file, problem.key) == (str(path), "extends")


def test_problem_in_base_file_reaches_the_child(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "name: [unclosed\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\ncountries: [{name: A}]\n")
    problem = problems_of(child, match="YAML syntax error")[0]
    assert problem.file == str(base)


# --------------------------------------------------------------------------- country_defaults
def test_country_defaults_apply_under_every_country(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: defaults
        country_defaults:
          turnover: {annual: 0.3}
          blame: {facility: 0.8, district: 0.1}
        countries:
          - name: A
          - name: B
            blame: {district: 0.9}
        """,
    )
    a, b = load_scenario(path).countries
    assert (a.turnover.annual, a.blame.facility, a.blame.district) == (0.3, 0.8, 0.1)
    assert (b.turnover.annual, b.blame.facility, b.blame.district) == (0.3, 0.8, 0.9)


def test_country_defaults_merge_across_extends(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """
        name: base
        country_defaults: {turnover: {annual: 0.3}, blame: {facility: 0.8}}
        countries: [{name: A}]
        """,
    )
    child = write(
        tmp_path,
        "child.yaml",
        "extends: base.yaml\ncountry_defaults: {blame: {facility: 0.2}}\n",
    )
    (a,) = load_scenario(child).countries
    assert (a.turnover.annual, a.blame.facility) == (0.3, 0.2)


def test_bad_country_default_is_reported_once_where_it_is_set(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        "base.yaml",
        """
        name: b
        country_defaults: {turnover: {annual: 5}, blame: {facilty: 0.2}}
        countries: [{name: A}, {name: B}, {name: C, turnover: {annual: 0.1}}]
        """,
    )
    child = write(
        tmp_path, "child.yaml", "extends: base.yaml\ncountries: [{name: D, new_country: true}]\n"
    )
    problems = problems_of(child, match="^2 problems found")
    annual = by_key(problems, "country_defaults.turnover.annual")
    assert (annual.file, annual.value) == (str(base), 5)
    assert by_key(problems, "country_defaults.blame.facilty").fix == "did you mean 'facility'?"


def test_country_value_over_a_default_is_named_in_the_country(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        """
        name: d
        country_defaults: {turnover: {annual: 0.2}}
        countries: [{name: A}, {name: B, turnover: {annual: 3}}]
        """,
    )
    problem = by_key(problems_of(path, match="^1 problem found"), "countries.1.turnover.annual")
    assert problem.value == 3


def test_country_defaults_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: d\ncountry_defaults: [1]\ncountries: [{name: A}]\n")
    assert by_key(problems_of(path), "country_defaults").value == [1]


# --------------------------------------------------------------------------- facility files
def test_relative_facility_file_is_resolved_from_the_yaml_folder(tmp_path: Path) -> None:
    shutil.copytree(DATA / "csv", tmp_path / "data")
    path = write(
        tmp_path,
        "scenarios/s.yaml",
        """
        name: files
        countries:
          - name: A
            facility_file: ../data/facilities.csv
            edge_file: ../data/edges.csv
        """,
    )
    (country,) = load_scenario(path).countries
    assert country.facility_file == str(tmp_path / "data" / "facilities.csv")
    assert country.edge_file == str(tmp_path / "data" / "edges.csv")
    assert Path(country.facility_file).is_absolute()


def test_missing_facility_file_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "name: f\ncountries: [{name: A, facility_file: none.csv}]\n")
    problem = by_key(problems_of(path, match="file not found"), "countries.0.facility_file")
    assert problem.value == str(tmp_path / "none.csv")


def test_csv_problems_are_reported_with_yaml_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.yaml",
        f"""
        name: bad-csv
        months: 0
        countries:
          - name: A
            facility_file: {DATA / "csv" / "bad_facilities_level.csv"}
            edge_file: {DATA / "csv" / "bad_edges.csv"}
        """,
    )
    problems = problems_of(path, match="^5 problems found")
    assert [(Path(p.file).name, p.key) for p in problems] == [
        ("s.yaml", "months"),
        ("bad_facilities_level.csv", "row 4, column id"),
        ("bad_facilities_level.csv", "row 4, column level"),
        ("bad_edges.csv", "row 3, column target"),
        ("bad_edges.csv", "row 4, column target"),
    ]


# --------------------------------------------------------------------------- properties
RANGED = [p for p in iter_parameters(Country) if p.low is not None and p.high is not None]


def nested(values: dict[str, Any]) -> dict[str, Any]:
    """``{"turnover.annual": 0.2}`` -> ``{"turnover": {"annual": 0.2}}``."""
    tree: dict[str, Any] = {}
    for path, value in values.items():
        *sections, key = path.split(".")
        node = tree
        for section in sections:
            node = node.setdefault(section, {})
        node[key] = value
    return tree


def attribute(model: Any, path: str) -> Any:
    for part in path.split("."):
        model = getattr(model, part)
    return model


def in_range(low: float, high: float, whole: bool) -> st.SearchStrategy[Any]:
    if whole:
        return st.integers(int(low), int(high))
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def out_of_range(low: float, high: float, whole: bool) -> st.SearchStrategy[Any]:
    if whole:
        return st.integers(-(10**12), int(low) - 1) | st.integers(int(high) + 1, 10**12)
    below = st.floats(max_value=low, exclude_max=True, allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=high, exclude_min=True, allow_nan=False, allow_infinity=False)
    return below | above


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def test_every_ranged_parameter_is_numeric() -> None:
    assert len(RANGED) > 50
    assert all(type(p.default) in (int, float) for p in RANGED)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.fixed_dictionaries(
        {p.path: in_range(p.low, p.high, type(p.default) is int) for p in RANGED}  # type: ignore[arg-type]
    )
)
def test_values_in_range_load_back_unchanged(workdir: Path, values: dict[str, Any]) -> None:
    # Cross-field rules of Country: enough facilities; level shares add up to at most 1.
    values["facilities"] = max(values["facilities"], values["districts"])
    hospital = values["facility_mix.hospital_share"]
    if hospital + values["facility_mix.health_centre_share"] > 1:
        values["facility_mix.health_centre_share"] = (1.0 - hospital) / 2
    document = {"name": "property", "countries": [{"name": "A", **nested(values)}]}
    path = workdir / "in_range.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    (country,) = load_scenario(path).countries
    for key, value in values.items():
        assert attribute(country, key) == value, f"{key}: wrote {value!r}"


@settings(max_examples=60, deadline=None)
@given(data=st.data(), parameter=st.sampled_from(RANGED))
def test_values_out_of_range_are_named(workdir: Path, data: st.DataObject, parameter: Any) -> None:
    whole = type(parameter.default) is int
    value = data.draw(out_of_range(parameter.low, parameter.high, whole), label="value")
    document = {"name": "property", "countries": [{"name": "A", **nested({parameter.path: value})}]}
    path = workdir / "out_of_range.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problem = by_key(caught.value.problems, f"countries.0.{parameter.path}")
    assert problem.value == value
    assert " between " in problem.fix
