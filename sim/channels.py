"""Channels: how news of practices and lessons reaches facilities.

Each function computes, for one channel and one month, an :class:`Exposure`: the
facilities reached (``rows``) and, per practice, the intensity of what they heard:
successes that came with their how-to story, successes without it, and failures.
Nothing here loops over facilities: every channel is a handful of array operations
(a sparse product for network ties, group sums for sessions and groups).

A story offered survives a passage with the channel's ``fidelity``; what does not
survive arrives as a plain success.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sim.state import Source

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

    Attributes:
        story: Successes in use with their story (N x K).
        plain: Successes in use without a story (N x K).
        failure: Failures found by the facility's own trials (N x K).
    """

    story: np.ndarray
    plain: np.ndarray
    failure: np.ndarray

    @property
    def any(self) -> np.ndarray:
        """Facilities that have something to tell."""
        return (self.story.any(axis=1)) | (self.plain.any(axis=1)) | (self.failure.any(axis=1))


@dataclass
class Exposure:
    """What the facilities in ``rows`` heard through one channel this month."""

    source: Source
    rows: np.ndarray
    story: np.ndarray
    plain: np.ndarray
    failure: np.ndarray

    @property
    def empty(self) -> bool:
        """Whether nobody was reached."""
        return self.rows.size == 0


def _split(source: Source, rows: np.ndarray, story: np.ndarray, plain: np.ndarray,
           failure: np.ndarray, fidelity: np.ndarray | float) -> Exposure:
    """Apply story fidelity: the part of ``story`` that does not survive becomes plain."""
    fid = np.asarray(fidelity, dtype=np.float32)
    if fid.ndim == 1:
        fid = fid[:, None]
    kept = story * fid
    return Exposure(source, rows, kept, plain + (story - kept), failure)


def peer_network_exposure(
    ties: sp.csr_matrix,
    offers: Offers,
    contact_probability: np.ndarray,
    fidelity: np.ndarray,
    active_rows: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Exposure, np.ndarray]:
    """Each tie is used with ``contact_probability`` (of the receiver's country).

    Returns the exposure of every facility whose country runs the channel this month,
    and the facilities that spoke (were the source of at least one used tie).
    """
    n = ties.shape[0]
    rows_of_entries = np.repeat(np.arange(n), np.diff(ties.indptr))
    used = rng.random(ties.nnz) < contact_probability[rows_of_entries]
    used &= active_rows[rows_of_entries]
    active = sp.csr_matrix(
        (used.astype(np.float32), ties.indices.copy(), ties.indptr.copy()), shape=ties.shape
    )
    active.eliminate_zeros()
    spoke = np.zeros(n, dtype=bool)
    spoke[active.indices] = True
    rows = np.flatnonzero(active_rows)
    sub = active[rows]
    story = np.asarray(sub @ offers.story)
    plain = np.asarray(sub @ offers.plain)
    failure = np.asarray(sub @ offers.failure)
    return _split(Source.PEER_NETWORK, rows, story, plain, failure, fidelity[rows]), spoke


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
    incidence = sp.csr_matrix(
        (np.ones(n, dtype=np.float32), (facility_country, np.arange(n))), shape=(n_countries, n)
    )
    shares = [
        np.asarray(incidence @ matrix) / np.maximum(counts, 1.0)[:, None]
        for matrix in (offers.story, offers.plain, offers.failure)
    ]
    rows = np.flatnonzero(active_rows)
    country = facility_country[rows]
    scale = rate[country][:, None].astype(np.float32)
    story, plain, failure = (share[country] * scale for share in shares)
    return _split(Source.PEER_NETWORK, rows, story, plain, failure, fidelity[rows])


def group_exposure(
    source: Source,
    members: np.ndarray,
    district: np.ndarray,
    n_districts: int,
    offers: Offers,
    intensity: np.ndarray,
    fidelity: np.ndarray,
    district_story: np.ndarray | None = None,
    district_plain: np.ndarray | None = None,
    district_failure: np.ndarray | None = None,
) -> Exposure:
    """A district meeting (learning session or messaging group) among ``members``.

    Each member hears the share of members who use (or found to fail) each practice,
    plus what the district itself presents from its pool of lessons, at ``intensity``.
    """
    rows = np.flatnonzero(members)
    if rows.size == 0:
        k = offers.story.shape[1]
        empty = np.zeros((0, k), dtype=np.float32)
        return Exposure(source, rows, empty, empty, empty)
    d = district[rows]
    size = np.bincount(d, minlength=n_districts).astype(np.float32)
    incidence = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (d, np.arange(rows.size))),
        shape=(n_districts, rows.size),
    )
    sums = [
        np.asarray(incidence @ matrix[rows]) / np.maximum(size, 1.0)[:, None]
        for matrix in (offers.story, offers.plain, offers.failure)
    ]
    story, plain, failure = (s[d] for s in sums)
    if district_story is not None:
        story = story + district_story[d]
    if district_plain is not None:
        plain = plain + district_plain[d]
    if district_failure is not None:
        failure = failure + district_failure[d]
    scale = intensity[rows][:, None].astype(np.float32)
    return _split(source, rows, story * scale, plain * scale, failure * scale, fidelity[rows])


def exchange_visit_exposure(
    visitors: np.ndarray, hosts: np.ndarray, offers: Offers, fidelity: np.ndarray
) -> Exposure:
    """Visitors hear what their hosts use and found to fail."""
    order = np.argsort(visitors, kind="stable")
    visitors, hosts = visitors[order], hosts[order]
    rows, start = np.unique(visitors, return_index=True)
    story = np.add.reduceat(offers.story[hosts], start, axis=0) if rows.size else offers.story[:0]
    plain = np.add.reduceat(offers.plain[hosts], start, axis=0) if rows.size else offers.plain[:0]
    failure = (
        np.add.reduceat(offers.failure[hosts], start, axis=0) if rows.size else offers.failure[:0]
    )
    return _split(Source.EXCHANGE_VISITS, rows, story, plain, failure, fidelity[rows])


def coaching_exposure(
    coached: np.ndarray,
    district: np.ndarray,
    country: np.ndarray,
    district_story: np.ndarray,
    district_plain: np.ndarray,
    district_failure: np.ndarray,
    package: np.ndarray,
    fidelity: np.ndarray,
) -> Exposure:
    """Coaches bring the district's known successes and failures, and national packages."""
    rows = np.unique(coached)
    d, c = district[rows], country[rows]
    story = (district_story[d] | package[c]).astype(np.float32)
    plain = (district_plain[d] & ~package[c]).astype(np.float32)
    failure = district_failure[d].astype(np.float32)
    return _split(Source.COACHING, rows, story, plain, failure, fidelity[rows])


def guidance_exposure(
    active_rows: np.ndarray,
    country: np.ndarray,
    guidance: np.ndarray,
    withdrawn: np.ndarray,
    reach: np.ndarray,
    fidelity: np.ndarray,
) -> Exposure:
    """Guidance in force reaches each facility with hazard ``reach`` a month.

    Withdrawn guidance travels the same way as a failure notice.
    """
    rows = np.flatnonzero(active_rows)
    c = country[rows]
    scale = reach[c][:, None].astype(np.float32)
    story = guidance[c].astype(np.float32) * scale
    failure = withdrawn[c].astype(np.float32) * scale
    fid = fidelity[c] if fidelity.ndim == 2 else fidelity[c][:, None]
    kept = story * fid.astype(np.float32)
    return Exposure(Source.GUIDANCE, rows, kept, story - kept, failure)
