"""The framework's key questions (its Table 3), answered from the simulated flows.

Each question of internal, horizontal and vertical learning at facility, district and
national level is answered by a flow the simulation counts (a column of the summary),
shown per scenario in the decision brief.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from sim.planning.html import esc, html_table, number

if TYPE_CHECKING:
    from sim.planning.comparison import ScenarioData

__all__ = ["KEY_QUESTIONS", "KeyQuestion", "questions_section"]


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


_LEVELS = {
    "facility": "Facility level",
    "district": "District level",
    "national": "National level",
}


def questions_section(data: Sequence[ScenarioData], effects: pd.DataFrame | None = None) -> str:
    """The brief's section answering every key question, level by level.

    With ``effects`` (:func:`sim.planning.key_effects.key_effects_table`), each question a
    channel answers shows, beside its count, the paired effect on final QoC of switching
    that channel off.
    """
    parts = [
        "<h2>Key questions at each level of the health system</h2>",
        "<p>The framework's key questions for learning about quality of care (its Table 3: "
        "internal, horizontal and vertical learning), each answered by a flow counted in the "
        "simulation. Numbers are medians over replicates, totals over the whole run.",
        _effects_intro(effects),
        "</p>",
    ]
    names = [d.name for d in data]
    found = (
        {}
        if effects is None
        else {(str(r["scenario"]), str(r["question"])): r for r in effects.to_dict("records")}
    )
    for level, title in _LEVELS.items():
        rows = []
        for q in (q for q in KEY_QUESTIONS if q.level == level):
            values = [
                number(float(q.value(d.summary).median()), 1)
                + _effect_cell(found.get((d.name, q.question)))
                for d in data
            ]
            rows.append([esc(q.kind), esc(q.question), esc(q.measure), *values])
        parts.append(f"<h3>{esc(title)}</h3>")
        parts.append(
            html_table(["learning", "question", "answered by", *names], rows, text_columns=3)
        )
    if effects is not None:
        parts.append(_assumptions(effects))
    return "".join(parts)


def _effects_intro(effects: pd.DataFrame | None) -> str:
    if effects is None:
        return (
            " A count says how busy a channel was, not what it was worth: <code>lhsim compare "
            "--key-effects</code> adds, beside the counts, the effect on QoC of each "
            "scenario's channels, from paired runs without them."
        )
    return (
        " Beside the count, where a channel answers the question: its <b>effect</b>, the "
        "gain in final QoC (points) of the scenario over the same scenario without that "
        "channel (the counterfactual: the channel switched off in every country and no "
        "programme funding it), run with the same seed and replicates so that replicate r "
        "of both shares its random numbers; the median of the paired differences and, in "
        "brackets, their 90 % interval (5th to 95th percentile), then the median paired "
        "difference in discounted cost. A channel the scenario "
        'does not run has no effect to measure ("not run in this scenario"). Each '
        "counterfactual's assumption is listed below the tables; the effects and the paired "
        "cost differences are in <code>key_effects.csv</code>."
    )


def _effect_cell(row: dict | None) -> str:
    if row is None:
        return ""
    if row["status"] != "estimated":
        return f"<br><span class='note'>effect: {esc(row['status'])}</span>"
    return (
        f"<br><span class='note'>effect {float(row['effect_points_median']):+.2f} points "
        f"({float(row['effect_points_p05']):+.2f} to {float(row['effect_points_p95']):+.2f}), "
        f"cost {_signed_money(float(row['cost_diff_median']))}</span>"
    )


def _signed_money(value: float) -> str:
    """A paired cost difference: ``+12,000``, ``-300``, ``+0``."""
    return f"{value:+,.0f}"


def _assumptions(effects: pd.DataFrame) -> str:
    first = effects.drop_duplicates("counterfactual")
    items = "".join(
        f"<li><b>{esc(r['counterfactual'])}</b>: {esc(r['assumption'])}</li>"
        for r in first.to_dict("records")
    )
    return f"<p>The counterfactuals behind the effects:</p><ul>{items}</ul>"
