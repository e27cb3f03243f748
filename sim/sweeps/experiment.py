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
method and sample sizes the method rejects (reading and checking:
:mod:`sim.sweeps.experiment_file`).

What a model *is* (its document, the schema that validates it and its run function) is
a :class:`SweepModel`; how its runs are executed lives in :mod:`sim.runs.executors`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from sim.config.paths import set_path
from sim.model.parameters import FolderName, no_truth_values
from sim.runs.simulation import ReplicateResult

__all__ = [
    "MAX_SWEEP_RUNS",
    "METHODS",
    "Experiment",
    "ExperimentSpec",
    "Method",
    "OutputSpec",
    "ParameterSpec",
    "RunSpec",
    "SweepModel",
    "as_kind",
    "run_seed",
    "sample_points",
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

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return no_truth_values(cls, value, info)


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

    name: FolderName = Field(description="Experiment name; names the sweep folder.")
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
            name: as_kind(float(x), self.kinds[name])
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


def as_kind(value: float, kind: str) -> Any:
    """A sampled value as the parameter's kind: rounded for ``int``, ``>= 0.5`` for ``bool``."""
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


#: Most runs (sample points x replicates) in one sweep, and most sample points.
MAX_SWEEP_RUNS = 1_000_000


def sample_points(spec: ExperimentSpec) -> int:
    """The number of sample points the method draws for ``spec`` (before sampling).

    Examples:
        >>> spec = ExperimentSpec(name="x", model="ishigami", parameters={"a": [0, 1],
        ...     "b": [0, 1]}, method="sobol", samples=8, outputs=["y"])
        >>> sample_points(spec)
        32
    """
    method = METHODS[spec.method]
    entries = {name: parameter_spec(value) for name, value in spec.parameters.items()}
    count = len({p.group or name for name, p in entries.items()}) if method.groups else len(entries)
    n = spec.samples or 0
    if method.name == "sobol":
        return n * (2 * count + 2 if spec.second_order else count + 2)
    if method.name == "morris":
        return n * (count + 1)
    if method.name == "fast":
        return n * len(entries)
    if method.name == "factorial":
        return 2 ** max(1, (len(entries) - 1).bit_length()) * 2
    return n


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
