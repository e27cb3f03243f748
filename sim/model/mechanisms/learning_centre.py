"""Learning centres: collect, synthesise and package lessons.

Each learning centre (an agent) takes items from its country's centre queue, oldest
first, up to its monthly ``capacity``; the backlog waits and never expires. Processed
items count as passed, add to the centre's evidence (successes with story, successes,
failures) and are shared down to every district of the country. A practice is packaged
(a high-fidelity how-to, "ready to scale") once the country's centres hold
``ready_threshold`` success stories and more successes than failures, unless its
guidance was withdrawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.ledger import Location, oldest_first, take
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import P, Section

if TYPE_CHECKING:
    from sim.model.agents import LearningCentre as Centre
    from sim.model.model import LearningHealthSystem

__all__ = ["LearningCentre", "LearningCentresParameters", "process_queue"]


class LearningCentresParameters(Section):
    """Universities or implementing partners that collect, synthesise and package lessons."""

    count: int = P(0, 0, 100, unit="centres", description="Learning centres in the country.")
    capacity: int = P(
        100, 0, 10_000_000, unit="items per month", description="Items a centre processes a month."
    )
    ready_threshold: int = P(
        3,
        1,
        1000,
        unit="lessons",
        description="Success reports with stories before a practice is 'ready to scale'.",
    )
    data_quality_gain: float = P(
        0.05,
        0.0,
        1.0,
        unit="per year",
        description="Yearly rise in facility data quality from operational research.",
        plausible=(0.02, 0.1),
    )


def process_queue(centre: Centre) -> None:
    """The centre's decision of the month: take its share of the queue, oldest first."""
    m = centre.model
    ledger = m.ledger
    queued = (ledger.location == Location.CENTRE_QUEUE) & (ledger.country == centre.country_index)
    capacity = np.zeros(m.world.n_countries, dtype=np.int64)
    capacity[centre.country_index] = centre.capacity
    chosen = oldest_first(ledger, queued, capacity)
    processed = take(ledger, chosen)
    ledger.pass_on(chosen)
    centre.processed = processed.size
    k = m.knowledge
    cells = (processed.country, processed.practice)
    np.add.at(k.centre_story, cells, processed.success & processed.story)
    np.add.at(k.centre_success, cells, processed.success)
    np.add.at(k.centre_failure, cells, ~processed.success)
    k.share_down(processed, m.world.district_country)


class LearningCentre(Mechanism):
    """Centres work through their queues; practices with enough stories are packaged."""

    name = "learning_centre"
    outputs = ("centre_items_processed",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.ready = per_country(model, lambda c: c.learning_centres.ready_threshold)

    def step(self) -> None:
        """Each centre processes; then packages are made from what the centres hold."""
        m = self.model
        if not len(m.learning_centres):
            return
        m.learning_centres.do(process_queue)
        self.count("centre_items_processed", float(sum(c.processed for c in m.learning_centres)))
        k = m.knowledge
        enough = k.centre_story >= self.ready[:, None]
        new = enough & (k.centre_success > k.centre_failure) & ~k.withdrawn & ~k.package
        k.package |= new
        for country, practice in zip(*np.nonzero(new), strict=True):
            m.centres_of(int(country))[0].decide(
                f"packaged {m.catalogue.names[practice]}",
                f"{int(k.centre_story[country, practice])} success stories "
                f"(threshold {int(self.ready[country])}), "
                f"{int(k.centre_success[country, practice])} successes against "
                f"{int(k.centre_failure[country, practice])} failures",
            )
