"""The month's uniforms of receiving news, drawn outside the kernels.

One uniform per facility and practice, drawn in blocks of rows, each block from its
own stream, on threads when the array is large.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from sim.model import kernels

__all__ = ["uniform_blocks"]


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
