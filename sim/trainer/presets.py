"""Demonstration presets: ready contrasts a trainer picks from a list.

A preset is data (``scenarios/presets/workshop.yaml``): a name, one plain sentence of
what the room should notice, two or more copies of a scenario that differ in a set of
levers (or are different scenario files of the same seed and size), or a single copy
whose programmes fund a channel in some districts and not others (a contrast between
districts of one run), and the event on which the page pauses to explain
(pause-and-explain). :func:`load_presets` reads and
checks the file: unknown keys, unknown lever paths, values out of range, unknown event
kinds or causes and missing scenario files are reported together, each with its place
in the file. :func:`pause_due` tells whether a month just stepped calls for the pause.

The copies step together on the same random numbers (:class:`~sim.trainer.live.Lockstep`),
so what differs between them comes from the levers they differ in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config.explain import schema_problems
from sim.config.scenario import load_scenario
from sim.config.yaml_reader import read_yaml
from sim.errors import Problem, ScenarioError, SimError
from sim.model.ledger import CAUSES
from sim.model.mechanisms.programmes import district_names, inert_programmes, unknown_districts
from sim.model.schema import Scenario
from sim.model.state import Source
from sim.reporting.palette import CAUSE_EXPLANATIONS
from sim.trainer.levers import apply_levers
from sim.trainer.live import LiveRun
from sim.trainer.narration import SOURCE_WORDS, Event, channel_name

__all__ = [
    "EVENT_KINDS",
    "Copy",
    "CopySpec",
    "Demonstration",
    "Pause",
    "PauseRule",
    "Preset",
    "PresetFile",
    "default_presets_file",
    "first_match",
    "load_presets",
    "pause_due",
]

#: Kinds of event a preset may pause on (see :mod:`sim.trainer.narration`).
EVENT_KINDS = (
    "losses",
    "lost",
    "dropped",
    "trial_failed",
    "adopted",
    "institutionalised",
    "trial_started",
    "system",
    "lever",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PauseRule(_Strict):
    """When the page pauses to explain: the first event of a kind, or a gap in QoC.

    Exactly one of ``event`` and ``qoc_gap`` is given.
    """

    copy_number: int = Field(
        2, ge=1, alias="copy", description="The copy watched (1 is the first)."
    )
    event: str | None = Field(None, description=f"An event kind, one of {EVENT_KINDS}.")
    cause: str | None = Field(None, description=f"Only events showing this cause {CAUSES}.")
    channel: str | None = Field(
        None,
        description="Only facility events about a practice the facility first heard of "
        "through this channel (learning_sessions, coaching, peer_network ...).",
    )
    qoc_gap: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Pause when the watched copy's QoC is this much above every other copy's.",
    )

    @model_validator(mode="after")
    def _one_rule(self) -> PauseRule:
        if (self.event is None) == (self.qoc_gap is None):
            raise ValueError("give exactly one of 'event' and 'qoc_gap'")
        if self.event is not None and self.event not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.event!r}; choose one of {EVENT_KINDS}")
        if self.cause is not None and self.cause not in CAUSES:
            raise ValueError(f"unknown cause {self.cause!r}; choose one of {CAUSES}")
        channels = tuple(channel_name(int(s)) for s in Source if channel_name(int(s)))
        if self.channel is not None and self.channel not in channels:
            raise ValueError(f"unknown channel {self.channel!r}; choose one of {channels}")
        if self.channel is not None and self.event is None:
            raise ValueError("'channel' narrows an event: give 'event' as well")
        return self


class CopySpec(_Strict):
    """One copy of a preset: its label, and its scenario file or lever values (or both)."""

    label: str = Field(min_length=1, description="The copy's name on screen.")
    scenario: str | None = Field(
        None, description="A scenario file (relative to the presets file); default: the preset's."
    )
    levers: dict[str, Any] = Field(
        default_factory=dict,
        description="Lever values of this copy, by key path inside a country.",
    )
    programmes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Programmes added to the copy's first country, as in a scenario file "
        "(a channel funded in named districts for a time).",
    )


class Preset(_Strict):
    """One demonstration: a contrast, what to notice, and when to pause."""

    name: str = Field(min_length=1, description="The name in the list.")
    notice: str = Field(min_length=1, description="One plain sentence: what the room notices.")
    scenario: str | None = Field(
        None, description="The scenario file the copies start from (relative to the file)."
    )
    copies: list[CopySpec] = Field(min_length=1, max_length=4)
    pause_on: PauseRule

    @model_validator(mode="after")
    def _consistent(self) -> Preset:
        if self.pause_on.copy_number > len(self.copies):
            raise ValueError(
                f"pause_on.copy is {self.pause_on.copy_number} but there are "
                f"{len(self.copies)} copies"
            )
        if len(self.copies) == 1 and not self.copies[0].programmes:
            raise ValueError(
                "a single copy shows a contrast between districts: give it programmes, "
                "or give the preset two to four copies"
            )
        if len(self.copies) == 1 and self.pause_on.qoc_gap is not None:
            raise ValueError("qoc_gap compares copies: a single copy needs an event to pause on")
        if self.scenario is None and any(c.scenario is None for c in self.copies):
            raise ValueError("give the preset a scenario, or every copy its own")
        labels = [c.label for c in self.copies]
        if len(set(labels)) != len(labels):
            raise ValueError(f"copy labels must differ; got {labels}")
        return self


class PresetFile(_Strict):
    """The presets file: a list of presets."""

    presets: list[Preset] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PresetFile:
        names = [p.name for p in self.presets]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"preset names must be unique; repeated: {repeated}")
        return self


@dataclass(frozen=True)
class Copy:
    """A copy ready to run: its label, its scenario and its own lever values."""

    label: str
    scenario: Scenario
    levers: Mapping[str, Any]


@dataclass(frozen=True)
class Demonstration:
    """A checked preset with its scenarios loaded."""

    preset: Preset
    copies: tuple[Copy, ...]

    @property
    def name(self) -> str:
        """The preset's name."""
        return self.preset.name


@dataclass(frozen=True)
class Pause:
    """A pause-and-explain: the month, the copy, what happened and what it shows."""

    month: int
    copy_label: str
    what: str
    notice: str
    explanation: str


def default_presets_file(scenario_folder: Path) -> Path:
    """``presets/workshop.yaml`` inside the scenario folder."""
    return scenario_folder / "presets" / "workshop.yaml"


def load_presets(path: str | Path) -> list[Demonstration]:
    """Read and check a presets file; load every scenario it names.

    Raises:
        ScenarioError: Listing every problem found, with its key in the file.
    """
    path = Path(path)
    shown = path.as_posix()
    document, repeated = read_yaml(path, shown)
    if repeated:
        raise ScenarioError(repeated)
    try:
        parsed = PresetFile.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(schema_problems(error, shown, PresetFile)) from None
    problems: list[Problem] = []
    demonstrations = []
    scenarios: dict[Path, Scenario] = {}
    for i, preset in enumerate(parsed.presets):
        copies = []
        for j, spec in enumerate(preset.copies):
            key = f"presets.{i}.copies.{j}"
            name = spec.scenario or preset.scenario
            if name is None:
                fix = "set scenario: on the preset or on this copy"
                problems.append(Problem(shown, key, None, "no scenario for this copy", fix))
                continue
            file = (path.parent / name).resolve()
            try:
                if file not in scenarios:
                    scenarios[file] = load_scenario(file)
                scenario = apply_levers(scenarios[file], spec.levers, source=f"{shown}: {key}")
                scenario = _with_programmes(scenario, spec.programmes, f"{shown}: {key}")
            except SimError as error:
                found = error.problems if isinstance(error, ScenarioError) else []
                problems += [
                    Problem(shown, f"{key}.{p.key}" if p.key else key, p.value, p.message, p.fix)
                    for p in found
                ] or [Problem(shown, key, name, str(error), "fix the scenario file")]
                continue
            copies.append(Copy(spec.label, scenario, dict(spec.levers)))
        if len(copies) == len(preset.copies):
            problems += _lockstep_problems(shown, i, copies)
            demonstrations.append(Demonstration(preset, tuple(copies)))
    if problems:
        raise ScenarioError(problems)
    return demonstrations


def _with_programmes(
    scenario: Scenario, programmes: Sequence[Mapping[str, Any]], source: str
) -> Scenario:
    """``scenario`` with ``programmes`` added to its first country, checked.

    Raises:
        ScenarioError: If a programme is invalid, names a district the country does not
            have, or funds a channel the country already runs everywhere (it would
            change nothing).
    """
    if not programmes:
        return scenario
    data = scenario.model_dump()
    data["countries"][0]["programmes"] += [dict(p) for p in programmes]
    try:
        changed = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(schema_problems(error, source, Scenario)) from None
    country = changed.countries[0]
    added = range(len(country.programmes) - len(programmes), len(country.programmes))
    known = district_names(country)
    problems = [
        Problem(source, f"programmes.{i - added.start}.districts", name,
                "no such district in the country", f"choose among {known[:5]} ...")
        for i in added
        for name in unknown_districts(country.programmes[i], country, known)
    ] + [
        Problem(source, f"programmes.{i - added.start}", country.programmes[i].lever, reason,
                "switch the channel off in the copy's levers")
        for i, reason in inert_programmes(country)
        if i in added
    ]  # fmt: skip
    if problems:
        raise ScenarioError(problems)
    return changed


def _lockstep_problems(shown: str, i: int, copies: Sequence[Copy]) -> list[Problem]:
    """Copies must share seed, months and size to run in lockstep on the same numbers."""
    first = copies[0].scenario
    problems = []
    for j, copy in enumerate(copies[1:], start=1):
        other = copy.scenario
        for what, a, b in (
            ("seed", first.seed, other.seed),
            ("months", first.months, other.months),
            ("countries", len(first.countries), len(other.countries)),
            ("facilities", _facilities(first), _facilities(other)),
        ):
            if a != b:
                problems.append(
                    Problem(
                        shown,
                        f"presets.{i}.copies.{j}",
                        b,
                        f"the copy's {what} ({b}) differs from the first copy's ({a})",
                        "copies run in lockstep: give them the same seed, months and size",
                    )
                )
    return problems


def _facilities(scenario: Scenario) -> list[int]:
    return [c.facilities for c in scenario.countries]


def first_match(rule: PauseRule, events: Sequence[Event]) -> Event | None:
    """The first of ``events`` that the rule's event kind (and cause) picks out."""
    for event in events:
        if (
            event.kind == rule.event
            and (rule.cause is None or event.cause == rule.cause)
            and (rule.channel is None or event.channel == rule.channel)
        ):
            return event
    return None


def pause_due(
    preset: Preset, runs: Sequence[LiveRun], seen: Sequence[int], month: int
) -> Pause | None:
    """The pause-and-explain a month just stepped calls for, if it shows the contrast.

    Args:
        preset: The demonstration's preset: its pause rule and what to notice.
        runs: The copies, stepped together.
        seen: How many events each run had before the month.
        month: The month just stepped.

    Returns:
        The pause, or ``None`` when the month does not meet the preset's rule.
    """
    rule = preset.pause_on
    watched = rule.copy_number - 1
    run = runs[watched]
    if rule.event is not None:
        event = first_match(rule, run.events[seen[watched] :])
        if event is None:
            return None
        what = event.text
        if rule.channel is not None:
            what += f" (first heard of through {SOURCE_WORDS[Source[rule.channel.upper()]]})"
        cause = event.cause or (rule.cause or "")
    else:
        others = [r.qoc[-1] for i, r in enumerate(runs) if i != watched]
        gap = run.qoc[-1] - max(others)
        if rule.qoc_gap is None or gap < rule.qoc_gap:
            return None
        what = (
            f"QoC {run.qoc[-1]:.3f} here against {max(others):.3f} in the other copy, "
            f"a gap of {gap:.3f}"
        )
        cause = ""
    return Pause(
        month=month,
        copy_label=run.label,
        what=what,
        notice=preset.notice,
        explanation=CAUSE_EXPLANATIONS.get(cause, ""),
    )
