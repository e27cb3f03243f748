"""Fading and ageing: lessons nobody carried fade; everything held ages.

Lessons at a facility or in a district pool whose age reaches ``trials.lesson_shelf_life``
are lost for want of a channel; then every held lesson ages one month.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.ledger import Cause, Location
from sim.model.mechanisms.base import Mechanism, per_country

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["Fading"]


class Fading(Mechanism):
    """Lessons past their shelf life are lost (no channel); the rest grow older."""

    name = "fading"
    loss_cause = Cause.NO_CHANNEL

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.shelf_life = per_country(model, lambda c: c.trials.lesson_shelf_life).astype(np.int64)

    def step(self) -> None:
        """Fade the old lessons; age the rest."""
        ledger = self.model.ledger
        waiting = (ledger.location == Location.FACILITY) | (ledger.location == Location.DISTRICT)
        ledger.lose(waiting & (ledger.age >= self.shelf_life[ledger.country]), Cause.NO_CHANNEL)
        ledger.age_one_month()
