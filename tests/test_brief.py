"""The brief's bottom line and the loop summary, from hand-made tables."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from sim.planning.brief import bottom_line
from sim.planning.loop_changes import describe_loop_changes, loop_changes


def table(rows):
    base = {
        "currency": "USD",
        "wtp_per_point": 1000.0,
        "effect_measure": "mean QoC over the run",
        "replicates": 10,
        "same_as": "",
        "frontier_next": "",
        "icer_vs_next": np.nan,
        "best_buy": False,
        "p_most_cost_effective": 0.0,
        "p_effect_gain_positive": 0.0,
        "effect_gain_points_mean": 0.0,
        "cost_diff_vs_baseline_mean": 0.0,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def test_bottom_line_names_the_option_its_ratio_and_how_sure():
    t = table(
        [
            {"scenario": "base"},
            {
                "scenario": "coach",
                "best_buy": True,
                "frontier_next": "base",
                "icer_vs_next": 400.0,
                "effect_gain_points_mean": 5.0,
                "cost_diff_vs_baseline_mean": 2000.0,
                "p_most_cost_effective": 0.8,
                "p_effect_gain_positive": 0.9,
            },
            {"scenario": "copy", "same_as": "coach"},
        ]
    )
    line = bottom_line(t, "base")
    assert line.startswith("At 1,000 USD per QoC point, coach (copy give the same results)")
    assert "400 USD per point against base" in line
    assert "best buy in 80 % of 10 paired replicates" in line
    assert "better than base in 90 %" in line


def test_cheaper_and_better_is_said_in_words_never_as_a_negative_ratio():
    t = table(
        [
            {"scenario": "base"},
            {
                "scenario": "lean",
                "best_buy": True,
                "effect_gain_points_mean": 2.0,
                "cost_diff_vs_baseline_mean": -1372.0,
                "p_most_cost_effective": 1.0,
                "p_effect_gain_positive": 1.0,
            },
        ]
    )
    line = bottom_line(t, "base")
    assert "cheaper and better than base" in line and "1,372 USD less" in line
    assert "-" not in line, line


def test_bottom_line_keeps_the_baseline_when_nothing_is_worth_its_cost():
    t = table(
        [
            {"scenario": "base", "best_buy": True, "p_most_cost_effective": 0.7},
            {"scenario": "dear", "frontier_next": "base", "icer_vs_next": 5000.0},
        ]
    )
    line = bottom_line(t, "base")
    assert line.startswith("At 1,000 USD per QoC point, keep base")
    assert "dear, would cost 5,000 USD per point" in line and "70 %" in line


def scenario(name, routing, interval, changes):
    months = len(routing)
    series = pd.DataFrame(
        {
            "replicate": 0,
            "month": range(1, months + 1),
            "triple_loop_changes": changes,
            "double_loop_shifts": 0,
            "guidance_withdrawn": 0,
            "routing_free_share": [1.0 if r == "free" else 0.0 for r in routing],
            "session_interval_mean": interval,
            "messaging_on_share": 0.0,
            "coaching_weight_mean": 1.0,
        }
    )
    countries = pd.DataFrame(
        {
            "replicate": 0,
            "month": range(1, months + 1),
            "country": "A",
            "routing": routing,
            "session_interval_months": interval,
        }
    )
    return SimpleNamespace(name=name, timeseries=series, countries=countries)


def test_loop_changes_compare_the_first_month_with_the_last():
    moved = scenario(
        "moved", ["centralised"] * 3 + ["free"] * 3, [3, 3, 3, 2, 2, 2], [0, 0, 0, 2, 0, 0]
    )
    still = scenario("still", ["centralised"] * 6, [3] * 6, [0] * 6)
    loops = loop_changes([moved, still], [0]).set_index("scenario")
    assert loops.loc["moved", "routing_to_free_replicates"] == 1
    assert loops.loc["moved", "session_interval_changed_replicates"] == 1
    assert loops.loc["moved", "first_triple_change_month_median"] == 4
    assert loops.loc["moved", "triple_loop_changes_median"] == 2
    assert loops.loc["still", "routing_to_free_replicates"] == 0
    text = describe_loop_changes(loops.loc["moved"])
    assert "Routing went from centralised to free in 1 of 1 replicates" in text
    assert "months between learning sessions: 3.0 in the first month, 2.0 in the last" in text
    assert describe_loop_changes(loops.loc["still"]) == "The loops changed nothing during the runs."
