"""Turnover: staff leave; holders take adopted practices and lessons with them.

Monthly attrition ``1 - (1 - annual)^(1/12)``. Each month ``L ~ Binomial(S, tau)`` of a
facility's ``S`` staff leave and are replaced by newcomers; the departures are drawn for
every facility whatever the practices in use, so scenarios with the same staff and
turnover see the same departures. The holders of an adopted (not institutionalised)
practice among the leavers are a hypergeometric draw; when the last holder leaves, the
practice is lost (stage ``LOST``, which behaves as aware) and its story forgotten. A
lesson still held at its facility leaves with its carrier, with chance ``L / S``
(loss cause: turnover).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from sim.model.kernels import ADOPTED, LOST, PRANGE_ONLY, block_bounds, block_stream, one_at_a_time
from sim.model.ledger import Cause, Location
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import P, Section

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["Turnover", "TurnoverParameters", "lose_holders"]


class TurnoverParameters(Section):
    """Staff leaving; holders of a practice not yet institutionalised take it with them."""

    annual: float = P(
        0.21,
        0.0,
        0.9,
        unit="per year",
        description="Annual staff attrition.",
        source="fitted to the pattern trained_staff_retention (Shikuku et al. 2022, 46 % of "
        "trained staff at the same facility after 1-5 years; calibration/patterns.yaml): "
        "posterior median 0.21, 90 % 0.19-0.22; Castro Lopes et al. 2017 report 3-44 % a year",
        plausible=(0.19, 0.22),
    )


class Turnover(Mechanism):
    """Staff departures, practices lost with their last holder, lessons with their carrier."""

    name = "turnover"
    outputs = ("practices_lost_turnover", "staff_departures")
    loss_cause = Cause.TURNOVER
    decisions = ("departures", "holders", "lessons")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        annual = per_country(model, lambda c: c.turnover.annual).astype(float)
        self.monthly = 1.0 - (1.0 - annual) ** (1 / 12)

    def step(self) -> None:
        """Draw the month's leavers; lose what only they held."""
        m = self.model
        w, pop, ledger = m.world, m.population, m.ledger
        if not self.monthly.any():
            return
        monthly = self.monthly[w.facility_country]
        leavers = m.streams.draw("turnover", "departures").binomial(
            w.staff.astype(np.int64), monthly
        )
        self.count("staff_departures", int(leavers.sum()))
        if leavers.any():
            self.count(
                "practices_lost_turnover",
                lose_holders(
                    pop.stage,
                    pop.holders,
                    pop.story,
                    w.staff,
                    leavers,
                    m.streams.kernel_blocks("turnover", "holders", w.n_facilities),
                ),
            )
        leaving_share = leavers / np.maximum(w.staff, 1)
        at_facility = ledger.location == Location.FACILITY
        leaves = (
            m.streams.lesson_uniforms("turnover", "lessons", ledger)
            < leaving_share[ledger.facility]
        )
        ledger.lose(at_facility & leaves, Cause.TURNOVER)


@one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def lose_holders(
    stage: np.ndarray,
    holders: np.ndarray,
    story: np.ndarray,
    staff: np.ndarray,
    leavers: np.ndarray,
    streams: Sequence[np.random.Generator],
) -> int:
    """The month's leavers take with them what they held of adopted practices.

    At facility ``i``, ``leavers[i]`` of its ``staff[i]`` staff leave; for each adopted
    (not institutionalised) practice held by ``H`` of them, the holders among the
    leavers are a hypergeometric draw, made leaver by leaver (each leaver is a holder
    with chance holders left / staff left). A practice whose last holder left is lost
    (stage ``LOST``, story gone). Fixed blocks of rows in parallel, block ``b``
    drawing from ``streams[b]``.

    Returns:
        The number of practices lost.
    """
    n, k = stage.shape
    blocks = len(streams)
    bounds = block_bounds(n, blocks)
    lost = np.zeros(blocks, dtype=np.int64)
    for b in prange(blocks):
        rng = block_stream(streams, b)
        for i in range(bounds[b], bounds[b + 1]):
            leaving = leavers[i]
            if leaving == 0:
                continue
            total = staff[i]
            for c in range(k):
                if stage[i, c] != ADOPTED:
                    continue
                held = np.int64(holders[i, c])
                remaining = total
                for _ in range(leaving):
                    if rng.random() * remaining < held:
                        held -= 1
                    remaining -= 1
                holders[i, c] = held
                if held == 0:
                    stage[i, c] = LOST
                    story[i, c] = False
                    lost[b] += 1
    return int(lost.sum())
