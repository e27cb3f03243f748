"""The key questions answered with paired effects (``lhsim compare --key-effects``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import sim.runs.runner as runner
from sim.model.schema import Scenario
from sim.planning.analysis import analyse
from sim.planning.compare import run_comparison
from sim.planning.key_effects import (
    COACHING,
    COLUMNS,
    COUNTERFACTUALS,
    FACILITY_PEERS,
    UPWARD,
    counterfactual_scenario,
)
from sim.planning.key_questions import KEY_QUESTIONS, questions_section
from sim.runs.simulation import run_replicate

from builders import small

REPLICATES = 2
COACHED = "How effective was the guidance and support from the district?"
PEERS = "What did other facilities do to improve care?"

#: A country where coaching is the only way practices travel down to facilities: no peer
#: contact, sessions, guidance or upward reporting, and no support requests (so that only
#: the coaching and district-support counterfactuals apply).
COUNTRY = {
    "name": "Testland",
    "districts": 6,
    "facilities": 120,
    "support_requests": {"enabled": False},
    "channels": {
        "peer_network": {"enabled": False},
        "learning_sessions": {"enabled": False},
        "guidance": {"enabled": False},
        "upward_reporting": {"enabled": False},
        "coaching": {"capacity": 20, "intensity": 2.0},
    },
}


def write(folder, name, country):
    document = {
        "name": name,
        "seed": 99,
        "months": 18,
        "practices": {"count": 8},
        "countries": [country],
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def files(folder):
    coached = write(folder, "coached", COUNTRY)
    funded = {
        **COUNTRY,
        "channels": {**COUNTRY["channels"], "coaching": {"enabled": False, "capacity": 20}},
        "programmes": [{"name": "coach", "lever": "coaching"}],
    }
    return [coached, write(folder, "funded", funded)]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """Coaching switched on in one scenario and funded by a programme in the other."""
    folder = tmp_path_factory.mktemp("key_effects")
    run_comparison(
        files(folder),
        baseline="coached",
        replicates=REPLICATES,
        out_dir=folder / "out",
        progress=False,
        key_effects=True,
    )
    return folder / "out"


def effects(out):
    return pd.read_csv(out / "key_effects.csv")


def row(table, scenario, question):
    found = table[(table["scenario"] == scenario) & (table["question"] == question)]
    assert len(found) == 1, found
    return found.iloc[0]


def summary(folder):
    return pd.read_csv(folder / "summary.csv").set_index("replicate").sort_index()


def test_every_counterfactual_answers_a_key_question():
    questions = {q.question for q in KEY_QUESTIONS}
    assert set(COUNTERFACTUALS) <= questions, set(COUNTERFACTUALS) - questions
    for counterfactual in COUNTERFACTUALS.values():
        assert counterfactual.assumption.endswith("."), counterfactual.key


def test_the_counterfactual_drops_the_programmes_of_its_channel_only():
    scenario = Scenario.model_validate(
        {
            "name": "s",
            "countries": [
                {
                    "name": "A",
                    "channels": {"coaching": {"enabled": False}},
                    "programmes": [
                        {"name": "coach", "lever": "coaching"},
                        {"name": "talk", "lever": "district_exchange"},
                    ],
                },
                {"name": "B"},
            ],
        }
    )
    assert COACHING.applies(scenario)
    changed = counterfactual_scenario(scenario, COACHING)
    assert [c.channels.coaching.enabled for c in changed.countries] == [False, False]
    assert [p.name for p in changed.countries[0].programmes] == ["talk"]
    assert changed.seed == scenario.seed
    assert not COACHING.applies(changed)


def test_the_counterfactual_run_has_no_coaching_visits(compared):
    for name in ("coached", "funded"):
        own = summary(compared / "scenarios" / name)
        without = summary(compared / "key_effects" / name / "coaching")
        assert (own["coaching_visits_total"] > 0).all(), name
        assert (without["coaching_visits_total"] == 0).all(), name
        assert (without["reached_by_coaching"] == 0).all(), name


def test_the_effect_is_the_paired_difference_of_same_seed_runs(compared):
    own = summary(compared / "scenarios" / "funded")
    without = summary(compared / "key_effects" / "funded" / "coaching")
    manifest = json.loads(
        (compared / "key_effects" / "funded" / "coaching" / "manifest.json").read_text()
    )
    assert manifest["seed"] == 99
    by_hand = 100.0 * (own["qoc_final"] - without["qoc_final"]).to_numpy()
    found = row(effects(compared), "funded", COACHED)
    assert found["replicates"] == REPLICATES
    assert found["effect_points_median"] == pytest.approx(np.median(by_hand))
    assert found["effect_points_p05"] == pytest.approx(np.quantile(by_hand, 0.05))
    assert found["effect_points_p95"] == pytest.approx(np.quantile(by_hand, 0.95))


def test_coaching_helps_where_it_is_the_only_way_down(compared):
    table = effects(compared)
    for name in ("coached", "funded"):
        found = row(table, name, COACHED)
        assert found["status"] == "estimated"
        assert found["effect_points_p05"] > 0, found
        assert found["cost_diff_median"] > 0, "coaching visits cost money"


def test_a_channel_not_run_is_not_applicable_never_zero(compared):
    found = row(effects(compared), "coached", PEERS)
    assert not found["applies"]
    assert found["status"] == "not run in this scenario"
    assert pd.isna(found["effect_points_median"])
    assert not (compared / "key_effects" / "coached" / FACILITY_PEERS.key).exists()


def test_the_csv_columns(compared):
    table = effects(compared)
    assert tuple(table.columns) == COLUMNS
    for needed in ("scenario", "question", "level", "kind", "counterfactual", "applies"):
        assert needed in table.columns
    questions = sum(1 for q in KEY_QUESTIONS if q.question in COUNTERFACTUALS)
    assert len(table) == 2 * questions


def test_the_brief_shows_the_effect_beside_the_count(compared):
    text = (compared / "report.html").read_text(encoding="utf-8")
    found = row(effects(compared), "coached", COACHED)
    low, high = found["effect_points_p05"], found["effect_points_p95"]
    assert f"effect {found['effect_points_median']:+.2f} points ({low:+.2f} to {high:+.2f})" in text
    assert "effect: not run in this scenario" in text
    assert "same seed and replicates" in text


def test_without_key_effects_the_brief_says_how_to_get_them(compared):
    results = analyse(compared)
    assert results.key_effects is not None
    plain = questions_section(results.data, None)
    assert "--key-effects" in plain and "effect +" not in plain


def test_a_killed_run_resumes_without_rerunning_finished_runs(compared, monkeypatch):
    folder = compared / "key_effects" / "coached"
    finished = folder / "district-support" / "parts" / "summary" / "r00000.parquet"
    before = finished.stat().st_mtime_ns
    expected = row(effects(compared), "coached", COACHED)["effect_points_median"]
    killed = folder / "coaching"
    for part in (killed / "parts" / "summary").glob("r00001.parquet"):
        part.unlink()  # the run was killed before its last replicate was written
    calls = []
    real = runner.run_replicate

    def counting(scenario, replicate, *args, **kwargs):
        calls.append((scenario.name, replicate))
        return real(scenario, replicate, *args, **kwargs)

    monkeypatch.setattr(runner, "run_replicate", counting)
    run_comparison(
        files(compared.parent),
        baseline="coached",
        replicates=REPLICATES,
        out_dir=compared,
        progress=False,
        key_effects=True,
    )
    assert calls == [("coached without coaching", 1)]
    assert finished.stat().st_mtime_ns == before, "a finished run is not run again"
    again = row(effects(compared), "coached", COACHED)["effect_points_median"]
    assert again == pytest.approx(expected)


def test_report_rebuilds_the_effects_from_the_runs_on_disk(compared, capsys):
    from sim.cli.main import main

    before = effects(compared)
    (compared / "key_effects.csv").unlink()
    (compared / "report.html").unlink()
    assert main(["report", str(compared)]) == 0
    assert "key_effects.csv" in capsys.readouterr().out
    pd.testing.assert_frame_equal(effects(compared), before)
    assert "effect +" in (compared / "report.html").read_text(encoding="utf-8")


def test_compare_help_describes_the_option(capsys):
    from sim.cli.main import main

    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--key-effects" in text and "docs/planners.md" in text


def test_the_table_alone_rebuilds_the_brief_and_force_without_the_option_drops_it(
    compared, tmp_path
):
    import shutil

    from sim.planning.analysis import build_outputs

    out = tmp_path / "out"
    shutil.copytree(compared, out)
    before = effects(out)
    shutil.rmtree(out / "key_effects")  # removed to save space
    build_outputs(out)
    pd.testing.assert_frame_equal(effects(out), before)
    assert "effect +" in (out / "report.html").read_text(encoding="utf-8")
    run_comparison(
        files(tmp_path),
        baseline="coached",
        replicates=REPLICATES,
        out_dir=out,
        progress=False,
        force=True,
    )
    assert not (out / "key_effects.csv").exists()
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "--key-effects" in text and "effect +" not in text


def test_without_upward_reporting_no_lesson_reaches_the_national_level():
    scenario = small(months=24)
    assert UPWARD.applies(scenario)
    reporting = run_replicate(scenario, 0).timeseries
    assert reporting["items_forwarded"].sum() > 0
    assert reporting["guidance_issued"].sum() > 0
    silent = run_replicate(counterfactual_scenario(scenario, UPWARD), 0).timeseries
    assert silent["items_forwarded"].sum() == 0
    assert silent["national_items_processed"].sum() == 0
    assert silent["guidance_issued"].sum() == 0


def test_with_parameter_uncertainty_the_counterfactual_takes_the_same_draws(tmp_path):
    from sim.planning.uncertainty import PLAUSIBLE

    coached = write(tmp_path, "coached", COUNTRY)
    out = tmp_path / "out"
    run_comparison(
        [coached],
        baseline="coached",
        replicates=REPLICATES,
        out_dir=out,
        progress=False,
        key_effects=True,
        uncertainty=PLAUSIBLE,
    )
    drawn = summary(out / "scenarios" / "coached")["posterior_row"]
    assert drawn.nunique() == REPLICATES
    for folder in (out / "key_effects" / "coached").iterdir():
        pd.testing.assert_series_equal(summary(folder)["posterior_row"], drawn)
