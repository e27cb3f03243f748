"""Compile the kernels once, ahead of the first real run: ``python -m sim.runs.warmup``.

The compiled kernels (beside their mechanisms, :mod:`sim.model.mechanisms`) are built on
their first call and cached on disk by numba, which takes about half a minute on two
cores. The project's install
step runs this module, so that neither the first run nor the worker processes of a
parallel run pay for it. It runs a small scenario with every mechanism switched on for
long enough to reach the review months of the learning loops.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

from numba.core.dispatcher import Dispatcher

import sim.model
from sim.model.model import LearningHealthSystem
from sim.model.schema import Scenario

__all__ = ["compiled_kernels", "warm_up"]


def compiled_kernels() -> dict[str, Dispatcher]:
    """Every compiled kernel the model calls from Python, by qualified name.

    These are the names in each module's ``__all__``; helpers that kernels call (or
    inline) are compiled with their callers.
    """
    found: dict[str, Dispatcher] = {}
    for info in pkgutil.walk_packages(sim.model.__path__, "sim.model."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            dispatcher = (
                value if isinstance(value, Dispatcher) else getattr(value, "__wrapped__", None)
            )
            if isinstance(dispatcher, Dispatcher) and dispatcher.py_func.__module__ == info.name:
                found[f"{info.name}.{name}"] = dispatcher
    return found


def warm_up() -> float:
    """Run a small scenario with every mechanism on; return the seconds it took."""
    start = time.perf_counter()
    LearningHealthSystem(_scenario(), replicate=0).run()
    return time.perf_counter() - start


def _scenario() -> Scenario:
    """Every mechanism on, in two linked countries."""
    return Scenario(
        name="warm-up",
        months=13,
        countries=[
            {
                "name": "A",
                "districts": 3,
                "facilities": 90,
                "channels": {
                    "messaging_group": {"enabled": True},
                    "exchange_visits": {"enabled": True},
                    "learning_sessions": {"capacity": 3},  # full: some are turned away
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
