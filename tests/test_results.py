from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

import sim
from sim.model.schema import Country, Scenario
from sim.reporting.plots import (
    coverage_figure,
    learning_means_figure,
    loss_ledger_figure,
    qoc_figure,
    write_figures,
)
from sim.runs.results import Results, ResultsError, default_folder, read_manifest, read_results
from sim.runs.runner import run_scenario

from fake_model import fake_replicate


def tiny(**changes: object) -> Scenario:
    return Scenario(
        name="tiny", months=12, countries=[Country(name="A", districts=2, facilities=10)]
    ).model_copy(update=changes)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    out = tmp_path_factory.mktemp("results") / "tiny"
    run_scenario(
        tiny(),
        replicates=3,
        out_dir=out,
        progress=False,
        replicate_fn=fake_replicate,
        command=["lhsim", "run", "tiny.yaml"],
    )
    return read_results(out)


def test_manifest_records_what_is_needed_to_repeat_the_run(results: Results) -> None:
    manifest = json.loads((results.folder / "manifest.json").read_text())
    assert manifest == results.manifest
    assert manifest["complete"] is True
    assert manifest["seed"] == 12345 and manifest["replicates"] == 3
    assert manifest["scenario"]["name"] == "tiny" and manifest["scenario"]["months"] == 12
    seeds = manifest["replicate_seeds"][2]
    assert seeds["replicate"] == 2 and seeds["seed_sequence"]["entropy"] == 12345
    assert seeds["seed_sequence"]["spawn_key"].startswith("(2, crc32(mechanism), crc32(decision)")
    assert "national_queue.blame" in seeds["decisions"]
    assert manifest["package_version"] == sim.__version__
    assert set(manifest["git"]) == {"commit", "dirty"}
    assert manifest["git"]["commit"] == "unknown" or len(manifest["git"]["commit"]) == 40
    expected = {"python", "mesa", "numpy", "numba", "scipy", "pandas", "pyarrow", "networkx"}
    expected |= {"pydantic", "matplotlib"}
    assert set(manifest["versions"]) == expected
    assert manifest["platform"]
    assert manifest["command"] == ["lhsim", "run", "tiny.yaml"]
    assert manifest["started"].endswith("+00:00") and manifest["finished"].endswith("+00:00")
    assert manifest["started"] <= manifest["finished"]


def test_read_results_gives_every_table(results: Results) -> None:
    assert len(results.summary) == 3
    assert sorted(results.timeseries["replicate"].unique()) == [0, 1, 2]
    assert {"practice", "coverage"} <= set(results.practices.columns)
    assert len(results.time_to_scale) == 3 * 4, "one row per replicate and practice"
    assert not results.countries.empty


def test_read_results_refuses_an_unfinished_run(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="not an lhsim results folder"):
        read_results(tmp_path)
    out = tmp_path / "r"
    run_scenario(tiny(), replicates=1, out_dir=out, progress=False, replicate_fn=fake_replicate)
    (out / "summary.csv").unlink()
    with pytest.raises(ResultsError, match="did not finish.*--resume"):
        read_results(out)
    assert read_manifest(out)["complete"] is True


def test_default_folder_is_named_after_the_scenario() -> None:
    assert default_folder(tiny()) == Path("results/tiny")
    assert default_folder(tiny(name="a/b c")) == Path("results/a_b_c")


def test_figures_are_returned_and_written(results: Results, tmp_path: Path) -> None:
    for figure in (
        qoc_figure(results.timeseries),
        loss_ledger_figure(results.summary),
        coverage_figure(results.practices),
        learning_means_figure(results.summary),
    ):
        assert isinstance(figure, Figure)
        assert figure.axes[0].get_title(), "every figure has a title"
    labels = [t.get_text() for t in loss_ledger_figure(results.summary).axes[0].get_xticklabels()]
    assert labels == [
        "staff turnover",
        "national bottleneck",
        "blame culture",
        "no story",
        "no channel",
    ]
    paths = write_figures(results, tmp_path)
    assert sorted(p.name for p in paths.values()) == [
        "coverage.png",
        "learning_means.png",
        "loss_ledger.png",
        "qoc.png",
    ]
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is a PNG"


def test_coverage_figure_with_many_practices_shows_the_top_five(results: Results) -> None:
    many = results.practices.copy()
    copies = [many.assign(practice=many["practice"] + f" copy {i}") for i in range(3)]
    figure = coverage_figure(pd.concat(copies, ignore_index=True))
    legend = figure.axes[0].get_legend()
    assert legend is not None and len(legend.get_texts()) == 5


def test_figures_name_missing_columns() -> None:
    with pytest.raises(ValueError, match="timeseries table has no column"):
        qoc_figure(pd.DataFrame({"month": [0]}))


def test_the_decisions_of_the_organisations_are_written_and_read_back(tmp_path: Path) -> None:
    from sim.model.model import LearningHealthSystem
    from sim.runs.simulation import run_replicate

    scenario = tiny(months=36, loops=tiny().loops.model_copy(update={"triple": True}))
    out = tmp_path / "decided"
    run_scenario(scenario, replicates=2, out_dir=out, progress=False, replicate_fn=run_replicate)
    decisions = read_results(out).decisions
    for replicate in (0, 1):
        model = LearningHealthSystem(scenario, replicate)
        model.run()
        mine = decisions[decisions.replicate == replicate]
        assert len(mine) == len(model.decisions) > 0
        assert mine["decision"].tolist() == [d.decision for d in model.decisions]
    (out / "decisions.csv").unlink()  # a folder written before decisions were recorded
    older = read_results(out).decisions
    assert older.empty and {"replicate", "month", "decision", "reason"} <= set(older.columns)
