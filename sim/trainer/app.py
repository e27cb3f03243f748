"""The trainer's page (Solara): pick a scenario, move levers, play, watch learning move.

Presentation only: every action is a call on :class:`sim.trainer.workshop.Workshop`, which
holds the runs and draws the view. Start it with ``lhsim app`` (see
:func:`serve`); it listens on 127.0.0.1 unless told otherwise.

Mesa's ``SolaraViz`` builds a model from keyword arguments and shows one model; this
page needs scenario files, two models in lockstep and a narrated event log, so it uses
Solara directly.
"""

from __future__ import annotations

import html
import os
import time
from pathlib import Path
from typing import Any, cast

import solara
import solara.lab

from sim.errors import SimError
from sim.trainer.lever_controls import lever_controls
from sim.trainer.page_html import (
    ALL,
    CSS,
    district_qoc,
    filter_choices,
    ledger_html,
    log_html,
    maturity_html,
    means_html,
)
from sim.trainer.presets import Demonstration, default_presets_file, load_presets
from sim.trainer.scenario_folder import default_scenario_folder, scenario_files
from sim.trainer.workshop import Workshop

__all__ = ["Page", "serve"]

#: Environment variables through which ``lhsim app`` hands its options to the page.
SCENARIO_VARIABLE = "LHSIM_APP_SCENARIO"
FOLDER_VARIABLE = "LHSIM_APP_SCENARIOS"

#: The speeds offered, in months a second (``None``: as fast as it goes).
SPEEDS: dict[str, float | None] = {
    "as fast as it goes": None,
    "1 month a second": 1.0,
    "2 months a second": 2.0,
    "5 months a second": 5.0,
    "10 months a second": 10.0,
}

#: How long news flows stay on the map.
FLOW_MONTHS: dict[str, int] = {"1 month": 1, "3 months": 3, "6 months": 6, "12 months": 12}


def _demonstrations(folder: Path) -> tuple[list[Demonstration], str]:
    """The presets of ``folder/presets/workshop.yaml``, or a message on what is wrong."""
    path = default_presets_file(folder)
    if not path.exists():
        return [], ""
    try:
        return load_presets(path), ""
    except SimError as error:
        return [], str(error)


def _folder() -> Path:
    return Path(os.environ.get(FOLDER_VARIABLE) or default_scenario_folder())


def _first_scenario(folder: Path) -> Path | None:
    chosen = os.environ.get(SCENARIO_VARIABLE)
    if chosen:
        return Path(chosen)
    files = scenario_files(folder)
    demo = [p for p in files if p.name == "demo.yaml"]
    return (demo or files)[0] if files else None


@solara.component
def Controls(
    workshop: Workshop, playing: Any, tick: Any, moves: Any, projector: Any = None
) -> None:
    """Play, step, restart, reset and back to defaults, with the month and the speed.

    Also projector mode (the view at 1920 x 1080 with large text, the page's text larger).
    """

    def step() -> None:
        workshop.step()
        moves.value = workshop.revision
        tick.value += 1

    def again(action: Any) -> Any:
        def run() -> None:
            playing.value = False
            action()
            moves.value = workshop.revision
            tick.value += 1

        return run

    _ = tick.value
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        solara.Button(
            "Pause" if playing.value else "Play",
            on_click=lambda: playing.set(not playing.value),
            disabled=not workshop.ready or workshop.finished,
            color="primary",
            classes=["lhsim-play"],
        )
        solara.Button(
            "Step",
            on_click=step,
            disabled=playing.value or workshop.finished,
            classes=["lhsim-step"],
        )
        with solara.Tooltip("Month 0 again, with the levers as they are set now"):
            solara.Button("Restart", on_click=again(workshop.restart), classes=["lhsim-restart"])
        with solara.Tooltip("Month 0 again, with the scenario's own lever values"):
            solara.Button("Reset", on_click=again(workshop.reset), classes=["lhsim-reset"])
        with solara.Tooltip("Month 0 again, with every lever at its documented default"):
            solara.Button(
                "Back to defaults",
                on_click=again(workshop.back_to_defaults),
                classes=["lhsim-defaults"],
            )
        speeds = {v: k for k, v in SPEEDS.items()}

        def redraw() -> None:
            if not playing.value:  # while playing, the play loop redraws every month
                tick.value += 1

        def pace(words: str) -> None:
            workshop.set_speed(SPEEDS[words])
            redraw()

        solara.Select(
            label="speed",
            values=list(SPEEDS),
            value=speeds.get(workshop.speed, "as fast as it goes"),
            on_value=pace,
            classes=["lhsim-speed"],
        )
        flows = {v: k for k, v in FLOW_MONTHS.items()}

        def keep(words: str) -> None:
            workshop.set_flow_months(FLOW_MONTHS[words])
            redraw()

        solara.Select(
            label="news stays on the map for",
            values=list(FLOW_MONTHS),
            value=flows.get(workshop.flow_months, "1 month"),
            on_value=keep,
            classes=["lhsim-flow-months"],
        )
        if projector is not None:

            def project(on: bool) -> None:
                workshop.set_projector(on)
                projector.value = on
                redraw()

            solara.Switch(
                label="Projector mode",
                value=projector.value,
                on_value=project,
                classes=["lhsim-projector-switch"],
            )
        months = workshop.scenario.months if workshop.scenario else 0
        speed = workshop.months_per_second()
        solara.Text(
            f"month {workshop.month} of {months}" + (f" · {speed:.1f} months/s" if speed else ""),
            classes=["lhsim-status"],
        )


@solara.component
def LogControls(workshop: Workshop, filters: Any, moves: Any) -> None:
    """Filters of the event log (cause, district, practice) and its export to CSV."""
    _ = moves.value
    choices = filter_choices(workshop)
    chosen = filters.value
    with solara.Row(classes=["lhsim-log-controls"]):
        for key, label in (("cause", "cause"), ("district", "district"), ("practice", "practice")):
            words = {v: k for k, v in choices[key].items()}

            def choose(value: str, key: str = key) -> None:
                picked = choices[key][value]
                new = {k: v for k, v in filters.value.items() if k != key}
                if picked is not None:
                    new[key] = picked
                filters.value = new

            solara.Select(
                label=f"log: {label}",
                values=list(choices[key]),
                value=words.get(chosen.get(key), ALL),
                on_value=choose,
                classes=[f"lhsim-filter-{key}"],
            )
        solara.FileDownload(
            lambda: workshop.events_csv(**filters.value),
            filename="lhsim-events.csv",
            label="Export the log (CSV)",
            mime_type="text/csv",
        )


@solara.component
def Explanation(workshop: Workshop, playing: Any, tick: Any) -> None:
    """A demonstration's sentence, and its pause-and-explain when it comes."""
    _ = tick.value, playing.value  # Continue hides the pause as play starts
    demonstration = workshop.demonstration
    if demonstration is None:
        return
    solara.HTML(
        unsafe_innerHTML=f"<b>{html.escape(demonstration.name)}.</b> "
        f"What to notice: {html.escape(demonstration.preset.notice)}",
        classes=["lhsim-notice"],
    )
    pause = workshop.pause
    if pause is None or not workshop.waiting:
        return

    def carry_on() -> None:
        workshop.dismiss_pause()
        # starting the play loop redraws the page every month; bumping ``tick`` here as
        # well, while the loop starts, left the page without redraws until the run ended
        playing.value = True

    why = f"<br>Why it is lost: {html.escape(pause.explanation)}." if pause.explanation else ""
    with solara.Column(classes=["lhsim-explain"]):
        solara.HTML(
            unsafe_innerHTML=f"<b>Paused at month {pause.month}: here it is.</b> "
            f"In <i>{html.escape(pause.copy_label)}</i>: {html.escape(pause.what)}.{why}"
            f"<br>{html.escape(pause.notice)}"
        )
        solara.Button("Continue", on_click=carry_on, color="primary", classes=["lhsim-continue"])


@solara.component
def LogView(workshop: Workshop, tick: Any, filters: Any) -> None:
    """The event log, newest first, as filtered; redrawn every month."""
    _ = tick.value
    solara.HTML(unsafe_innerHTML=log_html(workshop, filters.value), classes=["lhsim-log"])


@solara.component
def LiveView(workshop: Workshop, tick: Any) -> None:
    """The maps and charts, the QoC reading and the ledger table; redrawn every month."""
    _ = tick.value
    if workshop.error:
        solara.Error(workshop.error, classes=["lhsim-error"], style="white-space: pre-wrap")
    if workshop.ready:
        solara.Image(workshop.frame(), format="jpeg", classes=["lhsim-view"])
        qoc = " · ".join(f"{run.label}: {run.qoc[-1]:.3f}" for run in workshop.runs)
        solara.Text(f"QoC at month {workshop.month}: {qoc}", classes=["lhsim-qoc"])
        districts = district_qoc(workshop.runs)
        if districts:
            solara.Text(f"by district: {districts}", classes=["lhsim-district-qoc"])
        solara.HTML(unsafe_innerHTML=ledger_html(workshop), classes=["lhsim-ledger"])
        means = means_html(workshop) + maturity_html(workshop)
        solara.HTML(unsafe_innerHTML=means, classes=["lhsim-means"])


@solara.component
def Settings(workshop: Workshop, folder: Path, playing: Any, tick: Any, moves: Any) -> None:
    """The sidebar: scenario picker, side-by-side choice and the teaching levers.

    It is drawn again when the model moves a lever or the runs restart
    (``moves`` follows :attr:`Workshop.revision`), not every month.
    """
    changed = solara.use_reactive(0)
    _ = moves.value
    path_text = solara.use_reactive(str(workshop.path or ""))

    def redraw() -> None:
        playing.value = False
        changed.value += 1
        tick.value += 1

    def open_file(path: str | None) -> None:
        if not path:
            return
        path_text.value = path
        workshop.load(path)
        redraw()

    _ = changed.value
    demonstrations, problem = _demonstrations(folder)
    names = {d.name: d for d in demonstrations}

    def show_demonstration(name: str | None) -> None:
        if name in names:
            workshop.load_demonstration(names[name])
            redraw()

    solara.HTML(tag="h3", unsafe_innerHTML="Demonstrations")
    if problem:
        solara.Error(problem, style="white-space: pre-wrap")
    solara.Select(
        label="a ready contrast",
        values=list(names),
        value=workshop.demonstration.name if workshop.demonstration else None,
        on_value=show_demonstration,
        classes=["lhsim-demonstration"],
    )
    files = [p.as_posix() for p in scenario_files(folder)]
    solara.HTML(tag="h3", unsafe_innerHTML="Scenario")
    solara.Select(
        label=f"scenario files in {folder.as_posix()}/",
        values=files,
        value=str(workshop.path.as_posix()) if workshop.path else None,
        on_value=open_file,
    )
    solara.InputText("or open any file", value=path_text, on_value=open_file)
    if workshop.scenario is not None:
        lever_controls(workshop, redraw)


@solara.component
def Page() -> None:
    """The whole page."""
    folder = solara.use_memo(_folder, [])
    workshop = solara.use_memo(lambda: Workshop(_first_scenario(folder)), [])
    tick = solara.use_reactive(0)
    moves = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    filters = solara.use_reactive(cast(dict[str, Any], {}))
    projector = solara.use_reactive(False)

    def play_loop() -> None:
        while playing.value:
            started = time.perf_counter()
            if not workshop.step() or workshop.waiting:
                playing.value = False  # finished, failed, or paused to explain
            moves.value = workshop.revision  # the sidebar is redrawn only when this changes
            tick.value += 1
            time.sleep(max(0.001, workshop.wait_before_next(started)))

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    solara.Style(CSS)
    solara.Title("lhsim: why learning is lost between facilities")
    with solara.Sidebar():
        Settings(workshop, folder, playing, tick, moves)
    classes = ["lhsim-main", *(["lhsim-projector"] if projector.value else [])]
    with solara.Column(style={"padding": "8px"}, classes=classes):
        Controls(workshop, playing, tick, moves, projector)
        Explanation(workshop, playing, tick)
        LiveView(workshop, tick)
        solara.HTML(tag="h4", unsafe_innerHTML="What happened")
        LogControls(workshop, filters, moves)
        LogView(workshop, tick, filters)


def serve(host: str = "127.0.0.1", port: int = 8765, scenario: Path | None = None) -> None:
    """Serve the page until interrupted.

    Args:
        host: Address to listen on (127.0.0.1: this computer only).
        port: Port to listen on.
        scenario: A scenario file to open first (default: ``scenarios/demo.yaml``).
    """
    import uvicorn

    os.environ["SOLARA_APP"] = "sim.trainer.app"
    if scenario is not None:
        os.environ[SCENARIO_VARIABLE] = str(scenario)
    from solara.server.starlette import app

    uvicorn.run(app, host=host, port=port, log_level="warning")
