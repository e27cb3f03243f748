"""Shared machinery of the compiled kernels; each kernel lives with its mechanism.

The facility x practice arrays of a national run hold millions of cells. Written as
numpy expressions, each rule of a month makes several passes over them and creates as
many temporary arrays; the kernels make one pass and create none. They are compiled
with numba (cached on disk after the first call) and live beside the mechanism that
uses them (:mod:`sim.model.mechanisms`). Kernels that draw random numbers take their
decision's ``numpy.random.Generator``: numba draws from the same bit generator,
advancing its state as numpy would, so the results depend on the seed alone. The
heaviest kernels split the facilities into fixed blocks of rows that run in parallel; a
block that draws has a stream of its own, and blocks are combined in block order, so
the results do not depend on the number of threads either.

This module holds what several kernels share (its helpers are compiled with the kernels
that call them, so only the kernels called from Python are in ``__all__``): the parallel
options and the lock, the stage codes and the rules "in use" and "open" as compiled
functions (the same rules as :func:`sim.model.state.in_use` and
:func:`sim.model.state.is_open`), grouping rows, geometric gaps, row blocks and
compaction. Every kernel has a plain-numpy statement of what it computes in its
docstring, and ``tests/test_kernels.py`` checks each against that statement.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import njit

from sim.model.state import Stage

__all__ = [
    "PRANGE_ONLY",
    "block_bounds",
    "one_at_a_time",
    "one_thread",
    "rows_in_order",
    "turn_away",
]


def one_thread() -> None:
    """Run this process's parallel kernels on one thread (for worker processes).

    Workers that run replicates side by side already use the cores; giving each of
    them a team of threads as well would oversubscribe the machine. Results do not
    change: parallel kernels split their work into fixed blocks.
    """
    numba.set_num_threads(1)


_PARALLEL_LOCK = threading.Lock()


def one_at_a_time(kernel: Callable[..., Any]) -> Callable[..., Any]:
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
def block_stream(streams: Any, b: int) -> np.random.Generator:
    """Stream ``b`` of a typed list (a ``prange`` index is unsigned; the list wants int64)."""
    return streams[np.int64(b)]


UNKNOWN = int(Stage.UNKNOWN)
AWARE = int(Stage.AWARE)
TRIAL = int(Stage.TRIAL)
ADOPTED = int(Stage.ADOPTED)
INSTITUTIONALISED = int(Stage.INSTITUTIONALISED)
REJECTED = int(Stage.REJECTED)
LOST = int(Stage.LOST)


@njit(cache=True, nogil=True, inline="always")
def in_use(s: int) -> bool:
    """A practice at stage code ``s`` is in use: adopted or institutionalised."""
    return (s == ADOPTED) | (s == INSTITUTIONALISED)  # no branch: loops stay vectorised


@njit(cache=True, nogil=True, inline="always")
def is_open(s: int) -> bool:
    """At stage code ``s`` a facility could still start a trial: unknown, aware or lost."""
    return (s <= AWARE) | (s == LOST)


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


@njit(cache=True, nogil=True)
def gap_scale(top: float) -> float:
    """``1 / -log(1 - top)``: turns an exponential draw into a geometric gap (0 if top is 1)."""
    return 0.0 if top >= 1.0 else -1.0 / math.log1p(-top)


@njit(cache=True, nogil=True, inline="always")  # a call would cost more
def next_gap(rng: np.random.Generator, scale: float) -> int:
    """Cells to pass before the next candidate of chance ``top`` (``scale = gap_scale(top)``).

    ``floor(E * scale)`` with ``E`` exponential is geometric: ``P(gap >= g) = (1 - top)**g``.
    """
    return int(rng.standard_exponential() * scale) if scale > 0.0 else 0


@njit(cache=True, nogil=True)
def block_bounds(n: int, blocks: int) -> np.ndarray:
    """Row bounds of ``blocks`` consecutive blocks of (nearly) equal size."""
    return (np.arange(blocks + 1) * n) // blocks


@njit(cache=True, nogil=True)
def compact(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> int:
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
