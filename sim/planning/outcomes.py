"""Outcomes over time: what a scenario does month by month, not only in its last month.

Final-month QoC saturates: by the end of a long run most scenarios level off, and an
option that gets there sooner, wastes fewer trials or keeps fewer ineffective practices
in use looks no better. These outcomes are read from a replicate's monthly results
(``timeseries.parquet``, ``time_to_scale.csv`` and ``summary.csv``), per replicate, and
compared replicate by replicate with the baseline where a difference is meant:

=====================================  ==================================================
column                                 definition
=====================================  ==================================================
``qoc_point_months_gained_*``          area between the scenario's and the baseline's QoC
                                       curves, paired by replicate: the sum over the
                                       months both ran of ``100 * (QoC - QoC_baseline)``
                                       (QoC points times months); mean, 5 % and 95 %
``qoc_point_months_p_positive``        share of replicates with a positive area
``months_to_50_median``,               per replicate, the median over effective
``months_to_80_median``                practices (effect > 0) of the first month in which
                                       the practice is in use at 50 % (80 %) of
                                       facilities, a practice that never gets there
                                       counting as later than the run; the median over
                                       replicates; empty when the median practice does
                                       not get there within the run
``practices_reaching_80_share_median`` share of effective practices in use at 80 % of
                                       facilities by the end (median over replicates)
``ineffective_in_use_per_facility``,   ineffective (harmful) practices in use per
``harmful_in_use_per_facility``        facility, averaged over the months of the run
                                       (median over replicates)
``duplicated_trials_median``           trials of a practice already known elsewhere to
                                       fail, over the run (median over replicates)
``qoc_kept_share_median``              sustainment: mean QoC after support ends over the
                                       peak QoC reached while supported (median over
                                       replicates); see :func:`sustainment_window`
``sustainment_window``                 the months that share was read over, in words
=====================================  ==================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.model.schema import Scenario
    from sim.planning.comparison import ScenarioData

__all__ = [
    "SUSTAINMENT_MONTHS",
    "SustainmentWindow",
    "kept_share",
    "months_to_coverage",
    "outcomes_over_time",
    "qoc_point_months",
    "support_end_month",
    "sustainment_window",
]

#: Without an end of support, sustainment is read over this many last months of the run.
SUSTAINMENT_MONTHS = 12
#: Lower and upper quantiles of every interval (a 90 % interval).
INTERVAL = (0.05, 0.95)
#: QoC is an index in 0-1; a QoC point is one hundredth of it.
POINTS_PER_INDEX = 100.0


@dataclass(frozen=True)
class SustainmentWindow:
    """The months sustainment compares.

    Attributes:
        peak_until: Last month (from 1) whose QoC counts towards the peak.
        kept_from: First month of the period whose mean QoC is compared with the peak.
        support_end: The month support ends, or ``None`` when the scenario has no end.
    """

    peak_until: int
    kept_from: int
    support_end: int | None

    def describe(self, months: int) -> str:
        """The window in words, for the table and the brief."""
        if self.support_end is not None:
            return (
                f"mean QoC in months {self.kept_from}-{months} (after support ends in month "
                f"{self.support_end}) over the peak up to month {self.peak_until}"
            )
        return (
            f"mean QoC in months {self.kept_from}-{months} (the last "
            f"{months - self.kept_from + 1}) over the peak of the run"
        )


def support_end_month(scenario: Scenario) -> int | None:
    """The month support ends: the latest ``end`` of the programmes of every country.

    A programme (``countries[].programmes[]``) runs from its ``start`` to its ``end``
    month; one without an ``end`` runs to the end of the run. Support therefore ends
    before the run does only when every programme has an ``end``; a scenario whose
    levers are on for the whole run (no programmes) has no end of support, and ``None``
    is returned then.

    Examples:
        >>> from types import SimpleNamespace as Namespace
        >>> def country(*ends):
        ...     return Namespace(programmes=[Namespace(end=end) for end in ends])
        >>> support_end_month(Namespace(countries=[country(24, 36), country(30)]))
        36
        >>> support_end_month(Namespace(countries=[country(24, None)])) is None
        True
        >>> support_end_month(Namespace(countries=[Namespace()])) is None
        True
    """
    programmes: list[Any] = []
    for country in getattr(scenario, "countries", ()):
        programmes.extend(getattr(country, "programmes", None) or ())
    if not programmes:
        return None
    ends: list[int] = []
    for programme in programmes:
        end = getattr(programme, "end", None)
        if end is None:
            return None
        ends.append(int(end))
    return max(ends)


def sustainment_window(months: int, support_end: int | None) -> SustainmentWindow:
    """Which months sustainment reads, for a run of ``months`` months.

    With an end of support before the last month: the mean QoC of the months after it
    over the peak QoC up to it. Otherwise (no end, or support to the end of the run):
    the mean of the last :data:`SUSTAINMENT_MONTHS` months (the whole run if shorter) over
    the peak of the whole run.

    Examples:
        >>> sustainment_window(60, None)
        SustainmentWindow(peak_until=60, kept_from=49, support_end=None)
        >>> sustainment_window(60, 36)
        SustainmentWindow(peak_until=36, kept_from=37, support_end=36)
        >>> sustainment_window(8, None).kept_from
        1
    """
    if support_end is not None and 1 <= support_end < months:
        return SustainmentWindow(support_end, support_end + 1, support_end)
    return SustainmentWindow(months, max(1, months - SUSTAINMENT_MONTHS + 1), None)


def kept_share(qoc: pd.DataFrame, window: SustainmentWindow) -> pd.Series:
    """Share of the peak QoC kept, per replicate.

    Args:
        qoc: One row per (``replicate``, ``month``) with ``qoc``.
        window: The months to read (see :func:`sustainment_window`).

    Returns:
        Mean QoC over the kept period over the peak, indexed by replicate (NaN where the
        peak is 0).

    Examples:
        >>> ts = pd.DataFrame({"replicate": 0, "month": [1, 2, 3, 4],
        ...     "qoc": [0.2, 0.5, 0.4, 0.3]})
        >>> kept_share(ts, SustainmentWindow(2, 3, 2)).round(3).tolist()
        [0.7]
    """
    month = qoc["month"]
    peak = qoc[month <= window.peak_until].groupby("replicate")["qoc"].max()
    kept = qoc[month >= window.kept_from].groupby("replicate")["qoc"].mean()
    return (kept / peak.where(peak > 0)).rename("qoc_kept_share")


def qoc_point_months(scenario: pd.DataFrame, baseline: pd.DataFrame) -> pd.Series:
    """Area between two QoC curves, paired by replicate, in QoC point-months.

    Args:
        scenario: One row per (``replicate``, ``month``) with ``qoc``.
        baseline: The same for the baseline.

    Returns:
        ``sum over months of 100 * (qoc - qoc_baseline)``, indexed by replicate, over the
        months and replicates both have.

    Examples:
        >>> a = pd.DataFrame({"replicate": 0, "month": [1, 2, 3], "qoc": [0.1, 0.2, 0.3]})
        >>> b = pd.DataFrame({"replicate": 0, "month": [1, 2, 3], "qoc": [0.1, 0.1, 0.1]})
        >>> qoc_point_months(a, b).round(6).tolist()
        [30.0]
    """
    keys = ["replicate", "month"]
    both = scenario[[*keys, "qoc"]].merge(
        baseline[[*keys, "qoc"]], on=keys, suffixes=("", "_baseline")
    )
    gap = POINTS_PER_INDEX * (both["qoc"] - both["qoc_baseline"])
    return gap.groupby(both["replicate"]).sum().rename("qoc_point_months")


def months_to_coverage(time_to_scale: pd.DataFrame, level: int) -> pd.Series:
    """Per replicate, the median month effective practices reach ``level`` % of facilities.

    A practice that never gets there counts as later than the run, so the median is
    infinite when half the effective practices or more never get there.

    Args:
        time_to_scale: One row per (``replicate``, ``practice``) with ``effect`` and
            ``months_to_<level>``.
        level: 50 or 80.

    Examples:
        >>> t = pd.DataFrame({"replicate": [0, 0, 0, 1, 1, 1], "effect": [1, 1, -1] * 2,
        ...     "months_to_50": [4, 8, 1, 6, None, 1]})
        >>> months_to_coverage(t, 50).tolist()
        [6.0, inf]
    """
    effective = time_to_scale[time_to_scale["effect"] > 0]
    months = effective[f"months_to_{level}"].astype(float).fillna(np.inf)
    return months.groupby(effective["replicate"]).median().rename(f"months_to_{level}")


def _finite_median(values: pd.Series) -> float:
    """The median, NaN if it is infinite (not reached within the run)."""
    median = float(np.median(values.to_numpy(float))) if len(values) else float("nan")
    return median if np.isfinite(median) else float("nan")


def outcomes_over_time(
    data: Sequence[ScenarioData], baseline: str, replicates: Sequence[int]
) -> pd.DataFrame:
    """The outcomes over time of every scenario (columns in the module docstring).

    Args:
        data: Every scenario's results.
        baseline: The baseline's name.
        replicates: The replicates all scenarios have (the paired ones).

    Returns:
        One row per scenario, indexed by scenario name.
    """
    keep = list(replicates)
    base = next(d for d in data if d.name == baseline)
    base_series = base.timeseries[base.timeseries["replicate"].isin(keep)]
    rows = {}
    for d in data:
        series = d.timeseries[d.timeseries["replicate"].isin(keep)]
        scale = d.time_to_scale[d.time_to_scale["replicate"].isin(keep)]
        summary = d.summary.loc[keep]
        area = qoc_point_months(series, base_series)
        months = int(series["month"].max())
        window = sustainment_window(months, support_end_month(d.scenario))
        per_replicate = series.groupby("replicate")
        effective = scale[scale["effect"] > 0]
        reached = (effective["months_to_80"].notna()).groupby(effective["replicate"]).mean()
        rows[d.name] = {
            "qoc_mean_median": float(summary["qoc_mean"].median()),
            "qoc_point_months_gained_mean": float(area.mean()),
            "qoc_point_months_gained_p05": float(area.quantile(INTERVAL[0])),
            "qoc_point_months_gained_p95": float(area.quantile(INTERVAL[1])),
            "qoc_point_months_p_positive": float((area > 0).mean()),
            "months_to_50_median": _finite_median(months_to_coverage(scale, 50)),
            "months_to_80_median": _finite_median(months_to_coverage(scale, 80)),
            "practices_reaching_80_share_median": float(reached.median()),
            "ineffective_in_use_per_facility": float(
                per_replicate["use_ineffective"].mean().median()
            ),
            "harmful_in_use_per_facility": float(per_replicate["use_harmful"].mean().median()),
            "duplicated_trials_median": float(summary["duplication_waste"].median()),
            "qoc_kept_share_median": float(kept_share(series, window).median()),
            "sustainment_window": window.describe(months),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
