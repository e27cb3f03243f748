"""Receiving news: the month's exposures from every channel meet every cell.

Intensities from all channels are summed per facility and practice (inside the kernel,
facility by facility): successes heard, the part with story, failures. Facilities weigh
what they have heard: failure and success reports accumulate per cell, a cell that hears
a failure knows of it, and the hazard of trying a practice is cut by ``failure_heeded``
times the failures' share of all reports heard. One uniform per cell a month, whatever
the channels, decides: a trial starts when the exponential waiting time it gives is
below the drive ``uptake_with_story * story + uptake_without_story * (heard - story)``
(so cut); otherwise an unknown cell becomes aware when it is below ``heard``. The first
news of a practice is credited to the channel that brought most of it. A trial of a
practice known in the country to fail is duplication waste.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from sim.model.exposure import Exposure
from sim.model.kernels import (
    AWARE,
    PRANGE_ONLY,
    ROW_BLOCKS,
    UNKNOWN,
    block_bounds,
    compact,
    is_open,
    one_at_a_time,
    rows_in_order,
)
from sim.model.mechanisms.base import Mechanism
from sim.model.sampling import uniform_blocks
from sim.model.state import Population, WorkArrays

if TYPE_CHECKING:
    from sim.model.mechanisms.trials import TrialRates
    from sim.model.streams import Streams

__all__ = ["Receiving", "receive", "receive_cells"]


class Receiving(Mechanism):
    """Facilities react to everything they heard this month, all channels together."""

    name = "receiving"
    outputs = ("trials_started", "duplication_waste")
    decisions = ("uniforms", "story")

    def step(self) -> None:
        """Apply the month's exposures."""
        m = self.model
        w = m.world
        counts = receive(
            m.population,
            m.month_context.exposures,
            m.trial_rates,
            w.facility_country,
            m.knowledge.known_to_fail(m.catalogue.ineffective),
            m.streams,
            m.work,
        )
        self.count("trials_started", counts["trials"])
        self.count("duplication_waste", counts["duplication"])


def receive(
    pop: Population,
    exposures: list[Exposure],
    rates: TrialRates,
    facility_country: np.ndarray,
    known_to_fail: np.ndarray,
    streams: Streams,
    work: WorkArrays | None = None,
) -> dict[str, int]:
    """Apply the month's exposures, from every channel at once, to every facility.

    Intensities add up across channels. Facilities weigh what they have heard: the
    reports of failure and of success accumulate, and the hazard of trying a practice
    is cut by ``failure_heeded`` times the failures' share of those reports (a
    practice that failed in one place may work in another, and many reports of
    success outweigh one of failure). A success heard makes the facility
    aware with hazard ``heard`` (successes, with or without story), and starts a trial
    with hazard ``uptake_with_story * story + uptake_without_story * (heard - story)``.
    The first news of a practice is credited to the channel that contributed most to
    it. A trial of a practice in ``known_to_fail`` (per country) is counted as
    duplication waste. The per-cell rules are :func:`receive_cells`.

    One uniform number is drawn per facility and practice each month, whatever the
    channels, so scenarios that differ in their channels share random numbers: block
    ``b`` of facilities from the decision's block stream ``b``
    (:func:`sim.model.sampling.uniform_blocks`). Whether each trial started carries its
    story is the decision ``story``, one number per cell. The uniforms and the kernel's
    outputs are arrays of ``work``, kept between months.

    Returns:
        Counts: ``trials`` started, ``aware`` newly aware, ``failures_heard``,
        ``duplication`` (duplicated trials).
    """
    n, k = pop.stage.shape
    work = WorkArrays() if work is None else work
    uniform = work.get("uniform", n * k, np.float32).reshape(n, k)
    uniform_blocks(uniform, streams.blocks("receiving", "uniforms", n))
    rows, table_row, scale, fidelity, source, tables = _stack(exposures, k, work)
    reached, start, order = rows_in_order(rows, n)
    trials = work.get("trials", n * k, np.int64)
    story_share = work.get("story_share", n * k, np.float64)
    news = work.get("news", n * k, np.int64)
    news_source = work.get("news_source", n * k, np.int8)
    n_trials, n_news, n_aware, n_warned = receive_cells(
        pop.stage,
        pop.knows_failure,
        pop.failure_reports,
        pop.success_reports,
        uniform,
        rates.uptake_with_story,
        rates.uptake_without_story,
        rates.failure_heeded,
        reached,
        start,
        order,
        table_row,
        scale,
        fidelity,
        source,
        tables[0],
        tables[1],
        tables[2],
        trials,
        story_share,
        news,
        news_source,
    )
    counts = {"trials": n_trials, "aware": n_aware, "failures_heard": n_warned, "duplication": 0}
    pop.first_source.reshape(-1)[news[:n_news]] = news_source[:n_news]
    ti, tk = np.divmod(trials[:n_trials], k)
    if ti.size:
        cells = trials[:n_trials]
        started_with_story = (
            streams.keyed_uniforms("receiving", "story", cells) < story_share[:n_trials]
        )
        pop.start_trials(ti, tk, started_with_story, rates.months[ti])
        counts["duplication"] = int(np.count_nonzero(known_to_fail[facility_country[ti], tk]))
    return counts


Tables = tuple[np.ndarray, np.ndarray, np.ndarray]


def _stack(
    exposures: list[Exposure], k: int, work: WorkArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, Tables]:
    """The channels' exposures as one list of entries over one set of stacked tables.

    Returns, per entry: facility, row of the stacked tables, scale, fidelity and
    source; then the stacked heard, story and failure tables (written into arrays of
    ``work``).
    """
    reached = [e for e in exposures if not e.empty]
    if not reached:
        empty = np.zeros(0, dtype=np.int64)
        no_table = np.zeros((1, k), dtype=np.float32)
        return (
            empty,
            empty,
            np.zeros(0, np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int8),
            (no_table, no_table, no_table),
        )
    if len(reached) == 1:
        e = reached[0]
        source = np.full(e.rows.size, int(e.source), np.int8)
        return e.rows, e.at, e.scale, e.fidelity, source, (e.heard, e.story, e.failure)
    offsets = np.cumsum([0] + [e.heard.shape[0] for e in reached[:-1]])
    return (
        np.concatenate([e.rows for e in reached]),
        np.concatenate([e.at + offset for e, offset in zip(reached, offsets, strict=True)]),
        np.concatenate([e.scale for e in reached]),
        np.concatenate([e.fidelity for e in reached]),
        np.concatenate([np.full(e.rows.size, int(e.source), np.int8) for e in reached]),
        (
            _stacked(reached, "heard", work),
            _stacked(reached, "story", work),
            _stacked(reached, "failure", work),
        ),
    )


def _stacked(exposures: list[Exposure], table: str, work: WorkArrays) -> np.ndarray:
    """The exposures' ``table`` (heard, story or failure) one under the other, into ``work``."""
    parts = [getattr(e, table) for e in exposures]
    rows, k = sum(p.shape[0] for p in parts), parts[0].shape[1]
    out = work.get(f"stacked_{table}", rows * k, np.float32).reshape(rows, k)
    return np.concatenate(parts, out=out)


@one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def receive_cells(
    stage: np.ndarray,
    knows_failure: np.ndarray,
    failure_reports: np.ndarray,
    success_reports: np.ndarray,
    uniform: np.ndarray,
    uptake_with_story: np.ndarray,
    uptake_without_story: np.ndarray,
    failure_heeded: np.ndarray,
    reached: np.ndarray,
    start: np.ndarray,
    order: np.ndarray,
    entry_table_row: np.ndarray,
    entry_scale: np.ndarray,
    entry_fidelity: np.ndarray,
    entry_source: np.ndarray,
    heard_table: np.ndarray,
    story_table: np.ndarray,
    failure_table: np.ndarray,
    trials: np.ndarray,
    trial_story_share: np.ndarray,
    news: np.ndarray,
    news_source: np.ndarray,
) -> tuple[int, int, int, int]:
    """The month's exposures meet every cell: reports, warnings, awareness and trial starts.

    Facility ``i = reached[g]`` heard the entries ``order[start[g]:start[g + 1]]``
    (:func:`rows_in_order`); facilities not reached heard nothing. Entry ``e``
    is row ``entry_table_row[e]`` of the channel tables, at strength
    ``entry_scale[e]``, its story part surviving with ``entry_fidelity[e]``. Summed,
    they give per practice the successes heard ``h``, the part with story ``st``
    and the failures ``f``. Then, per cell (facility ``i``, practice ``c``) with
    ``u`` its uniform number:

    * failures heard add to ``failure_reports``; an open cell (unknown, aware or lost)
      that did not know of a failure now does (``knows_failure``);
    * successes heard add to ``success_reports``;
    * an open cell starts a trial when ``u < 1 - exp(-d)``, where the drive
      ``d = b * h + (a - b) * st`` (``a``, ``b``: uptake with and without story) is
      cut by ``failure_heeded`` times the failures' share of all reports;
    * otherwise an unknown cell becomes aware when ``u < 1 - exp(-h)``.

    ``u < 1 - exp(-x)`` is ``-log(1 - u) < x``: an exponential waiting time against a
    hazard; since ``1 - exp(-x) <= x``, a cell with ``u >= x`` is passed over without
    the logarithm. Trials go to ``trials`` (flat cell index) with the share of their drive
    that came with a story (``trial_story_share``); cells that hear of a practice for
    the first time (a trial from unknown, or aware) go to ``news`` with the source of
    the entry that brought the most successes (``news_source``). Aware cells are set
    to ``AWARE`` here; trials are left to the caller.

    The rows reached are cut into blocks processed in parallel (each writes its own
    stretch of the output arrays, N * K entries each, compacted in block order
    afterwards): outputs list cells in row order whatever the blocks and threads.

    Returns:
        Numbers of trials, news, newly aware cells and failures newly heard.
    """
    k = stage.shape[1]
    blocks = min(ROW_BLOCKS, reached.size)
    bounds = block_bounds(reached.size, blocks) if blocks else np.zeros(1, dtype=np.int64)
    counts = np.zeros((blocks, 4), dtype=np.int64)
    for b in prange(blocks):
        counts[b] = _receive_rows(
            bounds[b],
            bounds[b + 1],
            bounds[b] * k,
            reached,
            stage,
            knows_failure,
            failure_reports,
            success_reports,
            uniform,
            uptake_with_story,
            uptake_without_story,
            failure_heeded,
            start,
            order,
            entry_table_row,
            entry_scale,
            entry_fidelity,
            entry_source,
            heard_table,
            story_table,
            failure_table,
            trials,
            trial_story_share,
            news,
            news_source,
        )
    starts = bounds[:-1] * k
    n_trials = compact(trials, starts, counts[:, 0])
    compact(trial_story_share, starts, counts[:, 0])
    n_news = compact(news, starts, counts[:, 1])
    compact(news_source, starts, counts[:, 1])
    return n_trials, n_news, int(counts[:, 2].sum()), int(counts[:, 3].sum())


@njit(cache=True, nogil=True)
def _receive_rows(
    row_start: int,
    row_end: int,
    base: int,
    reached: np.ndarray,
    stage: np.ndarray,
    knows_failure: np.ndarray,
    failure_reports: np.ndarray,
    success_reports: np.ndarray,
    uniform: np.ndarray,
    uptake_with_story: np.ndarray,
    uptake_without_story: np.ndarray,
    failure_heeded: np.ndarray,
    start: np.ndarray,
    order: np.ndarray,
    entry_table_row: np.ndarray,
    entry_scale: np.ndarray,
    entry_fidelity: np.ndarray,
    entry_source: np.ndarray,
    heard_table: np.ndarray,
    story_table: np.ndarray,
    failure_table: np.ndarray,
    trials: np.ndarray,
    trial_story_share: np.ndarray,
    news: np.ndarray,
    news_source: np.ndarray,
) -> tuple[int, int, int, int]:
    """:func:`receive_cells` on rows ``reached[row_start:row_end]``, outputs from ``base`` on."""
    k = stage.shape[1]
    h = np.zeros(k)
    st = np.zeros(k)
    f = np.zeros(k)
    n_trials = 0
    n_news = 0
    n_aware = 0
    n_warned = 0
    for g in range(row_start, row_end):
        i = reached[g]
        first, last = start[g], start[g + 1]
        for c in range(k):  # loops, not slices: a slice would count references
            h[c] = 0.0
            st[c] = 0.0
            f[c] = 0.0
        for p in range(first, last):
            e = order[p]
            t = entry_table_row[e]
            w = np.float64(entry_scale[e])
            ws = w * entry_fidelity[e]
            for c in range(k):
                h[c] += w * heard_table[t, c]
                st[c] += ws * story_table[t, c]
                f[c] += w * failure_table[t, c]
        a = np.float64(uptake_with_story[i])
        b = np.float64(uptake_without_story[i])
        heed = failure_heeded[i]
        for c in range(k):
            if h[c] == 0.0 and f[c] == 0.0:
                continue
            s = stage[i, c]
            open_cell = is_open(s)
            if f[c] != 0.0:
                failure_reports[i, c] += f[c]
                if open_cell and not knows_failure[i, c]:
                    knows_failure[i, c] = True
                    n_warned += 1
            if h[c] == 0.0:
                continue
            success_reports[i, c] += h[c]
            if not open_cell:
                continue
            u = uniform[i, c]
            story_drive = a * st[c]
            drive = b * (h[c] - st[c]) + story_drive
            # 1 - exp(-x) <= x: a cell with u >= x cannot pass, and needs no exp
            if u >= max(drive, h[c]):
                continue
            wait = -math.log1p(-u)  # exponential: the event happens if its hazard exceeds it
            if wait < drive:
                reported = failure_reports[i, c] + success_reports[i, c]
                share = failure_reports[i, c] / reported if reported > 0.0 else 0.0
                if wait < drive * (1.0 - heed * share):
                    trials[base + n_trials] = i * k + c
                    trial_story_share[base + n_trials] = story_drive / drive
                    n_trials += 1
                    if s == UNKNOWN:
                        news[base + n_news] = i * k + c
                        news_source[base + n_news] = _loudest(
                            order, first, last, entry_table_row, entry_scale, entry_source,
                            heard_table, c,
                        )  # fmt: skip
                        n_news += 1
                    continue
            if s == UNKNOWN and wait < h[c]:
                stage[i, c] = AWARE
                n_aware += 1
                news[base + n_news] = i * k + c
                news_source[base + n_news] = _loudest(
                    order, first, last, entry_table_row, entry_scale, entry_source, heard_table, c
                )
                n_news += 1
    return n_trials, n_news, n_aware, n_warned


@njit(cache=True, nogil=True, inline="always")  # a call would cost more
def _loudest(
    order: np.ndarray,
    first: int,
    last: int,
    entry_table_row: np.ndarray,
    entry_scale: np.ndarray,
    entry_source: np.ndarray,
    heard_table: np.ndarray,
    c: int,
) -> np.int8:
    """The source of the entry of ``order[first:last]`` bringing most successes of ``c``.

    The first wins a tie. No slice is made: a slice would count references to
    ``order``, which threads would contend for.
    """
    best = -1.0
    source = np.int8(0)
    for p in range(first, last):
        e = order[p]
        x = np.float64(entry_scale[e]) * heard_table[entry_table_row[e], c]
        if x > best:
            best = x
            source = entry_source[e]
    return source
