"""A pyabc sampler whose result depends on the calibration seed only.

pyabc's parallel samplers reseed their workers from the operating system, so a fit on
processes or Dask cannot be repeated. This mapping sampler gives particle ``i`` of
generation ``t`` its own seed, the ``i``-th number of ``SeedSequence(seed,
spawn_key=(t + 1,))``: the particle
is the first accepted simulation of a loop started from that seed, whichever worker runs
it, and ``map`` keeps the particles in order. Serial, processes and Dask, with any number
of workers, then give the same populations and the same posterior.

The module imports pyabc, which is slow to import: import it only to fit. It also
holds the joint prior both fits build from their fitted parameters (:func:`pyabc_prior`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyabc
from pyabc.sampler import MappingSampler

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.fitting.calibration_spec import FittedParameter, Stopping

__all__ = ["SeededMappingSampler"]


class SeededMappingSampler(MappingSampler):  # type: ignore[misc]
    """Sample each particle from its own seed; the order of the particles is kept.

    Args:
        seed: The calibration seed.
        map_: A ``map`` that keeps order: the built-in one, a process pool's, or one
            that sends the work to a Dask cluster.
    """

    def __init__(self, seed: int, map_: Callable[..., Any]) -> None:
        super().__init__(map_=map_)
        self.seed = int(seed)

    def map_function(self, simulate_one: Any, particle_seed: int) -> tuple[Any, int]:
        """Simulate from ``particle_seed`` until one simulation is accepted."""
        np.random.seed(particle_seed)
        random.seed(particle_seed)
        simulate_one = self.unpickle(simulate_one)
        sample, evaluations = self._create_empty_sample(), 0
        while True:
            new = simulate_one()
            evaluations += 1
            sample.append(new)
            if new.accepted:
                return sample, evaluations

    def sample_until_n_accepted(self, n: int, simulate_one: Any, t: int, **_: Any) -> Any:
        """Generation ``t``: ``n`` particles, each from its own seed, in order."""
        sequence = np.random.SeedSequence(self.seed, spawn_key=(t + 1,))
        seeds = sequence.generate_state(n, dtype=np.uint32).tolist()
        work = partial(self.map_function, self.pickle(simulate_one))
        results = list(self.map_(work, seeds))
        self.nr_evaluations_ = sum(count for _, count in results)
        sample = self._create_empty_sample()
        for part, _ in results:
            sample += part
        return sample


def pyabc_prior(parameters: Sequence[FittedParameter]) -> Any:
    """The joint prior of the fitted parameters, independent uniform or log-uniform."""
    variables = {}
    for parameter in parameters:
        prior = parameter.prior
        if prior.distribution == "uniform":
            variables[parameter.name] = pyabc.RV("uniform", prior.low, prior.high - prior.low)
        else:
            variables[parameter.name] = pyabc.RV("loguniform", prior.low, prior.high)
    return pyabc.Distribution(**variables)


def weighted_posterior(history: Any, names: Sequence[str]) -> pd.DataFrame:
    """The last generation's particles (columns ``names``) with normalised ``weight``."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    samples = frame[list(names)].reset_index(drop=True)
    samples["weight"] = np.asarray(weights) / np.sum(weights)
    return samples


def run_diagnostics(history: Any, samples: pd.DataFrame) -> dict[str, Any]:
    """Each generation's epsilon and simulations, the total, and the effective sample size."""
    return {
        "generations": [
            {"t": int(row.t), "epsilon": float(row.epsilon), "simulations": int(row.samples)}
            for row in history.get_all_populations().itertuples()
            if row.t >= 0
        ],
        "total_simulations": int(history.total_nr_simulations),
        "effective_sample_size": float(1.0 / np.sum(np.square(samples["weight"]))),
    }


def run_abc(abc: Any, stop: Stopping, generations: int) -> Any:
    """Run up to ``generations`` more ABC-SMC generations under the stopping rules."""
    return abc.run(
        minimum_epsilon=stop.min_epsilon,
        max_nr_populations=generations,
        min_acceptance_rate=stop.min_acceptance_rate,
        max_total_nr_simulations=stop.max_simulations or math.inf,
        max_walltime=(
            timedelta(minutes=stop.max_walltime_minutes) if stop.max_walltime_minutes else None
        ),
    )
