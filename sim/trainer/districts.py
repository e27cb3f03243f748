"""Districts of one run compared: a channel funded in chosen districts, and what it did there.

A trainer shows the classic contrast in one run: one district with a learning channel
funded and one without. :func:`fund_in_districts` turns the choice into a programme of
the country (:mod:`sim.model.mechanisms.programmes`): the channel is switched off for the
country as a whole and funded, from month 1 to the end, in the chosen districts only.
:class:`DistrictSplit` follows a live run's districts in two groups, the districts some
programme targets and the rest, with the QoC and the loss ledger of each, computed
from the model's arrays (indexed by ``world.facility_district``) each month.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.model.mechanisms.programmes import LEVERS, district_names
from sim.model.schema import Scenario
from sim.trainer.levers import LEVER_LABELS
from sim.trainer.narration import district_label

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = [
    "CHANNELS",
    "DistrictSplit",
    "channel_words",
    "country_districts",
    "district_words",
    "fund_in_districts",
    "funded_districts",
]

#: The channels a trainer can fund district by district (programme levers that are
#: channels with an on/off switch of their own).
CHANNELS: tuple[str, ...] = tuple(
    lever for lever in LEVERS if f"channels.{lever}.enabled" in LEVER_LABELS
)

#: The name of the programme the trainer's per-district choice adds.
PROGRAMME_NAME = "{channel} in the districts chosen"

#: Most target districts named in a group's label (more are counted).
NAMED_DISTRICTS = 3


def channel_words(channel: str) -> str:
    """A channel as a room reads it.

    Examples:
        >>> channel_words("learning_sessions"), channel_words("coaching")
        ('District learning sessions', 'District coaching visits')
    """
    return LEVER_LABELS[f"channels.{channel}.enabled"]


def district_words(name: str) -> str:
    """A district's name as a room reads it (``D003`` -> ``District 3``; others as given).

    Examples:
        >>> district_words("D003"), district_words("Kasama")
        ('District 3', 'Kasama')
    """
    match = re.fullmatch(r"D0*(\d+)", name)
    return f"District {match.group(1)}" if match else name


def country_districts(scenario: Scenario, country: int = 0) -> list[str]:
    """The names of a country's districts, as programmes name them (``D001`` ...)."""
    return district_names(scenario.countries[country])


def funded_districts(scenario: Scenario, channel: str, country: int = 0) -> list[str]:
    """The districts the country's programmes fund ``channel`` in, by name.

    Programmes that target a share of districts (drawn at random) are not listed.
    """
    named: list[str] = []
    for programme in scenario.countries[country].programmes:
        if programme.lever == channel:
            named += [d for d in programme.districts or () if d not in named]
    return named


def fund_in_districts(
    scenario: Scenario,
    channel: str,
    districts: Sequence[str],
    country: int = 0,
    *,
    source: str = "app",
) -> Scenario:
    """Return ``scenario`` with ``channel`` funded in ``districts`` of one country only.

    The country's own switch of the channel is turned off and its programmes of that
    channel are replaced by one that funds it in ``districts`` from month 1 to the end
    of the run (none: the channel runs nowhere in the country).

    Raises:
        ScenarioError: If the channel or a district is unknown.

    Examples:
        >>> s = Scenario(name="x", countries=[{"name": "A", "districts": 3}])
        >>> funded = fund_in_districts(s, "learning_sessions", ["D002"])
        >>> c = funded.countries[0]
        >>> c.channels.learning_sessions.enabled, [p.districts for p in c.programmes]
        (False, [['D002']])
    """
    problems = []
    if channel not in CHANNELS:
        problems.append(
            Problem(source, "channel", channel, "no such channel", f"choose one of {CHANNELS}")
        )
    known = country_districts(scenario, country)
    problems += [
        Problem(source, "districts", d, "no such district", f"choose among {known}")
        for d in districts
        if d not in known
    ]
    if problems:
        raise ScenarioError(problems)
    data = scenario.model_dump()
    place = data["countries"][country]
    place["channels"][channel]["enabled"] = False
    place["programmes"] = [p for p in place["programmes"] if p["lever"] != channel]
    if districts:
        place["programmes"].append(
            {
                "name": PROGRAMME_NAME.format(channel=channel_words(channel)),
                "lever": channel,
                "districts": list(districts),
            }
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(
            [
                Problem(source, ".".join(str(p) for p in d["loc"]), d.get("input"), d["msg"],
                        "choose other districts")
                for d in error.errors()
            ]
        ) from error  # fmt: skip


def _targeted(model: LearningHealthSystem) -> tuple[np.ndarray, list[str]]:
    """Districts some programme targets (a mask), and the levers that target them."""
    targeted = np.zeros(model.world.n_districts, dtype=bool)
    levers: list[str] = []
    for mechanism in model.mechanisms:
        for programme, order in getattr(mechanism, "plans", ()):
            if order.size:
                targeted[order] = True
                if programme.lever not in levers:
                    levers.append(programme.lever)
    return targeted, levers


class DistrictSplit:
    """A run's districts in two groups: those some programme targets, and the rest.

    Each month (:meth:`record`) it adds each group's mean QoC over its facilities; the
    loss ledger of a group (:meth:`lost`) comes from the ledger's tallies by district.
    Everything is a reduction over arrays indexed by the facility's district.

    Args:
        model: The model, at month 0.

    Attributes:
        labels: Each group's name on screen, the targeted districts first.
        districts: Each group's district indices.
        qoc: Each group's mean QoC by month (month 0 first).

    Examples:
        >>> s = Scenario(name="t", countries=[{"name": "A", "facilities": 40,
        ...     "districts": 4, "programmes": [{"name": "p", "lever": "coaching",
        ...     "districts": ["D002"]}]}])
        >>> from sim.model.model import LearningHealthSystem
        >>> split = DistrictSplit.of(LearningHealthSystem(s))
        >>> split.labels
        ['District 2 (coaching funded)', 'District 1, District 3, District 4 (no programme)']
        >>> [d.tolist() for d in split.districts]
        [[1], [0, 2, 3]]
    """

    def __init__(
        self, model: LearningHealthSystem, targeted: np.ndarray, levers: list[str]
    ) -> None:
        self.model = model
        w = model.world
        self.districts = [np.flatnonzero(targeted), np.flatnonzero(~targeted)]
        what = " and ".join(lever.replace("_", " ") for lever in levers)
        rest = self.districts[1]
        self.labels = [
            f"{self._named(self.districts[0])} ({what} funded)",
            "Other districts"
            if rest.size > NAMED_DISTRICTS
            else f"{self._named(rest)} (no programme)",
        ]
        self._group = np.where(targeted[w.facility_district], 0, 1)
        size = np.bincount(self._group, minlength=2).astype(float)
        self._size = np.maximum(size, 1.0)
        self.qoc: list[list[float]] = [[], []]
        self.record()

    def _named(self, districts: np.ndarray) -> str:
        """The districts by name, or counted when there are many."""
        if districts.size > NAMED_DISTRICTS:
            return f"{districts.size} districts"
        return ", ".join(district_label(self.model, int(d)) for d in districts)

    @classmethod
    def of(cls, model: LearningHealthSystem) -> DistrictSplit | None:
        """The split of ``model``'s districts, or ``None`` where it has nothing to compare.

        That is, when no programme targets a district, or programmes target every one.
        """
        targeted, levers = _targeted(model)
        if not targeted.any() or targeted.all():
            return None
        return cls(model, targeted, levers)

    def record(self) -> None:
        """Add this month's mean QoC of each group."""
        qoc = self.model.recorder.facility_qoc()
        sums = np.bincount(self._group, weights=qoc, minlength=2)
        for i, value in enumerate(sums / self._size):
            self.qoc[i].append(float(value))

    def lost(self, group: int) -> tuple[int, list[int]]:
        """Lessons created so far in a group's districts, and those lost, by cause.

        Causes come in :data:`~sim.model.ledger.CAUSES` order.
        """
        generated, lost = self.model.ledger.by_district(self.model.world.n_districts)
        rows = self.districts[group]
        return int(generated[rows].sum()), [int(n) for n in lost[rows].sum(axis=0)]
