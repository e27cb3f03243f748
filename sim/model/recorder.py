"""Outputs: reductions over the state arrays, recorded once a month.

The QoC index of a facility is the realised effect of the practices it uses (each
weighted by the share of staff who hold it; fully for an institutionalised
practice) over the best it could achieve with every practice that helps there,
clipped to 0-1. National QoC is the mean over facilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numba import njit, prange

from sim.model.kernels import (
    PRANGE_ONLY,
    ROW_BLOCKS,
    TRIAL,
    block_bounds,
    in_use,
    one_at_a_time,
)
from sim.model.ledger import CAUSES, Location
from sim.model.milestones import Milestones, months_to_reach
from sim.model.state import Source

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = [
    "ACTIVITY_COLUMNS",
    "EVENT_COLUMNS",
    "OUTPUT_COLUMNS",
    "SUMMARY_COLUMNS",
    "MonthlyRecorder",
    "census",
    "months_to_reach",
    "zero_outputs",
]

#: Events counted every month (each row; their totals in the summary as ``<name>_total``).
EVENT_COLUMNS = (
    "practices_lost_turnover",
    "staff_departures",
    "trials_started",
    "trial_failures",
    "failures_reported",
    "innovations",
    "duplication_waste",
    "implementation_failures_no_story",
    "single_loop_drops",
    "institutionalised",
    "guidance_withdrawn",
    "double_loop_shifts",
    "triple_loop_changes",
    "items_expired",
    "lessons_passed_facilities",
    "lessons_passed_district_meetings",
    "lessons_passed_district_exchange",
    "global_practices_taken",
    "support_requests",
    "support_answered",
    "support_not_given",
)

#: Activity counts recorded every month (the basis of costs).
ACTIVITY_COLUMNS = (
    "peer_contacts",
    "sessions_held",
    "session_attendees",
    "messages",
    "group_months",
    "exchange_visits",
    "coaching_visits",
    "reports_due",
    "reports",
    "items_forwarded",
    "national_items_processed",
    "centre_items_processed",
    "guidance_items",
    "guidance_issued",
    "district_meetings",
    "cop_meetings",
    "global_exchanges",
    "qi_team_months",
    "programme_district_months",
    "blame_tenth_facility_months",
    "facilities_trained",
    "routing_changes",
)

#: Every column a mechanism may count (:attr:`sim.model.mechanisms.base.Mechanism.outputs`).
OUTPUT_COLUMNS = EVENT_COLUMNS + ACTIVITY_COLUMNS


def zero_outputs() -> dict[str, float]:
    """A month's counts before any mechanism ran: events as 0, activities as 0.0."""
    counts: dict[str, float] = dict.fromkeys(EVENT_COLUMNS, 0)
    counts.update(dict.fromkeys(ACTIVITY_COLUMNS, 0.0))
    return counts


#: Columns every summary row carries (one row per replicate).
SUMMARY_COLUMNS = (
    "qoc_final",
    "qoc_mean",
    "lost_turnover",
    "lost_bottleneck",
    "lost_blame",
    "lost_no_story",
    "lost_no_channel",
    "duplication_waste",
)


class MonthlyRecorder:
    """Collects the monthly rows of one model run."""

    def __init__(self, model: LearningHealthSystem) -> None:
        self.model = model
        self.rows: list[dict[str, Any]] = []
        self.country_rows: list[dict[str, Any]] = []
        self.coverage: list[np.ndarray] = []
        self.district_qoc: list[np.ndarray] = []  # per month: mean QoC of each district
        self._qoc_month = -1
        self.milestones = Milestones(model.catalogue.size)
        self._qoc = np.zeros(model.world.n_facilities)
        self._cumulative: dict[str, float] = {}
        w = model.world
        sector = np.where(w.private, 1, 0)
        # groups whose mean QoC is recorded: districts, then countries, then public/private
        self._group_of = np.stack(
            [
                w.facility_district,
                w.n_districts + w.facility_country,
                w.n_districts + w.n_countries + sector,
            ]
        ).astype(np.int64)
        n_groups = w.n_districts + w.n_countries + 2
        size = np.bincount(self._group_of.reshape(-1), minlength=n_groups).astype(float)
        self._group_size = np.where(size > 0, size, np.nan)  # an empty group's mean is NaN
        self._districts = np.flatnonzero(np.bincount(w.facility_district, minlength=w.n_districts))
        self._countries = slice(w.n_districts, w.n_districts + w.n_countries)
        self._public = w.n_districts + w.n_countries
        # QoC = realised effect / staff / best possible: both fixed for the run
        best = np.maximum(np.maximum(model.population.local_effect, 0).sum(axis=1), 1e-9)
        self._qoc_scale = 1.0 / (w.staff * best.astype(float))
        self._private = self._public + 1

    def facility_qoc(self) -> np.ndarray:
        """QoC index of every facility for the current month (cached).

        Only practices in use have holders, and all staff hold an institutionalised
        practice, so the realised effect is ``sum_k holders * local effect / staff``.
        """
        self._take_census()
        return self._qoc

    def _take_census(self) -> None:
        """One pass over the cells for this month's QoC and use counts (cached)."""
        m = self.model
        if self._qoc_month == m.steps:
            return
        pop, w = m.population, m.world
        self._qoc, group_sums, self._in_use, self._trialling = census(
            pop.stage,
            pop.holders,
            pop.local_effect,
            self._qoc_scale,
            w.facility_country,
            w.n_countries,
            self._group_of,
            self._group_size.size,
        )
        self._group_qoc = group_sums / self._group_size
        self._qoc_mean = float(group_sums[self._countries].sum()) / pop.stage.shape[0]
        self._qoc_month = m.steps

    def record(self) -> None:
        """Append this month's world, country and practice rows."""
        m = self.model
        w, ledger, cat = m.world, m.ledger, m.catalogue
        self._take_census()
        n = w.n_facilities
        in_use = self._in_use.sum(axis=0)
        coverage = in_use / n
        ineffective = int(in_use[cat.ineffective].sum())
        harmful = int(in_use[cat.harmful].sum())
        self.coverage.append(coverage)
        self.milestones.update(m.month, m.population.stage, m.knowledge)
        group_qoc = self._group_qoc
        district_qoc = group_qoc[self._districts]  # districts with facilities
        self.district_qoc.append(district_qoc)
        events = {name: m.counts[name] for name in EVENT_COLUMNS}
        for name, value in events.items():
            key = f"{name}_total"
            self._cumulative[key] = self._cumulative.get(key, 0.0) + value
        row: dict[str, Any] = {
            "month": m.month,
            "qoc": self._qoc_mean,
            "qoc_public": float(group_qoc[self._public]),
            "qoc_private": float(group_qoc[self._private]),
            "qoc_district_sd": float(district_qoc.std()),
            "coverage_mean": float(coverage.mean()),
            "use_ineffective": ineffective / n,
            "use_harmful": harmful / n,
            "trialling": float(self._trialling),
            "lessons_generated": int(ledger.generated.sum()),
            "lessons_held": int(len(ledger)),
            "lessons_passed": int(ledger.passed.sum()),
        }
        for index, cause in enumerate(CAUSES):
            row[f"lost_{cause}"] = int(ledger.lost[:, index].sum())
        row["duplication_waste"] = int(self._cumulative["duplication_waste_total"])
        row["practices_lost_turnover_total"] = int(
            self._cumulative["practices_lost_turnover_total"]
        )
        row["queue_length"] = int(ledger.held_at(Location.NATIONAL_QUEUE).sum())
        row["guidance_in_force"] = int(m.knowledge.guidance.sum())
        row["packages"] = int(m.knowledge.package.sum())
        system = m.system
        row["session_interval_mean"] = float(system.session_interval.mean())
        row["routing_free_share"] = float(system.routing_free.mean())
        row["messaging_on_share"] = float(system.messaging_on.mean())
        row["coaching_weight_mean"] = float(system.coaching_weight.mean())
        row.update({k: v for k, v in events.items() if k != "duplication_waste"})
        row.update({name: m.counts[name] for name in ACTIVITY_COLUMNS})
        self.rows.append(row)

        country_qoc = group_qoc[self._countries]
        country_cov = self._in_use.sum(axis=1) / (np.maximum(w.country_size, 1) * cat.size)
        held = ledger.held()
        queue = ledger.held_at(Location.NATIONAL_QUEUE)
        for c, name in enumerate(w.country_names):
            crow: dict[str, Any] = {
                "month": m.month,
                "country": name,
                "qoc": float(country_qoc[c]),
                "practices_in_use_share": float(country_cov[c]),
                "lessons_generated": int(ledger.generated[c]),
                "lessons_held": int(held[c]),
                "lessons_passed": int(ledger.passed[c]),
                "queue_length": int(queue[c]),
                "guidance_in_force": int(m.knowledge.guidance[c].sum()),
                "routing": "free" if system.routing_free[c] else "centralised",
                "session_interval_months": int(system.session_interval[c]),
            }
            for index, cause in enumerate(CAUSES):
                crow[f"lost_{cause}"] = int(ledger.lost[c, index])
            self.country_rows.append(crow)

    # -------------------------------------------------------------- tables
    def timeseries(self) -> pd.DataFrame:
        """One row per month."""
        table = pd.DataFrame(self.rows)
        if self.rows:  # the spread between districts, for all months at once
            p10, p90 = np.percentile(np.array(self.district_qoc), [10, 90], axis=1)
            at = list(table.columns).index("qoc_district_sd") + 1
            table.insert(at, "qoc_district_p10", p10)
            table.insert(at + 1, "qoc_district_p90", p90)
        return table

    def countries(self) -> pd.DataFrame:
        """One row per month and country."""
        return pd.DataFrame(self.country_rows)

    def practices(self) -> pd.DataFrame:
        """One row per month and practice, with its coverage."""
        cat = self.model.catalogue
        months = len(self.coverage)
        coverage = np.array(self.coverage) if months else np.zeros((0, cat.size))
        return pd.DataFrame(
            {
                "month": np.repeat(np.arange(1, months + 1), cat.size),
                "practice": np.tile(np.array(cat.names, dtype=object), months),
                "topic": np.tile(np.array(cat.topics, dtype=object), months),
                "effect": np.tile(cat.effect, months),
                "coverage": coverage.reshape(-1),
            }
        )

    def time_to_scale(self) -> pd.DataFrame:
        """Months to 50 % and 80 % coverage per practice (NaN if never reached)."""
        cat = self.model.catalogue
        coverage = np.array(self.coverage) if self.coverage else np.zeros((0, cat.size))
        return pd.DataFrame(
            {
                "practice": list(cat.names),
                "effect": cat.effect,
                "months_to_50": months_to_reach(coverage, 0.5),
                "months_to_80": months_to_reach(coverage, 0.8),
                "coverage_final": coverage[-1] if len(coverage) else np.zeros(cat.size),
            }
        )

    def milestones_table(self) -> pd.DataFrame:
        """One row per practice: the month of each milestone of its life (NaN if never)."""
        cat = self.model.catalogue
        coverage = np.array(self.coverage) if self.coverage else np.zeros((0, cat.size))
        return self.milestones.table(list(cat.names), list(cat.topics), cat.effect, coverage)

    def total(self, event: str) -> float:
        """How many of ``event`` (a name of ``EVENT_COLUMNS``) have happened so far."""
        if event not in EVENT_COLUMNS:
            raise KeyError(f"{event!r} is not a counted event")
        return self._cumulative.get(f"{event}_total", 0.0)

    def summary(self) -> dict[str, float]:
        """Final values of the run (one row of ``summary.csv``)."""
        m = self.model
        last = self.rows[-1]
        qoc_series = np.array([r["qoc"] for r in self.rows])
        summary: dict[str, float] = {
            "qoc_final": float(last["qoc"]),
            "qoc_mean": float(qoc_series.mean()),
            "qoc_initial": float(qoc_series[0]),
            "qoc_public_final": float(last["qoc_public"]),
            "qoc_private_final": float(last["qoc_private"]),
            "qoc_district_sd_final": float(last["qoc_district_sd"]),
            "coverage_final": float(last["coverage_mean"]),
            "use_ineffective_final": float(last["use_ineffective"]),
            "use_harmful_final": float(last["use_harmful"]),
        }
        for cause in CAUSES:
            summary[f"lost_{cause}"] = float(last[f"lost_{cause}"])
        summary["duplication_waste"] = float(last["duplication_waste"])
        summary["lessons_generated"] = float(last["lessons_generated"])
        summary["lessons_passed"] = float(last["lessons_passed"])
        summary["lessons_held"] = float(last["lessons_held"])
        for key, value in self._cumulative.items():
            if key != "duplication_waste_total":
                summary[key] = float(value)
        for column in ACTIVITY_COLUMNS:
            summary[f"{column}_total"] = float(sum(r[column] for r in self.rows))
        sources = np.bincount(m.population.first_source.reshape(-1), minlength=len(Source))
        for source in Source:
            if source not in (Source.NONE,):
                summary[f"reached_by_{source.name.lower()}"] = float(sources[source])
        scale = self.time_to_scale()
        effective = scale["effect"] > 0
        summary["months_to_50_median"] = float(scale.loc[effective, "months_to_50"].median())
        summary["months_to_80_median"] = float(scale.loc[effective, "months_to_80"].median())
        return summary


@one_at_a_time
@njit(cache=True, nogil=True, fastmath=True, parallel=PRANGE_ONLY)  # fastmath: sums vectorise
def census(
    stage: np.ndarray,
    holders: np.ndarray,
    local_effect: np.ndarray,
    scale: np.ndarray,
    country: np.ndarray,
    n_countries: int,
    group_of: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One look at the cells for the month's outputs.

    Returns, in numpy terms (``use`` = adopted or institutionalised):

    * ``qoc``: ``clip((holders * local_effect).sum(1) * scale, 0, 1)`` per facility
      (``scale`` is one over staff times the best effect possible there);
    * ``group_sums``: the sum of ``qoc`` over the facilities of each group, where
      facility ``i`` belongs to groups ``group_of[:, i]`` (one per grouping);
    * ``in_use``: per country and practice, the facilities using it
      (``use`` summed over the facilities of each country);
    * ``(stage == TRIAL).sum()``.

    A practice in use always has holders, so a row without holders adds nothing but
    its trials. Fixed blocks of rows run in parallel; the blocks' sums are added in
    block order.
    """
    n, k = stage.shape
    blocks = min(ROW_BLOCKS, n)
    bounds = block_bounds(n, blocks)
    qoc = np.empty(n)
    block_sums = np.zeros((blocks, n_groups))
    block_use = np.zeros((blocks, n_countries, k), dtype=np.int64)
    block_trial = np.zeros(blocks, dtype=np.int64)
    for b in prange(blocks):  # fixed blocks, summed in order: the same with any threads
        sums = block_sums[b]
        use = block_use[b]
        trialling = 0
        for i in range(bounds[b], bounds[b + 1]):
            held = 0
            for c in range(k):
                held |= holders[i, c]
            if held == 0:  # nothing in use: no QoC to add, only trials to count
                qoc[i] = 0.0
                for c in range(k):
                    trialling += stage[i, c] == TRIAL
                continue
            total = 0.0
            for c in range(k):
                total += holders[i, c] * np.float64(local_effect[i, c])
            q = min(max(total * scale[i], 0.0), 1.0)
            qoc[i] = q
            for g in range(group_of.shape[0]):
                sums[group_of[g, i]] += q
            ci = country[i]
            for c in range(k):
                s = stage[i, c]
                use[ci, c] += in_use(s)
                trialling += s == TRIAL
        block_trial[b] = trialling
    group_sums = np.zeros(n_groups)
    used = np.zeros((n_countries, k), dtype=np.int64)
    for b in range(blocks):
        group_sums += block_sums[b]
        used += block_use[b]
    n_trial = block_trial.sum()
    return qoc, group_sums, used, n_trial
