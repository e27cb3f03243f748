"""A small stand-in for ``run_replicate``: tables of the documented shape, fast.

It is deterministic in (scenario seed, replicate) and lives in a module of its own so
that worker processes can import it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.agents import Decision
from sim.model.schema import Scenario
from sim.runs.simulation import ReplicateResult, decision_table

LOSS_COLUMNS = [
    "lost_turnover",
    "lost_bottleneck",
    "lost_blame",
    "lost_no_story",
    "lost_no_channel",
]
PRACTICES = 4


def fake_replicate(scenario: Scenario, replicate: int) -> ReplicateResult:
    """Return tables that look like a replicate's, drawn from (seed, replicate)."""
    rng = np.random.default_rng(np.random.SeedSequence(scenario.seed, spawn_key=(replicate,)))
    months = np.arange(scenario.months + 1)
    qoc = np.clip(0.2 + 0.5 * (1 - np.exp(-months / 12)) + rng.normal(0, 0.02, months.size), 0, 1)
    timeseries = pd.DataFrame({"month": months, "qoc": qoc})
    countries = pd.DataFrame(
        [
            {"month": int(m), "country": c.name, "qoc": float(q)}
            for m, q in zip(months, qoc, strict=True)
            for c in scenario.countries
        ]
    )
    rows = []
    scale = []
    for index in range(PRACTICES):
        rate = rng.uniform(0.05, 0.5)
        coverage = 1 / (1 + np.exp(-rate * (months - 20)))
        name = f"practice {index}"
        rows += [
            {"month": int(m), "practice": name, "topic": "general", "coverage": float(v)}
            for m, v in zip(months, coverage, strict=True)
        ]
        reached_50 = months[coverage >= 0.5]
        reached_80 = months[coverage >= 0.8]
        scale.append(
            {
                "practice": name,
                "months_to_50": float(reached_50[0]) if reached_50.size else np.nan,
                "months_to_80": float(reached_80[0]) if reached_80.size else np.nan,
            }
        )
    summary = {"qoc_final": float(qoc[-1])}
    summary |= {column: float(rng.poisson(20)) for column in LOSS_COLUMNS}
    summary["duplication_waste"] = float(rng.poisson(5))
    return ReplicateResult(
        replicate=replicate,
        seed=scenario.seed,
        timeseries=timeseries,
        countries=countries,
        practices=pd.DataFrame(rows),
        time_to_scale=pd.DataFrame(scale),
        summary=summary,
        milestones=pd.DataFrame(
            {"practice": [row["practice"] for row in scale]}
            | {"months_to_50": [row["months_to_50"] for row in scale]}
        ),
        decisions=decision_table(
            [Decision(12, "national body of A", "A", "issued guidance on practice 0", "fake")]
        ),
    )


def failing_replicate(scenario: Scenario, replicate: int) -> ReplicateResult:
    """Like :func:`fake_replicate`, but replicate 3 always fails."""
    if replicate == 3:
        raise ValueError("the fake model fails on replicate 3")
    return fake_replicate(scenario, replicate)
