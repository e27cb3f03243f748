"""The health-economic reading against known answers and its properties."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.planning.economics import (
    EXTENDED,
    FRONTIER,
    STRONG,
    acceptability,
    best_option,
    budget_by_year,
    efficiency_frontier,
    reading,
    wtp_grid,
)

# A hand-made table of six options (cost, effect in points), worked by hand:
# sorted by cost: O1 (0, 0), O2 (20, 2), O3 (50, 3), O4 (60, 5), O5 (70, 4), O6 (120, 6).
# O5 costs more than O4 and does worse: strongly dominated by O4.
# ICERs along O1-O2-O3-O4: 10, 30, 10; O3's 30 exceeds O4's 10 against it, so O3 is
# extendedly dominated (a mix of O2 and O4 buys more). Then O1-O2-O4-O6: 10, 40/3, 60.
TEXTBOOK = pd.DataFrame(
    {"cost": [0, 20, 50, 60, 70, 120], "effect": [0, 2, 3, 5, 4, 6]},
    index=["O1", "O2", "O3", "O4", "O5", "O6"],
)


def test_textbook_frontier_dominance_and_icers():
    f = efficiency_frontier(TEXTBOOK["cost"], TEXTBOOK["effect"])
    assert f["status"].to_dict() == {
        "O1": FRONTIER,
        "O2": FRONTIER,
        "O3": EXTENDED,
        "O4": FRONTIER,
        "O5": STRONG,
        "O6": FRONTIER,
    }
    assert f.loc["O5", "by"] == "O4"
    assert f.loc["O3", "by"] == "O2 and O4"
    assert f["next_option"].to_dict() == {
        "O1": "",
        "O2": "O1",
        "O3": "",
        "O4": "O2",
        "O5": "",
        "O6": "O4",
    }
    icers = f["icer_vs_next"]
    assert np.isnan(icers["O1"]) and np.isnan(icers["O3"]) and np.isnan(icers["O5"])
    assert icers[["O2", "O4", "O6"]].tolist() == pytest.approx([10.0, 40 / 3, 60.0])


def test_best_buy_follows_the_icers_along_the_frontier():
    cost, effect = TEXTBOOK["cost"], TEXTBOOK["effect"]
    assert best_option(effect, cost, 5.0) == "O1", "below the first ICER (10)"
    assert best_option(effect, cost, 12.0) == "O2", "between 10 and 40/3"
    assert best_option(effect, cost, 45.0) == "O4", "between 40/3 and 60"
    assert best_option(effect, cost, 100.0) == "O6"


def test_identical_options_are_read_as_one():
    cost = pd.Series({"A": 10.0, "B": 0.0, "C": 10.0})
    effect = pd.Series({"A": 4.0, "B": 1.0, "C": 4.0})
    f = efficiency_frontier(cost, effect)
    assert f.loc["C", "same_as"] == "A" and f.loc["A", "same_as"] == ""
    assert f.loc["C", "status"] == f.loc["A", "status"] == FRONTIER
    assert f.loc["C", "icer_vs_next"] == pytest.approx(10 / 3)


def test_equal_cost_lower_effect_is_strongly_dominated():
    f = efficiency_frontier(pd.Series({"a": 5.0, "b": 5.0}), pd.Series({"a": 1.0, "b": 2.0}))
    assert f.loc["a", "status"] == STRONG and f.loc["a", "by"] == "b"


def test_cheaper_and_better_is_said_in_words():
    assert reading(-1372.0, 0.5) == "cheaper and better"
    assert reading(10.0, -1.0) == "costs more, worse"
    assert reading(-10.0, -1.0) == "cheaper, worse"


def test_acceptability_from_paired_replicates_by_hand():
    # option b gains 1 point in replicate 0 and 3 in replicate 1, for 20 more
    effect = pd.DataFrame({"a": [0.0, 0.0], "b": [1.0, 3.0]})
    cost = pd.DataFrame({"a": [0.0, 0.0], "b": [20.0, 20.0]})
    curve = acceptability(effect, cost, [5.0, 10.0, 25.0]).pivot(
        index="wtp", columns="scenario", values="probability"
    )
    # at 5: b's net benefit is -15 and -5 (a wins both); at 10: -10 and +10;
    # at 25: +5 and +55 (b wins both)
    assert curve["b"].tolist() == [0.0, 0.5, 1.0]
    assert (curve.sum(axis=1) == 1.0).all(), "without ties the shares sum to 1"


def test_tied_options_each_count_a_replicate():
    effect = pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 2.0], "c": [0.0, 0.0]})
    cost = pd.DataFrame({"a": [3.0, 3.0], "b": [3.0, 3.0], "c": [0.0, 0.0]})
    shares = acceptability(effect, cost, [2.0]).set_index("scenario")["probability"]
    # replicate 0: a and b give 2 - 3 = -1 < 0 (c wins); replicate 1: 4 - 3 = 1 (a, b tie)
    assert shares.to_dict() == {"a": 0.5, "b": 0.5, "c": 0.5}


def test_budget_shortfall_is_the_amount_over_the_envelope():
    by_year = pd.DataFrame(
        {
            "replicate": [0, 0, 0, 0, 1, 1],
            "year": [0, 0, 1, 1, 0, 1],
            "cost": [700.0, 500.0, 300.0, 200.0, 900.0, 1100.0],
        }
    )
    table = budget_by_year(by_year, 1000.0).set_index(["replicate", "year"])
    assert table["cost"].tolist() == [1200.0, 500.0, 900.0, 1100.0]
    assert table["shortfall"].tolist() == [200.0, 0.0, 0.0, 100.0]
    assert (budget_by_year(by_year, None)["shortfall"] == 0).all()


def test_wtp_grid_covers_the_frontier_and_the_stated_value():
    grid = wtp_grid(1234.0, [10.0, 5000.0, float("nan")])
    assert grid[0] == 0 and 1234.0 in grid and grid[-1] == pytest.approx(7500.0)


# --------------------------------------------------------------------------- properties
options = st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 100)), min_size=1, max_size=9)


def frame(pairs):
    names = [f"o{i}" for i in range(len(pairs))]
    cost = pd.Series([float(c) for c, _ in pairs], index=names)
    effect = pd.Series([float(e) for _, e in pairs], index=names)
    return cost, effect


@settings(max_examples=200, deadline=None)
@given(options)
def test_frontier_rises_in_cost_effect_and_icer(pairs):
    cost, effect = frame(pairs)
    f = efficiency_frontier(cost, effect)
    on = f[(f["status"] == FRONTIER) & (f["same_as"] == "")].sort_values("cost")
    assert len(on) >= 1, "some option is always on the frontier"
    assert on["cost"].is_monotonic_increasing and on["cost"].is_unique
    assert on["effect"].is_monotonic_increasing and on["effect"].is_unique
    icers = on["icer_vs_next"].dropna()
    assert len(icers) == len(on) - 1
    assert (icers > 0).all(), "no negative or zero ratio on the frontier"
    assert (np.diff(icers.to_numpy()) >= -1e-9).all(), f"ICERs must not fall: {icers.tolist()}"


@settings(max_examples=200, deadline=None)
@given(options, st.floats(0, 200))
def test_the_best_buy_at_any_wtp_is_on_the_frontier(pairs, wtp):
    cost, effect = frame(pairs)
    f = efficiency_frontier(cost, effect)
    benefit = effect * wtp - cost
    on = f.index[f["status"] == FRONTIER]
    assert benefit[on].max() == pytest.approx(benefit.max(), abs=1e-6)
    assert f.loc[best_option(effect, cost, wtp), "status"] == FRONTIER


@settings(max_examples=100, deadline=None)
@given(options, st.floats(0.01, 200))
def test_dominated_options_are_never_best_in_a_single_replicate(pairs, wtp):
    cost, effect = frame(pairs)
    f = efficiency_frontier(cost, effect)
    curve = acceptability(effect.to_frame().T, cost.to_frame().T, [wtp])
    chance = curve.set_index("scenario")["probability"]
    assert chance.sum() >= 1.0, "some option is always the best buy"
    strongly = f.index[f["status"] == STRONG]
    assert (chance[strongly] == 0).all(), "a strongly dominated option never wins"
