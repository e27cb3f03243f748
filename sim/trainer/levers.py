"""Teaching levers: the country parameters a trainer moves live, and how to apply them.

Each lever is a parameter of :class:`sim.model.schema.Country`; its default, range, unit
and description come from the parameter source of truth (:mod:`sim.model.schema`), so
the app's sliders cannot drift from the model. This module chooses *which* parameters
are levers, gives each a name in plain words (its tooltip is the parameter's
description), sets how far a slider reaches for parameters whose range is far wider than
a workshop needs, and reads the levers the learning loops may move during a run
(:class:`LeverReader`).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.model.parameters import value_at
from sim.model.schema import Country, Scenario, iter_parameters

if typing.TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = [
    "LEVER_PATHS",
    "LOOP_LEVERS",
    "Lever",
    "LeverReader",
    "apply_levers",
    "format_value",
    "lever_value",
    "levers",
]

#: The teaching levers, by their key path inside a country (channel switches are added
#: from the parameter source by :func:`levers`).
LEVER_PATHS: tuple[str, ...] = (
    "turnover.annual",
    "blame.facility",
    "blame.district",
    "blame.national",
    "channels.learning_sessions.interval_months",
    "national.capacity",
    "national.routing",
    "facility_mix.documentation",
    "channels.learning_sessions.fidelity",
    "channels.peer_network.fidelity",
    "channels.upward_reporting.fidelity",
    "channels.guidance.fidelity",
)

#: Each lever's name in plain words, as a room reads it (the tooltip gives the
#: parameter's own description, unit and range).
LEVER_LABELS: dict[str, str] = {
    "turnover.annual": "Staff who leave each year",
    "blame.facility": "Blame culture in facilities",
    "blame.district": "Blame culture in district offices",
    "blame.national": "Blame culture at the national level",
    "channels.learning_sessions.interval_months": "Months between district learning sessions",
    "national.capacity": "Lessons the national office handles a month",
    "national.routing": "Route of lessons between districts",
    "facility_mix.documentation": "Facilities writing down how they did it",
    "channels.learning_sessions.fidelity": "How-to stories kept at learning sessions",
    "channels.peer_network.fidelity": "How-to stories kept between peer facilities",
    "channels.upward_reporting.fidelity": "How-to stories kept in reports upward",
    "channels.guidance.fidelity": "National guidance that says how to do it",
    "channels.internal.enabled": "Staff teach each other inside a facility",
    "channels.peer_network.enabled": "Facilities talk to their peers",
    "channels.learning_sessions.enabled": "District learning sessions",
    "channels.messaging_group.enabled": "District messaging group",
    "channels.exchange_visits.enabled": "Exchange visits between facilities",
    "channels.coaching.enabled": "District coaching visits",
    "channels.upward_reporting.enabled": "Facilities report lessons upward",
    "channels.district_exchange.enabled": "Districts share lessons with each other",
    "channels.guidance.enabled": "National guidance",
    "channels.community_of_practice.enabled": "Community of practice",
}

#: Words shown for the values of a choice.
CHOICE_WORDS: dict[str, str] = {
    "centralised": "through the national queue",
    "free": "directly, district to district",
}

#: Levers the triple loop may move during a run (:mod:`sim.model.mechanisms.triple_loop`).
LOOP_LEVERS: tuple[str, ...] = (
    "blame.facility",
    "blame.district",
    "channels.learning_sessions.interval_months",
    "national.routing",
    "channels.messaging_group.enabled",
    "facility_mix.documentation",
)

#: Where a slider stops for parameters whose valid range is far wider than a workshop
#: needs (the model accepts more; a scenario file may set it).
SLIDER_REACH: dict[str, float] = {
    "national.capacity": 500,
    "channels.learning_sessions.interval_months": 24,
}


@dataclass(frozen=True)
class Lever:
    """One lever as a control: a slider, a switch or a choice.

    Attributes:
        path: Key path inside a country (``turnover.annual``).
        kind: ``"float"``, ``"int"``, ``"bool"`` or ``"choice"``.
        default: The parameter's documented default.
        low: Lowest slider value (``None`` for switches and choices).
        high: Highest slider value (``None`` for switches and choices).
        step: Slider step.
        unit: Unit of the value.
        description: What the parameter means.
        choices: The allowed values of a choice.
        optional: ``None`` is allowed (shown as "unlimited").
    """

    path: str
    kind: str
    default: Any
    low: float | None
    high: float | None
    step: float
    unit: str
    description: str
    choices: tuple[str, ...] = ()
    optional: bool = False

    @property
    def label(self) -> str:
        """The lever's name in plain words, e.g. ``Staff who leave each year``."""
        return LEVER_LABELS[self.path]

    @property
    def tooltip(self) -> str:
        """The parameter's description, with its unit, range and documented default.

        Examples:
            >>> found = {lever.path: lever for lever in levers()}
            >>> found["turnover.annual"].tooltip
            'Annual staff attrition. Unit: per year. Range 0 to 0.9; default 0.21.'
        """
        text = self.description.rstrip(".") + "."
        if self.unit:
            text += f" Unit: {self.unit}."
        if self.kind in ("float", "int"):
            text += f" Range {self.low:g} to {self.high:g}; default {format_value(self.default)}."
        else:
            text += f" Default: {format_value(self.default)}."
        return text


def format_value(value: Any) -> str:
    """A lever value as a room reads it.

    Examples:
        >>> format_value(0.45), format_value(True), format_value(None), format_value("free")
        ('0.45', 'on', 'unlimited', 'directly, district to district')
    """
    if value is None:
        return "unlimited"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, str):
        return CHOICE_WORDS.get(value, value)
    return str(value)


def _field_annotation(path: str) -> Any:
    model: Any = Country
    annotation: Any = None
    for part in path.split("."):
        annotation = model.model_fields[part].annotation
        model = annotation
    return annotation


def _lever(info: Any) -> Lever:
    annotation = _field_annotation(info.path)
    args = typing.get_args(annotation)
    optional = type(None) in args
    if typing.get_origin(annotation) is typing.Literal:
        return Lever(
            info.path, "choice", info.default, None, None, 0, info.unit, info.description, args
        )
    if isinstance(info.default, bool):
        return Lever(info.path, "bool", info.default, None, None, 0, info.unit, info.description)
    high = info.high
    if info.path in SLIDER_REACH:
        high = min(high, SLIDER_REACH[info.path]) if high is not None else SLIDER_REACH[info.path]
    integer = isinstance(info.default, int)
    return Lever(
        path=info.path,
        kind="int" if integer else "float",
        default=info.default,
        low=info.low,
        high=high,
        step=1 if integer else 0.01,
        unit=info.unit,
        description=info.description,
        optional=optional,
    )


def levers() -> list[Lever]:
    """The teaching levers, then every channel's on/off switch, from :mod:`sim.model.schema`.

    Examples:
        >>> found = {lever.path: lever for lever in levers()}
        >>> found["turnover.annual"].kind, found["turnover.annual"].high
        ('float', 0.9)
        >>> found["channels.messaging_group.enabled"].default
        False
        >>> found["national.routing"].choices
        ('centralised', 'free')
    """
    known = {info.path: info for info in iter_parameters(Country)}
    chosen = [_lever(known[path]) for path in LEVER_PATHS]
    switches = [
        _lever(info)
        for path, info in known.items()
        if path.startswith("channels.") and path.endswith(".enabled")
    ]
    return chosen + switches


def lever_value(scenario: Scenario, path: str, country: int = 0) -> Any:
    """The value of lever ``path`` in one country of ``scenario``."""
    return value_at(scenario.countries[country], path)


def apply_levers(
    scenario: Scenario,
    changes: Mapping[str, Any],
    countries: Sequence[str] | None = None,
    *,
    source: str = "app",
) -> Scenario:
    """Return ``scenario`` with the lever values in ``changes`` set, validated again.

    Args:
        scenario: The scenario as loaded.
        changes: Lever values by key path inside a country; only these are changed, so
            countries keep their other differences.
        countries: Names of the countries to change (default: every country).
        source: Where the changes come from, for error messages.

    Returns:
        A new, validated scenario; ``scenario`` itself is not changed.

    Raises:
        ScenarioError: If a value is out of range or a name is unknown.

    Examples:
        >>> s = Scenario(name="x", countries=[{"name": "A"}, {"name": "B"}])
        >>> changed = apply_levers(s, {"turnover.annual": 0.3}, ["B"])
        >>> [c.turnover.annual for c in changed.countries]
        [0.21, 0.3]
    """
    names = [c.name for c in scenario.countries]
    unknown = [n for n in countries or () if n not in names]
    if unknown:
        raise ScenarioError(
            [
                Problem(source, "country", n, "no such country", f"choose one of {names}")
                for n in unknown
            ]
        )
    data = scenario.model_dump()
    known = {info.path for info in iter_parameters(Country)}
    strange = [path for path in changes if path not in known]
    if strange:
        raise ScenarioError(
            [
                Problem(source, path, changes[path], "no such country parameter",
                        "use a key path inside a country, e.g. turnover.annual")
                for path in strange
            ]
        )  # fmt: skip
    for country in data["countries"]:
        if countries is not None and country["name"] not in countries:
            continue
        for path, value in changes.items():
            *parents, last = path.split(".")
            section = country
            for part in parents:
                section = section[part]
            section[last] = value
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(
            [
                Problem(
                    file=source,
                    key=".".join(str(p) for p in detail["loc"]),
                    value=detail.get("input"),
                    message=detail["msg"],
                    fix="move the lever back into its range",
                )
                for detail in error.errors()
            ]
        ) from error


class LeverReader:
    """Reads, from a running model, the value each loop-movable lever has now.

    The triple loop changes the learning system as the run goes
    (:data:`LOOP_LEVERS`): the values live in :class:`sim.model.state.LearningSystem`
    and, for documentation, in every facility's own documentation chance. The lever
    ``facility_mix.documentation`` is a mean; its value now is the scenario's value plus
    the rise of the facilities' mean since month 0.

    Args:
        model: The model, at month 0.

    Examples:
        >>> from sim.model.model import LearningHealthSystem
        >>> s = Scenario(name="t", countries=[{"name": "A", "facilities": 20,
        ...              "districts": 2, "blame": {"facility": 0.7}}])
        >>> reader = LeverReader(LearningHealthSystem(s))
        >>> reader.value("blame.facility", 0), reader.value("national.routing", 0)
        (0.7, 'centralised')
    """

    def __init__(self, model: LearningHealthSystem) -> None:
        self.model = model
        self._documentation_start = self._documentation()

    def _documentation(self) -> np.ndarray:
        w = self.model.world
        total = np.bincount(w.facility_country, w.documentation, minlength=w.n_countries)
        count = np.bincount(w.facility_country, minlength=w.n_countries)
        return np.asarray(total / np.maximum(count, 1))

    def value(self, path: str, country: int) -> Any:
        """The value lever ``path`` has now in ``country`` (index)."""
        system = self.model.system
        if path == "blame.facility":
            return round(float(system.blame_facility[country]), 6)
        if path == "blame.district":
            return round(float(system.blame_district[country]), 6)
        if path == "channels.learning_sessions.interval_months":
            return int(system.session_interval[country])
        if path == "national.routing":
            return "free" if system.routing_free[country] else "centralised"
        if path == "channels.messaging_group.enabled":
            return bool(system.messaging_on[country])
        if path == "facility_mix.documentation":
            setting = self.model.config.countries[country].facility_mix.documentation
            rise = self._documentation()[country] - self._documentation_start[country]
            return round(min(1.0, float(setting + rise)), 6)
        return lever_value(self.model.config, path, country)

    def values(self, country: int) -> dict[str, Any]:
        """Every loop-movable lever's value now in ``country``."""
        return {path: self.value(path, country) for path in LOOP_LEVERS}
