"""Channels: how news of practices and lessons reaches facilities.

Each function computes, for one channel and one month, an :class:`Exposure`: the
facilities reached (``rows``) and, per practice, the intensity of what they heard:
successes that came with their how-to story, successes without it, and failures.
Nothing here loops over facilities: every channel is a handful of array operations
(a sparse product for network ties, group sums for sessions and groups).

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

from sim.sampling import bernoulli_positions
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
        heard: Successes in use, with or without their story (N x K).
        story: The part of ``heard`` that comes with the how-to story (N x K).
        failure: Failures found by the facility's own trials (N x K).
    """

    heard: np.ndarray
    story: np.ndarray
    failure: np.ndarray

    @cached_property
    def any(self) -> np.ndarray:
        """Facilities that have something to tell (computed once; offers are not changed)."""
        told = _rows_any(self.heard)
        told |= _rows_any(self.failure)
        return told


def _rows_any(matrix: np.ndarray) -> np.ndarray:
    """Rows of a 2-D array with at least one nonzero entry."""
    nonzero = matrix != 0
    if nonzero.ndim == 2 and nonzero.flags.c_contiguous and nonzero.shape[1] % 8 == 0:
        words = nonzero.view(np.uint64)  # eight cells per word
        told = words[:, 0] != 0
        for column in range(1, words.shape[1]):
            told |= words[:, column] != 0
        return told
    return nonzero.any(axis=1)


@dataclass
class Exposure:
    """What the facilities in ``rows`` heard through one channel this month.

    ``heard`` is the intensity of successes heard (with or without story), ``story`` the
    part of it that arrived with its story, ``failure`` that of failures.
    """

    source: Source
    rows: np.ndarray
    heard: np.ndarray
    story: np.ndarray
    failure: np.ndarray

    @property
    def empty(self) -> bool:
        """Whether nobody was reached."""
        return self.rows.size == 0


def _with_fidelity(
    source: Source,
    rows: np.ndarray,
    heard: np.ndarray,
    story: np.ndarray,
    failure: np.ndarray,
    fidelity: np.ndarray | float,
) -> Exposure:
    """Apply story fidelity: only that share of ``story`` arrives with its story.

    ``story`` must be an array of the caller's own: it is scaled in place when it can be.
    """
    fid = np.asarray(fidelity, dtype=np.float32)
    if fid.ndim == 1:
        fid = fid[:, None]
    if story.dtype == np.float32 and story.flags.writeable:
        story *= fid
    else:
        story = story * fid
    return Exposure(source, rows, heard, story, failure)


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
    chance = contact_probability[active_rows]
    highest = float(chance.max()) if chance.size else 0.0
    # Entries drawn with the highest chance, then kept with chance / highest (thinning).
    entries = bernoulli_positions(ties.nnz, highest, rng)
    if not (active_rows.all() and (chance == highest).all()):
        receiver = _entry_rows(ties).take(entries)
        keep = rng.random(entries.size) * highest < contact_probability[receiver]
        keep &= active_rows[receiver]
        entries = entries[keep]
    # the matrix of the ties used this month (the same entries, in the same order)
    indices = ties.indices.take(entries)
    per_row = np.bincount(_entry_rows(ties).take(entries), minlength=n)
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    active = sp.csr_matrix(
        (np.ones(indices.size, dtype=np.float32), indices, indptr), shape=ties.shape
    )
    spoke = np.zeros(n, dtype=bool)
    spoke[active.indices] = True
    rows = np.flatnonzero(active_rows)
    sub = active if rows.size == n else active[rows]
    heard = np.asarray(sub @ offers.heard)
    story = np.asarray(sub @ offers.story)
    failure = np.asarray(sub @ offers.failure)
    return _with_fidelity(Source.PEER_NETWORK, rows, heard, story, failure, fidelity[rows]), spoke


_ENTRY_ROWS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _entry_rows(ties: sp.csr_matrix) -> np.ndarray:
    """The row of each stored entry of ``ties`` (kept while the matrix is in use)."""
    cached = _ENTRY_ROWS.get(id(ties))
    if cached is None or cached[0] is not ties.indptr:
        _ENTRY_ROWS.clear()  # one network at a time
        rows = np.repeat(np.arange(ties.shape[0]), np.diff(ties.indptr))
        cached = _ENTRY_ROWS[id(ties)] = (ties.indptr, rows)
    return cached[1]


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
        for matrix in (offers.heard, offers.story, offers.failure)
    ]
    rows = np.flatnonzero(active_rows)
    country = facility_country[rows]
    scale = rate[country][:, None].astype(np.float32)
    heard, story, failure = (share[country] * scale for share in shares)
    return _with_fidelity(Source.PEER_NETWORK, rows, heard, story, failure, fidelity[rows])


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
    """
    rows = np.flatnonzero(members)
    if rows.size == 0:
        k = offers.story.shape[1]
        empty = np.zeros((0, k), dtype=np.float32)
        return Exposure(source, rows, empty, empty, empty)
    d = district[rows]
    counts = np.bincount(d, minlength=n_districts)
    size = counts.astype(np.float32)
    in_order = bool((d[1:] >= d[:-1]).all())  # facilities numbered district by district
    # Group sums straight from the full offers: the incidence has a column per facility.
    if in_order:
        incidence = sp.csr_matrix(
            (np.ones(rows.size, dtype=np.float32), rows, np.concatenate([[0], np.cumsum(counts)])),
            shape=(n_districts, offers.story.shape[0]),
        )
    else:
        incidence = sp.csr_matrix(
            (np.ones(rows.size, dtype=np.float32), (d, rows)),
            shape=(n_districts, offers.story.shape[0]),
        )
    heard, story, failure = (
        np.asarray(incidence @ matrix) / np.maximum(size, 1.0)[:, None]
        for matrix in (offers.heard, offers.story, offers.failure)
    )
    if district_heard is not None:
        heard = heard + district_heard
    if district_story is not None:
        story = story + district_story
    if district_failure is not None:
        failure = failure + district_failure
    scale = intensity[rows][:, None].astype(np.float32)
    fid = fidelity[rows]
    if in_order:
        held = np.flatnonzero(counts)
        head = np.concatenate([[0], np.cumsum(counts[held])[:-1]])
        at = np.repeat(np.arange(held.size), counts[held])
    else:
        held, head, at = np.unique(d, return_index=True, return_inverse=True)
    if np.array_equal(scale, scale[head[at]]) and np.array_equal(fid, fid[head[at]]):
        # Members of a district share their scale and fidelity (they do whenever these
        # are per country): every member of a district hears the same, so compute it
        # once per district and hand each member its district's row.
        group = _with_fidelity(
            source,
            held,
            heard[held] * scale[head],
            story[held] * scale[head],
            failure[held] * scale[head],
            fid[head],
        )
        return Exposure(
            source,
            rows,
            *(np.take(part, at, axis=0) for part in (group.heard, group.story, group.failure)),
        )
    return _with_fidelity(source, rows, heard[d] * scale, story[d] * scale, failure[d] * scale, fid)


def exchange_visit_exposure(
    visitors: np.ndarray, hosts: np.ndarray, offers: Offers, fidelity: np.ndarray
) -> Exposure:
    """Visitors hear what their hosts use and found to fail."""
    order = np.argsort(visitors, kind="stable")
    visitors, hosts = visitors[order], hosts[order]
    rows, start = np.unique(visitors, return_index=True)
    heard, story, failure = (
        np.add.reduceat(part[hosts], start, axis=0) if rows.size else part[:0]
        for part in (offers.heard, offers.story, offers.failure)
    )
    return _with_fidelity(Source.EXCHANGE_VISITS, rows, heard, story, failure, fidelity[rows])


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
    heard = story + (district_plain[d] & ~package[c])
    failure = district_failure[d].astype(np.float32)
    return _with_fidelity(Source.COACHING, rows, heard, story, failure, fidelity[rows])


def guidance_exposure(
    active_rows: np.ndarray,
    country: np.ndarray,
    guidance: np.ndarray,
    withdrawn: np.ndarray,
    reach: np.ndarray,
    fidelity: np.ndarray,
) -> Exposure:
    """Guidance in force reaches each facility with hazard ``reach`` a month.

    Withdrawn guidance travels the same way as a failure notice. Every facility of a
    country hears the same: when all rows are in one country, the arrays are read-only
    views repeating that country's row.
    """
    rows = np.flatnonzero(active_rows)
    c = country[rows]
    # What a facility hears depends on its country only: compute it per country.
    scale = reach[:, None].astype(np.float32)
    heard = guidance.astype(np.float32) * scale
    failure = withdrawn.astype(np.float32) * scale
    fid = fidelity if fidelity.ndim == 2 else fidelity[:, None]
    story = heard * fid.astype(np.float32)
    if c.size and (c == c[0]).all():
        # One country: every row is the same; hand out read-only views of that row.
        shape = (rows.size, guidance.shape[1])
        return Exposure(
            Source.GUIDANCE,
            rows,
            *(np.broadcast_to(part[c[0]], shape) for part in (heard, story, failure)),
        )
    return Exposure(Source.GUIDANCE, rows, heard[c], story[c], failure[c])
