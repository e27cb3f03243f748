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


def questions_section(data: Sequence[ScenarioData]) -> str:
    """The brief's section answering every key question, level by level."""
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
            values = [number(float(q.value(d.summary).median()), 1) for d in data]
            rows.append([esc(q.kind), esc(q.question), esc(q.measure), *values])
        parts.append(f"<h3>{esc(title)}</h3>")
        parts.append(
            html_table(["learning", "question", "answered by", *names], rows, text_columns=3)
        )
    return "".join(parts)
