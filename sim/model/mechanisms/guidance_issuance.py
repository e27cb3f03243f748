"""Guidance issuance: national bodies turn evidence into guidance.

A national body issues guidance on a practice when its evidence holds at least
``national.evidence_threshold`` success stories and more successes than failures, or
when a learning centre of the country has packaged it, unless guidance is already in
force or was withdrawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.mechanisms.base import Mechanism, per_country

if TYPE_CHECKING:
    from sim.model.agents import NationalBody
    from sim.model.model import LearningHealthSystem

__all__ = ["GuidanceIssuance", "issue_guidance"]


def issue_guidance(body: NationalBody, thresholds: np.ndarray) -> int:
    """The body's decision: guidance on every practice its evidence (or a package) supports.

    Returns:
        The number of practices on which guidance was issued.
    """
    m = body.model
    k, c = m.knowledge, body.index
    threshold = int(thresholds[c])
    enough = k.evidence_story[c] >= threshold
    mostly_works = k.evidence_success[c] > k.evidence_failure[c]
    new = ((enough & mostly_works) | k.package[c]) & ~k.guidance[c] & ~k.withdrawn[c]
    k.guidance[c] |= new
    for practice in np.flatnonzero(new):
        reason = (
            "packaged by the learning centre"
            if k.package[c, practice] and not (enough[practice] and mostly_works[practice])
            else f"{int(k.evidence_story[c, practice])} success stories (threshold "
            f"{threshold}), {int(k.evidence_success[c, practice])} successes against "
            f"{int(k.evidence_failure[c, practice])} failures"
        )
        body.decide(f"issued guidance on {m.catalogue.names[practice]}", reason)
    return int(new.sum())


class GuidanceIssuance(Mechanism):
    """Each national body decides on new guidance."""

    name = "guidance_issuance"
    outputs = ("guidance_issued",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.threshold = per_country(model, lambda c: c.national.evidence_threshold)

    def step(self) -> None:
        """Ask every national body."""
        issued = self.model.national_bodies.map(issue_guidance, self.threshold)
        self.count("guidance_issued", float(sum(issued)))
