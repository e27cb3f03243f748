"""Random draws outside the kernels: rare events by their gaps, the month's uniforms.

Many monthly events are rare (a tie used): drawing the gaps between successes costs
about ``n p`` random numbers instead of ``n``. The uniforms of receiving news, one per
facility and practice, are drawn in blocks of rows, each from its own stream.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from sim import kernels

__all__ = ["bernoulli_positions", "uniform_blocks"]


def bernoulli_positions(n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of the successes among ``n`` independent trials of chance ``p``.

    For small ``p`` the gaps between successes are drawn (geometric, in a compiled
    loop: :func:`sim.kernels.bernoulli_gaps`), about ``n p`` numbers instead of ``n``.

    Examples:
        >>> rng = np.random.default_rng(1)
        >>> hits = bernoulli_positions(100_000, 0.1, rng)
        >>> bool((np.diff(hits) > 0).all()), bool(hits.max() < 100_000)
        (True, True)
        >>> bool(abs(hits.size - 10_000) < 400)
        True
    """
    if p <= 0.0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 0.25:
        return np.flatnonzero(rng.random(n) < p)
    return kernels.bernoulli_gaps(n, p, rng)


_POOL: dict[int, ThreadPoolExecutor] = {}

#: Cells from which :func:`uniform_blocks` draws on threads.
THREADED_FILL = 1_000_000


def uniform_blocks(out: np.ndarray, streams: tuple[np.random.Generator, ...]) -> None:
    """Fill ``out`` with float32 uniforms: block ``b`` of its rows from ``streams[b]``.

    The blocks are cut as the kernels cut them (:func:`sim.kernels.block_bounds`) and
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
