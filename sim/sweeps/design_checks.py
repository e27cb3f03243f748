"""Checks of an experiment's design: bounds, method, sample size and sweep size.

Each parameter's bounds are checked against its distribution; the method must be known,
take the sample size given and allow the parameters' shapes and groups; and the sweep
must stay under :data:`~sim.sweeps.experiment.MAX_SWEEP_RUNS` runs. These need the
experiment section only, not its model: :mod:`sim.sweeps.experiment_file` runs them with
the checks against the model (settings, paths, ranges, outputs).
"""

from __future__ import annotations

import difflib
import math

from sim.errors import Problem
from sim.sweeps.experiment import (
    DISTRIBUTIONS,
    MAX_SWEEP_RUNS,
    METHODS,
    ExperimentSpec,
    ParameterSpec,
    parameter_spec,
    sample_points,
)

__all__ = ["bounds_problems", "design_problems"]


def design_problems(spec: ExperimentSpec, file: str) -> list[Problem]:
    """Every parameter's bounds, then the method, its sample size and what it allows."""
    problems = []
    for name, value in spec.parameters.items():
        problems += bounds_problems(name, parameter_spec(value), file)
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
    if n is not None and not problems:
        problems += _size_problems(spec, file)
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


def _size_problems(spec: ExperimentSpec, file: str) -> list[Problem]:
    """A sweep above :data:`MAX_SWEEP_RUNS` runs, with what it would cost."""
    points = sample_points(spec)
    runs = points * spec.replicates
    if runs <= MAX_SWEEP_RUNS:
        return []
    memory = points * len(spec.parameters) * 8 + runs * 200  # sample, then run rows
    hours = runs / 3600  # a scenario run takes a second or more on one core
    return [
        Problem(
            file,
            "samples",
            spec.samples,
            f"{runs:,} runs ({points:,} sample points x {spec.replicates} replicates) are "
            f"more than the {MAX_SWEEP_RUNS:,} a sweep may hold: about {_bytes(memory)} "
            f"for the sample and the run table, and about {hours:,.0f} core-hours at one "
            "second a run",
            "use a smaller samples (or fewer replicates); a few hundred points usually "
            "rank the parameters",
        )
    ]


def _bytes(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if count < 1024 or unit == "TB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} TB"


def bounds_problems(name: str, parameter: ParameterSpec, file: str) -> list[Problem]:
    """The first problem of one parameter's bounds for its distribution, if any."""
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
