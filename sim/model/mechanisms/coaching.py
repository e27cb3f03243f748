"""Coaching: district coaches visit facilities and back implementation.

Each district of a country where coaching runs decides how many visits to make,
``floor(capacity * coaching_weight_d + U)`` (``U`` uniform; the weight is the district's
balance between coaching and sessions, set by the double loop), each to a facility drawn
uniformly from the district; visits first answer the district's pending requests for
support, oldest first (:mod:`.support_requests`), and take the place of the first
draws, so that the other visits draw the same numbers as without requests. A coached
facility hears what the coach brings: the district's successes with their stories or
the national package, successes without story, and the district's failures as far as its
blame culture lets it. Coaching backs implementation for ``support_months`` (fewer failed
implementations without a story, :mod:`.trials`), sends the facility's lessons to the
district pool (:mod:`.upward_reporting`) and makes the district present its pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.exposure import Exposure
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.mechanisms.support_requests import answer_first, rank_within
from sim.model.parameters import Channel, P
from sim.model.rules import telling_chances
from sim.model.state import Source
from sim.model.world import pick_within

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["Coaching", "CoachingParameters", "coaching_exposure"]


class CoachingParameters(Channel):
    """District coaches visit facilities (vertical down) and back implementation."""

    fidelity: float = P(
        0.9, 0.0, 1.0, description="Chance a story survives a coaching visit.", plausible=(0.7, 1.0)
    )
    capacity: int = P(
        4, 0, 10000, unit="visits per district per month", description="Coaching visits."
    )
    intensity: float = P(
        0.5,
        0.0,
        20.0,
        description="Strength of exposure to what the coach brings.",
        plausible=(0.064, 0.93),
        source="assumption; the published patterns leave it wide "
        "(pattern fit, calibration/patterns.yaml: 90 % 0.064-0.93)",
    )
    implementation_support: float = P(
        0.7,
        0.0,
        1.0,
        description="Cut in no-story implementation failure at coached facilities.",
        plausible=(0.5, 0.9),
    )
    support_months: int = P(
        6, 0, 60, unit="months", description="Months a coaching visit keeps backing implementation."
    )


class Coaching(Mechanism):
    """Districts plan their coaching visits; coached facilities hear the district and packages."""

    name = "coaching"
    outputs = ("coaching_visits",)
    decisions = ("visit counts", "visited")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.enabled = per_country(model, lambda c: c.channels.coaching.enabled).astype(bool)
        self.interval = per_country(model, lambda c: c.channels.coaching.interval_months).astype(
            np.int64
        )
        self.capacity = per_country(model, lambda c: c.channels.coaching.capacity)
        self.fidelity = self.per_facility(lambda c: c.channels.coaching.fidelity)
        self.intensity = self.per_facility(lambda c: c.channels.coaching.intensity)
        self.support = self.per_facility(lambda c: c.channels.coaching.support_months)

    def step(self) -> None:
        """Coaches visit; the visited hear them and are backed for a while."""
        m = self.model
        w, k, pop, month = m.world, m.knowledge, m.population, m.month_context
        active = self.runs_in_districts(self.enabled, self.interval)
        if not active.any():
            return
        coached = self._visits(active)
        if not coached.size:
            return
        _, failure_told = telling_chances(m.system.blame_district, m.system.success_factor)
        month.exposures.append(
            coaching_exposure(
                coached,
                w.facility_district,
                w.facility_country,
                *k.district_judgement(),
                k.package,
                self.fidelity,
                self.intensity,
                failure_told[w.district_country],
            )
        )
        month.coached[coached] = True
        pop.coached[coached] = True
        pop.coached_until[coached] = m.month + self.support[coached]
        month.presented[np.unique(w.facility_district[coached])] = True
        self.count("coaching_visits", float(coached.size))

    def _visits(self, active: np.ndarray) -> np.ndarray:
        """Facilities visited: each active district's ``capacity * coaching weight`` visits."""
        m = self.model
        w = m.world
        districts = np.flatnonzero(active)
        expected = (
            self.capacity[w.district_country[districts]] * m.system.coaching_weight[districts]
        )
        counts = m.streams.draw("coaching", "visit counts")
        per = np.floor(expected + counts.random(w.n_districts)[districts]).astype(np.int64)
        m.system.coaching_visits[:] = 0
        m.system.coaching_visits[districts] = per
        origin = np.repeat(districts, per)
        origin = origin[w.district_size[origin] > 0]
        picks = pick_within(
            w.district_start[origin], w.district_size[origin], m.streams.draw("coaching", "visited")
        )
        visited = w.district_order[picks]
        since = m.population.request_since
        first = answer_first(since, w.facility_district, m.system.coaching_visits, m.streams)
        if first.size:  # each district's first draws give way to its requests
            district = w.facility_district[first]
            visited[np.searchsorted(origin, district) + rank_within(district)] = first
        m.month_context.answered[visited[since[visited] > 0]] = True
        return visited


def coaching_exposure(
    coached: np.ndarray,
    district: np.ndarray,
    country: np.ndarray,
    district_story: np.ndarray,
    district_plain: np.ndarray,
    district_failure: np.ndarray,
    package: np.ndarray,
    fidelity: np.ndarray,
    intensity: np.ndarray,
    failure_told: np.ndarray,
) -> Exposure:
    """Coaches bring the district's known successes and failures, and national packages.

    ``intensity`` is per facility; ``failure_told`` per district (the share of its
    failures a district's blame culture lets its coaches pass on).
    """
    rows = np.unique(coached)
    d, c = district[rows], country[rows]
    story = (district_story[d] | package[c]).astype(np.float32)
    heard = story + (district_plain[d] & ~package[c])
    failure = district_failure[d] * failure_told[d][:, None]
    return Exposure.of(
        Source.COACHING,
        rows,
        (heard, story, failure),
        scale=intensity[rows],
        fidelity=fidelity[rows],
    )
