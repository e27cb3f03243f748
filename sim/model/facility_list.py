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
per file, followed by a count of the rest. The reading and the checks that other CSV
files share (columns, ids, choices, numbers, ties) are in :mod:`sim.model.csv_checks`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.model.csv_checks import (
    EDGE_COLUMNS,
    MAX_ROW_PROBLEMS,
    OPTIONAL_EDGE_COLUMNS,
    CsvReport,
    check_choices,
    check_columns,
    check_ids,
    check_ties,
    parse_numbers,
    read_csv_text,
)

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
    facilities_report = CsvReport(str(facility_file))
    frame = read_csv_text(Path(facility_file), facilities_report)
    columns = (
        check_columns(frame, FACILITY_COLUMNS, OPTIONAL_FACILITY_COLUMNS, facilities_report)
        if frame is not None
        else set()
    )
    ids: pd.Series | None = None
    if frame is not None:
        _check_facility_rows(frame, columns, facilities_report)
        if "id" in columns:
            ids = frame["id"]

    edges: np.ndarray | None = None
    edges_report: CsvReport | None = None
    if edge_file is not None:
        edges_report = CsvReport(str(edge_file))
        edge_frame = read_csv_text(Path(edge_file), edges_report)
        if edge_frame is not None:
            edge_columns = check_columns(
                edge_frame, EDGE_COLUMNS, OPTIONAL_EDGE_COLUMNS, edges_report
            )
            edges = check_ties(edge_frame, edge_columns, ids, edges_report)

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


def _check_facility_rows(frame: pd.DataFrame, columns: set[str], report: CsvReport) -> None:
    """Check every facility row of the columns present."""
    if frame.empty:
        report.add("", 0, "no facilities listed", "add one row per facility under the header")
        return
    if "id" in columns:
        check_ids(frame, report, "facility")
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
            check_choices(frame, column, choices, report, order)
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
        parse_numbers(frame[name]).to_numpy(np.float64) for name in ("lat", "lon")
    )


def _check_coordinates(frame: pd.DataFrame, columns: set[str], report: CsvReport) -> None:
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
        value = parse_numbers(text)
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
