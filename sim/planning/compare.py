"""Paired comparison of scenarios with common random numbers.

Every scenario of a comparison runs with one root seed, so replicate r of each sees
the same random streams (:mod:`sim.model.streams` derives them from seed, replicate and
mechanism only): the same world, the same staff departures, and the same draws
wherever the scenarios agree. A difference between two scenarios in replicate r is
then the effect of their levers, not noise, and paired intervals are narrower than
unpaired ones.

A comparison folder looks like this::

    <out>/
        comparison.json        the inputs: scenario names and files, baseline, seed,
                               replicates, willingness to pay, effect measure
        scenarios/<name>/      one ordinary results folder per scenario (resumable)
        comparison.csv         one row per scenario (see :func:`comparison_table`)
        costs.csv              cost per scenario, replicate, year and activity
        budget.csv             cost and shortfall per scenario and year (:func:`budget_table`)
        acceptability.csv      the acceptability curve (:func:`acceptability_table`)
        loop_changes.csv       what the learning loops changed during the runs
        figures/               frontier, acceptability, QoC bands, cost-effect plane, ledger
        report.html            the decision brief (:mod:`sim.planning.brief`)

Everything after the runs is computed from the results on disk, so
:func:`build_outputs` (``lhsim report``) rebuilds it without running anything;
:func:`analyse` returns the same tables as DataFrames without writing them.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Problem, ScenarioError
from sim.metrics.costs import budget_breaches, cost_by_year, cost_problems, cost_totals
from sim.model.ledger import CAUSES
from sim.model.schema import Scenario
from sim.planning.economics import (
    DEFAULT_EFFECT,
    DEFAULT_WTP_PER_POINT,
    EFFECTS,
    FRONTIER,
    acceptability,
    best_option,
    budget_by_year,
    efficiency_frontier,
    net_benefit,
    reading,
    wtp_grid,
)
from sim.planning.loop_changes import loop_changes
from sim.planning.outcomes import outcomes_over_time
from sim.runs.folders import make_folder
from sim.runs.results import ResultsError, atomic_write, read_manifest, read_results

__all__ = [
    "COMPARISON_FILE",
    "DEFAULT_EFFECT",
    "EFFECTS",
    "ComparedScenario",
    "Comparison",
    "ComparisonResults",
    "PairedValues",
    "ScenarioData",
    "acceptability_table",
    "analyse",
    "budget_table",
    "build_outputs",
    "compare",
    "comparison_table",
    "load_comparison",
    "load_inputs",
    "paired_differences",
    "paired_values",
    "run_comparison",
    "write_outputs",
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
    wtp: float = DEFAULT_WTP_PER_POINT,
    effect: str = DEFAULT_EFFECT,
) -> Comparison:
    """Run every scenario with common random numbers, then build the outputs.

    All scenarios run with one root seed (``seed``, else the baseline's), each into
    ``out_dir/scenarios/<name>/``. Without ``force`` a folder already there is resumed,
    so an interrupted comparison continues where it stopped. ``wtp`` (willingness to pay
    per QoC point) and ``effect`` (a key of :data:`EFFECTS`) set the economic reading and
    are kept in ``comparison.json``, so ``lhsim report`` reads it the same way.

    Returns:
        The comparison, whose outputs are in ``out_dir``.

    Raises:
        ScenarioError: An input is invalid (see :func:`load_inputs`); nothing has run.
        sim.runs.results.ResultsError: A scenario folder holds results of another scenario.
        sim.errors.RunError: A replicate failed.
    """
    comparison = _run_scenarios(
        files,
        baseline=baseline,
        replicates=replicates,
        out_dir=out_dir,
        seed=seed,
        workers=workers,
        force=force,
        progress=progress,
        command=command,
        wtp=wtp,
        effect=effect,
    )
    build_outputs(out_dir)
    return comparison


def compare(
    files: Sequence[Path | str],
    *,
    out_dir: Path | str,
    baseline: str | None = None,
    replicates: int = 10,
    seed: int | None = None,
    workers: int = 1,
    force: bool = False,
    progress: bool = False,
    wtp: float = DEFAULT_WTP_PER_POINT,
    effect: str = DEFAULT_EFFECT,
) -> ComparisonResults:
    """Compare scenarios as ``lhsim compare`` does, and return the comparison's tables.

    Runs (or resumes) every scenario with common random numbers into ``out_dir``,
    writes the same files as the command, and returns the tables as DataFrames.

    Args:
        files: Scenario YAML files.
        out_dir: The comparison folder.
        baseline: A scenario's name or its file's stem; ``None`` takes the first file.
        replicates: Replicates of every scenario.
        seed: Root seed of every scenario (default: the baseline's).
        workers: Worker processes; results do not depend on it.
        force: Replace results already in ``out_dir`` instead of resuming them.
        progress: Show progress bars.
        wtp: Willingness to pay per QoC point, in the costs' currency.
        effect: The effect costs are weighed against, a key of :data:`EFFECTS`.

    Returns:
        The comparison with its tables (``table``, ``costs``, ``budget``,
        ``acceptability``, ``loops``), its ``best`` buy and the ``files`` written.

    Raises:
        ScenarioError: An input is invalid; nothing has run.
        sim.runs.results.ResultsError: A scenario folder holds results of another scenario.
        sim.errors.RunError: A replicate failed.
    """
    comparison = _run_scenarios(
        [Path(f) for f in files],
        baseline=baseline,
        replicates=replicates,
        out_dir=Path(out_dir),
        seed=seed,
        workers=workers,
        force=force,
        progress=progress,
        command=None,
        wtp=wtp,
        effect=effect,
    )
    results = analyse(comparison.folder)
    write_outputs(results)
    return results


def _run_scenarios(
    files: Sequence[Path],
    *,
    baseline: str | None,
    replicates: int,
    out_dir: Path,
    seed: int | None,
    workers: int,
    force: bool,
    progress: bool,
    command: Sequence[str] | None,
    wtp: float,
    effect: str,
) -> Comparison:
    """Run every scenario of a comparison and write ``comparison.json``; no outputs yet."""
    from sim.config.scenario import with_seed
    from sim.runs.runner import run_scenario

    _check_reading(wtp, effect)
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
    comparison = Comparison(
        out_dir, entries, baseline_name, root_seed, replicates, float(wtp), effect
    )
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
    return comparison


def _check_reading(wtp: float, effect: str) -> None:
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


def _write_comparison_file(comparison: Comparison) -> None:
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
    time_to_scale: pd.DataFrame
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
        time_to_scale=results.time_to_scale,
        costs=by_year,
        totals=cost_totals(by_year).set_index("replicate").sort_index(),
        breaches=budget_breaches(by_year, scenario.costs.annual_budget),
    )


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


def comparison_table(
    data: Sequence[ScenarioData],
    baseline: str,
    *,
    wtp: float = DEFAULT_WTP_PER_POINT,
    effect: str = DEFAULT_EFFECT,
) -> pd.DataFrame:
    """One row per scenario: QoC, paired gains, costs, the economic reading, the ledger.

    QoC levels are on the index (0-1); every gain, effect and ratio is in QoC points
    (0.01 of the index); costs are in the scenarios' currency (``currency``), discounted
    unless said.

    Columns: ``scenario``, ``is_baseline``, ``replicates``; ``qoc_final_median``,
    ``qoc_final_p05``, ``qoc_final_p95``; ``gain_final_points_median``, ``_mean``,
    ``_p05``, ``_p95`` (paired: replicate-by-replicate differences in final QoC) and
    ``gain_final_unpaired_p05``, ``_p95`` (over every pairing of replicates, as if the
    runs were independent); ``p_better_than_baseline`` (share of replicates whose final
    QoC is higher).

    The economic reading, on the effect ``effect`` (``effect_measure`` names it):
    ``effect_points_mean``, ``effect_gain_points_mean``, ``_p05``, ``_p95`` (paired),
    ``p_effect_gain_positive``; ``cost_total_mean``, ``cost_total_median``, ``_p05``,
    ``_p95``, ``cost_diff_vs_baseline_mean``; ``reading_vs_baseline`` (in words: "cheaper
    and better", "costs more, better", ...); ``icer_vs_baseline`` (extra cost per point
    gained, only where both the extra cost and the gain are positive);
    ``dominates_baseline``, ``dominated_by_baseline``; ``frontier_status``
    (``frontier``, ``strongly dominated``, ``extendedly dominated``), ``frontier_by``,
    ``same_as``, ``dominated`` (not on the frontier), ``frontier_next`` (the next cheaper
    frontier option) and ``icer_vs_next`` (see :mod:`sim.planning.economics`);
    ``wtp_per_point``, ``nmb_mean`` (net monetary benefit ``wtp * effect - cost``),
    ``inmb_vs_baseline_mean``, ``p_most_cost_effective`` (share of replicates in which
    the scenario has the highest net benefit), ``best_buy`` (highest mean net benefit).

    Budgets (undiscounted, as spent): ``annual_budget``, ``cost_per_year_median`` (mean
    over the run's years), ``cost_peak_year_median``, ``budget_breach_share`` (share of
    replicates with a year over the envelope), ``budget_breach_years_median``,
    ``budget_shortfall_total_median``, ``budget_shortfall_total_p95`` (sum over years of
    the cost above the envelope), ``budget_shortfall_worst_year_median``.

    Then ``lost_<cause>_share`` for the five causes and the outcomes over time of
    :func:`sim.planning.outcomes.outcomes_over_time`.
    """
    values = paired_values(data, effect)
    common = values.replicates
    qoc_diff = paired_differences(values.qoc_final, baseline)
    effect_diff = paired_differences(values.effect, baseline)
    cost_diff = paired_differences(values.cost, baseline)
    rows = []
    for d in data:
        row = _qoc_row(d.name, values, qoc_diff, baseline)
        row.update(_economic_row(d.name, values, effect_diff, cost_diff, baseline, effect))
        row.update(_budget_row(d, common))
        row.update(_ledger_row(d, common))
        rows.append(row)
    table = pd.DataFrame(rows)
    frontier = efficiency_frontier(values.cost.mean(), values.effect.mean())
    table["frontier_status"] = table["scenario"].map(frontier["status"])
    table["frontier_by"] = table["scenario"].map(frontier["by"])
    table["same_as"] = table["scenario"].map(frontier["same_as"])
    table["dominated"] = table["frontier_status"] != FRONTIER
    table["frontier_next"] = table["scenario"].map(frontier["next_option"])
    table["icer_vs_next"] = table["scenario"].map(frontier["icer_vs_next"]).astype(float)
    benefit = net_benefit(values.effect, values.cost, wtp)
    table["wtp_per_point"] = float(wtp)
    table["nmb_mean"] = table["scenario"].map(benefit.mean())
    table["inmb_vs_baseline_mean"] = table["scenario"].map(
        paired_differences(benefit, baseline).mean()
    )
    chance = acceptability(values.effect, values.cost, [wtp]).set_index("scenario")
    table["p_most_cost_effective"] = table["scenario"].map(chance["probability"])
    best = best_option(values.effect.mean(), values.cost.mean(), wtp)
    table["best_buy"] = table["scenario"] == best
    over_time = outcomes_over_time(data, baseline, common)
    return table.join(over_time, on="scenario")


def _qoc_row(name: str, values: PairedValues, diff: pd.DataFrame, baseline: str) -> dict[str, Any]:
    final = values.qoc_final[name]
    delta = POINTS_PER_INDEX * diff[name]
    low_u, high_u = _unpaired_interval(
        final.to_numpy() * POINTS_PER_INDEX,
        values.qoc_final[baseline].to_numpy() * POINTS_PER_INDEX,
    )
    return {
        "scenario": name,
        "is_baseline": name == baseline,
        "replicates": len(values.replicates),
        "qoc_final_median": float(final.median()),
        "qoc_final_p05": float(final.quantile(INTERVAL[0])),
        "qoc_final_p95": float(final.quantile(INTERVAL[1])),
        "gain_final_points_median": float(delta.median()),
        "gain_final_points_mean": float(delta.mean()),
        "gain_final_points_p05": float(delta.quantile(INTERVAL[0])),
        "gain_final_points_p95": float(delta.quantile(INTERVAL[1])),
        "gain_final_unpaired_p05": low_u,
        "gain_final_unpaired_p95": high_u,
        "p_better_than_baseline": float((delta > 0).mean()),
    }


def _economic_row(
    name: str,
    values: PairedValues,
    effect_diff: pd.DataFrame,
    cost_diff: pd.DataFrame,
    baseline: str,
    effect: str,
) -> dict[str, Any]:
    cost = values.cost[name]
    gain_series = effect_diff[name]
    gain = float(gain_series.mean())
    extra = float(cost_diff[name].mean())
    is_baseline = name == baseline
    return {
        "effect_measure": EFFECTS[effect][1],
        "effect_points_mean": float(values.effect[name].mean()),
        "effect_gain_points_mean": gain,
        "effect_gain_points_p05": float(gain_series.quantile(INTERVAL[0])),
        "effect_gain_points_p95": float(gain_series.quantile(INTERVAL[1])),
        "p_effect_gain_positive": float((gain_series > 0).mean()),
        "cost_total_mean": float(cost.mean()),
        "cost_total_median": float(cost.median()),
        "cost_total_p05": float(cost.quantile(INTERVAL[0])),
        "cost_total_p95": float(cost.quantile(INTERVAL[1])),
        "cost_diff_vs_baseline_mean": extra,
        "reading_vs_baseline": "baseline" if is_baseline else reading(extra, gain),
        "icer_vs_baseline": extra / gain if gain > 0 and extra > 0 else float("nan"),
        "dominates_baseline": (not is_baseline) and gain > 0 and extra <= 0,
        "dominated_by_baseline": (not is_baseline) and gain <= 0 and extra >= 0,
    }


def _budget_row(d: ScenarioData, common: list[int]) -> dict[str, Any]:
    budget = d.scenario.costs.annual_budget
    years = budget_by_year(d.costs, budget)
    years = years[years["replicate"].isin(common)]
    per_replicate = years.groupby("replicate")
    shortfall = per_replicate["shortfall"].sum()
    return {
        "currency": d.scenario.costs.currency,
        "annual_budget": budget,
        "cost_per_year_median": float(per_replicate["cost"].mean().median()),
        "cost_peak_year_median": float(per_replicate["cost"].max().median()),
        "budget_breach_share": float((d.breaches.loc[common] > 0).mean()),
        "budget_breach_years_median": float(d.breaches.loc[common].median()),
        "budget_shortfall_total_median": float(shortfall.median()),
        "budget_shortfall_total_p95": float(shortfall.quantile(INTERVAL[1])),
        "budget_shortfall_worst_year_median": float(per_replicate["shortfall"].max().median()),
    }


def _ledger_row(d: ScenarioData, common: list[int]) -> dict[str, Any]:
    lost = d.summary.loc[common, [f"lost_{c}" for c in CAUSES]].astype(float).sum()
    total = float(lost.sum())
    return {
        f"lost_{cause}_share": float(lost[f"lost_{cause}"] / total) if total else 0.0
        for cause in CAUSES
    }


def budget_table(data: Sequence[ScenarioData], replicates: Sequence[int]) -> pd.DataFrame:
    """Undiscounted cost and shortfall per scenario and year, over the paired replicates.

    Returns:
        One row per (``scenario``, ``year``): ``cost_median``, ``cost_p05``,
        ``cost_p95``, ``annual_budget``, ``shortfall_median``, ``shortfall_mean`` (cost
        above the envelope) and ``breach_share`` (share of replicates over it).
    """
    frames = []
    for d in data:
        budget = d.scenario.costs.annual_budget
        years = budget_by_year(d.costs, budget)
        years = years[years["replicate"].isin(list(replicates))]
        by_year = years.groupby("year")
        frame = pd.DataFrame(
            {
                "cost_median": by_year["cost"].median(),
                "cost_p05": by_year["cost"].quantile(INTERVAL[0]),
                "cost_p95": by_year["cost"].quantile(INTERVAL[1]),
                "shortfall_median": by_year["shortfall"].median(),
                "shortfall_mean": by_year["shortfall"].mean(),
                "breach_share": by_year["shortfall"].apply(lambda s: float((s > 0).mean())),
            }
        ).reset_index()
        frame.insert(0, "scenario", d.name)
        frame.insert(5, "annual_budget", budget)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def acceptability_table(
    data: Sequence[ScenarioData],
    table: pd.DataFrame,
    *,
    wtp: float = DEFAULT_WTP_PER_POINT,
    effect: str = DEFAULT_EFFECT,
) -> pd.DataFrame:
    """The acceptability curve of a comparison (:func:`sim.planning.economics.acceptability`).

    The grid runs from 0 to past every ICER on the frontier and holds ``wtp``.
    """
    values = paired_values(data, effect)
    grid = wtp_grid(wtp, table["icer_vs_next"].dropna().tolist())
    return acceptability(values.effect, values.cost, grid.tolist())


# --------------------------------------------------------------------------- outputs
def read_comparison_data(comparison: Comparison) -> list[ScenarioData]:
    """Read every scenario's results of ``comparison`` from disk."""
    return [_read_scenario(entry) for entry in comparison.scenarios]


@dataclass
class ComparisonResults:
    """A comparison read back and analysed: every table its outputs are made from.

    Attributes:
        comparison: The inputs (scenarios, baseline, seed, replicates, economic reading).
        data: Every scenario's results, with its costs.
        table: One row per scenario (:func:`comparison_table`); ``comparison.csv``.
        costs: Cost per scenario, replicate, year and activity; ``costs.csv``.
        budget: Cost and shortfall per scenario and year (:func:`budget_table`);
            ``budget.csv``.
        acceptability: The acceptability curve (:func:`acceptability_table`);
            ``acceptability.csv``.
        loops: What the learning loops changed during the runs, per scenario
            (:func:`sim.planning.loop_changes.loop_changes`); ``loop_changes.csv``.
        files: The files written, by name (empty until written): each table by its own
            name (``comparison``, ``costs``, ...), each figure as ``<name>_figure``, and
            ``report``.
    """

    comparison: Comparison
    data: list[ScenarioData]
    table: pd.DataFrame
    costs: pd.DataFrame
    budget: pd.DataFrame
    acceptability: pd.DataFrame
    loops: pd.DataFrame
    files: dict[str, Path]

    @property
    def best(self) -> str:
        """The best buy: the scenario with the highest mean net benefit at the stated WTP."""
        return str(self.table.loc[self.table["best_buy"], "scenario"].iloc[0])


def analyse(
    folder: Path, *, wtp: float | None = None, effect: str | None = None
) -> ComparisonResults:
    """Read a comparison folder and compute every table of its outputs, writing nothing.

    Args:
        folder: A comparison folder, or a single results folder.
        wtp: Willingness to pay per QoC point; default: the one in ``comparison.json``.
        effect: The effect of the economic reading; default: the one there.

    Raises:
        ResultsError: ``folder`` is not a comparison or results folder, or a run in it
            did not finish.
        ScenarioError: ``wtp`` or ``effect`` is invalid.
    """
    comparison = load_comparison(folder)
    if wtp is not None or effect is not None:
        comparison = replace(
            comparison,
            wtp=float(comparison.wtp if wtp is None else wtp),
            effect=comparison.effect if effect is None else effect,
        )
    _check_reading(comparison.wtp, comparison.effect)
    data = read_comparison_data(comparison)
    table = comparison_table(
        data, comparison.baseline, wtp=comparison.wtp, effect=comparison.effect
    )
    costs = pd.concat([d.costs.assign(scenario=d.name) for d in data], ignore_index=True)[
        ["scenario", "replicate", "year", "activity", "units", "cost", "cost_discounted"]
    ]
    replicates = paired_values(data, comparison.effect).replicates
    return ComparisonResults(
        comparison=comparison,
        data=data,
        table=table,
        costs=costs,
        budget=budget_table(data, replicates),
        acceptability=acceptability_table(
            data, table, wtp=comparison.wtp, effect=comparison.effect
        ),
        loops=loop_changes(data, replicates),
        files={},
    )


def write_outputs(results: ComparisonResults) -> dict[str, Path]:
    """Write the tables, figures and ``report.html`` of ``results`` into its folder.

    Returns:
        The path of every file written, by name (also kept in ``results.files``).
    """
    from sim.planning.brief import write_report
    from sim.planning.figures import comparison_figures, figure_png

    folder = Path(results.comparison.folder)
    written: dict[str, Path] = {}
    tables = (
        ("comparison", results.table),
        ("costs", results.costs),
        ("budget", results.budget),
        ("acceptability", results.acceptability),
        ("loop_changes", results.loops),
    )
    for name, frame in tables:
        path = folder / f"{name}.csv"
        _write_csv(path, frame)
        written[name] = path
    figures = comparison_figures(results)
    images: dict[str, bytes] = {}
    for name, figure in figures.items():
        png = figure_png(figure)
        images[name] = png
        path = folder / "figures" / f"{name}.png"
        _write_bytes(path, png)
        written[f"{name}_figure"] = path
    written["report"] = write_report(results, images)
    results.files.update(written)
    return written


def build_outputs(
    folder: Path, *, wtp: float | None = None, effect: str | None = None
) -> dict[str, Path]:
    """Write every table, figure and ``report.html`` of a comparison folder.

    :func:`analyse`, then :func:`write_outputs`: ``comparison.csv``, ``costs.csv``,
    ``budget.csv``, ``acceptability.csv``, ``loop_changes.csv``, ``figures/`` and
    ``report.html``.

    Reads only results on disk, so it can be run again at any time.

    Returns:
        The path of every file written, by name.

    Raises:
        ResultsError: ``folder`` is not a comparison or results folder, or a run in it
            did not finish.
        ScenarioError: ``wtp`` or ``effect`` is invalid.
    """
    return write_outputs(analyse(folder, wtp=wtp, effect=effect))


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
