"""National queue: the national body works through what reaches it.

Each national body takes queued items oldest first, up to its monthly capacity (the
bottleneck; ``null`` = unlimited). Failures are acted on with chance ``1 - b_N`` (the
blame filter of national blame), else lost to blame. Passed items add to the national
evidence (successes, successes with story, failures) and are shared down to every
district of the country. Items still queued whose age has reached ``time_to_live``
expire: lost to the bottleneck. The rule is applied to every country's queue in one pass
over the ledger; each national body records what it processed and what expired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.ledger import Cause, Location, oldest_first, take
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.rules import telling_chances

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["NationalQueue"]


class NationalQueue(Mechanism):
    """National bodies process their queues within capacity; old items expire."""

    name = "national_queue"
    outputs = ("national_items_processed", "items_expired")
    loss_cause = Cause.BOTTLENECK
    decisions = ("blame",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.time_to_live = per_country(model, lambda c: c.national.time_to_live).astype(np.int64)

    def step(self) -> None:
        """Process, act on failures (or bury them), expire what waited too long."""
        m = self.model
        ledger, system = m.ledger, m.system
        queued = ledger.location == Location.NATIONAL_QUEUE
        chosen = oldest_first(ledger, queued, system.national_capacity)
        _, act_on_failure = telling_chances(system.blame_national, system.success_factor)
        acted_on = (
            m.streams.lesson_uniforms("national_queue", "blame", ledger)
            < act_on_failure[ledger.country]
        )
        buried = chosen & ~ledger.success & ~acted_on
        passed = chosen & ~buried
        processed = take(ledger, passed)
        expired = queued & ~chosen & (ledger.age >= self.time_to_live[ledger.country])
        n = m.world.n_countries
        processed_by = np.bincount(ledger.country[chosen], minlength=n)
        expired_by = np.bincount(ledger.country[expired], minlength=n)
        ledger.settle(passed=passed, lost={Cause.BLAME: buried, Cause.BOTTLENECK: expired})
        for body in m.national_bodies:
            body.processed = int(processed_by[body.index])
            body.expired = int(expired_by[body.index])
        self.count("items_expired", int(expired_by.sum()))
        self.count("national_items_processed", processed.size)
        m.knowledge.add_evidence(processed)
        m.knowledge.share_down(processed, m.world.district_country)
