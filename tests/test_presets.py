"""Demonstration presets: the shipped file, its checks, and pause-and-explain."""

from __future__ import annotations

import re
from pathlib import Path

import ipyvuetify as v
import pytest
import solara

from sim.errors import ScenarioError
from sim.model.ledger import CAUSES
from sim.model.rules import Blame
from sim.trainer import app
from sim.trainer.levers import lever_value
from sim.trainer.presets import default_presets_file, load_presets
from sim.trainer.scenario_folder import scenario_files
from sim.trainer.workshop import Workshop

SCENARIOS = Path(__file__).parents[1] / "scenarios"
SHIPPED = default_presets_file(SCENARIOS)

TINY = """
name: tiny
seed: 5
months: 24
practices: {count: 8}
countries:
  - name: A
    districts: 4
    facilities: 120
"""


def _write(folder: Path, presets: str) -> Path:
    (folder / "presets").mkdir(parents=True, exist_ok=True)
    (folder / "tiny.yaml").write_text(TINY)
    path = folder / "presets" / "workshop.yaml"
    path.write_text(presets)
    return path


def test_the_shipped_presets_cover_the_five_losses_and_a_national_learning_system() -> None:
    demonstrations = load_presets(SHIPPED)
    causes = {d.preset.pause_on.cause for d in demonstrations}
    assert set(CAUSES) <= causes, f"a preset per loss; missing {set(CAUSES) - causes}"
    national = next(d for d in demonstrations if d.name == "A national learning system")
    assert [c.scenario.name for c in national.copies] == ["B", "I"], "Figure 1: B against I"
    for d in demonstrations:
        notice = d.preset.notice
        assert notice.endswith(".") and len(re.findall(r"[.!?](\s|$)", notice)) == 1, notice
        first, *others = (c.scenario for c in d.copies)
        for other in others:
            assert other.countries != first.countries, f"{d.name}: the copies do not differ"
    assert SHIPPED not in scenario_files(SCENARIOS), "presets are not scenarios"


def test_presets_copies_differ_in_their_own_levers_only() -> None:
    stories = next(d for d in load_presets(SHIPPED) if d.name == "Lessons without stories")
    a, b = stories.copies
    assert len(b.levers) == 5 and set(a.levers) == set(b.levers)
    for path, value in b.levers.items():
        assert lever_value(b.scenario, path) == value
        assert lever_value(a.scenario, path) == a.levers[path] != value
    assert a.scenario.countries[0].turnover == b.scenario.countries[0].turnover


def test_a_broken_presets_file_lists_every_problem(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
presets:
  - name: one
    notice: Something.
    scenario: ../tiny.yaml
    copies:
      - {label: a, levers: {turnover.anual: 0.1}}
      - {label: b, levers: {blame.facility: 3}}
    pause_on: {copy: 2, event: lost}
  - name: two
    notice: Something else.
    scenario: ../tiny.yaml
    copies:
      - {label: a}
      - {label: b}
    pause_on: {copy: 3, event: exploded}
""",
    )
    with pytest.raises(ScenarioError) as raised:
        load_presets(path)
    text = str(raised.value)
    assert "pause_on" in text and "exploded" in text, text
    path.write_text(path.read_text().replace("copy: 3, event: exploded", "copy: 2, event: lost"))
    with pytest.raises(ScenarioError) as raised:
        load_presets(path)
    text = str(raised.value)
    assert "turnover.anual" in text and "no such country parameter" in text, text
    assert "blame.facility" in text and "presets.0.copies.1" in text, text


def test_pause_and_explain_stops_on_the_first_event_that_shows_it(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
presets:
  - name: Turnover
    notice: Staff who leave take practices with them.
    scenario: ../tiny.yaml
    copies:
      - {label: few leave, levers: {turnover.annual: 0.02}}
      - {label: many leave, levers: {turnover.annual: 0.9}}
    pause_on: {copy: 2, event: lost, cause: turnover}
""",
    )
    (demonstration,) = load_presets(path)
    workshop = Workshop()
    workshop.load_demonstration(demonstration)
    assert [run.label for run in workshop.runs] == ["few leave", "many leave"]
    while workshop.step() and not workshop.waiting:
        pass
    assert workshop.waiting and workshop.pause is not None, "90 % turnover loses a practice"
    pause = workshop.pause
    many = workshop.runs[1]
    first = next(e for e in many.events if e.kind == "lost")
    assert pause.month == first.month == workshop.month
    assert pause.what == first.text and pause.copy_label == "many leave"
    assert "left before it was passed on" in pause.explanation
    assert pause.notice == "Staff who leave take practices with them."
    month = workshop.month
    workshop.dismiss_pause()
    assert workshop.step() and not workshop.waiting and workshop.month == month + 1
    assert workshop.pause is pause, "the pause comes once a run"
    workshop.set_lever("blame.facility", 0.2)
    assert workshop.pause is None and workshop.month == 0
    assert [lever_value(r.scenario, "turnover.annual") for r in workshop.runs] == [0.02, 0.9]
    assert all(lever_value(r.scenario, "blame.facility") == 0.2 for r in workshop.runs)
    workshop.set_lever("turnover.annual", 0.3)
    turnover = [lever_value(r.scenario, "turnover.annual") for r in workshop.runs]
    assert turnover == [0.3, 0.9], "the second copy keeps the value it differs in"
    workshop.reset()
    assert [lever_value(r.scenario, "turnover.annual") for r in workshop.runs] == [0.02, 0.9]
    preset_blame = lever_value(workshop.runs[0].scenario, "blame.facility")
    assert preset_blame == Blame().facility, "preset's values"


def test_the_page_offers_the_presets_and_shows_the_pause(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    _write(
        folder,
        """
presets:
  - name: Turnover
    notice: Staff who leave take practices with them.
    scenario: ../tiny.yaml
    copies:
      - {label: few leave, levers: {turnover.annual: 0.02}}
      - {label: many leave, levers: {turnover.annual: 0.9}}
    pause_on: {copy: 2, event: lost, cause: turnover}
""",
    )
    workshop = Workshop(folder / "tiny.yaml")
    playing, tick, moves = solara.reactive(False), solara.reactive(0), solara.reactive(0)
    _, settings = solara.render(
        app.Settings(workshop, folder, playing, tick, moves), handle_error=False
    )
    picker = settings.find(v.Select, class_="lhsim-demonstration").widget
    assert picker.items == ["Turnover"]
    picker.v_model = "Turnover"
    assert workshop.demonstration is not None and len(workshop.runs) == 2
    _, rc = solara.render(app.Explanation(workshop, playing, tick), handle_error=False)
    notice = rc.find(attributes={"class": "lhsim-notice"}).widget.unsafe_innerHTML
    assert "Staff who leave take practices with them." in notice
    while workshop.step() and not workshop.waiting:
        pass
    tick.value += 1
    rc.find(v.Btn, class_="lhsim-continue").assert_single()
    rc.find(v.Btn, class_="lhsim-continue").widget.click()
    assert playing.value and not workshop.waiting
    assert not rc.find(v.Btn, class_="lhsim-continue").widgets


@pytest.mark.slow
def test_every_shipped_preset_pauses_to_explain_within_its_months() -> None:
    for demonstration in load_presets(SHIPPED):
        workshop = Workshop()
        workshop.load_demonstration(demonstration)
        while workshop.step() and not workshop.waiting:
            pass
        assert workshop.waiting, f"{demonstration.name}: nothing showed it"


def test_the_district_preset_contrasts_two_districts_of_one_run() -> None:
    (districts,) = [
        d for d in load_presets(SHIPPED) if d.name == "Learning sessions in one district"
    ]
    (copy,) = districts.copies
    country = copy.scenario.countries[0]
    assert country.districts == 2 and not country.channels.learning_sessions.enabled
    assert [(p.lever, p.districts) for p in country.programmes] == [("learning_sessions", ["D001"])]
    workshop = Workshop()
    workshop.load_demonstration(districts)
    (run,) = workshop.runs
    assert run.split is not None
    assert run.split.labels == [
        "District 1 (learning sessions funded)",
        "District 2 (no programme)",
    ]
    while workshop.step() and not workshop.waiting:
        pass
    assert workshop.waiting and workshop.pause is not None, "a session's practice is adopted"
    event = next(e for e in run.events if e.kind == "adopted" and e.channel == "learning_sessions")
    assert event.month == workshop.pause.month and event.district == 0, "District 1"
    assert workshop.pause.what.startswith(event.text) and "learning session" in workshop.pause.what
    workshop.fund_in_districts("learning_sessions", ["D001", "D002"])
    assert workshop.runs[0].split is None, "funded in both: nothing to compare"
    workshop.reset()
    assert workshop.runs[0].split is not None and workshop.district_funding == {}
    assert workshop.runs[0].scenario.countries[0].programmes[0].districts == ["D001"], (
        "Reset returns to the preset's programme"
    )


def test_a_broken_district_preset_lists_every_problem(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
presets:
  - name: no programme
    notice: Something.
    scenario: ../tiny.yaml
    copies: [{label: a}]
    pause_on: {copy: 1, event: adopted, channel: learning_sessions}
  - name: a gap needs copies
    notice: Something.
    scenario: ../tiny.yaml
    copies:
      - {label: a, programmes: [{name: p, lever: coaching, districts: [D001]}]}
    pause_on: {copy: 1, qoc_gap: 0.05}
  - name: a strange channel
    notice: Something.
    scenario: ../tiny.yaml
    copies:
      - {label: a, programmes: [{name: p, lever: coaching, districts: [D001]}]}
    pause_on: {copy: 1, event: adopted, channel: carrier_pigeon}
""",
    )
    with pytest.raises(ScenarioError) as raised:
        load_presets(path)
    text = str(raised.value)
    assert "give it programmes" in text and "qoc_gap compares copies" in text, text
    assert "carrier_pigeon" in text, text
    path.write_text(
        """
presets:
  - name: districts
    notice: Something.
    scenario: ../tiny.yaml
    copies:
      - label: a
        programmes:
          - {name: p, lever: coaching, districts: [D001, D009]}
          - {name: q, lever: learning_sessions, districts: [D002]}
    pause_on: {copy: 1, event: adopted, channel: coaching}
"""
    )
    with pytest.raises(ScenarioError) as raised:
        load_presets(path)
    text = str(raised.value)
    assert "D009" in text and "no such district" in text, text
    assert "channels.learning_sessions.enabled is already true" in text, text
    assert "presets.0.copies.0.programmes.1" in text, text
