"""Learning sessions: district meetings where facilities share what they learned.

In session months (the country's current interval, which the triple loop may shorten),
each facility of a district is invited with chance
``attendance * (2 - coaching_weight_d)`` (the district's balance between coaching and
sessions, set by the double loop); at most ``capacity`` attendees per district are kept,
at random. Attendees hear the district meeting (:func:`sim.model.exposure.district_meeting`)
at the sessions' intensity and fidelity. All attendees spoke; a district that held a
session presented its pool of lessons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.exposure import district_meeting
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import FRAMEWORK, Channel, P
from sim.model.sampling import capped
from sim.model.state import Source

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["LearningSessions", "LearningSessionsParameters"]


class LearningSessionsParameters(Channel):
    """District learning sessions: facilities meet and share (horizontal)."""

    interval_months: int = P(
        3, 1, 120, unit="months", description="Months between sessions.", source=FRAMEWORK
    )
    attendance: float = P(
        0.5,
        0.0,
        1.0,
        description="Share of a district's facilities invited to a session.",
        plausible=(0.3, 0.8),
    )
    capacity: int = P(40, 0, 100000, unit="facilities", description="Most facilities per session.")
    intensity: float = P(
        0.4,
        0.0,
        20.0,
        description="Strength of exposure to practices presented at a session.",
        plausible=(0.055, 0.89),
        source="assumption; the published patterns leave it wide "
        "(pattern fit, calibration/patterns.yaml: 90 % 0.055-0.89)",
    )


class LearningSessions(Mechanism):
    """Districts invite facilities to sessions; attendees hear each other and the district."""

    name = "learning_sessions"
    outputs = ("sessions_held", "session_attendees")
    decisions = ("invitations", "places")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.enabled = per_country(model, lambda c: c.channels.learning_sessions.enabled).astype(
            bool
        )
        self.attendance = self.per_facility(lambda c: c.channels.learning_sessions.attendance)
        self.capacity = per_country(model, lambda c: c.channels.learning_sessions.capacity)[
            model.world.district_country
        ]
        self.intensity = self.per_facility(lambda c: c.channels.learning_sessions.intensity)
        self.fidelity = self.per_facility(lambda c: c.channels.learning_sessions.fidelity)

    def step(self) -> None:
        """Hold the sessions due this month."""
        m = self.model
        w, month, system = m.world, m.month_context, m.system
        active = self.runs_in_districts(self.enabled, system.session_interval)
        if not active.any():
            return
        fd = w.facility_district
        weight = (2.0 - system.coaching_weight)[fd]
        invitations = m.streams.draw("learning_sessions", "invitations")
        invited = (invitations.random(w.n_facilities) < self.attendance * weight) & active[fd]
        attendees = capped(
            invited,
            fd,
            w.n_districts,
            self.capacity,
            m.streams.draw("learning_sessions", "places"),
        )
        month.exposures.append(
            district_meeting(m, Source.LEARNING_SESSIONS, attendees, self.intensity, self.fidelity)
        )
        month.speak(attendees, self.fidelity)
        held = np.bincount(fd[attendees], minlength=w.n_districts) > 0
        month.presented |= held
        m.population.attended |= attendees
        self.count("sessions_held", float(held.sum()))
        self.count("session_attendees", float(np.count_nonzero(attendees)))
