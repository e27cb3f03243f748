"""A comparison's inputs and its results read back: the scenarios, their paired values.

A comparison is a set of scenarios run with one root seed (:mod:`sim.planning.compare`);
this module holds what describes it (:class:`Comparison`, ``comparison.json``), reads
each scenario's results and costs back (:class:`ScenarioData`) and pairs their values
replicate by replicate (:func:`paired_values`, :func:`paired_differences`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.metrics.costs import budget_breaches, cost_by_year, cost_totals
from sim.model.schema import Scenario
from sim.planning.economics import (
    DEFAULT_EFFECT,
    DEFAULT_WTP_PER_POINT,
    EFFECTS,
)
from sim.runs.results import ResultsError, atomic_write, read_manifest, read_results

__all__ = [
    "COMPARISON_FILE",
    "INTERVAL",
    "POINTS_PER_INDEX",
    "SCENARIO_FOLDER",
    "check_reading",
    "folder_name",
    "load_comparison",
    "paired_differences",
    "paired_values",
    "read_comparison_data",
    "read_scenario",
    "unpaired_interval",
    "write_comparison_file",
    "ComparedScenario",
    "Comparison",
    "PairedValues",
    "ScenarioData",
]


#: The file naming a comparison's inputs.
COMPARISON_FILE = "comparison.json"


#: Folder of the per-scenario results inside a comparison folder.
SCENARIO_FOLDER = "scenarios"


#: QoC is an index in 0-1; a QoC point is one hundredth of it.
POINTS_PER_INDEX = 100.0


#: Lower and upper quantiles of every interval (a 90 % interval).
INTERVAL = (0.05, 0.95)


@dataclass(frozen=True)
class ComparedScenario:
    """One scenario of a comparison: its name, its file and its results folder."""

    name: str
    file: str
    folder: Path


@dataclass(frozen=True)
class Comparison:
    """The scenarios of a comparison, its baseline and how its economics are read.

    Attributes:
        wtp: Willingness to pay per QoC point, in the costs' currency.
        effect: The effect the economic reading uses, a key of :data:`EFFECTS`.
    """

    folder: Path
    scenarios: tuple[ComparedScenario, ...]
    baseline: str
    seed: int
    replicates: int
    wtp: float = DEFAULT_WTP_PER_POINT
    effect: str = DEFAULT_EFFECT


def folder_name(name: str) -> str:
    """A file-system-safe folder name for a scenario name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "scenario"


def check_reading(wtp: float, effect: str) -> None:
    """Check a willingness to pay and an effect name; raise ScenarioError if either is bad."""
    problems = []
    if not (math.isfinite(wtp) and wtp >= 0):
        problems.append(
            Problem(
                "--wtp",
                "wtp",
                wtp,
                "the willingness to pay must be a number, 0 or more",
                "give the most you would pay for one QoC point, e.g. --wtp 20000",
            )
        )
    if effect not in EFFECTS:
        problems.append(
            Problem(
                "--effect", "effect", effect, "unknown effect", f"give one of {', '.join(EFFECTS)}"
            )
        )
    if problems:
        raise ScenarioError(problems)


def write_comparison_file(comparison: Comparison) -> None:
    """Write ``comparison.json``: the inputs a comparison folder is read back from."""
    document = {
        "baseline": comparison.baseline,
        "seed": comparison.seed,
        "replicates": comparison.replicates,
        "wtp_per_point": comparison.wtp,
        "effect": comparison.effect,
        "scenarios": [
            {
                "name": s.name,
                "file": s.file,
                "folder": str(s.folder.relative_to(comparison.folder)),
            }
            for s in comparison.scenarios
        ],
    }
    text = json.dumps(document, indent=2) + "\n"
    atomic_write(comparison.folder / COMPARISON_FILE, lambda tmp: tmp.write_text(text, "utf-8"))


def load_comparison(folder: Path) -> Comparison:
    """Read a comparison folder, or treat a single results folder as a comparison of one.

    Raises:
        ResultsError: ``folder`` is neither a comparison folder nor a results folder.
    """
    folder = Path(folder)
    path = folder / COMPARISON_FILE
    if path.is_file():
        try:
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            entries = tuple(
                ComparedScenario(s["name"], s["file"], folder / s["folder"])
                for s in document["scenarios"]
            )
            return Comparison(
                folder,
                entries,
                str(document["baseline"]),
                int(document["seed"]),
                int(document["replicates"]),
                float(document.get("wtp_per_point", DEFAULT_WTP_PER_POINT)),
                str(document.get("effect", DEFAULT_EFFECT)),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ResultsError(f"cannot read {path}: {error}") from error
    manifest = read_manifest(folder)  # raises ResultsError if it is no results folder
    if manifest.get("kind") == "sweep":
        raise ResultsError(
            f"{folder} holds a sensitivity sweep, not a run or a comparison; its indices, "
            f"tables and figures are rebuilt with 'lhsim analyze {folder}'"
        )
    if manifest.get("kind") == "calibration":
        raise ResultsError(
            f"{folder} holds a calibration, not a run or a comparison; its outputs are "
            "written by 'lhsim calibrate' (see docs/calibration.md)"
        )
    name = str(manifest.get("scenario_name", folder.name))
    entry = ComparedScenario(name, str(manifest.get("command", [""])[-1:]), folder)
    return Comparison(
        folder, (entry,), name, int(manifest.get("seed", 0)), int(manifest.get("replicates", 0))
    )


@dataclass
class ScenarioData:
    """One scenario's results read back from disk, with its costs."""

    name: str
    scenario: Scenario
    summary: pd.DataFrame
    timeseries: pd.DataFrame
    countries: pd.DataFrame
    time_to_scale: pd.DataFrame
    costs: pd.DataFrame
    totals: pd.DataFrame
    breaches: pd.Series
    decisions: pd.DataFrame


def read_scenario(entry: ComparedScenario) -> ScenarioData:
    """Read one scenario's results and costs back from its folder."""
    results = read_results(entry.folder)
    scenario = Scenario.model_validate(results.manifest["scenario"])
    by_year = cost_by_year(results.timeseries, scenario)
    return ScenarioData(
        name=entry.name,
        scenario=scenario,
        summary=results.summary.set_index("replicate").sort_index(),
        timeseries=results.timeseries,
        countries=results.countries,
        time_to_scale=results.time_to_scale,
        costs=by_year,
        totals=cost_totals(by_year).set_index("replicate").sort_index(),
        breaches=budget_breaches(by_year, scenario.costs.annual_budget),
        decisions=results.decisions,
    )


def read_comparison_data(comparison: Comparison) -> list[ScenarioData]:
    """Read every scenario's results of ``comparison`` from disk."""
    return [read_scenario(entry) for entry in comparison.scenarios]


@dataclass(frozen=True)
class PairedValues:
    """Per-replicate values of every scenario, on the replicates all of them have.

    Each frame has one column per scenario and one row per replicate.

    Attributes:
        replicates: The paired replicates.
        qoc_final: Final-month QoC (index, 0-1).
        effect: The economic effect in QoC points (see :data:`EFFECTS`).
        cost: Discounted total cost.
    """

    replicates: list[int]
    qoc_final: pd.DataFrame
    effect: pd.DataFrame
    cost: pd.DataFrame


def paired_values(data: Sequence[ScenarioData], effect: str = DEFAULT_EFFECT) -> PairedValues:
    """Gather the per-replicate QoC, effect and cost of every scenario.

    Raises:
        ResultsError: The scenarios share no replicate.
        ValueError: ``effect`` is not one of :data:`EFFECTS`.
    """
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {', '.join(EFFECTS)}, not {effect!r}")
    common = sorted(set.intersection(*(set(d.summary.index) for d in data)))
    if not common:
        raise ResultsError("the compared scenarios share no replicate")
    column = EFFECTS[effect][0]
    return PairedValues(
        replicates=common,
        qoc_final=pd.DataFrame(
            {d.name: d.summary.loc[common, "qoc_final"].astype(float) for d in data}
        ),
        effect=pd.DataFrame(
            {d.name: POINTS_PER_INDEX * d.summary.loc[common, column].astype(float) for d in data}
        ),
        cost=pd.DataFrame({d.name: d.totals.loc[common, "cost_total"] for d in data}),
    )


def paired_differences(values: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Differences from the baseline, replicate by replicate.

    Args:
        values: One column per scenario, one row per replicate (the same replicates).
        baseline: The baseline's column.

    Returns:
        The same shape, each column minus the baseline column.

    Examples:
        >>> v = pd.DataFrame({"base": [0.5, 0.6], "new": [0.55, 0.7]})
        >>> paired_differences(v, "base")["new"].round(2).tolist()
        [0.05, 0.1]
    """
    return values.sub(values[baseline], axis=0)


def unpaired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """90 % interval of a - b over every pairing of replicates (independent draws)."""
    every = (a[:, None] - b[None, :]).reshape(-1)
    low, high = np.quantile(every, INTERVAL)
    return float(low), float(high)
