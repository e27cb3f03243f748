"""Messaging group: a low-tech continuous district channel (WhatsApp-style).

Where the group runs (a parameter, or switched on by the triple loop) and in its months,
its members (drawn once at the start: each facility with chance ``membership``, at most
``capacity`` per district) hear the district meeting at the group's intensity and
fidelity. Members with something to tell posted, and spoke; districts with members
presented their pool of lessons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from sim.model.exposure import district_meeting
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import Channel, P
from sim.model.sampling import capped
from sim.model.state import Source

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["MessagingGroup", "MessagingGroupParameters"]


class MessagingGroupParameters(Channel):
    """A low-tech continuous channel (WhatsApp-style district group)."""

    enabled: bool = Field(False, description="Whether the district runs a messaging group.")
    fidelity: float = P(
        0.3, 0.0, 1.0, description="Chance a story survives a message.", plausible=(0.15, 0.5)
    )
    membership: float = P(
        0.6,
        0.0,
        1.0,
        description="Share of district facilities in the group.",
        plausible=(0.4, 0.8),
    )
    capacity: int = P(250, 0, 100000, unit="members", description="Most members per group.")
    intensity: float = P(
        0.3,
        0.0,
        20.0,
        description="Strength of exposure to posted practices.",
        plausible=(0.1, 0.6),
    )


class MessagingGroup(Mechanism):
    """Members of a district's group read what others post and what the district shares."""

    name = "messaging_group"
    outputs = ("messages", "group_months")
    decisions = ("membership",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        w = model.world
        self.interval = per_country(
            model, lambda c: c.channels.messaging_group.interval_months
        ).astype(np.int64)
        self.intensity = self.per_facility(lambda c: c.channels.messaging_group.intensity)
        self.fidelity = self.per_facility(lambda c: c.channels.messaging_group.fidelity)
        membership = self.per_facility(lambda c: c.channels.messaging_group.membership)
        capacity = per_country(model, lambda c: c.channels.messaging_group.capacity)
        rng = model.streams.setup("messaging_group", "membership")
        self.member = capped(
            rng.random(w.n_facilities) < membership,
            w.facility_district,
            w.n_districts,
            capacity[w.district_country],
            rng,
        )

    def step(self) -> None:
        """Members read and post, in the countries whose group runs this month."""
        m = self.model
        w, month = m.world, m.month_context
        active = self.runs_in_districts(m.system.messaging_on, self.interval)
        if not active.any():
            return
        fd = w.facility_district
        members = self.member & active[fd]
        month.exposures.append(
            district_meeting(m, Source.MESSAGING_GROUP, members, self.intensity, self.fidelity)
        )
        posting = members & month.offers.any
        month.speak(posting, self.fidelity)
        with_members = np.bincount(fd[members], minlength=w.n_districts) > 0
        month.presented |= with_members
        self.count("messages", float(np.count_nonzero(posting)))
        self.count("group_months", float(with_members.sum()))
