"""Compile the kernels once, ahead of the first real run: ``python -m sim.warmup``.

The compiled kernels (:mod:`sim.kernels`) are built on their first call and cached on
disk by numba, which takes about half a minute on two cores. The project's install
step runs this module, so that neither the first run nor the worker processes of a
parallel run pay for it. It runs a scenario with every mechanism switched on for long
enough to reach the review months of the learning loops, twice: small, and large enough
for the kernels that draw to split their rows into blocks
(:data:`sim.streams.PARALLEL_FROM`), which compiles them again for that many streams.
"""

from __future__ import annotations

import sys
import time

from sim.model import LearningHealthSystem
from sim.params import Scenario
from sim.streams import PARALLEL_FROM

__all__ = ["warm_up"]


def warm_up() -> float:
    """Run the scenario small and large; return the seconds it took."""
    start = time.perf_counter()
    for facilities in (90, PARALLEL_FROM):
        LearningHealthSystem(_scenario(facilities), replicate=0).run()
    return time.perf_counter() - start


def _scenario(facilities: int) -> Scenario:
    """Every mechanism on, in two linked countries, the first with ``facilities``."""
    return Scenario(
        name="warm-up",
        months=13,
        countries=[
            {
                "name": "A",
                "districts": 3,
                "facilities": facilities,
                "channels": {
                    "messaging_group": {"enabled": True},
                    "exchange_visits": {"enabled": True},
                },
                "national": {"routing": "free"},
                "learning_centres": {"count": 1},
            },
            {"name": "B", "districts": 2, "facilities": 40},
        ],
        global_links=[["A", "B"]],
    )


def main() -> int:
    """Compile (or load) the kernels and say how long it took."""
    seconds = warm_up()
    print(f"lhsim: kernels ready ({seconds:.1f} s; compiled once, then loaded from the cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
