"""Population state: arrays indexed by the stable facility, district and country numbers.

Arrays are created once and updated in place; agents and mechanisms read and write
them through these objects, never through copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.practices import Catalogue
from sim.model.world import World

if TYPE_CHECKING:
    from sim.model.ledger import Processed
    from sim.model.schema import Scenario

__all__ = [
    "Knowledge",
    "LearningSystem",
    "Population",
    "Source",
    "Stage",
    "WorkArrays",
    "holders_type",
    "in_use",
    "is_open",
]


class Stage(IntEnum):
    """Where a facility stands with a practice."""

    UNKNOWN = 0
    AWARE = 1
    TRIAL = 2
    ADOPTED = 3
    INSTITUTIONALISED = 4
    REJECTED = 5
    LOST = 6
    NEVER = 7  # the practice does not fit here, or is resisted: never taken up


class Source(IntEnum):
    """How a facility first heard of a practice (the channel that carried it)."""

    NONE = 0
    INITIAL = 1
    INNOVATION = 2
    PEER_NETWORK = 3
    LEARNING_SESSIONS = 4
    MESSAGING_GROUP = 5
    EXCHANGE_VISITS = 6
    COACHING = 7
    GUIDANCE = 8


def in_use(stage: np.ndarray) -> np.ndarray:
    """Cells where a practice is in use (adopted or institutionalised).

    The compiled kernels apply the same rule cell by cell (:func:`sim.model.kernels.in_use`).
    """
    return (stage == int(Stage.ADOPTED)) | (stage == int(Stage.INSTITUTIONALISED))


def is_open(stage: np.ndarray) -> np.ndarray:
    """Cells where a facility could still start a trial: unknown, aware or lost.

    The compiled kernels apply the same rule cell by cell (:func:`sim.model.kernels.is_open`).
    """
    return (stage <= int(Stage.AWARE)) | (stage == int(Stage.LOST))


class WorkArrays:
    """Large work arrays kept from month to month, one per use, written over each time.

    A fresh large array costs more than its size suggests: the operating system
    hands its memory over as it is first written, zero-filled (2 MB at a time where
    transparent huge pages are on), and the kernels write a few entries into each of
    their blocks of rows, so a month would pay for zeroing most of the array.

    Examples:
        >>> work = WorkArrays()
        >>> a = work.get("trials", 10, np.int64)
        >>> b = work.get("trials", 8, np.int64)
        >>> b.size, np.shares_memory(a, b), np.shares_memory(a, work.get("trials", 40, np.int64))
        (8, True, False)
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: type) -> np.ndarray:
        """``size`` entries of ``dtype`` for ``name`` (contents left over).

        A view of the array kept under ``name``; one that has to grow is made a quarter
        larger than asked, so that a slowly growing need does not make a new one each
        month.
        """
        array = self._arrays.get(name)
        if array is None or array.dtype != np.dtype(dtype):
            array = self._arrays[name] = np.empty(size, dtype=dtype)
        elif array.size < size:
            array = self._arrays[name] = np.empty(size + size // 4, dtype=dtype)
        return array[:size]


@dataclass
class Population:
    """Facility x practice state.

    Attributes:
        stage: :class:`Stage` code per facility and practice.
        holders: Staff holding a practice in use.
        story: The facility holds the how-to story of the practice.
        knows_failure: The facility has heard (or found) that the practice fails.
        failure_reports: Failure reports heard so far (summed intensity).
        success_reports: Success reports heard so far (summed intensity).
        trial_left: Months left in a running trial.
        trial_story: The running trial has a how-to story behind it.
        first_source: :class:`Source` of the first news of the practice.
        local_effect: True effect of the practice at the facility ("learning is local").
        coached_until: Month until which a facility has coaching support.
        attended: The facility attended a learning session in the current review period.
        coached: The facility was coached in the current review period.
        request_since: Month in which the facility's pending request for support was
            raised (0: none pending; :mod:`sim.model.mechanisms.support_requests`).
        trial_cells: The cells in trial (flat ``facility * K + practice``, ascending):
            a trial is started only by :meth:`start_trials` and ends only in
            :func:`sim.model.mechanisms.trials.finish_trials`, which keep this list, so trials are
            found without looking at every cell.
    """

    stage: np.ndarray
    holders: np.ndarray
    story: np.ndarray
    knows_failure: np.ndarray
    failure_reports: np.ndarray
    success_reports: np.ndarray
    trial_left: np.ndarray
    trial_story: np.ndarray
    first_source: np.ndarray
    local_effect: np.ndarray
    coached_until: np.ndarray
    attended: np.ndarray
    coached: np.ndarray
    request_since: np.ndarray
    trial_cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def start_trials(
        self, f: np.ndarray, k: np.ndarray, story: np.ndarray, months: np.ndarray
    ) -> None:
        """Facilities ``f`` start trials of practices ``k`` lasting ``months`` (the only way in).

        The cells must not be in trial already. They join :attr:`trial_cells` by a merge
        of two sorted lists (a stable sort finds the two runs).
        """
        self.stage[f, k] = Stage.TRIAL
        self.trial_left[f, k] = months + 1
        self.trial_story[f, k] = story
        started = np.sort(f * self.stage.shape[1] + k)
        self.trial_cells = np.sort(np.concatenate((self.trial_cells, started)), kind="stable")

    @classmethod
    def empty(cls, world: World, catalogue: Catalogue, rng: np.random.Generator) -> Population:
        """All practices unknown everywhere; local effects drawn around each mean."""
        n, k = world.n_facilities, catalogue.size
        local = rng.standard_normal((n, k), dtype=np.float32)  # then scaled in place
        local *= catalogue.context_spread.astype(np.float32)[None, :]
        local += catalogue.effect.astype(np.float32)[None, :]
        return cls(
            stage=np.zeros((n, k), dtype=np.int8),
            holders=np.zeros((n, k), dtype=holders_type(world.staff)),
            story=np.zeros((n, k), dtype=bool),
            knows_failure=np.zeros((n, k), dtype=bool),
            failure_reports=np.zeros((n, k), dtype=np.float32),
            success_reports=np.zeros((n, k), dtype=np.float32),
            trial_left=np.zeros((n, k), dtype=np.int8),
            trial_story=np.zeros((n, k), dtype=bool),
            first_source=np.zeros((n, k), dtype=np.int8),
            local_effect=local,
            coached_until=np.full(n, -1, dtype=np.int32),
            attended=np.zeros(n, dtype=bool),
            coached=np.zeros(n, dtype=bool),
            request_since=np.zeros(n, dtype=np.int32),
        )


def holders_type(staff: np.ndarray) -> type[np.signedinteger[Any]]:
    """The narrowest integer type that counts the holders of a practice at every facility.

    Holders never outnumber staff, so 16 bits serve every facility of up to 32,767 staff
    (the generated worlds and most facility lists); a list with a larger facility gets
    32 bits, which hold any staff count a facility list may give (at most 2**31 - 1).

    Examples:
        >>> holders_type(np.array([60, 12])).__name__, holders_type(np.array([40_000])).__name__
        ('int16', 'int32')
    """
    largest = int(staff.max(initial=0))
    return np.int16 if largest <= np.iinfo(np.int16).max else np.int32


@dataclass
class Knowledge:
    """What districts, learning centres and national bodies know, per practice.

    Attributes:
        district_story: A district knows a success with its story.
        district_success: A district knows of a success (with or without story).
        district_failure: A district knows the practice failed somewhere.
        district_success_reports: Success reports that reached the district (counts).
        district_failure_reports: Failure reports that reached the district (counts).
        evidence_story: Success reports with stories processed nationally, per country.
        evidence_success: Success reports processed nationally, per country.
        evidence_failure: Failure reports processed nationally, per country.
        centre_story: Success reports with stories processed by the learning centre(s).
        centre_success: Success reports processed by the learning centre(s).
        centre_failure: Failure reports processed by the learning centre(s).
        package: The learning centre has packaged the practice (high-fidelity how-to).
        guidance: National guidance in force.
        withdrawn: Guidance withdrawn after it failed (double loop).
        failure_found: Some facility of the country has found the practice to fail.
        success_found: Some facility of the country has found the practice to work.
    """

    district_story: np.ndarray
    district_success: np.ndarray
    district_failure: np.ndarray
    district_success_reports: np.ndarray
    district_failure_reports: np.ndarray
    evidence_story: np.ndarray
    evidence_success: np.ndarray
    evidence_failure: np.ndarray
    centre_story: np.ndarray
    centre_success: np.ndarray
    centre_failure: np.ndarray
    package: np.ndarray
    guidance: np.ndarray
    withdrawn: np.ndarray
    failure_found: np.ndarray
    success_found: np.ndarray

    def district_judgement(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What each district presents: successes with story, without, and failures.

        A district weighs the reports that reached it: it presents a practice as a
        success while its success reports are at least as many as its failure reports,
        and as a failure while they are at most as many.
        """
        net = self.district_success_reports - self.district_failure_reports
        success = self.district_success & (net >= 0)
        failure = self.district_failure & (net <= 0)
        story = success & self.district_story
        return story, success & ~story, failure

    def known_to_fail(self, ineffective: np.ndarray) -> np.ndarray:
        """Per country and practice: truly ``ineffective``, and found to fail there.

        A trial of such a practice is duplication waste.
        """
        return self.failure_found & ineffective[None, :]

    def learn_in_districts(self, moved: dict[str, np.ndarray]) -> None:
        """Districts learn from the lessons that reached their pools: flags and report counts.

        ``moved`` holds the lessons' ``district``, ``practice``, ``success`` and ``story``.
        """
        d, p, s, story = moved["district"], moved["practice"], moved["success"], moved["story"]
        np.add.at(self.district_success_reports, (d[s], p[s]), 1)
        np.add.at(self.district_failure_reports, (d[~s], p[~s]), 1)
        self.district_success[d[s], p[s]] = True
        self.district_story[d[s & story], p[s & story]] = True
        self.district_failure[d[~s], p[~s]] = True

    def add_evidence(self, processed: Processed) -> None:
        """Processed lessons join the national evidence base of their country."""
        cells = (processed.country, processed.practice)
        np.add.at(self.evidence_success, cells, processed.success)
        np.add.at(self.evidence_story, cells, processed.success & processed.story)
        np.add.at(self.evidence_failure, cells, ~processed.success)

    def share_down(self, processed: Processed, district_country: np.ndarray) -> None:
        """Lessons processed nationally (or by a centre) reach every district of their country."""
        if processed.size == 0:
            return
        c, k = self.guidance.shape
        success = np.zeros((c, k), dtype=bool)
        story = np.zeros_like(success)
        failure = np.zeros_like(success)
        s = processed.success
        success[processed.country[s], processed.practice[s]] = True
        with_story = s & processed.story
        story[processed.country[with_story], processed.practice[with_story]] = True
        failure[processed.country[~s], processed.practice[~s]] = True
        successes = np.zeros((c, k), dtype=np.int64)
        failures = np.zeros_like(successes)
        np.add.at(successes, (processed.country[s], processed.practice[s]), 1)
        np.add.at(failures, (processed.country[~s], processed.practice[~s]), 1)
        self.district_success_reports += successes[district_country]
        self.district_failure_reports += failures[district_country]
        self.district_success |= success[district_country]
        self.district_story |= story[district_country]
        self.district_failure |= failure[district_country]

    @classmethod
    def empty(cls, world: World, catalogue: Catalogue) -> Knowledge:
        """Nothing known anywhere except the guidance in force at month 0."""
        d, c, k = world.n_districts, world.n_countries, catalogue.size
        return cls(
            district_story=np.zeros((d, k), dtype=bool),
            district_success=np.zeros((d, k), dtype=bool),
            district_failure=np.zeros((d, k), dtype=bool),
            district_success_reports=np.zeros((d, k), dtype=np.int64),
            district_failure_reports=np.zeros((d, k), dtype=np.int64),
            evidence_story=np.zeros((c, k), dtype=np.int64),
            evidence_success=np.zeros((c, k), dtype=np.int64),
            evidence_failure=np.zeros((c, k), dtype=np.int64),
            centre_story=np.zeros((c, k), dtype=np.int64),
            centre_success=np.zeros((c, k), dtype=np.int64),
            centre_failure=np.zeros((c, k), dtype=np.int64),
            package=np.zeros((c, k), dtype=bool),
            guidance=np.repeat(catalogue.in_guidance[None, :], c, axis=0).copy(),
            withdrawn=np.zeros((c, k), dtype=bool),
            failure_found=np.zeros((c, k), dtype=bool),
            success_found=np.zeros((c, k), dtype=bool),
        )


#: Capacity used for "unlimited" queues.
UNLIMITED = np.iinfo(np.int64).max // 4


@dataclass
class LearningSystem:
    """What the organisations may change during a run, as arrays their agents index.

    Per country unless said otherwise. The triple loop's reviewers change the session
    interval, routing, the messaging group and blame; districts change their coaching
    weight (double loop). Mechanisms read these arrays each month, so a change takes
    effect from the next mechanism that reads it.

    Attributes:
        session_interval: Months between learning sessions.
        routing_free: Free routing (else centralised).
        messaging_on: Messaging groups run.
        blame_facility: Blame culture inside facilities.
        blame_district: Blame culture of district offices.
        blame_national: Blame culture of the national body.
        success_factor: How much blame also holds back successes.
        national_capacity: Items the national body processes a month.
        has_centre: The country has a learning centre.
        exchange_on: District exchange is funded.
        coaching_weight: Per district: coaching effort relative to sessions (1 = as planned).
        coaching_visits: Per district: visits planned in the latest coaching month.
    """

    session_interval: np.ndarray
    routing_free: np.ndarray
    messaging_on: np.ndarray
    blame_facility: np.ndarray
    blame_district: np.ndarray
    blame_national: np.ndarray
    success_factor: np.ndarray
    national_capacity: np.ndarray
    has_centre: np.ndarray
    exchange_on: np.ndarray
    coaching_weight: np.ndarray
    coaching_visits: np.ndarray

    @classmethod
    def of(cls, scenario: Scenario, n_districts: int) -> LearningSystem:
        """The settings of ``scenario``'s countries at month 0."""
        countries = scenario.countries

        def each(value: list[object], dtype: type) -> np.ndarray:
            return np.array(value, dtype=dtype)

        return cls(
            session_interval=each(
                [c.channels.learning_sessions.interval_months for c in countries], np.int64
            ),
            routing_free=each([c.national.routing == "free" for c in countries], bool),
            messaging_on=each([c.channels.messaging_group.enabled for c in countries], bool),
            blame_facility=each([c.blame.facility for c in countries], float),
            blame_district=each([c.blame.district for c in countries], float),
            blame_national=each([c.blame.national for c in countries], float),
            success_factor=each([c.blame.success_factor for c in countries], float),
            national_capacity=each(
                [
                    UNLIMITED if c.national.capacity is None else c.national.capacity
                    for c in countries
                ],
                np.int64,
            ),
            has_centre=each([c.learning_centres.count > 0 for c in countries], bool),
            exchange_on=each([c.channels.district_exchange.enabled for c in countries], bool),
            coaching_weight=np.ones(n_districts),
            coaching_visits=np.zeros(n_districts, dtype=np.int64),
        )

    def direct_exchange(self, district_country: np.ndarray, funded: np.ndarray) -> np.ndarray:
        """Per district: whether it passes pooled lessons to peer districts directly.

        District exchange funded there (by its country, or by a programme: ``funded``,
        per district), free routing and no learning centre in its country: there is no
        queue to send the lessons to.
        """
        country_wide = self.routing_free & ~self.has_centre
        return (self.exchange_on[district_country] | funded) & country_wide[district_country]
