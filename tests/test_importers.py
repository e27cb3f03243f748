"""Tests of lhsim import: facility lists and DHIS2 exports become scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli.main import main
from sim.config.importers import ImportOptions, import_csv, import_dhis2, import_maina
from sim.config.importers.csv_list import parse_columns
from sim.config.importers.districts import derive_districts
from sim.config.importers.maina import MAINA_FILE, maina_sources
from sim.config.importers.network import KINDS, geographic_ties
from sim.config.importers.type_mapping import DEFAULT_TYPES, load_type_mapping
from sim.config.scenario import load_scenario, validate_files
from sim.errors import ScenarioError
from sim.model.facility_list import read_facility_table

# --------------------------------------------------------------------------- fixtures
# A ministry's list with its own headers: two counties, one without coordinates in
# one row, one facility type the default mapping knows only by its words.
MINISTRY_CSV = """\
Code,Facility Name,County,Sub-county,Kind,Owner,Y,X
K001,Riverside District Hospital,Lake,Lake North,District Hospital,MoH,-1.00,34.00
K002,Riverside Health Centre,Lake,Lake North,Health Centre,MoH,-1.02,34.01
K003,Ferry Dispensary,Lake,Lake North,Dispensary,Mission,-1.03,34.03
K004,Island Dispensary,Lake,Lake South,Dispensary,MoH,-1.20,34.10
K005,Bay Clinic,Lake,Lake South,Clinic,Private,-1.22,34.12
K006,Hill Health Post,Hills,Hills East,Health Post,MoH,,
K007,Hill Health Centre,Hills,Hills East,Health Centre IV,NGO,-0.50,35.00
K008,Ridge Hospital,Hills,Hills East,County Referral Hospital,MoH,-0.52,35.02
"""
MINISTRY_COLUMNS = [
    "id=Code",
    "name=Facility Name",
    "region=County",
    "district=Sub-county",
    "type=Kind",
    "ownership=Owner",
    "lat=Y",
    "lon=X",
]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def unit(uid: str, name: str, parent: str | None, level: int, point=None) -> dict:
    found: dict = {"id": uid, "name": name, "level": level}
    if parent is not None:
        found["parent"] = {"id": parent}
    if point is not None:
        found["geometry"] = {"type": "Point", "coordinates": list(point)}
    return found


def dhis2_document() -> dict:
    """Country > 2 regions > 3 districts > 7 facilities, with type and ownership groups."""
    units = [
        unit("C", "Sierra Test", None, 1),
        unit("R1", "North", "C", 2),
        unit("R2", "South", "C", 2),
        unit("D1", "Bombali", "R1", 3),
        unit("D2", "Tonkolili", "R1", 3),
        unit("D3", "Bo", "R2", 3),
        unit("F1", "Makeni Govt Hospital", "D1", 4, (-12.04, 8.88)),
        unit("F2", "Kamabai CHC", "D1", 4, (-11.93, 9.12)),
        unit("F3", "Binkolo MCHP", "D1", 4, (-11.98, 8.95)),
        unit("F4", "Magburaka CHP", "D2", 4, (-11.94, 8.72)),
        unit("F5", "Yele MCHP", "D2", 4),  # no coordinates
        unit("F6", "Bo Govt Hospital", "D3", 4, (-11.74, 7.96)),
        unit("F7", "Ngelehun CHC", "D3", 4, (-11.42, 8.10)),  # typed by its name
    ]
    groups = [
        {"id": "gH", "name": "Hospital", "organisationUnits": [{"id": "F1"}, {"id": "F6"}]},
        {"id": "gC", "name": "CHC", "organisationUnits": [{"id": "F2"}]},
        {"id": "gM", "name": "MCHP", "organisationUnits": [{"id": "F3"}, {"id": "F5"}]},
        {"id": "gP", "name": "CHP", "organisationUnits": [{"id": "F4"}]},
        {"id": "gPub", "name": "Public facilities", "organisationUnits": [{"id": "F1"}]},
        {"id": "gMis", "name": "Mission", "organisationUnits": [{"id": "F2"}, {"id": "F7"}]},
    ]
    return {
        "organisationUnits": units,
        "organisationUnitLevels": [
            {"level": 1, "name": "National"},
            {"level": 2, "name": "Province"},
            {"level": 3, "name": "District"},
            {"level": 4, "name": "Facility"},
        ],
        "organisationUnitGroups": groups,
        "organisationUnitGroupSets": [
            {"name": "Facility Type",
             "organisationUnitGroups": [{"id": g} for g in ("gH", "gC", "gM", "gP")]},
            {"name": "Facility Ownership",
             "organisationUnitGroups": [{"id": "gPub"}, {"id": "gMis"}]},
        ],
    }  # fmt: skip


def write_json(folder: Path, document: object, name: str = "metadata.json") -> Path:
    return write(folder, name, json.dumps(document, indent=1))


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def facilities_of(folder: Path, name: str = "facilities.csv") -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------- type mapping
def test_default_mapping_knows_every_type_of_the_shipped_list() -> None:
    mapping = load_type_mapping()
    types = pd.read_csv(MAINA_FILE, usecols=["Facility type"])["Facility type"].to_numpy()
    level, staff, unmapped = mapping.levels(types)
    assert unmapped == {}
    assert (level >= 0).all() and (staff >= 1).all()


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("Community Health Centre", 1),  # longer phrase beats "health centre"
        ("Hôpital de District", 0),
        ("Poste de Santé", 2),
        ("MCHP", 2),
        ("Health Post/Dispensary", 2),
        ("Centre de Santé Intégré", 1),
    ],
)
def test_type_names_map_to_levels(name: str, level: int) -> None:
    found = load_type_mapping().classify(name)
    assert found is not None and found[0] == level


def test_a_mapping_file_is_checked_with_every_problem_listed(tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "types.yaml",
        "types:\n  - {level: clinic, staff: 0, match: [x]}\nprivat: [ngo]\n",
    )
    with pytest.raises(ScenarioError) as caught:
        load_type_mapping(bad)
    keys = sorted(p.key for p in caught.value.problems)
    assert keys == ["privat", "types.0.level", "types.0.staff"]


# --------------------------------------------------------------------------- csv
def test_csv_list_becomes_a_valid_scenario(tmp_path: Path) -> None:
    source = write(tmp_path, "kenya_list.csv", MINISTRY_CSV)
    out = tmp_path / "out"
    result = import_csv(source, parse_columns(MINISTRY_COLUMNS), out, draw=False)
    assert validate_files([out / "scenario.yaml"]) == {str(out / "scenario.yaml"): []}
    frame = facilities_of(out)
    assert frame["id"].tolist() == [f"K00{i}" for i in range(1, 9)]
    assert frame["level"].tolist() == [
        "hospital", "health_centre", "health_post", "health_post",
        "health_centre", "health_post", "health_centre", "hospital",
    ]  # fmt: skip
    assert frame["sector"].tolist() == [
        "public", "public", "private", "public", "private", "public", "private", "public"
    ]  # fmt: skip
    assert frame["staff"].tolist() == ["60", "12", "3", "3", "12", "3", "12", "250"]
    assert (
        frame["district"].tolist() == ["Lake North"] * 3 + ["Lake South"] * 2 + ["Hills East"] * 3
    )
    assert frame.loc[5, "lat"] == "" and frame.loc[0, "lat"] == "-1.000000"
    assert result.facilities == 8 and result.districts == 3
    assert any("1 of 8 facilities has no coordinates; it is kept" in w for w in result.warnings)
    table = read_facility_table(out / "facilities.csv", out / "edges.csv")
    assert table.lat is not None and np.isnan(table.lat[5]) and table.lat[0] == -1.0
    assert table.edges is not None and len(table.edges) == result.ties


def test_csv_without_an_id_column_gets_generated_ids(tmp_path: Path) -> None:
    source = write(tmp_path, "list.csv", "Type,Sub-county\nHospital,A\nClinic,A\nClinic,B\n")
    out = tmp_path / "out"
    import_csv(source, {"district": "Sub-county"}, out, draw=False)
    frame = facilities_of(out)
    assert frame["id"].tolist() == ["F00001", "F00002", "F00003"]
    assert frame["type"].tolist() == ["Hospital", "Clinic", "Clinic"]  # read by its own name
    load_scenario(out / "scenario.yaml")


def test_missing_mapped_columns_are_all_reported_with_close_names(tmp_path: Path) -> None:
    source = write(tmp_path, "list.csv", MINISTRY_CSV)
    columns = parse_columns(["type=Knd", "district=Subcounty", "lat=Y"])
    with pytest.raises(ScenarioError) as caught:
        import_csv(source, columns, tmp_path / "out", draw=False)
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 3, messages
    assert "did you mean 'Kind'" in messages[0]
    assert "did you mean 'Sub-county'" in messages[1]
    assert "give both lat and lon" in messages[2]
    assert not (tmp_path / "out").exists()


def test_bad_column_options_are_reported() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_columns(["tipe=Kind", "name", "id=A", "id=B"])
    texts = [p.message for p in caught.value.problems]
    assert texts == ["unknown field 'tipe'", "expected FIELD=HEADER", "field 'id' is named twice"]
    assert caught.value.problems[0].fix == "did you mean 'type'?"


def test_duplicate_ids_and_bad_coordinates_are_reported_together(tmp_path: Path) -> None:
    text = MINISTRY_CSV.replace("K002,", "K001,").replace("-1.22,34.12", "north,34.12")
    source = write(tmp_path, "list.csv", text)
    with pytest.raises(ScenarioError) as caught:
        import_csv(source, parse_columns(MINISTRY_COLUMNS), tmp_path / "out", draw=False)
    messages = [p.message for p in caught.value.problems]
    assert any("1 id is repeated, at rows: 'K001' (2, 3)" in m for m in messages), messages
    assert any(p.key == "row 6, lat" for p in caught.value.problems)


def test_unmapped_types_are_listed_never_dropped(tmp_path: Path) -> None:
    text = MINISTRY_CSV.replace("Bay Clinic,Lake,Lake South,Clinic", "Bay,Lake,Lake South,Kiosk")
    text = text.replace("Ferry Dispensary,Lake,Lake North,Dispensary", "F,Lake,Lake North,Kiosk")
    source = write(tmp_path, "list.csv", text)
    with pytest.raises(ScenarioError) as caught:
        import_csv(source, parse_columns(MINISTRY_COLUMNS), tmp_path / "out", draw=False)
    (problem,) = caught.value.problems
    assert "1 facility type (2 facilities) matches no phrase" in problem.message
    assert "'Kiosk' (2)" in problem.message
    # with a fallback level in the mapping, they are kept and named in a warning
    mapping = DEFAULT_TYPES.read_text().replace("unmapped: null", "unmapped: health_post")
    custom = write(tmp_path, "types.yaml", mapping)
    options = ImportOptions(types=load_type_mapping(custom))
    result = import_csv(
        source, parse_columns(MINISTRY_COLUMNS), tmp_path / "out", options, draw=False
    )
    assert result.facilities == 8
    assert any("'Kiosk' (2)" in w and "health_post" in w for w in result.warnings)
    assert facilities_of(tmp_path / "out")["level"].tolist()[2] == "health_post"


def test_regions_only_gives_derived_districts_said_in_the_description(tmp_path: Path) -> None:
    source = write(tmp_path, "list.csv", MINISTRY_CSV)
    columns = parse_columns([c for c in MINISTRY_COLUMNS if not c.startswith("district")])
    options = ImportOptions(district_size=2)
    import_csv(source, columns, tmp_path / "out", options, draw=False)
    scenario = load_scenario(tmp_path / "out" / "scenario.yaml")
    assert "Districts are derived" in scenario.description
    assert "Districts are derived" in scenario.countries[0].description
    districts = facilities_of(tmp_path / "out")["district"]
    # 5 / 2 and 3 / 2 both round to 2 districts; the facility without coordinates (K006)
    # joins the region's first district
    assert set(districts) == {"Hills 1", "Hills 2", "Lake 1", "Lake 2"}
    assert districts.tolist()[5] == "Hills 1"
    # Lake's two groups of facilities, 20 km apart, are its districts, northern one first
    assert districts.tolist()[:5] == ["Lake 1"] * 3 + ["Lake 2"] * 2


# --------------------------------------------------------------------------- dhis2
def test_dhis2_export_becomes_a_scenario(tmp_path: Path) -> None:
    path = write_json(tmp_path, dhis2_document())
    result = import_dhis2(path, tmp_path / "out", draw=False)
    frame = facilities_of(tmp_path / "out").set_index("id")
    assert sorted(frame.index) == [f"F{i}" for i in range(1, 8)]
    assert frame.loc["F1", "district"] == "Bombali" and frame.loc["F6", "district"] == "Bo"
    assert frame.loc["F1", "lat"] == "8.880000" and frame.loc["F1", "lon"] == "-12.040000"
    assert frame.loc["F5", "lat"] == ""
    assert frame["level"].to_dict() == {
        "F1": "hospital", "F2": "health_centre", "F3": "health_post", "F4": "health_post",
        "F5": "health_post", "F6": "hospital", "F7": "health_centre",
    }  # fmt: skip
    assert frame.loc["F7", "type"] == "Ngelehun CHC"  # in no type group: its own name
    assert frame["sector"].to_dict()["F2"] == "private"
    assert frame["sector"].to_dict()["F1"] == "public"
    scenario = load_scenario(tmp_path / "out" / "scenario.yaml")
    assert scenario.countries[0].name == "Sierra Test"
    assert "3 units at District (level 3)" in scenario.description
    assert result.districts == 3


def test_dhis2_district_level_can_be_chosen(tmp_path: Path) -> None:
    path = write_json(tmp_path, dhis2_document())
    import_dhis2(path, tmp_path / "out", district_level=2, draw=False)
    districts = facilities_of(tmp_path / "out")["district"]
    assert sorted(set(districts)) == ["North", "South"]


def test_dhis2_invalid_json_is_reported_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "broken.json", '{"organisationUnits": [\n  {"id": "A",}\n]}')
    code, out, err = run_cli(["import", "dhis2", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and out == ""
    assert "not valid JSON" in err and "line 2, column" in err
    assert "Traceback" not in err


def test_dhis2_cycles_unknown_parents_and_repeated_ids_are_reported_at_once(
    tmp_path: Path,
) -> None:
    document = dhis2_document()
    units = document["organisationUnits"]
    units.append(unit("X1", "Loop a", "X2", 3))
    units.append(unit("X2", "Loop b", "X1", 3))
    units.append(unit("F9", "Orphan", "NOPE", 4))
    units.append(unit("F1", "Makeni again", "D1", 4))
    path = write_json(tmp_path, document)
    with pytest.raises(ScenarioError) as caught:
        import_dhis2(path, tmp_path / "out", draw=False)
    messages = {p.message for p in caught.value.problems}
    assert messages == {
        "id 'F1' is used by 2 units",
        "parent is not a unit of the file",
        "parent links form a cycle",
    }
    cycle = next(p for p in caught.value.problems if "cycle" in p.message)
    assert cycle.value == "X1 -> X2 -> X1"


def test_dhis2_units_deeper_than_the_facility_level_are_a_problem(tmp_path: Path) -> None:
    path = write_json(tmp_path, dhis2_document())
    with pytest.raises(ScenarioError) as caught:
        import_dhis2(path, tmp_path / "out", facility_level=3, draw=False)
    (problem,) = caught.value.problems
    assert "7 units are deeper than the facility level: F1, F2" in problem.message
    assert problem.fix.startswith("use --facility-level 4")


def test_dhis2_level_that_disagrees_with_the_parents_is_a_problem(tmp_path: Path) -> None:
    document = dhis2_document()
    document["organisationUnits"][6]["level"] = 3
    with pytest.raises(ScenarioError, match="its parent links put it at level 4"):
        import_dhis2(write_json(tmp_path, document), tmp_path / "out", draw=False)


# --------------------------------------------------------------------------- maina
def test_unknown_country_suggests_the_closest_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["import", "maina", "--country", "Kenia", "--out", "x"], capsys)
    assert code == 2
    assert "not a country of the list" in err and "did you mean 'Kenya'" in err
    assert "Traceback" not in err


def test_countries_are_found_by_code_and_without_accents() -> None:
    names = [s.name for s in maina_sources(["MWI", "cote d'ivoire", "Malawi"])]
    assert names == ["Malawi", "Cote d'Ivoire"]


def test_import_is_byte_identical_for_the_same_input_and_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mw"
    files = ("scenario.yaml", "facilities.csv", "edges.csv", "map.png")
    args = ["import", "maina", "--country", "Malawi", "--out", str(out)]
    assert run_cli(args, capsys)[0] == 0
    first = {name: (out / name).read_bytes() for name in files}
    assert run_cli(args, capsys)[0] == 0
    assert {name: (out / name).read_bytes() for name in files} == first
    assert run_cli([*args, "--seed", "7"], capsys)[0] == 0
    assert (out / "edges.csv").read_bytes() != first["edges.csv"]


# --------------------------------------------------------------------------- network
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 60),
    districts=st.integers(1, 5),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_kd_tree_network_matches_a_brute_force_search(
    n: int, districts: int, k: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    district = rng.integers(0, districts, n)
    ties = geographic_ties(
        xy, district, neighbours=k, cross_ties=2, decay_km=10.0,
        rng=np.random.default_rng(seed), candidates=6,
    )  # fmt: skip
    distance = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    same = district[:, None] == district[None, :]
    expected = set()
    for i in range(n):
        mates = np.flatnonzero(same[i] & (np.arange(n) != i))
        for j in mates[np.argsort(distance[i, mates])][:k]:
            expected.add((min(i, j), max(i, j)))
    within = {tuple(p) for p, kind in zip(ties.pairs.tolist(), ties.kind, strict=True)
              if KINDS[kind] == "district"}  # fmt: skip
    assert within == expected
    cross = ties.pairs[ties.kind == KINDS.index("cross_district")]
    assert (district[cross[:, 0]] != district[cross[:, 1]]).all()
    assert len(cross) <= 2 * districts
    for a, b in cross.tolist():  # one end is among the other's 6 nearest
        near_a = set(np.argsort(distance[a])[1:7].tolist())
        near_b = set(np.argsort(distance[b])[1:7].tolist())
        assert b in near_a or a in near_b
    assert (ties.pairs[:, 0] < ties.pairs[:, 1]).all()
    assert np.unique(ties.pairs, axis=0).shape == ties.pairs.shape


def test_cross_ties_prefer_near_facilities() -> None:
    # two districts side by side and a third far away; with a short decay each district's
    # one tie goes to the nearest facility of another district
    xy = np.array([[0, 0], [1, 0], [3, 0], [4, 0], [500, 0], [501, 0]], dtype=float)
    district = np.array([0, 0, 1, 1, 2, 2])
    for seed in range(5):
        ties = geographic_ties(
            xy, district, neighbours=1, cross_ties=1, decay_km=0.2,
            rng=np.random.default_rng(seed), candidates=5,
        )  # fmt: skip
        cross = ties.pairs[ties.kind == KINDS.index("cross_district")].tolist()
        assert cross == [[1, 2], [3, 4]]
    # with a long decay, distance matters little: other ties appear for some seed
    seen = set()
    for seed in range(20):
        ties = geographic_ties(
            xy, district, neighbours=1, cross_ties=1, decay_km=1000.0,
            rng=np.random.default_rng(seed), candidates=5,
        )  # fmt: skip
        seen |= {tuple(p) for p in ties.pairs[ties.kind == 1].tolist()}
    assert len(seen) > 2


def test_facilities_without_coordinates_are_tied_within_their_district() -> None:
    xy = np.array([[0, 0], [1, 1], [np.nan, np.nan], [50, 50], [np.nan, np.nan]])
    district = np.array([0, 0, 0, 1, 1])
    ties = geographic_ties(
        xy, district, neighbours=2, cross_ties=0, decay_km=1.0, rng=np.random.default_rng(0)
    )
    loose = ties.pairs[ties.kind == KINDS.index("no_coordinates")]
    assert len(loose) >= 2
    assert (district[loose[:, 0]] == district[loose[:, 1]]).all()
    assert {2, 4} <= set(loose.ravel().tolist())


# --------------------------------------------------------------------------- districts
def test_well_separated_clusters_become_the_districts() -> None:
    rng = np.random.default_rng(5)
    centres = np.array([[0, 600], [0, 300], [300, 0]])
    xy = np.concatenate([rng.normal(c, 5, (30, 2)) for c in centres])
    found = derive_districts(np.array(["R"] * 90), xy, 30, seed=11)
    assert found.districts == 3 and found.sizes == (30, 30.0, 30)
    assert found.names[:30].tolist() == ["R 1"] * 30  # the northernmost is number 1
    assert set(found.names[30:60]) == {"R 2"} and set(found.names[60:]) == {"R 3"}
    again = derive_districts(np.array(["R"] * 90), xy, 30, seed=11)
    assert again.names.tolist() == found.names.tolist()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 200), size=st.integers(1, 60), seed=st.integers(0, 1000))
def test_district_split_covers_every_facility_and_is_reproducible(
    n: int, size: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 300, (n, 2))
    xy[rng.random(n) < 0.1] = np.nan
    region = rng.choice(np.array(["East", "West"]), n)
    found = derive_districts(region, xy, size, seed)
    assert found.names.size == n and all(isinstance(v, str) for v in found.names)
    for name in ("East", "West"):
        members = found.names[region == name]
        wanted = max(1, round(members.size / size)) if members.size else 0
        made = len(set(members.tolist()))
        assert made <= wanted and all(v.startswith(name) for v in members)
    assert derive_districts(region, xy, size, seed).names.tolist() == found.names.tolist()


# --------------------------------------------------------------------------- end to end
def test_malawi_imports_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "malawi"
    code, text, err = run_cli(["import", "maina", "--country", "Malawi", "--out", str(out)], capsys)
    assert code == 0, err
    assert "Imported Malawi: 648 facilities" in text
    assert "9 of 648 facilities have no coordinates; they are kept" in err
    assert (out / "map.png").read_bytes()[:4] == b"\x89PNG"
    quick = write(out, "quick.yaml", "extends: scenario.yaml\nname: malawi-quick\nmonths: 3\n")
    assert run_cli(["validate", str(quick)], capsys)[0] == 0
    results = tmp_path / "results"
    code, text, err = run_cli(
        ["run", str(quick), "--replicates", "1", "--out", str(results), "-q"], capsys
    )
    assert code == 0, err
    summary = pd.read_csv(results / "summary.csv")
    assert len(summary) == 1 and 0 <= summary["qoc_final"].iloc[0] <= 1


def test_world_carries_the_coordinates(tmp_path: Path) -> None:
    from sim.model.streams import Streams
    from sim.model.world import build_world

    import_maina(["Malawi"], tmp_path / "mw", draw=False)
    scenario = load_scenario(tmp_path / "mw" / "scenario.yaml")
    world = build_world(scenario, Streams(scenario.seed, 0))
    assert world.lat is not None and world.lon is not None
    assert world.n_facilities == 648 and int(np.isnan(world.lat).sum()) == 9
    assert (world.lat[~np.isnan(world.lat)] < -9).all()  # Malawi is south of 9 degrees S
    assert world.n_districts == len(set(facilities_of(tmp_path / "mw")["district"]))


# --------------------------------------------------------------------------- facility files
def test_facility_file_coordinates_are_checked(tmp_path: Path) -> None:
    header = "id,district,level,sector,staff,lat,lon\n"
    good = write(
        tmp_path, "good.csv", header + "A,N,hospital,public,9,-1.5,30\nB,N,health_post,public,2,,\n"
    )
    table = read_facility_table(good)
    assert table.lat is not None and table.lon is not None
    assert table.lat[0] == -1.5 and table.lon[0] == 30.0 and np.isnan(table.lat[1])
    bad = write(
        tmp_path,
        "bad.csv",
        header
        + "A,N,hospital,public,9,95,30\nB,N,health_post,public,2,x,1\nC,N,clinic,public,2,1,\n",
    )
    with pytest.raises(ScenarioError) as caught:
        read_facility_table(bad)
    keys = [p.key for p in caught.value.problems]
    assert keys == [
        "row 2, column lat",
        "row 3, column lat",
        "row 4, column level",
        "row 4, column lat",
    ]
    only_lat = write(
        tmp_path, "lat.csv", "id,district,level,sector,staff,lat\nA,N,hospital,public,9,1\n"
    )
    with pytest.raises(ScenarioError, match="column 'lat' needs a column 'lon'"):
        read_facility_table(only_lat)
    plain = write(tmp_path, "plain.csv", "id,district,level,sector,staff\nA,N,hospital,public,9\n")
    assert read_facility_table(plain).lat is None


def test_trainer_map_draws_facilities_where_they_are(tmp_path: Path) -> None:
    from sim.trainer.live import LiveRun
    from sim.trainer.view import TrainerView, map_layout

    import_maina(["Malawi"], tmp_path / "mw", draw=False)
    run = LiveRun(load_scenario(tmp_path / "mw" / "scenario.yaml"))
    layout = map_layout(run)
    world = run.model.world
    assert world.lat is not None
    assert len(layout.hulls) == world.n_districts  # every derived district has 3+ located
    located = np.flatnonzero(np.isfinite(world.lat))
    north, south = located[np.argmax(world.lat[located])], located[np.argmin(world.lat[located])]
    assert layout.position[north, 1] > layout.position[south, 1] + 0.5 * layout.rows
    assert np.isfinite(layout.position[layout.shown]).all()  # those without, near their hub
    view = TrainerView([run])
    run.step()
    view.update()
    assert "where they are" in view.titles[0].get_text()
    assert view.png()[:4] == b"\x89PNG"


def test_the_committed_malawi_scenario_is_what_the_importer_builds(tmp_path: Path) -> None:
    committed = Path(__file__).parents[1] / "scenarios" / "countries" / "malawi"
    command = "lhsim import maina --country Malawi --out scenarios/countries/malawi"
    import_maina(["Malawi"], tmp_path, command=command, draw=False)
    for name in ("scenario.yaml", "facilities.csv", "edges.csv"):
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
    variants = sorted((committed / "figure1").glob("*.yaml"))
    assert [v.stem for v in variants] == list("ABCDEFGHI")
    found = validate_files(variants)
    assert all(problems == [] for problems in found.values()), found


def test_cli_imports_csv_and_dhis2_and_reports_bad_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, "ministry.csv", MINISTRY_CSV)
    columns = [arg for c in MINISTRY_COLUMNS for arg in ("--column", c)]
    out = tmp_path / "csv"
    args = ["import", "csv", str(source), *columns, "--country", "Lakeland", "--out", str(out)]
    code, text, err = run_cli([*args, "--neighbours", "1", "--no-map"], capsys)
    assert code == 0, err
    assert "Imported Lakeland: 8 facilities, 3 districts" in text
    assert not (out / "map.png").exists()
    assert load_scenario(out / "scenario.yaml").countries[0].name == "Lakeland"
    assert (out / "scenario.yaml").read_text().startswith("# Built by: lhsim import csv ")
    bad = ["import", "csv", str(source), "--column", "type=Kinds", "--column", "lat=Y"]
    code, text, err = run_cli([*bad, "--out", str(tmp_path / "bad")], capsys)
    assert code == 2 and text == ""
    assert "3 problems found" in err and "did you mean 'Kind'" in err
    assert "give both lat and lon" in err and "no district, region or coordinates" in err
    assert "Traceback" not in err
    metadata = write_json(tmp_path, dhis2_document())
    code, text, err = run_cli(
        ["import", "dhis2", str(metadata), "--out", str(tmp_path / "d")], capsys
    )
    assert code == 0, err
    assert "Imported Sierra Test: 7 facilities, 3 districts" in text
    assert "1 of 7 facilities has no coordinates" in err


def test_trainer_map_keeps_the_grid_when_a_country_has_no_coordinates(tmp_path: Path) -> None:
    from sim.trainer.live import LiveRun
    from sim.trainer.view import map_layout

    import_maina(["Malawi"], tmp_path / "mw", draw=False)
    mixed = write(
        tmp_path / "mw",
        "mixed.yaml",
        "extends: scenario.yaml\nname: mixed\n"
        "countries:\n  - {name: Demo, new_country: true, districts: 2, facilities: 10}\n",
    )
    run = LiveRun(load_scenario(mixed))
    assert run.model.world.n_countries == 2
    layout = map_layout(run)
    assert layout.hulls == []
    assert layout.columns * layout.rows >= run.model.world.n_districts  # one cell a district
