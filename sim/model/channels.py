"""Channels: how news of practices and lessons reaches facilities.

Each function computes, for one channel and one month, an :class:`Exposure`: the
facilities reached (``rows``) and, per practice, the intensity of what they heard:
successes that came with their how-to story, successes without it, and failures.
Nothing here loops over facilities in Python: a channel draws who meets whom and sums
what they offer with one compiled kernel (:func:`sim.model.kernels.offer_sums`).

Successes are carried as ``heard`` (all successes, with or without their story) and
``story`` (the part that came with its how-to story). A story offered survives a passage
with the channel's ``fidelity``; what does not survive still arrives as a success, so a
channel's fidelity changes ``story`` and never ``heard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from sim.model import kernels
from sim.model.state import Source

__all__ = [
    "Exposure",
    "Offers",
    "coaching_exposure",
    "exchange_visit_exposure",
    "full_mixing_exposure",
    "group_exposure",
    "guidance_exposure",
    "peer_network_exposure",
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
        return kernels.has_news(self.stage, self.country, self.tell_success, self.tell_failure)

    def sums(
        self, members: np.ndarray, groups: np.ndarray, n_groups: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Offers of ``members`` summed per group (``groups[m]`` is member m's group).

        Returns successes, the part with story, and failures: each ``n_groups x K``.
        """
        return kernels.offer_sums(
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


def peer_network_exposure(
    ties: sp.csr_matrix,
    ties_per_country: np.ndarray,
    offers: Offers,
    contact_probability: np.ndarray,
    fidelity: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Exposure, np.ndarray, int]:
    """Each tie is used with its country's ``contact_probability`` (0 where the channel is off).

    Ties stay inside a country. Only ties used by a facility with something to tell
    carry news, so only those are drawn (:func:`sim.model.kernels.told_along_ties`); how
    many of the other ties were used is drawn as one binomial per country.

    Args:
        ties: The symmetric facility network.
        ties_per_country: Ties (stored entries of ``ties``) of each country's facilities.
        offers: What each facility would tell.
        contact_probability: Per country, the chance a tie is used this month.
        fidelity: Per facility, the chance a story survives the telling.
        rng: The channel's stream.

    Returns:
        The exposure of the facilities that heard something, the facilities that spoke
        (told something along at least one tie used), and the number of ties used.
    """
    tellers = np.flatnonzero(offers.any)
    rows, heard, story, failure, spoke, used, told_ties = kernels.told_along_ties(
        ties.indptr,
        ties.indices,
        tellers,
        contact_probability.astype(np.float64),
        offers.stage,
        offers.story,
        offers.country,
        offers.tell_success,
        offers.tell_failure,
        rng,
    )
    silent = ties_per_country - told_ties
    used += int(rng.binomial(silent, contact_probability).sum())
    exposure = Exposure.of(
        Source.PEER_NETWORK, rows, (heard, story, failure), fidelity=fidelity[rows]
    )
    return exposure, spoke, used


def full_mixing_exposure(
    offers: Offers,
    facility_country: np.ndarray,
    n_countries: int,
    rate: np.ndarray,
    fidelity: np.ndarray,
    active_rows: np.ndarray,
) -> Exposure:
    """Every facility of a country meets the users of a practice at ``rate`` (mean field).

    With fidelity 1 and uptake 1, a non-user starts using practice k with hazard
    ``rate * F_k`` where ``F_k`` is the share of the country's facilities using it:
    the imitation term of the Bass model.
    """
    n = facility_country.size
    counts = np.bincount(facility_country, minlength=n_countries).astype(np.float32)
    heard, story, failure = offers.sums(np.arange(n), facility_country, n_countries)
    size = np.maximum(counts, 1.0)[:, None]
    shares = (heard / size, story / size, failure / size)
    rows = np.flatnonzero(active_rows)
    country = facility_country[rows]
    return Exposure.of(
        Source.PEER_NETWORK, rows, shares, at=country, scale=rate[country], fidelity=fidelity[rows]
    )


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


def exchange_visit_exposure(
    visitors: np.ndarray, hosts: np.ndarray, offers: Offers, fidelity: np.ndarray
) -> Exposure:
    """Visitors hear what their hosts use and found to fail."""
    rows, visitor = np.unique(visitors, return_inverse=True)
    tables = offers.sums(hosts, visitor, rows.size)
    return Exposure.of(Source.EXCHANGE_VISITS, rows, tables, fidelity=fidelity[rows])


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


def guidance_exposure(
    active_rows: np.ndarray,
    country: np.ndarray,
    guidance: np.ndarray,
    withdrawn: np.ndarray,
    reach: np.ndarray,
    fidelity: np.ndarray,
) -> Exposure:
    """Guidance in force reaches each facility with hazard ``reach`` a month.

    Withdrawn guidance travels the same way as a failure notice. What a facility
    hears depends on its country only: the tables have a row per country.
    ``fidelity`` is per country, or per country and practice.
    """
    rows = np.flatnonzero(active_rows)
    c = country[rows]
    fid = fidelity if fidelity.ndim == 2 else fidelity[:, None]
    heard = guidance.astype(np.float32)
    story = heard * fid.astype(np.float32)
    failure = withdrawn.astype(np.float32)
    return Exposure.of(Source.GUIDANCE, rows, (heard, story, failure), at=c, scale=reach[c])
