"""Paired comparison: common random numbers, outputs, the offline report, bad input."""

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.model.model import LearningHealthSystem
from sim.planning.analysis import build_outputs
from sim.planning.compare import run_comparison

from builders import small

COUNTRY = {"name": "Testland", "districts": 6, "facilities": 120}


def write(tmp_path, stem, name=None, country=None, **top):
    document = {
        "name": name or stem,
        "seed": 99,
        "months": 12,
        "practices": {"count": 8},
        "countries": [{**COUNTRY, **(country or {})}],
        **top,
    }
    path = tmp_path / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A baseline without peer learning, a copy of it under another name, and one with it."""
    folder = tmp_path_factory.mktemp("compare")
    alone = {
        "channels": {"peer_network": {"enabled": False}, "learning_sessions": {"enabled": False}}
    }
    base = write(folder, "base", country=alone)
    twin = write(folder, "twin", name="the twin", country=alone)
    lever = write(folder, "lever", costs={"annual_budget": 1000.0})
    run_comparison(
        [base, twin, lever],
        baseline="base",
        replicates=6,
        out_dir=folder / "out",
        progress=False,
    )
    return folder / "out"


def test_identical_scenarios_give_zero_paired_difference_in_every_replicate(compared):
    a = pd.read_csv(compared / "scenarios" / "base" / "summary.csv").set_index("replicate")
    b = pd.read_csv(compared / "scenarios" / "the_twin" / "summary.csv").set_index("replicate")
    difference = b["qoc_final"] - a["qoc_final"]
    assert len(difference) == 6 and (difference == 0).all(), difference.tolist()
    assert a["qoc_final"].nunique() > 1, "replicates themselves must differ"
    table = pd.read_csv(compared / "comparison.csv").set_index("scenario")
    twin = table.loc["the twin"]
    assert twin["gain_final_points_p05"] == 0 and twin["gain_final_points_p95"] == 0
    assert twin["gain_final_unpaired_p95"] > 0, "unpaired, the same runs still look different"
    assert twin["p_better_than_baseline"] == 0
    assert twin["cost_total_median"] == table.loc["base", "cost_total_median"]


def test_a_lever_changes_qoc_and_pairing_narrows_the_interval(compared):
    row = pd.read_csv(compared / "comparison.csv").set_index("scenario").loc["lever"]
    paired = row["gain_final_points_p95"] - row["gain_final_points_p05"]
    unpaired = row["gain_final_unpaired_p95"] - row["gain_final_unpaired_p05"]
    assert row["gain_final_points_mean"] > 0, "peer contact and sessions should raise QoC"
    assert paired < unpaired, (paired, unpaired)
    assert row["cost_diff_vs_baseline_mean"] > 0, "sessions cost money"
    assert row["effect_measure"] == "mean QoC over the run"
    assert row["icer_vs_baseline"] == pytest.approx(
        row["cost_diff_vs_baseline_mean"] / row["effect_gain_points_mean"]
    )
    assert row["reading_vs_baseline"] == "costs more, better"


def test_scenarios_differing_in_one_lever_share_the_other_draws():
    base = LearningHealthSystem(small(), replicate=3)
    lever = LearningHealthSystem(
        small({"channels": {"learning_sessions": {"interval_months": 1}}}), replicate=3
    )
    other = LearningHealthSystem(small(), replicate=4)
    for name in ("staff", "qi_team", "data_quality", "facility_district"):
        a, b = getattr(base.world, name), getattr(lever.world, name)
        assert np.array_equal(a, b), f"world.{name} must not depend on the session interval"
    assert np.array_equal(base.catalogue.effect, lever.catalogue.effect)
    assert not np.array_equal(base.world.data_quality, other.world.data_quality)
    for _ in range(3):
        base.step()
        lever.step()
    leavers = base.streams.draw("turnover", "departures").random(5)
    assert np.array_equal(leavers, lever.streams.draw("turnover", "departures").random(5)), (
        "same turnover stream"
    )


def test_comparison_table_and_figures(compared):
    table = pd.read_csv(compared / "comparison.csv")
    for column in (
        "scenario",
        "qoc_final_median",
        "qoc_final_p05",
        "qoc_final_p95",
        "gain_final_points_median",
        "p_better_than_baseline",
        "frontier_status",
        "icer_vs_next",
        "nmb_mean",
        "p_most_cost_effective",
        "budget_shortfall_total_median",
        "cost_total_median",
        "icer_vs_baseline",
        "dominated",
        "budget_breach_share",
        "lost_turnover_share",
        "lost_bottleneck_share",
        "lost_blame_share",
        "lost_no_story_share",
        "lost_no_channel_share",
    ):
        assert column in table.columns, column
    shares = table[[c for c in table.columns if c.startswith("lost_")]].sum(axis=1)
    assert np.allclose(shares, 1.0), shares.tolist()
    costs = pd.read_csv(compared / "costs.csv")
    assert set(costs["scenario"]) == {"base", "the twin", "lever"}
    for figure in ("frontier", "acceptability", "qoc_over_time", "cost_effect", "loss_ledger"):
        assert (compared / "figures" / f"{figure}.png").stat().st_size > 5_000, figure


def test_report_rebuilds_offline_from_results_on_disk(compared, capsys):
    (compared / "report.html").unlink()
    (compared / "comparison.csv").unlink()
    assert main(["report", str(compared)]) == 0
    text = (compared / "report.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 5
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", text), "nothing fetched"
    assert "<script" not in text and "<link" not in text
    for words in (
        "What did other facilities do to improve care?",
        "How effective was the guidance and support from the district?",
        "countries.0.channels.learning_sessions.enabled",
        "illustrative",
    ):
        assert words in text, words
    assert (compared / "comparison.csv").is_file()
    assert "lever" in capsys.readouterr().out


def test_report_of_a_single_run_folder(compared):
    written = build_outputs(compared / "scenarios" / "lever")
    table = pd.read_csv(written["comparison"])
    assert table["scenario"].tolist() == ["lever"]
    assert written["report"].is_file()


def test_second_compare_resumes_without_rerunning(compared):
    part = compared / "scenarios" / "base" / "parts" / "summary" / "r00000.parquet"
    before = part.stat().st_mtime_ns
    folder = compared.parent
    run_comparison(
        [folder / "base.yaml", folder / "twin.yaml", folder / "lever.yaml"],
        baseline="base",
        replicates=6,
        out_dir=compared,
        progress=False,
    )
    assert part.stat().st_mtime_ns == before, "a finished replicate is not run again"
    summary = pd.read_csv(compared / "scenarios" / "base" / "summary.csv")
    assert summary["replicate"].tolist() == list(range(6))


# --------------------------------------------------------------------------- bad input
def run_cli(arguments, capsys):
    code = main(arguments)
    return code, capsys.readouterr().err


def test_two_scenarios_with_the_same_name(tmp_path, capsys):
    a = write(tmp_path, "a", name="same")
    b = write(tmp_path, "b", name="same")
    out = tmp_path / "out"
    code, err = run_cli(["compare", str(a), str(b), "--out", str(out)], capsys)
    assert code == 2 and "two scenarios are named 'same'" in err
    assert not out.exists(), "nothing may run"


def test_baseline_not_among_the_inputs(tmp_path, capsys):
    a = write(tmp_path, "a")
    out = tmp_path / "out"
    code, err = run_cli(["compare", str(a), "--baseline", "Atlantis", "--out", str(out)], capsys)
    assert code == 2 and "baseline is not among" in err and "a" in err
    assert not out.exists()


def test_negative_and_missing_unit_costs_are_reported_together(tmp_path, capsys):
    a = write(tmp_path, "a", costs={"coaching_visit": -5})
    b = write(tmp_path, "b", costs={"learning_session_per_attendee": None})
    out = tmp_path / "out"
    code, err = run_cli(["compare", str(a), str(b), "--out", str(out)], capsys)
    assert code == 2, err
    assert "costs.coaching_visit" in err and "a.yaml" in err
    assert "costs.learning_session_per_attendee" in err and "no unit cost" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_report_of_a_folder_without_results(tmp_path, capsys):
    code, err = run_cli(["report", str(tmp_path)], capsys)
    assert code == 2 and "not an lhsim results folder" in err


def test_outcomes_over_time_are_paired_and_in_the_brief(compared):
    table = pd.read_csv(compared / "comparison.csv").set_index("scenario")
    twin, lever = table.loc["the twin"], table.loc["lever"]
    assert twin["qoc_point_months_gained_p05"] == 0 and twin["qoc_point_months_gained_p95"] == 0
    assert lever["qoc_point_months_gained_mean"] > 0, "peer learning raises QoC early too"
    base = pd.read_parquet(compared / "scenarios" / "base" / "timeseries.parquet")
    other = pd.read_parquet(compared / "scenarios" / "lever" / "timeseries.parquet")
    area = 100 * (other["qoc"] - base["qoc"]).groupby(base["replicate"]).sum()
    assert lever["qoc_point_months_gained_mean"] == pytest.approx(area.mean())
    assert lever["duplicated_trials_median"] >= 0
    for column in ("qoc_kept_share_median", "ineffective_in_use_per_facility"):
        assert table[column].notna().all(), column
    assert table["sustainment_window"].str.contains("months 1-12").all(), "12-month runs"
    text = (compared / "report.html").read_text(encoding="utf-8")
    assert "Outcomes over time" in text and "QoC point-months" in text


def test_the_economic_reading_of_the_comparison(compared):
    table = pd.read_csv(compared / "comparison.csv", keep_default_na=False).set_index("scenario")
    assert table.loc["the twin", "same_as"] == "base", "identical results are read as one"
    assert table.loc["the twin", "frontier_status"] == table.loc["base", "frontier_status"]
    assert table.loc["lever", "frontier_status"] == "frontier"
    assert table.loc["lever", "frontier_next"] == "base"
    base, lever = table.loc["base"], table.loc["lever"]
    icer = (lever["cost_total_mean"] - base["cost_total_mean"]) / (
        lever["effect_points_mean"] - base["effect_points_mean"]
    )
    assert float(lever["icer_vs_next"]) == pytest.approx(icer)
    wtp = float(lever["wtp_per_point"])
    assert float(lever["nmb_mean"]) == pytest.approx(
        wtp * float(lever["effect_points_mean"]) - float(lever["cost_total_mean"])
    )
    curve = pd.read_csv(compared / "acceptability.csv")
    assert (curve.groupby("wtp")["probability"].sum() >= 1.0).all()
    twins = curve.pivot(index="wtp", columns="scenario", values="probability")
    assert (twins["base"] == twins["the twin"]).all(), "identical options each count a win"
    assert wtp in set(curve["wtp"]) and curve["wtp"].max() > float(lever["icer_vs_next"])
    chance = curve[curve["wtp"] == wtp].set_index("scenario")["probability"]
    assert chance.to_dict() == pytest.approx(table["p_most_cost_effective"].astype(float).to_dict())


def test_budget_shortfall_is_the_amount_over_the_envelope(compared):
    costs = pd.read_csv(compared / "costs.csv")
    lever = costs[costs["scenario"] == "lever"]
    per_year = lever.groupby(["replicate", "year"])["cost"].sum()
    shortfall = (per_year - 1000.0).clip(lower=0).groupby(level="replicate").sum()
    assert shortfall.min() > 0, "the envelope of 1000 a year is too small"
    row = pd.read_csv(compared / "comparison.csv").set_index("scenario").loc["lever"]
    assert row["budget_shortfall_total_median"] == pytest.approx(shortfall.median())
    budget = pd.read_csv(compared / "budget.csv")
    year0 = budget[(budget["scenario"] == "lever") & (budget["year"] == 0)].iloc[0]
    assert year0["cost_median"] == pytest.approx(per_year.xs(0, level="year").median())
    assert year0["breach_share"] == 1.0
    base = budget[budget["scenario"] == "base"]
    assert (base["shortfall_median"] == 0).all() and base["annual_budget"].isna().all()


def test_report_reads_the_economics_at_another_willingness_to_pay(compared, capsys):
    assert main(["report", str(compared), "--wtp", "0"]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(compared / "comparison.csv").set_index("scenario")
    assert not table.loc["lever", "best_buy"], "at 0 per point the cheapest option wins"
    assert table.loc["lever", "p_most_cost_effective"] == 0
    assert "net benefit at 0 per point" in out
    assert main(["report", str(compared), "--wtp", "1e9", "--effect", "final"]) == 0
    table = pd.read_csv(compared / "comparison.csv").set_index("scenario")
    assert table.loc["lever", "best_buy"] and table.loc["lever", "effect_measure"] == (
        "QoC in the last month"
    )
    code = main(["report", str(compared), "--wtp", "-5"])
    assert code == 2 and "willingness to pay" in capsys.readouterr().err
    assert main(["report", str(compared)]) == 0, "back to the comparison's own reading"


def test_the_brief_opens_with_the_bottom_line_then_the_frontier(compared):
    text = (compared / "report.html").read_text(encoding="utf-8")
    body = text[text.index("<body>") :]
    line = body.index("class='bottomline'")
    frontier = body.index('alt="frontier"')
    detail = body.index("What each scenario buys")
    assert line < frontier < detail, "bottom line, then the frontier figure, then detail"
    sentence = re.search(r"class='bottomline'>(.*?)</p>", body).group(1)
    assert "per QoC point" in sentence and "replicates" in sentence, sentence
    table = pd.read_csv(compared / "comparison.csv").set_index("scenario")
    best = table.index[table["best_buy"]][0]
    assert f"{best}" in sentence
    assert "@media print" in text
    assert "What the loops changed" in text or "what the loops changed" in text
    assert text.count("During the runs.") == 3, "one loop summary per scenario"
    loops = pd.read_csv(compared / "loop_changes.csv").set_index("scenario")
    pd.testing.assert_series_equal(loops.loc["base"], loops.loc["the twin"], check_names=False)


def test_the_python_example_in_the_planners_guide(compared, monkeypatch):
    import doctest
    from pathlib import Path

    guide = Path(__file__).resolve().parents[1] / "docs" / "planners.md"
    monkeypatch.chdir(compared.parent)
    result = doctest.testfile(str(guide), module_relative=False, verbose=False)
    assert result.attempted >= 8 and result.failed == 0, result
    assert (compared.parent / "planner" / "report.html").is_file()
