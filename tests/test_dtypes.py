"""Narrow array types against the ranges the schema allows: no silent overflow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.config.scenario import load_scenario
from sim.model.ledger import _COLUMNS as LEDGER_TYPES
from sim.model.parameters import iter_parameters
from sim.model.schema import MAX_COUNTRIES, Country, Scenario
from sim.model.state import holders_type
from sim.runs.simulation import run_replicate

#: Parameters whose maximum builds a world too large for a unit test; their types are
#: checked against the maximum by arithmetic below instead.
TOO_LARGE_TO_RUN = {"countries.0.facilities", "countries.0.districts", "replicates", "months"}


def integer_parameters() -> list[tuple[str, int]]:
    found = []
    for model, prefix in ((Scenario, ""), (Country, "countries.0.")):
        for p in iter_parameters(model, prefix):
            if isinstance(p.default, int) and not isinstance(p.default, bool) and p.high:
                if model is Scenario and p.path.startswith("countries"):
                    continue
                found.append((p.path, int(p.high)))
    return found


def small_document() -> dict:
    return {
        "name": "widest",
        "seed": 3,
        "months": 4,
        "practices": {"count": 6, "initial_adoption": 0.3},
        "countries": [{"name": "A", "districts": 4, "facilities": 40}],
    }


def test_every_integer_parameter_is_walked() -> None:
    paths = [path for path, _ in integer_parameters()]
    assert "countries.0.facility_mix.staff_hospital" in paths and len(paths) > 30, paths


@pytest.mark.parametrize(("path", "high"), integer_parameters())
def test_each_integer_parameter_at_its_maximum_runs_without_overflow(path: str, high: int) -> None:
    if path in TOO_LARGE_TO_RUN:
        pytest.skip("checked by test_indices_hold_the_largest_world")
    document = small_document()
    parts = path.split(".")
    node = document["countries"][0] if parts[0] == "countries" else document
    for part in parts[2:-1] if parts[0] == "countries" else parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = high
    result = run_replicate(Scenario.model_validate(document), 0)
    summary = result.summary
    for name in ("qoc_initial", "qoc_final"):
        value = float(summary[name])
        assert 0.0 <= value <= 1.0, f"{path}={high}: {name} {value} outside [0, 1]"
    lost = [float(v) for k, v in summary.items() if k.startswith("lost_")]
    assert all(v >= 0 for v in lost), f"{path}={high}: a negative loss count {lost}"


def test_indices_hold_the_largest_world() -> None:
    facilities = Country.model_fields["facilities"].json_schema_extra["high"]  # type: ignore[index]
    districts = Country.model_fields["districts"].json_schema_extra["high"]  # type: ignore[index]
    assert MAX_COUNTRIES * facilities <= np.iinfo(LEDGER_TYPES["facility"]).max
    assert MAX_COUNTRIES * districts <= np.iinfo(LEDGER_TYPES["district"]).max
    assert np.iinfo(LEDGER_TYPES["country"]).max >= MAX_COUNTRIES
    months = Scenario.model_fields["months"].json_schema_extra["high"]  # type: ignore[index]
    assert months <= np.iinfo(LEDGER_TYPES["age"]).max, "a lesson's age in months"
    assert months + 120 <= np.iinfo(np.int32).max, "coached_until, a month number"
    from sim.model.practices import PracticeCatalogue

    count = PracticeCatalogue.model_fields["count"].json_schema_extra["high"]  # type: ignore[index]
    assert count <= np.iinfo(LEDGER_TYPES["practice"]).max


def test_too_many_countries_is_a_problem() -> None:
    countries = [{"name": f"C{i}", "facilities": 1, "districts": 1} for i in range(1001)]
    with pytest.raises(ValueError, match="1000"):
        Scenario.model_validate({"name": "many", "countries": countries})


@pytest.mark.parametrize("staff", [32_767, 40_000, 65_536, 2**31 - 1])
def test_holders_type_holds_every_staff_count(staff: int) -> None:
    assert np.iinfo(holders_type(np.array([3, staff]))).max >= staff


def facility_list(folder: Path, staff: int) -> Path:
    rows = ["id,district,level,sector,staff"]
    rows += [f"f{i},D{i % 3},health_centre,public,{staff}" for i in range(30)]
    (folder / f"staff{staff}.csv").write_text("\n".join(rows) + "\n")
    scenario = folder / f"staff{staff}.yaml"
    scenario.write_text(
        f"name: staff{staff}\nseed: 9\nmonths: 3\npractices: {{count: 6, initial_adoption: 0.4}}\n"
        f"countries:\n  - name: A\n    facility_file: staff{staff}.csv\n"
    )
    return scenario


def test_a_facility_of_40000_staff_starts_like_one_of_40(tmp_path: Path) -> None:
    """The issue's reproducer: 16-bit holders gave qoc_initial 0.0045 instead of ~0.44."""
    small = run_replicate(load_scenario(facility_list(tmp_path, 40)), 0).summary
    for staff in (40_000, 65_536):
        large = run_replicate(load_scenario(facility_list(tmp_path, staff)), 0).summary
        assert large["qoc_initial"] == pytest.approx(small["qoc_initial"], rel=0.02), staff
        assert large["qoc_final"] > 0.5 * small["qoc_final"], f"practices lost at {staff} staff"
