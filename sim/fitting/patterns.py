"""Published patterns as data, and the check that the model reproduces them.

A patterns file (``calibration/patterns.yaml``) lists published figures the model's
defaults must reproduce. Each pattern names its ``source`` (``docs/patterns.md`` quotes
it), the ``scenario`` it is observed under (a file in ``scenarios/patterns/``), the
``observable`` it reads from a run (:mod:`sim.fitting.observables`) with its
``options``, and a ``target`` range. Its optional ``fit`` section says which parameters
the pattern-oriented calibration fits and how (:mod:`sim.fitting.pattern_fit`).

:func:`check_patterns` simulates every pattern scenario for a number of replicates
(each scenario once per replicate, whatever the number of patterns reading it) and
returns, per pattern, the simulated median and 90 % interval and whether the median is
inside the target. :func:`range_distance` is each pattern's term of the calibration
distance: 0 inside the range, the gap to the nearer end in widths of the range outside.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config.explain import schema_problems
from sim.config.scenario import load_scenario
from sim.config.yaml_reader import read_yaml
from sim.errors import Problem, ScenarioError
from sim.fitting.calibration_spec import FittedParameter, Stopping, _parameter_problems
from sim.fitting.observables import OBSERVABLES, observable_options
from sim.model.schema import Scenario

__all__ = [
    "PatternCheck",
    "PatternSpec",
    "PatternsFile",
    "Target",
    "check_patterns",
    "load_patterns",
    "observe_scenario",
    "pattern_tasks",
    "range_distance",
    "with_values",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Target(_Strict):
    """The range a published figure allows."""

    low: float = Field(description="Lower end of the range.")
    high: float = Field(description="Upper end of the range.")

    @model_validator(mode="after")
    def _ordered(self) -> Target:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class PatternSpec(_Strict):
    """One published pattern."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Short name (a column name).")
    description: str = Field(description="What the figure says, in one sentence.")
    source: str = Field(description="Where the figure comes from (see docs/patterns.md).")
    certainty: str = Field("V", description="V read in the source, S quoted, U unverified.")
    mapping: str = Field("", description="How the model's output stands for the figure.")
    scenario: str = Field(description="Scenario file it is observed under (relative path).")
    observable: str = Field(description="What is read from a run (sim.fitting.observables).")
    options: dict[str, int] = Field(default_factory=dict, description="The observable's options.")
    target: Target
    fast: bool = Field(False, description="Part of the quick check run by the tests.")


class FitSection(_Strict):
    """Which parameters the pattern-oriented calibration fits, and when it stops."""

    parameters: list[FittedParameter] = Field(min_length=1)
    stopping: Stopping = Field(default_factory=Stopping)


class PatternsFile(_Strict):
    """A whole patterns file."""

    name: str = Field(description="Name of the set.")
    description: str = Field("", description="What the set is for.")
    seed: int = Field(2026, ge=0, le=2**63 - 1, description="Root seed of the check and fit.")
    replicates: int = Field(8, ge=1, le=10_000, description="Replicates per pattern scenario.")
    patterns: list[PatternSpec] = Field(min_length=1)
    fit: FitSection | None = None
    folder: str = Field("", description="Folder of the file (set by the loader).")

    @model_validator(mode="after")
    def _unique(self) -> PatternsFile:
        names = [p.name for p in self.patterns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"pattern names must be unique; repeated: {repeated}")
        return self

    def scenario_path(self, pattern: PatternSpec) -> Path:
        """The pattern's scenario file, read from the folder of the patterns file."""
        return (Path(self.folder) / pattern.scenario).resolve()


def load_patterns(path: str | Path) -> PatternsFile:
    """Read and check a patterns file, its observables and its scenarios.

    Raises:
        ScenarioError: Every problem at once: unknown keys, an unknown observable (with
            "did you mean"), options the observable does not take or misses, scenario
            files that are missing or invalid, fitted keys that are not parameters.
    """
    file = str(path)
    document, problems = read_yaml(Path(path), file)
    if not isinstance(document, dict):
        raise ScenarioError(
            problems + [Problem(file, "", document, "a patterns file is a mapping", "")]
        )
    folder = Path(path).resolve().parent
    spec: PatternsFile | None = None
    try:
        spec = PatternsFile.model_validate({**document, "folder": str(folder)})
    except ValidationError as error:
        problems += schema_problems(error, file, PatternsFile)
    # each well-formed pattern and fitted parameter is checked even when other keys have
    # problems, so that every problem of the file comes out at once
    problems += _pattern_problems(_valid(document.get("patterns"), PatternSpec), folder, file)
    fit = document.get("fit")
    fitted = _valid(fit.get("parameters") if isinstance(fit, dict) else None, FittedParameter)
    problems += [
        Problem(file, f"fit.{p.key}", p.value, p.message, p.fix)
        for p in _parameter_problems(fitted, file)
    ]
    if problems or spec is None:
        raise ScenarioError(problems)
    return spec


def _valid[T: BaseModel](entries: Any, model: type[T]) -> list[tuple[int, T]]:
    """The entries of a list that are well-formed on their own, with their index."""
    found = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            found.append((index, model.model_validate(entry)))
        except ValidationError:
            continue  # reported by the schema check
    return found


def _pattern_problems(
    patterns: list[tuple[int, PatternSpec]], folder: Path, file: str
) -> list[Problem]:
    problems: list[Problem] = []
    for index, pattern in patterns:
        where = f"patterns.{index}"
        if pattern.observable not in OBSERVABLES:
            close = difflib.get_close_matches(pattern.observable, OBSERVABLES, n=1)
            fix = f"did you mean {close[0]!r}?" if close else f"one of {sorted(OBSERVABLES)}"
            problems.append(
                Problem(file, f"{where}.observable", pattern.observable, "unknown observable", fix)
            )
        else:
            wanted = set(observable_options(pattern.observable))
            given = set(pattern.options)
            for extra in sorted(given - wanted):
                problems.append(
                    Problem(
                        file,
                        f"{where}.options.{extra}",
                        pattern.options[extra],
                        f"{pattern.observable} takes no option {extra!r}",
                        f"its options: {sorted(wanted) or 'none'}",
                    )
                )
            for missing in sorted(wanted - given):
                problems.append(
                    Problem(
                        file, f"{where}.options", pattern.options, f"{missing!r} is missing", ""
                    )
                )
        path = (folder / pattern.scenario).resolve()
        if not path.is_file():
            problems.append(
                Problem(
                    file,
                    f"{where}.scenario",
                    pattern.scenario,
                    "file not found",
                    "paths are read from the folder of the patterns file",
                )
            )
            continue
        try:
            load_scenario(path)
        except ScenarioError as error:
            problems += error.problems
    return problems


def with_values(scenario: Scenario, values: dict[str, float], keys: dict[str, str]) -> Scenario:
    """``scenario`` with country parameter ``keys[name]`` set to ``values[name]`` everywhere."""
    if not values:
        return scenario
    from sim.config.paths import set_key

    document = scenario.model_dump(mode="python")
    for name, value in values.items():
        set_key(document, f"countries.*.{keys[name]}", float(value))
    return Scenario.model_validate(document)


def _without_programmes(scenario: Scenario) -> Scenario:
    document = scenario.model_dump(mode="python")
    for country in document["countries"]:
        country["programmes"] = []
    return Scenario.model_validate(document)


def observe_scenario(
    scenario: Scenario, replicate: int, patterns: Sequence[PatternSpec]
) -> dict[str, float]:
    """Run ``scenario`` once (replicate ``replicate``) and read every pattern of it.

    A counterfactual observable runs the same scenario and replicate again without
    programmes.
    """
    from sim.model.model import LearningHealthSystem

    def run(chosen: Scenario, watchers: list[Any]) -> Any:
        model = LearningHealthSystem(chosen, replicate)
        for watcher in watchers:
            watcher.start(model)
        for _ in range(chosen.months):
            model.step()
            for watcher in watchers:
                watcher.month(model)
        return model

    watchers = [OBSERVABLES[p.observable](**p.options) for p in patterns]
    model = run(scenario, watchers)
    twins: list[Any] = [None] * len(watchers)
    paired = [i for i, w in enumerate(watchers) if w.counterfactual]
    if paired:
        plain = [OBSERVABLES[patterns[i].observable](**patterns[i].options) for i in paired]
        twin_model = run(_without_programmes(scenario), plain)
        for i, twin in zip(paired, plain, strict=True):
            twins[i] = twin
        del twin_model
    return {
        p.name: w.value(model, twin) for p, w, twin in zip(patterns, watchers, twins, strict=True)
    }


def _observe_task(task: tuple[Scenario, int, list[PatternSpec]]) -> dict[str, float]:
    return observe_scenario(*task)


def range_distance(value: float, target: Target) -> float:
    """How far ``value`` is outside ``target``, in widths of the range (0 inside).

    Examples:
        >>> t = Target(low=0.4, high=0.6)
        >>> [round(range_distance(v, t), 6) for v in (0.5, 0.8, 0.3)]
        [0.0, 1.0, 0.5]
    """
    if not np.isfinite(value):
        return 10.0  # not observable in the run (no guidance, no adopters): far off
    width = target.high - target.low
    return float(max(target.low - value, value - target.high, 0.0) / width)


@dataclass
class PatternCheck:
    """The outcome of a pattern check.

    Attributes:
        table: One row per pattern: name, target range, simulated median, 5 % and 95 %
            quantiles, ``inside`` (the median within the target), source.
        values: One row per replicate and pattern (``replicate``, ``pattern``, ``value``).
    """

    table: pd.DataFrame
    values: pd.DataFrame

    @property
    def missed(self) -> list[str]:
        """Names of the patterns whose simulated median is outside the target."""
        return self.table.loc[~self.table["inside"], "pattern"].tolist()


def pattern_tasks(
    spec: PatternsFile,
    patterns: Sequence[PatternSpec],
    replicates: Sequence[int],
    values: dict[str, float] | None = None,
) -> list[tuple[Scenario, int, list[PatternSpec]]]:
    """One task per (scenario file, replicate), with the patterns read from it."""
    keys = {p.name: p.key for p in spec.fit.parameters} if spec.fit else {}
    groups: dict[Path, list[PatternSpec]] = {}
    for pattern in patterns:
        groups.setdefault(spec.scenario_path(pattern), []).append(pattern)
    scenarios = {path: with_values(load_scenario(path), values or {}, keys) for path in groups}
    return [
        (scenarios[path], replicate, group)
        for replicate in replicates
        for path, group in groups.items()
    ]


def check_patterns(
    spec: PatternsFile,
    *,
    replicates: int | None = None,
    only: Sequence[str] | None = None,
    fast: bool = False,
    values: dict[str, float] | None = None,
    map_: Callable[..., list[Any]] | None = None,
) -> PatternCheck:
    """Simulate the patterns and compare their medians with the targets.

    Args:
        spec: The patterns file.
        replicates: Replicates per scenario (default: the file's).
        only: Names of the patterns to check (default: all).
        fast: Only the patterns marked ``fast``.
        values: Fitted parameters to set (by the names of the file's ``fit`` section).
        map_: An order-keeping ``map`` (an evaluator's); default the built-in one.
    """
    chosen = [p for p in spec.patterns if (only is None or p.name in only) and (not fast or p.fast)]
    if only is not None:
        unknown = sorted(set(only) - {p.name for p in spec.patterns})
        if unknown:
            names = [p.name for p in spec.patterns]
            raise ScenarioError(
                [Problem("--only", "", n, "no such pattern", f"one of {names}") for n in unknown]
            )
    count = replicates or spec.replicates
    tasks = pattern_tasks(spec, chosen, range(count), values)
    results = (map_ or (lambda f, xs: list(map(f, xs))))(_observe_task, tasks)
    rows = [
        {"replicate": task[1], "pattern": name, "value": value}
        for task, result in zip(tasks, results, strict=True)
        for name, value in result.items()
    ]
    values_frame = pd.DataFrame(rows, columns=["replicate", "pattern", "value"])
    table = []
    for pattern in chosen:
        found = values_frame.loc[values_frame["pattern"] == pattern.name, "value"].to_numpy()
        finite = found[np.isfinite(found)]
        median = float(np.median(finite)) if finite.size else float("nan")
        low, high = np.quantile(finite, [0.05, 0.95]).tolist() if finite.size else [np.nan, np.nan]
        table.append(
            {
                "pattern": pattern.name,
                "target_low": pattern.target.low,
                "target_high": pattern.target.high,
                "median": median,
                "q05": low,
                "q95": high,
                "inside": bool(pattern.target.low <= median <= pattern.target.high),
                "unit": OBSERVABLES[pattern.observable].unit,
                "source": pattern.source,
            }
        )
    return PatternCheck(pd.DataFrame(table), values_frame)
