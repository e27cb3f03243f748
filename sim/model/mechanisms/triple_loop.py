"""Triple loop: learning how to learn; the learning system changes itself.

On review months, in each country with losses since the last review, the reviewer (the
country's first learning centre, or its national body without one) reads the loss
ledger: the share of each cause among those losses drives at most one change each, with
``T = loops.loss_share_trigger``: stories lost (share >= T) shorten the session interval
by a month (not below 1) and raise every facility's documentation by
``loops.documentation_template_gain`` (templates); bottleneck losses make routing free;
losses for want of a channel switch the messaging group on; blame losses lower facility
and district blame by ``loops.blame_step`` (not below 0). Every change is a decision of
the reviewer, recorded with the shares it read and the parameters it moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.agent import AgentSet

from sim.model.ledger import CAUSES
from sim.model.mechanisms.base import Mechanism

if TYPE_CHECKING:
    from sim.model.agents import Organisation
    from sim.model.model import LearningHealthSystem
    from sim.model.schema import Loops

__all__ = ["TripleLoop", "review_learning_system"]


def review_learning_system(reviewer: Organisation, lost: np.ndarray, loops: Loops) -> int:
    """The reviewer's decision: what to change in its country's learning system.

    ``lost`` holds the lessons lost since the last review, by country and cause.

    Returns:
        The number of changes made.
    """
    m = reviewer.model
    system, w, country = m.system, m.world, reviewer.country_index
    lost = lost[country]
    total = lost.sum()
    if total <= 0:
        return 0
    share = dict(zip(CAUSES, lost / total, strict=True))
    trigger = loops.loss_share_trigger

    def why(cause: str) -> str:
        return (
            f"{share[cause]:.0%} of the {int(total)} lessons lost since the last review "
            f"were lost to {cause.replace('_', ' ')} (trigger {trigger:.0%})"
        )

    changes = 0
    if share["no_story"] >= trigger:
        if system.session_interval[country] > 1:
            system.session_interval[country] -= 1
            reviewer.decide(
                f"learning sessions every {int(system.session_interval[country])} months",
                why("no_story"),
                ("channels.learning_sessions.interval_months",),
            )
            changes += 1
        members = w.facility_country == country
        w.documentation[members] = np.minimum(
            1.0, w.documentation[members] + loops.documentation_template_gain
        )
        reviewer.decide(
            "documentation templates for every facility",
            why("no_story"),
            ("facility_mix.documentation",),
        )
        changes += 1
    if share["bottleneck"] >= trigger and not system.routing_free[country]:
        system.routing_free[country] = True
        reviewer.decide("free routing", why("bottleneck"), ("national.routing",))
        changes += 1
    if share["no_channel"] >= trigger and not system.messaging_on[country]:
        system.messaging_on[country] = True
        reviewer.decide(
            "messaging groups switched on", why("no_channel"), ("channels.messaging_group.enabled",)
        )
        changes += 1
    if share["blame"] >= trigger and loops.blame_step > 0:
        system.blame_facility[country] = max(0.0, system.blame_facility[country] - loops.blame_step)
        system.blame_district[country] = max(0.0, system.blame_district[country] - loops.blame_step)
        reviewer.decide(
            f"blame culture eased to {system.blame_facility[country]:.2f} (facilities) and "
            f"{system.blame_district[country]:.2f} (districts)",
            why("blame"),
            ("blame.facility", "blame.district"),
        )
        changes += 1
    return changes


class TripleLoop(Mechanism):
    """Review months: each country's reviewer reads the loss ledger and changes the system."""

    name = "triple_loop"
    outputs = ("triple_loop_changes", "routing_changes")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.lost_at_review = model.ledger.lost.copy()

    def step(self) -> None:
        """Run the reviews, on review months only."""
        m = self.model
        loops = m.config.loops
        if not loops.triple or m.month % loops.review_interval_months:
            return
        lost = m.ledger.lost - self.lost_at_review
        self.lost_at_review = m.ledger.lost.copy()
        centralised = ~m.system.routing_free
        reviewers = AgentSet([body.reviewer for body in m.national_agents], random=m.random)
        changes = reviewers.map(review_learning_system, lost, loops)
        self.count("triple_loop_changes", sum(changes))
        switched = np.flatnonzero(centralised & m.system.routing_free)
        districts = np.isin(m.world.district_country, switched).sum()
        self.count("routing_changes", float(districts))
