"""Mesa agents: identities and views on the population arrays.

Agents hold no state of their own beyond their index: every attribute reads the
arrays of the model, so inspecting an agent always shows the current state and the
monthly kernels never have to visit agents one by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.state import Stage, in_use
from sim.model.world import LEVELS

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["District", "Facility", "LearningCentre", "NationalBody"]


def _names(model: LearningHealthSystem, row: np.ndarray) -> list[str]:
    """Names of the practices flagged in ``row`` (one flag per practice)."""
    return [model.catalogue.names[k] for k in np.flatnonzero(row)]


class Facility(mesa.Agent):
    """A hospital, health centre or health post.

    Args:
        model: The model.
        index: The facility's row in every facility array.
    """

    model: LearningHealthSystem

    def __init__(self, model: LearningHealthSystem, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def facility_id(self) -> str:
        """External id (from the facility list, or generated)."""
        return str(self.model.world.facility_ids[self.index])

    @property
    def level(self) -> str:
        """Hospital, health centre or health post."""
        return LEVELS[int(self.model.world.level[self.index])]

    @property
    def sector(self) -> str:
        """Public or private."""
        return "private" if self.model.world.private[self.index] else "public"

    @property
    def staff(self) -> int:
        """Staff count."""
        return int(self.model.world.staff[self.index])

    @property
    def has_qi_team(self) -> bool:
        """Whether the facility has a QI team."""
        return bool(self.model.world.qi_team[self.index])

    @property
    def district(self) -> District:
        """The facility's district."""
        return self.model.district_agents[int(self.model.world.facility_district[self.index])]

    def stage_of(self, practice: str) -> Stage:
        """Where the facility stands with ``practice`` (by name)."""
        k = self.model.catalogue.names.index(practice)
        return Stage(int(self.model.population.stage[self.index, k]))

    @property
    def practices_in_use(self) -> list[str]:
        """Names of the practices the facility uses."""
        row = in_use(self.model.population.stage[self.index])
        return _names(self.model, row)

    @property
    def qoc(self) -> float:
        """The facility's QoC index this month (0-1)."""
        return float(self.model.recorder.facility_qoc()[self.index])


class District(mesa.Agent):
    """A district health office and its QI team."""

    model: LearningHealthSystem

    def __init__(self, model: LearningHealthSystem, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def name(self) -> str:
        """District name."""
        return str(self.model.world.district_names[self.index])

    @property
    def country(self) -> NationalBody:
        """The national body of the district's country."""
        return self.model.national_agents[int(self.model.world.district_country[self.index])]

    @property
    def facility_indices(self) -> np.ndarray:
        """Indices of the district's facilities."""
        return np.flatnonzero(self.model.world.facility_district == self.index)

    @property
    def known_successes(self) -> list[str]:
        """Practices the district knows to have worked somewhere."""
        row = self.model.knowledge.district_success[self.index]
        return _names(self.model, row)

    @property
    def coaching_weight(self) -> float:
        """Share of effort on coaching relative to sessions (1 = as planned)."""
        return float(self.model.coaching_weight[self.index])


class LearningCentre(mesa.Agent):
    """A university or implementing partner that synthesises and packages lessons."""

    model: LearningHealthSystem

    def __init__(self, model: LearningHealthSystem, country_index: int) -> None:
        super().__init__(model)
        self.country_index = country_index

    @property
    def packaged(self) -> list[str]:
        """Practices the country's learning centres have packaged."""
        row = self.model.knowledge.package[self.country_index]
        return _names(self.model, row)


class NationalBody(mesa.Agent):
    """The ministry of health and national QI team of one country."""

    model: LearningHealthSystem

    def __init__(self, model: LearningHealthSystem, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def name(self) -> str:
        """Country name."""
        return self.model.world.country_names[self.index]

    @property
    def guidance(self) -> list[str]:
        """Practices with national guidance in force."""
        row = self.model.knowledge.guidance[self.index]
        return _names(self.model, row)

    @property
    def queue_length(self) -> int:
        """Items waiting in the national queue."""
        return int(self.model.queue_length()[self.index])

    @property
    def routing(self) -> str:
        """Current routing: centralised or free (the triple loop may change it)."""
        return "free" if self.model.routing_free[self.index] else "centralised"
