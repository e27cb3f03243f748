"""Mesa agents: facilities (views on the arrays) and the organisations that decide.

**Facilities** hold no state of their own beyond their index: every attribute reads the
population arrays, so inspecting one always shows the current state, and the monthly
kernels never visit facilities one by one (a national run has 200,000 facilities and
millions of facility-practice cells; a Python call per facility per month would cost
more than the whole month's compiled work).

**Districts, learning centres and national bodies** are few (hundreds at most), and they
take the coarse decisions of the model themselves: a district plans its coaching visits
and shifts effort between coaching and sessions (double loop); a learning centre works
through its queue and packages practices; a national body works through its queue,
issues and withdraws guidance, takes guidance from partner countries and, where the
country has no learning centre, reviews the learning system (triple loop). Each decision
rule is written once, in the mechanism module of its submodel
(:mod:`sim.model.mechanisms`), which steps the agents through Mesa's ``AgentSet.do``.
What an organisation may change during a run (a district's coaching weight, a country's
routing, culture and channels) lives in :class:`sim.model.state.LearningSystem`, indexed
like the agents, so the kernels can read it as arrays; the agents' properties read and
write their own entry. Every decision is recorded with its reason
(:class:`Decision`): ``agent.decisions`` lists an agent's own, ``model.decisions`` all.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.ledger import Location
from sim.model.state import Stage, in_use
from sim.model.world import LEVELS

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["Decision", "District", "Facility", "LearningCentre", "NationalBody", "Organisation"]


def _names(model: LearningHealthSystem, row: np.ndarray) -> list[str]:
    """Names of the practices flagged in ``row`` (one flag per practice)."""
    return [model.catalogue.names[k] for k in np.flatnonzero(row)]


@dataclass(frozen=True)
class Decision:
    """One decision an organisation took: when, who, what, and why.

    Attributes:
        month: The month it was taken.
        agent: Who took it (``"district Demo-D003"``, ``"national body of Demo"``).
        country: The country of the agent.
        decision: What was decided, in words.
        reason: Why, with the figures the rule read.
        levers: Key paths, inside a country, of the scenario parameters the decision
            changed (``blame.facility``); empty when it changed none.
    """

    month: int
    agent: str
    country: str
    decision: str
    reason: str
    levers: tuple[str, ...] = ()


class Facility(mesa.Agent):
    """A hospital, health centre or health post (a view on the population arrays).

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


class Organisation(mesa.Agent, abc.ABC):
    """An agent that takes decisions and keeps a record of them."""

    model: LearningHealthSystem

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.decisions: list[Decision] = []

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """How the agent is named in its decisions."""

    @property
    @abc.abstractmethod
    def country_index(self) -> int:
        """Index of the agent's country."""

    @property
    def country_name(self) -> str:
        """The agent's country."""
        return self.model.world.country_names[self.country_index]

    def decide(self, decision: str, reason: str, levers: tuple[str, ...] = ()) -> Decision:
        """Record a decision taken this month, with its reason and the parameters it moved."""
        made = Decision(self.model.month, self.label, self.country_name, decision, reason, levers)
        self.decisions.append(made)
        self.model.decisions.append(made)
        return made


class District(Organisation):
    """A district health office and its QI team."""

    def __init__(self, model: LearningHealthSystem, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def name(self) -> str:
        """District name."""
        return str(self.model.world.district_names[self.index])

    @property
    def label(self) -> str:
        """How the district is named in its decisions."""
        return f"district {self.name}"

    @property
    def country_index(self) -> int:
        """Index of the district's country."""
        return int(self.model.world.district_country[self.index])

    @property
    def country(self) -> NationalBody:
        """The national body of the district's country."""
        return self.model.national_agents[self.country_index]

    @property
    def facility_indices(self) -> np.ndarray:
        """Indices of the district's facilities."""
        return np.flatnonzero(self.model.world.facility_district == self.index)

    @property
    def known_successes(self) -> list[str]:
        """Practices the district knows to have worked somewhere."""
        return _names(self.model, self.model.knowledge.district_success[self.index])

    @property
    def coaching_weight(self) -> float:
        """Share of effort on coaching relative to sessions (1 = as planned; double loop)."""
        return float(self.model.system.coaching_weight[self.index])

    @coaching_weight.setter
    def coaching_weight(self, value: float) -> None:
        self.model.system.coaching_weight[self.index] = value

    @property
    def coaching_visits(self) -> int:
        """Coaching visits the district planned in the latest month coaching ran."""
        return int(self.model.system.coaching_visits[self.index])


class LearningCentre(Organisation):
    """A university or implementing partner that synthesises and packages lessons.

    Args:
        model: The model.
        country_index: The centre's country.
        capacity: Items it processes a month.
    """

    def __init__(self, model: LearningHealthSystem, country_index: int, capacity: int) -> None:
        super().__init__(model)
        self._country = country_index
        self.capacity = capacity
        self.processed = 0

    @property
    def label(self) -> str:
        """How the centre is named in its decisions."""
        return f"learning centre {self.unique_id} of {self.country_name}"

    @property
    def country_index(self) -> int:
        """Index of the centre's country."""
        return self._country

    @property
    def packaged(self) -> list[str]:
        """Practices the country's learning centres have packaged."""
        return _names(self.model, self.model.knowledge.package[self.country_index])


class NationalBody(Organisation):
    """The ministry of health and national QI team of one country."""

    def __init__(self, model: LearningHealthSystem, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.processed = 0
        self.expired = 0

    @property
    def name(self) -> str:
        """Country name."""
        return self.model.world.country_names[self.index]

    @property
    def label(self) -> str:
        """How the national body is named in its decisions."""
        return f"national body of {self.name}"

    @property
    def country_index(self) -> int:
        """Index of the body's country (its own index)."""
        return self.index

    @property
    def guidance(self) -> list[str]:
        """Practices with national guidance in force."""
        return _names(self.model, self.model.knowledge.guidance[self.index])

    @property
    def queue_length(self) -> int:
        """Items waiting in the national queue."""
        return int(self.model.ledger.held_at(Location.NATIONAL_QUEUE)[self.index])

    @property
    def capacity(self) -> int:
        """Items the body processes a month (a very large number for unlimited)."""
        return int(self.model.system.national_capacity[self.index])

    @property
    def routing(self) -> str:
        """Current routing: centralised or free (the triple loop may change it)."""
        return "free" if self.model.system.routing_free[self.index] else "centralised"

    @routing.setter
    def routing(self, value: str) -> None:
        self.model.system.routing_free[self.index] = value == "free"

    @property
    def reviewer(self) -> Organisation:
        """Who reviews the country's learning system: its first learning centre, or itself."""
        centres = self.model.centres_of(self.index)
        return centres[0] if centres else self
