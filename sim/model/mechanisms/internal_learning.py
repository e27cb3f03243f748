"""Internal learning: holders teach colleagues; practices become institutionalised.

If ``channels.internal.enabled``, the non-holders of an adopted practice learn it from
its holders, each with chance ``1 - exp(-spread_rate * QI boost * H / N)`` a month
(``H`` holders of ``N`` staff). Then the practice is institutionalised with monthly
chance ``institutionalisation_rate * (1 + QI team + leadership + documentation) / 2 * H /
N``: all staff then hold it and turnover no longer touches it. With the internal channel
off, neither happens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange
from pydantic import Field

from sim.model.kernels import (
    ADOPTED,
    INSTITUTIONALISED,
    PRANGE_ONLY,
    block_bounds,
    block_stream,
    gap_scale,
    next_gap,
    one_at_a_time,
)
from sim.model.mechanisms.base import Mechanism
from sim.model.parameters import P, Section

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["InternalLearning", "InternalParameters", "teach_and_institutionalise"]


class InternalParameters(Section):
    """Staff-to-staff learning inside a facility; institutionalisation."""

    enabled: bool = Field(
        True,
        description="Staff teach each other a practice in use; when off, practices are "
        "not institutionalised either.",
    )
    spread_rate: float = P(
        0.15,
        0.0,
        1.0,
        unit="per month",
        description="Rate at which holders teach colleagues.",
        plausible=(0.08, 0.3),
    )
    qi_team_multiplier: float = P(
        2.0,
        1.0,
        10.0,
        description="Speed-up of internal spread where a QI team meets.",
        plausible=(1.5, 3.0),
    )
    institutionalisation_rate: float = P(
        0.03,
        0.0,
        1.0,
        unit="per month",
        description="Base monthly chance a fully held practice becomes institutionalised.",
        plausible=(0.015, 0.06),
    )


class InternalLearning(Mechanism):
    """Staff teach each other the practices in use; some become how the facility works."""

    name = "internal_learning"
    outputs = ("institutionalised", "qi_team_months")
    decisions = ("teaching",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        w = model.world
        enabled = self.per_facility(lambda c: c.channels.internal.enabled).astype(bool)
        self.any_enabled = bool(enabled.any())
        boost = np.where(
            w.qi_team, self.per_facility(lambda c: c.channels.internal.qi_team_multiplier), 1.0
        )
        self.teach_rate = self.per_facility(lambda c: c.channels.internal.spread_rate) * boost
        self.teach_rate = self.teach_rate * enabled
        self.base = (
            self.per_facility(lambda c: c.channels.internal.institutionalisation_rate) * enabled
        )

    def step(self) -> None:
        """Teach and institutionalise, facility by facility, in one compiled pass."""
        m = self.model
        w, pop = m.world, m.population
        self.count("qi_team_months", float(np.count_nonzero(w.qi_team)))
        if not self.any_enabled:
            return
        support = (1.0 + w.qi_team + w.leadership + w.documentation) / 2.0
        self.count(
            "institutionalised",
            int(
                teach_and_institutionalise(
                    pop.stage,
                    pop.holders,
                    w.staff,
                    self.teach_rate,
                    self.base * support,
                    m.streams.kernel_blocks("internal_learning", "teaching", w.n_facilities),
                )
            ),
        )


@njit(cache=True, nogil=True, inline="always")  # a call would cost more
def _learners(rng: np.random.Generator, candidates: int, p: float) -> int:
    """``Binomial(candidates, p)``: a Bernoulli draw each when few, numba's binomial when many."""
    if candidates > 12:
        return rng.binomial(candidates, p)
    learners = 0
    for _ in range(candidates):
        learners += rng.random() < p
    return learners


@one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def teach_and_institutionalise(
    stage: np.ndarray,
    holders: np.ndarray,
    staff: np.ndarray,
    teach_rate: np.ndarray,
    institution_rate: np.ndarray,
    streams: Sequence[np.random.Generator],
) -> int:
    """Internal learning in every adopted cell: holders teach, practices settle in.

    Per adopted (not institutionalised) cell of facility ``i`` with ``H`` of ``S``
    staff holding the practice:

    * each of the ``S - H`` non-holders learns with chance
      ``1 - exp(-teach_rate[i] * H / S)`` (a Bernoulli draw each);
    * then the practice is institutionalised with chance
      ``institution_rate[i] * H / S`` (``H`` after teaching): stage
      ``INSTITUTIONALISED``, held by all staff.

    Institutionalisation is rare: candidates are drawn at the highest chance by
    geometric gaps over the adopted cells and kept with chance ``rate / highest``.
    The rows are cut into one block per stream of ``streams`` (numpy Generators),
    processed in parallel, each block drawing from its own stream: the results do
    not depend on the number of threads.

    Returns:
        The number of practices institutionalised.
    """
    n = stage.shape[0]
    blocks = len(streams)
    bounds = block_bounds(n, blocks)
    top = institution_rate.max()
    done = np.zeros(blocks, dtype=np.int64)
    for b in prange(blocks):
        done[b] = _teach_rows(
            bounds[b], bounds[b + 1], stage, holders, staff, teach_rate, institution_rate,
            top, block_stream(streams, b),
        )  # fmt: skip
    return int(done.sum())


@njit(cache=True, nogil=True)
def _teach_rows(
    row_start: int,
    row_end: int,
    stage: np.ndarray,
    holders: np.ndarray,
    staff: np.ndarray,
    teach_rate: np.ndarray,
    institution_rate: np.ndarray,
    top: float,
    rng: np.random.Generator,
) -> int:
    """:func:`teach_and_institutionalise` on rows ``row_start..row_end - 1``."""
    k = stage.shape[1]
    scale = gap_scale(top) if top > 0.0 else 0.0
    gap = next_gap(rng, scale) if top > 0.0 else -1
    done = 0
    for i in range(row_start, row_end):
        total = staff[i]
        rate = teach_rate[i]
        for c in range(k):
            if stage[i, c] != ADOPTED:
                continue
            held = np.int64(holders[i, c])
            if rate > 0.0 and held < total:
                p = -math.expm1(-rate * held / total)
                held += _learners(rng, total - held, p)
                holders[i, c] = held
            if gap < 0:
                continue  # nothing can be institutionalised
            if gap > 0:
                gap -= 1
                continue
            if rng.random() * top < institution_rate[i] * held / total:
                stage[i, c] = INSTITUTIONALISED
                holders[i, c] = total
                done += 1
            gap = next_gap(rng, scale)
    return done
