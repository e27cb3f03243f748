"""Upward reporting: lessons move from facilities to their district's pool.

Lessons at facilities coached this month move to the district pool, their story
surviving with the coaching fidelity; then, in reporting months, the lessons at every
facility of each district where reporting runs (its country's setting, or a programme
covering the district) move, stories surviving with ``upward_reporting.fidelity``. Data
always travel, so nothing is lost on this step (a story may be). Each move tells the
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

    fidelity: float = P(0.7, 0.0, 1.0, description="Chance a written story survives the report.")


class UpwardReporting(Mechanism):
    """Coached facilities' lessons, then every reporting facility's, go to the district."""

    name = "upward_reporting"
    outputs = ("reports",)
    decisions = ("coached story", "reported story")

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

    def step(self) -> None:
        """Move the month's reported lessons to the district pools."""
        m = self.model
        w, k, ledger = m.world, m.knowledge, m.ledger
        k.learn_in_districts(
            report_up(
                ledger,
                m.month_context.coached,
                self.coaching_fidelity,
                m.streams.lesson_uniforms("upward_reporting", "coached story", ledger),
            )
        )
        reporting = self.runs_in_districts(self.enabled, self.interval)
        self.count("reports", float((reporting * w.district_size).sum()))
        k.learn_in_districts(
            report_up(
                ledger,
                reporting[w.facility_district],
                self.fidelity,
                m.streams.lesson_uniforms("upward_reporting", "reported story", ledger),
            )
        )


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
