"""The learning-health-system model: a :class:`mesa.Model` whose step is one month.

The population's state lives in arrays (:mod:`sim.model.state`); Mesa agents
(:mod:`sim.model.agents`) give every facility, district, learning centre and national
body an identity, and the organisations take their decisions. A month runs the
mechanisms of :data:`sim.model.mechanisms.SCHEDULE` in order (the ODD schedule, see
``docs/model.md``), then records the month's metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import mesa
import numpy as np

from sim.model.agents import Decision, District, Facility, LearningCentre, NationalBody
from sim.model.exposure import Exposure, Offers, offers_of
from sim.model.ledger import LessonLedger, Location
from sim.model.mechanisms import SCHEDULE, Mechanism
from sim.model.mechanisms.trials import close_never_cells, trial_rates
from sim.model.practices import build_catalogue
from sim.model.recorder import OUTPUT_COLUMNS, MonthlyRecorder, zero_outputs
from sim.model.schema import Scenario
from sim.model.state import (
    UNLIMITED,
    Knowledge,
    LearningSystem,
    Population,
    Source,
    Stage,
    WorkArrays,
)
from sim.model.streams import Streams
from sim.model.world import build_world

__all__ = ["UNLIMITED", "LearningHealthSystem", "Month"]


@dataclass
class Month:
    """What the mechanisms of one month tell each other; made afresh every month.

    Attributes:
        model: The model.
        exposures: What each channel made facilities hear (applied by receiving).
        spoke: Facilities that spoke through a horizontal channel.
        spoke_fidelity: The highest fidelity among the channels each facility spoke through.
        presented: Districts that presented their pool of lessons (a meeting, a visit).
        coached: Facilities coached this month.
        answered: Facilities with a pending request for support that a coaching visit
            reached this month (closed by :mod:`sim.model.mechanisms.support_requests`).
        finished_facilities: The facility of each trial read this month (set by
            :mod:`sim.model.mechanisms.trials`).
        finished_success: Whether each trial read this month succeeded.
        programme_on: Per lever (a channel's name): the districts programmes cover this
            month (see :mod:`sim.model.mechanisms.programmes`).
        blame_relief: Per district: how far blame-free culture programmes lower facility
            blame this month.
    """

    model: LearningHealthSystem
    exposures: list[Exposure] = field(default_factory=list)
    spoke: np.ndarray = field(init=False)
    spoke_fidelity: np.ndarray = field(init=False)
    presented: np.ndarray = field(init=False)
    coached: np.ndarray = field(init=False)
    answered: np.ndarray = field(init=False)
    finished_facilities: np.ndarray = field(init=False)
    finished_success: np.ndarray = field(init=False)
    programme_on: dict[str, np.ndarray] = field(default_factory=dict)
    blame_relief: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        w = self.model.world
        self.blame_relief = np.zeros(w.n_districts)
        self.spoke = np.zeros(w.n_facilities, dtype=bool)
        self.spoke_fidelity = np.zeros(w.n_facilities)
        self.presented = np.zeros(w.n_districts, dtype=bool)
        self.coached = np.zeros(w.n_facilities, dtype=bool)
        self.answered = np.zeros(w.n_facilities, dtype=bool)
        self.finished_facilities = np.zeros(0, dtype=np.int64)
        self.finished_success = np.zeros(0, dtype=bool)

    @cached_property
    def offers(self) -> Offers:
        """What facilities would tell this month (read by the channels, which change no stage)."""
        return offers_of(self.model)

    def covered(self, lever: str) -> np.ndarray:
        """Per district: whether a programme funds ``lever`` there this month."""
        found = self.programme_on.get(lever)
        return np.zeros_like(self.presented) if found is None else found

    def facility_blame(self, facilities: np.ndarray) -> np.ndarray:
        """Blame culture at ``facilities``: their country's, less any programme's relief."""
        m = self.model
        w = m.world
        base = m.system.blame_facility[w.facility_country[facilities]]
        return np.maximum(0.0, base - self.blame_relief[w.facility_district[facilities]])

    def speak(self, who: np.ndarray, fidelity: np.ndarray) -> None:
        """Mark ``who`` as having spoken through a channel of ``fidelity`` (per facility)."""
        np.logical_or(self.spoke, who, out=self.spoke)
        np.maximum(self.spoke_fidelity, fidelity, out=self.spoke_fidelity, where=who)


class LearningHealthSystem(mesa.Model):
    """One replicate of a scenario.

    Args:
        scenario: A validated scenario.
        replicate: Replicate index; with the scenario seed it fixes every random stream.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="tiny", months=3,
        ...              countries=[{"name": "A", "districts": 2, "facilities": 40}])
        >>> model = LearningHealthSystem(s, replicate=0)
        >>> model.run()
        >>> len(model.recorder.rows), model.ledger.conserved()
        (3, True)
        >>> [m.name for m in model.mechanisms][:3]
        ['programmes', 'turnover', 'innovation']
    """

    def __init__(self, scenario: Scenario, replicate: int = 0) -> None:
        super().__init__(rng=np.random.SeedSequence(scenario.seed, spawn_key=(replicate, 999)))
        self.config = scenario
        self.replicate = replicate
        self.streams = Streams(scenario.seed, replicate)
        self.catalogue = build_catalogue(
            scenario.practices, self.streams.setup("practices", "catalogue")
        )
        self.world = build_world(scenario, self.streams)
        self.population = Population.empty(
            self.world, self.catalogue, self.streams.setup("practices", "local effects")
        )
        self.knowledge = Knowledge.empty(self.world, self.catalogue)
        self.ledger = LessonLedger(self.world.n_countries)
        self.system = LearningSystem.of(scenario, self.world.n_districts)
        self.trial_rates = trial_rates(self)
        self.work = WorkArrays()
        self.counts: dict[str, float] = zero_outputs()
        self.decisions: list[Decision] = []
        self.month_context = Month(self)
        self._seed_initial_use()
        close_never_cells(self)
        self._create_agents()
        self.recorder = MonthlyRecorder(self)
        self.mechanisms: tuple[Mechanism, ...] = tuple(kind(self) for kind in SCHEDULE)
        undeclared = {o for m in self.mechanisms for o in m.outputs} - set(OUTPUT_COLUMNS)
        if undeclared:
            raise ValueError(f"mechanisms count outputs the recorder lacks: {sorted(undeclared)}")

    # ------------------------------------------------------------------ set-up
    def _seed_initial_use(self) -> None:
        """Effective practices already used by a share of facilities at month 0."""
        share = self.config.practices.initial_adoption
        if share <= 0:
            return
        rng = self.streams.setup("practices", "initial use")
        pop, w = self.population, self.world
        effective = np.flatnonzero(self.catalogue.effect > 0)
        chosen = rng.random((w.n_facilities, effective.size)) < share
        f, j = np.nonzero(chosen)
        k = effective[j]
        pop.stage[f, k] = Stage.ADOPTED
        pop.holders[f, k] = w.staff[f]
        pop.story[f, k] = rng.random(f.size) < w.documentation[f]
        pop.first_source[f, k] = Source.INITIAL

    def _create_agents(self) -> None:
        w = self.world
        self.national_bodies = NationalBody.create_agents(
            self, w.n_countries, index=list(range(w.n_countries))
        )
        self.districts = District.create_agents(
            self, w.n_districts, index=list(range(w.n_districts))
        )
        self.facilities = Facility.create_agents(
            self, w.n_facilities, index=list(range(w.n_facilities))
        )
        self.district_agents: list[District] = self.districts.to_list()
        self.national_agents: list[NationalBody] = self.national_bodies.to_list()
        count = [c.learning_centres.count for c in self.config.countries]
        capacity = [c.learning_centres.capacity for c in self.config.countries]
        centre_country = np.repeat(np.arange(w.n_countries), count)
        self.learning_centres = LearningCentre.create_agents(
            self,
            int(centre_country.size),
            country_index=centre_country.tolist(),
            capacity=[capacity[c] for c in centre_country],
        )
        self._centres: list[list[LearningCentre]] = [[] for _ in range(w.n_countries)]
        for centre in self.learning_centres:
            self._centres[centre.country_index].append(centre)

    def centres_of(self, country: int) -> list[LearningCentre]:
        """The learning centres of ``country``."""
        return self._centres[country]

    # ------------------------------------------------------------------ schedule
    @property
    def month(self) -> int:
        """The month being (or last) simulated, from 1."""
        return int(self.steps)

    def run(self) -> None:
        """Simulate every month of the scenario."""
        for _ in range(self.config.months):
            self.step()

    def step(self) -> None:
        """Simulate one month: every mechanism in its turn, then the month's metrics."""
        self.streams.month = self.month
        self.counts = zero_outputs()
        self.month_context = Month(self)
        for mechanism in self.mechanisms:
            mechanism.step()
        self.recorder.record()

    # ------------------------------------------------------------------ inspection
    def queue_length(self) -> np.ndarray:
        """Items waiting in each country's national queue."""
        return self.ledger.held_at(Location.NATIONAL_QUEUE)
