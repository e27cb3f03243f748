"""Smoke tests of the trainer's page, rendered in-process (no browser)."""

from __future__ import annotations

from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara

from sim.model.mechanisms.turnover import TurnoverParameters
from sim.model.rules import Blame
from sim.model.state import Source
from sim.trainer import app, page_html
from sim.trainer.levers import levers
from sim.trainer.scenario_folder import scenario_files
from sim.trainer.workshop import SideBySide, Workshop

SMALL = """
name: tiny
seed: 5
months: 12
practices: {count: 8}
countries:
  - name: A
    districts: 4
    facilities: 80
    turnover: {annual: 0.4}
"""


@pytest.fixture
def scenario_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "scenarios"
    (folder / "figure1").mkdir(parents=True)
    (folder / "tiny.yaml").write_text(SMALL)
    (folder / "figure1" / "broken.yaml").write_text("name: broken\ncountries:\n  - nam: A\n")
    monkeypatch.setenv(app.FOLDER_VARIABLE, str(folder))
    monkeypatch.setenv(app.SCENARIO_VARIABLE, str(folder / "tiny.yaml"))
    return folder


def _text(rc, css: str) -> str:
    widget = rc.find(v.Html, class_=css).widget
    return "".join(str(c) for c in widget.children)


def test_the_page_steps_the_model_and_shows_its_month(scenario_folder: Path) -> None:
    _, rc = solara.render(app.Page(), handle_error=False)
    assert _text(rc, "lhsim-status").startswith("month 0 of 12")
    for _ in range(3):
        rc.find(v.Btn, class_="lhsim-step").widget.click()
    assert _text(rc, "lhsim-status").startswith("month 3 of 12"), _text(rc, "lhsim-status")
    assert _text(rc, "lhsim-qoc").startswith("QoC at month 3")
    log = rc.find(attributes={"class": "lhsim-log"}).widget.unsafe_innerHTML
    assert "Press play" not in log and 'class="month">month ' in log, log[:300]
    ledger = rc.find(attributes={"class": "lhsim-ledger"}).widget.unsafe_innerHTML
    assert "lessons created" in ledger, ledger[:300]
    assert ("per 100 created" in ledger) or ("Absent so far" in ledger), ledger[:300]
    rc.find(v.Btn, class_="lhsim-reset").widget.click()
    assert _text(rc, "lhsim-status").startswith("month 0 of 12")


def test_a_broken_scenario_shows_a_message_in_the_page(scenario_folder: Path) -> None:
    workshop = Workshop(scenario_folder / "figure1" / "broken.yaml")
    assert not workshop.ready
    assert "nam" in workshop.error and "did you mean" in workshop.error, workshop.error
    assert workshop.step() is False, "nothing to step"
    assert workshop.frame() == b""


def test_the_picker_lists_every_yaml_under_the_folder(scenario_folder: Path) -> None:
    names = [p.relative_to(scenario_folder).as_posix() for p in scenario_files(scenario_folder)]
    assert names == ["figure1/broken.yaml", "tiny.yaml"]


def test_a_lever_out_of_range_is_a_message_not_a_crash(scenario_folder: Path) -> None:
    workshop = Workshop(scenario_folder / "tiny.yaml")
    workshop.set_lever("turnover.annual", 2.0)
    assert "turnover.annual" in workshop.error and not workshop.ready
    workshop.set_lever("turnover.annual", 0.1)
    assert workshop.error == "" and workshop.ready


def test_side_by_side_steps_both_copies(scenario_folder: Path) -> None:
    workshop = Workshop(scenario_folder / "tiny.yaml")
    workshop.set_side_by_side(SideBySide({"channels.coaching.enabled": False}))
    assert [run.label for run in workshop.runs] == [
        "District coaching visits: on",
        "District coaching visits: off",
    ]
    for _ in range(4):
        assert workshop.step()
    assert [run.month for run in workshop.runs] == [4, 4]
    labels = {label for label, _ in workshop.events()}
    assert labels <= {run.label for run in workshop.runs} and labels
    assert workshop.frame()[:2] == b"\xff\xd8", "a JPEG frame"


def test_a_model_that_fails_to_build_is_a_message(
    scenario_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("facility table has no rows")

    monkeypatch.setattr("sim.trainer.workshop.LiveRun", broken)
    workshop = Workshop(scenario_folder / "tiny.yaml")
    assert "could not be built" in workshop.error and "no rows" in workshop.error
    assert not workshop.ready and workshop.step() is False


def test_moving_a_slider_restarts_the_run_with_the_new_value(scenario_folder: Path) -> None:
    workshop = Workshop(scenario_folder / "tiny.yaml")
    workshop.step()
    playing, tick, moves = solara.reactive(False), solara.reactive(0), solara.reactive(0)
    _, rc = solara.render(
        app.Settings(workshop, scenario_folder, playing, tick, moves), handle_error=False
    )
    slider = rc.find(v.Slider, label="Staff who leave each year: 0.4 per year").widget
    slider.v_model = 0.2
    rc.find(v.Slider, label="Staff who leave each year: 0.2 per year").assert_single()
    assert workshop.month == 0, "a lever restarts the run"
    assert workshop.runs[0].scenario.countries[0].turnover.annual == 0.2
    assert tick.value > 0, "the view is redrawn"
    assert rc.find(v.Switch, label="District coaching visits: on").widget.v_model is True
    side = rc.find(v.Select, label="side by side: lever taught").widget
    side.v_model = "Blame culture in facilities"
    assert workshop.side_by_side is not None
    assert workshop.side_by_side.levers == ["blame.facility"]
    assert len(workshop.runs) == 2
    second = rc.find(v.Slider, label="second copy: Blame culture in facilities").widget
    assert second.v_model == workshop.side_by_side.changes["blame.facility"] != 0.5


LOOPING = """
name: looping
seed: 5
months: 12
practices: {count: 8}
loops: {triple: true, review_interval_months: 3, loss_share_trigger: 0.1}
countries:
  - name: A
    districts: 4
    facilities: 80
    blame: {facility: 0.8}
"""


def test_a_lever_the_model_moves_shows_its_new_value_and_why(tmp_path: Path) -> None:
    path = tmp_path / "looping.yaml"
    path.write_text(LOOPING)
    workshop = Workshop(path)
    workshop.set_lever("turnover.annual", 0.3)
    while workshop.moved("blame.facility") is None and workshop.step():
        pass
    moved = workshop.moved("blame.facility")
    assert moved is not None, "blame losses dominate: the review must ease blame"
    system = workshop.runs[0].model.system
    assert workshop.value("blame.facility") == pytest.approx(system.blame_facility[0])
    assert workshop.value("blame.facility") < 0.8 == workshop.setting("blame.facility")
    lines = [event.text for _, event in workshop.events() if event.kind == "lever"]
    assert any("Blame culture in facilities 0.8 -> 0.75, because" in t for t in lines), lines
    playing, tick, moves = (solara.reactive(v) for v in (False, 0, workshop.revision))
    _, rc = solara.render(
        app.Settings(workshop, tmp_path, playing, tick, moves), handle_error=False
    )
    label = f"Blame culture in facilities: 0.75 (moved by the model in month {moved.month})"
    rc.find(v.Slider, label=label).assert_single()
    workshop.reset()
    assert workshop.month == 0 and workshop.changes == {}, "reset undoes the trainer's moves"
    assert (
        workshop.value("blame.facility") == 0.8
        and workshop.value("turnover.annual") == TurnoverParameters().annual
    )
    assert workshop.moved("blame.facility") is None


def test_back_to_defaults_sets_every_lever_to_its_documented_default(tmp_path: Path) -> None:
    path = tmp_path / "looping.yaml"
    path.write_text(LOOPING)
    workshop = Workshop(path)
    workshop.step()
    workshop.back_to_defaults()
    assert workshop.month == 0
    for lever in levers():
        assert workshop.value(lever.path) == lever.default, lever.path
    assert workshop.runs[0].scenario.countries[0].blame.facility == Blame().facility


def test_the_log_keeps_the_whole_run_filters_it_and_exports_it(tmp_path: Path) -> None:
    path = tmp_path / "busy.yaml"
    path.write_text(SMALL.replace("facilities: 80", "facilities: 240").replace("12", "24"))
    workshop = Workshop(path)
    while workshop.step():
        pass
    run = workshop.runs[0]
    everything = workshop.events()
    assert len(everything) == len(run.events) and {e.month for _, e in everything} >= {1, 24}
    assert len(everything) > 60, "more than the newest 60 events are kept"
    turnover = workshop.events(cause="turnover")
    assert turnover and all(e.cause == "turnover" for _, e in turnover)
    district = next(e.district for _, e in everything if e.district >= 0)
    here = workshop.events(district=district)
    assert here and all(e.district == district for _, e in here)
    practice = next(e.practice for _, e in everything if e.practice >= 0)
    both = workshop.events(district=district, practice=practice)
    assert all(e.district == district and e.practice == practice for _, e in both)
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(workshop.events_csv())))
    assert len(rows) == len(everything)
    assert [int(r["month"]) for r in rows] == sorted(int(r["month"]) for r in rows)
    assert list(rows[0]) == [
        "copy", "month", "kind", "cause", "country", "district", "facility", "practice", "text"
    ]  # fmt: skip
    named = [r for r in rows if r["facility"]]
    assert named and all(r["text"].startswith(r["facility"]) for r in named)
    filtered = list(csv.DictReader(io.StringIO(workshop.events_csv(cause="turnover"))))
    assert len(filtered) == len(turnover) and {r["cause"] for r in filtered} == {"turnover"}
    html_log = page_html.log_html(workshop, {"cause": "turnover"})
    assert "lost this month to staff turnover" in html_log or "last trained" in html_log


def test_side_by_side_copies_may_differ_in_several_levers(scenario_folder: Path) -> None:
    workshop = Workshop(scenario_folder / "tiny.yaml")
    workshop.set_lever("blame.district", 0.3)
    workshop.set_side_by_side(
        SideBySide({"turnover.annual": 0.05, "facility_mix.documentation": 0.9})
    )
    a, b = (run.scenario.countries[0] for run in workshop.runs)
    assert (a.turnover.annual, a.facility_mix.documentation) == (0.4, 0.4)
    assert (b.turnover.annual, b.facility_mix.documentation) == (0.05, 0.9)
    assert a.blame.district == b.blame.district == 0.3, "the trainer's levers apply to both"
    assert workshop.runs[1].label == (
        "Staff who leave each year: 0.05; Facilities writing down how they did it: 0.9"
    )
    for _ in range(6):
        workshop.step()
    html_ledger = page_html.ledger_html(workshop)
    assert all(f"{run.label}: lessons lost so far" in html_ledger for run in workshop.runs)
    qoc = [run.qoc for run in workshop.runs]
    assert len(qoc[0]) == len(qoc[1]) == 7
    playing, tick, moves = solara.reactive(False), solara.reactive(0), solara.reactive(0)
    _, rc = solara.render(
        app.Settings(workshop, scenario_folder, playing, tick, moves), handle_error=False
    )
    rc.find(v.Slider, label="second copy: Staff who leave each year").assert_single()
    rc.find(v.Btn, class_="lhsim-remove").widgets[0].click()
    assert workshop.side_by_side is not None
    assert workshop.side_by_side.levers == ["facility_mix.documentation"]


def test_projector_mode_sends_a_1920_by_1080_view_and_keeps_the_month(
    scenario_folder: Path,
) -> None:
    import io

    from PIL import Image

    workshop = Workshop(scenario_folder / "tiny.yaml")
    workshop.step()
    with Image.open(io.BytesIO(workshop.frame())) as image:
        assert image.size == (1280, 720)
    workshop.set_projector(True)
    assert workshop.month == 1, "projector mode does not restart the run"
    workshop.step()
    with Image.open(io.BytesIO(workshop.frame())) as image:
        assert image.size == (1920, 1080)
    workshop.set_side_by_side(SideBySide({"turnover.annual": 0.05}))
    assert workshop.view is not None and workshop.view.projector, "it stays on"


def test_the_speed_control_paces_the_play_loop(scenario_folder: Path) -> None:
    import time

    workshop = Workshop(scenario_folder / "tiny.yaml")
    started = time.perf_counter()
    assert workshop.wait_before_next(started) == 0.0, "as fast as it goes"
    workshop.set_speed(2.0)
    wait = workshop.wait_before_next(started)
    assert 0.4 < wait <= 0.5, wait
    assert workshop.wait_before_next(started - 1.0) == 0.0, "behind: no wait"
    with pytest.raises(ValueError, match="positive"):
        workshop.set_speed(0)
    workshop.set_flow_months(6)
    assert all(run.flow_months == 6 for run in workshop.runs)
    workshop.restart()
    assert all(run.flow_months == 6 for run in workshop.runs), "kept over a restart"
    with pytest.raises(ValueError, match="1 to 24"):
        workshop.set_flow_months(30)
    tick, playing, moves = solara.reactive(0), solara.reactive(False), solara.reactive(0)
    _, rc = solara.render(app.Controls(workshop, playing, tick, moves), handle_error=False)
    rc.find(v.Select, class_="lhsim-speed").widget.v_model = "5 months a second"
    assert workshop.speed == 5.0
    rc.find(v.Select, class_="lhsim-flow-months").widget.v_model = "12 months"
    assert workshop.flow_months == 12


def test_a_control_echoing_the_value_it_shows_does_not_restart_the_run(tmp_path: Path) -> None:
    path = tmp_path / "looping.yaml"
    path.write_text(LOOPING)
    workshop = Workshop(path)
    while workshop.moved("blame.facility") is None and workshop.step():
        pass
    month = workshop.month
    assert month > 0
    playing, tick, moves = solara.reactive(False), solara.reactive(0), solara.reactive(0)
    _, rc = solara.render(
        app.Settings(workshop, tmp_path, playing, tick, moves), handle_error=False
    )
    shown = workshop.value("blame.facility")
    label = f"Blame culture in facilities: 0.75 (moved by the model in month {month})"
    slider = rc.find(v.Slider, label=label).widget
    slider.v_model = round(shown + 0.001, 3)  # what a browser slider sends back
    assert workshop.month == month and workshop.changes == {}, "no restart"
    slider.v_model = 0.3
    assert workshop.month == 0 and workshop.changes == {"blame.facility": 0.3}


def _by_district(workshop: Workshop, cells: np.ndarray) -> list[int]:
    """How many facilities of each district (index) are marked in ``cells``."""
    world = workshop.runs[0].model.world
    return np.bincount(world.facility_district[cells], minlength=world.n_districts).tolist()


def test_the_per_district_control_funds_a_channel_in_the_districts_ticked(
    scenario_folder: Path,
) -> None:
    workshop = Workshop(scenario_folder / "tiny.yaml")
    playing, tick, moves = solara.reactive(False), solara.reactive(0), solara.reactive(0)
    _, rc = solara.render(
        app.Settings(workshop, scenario_folder, playing, tick, moves), handle_error=False
    )
    rc.find(v.Select, class_="lhsim-district-channel").widget.v_model = "District learning sessions"
    ticks = rc.find(v.Select, class_="lhsim-districts").widget
    assert ticks.items == ["District 1", "District 2", "District 3", "District 4"]
    assert ticks.v_model == [], "the tiny scenario funds no district"
    ticks.v_model = ["District 1"]
    assert workshop.runs[0].split is None, "nothing changes before the trainer applies it"
    rc.find(v.Btn, class_="lhsim-fund").widget.click()
    country = workshop.runs[0].scenario.countries[0]
    assert not country.channels.learning_sessions.enabled, "switched off for the country"
    assert [(p.lever, p.districts) for p in country.programmes] == [("learning_sessions", ["D001"])]
    attended = np.zeros(workshop.runs[0].model.world.n_facilities, dtype=bool)
    while workshop.step():
        attended |= workshop.runs[0].model.population.attended
    heard = (workshop.runs[0].model.population.first_source == int(Source.LEARNING_SESSIONS)).any(
        axis=1
    )
    attended_by_district, heard_by_district = (
        _by_district(workshop, attended),
        _by_district(workshop, heard),
    )
    assert attended_by_district[0] > 0 and attended_by_district[1:] == [0, 0, 0], (
        f"sessions attended by district: {attended_by_district}"
    )
    assert heard_by_district[0] > 0 and heard_by_district[1:] == [0, 0, 0], heard_by_district
    funded = rc.find(v.Html, class_="lhsim-funded").widget.children
    assert funded == ["District learning sessions: funded in District 1"], funded
    workshop.reset()
    moves.value = workshop.revision
    assert workshop.district_funding == {} and workshop.runs[0].split is None
    assert workshop.runs[0].scenario.countries[0].channels.learning_sessions.enabled
    assert rc.find(v.Select, class_="lhsim-districts").widget.v_model == []


def test_the_districts_funded_get_their_own_qoc_line_and_loss_ledger(
    scenario_folder: Path,
) -> None:
    workshop = Workshop(scenario_folder / "tiny.yaml")
    workshop.fund_in_districts("coaching", ["D002", "D004"])
    run = workshop.runs[0]
    assert run.split is not None
    assert run.split.labels == [
        "District 2, District 4 (coaching funded)",
        "District 1, District 3 (no programme)",
    ]
    for _ in range(8):
        assert workshop.step()
    world, qoc = run.model.world, run.model.recorder.facility_qoc()
    for group, districts in enumerate(([1, 3], [0, 2])):
        assert len(run.split.qoc[group]) == 9, "month 0 and eight months"
        expected = qoc[np.isin(world.facility_district, districts)].mean()
        assert run.split.qoc[group][-1] == pytest.approx(expected), f"group {group}"
    assert run.qoc[-1] == pytest.approx(qoc.mean())
    whole, funded, rest = run.ledger(), run.ledger(0), run.ledger(1)
    assert sum(line.lost for line in whole) > 0, "turnover 0.4 and blame lose lessons"
    assert [a.lost + b.lost for a, b in zip(funded, rest, strict=True)] == [
        line.lost for line in whole
    ], "the two groups' ledgers add up to the run's"
    assert run.lessons_created(0) + run.lessons_created(1) == run.lessons_created()
    view = workshop.view
    assert view is not None and len(view.group_lines) == 2
    assert [len(line.get_xdata()) for line, _ in view.group_lines] == [9, 9]
    assert [label for label, _, _ in view.series] == run.split.labels, "a ledger bar per group"
    _, rc = solara.render(app.LiveView(workshop, solara.reactive(0)), handle_error=False)
    reading = "".join(str(c) for c in rc.find(v.Html, class_="lhsim-district-qoc").widget.children)
    assert reading.startswith("by district: District 2, District 4 (coaching funded): "), reading
    ledger = rc.find(attributes={"class": "lhsim-ledger"}).widget.unsafe_innerHTML
    assert "District 1, District 3 (no programme): lessons lost so far" in ledger, ledger[:300]
    workshop.back_to_defaults()
    assert workshop.district_funding == {} and workshop.runs[0].split is None


def test_funding_an_unknown_district_is_a_message(scenario_folder: Path) -> None:
    workshop = Workshop(scenario_folder / "tiny.yaml")
    workshop.fund_in_districts("learning_sessions", ["D009"])
    assert "D009" in workshop.error and "no such district" in workshop.error, workshop.error
    assert not workshop.ready
    workshop.fund_in_districts("learning_sessions", None)
    assert workshop.ready and not workshop.error


def test_districts_are_funded_in_the_country_the_levers_apply_to(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        SMALL.replace(
            "    turnover: {annual: 0.4}\n",
            "    turnover: {annual: 0.4}\n  - name: B\n    districts: 3\n    facilities: 60\n",
        )
    )
    workshop = Workshop(path)
    workshop.set_countries(["B"])
    assert workshop.district_names() == ["D001", "D002", "D003"]
    workshop.fund_in_districts("coaching", ["D003"])
    a, b = workshop.runs[0].scenario.countries
    assert a.programmes == [] and a.channels.coaching.enabled, "country A keeps its own"
    assert [p.districts for p in b.programmes] == [["D003"]] and not b.channels.coaching.enabled
    run = workshop.runs[0]
    assert run.split is not None and run.split.labels[0] == "District 3 (B) (coaching funded)"
    assert run.model.world.district_names[run.split.districts[0]].tolist() == ["B-D003"]


def test_the_page_shows_how_learning_moved_and_the_maturity_profile(
    scenario_folder: Path,
) -> None:
    (scenario_folder / "tiny.yaml").write_text(
        SMALL + "    maturity: {stage: implementation, data_analytics: 1}\n"
    )
    _, rc = solara.render(app.Page(), handle_error=False)
    for _ in range(4):
        rc.find(v.Btn, class_="lhsim-step").widget.click()
    shown = rc.find(attributes={"class": "lhsim-means"}).widget.unsafe_innerHTML
    assert "how learning moved so far" in shown and "deliberation" in shown
    assert "learning-network maturity" in shown and "data and analytics" in shown
    assert "<td>A</td><td>implementation</td>" in shown
    assert '<td class="number">1</td>' in shown, "data and analytics at level 1"
    workshop = Workshop(scenario_folder / "tiny.yaml")
    for _ in range(4):
        workshop.step()
    summary = workshop.runs[0].model.recorder.summary()
    made = f"{summary['lessons_generated']:,.0f}"
    assert f"/ {made}</td>" in page_html.means_html(workshop), "lessons made by trials"


def test_requests_for_support_not_given_stand_beside_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "no_coaching.yaml"
    path.write_text(
        SMALL.replace("months: 12", "months: 24")
        + "    channels: {coaching: {enabled: false}}\n"
        + "    support_requests: {failures_to_ask: 1, patience_months: 1}\n"
    )
    workshop = Workshop(path)
    for _ in range(24):
        workshop.step()
    recorder = workshop.runs[0].model.recorder
    asked, dropped = recorder.total("support_requests"), recorder.total("support_not_given")
    assert asked > 0 and dropped > 0, "without coaching, requests go unanswered"
    assert dropped == recorder.summary()["support_not_given_total"]
    shown = page_html.ledger_html(workshop)
    assert f"requests for support not given so far: {dropped:,.0f} of {asked:,.0f}" in shown
    with pytest.raises(KeyError, match="not a counted event"):
        recorder.total("support_not_givn")
