"""Learning by means and level: how much of a run's learning came through each.

The WHO flagship report on learning health systems says learning occurs through three
interconnected means (information, deliberation and action) at interconnected levels.
The simulation counts its flows per channel and mechanism; this module reads them as
the report's means and levels through one table, :data:`ROUTES`, each row an explicit,
editable assumption with the sentence it rests on:

* *practices*: facility-practice pairs first reached through a channel (the summary's
  ``reached_by_*`` columns), or practices a national body took over from a linked
  country's guidance (``global_practices_taken``);
* *lessons*: lessons made by trials (the learning by doing) and lessons passed on, at
  the level where they pass: facilities that spoke, district meetings, district
  exchange, the national body and the learning centres. Lessons passed on add up to the
  ledger's ``lessons_passed`` (a test checks it).

Nothing here changes a simulation: the table is read from results on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["LEVELS", "MEANS", "ROUTES", "Route", "learning_by_means", "means_table"]

#: The WHO report's three means of learning, in its order.
MEANS = ("information", "deliberation", "action")
#: The levels at which the simulation counts learning.
LEVELS = ("facility", "district", "national", "global")

_ACTION = (
    "WHO: learning through action occurs through the practice and repetition of tasks and "
    "generates innovations and good practices"
)
_DELIBERATION = (
    "WHO: deliberation includes stakeholder consultations, collaborations and community engagement"
)
_INFORMATION = (
    "WHO: learning through information includes collecting and processing information and "
    "its deployment and dissemination"
)


@dataclass(frozen=True)
class Route:
    """One counted flow and the means and level it is read as.

    Attributes:
        column: The summary column that counts it.
        quantity: ``practices`` or ``lessons``.
        means: One of :data:`MEANS`.
        level: One of :data:`LEVELS`.
        flow: What the column counts, in plain words.
        basis: The sentence of the sources the classification rests on.
    """

    column: str
    quantity: str
    means: str
    level: str
    flow: str
    basis: str


#: Every counted flow of learning, read as a means at a level (an explicit assumption).
ROUTES: tuple[Route, ...] = (
    Route(
        "reached_by_innovation",
        "practices",
        "action",
        "facility",
        "practices a facility's QI team tried on its own initiative",
        _ACTION,
    ),
    Route(
        "lessons_generated",
        "lessons",
        "action",
        "facility",
        "lessons made by facilities' trials",
        _ACTION,
    ),
    Route(
        "reached_by_peer_network",
        "practices",
        "deliberation",
        "facility",
        "practices first heard of from a peer facility",
        "Table 2: staff participate in peer-to-peer learning activities",
    ),
    Route(
        "reached_by_exchange_visits",
        "practices",
        "deliberation",
        "facility",
        "practices first seen on an exchange visit",
        "Table 2: QI teams share experience with other facilities (exchange visits)",
    ),
    Route(
        "lessons_passed_facilities_total",
        "lessons",
        "deliberation",
        "facility",
        "lessons passed on by facilities that spoke through a horizontal channel",
        _DELIBERATION,
    ),
    Route(
        "reached_by_learning_sessions",
        "practices",
        "deliberation",
        "district",
        "practices first heard of at a district learning session",
        "Table 2: district events (collaboratives) where facilities compare and discuss",
    ),
    Route(
        "reached_by_messaging_group",
        "practices",
        "deliberation",
        "district",
        "practices first heard of in a district messaging group",
        "Table 2: new forums for sharing such as WhatsApp",
    ),
    Route(
        "lessons_passed_district_meetings_total",
        "lessons",
        "deliberation",
        "district",
        "pooled lessons passed on where a district presented its pool",
        _DELIBERATION,
    ),
    Route(
        "lessons_passed_district_exchange_total",
        "lessons",
        "deliberation",
        "district",
        "pooled lessons passed between districts",
        _DELIBERATION,
    ),
    Route(
        "reached_by_coaching",
        "practices",
        "action",
        "district",
        "practices first brought by a district coach, who backs implementation",
        "Table 2: facilities seek support in learning how to make changes and adapt them",
    ),
    Route(
        "reached_by_guidance",
        "practices",
        "information",
        "national",
        "practices first reached through national guidance",
        "Table 2: the national level disseminates QoC implementation knowledge and tools",
    ),
    Route(
        "national_items_processed_total",
        "lessons",
        "information",
        "national",
        "lesson reports the national body took into its evidence",
        _INFORMATION,
    ),
    Route(
        "centre_items_processed_total",
        "lessons",
        "information",
        "national",
        "lesson reports a learning centre took into its evidence",
        _INFORMATION,
    ),
    Route(
        "global_practices_taken_total",
        "practices",
        "deliberation",
        "global",
        "practices a national body took over from a linked country's guidance",
        "Table 2: the national level connects with other countries on QoC",
    ),
)


def learning_by_means(summary: pd.DataFrame) -> pd.DataFrame:
    """Practices and lessons per means and level, for every replicate.

    Args:
        summary: One row per replicate (``replicate`` and the columns of :data:`ROUTES`;
            a column missing from older results counts as 0).

    Returns:
        One row per (``replicate``, ``means``, ``level``) with ``practices`` and
        ``lessons``; every means and level appears, with zeros where nothing flowed.

    Examples:
        >>> s = pd.DataFrame({"replicate": [0], "reached_by_coaching": [5.0],
        ...                   "lessons_generated": [9.0]})
        >>> table = learning_by_means(s).set_index(["means", "level"])
        >>> float(table.loc[("action", "district"), "practices"])
        5.0
        >>> float(table.loc[("action", "facility"), "lessons"])
        9.0
    """
    rows = []
    replicates = summary["replicate"] if "replicate" in summary else pd.Series(range(len(summary)))
    for position, replicate in enumerate(replicates):
        row = summary.iloc[position]
        for means in MEANS:
            for level in LEVELS:
                found = {"practices": 0.0, "lessons": 0.0}
                for route in ROUTES:
                    if (route.means, route.level) == (means, level) and route.column in row:
                        found[route.quantity] += float(row[route.column])
                rows.append({"replicate": replicate, "means": means, "level": level, **found})
    return pd.DataFrame(rows, columns=["replicate", "means", "level", "practices", "lessons"])


def means_table(summary: pd.DataFrame, quantity: str) -> pd.DataFrame:
    """Medians over replicates of ``quantity`` as a means x level table.

    Examples:
        >>> s = pd.DataFrame({"replicate": [0, 1], "reached_by_guidance": [2.0, 4.0]})
        >>> float(means_table(s, "practices").loc["information", "national"])
        3.0
    """
    long = learning_by_means(summary)
    medians = long.groupby(["means", "level"], sort=False)[quantity].median()
    return medians.unstack("level").reindex(index=list(MEANS), columns=list(LEVELS))
