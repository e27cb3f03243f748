"""Performance benchmarks of lhsim: prints figures and ratios against the targets.

Usage::

    python benchmarks/run.py [national|si|all]

``national``
    ``scenarios/national.yaml`` (200,000 facilities, 700 districts, 32 practices,
    120 months), one replicate, run in a fresh subprocess so that its peak memory
    (``ru_maxrss``) is its own: set-up time, time per month, total wall time, total CPU
    time and peak memory, against the targets (30 s and 2 GB; goal 10 s). CPU time (user
    + sys of every thread, set-up and months) is steadier than wall time on a loaded
    machine; with ``NUMBA_NUM_THREADS=1`` it is the work of one core.

``si``
    An SI-equivalent setting: one practice spread only by the peer channel along
    network ties (every other channel, turnover, innovation, loops and trial noise off;
    trials last no time and every trial succeeds), on a 100,000-facility graph, timed
    against (a) a bare numpy/scipy SI kernel on the very same graph and (b) an
    idiomatic Mesa per-agent version (agents with a ``step()``, neighbour lists as
    Python lists, ``model.agents.shuffle_do("step")``) on the same graph.

    In lhsim a tie is used with chance ``p`` a month and each infected neighbour met
    adds 1 to the hazard of starting (and, here, adopting) the practice, so a
    susceptible facility with ``m`` infected neighbours is infected with chance
    ``1 - (1 - p (1 - 1/e)) ** m``. The bare and per-agent kernels use that per-tie
    chance, ``beta = p (1 - 1/e)``, so all three simulate the same process.

This is not a test: it prints a table. ``all`` takes a few minutes on two cores.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NATIONAL = ROOT / "scenarios" / "national.yaml"

TARGET_SECONDS, GOAL_SECONDS, TARGET_MEMORY_GB = 30.0, 10.0, 2.0
SI_FACILITIES, SI_MONTHS, SI_CONTACT = 100_000, 30, 0.1

TARGET_BARE_RATIO, TARGET_AGENT_RATIO = 3.0, 50.0


# --------------------------------------------------------------------------- national
def national_child(months: int | None) -> None:
    """Run the national scenario once and print its figures as JSON (subprocess side)."""
    import yaml

    from sim.model.model import LearningHealthSystem
    from sim.model.schema import Scenario

    document = yaml.safe_load(NATIONAL.read_text())
    scenario = Scenario(**document)
    months = scenario.months if months is None else months
    # Warm-up on a small copy of the scenario: compiles the kernels on a machine's first
    # run (numba caches them on disk), loads them from the cache on later runs.
    start = time.perf_counter()
    country = {**document["countries"][0], "facilities": 2_000}
    small = Scenario(**{**document, "countries": [country]})
    warm = LearningHealthSystem(small.model_copy(update={"months": 2}), 0)
    warm.run()
    warmup = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    model = LearningHealthSystem(scenario, 0)
    setup = time.perf_counter() - start
    monthly = []
    for _ in range(months):
        tick = time.perf_counter()
        model.step()
        monthly.append(time.perf_counter() - tick)
    total = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(
        json.dumps(
            {
                "months": months,
                "warmup": warmup,
                "setup": setup,
                "monthly": monthly,
                "total": total,
                "cpu": cpu,
                "peak_bytes": peak,
                "qoc_final": model.recorder.rows[-1]["qoc"],
                "conserved": bool(model.ledger.conserved()),
            }
        )
    )


def national(months: int | None = None) -> dict:
    """The national benchmark, run in a fresh process."""
    command = [sys.executable, str(Path(__file__).resolve()), "_national_child"]
    if months is not None:
        command.append(str(months))
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"national run failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    monthly = np.array(figures["monthly"])
    full = figures["months"]
    total = figures["total"]
    gb = figures["peak_bytes"] / 1e9
    print(f"\nnational: {NATIONAL.name}, one replicate, {full} months (fresh subprocess)")
    rows = [
        (
            "warm-up (not in the total)",
            f"{figures['warmup']:.2f} s",
            "a small copy first: compiles the kernels once per machine, then loads them",
        ),
        ("set-up", f"{figures['setup']:.2f} s", ""),
        ("time per month, mean", f"{monthly.mean():.3f} s", ""),
        (
            "time per month, min / median / max",
            f"{monthly.min():.3f} / {np.median(monthly):.3f} / {monthly.max():.3f} s",
            "",
        ),
        (
            "total wall time",
            f"{total:.1f} s",
            f"target {TARGET_SECONDS:.0f} s: {'met' if total <= TARGET_SECONDS else 'NOT met'}"
            f" ({total / TARGET_SECONDS:.2f}x); goal {GOAL_SECONDS:.0f} s: "
            f"{'met' if total <= GOAL_SECONDS else 'not met'} ({total / GOAL_SECONDS:.2f}x)",
        ),
        (
            "total CPU time (user + sys)",
            f"{figures['cpu']:.1f} s",
            f"set-up and months, every thread; {_threads()}",
        ),
        (
            "peak memory (ru_maxrss)",
            f"{gb:.2f} GB",
            f"target {TARGET_MEMORY_GB:.0f} GB: {'met' if gb <= TARGET_MEMORY_GB else 'NOT met'}",
        ),
        (
            "final QoC / ledger conserved",
            f"{figures['qoc_final']:.4f} / {figures['conserved']}",
            "",
        ),
    ]
    _table(("measure", "value", "against target"), rows)
    return figures


# --------------------------------------------------------------------------- SI
def si_scenario(
    facilities: int = SI_FACILITIES, months: int = SI_MONTHS, contact: float = SI_CONTACT
):
    """One practice, the peer channel along ties with contact probability ``contact``."""
    from sim.model.schema import Scenario

    off = {"enabled": False}
    return Scenario(
        name="si",
        description="SI-equivalent: one practice spread only along network ties.",
        seed=2718,
        months=months,
        practices={
            "catalogue": [
                {"name": "si_practice", "effect": 1.0, "context_spread": 0.0, "complexity": 0.0}
            ],
            "initial_adoption": 0.001,
        },
        loops={"single": False, "double": False, "triple": False, "review_share": 0.0},
        countries=[
            {
                "name": "Silia",
                "districts": max(1, facilities // 286),
                "facilities": facilities,
                "facility_mix": {
                    "qi_team_share": 0.0,
                    "data_quality": 1.0,
                    "capability_spread": 0.0,
                },
                "innovation": {"rate": 0.0},
                "trials": {
                    "months": 0,
                    "noise": 0.0,
                    "uptake_with_story": 1.0,
                    "uptake_without_story": 1.0,
                    "failure_heeded": 0.0,
                },
                "turnover": {"annual": 0.0},
                "blame": {"facility": 0.0, "district": 0.0, "national": 0.0},
                "channels": {
                    "internal": off,
                    "peer_network": {
                        "mixing": "network",
                        "contact_probability": contact,
                        "fidelity": 1.0,
                    },
                    "learning_sessions": off,
                    "messaging_group": off,
                    "exchange_visits": off,
                    "coaching": off,
                    "upward_reporting": off,
                    "district_exchange": off,
                    "guidance": off,
                    "community_of_practice": off,
                },
            }
        ],
    )


def bare_si(ties, infected: np.ndarray, beta: float, months: int, seed: int) -> tuple:
    """The bare kernel: ``infected |= rng.random(n) < 1 - (1 - beta) ** (A @ infected)``."""
    rng = np.random.default_rng(seed)
    infected = infected.copy()
    start = time.perf_counter()
    for _ in range(months):
        pressure = ties @ infected.astype(np.float32)
        infected |= rng.random(infected.size) < 1.0 - (1.0 - beta) ** pressure
    return (time.perf_counter() - start) / months, infected


def mesa_si(ties, infected: np.ndarray, beta: float, months: int, seed: int) -> tuple:
    """Idiomatic Mesa: one agent per node, neighbour lists, ``shuffle_do("step")``."""
    import mesa

    class Node(mesa.Agent):
        def __init__(self, model: mesa.Model, sick: bool) -> None:
            super().__init__(model)
            self.infected = sick
            self.was_infected = sick
            self.neighbours: list[Node] = []

        def step(self) -> None:
            if self.infected:
                return
            for other in self.neighbours:
                if other.was_infected and self.random.random() < self.model.beta:
                    self.infected = True
                    return

    class SIModel(mesa.Model):
        def __init__(self) -> None:
            super().__init__(rng=seed)
            self.beta = beta
            nodes = [Node(self, bool(sick)) for sick in infected]
            indptr, indices = ties.indptr, ties.indices
            for i, node in enumerate(nodes):
                node.neighbours = [nodes[j] for j in indices[indptr[i] : indptr[i + 1]]]
            self.nodes = nodes

        def step(self) -> None:
            self.agents.shuffle_do("step")
            for node in self.nodes:
                node.was_infected = node.infected

    model = SIModel()
    start = time.perf_counter()
    for _ in range(months):
        model.step()
    per_month = (time.perf_counter() - start) / months
    return per_month, np.array([node.infected for node in model.nodes])


def si() -> dict:
    """The SI benchmark: lhsim against a bare kernel and a per-agent Mesa model."""
    from sim.model.model import LearningHealthSystem
    from sim.model.state import in_use

    # warm-up on a small copy: loads the compiled kernels (compiles them on a first run)
    LearningHealthSystem(si_scenario(facilities=2_000, months=2), 0).run()
    scenario = si_scenario()
    start = time.perf_counter()
    model = LearningHealthSystem(scenario, 0)
    setup = time.perf_counter() - start
    seeds = in_use(model.population.stage)[:, 0].copy()
    ties = model.world.ties
    n = ties.shape[0]
    beta = SI_CONTACT * (1.0 - math.exp(-1.0))
    start = time.perf_counter()
    for _ in range(SI_MONTHS):
        model.step()
    lhsim_month = (time.perf_counter() - start) / SI_MONTHS
    lhsim_share = float(in_use(model.population.stage)[:, 0].mean())

    bare_month, bare_final = bare_si(ties, seeds, beta, SI_MONTHS, seed=1)

    mesa_month, mesa_final = mesa_si(ties, seeds, beta, SI_MONTHS, seed=1)

    print(
        f"\nsi: one practice along ties, {n:,} facilities ({ties.nnz // 2:,} ties), "
        f"contact probability p = {SI_CONTACT}, per-tie chance beta = p(1 - 1/e) = {beta:.4f}"
    )
    rows = [
        (
            "lhsim (LearningHealthSystem.step)",
            f"{lhsim_month * 1e3:.2f} ms",
            f"{SI_MONTHS} months; set-up {setup:.2f} s; final share {lhsim_share:.3f}",
        ),
        (
            "bare numpy/scipy kernel",
            f"{bare_month * 1e3:.2f} ms",
            f"{SI_MONTHS} months; final share {bare_final.mean():.3f}",
        ),
        (
            "Mesa per-agent",
            f"{mesa_month * 1e3:.1f} ms",
            f"{SI_MONTHS} months; final share {mesa_final.mean():.3f}",
        ),
    ]
    _table(("version", "time per month", "notes"), rows)
    bare_ratio, agent_ratio = lhsim_month / bare_month, mesa_month / lhsim_month
    _table(
        ("ratio", "value", "target"),
        [
            (
                "lhsim / bare kernel",
                f"{bare_ratio:.2f}x",
                f"within {TARGET_BARE_RATIO:.0f}x: "
                f"{'met' if bare_ratio <= TARGET_BARE_RATIO else 'NOT met'}",
            ),
            (
                "per-agent / lhsim",
                f"{agent_ratio:.0f}x",
                f"at least {TARGET_AGENT_RATIO:.0f}x: "
                f"{'met' if agent_ratio >= TARGET_AGENT_RATIO else 'NOT met'}",
            ),
        ],
    )
    return {"lhsim": lhsim_month, "bare": bare_month, "mesa": mesa_month}


# --------------------------------------------------------------------------- output
def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(line)


def main(argv: list[str]) -> int:
    """Run the chosen benchmarks."""
    if argv and argv[0] == "_national_child":
        national_child(int(argv[1]) if len(argv) > 1 else None)
        return 0
    which = argv[0] if argv else "all"
    if which not in ("national", "si", "all"):
        print(__doc__)
        return 2
    print(
        f"lhsim benchmarks on {platform.node()}: {platform.processor() or platform.machine()}, "
        f"{_cores()} cores, Python {platform.python_version()}, numpy {np.__version__}"
    )
    if which in ("national", "all"):
        national()
    if which in ("si", "all"):
        si()
    return 0


def _threads() -> str:
    chosen = os.environ.get("NUMBA_NUM_THREADS")
    return f"NUMBA_NUM_THREADS={chosen}" if chosen else "numba's threads: one per core"


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
