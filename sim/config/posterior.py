"""Draw each replicate's fitted parameters from posterior samples (``posterior:`` block).

A calibrated scenario (written by ``lhsim calibrate``) names a CSV of posterior samples
and, for each of its columns, the dotted scenario key it sets. Replicate ``r`` draws
one row, with the ``weight`` column as probabilities (equal weights without it), from
the ``posterior`` random stream of the scenario seed and ``r``; so the same scenario
and replicate always take the same row, in any process or executor.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config.paths import set_key
from sim.errors import Problem, ScenarioError
from sim.model.schema import Posterior, Scenario
from sim.model.streams import Streams

__all__ = ["WEIGHT", "apply_posterior", "posterior_problems", "read_samples"]

WEIGHT = "weight"
"""Optional column of row weights in a samples file."""


@functools.lru_cache(maxsize=16)
def _read(path: str, stamp: tuple[int, int]) -> pd.DataFrame:
    del stamp  # part of the cache key only
    return pd.read_csv(path)


def read_samples(posterior: Posterior) -> pd.DataFrame:
    """The samples file (cached while the file is unchanged)."""
    status = os.stat(posterior.samples)
    return _read(posterior.samples, (status.st_size, status.st_mtime_ns))


def posterior_problems(posterior: Posterior, file: str) -> list[Problem]:
    """Check the samples file: readable, non-empty, named columns numeric, weights valid."""
    key = "posterior.samples"
    try:
        samples = read_samples(posterior)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        return [Problem(file, key, posterior.samples, f"cannot read samples: {error}", "")]
    problems = []
    if samples.empty:
        problems.append(Problem(file, key, posterior.samples, "no samples", "add rows"))
    for column in list(posterior.parameters) + ([WEIGHT] if WEIGHT in samples else []):
        if column not in samples:
            problems.append(
                Problem(
                    file,
                    f"posterior.parameters.{column}",
                    column,
                    "not a column of the samples file",
                    f"columns: {', '.join(map(str, samples.columns))}",
                )
            )
        elif not pd.api.types.is_numeric_dtype(samples[column]) or samples[column].isna().any():
            problems.append(Problem(file, key, column, "column is not all numbers", ""))
    if WEIGHT in samples and pd.api.types.is_numeric_dtype(samples[WEIGHT]):
        weights = samples[WEIGHT]
        if (weights < 0).any() or weights.sum() <= 0:
            problems.append(Problem(file, key, WEIGHT, "weights must be >= 0, sum > 0", ""))
    return problems


def apply_posterior(scenario: Scenario, replicate: int) -> tuple[Scenario, int]:
    """The scenario with replicate ``replicate``'s posterior draw set, and the row drawn.

    Raises:
        ValueError: The scenario has no ``posterior:`` block.
        ScenarioError: The samples do not fit the scenario (a key that is not a
            parameter, or a value outside its range).
    """
    posterior = scenario.posterior
    if posterior is None:
        raise ValueError(f"scenario {scenario.name!r} has no posterior: block")
    samples = read_samples(posterior)
    weights = (
        samples[WEIGHT].to_numpy(dtype=float)
        if WEIGHT in samples
        else np.ones(len(samples), dtype=float)
    )
    rng = Streams(scenario.seed, replicate).setup("posterior", "row")
    row = int(rng.choice(len(samples), p=weights / weights.sum()))
    document = scenario.model_dump()
    for column, key in posterior.parameters.items():
        set_key(document, key, float(samples[column].iloc[row]))
    document["posterior"] = None
    try:
        drawn = Scenario.model_validate(copy.deepcopy(document))
    except Exception as error:  # pydantic's ValidationError, reported as input trouble
        raise ScenarioError(
            [Problem(str(Path(posterior.samples)), f"row {row + 2}", None, str(error), "")]
        ) from None
    return drawn, row
