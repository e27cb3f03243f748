"""Learning-network maturity: six domains at levels 1-4, mapped onto the model's parameters.

The learning-network guide names six domains a network develops (systems of leadership,
governance and management, financial sustainability, quality improvement, engagement and
community building, data and analytics) and a life cycle (design and development,
implementation, yearly cycles of improvement, sustainability). A country's ``maturity``
section gives each domain a level from 1 (nascent) to 4 (mature), or a life-cycle
``stage`` that sets the level of every domain it does not name (design 1,
implementation 2, improvement 3, sustainability 4).

:data:`DOMAINS` maps each domain's level onto parameters. The table is an explicit,
editable assumption: the sources name the domains and, in the framework's Table 2, what
each level of the health system should do, but they give no numbers. Level 2 is the
model's default everywhere, so a profile of 2s (or ``stage: implementation``) is the
default country. A parameter the scenario file sets itself keeps the file's value (the
profile fills in only what the file leaves out); ``lhsim validate`` notes where a file
overrides its profile.

Examples:
    >>> country = apply_profile({"name": "A", "maturity": {"stage": "design"}})
    >>> country["national"]["capacity"], country["facility_mix"]["data_quality"]
    (20, 0.3)
    >>> apply_profile({"name": "A", "maturity": {"governance": 3},
    ...                "national": {"capacity": 10}})["national"]["capacity"]
    10
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from sim.model.parameters import P, Section

__all__ = [
    "DOMAINS",
    "STAGES",
    "Domain",
    "MaturityProfile",
    "apply_profile",
    "domain_levels",
    "file_overrides",
    "mapping_table",
    "step_up",
]

Stage = Literal["design", "implementation", "improvement", "sustainability"]
#: The life-cycle stages and the level each gives the domains a profile does not name.
STAGES: dict[str, int] = {"design": 1, "implementation": 2, "improvement": 3, "sustainability": 4}


@dataclass(frozen=True)
class Domain:
    """One maturity domain and what its levels 1-4 set.

    Attributes:
        name: The profile key.
        label: The guide's name for it.
        settings: Per parameter path inside a country, its value at levels 1, 2, 3, 4.
        costed: The paths whose change has a unit cost in ``costs``; the others change
            the model at no charge, which a comparison must say.
        basis: What the mapping rests on.
    """

    name: str
    label: str
    settings: dict[str, tuple[Any, Any, Any, Any]]
    costed: tuple[str, ...]
    basis: str


#: The six domains of the learning-network guide, mapped onto parameters (an assumption).
DOMAINS: tuple[Domain, ...] = (
    Domain(
        "leadership",
        "systems of leadership",
        {
            "facility_mix.leadership_support": (0.25, 0.5, 0.7, 0.9),
            "blame.district": (0.7, 0.5, 0.35, 0.2),
        },
        (),
        "Table 2: facility leadership gives QI teams opportunities to share; district "
        "leadership ensures staff can discuss challenges without fear of reprimand",
    ),
    Domain(
        "governance",
        "governance and management",
        {
            "national.capacity": (20, 60, 120, 240),
            "national.time_to_live": (3, 6, 9, 12),
            "learning_centres.count": (0, 0, 1, 1),
            "national.routing": ("centralised", "centralised", "centralised", "free"),
        },
        ("national.capacity", "learning_centres.count", "national.routing"),
        "Table 2: the national level develops a national QI team and a learning centre "
        "and does not become a bottleneck; the guide: management monitors the capacity "
        "to absorb new members",
    ),
    Domain(
        "finance",
        "financial sustainability",
        {
            "channels.coaching.capacity": (2, 4, 6, 8),
            "channels.learning_sessions.interval_months": (6, 3, 3, 2),
        },
        ("channels.coaching.capacity", "channels.learning_sessions.interval_months"),
        "the guide: covering all expenses and planned initiatives; Table 2: staff meet "
        "every two to three months (funded coaching visits and meetings)",
    ),
    Domain(
        "quality_improvement",
        "quality improvement",
        {
            "facility_mix.qi_team_share": (0.1, 0.3, 0.5, 0.7),
            "trials.noise": (1.5, 1.0, 0.75, 0.5),
        },
        ("facility_mix.qi_team_share",),
        "the guide: a QI method (the Model for Improvement) across centres; Table 2: "
        "facilities use data to learn how effective their changes are",
    ),
    Domain(
        "engagement",
        "engagement and community building",
        {
            "channels.learning_sessions.attendance": (0.3, 0.5, 0.65, 0.8),
            "channels.messaging_group.enabled": (False, False, True, True),
            "channels.exchange_visits.enabled": (False, False, False, True),
            "channels.community_of_practice.reach": (0.25, 0.5, 0.7, 0.9),
        },
        (
            "channels.learning_sessions.attendance",
            "channels.messaging_group.enabled",
            "channels.exchange_visits.enabled",
            "channels.community_of_practice.reach",
        ),
        "the guide: collaboration at scale among all stakeholders; Table 2: forums for "
        "sharing (WhatsApp), exchange visits, communities of practice",
    ),
    Domain(
        "data_analytics",
        "data and analytics",
        {
            "facility_mix.data_quality": (0.3, 0.5, 0.7, 0.85),
            "channels.upward_reporting.completeness": (0.7, 0.9, 0.95, 0.98),
            "facility_mix.documentation": (0.2, 0.4, 0.6, 0.8),
        },
        ("facility_mix.documentation",),
        "the guide: a robust data system; Table 2: QI teams document what worked and what "
        "did not and share it with the district",
    ),
)
_BY_NAME = {domain.name: domain for domain in DOMAINS}


def _level(description: str) -> Any:
    return P(None, 1, 4, unit="level", description=description)


class MaturityProfile(Section):
    """Where a country's learning network stands: six domains at levels 1-4."""

    stage: Stage | None = Field(
        None,
        description="Life-cycle stage; sets the level of every domain not given "
        "(design 1, implementation 2, improvement 3, sustainability 4).",
    )
    leadership: int | None = _level("Systems of leadership.")
    governance: int | None = _level("Governance and management.")
    finance: int | None = _level("Financial sustainability.")
    quality_improvement: int | None = _level("Quality improvement.")
    engagement: int | None = _level("Engagement and community building.")
    data_analytics: int | None = _level("Data and analytics.")


def domain_levels(profile: dict[str, Any]) -> dict[str, int]:
    """The level of every domain a profile sets, directly or through its stage.

    Examples:
        >>> domain_levels({"stage": "improvement", "finance": 1})["finance"]
        1
        >>> domain_levels({"leadership": 4, "finance": None})
        {'leadership': 4}
    """
    default = STAGES.get(str(profile.get("stage")))
    levels = {}
    for domain in DOMAINS:
        level = profile.get(domain.name)
        if level is None:
            level = default
        if level is not None:
            levels[domain.name] = int(level)
    return levels


def _valid(profile: Any) -> bool:
    if not isinstance(profile, dict):
        return False
    if profile.get("stage") is not None and profile["stage"] not in STAGES:
        return False
    levels = [profile.get(d.name) for d in DOMAINS]
    return all(
        level is None
        or (isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 4)
        for level in levels
    )


def _get(document: dict[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = document
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            return  # a wrong type the schema will report
    node[last] = value


def apply_profile(country: dict[str, Any]) -> dict[str, Any]:
    """A country document with its profile's settings filled in where the file is silent.

    A profile the schema will reject (a level outside 1-4, an unknown stage) changes
    nothing, so that its own error is reported.
    """
    profile = country.get("maturity")
    if not isinstance(profile, dict) or not _valid(profile):
        return country
    filled = copy.deepcopy(country)
    for name, level in domain_levels(profile).items():
        for path, values in _BY_NAME[name].settings.items():
            if not _get(filled, path)[0]:
                _put(filled, path, values[level - 1])
    return filled


def file_overrides(country: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """Mapped parameters a country sets away from its profile.

    Args:
        country: A resolved country (``Country.model_dump()``).

    Returns:
        ``(domain, path, value in the country, value of the profile)`` for each.
    """
    profile = country.get("maturity")
    if not isinstance(profile, dict):
        return []
    found = []
    for name, level in domain_levels(profile).items():
        for path, values in _BY_NAME[name].settings.items():
            present, value = _get(country, path)
            if present and value != values[level - 1]:
                found.append((name, path, value, values[level - 1]))
    return found


def step_up(country: dict[str, Any], domain: str) -> tuple[dict[str, Any], list[str]]:
    """The resolved country with ``domain`` one level higher.

    Parameters the country sets away from its profile keep their value.

    Returns:
        The new country document and the paths the step changed.

    Raises:
        ValueError: The domain is unknown, unset in the profile or already at level 4.
    """
    if domain not in _BY_NAME:
        raise ValueError(f"unknown maturity domain {domain!r}")
    profile = dict(country.get("maturity") or {})
    level = domain_levels(profile).get(domain)
    if level is None or level >= 4:
        raise ValueError(f"{domain} cannot step up from level {level}")
    raised = copy.deepcopy(country)
    changed = []
    for path, values in _BY_NAME[domain].settings.items():
        present, value = _get(raised, path)
        if (not present or value == values[level - 1]) and values[level] != values[level - 1]:
            _put(raised, path, values[level])
            changed.append(path)
    raised["maturity"] = {**profile, domain: level + 1}
    return raised, changed


def mapping_table() -> str:
    """The mapping of :data:`DOMAINS` as a Markdown table (for the model description).

    Examples:
        >>> mapping_table().splitlines()[0]
        '| domain | parameter | level 1 | level 2 | level 3 | level 4 | costed | rests on |'
    """
    lines = [
        "| domain | parameter | level 1 | level 2 | level 3 | level 4 | costed | rests on |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for domain in DOMAINS:
        for index, (path, values) in enumerate(domain.settings.items()):
            cells = " | ".join(f"{v}".lower() if isinstance(v, bool) else f"{v}" for v in values)
            costed = "yes" if path in domain.costed else "no"
            label = domain.label if index == 0 else ""
            basis = domain.basis if index == 0 else ""
            lines.append(f"| {label} | `{path}` | {cells} | {costed} | {basis} |")
    return "\n".join(lines)
