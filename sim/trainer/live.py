"""A model run stepped live, month by month, for the app and the animation.

:class:`LiveRun` wraps one :class:`~sim.model.model.LearningHealthSystem` with what a viewer
needs after each month: the narrated events, the month's learning flows of the
practice on show, and the QoC and loss-ledger series. :class:`Lockstep` runs copies
of a scenario that differ in any set of levers, month by month together. Both draw
every random number from :mod:`sim.model.streams`, whose streams depend on the seed,
replicate and mechanism only, so the two copies share the staff departures and
every other draw the lever does not change (common random numbers).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.model.ledger import CAUSES
from sim.model.model import LearningHealthSystem
from sim.model.schema import Scenario
from sim.model.state import Source, Stage, in_use
from sim.reporting.palette import CAUSE_COLOURS, CAUSE_EXPLANATIONS, CAUSE_WORDS
from sim.trainer.districts import DistrictSplit
from sim.trainer.levers import LEVER_LABELS, apply_levers, format_value
from sim.trainer.narration import Event, Narrator

__all__ = ["Flows", "LedgerLine", "LiveRun", "Lockstep", "default_practice", "ledger_series"]

#: Most months a month's flows can stay on the map.
MAX_FLOW_MONTHS = 24

#: Most flows kept for drawing per month.
FLOW_LIMIT = 300


@dataclass
class Flows:
    """First news of the practice on show that reached facilities in the last month.

    Attributes:
        facility: Facilities that heard of it.
        source: :class:`~sim.model.state.Source` code of the channel that carried the news.
        peer: For news through the peer network, a tied facility that used the
            practice (-1 otherwise).
        lost: Facilities that lost the practice to turnover this month.
    """

    facility: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    source: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    peer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lost: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class LedgerLine:
    """One cause of the loss ledger as a room reads it.

    Attributes:
        cause: The cause's key (:data:`~sim.model.ledger.CAUSES`).
        words: The cause in words.
        explanation: One line on what a loss to this cause means.
        colour: The cause's fixed colour (:mod:`sim.reporting.palette`).
        lost: Lessons lost to it so far.
        per_100_created: Lessons lost to it per 100 lessons created so far.
        per_practice: Lessons lost to it per practice of the catalogue.
    """

    cause: str
    words: str
    explanation: str
    colour: str
    lost: int
    per_100_created: float
    per_practice: float

    @property
    def absent(self) -> bool:
        """Whether no lesson has been lost to this cause."""
        return self.lost == 0


def default_practice(model: LearningHealthSystem) -> int:
    """The practice shown first: the effective one with the largest mean effect."""
    return int(np.argmax(model.catalogue.effect))


class LiveRun:
    """One replicate of a scenario, stepped month by month with its narration.

    Args:
        scenario: A validated scenario.
        replicate: The replicate (with the seed it fixes every random stream).
        label: A name for this run on screen.
        practice: The practice whose stages and flows are shown (default:
            :func:`default_practice`).

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="t", countries=[{"name": "A", "facilities": 40,
        ...              "districts": 2}])
        >>> run = LiveRun(s)
        >>> run.step(); run.step()
        >>> run.month, len(run.qoc), list(run.lost)[:2]
        (2, 3, ['turnover', 'bottleneck'])
    """

    def __init__(
        self,
        scenario: Scenario,
        replicate: int = 0,
        *,
        label: str = "",
        practice: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.label = label or scenario.name
        self.model = LearningHealthSystem(scenario, replicate)
        self.practice = default_practice(self.model) if practice is None else practice
        self.narrator = Narrator(self.model)
        #: Every event of the run so far, oldest first.
        self.events: list[Event] = []
        self.flows = Flows()
        #: Months a month's news flows stay on the map (the newest first).
        self.flow_months = 1
        self._flow_history: deque[Flows] = deque(maxlen=MAX_FLOW_MONTHS)
        self.qoc: list[float] = [float(self.model.recorder.facility_qoc().mean())]
        self.lost: dict[str, list[int]] = {cause: [0] for cause in CAUSES}
        #: Lessons created so far (trials finished), by month.
        self.created: list[int] = [0]
        #: The latest move of each lever by the model, by (country index, key path).
        self.moved: dict[tuple[int, str], Event] = {}
        self.lever_moves = 0
        #: Districts some programme targets against the rest (``None``: no programme
        #: targets some districts and not others).
        self.split = DistrictSplit.of(self.model)

    @property
    def month(self) -> int:
        """Months simulated so far."""
        return self.model.month

    @property
    def finished(self) -> bool:
        """Whether the scenario's months are all simulated."""
        return self.month >= self.scenario.months

    def step(self) -> None:
        """Simulate one month and update the narration, flows and series."""
        pop = self.model.population
        k = self.practice
        source_before = pop.first_source[:, k].copy()
        stage_before = pop.stage[:, k].copy()
        self.model.step()
        events = self.narrator.after_step()
        self.events.extend(events)
        for event in events:
            if event.kind == "lever":
                self.moved[(event.country, event.lever)] = event
                self.lever_moves += 1
        self.flows = self._flows(source_before, stage_before)
        self._flow_history.appendleft(self.flows)
        row = self.model.recorder.rows[-1]
        self.qoc.append(float(row["qoc"]))
        for cause in CAUSES:
            self.lost[cause].append(int(row[f"lost_{cause}"]))
        self.created.append(int(row["lessons_generated"]))
        if self.split is not None:
            self.split.record()

    def lessons_created(self, group: int | None = None) -> int:
        """Lessons created so far, in the whole run or one group of districts of :attr:`split`."""
        if group is None:
            return self.created[-1]
        if self.split is None:
            raise ValueError("this run has no groups of districts to compare")
        return self.split.lost(group)[0]

    def ledger(self, group: int | None = None) -> list[LedgerLine]:
        """The loss ledger so far, one line per cause, in :data:`CAUSES` order.

        Rates put causes on a common footing: a run where more lessons move loses more
        of them in absolute numbers, but not necessarily a larger share.

        Args:
            group: Only the lessons of one group of districts of :attr:`split`
                (default: the whole run).
        """
        if group is None:
            created = self.created[-1]
            losses = [self.lost[cause][-1] for cause in CAUSES]
        elif self.split is None:
            raise ValueError("this run has no groups of districts to compare")
        else:
            created, losses = self.split.lost(group)
        practices = self.model.catalogue.size
        lines = []
        for cause, lost in zip(CAUSES, losses, strict=True):
            lines.append(
                LedgerLine(
                    cause=cause,
                    words=CAUSE_WORDS[cause],
                    explanation=CAUSE_EXPLANATIONS[cause],
                    colour=CAUSE_COLOURS[cause],
                    lost=lost,
                    per_100_created=100.0 * lost / created if created else 0.0,
                    per_practice=lost / practices,
                )
            )
        return lines

    def _flows(self, source_before: np.ndarray, stage_before: np.ndarray) -> Flows:
        pop, ties = self.model.population, self.model.world.ties
        k = self.practice
        news = np.flatnonzero(
            (source_before == int(Source.NONE)) & (pop.first_source[:, k] != int(Source.NONE))
        )[:FLOW_LIMIT]
        source = pop.first_source[news, k].astype(np.int64)
        users = in_use(pop.stage[:, k]) | in_use(stage_before)
        peer = np.full(news.size, -1, dtype=np.int64)
        for i in np.flatnonzero(source == int(Source.PEER_NETWORK)):
            f = news[i]
            tied = ties.indices[ties.indptr[f] : ties.indptr[f + 1]]
            tied = tied[users[tied]]
            if tied.size:
                peer[i] = tied[0]
        lost = np.flatnonzero(in_use(stage_before) & (pop.stage[:, k] == int(Stage.LOST)))
        return Flows(news, source, peer, lost)

    def lever_now(self, path: str, country: int = 0) -> Any:
        """The value lever ``path`` has now in ``country``, after any move by the model."""
        return self.narrator.levers.value(path, country)

    def set_practice(self, practice: int) -> None:
        """Show another practice from the next month on."""
        if not 0 <= practice < self.model.catalogue.size:
            raise ValueError(f"practice {practice} is not in the catalogue")
        self.practice = practice
        self.flows = Flows()
        self._flow_history.clear()

    def recent_flows(self) -> list[Flows]:
        """The flows of the last :attr:`flow_months` months, the newest first."""
        return list(self._flow_history)[: self.flow_months]


def ledger_series(runs: Sequence[LiveRun], most: int = 4) -> list[tuple[str, LiveRun, int | None]]:
    """The loss ledgers to show: per group of districts where runs have them, else per run.

    Each is a label, its run and its group of districts (``None``: the whole run). Runs
    whose districts are split (:attr:`LiveRun.split`) show a ledger per group, as long
    as there are at most ``most`` ledgers in all; otherwise one ledger per run.
    """
    split: list[tuple[str, LiveRun, int | None]] = []
    for run in runs:
        if run.split is None:
            split.append((run.label, run, None))
        else:
            prefix = f"{run.label}, " if len(runs) > 1 else ""
            split += [(f"{prefix}{label}", run, g) for g, label in enumerate(run.split.labels)]
    if len(split) > most:
        return [(run.label, run, None) for run in runs]
    return split


class Lockstep:
    """Copies of a scenario that differ in some levers (or files), stepped together.

    Args:
        copies: Each copy's label and scenario. The scenarios share seed, months and
            world size, so every copy draws the same random numbers wherever its state is
            the same (common random numbers).
        replicate: The replicate every copy uses.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="t", countries=[{"name": "A", "facilities": 40,
        ...              "districts": 2}])
        >>> pair = Lockstep.lever(s, "turnover.annual", (0.05, 0.4))
        >>> pair.step()
        >>> [run.month for run in pair.runs], [run.label for run in pair.runs]
        ([1, 1], ['Staff who leave each year: 0.05', 'Staff who leave each year: 0.4'])
    """

    def __init__(self, copies: Sequence[tuple[str, Scenario]], replicate: int = 0) -> None:
        self.runs = [LiveRun(scenario, replicate, label=label) for label, scenario in copies]
        practice = self.runs[0].practice
        for run in self.runs:
            run.set_practice(practice)

    @classmethod
    def lever(
        cls,
        scenario: Scenario,
        lever: str,
        values: tuple[Any, Any],
        countries: list[str] | None = None,
        replicate: int = 0,
    ) -> Lockstep:
        """Two copies that differ in one lever only.

        Raises:
            ScenarioError: If either value is not valid for the lever.
        """
        return cls(
            [
                (
                    f"{LEVER_LABELS[lever]}: {format_value(value)}",
                    apply_levers(scenario, {lever: value}, countries),
                )
                for value in values
            ],
            replicate,
        )

    @property
    def month(self) -> int:
        """Months simulated so far (the same for every copy)."""
        return self.runs[0].month

    @property
    def finished(self) -> bool:
        """Whether the scenario's months are all simulated."""
        return self.runs[0].finished

    def step(self) -> None:
        """Simulate one month in every copy."""
        for run in self.runs:
            run.step()

    def set_practice(self, practice: int) -> None:
        """Show another practice in every copy."""
        for run in self.runs:
            run.set_practice(practice)
