"""Single-loop review: facilities re-read their data on practices in use.

If ``loops.single``, each practice in use is reviewed with chance ``loops.review_share *
data_quality`` a month; it is dropped (rejected, the facility knows it fails) if its
local effect plus the trial noise (which shrinks with data quality) is at or below the
success threshold. The practice then counts as found to fail in the country; the drop
records no lesson.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from sim.model.kernels import (
    PRANGE_ONLY,
    REJECTED,
    block_bounds,
    block_stream,
    compact,
    gap_scale,
    in_use,
    next_gap,
    one_at_a_time,
)
from sim.model.mechanisms.base import Mechanism

__all__ = ["SingleLoop", "review_in_use"]


class SingleLoop(Mechanism):
    """Facilities drop practices their own data show do not work."""

    name = "single_loop"
    outputs = ("single_loop_drops",)
    decisions = ("review",)

    def step(self) -> None:
        """Review a share of the practices in use."""
        m = self.model
        loops, w, pop = m.config.loops, m.world, m.population
        if not loops.single or loops.review_share <= 0:
            return
        rates = m.trial_rates
        dropped, _ = review_in_use(
            pop.stage,
            pop.knows_failure,
            pop.holders,
            pop.local_effect,
            loops.review_share * w.data_quality,
            rates.noise * (1.0 - w.data_quality),
            rates.success_threshold,
            m.streams.kernel_blocks("single_loop", "review", w.n_facilities),
            m.work.get("dropped", pop.stage.size, np.int64),
        )
        f, k = np.divmod(dropped, pop.stage.shape[1])
        self.count("single_loop_drops", int(f.size))
        m.knowledge.failure_found[w.facility_country[f], k] = True


@one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def review_in_use(
    stage: np.ndarray,
    knows_failure: np.ndarray,
    holders: np.ndarray,
    local_effect: np.ndarray,
    chance: np.ndarray,
    noise: np.ndarray,
    threshold: np.ndarray,
    streams: Sequence[np.random.Generator],
    out: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Single loop: cells in use are re-read from local data; those that fail are dropped.

    Each cell in use (adopted or institutionalised) of facility ``i`` is reviewed with
    chance ``chance[i]``; it is dropped (stage ``REJECTED``, ``knows_failure``, no
    holders) when ``local_effect + noise[i] * N(0, 1) <= threshold[i]``.

    Reviews are drawn at the highest chance by geometric gaps over the cells in use
    and kept with chance ``chance / highest``; a row whose cells in use all fall
    inside the current gap is passed over whole. The rows are cut into one block per
    stream of ``streams`` (numpy Generators), processed in parallel, each block
    drawing from its own stream and writing into its own stretch of the work array
    ``out`` (N * K entries; block ``b`` from ``bounds[b] * K`` on): the results do not
    depend on the number of threads.

    Returns:
        The flat cells dropped, and the number of cells reviewed.
    """
    n, k = stage.shape
    blocks = len(streams)
    bounds = block_bounds(n, blocks)
    top = chance.max()
    counts = np.zeros((blocks, 2), dtype=np.int64)
    if top <= 0.0:
        return out[:0].copy(), 0
    for b in prange(blocks):
        counts[b] = _review_rows(
            bounds[b], bounds[b + 1], out, stage, knows_failure, holders, local_effect,
            chance, noise, threshold, top, block_stream(streams, b),
        )  # fmt: skip
    m = compact(out, bounds[:-1] * k, counts[:, 0])
    return out[:m].copy(), int(counts[:, 1].sum())


@njit(cache=True, nogil=True)
def _review_rows(
    row_start: int,
    row_end: int,
    out: np.ndarray,
    stage: np.ndarray,
    knows_failure: np.ndarray,
    holders: np.ndarray,
    local_effect: np.ndarray,
    chance: np.ndarray,
    noise: np.ndarray,
    threshold: np.ndarray,
    top: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """:func:`review_in_use` on rows ``row_start..row_end - 1``: (dropped, reviewed)."""
    k = stage.shape[1]
    base = row_start * k
    dropped = 0
    reviewed = 0
    scale = gap_scale(top)
    gap = next_gap(rng, scale)
    for i in range(row_start, row_end):
        used = 0
        for c in range(k):
            used += in_use(stage[i, c])
        if gap >= used:
            gap -= used
            continue
        for c in range(k):
            used = in_use(stage[i, c])
            if gap > 0 or not used:  # the common case, tested without a jump on the stage
                gap -= used
                continue
            gap = next_gap(rng, scale)
            if rng.random() * top >= chance[i]:
                continue
            reviewed += 1
            observed = local_effect[i, c] + noise[i] * rng.standard_normal()
            if observed <= threshold[i]:
                stage[i, c] = REJECTED
                knows_failure[i, c] = True
                holders[i, c] = 0
                out[base + dropped] = i * k + c
                dropped += 1
    return np.array([dropped, reviewed])
