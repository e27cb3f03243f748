"""Samplers of rare events checked against independent trials."""

from __future__ import annotations

import numpy as np
import pytest

from sim.sampling import bernoulli_positions, bernoulli_successes


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


def test_bernoulli_successes_follow_each_chance():
    chance = np.array([0.0, 0.01, 0.04, 0.08, 0.08, 0.2])
    repeats = 20_000
    rng = np.random.default_rng(11)
    hits = np.zeros(chance.size)
    for _ in range(repeats):
        hits[bernoulli_successes(chance, rng)] += 1
    share = hits / repeats
    tolerance = 4.5 * np.sqrt(chance * (1 - chance) / repeats) + 1e-12
    assert hits[0] == 0, "a trial of chance 0 succeeded"
    assert (np.abs(share - chance) <= tolerance).all(), f"rates {share} for chances {chance}"
