"""What a pattern reads from a run: one observable per published figure.

An observable watches one model run month by month and returns one number at the end.
Each reads only what the model records or holds (coverage, QoC, activity counts, the
stage of each facility and practice); none of them changes the run. The registry
:data:`OBSERVABLES` maps the names used in ``calibration/patterns.yaml`` to classes, and
each class's docstring says exactly what it measures.

Observables with ``counterfactual = True`` compare the run with the same scenario and
replicate without its programmes (common random numbers), as a paired effect.

Examples:
    >>> sorted(OBSERVABLES)[:3]
    ['failures_reaching_district', 'programme_qoc_gain', 'recommended_in_use']
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.model.state import in_use

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["OBSERVABLES", "Observable", "observable_options"]


class Observable(ABC):
    """One number read from one run (subclasses say which)."""

    name: ClassVar[str]
    unit: ClassVar[str] = "share"
    counterfactual: ClassVar[bool] = False

    def start(self, model: LearningHealthSystem) -> None:  # noqa: B027 - a hook
        """Look at the model before month 1."""

    def month(self, model: LearningHealthSystem) -> None:  # noqa: B027 - a hook
        """Look at the model after each month."""

    @abstractmethod
    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        """The number, at the end of the run.

        ``twin`` is the same observable without programmes, for a counterfactual observable.
        """


def _effective(model: LearningHealthSystem) -> np.ndarray:
    return np.asarray(model.catalogue.effect) > 0


def _covered_facilities(model: LearningHealthSystem) -> np.ndarray:
    """Facilities in a district that any programme targets, at any time of the run."""
    programmes = next(m for m in model.mechanisms if m.name == "programmes")
    targets = np.zeros(model.world.n_districts, dtype=bool)
    for _, order in programmes.plans:  # type: ignore[attr-defined]
        targets[order] = True
    return np.asarray(targets[model.world.facility_district])


class YearsToHalf(Observable):
    """Median over effective practices of the years until 50 % of facilities use it.

    A practice that never reaches 50 % counts as reaching it just after the run ends, so
    the median is a lower bound when more than half of the practices never get there.
    """

    name = "years_to_half"
    unit = "years"

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        coverage = np.array(model.recorder.coverage)[:, _effective(model)]
        reached = coverage >= 0.5
        first = np.where(reached.any(axis=0), reached.argmax(axis=0) + 1, coverage.shape[0] + 1)
        return float(np.median(first)) / 12.0


class WaveGrowth(Observable):
    """Growth of the median effective practice's users by ``month``.

    How many times more facilities use it at ``month`` than before month 1 (at least
    one facility counted at the start).
    """

    name = "wave_growth"
    unit = "times"

    def __init__(self, month: int) -> None:
        self.at = int(month)
        self.before = np.zeros(0)

    def start(self, model: LearningHealthSystem) -> None:
        self.before = in_use(model.population.stage).sum(axis=0)

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        coverage = model.recorder.coverage[min(self.at, len(model.recorder.coverage)) - 1]
        now = coverage * model.world.n_facilities
        effective = _effective(model)
        growth = now[effective] / np.maximum(self.before[effective], 1)
        return float(np.median(growth))


class ProgrammeQocGain(Observable):
    """The programmes' paired effect on QoC in their districts.

    Mean QoC of the facilities in programme districts at ``month``, minus the same
    facilities' QoC in the same replicate without the programmes (paired).
    """

    name = "programme_qoc_gain"
    unit = "QoC index"
    counterfactual = True

    def __init__(self, month: int) -> None:
        self.at = int(month)
        self.qoc = np.zeros(0)

    def month(self, model: LearningHealthSystem) -> None:
        if model.month == self.at:
            self.qoc = model.recorder.facility_qoc().copy()

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        if not isinstance(twin, ProgrammeQocGain):
            raise TypeError("programme_qoc_gain needs the run without programmes")
        covered = _covered_facilities(model)
        if not covered.any() or self.qoc.size == 0:
            return float("nan")
        return float(self.qoc[covered].mean() - twin.qoc[covered].mean())


class Sustainment(Observable):
    """Share of programme facilities still using a practice taken up during support.

    Measured ``follow_up`` months after support ends at month ``end``.

    Facilities count when, at month ``end``, they use a practice they did not use before
    month 1; they keep it when, ``follow_up`` months later, they still use one of those.
    """

    name = "sustainment"

    def __init__(self, end: int, follow_up: int) -> None:
        self.end, self.later = int(end), int(end) + int(follow_up)
        self.before = self.taken_up = self.kept = np.zeros(0, dtype=bool)

    def start(self, model: LearningHealthSystem) -> None:
        self.before = in_use(model.population.stage)

    def month(self, model: LearningHealthSystem) -> None:
        if model.month == self.end:
            self.taken_up = in_use(model.population.stage) & ~self.before
        elif model.month == self.later and self.taken_up.size:
            self.kept = (in_use(model.population.stage) & self.taken_up).any(axis=1)

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        if self.kept.size == 0:
            return float("nan")
        adopters = self.taken_up.any(axis=1) & _covered_facilities(model)
        return float(self.kept[adopters].mean()) if adopters.any() else float("nan")


class StaffRetention(Observable):
    """Share of the staff in post at the start still at their facility ``months`` later.

    The product over the months of one minus the month's departures over all staff: the
    survival of a cohort under the simulated attrition.
    """

    name = "staff_retention"

    def __init__(self, months: int) -> None:
        self.months = int(months)
        self.survival = 1.0

    def month(self, model: LearningHealthSystem) -> None:
        if model.month <= self.months:
            left = model.counts["staff_departures"] / max(float(model.world.staff.sum()), 1.0)
            self.survival *= 1.0 - left

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        return float(self.survival) if model.month >= self.months else float("nan")


def _ratio_of_totals(model: LearningHealthSystem, part: str, whole: str) -> float:
    """One recorded column's total over the run, over another's (NaN when that is 0)."""
    rows = model.recorder.rows
    total = sum(row[whole] for row in rows)
    return float(sum(row[part] for row in rows) / total) if total else float("nan")


class ReportingCompleteness(Observable):
    """Facility reports received over reports due, over the whole run."""

    name = "reporting_completeness"

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        return _ratio_of_totals(model, "reports", "reports_due")


class FailuresReachingDistrict(Observable):
    """Failed trials whose lesson reached a district office, over all failed trials."""

    name = "failures_reaching_district"

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        return _ratio_of_totals(model, "failures_reported", "trial_failures")


class RecommendedInUse(Observable):
    """Share of recommended care delivered at the end of the run.

    The share of facility-practice pairs in use among the practices in national guidance.
    """

    name = "recommended_in_use"

    def value(self, model: LearningHealthSystem, twin: Observable | None = None) -> float:
        guidance = model.knowledge.guidance  # countries x practices
        use = in_use(model.population.stage)
        country = model.world.facility_country
        cells = use & guidance[country]
        due = guidance[country].sum()
        return float(cells.sum() / due) if due else float("nan")


OBSERVABLES: dict[str, type[Observable]] = {
    cls.name: cls
    for cls in (
        YearsToHalf,
        WaveGrowth,
        ProgrammeQocGain,
        Sustainment,
        StaffRetention,
        ReportingCompleteness,
        FailuresReachingDistrict,
        RecommendedInUse,
    )
}


def observable_options(name: str) -> dict[str, Any]:
    """The options an observable takes (name to annotation), from its ``__init__``.

    Examples:
        >>> observable_options("sustainment")
        {'end': 'int', 'follow_up': 'int'}
    """
    signature = inspect.signature(OBSERVABLES[name].__init__)
    return {
        p.name: p.annotation
        for p in signature.parameters.values()
        if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    }
