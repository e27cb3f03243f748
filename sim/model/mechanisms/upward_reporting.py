"""Upward reporting: lessons move from facilities to their district's pool.

Lessons at facilities coached this month move to the district pool, their story
surviving with the coaching fidelity; then, in reporting months, each facility of a
district where reporting runs (its country's setting, or a programme covering the
district) sends its report with chance ``upward_reporting.completeness`` (drawn afresh
each month: a missed report is late, not lost), and the lessons held at every facility
whose report arrived move, stories surviving with ``upward_reporting.fidelity``. What a
report carries always arrives, so nothing is lost on this step (a story may be); a
lesson whose report is missed waits at its facility, where turnover and fading can
still take it. Each move tells the
district of the success or failure, and of the story (:meth:`Knowledge.learn_in_districts`).
What districts then do with their pools is :mod:`.district_pools`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.ledger import LessonLedger, Location
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import Channel, P

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["UpwardReporting", "UpwardReportingParameters", "report_up"]


class UpwardReportingParameters(Channel):
    """Facility to district to learning centre / national: data always, stories if written."""

    fidelity: float = P(
        0.7,
        0.0,
        1.0,
        description="Chance a written story survives the report.",
        plausible=(0.5, 0.9),
    )
    completeness: float = P(
        0.9,
        0.0,
        1.0,
        description="Chance a facility's report arrives in a reporting month.",
        source="Kiberu et al. 2014 (Uganda, DHIS2: 85 % complete after roll-out) and Zavuga "
        "et al. 2020 (about 100 %): between the two",
        plausible=(0.85, 1.0),
    )


class UpwardReporting(Mechanism):
    """Coached facilities' lessons, then every reporting facility's, go to the district."""

    name = "upward_reporting"
    outputs = ("reports_due", "reports", "failures_reported")
    decisions = ("coached story", "reported story", "completeness")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.enabled = per_country(model, lambda c: c.channels.upward_reporting.enabled).astype(
            bool
        )
        self.interval = per_country(
            model, lambda c: c.channels.upward_reporting.interval_months
        ).astype(np.int64)
        self.fidelity = self.per_facility(lambda c: c.channels.upward_reporting.fidelity)
        self.coaching_fidelity = self.per_facility(lambda c: c.channels.coaching.fidelity)
        self.completeness = self.per_facility(lambda c: c.channels.upward_reporting.completeness)

    def step(self) -> None:
        """Move the month's reported lessons to the district pools."""
        m = self.model
        w, k, ledger = m.world, m.knowledge, m.ledger
        coached = report_up(
            ledger,
            m.month_context.coached,
            self.coaching_fidelity,
            m.streams.lesson_uniforms("upward_reporting", "coached story", ledger),
        )
        k.learn_in_districts(coached)
        due = self.runs_in_districts(self.enabled, self.interval)[w.facility_district]
        arrived = due & (
            m.streams.draw("upward_reporting", "completeness").random(w.n_facilities)
            < self.completeness
        )
        self.count("reports_due", float(due.sum()))
        self.count("reports", float(arrived.sum()))
        reported = report_up(
            ledger,
            arrived,
            self.fidelity,
            m.streams.lesson_uniforms("upward_reporting", "reported story", ledger),
        )
        k.learn_in_districts(reported)
        failures = (~coached["success"]).sum() + (~reported["success"]).sum()
        self.count("failures_reported", int(failures))


def report_up(
    ledger: LessonLedger, reporting: np.ndarray, fidelity: np.ndarray, uniform: np.ndarray
) -> dict[str, np.ndarray]:
    """Move lessons of ``reporting`` facilities to their district pool.

    Data always travel; a story survives with ``fidelity`` (per facility), one uniform
    per lesson.

    Returns:
        The moved lessons' ``district``, ``practice``, ``success`` and ``story``.
    """
    mask = (ledger.location == Location.FACILITY) & reporting[ledger.facility]
    story = ledger.story & (uniform < fidelity[ledger.facility])
    ledger.set_story(mask, story)
    ledger.move(mask, Location.DISTRICT)
    return {
        "district": ledger.district[mask],
        "practice": ledger.practice[mask],
        "success": ledger.success[mask],
        "story": ledger.story[mask],
    }
