"""How much common random numbers sharpen a paired comparison.

For a few planner levers, runs the demo scenario with and without the lever on the same
replicates (same seed, same replicate index: common random numbers) and prints, for the
final and the mean QoC, the variance of the paired gain ``var(Y1_r - Y0_r)`` against the
variance an unpaired comparison of the same runs would have, ``var(Y1) + var(Y0)``.
The smaller their ratio, the more the two worlds share their randomness.

    python benchmarks/pairing.py [--replicates 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from sim.config.scenario import load_scenario
from sim.model.schema import Scenario
from sim.runs.simulation import run_replicate

DEMO = Path(__file__).resolve().parent.parent / "scenarios" / "demo.yaml"

#: Lever name -> change to the demo country.
LEVERS: dict[str, dict[str, Any]] = {
    "coaching off": {"channels": {"coaching": {"enabled": False}}},
    "messaging group on": {"channels": {"messaging_group": {"enabled": True}}},
    "national capacity unlimited": {"national": {"capacity": None}},
}
OUTPUTS = ("qoc_final", "qoc_mean")


def _with(scenario: Scenario, change: dict[str, Any]) -> Scenario:
    document = scenario.model_dump()
    country = document["countries"][0]
    for section, values in change.items():
        for key, value in values.items():
            if isinstance(value, dict):
                country[section][key].update(value)
            else:
                country[section][key] = value
    return Scenario(**document)


def _summary(args: tuple[Scenario, int]) -> dict[str, float]:
    scenario, replicate = args
    return run_replicate(scenario, replicate).summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    base = load_scenario(DEMO)
    worlds = {"baseline": base} | {name: _with(base, change) for name, change in LEVERS.items()}
    started = time.perf_counter()
    results: dict[str, list[dict[str, float]]] = {}
    with ProcessPoolExecutor(arguments.workers) as pool:
        for name, scenario in worlds.items():
            jobs = [(scenario, r) for r in range(arguments.replicates)]
            results[name] = list(pool.map(_summary, jobs))
    print(
        f"{arguments.replicates} replicates of {DEMO.name} per world "
        f"({time.perf_counter() - started:.1f} s)\n"
    )
    print(
        f"{'lever':30} {'output':10} {'mean gain':>10} {'var paired':>11} "
        f"{'var unpaired':>13} {'ratio':>7}"
    )
    for name in LEVERS:
        for output in OUTPUTS:
            y0 = np.array([row[output] for row in results["baseline"]])
            y1 = np.array([row[output] for row in results[name]])
            paired = float(np.var(y1 - y0, ddof=1))
            unpaired = float(np.var(y1, ddof=1) + np.var(y0, ddof=1))
            print(
                f"{name:30} {output:10} {float(np.mean(y1 - y0)):>+10.4f} {paired:>11.2e} "
                f"{unpaired:>13.2e} {paired / unpaired:>7.3f}"
            )


if __name__ == "__main__":
    main()
