"""Compiled kernels: the per-cell work of a month, one pass over the arrays each.

The facility x practice arrays of a national run hold millions of cells. Written as
numpy expressions, each rule of a month makes several passes over them and creates as
many temporary arrays; these kernels make one pass and create none. They are compiled
with numba (cached on disk after the first call). Kernels that draw random numbers
take the mechanism's ``numpy.random.Generator``: numba draws from the same bit
generator, advancing its state as numpy would, so the results depend on the seed alone.
The heaviest kernels split the facilities into fixed blocks of rows that run in
parallel; a block that draws has a stream of its own, and blocks are combined in block
order, so the results do not depend on the number of threads either.

Every kernel has a plain-numpy statement of what it computes in its docstring, and
``tests/test_kernels.py`` checks each against that statement.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from sim.model.state import Stage

__all__ = [
    "block_bounds",
    "census",
    "has_news",
    "lose_holders",
    "offer_sums",
    "one_thread",
    "receive_cells",
    "rows_in_order",
    "told_along_ties",
    "turn_away",
    "review_in_use",
    "teach_and_institutionalise",
    "finish_trials",
]


def one_thread() -> None:
    """Run this process's parallel kernels on one thread (for worker processes).

    Workers that run replicates side by side already use the cores; giving each of
    them a team of threads as well would oversubscribe the machine. Results do not
    change: parallel kernels split their work into fixed blocks.
    """
    numba.set_num_threads(1)


_PARALLEL_LOCK = threading.Lock()


def _one_at_a_time(kernel: Callable[..., Any]) -> Callable[..., Any]:
    """Let one thread at a time into a parallel kernel (each call uses all cores anyway).

    numba's fallback threading layer (used where neither OpenMP nor TBB is installed)
    must not be entered from two threads at once, which happens when models run in
    threads side by side (a Dask cluster of threads, several sessions of the app).
    """

    @functools.wraps(kernel)
    def call(*args: Any) -> Any:
        with _PARALLEL_LOCK:
            return kernel(*args)

    return call


#: numba's parallel options: only the ``prange`` loops run in parallel. With all options
#: on, numba also turns every array expression of a kernel (``np.zeros``, ``a += b``)
#: into a parallel loop of its own, and each start of a parallel loop costs a few
#: microseconds: a kernel adding up its blocks' partial sums started one per block, which
#: cost more than its work on small models.
PRANGE_ONLY: Any = {  # numba takes a dict here; its type stubs say bool
    "prange": True,
    "comprehension": False,
    "fusion": False,
    "inplace_binop": False,
    "numpy": False,
    "reduction": False,
    "setitem": False,
    "stencil": False,
}


#: Row blocks of the parallel kernels that draw nothing (fixed, so that results do not
#: depend on the threads; kernels that draw use one block per stream instead).
ROW_BLOCKS = 64


@njit(cache=True, nogil=True, inline="always")
def _block_stream(streams: Any, b: int) -> np.random.Generator:
    """Stream ``b`` of a typed list (a ``prange`` index is unsigned; the list wants int64)."""
    return streams[np.int64(b)]


UNKNOWN = int(Stage.UNKNOWN)
AWARE = int(Stage.AWARE)
TRIAL = int(Stage.TRIAL)
ADOPTED = int(Stage.ADOPTED)
INSTITUTIONALISED = int(Stage.INSTITUTIONALISED)
REJECTED = int(Stage.REJECTED)
LOST = int(Stage.LOST)


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
            use = np.float32((s == ADOPTED) | (s == INSTITUTIONALISED))
            heard[g, c] += success * use
            with_story[g, c] += success * use * np.float32(story[j, c])
            failure[g, c] += failed * np.float32(s == REJECTED)
    return heard, with_story, failure


@_one_at_a_time
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
            if (success and (s == ADOPTED or s == INSTITUTIONALISED)) or (failed and s == REJECTED):
                out[i] = True
                break
    return out


@njit(cache=True, nogil=True)
def rows_in_order(rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group entries by row: the distinct rows ``reached`` (ascending) and their entries.

    The entries of row ``reached[g]`` are ``order[start[g]:start[g + 1]]``, in their
    original order. In numpy: ``order = np.argsort(rows, kind="stable")``,
    ``reached, counts = np.unique(rows, return_counts=True)`` and ``start`` the
    cumulative ``counts`` with a leading 0. Rows already sorted (a single channel's)
    are kept as they are; few entries are sorted, many are counted into ``n`` rows.
    """
    m = rows.size
    in_order = True
    for e in range(1, m):
        if rows[e] < rows[e - 1]:
            in_order = False
            break
    if in_order:
        order = np.arange(m)
    elif m * max(1, int(math.log2(m + 1))) < n:
        order = np.argsort(rows, kind="mergesort")  # stable
    else:  # a counting sort
        fill = np.zeros(n + 1, dtype=np.int64)
        for e in range(m):
            fill[rows[e] + 1] += 1
        for i in range(n):
            fill[i + 1] += fill[i]
        order = np.empty(m, dtype=np.int64)
        for e in range(m):
            order[fill[rows[e]]] = e
            fill[rows[e]] += 1
    reached = np.empty(m, dtype=np.int64)
    start = np.empty(m + 1, dtype=np.int64)
    g = 0
    for q in range(m):
        r = rows[order[q]]
        if g == 0 or r != reached[g - 1]:
            reached[g] = r
            start[g] = q
            g += 1
    start[g] = m
    return reached[:g].copy(), start[: g + 1].copy(), order


@_one_at_a_time
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
    n_trials = _compact(trials, starts, counts[:, 0])
    _compact(trial_story_share, starts, counts[:, 0])
    n_news = _compact(news, starts, counts[:, 1])
    _compact(news_source, starts, counts[:, 1])
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
            is_open = s <= AWARE or s == LOST
            if f[c] != 0.0:
                failure_reports[i, c] += f[c]
                if is_open and not knows_failure[i, c]:
                    knows_failure[i, c] = True
                    n_warned += 1
            if h[c] == 0.0:
                continue
            success_reports[i, c] += h[c]
            if not is_open:
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


@_one_at_a_time
@njit(cache=True, nogil=True, fastmath=True, parallel=PRANGE_ONLY)  # fastmath: sums vectorise
def census(
    stage: np.ndarray,
    holders: np.ndarray,
    local_effect: np.ndarray,
    scale: np.ndarray,
    country: np.ndarray,
    n_countries: int,
    group_of: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One look at the cells for the month's outputs.

    Returns, in numpy terms (``use`` = adopted or institutionalised):

    * ``qoc``: ``clip((holders * local_effect).sum(1) * scale, 0, 1)`` per facility
      (``scale`` is one over staff times the best effect possible there);
    * ``group_sums``: the sum of ``qoc`` over the facilities of each group, where
      facility ``i`` belongs to groups ``group_of[:, i]`` (one per grouping);
    * ``in_use``: per country and practice, the facilities using it
      (``use`` summed over the facilities of each country);
    * ``(stage == TRIAL).sum()``.

    A practice in use always has holders, so a row without holders adds nothing but
    its trials. Fixed blocks of rows run in parallel; the blocks' sums are added in
    block order.
    """
    n, k = stage.shape
    blocks = min(ROW_BLOCKS, n)
    bounds = block_bounds(n, blocks)
    qoc = np.empty(n)
    block_sums = np.zeros((blocks, n_groups))
    block_use = np.zeros((blocks, n_countries, k), dtype=np.int64)
    block_trial = np.zeros(blocks, dtype=np.int64)
    for b in prange(blocks):  # fixed blocks, summed in order: the same with any threads
        sums = block_sums[b]
        use = block_use[b]
        trialling = 0
        for i in range(bounds[b], bounds[b + 1]):
            held = 0
            for c in range(k):
                held |= holders[i, c]
            if held == 0:  # nothing in use: no QoC to add, only trials to count
                qoc[i] = 0.0
                for c in range(k):
                    trialling += stage[i, c] == TRIAL
                continue
            total = 0.0
            for c in range(k):
                total += holders[i, c] * np.float64(local_effect[i, c])
            q = min(max(total * scale[i], 0.0), 1.0)
            qoc[i] = q
            for g in range(group_of.shape[0]):
                sums[group_of[g, i]] += q
            ci = country[i]
            for c in range(k):
                s = stage[i, c]
                use[ci, c] += (s == ADOPTED) | (s == INSTITUTIONALISED)
                trialling += s == TRIAL
        block_trial[b] = trialling
    group_sums = np.zeros(n_groups)
    in_use = np.zeros((n_countries, k), dtype=np.int64)
    for b in range(blocks):
        group_sums += block_sums[b]
        in_use += block_use[b]
    n_trial = block_trial.sum()
    return qoc, group_sums, in_use, n_trial


@njit(cache=True, nogil=True)
def _gap_scale(top: float) -> float:
    """``1 / -log(1 - top)``: turns an exponential draw into a geometric gap (0 if top is 1)."""
    return 0.0 if top >= 1.0 else -1.0 / math.log1p(-top)


@njit(cache=True, nogil=True, inline="always")  # a call would cost more
def _gap(rng: np.random.Generator, scale: float) -> int:
    """Cells to pass before the next candidate of chance ``top`` (``scale = _gap_scale(top)``).

    ``floor(E * scale)`` with ``E`` exponential is geometric: ``P(gap >= g) = (1 - top)**g``.
    """
    return int(rng.standard_exponential() * scale) if scale > 0.0 else 0


@njit(cache=True, nogil=True, inline="always")  # a call would cost more
def _learners(rng: np.random.Generator, candidates: int, p: float) -> int:
    """``Binomial(candidates, p)``: a Bernoulli draw each when few, numba's binomial when many."""
    if candidates > 12:
        return rng.binomial(candidates, p)
    learners = 0
    for _ in range(candidates):
        learners += rng.random() < p
    return learners


@_one_at_a_time
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
            top, _block_stream(streams, b),
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
    scale = _gap_scale(top) if top > 0.0 else 0.0
    gap = _gap(rng, scale) if top > 0.0 else -1
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
            gap = _gap(rng, scale)
    return done


@njit(cache=True, nogil=True)
def block_bounds(n: int, blocks: int) -> np.ndarray:
    """Row bounds of ``blocks`` consecutive blocks of (nearly) equal size."""
    return (np.arange(blocks + 1) * n) // blocks


@_one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def finish_trials(
    trial_cells: np.ndarray,
    stage: np.ndarray,
    trial_left: np.ndarray,
    trial_story: np.ndarray,
    story: np.ndarray,
    knows_failure: np.ndarray,
    holders: np.ndarray,
    first_source: np.ndarray,
    local_effect: np.ndarray,
    complexity: np.ndarray,
    coached_until: np.ndarray,
    month: int,
    support: np.ndarray,
    trial_noise: np.ndarray,
    data_quality: np.ndarray,
    threshold: np.ndarray,
    team_size: np.ndarray,
    staff: np.ndarray,
    documentation: np.ndarray,
    read_results: bool,
    innovation: int,
    streams: Sequence[np.random.Generator],
    cells: np.ndarray,
    success: np.ndarray,
    wrong: np.ndarray,
    running: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count a month off every running trial and read those whose time is up.

    ``trial_cells`` lists the cells in trial (flat ``i * K + c``, ascending). Per
    finished trial (facility ``i``, practice ``c``):

    * without a story behind it, the practice is implemented wrongly with chance
      ``complexity[c] * (1 - support[i])`` while the facility is coached
      (``coached_until[i] >= month``), ``complexity[c]`` otherwise, and then shows no
      effect;
    * observed effect: ``realised + trial_noise[i] * (1 - data_quality[i]) * N(0, 1)``;
      a success when it exceeds ``threshold[i]`` (always, when ``read_results`` is
      off: nobody reads the data);
    * success: stage ``ADOPTED``, ``min(team_size[i], staff[i])`` holders, a story
      when the trial had one that did not come from the facility's own
      ``innovation``, or when the facility documents it (chance ``documentation[i]``);
    * failure: stage ``REJECTED``, ``knows_failure``, no holders.

    The facilities are cut into one block of rows per stream of ``streams`` (numpy
    Generators); the blocks' trials are read in parallel, in cell order, each block
    drawing from its own stream and writing its own stretch of the work arrays
    ``cells``, ``success``, ``wrong`` and ``running`` (as long as ``trial_cells``,
    compacted in block order afterwards): the results do not depend on the number of
    threads.

    Returns:
        Flat cells finished, whether each succeeded, whether it was implemented
        wrongly; and the cells still in trial.
    """
    n, k = stage.shape
    blocks = len(streams)
    bounds = np.searchsorted(trial_cells, block_bounds(n, blocks) * k)
    counts = np.zeros((blocks, 2), dtype=np.int64)
    for b in prange(blocks):
        rng = _block_stream(streams, b)
        m = left = bounds[b]  # this block's stretch of the outputs
        for p in range(bounds[b], bounds[b + 1]):
            cell = trial_cells[p]
            i = cell // k
            c = cell - i * k
            trial_left[i, c] -= 1
            if trial_left[i, c] > 0:
                running[left] = cell
                left += 1
                continue
            cut = support[i] if coached_until[i] >= month else 0.0
            cells[m] = cell
            realised = float(local_effect[i, c])
            wrong[m] = False
            if not trial_story[i, c] and rng.random() < complexity[c] * (1.0 - cut):
                wrong[m] = True
                realised = 0.0
            noise = trial_noise[i] * (1.0 - data_quality[i]) * rng.standard_normal()
            success[m] = realised + noise > threshold[i] or not read_results
            if success[m]:
                stage[i, c] = ADOPTED
                holders[i, c] = min(team_size[i], staff[i])
                handed = trial_story[i, c] and first_source[i, c] != innovation
                story[i, c] = handed or rng.random() < documentation[i]
            else:
                stage[i, c] = REJECTED
                knows_failure[i, c] = True
                holders[i, c] = 0
            m += 1
        counts[b, 0] = m - bounds[b]
        counts[b, 1] = left - bounds[b]
    starts = bounds[:-1]
    m = _compact(cells, starts, counts[:, 0])
    _compact(success, starts, counts[:, 0])
    _compact(wrong, starts, counts[:, 0])
    left = _compact(running, starts, counts[:, 1])
    return cells[:m].copy(), success[:m].copy(), wrong[:m].copy(), running[:left].copy()


@njit(cache=True, nogil=True)
def _compact(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> int:
    """Gather the blocks' outputs at the front of ``values``; return how many there are.

    Blocks write in parallel, each into its own stretch: block ``b`` wrote ``counts[b]``
    values from ``starts[b]`` on. They are moved down in block order.
    """
    m = 0
    for b in range(starts.size):
        for j in range(counts[b]):
            values[m + j] = values[starts[b] + j]
        m += counts[b]
    return m


@_one_at_a_time
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
            chance, noise, threshold, top, _block_stream(streams, b),
        )  # fmt: skip
    m = _compact(out, bounds[:-1] * k, counts[:, 0])
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
    scale = _gap_scale(top)
    gap = _gap(rng, scale)
    for i in range(row_start, row_end):
        used = 0
        for c in range(k):
            used += (stage[i, c] == ADOPTED) | (stage[i, c] == INSTITUTIONALISED)
        if gap >= used:
            gap -= used
            continue
        for c in range(k):
            used = (stage[i, c] == ADOPTED) | (stage[i, c] == INSTITUTIONALISED)
            if gap > 0 or not used:  # the common case, tested without a jump on the stage
                gap -= used
                continue
            gap = _gap(rng, scale)
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


@_one_at_a_time
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
            scale = _gap_scale(p)
            gap = _gap(rng, scale)
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
            gap += 1 + _gap(rng, scale)
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
                use = np.float32((s == ADOPTED) | (s == INSTITUTIONALISED))
                heard[g, c] += success * use
                with_story[g, c] += success * use * np.float32(story[j, c])
                failure[g, c] += failed * np.float32(s == REJECTED)
    return receivers, heard, with_story, failure, spoke, m, told_ties


@_one_at_a_time
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
        rng = _block_stream(streams, b)
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


@njit(cache=True, nogil=True)
def turn_away(groups: np.ndarray, capacity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which of the chosen members (``groups[m]`` is member m's group) find no room.

    Where a group has more members than its ``capacity``, members are turned away at
    random (a partial shuffle of the group's members) until it is full. Returns a
    mask over the members.
    """
    present, start, order = rows_in_order(groups, capacity.size)
    away = np.zeros(groups.size, dtype=np.bool_)
    for g in range(present.size):
        members = order[start[g] : start[g + 1]].copy()
        extra = members.size - capacity[present[g]]
        for j in range(max(extra, 0)):
            pick = j + int(rng.random() * (members.size - j))
            members[j], members[pick] = members[pick], members[j]
            away[members[j]] = True
    return away
