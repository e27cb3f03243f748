"""Global learning: linked national bodies learn from each other.

If ``global_learning.enabled``, in months that are multiples of its interval, for each
pair of ``global_links`` and each direction, the receiving national body takes each
practice in its partner's guidance (not in force and not withdrawn at home) with chance
``global_learning.fidelity``, and copies its partner's withdrawals, which revoke its own
guidance on those practices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from sim.model.mechanisms.base import Mechanism
from sim.model.parameters import P, Section

if TYPE_CHECKING:
    from sim.model.agents import NationalBody

__all__ = ["GlobalLearning", "GlobalLearningParameters", "learn_from"]


class GlobalLearningParameters(Section):
    """Country-to-country learning between linked national bodies."""

    enabled: bool = Field(True, description="Linked national bodies share guidance.")
    interval_months: int = P(6, 1, 120, unit="months", description="Months between exchanges.")
    fidelity: float = P(
        0.8, 0.0, 1.0, description="Chance a partner's guidance item is taken over at an exchange."
    )


def learn_from(
    body: NationalBody, partner: NationalBody, uniform: np.ndarray, fidelity: float
) -> int:
    """The body's decision at an exchange: which of its partner's guidance to take over.

    Returns:
        The number of practices taken over.
    """
    m = body.model
    k, dst, src = m.knowledge, body.index, partner.index
    taken = k.guidance[src] & ~k.guidance[dst] & ~k.withdrawn[dst]
    taken &= uniform < fidelity
    k.guidance[dst] |= taken
    revoked = k.guidance[dst] & k.withdrawn[src]
    k.withdrawn[dst] |= k.withdrawn[src]
    k.guidance[dst] &= ~k.withdrawn[dst]
    names = m.catalogue.names
    for practice in np.flatnonzero(taken):
        body.decide(f"took over guidance on {names[practice]}", f"in force in {partner.name}")
    for practice in np.flatnonzero(revoked):
        body.decide(f"withdrew guidance on {names[practice]}", f"withdrawn in {partner.name}")
    return int(taken.sum())


class GlobalLearning(Mechanism):
    """National bodies of linked countries exchange guidance and withdrawals."""

    name = "global_learning"
    outputs = ("global_exchanges", "global_practices_taken")
    decisions = ("takeover",)

    def step(self) -> None:
        """Hold the exchanges due this month, link by link, both ways."""
        m = self.model
        g = m.config.global_learning
        if not g.enabled or not m.config.global_links or m.month % g.interval_months:
            return
        rng = m.streams.draw("global_learning", "takeover")
        names = list(m.world.country_names)
        for a_name, b_name in m.config.global_links:
            a = m.national_agents[names.index(a_name)]
            b = m.national_agents[names.index(b_name)]
            for partner, body in ((a, b), (b, a)):
                taken = learn_from(body, partner, rng.random(m.catalogue.size), g.fidelity)
                self.count("global_exchanges", 1.0)
                self.count("global_practices_taken", taken)
