"""The pattern check as a table, a figure and files (``lhsim patterns``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.fitting.patterns import PatternCheck, check_patterns, load_patterns
from sim.runs.executors import make_evaluator
from sim.runs.files import atomic_write
from sim.runs.folders import FolderLock, start_fresh
from sim.runs.manifest import build_manifest, finish_manifest, write_manifest

__all__ = ["PATTERN_CHECK_FILES", "check_command", "format_check", "plot_patterns"]

#: What a pattern check writes into its folder (replaced by the next check).
PATTERN_CHECK_FILES: tuple[str, ...] = (
    "manifest.json",
    "patterns.csv",
    "pattern_values.csv",
    "patterns.png",
    ".*.tmp",
)


def _rows(table: pd.DataFrame) -> list[Any]:
    """The table's rows as named tuples."""
    return list(table.itertuples())


def _fmt(value: Any) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def format_check(table: pd.DataFrame) -> str:
    """The check as aligned text: pattern, target, median [90 % interval], inside or not.

    Examples:
        >>> row = {"pattern": "p", "target_low": 0.4, "target_high": 0.6, "median": 0.5,
        ...        "q05": 0.45, "q95": 0.55, "inside": True, "unit": "share"}
        >>> print(format_check(pd.DataFrame([row])))
          pattern  target   simulated median [90 % interval]  inside
          p        0.4-0.6  0.5 [0.45, 0.55] share            yes
    """
    rows = [
        (
            str(r.pattern),
            f"{_fmt(r.target_low)}-{_fmt(r.target_high)}",
            f"{_fmt(r.median)} [{_fmt(r.q05)}, {_fmt(r.q95)}] {r.unit}",
            "yes" if r.inside else "MISSED",
        )
        for r in _rows(table)
    ]
    header = ("pattern", "target", "simulated median [90 % interval]", "inside")
    widths = [max(len(row[i]) for row in [header, *rows]) + 2 for i in range(3)]
    lines = [
        "  " + "".join(cell.ljust(w) for cell, w in zip(line[:3], widths, strict=True)) + line[3]
        for line in [header, *rows]
    ]
    return "\n".join(lines)


def plot_patterns(check: PatternCheck) -> Figure:
    """One row per pattern on a common scale.

    Its target range runs from 0 to 1, each replicate's value is a dot and the median
    a bar, green inside and red outside.
    """
    table = check.table
    figure = Figure(figsize=(8, 0.6 * len(table) + 1.2))
    axes = figure.subplots()
    for row, r in enumerate(_rows(table)):
        low, high, mid = float(r.target_low), float(r.target_high), float(r.median)
        width = high - low
        values = check.values.loc[check.values["pattern"] == r.pattern, "value"].to_numpy()
        scaled = np.clip((values - low) / width, -1.5, 2.5)
        axes.fill_between([0, 1], row - 0.3, row + 0.3, color="#cfe8cf")
        axes.plot(scaled, np.full(scaled.size, row), "o", color="#555555", ms=3, alpha=0.7)
        median = float(np.clip((mid - low) / width, -1.5, 2.5))
        colour = "#009E73" if r.inside else "#D55E00"
        axes.plot([median, median], [row - 0.35, row + 0.35], color=colour, lw=3)
        axes.text(
            2.55,
            row,
            f"{_fmt(mid)} (target {_fmt(low)}-{_fmt(high)})",
            va="center",
            fontsize=8,
        )
    axes.set_yticks(range(len(table)), table["pattern"].tolist())
    axes.set_xlim(-1.6, 4.2)
    axes.set_xticks([0, 1], ["low end", "high end"])
    axes.invert_yaxis()
    axes.set_title("Published patterns: simulated values against target ranges")
    figure.tight_layout()
    return figure


def check_command(
    path: Path,
    *,
    out: Path | None = None,
    replicates: int | None = None,
    only: Sequence[str] | None = None,
    fast: bool = False,
    executor: str = "processes",
    workers: int = 2,
    scheduler: str | None = None,
    command: list[str] | None = None,
) -> tuple[str, list[str]]:
    """Check the patterns of ``path``, write the folder, return the table text and misses."""
    spec = load_patterns(path)
    folder = Path(out) if out is not None else Path("results") / "patterns"
    with FolderLock(folder, command):
        start_fresh(folder, "patterns", PATTERN_CHECK_FILES, force=True, resume=False)
        with make_evaluator(executor, workers, scheduler) as evaluator:
            check = check_patterns(
                spec, replicates=replicates, only=only, fast=fast, map_=evaluator.map
            )
        table = check.table

        def write(name: str, frame: pd.DataFrame) -> None:
            atomic_write(folder / name, lambda p: frame.to_csv(p, index=False))

        write("patterns.csv", table)
        write("pattern_values.csv", check.values)
        figure = plot_patterns(check)
        atomic_write(folder / "patterns.png", lambda p: figure.savefig(p, dpi=120, format="png"))
        from sim.fitting.patterns import pattern_tasks

        scenario = pattern_tasks(spec, spec.patterns[:1], [0])[0][0]
        manifest = build_manifest(
            scenario, replicates or spec.replicates, workers=workers, command=command
        )
        manifest["patterns_file"] = str(Path(path).resolve())
        write_manifest(folder, finish_manifest(manifest))
    count = len(table)
    inside = int(table["inside"].sum())
    text = (
        f"Patterns of {spec.name!r}: {inside} of {count} inside their target range "
        f"({replicates or spec.replicates} replicates a scenario); results in {folder}/\n\n"
        + format_check(table)
    )
    return text, check.missed
