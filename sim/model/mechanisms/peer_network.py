"""Peer network: informal facility-to-facility contact along ties, or full mixing.

With ``mixing: network``, every directed side of a tie is used with the country's
``contact_probability`` a month (ties never cross countries); a facility hears the sum of
what its used ties' ends offer, at the peer fidelity. Only ties used by a facility with
something to tell carry news, so only those are drawn (:func:`told_along_ties`, by
geometric gaps); how many of the other ties were used is one binomial per country.
With ``mixing: full``, every facility hears ``full_mixing_rate`` times the share of its
country's facilities offering each kind of news: the imitation term of the Bass model.
Facilities that told something spoke (their lessons pass on, :mod:`.passing_on`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from pydantic import Field

from sim.model.exposure import Exposure, Offers
from sim.model.kernels import (
    PRANGE_ONLY,
    REJECTED,
    gap_scale,
    in_use,
    next_gap,
    one_at_a_time,
)
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import Channel, P
from sim.model.state import Source

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = [
    "PeerNetwork",
    "PeerNetworkParameters",
    "full_mixing_exposure",
    "peer_network_exposure",
    "told_along_ties",
]


class PeerNetworkParameters(Channel):
    """Informal facility-to-facility contact along network ties (horizontal)."""

    fidelity: float = P(
        0.5, 0.0, 1.0, description="Chance a story survives a peer contact.", plausible=(0.3, 0.7)
    )
    contact_probability: float = P(
        0.1,
        0.0,
        1.0,
        unit="per tie per month",
        description="Chance a tie is used in a month.",
        plausible=(0.044, 0.28),
        source="assumption; the published patterns leave it wide "
        "(pattern fit, calibration/patterns.yaml: 90 % 0.044-0.28)",
    )
    mixing: Literal["network", "full"] = Field(
        "network",
        description="'network' uses the ties; 'full' mixes every facility of a country.",
    )
    full_mixing_rate: float = P(
        0.3,
        0.0,
        10.0,
        unit="per month",
        description="With full mixing: contact rate with the users of a practice (Bass q).",
        plausible=(0.1, 0.6),
    )


class PeerNetwork(Mechanism):
    """Facilities tell their peers what they use and what failed for them."""

    name = "peer_network"
    outputs = ("peer_contacts",)
    decisions = ("contacts",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.enabled = per_country(model, lambda c: c.channels.peer_network.enabled).astype(bool)
        self.interval = per_country(
            model, lambda c: c.channels.peer_network.interval_months
        ).astype(np.int64)
        self.full = per_country(model, lambda c: c.channels.peer_network.mixing) == "full"
        self.rate = per_country(model, lambda c: c.channels.peer_network.full_mixing_rate).astype(
            float
        )
        self.contact = per_country(model, lambda c: c.channels.peer_network.contact_probability)
        self.fidelity = self.per_facility(lambda c: c.channels.peer_network.fidelity)

    def step(self) -> None:
        """Exposures along used ties (or by full mixing) in the countries where it runs."""
        m = self.model
        w, month = m.world, m.month_context
        active = self.runs(self.enabled, self.interval)
        if not active.any():
            return
        offers = month.offers
        if (active & self.full).any():
            rows = w.in_countries(active & self.full)
            month.exposures.append(
                full_mixing_exposure(
                    offers, w.facility_country, w.n_countries, self.rate, self.fidelity, rows
                )
            )
            month.speak(rows & offers.any, self.fidelity)
        if (active & ~self.full).any():
            exposure, who, used = peer_network_exposure(
                w.ties,
                w.ties_per_country,
                offers,
                np.where(active & ~self.full, self.contact, 0.0),
                self.fidelity,
                m.streams.draw("peer_network", "contacts"),
            )
            month.exposures.append(exposure)
            month.speak(who, self.fidelity)
            self.count("peer_contacts", float(used))


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
    carry news, so only those are drawn (:func:`told_along_ties`); how
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
    rows, heard, story, failure, spoke, used, told_ties = told_along_ties(
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


@one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def told_along_ties(
    indptr: np.ndarray,
    indices: np.ndarray,
    tellers: np.ndarray,
    chance: np.ndarray,
    stage: np.ndarray,
    story: np.ndarray,
    country: np.ndarray,
    tell_success: np.ndarray,
    tell_failure: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """What facilities heard along the ties used this month by those with news.

    ``indptr`` and ``indices`` are a symmetric CSR adjacency whose ties stay inside a
    country; ``tellers`` are the facilities with something to tell, sorted
    (:func:`has_news`). Each tie of teller ``j`` is used with chance
    ``chance[country[j]]``: the ties used are drawn by geometric gaps over the
    tellers' ties laid end to end, about ``chance`` draws per tie. Ties of facilities
    with nothing to tell carry nothing and are not drawn here.

    Returns the receivers that heard something (sorted, distinct); their sums of the
    tellers' offers (successes, with story, failures; see :func:`offer_sums`), each
    receiver's tellers added in teller order; a mask of the tellers that spoke (used
    a tie); the number of ties used; and, per country, the number of the tellers'
    ties (to count the ties used by the others without drawing each).
    """
    n, k = stage.shape
    n_countries = chance.size
    told_ties = np.zeros(n_countries, dtype=np.int64)
    expected = 0.0
    for t in range(tellers.size):
        j = tellers[t]
        d = indptr[j + 1] - indptr[j]
        told_ties[country[j]] += d
        expected += d * chance[country[j]]
    capacity = int(expected + 6.0 * math.sqrt(expected) + 16.0)
    receiver = np.empty(capacity, dtype=np.int64)
    sender = np.empty(capacity, dtype=np.int64)
    spoke = np.zeros(n, dtype=np.bool_)
    m = 0
    p_now = -1.0
    scale = 0.0
    gap = 0
    for t in range(tellers.size):
        j = tellers[t]
        p = chance[country[j]]
        if p <= 0.0:
            continue
        if p != p_now:  # a new chance: a fresh gap (gaps have no memory)
            p_now = p
            scale = gap_scale(p)
            gap = next_gap(rng, scale)
        first = indptr[j]
        d = indptr[j + 1] - first
        while gap < d:
            if m == receiver.size:  # rarely: more ties used than room made for
                receiver = np.concatenate((receiver, np.empty(receiver.size, dtype=np.int64)))
                sender = np.concatenate((sender, np.empty(sender.size, dtype=np.int64)))
            receiver[m] = indices[first + gap]
            sender[m] = j
            m += 1
            spoke[j] = True
            gap += 1 + next_gap(rng, scale)
        gap -= d
    # group the ties used by receiver: receivers ascending, each one's tellers in order
    order = sender[:m].copy()
    if m * max(1, int(math.log2(m + 1))) < n:  # few: a stable sort of the ties used
        by_receiver = np.argsort(receiver[:m], kind="mergesort")
        receivers = np.unique(receiver[:m])
        start = np.empty(receivers.size + 1, dtype=np.int64)
        g = -1
        for q in range(m):
            order[q] = sender[by_receiver[q]]
            if g < 0 or receiver[by_receiver[q]] != receivers[g]:
                g += 1
                start[g] = q
        start[receivers.size] = m
    else:  # many: a counting sort over all facilities
        count = np.zeros(n + 1, dtype=np.int64)
        for q in range(m):
            count[receiver[q] + 1] += 1
        n_receivers = 0
        for i in range(n):
            n_receivers += count[i + 1] > 0
            count[i + 1] += count[i]
        fill = count[:-1].copy()
        for q in range(m):
            order[fill[receiver[q]]] = sender[q]
            fill[receiver[q]] += 1
        receivers = np.empty(n_receivers, dtype=np.int64)
        start = np.empty(n_receivers + 1, dtype=np.int64)
        g = 0
        for i in range(n):
            if count[i + 1] > count[i]:
                receivers[g] = i
                start[g] = count[i]
                g += 1
        start[n_receivers] = m
    n_receivers = receivers.size
    heard = np.zeros((n_receivers, k), dtype=np.float32)
    with_story = np.zeros((n_receivers, k), dtype=np.float32)
    failure = np.zeros((n_receivers, k), dtype=np.float32)
    for g in prange(n_receivers):  # each receiver's sums are its own
        for q in range(start[g], start[g + 1]):
            j = order[q]
            success = np.float32(tell_success[country[j]])
            failed = np.float32(tell_failure[country[j]])
            for c in range(k):
                s = stage[j, c]
                use = np.float32(in_use(s))
                heard[g, c] += success * use
                with_story[g, c] += success * use * np.float32(story[j, c])
                failure[g, c] += failed * np.float32(s == REJECTED)
    return receivers, heard, with_story, failure, spoke, m, told_ties
