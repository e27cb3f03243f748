"""The life of each practice: the month of every first step from trial to national guidance.

:class:`Milestones` looks at the state once a month (after every mechanism ran) and
keeps, per practice, the first month of each milestone anywhere in the world; after the
run, :meth:`Milestones.table` adds the months to 10, 50 and 80 % coverage and the month
the practice was lost (used nowhere from then to the end, after having been used). A
milestone never reached is missing (NaN). The table is ``milestones.csv`` of a results
folder, one row per replicate and practice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.kernels import TRIAL
from sim.model.state import Knowledge

__all__ = ["MILESTONE_COLUMNS", "Milestones", "month_lost", "months_to_reach"]

#: The columns of the milestones table after ``practice``, ``topic`` and ``effect``.
MILESTONE_COLUMNS = (
    "first_trial",
    "first_success",
    "first_lesson_at_district",
    "first_lesson_at_national",
    "guidance_issued",
    "guidance_withdrawn",
    "months_to_10",
    "months_to_50",
    "months_to_80",
    "month_lost",
)

_WATCHED = MILESTONE_COLUMNS[:6]


class Milestones:
    """First months of each practice's milestones (NaN until reached)."""

    def __init__(self, practices: int) -> None:
        self.first = {name: np.full(practices, np.nan) for name in _WATCHED}

    def update(self, month: int, stage: np.ndarray, knowledge: Knowledge) -> None:
        """Record this month's first arrivals."""
        k = knowledge
        now = {
            "first_trial": (stage == TRIAL).any(axis=0),
            "first_success": k.success_found.any(axis=0),
            "first_lesson_at_district": (k.district_success | k.district_failure).any(axis=0),
            "first_lesson_at_national": (
                (k.evidence_success + k.evidence_failure + k.centre_success + k.centre_failure) > 0
            ).any(axis=0),
            "guidance_issued": k.guidance.any(axis=0),
            "guidance_withdrawn": k.withdrawn.any(axis=0),
        }
        for name, reached in now.items():
            first = self.first[name]
            first[reached & np.isnan(first)] = month

    def table(
        self, names: list[str], topics: list[str], effect: np.ndarray, coverage: np.ndarray
    ) -> pd.DataFrame:
        """One row per practice (``coverage``: months x practices, from month 1)."""
        frame = pd.DataFrame({"practice": names, "topic": topics, "effect": effect})
        for name in _WATCHED:
            frame[name] = self.first[name]
        for level in (10, 50, 80):
            frame[f"months_to_{level}"] = months_to_reach(coverage, level / 100)
        frame["month_lost"] = month_lost(coverage)
        return frame


def months_to_reach(coverage: np.ndarray, level: float) -> np.ndarray:
    """First month (from 1) at which each column of ``coverage`` reaches ``level``.

    Examples:
        >>> months_to_reach(np.array([[0.1, 0.6], [0.5, 0.7]]), 0.5).tolist()
        [2.0, 1.0]
    """
    if coverage.size == 0:
        return np.full(coverage.shape[1] if coverage.ndim == 2 else 0, np.nan)
    reached = coverage >= level
    first = reached.argmax(axis=0).astype(float) + 1.0
    first[~reached.any(axis=0)] = np.nan
    return first


def month_lost(coverage: np.ndarray) -> np.ndarray:
    """The month from which a practice once used is used nowhere to the end.

    NaN if it is still used, or was never used.

    Examples:
        >>> month_lost(np.array([[0.1, 0.0, 0.2], [0.0, 0.0, 0.1], [0.0, 0.0, 0.0]])).tolist()
        [2.0, nan, 3.0]
    """
    if coverage.size == 0:
        return np.full(coverage.shape[1] if coverage.ndim == 2 else 0, np.nan)
    used = coverage > 0
    months = used.shape[0]
    last_used = months - 1 - used[::-1].argmax(axis=0)  # index of the last month in use
    lost = last_used.astype(float) + 2.0  # the month after it, counted from 1
    lost[~used.any(axis=0) | used[-1]] = np.nan
    return lost
