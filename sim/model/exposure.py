"""Offers and exposures: what facilities would tell, and what a channel made them hear.

Each channel computes, for one month, an :class:`Exposure`: the
facilities reached (``rows``) and, per practice, the intensity of what they heard:
successes that came with their how-to story, successes without it, and failures.
Nothing here loops over facilities in Python: a channel draws who meets whom and sums
what they offer with one compiled kernel (:func:`offer_sums`).

Successes are carried as ``heard`` (all successes, with or without their story) and
``story`` (the part that came with its how-to story). A story offered survives a passage
with the channel's ``fidelity``; what does not survive still arrives as a success, so a
channel's fidelity changes ``story`` and never ``heard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from sim.model.kernels import PRANGE_ONLY, REJECTED, in_use, one_at_a_time
from sim.model.rules import telling_chances
from sim.model.state import Source

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = [
    "Exposure",
    "Offers",
    "district_meeting",
    "group_exposure",
    "has_news",
    "offer_sums",
    "offers_of",
]


@dataclass
class Offers:
    """What each facility would tell others this month, weighted by its willingness.

    A facility offers every practice it uses (adopted or institutionalised) with its
    country's weight ``tell_success``, counted also as a story where it holds the
    how-to story, and every practice its own trials found to fail with weight
    ``tell_failure``. Nothing N x K is built: channels sum the offers of the
    facilities they connect with :meth:`sums`.

    Attributes:
        stage: The population's stage codes (N x K, read only here).
        story: The population's stories (N x K).
        country: Country of each facility.
        tell_success: Willingness to tell of a success, per country.
        tell_failure: Willingness to tell of a failure, per country.
    """

    stage: np.ndarray
    story: np.ndarray
    country: np.ndarray
    tell_success: np.ndarray
    tell_failure: np.ndarray

    @cached_property
    def any(self) -> np.ndarray:
        """Facilities that have something to tell (computed once; offers are not changed)."""
        return has_news(self.stage, self.country, self.tell_success, self.tell_failure)

    def sums(
        self, members: np.ndarray, groups: np.ndarray, n_groups: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Offers of ``members`` summed per group (``groups[m]`` is member m's group).

        Returns successes, the part with story, and failures: each ``n_groups x K``.
        """
        return offer_sums(
            self.stage,
            self.story,
            self.country,
            self.tell_success,
            self.tell_failure,
            np.asarray(members, dtype=np.int64),
            np.asarray(groups, dtype=np.int64),
            int(n_groups),
        )


@dataclass
class Exposure:
    """What the facilities in ``rows`` heard through one channel this month.

    The channel's tables ``heard`` (successes, with or without story), ``story`` (the
    part of them that came with its story) and ``failure`` have one row per distinct
    message: facility ``rows[p]`` heard row ``at[p]`` of them at strength ``scale[p]``,
    and the story part survived the passage with chance ``fidelity[p]``. A district
    meeting thus keeps one row per district, not one per member.

    Attributes:
        source: The channel.
        rows: Facilities reached, sorted and distinct.
        heard: Successes, with or without story (float32, a column per practice).
        story: The part of ``heard`` that came with its story.
        failure: Failures.
        at: Row of the tables each reached facility heard.
        scale: Strength of each facility's exposure (intensity, reach).
        fidelity: Chance that a story survives, per reached facility.
    """

    source: Source
    rows: np.ndarray
    heard: np.ndarray
    story: np.ndarray
    failure: np.ndarray
    at: np.ndarray
    scale: np.ndarray
    fidelity: np.ndarray

    @classmethod
    def of(
        cls,
        source: Source,
        rows: np.ndarray,
        tables: tuple[np.ndarray, np.ndarray, np.ndarray],
        *,
        at: np.ndarray | None = None,
        scale: np.ndarray | float = 1.0,
        fidelity: np.ndarray | float = 1.0,
    ) -> Exposure:
        """An exposure with per-row ``at``, ``scale`` and ``fidelity`` filled in.

        Without ``at``, facility ``rows[p]`` heard row ``p`` of the tables.
        """
        rows = np.asarray(rows, dtype=np.int64)
        m = rows.size
        heard, story, failure = (np.ascontiguousarray(t, dtype=np.float32) for t in tables)
        return cls(
            source,
            rows,
            heard,
            story,
            failure,
            np.arange(m, dtype=np.int64) if at is None else np.asarray(at, dtype=np.int64),
            np.broadcast_to(np.asarray(scale, dtype=np.float32), (m,)).copy(),
            np.broadcast_to(np.asarray(fidelity, dtype=np.float32), (m,)).copy(),
        )

    @property
    def empty(self) -> bool:
        """Whether nobody was reached."""
        return self.rows.size == 0


def group_exposure(
    source: Source,
    members: np.ndarray,
    district: np.ndarray,
    n_districts: int,
    offers: Offers,
    intensity: np.ndarray,
    fidelity: np.ndarray,
    district_heard: np.ndarray | None = None,
    district_story: np.ndarray | None = None,
    district_failure: np.ndarray | None = None,
) -> Exposure:
    """A district meeting (learning session or messaging group) among ``members``.

    Each member hears the share of members who use (or found to fail) each practice,
    plus what the district itself presents from its pool of lessons, at ``intensity``.
    Every member of a district hears the same row: the exposure keeps one per district.
    """
    rows = np.flatnonzero(members)
    d = district[rows]
    size = np.bincount(d, minlength=n_districts).astype(np.float32)
    heard, story, failure = (
        part / np.maximum(size, 1.0)[:, None] for part in offers.sums(rows, d, n_districts)
    )
    if district_heard is not None:
        heard += district_heard
    if district_story is not None:
        story += district_story
    if district_failure is not None:
        failure += district_failure
    return Exposure.of(
        source, rows, (heard, story, failure), at=d, scale=intensity[rows], fidelity=fidelity[rows]
    )


@njit(cache=True, nogil=True)
def offer_sums(
    stage: np.ndarray,
    story: np.ndarray,
    country: np.ndarray,
    tell_success: np.ndarray,
    tell_failure: np.ndarray,
    members: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the ``members`` offer, summed per group: successes, with story, failures.

    For each member ``j`` (a facility) in group ``groups[m]``, per practice: the
    willingness of its country ``tell_success[country[j]]`` if it uses the practice
    (adopted or institutionalised), counted again in the story sum if it holds the
    story, and ``tell_failure[country[j]]`` if it rejected the practice. A facility
    may be a member of several groups (listed once per group). In numpy, with
    ``ts = tell_success[country]``::

        use = (stage == ADOPTED) | (stage == INSTITUTIONALISED)
        heard = np.zeros((n_groups, K))
        np.add.at(heard, groups, (use * ts[:, None])[members])

    and likewise ``story`` with ``use & story`` and ``failure`` with
    ``(stage == REJECTED) * tell_failure[country][:, None]``.
    """
    k = stage.shape[1]
    heard = np.zeros((n_groups, k), dtype=np.float32)
    with_story = np.zeros((n_groups, k), dtype=np.float32)
    failure = np.zeros((n_groups, k), dtype=np.float32)
    for m in range(members.size):
        j = members[m]
        g = groups[m]
        success = np.float32(tell_success[country[j]])
        failed = np.float32(tell_failure[country[j]])
        for c in range(k):  # without branches, so that the loop runs on vector units
            s = stage[j, c]
            use = np.float32(in_use(s))
            heard[g, c] += success * use
            with_story[g, c] += success * use * np.float32(story[j, c])
            failure[g, c] += failed * np.float32(s == REJECTED)
    return heard, with_story, failure


@one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def has_news(
    stage: np.ndarray, country: np.ndarray, tell_success: np.ndarray, tell_failure: np.ndarray
) -> np.ndarray:
    """Facilities with something to tell: a practice in use they would tell of, or a failure.

    Willingness is per country. In numpy, with ``ts = tell_success[country]`` and
    ``tf = tell_failure[country]``: ``((use * ts[:, None]) != 0).any(1) |
    (((stage == REJECTED) * tf[:, None]) != 0).any(1)``.
    """
    n, k = stage.shape
    out = np.zeros(n, dtype=np.bool_)
    for i in prange(n):  # rows are independent
        success = tell_success[country[i]] != 0
        failed = tell_failure[country[i]] != 0
        for c in range(k):
            s = stage[i, c]
            if (success and in_use(s)) or (failed and s == REJECTED):
                out[i] = True
                break
    return out


def offers_of(model: LearningHealthSystem) -> Offers:
    """What the model's facilities would tell, under their country's blame culture now."""
    pop = model.population
    tell_success, tell_failure = telling_chances(
        model.system.blame_facility, model.system.success_factor
    )
    return Offers(
        stage=pop.stage,
        story=pop.story,
        country=model.world.facility_country,
        tell_success=tell_success,
        tell_failure=tell_failure,
    )


def district_meeting(
    model: LearningHealthSystem,
    source: Source,
    members: np.ndarray,
    intensity: np.ndarray,
    fidelity: np.ndarray,
) -> Exposure:
    """Exposure of ``members`` at a district meeting (a learning session, a group's posts).

    Members hear each other, and the district presents its pool of lessons: its
    successes with and without story, and its failures as far as its blame culture lets
    it (the blame filter). ``intensity`` and ``fidelity`` are per facility.
    """
    w = model.world
    story, plain, failure = model.knowledge.district_judgement()
    _, failure_told = telling_chances(model.system.blame_district, model.system.success_factor)
    return group_exposure(
        source,
        members,
        w.facility_district,
        w.n_districts,
        model.month_context.offers,
        intensity,
        fidelity,
        (story | plain).astype(np.float32),
        story.astype(np.float32),
        failure * failure_told[w.district_country][:, None],
    )
