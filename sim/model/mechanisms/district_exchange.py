"""District exchange: district health offices meet peer districts.

Where it runs (a funded investment: off by default) and in its months, each district
meets ``peers`` districts of its country drawn at random (itself excluded), whatever the
routing of lessons to the national body: it learns their successes, their stories with
the exchange's fidelity, and their failures as far as the source's blame culture lets
them through. Where the country has free
routing and no learning centre, districts also pass their pooled lessons to each other
at the exchange (there is no queue to send them to): each passes the district blame
filter (else lost to blame), then passes on under the no-story rule at the exchange's
fidelity, and the national body adds their data to its evidence without queueing them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from sim.model.ledger import Cause, LessonLedger, Location, Processed, take
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import Channel, P
from sim.model.rules import hidden_by_blame, lost_for_want_of_story, telling_chances
from sim.model.world import pick_within

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem
    from sim.model.streams import Streams

__all__ = ["DistrictExchange", "DistrictExchangeParameters", "pass_between_districts"]


class DistrictExchangeParameters(Channel):
    """District health offices meet peer districts (horizontal between districts)."""

    enabled: bool = Field(
        False, description="Whether district offices meet peer districts (an investment)."
    )
    interval_months: int = P(6, 1, 120, unit="months", description="Months between meetings.")
    fidelity: float = P(
        0.6, 0.0, 1.0, description="Chance a story survives the meeting.", plausible=(0.4, 0.8)
    )
    peers: int = P(2, 0, 100, unit="districts", description="Peer districts met per meeting.")


class DistrictExchange(Mechanism):
    """Districts learn from peer districts; without a centre, pooled lessons pass between them."""

    name = "district_exchange"
    outputs = ("district_meetings", "lessons_passed_district_exchange")
    loss_cause = Cause.BLAME
    decisions = ("peers", "stories", "failures", "blame", "story", "hard")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.enabled = per_country(model, lambda c: c.channels.district_exchange.enabled).astype(
            bool
        )
        self.interval = per_country(
            model, lambda c: c.channels.district_exchange.interval_months
        ).astype(np.int64)
        self.peers = per_country(model, lambda c: c.channels.district_exchange.peers)
        self.fidelity = per_country(model, lambda c: c.channels.district_exchange.fidelity)

    def step(self) -> None:
        """Districts meet their peers; pooled lessons pass where there is no centre."""
        self._meet()
        m = self.model
        dc = m.world.district_country
        meeting = m.system.direct_exchange(dc, m.month_context.covered(self.name)) & (
            m.month % self.interval[dc] == 0
        )
        if not meeting.any():
            return
        tell_success, tell_failure = telling_chances(
            m.system.blame_district, m.system.success_factor
        )
        shared, passed = pass_between_districts(
            m.ledger,
            meeting,
            tell_failure,
            tell_success,
            self.fidelity,
            m.catalogue.complexity,
            m.streams,
        )
        m.knowledge.add_evidence(shared)
        self.count("lessons_passed_district_exchange", passed)

    def _meet(self) -> None:
        """Districts meet peer districts and learn what those know."""
        m = self.model
        w, k, system = m.world, m.knowledge, m.system
        active = self.runs_in_districts(self.enabled, self.interval)
        if not active.any():
            return
        rng = m.streams.draw("district_exchange", "peers")
        districts = np.flatnonzero(active)
        peers = self.peers[w.district_country[districts]].astype(int)
        dst = np.repeat(districts, peers)
        country = w.district_country[dst]
        src = pick_within(w.country_first_district[country], w.country_districts[country], rng)
        src_valid = src != dst
        dst, src = dst[src_valid], src[src_valid]
        fid = self.fidelity[w.district_country[dst]][:, None]
        shape = (dst.size, m.catalogue.size)
        story = k.district_story[src] & (
            m.streams.draw("district_exchange", "stories").random(shape) < fid
        )
        _, failure_told = telling_chances(system.blame_district, system.success_factor)
        failure = k.district_failure[src] & (
            m.streams.draw("district_exchange", "failures").random(shape)
            < failure_told[w.district_country[src]][:, None]
        )
        np.logical_or.at(k.district_story, dst, story)
        np.logical_or.at(k.district_success, dst, k.district_success[src])
        np.logical_or.at(k.district_failure, dst, failure)
        self.count("district_meetings", float(dst.size))


def pass_between_districts(
    ledger: LessonLedger,
    meeting: np.ndarray,
    tell_failure: np.ndarray,
    tell_success: np.ndarray,
    fidelity: np.ndarray,
    complexity: np.ndarray,
    streams: Streams,
) -> tuple[Processed, int]:
    """Free routing without a learning centre: districts pass pooled lessons to each other.

    In districts ``meeting`` this month (per district), pooled lessons go straight to
    the peer districts (no national queue): district blame holds some back (lost to
    blame), the rest pass on with the story check of the exchange's ``fidelity`` (per
    country). The national body sees their data as they pass.

    Returns:
        The lessons told (passed on, or lost for want of a story), as processed data for
        the national evidence base, and how many passed on.
    """
    country = ledger.country
    mask = (ledger.location == Location.DISTRICT) & meeting[ledger.district]
    hidden = hidden_by_blame(
        ledger,
        mask,
        tell_failure,
        tell_success,
        streams.lesson_uniforms("district_exchange", "blame", ledger),
    )
    no_story = (
        mask
        & ~hidden
        & lost_for_want_of_story(
            ledger,
            fidelity[country],
            complexity,
            streams.lesson_uniforms("district_exchange", "story", ledger),
            streams.lesson_uniforms("district_exchange", "hard", ledger),
        )
    )
    passed = mask & ~hidden & ~no_story
    processed = take(ledger, mask & ~hidden)
    count = ledger.settle(passed=passed, lost={Cause.BLAME: hidden, Cause.NO_STORY: no_story})
    return processed, count
