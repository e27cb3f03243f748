"""Requests for support: facilities that keep failing ask their district for help.

The framework's upward flow (its Table 4) carries, beside data and stories, requests
for support: facility staff seek support, when needed, in learning how to improve, and
districts and the national level identify and respond to the learning needs of
facilities. The sources say no more; how facilities ask and how districts answer is
assumed here:

* **raised**: every facility (with or without a QI team) keeps a streak of consecutive
  failed trials. Trials read in the same month count together: a month in which one of
  the facility's trials succeeds ends the streak (back to 0); otherwise the month's
  failures add to it. When the streak reaches ``failures_to_ask`` the facility asks its
  district for support and the streak starts again from 0; a facility whose earlier
  request is still pending does not ask again (its failures join that request).
* **answered**: where coaching runs in a district, its visits go first to the
  district's facilities with a pending request, oldest first, ties in a random order
  (the stream ("support_requests", "priority")), as many as it has visits; the other
  visits are drawn as always (:mod:`.coaching`). A request is answered when a coaching
  visit reaches the facility, whether it went there for the request or by the usual draw.
* **not given**: a request raised in month ``r`` and not answered by month
  ``r + patience_months`` is dropped and counted as support not given.

Requests are raised from the trials read this month (:mod:`.trials` hands them over in
:class:`sim.model.model.Month`), so the earliest coaching that can answer one is next
month's. A request is not a lesson: it is counted beside the loss ledger, never in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from sim.model.mechanisms.base import Mechanism
from sim.model.parameters import P, Section

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem
    from sim.model.streams import Streams

__all__ = [
    "SupportRequests",
    "SupportRequestsParameters",
    "answer_first",
    "pending_requests",
    "rank_within",
    "update_streaks",
]


class SupportRequestsParameters(Section):
    """Facilities that keep failing ask their district for support (upward, Table 4)."""

    enabled: bool = Field(
        True,
        description="Whether facilities ask their district for support after repeated failed "
        "trials (the framework expects them to seek support when needed).",
    )
    failures_to_ask: int = P(
        2,
        1,
        100,
        unit="failed trials",
        description="Consecutive failed trials at a facility before it asks its district "
        "for support.",
        source="assumption: the framework says staff should seek support when needed, not "
        "when; believed to lie between 1 and 4 (a whole number, so compare --uncertainty "
        "does not draw it)",
    )
    patience_months: int = P(
        3,
        1,
        60,
        unit="months",
        description="Months a request waits for a coaching visit; then it counts as support "
        "not given.",
        source="assumption: believed to lie between 1 and 6 (a whole number, so compare "
        "--uncertainty does not draw it)",
    )


def update_streaks(
    streak: np.ndarray, facilities: np.ndarray, success: np.ndarray, open_to: np.ndarray
) -> np.ndarray:
    """Update the failure streaks with one month's trial results; return who reached one.

    ``facilities`` and ``success`` list the month's finished trials (a facility may
    appear several times). A facility with a success this month goes back to 0; the
    others add their failures. ``open_to`` is per facility: the streak length at which it
    asks (0 where it never asks: its streak is left alone). The facilities whose streak
    reaches their length start again from 0 and are returned, ascending.

    Examples:
        >>> streak = np.array([1, 0, 3])
        >>> update_streaks(streak, np.array([0, 1, 1, 2, 2]),
        ...                np.array([False, False, True, False, False]), np.array([2, 2, 9]))
        array([0])
        >>> streak
        array([0, 0, 5])
    """
    touched, inverse = np.unique(facilities, return_inverse=True)
    failures = np.bincount(inverse[~success], minlength=touched.size)
    succeeded = np.bincount(inverse[success], minlength=touched.size) > 0
    asks = open_to[touched] > 0
    touched, failures, succeeded = touched[asks], failures[asks], succeeded[asks]
    now = np.where(succeeded, 0, streak[touched] + failures)
    reached = now >= open_to[touched]
    now[reached] = 0
    streak[touched] = now
    return touched[reached].astype(np.int64)


def rank_within(groups: np.ndarray) -> np.ndarray:
    """Each entry's place (from 0) inside its run of equal values of sorted ``groups``.

    Examples:
        >>> rank_within(np.array([2, 2, 5, 7, 7, 7]))
        array([0, 1, 0, 0, 1, 2])
    """
    return np.arange(groups.size) - np.searchsorted(groups, groups, side="left")


def answer_first(
    since: np.ndarray,
    facility_district: np.ndarray,
    visits: np.ndarray,
    streams: Streams,
) -> np.ndarray:
    """The facilities whose requests a district's coaching visits go to first this month.

    Args:
        since: Per facility: the month its pending request was raised (0: none pending).
        facility_district: Per facility: its district.
        visits: Per district: the coaching visits it makes this month.
        streams: The replicate's streams (ties draw from ("support_requests", "priority")).

    Returns:
        Facilities ordered by district, then oldest request first (ties in an order drawn
        by facility, the same in every scenario), at most ``visits[d]`` of district ``d``.
        Nothing is drawn when no district with visits has a pending request.
    """
    pending = np.flatnonzero(since > 0)
    pending = pending[visits[facility_district[pending]] > 0]
    if not pending.size:
        return pending
    district = facility_district[pending]
    ties = streams.keyed_uniforms("support_requests", "priority", pending)
    order = np.lexsort((ties, since[pending], district))
    pending, district = pending[order], district[order]
    return pending[rank_within(district) < visits[district]]


class SupportRequests(Mechanism):
    """Facilities whose trials keep failing ask their district; unanswered requests expire."""

    name = "support_requests"
    outputs = ("support_requests", "support_answered", "support_not_given")
    decisions = ("priority",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        enabled = self.per_facility(lambda c: c.support_requests.enabled).astype(bool)
        asks_at = self.per_facility(lambda c: c.support_requests.failures_to_ask)
        #: Per facility: the failure streak at which it asks (0: it never asks).
        self.asks_at = np.where(enabled, asks_at, 0).astype(np.int64)
        self.patience = self.per_facility(lambda c: c.support_requests.patience_months)
        #: Per facility: consecutive failed trials since its last success or request.
        self.streak = np.zeros(model.world.n_facilities, dtype=np.int64)
        self.any_enabled = bool(enabled.any())

    def step(self) -> None:
        """Close the requests answered or expired this month; raise this month's new ones."""
        if not self.any_enabled:
            return
        m = self.model
        month = m.month_context
        since = m.population.request_since
        answered = month.answered & (since > 0)
        self.count("support_answered", int(answered.sum()))
        since[answered] = 0
        expired = (since > 0) & (m.month - since >= self.patience)
        self.count("support_not_given", int(expired.sum()))
        since[expired] = 0
        asking = update_streaks(
            self.streak, month.finished_facilities, month.finished_success, self.asks_at
        )
        new = asking[since[asking] == 0]
        since[new] = m.month
        self.count("support_requests", int(new.size))


def pending_requests(model: LearningHealthSystem) -> int:
    """Requests still waiting for an answer (at the end of a run: neither answered nor expired)."""
    return int((model.population.request_since > 0).sum())
