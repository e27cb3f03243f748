"""Channel kernels checked against what they sample."""

from __future__ import annotations

import numpy as np
import pytest

from sim.channels import bernoulli_positions


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
