"""Teaching levers: the country parameters a trainer moves live, and how to apply them.

Each lever is a parameter of :class:`sim.model.schema.Country`; its label, default, range,
unit and description come from the parameter source of truth (:mod:`sim.model.schema`), so
the app's sliders cannot drift from the model. This module only chooses *which*
parameters are levers and, for parameters whose range is far wider than a workshop
needs, how far a slider reaches.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.model.schema import Country, Scenario, iter_parameters

__all__ = ["LEVER_PATHS", "Lever", "apply_levers", "lever_value", "levers"]

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
        """A readable name, e.g. ``learning sessions: interval months``."""
        parts = [p.replace("_", " ") for p in self.path.split(".") if p != "channels"]
        if len(parts) == 1:
            return parts[0]
        return f"{' '.join(parts[:-1])}: {parts[-1]}"


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
    value: Any = scenario.countries[country]
    for part in path.split("."):
        value = getattr(value, part)
    return value


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
        [0.15, 0.3]
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
