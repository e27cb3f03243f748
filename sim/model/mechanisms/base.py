"""What every mechanism is: a submodel of the ODD that runs once a month, in its turn.

A mechanism (Starsim's modules are the model) owns, in its own module: the typed
parameter section it reads, its random decisions, its compiled kernels, the loss cause
it records and the monthly output columns it counts. ``LearningHealthSystem.step``
runs the mechanisms of :data:`sim.model.mechanisms.SCHEDULE` in order, and the order
is the process schedule of ``docs/model.md`` (a test checks it).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from sim.errors import SimError
from sim.model.ledger import Cause

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem
    from sim.model.schema import Country

__all__ = ["Mechanism", "UndeclaredOutputError", "per_country"]


class UndeclaredOutputError(SimError, KeyError):
    """A mechanism counted an output it does not declare in ``outputs``."""


def per_country(model: LearningHealthSystem, value: Callable[[Country], object]) -> np.ndarray:
    """``value`` of every country of the scenario, as an array indexed by country.

    ``value`` reads a parameter by attribute (``lambda c: c.turnover.annual``), so the
    type checker sees which parameter it is.
    """
    return np.array([value(country) for country in model.config.countries])


class Mechanism(abc.ABC):
    """One submodel: its state, its parameters (read once, typed) and its monthly step.

    Attributes:
        name: The submodel's name: its module and its subsection of ``docs/model.md``.
        outputs: Monthly output columns the mechanism counts (events and activities).
        loss_cause: The loss-ledger cause the mechanism records, if any.
        decisions: The random decisions it takes, each drawing from its own stream.
    """

    name: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]] = ()
    loss_cause: ClassVar[Cause | None] = None
    decisions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: LearningHealthSystem) -> None:
        self.model = model

    @abc.abstractmethod
    def step(self) -> None:
        """Do the month's work of this submodel."""

    def count(self, output: str, value: float) -> None:
        """Add ``value`` to this month's ``output`` column.

        Raises:
            UndeclaredOutputError: If ``output`` is not one of :attr:`outputs`.
        """
        if output not in self.outputs:
            raise UndeclaredOutputError(
                f"mechanism {self.name!r} counts {output!r}, which it does not declare"
            )
        self.model.counts[output] += value

    def per_facility(self, value: Callable[[Country], object]) -> np.ndarray:
        """``value`` of each facility's country, for every facility (read-only)."""
        values = per_country(self.model, value)[self.model.world.facility_country]
        values.setflags(write=False)
        return values

    def runs(self, enabled: np.ndarray, interval: np.ndarray) -> np.ndarray:
        """Per country: whether a channel switched on with ``interval`` runs this month."""
        return enabled & (self.model.month % interval == 0)

    def runs_in_districts(self, enabled: np.ndarray, interval: np.ndarray) -> np.ndarray:
        """Per district: whether this channel runs there this month.

        It runs where its country switches it on (``enabled``, per country) or a
        programme covers the district this month, in the months its country's
        ``interval`` falls on.
        """
        country = self.model.world.district_country
        on = enabled[country] | self.model.month_context.covered(self.name)
        return on & (self.model.month % interval[country] == 0)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} mechanism {self.name!r}>"
