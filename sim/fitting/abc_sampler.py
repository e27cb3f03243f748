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

import logging
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

log = logging.getLogger(__name__)

__all__ = [
    "WALL_TIME",
    "SeededMappingSampler",
    "pyabc_prior",
    "run_abc",
    "run_diagnostics",
    "stopped_by",
    "weighted_posterior",
]


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


def run_diagnostics(history: Any, samples: pd.DataFrame, stop: Stopping) -> dict[str, Any]:
    """Generations (epsilon, simulations), totals, effective sample size, stopping rule.

    ``stopped_by`` names the rule that ended the run (:func:`stopped_by`);
    ``reproducible_from_seed`` says whether the seed alone gives the same posterior.
    """
    generations = [
        {"t": int(row.t), "epsilon": float(row.epsilon), "simulations": int(row.samples)}
        for row in history.get_all_populations().itertuples()
        if row.t >= 0
    ]
    reason = stopped_by(generations, int(history.total_nr_simulations), stop)
    if reason == WALL_TIME:
        log.warning(
            "the wall time stopped the fit after %d generations, so the posterior depends on "
            "this machine's speed; set max_generations: %d to reproduce it from the seed",
            len(generations),
            len(generations),
        )
    return {
        "generations": generations,
        "total_simulations": int(history.total_nr_simulations),
        "effective_sample_size": float(1.0 / np.sum(np.square(samples["weight"]))),
        "stopped_by": reason,
        "reproducible_from_seed": reason != WALL_TIME,
    }


#: The stopping rule that makes a fit depend on the machine's speed.
WALL_TIME = "wall time"


def stopped_by(generations: list[dict[str, Any]], simulations: int, stop: Stopping) -> str:
    """The stopping rule that ended an ABC-SMC run, checked in the order pyabc checks them.

    Every rule but ``max_walltime_minutes`` depends on the seed only; a run the wall time
    stopped is reproduced by setting ``max_generations`` to the generations it ran.

    Examples:
        >>> from sim.fitting.calibration_spec import Stopping
        >>> gens = [{"t": 0, "epsilon": 3.0, "simulations": 40},
        ...         {"t": 1, "epsilon": 2.0, "simulations": 90}]
        >>> stopped_by(gens, 130, Stopping(population_size=20, max_generations=2))
        'generations'
        >>> stopped_by(gens, 130, Stopping(population_size=20, max_generations=5,
        ...                                max_walltime_minutes=1))
        'wall time'
        >>> stopped_by(gens, 130, Stopping(population_size=20, max_generations=5,
        ...                                min_acceptance_rate=0.25))
        'acceptance rate'
    """
    last = generations[-1]
    if last["epsilon"] <= stop.min_epsilon:
        return "epsilon"
    if (
        last["simulations"]
        and stop.population_size / last["simulations"] < stop.min_acceptance_rate
    ):
        return "acceptance rate"
    if stop.max_simulations is not None and simulations >= stop.max_simulations:
        return "simulations"
    if len(generations) >= stop.max_generations:
        return "generations"
    return WALL_TIME if stop.max_walltime_minutes is not None else "generations"


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
