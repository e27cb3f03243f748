"""The decision brief: one self-contained HTML file a planner can open offline.

Built from results on disk (:mod:`sim.planning.compare`), never from a live model: the
comparison table, the figures (embedded as base64 PNG data URIs; no external CSS,
scripts or fonts), what each scenario changes relative to the baseline, the
assumptions, and the key questions of the framework's Table 3 (internal, horizontal
and vertical learning at facility, district and national level), each answered with
flows counted in the simulation.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.metrics.costs import COST_ITEMS
from sim.model.schema import Costs
from sim.planning.loop_changes import describe_loop_changes
from sim.reporting.plots import LOSS_CAUSES
from sim.runs.results import atomic_write

if TYPE_CHECKING:
    from sim.planning.compare import Comparison, ComparisonResults, ScenarioData

__all__ = [
    "KEY_QUESTIONS",
    "KeyQuestion",
    "bottom_line",
    "render_report",
    "scenario_changes",
    "write_report",
]

REPORT_FILE = "report.html"

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:72em;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
td.text,th.text{text-align:left}
tr.baseline{background:#f2f2f2}
img{max-width:100%;height:auto;border:1px solid #eee}
.note{color:#555;font-size:.9em}
.bottomline{font-size:1.25em;border-left:.35em solid #1f5fa8;background:#eef4fb;
padding:.6em .9em;margin:1em 0}
.caption{font-size:.9em;color:#333;margin-bottom:.2em}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}
img{max-width:100%;page-break-inside:avoid;border:none}
h2,h3,.caption{page-break-after:avoid}tr{page-break-inside:avoid}
.bottomline{background:none}}
"""


@dataclass(frozen=True)
class KeyQuestion:
    """One key question of the framework's Table 3 and how the simulation answers it.

    Attributes:
        level: ``facility``, ``district`` or ``national``.
        kind: ``internal``, ``horizontal`` or ``vertical`` learning.
        question: The question, in the framework's words.
        measure: What the number shown counts.
        value: Computes the number for one replicate's summary row.
    """

    level: str
    kind: str
    question: str
    measure: str
    value: Callable[[pd.DataFrame], pd.Series]


def _col(*names: str) -> Callable[[pd.DataFrame], pd.Series]:
    def total(summary: pd.DataFrame) -> pd.Series:
        present = [n for n in names if n in summary.columns]
        return summary[present].astype(float).sum(axis=1) if present else summary.iloc[:, 0] * 0

    return total


def _qoc_gain(summary: pd.DataFrame) -> pd.Series:
    return (summary["qoc_final"] - summary["qoc_initial"]) * 100.0


#: The framework's key questions (Table 3), answered from the simulated flows.
KEY_QUESTIONS: tuple[KeyQuestion, ...] = (
    KeyQuestion(
        "facility",
        "internal",
        "What activities did we conduct?",
        "trials of practices started by facilities",
        _col("trials_started_total"),
    ),
    KeyQuestion(
        "facility",
        "internal",
        "How did we conduct them?",
        "trials started on the facility's own initiative (QI-team innovation)",
        _col("innovations_total"),
    ),
    KeyQuestion(
        "facility",
        "internal",
        "What was the effect on patient care?",
        "change in QoC from month 1 to the end (points)",
        _qoc_gain,
    ),
    KeyQuestion(
        "facility",
        "horizontal",
        "What did other facilities do to improve care?",
        "practices that first reached a facility from other facilities (peer contact, "
        "sessions, messaging, exchange visits)",
        _col(
            "reached_by_peer_network",
            "reached_by_learning_sessions",
            "reached_by_messaging_group",
            "reached_by_exchange_visits",
        ),
    ),
    KeyQuestion(
        "facility",
        "horizontal",
        "What did other facilities find does not work?",
        "trials of practices already known elsewhere to fail (duplication waste; lower is better)",
        _col("duplication_waste"),
    ),
    KeyQuestion(
        "facility",
        "vertical",
        "How effective was the guidance and support from the district?",
        "practices that first reached a facility through district coaching",
        _col("reached_by_coaching"),
    ),
    KeyQuestion(
        "facility",
        "vertical",
        "What other guidance and support is required from the district?",
        "implementations that failed for want of a how-to story",
        _col("implementation_failures_no_story_total"),
    ),
    KeyQuestion(
        "district",
        "internal",
        "What support did we provide to facilities, and with what activities?",
        "facility attendances at learning sessions + coaching visits + messaging-group months",
        _col("session_attendees_total", "coaching_visits_total", "group_months_total"),
    ),
    KeyQuestion(
        "district",
        "internal",
        "How did these activities change provider behaviour and patient care?",
        "double-loop reviews that moved effort towards the support that worked",
        _col("double_loop_shifts_total"),
    ),
    KeyQuestion(
        "district",
        "horizontal",
        "What did other districts do to support facilities to improve care?",
        "district-to-district exchanges held",
        _col("district_meetings_total"),
    ),
    KeyQuestion(
        "district",
        "vertical",
        "How effective was the guidance and support from the national level?",
        "practices that first reached a facility through national guidance",
        _col("reached_by_guidance"),
    ),
    KeyQuestion(
        "district",
        "vertical",
        "What other guidance and support is required from the national level?",
        "lessons lost in the national queue (bottleneck) or to national blame",
        _col("lost_bottleneck", "lost_blame"),
    ),
    KeyQuestion(
        "national",
        "internal",
        "What support did we provide to districts and facilities?",
        "guidance items issued",
        _col("guidance_issued_total"),
    ),
    KeyQuestion(
        "national",
        "internal",
        "How did these activities change district or provider behaviour and patient care?",
        "guidance withdrawn after failing in implementation (double loop)",
        _col("guidance_withdrawn_total"),
    ),
    KeyQuestion(
        "national",
        "horizontal",
        "What did other countries do to support districts and facilities?",
        "guidance exchanges with linked countries",
        _col("global_exchanges_total"),
    ),
    KeyQuestion(
        "national",
        "vertical",
        "What learning reached the national level?",
        "lesson reports processed by the national body and learning centres",
        _col("national_items_processed_total", "centre_items_processed_total"),
    ),
)

_CAPTIONS = {
    "frontier": "The efficiency frontier. Each option at its mean effect and mean "
    "discounted cost; the line joins the options on the frontier (its slope is the extra "
    "cost per extra point); grey options are dominated.",
    "acceptability": "The acceptability curve: for each willingness to pay per QoC "
    "point, the share of replicates in which the option has the highest net benefit. "
    "The dashed line is the stated willingness to pay.",
    "qoc_over_time": "Quality of care over time. Lines: median of replicates; bands: 5 % "
    "to 95 % of replicates.",
    "cost_effect": "The cost-effect plane. Each large dot is a scenario's mean paired "
    "gain in final QoC and extra cost against the baseline; small dots are single "
    "replicates. Right and down is better and cheaper.",
    "loss_ledger": "The loss ledger: why lessons learned in facilities were lost, as a "
    "share of all lessons lost.",
}

_LEVELS = {
    "facility": "Facility level",
    "district": "District level",
    "national": "National level",
}


# --------------------------------------------------------------------------- pieces
def _esc(value: Any) -> str:
    return html.escape(str(value))


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return _esc(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    def cell(tag: str, index: int, content: str) -> str:
        kind = ' class="text"' if index < text_columns else ""
        return f"<{tag}{kind}>{content}</{tag}>"

    head = "".join(cell("th", i, _esc(h)) for i, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img alt="{_esc(alt)}" src="data:image/png;base64,{data}"></p>'


# --------------------------------------------------------------------------- sections
def _money(value: Any) -> str:
    """A sum of money: whole units with thousands separators, '-' when absent."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):,.0f}"


def _status(r: pd.Series) -> str:
    status = str(r["frontier_status"])
    by = r["frontier_by"] if isinstance(r["frontier_by"], str) else ""
    if status == "strongly dominated" and by:
        return f"strongly dominated by {_esc(by)}"
    if status == "extendedly dominated" and by:
        return f"extendedly dominated (a mix of {_esc(by)} does better)"
    return _esc(status)


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def bottom_line(table: pd.DataFrame, baseline: str) -> str:
    """The brief's first sentence: which option, at what cost per QoC point, how sure.

    Plain text, read from the comparison table alone (:func:`comparison_table`).
    """
    rows = table.set_index("scenario", drop=False)
    best = rows[rows["best_buy"]].iloc[0]
    name = str(best["scenario"])
    currency = str(best["currency"])
    wtp = _money(best["wtp_per_point"])
    measure = str(best["effect_measure"])
    same = table.loc[table["same_as"].fillna("") == name, "scenario"].astype(str).tolist()
    twins = f" ({', '.join(same)} give the same results)" if same else ""
    replicates = int(best["replicates"])
    sure = (
        f"it is the best buy in {_percent(best['p_most_cost_effective'])} of {replicates} "
        "paired replicates"
    )
    start = f"At {wtp} {currency} per QoC point, "
    if name == baseline or best["same_as"] == baseline:
        step = rows[(rows["frontier_next"] == name) & rows["icer_vs_next"].notna()]
        nearest = (
            f"; the next step up, {step['scenario'].iloc[0]}, would cost "
            f"{_money(step['icer_vs_next'].iloc[0])} {currency} per point"
            if len(step)
            else ""
        )
        return (
            f"{start}keep {name}{twins}: no option adds enough QoC ({measure}) for its "
            f"cost{nearest}; {sure}."
        )
    gain = float(best["effect_gain_points_mean"])
    extra = float(best["cost_diff_vs_baseline_mean"])
    better = f"it does better than {baseline} in {_percent(best['p_effect_gain_positive'])}"
    if gain > 0 and extra <= 0:
        what = (
            f"it is cheaper and better than {baseline}: {gain:.1f} QoC points more ({measure}) "
            f"for {_money(-extra)} {currency} less"
        )
    elif gain > 0:
        what = (
            f"it adds {gain:.1f} QoC points ({measure}) over {baseline} for "
            f"{_money(extra)} {currency} more"
        )
        nxt = best["frontier_next"] if isinstance(best["frontier_next"], str) else ""
        if nxt and not pd.isna(best["icer_vs_next"]):
            what += (
                f", {_money(best['icer_vs_next'])} {currency} per point against {nxt}, the "
                "next cheaper option on the frontier"
            )
    else:
        what = (
            f"it saves {_money(-extra)} {currency} against {baseline} for "
            f"{-gain:.1f} QoC points fewer ({measure}), less than the points are worth"
        )
    return f"{start}{name}{twins} is the best buy: {what}; {sure}, and {better}."


def _bottom_line_section(table: pd.DataFrame, baseline: str, images: dict[str, bytes]) -> str:
    parts = [f"<p class='bottomline'>{_esc(bottom_line(table, baseline))}</p>"]
    if "frontier" in images:
        parts.append(
            f"<p class='caption'>{_esc(_CAPTIONS['frontier'])}</p>"
            + _image(images["frontier"], "frontier")
        )
    return "".join(parts)


def _summary_section(table: pd.DataFrame, comparison: Comparison) -> str:
    currency = _esc(table["currency"].iloc[0])
    measure = _esc(table["effect_measure"].iloc[0])
    wtp = float(table["wtp_per_point"].iloc[0])
    header = [
        "scenario",
        f"effect: {measure} (points)",
        "gain vs baseline (points)",
        "paired 90 % interval",
        f"cost ({currency}, discounted)",
        "vs baseline",
        f"{currency} per point vs baseline",
        "on the frontier?",
        f"{currency} per point vs next option on the frontier",
        f"net benefit over {_esc(comparison.baseline)} at {_money(wtp)} per point ({currency})",
        "P(best buy)",
    ]
    rows = []
    for _, r in table.iterrows():
        name = _esc(r["scenario"]) + (" (baseline)" if r["is_baseline"] else "")
        if r["same_as"]:
            name += f" (same results as {_esc(r['same_as'])})"
        next_option = r["frontier_next"] if isinstance(r["frontier_next"], str) else ""
        icer_next = (
            f"{_money(r['icer_vs_next'])} vs {_esc(next_option)}"
            if next_option and not pd.isna(r["icer_vs_next"])
            else "-"
        )
        rows.append(
            [
                name + (" <b>best buy</b>" if r["best_buy"] else ""),
                _number(r["effect_points_mean"], 2),
                _number(r["effect_gain_points_mean"], 2),
                f"{_number(r['effect_gain_points_p05'], 2)} to "
                f"{_number(r['effect_gain_points_p95'], 2)}",
                _money(r["cost_total_mean"]),
                _esc(r["reading_vs_baseline"]),
                _money(r["icer_vs_baseline"]),
                _status(r),
                icer_next,
                _money(r["inmb_vs_baseline_mean"]),
                _number(r["p_most_cost_effective"], 2),
            ]
        )
    return (
        "<h2>What each scenario buys</h2>"
        f"<p>{len(table)} scenarios, {int(table['replicates'].iloc[0])} replicates each, "
        f"baseline <b>{_esc(comparison.baseline)}</b>, root seed {comparison.seed}. Replicate "
        "r of every scenario shares its random numbers (common random numbers), so a gain is "
        f"measured replicate by replicate. The effect is the {measure}, in QoC points (QoC is "
        "an index from 0 to 1; a point is 0.01). Costs and effects are means over "
        "replicates; costs are discounted. A cost per point is given only where an option "
        "costs more and does better; otherwise the comparison is said in words. An option "
        "is strongly dominated when another costs no more and does no worse, extendedly "
        "dominated when a mix of two frontier options would do better for the money; the "
        "frontier is what is left, and each frontier option's cost per point is against "
        "the next cheaper frontier option. Net benefit over the baseline: willingness to pay "
        "per point times the gain, minus the extra cost (the best buy has the highest). "
        "P(best buy): share of replicates in which the option "
        "has the highest net benefit.</p>"
        + _table(header, rows)
        + "<p class='note'>Everything here, in the same units, is in <code>comparison.csv"
        "</code>; costs by scenario, replicate, year and activity are in <code>costs.csv"
        "</code>, costs and shortfalls by year in <code>budget.csv</code>, the "
        "acceptability curve in <code>acceptability.csv</code>.</p>"
    )


def _final_section(table: pd.DataFrame) -> str:
    header = [
        "scenario",
        "final QoC, median",
        "90 % of replicates",
        "gain in final QoC vs baseline, median (points)",
        "paired 90 % interval",
        "P(final QoC better than baseline)",
    ]
    rows = [
        [
            _esc(r["scenario"]) + (" (baseline)" if r["is_baseline"] else ""),
            _number(r["qoc_final_median"]),
            f"{_number(r['qoc_final_p05'])} to {_number(r['qoc_final_p95'])}",
            _number(r["gain_final_points_median"], 2),
            f"{_number(r['gain_final_points_p05'], 2)} to {_number(r['gain_final_points_p95'], 2)}",
            _number(r["p_better_than_baseline"], 2),
        ]
        for _, r in table.iterrows()
    ]
    return (
        "<h2>Quality of care in the last month</h2><p>QoC index (0-1) in the last month "
        "and its gain over the baseline in points, paired replicate by replicate.</p>"
        + _table(header, rows)
    )


def _budget_section(table: pd.DataFrame, budget: pd.DataFrame) -> str:
    currency = _esc(table["currency"].iloc[0])
    years = sorted(budget["year"].unique())
    header = [
        "scenario",
        f"annual budget ({currency})",
        *(f"year {int(y) + 1}" for y in years),
        "years over budget, median",
        f"shortfall over the run ({currency}), median",
        "90 % of replicates up to",
    ]
    rows = []
    for _, r in table.iterrows():
        own = budget[budget["scenario"] == r["scenario"]].set_index("year")
        has_budget = r["annual_budget"] is not None and not pd.isna(r["annual_budget"])
        cells = []
        for y in years:
            cost = _money(own.loc[y, "cost_median"]) if y in own.index else "-"
            short = float(own.loc[y, "shortfall_median"]) if y in own.index else 0.0
            cells.append(cost + (f" (over by {_money(short)})" if short > 0 else ""))
        rows.append(
            [
                _esc(r["scenario"]),
                _money(r["annual_budget"]) if has_budget else "none set",
                *cells,
                _number(r["budget_breach_years_median"], 1) if has_budget else "-",
                _money(r["budget_shortfall_total_median"]) if has_budget else "-",
                _money(r["budget_shortfall_total_p95"]) if has_budget else "-",
            ]
        )
    return (
        "<h2>Budget, year by year</h2>"
        f"<p>Median undiscounted cost in each year of the run ({currency}), as it would be "
        "spent, against the scenario's annual envelope (<code>costs.annual_budget</code>); "
        "where the median year is over the envelope, by how much. The shortfall over the "
        "run is the sum of every year's cost above the envelope (median over replicates, "
        "and the amount 95 % of replicates stay within).</p>" + _table(header, rows)
    )


def _over_time_section(table: pd.DataFrame) -> str:
    header = [
        "scenario",
        "mean QoC over the run, median",
        "QoC point-months gained vs baseline, mean",
        "paired 90 % interval",
        "months to 50 % coverage",
        "months to 80 % coverage",
        "effective practices reaching 80 %",
        "ineffective practices in use per facility",
        "harmful practices in use per facility",
        "duplicated trials",
        "share of peak QoC kept",
    ]

    def months(value: Any) -> str:
        return "not reached" if pd.isna(value) else _number(value, 0)

    rows = []
    for _, r in table.iterrows():
        name = _esc(r["scenario"]) + (" (baseline)" if r["is_baseline"] else "")
        rows.append(
            [
                name,
                _number(r["qoc_mean_median"]),
                _number(r["qoc_point_months_gained_mean"], 0),
                f"{_number(r['qoc_point_months_gained_p05'], 0)} to "
                f"{_number(r['qoc_point_months_gained_p95'], 0)}",
                months(r["months_to_50_median"]),
                months(r["months_to_80_median"]),
                _number(r["practices_reaching_80_share_median"], 2),
                _number(r["ineffective_in_use_per_facility"], 2),
                _number(r["harmful_in_use_per_facility"], 2),
                _number(r["duplicated_trials_median"], 0),
                _number(r["qoc_kept_share_median"], 2),
            ]
        )
    windows = sorted(set(table["sustainment_window"]))
    return (
        "<h2>Outcomes over time</h2>"
        "<p>The final month hides how soon and how steadily care improved. QoC point-months "
        "gained: the area between the scenario's and the baseline's QoC curves, replicate by "
        "replicate (one point for one month is 1; 5 points for 12 months is 60). Months to "
        "50 % (80 %) coverage: the month by which the median effective practice is in use "
        'at half (four fifths) of facilities; "not reached" when it is not within the run. '
        "Ineffective and harmful practices in use per facility: averaged over the months of "
        "the run. Duplicated trials: trials of a practice already known elsewhere to fail. "
        "Share of peak QoC kept (sustainment): "
        + _esc("; ".join(windows))
        + ". Medians over replicates unless said.</p>"
        + _table(header, rows)
    )


def _figures_section(images: dict[str, bytes]) -> str:
    parts = ["<h2>More figures</h2>"]
    for name, png in images.items():
        if name == "frontier":
            continue
        parts.append(f"<p class='caption'>{_esc(_CAPTIONS.get(name, name))}</p>")
        parts.append(_image(png, name))
    return "".join(parts)


def _changes_section(data: Sequence[ScenarioData], baseline: str, loops: pd.DataFrame) -> str:
    base = next(d for d in data if d.name == baseline)
    base_doc = base.scenario.model_dump(mode="json")
    by_name = loops.set_index("scenario")
    parts = [
        "<h2>What each scenario changes, and what the loops changed</h2>",
        "<p>Every setting whose value differs from the baseline's, then what the learning "
        "loops changed while the runs went on (first month against last, replicate by "
        "replicate; the organisations' reasons are not kept in the results).</p>",
    ]
    for d in data:
        parts.append(f"<h3>{_esc(d.name)}{' (baseline)' if d.name == baseline else ''}</h3>")
        if d.name != baseline:
            changes = scenario_changes(base_doc, d.scenario.model_dump(mode="json"))
            if changes:
                rows = [[_esc(k), _esc(a), _esc(b)] for k, a, b in changes]
                parts.append(_table(["setting", baseline, d.name], rows, text_columns=3))
            else:
                parts.append("<p>No setting differs from the baseline.</p>")
        row = by_name.loc[d.name] if d.name in by_name.index else None
        if isinstance(row, pd.Series):
            text = describe_loop_changes(row)
            parts.append(f"<p><i>During the runs.</i> {_esc(text)}</p>")
    return "".join(parts)


def _assumptions_section(data: Sequence[ScenarioData], table: pd.DataFrame) -> str:
    wtp = _money(table["wtp_per_point"].iloc[0])
    currency = _esc(table["currency"].iloc[0])
    parts = [
        "<h2>Assumptions</h2>",
        "<h3>How the options are weighed</h3>",
        f"<p>Effect: the {_esc(table['effect_measure'].iloc[0])}, in QoC points. "
        f"Willingness to pay: {wtp} {currency} per QoC point; like the default unit costs it "
        "is illustrative: state your own with <code>lhsim report FOLDER --wtp AMOUNT</code> "
        "(the acceptability curve shows how the best buy changes with it).</p>",
        "<h3>Scenarios, in their own words</h3>",
    ]
    for d in data:
        text = d.scenario.description.strip() or "(no description given)"
        parts.append(f"<p><b>{_esc(d.name)}.</b> {_esc(text)}</p>")
    costs = data[0].scenario.costs
    rows = []
    for item in COST_ITEMS:
        field = Costs.model_fields[item.name]
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        prices = {_number(getattr(d.scenario.costs, item.name), 2) for d in data}
        rows.append(
            [
                _esc(item.label),
                " / ".join(sorted(prices)),
                _esc(extra.get("unit", "")),
                _esc(extra.get("source", "")),
            ]
        )
    parts.append("<h3>Unit costs</h3>")
    parts.append(
        f"<p>Currency {_esc(costs.currency)}; discount rate "
        f"{costs.discount_rate:.1%} a year (costs in year y, from 0, divided by (1 + r)^y). "
        "Costs are counted from the monthly activity recorded in each run.</p>"
    )
    parts.append(_table(["activity", "unit cost", "per", "source"], rows, text_columns=4))
    parts.append(
        "<h3>The model</h3><p>An agent-based model of how quality-of-care practices are "
        "discovered, tested, shared, scaled and lost (see <code>docs/model.md</code>). Every "
        "number rests on the scenario's parameters; most defaults are assumptions chosen "
        "as plausible, not estimates from data. Read differences between scenarios, not "
        "absolute levels.</p>"
    )
    return "".join(parts)


def _questions_section(data: Sequence[ScenarioData]) -> str:
    parts = [
        "<h2>Key questions at each level of the health system</h2>",
        "<p>The framework's key questions for learning about quality of care (its Table 3: "
        "internal, horizontal and vertical learning), each answered by a flow counted in the "
        "simulation. Numbers are medians over replicates, totals over the whole run.</p>",
    ]
    names = [d.name for d in data]
    for level, title in _LEVELS.items():
        rows = []
        for q in (q for q in KEY_QUESTIONS if q.level == level):
            values = [_number(float(q.value(d.summary).median()), 1) for d in data]
            rows.append([_esc(q.kind), _esc(q.question), _esc(q.measure), *values])
        parts.append(f"<h3>{_esc(title)}</h3>")
        parts.append(_table(["learning", "question", "answered by", *names], rows, text_columns=3))
    return "".join(parts)


def _ledger_section(table: pd.DataFrame) -> str:
    header = ["scenario", *LOSS_CAUSES.values()]
    rows = [
        [_esc(r["scenario"]), *(_number(r[f"{c}_share"], 2) for c in LOSS_CAUSES)]
        for _, r in table.iterrows()
    ]
    return (
        "<h2>Where learning was lost</h2><p>Share of all lessons lost, by cause (every lesson "
        "lost is counted once, under one cause).</p>" + _table(header, rows)
    )


# --------------------------------------------------------------------------- whole
def render_report(results: ComparisonResults, images: dict[str, bytes]) -> str:
    """The decision brief as one HTML document (nothing in it is fetched from elsewhere)."""
    comparison, data, table = results.comparison, results.data, results.table
    title = f"Decision brief: {len(data)} scenarios against {comparison.baseline}"
    body = "".join(
        [
            f"<h1>{_esc(title)}</h1>",
            "<p class='note'>Built by lhsim from the results in this folder; rebuild it with "
            "<code>lhsim report FOLDER</code>.</p>",
            _bottom_line_section(table, comparison.baseline, images),
            _summary_section(table, comparison),
            _over_time_section(table),
            _budget_section(table, results.budget),
            _changes_section(data, comparison.baseline, results.loops),
            _final_section(table),
            _figures_section(images),
            _ledger_section(table),
            _questions_section(data),
            _assumptions_section(data, table),
        ]
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write_report(results: ComparisonResults, images: dict[str, bytes]) -> Path:
    """Write ``report.html`` into the comparison folder and return its path."""
    text = render_report(results, images)
    path = Path(results.comparison.folder) / REPORT_FILE
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
