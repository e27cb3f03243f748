"""The month's uniforms: the same numbers whatever the threads."""

from __future__ import annotations

import numpy as np

from sim.model.sampling import THREADED_FILL, uniform_blocks


def test_uniform_blocks_on_threads_draw_what_one_thread_draws():
    import numba

    rows = THREADED_FILL // 8 + 10  # large enough to be drawn on threads
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            out = np.empty((rows, 8), dtype=np.float32)
            uniform_blocks(out, tuple(np.random.default_rng([5, b]) for b in range(16)))
        finally:
            numba.set_num_threads(before)
        results.append(out)
    np.testing.assert_array_equal(results[0], results[1])
    first_block = rows // 16
    np.testing.assert_array_equal(
        results[0][:first_block].reshape(-1),
        np.random.default_rng([5, 0]).random(first_block * 8, dtype=np.float32),
    )
