"""Samplers of rare events checked against independent trials."""

from __future__ import annotations

import numpy as np
import pytest

from sim.sampling import bernoulli_positions


@pytest.mark.parametrize("p", [0.02, 0.1, 0.3])
def test_bernoulli_positions_sample_independent_trials(p):
    # Every position is a success with chance p, and the count is Binomial(n, p).
    n, repeats = 40, 10_000
    rng = np.random.default_rng(7)
    hits = np.zeros(n)
    counts = np.empty(repeats)
    for r in range(repeats):
        positions = bernoulli_positions(n, p, rng)
        assert (np.diff(positions) > 0).all() and (positions < n).all()
        hits[positions] += 1
        counts[r] = positions.size
    share = hits / repeats
    tolerance = 4.5 * np.sqrt(p * (1 - p) / repeats)
    assert np.abs(share - p).max() < tolerance, f"per-position rates {share.min()}-{share.max()}"
    assert abs(counts.var() - n * p * (1 - p)) < 0.06 * n * p * (1 - p) + 0.05


def test_bernoulli_positions_edge_cases():
    rng = np.random.default_rng(0)
    assert bernoulli_positions(1000, 0.0, rng).size == 0
    assert bernoulli_positions(0, 0.5, rng).size == 0
    assert bernoulli_positions(5, 1.0, rng).tolist() == [0, 1, 2, 3, 4]


def test_uniform_blocks_on_threads_draw_what_one_thread_draws():
    import numba

    from sim.sampling import THREADED_FILL, uniform_blocks

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
