"""The decision brief: one self-contained HTML file a planner can open offline.

Built from results on disk (:mod:`sim.planning.analysis`), never from a live model: the
comparison table, the figures (embedded as base64 PNG data URIs; no external CSS,
scripts or fonts), what each scenario changes relative to the baseline, the
assumptions, and the key questions of the framework's Table 3 (internal, horizontal
and vertical learning at facility, district and national level), each answered with
flows counted in the simulation. The sections that describe the scenarios in words are
in :mod:`sim.planning.scenario_sections`, the key questions in
:mod:`sim.planning.key_questions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.planning.html import esc, html_table, image, money, number, percent
from sim.planning.key_questions import KEY_QUESTIONS, KeyQuestion, questions_section
from sim.planning.scenario_sections import (
    assumptions_section,
    changes_section,
    means_section,
    scenario_changes,
)
from sim.reporting.plots import LOSS_CAUSES
from sim.runs.results import atomic_write

if TYPE_CHECKING:
    from sim.planning.analysis import ComparisonResults
    from sim.planning.comparison import Comparison

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


# --------------------------------------------------------------------------- sections


def _status(r: pd.Series) -> str:
    status = str(r["frontier_status"])
    by = r["frontier_by"] if isinstance(r["frontier_by"], str) else ""
    if status == "strongly dominated" and by:
        return f"strongly dominated by {esc(by)}"
    if status == "extendedly dominated" and by:
        return f"extendedly dominated (a mix of {esc(by)} does better)"
    return esc(status)


def bottom_line(table: pd.DataFrame, baseline: str) -> str:
    """The brief's first sentence: which option, at what cost per QoC point, how sure.

    Plain text, read from the comparison table alone (:func:`comparison_table`).
    """
    rows = table.set_index("scenario", drop=False)
    best = rows[rows["best_buy"]].iloc[0]
    name = str(best["scenario"])
    currency = str(best["currency"])
    wtp = money(best["wtp_per_point"])
    measure = str(best["effect_measure"])
    same = table.loc[table["same_as"].fillna("") == name, "scenario"].astype(str).tolist()
    twins = f" ({', '.join(same)} give the same results)" if same else ""
    replicates = int(best["replicates"])
    sure = (
        f"it is the best buy in {percent(best['p_most_cost_effective'])} of {replicates} "
        "paired replicates"
    )
    start = f"At {wtp} {currency} per QoC point, "
    if name == baseline or best["same_as"] == baseline:
        step = rows[(rows["frontier_next"] == name) & rows["icer_vs_next"].notna()]
        nearest = (
            f"; the next step up, {step['scenario'].iloc[0]}, would cost "
            f"{money(step['icer_vs_next'].iloc[0])} {currency} per point"
            if len(step)
            else ""
        )
        return (
            f"{start}keep {name}{twins}: no option adds enough QoC ({measure}) for its "
            f"cost{nearest}; {sure}."
        )
    gain = float(best["effect_gain_points_mean"])
    extra = float(best["cost_diff_vs_baseline_mean"])
    better = f"it does better than {baseline} in {percent(best['p_effect_gain_positive'])}"
    if gain > 0 and extra <= 0:
        what = (
            f"it is cheaper and better than {baseline}: {gain:.1f} QoC points more ({measure}) "
            f"for {money(-extra)} {currency} less"
        )
    elif gain > 0:
        what = (
            f"it adds {gain:.1f} QoC points ({measure}) over {baseline} for "
            f"{money(extra)} {currency} more"
        )
        nxt = best["frontier_next"] if isinstance(best["frontier_next"], str) else ""
        if nxt and not pd.isna(best["icer_vs_next"]):
            what += (
                f", {money(best['icer_vs_next'])} {currency} per point against {nxt}, the "
                "next cheaper option on the frontier"
            )
    else:
        what = (
            f"it saves {money(-extra)} {currency} against {baseline} for "
            f"{-gain:.1f} QoC points fewer ({measure}), less than the points are worth"
        )
    return f"{start}{name}{twins} is the best buy: {what}; {sure}, and {better}."


def _bottom_line_section(table: pd.DataFrame, baseline: str, images: dict[str, bytes]) -> str:
    parts = [f"<p class='bottomline'>{esc(bottom_line(table, baseline))}</p>"]
    if "frontier" in images:
        parts.append(
            f"<p class='caption'>{esc(_CAPTIONS['frontier'])}</p>"
            + image(images["frontier"], "frontier")
        )
    return "".join(parts)


def _summary_section(table: pd.DataFrame, comparison: Comparison) -> str:
    currency = esc(table["currency"].iloc[0])
    measure = esc(table["effect_measure"].iloc[0])
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
        f"net benefit over {esc(comparison.baseline)} at {money(wtp)} per point ({currency})",
        "P(best buy)",
    ]
    rows = []
    for _, r in table.iterrows():
        name = esc(r["scenario"]) + (" (baseline)" if r["is_baseline"] else "")
        if r["same_as"]:
            name += f" (same results as {esc(r['same_as'])})"
        next_option = r["frontier_next"] if isinstance(r["frontier_next"], str) else ""
        icer_next = (
            f"{money(r['icer_vs_next'])} vs {esc(next_option)}"
            if next_option and not pd.isna(r["icer_vs_next"])
            else "-"
        )
        rows.append(
            [
                name + (" <b>best buy</b>" if r["best_buy"] else ""),
                number(r["effect_points_mean"], 2),
                number(r["effect_gain_points_mean"], 2),
                f"{number(r['effect_gain_points_p05'], 2)} to "
                f"{number(r['effect_gain_points_p95'], 2)}",
                money(r["cost_total_mean"]),
                esc(r["reading_vs_baseline"]),
                money(r["icer_vs_baseline"]),
                _status(r),
                icer_next,
                money(r["inmb_vs_baseline_mean"]),
                number(r["p_most_cost_effective"], 2),
            ]
        )
    return (
        "<h2>What each scenario buys</h2>"
        f"<p>{len(table)} scenarios, {int(table['replicates'].iloc[0])} replicates each, "
        f"baseline <b>{esc(comparison.baseline)}</b>, root seed {comparison.seed}. Replicate "
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
        + html_table(header, rows)
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
            esc(r["scenario"]) + (" (baseline)" if r["is_baseline"] else ""),
            number(r["qoc_final_median"]),
            f"{number(r['qoc_final_p05'])} to {number(r['qoc_final_p95'])}",
            number(r["gain_final_points_median"], 2),
            f"{number(r['gain_final_points_p05'], 2)} to {number(r['gain_final_points_p95'], 2)}",
            number(r["p_better_than_baseline"], 2),
        ]
        for _, r in table.iterrows()
    ]
    return (
        "<h2>Quality of care in the last month</h2><p>QoC index (0-1) in the last month "
        "and its gain over the baseline in points, paired replicate by replicate.</p>"
        + html_table(header, rows)
    )


def _budget_section(table: pd.DataFrame, budget: pd.DataFrame) -> str:
    currency = esc(table["currency"].iloc[0])
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
            cost = money(own.loc[y, "cost_median"]) if y in own.index else "-"
            short = float(own.loc[y, "shortfall_median"]) if y in own.index else 0.0
            cells.append(cost + (f" (over by {money(short)})" if short > 0 else ""))
        rows.append(
            [
                esc(r["scenario"]),
                money(r["annual_budget"]) if has_budget else "none set",
                *cells,
                number(r["budget_breach_years_median"], 1) if has_budget else "-",
                money(r["budget_shortfall_total_median"]) if has_budget else "-",
                money(r["budget_shortfall_total_p95"]) if has_budget else "-",
            ]
        )
    return (
        "<h2>Budget, year by year</h2>"
        f"<p>Median undiscounted cost in each year of the run ({currency}), as it would be "
        "spent, against the scenario's annual envelope (<code>costs.annual_budget</code>); "
        "where the median year is over the envelope, by how much. The shortfall over the "
        "run is the sum of every year's cost above the envelope (median over replicates, "
        "and the amount 95 % of replicates stay within).</p>" + html_table(header, rows)
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
        return "not reached" if pd.isna(value) else number(value, 0)

    rows = []
    for _, r in table.iterrows():
        name = esc(r["scenario"]) + (" (baseline)" if r["is_baseline"] else "")
        rows.append(
            [
                name,
                number(r["qoc_mean_median"]),
                number(r["qoc_point_months_gained_mean"], 0),
                f"{number(r['qoc_point_months_gained_p05'], 0)} to "
                f"{number(r['qoc_point_months_gained_p95'], 0)}",
                months(r["months_to_50_median"]),
                months(r["months_to_80_median"]),
                number(r["practices_reaching_80_share_median"], 2),
                number(r["ineffective_in_use_per_facility"], 2),
                number(r["harmful_in_use_per_facility"], 2),
                number(r["duplicated_trials_median"], 0),
                number(r["qoc_kept_share_median"], 2),
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
        + esc("; ".join(windows))
        + ". Medians over replicates unless said.</p>"
        + html_table(header, rows)
    )


def _figures_section(images: dict[str, bytes]) -> str:
    parts = ["<h2>More figures</h2>"]
    for name, png in images.items():
        if name == "frontier":
            continue
        parts.append(f"<p class='caption'>{esc(_CAPTIONS.get(name, name))}</p>")
        parts.append(image(png, name))
    return "".join(parts)


def _ledger_section(table: pd.DataFrame) -> str:
    header = ["scenario", *LOSS_CAUSES.values()]
    beside = "support_not_given_median" in table.columns
    if beside:
        header.append("requests for support not given (median per run)")
    rows = [
        [esc(r["scenario"]), *(number(r[f"{c}_share"], 2) for c in LOSS_CAUSES)]
        + ([number(r["support_not_given_median"], 0)] if beside else [])
        for _, r in table.iterrows()
    ]
    note = (
        " Beside them, not a cause: requests for support from facilities whose trials kept "
        "failing that no coaching visit answered in time (requests are not lessons)."
        if beside
        else ""
    )
    return (
        "<h2>Where learning was lost</h2><p>Share of all lessons lost, by cause (every lesson "
        "lost is counted once, under one cause)." + note + "</p>" + html_table(header, rows)
    )


# --------------------------------------------------------------------------- whole
def _uncertainty_section(results: ComparisonResults) -> str:
    """What we do not know: the value of perfect information, the parameters that matter."""
    if results.evpi is None:
        return (
            "<h2>What we do not know</h2><p class='note'>Only chance varies between "
            "replicates here: every parameter is fixed at its scenario value. "
            "<code>lhsim compare --uncertainty FILE</code> draws uncertain parameters too.</p>"
        )
    currency = str(results.table["currency"].iloc[0])
    information = results.information
    rows = [
        [esc(name), number(float(rho), 2)]
        for name, rho in zip(
            information["parameter"], information["spearman"].astype(float), strict=True
        )
    ]
    return (
        "<h2>What we do not know</h2>"
        "<p>Each replicate drew the uncertain parameters once, the same draw for every "
        "scenario, so the intervals and chances above carry what we do not know about them "
        "as well as chance. The expected value of perfect information is "
        f"<b>{money(results.evpi)} {esc(currency)}</b> (per replicate: an upper bound on "
        "what learning the parameters, and removing chance, is worth for this decision). "
        f"The decision between {esc(results.best)} and the next best option depends most "
        "on the parameters at the top of this table (rank correlation of each parameter "
        "with the best buy's margin in net benefit; near 0: the decision does not hinge "
        "on it):</p>" + html_table(["parameter", "rank correlation"], rows)
    )


def render_report(results: ComparisonResults, images: dict[str, bytes]) -> str:
    """The decision brief as one HTML document (nothing in it is fetched from elsewhere)."""
    comparison, data, table = results.comparison, results.data, results.table
    title = f"Decision brief: {len(data)} scenarios against {comparison.baseline}"
    body = "".join(
        [
            f"<h1>{esc(title)}</h1>",
            "<p class='note'>Built by lhsim from the results in this folder; rebuild it with "
            "<code>lhsim report FOLDER</code>.</p>",
            _bottom_line_section(table, comparison.baseline, images),
            _summary_section(table, comparison),
            _over_time_section(table),
            _budget_section(table, results.budget),
            _uncertainty_section(results),
            changes_section(data, comparison.baseline, results.loops),
            _final_section(table),
            _figures_section(images),
            _ledger_section(table),
            means_section(data),
            questions_section(data, results.key_effects),
            assumptions_section(data, table),
        ]
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write_report(results: ComparisonResults, images: dict[str, bytes]) -> Path:
    """Write ``report.html`` into the comparison folder and return its path."""
    text = render_report(results, images)
    path = Path(results.comparison.folder) / REPORT_FILE
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
