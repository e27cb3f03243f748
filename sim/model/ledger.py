"""The lesson ledger: where every lesson is, and why each lost one was lost.

A lesson is born when a facility finishes a trial: (practice, success or failure,
with or without a story). Until it leaves its source it is *held* at the facility;
it may then move up (district pool, national queue, learning-centre queue) and is
*passed on* when it reaches other facilities or the national evidence base. A lesson
that never makes it is *lost* under exactly one cause. The invariant
``generated == held + passed + sum(lost)`` holds for every country at every month.
The ledger also tallies lessons generated and lost by the district of their facility
(:attr:`LessonLedger.generated_district`, :attr:`LessonLedger.lost_district`), for
views that compare districts of one country.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = ["CAUSES", "Cause", "LessonLedger", "Location", "Processed", "oldest_first", "take"]


class Location(IntEnum):
    """Where a held lesson is."""

    FACILITY = 0
    DISTRICT = 1
    NATIONAL_QUEUE = 2
    CENTRE_QUEUE = 3


class Cause(IntEnum):
    """Why a lesson was lost (the loss ledger's columns)."""

    TURNOVER = 0
    BOTTLENECK = 1
    BLAME = 2
    NO_STORY = 3
    NO_CHANNEL = 4


#: Output names of the causes, in :class:`Cause` order.
CAUSES = ("turnover", "bottleneck", "blame", "no_story", "no_channel")

_COLUMNS = {
    "uid": np.int64,
    "facility": np.int32,
    "practice": np.int16,
    "district": np.int32,
    "country": np.int16,
    "success": bool,
    "story": bool,
    "location": np.int8,
    "age": np.int16,
}


class LessonLedger:
    """Held lessons as columns of arrays, plus counters of passed and lost ones.

    Examples:
        >>> ledger = LessonLedger(n_countries=1)
        >>> ledger.add(uid=np.array([2, 7]), facility=np.array([0, 1]), practice=np.array([2, 2]),
        ...            district=np.array([0, 0]), country=np.array([0, 0]),
        ...            success=np.array([True, False]), story=np.array([True, False]))
        >>> ledger.lose(ledger.success == False, Cause.BLAME)
        >>> ledger.pass_on(ledger.success)
        1
        >>> ledger.generated.tolist(), ledger.passed.tolist(), ledger.lost[0].tolist()
        ([2], [1], [0, 0, 1, 0, 0])
        >>> ledger.conserved()
        True
    """

    def __init__(self, n_countries: int) -> None:
        self.n_countries = n_countries
        self.columns: dict[str, np.ndarray] = {
            name: np.zeros(0, dtype=dtype) for name, dtype in _COLUMNS.items()
        }
        self.generated = np.zeros(n_countries, dtype=np.int64)
        self.passed = np.zeros(n_countries, dtype=np.int64)
        self.lost = np.zeros((n_countries, len(CAUSES)), dtype=np.int64)
        #: Lessons generated so far by district (index); it grows to the highest
        #: district seen, so read it with :meth:`by_district`.
        self.generated_district = np.zeros(0, dtype=np.int64)
        #: Lessons lost so far by district and cause (rows grow as ``generated_district``).
        self.lost_district = np.zeros((0, len(CAUSES)), dtype=np.int64)

    # -- columns -----------------------------------------------------------------------
    @property
    def uid(self) -> np.ndarray:
        """Identity of each held lesson (:meth:`uids`)."""
        return self.columns["uid"]

    @property
    def facility(self) -> np.ndarray:
        """Facility that learned each lesson."""
        return self.columns["facility"]

    @property
    def practice(self) -> np.ndarray:
        """Practice of each lesson."""
        return self.columns["practice"]

    @property
    def district(self) -> np.ndarray:
        """District of each lesson's facility."""
        return self.columns["district"]

    @property
    def country(self) -> np.ndarray:
        """Country of each lesson."""
        return self.columns["country"]

    @property
    def success(self) -> np.ndarray:
        """Whether the trial worked."""
        return self.columns["success"]

    @property
    def story(self) -> np.ndarray:
        """Whether the lesson still carries its how-to story."""
        return self.columns["story"]

    @property
    def location(self) -> np.ndarray:
        """Where each lesson is held (:class:`Location`)."""
        return self.columns["location"]

    @property
    def age(self) -> np.ndarray:
        """Months since each lesson arrived where it is."""
        return self.columns["age"]

    def __len__(self) -> int:
        return int(self.columns["facility"].size)

    # -- changes ---------------------------------------------------------------------
    @staticmethod
    def uids(month: int, facility: np.ndarray, practice: np.ndarray, practices: int) -> np.ndarray:
        """Identities of lessons born in ``month`` at ``facility`` about ``practice``.

        A facility finishes at most one trial of a practice a month, so
        ``(month, facility, practice)`` names a lesson in every scenario that shares the
        world: the same lesson in two scenarios draws the same random numbers.

        Examples:
            >>> LessonLedger.uids(0, np.array([0, 1]), np.array([3, 0]), 5).tolist()
            [3, 5]
            >>> int(LessonLedger.uids(1, np.array([0]), np.array([3]), 5)[0]) == 2**31 * 5 + 3
            True
        """
        return (facility.astype(np.int64) + month * (1 << 31)) * practices + practice

    def add(
        self,
        *,
        uid: np.ndarray,
        facility: np.ndarray,
        practice: np.ndarray,
        district: np.ndarray,
        country: np.ndarray,
        success: np.ndarray,
        story: np.ndarray,
    ) -> None:
        """Record new lessons, held at their facility."""
        n = facility.size
        if n == 0:
            return
        new = {
            "uid": uid,
            "facility": facility,
            "practice": practice,
            "district": district,
            "country": country,
            "success": success,
            "story": story,
            "location": np.full(n, Location.FACILITY),
            "age": np.zeros(n),
        }
        for name, dtype in _COLUMNS.items():
            self.columns[name] = np.concatenate([self.columns[name], new[name].astype(dtype)])
        self.generated += np.bincount(country, minlength=self.n_countries)
        self._tally_generated(district)

    def lose(self, mask: np.ndarray, cause: Cause) -> None:
        """Count the lessons in ``mask`` as lost to ``cause`` and drop them."""
        if mask.any():
            self.lost[:, cause] += self._count(mask)
            self._tally_lost(self.columns["district"][mask], cause)
            self._drop(mask)

    def pass_on(self, mask: np.ndarray) -> int:
        """Count the lessons in ``mask`` as passed on and drop them; how many passed."""
        if not mask.any():
            return 0
        count = self._count(mask)
        self.passed += count
        self._drop(mask)
        return int(count.sum())

    def settle(self, passed: np.ndarray, lost: dict[Cause, np.ndarray]) -> int:
        """Pass on the lessons in ``passed`` and lose those in each ``lost`` mask, at once.

        The masks refer to the current rows and must not overlap.

        Returns:
            How many lessons passed on.
        """
        drop = passed.copy()
        self.passed += self._count(passed)
        for cause, mask in lost.items():
            if (drop & mask).any():
                raise ValueError(f"a lesson cannot be both passed and lost ({cause.name})")
            self.lost[:, cause] += self._count(mask)
            self._tally_lost(self.columns["district"][mask], cause)
            drop |= mask
        if drop.any():
            self._drop(drop)
        return int(passed.sum())

    def set_story(self, mask: np.ndarray, story: np.ndarray) -> None:
        """Whether the lessons of ``mask`` still carry their story (``story``, per row)."""
        self.columns["story"][mask] = story[mask]

    def move(self, mask: np.ndarray, location: Location) -> None:
        """Move the lessons in ``mask`` to ``location``; their age restarts at zero."""
        self.columns["location"][mask] = location
        self.columns["age"][mask] = 0

    def age_one_month(self) -> None:
        """Every held lesson grows one month older."""
        self.columns["age"] += 1

    # -- reading ---------------------------------------------------------------------
    def held(self) -> np.ndarray:
        """Held lessons per country."""
        if self.n_countries == 1:
            return np.array([len(self)], dtype=np.int64)
        return np.bincount(self.columns["country"], minlength=self.n_countries).astype(np.int64)

    def held_at(self, location: Location) -> np.ndarray:
        """Held lessons per country at ``location``."""
        return self._count(self.columns["location"] == location)

    def conserved(self) -> bool:
        """Whether generated == held + passed + lost, for every country."""
        total = self.held() + self.passed + self.lost.sum(axis=1)
        return bool(np.array_equal(total, self.generated))

    def _count(self, mask: np.ndarray) -> np.ndarray:
        if self.n_countries == 1:
            return np.array([np.count_nonzero(mask)], dtype=np.int64)
        return np.bincount(self.columns["country"][mask], minlength=self.n_countries).astype(
            np.int64
        )

    def lose_at_source(
        self, country: np.ndarray, cause: Cause, district: np.ndarray | None = None
    ) -> None:
        """Count lessons as generated and lost at once, without holding them.

        ``district`` (of each lesson's facility) feeds the tallies by district; without
        it they miss these lessons.
        """
        counts = np.bincount(country, minlength=self.n_countries).astype(np.int64)
        self.generated += counts
        self.lost[:, cause] += counts
        if district is not None:
            self._tally_generated(district)
            self._tally_lost(district, cause)

    def by_district(self, n_districts: int) -> tuple[np.ndarray, np.ndarray]:
        """Lessons generated (per district) and lost (per district and cause) so far.

        Examples:
            >>> ledger = LessonLedger(n_countries=1)
            >>> ledger.lose_at_source(np.array([0, 0]), Cause.BLAME, np.array([2, 2]))
            >>> generated, lost = ledger.by_district(4)
            >>> generated.tolist(), lost[:, Cause.BLAME].tolist()
            ([0, 0, 2, 0], [0, 0, 2, 0])
        """
        generated = np.zeros(n_districts, dtype=np.int64)
        lost = np.zeros((n_districts, len(CAUSES)), dtype=np.int64)
        seen = min(n_districts, self.generated_district.size)
        generated[:seen] = self.generated_district[:seen]
        seen = min(n_districts, self.lost_district.shape[0])
        lost[:seen] = self.lost_district[:seen]
        return generated, lost

    def _tally_generated(self, district: np.ndarray) -> None:
        if district.size == 0:
            return
        counts = np.bincount(district, minlength=self.generated_district.size)
        counts[: self.generated_district.size] += self.generated_district
        self.generated_district = counts.astype(np.int64)

    def _tally_lost(self, district: np.ndarray, cause: Cause) -> None:
        if district.size == 0:
            return
        counts = np.bincount(district, minlength=self.lost_district.shape[0])
        if counts.size > self.lost_district.shape[0]:
            grown = np.zeros((counts.size, len(CAUSES)), dtype=np.int64)
            grown[: self.lost_district.shape[0]] = self.lost_district
            self.lost_district = grown
        self.lost_district[:, cause] += counts

    def _drop(self, mask: np.ndarray) -> None:
        keep = np.flatnonzero(~mask)  # one scan of the mask for every column
        for name in self.columns:
            self.columns[name] = self.columns[name].take(keep)


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


def take(ledger: LessonLedger, mask: np.ndarray) -> Processed:
    """The lessons of ``mask``, as processed data."""
    return Processed(
        country=ledger.country[mask],
        practice=ledger.practice[mask],
        success=ledger.success[mask],
        story=ledger.story[mask],
    )


def oldest_first(ledger: LessonLedger, mask: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Rows of ``mask`` within each country's ``capacity``, oldest first (a queue).

    Examples:
        >>> ledger = LessonLedger(n_countries=1)
        >>> one = np.zeros(3, dtype=int)
        >>> ledger.add(uid=np.arange(3), facility=one, practice=one, district=one,
        ...            country=one, success=one == 0, story=one == 1)
        >>> ledger.columns["age"][:] = [1, 5, 3]
        >>> oldest_first(ledger, ledger.age > 0, np.array([2])).tolist()
        [False, True, True]
    """
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
