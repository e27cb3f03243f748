"""The brief's sections that describe the scenarios in words.

What each scenario changes relative to the baseline (every setting that differs, what
the learning loops changed during the runs and each change the yearly review made to the
system), how its learning moved (by the WHO report's means and level), and the
assumptions: how the options are weighed, each scenario's own description, the unit
costs and what the model is. :mod:`sim.planning.brief` puts them in the decision brief.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.metrics.costs import COST_ITEMS
from sim.metrics.learning_means import LEVELS, MEANS, means_table
from sim.model.schema import Costs
from sim.planning.html import esc, html_table, money, number, percent
from sim.planning.loop_changes import describe_loop_changes, system_changes

if TYPE_CHECKING:
    from sim.planning.comparison import ScenarioData

__all__ = ["assumptions_section", "changes_section", "means_section", "scenario_changes"]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}{index}."))
        return out
    return {prefix.rstrip("."): value}


_IGNORED = ("name", "description", "seed", "replicates")


def scenario_changes(baseline: dict[str, Any], other: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Keys whose values differ between two resolved scenarios: (key, baseline, other).

    Names, descriptions, seeds and default replicate counts are not levers and are left out.

    Examples:
        >>> scenario_changes({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}})
        [('a.c', 2, 3)]
    """
    left, right = _flatten(baseline), _flatten(other)
    changes = []
    for key in sorted(set(left) | set(right)):
        if key.rsplit(".", 1)[-1] in _IGNORED:
            continue
        if left.get(key) != right.get(key):
            changes.append((key, left.get(key), right.get(key)))
    return changes


def changes_section(data: Sequence[ScenarioData], baseline: str, loops: pd.DataFrame) -> str:
    """What each scenario changes against the baseline, and what the loops changed."""
    base = next(d for d in data if d.name == baseline)
    base_doc = base.scenario.model_dump(mode="json")
    by_name = loops.set_index("scenario")
    parts = [
        "<h2>What each scenario changes, and what the loops changed</h2>",
        "<p>Every setting whose value differs from the baseline's, then what the learning "
        "loops changed while the runs went on (first month against last, replicate by "
        "replicate), and each change the yearly review (triple loop) made to the system, "
        "in words, with how often it happened. Every decision and its reason is in the "
        "scenario's <code>decisions.csv</code>.</p>",
    ]
    for d in data:
        parts.append(f"<h3>{esc(d.name)}{' (baseline)' if d.name == baseline else ''}</h3>")
        if d.name != baseline:
            changes = scenario_changes(base_doc, d.scenario.model_dump(mode="json"))
            if changes:
                rows = [[esc(k), esc(a), esc(b)] for k, a, b in changes]
                parts.append(html_table(["setting", baseline, d.name], rows, text_columns=3))
            else:
                parts.append("<p>No setting differs from the baseline.</p>")
        row = by_name.loc[d.name] if d.name in by_name.index else None
        if isinstance(row, pd.Series):
            text = describe_loop_changes(row)
            parts.append(f"<p><i>During the runs.</i> {esc(text)}</p>")
        changes_made = system_changes(d.decisions, len(d.summary))
        if not changes_made.empty:
            top = changes_made.head(8)
            rows = [
                [esc(decision), f"{count} ({percent(share)})", number(month, 0)]
                for decision, count, share, month in zip(
                    top["decision"],
                    top["replicates"],
                    top["share"].astype(float),
                    top["first_month_median"].astype(float),
                    strict=True,
                )
            ]
            parts.append(
                html_table(
                    ["the system changed", "replicates", "first month (median)"],
                    rows,
                    text_columns=1,
                )
            )
    return "".join(parts)


def assumptions_section(data: Sequence[ScenarioData], table: pd.DataFrame) -> str:
    """How the options are weighed, the scenarios in their own words, unit costs, the model."""
    wtp = money(table["wtp_per_point"].iloc[0])
    currency = esc(table["currency"].iloc[0])
    parts = [
        "<h2>Assumptions</h2>",
        "<h3>How the options are weighed</h3>",
        f"<p>Effect: the {esc(table['effect_measure'].iloc[0])}, in QoC points. "
        f"Willingness to pay: {wtp} {currency} per QoC point; like the default unit costs it "
        "is illustrative: state your own with <code>lhsim report FOLDER --wtp AMOUNT</code> "
        "(the acceptability curve shows how the best buy changes with it).</p>",
        "<h3>Scenarios, in their own words</h3>",
    ]
    for d in data:
        text = d.scenario.description.strip() or "(no description given)"
        parts.append(f"<p><b>{esc(d.name)}.</b> {esc(text)}</p>")
    costs = data[0].scenario.costs
    rows = []
    for item in COST_ITEMS:
        field = Costs.model_fields[item.name]
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        prices = {number(getattr(d.scenario.costs, item.name), 2) for d in data}
        rows.append(
            [
                esc(item.label),
                " / ".join(sorted(prices)),
                esc(extra.get("unit", "")),
                esc(extra.get("source", "")),
            ]
        )
    parts.append("<h3>Unit costs</h3>")
    parts.append(
        f"<p>Currency {esc(costs.currency)}; discount rate "
        f"{costs.discount_rate:.1%} a year (costs in year y, from 0, divided by (1 + r)^y). "
        "Costs are counted from the monthly activity recorded in each run.</p>"
    )
    parts.append(html_table(["activity", "unit cost", "per", "source"], rows, text_columns=4))
    parts.append(
        "<h3>The model</h3><p>An agent-based model of how quality-of-care practices are "
        "discovered, tested, shared, scaled and lost (see <code>docs/model.md</code>). Every "
        "number rests on the scenario's parameters; most defaults are assumptions chosen "
        "as plausible, not estimates from data. Read differences between scenarios, not "
        "absolute levels.</p>"
    )
    return "".join(parts)


def means_section(data: Sequence[ScenarioData]) -> str:
    """How each scenario's learning moved: practices and lessons by means and level."""
    rows = []
    for d in data:
        practices = means_table(d.summary, "practices")
        lessons = means_table(d.summary, "lessons")
        for means in MEANS:
            cells = [
                f"{number(practices.loc[means, level], 0)} / {number(lessons.loc[means, level], 0)}"
                for level in LEVELS
            ]
            rows.append([esc(d.name), esc(means), *cells])
    return (
        "<h2>How learning moved</h2><p>By the WHO report's means of learning (information, "
        "deliberation, action) and the level where it happened: practices first reached / "
        "lessons made or passed on, medians over replicates, totals over the run. Which flow "
        "counts as which means is an assumption stated in the model description "
        "(<code>sim/metrics/learning_means.py</code>).</p>"
        + html_table(["scenario", "means", *LEVELS], rows, text_columns=2)
    )
