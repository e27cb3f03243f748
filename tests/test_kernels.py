"""Each compiled kernel against the plain-numpy statement of what it computes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import kernels
from sim.state import Stage

USE = (int(Stage.ADOPTED), int(Stage.INSTITUTIONALISED))


def _population(seed: int, n: int = 60, k: int = 7):
    rng = np.random.default_rng(seed)
    stage = rng.integers(0, len(Stage), (n, k)).astype(np.int8)
    story = rng.random((n, k)) < 0.5
    return rng, stage, story


def _in_use(stage: np.ndarray) -> np.ndarray:
    return np.isin(stage, USE)


@given(seed=st.integers(0, 2**32 - 1), n_groups=st.integers(1, 6))
@settings(max_examples=40, deadline=None)
def test_offer_sums_is_a_grouped_sum_of_offers(seed: int, n_groups: int) -> None:
    rng, stage, story = _population(seed)
    n, k = stage.shape
    tell_success = rng.random(n).astype(np.float32)
    tell_failure = rng.random(n).astype(np.float32)
    members = rng.integers(0, n, 40)  # a facility may appear in several groups
    groups = rng.integers(0, n_groups, members.size)
    use = _in_use(stage)
    expected = [np.zeros((n_groups, k)) for _ in range(3)]
    np.add.at(expected[0], groups, (use * tell_success[:, None])[members])
    np.add.at(expected[1], groups, ((use & story) * tell_success[:, None])[members])
    np.add.at(expected[2], groups, ((stage == Stage.REJECTED) * tell_failure[:, None])[members])
    got = kernels.offer_sums(stage, story, tell_success, tell_failure, members, groups, n_groups)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


def test_has_news_marks_rows_with_something_to_tell() -> None:
    _, stage, _ = _population(4, n=300)
    tell_success = np.where(np.arange(300) % 3 == 0, 0.0, 1.0).astype(np.float32)
    tell_failure = np.where(np.arange(300) % 5 == 0, 0.0, 0.5).astype(np.float32)
    expected = ((_in_use(stage) * tell_success[:, None]) != 0).any(1) | (
        ((stage == Stage.REJECTED) * tell_failure[:, None]) != 0
    ).any(1)
    np.testing.assert_array_equal(kernels.has_news(stage, tell_success, tell_failure), expected)


@given(rows=st.lists(st.integers(0, 9), max_size=50))
@settings(deadline=None)
def test_rows_in_order_is_a_stable_sort(rows: list[int]) -> None:
    array = np.array(rows, dtype=np.int64)
    start, order = kernels.rows_in_order(array, 10)
    np.testing.assert_array_equal(order, np.argsort(array, kind="stable"))
    np.testing.assert_array_equal(np.diff(start), np.bincount(array, minlength=10))
    assert start[0] == 0


def _receive_reference(stage, knows, fr, sr, u, a, b, heed, heard, story, failure):
    """The rules of ``receive_cells`` written with whole-array numpy."""
    stage, knows, fr, sr = stage.copy(), knows.copy(), fr.copy(), sr.copy()
    open_ = (stage <= Stage.AWARE) | (stage == Stage.LOST)
    warned = (failure != 0) & open_ & ~knows
    knows |= warned
    fr += failure
    sr += heard
    drive = b[:, None] * (heard - story) + a[:, None] * story
    share = np.divide(fr, fr + sr, out=np.zeros_like(fr), where=(fr + sr) > 0)
    deterred = drive * (1 - heed[:, None] * share)
    wait = -np.log1p(-u.astype(np.float64))
    trial = open_ & (heard > 0) & (wait < drive) & (wait < deterred)
    aware = (stage == Stage.UNKNOWN) & (heard > 0) & ~trial & (wait < heard)
    stage[aware] = Stage.AWARE
    return stage, knows, fr, sr, trial, aware


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_receive_cells_follows_its_rules(seed: int) -> None:
    rng, stage, _ = _population(seed, n=40, k=5)
    n, k = stage.shape
    knows = rng.random((n, k)) < 0.2
    fr = (rng.random((n, k)) * (rng.random((n, k)) < 0.3)).astype(np.float32)
    sr = (rng.random((n, k)) * 2).astype(np.float32)
    u = rng.random((n, k)).astype(np.float32)
    a, b, heed = (rng.random(n).astype(np.float32) * s for s in (3.0, 1.0, 1.0))
    # two channels: one table row per district of 8 facilities, and one row per facility
    district = np.arange(n) // 8
    t_heard = (rng.random((5 + n, k)) * (rng.random((5 + n, k)) < 0.5)).astype(np.float32)
    t_story = (t_heard * rng.random((5 + n, k))).astype(np.float32)
    t_fail = (rng.random((5 + n, k)) * (rng.random((5 + n, k)) < 0.2)).astype(np.float32)
    reached = np.flatnonzero(rng.random(n) < 0.6)
    rows = np.concatenate([np.arange(n), reached])
    table_row = np.concatenate([district, 5 + reached])
    scale = rng.random(rows.size).astype(np.float32)
    fidelity = rng.random(rows.size).astype(np.float32)
    source = np.concatenate([np.full(n, 4), np.full(reached.size, 3)]).astype(np.int8)
    heard, story, failure = (np.zeros((n, k)) for _ in range(3))
    np.add.at(heard, rows, scale[:, None] * t_heard[table_row])
    np.add.at(story, rows, (scale * fidelity)[:, None] * t_story[table_row])
    np.add.at(failure, rows, scale[:, None] * t_fail[table_row])
    ref = _receive_reference(stage, knows, fr, sr, u, a, b, heed, heard, story, failure)

    start, order = kernels.rows_in_order(rows, n)
    out = [np.zeros(n * k, np.int64), np.zeros(n * k), np.zeros(n * k, np.int64)]
    news_source = np.zeros(n * k, np.int8)
    got_stage, got_knows, got_fr, got_sr = stage.copy(), knows.copy(), fr.copy(), sr.copy()
    n_trials, n_news, n_aware, n_warned = kernels.receive_cells(
        got_stage, got_knows, got_fr, got_sr, u, a, b, heed, start, order,
        table_row, scale, fidelity, source, t_heard, t_story, t_fail,
        out[0], out[1], out[2], news_source,
    )  # fmt: skip
    np.testing.assert_array_equal(got_stage, ref[0])
    np.testing.assert_array_equal(got_knows, ref[1])
    np.testing.assert_allclose(got_fr, ref[2], rtol=1e-5)
    np.testing.assert_allclose(got_sr, ref[3], rtol=1e-5)
    np.testing.assert_array_equal(np.sort(out[0][:n_trials]), np.flatnonzero(ref[4]))
    assert n_aware == ref[5].sum()
    assert n_warned == ((failure != 0) & ((stage <= 1) | (stage == 6)) & ~knows).sum()
    news = (ref[4] & (stage == Stage.UNKNOWN)) | ref[5]
    np.testing.assert_array_equal(np.sort(out[2][:n_news]), np.flatnonzero(news))
    # the story share of each trial, and the loudest source of each piece of news
    cells = out[0][:n_trials]
    f, c = np.divmod(cells, k)
    drive = b[f] * (heard[f, c] - story[f, c]) + a[f] * story[f, c]
    np.testing.assert_allclose(out[1][:n_trials], a[f] * story[f, c] / drive, rtol=1e-5)
    f, c = np.divmod(out[2][:n_news], k)
    scale64, heard64 = scale.astype(np.float64), t_heard.astype(np.float64)
    from_group = scale64[f] * heard64[district[f], c]
    position = np.searchsorted(reached, f)
    is_reached = (position < reached.size) & (reached[np.minimum(position, reached.size - 1)] == f)
    pos = np.searchsorted(rows[n:], f)
    from_peer = np.where(
        is_reached, scale64[n + np.minimum(pos, reached.size - 1)] * heard64[5 + f, c], -1.0
    )
    np.testing.assert_array_equal(news_source[:n_news], np.where(from_peer > from_group, 3, 4))


def test_tick_trials_counts_down_and_returns_the_finished() -> None:
    _, stage, _ = _population(9, n=200)
    left = np.random.default_rng(2).integers(0, 4, stage.shape).astype(np.int8)
    expected_left = left.copy()
    expected_left[stage == Stage.TRIAL] -= 1
    finished = np.flatnonzero((stage == Stage.TRIAL) & (expected_left <= 0))
    np.testing.assert_array_equal(kernels.tick_trials(stage, left), finished)
    np.testing.assert_array_equal(left, expected_left)


def test_census_matches_numpy() -> None:
    rng, stage, _ = _population(11, n=120, k=9)
    holders = rng.integers(0, 12, stage.shape).astype(np.int16)
    effect = rng.normal(size=stage.shape).astype(np.float32)
    ineffective = rng.random(9) < 0.3
    harmful = rng.random(9) < 0.2
    realised, used, in_use, n_ineff, n_harm, n_trial = kernels.census(
        stage, holders, effect, ineffective, harmful
    )
    use = _in_use(stage)
    np.testing.assert_allclose(realised, (holders * effect.astype(np.float64)).sum(1))
    np.testing.assert_array_equal(used, use.sum(1))
    np.testing.assert_array_equal(in_use, use.sum(0))
    assert (n_ineff, n_harm) == (use[:, ineffective].sum(), use[:, harmful].sum())
    assert n_trial == (stage == Stage.TRIAL).sum()


@pytest.mark.parametrize("chance", [0.02, 0.3, 1.0])
def test_sample_in_use_picks_cells_in_use_at_their_chance(chance: float) -> None:
    stage = np.full((4000, 10), int(Stage.AWARE), dtype=np.int8)
    stage[:, ::2] = Stage.ADOPTED
    stage[:, 1] = Stage.INSTITUTIONALISED
    per_facility = np.where(np.arange(4000) < 2000, chance, chance / 2)
    picked = kernels.sample_in_use(stage, per_facility, np.random.default_rng(5))
    f, c = np.divmod(picked, 10)
    assert np.isin(stage[f, c], USE).all()
    assert (np.diff(picked) > 0).all()
    for half, p in ((f < 2000, chance), (f >= 2000, chance / 2)):
        cells = 2000 * 6
        expected, sd = cells * p, np.sqrt(cells * p * (1 - p))
        assert abs(half.sum() - expected) <= 4 * sd + 1e-9


def test_sample_in_use_with_no_chance_picks_nothing() -> None:
    stage = np.full((10, 3), int(Stage.ADOPTED), dtype=np.int8)
    assert kernels.sample_in_use(stage, np.zeros(10), np.random.default_rng(0)).size == 0


def test_teaching_and_institutionalisation_rates() -> None:
    n, k, staff = 3000, 4, 10
    stage = np.full((n, k), int(Stage.ADOPTED), dtype=np.int8)
    stage[:, 3] = Stage.AWARE
    holders = np.full((n, k), 2, dtype=np.int16)
    holders[:, 3] = 0
    teach = np.full(n, 0.5)
    settle = np.full(n, 0.2)
    done = kernels.teach_and_institutionalise(
        stage, holders, np.full(n, staff, dtype=np.int64), teach, settle, np.random.default_rng(1)
    )
    adopted = stage[:, :3] == Stage.ADOPTED
    # teaching: 8 non-holders each learn with chance 1 - exp(-0.5 * 2 / 10)
    p = -np.expm1(-0.1)
    learned = holders[:, :3][adopted] - 2
    assert abs(learned.mean() - 8 * p) < 4 * np.sqrt(8 * p * (1 - p) / learned.size)
    # institutionalised with chance 0.2 * share held after teaching
    assert done == (stage == Stage.INSTITUTIONALISED).sum()
    expected = (0.2 * (2 + 8 * p) / staff) * 3 * n
    assert abs(done - expected) < 4 * np.sqrt(expected)
    assert (holders[stage == Stage.INSTITUTIONALISED] == staff).all()
    assert (stage[:, 3] == Stage.AWARE).all() and (holders[:, 3] == 0).all()


def test_kernels_that_draw_depend_on_the_seed_alone() -> None:
    stage = np.full((500, 6), int(Stage.ADOPTED), dtype=np.int8)
    chance = np.linspace(0, 0.2, 500)
    a = kernels.sample_in_use(stage, chance, np.random.default_rng(7))
    b = kernels.sample_in_use(stage, chance, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    # numba draws from the generator's own bit generator: numpy continues the stream
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    kernels.sample_in_use(stage, np.full(500, 1.0), rng)
    twin.random(3000)  # one candidate draw per cell at chance 1
    assert rng.random() == twin.random()
