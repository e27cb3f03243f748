"""A pyabc sampler whose result depends on the calibration seed only.

pyabc's parallel samplers reseed their workers from the operating system, so a fit on
processes or Dask cannot be repeated. This mapping sampler gives particle ``i`` of
generation ``t`` its own seed, the ``i``-th number of ``SeedSequence(seed,
spawn_key=(t + 1,))``: the particle
is the first accepted simulation of a loop started from that seed, whichever worker runs
it, and ``map`` keeps the particles in order. Serial, processes and Dask, with any number
of workers, then give the same populations and the same posterior.

The module imports pyabc, which is slow to import: import it only to fit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from pyabc.sampler import MappingSampler

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
