"""Outcomes over time against hand-computed small cases."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.planning.outcomes import (
    SustainmentWindow,
    kept_share,
    months_to_coverage,
    qoc_point_months,
    support_end_month,
    sustainment_window,
)


def curve(replicate, values):
    return pd.DataFrame({"replicate": replicate, "month": range(1, len(values) + 1), "qoc": values})


def test_area_between_curves_is_paired_by_replicate():
    scenario = pd.concat([curve(0, [0.1, 0.3, 0.5]), curve(1, [0.2, 0.2, 0.2])])
    baseline = pd.concat([curve(0, [0.1, 0.2, 0.2]), curve(1, [0.3, 0.3, 0.3])])
    area = qoc_point_months(scenario, baseline)
    # replicate 0: 0 + 10 + 30 points; replicate 1: -10 in each of 3 months
    assert area.loc[0] == pytest.approx(40.0) and area.loc[1] == pytest.approx(-30.0)


def test_area_uses_only_the_months_both_ran():
    area = qoc_point_months(curve(0, [0.5, 0.5, 0.5, 0.9]), curve(0, [0.4, 0.4, 0.4]))
    assert area.loc[0] == pytest.approx(30.0), "month 4 has no baseline to pair with"


def test_months_to_coverage_counts_never_as_later_than_the_run():
    table = pd.DataFrame(
        {
            "replicate": [0] * 4 + [1] * 4,
            "effect": [0.2, 0.1, 0.3, -0.1] * 2,
            "months_to_80": [5, 7, 30, 1, 5, None, None, 1],
        }
    )
    months = months_to_coverage(table, 80)
    assert months.loc[0] == 7.0, "median of 5, 7, 30 (the harmful practice does not count)"
    assert math.isinf(months.loc[1]), "two of three effective practices never get there"


def test_sustainment_without_an_end_reads_the_last_twelve_months():
    window = sustainment_window(36, None)
    assert (window.peak_until, window.kept_from) == (36, 25)
    values = [0.1] * 12 + [0.8] * 12 + [0.4] * 12
    share = kept_share(curve(0, values), window)
    assert share.loc[0] == pytest.approx(0.5), "mean 0.4 over a peak of 0.8"
    assert "months 25-36" in window.describe(36)


def test_sustainment_reads_a_programme_end_when_there_is_one():
    programme = SimpleNamespace(name="coaching", start=1, end=24)
    scenario = SimpleNamespace(countries=[SimpleNamespace(programmes=[programme])])
    end = support_end_month(scenario)
    window = sustainment_window(36, end)
    assert window == SustainmentWindow(peak_until=24, kept_from=25, support_end=24)
    values = list(np.linspace(0.1, 0.6, 24)) + [0.3] * 12
    assert kept_share(curve(0, values), window).loc[0] == pytest.approx(0.5)
    assert "after support ends in month 24" in window.describe(36)
    ended_at_the_end = sustainment_window(36, 36)
    assert ended_at_the_end.support_end is None, "nothing after the end to read"


def test_a_zero_peak_gives_no_share():
    assert kept_share(curve(0, [0.0, 0.0]), sustainment_window(2, None)).isna().all()


def test_the_system_changes_listed_are_the_triple_loop_decisions_of_the_runs() -> None:
    from sim.planning.loop_changes import system_changes
    from sim.runs.simulation import run_replicate
    from tests.builders import small

    scenario = small({"national": {"capacity": 3}}, months=48)
    results = [run_replicate(scenario, r) for r in (0, 1)]
    decisions = pd.concat(
        [r.decisions.assign(replicate=r.replicate) for r in results], ignore_index=True
    )
    table = system_changes(decisions, 2)
    changes = sum(r.summary["triple_loop_changes_total"] for r in results)
    assert changes > 0 and not table.empty
    reviewed = decisions[decisions["reason"].str.contains("lessons lost since the last review")]
    assert len(reviewed) == changes, "every triple-loop change is a decision with its reason"
    assert set(table["decision"]) == set(reviewed["decision"])
    assert table["replicates"].between(1, 2).all() and table["share"].le(1).all()
    assert system_changes(decisions.iloc[0:0], 2).empty
