"""Requests for support: raised from failed trials, answered by coaching, or not given."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config.paths import merge
from sim.model.mechanisms.support_requests import (
    answer_first,
    pending_requests,
    rank_within,
    update_streaks,
)
from sim.model.model import LearningHealthSystem
from sim.model.schema import Scenario
from sim.model.streams import Streams
from tests.builders import small

from regression import WITHOUT_SUPPORT_REQUESTS, compute, differences

OUTPUTS = ["support_requests", "support_answered", "support_not_given"]
#: Many requests: every failed trial asks, and few trials succeed.
STRUGGLING = {"support_requests": {"failures_to_ask": 1}, "trials": {"success_threshold": 1.0}}


def tiny(country: dict[str, Any] | None = None, **top: Any) -> Scenario:
    """A 120-facility, 4-district country over 24 months, with ``country`` changes."""
    return small(merge({"districts": 4, "facilities": 120}, country or {}), **{"months": 24, **top})


def run(scenario: Scenario, replicate: int = 0) -> tuple[LearningHealthSystem, pd.DataFrame]:
    model = LearningHealthSystem(scenario, replicate)
    model.run()
    return model, pd.DataFrame(model.recorder.rows)


def totals(rows: pd.DataFrame) -> dict[str, int]:
    return {column: int(rows[column].sum()) for column in OUTPUTS}


# --------------------------------------------------------------------------- switched off
def test_switched_off_the_model_is_as_it_was_without_requests():
    expected = json.loads(WITHOUT_SUPPORT_REQUESTS.read_text())
    problems = differences(expected, compute(support_requests=False), rel=0.0)
    assert not problems, (
        "with support_requests.enabled false the regression runs must equal "
        f"{WITHOUT_SUPPORT_REQUESTS.name} exactly:\n" + "\n".join(problems)
    )


def test_switched_off_every_stream_draws_as_without_the_mechanism():
    off = tiny(merge({"support_requests": {"enabled": False}}, STRUGGLING))
    model, rows = run(off)
    bare = LearningHealthSystem(off, 0)
    bare.mechanisms = tuple(m for m in bare.mechanisms if m.name != "support_requests")
    bare.run()
    assert totals(rows) == dict.fromkeys(OUTPUTS, 0), "nothing is raised when switched off"
    assert ("support_requests", "priority") not in model.streams.used, "no tie was drawn"
    assert model.streams.trace() == bare.streams.trace(), "every stream drew the same numbers"
    pd.testing.assert_frame_equal(rows, pd.DataFrame(bare.recorder.rows))


# --------------------------------------------------------------------------- answered
@pytest.mark.parametrize(
    "coaching", [{"enabled": False}, {"capacity": 0}], ids=["coaching off", "capacity 0"]
)
def test_without_coaching_every_request_ends_not_given(coaching):
    model, rows = run(tiny(merge(STRUGGLING, {"channels": {"coaching": coaching}})))
    t = totals(rows)
    assert t["support_requests"] > 20, f"a struggling country asks often: {t}"
    assert t["support_answered"] == 0, f"nobody visits, so nothing is answered: {t}"
    assert t["support_not_given"] + pending_requests(model) == t["support_requests"], (
        f"every request is not given or still waits at the end: {t}"
    )


def test_more_coaching_answers_more_requests():
    shares, answered = [], []
    for capacity in (0, 1, 4):
        _, rows = run(
            tiny(
                merge(
                    STRUGGLING,
                    {
                        "support_requests": {"patience_months": 1},
                        "channels": {"coaching": {"capacity": capacity}},
                    },
                )
            )
        )
        t = totals(rows)
        answered.append(t["support_answered"])
        shares.append(t["support_answered"] / t["support_requests"])
    assert answered[0] < answered[1] < answered[2], f"answered by capacity 0, 1, 4: {answered}"
    assert shares[0] < shares[1] < shares[2], f"share answered by capacity 0, 1, 4: {shares}"


def test_a_high_failure_rate_raises_more_requests():
    raised = {}
    for threshold in (-1.0, 1.0):
        _, rows = run(tiny({"trials": {"success_threshold": threshold}}))
        raised[threshold] = totals(rows)["support_requests"]
    assert raised[1.0] > 3 * raised[-1.0], f"requests by success threshold: {raised}"


def test_coaching_serves_pending_requests_first_within_its_visits():
    scenario = tiny(merge(STRUGGLING, {"channels": {"coaching": {"capacity": 2}}}), months=18)
    model = LearningHealthSystem(scenario, 0)
    w = model.world
    binding = served_all = 0
    for _ in range(scenario.months):
        since = model.population.request_since.copy()
        model.step()
        answered = model.month_context.answered
        assert not (answered & (since == 0)).any(), "only requests raised before are answered"
        assert (answered <= model.month_context.coached).all(), "an answer is a visit"
        visits = model.system.coaching_visits
        per_district = np.bincount(w.facility_district[answered], minlength=w.n_districts)
        assert (per_district <= visits).all(), (
            f"month {model.month}: answered {per_district} exceed the visits {visits}"
        )
        for d in range(w.n_districts):
            waiting = np.flatnonzero((since > 0) & (w.facility_district == d))
            if not waiting.size:
                continue
            if visits[d] >= waiting.size:
                served_all += 1
                assert answered[waiting].all(), f"month {model.month}: a district left a request"
            else:
                binding += 1
                done, left = waiting[answered[waiting]], waiting[~answered[waiting]]
                assert done.size == visits[d], "every visit went to a request"
                assert since[done].max() <= since[left].min(), "oldest requests first"
    assert binding and served_all, f"both cases were seen: {binding} binding, {served_all} not"


# --------------------------------------------------------------------------- invariants
@settings(max_examples=12, deadline=None)
@given(
    failures_to_ask=st.integers(1, 4),
    patience=st.integers(1, 6),
    capacity=st.integers(0, 3),
    interval=st.integers(1, 4),
    threshold=st.floats(-0.5, 1.5),
    replicate=st.integers(0, 3),
)
def test_requests_raised_are_answered_not_given_or_still_pending(
    failures_to_ask, patience, capacity, interval, threshold, replicate
):
    country = {
        "districts": 3,
        "facilities": 60,
        "support_requests": {"failures_to_ask": failures_to_ask, "patience_months": patience},
        "trials": {"success_threshold": threshold},
        "channels": {"coaching": {"capacity": capacity, "interval_months": interval}},
    }
    model, rows = run(small(country, months=20, practices={"count": 6}), replicate)
    t = totals(rows)
    assert t["support_requests"] == (
        t["support_answered"] + t["support_not_given"] + pending_requests(model)
    ), f"raised = answered + not given + pending: {t}, pending {pending_requests(model)}"
    since = model.population.request_since
    assert ((since == 0) | (model.month - since < patience)).all(), "none waits past patience"


def _streaks_one_by_one(
    streak: np.ndarray, facilities: np.ndarray, success: np.ndarray, open_to: np.ndarray
) -> list[int]:
    """The streak rule, facility by facility (the reference for the vectorised one)."""
    reached = []
    for f in sorted(set(facilities.tolist())):
        if open_to[f] == 0:
            continue
        mine = success[facilities == f]
        streak[f] = 0 if mine.any() else streak[f] + mine.size
        if streak[f] >= open_to[f]:
            streak[f] = 0
            reached.append(f)
    return reached


@given(
    data=st.lists(st.tuples(st.integers(0, 7), st.booleans()), max_size=30),
    start=st.lists(st.integers(0, 5), min_size=8, max_size=8),
    open_to=st.lists(st.integers(0, 4), min_size=8, max_size=8),
)
def test_streaks_follow_the_rule_facility_by_facility(data, start, open_to):
    facilities = np.array(sorted(f for f, _ in data), dtype=np.int64)
    success = np.array([s for _, s in sorted(data)], dtype=bool)
    limits = np.array(open_to)
    fast, slow = np.array(start), np.array(start)
    got = update_streaks(fast, facilities, success, limits)
    assert got.tolist() == _streaks_one_by_one(slow, facilities, success, limits)
    assert fast.tolist() == slow.tolist()


@given(
    since=st.lists(st.integers(0, 5), min_size=12, max_size=12),
    visits=st.lists(st.integers(0, 3), min_size=3, max_size=3),
)
def test_first_in_line_are_the_oldest_pending_within_the_visits(since, visits):
    since_a, visits_a = np.array(since), np.array(visits)
    district = np.repeat(np.arange(3), 4)
    streams = Streams(11, 0)
    streams.month = 7
    first = answer_first(since_a, district, visits_a, streams)
    assert (since_a[first] > 0).all(), "only pending requests"
    assert np.all(np.diff(district[first]) >= 0), "ordered by district"
    for d in range(3):
        mine = first[district[first] == d]
        waiting = np.flatnonzero((since_a > 0) & (district == d))
        assert mine.size == min(visits_a[d], waiting.size), f"district {d} fills its visits"
        left = np.setdiff1d(waiting, mine)
        if mine.size and left.size:
            assert since_a[mine].max() <= since_a[left].min(), "oldest first"
        assert np.all(np.diff(since_a[mine]) >= 0), "oldest first within the district"


def test_rank_within_counts_places_in_each_run():
    assert rank_within(np.array([0, 0, 0, 3, 5, 5])).tolist() == [0, 1, 2, 0, 0, 1]
    assert rank_within(np.zeros(0, dtype=np.int64)).size == 0


# --------------------------------------------------------------------------- reporting
def test_support_not_given_stands_beside_the_loss_ledger(tmp_path):
    from sim.cli.main import _report
    from sim.model.ledger import CAUSES
    from sim.planning.brief import _ledger_section
    from sim.reporting.plots import loss_ledger_figure

    summary = pd.DataFrame(
        {**{f"lost_{c}": [1.0, 2.0] for c in CAUSES}, "support_not_given_total": [4.0, 6.0]}
    )
    axes = loss_ledger_figure(summary).axes[0]
    assert "5 requests for support not given" in axes.get_xlabel(), axes.get_xlabel()
    assert len(axes.patches) == len(CAUSES), "requests are no bar of the ledger"
    older = loss_ledger_figure(summary.drop(columns="support_not_given_total")).axes[0]
    assert "support" not in older.get_xlabel(), "results without the column plot as before"
    text = _report(summary, tmp_path, tiny(), 2, {})
    assert "requests for support not given, median per run  5" in text, text
    table = pd.DataFrame(
        {
            "scenario": ["a"],
            **{f"lost_{c}_share": [0.2] for c in CAUSES},
            "support_not_given_median": [7.0],
        }
    )
    section = _ledger_section(table)
    assert "requests for support not given" in section and ">7<" in section, section
