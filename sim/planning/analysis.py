"""A comparison analysed: its tables, figures and brief, from the results on disk.

:func:`analyse` reads a comparison folder and returns every table as DataFrames
(:class:`ComparisonResults`); :func:`write_outputs` writes them with the figures and the
decision brief; :func:`build_outputs` (``lhsim report``) does both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from sim.model.ledger import CAUSES
from sim.planning.comparison import (
    INTERVAL,
    POINTS_PER_INDEX,
    Comparison,
    PairedValues,
    ScenarioData,
    check_reading,
    load_comparison,
    paired_differences,
    paired_values,
    read_comparison_data,
    unpaired_interval,
)
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
from sim.planning.key_effects import KEY_EFFECTS_FILE, key_effects_table
from sim.planning.loop_changes import loop_changes
from sim.planning.outcomes import outcomes_over_time
from sim.planning.uncertainty import SAMPLES_FILE, value_of_information
from sim.reporting.plots import SUPPORT_NOT_GIVEN
from sim.runs.folders import FolderLock
from sim.runs.results import atomic_write

__all__ = [
    "acceptability_table",
    "analyse",
    "budget_table",
    "build_outputs",
    "comparison_table",
    "write_outputs",
    "ComparisonResults",
]


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

    Then ``lost_<cause>_share`` for the five causes, ``support_not_given_median``
    (requests for support not given per run, beside the ledger; NaN for results without
    the column) and the outcomes over time of
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
    low_u, high_u = unpaired_interval(
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
    row: dict[str, Any] = {
        f"lost_{cause}_share": float(lost[f"lost_{cause}"] / total) if total else 0.0
        for cause in CAUSES
    }
    unanswered = d.summary.get(SUPPORT_NOT_GIVEN)
    row["support_not_given_median"] = (
        float("nan") if unanswered is None else float(unanswered.loc[common].astype(float).median())
    )
    return row


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
        information: With parameter uncertainty: one row per uncertain parameter and its
            rank correlation with the best buy's margin (``value_of_information.csv``);
            else empty.
        evpi: With parameter uncertainty: the expected value of perfect information per
            replicate (:func:`sim.planning.uncertainty.value_of_information`); else None.
        key_effects: With ``--key-effects``: the paired effect of each key question's
            channel (:func:`sim.planning.key_effects.key_effects_table`); else None.
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
    information: pd.DataFrame = field(default_factory=pd.DataFrame)
    evpi: float | None = None
    key_effects: pd.DataFrame | None = None

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
    check_reading(comparison.wtp, comparison.effect)
    data = read_comparison_data(comparison)
    table = comparison_table(
        data, comparison.baseline, wtp=comparison.wtp, effect=comparison.effect
    )
    costs = pd.concat([d.costs.assign(scenario=d.name) for d in data], ignore_index=True)[
        ["scenario", "replicate", "year", "activity", "units", "cost", "cost_discounted"]
    ]
    values = paired_values(data, comparison.effect)
    replicates = values.replicates
    information, evpi = _information(comparison, data, values, table)
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
        information=information,
        evpi=evpi,
        key_effects=key_effects_table(comparison, data),
    )


def _information(
    comparison: Comparison,
    data: Sequence[ScenarioData],
    values: PairedValues,
    table: pd.DataFrame,
) -> tuple[pd.DataFrame, float | None]:
    """Value of information, where the comparison drew uncertain parameters."""
    samples = Path(comparison.folder) / SAMPLES_FILE
    baseline = next(d for d in data if d.name == comparison.baseline)
    if not samples.is_file() or "posterior_row" not in baseline.summary:
        return pd.DataFrame(columns=["parameter", "spearman"]), None
    rows = baseline.summary.loc[values.replicates, "posterior_row"].astype(int)
    draws = pd.read_csv(samples).iloc[rows.to_numpy()].set_index(rows.index)
    benefit = net_benefit(values.effect, values.cost, comparison.wtp)
    best = str(table.loc[table["best_buy"], "scenario"].iloc[0])
    evpi, information = value_of_information(benefit, draws, best)
    return information, evpi


def write_outputs(results: ComparisonResults) -> dict[str, Path]:
    """Write the tables, figures and ``report.html`` of ``results`` into its folder.

    Returns:
        The path of every file written, by name (also kept in ``results.files``).

    Raises:
        sim.runs.folders.FolderLockedError: Another command is writing into the folder.
    """
    from sim.planning.brief import write_report
    from sim.planning.figures import comparison_figures, figure_png

    folder = Path(results.comparison.folder)
    with FolderLock(folder):  # one writer of the outputs at a time
        written: dict[str, Path] = {}
        tables: list[tuple[str, pd.DataFrame]] = [
            ("comparison", results.table),
            ("costs", results.costs),
            ("budget", results.budget),
            ("acceptability", results.acceptability),
            ("loop_changes", results.loops),
        ]
        if results.evpi is not None:
            tables.append(("value_of_information", results.information))
        if results.key_effects is not None:
            tables.append((KEY_EFFECTS_FILE.removesuffix(".csv"), results.key_effects))
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
