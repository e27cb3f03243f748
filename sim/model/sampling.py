"""Random draws over whole arrays that several mechanisms share.

:func:`uniform_blocks`: one uniform per facility and practice (receiving news), drawn in
blocks of rows, each block from its own stream, on threads when the array is large.
:func:`capped`: keep at most a capacity of chosen members per group, at random.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from sim.model import kernels

__all__ = ["capped", "uniform_blocks"]


_POOL: dict[int, ThreadPoolExecutor] = {}

#: Cells from which :func:`uniform_blocks` draws on threads.
THREADED_FILL = 1_000_000


def uniform_blocks(out: np.ndarray, streams: tuple[np.random.Generator, ...]) -> None:
    """Fill ``out`` with float32 uniforms: block ``b`` of its rows from ``streams[b]``.

    The blocks are cut as the kernels cut them (:func:`sim.model.kernels.block_bounds`) and
    drawn on as many threads as the kernels use when the array is large (numpy
    releases the GIL while it fills an array), so the numbers do not depend on the
    threads.

    Examples:
        >>> streams = tuple(np.random.default_rng(b) for b in range(4))
        >>> a, b = np.empty((10, 3), np.float32), np.empty((10, 3), np.float32)
        >>> uniform_blocks(a, streams)
        >>> uniform_blocks(b, tuple(np.random.default_rng(b) for b in range(4)))
        >>> bool((a == b).all()), bool(((0 <= a) & (a < 1)).all())
        (True, True)
    """
    bounds = kernels.block_bounds(out.shape[0], len(streams))

    def fill(block: int) -> None:
        rows = out[bounds[block] : bounds[block + 1]]
        streams[block].random(out=rows, dtype=np.float32)

    threads = min(numba.get_num_threads(), len(streams))
    if threads <= 1 or out.size < THREADED_FILL:  # small arrays: threads cost more than they save
        for block in range(len(streams)):
            fill(block)
        return
    pool = _POOL.get(threads)
    if pool is None:
        pool = _POOL[threads] = ThreadPoolExecutor(threads, thread_name_prefix="lhsim-draws")
    list(pool.map(fill, range(len(streams))))


def capped(
    chosen: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    capacity: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Keep at most ``capacity[g]`` of the ``chosen`` members of each group ``g``, at random.

    Examples:
        >>> chosen = np.array([True, True, True, False])
        >>> kept = capped(chosen, np.array([0, 0, 0, 1]), 2, np.array([2, 5]),
        ...               np.random.default_rng(1))
        >>> int(kept.sum()), bool(kept[3])
        (2, False)
    """
    rows = np.flatnonzero(chosen)
    if rows.size == 0:
        return chosen
    g = group[rows]
    if not (np.bincount(g, minlength=n_groups) > capacity).any():
        return chosen
    kept = chosen.copy()
    kept[rows[kernels.turn_away(g, capacity.astype(np.int64), rng)]] = False
    return kept
