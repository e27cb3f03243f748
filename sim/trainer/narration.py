"""Plain-language narration of what happened in a month, read from the model's state.

A :class:`Narrator` keeps a copy of the few state arrays it compares (practice stages,
first news, guidance, the loops' settings and the loss ledger) and, after each
``model.step()``, turns what changed into :class:`Event` lines such as
"Health centre 12, District 3: P04 (kangaroo mother care) lost: its last trained staff
member left". It reads the model and never changes it.

A month at 600 facilities can change hundreds of cells; each kind of event is
therefore narrated for at most ``per_kind`` facilities a month, followed by a count
of the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model.ledger import CAUSES
from sim.model.state import Source, Stage
from sim.reporting.palette import CAUSE_WORDS
from sim.trainer.levers import LEVER_LABELS, LOOP_LEVERS, LeverReader, format_value

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = [
    "Event",
    "Narrator",
    "channel_name",
    "district_label",
    "facility_label",
    "practice_label",
    "practice_labels",
]

LEVEL_LABELS = ("Hospital", "Health centre", "Health post")

#: How the first news of a practice reached a facility, in words.
SOURCE_WORDS = {
    Source.INITIAL: "already in use",
    Source.INNOVATION: "its own QI team's idea",
    Source.PEER_NETWORK: "a peer facility",
    Source.LEARNING_SESSIONS: "a district learning session",
    Source.MESSAGING_GROUP: "the district messaging group",
    Source.EXCHANGE_VISITS: "an exchange visit",
    Source.COACHING: "a district coach",
    Source.GUIDANCE: "national guidance",
}


@dataclass(frozen=True)
class Event:
    """One narrated event.

    Attributes:
        month: The month it happened in.
        kind: A short key (``lost``, ``adopted``, ``trial_failed``, ``losses`` ...).
        text: The sentence shown to people.
        facility: The facility concerned, or -1 for system-level events.
        lever: For a lever the model moved (kind ``lever``), its key path.
        country: The country concerned (index), or -1.
        district: The district concerned (index), or -1.
        practice: The practice concerned (index), or -1.
        cause: The loss-ledger cause the event shows (``turnover`` ...), or ``""``.
        channel: For a facility event, the channel through which the facility first
            heard of the practice (a :class:`~sim.model.state.Source` name in lower
            case, ``learning_sessions`` ...), or ``""``.
    """

    month: int
    kind: str
    text: str
    facility: int = -1
    lever: str = ""
    country: int = -1
    district: int = -1
    practice: int = -1
    cause: str = ""
    channel: str = ""


def channel_name(source: int) -> str:
    """The channel of a :class:`~sim.model.state.Source` code, as events name it.

    Examples:
        >>> channel_name(int(Source.LEARNING_SESSIONS)), channel_name(int(Source.NONE))
        ('learning_sessions', '')
    """
    return Source(source).name.lower() if Source(source) in SOURCE_WORDS else ""


def district_label(model: LearningHealthSystem, district: int) -> str:
    """``District 3`` for generated districts, the file's name otherwise."""
    name = str(model.world.district_names[district])
    countries = model.world.n_countries
    country = model.world.country_names[int(model.world.district_country[district])]
    short = name.removeprefix(f"{country}-")
    match = re.fullmatch(r"D0*(\d+)", short)
    label = f"District {match.group(1)}" if match else short
    return f"{label} ({country})" if countries > 1 else label


def facility_label(model: LearningHealthSystem, facility: int) -> str:
    """``Health centre 12, District 3``: level, number within its district, district.

    The number counts facilities of the district in index order, from 1.
    """
    w = model.world
    district = int(w.facility_district[facility])
    start = int(model.world.district_start[district])
    members = model.world.district_order[start : start + int(model.world.district_size[district])]
    number = int(np.searchsorted(members, facility)) + 1
    level = LEVEL_LABELS[int(w.level[facility])]
    return f"{level} {number}, {district_label(model, district)}"


#: Words that tell apart generated practices of one topic, in turn.
DISTINGUISHING_WORDS = (
    "checklist",
    "bundle",
    "huddle",
    "drill",
    "job aid",
    "audit",
    "mentoring",
    "register",
    "wall chart",
    "simulation",
    "peer review",
    "dashboard",
)

#: Which loss-ledger cause moves each lever in a triple-loop review.
LEVER_CAUSES = {
    "blame.facility": "blame",
    "blame.district": "blame",
    "channels.learning_sessions.interval_months": "no_story",
    "facility_mix.documentation": "no_story",
    "national.routing": "bottleneck",
    "channels.messaging_group.enabled": "no_channel",
}


def practice_labels(names: tuple[str, ...], topics: tuple[str, ...]) -> tuple[str, ...]:
    """A unique, meaningful label for every practice of a catalogue.

    A generated practice (named ``P01``, ``P02`` ...) is its topic plus a distinguishing
    word, taken in turn within the topic, then its code: ``kangaroo mother care bundle
    (P10)``. A practice listed by name keeps its name, with the topic when the name
    does not say it.

    Examples:
        >>> practice_labels(("P01", "P02", "P03"), ("sepsis", "sepsis", "asthma"))
        ('sepsis checklist (P01)', 'sepsis bundle (P02)', 'asthma checklist (P03)')
        >>> practice_labels(("chlorhexidine cord care",), ("newborn care",))
        ('chlorhexidine cord care (newborn care)',)
    """
    labels = []
    seen: dict[str, int] = {}
    for name, topic in zip(names, topics, strict=True):
        if re.fullmatch(r"P\d+", name):
            turn = seen.get(topic, 0)
            seen[topic] = turn + 1
            word = DISTINGUISHING_WORDS[turn % len(DISTINGUISHING_WORDS)]
            if turn >= len(DISTINGUISHING_WORDS):
                word += f" {turn // len(DISTINGUISHING_WORDS) + 1}"
            subject = "" if topic == "general" else f"{topic} "
            labels.append(f"{subject}{word} ({name})")
        elif topic == "general" or topic in name:
            labels.append(name)
        else:
            labels.append(f"{name} ({topic})")
    return tuple(labels)


def practice_label(model: LearningHealthSystem, practice: int) -> str:
    """``kangaroo mother care checklist (P04)``: see :func:`practice_labels`."""
    catalogue = model.catalogue
    return practice_labels(catalogue.names, catalogue.topics)[practice]


@dataclass
class _Snapshot:
    stage: np.ndarray
    first_source: np.ndarray
    trial_story: np.ndarray
    guidance: np.ndarray
    withdrawn: np.ndarray
    package: np.ndarray
    levers: list[dict[str, object]]
    lost: np.ndarray


def _snapshot(model: LearningHealthSystem, reader: LeverReader) -> _Snapshot:
    pop, k = model.population, model.knowledge
    return _Snapshot(
        stage=pop.stage.copy(),
        first_source=pop.first_source.copy(),
        trial_story=pop.trial_story.copy(),
        guidance=k.guidance.copy(),
        withdrawn=k.withdrawn.copy(),
        package=k.package.copy(),
        levers=[reader.values(c) for c in range(model.world.n_countries)],
        lost=model.ledger.lost.copy(),
    )


class Narrator:
    """Turns each month's changes in a model into :class:`Event` lines.

    Args:
        model: The model to narrate; its current state is the starting point.
        per_kind: Most facilities named per kind of event and month.

    Examples:
        >>> from sim.model.model import LearningHealthSystem
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="t", months=6, countries=[{"name": "A", "facilities": 60,
        ...              "districts": 3, "turnover": {"annual": 0.9}}])
        >>> model = LearningHealthSystem(s)
        >>> narrator = Narrator(model)
        >>> events = []
        >>> for _ in range(6):
        ...     model.step()
        ...     events += narrator.after_step()
        >>> any("last trained staff member left" in e.text for e in events)
        True
    """

    def __init__(self, model: LearningHealthSystem, per_kind: int = 4) -> None:
        self.model = model
        self.per_kind = per_kind
        self.levers = LeverReader(model)
        self.practices = practice_labels(model.catalogue.names, model.catalogue.topics)
        self._before = _snapshot(model, self.levers)
        self._decisions_seen = len(model.decisions)

    def after_step(self) -> list[Event]:
        """The events of the month just simulated (call once after each step)."""
        before, now = self._before, _snapshot(self.model, self.levers)
        self._before = now
        events = self._losses(before, now)
        events += self._facility_events(before, now)
        events += self._system_events(before, now)
        events += self._lever_moves(before, now)
        return events

    def _lever_moves(self, before: _Snapshot, now: _Snapshot) -> list[Event]:
        """A line for each lever a decision of the month moved, with the decision's reason."""
        m = self.model
        decisions = m.decisions[self._decisions_seen :]
        self._decisions_seen = len(m.decisions)
        names = list(m.world.country_names)
        events = []
        for decision in decisions:
            c = names.index(decision.country)
            where = f"{decision.country}: " if len(names) > 1 else ""
            for path in decision.levers:
                old, new = before.levers[c].get(path), now.levers[c].get(path)
                if path not in LOOP_LEVERS or old == new:
                    continue
                text = (
                    f"{where}The {decision.agent} moved a lever: {LEVER_LABELS[path]} "
                    f"{format_value(old)} -> {format_value(new)}, because {decision.reason}"
                )
                cause = LEVER_CAUSES.get(path, "")
                events.append(Event(m.month, "lever", text, lever=path, country=c, cause=cause))
        return events

    # ------------------------------------------------------------------ parts
    def _losses(self, before: _Snapshot, now: _Snapshot) -> list[Event]:
        """One line per cause that lost lessons this month (per country in a world)."""
        lost = now.lost - before.lost
        names = self.model.world.country_names
        events = []
        for c, row in enumerate(lost):
            where = f"{names[c]}: " if len(names) > 1 else ""
            for cause, n in zip(CAUSES, row, strict=True):
                if n > 0:
                    plural = "s" if n != 1 else ""
                    text = f"{where}{int(n)} lesson{plural} lost this month to {CAUSE_WORDS[cause]}"
                    events.append(Event(self.model.month, "losses", text, country=c, cause=cause))
        return events

    def _facility_events(self, before: _Snapshot, now: _Snapshot) -> list[Event]:
        old, new = before.stage, now.stage
        adopted, trial = int(Stage.ADOPTED), int(Stage.TRIAL)
        institutionalised, rejected = int(Stage.INSTITUTIONALISED), int(Stage.REJECTED)
        in_use_before = (old == adopted) | (old == institutionalised)
        kinds = (
            ("lost", (old == adopted) & (new == int(Stage.LOST))),
            ("dropped", in_use_before & (new == rejected)),
            ("trial_failed", (old == trial) & (new == rejected)),
            ("adopted", (old == trial) & (new == adopted)),
            ("institutionalised", (old == adopted) & (new == institutionalised)),
            ("trial_started", (old != trial) & (new == trial)),
        )
        events: list[Event] = []
        for kind, cells in kinds:
            events += self._name_cells(kind, cells, before, now)
        return events

    def _name_cells(
        self, kind: str, cells: np.ndarray, before: _Snapshot, now: _Snapshot
    ) -> list[Event]:
        f, k = np.nonzero(cells)
        if f.size == 0:
            return []
        month = self.model.month
        w = self.model.world
        events = []
        for a, b in zip(f[: self.per_kind], k[: self.per_kind], strict=True):
            cause = ""
            if kind == "lost":
                cause = "turnover"
            elif kind == "trial_failed" and not before.trial_story[a, b]:
                cause = "no_story"
            events.append(
                Event(
                    month,
                    kind,
                    self._sentence(kind, int(a), int(b), before, now),
                    facility=int(a),
                    country=int(w.facility_country[a]),
                    district=int(w.facility_district[a]),
                    practice=int(b),
                    cause=cause,
                    channel=channel_name(int(now.first_source[a, b])),
                )
            )
        if f.size > self.per_kind:
            events.append(
                Event(
                    month,
                    kind,
                    f"... and {f.size - self.per_kind} more like it this month",
                    cause="turnover" if kind == "lost" else "",
                )
            )
        return events

    def _sentence(self, kind: str, f: int, k: int, before: _Snapshot, now: _Snapshot) -> str:
        m = self.model
        where, what = facility_label(m, f), self.practices[k]
        if kind == "lost":
            return f"{where}: {what} lost: its last trained staff member left"
        if kind == "dropped":
            return f"{where}: stopped {what}: its own data show it does not work here"
        if kind == "trial_failed":
            how = " (tried without a how-to story)" if not before.trial_story[f, k] else ""
            return f"{where}: trial of {what} did not work here{how}"
        if kind == "adopted":
            return f"{where}: trial of {what} worked; now in use"
        if kind == "institutionalised":
            return f"{where}: {what} institutionalised: it no longer depends on who stays"
        heard = before.first_source[f, k] == int(Source.NONE)
        source = Source(int(now.first_source[f, k]))
        if heard and source in SOURCE_WORDS:
            return (
                f"{where}: started a trial of {what}, first heard of through {SOURCE_WORDS[source]}"
            )
        return f"{where}: started a trial of {what}"

    def _system_events(self, before: _Snapshot, now: _Snapshot) -> list[Event]:
        m = self.model
        names = m.world.country_names
        many = len(names) > 1
        month = m.month
        events: list[Event] = []

        def country(c: int) -> str:
            return f"{names[c]}: " if many else ""

        for label, old, new in (
            ("national guidance issued on", before.guidance, now.guidance),
            ("guidance withdrawn (it failed in use):", before.withdrawn, now.withdrawn),
            ("the learning centre packaged", before.package, now.package),
        ):
            fresh = new & ~old
            for c, k in zip(*np.nonzero(fresh), strict=True):
                what = self.practices[int(k)]
                text = f"{country(int(c))}{label} {what}"
                events.append(Event(month, "system", text, country=int(c), practice=int(k)))
        return events
