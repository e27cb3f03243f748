"""Any facility list in CSV, its columns named by the user (``--column FIELD=HEADER``).

A field not named is read from a column of the same name (any case) when there is one.
``type`` is needed (the level comes from it); so are districts: a ``district`` column,
or a ``region`` column or coordinates to derive them from. A missing ``id`` is
generated (``F00001``, in row order); rows are numbered as a spreadsheet shows them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.config.importers.common import FIELDS, SourceCountry
from sim.errors import Problem, ScenarioError

__all__ = ["csv_source", "parse_columns"]


def parse_columns(items: Sequence[str], where: str = "--column") -> dict[str, str]:
    """Read ``FIELD=HEADER`` items into a mapping; every bad item is a problem.

    Examples:
        >>> parse_columns(["type=Facility type", "lat=Y"])
        {'type': 'Facility type', 'lat': 'Y'}
    """
    columns: dict[str, str] = {}
    problems = []
    for item in items:
        field, sep, header = item.partition("=")
        field = field.strip().lower()
        if not sep or not header.strip():
            problems.append(Problem(where, "", item, "expected FIELD=HEADER", "e.g. type=Category"))
        elif field not in FIELDS:
            close = difflib.get_close_matches(field, FIELDS, n=1)
            fix = f"did you mean {close[0]!r}?" if close else "fields: " + ", ".join(FIELDS)
            problems.append(Problem(where, "", item, f"unknown field {field!r}", fix))
        elif field in columns:
            problems.append(Problem(where, "", item, f"field {field!r} is named twice"))
        else:
            columns[field] = header.strip()
    if problems:
        raise ScenarioError(problems)
    return columns


def csv_source(
    path: Path, columns: dict[str, str], country: str | None = None, separator: str = ","
) -> SourceCountry:
    """Read a facility list as one country's facilities.

    Args:
        path: The CSV file (UTF-8; a byte-order mark is allowed).
        columns: Field to header, as given with ``--column``.
        country: Country name (default: the file's name without its extension).
        separator: Column separator.

    Raises:
        ScenarioError: Listing every problem: unreadable file, mapped headers the file
            lacks (with the closest headers), no type column, nothing to make districts
            from.
    """
    where = str(path)
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=separator
        )
    except FileNotFoundError:
        raise ScenarioError(
            [Problem(where, "", where, "file not found", "check the path")]
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ScenarioError(
            [Problem(where, "", where, f"cannot read the CSV: {error}".strip())]
        ) from None
    headers = [str(h) for h in frame.columns]
    folded = {h.strip().casefold(): h for h in headers}
    chosen = dict(columns)
    for field in FIELDS:
        if field not in chosen and field in folded:
            chosen[field] = folded[field]
    problems = []
    for field, header in columns.items():
        if header not in headers:
            close = difflib.get_close_matches(header, headers, n=2)
            fix = (
                "did you mean " + " or ".join(repr(c) for c in close) + "?"
                if close
                else "the file's columns: " + ", ".join(headers)
            )
            problems.append(
                Problem(where, f"--column {field}", header, "the file has no such column", fix)
            )
    if "type" not in chosen:
        problems.append(
            Problem(
                where,
                "--column type",
                None,
                "no column gives the facility type",
                "name it with --column type=HEADER",
            )  # fmt: skip
        )
    has_place = {"district", "region"} & set(chosen) or {"lat", "lon"} <= set(chosen)
    if not has_place:
        problems.append(
            Problem(
                where,
                "--column district",
                None,
                "no district, region or coordinates",
                "name a district column, or a region column or lat and lon columns to "
                "derive districts from",
            )  # fmt: skip
        )
    if ("lat" in chosen) != ("lon" in chosen):
        problems.append(Problem(where, "--column lat", None, "give both lat and lon, or neither"))
    if problems:
        raise ScenarioError(problems)
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # the header is row 1
    out = pd.DataFrame(index=frame.index)
    for field in FIELDS:
        out[field] = frame[chosen[field]].str.strip() if field in chosen else ""
    if "id" not in chosen:
        width = max(5, len(str(len(frame))))
        out["id"] = [f"F{number:0{width}d}" for number in range(1, len(frame) + 1)]
    if "name" not in chosen:
        out["name"] = out["id"]
    return SourceCountry(
        name=country or path.name.split(".")[0],
        source=where,
        frame=out,
        districts_given="district" in chosen,
    )
