"""Paired comparison of scenarios with common random numbers.

Every scenario of a comparison runs with one root seed, so replicate r of each sees
the same random streams (:mod:`sim.model.streams` derives them from seed, replicate and
mechanism only): the same world, the same staff departures, and the same draws
wherever the scenarios agree. A difference between two scenarios in replicate r is
then the effect of their levers, not noise, and paired intervals are narrower than
unpaired ones.

A comparison folder looks like this::

    <out>/
        comparison.json        the inputs: scenario names and files, baseline, seed, replicates
        scenarios/<name>/      one ordinary results folder per scenario (resumable)
        comparison.csv         one row per scenario (see :func:`comparison_table`)
        costs.csv              cost per scenario, replicate, year and activity
        figures/               QoC bands, cost-effect plane, loss ledger
        report.html            the decision brief (:mod:`sim.planning.brief`)

Everything after the runs is computed from the results on disk, so
:func:`build_outputs` (``lhsim report``) rebuilds it without running anything.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.metrics.costs import budget_breaches, cost_by_year, cost_problems, cost_totals
from sim.model.ledger import CAUSES
from sim.model.schema import Scenario
from sim.runs.folders import FolderLock, make_folder
from sim.runs.results import ResultsError, atomic_write, read_manifest, read_results

__all__ = [
    "COMPARISON_FILE",
    "ComparedScenario",
    "Comparison",
    "ScenarioData",
    "build_outputs",
    "comparison_table",
    "load_comparison",
    "load_inputs",
    "paired_differences",
    "run_comparison",
]

log = logging.getLogger(__name__)

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
    """The scenarios of a comparison and its baseline."""

    folder: Path
    scenarios: tuple[ComparedScenario, ...]
    baseline: str
    seed: int
    replicates: int


# --------------------------------------------------------------------------- inputs
def _folder_name(name: str) -> str:
    """A file-system-safe folder name for a scenario name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "scenario"


def load_inputs(
    files: Sequence[Path], baseline: str | None
) -> tuple[list[tuple[Path, Scenario]], str]:
    """Load and check the scenario files of a comparison, before anything runs.

    Args:
        files: Scenario YAML files.
        baseline: A scenario's name or its file's stem; ``None`` takes the first file.

    Returns:
        The (file, scenario) pairs in the order given, and the baseline's scenario name.

    Raises:
        ScenarioError: Listing every problem of every file at once: invalid files,
            repeated scenario names or folder names, a baseline that is not among the
            inputs, and activities used without a unit cost.
    """
    from sim.config.scenario import load_scenario

    problems: list[Problem] = []
    loaded: list[tuple[Path, Scenario]] = []
    for path in files:
        try:
            loaded.append((Path(path), load_scenario(path)))
        except ScenarioError as error:
            problems.extend(error.problems)
    for path, scenario in loaded:
        problems.extend(cost_problems(scenario, str(path)))
    seen: dict[str, Path] = {}
    folders: dict[str, str] = {}
    for path, scenario in loaded:
        name = scenario.name
        if name in seen:
            problems.append(
                Problem(
                    str(path),
                    "name",
                    name,
                    f"two scenarios are named {name!r} (also {seen[name]})",
                    "give every compared scenario its own name",
                )
            )
            continue
        seen[name] = path
        folder = _folder_name(name)
        if folder in folders:
            problems.append(
                Problem(
                    str(path),
                    "name",
                    name,
                    f"{name!r} and {folders[folder]!r} would share the results folder {folder!r}",
                    "use names that differ in letters or digits",
                )
            )
        folders[folder] = name
    chosen = _baseline_name(loaded, baseline, files, problems)
    if problems:
        raise ScenarioError(problems)
    return loaded, chosen


def _baseline_name(
    loaded: list[tuple[Path, Scenario]],
    baseline: str | None,
    files: Sequence[Path],
    problems: list[Problem],
) -> str:
    if not loaded:
        return ""
    if baseline is None:
        return loaded[0][1].name
    for path, scenario in loaded:
        if baseline in (scenario.name, path.stem):
            return scenario.name
    known = sorted({s.name for _, s in loaded} | {p.stem for p, _ in loaded})
    problems.append(
        Problem(
            "--baseline",
            "baseline",
            baseline,
            "the baseline is not among the compared scenarios",
            f"give one of their names or file stems: {', '.join(known)}",
        )
    )
    return ""


# --------------------------------------------------------------------------- running
def run_comparison(
    files: Sequence[Path],
    *,
    baseline: str | None,
    replicates: int,
    out_dir: Path,
    seed: int | None = None,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    command: Sequence[str] | None = None,
) -> Comparison:
    """Run every scenario with common random numbers, then build the outputs.

    All scenarios run with one root seed (``seed``, else the baseline's), each into
    ``out_dir/scenarios/<name>/``. Without ``force`` a folder already there is resumed,
    so an interrupted comparison continues where it stopped.

    Returns:
        The comparison, whose outputs are in ``out_dir``.

    Raises:
        ScenarioError: An input is invalid (see :func:`load_inputs`); nothing has run.
        sim.runs.results.ResultsError: A scenario folder holds results of another scenario.
        sim.errors.RunError: A replicate failed.
    """
    from sim.config.scenario import with_seed
    from sim.runs.runner import run_scenario

    loaded, baseline_name = load_inputs(files, baseline)
    root_seed = (
        seed if seed is not None else next(s.seed for _, s in loaded if s.name == baseline_name)
    )
    runs = [(path, with_seed(scenario, root_seed, path)) for path, scenario in loaded]
    out_dir = Path(out_dir)
    entries = tuple(
        ComparedScenario(s.name, str(path), out_dir / SCENARIO_FOLDER / _folder_name(s.name))
        for path, s in runs
    )
    comparison = Comparison(out_dir, entries, baseline_name, root_seed, replicates)
    make_folder(out_dir)  # a clear error if --out names a file
    _write_comparison_file(comparison)
    for entry, (_, scenario) in zip(entries, runs, strict=True):
        resume = not force and entry.folder.is_dir() and any(entry.folder.iterdir())
        run_scenario(
            scenario,
            replicates=replicates,
            out_dir=entry.folder,
            workers=workers,
            resume=resume,
            force=force,
            progress=progress,
            command=command,
        )
    build_outputs(out_dir)
    return comparison


def _write_comparison_file(comparison: Comparison) -> None:
    document = {
        "baseline": comparison.baseline,
        "seed": comparison.seed,
        "replicates": comparison.replicates,
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


# --------------------------------------------------------------------------- statistics
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


def _unpaired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """90 % interval of a - b over every pairing of replicates (independent draws)."""
    every = (a[:, None] - b[None, :]).reshape(-1)
    low, high = np.quantile(every, INTERVAL)
    return float(low), float(high)


@dataclass
class ScenarioData:
    """One scenario's results read back from disk, with its costs."""

    name: str
    scenario: Scenario
    summary: pd.DataFrame
    timeseries: pd.DataFrame
    countries: pd.DataFrame
    costs: pd.DataFrame
    totals: pd.DataFrame
    breaches: pd.Series


def _read_scenario(entry: ComparedScenario) -> ScenarioData:
    results = read_results(entry.folder)
    scenario = Scenario.model_validate(results.manifest["scenario"])
    by_year = cost_by_year(results.timeseries, scenario)
    return ScenarioData(
        name=entry.name,
        scenario=scenario,
        summary=results.summary.set_index("replicate").sort_index(),
        timeseries=results.timeseries,
        countries=results.countries,
        costs=by_year,
        totals=cost_totals(by_year).set_index("replicate").sort_index(),
        breaches=budget_breaches(by_year, scenario.costs.annual_budget),
    )


def comparison_table(data: Sequence[ScenarioData], baseline: str) -> pd.DataFrame:
    """One row per scenario: QoC, paired differences, costs, ICER, dominance, ledger.

    Columns: ``scenario``, ``is_baseline``, ``replicates``, ``qoc_final_median``,
    ``qoc_final_p05``, ``qoc_final_p95``, ``diff_vs_baseline_median``, ``diff_vs_baseline_mean``,
    ``diff_vs_baseline_p05``, ``diff_vs_baseline_p95`` (paired: the 90 % interval of
    replicate-by-replicate differences), ``diff_unpaired_p05``, ``diff_unpaired_p95``
    (the same over every pairing of replicates, as if the runs were independent),
    ``p_better_than_baseline`` (share of replicates in which the scenario's final QoC
    is higher), ``cost_total_median``, ``cost_total_p05``, ``cost_total_p95``
    (discounted), ``cost_diff_vs_baseline_mean``, ``icer_vs_baseline`` (discounted cost
    per QoC point gained, a point being 0.01 of the index; empty where QoC does not
    rise), ``dominates_baseline``, ``dominated_by_baseline``, ``dominated`` (another
    scenario costs no more and gives no less QoC on average, one of them strictly),
    ``budget_breach_share`` (share of replicates with a year over the envelope),
    ``budget_breach_years_median``, and ``lost_<cause>_share`` for the five causes.
    """
    common = sorted(set.intersection(*(set(d.summary.index) for d in data)))
    if not common:
        raise ResultsError("the compared scenarios share no replicate")
    qoc = pd.DataFrame({d.name: d.summary.loc[common, "qoc_final"].astype(float) for d in data})
    cost = pd.DataFrame({d.name: d.totals.loc[common, "cost_total"] for d in data})
    diff = paired_differences(qoc, baseline)
    cost_diff = paired_differences(cost, baseline)
    rows = []
    for d in data:
        rows.append(_row(d, qoc, diff, cost, cost_diff, baseline, common))
    table = pd.DataFrame(rows)
    mean_qoc = qoc.mean()
    mean_cost = cost.mean()
    table["dominated"] = [_dominated(name, mean_qoc, mean_cost) for name in table["scenario"]]
    return table


def _row(
    d: ScenarioData,
    qoc: pd.DataFrame,
    diff: pd.DataFrame,
    cost: pd.DataFrame,
    cost_diff: pd.DataFrame,
    baseline: str,
    common: list[int],
) -> dict[str, Any]:
    name = d.name
    values = qoc[name]
    delta = diff[name]
    low_u, high_u = _unpaired_interval(values.to_numpy(), qoc[baseline].to_numpy())
    gain = float(delta.mean())
    extra = float(cost_diff[name].mean())
    is_baseline = name == baseline
    row: dict[str, Any] = {
        "scenario": name,
        "is_baseline": is_baseline,
        "replicates": len(common),
        "qoc_final_median": float(values.median()),
        "qoc_final_p05": float(values.quantile(INTERVAL[0])),
        "qoc_final_p95": float(values.quantile(INTERVAL[1])),
        "diff_vs_baseline_median": float(delta.median()),
        "diff_vs_baseline_mean": gain,
        "diff_vs_baseline_p05": float(delta.quantile(INTERVAL[0])),
        "diff_vs_baseline_p95": float(delta.quantile(INTERVAL[1])),
        "diff_unpaired_p05": low_u,
        "diff_unpaired_p95": high_u,
        "p_better_than_baseline": float((delta > 0).mean()),
        "cost_total_median": float(cost[name].median()),
        "cost_total_p05": float(cost[name].quantile(INTERVAL[0])),
        "cost_total_p95": float(cost[name].quantile(INTERVAL[1])),
        "cost_diff_vs_baseline_mean": extra,
        "icer_vs_baseline": (
            extra / (gain * POINTS_PER_INDEX) if gain > 0 and not is_baseline else float("nan")
        ),
        "dominates_baseline": (not is_baseline) and gain > 0 and extra <= 0,
        "dominated_by_baseline": (not is_baseline) and gain <= 0 and extra >= 0,
        "currency": d.scenario.costs.currency,
        "annual_budget": d.scenario.costs.annual_budget,
        "budget_breach_share": float((d.breaches.loc[common] > 0).mean()),
        "budget_breach_years_median": float(d.breaches.loc[common].median()),
    }
    lost = d.summary.loc[common, [f"lost_{c}" for c in CAUSES]].astype(float).sum()
    total = float(lost.sum())
    for cause in CAUSES:
        row[f"lost_{cause}_share"] = float(lost[f"lost_{cause}"] / total) if total else 0.0
    return row


def _dominated(name: str, mean_qoc: pd.Series, mean_cost: pd.Series) -> bool:
    """Whether another scenario costs no more and gives no less, one of them strictly."""
    others = mean_qoc.index != name
    no_worse = (mean_qoc[others] >= mean_qoc[name]) & (mean_cost[others] <= mean_cost[name])
    better = (mean_qoc[others] > mean_qoc[name]) | (mean_cost[others] < mean_cost[name])
    return bool((no_worse & better).any())


# --------------------------------------------------------------------------- outputs
def read_comparison_data(comparison: Comparison) -> list[ScenarioData]:
    """Read every scenario's results of ``comparison`` from disk."""
    return [_read_scenario(entry) for entry in comparison.scenarios]


def build_outputs(folder: Path) -> dict[str, Path]:
    """Write ``comparison.csv``, ``costs.csv``, the figures and ``report.html``.

    Reads only results on disk, so it can be run again at any time.

    Returns:
        The path of every file written, by name.

    Raises:
        ResultsError: ``folder`` is not a comparison or results folder, or a run in it
            did not finish.
        sim.runs.folders.FolderLockedError: Another command is writing into ``folder``.
    """
    from sim.planning.brief import write_report
    from sim.planning.figures import comparison_figures, figure_png

    comparison = load_comparison(folder)
    data = read_comparison_data(comparison)
    table = comparison_table(data, comparison.baseline)
    costs = pd.concat([d.costs.assign(scenario=d.name) for d in data], ignore_index=True)[
        ["scenario", "replicate", "year", "activity", "units", "cost", "cost_discounted"]
    ]
    with FolderLock(Path(folder)):  # one writer of the outputs at a time
        written: dict[str, Path] = {}
        for name, frame in (("comparison", table), ("costs", costs)):
            path = Path(folder) / f"{name}.csv"
            _write_csv(path, frame)
            written[name] = path
        figures = comparison_figures(data, table, comparison.baseline)
        images: dict[str, bytes] = {}
        for name, figure in figures.items():
            png = figure_png(figure)
            images[name] = png
            path = Path(folder) / "figures" / f"{name}.png"
            _write_bytes(path, png)
            written[name] = path
        written["report"] = write_report(comparison, data, table, images)
    return written


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
