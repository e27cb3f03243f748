"""What the learning loops changed during the runs, read from the monthly results.

The double loop (districts rebalance coaching and sessions; the national body withdraws
failing guidance) and the triple loop (the learning system changes itself: session
interval, documentation templates, free routing, messaging groups, blame) act during a
run, so a scenario's settings are not the whole story. The results record, every month,
the count of each loop's changes and the state of what they change at world level
(``routing_free_share``, ``session_interval_mean``, ``messaging_on_share``,
``coaching_weight_mean``) and per country (``routing``, ``session_interval_months``).
This module compares the first month with the last, replicate by replicate.

Not recorded, so not shown: the organisations' decisions in words (kept on the agents
during a run, not written to the results folder), and the levels of blame and
documentation that the triple loop lowers and raises (its changes to them are counted in
``triple_loop_changes`` only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.planning.comparison import ScenarioData

__all__ = ["STATES", "SYSTEM_REVIEW", "describe_loop_changes", "loop_changes", "system_changes"]

#: World-level states the loops change: column, what it is, digits to show.
STATES: tuple[tuple[str, str, int], ...] = (
    ("routing_free_share", "share of countries with free routing", 2),
    ("session_interval_mean", "months between learning sessions", 1),
    ("messaging_on_share", "share of countries with messaging groups on", 2),
    ("coaching_weight_mean", "district coaching effort (1 = as planned)", 2),
)
_COUNTS = ("triple_loop_changes", "double_loop_shifts", "guidance_withdrawn")


def _first_change(series: pd.DataFrame) -> pd.Series:
    """Per replicate, the first month with a triple-loop change (NaN if none)."""
    changed = series[series["triple_loop_changes"] > 0]
    return changed.groupby("replicate")["month"].min()


def loop_changes(data: Sequence[ScenarioData], replicates: Sequence[int]) -> pd.DataFrame:
    """What the loops changed in every scenario, over the paired replicates.

    Returns:
        One row per scenario: ``replicates``; for each of ``triple_loop_changes``,
        ``double_loop_shifts`` and ``guidance_withdrawn`` the median total over the run
        (``<name>_median``) and the number of replicates with any (``<name>_replicates``);
        ``first_triple_change_month_median``; for each state of :data:`STATES` its
        median in the first month (``<state>_first``) and the last (``<state>_last``);
        ``routing_to_free_replicates`` (replicates in which some country's routing went
        from centralised to free) and ``session_interval_changed_replicates``.
    """
    keep = list(replicates)
    rows = []
    for d in data:
        series = d.timeseries[d.timeseries["replicate"].isin(keep)].sort_values(
            ["replicate", "month"]
        )
        row: dict[str, Any] = {"scenario": d.name, "replicates": len(keep)}
        per_replicate = series.groupby("replicate")
        for name in _COUNTS:
            totals = (
                per_replicate[name].sum().to_numpy(float)
                if name in series.columns
                else np.zeros(len(keep))
            )
            row[f"{name}_median"] = float(np.median(totals)) if totals.size else 0.0
            row[f"{name}_replicates"] = int((totals > 0).sum())
        months = (
            _first_change(series).to_numpy(float)
            if "triple_loop_changes" in series.columns
            else np.array([])
        )
        row["first_triple_change_month_median"] = (
            float(np.median(months)) if months.size else float("nan")
        )
        first, last = per_replicate.first(), per_replicate.last()
        for column, _, _ in STATES:
            row[f"{column}_first"] = float(first[column].median())
            row[f"{column}_last"] = float(last[column].median())
        countries = d.countries[d.countries["replicate"].isin(keep)].sort_values(
            ["replicate", "country", "month"]
        )
        by_country = countries.groupby(["replicate", "country"])
        start, end = by_country.first(), by_country.last()
        to_free = (start["routing"] == "centralised") & (end["routing"] == "free")
        interval = start["session_interval_months"] != end["session_interval_months"]
        row["routing_to_free_replicates"] = int(to_free.groupby(level="replicate").any().sum())
        row["session_interval_changed_replicates"] = int(
            interval.groupby(level="replicate").any().sum()
        )
        rows.append(row)
    return pd.DataFrame(rows)


def describe_loop_changes(row: pd.Series) -> str:
    """What the loops changed in one scenario, in a sentence or two.

    Examples:
        >>> row = pd.Series({"replicates": 6, "triple_loop_changes_median": 3.0,
        ...     "triple_loop_changes_replicates": 6, "first_triple_change_month_median": 12.0,
        ...     "double_loop_shifts_median": 0.0, "double_loop_shifts_replicates": 0,
        ...     "guidance_withdrawn_median": 0.0, "guidance_withdrawn_replicates": 0,
        ...     "routing_to_free_replicates": 6, "session_interval_changed_replicates": 0,
        ...     "routing_free_share_first": 0.0, "routing_free_share_last": 1.0,
        ...     "session_interval_mean_first": 3.0, "session_interval_mean_last": 3.0,
        ...     "messaging_on_share_first": 0.0, "messaging_on_share_last": 0.0,
        ...     "coaching_weight_mean_first": 0.5, "coaching_weight_mean_last": 0.5})
        >>> print(describe_loop_changes(row))  # doctest: +NORMALIZE_WHITESPACE
        Triple loop: changes in 6 of 6 replicates (median 3 over the run, the first in month 12). Routing went from centralised to free in 6 of 6 replicates. Share of countries with free routing: 0.00 in the first month, 1.00 in the last (medians).
    """  # noqa: E501
    n = int(row["replicates"])
    parts = []
    labels = (
        ("triple_loop_changes", "Triple loop: changes"),
        ("double_loop_shifts", "Double loop: districts shifted support effort"),
        ("guidance_withdrawn", "Double loop: guidance withdrawn"),
    )
    for name, label in labels:
        count = int(row[f"{name}_replicates"])
        if count == 0:
            continue
        median = row[f"{name}_median"]
        text = f"{label} in {count} of {n} replicates (median {median:.0f} over the run"
        if name == "triple_loop_changes" and not np.isnan(row["first_triple_change_month_median"]):
            text += f", the first in month {row['first_triple_change_month_median']:.0f}"
        parts.append(text + ").")
    if row["routing_to_free_replicates"]:
        parts.append(
            f"Routing went from centralised to free in {int(row['routing_to_free_replicates'])} "
            f"of {n} replicates."
        )
    if row["session_interval_changed_replicates"]:
        parts.append(
            "The session interval changed in "
            f"{int(row['session_interval_changed_replicates'])} of {n} replicates."
        )
    moved = [
        f"{meaning}: {row[f'{column}_first']:.{digits}f} in the first "
        f"month, {row[f'{column}_last']:.{digits}f} in the last"
        for column, meaning, digits in STATES
        if round(row[f"{column}_first"], digits) != round(row[f"{column}_last"], digits)
    ]
    if moved:
        sentence = "; ".join(moved)
        parts.append(sentence[0].upper() + sentence[1:] + " (medians).")
    return " ".join(parts) if parts else "The loops changed nothing during the runs."


#: Words in a decision's reason that mark a change the triple loop made to the system.
SYSTEM_REVIEW = "lessons lost since the last review"


def system_changes(decisions: pd.DataFrame, replicates: int) -> pd.DataFrame:
    """The triple loop's changes to the learning system, in words, across replicates.

    Args:
        decisions: A scenario's ``decisions.csv`` (one row per decision and replicate).
        replicates: How many replicates the scenario ran.

    Returns:
        One row per change (``decision``, e.g. ``routing free``): ``replicates`` in which
        it was taken at least once, the share of all replicates, and the median month it
        was first taken; most frequent first.

    Examples:
        >>> d = pd.DataFrame({"replicate": [0, 0, 1], "month": [12, 24, 24],
        ...     "decision": ["routing free", "routing free", "routing free"],
        ...     "reason": ["60% of the 10 lessons lost since the last review ..."] * 3})
        >>> system_changes(d, 4).to_dict("records")
        [{'decision': 'routing free', 'replicates': 2, 'share': 0.5, 'first_month_median': 18.0}]
    """
    columns = ["decision", "replicates", "share", "first_month_median"]
    if decisions.empty or "reason" not in decisions:
        return pd.DataFrame(columns=columns)
    chosen = decisions[decisions["reason"].astype(str).str.contains(SYSTEM_REVIEW, regex=False)]
    if chosen.empty:
        return pd.DataFrame(columns=columns)
    first = chosen.groupby(["decision", "replicate"])["month"].min().reset_index()
    table = first.groupby("decision").agg(
        replicates=("replicate", "nunique"), first_month_median=("month", "median")
    )
    table["share"] = table["replicates"] / max(replicates, 1)
    table = table.reset_index()[columns]
    table["first_month_median"] = table["first_month_median"].astype(float)
    return table.sort_values(["replicates", "decision"], ascending=[False, True]).reset_index(
        drop=True
    )
