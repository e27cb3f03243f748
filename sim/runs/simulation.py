"""Run one replicate of a scenario as a pure function: scenario and replicate in, tables out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from sim.model.agents import Decision
from sim.model.schema import Scenario

__all__ = ["DECISION_COLUMNS", "ReplicateResult", "decision_table", "run_replicate"]


@dataclass
class ReplicateResult:
    """Everything one replicate produces, as tidy tables.

    Attributes:
        replicate: Replicate index; its random streams derive from (scenario seed, replicate).
        seed: The scenario's root seed used.
        timeseries: One row per month (column ``month``) with world-level outputs.
        countries: One row per (``month``, ``country``).
        practices: One row per (``month``, ``practice``) with ``coverage`` and ``topic``.
        time_to_scale: One row per practice: ``months_to_50``, ``months_to_80`` (NaN if never).
        milestones: One row per practice: the first month of each step of its life
            (:mod:`sim.model.milestones`; NaN if never).
        summary: Final values for the replicate (``qoc_final``, ``lost_*``, ...).
        decisions: One row per decision an organisation took (``month``, ``agent``,
            ``country``, ``decision``, ``reason``): the loops' changes to the learning
            system, districts' coaching shifts, guidance issued and withdrawn.
    """

    replicate: int
    seed: int
    timeseries: pd.DataFrame
    countries: pd.DataFrame
    practices: pd.DataFrame
    time_to_scale: pd.DataFrame
    summary: dict[str, float] = field(default_factory=dict)
    decisions: pd.DataFrame = field(default_factory=lambda: decision_table([]))
    milestones: pd.DataFrame = field(default_factory=pd.DataFrame)


DECISION_COLUMNS = ("month", "agent", "country", "decision", "reason")


def decision_table(decisions: list[Decision]) -> pd.DataFrame:
    """The decisions of a run as a table (typed columns, even when empty)."""
    frame = pd.DataFrame([asdict(d) for d in decisions], columns=list(DECISION_COLUMNS))
    frame["month"] = frame["month"].astype("int64")
    for column in DECISION_COLUMNS[1:]:
        frame[column] = frame[column].astype(str)
    return frame


def run_replicate(scenario: Scenario, replicate: int) -> ReplicateResult:
    """Simulate ``scenario`` once, with the random streams of ``replicate``.

    The same scenario and replicate always give the same tables, in any process. A
    scenario with a ``posterior`` block first takes this replicate's draw of the fitted
    parameters (see :mod:`sim.config.posterior`); its row is reported as ``posterior_row``.
    """
    from sim.model.model import LearningHealthSystem

    drawn_row: int | None = None
    if scenario.posterior is not None:
        from sim.config.posterior import apply_posterior

        scenario, drawn_row = apply_posterior(scenario, replicate)
    model = LearningHealthSystem(scenario, replicate)
    model.run()
    recorder = model.recorder
    summary = recorder.summary()
    if drawn_row is not None:
        summary["posterior_row"] = float(drawn_row)
    return ReplicateResult(
        replicate=replicate,
        seed=scenario.seed,
        timeseries=recorder.timeseries(),
        countries=recorder.countries(),
        practices=recorder.practices(),
        time_to_scale=recorder.time_to_scale(),
        summary=summary,
        decisions=decision_table(model.decisions),
        milestones=recorder.milestones_table(),
    )
