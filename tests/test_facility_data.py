"""Tests of reading real facility lists and networks from CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import Problem, ScenarioError
from sim.model.facility_list import LEVELS, MAX_ROW_PROBLEMS, SECTORS, read_facility_table

CSV = Path(__file__).parent / "data" / "scenario_loader" / "csv"
HEADER = "id,district,level,sector,staff\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(
    facilities: Path, edges: Path | None = None, match: str | None = None
) -> list[Problem]:
    with pytest.raises(ScenarioError, match=match) as caught:
        read_facility_table(facilities, edges)
    return caught.value.problems


def test_reads_facilities_and_edges_into_arrays() -> None:
    table = read_facility_table(CSV / "facilities.csv", CSV / "edges.csv")
    assert len(table) == 5
    assert table.ids.tolist() == ["RH1", "RC1", "RP1", "RC2", "RP2"]
    assert table.district.tolist() == ["Capital", "Capital", "Capital", "Hills", "Hills"]
    assert table.level.tolist() == [0, 1, 2, 1, 2]
    assert table.private.tolist() == [False, False, True, True, False]
    assert table.staff.tolist() == [120, 14, 3, 9, 2]
    assert (table.ids.dtype, table.level.dtype, table.staff.dtype) == (object, np.int8, np.int32)
    assert table.private.dtype == np.bool_
    assert table.edges is not None
    assert table.edges.dtype == np.int64
    # RC1-RH1 repeats RH1-RC1 in the other direction: kept once, as first listed.
    assert table.edges.tolist() == [[0, 1], [1, 2], [3, 4], [0, 3]]


def test_without_edge_file_edges_is_none() -> None:
    assert read_facility_table(CSV / "facilities.csv").edges is None


def test_arrays_are_read_only() -> None:
    table = read_facility_table(CSV / "facilities.csv", CSV / "edges.csv")
    with pytest.raises(ValueError, match="read-only"):
        table.staff[0] = 1
    assert table.edges is not None
    with pytest.raises(ValueError, match="read-only"):
        table.edges[0, 0] = 4


def test_district_codes_index_sorted_names() -> None:
    names, codes = read_facility_table(CSV / "facilities.csv").district_codes()
    assert names.tolist() == ["Capital", "Hills"]
    assert codes.tolist() == [0, 0, 0, 1, 1]


def test_cells_are_stripped_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "f.csv",
        " id , district,level,sector,staff\n"
        "A, North ,hospital, public,5\n"
        "\n"
        "B,North,health_post,private, 2\n",
    )
    table = read_facility_table(path)
    assert table.ids.tolist() == ["A", "B"]
    assert table.district.tolist() == ["North", "North"]
    assert table.staff.tolist() == [5, 2]


def test_every_csv_problem_is_reported_at_once() -> None:
    problems = problems_of(CSV / "bad_facilities.csv", CSV / "bad_edges.csv", match="^6 problems")
    assert [(Path(p.file).name, p.key, p.value, p.message) for p in problems] == [
        ("bad_facilities.csv", "column 3", "levl", "unknown column"),
        ("bad_facilities.csv", "row 4, column id", "RC1", "id is repeated (first on row 3)"),
        ("bad_facilities.csv", "row 5, column sector", "privat", "not a valid sector"),
        ("bad_facilities.csv", "row 5, column staff", "two", "staff is not a whole number"),
        ("bad_edges.csv", "row 3, column target", "RC1", "tie joins a facility to itself"),
        (
            "bad_edges.csv",
            "row 4, column target",
            "XX9",
            "not a facility id of the facilities file",
        ),
    ]
    assert problems[0].fix == "did you mean 'level'?"
    assert problems[2].fix == "did you mean 'private'? (use one of public, private)"


def test_bad_level_is_named_with_the_choices() -> None:
    problems = problems_of(CSV / "bad_facilities_level.csv", match="^2 problems")
    level = next(p for p in problems if p.key == "row 4, column level")
    assert (level.value, level.message) == ("clinic", "not a valid level")
    assert level.fix == "use one of hospital, health_centre, health_post"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("id,district,sector,staff\nA,N,public,3\n", "column level", "required column 'level'"),
        (HEADER[:-1] + ",id\nA,N,hospital,public,3,A\n", "column 6", "column 'id' appears more"),
        ("ID,district,level,sector,staff\nA,N,hospital,public,3\n", "column 1", "unknown column"),
        (HEADER + ",N,hospital,public,3\n", "row 2, column id", "facility id is empty"),
        (HEADER + "A,,hospital,public,3\n", "row 2, column district", "district is empty"),
        (HEADER + "A,N,Hospital,public,3\n", "row 2, column level", "not a valid level"),
        (HEADER + "A,N,hospital,public,0\n", "row 2, column staff", "staff is out of range"),
        (HEADER + "A,N,hospital,public,3.5\n", "row 2, column staff", "staff is not a whole"),
        (HEADER + "A,N,hospital,public,9999999999\n", "row 2, column staff", "staff is out of"),
        (HEADER, "", "no facilities listed"),
        ("", "", "file is empty"),
        (HEADER + 'A,N,hospital,public,3,extra,"\n', "", "cannot read the CSV"),
    ],
)  # fmt: skip
def test_single_facility_problem(tmp_path: Path, text: str, key: str, message: str) -> None:
    problems = problems_of(write(tmp_path, "f.csv", text), match="^1 problem found")
    assert (problems[0].key, problems[0].message[: len(message)]) == (key, message)
    assert problems[0].file == str(tmp_path / "f.csv")


def test_upper_case_column_suggests_lower_case(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "ID,district,level,sector,staff\nA,N,hospital,public,3\n")
    assert problems_of(path)[0].fix == "did you mean 'id'?"


def test_missing_files(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "none.csv", tmp_path / "none_edges.csv", match="^2 problems")
    assert [p.message for p in problems] == ["file not found", "file not found"]
    assert [p.file for p in problems] == [
        str(tmp_path / "none.csv"),
        str(tmp_path / "none_edges.csv"),
    ]


def test_misspelt_edge_column_suggests_the_name(tmp_path: Path) -> None:
    edges = write(tmp_path, "e.csv", "sourse,target,kind\nRH1,RC1,x\n")
    problems = problems_of(CSV / "facilities.csv", edges, match="^1 problem found")
    assert (problems[0].key, problems[0].value) == ("column 1", "sourse")
    assert problems[0].fix == "did you mean 'source'?"


def test_unrelated_edge_column_is_unknown_and_the_required_one_missing(tmp_path: Path) -> None:
    edges = write(tmp_path, "e.csv", "from,target\nRH1,RC1\n")
    problems = problems_of(CSV / "facilities.csv", edges, match="^2 problems found")
    assert [(p.key, p.message) for p in problems] == [
        ("column 1", "unknown column"),
        ("column source", "required column 'source' is missing"),
    ]
    assert problems[0].fix == "allowed columns: source, target, kind"


def test_row_problems_are_capped_and_counted(tmp_path: Path) -> None:
    rows = "".join(f"F{i},N,clinic,public,3\n" for i in range(30))
    problems = problems_of(write(tmp_path, "f.csv", HEADER + rows), match="^21 problems")
    assert [p.key for p in problems[:MAX_ROW_PROBLEMS]] == [
        f"row {i}, column level" for i in range(2, 2 + MAX_ROW_PROBLEMS)
    ]
    assert problems[-1].value == 30 - MAX_ROW_PROBLEMS
    assert problems[-1].message == "10 more row problems not shown"


facility_rows = st.lists(
    st.tuples(
        st.sampled_from(["North", "South", "East West"]),
        st.sampled_from(LEVELS),
        st.sampled_from(SECTORS),
        st.integers(1, 2**31 - 1),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=30, deadline=None)
@given(rows=facility_rows, data=st.data())
def test_any_valid_table_reads_back(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str, int]],
    data: st.DataObject,
) -> None:
    folder = tmp_path_factory.mktemp("table")
    ids = [f"F{i:03d}" for i in range(len(rows))]
    text = HEADER + "".join(
        f"{i},{d},{lv},{s},{n}\n" for i, (d, lv, s, n) in zip(ids, rows, strict=True)
    )
    pairs = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(rows) - 1), st.integers(0, len(rows) - 1)).filter(
                lambda p: p[0] != p[1]
            ),
            max_size=40,
        ),
        label="ties",
    )
    edges = "source,target\n" + "".join(f"{ids[a]},{ids[b]}\n" for a, b in pairs)
    table = read_facility_table(write(folder, "f.csv", text), write(folder, "e.csv", edges))
    assert table.ids.tolist() == ids
    assert table.district.tolist() == [row[0] for row in rows]
    assert table.level.tolist() == [LEVELS.index(row[1]) for row in rows]
    assert table.private.tolist() == [row[2] == "private" for row in rows]
    assert table.staff.tolist() == [row[3] for row in rows]
    assert table.edges is not None
    expected = list(dict.fromkeys(frozenset(pair) for pair in pairs))
    assert [frozenset(edge) for edge in table.edges.tolist()] == expected
