"""Read an observed adoption record (who adopted when, and who knows whom) from CSV.

The nodes file has one row per person or facility that could adopt, with the columns

=============  ===================================================================
column         meaning
=============  ===================================================================
id             unique, non-empty identifier
group          optional: the group (city, district) the node belongs to; one group
               ``all`` when the column is absent
adoption_time  whole number of time units (1 = the first unit of the window) at which
               the node adopted; empty when it did not adopt within the window
at_risk        optional: ``1`` if the node could adopt, ``0`` if not (kept out of the
               fit, its ties too); every node is at risk when the column is absent
=============  ===================================================================

The optional edges file lists ties with the columns ``source`` and ``target`` (node ids)
and, optionally, ``kind`` (free text). Ties are undirected for the model; a tie listed
in both directions is kept once. Ties that touch a node not at risk are dropped.

Every problem of both files is reported at once, as a :class:`~sim.errors.ScenarioError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.model.csv_checks import (
    EDGE_COLUMNS,
    OPTIONAL_EDGE_COLUMNS,
    CsvReport,
    check_columns,
    check_ids,
    check_ties,
    read_csv_text,
)

__all__ = ["NODE_COLUMNS", "OPTIONAL_NODE_COLUMNS", "AdoptionData", "read_adoption_data"]

NODE_COLUMNS: tuple[str, ...] = ("id", "adoption_time")
"""Columns the nodes file must have."""

OPTIONAL_NODE_COLUMNS: tuple[str, ...] = ("group", "at_risk")
"""Columns the nodes file may have."""

DEFAULT_GROUP = "all"
"""Group of every node when the nodes file has no ``group`` column."""


@dataclass(frozen=True, eq=False)
class AdoptionData:
    """The nodes at risk of adopting, their groups, adoption times and ties.

    Attributes:
        ids: Node ids (``str``), at-risk nodes only, in file order.
        group: Group name of each node.
        adoption_time: Time unit of adoption (``float``; NaN = not within the window).
        periods: Length of the observation window in time units.
        edges: Ties between at-risk nodes as row indices ``(E, 2)``, each once; ``None``
            without an edges file.
        dropped_nodes: Nodes left out because they were not at risk.
    """

    ids: np.ndarray
    group: np.ndarray
    adoption_time: np.ndarray
    periods: int
    edges: np.ndarray | None
    dropped_nodes: int = 0

    @property
    def groups(self) -> list[str]:
        """Group names in order of first appearance."""
        return list(dict.fromkeys(self.group.tolist()))

    def group_sizes(self) -> dict[str, int]:
        """Number of at-risk nodes per group."""
        return {g: int((self.group == g).sum()) for g in self.groups}

    def cumulative(self) -> pd.DataFrame:
        """Observed cumulative adopters per group and time unit (``group, time, observed``).

        Examples:
            >>> data = AdoptionData(
            ...     ids=np.array(["a", "b", "c"], dtype=object),
            ...     group=np.array(["X", "X", "Y"], dtype=object),
            ...     adoption_time=np.array([1.0, np.nan, 2.0]),
            ...     periods=2,
            ...     edges=None,
            ... )
            >>> data.cumulative()["observed"].tolist()
            [1, 1, 0, 1]
        """
        rows = []
        for g in self.groups:
            times = self.adoption_time[self.group == g]
            for t in range(1, self.periods + 1):
                rows.append({"group": g, "time": t, "observed": int((times <= t).sum())})
        return pd.DataFrame(rows)


def read_adoption_data(
    nodes_file: str | Path, edges_file: str | Path | None = None, periods: int | None = None
) -> AdoptionData:
    r"""Read and check a nodes CSV and, optionally, an edges CSV.

    Args:
        nodes_file: CSV with ``id, adoption_time`` and optionally ``group, at_risk``.
        edges_file: CSV with ``source, target`` and optionally ``kind``.
        periods: Length of the observation window; the latest adoption time if ``None``.

    Returns:
        The at-risk nodes as :class:`AdoptionData`.

    Raises:
        ScenarioError: Listing every problem of both files.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "nodes.csv"
        ...     _ = path.write_text("id,group,adoption_time\n1,A,2\n2,A,\n3,B,1\n")
        ...     data = read_adoption_data(path)
        >>> data.groups, data.periods
        (['A', 'B'], 2)
    """
    report = CsvReport(str(nodes_file))
    frame = read_csv_text(Path(nodes_file), report)
    columns = (
        check_columns(frame, NODE_COLUMNS, OPTIONAL_NODE_COLUMNS, report)
        if frame is not None
        else set()
    )
    if frame is not None:
        _check_node_rows(frame, columns, report, periods)

    edges: np.ndarray | None = None
    edge_report: CsvReport | None = None
    if edges_file is not None:
        edge_report = CsvReport(str(edges_file))
        edge_frame = read_csv_text(Path(edges_file), edge_report)
        if edge_frame is not None:
            edge_columns = check_columns(
                edge_frame, EDGE_COLUMNS, OPTIONAL_EDGE_COLUMNS, edge_report
            )
            ids = frame["id"] if frame is not None and "id" in columns else None
            edges = check_ties(edge_frame, edge_columns, ids, edge_report)
            if edges is not None:
                edges = edges.astype(np.int64)

    problems = report.problems() + (edge_report.problems() if edge_report else [])
    if problems or frame is None:
        raise ScenarioError(problems)
    return _assemble(frame, edges, periods, str(nodes_file))


def _check_node_rows(
    frame: pd.DataFrame, columns: set[str], report: CsvReport, periods: int | None
) -> None:
    """Check ids, adoption times and the at-risk flags of every node row."""
    if frame.empty:
        report.add("", 0, "no nodes listed", "add one row per node under the header")
        return
    if "id" in columns:
        check_ids(frame, report, "node")
    if "group" in columns:
        report.add_rows(
            frame,
            frame["group"] == "",
            "group",
            lambda _: "group is empty",
            "name the group of every node, or drop the column",
            1,
        )
    if "adoption_time" in columns:
        times = frame["adoption_time"]
        whole = times.str.fullmatch(r"\+?\d+(\.0*)?")
        upper = periods if periods is not None else np.iinfo(np.int32).max
        report.add_rows(
            frame,
            (times != "") & ~whole,
            "adoption_time",
            lambda _: "adoption_time is not a whole number",
            "use the time unit of adoption (1 = the first), or leave it empty if not adopted",
            2,
        )
        value = pd.to_numeric(times.where(whole, "1"), errors="coerce").fillna(1)
        report.add_rows(
            frame,
            whole & ((value < 1) | (value > upper)),
            "adoption_time",
            lambda _: "adoption_time is outside the observation window",
            f"use a whole number from 1 to {upper}, or leave it empty if not adopted "
            "within the window",
            2,
        )
    if "at_risk" in columns:
        report.add_rows(
            frame,
            ~frame["at_risk"].isin(("0", "1")),
            "at_risk",
            lambda _: "at_risk must be 0 or 1",
            "write 1 for a node that could adopt, 0 for one that could not",
            3,
        )
        if "adoption_time" in columns:
            report.add_rows(
                frame,
                (frame["at_risk"] == "0") & (frame["adoption_time"] != ""),
                "adoption_time",
                lambda _: "a node not at risk has an adoption time",
                "set at_risk to 1, or clear its adoption_time",
                2,
            )
    if "at_risk" in columns and (frame["at_risk"] == "0").all():
        report.add("column at_risk", "0", "no node is at risk", "mark the nodes that could adopt")
    if "adoption_time" in columns and periods is None and (frame["adoption_time"] == "").all():
        report.add(
            "column adoption_time",
            "",
            "no node adopted, so the observation window is unknown",
            "give the window's length as data.periods in the calibration file",
        )


def _assemble(
    frame: pd.DataFrame, edges: np.ndarray | None, periods: int | None, file: str
) -> AdoptionData:
    """Keep the at-risk nodes and their ties; number ties by the kept rows."""
    at_risk = (
        (frame["at_risk"] == "1").to_numpy()
        if "at_risk" in frame.columns
        else np.ones(len(frame), dtype=bool)
    )
    groups = (
        frame["group"].to_numpy(dtype=object)
        if "group" in frame.columns
        else np.full(len(frame), DEFAULT_GROUP, dtype=object)
    )
    times = pd.to_numeric(frame["adoption_time"].replace("", np.nan)).to_numpy(dtype=float)
    window = int(np.nanmax(times)) if periods is None else int(periods)
    kept = np.flatnonzero(at_risk)
    if edges is not None:
        position = np.full(len(frame), -1, dtype=np.int64)
        position[kept] = np.arange(kept.size)
        mapped = position[edges]
        edges = np.ascontiguousarray(mapped[(mapped >= 0).all(axis=1)])
    if kept.size == 0:
        raise ScenarioError([Problem(file, "", 0, "no node is at risk", "")])
    return AdoptionData(
        ids=frame["id"].to_numpy(dtype=object)[kept],
        group=groups[kept],
        adoption_time=times[kept],
        periods=window,
        edges=edges,
        dropped_nodes=int(len(frame) - kept.size),
    )
