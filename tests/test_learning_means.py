"""Learning by means and level: every flow counted once, under one means and level."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sim.metrics.learning_means import LEVELS, MEANS, ROUTES, learning_by_means, means_table
from sim.model.schema import Scenario
from sim.runs.runner import run_replicate

PASSED = [r.column for r in ROUTES if r.quantity == "lessons" and r.column != "lessons_generated"]


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    scenario = Scenario(
        name="means",
        months=30,
        countries=[
            {"name": "A", "districts": 3, "facilities": 60, "learning_centres": {"count": 1},
             "national": {"routing": "free"}},
            {"name": "B", "districts": 3, "facilities": 60,
             "national": {"routing": "free"}, "channels": {"district_exchange": {"enabled": True}}},
        ],
        global_links=[("A", "B")],
    )  # fmt: skip
    rows = [run_replicate(scenario, r).summary for r in range(2)]
    return pd.DataFrame([{**row, "replicate": r} for r, row in enumerate(rows)])


def test_lessons_passed_at_every_level_add_up_to_the_ledger(summary: pd.DataFrame) -> None:
    for _, row in summary.iterrows():
        assert sum(row[c] for c in PASSED) == row["lessons_passed"]
        assert row["lessons_passed"] > 0


def test_every_level_where_this_world_learns_shows_a_flow(summary: pd.DataFrame) -> None:
    lessons = means_table(summary, "lessons")
    practices = means_table(summary, "practices")
    assert lessons.loc["action", "facility"] == summary["lessons_generated"].median()
    # country A routes to its learning centre, B passes lessons between districts
    assert lessons.loc["information", "national"] > 0
    assert summary["lessons_passed_district_exchange_total"].max() > 0
    assert practices.loc["deliberation", "global"] > 0, "linked national bodies take guidance"
    reached = [
        c for c in summary.columns if c.startswith("reached_by_") and c != "reached_by_initial"
    ]
    total = learning_by_means(summary).groupby("replicate")["practices"].sum()
    by_hand = summary[reached].sum(axis=1) + summary["global_practices_taken_total"]
    assert total.tolist() == by_hand.tolist(), "every first reach counted once"


def test_the_table_names_every_means_and_level_once() -> None:
    assert {r.means for r in ROUTES} <= set(MEANS) and {r.level for r in ROUTES} <= set(LEVELS)
    assert len({r.column for r in ROUTES}) == len(ROUTES)
    assert all(r.basis for r in ROUTES), "each row states what it rests on"


def test_the_printed_table_keeps_its_columns_apart_at_large_counts() -> None:
    from sim.cli.main import _means_lines

    big = pd.DataFrame(
        {
            "replicate": [0],
            "reached_by_guidance": [1114.5],
            "national_items_processed_total": [2361.5],
            "lessons_generated": [10228.0],
        }
    )
    lines = _means_lines(big)
    assert lines[1].split() == list(LEVELS)
    for line in lines[2:]:
        cells = re.split(r"\s{2,}", line[4 + 13 :].strip())
        assert len(cells) == len(LEVELS), f"columns run together: {line!r}"
