"""Experiment files: which parameters a sweep varies, how it samples them, what it reads out.

An experiment file is a YAML mapping checked against :class:`ExperimentSpec`::

    name: levers
    scenario: ../scenarios/demo.yaml     # or  model: ishigami
    settings: {months: 36}               # fixed changes to the base document
    parameters:
      countries.0.turnover.annual: [0.05, 0.40]
      countries.0.blame.facility: {bounds: [0.1, 0.9], group: blame}
    method: sobol
    samples: 64                          # base N for Sobol, trajectories for Morris
    replicates: 2                        # seeds per sample point
    outputs: [qoc_final, {name: qoc_last_year, column: qoc, statistic: mean, last_months: 12}]
    seed: 20261122

Parameters are dotted key paths into the resolved scenario document (list items by
index). Everything is checked before any run starts and every problem is reported at
once, as a :class:`~sim.errors.ScenarioError`: unknown keys and paths (with "did you
mean"), inverted bounds, bounds outside a parameter's documented range, an unknown
method and sample sizes the method rejects.

What a model *is* (its document, the schema that validates it and its run function) is
a :class:`SweepModel`; how its runs are executed lives in :mod:`sim.runs.executors`.
"""

from __future__ import annotations

import copy
import difflib
import math
import time
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.config.paths import get_path, leaf_paths, set_path
from sim.errors import Problem, ScenarioError
from sim.runs.simulation import ReplicateResult

__all__ = [
    "METHODS",
    "Experiment",
    "ExperimentSpec",
    "Method",
    "OutputSpec",
    "ParameterSpec",
    "RunSpec",
    "SweepModel",
    "load_experiment",
    "parse_experiment",
    "run_seed",
]

_SEED_STREAM = 1  # spawn key of the model seeds, apart from the sampling stream (0)


# --------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """A SALib design and the analyser that reads it.

    Attributes:
        name: The ``method:`` value.
        sampler: The SALib sampling module (``SALib.sample.<sampler>``).
        analyzer: The SALib analysis module (``SALib.analyze.<analyzer>``).
        samples: What ``samples:`` means for this method, for messages.
        groups: Whether the method accepts parameter groups.
    """

    name: str
    sampler: str
    analyzer: str
    samples: str
    groups: bool = False


#: The methods an experiment may name.
METHODS: dict[str, Method] = {
    "sobol": Method("sobol", "sobol", "sobol", "the base N, a power of 2", groups=True),
    "morris": Method("morris", "morris", "morris", "the number of trajectories", groups=True),
    "fast": Method("fast", "fast_sampler", "fast", "runs per parameter, above 4 M**2"),
    "rbd_fast": Method("rbd_fast", "latin", "rbd_fast", "the number of points"),
    "latin": Method("latin", "latin", "rbd_fast", "the number of points (analysed by RBD-FAST)"),
    "pawn": Method("pawn", "latin", "pawn", "the number of points"),
    "factorial": Method("factorial", "ff", "ff", "fixed by the number of parameters"),
}

DISTRIBUTIONS = {
    "uniform": ("unif", "[low, high]"),
    "triangular": ("triang", "[low, high, peak as a fraction of the range]"),
    "normal": ("norm", "[mean, standard deviation]"),
    "truncnormal": ("truncnorm", "[low, high, mean, standard deviation]"),
    "lognormal": ("lognorm", "[mean, standard deviation] of the logarithm"),
}


# --------------------------------------------------------------------------- schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSpec(_Strict):
    """One varied parameter: its bounds or distribution, and an optional group."""

    bounds: list[float] = Field(
        min_length=2, max_length=4, description="Bounds, or the distribution's parameters."
    )
    distribution: Literal["uniform", "triangular", "normal", "truncnormal", "lognormal"] = Field(
        "uniform", description="Distribution of the parameter (SALib names it 'dists')."
    )
    group: str | None = Field(None, description="Group name (Sobol and Morris only).")


class OutputSpec(_Strict):
    """One output: a summary value, or a statistic of a monthly column."""

    name: str = Field(description="Output name; a summary value unless 'column' is given.")
    column: str | None = Field(None, description="Monthly (timeseries) column to summarise.")
    statistic: Literal["final", "mean", "min", "max", "sum"] = Field(
        "final", description="How the monthly column is summarised."
    )
    last_months: int | None = Field(
        None, ge=1, description="Summarise only the last this many months."
    )


class ExperimentSpec(_Strict):
    """The experiment file, as written (before its paths and values are checked)."""

    name: str = Field(description="Experiment name; names the sweep folder.")
    description: str = Field("", description="What the experiment asks.")
    scenario: str | None = Field(None, description="Base scenario file, relative to this file.")
    model: Literal["ishigami"] | None = Field(None, description="A built-in model instead.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Fixed changes to the base document, by dotted path."
    )
    parameters: dict[str, ParameterSpec | list[float]] = Field(
        min_length=1, description="Dotted path -> [low, high] or a parameter mapping."
    )
    method: str = Field(description="Sampling and analysis method.")
    samples: int | None = Field(None, ge=1, description="Sample size; see the method.")
    replicates: int = Field(1, ge=1, le=10_000, description="Seeds per sample point.")
    outputs: list[str | OutputSpec] = Field(min_length=1, description="Outputs to analyse.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the sample and the runs.")
    random_numbers: Literal["common", "independent"] = Field(
        "independent",
        description="'common': replicate r of every point shares its random streams; "
        "'independent': each point has its own.",
    )
    second_order: bool = Field(False, description="Sobol: also estimate second-order indices.")
    levels: int = Field(4, ge=2, le=100, description="Morris: levels of the grid.")
    harmonics: int = Field(4, ge=1, le=100, description="FAST and RBD-FAST: harmonics M.")
    confidence: float = Field(0.95, gt=0.0, lt=1.0, description="Level of the intervals.")
    resamples: int = Field(200, ge=10, le=100_000, description="Bootstrap resamples.")


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class SweepModel:
    """What a sweep runs: a base document, the schema that checks it, and a run function.

    Attributes:
        kind: ``"scenario"`` or a built-in model name.
        document: The base document that parameter values are written into.
        schema: The pydantic model that validates a document (``Scenario``, ...).
        run: ``(config, replicate) -> ReplicateResult``, like ``run_replicate``.
    """

    kind: str
    document: dict[str, Any]
    schema: type[BaseModel]
    run: Callable[[Any, int], ReplicateResult]

    def build(self, values: dict[str, Any], seed: int) -> BaseModel:
        """Return the validated configuration with ``values`` (dotted paths) and ``seed``.

        Raises:
            pydantic.ValidationError: The values make an invalid document.
        """
        document = copy.deepcopy(self.document)
        for path, value in values.items():
            set_path(document, path, value)
        document["seed"] = seed
        return self.schema.model_validate(document)


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a sample point, a replicate and the values it applies."""

    run_id: int
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]


@dataclass
class Experiment:
    """A checked experiment: its spec, model, SALib problem and parameter kinds.

    Attributes:
        spec: The experiment file's content.
        file: The experiment file (for messages).
        model: The model the sweep runs.
        kinds: ``"int"``, ``"float"`` or ``"bool"`` for each parameter path.
    """

    spec: ExperimentSpec
    file: str
    model: SweepModel
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def method(self) -> Method:
        """The sampling and analysis method."""
        return METHODS[self.spec.method]

    @property
    def names(self) -> list[str]:
        """The parameter paths, in file order."""
        return list(self.spec.parameters)

    @property
    def outputs(self) -> list[OutputSpec]:
        """The outputs, each as an :class:`OutputSpec`."""
        return output_specs(self.spec)

    def problem(self) -> dict[str, Any]:
        """The SALib problem dictionary."""
        return salib_problem(self.spec)

    def sample(self) -> np.ndarray:
        """Draw the sample matrix (points x parameters) with the experiment's seed."""
        return draw_sample(self.spec)

    def runs(self, sample: np.ndarray) -> Iterator[RunSpec]:
        """Every run of the sweep, in ``run_id`` order (point-major, then replicate)."""
        replicates = self.spec.replicates
        for point, row in enumerate(sample):
            values = self.values(row)
            for replicate in range(replicates):
                yield RunSpec(
                    run_id=point * replicates + replicate,
                    point=point,
                    replicate=replicate,
                    seed=run_seed(self.spec, point),
                    values=values,
                )

    def values(self, row: np.ndarray) -> dict[str, Any]:
        """The values a sample row writes into the document (integers rounded)."""
        return {
            name: _as_kind(float(x), self.kinds[name])
            for name, x in zip(self.names, row, strict=False)
        }


def run_seed(spec: ExperimentSpec, point: int) -> int:
    """The root seed of a run's model, derived from the experiment seed.

    With common random numbers every point shares one seed (replicate ``r`` then draws
    the same numbers at every point); otherwise each point has its own. Either way it
    depends on neither the executor nor the order of the runs.

    Examples:
        >>> spec = ExperimentSpec(name="x", model="ishigami", parameters={"x1": [0, 1]},
        ...                       method="latin", samples=4, outputs=["y"], seed=7)
        >>> run_seed(spec, 0) == run_seed(spec, 3), run_seed(spec, 3) == run_seed(spec, 3)
        (False, True)
        >>> common = spec.model_copy(update={"random_numbers": "common"})
        >>> run_seed(common, 0) == run_seed(common, 3)
        True
    """
    key = (_SEED_STREAM,) if spec.random_numbers == "common" else (_SEED_STREAM, point)
    state = np.random.SeedSequence(spec.seed, spawn_key=key).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def _as_kind(value: float, kind: str) -> Any:
    if kind == "int":
        return int(round(value))
    if kind == "bool":
        return bool(value >= 0.5)
    return value


def output_specs(spec: ExperimentSpec) -> list[OutputSpec]:
    """The outputs of ``spec``, each as an :class:`OutputSpec`."""
    return [OutputSpec(name=o) if isinstance(o, str) else o for o in spec.outputs]


def parameter_spec(value: ParameterSpec | list[float]) -> ParameterSpec:
    """A parameter entry as a :class:`ParameterSpec` (a bare list is uniform bounds)."""
    return value if isinstance(value, ParameterSpec) else ParameterSpec(bounds=value)


def salib_problem(spec: ExperimentSpec) -> dict[str, Any]:
    """Build the SALib problem dictionary of ``spec``.

    Examples:
        >>> spec = ExperimentSpec(name="x", model="ishigami", parameters={"x1": [0, 1]},
        ...                       method="latin", samples=4, outputs=["y"])
        >>> salib_problem(spec)
        {'num_vars': 1, 'names': ['x1'], 'bounds': [[0.0, 1.0]]}
    """
    entries = {name: parameter_spec(value) for name, value in spec.parameters.items()}
    problem: dict[str, Any] = {
        "num_vars": len(entries),
        "names": list(entries),
        "bounds": [list(p.bounds) for p in entries.values()],
    }
    if any(p.distribution != "uniform" for p in entries.values()):
        problem["dists"] = [DISTRIBUTIONS[p.distribution][0] for p in entries.values()]
    if any(p.group for p in entries.values()):
        problem["groups"] = [p.group or name for name, p in entries.items()]
    return problem


def draw_sample(spec: ExperimentSpec) -> np.ndarray:
    """Draw the SALib sample of ``spec`` (its seed makes it reproducible)."""
    from importlib import import_module

    method = METHODS[spec.method]
    sampler = import_module(f"SALib.sample.{method.sampler}")
    problem = salib_problem(spec)
    n = spec.samples
    if method.name == "sobol":
        sample = sampler.sample(problem, n, calc_second_order=spec.second_order, seed=spec.seed)
    elif method.name == "morris":
        sample = sampler.sample(problem, n, num_levels=spec.levels, seed=spec.seed)
    elif method.name == "fast":
        sample = sampler.sample(problem, n, M=spec.harmonics, seed=spec.seed)
    elif method.name == "factorial":
        sample = sampler.sample(problem, seed=spec.seed)
    else:
        sample = sampler.sample(problem, n, seed=spec.seed)
    return np.asarray(sample, dtype=float)


# --------------------------------------------------------------------------- document paths
def _suggest(path: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(path, candidates, n=3, cutoff=0.85)
    if not close:
        tail = path.rsplit(".", 1)[-1]
        close = [c for c in candidates if c.rsplit(".", 1)[-1] == tail][:3]
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "give a dotted path into the scenario document, list items by index"


def _annotation_kind(annotation: Any) -> str | None:
    """``"int"``, ``"float"`` or ``"bool"`` for a (possibly optional) scalar annotation."""
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = {_annotation_kind(a) for a in typing.get_args(annotation)} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_of(argument)
        if found is not None:
            return found
    return None


def parameter_kind(schema: type[BaseModel], path: str) -> str | None:
    """The kind (``int``, ``float``, ``bool``) of the field at ``path``, else ``None``.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> parameter_kind(Scenario, "countries.0.national.capacity")
        'int'
        >>> parameter_kind(Scenario, "countries.0.national.routing") is None
        True
    """
    model: type[BaseModel] | None = schema
    annotation: Any = None
    for part in path.split("."):
        if part.isdigit() and annotation is not None:
            continue  # a list index: the item model was taken from the list annotation
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = _model_of(annotation)
    return _annotation_kind(annotation)


# --------------------------------------------------------------------------- loading
def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; every problem is reported at once.

    Args:
        path: The experiment YAML file.

    Returns:
        The checked experiment, with its model's base document resolved.

    Raises:
        ScenarioError: Listing every problem: YAML syntax, unknown keys, a base scenario
            with problems, parameter paths that do not exist, inverted bounds, bounds
            outside a parameter's documented range, an unknown method, a sample size the
            method rejects, and unknown outputs.
    """
    from sim.config.scenario import ScenarioLoader

    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        problem = Problem(shown, "", str(path), f"cannot read the file: {error.strerror}")
        raise ScenarioError([problem]) from None
    loader = ScenarioLoader(text, file=shown)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        raise ScenarioError([Problem(shown, "", "", f"not valid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ScenarioError(loader.duplicates)
    return parse_experiment(data, file=shown, folder=path.parent)


def parse_experiment(data: Any, *, file: str, folder: Path = Path(".")) -> Experiment:
    """Check an experiment document (already parsed); see :func:`load_experiment`.

    Raises:
        ScenarioError: Listing every problem found.
    """
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, "", data, "an experiment file must be a mapping")])
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_schema_problems(error, data, file)) from None
    problems = _method_problems(spec, file)
    model, model_problems = _model(spec, file, folder)
    problems += model_problems
    kinds: dict[str, str] = {}
    if model is not None:
        settings_problems = _settings_problems(spec, model, file)
        problems += settings_problems
        if not settings_problems:
            model = _with_settings(model, spec.settings)
            kinds, path_problems = _parameter_problems(spec, model, file)
            problems += path_problems
            problems += _range_problems(spec, model, kinds, file)
            problems += _output_problems(spec, model, file)
    if problems or model is None:
        raise ScenarioError(problems)
    return Experiment(spec=spec, file=file, model=model, kinds=kinds)


def _schema_problems(error: ValidationError, data: dict[str, Any], file: str) -> list[Problem]:
    problems = []
    for detail in error.errors():
        loc = [str(part) for part in detail["loc"]]
        if not _branch_applies(loc, data):
            continue
        loc = [part for part in loc if part not in _BRANCHES]
        key = ".".join(loc)
        if detail["type"] == "extra_forbidden":
            known = list(ExperimentSpec.model_fields if len(loc) == 1 else _nested_fields(loc))
            fix = _suggest_plain(loc[-1], known, "key")
            problems.append(Problem(file, key, detail.get("input"), "unknown key", fix))
        elif detail["type"] == "missing":
            problems.append(Problem(file, key, None, "required key is missing", "add it"))
        else:
            problems.append(Problem(file, key, detail.get("input"), detail["msg"]))
    unique: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        unique.setdefault((problem.key, problem.message), problem)
    return list(unique.values())


#: The names pydantic gives the branches of the unions ``ParameterSpec | list[float]``
#: and ``str | OutputSpec`` in error locations, and the input type each branch is for.
_BRANCHES: dict[str, type] = {
    "ParameterSpec": dict,
    "list[float]": list,
    "OutputSpec": dict,
    "str": str,
}


def _branch_applies(loc: list[str], data: dict[str, Any]) -> bool:
    """Whether an error of one union branch concerns the kind of value actually written.

    A union reports one error per branch; only the branch matching the written value
    (a mapping, a list or a name) says something useful.
    """
    if len(loc) < 3 or loc[2] not in _BRANCHES or loc[0] not in ("parameters", "outputs"):
        return True
    section: Any = data.get(loc[0])
    try:
        value = section[int(loc[1])] if isinstance(section, list) else section[loc[1]]
    except (KeyError, IndexError, TypeError, ValueError):
        return True
    wanted = _BRANCHES[loc[2]]
    return isinstance(value, wanted) or not isinstance(value, (dict, list, str))


def _nested_fields(loc: list[str]) -> list[str]:
    if loc[0] == "parameters":
        return list(ParameterSpec.model_fields)
    if loc[0] == "outputs":
        return list(OutputSpec.model_fields)
    return []


def _method_problems(spec: ExperimentSpec, file: str) -> list[Problem]:
    problems = []
    for name, value in spec.parameters.items():
        problems += _bounds_problems(name, parameter_spec(value), file)
    if spec.method not in METHODS:
        close = difflib.get_close_matches(spec.method, list(METHODS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append(
            Problem(
                file, "method", spec.method, "unknown method", f"{hint}known: {', '.join(METHODS)}"
            )
        )
        return problems
    method = METHODS[spec.method]
    n, count = spec.samples, len(spec.parameters)
    size = f"samples is {method.samples}"
    if method.name == "factorial":
        if n is not None:
            problems.append(
                Problem(
                    file, "samples", n, "a factorial design has a fixed size", "remove 'samples'"
                )
            )
    elif n is None:
        problems.append(Problem(file, "samples", None, "required for this method", size))
    elif method.name == "sobol" and n & (n - 1):
        lower = 1 << (n.bit_length() - 1)
        problems.append(
            Problem(
                file,
                "samples",
                n,
                "Sobol' needs a power of 2",
                f"{size}: use {lower} or {lower * 2}",
            )
        )
    elif method.name == "morris" and n < 2:
        problems.append(Problem(file, "samples", n, "Morris needs at least 2 trajectories", size))
    elif method.name == "fast" and n <= 4 * spec.harmonics**2:
        problems.append(
            Problem(
                file,
                "samples",
                n,
                f"FAST needs more than 4 M**2 = {4 * spec.harmonics**2} runs per parameter",
                size,
            )
        )
    elif method.name in ("rbd_fast", "latin", "pawn") and n < 2 * spec.harmonics + 1:
        problems.append(
            Problem(
                file,
                "samples",
                n,
                "too few points to estimate indices",
                f"use at least {2 * spec.harmonics + 1}",
            )
        )
    if method.name == "factorial" and count < 2:
        problems.append(
            Problem(file, "parameters", count, "a factorial design needs at least 2 parameters")
        )
    shapes = {parameter_spec(p).distribution for p in spec.parameters.values()}
    if method.name == "factorial" and shapes != {"uniform"}:
        problems.append(
            Problem(
                file,
                "parameters",
                sorted(shapes),
                "a factorial design takes uniform "
                "parameters only (it uses the two ends of each range)",
                "give [low, high]",
            )
        )
    groups = [parameter_spec(p).group for p in spec.parameters.values()]
    if any(groups) and not method.groups:
        problems.append(
            Problem(
                file,
                "parameters",
                [g for g in groups if g],
                f"method {method.name!r} does not take groups",
                "remove 'group' or use sobol or morris",
            )
        )
    return problems


def _bounds_problems(name: str, parameter: ParameterSpec, file: str) -> list[Problem]:
    key = f"parameters.{name}.bounds"
    bounds = parameter.bounds
    needed = {"uniform": 2, "triangular": 3, "normal": 2, "truncnormal": 4, "lognormal": 2}
    shape = DISTRIBUTIONS[parameter.distribution][1]
    if len(bounds) != needed[parameter.distribution]:
        return [
            Problem(
                file,
                key,
                bounds,
                f"a {parameter.distribution} parameter takes "
                f"{needed[parameter.distribution]} numbers",
                f"give {shape}",
            )
        ]
    if not all(math.isfinite(b) for b in bounds):
        return [Problem(file, key, bounds, "bounds must be finite numbers", f"give {shape}")]
    if parameter.distribution in ("uniform", "triangular", "truncnormal") and (
        bounds[0] >= bounds[1]
    ):
        return [
            Problem(
                file,
                key,
                bounds,
                "inverted or empty bounds: low must be below high",
                f"write [{bounds[1]:g}, {bounds[0]:g}]"
                if bounds[0] > bounds[1]
                else "widen the range",
            )
        ]
    if parameter.distribution == "triangular" and not 0 <= bounds[2] <= 1:
        return [
            Problem(
                file,
                key,
                bounds,
                "the peak is a fraction of the range",
                "give a peak between 0 and 1",
            )
        ]
    if parameter.distribution in ("normal", "lognormal", "truncnormal") and bounds[-1] <= 0:
        return [Problem(file, key, bounds, "the standard deviation must be positive")]
    return []


_MODELS: dict[str, tuple[str, str, str]] = {
    "ishigami": ("sim.sweeps.ishigami", "IshigamiConfig", "run_ishigami"),
}


def _model(
    spec: ExperimentSpec, file: str, folder: Path
) -> tuple[SweepModel | None, list[Problem]]:
    from importlib import import_module

    if (spec.scenario is None) == (spec.model is None):
        return None, [
            Problem(
                file,
                "scenario",
                spec.scenario,
                "give exactly one of 'scenario' (a scenario file) or 'model'",
                "e.g. scenario: ../scenarios/demo.yaml, or model: ishigami",
            )
        ]
    if spec.model is not None:
        module, schema_name, run_name = _MODELS[spec.model]
        loaded = import_module(module)
        schema = getattr(loaded, schema_name)
        document = schema().model_dump(mode="json")
        return SweepModel(spec.model, document, schema, getattr(loaded, run_name)), []
    from sim.config.scenario import load_scenario, resolved_document
    from sim.model.schema import Scenario
    from sim.runs.simulation import run_replicate

    assert spec.scenario is not None
    scenario_path = Path(spec.scenario)
    if not scenario_path.is_absolute():
        scenario_path = folder / scenario_path
    if not scenario_path.is_file():
        return None, [
            Problem(
                file,
                "scenario",
                spec.scenario,
                "no such scenario file",
                f"looked for {scenario_path}",
            )
        ]
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as error:
        return None, error.problems
    return SweepModel("scenario", resolved_document(scenario), Scenario, run_replicate), []


def _settings_problems(spec: ExperimentSpec, model: SweepModel, file: str) -> list[Problem]:
    candidates = list(leaf_paths(model.document))
    problems = []
    for path in spec.settings:
        try:
            get_path(model.document, path)
        except KeyError:
            problems.append(
                Problem(
                    file,
                    f"settings.{path}",
                    spec.settings[path],
                    "no such key in the base document",
                    _suggest(path, candidates),
                )
            )
    if not problems:
        try:
            _with_settings(model, spec.settings).build({}, 0)
        except ValidationError as error:
            problems += _value_problems(error, file, "settings", "change the setting")
    return problems


def _with_settings(model: SweepModel, settings: dict[str, Any]) -> SweepModel:
    document = copy.deepcopy(model.document)
    for path, value in settings.items():
        set_path(document, path, value)
    return SweepModel(model.kind, document, model.schema, model.run)


def _parameter_problems(
    spec: ExperimentSpec, model: SweepModel, file: str
) -> tuple[dict[str, str], list[Problem]]:
    candidates = [
        p for p in leaf_paths(model.document) if parameter_kind(model.schema, p) is not None
    ]
    kinds: dict[str, str] = {}
    problems = []
    for path in spec.parameters:
        key = f"parameters.{path}"
        try:
            get_path(model.document, path)
        except KeyError:
            problems.append(
                Problem(
                    file,
                    key,
                    path,
                    f"no such parameter in the {model.kind} document",
                    _suggest(path, candidates),
                )
            )
            continue
        kind = parameter_kind(model.schema, path)
        if kind is None:
            problems.append(
                Problem(
                    file,
                    key,
                    path,
                    "not a numeric or true/false parameter",
                    "sweep numbers, whole numbers or switches only",
                )
            )
            continue
        if kind == "bool" and parameter_spec(spec.parameters[path]).bounds != [0.0, 1.0]:
            problems.append(
                Problem(
                    file,
                    key,
                    spec.parameters[path],
                    "a switch is swept with bounds [0, 1] (off below 0.5, on above)",
                    "write [0, 1]",
                )
            )
            continue
        kinds[path] = kind
    return kinds, problems


def _range_problems(
    spec: ExperimentSpec, model: SweepModel, kinds: dict[str, str], file: str
) -> list[Problem]:
    """Check each parameter's extreme values against the model's own schema.

    Each end of each range is checked alone, then all low ends together and all high
    ends together, which catches ranges that are valid one by one but not jointly
    (shares that must not add up to more than 1, say). Other combinations inside the
    box can still be invalid; such runs fail with their message and are recorded.
    """
    problems = []
    corners: dict[str, dict[str, Any]] = {"low": {}, "high": {}}
    for path in kinds:
        parameter = parameter_spec(spec.parameters[path])
        if parameter.distribution in ("normal", "lognormal") or _bounds_problems(
            path, parameter, file
        ):
            continue  # unbounded: values out of range fail as runs, with their error
        corners["low"][path] = _as_kind(parameter.bounds[0], kinds[path])
        corners["high"][path] = _as_kind(parameter.bounds[1], kinds[path])
        for end, x in (("low", parameter.bounds[0]), ("high", parameter.bounds[1])):
            try:
                model.build({path: _as_kind(x, kinds[path])}, 0)
            except ValidationError as error:
                for detail in error.errors():
                    problems.append(
                        Problem(
                            file,
                            f"parameters.{path}.bounds",
                            parameter.bounds,
                            f"the {end} bound is not allowed: {detail['msg']}",
                            "keep the bounds inside the parameter's range",
                        )
                    )
    if problems:
        return problems
    for end, values in corners.items():
        try:
            model.build(values, 0)
        except ValidationError as error:
            for detail in error.errors():
                where = ".".join(str(part) for part in detail["loc"])
                problems.append(
                    Problem(
                        file,
                        "parameters",
                        f"all {end} bounds",
                        f"the parameters at their {end} bounds together are not allowed: "
                        f"{where}: {detail['msg']}",
                        "narrow the ranges of the parameters named so that they fit together",
                    )
                )
    return problems


def _value_problems(error: ValidationError, file: str, key: str, fix: str) -> list[Problem]:
    return [
        Problem(
            file, f"{key} ({'.'.join(str(p) for p in d['loc'])})", d.get("input"), d["msg"], fix
        )
        for d in error.errors()
    ]


def _output_problems(spec: ExperimentSpec, model: SweepModel, file: str) -> list[Problem]:
    """Check output names against a short probe run of the base document."""
    probe_document = dict(model.document)
    if "months" in probe_document:
        probe_document["months"] = min(2, int(probe_document["months"]))
    probe = SweepModel(model.kind, probe_document, model.schema, model.run)
    result = probe.run(probe.build({}, spec.seed), 0)
    summary_keys = sorted(result.summary)
    columns = [c for c in result.timeseries.columns if c != "month"]
    problems = []
    for index, output in enumerate(output_specs(spec)):
        if output.column is None and output.name not in result.summary:
            problems.append(
                Problem(
                    file,
                    f"outputs.{index}",
                    output.name,
                    "unknown output",
                    _suggest_plain(output.name, summary_keys, "summary value"),
                )
            )
        elif output.column is not None and output.column not in columns:
            problems.append(
                Problem(
                    file,
                    f"outputs.{index}.column",
                    output.column,
                    "unknown monthly column",
                    _suggest_plain(output.column, columns, "monthly column"),
                )
            )
    names = [o.name for o in output_specs(spec)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(Problem(file, "outputs", repeated, "output names must be unique"))
    return problems


def _suggest_plain(name: str, known: list[str], what: str) -> str:
    close = [k for k in known if k.startswith(name) and name] or difflib.get_close_matches(
        name, known, n=3, cutoff=0.6
    )
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"known {what}s: " + ", ".join(known)


# --------------------------------------------------------------------------- one run
_STATISTICS: dict[str, Callable[[np.ndarray], Any]] = {
    "final": lambda series: series[-1],
    "mean": np.mean,
    "min": np.min,
    "max": np.max,
    "sum": np.sum,
}


def outputs_of(result: ReplicateResult, outputs: list[OutputSpec]) -> dict[str, float]:
    """Read the outputs of one run from its result."""
    values: dict[str, float] = {}
    for output in outputs:
        if output.column is None:
            values[output.name] = float(result.summary[output.name])
            continue
        series = result.timeseries[output.column].to_numpy(dtype=float)
        if output.last_months is not None:
            series = series[-output.last_months :]
        values[output.name] = float(_STATISTICS[output.statistic](series))
    return values


def evaluate(model: SweepModel, outputs: list[OutputSpec], run: RunSpec) -> dict[str, Any]:
    """Run one sweep run and return its row; a failure becomes a row with its error.

    The row holds ``run_id``, ``point``, ``replicate``, ``seed``, the parameter values,
    the outputs (NaN after a failure), ``error`` (empty when it worked) and ``seconds``.
    """
    start = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "point": run.point,
        "replicate": run.replicate,
        "seed": run.seed,
        **run.values,
    }
    try:
        config = model.build(run.values, run.seed)
        row.update(outputs_of(model.run(config, run.replicate), outputs))
        row["error"] = ""
    except Exception as error:  # recorded with the run; the sweep goes on
        row.update({output.name: math.nan for output in outputs})
        row["error"] = f"{type(error).__name__}: {error}"
    row["seconds"] = time.perf_counter() - start
    return row


def evaluate_chunk(
    model: SweepModel, outputs: list[OutputSpec], runs: list[RunSpec]
) -> list[dict[str, Any]]:
    """Evaluate several runs in one call (one task for an executor)."""
    return [evaluate(model, outputs, run) for run in runs]
