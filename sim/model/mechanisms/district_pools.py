"""District pools: what districts do with the lessons pooled from their facilities.

Where upward reporting is on (and districts do not pass lessons to each other directly,
:mod:`.district_exchange`), pooled lessons at least a month old pass the district blame
filter (else lost to blame) and go up: to the learning-centre queue where the country has
free routing and a learning centre, else to the national queue. Where upward reporting
is off, the pooled lessons of districts that presented their pool this month (a session,
a messaging group, a coaching visit) pass on at the learning sessions' fidelity, under
the no-story rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model.ledger import Cause, Location
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.rules import hidden_by_blame, pass_with_story_check, telling_chances

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["DistrictPools"]


class DistrictPools(Mechanism):
    """Districts forward pooled lessons up, or share them at their own meetings."""

    name = "district_pools"
    outputs = ("items_forwarded", "lessons_passed_district_meetings")
    loss_cause = Cause.BLAME
    decisions = ("blame", "story", "hard")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.reporting = per_country(model, lambda c: c.channels.upward_reporting.enabled).astype(
            bool
        )
        self.meeting_fidelity = per_country(model, lambda c: c.channels.learning_sessions.fidelity)[
            model.world.district_country
        ]

    def step(self) -> None:
        """Forward what goes up; pass on what stays at the districts' meetings."""
        m = self.model
        w, ledger, system = m.world, m.ledger, m.system
        dc = w.district_country
        covered = m.month_context.covered
        direct = system.direct_exchange(dc, covered("district_exchange"))
        forwarding = (self.reporting[dc] | covered("upward_reporting")) & ~direct
        tell_success, tell_failure = telling_chances(system.blame_district, system.success_factor)
        mask = (
            (ledger.location == Location.DISTRICT) & (ledger.age >= 1) & forwarding[ledger.district]
        )
        hidden = hidden_by_blame(
            ledger,
            mask,
            tell_failure,
            tell_success,
            m.streams.lesson_uniforms("district_pools", "blame", ledger),
        )
        ledger.lose(hidden, Cause.BLAME)
        country = ledger.country
        mask = (
            (ledger.location == Location.DISTRICT) & (ledger.age >= 1) & forwarding[ledger.district]
        )
        to_centre = mask & (system.routing_free & system.has_centre)[country]
        ledger.move(to_centre, Location.CENTRE_QUEUE)
        ledger.move(mask & ~to_centre, Location.NATIONAL_QUEUE)
        self.count("items_forwarded", int(mask.sum()))

        stay = m.month_context.presented & ~forwarding
        mask = (ledger.location == Location.DISTRICT) & stay[ledger.district]
        if mask.any():
            passed = pass_with_story_check(
                ledger,
                mask,
                self.meeting_fidelity[ledger.district],
                m.catalogue.complexity,
                m.streams.lesson_uniforms("district_pools", "story", ledger),
                m.streams.lesson_uniforms("district_pools", "hard", ledger),
            )
            self.count("lessons_passed_district_meetings", passed)
