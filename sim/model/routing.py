"""Routes of lessons through the system, and the causes under which they are lost.

A lesson leaves its facility by the first channel that carries it: a horizontal
channel passes it on at once; coaching or upward reporting moves it to the district
pool, from where the district forwards it to the national queue (centralised
routing, or no learning centre) or to a learning centre. What no channel carries
within the shelf life fades (no channel). These functions move rows of the
:class:`~sim.model.ledger.LessonLedger`; they never loop over lessons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.ledger import Cause, LessonLedger, Location

__all__ = [
    "Processed",
    "fade",
    "forward_from_districts",
    "lose_to_turnover",
    "pass_from_districts",
    "pass_spoken",
    "process_centres",
    "process_national",
    "record_lessons",
    "report_up",
]


def record_lessons(
    ledger: LessonLedger,
    facility: np.ndarray,
    practice: np.ndarray,
    success: np.ndarray,
    story: np.ndarray,
    facility_district: np.ndarray,
    facility_country: np.ndarray,
    share_probability: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Add the lessons of finished trials; those the facility keeps to itself are lost.

    ``share_probability`` is, per lesson, the chance the facility is willing to tell
    anyone (about ``1 - b`` for a failure under blame culture ``b``); the others are
    counted at once as lost to blame.
    """
    n = facility.size
    if n == 0:
        return
    hidden = rng.random(n) >= share_probability
    told = ~hidden
    # the hidden ones are generated and lost at once: never held
    ledger.lose_at_source(facility_country[facility[hidden]], Cause.BLAME)
    ledger.add(
        facility=facility[told],
        practice=practice[told],
        district=facility_district[facility[told]],
        country=facility_country[facility[told]],
        success=success[told],
        story=(story & success)[told],
    )


def lose_to_turnover(
    ledger: LessonLedger, leaving_share: np.ndarray, rng: np.random.Generator
) -> None:
    """A lesson still held at its facility leaves with its carrier.

    ``leaving_share`` is, per facility, the share of its staff who left this month.
    """
    at_facility = ledger.location == Location.FACILITY
    leaves = rng.random(len(ledger)) < leaving_share[ledger.facility]
    ledger.lose(at_facility & leaves, Cause.TURNOVER)


def _pass_with_story_check(
    ledger: LessonLedger,
    mask: np.ndarray,
    fidelity: np.ndarray,
    complexity: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Pass the lessons in ``mask`` on; a success whose story did not travel may be lost.

    A success lesson arrives with its story if it had one and the story survived the
    channel (``fidelity`` per lesson). Without it, the lesson is counted as lost for
    want of a story with chance equal to the practice's complexity (receivers hear of
    it but cannot reproduce it); otherwise it is passed on.
    """
    no_story = mask & _lost_for_want_of_story(ledger, fidelity, complexity, rng)
    ledger.settle(passed=mask & ~no_story, lost={Cause.NO_STORY: no_story})


def _lost_for_want_of_story(
    ledger: LessonLedger, fidelity: np.ndarray, complexity: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Successes lost for want of a story.

    The story does not travel (it survives with ``fidelity``) and the practice is too
    complex to reproduce without it (chance ``complexity``).
    """
    n = len(ledger)
    story_travels = ledger.story & (rng.random(n) < fidelity)
    hard = rng.random(n) < complexity[ledger.practice]
    return ledger.success & ~story_travels & hard


def _hidden_by_blame(
    ledger: LessonLedger,
    mask: np.ndarray,
    share_probability_failure: np.ndarray,
    share_probability_success: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Lessons of ``mask`` a district keeps to itself (per-country chances of telling)."""
    country = ledger.country
    p = np.where(
        ledger.success, share_probability_success[country], share_probability_failure[country]
    )
    return mask & (rng.random(len(ledger)) >= p)


def pass_spoken(
    ledger: LessonLedger,
    spoke: np.ndarray,
    spoke_fidelity: np.ndarray,
    complexity: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Lessons of facilities that spoke through a horizontal channel this month pass on."""
    mask = (ledger.location == Location.FACILITY) & spoke[ledger.facility]
    if mask.any():
        _pass_with_story_check(ledger, mask, spoke_fidelity[ledger.facility], complexity, rng)


def report_up(
    ledger: LessonLedger, reporting: np.ndarray, fidelity: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Move lessons of ``reporting`` facilities to their district pool.

    Data always travel; a story survives with ``fidelity`` (per facility).

    Returns:
        The moved lessons' ``district``, ``practice``, ``success`` and ``story``.
    """
    mask = (ledger.location == Location.FACILITY) & reporting[ledger.facility]
    story = ledger.story & (rng.random(len(ledger)) < fidelity[ledger.facility])
    ledger.columns["story"][mask] = story[mask]
    ledger.move(mask, Location.DISTRICT)
    return {
        "district": ledger.district[mask],
        "practice": ledger.practice[mask],
        "success": ledger.success[mask],
        "story": ledger.story[mask],
    }


def forward_from_districts(
    ledger: LessonLedger,
    forwarding: np.ndarray,
    to_centre: np.ndarray,
    share_probability_failure: np.ndarray,
    share_probability_success: np.ndarray,
    rng: np.random.Generator,
) -> int:
    """Districts of ``forwarding`` countries send pooled lessons up, after a month.

    District blame culture holds some back (lost to blame). Lessons go to the
    learning centre where ``to_centre`` (per country), else to the national queue.

    Returns:
        The number of lessons forwarded.
    """
    country = ledger.country
    mask = (ledger.location == Location.DISTRICT) & (ledger.age >= 1) & forwarding[country]
    hidden = _hidden_by_blame(
        ledger, mask, share_probability_failure, share_probability_success, rng
    )
    ledger.lose(hidden, Cause.BLAME)
    country = ledger.country
    mask = (ledger.location == Location.DISTRICT) & (ledger.age >= 1) & forwarding[country]
    centre = mask & to_centre[country]
    ledger.move(centre, Location.CENTRE_QUEUE)
    ledger.move(mask & ~centre, Location.NATIONAL_QUEUE)
    return int(mask.sum())


def pass_from_districts(
    ledger: LessonLedger,
    presented: np.ndarray,
    fidelity: np.ndarray,
    complexity: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Pooled lessons of districts that ``presented`` them (session, coaching, group) pass on.

    Only lessons that stay in the district (no upward forwarding in their country)
    take this route; ``fidelity`` is per district.
    """
    mask = (ledger.location == Location.DISTRICT) & presented[ledger.district]
    if mask.any():
        _pass_with_story_check(ledger, mask, fidelity[ledger.district], complexity, rng)


@dataclass
class Processed:
    """Lessons processed by a national body or learning centre this month."""

    country: np.ndarray
    practice: np.ndarray
    success: np.ndarray
    story: np.ndarray

    @property
    def size(self) -> int:
        """Number of lessons processed."""
        return int(self.country.size)


def _oldest_first(ledger: LessonLedger, mask: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Rows of ``mask`` within each country's capacity, oldest first."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return np.zeros(len(ledger), dtype=bool)
    country = ledger.country[rows]
    order = np.lexsort((-ledger.age[rows].astype(np.int64), country))
    rows, country = rows[order], country[order]
    starts = np.searchsorted(country, country, side="left")
    rank = np.arange(rows.size) - starts
    chosen = np.zeros(len(ledger), dtype=bool)
    chosen[rows[rank < capacity[country]]] = True
    return chosen


def _take(ledger: LessonLedger, mask: np.ndarray) -> Processed:
    return Processed(
        country=ledger.country[mask],
        practice=ledger.practice[mask],
        success=ledger.success[mask],
        story=ledger.story[mask],
    )


def pass_between_districts(
    ledger: LessonLedger,
    meeting: np.ndarray,
    share_probability_failure: np.ndarray,
    share_probability_success: np.ndarray,
    fidelity: np.ndarray,
    complexity: np.ndarray,
    rng: np.random.Generator,
) -> Processed:
    """Free routing without a learning centre: districts pass pooled lessons to each other.

    In countries where districts ``meeting`` this month, pooled lessons go straight to
    the peer districts (no national queue): district blame holds some back (lost to
    blame), the rest pass on with the story check of the exchange's ``fidelity`` (per
    country). The national body sees their data as they pass.

    Returns:
        The lessons passed on, as processed data for the national evidence base.
    """
    country = ledger.country
    mask = (ledger.location == Location.DISTRICT) & meeting[country]
    hidden = _hidden_by_blame(
        ledger, mask, share_probability_failure, share_probability_success, rng
    )
    no_story = mask & ~hidden & _lost_for_want_of_story(ledger, fidelity[country], complexity, rng)
    passed = mask & ~hidden & ~no_story
    processed = _take(ledger, mask & ~hidden)
    ledger.settle(passed=passed, lost={Cause.BLAME: hidden, Cause.NO_STORY: no_story})
    return processed


def process_national(
    ledger: LessonLedger,
    capacity: np.ndarray,
    time_to_live: np.ndarray,
    share_probability_failure: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Processed, int]:
    """The national body works through its queue, oldest first, up to its capacity.

    Processed successes pass on into the evidence base; processed failures are acted
    on with chance ``1 - b`` (national blame), else lost to blame. Items still waiting
    when their age reaches ``time_to_live`` expire (lost to the bottleneck).
    ``capacity`` is per country; use a very large number for unlimited.

    Returns:
        The lessons processed and passed on, and the number of items that expired.
    """
    queued = ledger.location == Location.NATIONAL_QUEUE
    chosen = _oldest_first(ledger, queued, capacity)
    acted_on = rng.random(len(ledger)) < share_probability_failure[ledger.country]
    buried = chosen & ~ledger.success & ~acted_on
    passed = chosen & ~buried
    processed = _take(ledger, passed)
    # what is still queued after processing and has waited too long expires
    expired = queued & ~chosen & (ledger.age >= time_to_live[ledger.country])
    ledger.settle(passed=passed, lost={Cause.BLAME: buried, Cause.BOTTLENECK: expired})
    return processed, int(expired.sum())


def process_centres(ledger: LessonLedger, capacity: np.ndarray) -> Processed:
    """Learning centres work through their queue, oldest first, up to capacity.

    A centre's backlog waits; it does not expire.
    """
    queued = ledger.location == Location.CENTRE_QUEUE
    chosen = _oldest_first(ledger, queued, capacity)
    processed = _take(ledger, chosen)
    ledger.pass_on(chosen)
    return processed


def fade(ledger: LessonLedger, shelf_life: np.ndarray) -> None:
    """Lessons at a facility or district pool past their shelf life are lost (no channel)."""
    waiting = (ledger.location == Location.FACILITY) | (ledger.location == Location.DISTRICT)
    old = waiting & (ledger.age >= shelf_life[ledger.country])
    ledger.lose(old, Cause.NO_CHANNEL)
