"""Checks shared by the CSV files lhsim reads: reading, columns, ids, choices, numbers, ties.

A file is read as text cells (:func:`read_csv_text`) and every problem is recorded in a
:class:`CsvReport` before anything is raised, so one run of ``lhsim validate`` lists
them all. Rows are numbered as a spreadsheet shows them: the header is row 1 and the
first item is row 2. At most :data:`MAX_ROW_PROBLEMS` row problems are listed per file,
followed by a count of the rest.

A tie list (:func:`check_ties`: a facility list's edges file, or an adoption record's)
has one row per network tie with the columns ``source`` and ``target`` (ids of the other
file) and, optionally, ``kind`` (free text). Ties are undirected: a tie listed twice (in
either direction) is kept once. A tie from an item to itself, or to an id the other file
does not list, is a problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import Problem

__all__ = [
    "EDGE_COLUMNS",
    "MAX_ROW_PROBLEMS",
    "OPTIONAL_EDGE_COLUMNS",
    "CsvReport",
    "check_choices",
    "check_columns",
    "check_ids",
    "check_ties",
    "parse_numbers",
    "read_csv_text",
]

EDGE_COLUMNS: tuple[str, ...] = ("source", "target")
"""Columns the edges file must have; ``kind`` may be added."""

OPTIONAL_EDGE_COLUMNS: tuple[str, ...] = ("kind",)

MAX_ROW_PROBLEMS = 20
"""Most row problems listed per file; the rest are counted in one more problem."""


# --------------------------------------------------------------------------- problem report
@dataclass
class CsvReport:
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
def read_csv_text(path: Path, report: CsvReport) -> pd.DataFrame | None:
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


def check_columns(
    frame: pd.DataFrame,
    required: Sequence[str],
    optional: Sequence[str],
    report: CsvReport,
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


def check_ids(frame: pd.DataFrame, report: CsvReport, noun: str) -> None:
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


def check_choices(
    frame: pd.DataFrame, column: str, choices: Sequence[str], report: CsvReport, order: int
) -> None:
    """Every row's ``column`` is one of ``choices``; a misspelt value gets a did-you-mean."""
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


def parse_numbers(text: pd.Series) -> pd.Series:
    """Numbers of a text column: NaN where a cell is empty or not a number.

    Examples:
        >>> parse_numbers(pd.Series(["1.5", "", "north"])).tolist()
        [1.5, nan, nan]
    """
    return pd.to_numeric(text.where(text != ""), errors="coerce")


def _not_a(column: str) -> Callable[[str], str]:
    """Message maker for a value that is not one of a column's choices."""
    return lambda _: f"not a valid {column}"


def _suggest_choice(report: CsvReport, column: str, value: str, choices: Sequence[str]) -> None:
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


def check_ties(
    frame: pd.DataFrame,
    columns: set[str],
    ids: pd.Series | None,
    report: CsvReport,
) -> np.ndarray | None:
    """Check tie rows against the ``ids`` of another file (indexed by row number).

    Returns:
        The ties as positions in ``ids``, ``int64`` of shape ``(E, 2)``, each undirected tie
        once; ``None`` without both end columns or without ``ids``.
    """
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
