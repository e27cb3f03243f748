"""Innovation: QI teams try practices nobody told them about.

Each facility with a QI team, with monthly chance
``rate * (1 - fear_of_failure * b_F)``, picks one practice uniformly at random; if the
practice is unknown there (and the facility has not heard that it fails), it starts a
trial backed by a story (the inventors know how they did it); its first source is
innovation. A trial of a practice known in the country to fail is duplication waste.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.mechanisms.base import Mechanism
from sim.model.parameters import P, Section
from sim.model.state import Source, Stage

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["Innovation", "InnovationParameters"]


class InnovationParameters(Section):
    """Facilities with a QI team try practices nobody told them about."""

    rate: float = P(
        0.02,
        0.0,
        1.0,
        unit="per month",
        description="Chance a QI team starts a trial of an unknown practice each month.",
        plausible=(0.0053, 0.04),
        source="assumption; the published patterns leave it wide "
        "(pattern fit, calibration/patterns.yaml: 90 % 0.0053-0.04)",
        log=True,
    )
    fear_of_failure: float = P(
        0.5,
        0.0,
        1.0,
        description="How much local blame culture suppresses innovation.",
        plausible=(0.25, 0.75),
    )


class Innovation(Mechanism):
    """QI teams start trials of practices they found themselves."""

    name = "innovation"
    outputs = ("innovations", "trials_started", "duplication_waste")
    decisions = ("tries",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.rate = self.per_facility(lambda c: c.innovation.rate)
        self.fear = self.per_facility(lambda c: c.innovation.fear_of_failure)

    def step(self) -> None:
        """QI teams draw whether they try something new this month, and what."""
        m = self.model
        w, pop = m.world, m.population
        if not (self.rate.any() and w.qi_team.any()):
            return
        blame = m.month_context.facility_blame(np.arange(w.n_facilities))
        rate = self.rate * (1.0 - self.fear * blame)
        n, k = pop.stage.shape
        if not (w.qi_team & (rate > 0)).any():
            return
        rng = m.streams.draw("innovation", "tries")
        draw = rng.random(n)
        choice = np.asarray(rng.integers(0, k, n))
        f = np.flatnonzero(w.qi_team & (draw < rate))
        kk = choice[f]
        fresh = (pop.stage[f, kk] == Stage.UNKNOWN) & ~pop.knows_failure[f, kk]
        f, kk = f[fresh], kk[fresh]
        pop.first_source[f, kk] = Source.INNOVATION
        pop.start_trials(f, kk, np.ones(f.size, dtype=bool), m.trial_rates.months[f])
        known_to_fail = m.knowledge.known_to_fail(m.catalogue.ineffective)
        self.count("innovations", f.size)
        self.count("trials_started", f.size)
        self.count("duplication_waste", int(known_to_fail[w.facility_country[f], kk].sum()))
