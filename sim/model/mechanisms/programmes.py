"""Programmes: a lever switched on for some districts, from a start month to the end of support.

A country's ``programmes`` list funds district channels (learning sessions, messaging
groups, exchange visits, coaching, upward reporting, district exchange, community of
practice) in target districts for a time, as a ministry rolls out an investment:

* **when**: support runs from ``start`` to ``end`` (months, both included; no ``end``:
  to the end of the run);
* **where**: the named ``districts``, or a ``share`` of the country's districts drawn
  once per replicate, or every district;
* **how fast**: with ``ramp_up_months`` above 0, the target districts join in a random
  order drawn once, so that after ``r`` months of a ramp-up of ``R`` months
  ``ceil(n * r / R)`` of the ``n`` targets are covered.

Two programmes work on the facilities of the districts they cover rather than run a
channel, each with its dose:

* ``blame_free_culture`` lowers facility blame culture by ``reduction`` (not below 0)
  while it supports a district; the trial's blame filter and the fear that holds back
  innovation read the lowered value there. Overlapping programmes do not add up: a
  district gets the largest reduction covering it. When support ends, blame returns to
  the country's value (culture is not assumed to outlast the programme).
* ``documentation_training`` raises the chance that facilities write a lesson's story to
  ``documentation`` (never lowers it) in the month the programme first covers their
  district; the skill stays after support ends.

Each month, before any channel runs, this mechanism marks the districts every programme
covers (:meth:`sim.model.model.Month.covered`); a channel runs in a district when its
country switches it on for the whole run (``channels.<lever>.enabled``) *or* a
programme covers the district, in the months its interval falls on. A programme for a
lever its country already runs everywhere changes nothing, and ``lhsim validate`` says
so. Outside support the channel stops; what facilities learned stays and fades as
everything else does, so sustainment after the end of support is an outcome of the run.
Activities (sessions attended, visits, group months) are costed as they happen, and the
programme's own management is charged per covered district and month
(``costs.programme_support_per_district_month``); facility programmes are charged by
their dose: blame reduction per facility-month and tenth of reduction, documentation
training per facility trained.

Targets and roll-out orders are setup decisions keyed by the country and the
programme's name, so adding a programme leaves every other programme's districts and
every other mechanism's random numbers unchanged.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, Self, get_args

import numpy as np
from pydantic import Field, model_validator

from sim.model.mechanisms.base import Mechanism
from sim.model.parameters import P, Section
from sim.model.streams import name_key

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem
    from sim.model.schema import Country

__all__ = [
    "CHANNEL_LEVERS",
    "FACILITY_LEVERS",
    "LEVERS",
    "Lever",
    "ProgrammeParameters",
    "Programmes",
    "covered_now",
    "district_names",
    "idle_channel",
    "inert_programmes",
    "unknown_districts",
]

Lever = Literal[
    "learning_sessions",
    "messaging_group",
    "exchange_visits",
    "coaching",
    "upward_reporting",
    "district_exchange",
    "community_of_practice",
    "blame_free_culture",
    "documentation_training",
]
#: Everything a programme can fund, district by district.
LEVERS: tuple[str, ...] = get_args(Lever)
#: The programmes that change facilities' culture or skills rather than run a channel.
FACILITY_LEVERS: tuple[str, ...] = ("blame_free_culture", "documentation_training")
#: The channels a programme can fund (each a mechanism's name).
CHANNEL_LEVERS: tuple[str, ...] = tuple(lever for lever in LEVERS if lever not in FACILITY_LEVERS)
#: The dose each facility programme needs, by lever.
DOSES = {"blame_free_culture": "reduction", "documentation_training": "documentation"}


class ProgrammeParameters(Section):
    """One funded programme: a district channel in target districts for a time."""

    name: str = Field(min_length=1, description="Programme name, unique in its country.")
    lever: Lever = Field(description="The channel the programme funds.")
    start: int = P(1, 1, 1200, unit="month", description="First month of support (1 = the first).")
    end: int | None = P(
        None, 1, 1200, unit="month", description="Last month of support; none: to the end."
    )
    ramp_up_months: int = P(
        0, 0, 1200, unit="months", description="Months until every target district is covered."
    )
    districts: list[str] | None = Field(
        None,
        description="Target districts by name (as in the facility list, or D001, D002... "
        "for generated countries); none: a share, or every district.",
    )
    share: float | None = P(
        None, 0.0, 1.0, description="Share of the country's districts targeted, drawn at random."
    )
    reduction: float | None = P(
        None,
        0.0,
        1.0,
        description="blame_free_culture only (its dose): how far facility blame culture falls "
        "in covered districts while the programme supports them.",
    )
    documentation: float | None = P(
        None,
        0.0,
        1.0,
        description="documentation_training only (its dose): the chance of writing a lesson's "
        "story that facilities of a district reach when the programme first covers it.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for lever, dose in DOSES.items():
            given = getattr(self, dose) is not None
            if self.lever == lever and not given:
                raise ValueError(f"a {lever} programme needs its dose: set {dose} (0-1)")
            if self.lever != lever and given:
                raise ValueError(f"{dose} is the dose of a {lever} programme, not of {self.lever}")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end must not come before start (start {self.start}, end {self.end})")
        if self.districts is not None and self.share is not None:
            raise ValueError("give districts or share, not both")
        if self.districts is not None and len(set(self.districts)) != len(self.districts):
            raise ValueError("districts names a district twice")
        return self


def local_name(full_name: str, country: str) -> str:
    """A district's name without its country's prefix (``A-D001`` -> ``D001``)."""
    prefix = f"{country}-"
    return full_name[len(prefix) :] if full_name.startswith(prefix) else full_name


def covered_now(month: int, start: int, end: int | None, ramp: int, targets: int) -> int:
    """How many of ``targets`` districts a programme covers in ``month``.

    Examples:
        >>> [covered_now(m, 3, 8, 4, 10) for m in range(1, 11)]
        [0, 0, 3, 5, 8, 10, 10, 10, 0, 0]
    """
    if month < start or (end is not None and month > end):
        return 0
    if ramp <= 0:
        return targets
    return min(targets, math.ceil(targets * (month - start + 1) / ramp))


class Programmes(Mechanism):
    """Marks, each month, the districts each programme covers, and applies facility programmes."""

    name = "programmes"
    outputs = ("programme_district_months", "blame_tenth_facility_months", "facilities_trained")
    decisions = ()

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        w = model.world
        self.plans: list[tuple[ProgrammeParameters, np.ndarray]] = []
        for index, country in enumerate(model.config.countries):
            districts = np.flatnonzero(w.district_country == index)
            names = [local_name(str(n), country.name) for n in w.district_names[districts]]
            for programme in country.programmes:
                order = self._targets(programme, country, index, districts, names)
                self.plans.append((programme, order))
        self.district_size = np.bincount(w.facility_district, minlength=w.n_districts)
        # per documentation programme: the districts it has already trained
        self.trained = [np.zeros(w.n_districts, dtype=bool) for _ in self.plans]

    def _targets(
        self,
        programme: ProgrammeParameters,
        country: Country,
        index: int,
        districts: np.ndarray,
        names: list[str],
    ) -> np.ndarray:
        """The target districts (global indices) in the order they join."""
        streams = self.model.streams
        key = name_key(programme.name)
        if programme.districts is not None:
            position = {name: i for i, name in enumerate(names)}
            full = {f"{country.name}-{name}": i for i, name in enumerate(names)}
            chosen = np.array(
                [position.get(n, full.get(n, -1)) for n in programme.districts], dtype=np.int64
            )
            if (chosen < 0).any():
                unknown = [n for n, c in zip(programme.districts, chosen, strict=True) if c < 0]
                raise ValueError(f"programme {programme.name!r}: unknown districts {unknown}")
            targets = districts[chosen]
        elif programme.share is not None:
            rng = streams.setup("programmes", "targets", index, key)
            count = round(programme.share * districts.size)
            targets = np.sort(rng.choice(districts, size=count, replace=False))
        else:
            targets = districts
        rng = streams.setup("programmes", "roll-out order", index, key)
        return rng.permutation(targets)

    def step(self) -> None:
        """Mark this month's covered districts, lever by lever, and apply facility programmes."""
        m = self.model
        month, context = m.month, m.month_context
        total, tenths, trained = 0, 0.0, 0
        for plan, (programme, order) in enumerate(self.plans):
            count = covered_now(
                month, programme.start, programme.end, programme.ramp_up_months, order.size
            )
            if not count:
                continue
            districts = order[:count]
            total += count
            if programme.lever == "blame_free_culture":
                dose = float(programme.reduction or 0.0)
                np.maximum.at(context.blame_relief, districts, dose)
                tenths += dose / 0.1 * float(self.district_size[districts].sum())
            elif programme.lever == "documentation_training":
                new = districts[~self.trained[plan][districts]]
                self.trained[plan][new] = True
                trained += self._train(new, float(programme.documentation or 0.0))
            else:
                lever = context.programme_on.setdefault(
                    programme.lever, np.zeros(m.world.n_districts, dtype=bool)
                )
                lever[districts] = True
        self.count("programme_district_months", float(total))
        self.count("blame_tenth_facility_months", tenths)
        self.count("facilities_trained", float(trained))

    def _train(self, districts: np.ndarray, level: float) -> int:
        """Raise documentation in ``districts`` to ``level``; how many facilities were trained."""
        if districts.size == 0:
            return 0
        w = self.model.world
        members = np.isin(w.facility_district, districts)
        np.maximum(w.documentation, np.where(members, level, 0.0), out=w.documentation)
        return int(members.sum())


def district_names(country: Country) -> list[str]:
    """The local names of ``country``'s districts, as programmes name them."""
    if country.facility_file is None:
        return [f"D{d + 1:03d}" for d in range(country.districts)]
    from sim.model.facility_list import read_facility_table

    table = read_facility_table(country.facility_file, country.edge_file)
    return sorted({str(name) for name in table.district.tolist()})


def unknown_districts(
    programme: ProgrammeParameters, country: Country, known: list[str]
) -> list[str]:
    """The districts ``programme`` names that ``country`` does not have."""
    names = set(known) | {f"{country.name}-{name}" for name in known}
    return [name for name in programme.districts or () if name not in names]


def idle_channel(country: Country, channel: str) -> str | None:
    """Why a channel's settings act on nothing in ``country``, or ``None`` if they can act.

    A channel acts where it is on or a programme funds it; the community of practice
    meets only around a learning centre.

    Examples:
        >>> from sim.model.schema import Country
        >>> print(idle_channel(Country(name="A"), "community_of_practice"))
        ... # doctest: +NORMALIZE_WHITESPACE
        the community of practice meets around a learning centre, and A has none
        (learning_centres.count is 0)
        >>> idle_channel(Country(name="A", learning_centres={"count": 1}), "coaching") is None
        True
    """
    funded = any(programme.lever == channel for programme in country.programmes)
    if not getattr(country.channels, channel).enabled and not funded:
        return f"channels.{channel} is off in {country.name} and no programme funds it"
    if channel == "community_of_practice" and not country.learning_centres.count:
        return (
            f"the community of practice meets around a learning centre, and {country.name} "
            "has none (learning_centres.count is 0)"
        )
    return None


def inert_programmes(country: Country) -> list[tuple[int, str]]:
    """Programmes that can change nothing, with the reason (index in ``country.programmes``).

    A programme funds a channel in some districts; where the country already runs the
    channel in every district for the whole run, it adds nothing. A blame-free culture
    programme with no reduction, or where there is no facility blame, and a documentation
    programme whose level is 0 change nothing either.

    Examples:
        >>> from sim.model.schema import Country
        >>> c = Country(name="A", programmes=[{"name": "p", "lever": "coaching"}])
        >>> index, reason = inert_programmes(c)[0]
        >>> index, reason.startswith("channels.coaching.enabled is already true")
        (0, True)
    """
    found = []
    for index, programme in enumerate(country.programmes):
        if programme.lever == "blame_free_culture" and not (
            programme.reduction and country.blame.facility > 0
        ):
            found.append(
                (
                    index,
                    f"facility blame in {country.name} is {country.blame.facility:g} and the "
                    f"programme lowers it by {programme.reduction:g}, so nothing changes; give "
                    "a reduction above 0 where there is blame to lower",
                )
            )
        elif programme.lever == "documentation_training" and not programme.documentation:
            found.append((index, "a documentation level of 0 raises no facility's documentation"))
        elif (
            programme.lever in CHANNEL_LEVERS and getattr(country.channels, programme.lever).enabled
        ):
            found.append(
                (
                    index,
                    f"channels.{programme.lever}.enabled is already true in {country.name}, "
                    "so the channel runs in every district for the whole run; switch it off "
                    "there to let the programme decide where and when it runs",
                )
            )
    return found
