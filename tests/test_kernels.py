"""Each compiled kernel against the plain-numpy statement of what it computes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.typed import List as TypedList

from sim.model import kernels
from sim.model.exposure import has_news, offer_sums
from sim.model.mechanisms.internal_learning import teach_and_institutionalise
from sim.model.mechanisms.peer_network import told_along_ties
from sim.model.mechanisms.receiving import receive_cells
from sim.model.mechanisms.single_loop import review_in_use
from sim.model.mechanisms.trials import finish_trials
from sim.model.mechanisms.turnover import lose_holders
from sim.model.recorder import census
from sim.model.state import Stage

USE = (int(Stage.ADOPTED), int(Stage.INSTITUTIONALISED))


def _streams(seed: int, blocks: int = 5) -> TypedList:
    """Block streams, as the model hands them to the kernels that draw."""
    return TypedList([np.random.default_rng([seed, b]) for b in range(blocks)])


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
    country = rng.integers(0, 3, n)
    by_country = rng.random(3), rng.random(3)
    tell_success, tell_failure = (x[country] for x in by_country)
    members = rng.integers(0, n, 40)  # a facility may appear in several groups
    groups = rng.integers(0, n_groups, members.size)
    use = _in_use(stage)
    expected = [np.zeros((n_groups, k)) for _ in range(3)]
    np.add.at(expected[0], groups, (use * tell_success[:, None])[members])
    np.add.at(expected[1], groups, ((use & story) * tell_success[:, None])[members])
    np.add.at(expected[2], groups, ((stage == Stage.REJECTED) * tell_failure[:, None])[members])
    got = offer_sums(stage, story, country, *by_country, members, groups, n_groups)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


def test_has_news_marks_rows_with_something_to_tell() -> None:
    _, stage, _ = _population(4, n=300)
    country = np.arange(300) % 4
    by_country = np.array([0.0, 1.0, 1.0, 0.3]), np.array([0.5, 0.0, 0.5, 0.0])
    tell_success, tell_failure = (x[country] for x in by_country)
    expected = ((_in_use(stage) * tell_success[:, None]) != 0).any(1) | (
        ((stage == Stage.REJECTED) * tell_failure[:, None]) != 0
    ).any(1)
    np.testing.assert_array_equal(has_news(stage, country, *by_country), expected)


@given(rows=st.lists(st.integers(0, 9), max_size=50))
@settings(deadline=None)
def test_rows_in_order_is_a_stable_sort(rows: list[int]) -> None:
    array = np.array(rows, dtype=np.int64)
    for n in (10, 1000):  # many entries for the rows (counted) and few (sorted)
        reached, start, order = kernels.rows_in_order(array, n)
        np.testing.assert_array_equal(order, np.argsort(array, kind="stable"))
        expected, counts = np.unique(array, return_counts=True)
        np.testing.assert_array_equal(reached, expected)
        np.testing.assert_array_equal(np.diff(start), counts)
        assert start[0] == 0 and start[-1] == array.size


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
    # two channels: one table row per district of 8 facilities (the last five facilities
    # are in none), and one row per facility reached by the other
    district = np.arange(n) // 8
    grouped = n - 5
    t_heard = (rng.random((5 + n, k)) * (rng.random((5 + n, k)) < 0.5)).astype(np.float32)
    t_story = (t_heard * rng.random((5 + n, k))).astype(np.float32)
    t_fail = (rng.random((5 + n, k)) * (rng.random((5 + n, k)) < 0.2)).astype(np.float32)
    reached = np.flatnonzero(rng.random(n) < 0.6)
    rows = np.concatenate([np.arange(grouped), reached])
    table_row = np.concatenate([district[:grouped], 5 + reached])
    scale = rng.random(rows.size).astype(np.float32)
    fidelity = rng.random(rows.size).astype(np.float32)
    source = np.concatenate([np.full(grouped, 4), np.full(reached.size, 3)]).astype(np.int8)
    heard, story, failure = (np.zeros((n, k)) for _ in range(3))
    np.add.at(heard, rows, scale[:, None] * t_heard[table_row])
    np.add.at(story, rows, (scale * fidelity)[:, None] * t_story[table_row])
    np.add.at(failure, rows, scale[:, None] * t_fail[table_row])
    ref = _receive_reference(stage, knows, fr, sr, u, a, b, heed, heard, story, failure)

    heard_rows, start, order = kernels.rows_in_order(rows, n)
    out = [np.zeros(n * k, np.int64), np.zeros(n * k), np.zeros(n * k, np.int64)]
    news_source = np.zeros(n * k, np.int8)
    got_stage, got_knows, got_fr, got_sr = stage.copy(), knows.copy(), fr.copy(), sr.copy()
    n_trials, n_news, n_aware, n_warned = receive_cells(
        got_stage, got_knows, got_fr, got_sr, u, a, b, heed, heard_rows, start, order,
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
    from_group = np.where(
        f < grouped, scale64[np.minimum(f, grouped - 1)] * heard64[district[f], c], -1.0
    )
    position = np.searchsorted(reached, f)
    is_reached = (position < reached.size) & (reached[np.minimum(position, reached.size - 1)] == f)
    pos = np.searchsorted(rows[grouped:], f)
    from_peer = np.where(
        is_reached, scale64[grouped + np.minimum(pos, reached.size - 1)] * heard64[5 + f, c], -1.0
    )
    np.testing.assert_array_equal(news_source[:n_news], np.where(from_peer > from_group, 3, 4))


def _finish(stage, left, effect, *, trial_story=None, complexity=0.0, cut=0.0,
            read=True, documentation=0.0, seed=1, coached=True):  # fmt: skip
    n, k = stage.shape
    state = {
        "stage": stage.copy(),
        "left": left.copy(),
        "story": np.zeros((n, k), dtype=bool),
        "knows": np.zeros((n, k), dtype=bool),
        "holders": np.zeros((n, k), dtype=np.int16),
    }
    trial_story = np.zeros((n, k), dtype=bool) if trial_story is None else trial_story
    coached_until = np.where(np.arange(n) % 2 == 0, 5, 4)  # even rows coached in month 5
    if coached:
        coached_until[:] = 5
    in_trial = np.flatnonzero(stage == Stage.TRIAL)
    cells, success, wrong, running = finish_trials(
        in_trial, state["stage"], state["left"], trial_story, state["story"], state["knows"],
        state["holders"], np.zeros((n, k), dtype=np.int8), effect.astype(np.float32),
        np.full(k, complexity), coached_until, 5, np.full(n, cut), np.zeros(n), np.ones(n),
        np.full(n, 0.5), np.full(n, 4, dtype=np.int64), np.full(n, 9, dtype=np.int64),
        np.full(n, documentation), read, 2, _streams(seed),
        *_left_over(in_trial.size, np.int64, bool, bool, np.int64),
    )  # fmt: skip
    np.testing.assert_array_equal(running, np.flatnonzero(state["stage"] == Stage.TRIAL))
    return state, cells, success, wrong


def _left_over(size: int, *dtypes: type) -> list[np.ndarray]:
    """Work arrays holding what an earlier month left in them."""
    return [np.random.default_rng(0).integers(0, 2, size).astype(dtype) for dtype in dtypes]


def test_finish_trials_counts_down_and_reads_the_finished() -> None:
    _, stage, _ = _population(9, n=200)
    left = np.random.default_rng(2).integers(0, 4, stage.shape).astype(np.int8)
    effect = np.where(np.arange(stage.shape[1]) % 2 == 0, 1.0, 0.0)[None, :] * np.ones(stage.shape)
    state, cells, success, wrong = _finish(stage, left, effect)
    expected_left = left.copy()
    expected_left[stage == Stage.TRIAL] -= 1
    finished = np.flatnonzero((stage == Stage.TRIAL) & (expected_left <= 0))
    np.testing.assert_array_equal(cells, finished)
    np.testing.assert_array_equal(state["left"], expected_left)
    assert not wrong.any()  # complexity 0: never implemented wrongly
    works = effect.reshape(-1)[cells] > 0.5
    np.testing.assert_array_equal(success, works)
    after = state["stage"].reshape(-1)
    assert (after[cells[works]] == Stage.ADOPTED).all()
    assert (state["holders"].reshape(-1)[cells[works]] == 4).all()
    assert (after[cells[~works]] == Stage.REJECTED).all()
    assert state["knows"].reshape(-1)[cells[~works]].all()
    untouched = np.ones(stage.size, dtype=bool)
    untouched[cells] = False
    np.testing.assert_array_equal(after[untouched], stage.reshape(-1)[untouched])


def test_finish_trials_without_story_fail_by_complexity() -> None:
    stage = np.full((2000, 2), int(Stage.TRIAL), dtype=np.int8)
    left = np.ones(stage.shape, dtype=np.int8)
    effect = np.ones(stage.shape)
    story = np.zeros(stage.shape, dtype=bool)
    story[:, 1] = True  # a story behind the trial: implemented right
    _, cells, success, wrong = _finish(
        stage, left, effect, trial_story=story, complexity=0.5, cut=0.4
    )
    c = cells % 2
    assert not wrong[c == 1].any() and success[c == 1].all()
    share = wrong[c == 0].mean()  # chance 0.5 * (1 - 0.4)
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 2000)
    np.testing.assert_array_equal(success, ~wrong)  # wrongly done shows no effect
    # support cuts the chance only while the coaching lasts (odd rows: it ended)
    _, cells, _, wrong = _finish(
        stage, left, effect, trial_story=story, complexity=0.5, cut=0.4, coached=False
    )
    row, c = np.divmod(cells, 2)
    for rows, chance in ((row % 2 == 0, 0.3), (row % 2 == 1, 0.5)):
        got = wrong[rows & (c == 0)].mean()
        assert abs(got - chance) < 4 * np.sqrt(chance * (1 - chance) / 1000)
    # with nobody reading the data, every trial ends in adoption
    state, _, success, _ = _finish(stage, left, effect, complexity=1.0, read=False)
    assert success.all() and (state["stage"] == Stage.ADOPTED).all()


def test_finish_trials_stories_handed_or_documented() -> None:
    stage = np.full((3000, 2), int(Stage.TRIAL), dtype=np.int8)
    left = np.ones(stage.shape, dtype=np.int8)
    story = np.zeros(stage.shape, dtype=bool)
    story[:, 0] = True
    state, *_ = _finish(stage, left, np.ones(stage.shape), trial_story=story, documentation=0.25)
    assert state["story"][:, 0].all()  # handed with the news
    assert abs(state["story"][:, 1].mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 3000)


def test_census_matches_numpy() -> None:
    rng, stage, _ = _population(11, n=120, k=9)
    holders = rng.integers(0, 12, stage.shape).astype(np.int16)
    effect = rng.normal(size=stage.shape).astype(np.float32)
    staff = rng.integers(5, 15, 120)
    best = rng.random(120) * 20 + 0.1
    country = rng.integers(0, 3, 120)
    district = rng.integers(0, 5, 120)
    group_of = np.stack([district, 5 + country])
    qoc, sums, in_use, n_trial = census(
        stage, holders, effect, 1.0 / (staff * best), country, 3, group_of, 8
    )
    use = _in_use(stage)
    realised = (holders * effect.astype(np.float64)).sum(1)
    np.testing.assert_allclose(qoc, np.clip(realised / staff / best, 0, 1))
    assert 0 < qoc.mean() < 1  # the clip binds on both sides for some facilities
    np.testing.assert_allclose(sums, np.bincount(group_of.reshape(-1), np.tile(qoc, 2), 8))
    for c in range(3):
        np.testing.assert_array_equal(in_use[c], use[country == c].sum(0))
    assert n_trial == (stage == Stage.TRIAL).sum()


def _review(stage, chance, threshold, seed=5, noise=0.0):
    n, k = stage.shape
    stage = stage.copy()
    knows = np.zeros((n, k), dtype=bool)
    holders = np.full((n, k), 3, dtype=np.int16)
    effect = np.ones((n, k), dtype=np.float32)
    dropped, reviewed = review_in_use(
        stage, knows, holders, effect, chance, np.full(n, noise),
        np.full(n, threshold), _streams(seed), np.full(stage.size, -1, dtype=np.int64),
    )  # fmt: skip
    return stage, knows, holders, dropped, reviewed


@pytest.mark.parametrize("chance", [0.02, 0.3, 1.0])
def test_review_reaches_cells_in_use_at_their_chance(chance: float) -> None:
    stage = np.full((4000, 10), int(Stage.AWARE), dtype=np.int8)
    stage[:, ::2] = Stage.ADOPTED
    stage[:, 1] = Stage.INSTITUTIONALISED
    per_facility = np.where(np.arange(4000) < 2000, chance, chance / 2)
    # a threshold above every effect: every cell reviewed is dropped
    after, knows, holders, dropped, reviewed = _review(stage, per_facility, threshold=2.0)
    assert dropped.size == reviewed
    f, c = np.divmod(dropped, 10)
    assert np.isin(stage[f, c], USE).all()
    assert (np.diff(dropped) > 0).all()
    assert (after.reshape(-1)[dropped] == Stage.REJECTED).all()
    assert knows.reshape(-1)[dropped].all() and (holders.reshape(-1)[dropped] == 0).all()
    assert (after != stage).sum() == dropped.size
    for half, p in ((f < 2000, chance), (f >= 2000, chance / 2)):
        cells = 2000 * 6
        expected, sd = cells * p, np.sqrt(cells * p * (1 - p))
        assert abs(half.sum() - expected) <= 4 * sd + 1e-9


def test_review_drops_only_what_the_data_show_failing() -> None:
    stage = np.full((3000, 4), int(Stage.ADOPTED), dtype=np.int8)
    chance = np.ones(3000)
    # effect 1, noise sd 1, threshold 1: half of the reviews read as failing
    after, _, _, dropped, reviewed = _review(stage, chance, threshold=1.0, noise=1.0)
    assert reviewed == stage.size
    assert abs(dropped.size / reviewed - 0.5) < 4 * np.sqrt(0.25 / reviewed)
    assert _review(stage, chance, threshold=0.5)[3].size == 0  # no noise: 1 > 0.5


def test_review_with_no_chance_reviews_nothing() -> None:
    stage = np.full((10, 3), int(Stage.ADOPTED), dtype=np.int8)
    assert _review(stage, np.zeros(10), threshold=2.0)[4] == 0


def test_teaching_and_institutionalisation_rates() -> None:
    n, k, staff = 3000, 4, 10
    stage = np.full((n, k), int(Stage.ADOPTED), dtype=np.int8)
    stage[:, 3] = Stage.AWARE
    holders = np.full((n, k), 2, dtype=np.int16)
    holders[:, 3] = 0
    teach = np.full(n, 0.5)
    settle = np.full(n, 0.2)
    done = teach_and_institutionalise(
        stage, holders, np.full(n, staff, dtype=np.int64), teach, settle, _streams(1)
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
    a = _review(stage, chance, threshold=2.0, seed=7)[3]
    b = _review(stage, chance, threshold=2.0, seed=7)[3]
    np.testing.assert_array_equal(a, b)
    # numba draws from the generator's own bit generator: numpy continues the stream
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    n = 500
    holders = np.zeros((n, 6), dtype=np.int16)
    teach, settle = np.zeros(n), np.full(n, 1.0)
    teach_and_institutionalise(
        stage.copy(), holders, np.full(n, 4, dtype=np.int64), teach, settle, TypedList([rng])
    )
    twin.random(3000)  # one draw per adopted cell at chance 1, none for teaching at rate 0
    assert rng.random() == twin.random()


def _exclusive_ties(degrees: list[int]):
    """Tellers 0..T-1, teller t tied to ``degrees[t]`` receivers of its own (one country)."""
    import scipy.sparse as sp

    tellers = len(degrees)
    receivers = tellers + np.arange(sum(degrees))
    source = np.repeat(np.arange(tellers), degrees)
    n = tellers + receivers.size
    a = sp.coo_matrix((np.ones(receivers.size), (source, receivers)), shape=(n, n)).tocsr()
    return (a + a.T).tocsr(), source


def _told(ties, stage, story, country, chance, seed, tells=None):
    tells = (np.array([1.0]), np.array([1.0])) if tells is None else tells
    tellers = np.flatnonzero(has_news(stage, country, *tells))
    return told_along_ties(
        ties.indptr, ties.indices, tellers, np.asarray(chance, dtype=float), stage, story,
        country, *tells, np.random.default_rng(seed),
    )  # fmt: skip


@pytest.mark.parametrize("p", [0.02, 0.1, 0.3])
def test_told_along_ties_uses_each_tie_at_its_chance(p: float) -> None:
    # Each receiver has a single tie, to its teller: it heard 1 when that tie was used.
    degrees = [1, 3, 1, 7, 2, 1, 10, 1, 4, 10]  # 40 ties, many gaps crossing tellers
    ties, owner = _exclusive_ties(degrees)
    n, t = ties.shape[0], len(degrees)
    stage = np.zeros((n, 1), dtype=np.int8)
    stage[:t] = int(Stage.ADOPTED)
    story, country = np.zeros((n, 1), dtype=bool), np.zeros(n, dtype=np.int64)
    repeats = 10_000
    hits, counts = np.zeros(40), np.empty(repeats)
    for r in range(repeats):
        rows, heard, _, _, spoke, used, told_ties = _told(ties, stage, story, country, [p], r)
        assert (np.diff(rows) > 0).all() and (rows >= t).all() and (heard == 1).all()
        assert used == rows.size and told_ties.tolist() == [40]
        np.testing.assert_array_equal(np.flatnonzero(spoke), np.unique(owner[rows - t]))
        hits[rows - t] += 1
        counts[r] = used
    share = hits / repeats
    tolerance = 4.5 * np.sqrt(p * (1 - p) / repeats)
    assert np.abs(share - p).max() < tolerance, f"per-tie rates {share.min()}-{share.max()}"
    assert abs(counts.var() - 40 * p * (1 - p)) < 0.06 * 40 * p * (1 - p) + 0.05


def test_told_along_ties_sums_what_the_tellers_offer_country_by_country() -> None:
    import scipy.sparse as sp

    rng, stage, story = _population(21, n=200, k=6)
    stage[:50] = int(Stage.UNKNOWN)  # a quarter have nothing to tell
    stage[100:150] = int(Stage.UNKNOWN)
    country = np.repeat([0, 1], 100)
    blocks = [sp.random(100, 100, density=0.1, random_state=s, format="csr") for s in (3, 4)]
    half = sp.block_diag(blocks, format="csr")
    ties = ((half + half.T) > 0).astype(np.float32).tocsr()  # symmetric, within countries
    tells = np.array([0.9, 0.4]), np.array([0.7, 0.2])
    chance = [1.0, 0.0]  # every tie of country A is used, none of country B
    rows, heard, with_story, failure, spoke, used, told_ties = _told(
        ties, stage, story, country, chance, 5, tells
    )
    news = has_news(stage, country, *tells)
    degree = np.diff(ties.indptr)
    np.testing.assert_array_equal(told_ties, np.bincount(country[news], degree[news], 2))
    # all ties of country A's tellers, grouped by receiver
    a = ties.multiply(news[None, :] & (country == 0)[None, :]).tocsr()
    a.eliminate_zeros()
    receiver = np.repeat(np.arange(200), np.diff(a.indptr))
    np.testing.assert_array_equal(rows, np.unique(receiver))
    assert used == a.nnz and (country[rows] == 0).all()
    expected = offer_sums(
        stage, story, country, *tells, a.indices, np.searchsorted(rows, receiver), rows.size
    )
    for got, want in zip((heard, with_story, failure), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_array_equal(spoke, news & (country == 0) & (degree > 0))
    again = _told(ties, stage, story, country, [0.3, 0.3], 5, tells)
    assert again[5] == _told(ties, stage, story, country, [0.3, 0.3], 5, tells)[5]


def test_parallel_receive_does_not_depend_on_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import numba

    import sim.model.streams
    from sim.model.model import LearningHealthSystem
    from sim.model.schema import Scenario

    scenario = Scenario(
        name="threads", months=8, countries=[{"name": "A", "districts": 4, "facilities": 300}]
    )
    monkeypatch.setattr(sim.model.streams, "PARALLEL_FROM", 300)  # the blocks of large models
    assert sim.model.streams.block_count(300) == sim.model.streams.BLOCKS
    results = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            model = LearningHealthSystem(scenario, replicate=0)
            model.run()
        finally:
            numba.set_num_threads(before)
        results.append((model.population.stage.copy(), model.population.first_source.copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_lose_holders_is_hypergeometric() -> None:
    n = 20_000
    stage = np.full((n, 2), int(Stage.ADOPTED), dtype=np.int8)
    stage[:, 1] = Stage.INSTITUTIONALISED  # out of reach of turnover
    holders = np.full((n, 2), 4, dtype=np.int16)
    holders[: n // 2, 0] = 1  # a single holder in half the facilities
    story = np.ones((n, 2), dtype=bool)
    staff = np.full(n, 10)
    leavers = np.where(np.arange(n) % 4 == 0, 0, 3)  # a quarter lose nobody
    lost = lose_holders(stage, holders, story, staff, leavers, _streams(6))
    gone = np.where(np.arange(n) < n // 2, 1, 4) - holders[:, 0]
    leaving = leavers > 0
    assert (gone[~leaving] == 0).all()
    four = leaving & (np.arange(n) >= n // 2)  # H = 4 of S = 10, L = 3
    mean, var = 3 * 0.4, 3 * 0.4 * 0.6 * 7 / 9
    assert abs(gone[four].mean() - mean) < 4 * np.sqrt(var / four.sum())
    one = leaving & (np.arange(n) < n // 2)  # the single holder leaves with chance 3/10
    assert abs(gone[one].mean() - 0.3) < 4 * np.sqrt(0.21 / one.sum())
    assert lost == (stage[:, 0] == Stage.LOST).sum() == (holders[:, 0] == 0).sum()
    assert not story[stage[:, 0] == Stage.LOST, 0].any()
    assert (stage[:, 1] == Stage.INSTITUTIONALISED).all() and (holders[:, 1] == 4).all()


def test_turn_away_fills_each_group_to_capacity_at_random() -> None:
    groups = np.repeat(np.arange(4), [5, 12, 3, 30])
    capacity = np.array([5, 4, 10, 0])
    rng = np.random.default_rng(2)
    away = kernels.turn_away(groups, capacity, rng)
    kept = np.bincount(groups[~away], minlength=4)
    np.testing.assert_array_equal(kept, [5, 4, 3, 0])
    # who stays in an over-full group is random: each member stays with chance 4/12
    stays = np.zeros(12)
    for _ in range(3000):
        stays += ~kernels.turn_away(groups, capacity, rng)[5:17]
    assert np.allclose(stays / 3000, 4 / 12, atol=0.04)


def test_models_in_threads_side_by_side_match_one_after_the_other() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sim.model.model import LearningHealthSystem
    from sim.model.schema import Scenario

    scenario = Scenario(
        name="threads", months=6, countries=[{"name": "A", "districts": 3, "facilities": 200}]
    )

    def run(replicate: int) -> np.ndarray:
        model = LearningHealthSystem(scenario, replicate=replicate)
        model.run()
        return model.population.stage.copy()

    alone = [run(r) for r in (0, 1, 2, 3)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run, (0, 1, 2, 3)))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_warm_up_compiles_every_kernel() -> None:
    # in a fresh process, so that no other test has compiled anything
    import subprocess
    import sys

    script = """
from sim.runs.warmup import compiled_kernels, warm_up
warm_up()
kernels = compiled_kernels()
assert len(kernels) >= 13, sorted(kernels)
for name, dispatcher in kernels.items():
    if not dispatcher.signatures:
        print(name)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [], f"not compiled by the warm-up: {done.stdout.split()}"
