"""Community of practice: the learning centre's community across districts.

In countries with a learning centre, in the channel's months, member districts (each
district a member with chance ``reach``, drawn once at the start) learn every packaged
practice, and every practice with a processed success story, as a success with story.
Facilities of member districts gain ``data_quality_gain * interval_months / 12`` data
quality (capped at 1): the centre's operational research at its yearly rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import Channel, P

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["CommunityOfPractice", "CommunityOfPracticeParameters"]


class CommunityOfPracticeParameters(Channel):
    """The learning centre's community of practice across districts."""

    interval_months: int = P(3, 1, 120, unit="months", description="Months between meetings.")
    fidelity: float = P(
        0.9, 0.0, 1.0, description="Chance a packaged story survives.", plausible=(0.7, 1.0)
    )
    reach: float = P(
        0.5, 0.0, 1.0, description="Share of districts that take part.", plausible=(0.3, 0.7)
    )


class CommunityOfPractice(Mechanism):
    """Member districts meet the learning centre: packages and stories, better data."""

    name = "community_of_practice"
    outputs = ("cop_meetings",)
    decisions = ("membership",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        w = model.world
        self.enabled = per_country(
            model, lambda c: c.channels.community_of_practice.enabled
        ).astype(bool)
        self.interval = per_country(
            model, lambda c: c.channels.community_of_practice.interval_months
        ).astype(np.int64)
        reach = per_country(model, lambda c: c.channels.community_of_practice.reach)
        rng = model.streams.setup("community_of_practice", "membership")
        self.member = rng.random(w.n_districts) < reach[w.district_country]
        gain = self.per_facility(lambda c: c.learning_centres.data_quality_gain) / 12.0
        self.gain = gain * self.per_facility(
            lambda c: c.channels.community_of_practice.interval_months
        )

    def step(self) -> None:
        """Member districts of countries with a centre meet, in the channel's months."""
        m = self.model
        w, k = m.world, m.knowledge
        active = (
            self.runs_in_districts(self.enabled, self.interval)
            & (m.system.has_centre[w.district_country])
        )
        if not active.any():
            return
        members = self.member & active
        c = w.district_country[members]
        k.district_story[members] |= k.package[c] | (k.centre_story[c] > 0)
        k.district_success[members] |= k.package[c] | (k.centre_story[c] > 0)
        in_member = members[w.facility_district]
        w.data_quality[in_member] = np.minimum(
            1.0, w.data_quality[in_member] + self.gain[in_member]
        )
        self.count("cop_meetings", float(members.sum()))
