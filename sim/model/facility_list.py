"""Read a real facility list and its network from CSV files, checking every row.

The facilities file has one row per facility and the columns

========  =====================================================================
column    meaning
========  =====================================================================
id        unique, non-empty identifier of the facility
district  non-empty name of its district
level     ``hospital``, ``health_centre`` or ``health_post``
sector    ``public`` or ``private``
staff     whole number of staff, at least 1
========  =====================================================================

and may have the optional columns ``name`` and ``type`` (free text, not used by the
model) and ``lat`` and ``lon`` (decimal degrees, WGS 84; empty when unknown), which the
maps draw. ``lhsim import`` writes files of this form (see :mod:`sim.config.importers`).

The optional edges file has one row per network tie with the columns ``source`` and
``target`` (facility ids of the facilities file) and, optionally, ``kind`` (free text,
not used by the model). Ties are undirected: a tie listed twice (in either direction)
is kept once. A tie from a facility to itself, or to an id the facilities file does not
list, is a problem.

Every problem is collected before anything is raised, so one run of ``lhsim validate``
lists them all. Rows are numbered as a spreadsheet shows them: the header is row 1 and
the first facility is row 2. At most :data:`MAX_ROW_PROBLEMS` row problems are listed
per file, followed by a count of the rest.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError

__all__ = [
    "EDGE_COLUMNS",
    "FACILITY_COLUMNS",
    "LEVELS",
    "MAX_ROW_PROBLEMS",
    "OPTIONAL_FACILITY_COLUMNS",
    "SECTORS",
    "FacilityTable",
    "read_facility_table",
]

LEVELS: tuple[str, ...] = ("hospital", "health_centre", "health_post")
"""Facility levels; a level's code in :attr:`FacilityTable.level` is its index here."""

SECTORS: tuple[str, ...] = ("public", "private")
"""Allowed values of the ``sector`` column."""

FACILITY_COLUMNS: tuple[str, ...] = ("id", "district", "level", "sector", "staff")
"""Columns the facilities file must have (in any order)."""

OPTIONAL_FACILITY_COLUMNS: tuple[str, ...] = ("name", "type", "lat", "lon")
"""Columns the facilities file may have: text the model ignores, and coordinates."""

EDGE_COLUMNS: tuple[str, ...] = ("source", "target")
"""Columns the edges file must have; ``kind`` may be added."""

OPTIONAL_EDGE_COLUMNS: tuple[str, ...] = ("kind",)

MAX_ROW_PROBLEMS = 20
"""Most row problems listed per file; the rest are counted in one more problem."""

_INT32_MAX = int(np.iinfo(np.int32).max)


@dataclass(frozen=True, eq=False)
class FacilityTable:
    """Facilities read from CSV, as read-only numpy arrays indexed by row (0 = first facility).

    Attributes:
        ids: Facility ids (object array of ``str``).
        district: District name of each facility (object array of ``str``).
        level: Level code (``int8``): 0 hospital, 1 health centre, 2 health post.
        private: Whether the facility is in the private sector (``bool``).
        staff: Number of staff (``int32``).
        edges: Undirected network ties as row indices, ``int64`` of shape ``(E, 2)``, each
            tie once; ``None`` when no edges file was given.
        lat: Latitude of each facility in degrees (``float64``, NaN where unknown);
            ``None`` when the file has no ``lat`` and ``lon`` columns.
        lon: Longitude of each facility in degrees, like ``lat``.
    """

    ids: np.ndarray
    district: np.ndarray
    level: np.ndarray
    private: np.ndarray
    staff: np.ndarray
    edges: np.ndarray | None = None
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None

    def __len__(self) -> int:
        """Number of facilities."""
        return len(self.ids)

    def district_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the sorted district names and each facility's index into them.

        Examples:
            >>> table = FacilityTable(
            ...     ids=np.array(["a", "b", "c"], dtype=object),
            ...     district=np.array(["North", "East", "North"], dtype=object),
            ...     level=np.array([0, 1, 2], dtype=np.int8),
            ...     private=np.array([False, False, True]),
            ...     staff=np.array([50, 10, 2], dtype=np.int32),
            ... )
            >>> names, codes = table.district_codes()
            >>> list(names), codes.tolist()
            (['East', 'North'], [1, 0, 1])
        """
        names, codes = np.unique(self.district.astype(str), return_inverse=True)
        return names.astype(object), codes.astype(np.int64)


def read_facility_table(
    facility_file: str | Path, edge_file: str | Path | None = None
) -> FacilityTable:
    r"""Read and check a facilities CSV and, optionally, an edges CSV.

    Args:
        facility_file: CSV with the columns ``id, district, level, sector, staff``.
        edge_file: CSV with the columns ``source, target`` and optionally ``kind``.

    Returns:
        The facilities as a :class:`FacilityTable`; ``edges`` is ``None`` without
        ``edge_file``.

    Raises:
        ScenarioError: Listing every problem found in either file (unreadable file,
            unknown or missing columns, bad values, repeated ids, unknown tie ends, ties
            from a facility to itself).

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "facilities.csv"
        ...     _ = path.write_text(
        ...         "id,district,level,sector,staff\n"
        ...         "H1,North,hospital,public,80\n"
        ...         "P1,North,health_post,private,2\n"
        ...     )
        ...     table = read_facility_table(path)
        >>> table.ids.tolist(), table.level.tolist(), table.private.tolist()
        (['H1', 'P1'], [0, 2], [False, True])
    """
    stamps = tuple(_stamp(path) for path in (facility_file, edge_file))
    return _read_facility_table_cached(
        str(facility_file), None if edge_file is None else str(edge_file), stamps
    )


def _stamp(path: str | Path | None) -> tuple[int, int] | None:
    """Size and modification time of a file (``None`` if absent), to key the cache."""
    if path is None:
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _read_facility_table_cached(
    facility_file: str, edge_file: str | None, stamps: tuple[object, ...]
) -> FacilityTable:
    """Read the files once per content stamp; the table's arrays are read-only."""
    del stamps  # only part of the cache key: a changed file is read again
    facilities_report = _Report(str(facility_file))
    frame = _read_csv(Path(facility_file), facilities_report)
    columns = (
        _check_columns(frame, FACILITY_COLUMNS, OPTIONAL_FACILITY_COLUMNS, facilities_report)
        if frame is not None
        else set()
    )
    ids: pd.Series | None = None
    if frame is not None:
        _check_facility_rows(frame, columns, facilities_report)
        if "id" in columns:
            ids = frame["id"]

    edges: np.ndarray | None = None
    edges_report: _Report | None = None
    if edge_file is not None:
        edges_report = _Report(str(edge_file))
        edge_frame = _read_csv(Path(edge_file), edges_report)
        if edge_frame is not None:
            edge_columns = _check_columns(
                edge_frame, EDGE_COLUMNS, OPTIONAL_EDGE_COLUMNS, edges_report
            )
            edges = _check_edges(edge_frame, edge_columns, ids, edges_report)

    problems = facilities_report.problems()
    if edges_report is not None:
        problems += edges_report.problems()
    if problems or frame is None:
        raise ScenarioError(problems)

    lat, lon = _coordinates(frame, columns)
    table = FacilityTable(
        ids=frame["id"].to_numpy(dtype=object),
        district=frame["district"].to_numpy(dtype=object),
        level=frame["level"]
        .map({name: code for code, name in enumerate(LEVELS)})
        .to_numpy(np.int8),
        private=(frame["sector"] == "private").to_numpy(dtype=bool),
        staff=frame["staff"].astype(np.int64).to_numpy(np.int32),
        edges=edges,
        lat=lat,
        lon=lon,
    )
    arrays = (table.ids, table.district, table.level, table.private, table.staff, edges, lat, lon)
    for array in arrays:
        if array is not None:
            array.flags.writeable = False
    return table


# --------------------------------------------------------------------------- problem report
@dataclass
class _Report:
    """The problems of one CSV file; row problems are capped at :data:`MAX_ROW_PROBLEMS`."""

    file: str
    general: list[Problem] = field(default_factory=list)
    rows: list[tuple[int, int, Problem]] = field(default_factory=list)
    row_count: int = 0

    def add(self, key: str, value: object, message: str, fix: str = "") -> None:
        """Record a problem that concerns the whole file or a column."""
        self.general.append(Problem(self.file, key, value, message, fix))

    def add_rows(
        self,
        frame: pd.DataFrame,
        mask: pd.Series | np.ndarray,
        column: str,
        message: Callable[[str], str],
        fix: str,
        order: int,
    ) -> None:
        """Record a problem for every row where ``mask`` is true (only the first few kept)."""
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        self.row_count += len(positions)
        values = frame[column].to_numpy()
        lines = frame.index.to_numpy()
        for position in positions[:MAX_ROW_PROBLEMS]:
            line = int(lines[position])
            value = str(values[position])
            problem = Problem(self.file, f"row {line}, column {column}", value, message(value), fix)
            self.rows.append((line, order, problem))

    def problems(self) -> list[Problem]:
        """Every problem: file and column problems first, then rows in file order."""
        shown = [p for _, _, p in sorted(self.rows, key=lambda item: item[:2])]
        shown = shown[:MAX_ROW_PROBLEMS]
        result = self.general + shown
        hidden = self.row_count - len(shown)
        if hidden > 0:
            result.append(
                Problem(
                    self.file,
                    "",
                    hidden,
                    f"{hidden} more row problem{'s' if hidden != 1 else ''} not shown",
                    "fix the rows above and validate again to see the rest",
                )
            )
        return result


# --------------------------------------------------------------------------- reading
def _read_csv(path: Path, report: _Report) -> pd.DataFrame | None:
    """Read a CSV as text cells, indexed by spreadsheet row number (header = row 1).

    The returned frame has the header's names as columns and keeps only non-blank rows;
    ``None`` (with a problem recorded) when the file cannot be read or has no header.
    """
    try:
        raw = pd.read_csv(
            path,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except FileNotFoundError:
        report.add("", str(path), "file not found", "check the path")
        return None
    except pd.errors.EmptyDataError:
        report.add("", str(path), "file is empty", "add a header row and one row per item")
        return None
    except pd.errors.ParserError as error:
        report.add("", str(path), f"cannot read the CSV: {error}".strip(), _CSV_FIX)
        return None
    except UnicodeDecodeError:
        report.add("", str(path), "file is not UTF-8 text", "save it as CSV with UTF-8 encoding")
        return None
    except OSError as error:
        report.add("", str(path), f"cannot read the file: {error.strerror or error}", "")
        return None
    raw = raw.fillna("")
    raw = raw.apply(lambda column: column.str.strip())
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    header = [str(name) for name in raw.iloc[0]]
    body = raw.iloc[1:]
    body = body[(body != "").any(axis=1)]
    body.columns = pd.Index(header)
    return body


_CSV_FIX = "check the quotes and that every row has as many commas as the header"


def _check_columns(
    frame: pd.DataFrame,
    required: Sequence[str],
    optional: Sequence[str],
    report: _Report,
) -> set[str]:
    """Report unknown, repeated and missing columns; return the usable known columns."""
    header = [str(name) for name in frame.columns]
    allowed = tuple(required) + tuple(optional)
    allowed_text = ", ".join(allowed)
    seen: set[str] = set()
    suggested: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            report.add(
                f"column {position}",
                name,
                f"column {name!r} appears more than once",
                "keep one column of each name",
            )
            continue
        seen.add(name)
        if name in allowed:
            continue
        if name == "":
            if (frame.iloc[:, position - 1] == "").all():
                continue  # an empty trailing column (a comma at the end of each row)
            report.add(f"column {position}", name, "column has no name", f"name it: {allowed_text}")
            continue
        absent = [c for c in allowed if c not in header]
        close = difflib.get_close_matches(name.lower(), absent, n=1)
        if close:
            suggested.add(close[0])
            fix = f"did you mean {close[0]!r}?"
        else:
            fix = f"allowed columns: {allowed_text}"
        report.add(f"column {position}", name, "unknown column", fix)
    for name in required:
        if name not in seen and name not in suggested:
            report.add(
                f"column {name}",
                None,
                f"required column {name!r} is missing",
                f"the header must name: {', '.join(required)}",
            )
    repeated = {name for name in header if header.count(name) > 1}
    return {name for name in allowed if name in seen and name not in repeated}


def _check_ids(frame: pd.DataFrame, report: _Report, noun: str) -> None:
    """Every row of ``frame`` has an ``id``, and no two rows share one."""
    ids = frame["id"]
    report.add_rows(
        frame, ids == "", "id", lambda _: f"{noun} id is empty", f"give every {noun} an id", 0
    )
    named = ids[ids != ""]
    repeated = named.duplicated(keep="first")
    first_row = dict(zip(named[~repeated], named.index[~repeated], strict=True))
    report.add_rows(
        frame,
        ids.index.isin(named.index[repeated]),
        "id",
        lambda value: f"id is repeated (first on row {first_row[value]})",
        f"give every {noun} a different id",
        0,
    )


def _check_facility_rows(frame: pd.DataFrame, columns: set[str], report: _Report) -> None:
    """Check every facility row of the columns present."""
    if frame.empty:
        report.add("", 0, "no facilities listed", "add one row per facility under the header")
        return
    if "id" in columns:
        _check_ids(frame, report, "facility")
    if "district" in columns:
        report.add_rows(
            frame,
            frame["district"] == "",
            "district",
            lambda _: "district is empty",
            "name the district of every facility",
            1,
        )
    for order, (column, choices) in enumerate((("level", LEVELS), ("sector", SECTORS)), start=2):
        if column in columns:
            report.add_rows(
                frame,
                ~frame[column].isin(choices),
                column,
                _not_a(column),
                f"use one of {', '.join(choices)}",
                order,
            )
            for value in frame[column][~frame[column].isin(choices)].unique()[:MAX_ROW_PROBLEMS]:
                _suggest_choice(report, column, str(value), choices)
    if "staff" in columns:
        staff = frame["staff"]
        whole = staff.str.fullmatch(r"\+?\d+")
        report.add_rows(
            frame,
            ~whole,
            "staff",
            lambda _: "staff is not a whole number",
            f"use a whole number between 1 and {_INT32_MAX}",
            4,
        )
        counts = pd.to_numeric(staff.where(whole, "1"), errors="coerce").fillna(1)
        report.add_rows(
            frame,
            whole & ((counts < 1) | (counts > _INT32_MAX)),
            "staff",
            lambda _: "staff is out of range",
            f"use a whole number between 1 and {_INT32_MAX}",
            4,
        )
    _check_coordinates(frame, columns, report)


def _coordinates(
    frame: pd.DataFrame, columns: set[str]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Latitude and longitude as floats (NaN where empty); ``None`` without both columns."""
    if not {"lat", "lon"} <= columns:
        return None, None
    return tuple(  # type: ignore[return-value]
        pd.to_numeric(frame[name].where(frame[name] != ""), errors="coerce").to_numpy(np.float64)
        for name in ("lat", "lon")
    )


def _check_coordinates(frame: pd.DataFrame, columns: set[str], report: _Report) -> None:
    """Coordinates are empty or decimal degrees in range; one without the other is a problem."""
    if ("lat" in columns) != ("lon" in columns):
        present, absent = ("lat", "lon") if "lat" in columns else ("lon", "lat")
        report.add(
            f"column {absent}",
            None,
            f"column {present!r} needs a column {absent!r}",
            "give both coordinates, or neither",
        )
        return
    if "lat" not in columns:
        return
    for order, (name, limit) in enumerate((("lat", 90.0), ("lon", 180.0)), start=5):
        text = frame[name]
        value = pd.to_numeric(text.where(text != ""), errors="coerce")
        report.add_rows(
            frame,
            (text != "") & ~(value.abs() <= limit),
            name,
            lambda _: "not a coordinate in decimal degrees",
            f"use a number between -{limit:g} and {limit:g}, or leave it empty",
            order,
        )
    report.add_rows(
        frame,
        (frame["lat"] == "") != (frame["lon"] == ""),
        "lat",
        lambda _: "only one of lat and lon is given",
        "give both coordinates of the facility, or neither",
        7,
    )


def _not_a(column: str) -> Callable[[str], str]:
    """Message maker for a value that is not one of a column's choices."""
    return lambda _: f"not a valid {column}"


def _suggest_choice(report: _Report, column: str, value: str, choices: Sequence[str]) -> None:
    """Add a did-you-mean to the row problems of a misspelt choice."""
    close = difflib.get_close_matches(value.lower(), choices, n=1)
    if not close:
        return
    for index, (line, order, problem) in enumerate(report.rows):
        if problem.key.endswith(f"column {column}") and problem.value == value:
            fix = f"did you mean {close[0]!r}? ({problem.fix})"
            report.rows[index] = (
                line,
                order,
                Problem(problem.file, problem.key, problem.value, problem.message, fix),
            )


def _check_edges(
    frame: pd.DataFrame,
    columns: set[str],
    ids: pd.Series | None,
    report: _Report,
) -> np.ndarray | None:
    """Check tie rows; return the ties as row indices (each undirected tie once)."""
    ends = [c for c in EDGE_COLUMNS if c in columns]
    for order, column in enumerate(ends):
        report.add_rows(
            frame,
            frame[column] == "",
            column,
            lambda _: "facility id is empty",
            "name a facility id of the facilities file",
            order,
        )
    if len(ends) < 2:
        return None
    source, target = frame["source"], frame["target"]
    loops = (source == target) & (source != "")
    report.add_rows(
        frame,
        loops,
        "target",
        lambda _: "tie joins a facility to itself",
        "remove the row; a facility needs no tie to itself",
        1,
    )
    if ids is None:
        return None
    unique_ids = ids[~ids.duplicated(keep="first")]
    index = pd.Index(unique_ids.to_numpy())
    rows = ids.index.get_indexer(unique_ids.index)  # row number -> position in the table
    positions = []
    for order, column in enumerate(EDGE_COLUMNS):
        found = index.get_indexer(frame[column].to_numpy())
        report.add_rows(
            frame,
            (found < 0) & (frame[column] != "").to_numpy(),
            column,
            lambda _: "not a facility id of the facilities file",
            "use an id from the id column of the facilities file",
            order,
        )
        positions.append(np.where(found < 0, -1, rows[found]))
    pairs = np.column_stack(positions).astype(np.int64)
    usable = (pairs >= 0).all(axis=1) & ~loops.to_numpy()
    pairs = pairs[usable]
    undirected = pd.DataFrame(np.sort(pairs, axis=1))
    return np.ascontiguousarray(pairs[~undirected.duplicated().to_numpy()])
