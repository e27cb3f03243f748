"""The trainer's lever controls (Solara): the sidebar below the scenario picker.

The practice shown on the map, the country the levers apply to, the side-by-side copy
(the levers in which a second copy differs, and its value of each) and one control per
teaching lever, each generated from the lever's parameter. Every change is a call on
:class:`sim.trainer.workshop.Workshop`; the page (:mod:`sim.trainer.app`) draws them in
its sidebar.
"""

from __future__ import annotations

from typing import Any

import solara

from sim.trainer.districts import CHANNELS, channel_words, district_words
from sim.trainer.levers import Lever, format_value, levers
from sim.trainer.narration import practice_label
from sim.trainer.page_html import lever_label, same_value
from sim.trainer.workshop import SideBySide, Workshop

__all__ = ["DistrictFundingControl", "LeverControl", "SideBySideControl", "lever_controls"]

EVERY_COUNTRY = "every country"
OFF = "off"


def lever_controls(workshop: Workshop, redraw: Any) -> None:
    """The practice on the map, the countries, the side-by-side copy and every lever.

    Drawn inside :func:`sim.trainer.app.Settings`; ``redraw`` is called after each change.
    """
    scenario = workshop.scenario
    if scenario is None:
        return  # nothing loaded yet: no levers to show
    runs = workshop.runs
    if runs:
        catalogue = runs[0].model.catalogue
        labels = [practice_label(runs[0].model, k) for k in range(catalogue.size)]

        def show(label: str) -> None:
            workshop.set_practice(labels.index(label))
            redraw()

        solara.Select(
            label="practice on the map",
            values=labels,
            value=labels[runs[0].practice],
            on_value=show,
        )
    names = [c.name for c in scenario.countries]
    if len(names) > 1:

        def choose(name: str) -> None:
            workshop.set_countries(None if name == EVERY_COUNTRY else [name])
            redraw()

        solara.Select(
            label="levers apply to",
            values=[EVERY_COUNTRY, *names],
            value=workshop.countries[0] if workshop.countries else EVERY_COUNTRY,
            on_value=choose,
        )
    solara.HTML(tag="h3", unsafe_innerHTML="Side by side")
    if workshop.demonstration is not None:
        solara.Text("The demonstration sets the copies; the levers below apply to every copy.")
    else:
        SideBySideControl(workshop.side_by_side, workshop, redraw)
    solara.HTML(tag="h3", unsafe_innerHTML="Per district")
    DistrictFundingControl(workshop, workshop.revision, redraw)
    solara.HTML(tag="h3", unsafe_innerHTML="Teaching levers")
    for lever in levers():
        LeverControl(lever, workshop.value(lever.path), workshop, redraw)


@solara.component
def LeverControl(lever: Lever, value: Any, workshop: Workshop, on_change: Any) -> None:
    """One slider, switch or choice, generated from the lever's parameter.

    It shows the value the lever has now in the run, so a lever the model moved (a
    triple-loop review) shows the new value and says when it moved; its tooltip is the
    parameter's description.
    """

    def set_value(new: Any) -> None:
        if same_value(lever, new, value):
            return  # the control echoing the value it shows (e.g. after a move by the model)
        workshop.set_lever(lever.path, new)
        on_change()

    label = lever_label(lever, value, workshop.moved(lever.path))
    with solara.Tooltip(lever.tooltip):
        if lever.kind == "bool":
            solara.Switch(label=label, value=bool(value), on_value=set_value)
        elif lever.kind == "choice":
            words = {format_value(c): c for c in lever.choices}
            solara.Select(
                label=label,
                values=list(words),
                value=format_value(value),
                on_value=lambda chosen: set_value(words[chosen]),
            )
        elif lever.kind == "int":
            if lever.optional:
                solara.Switch(
                    label=f"{lever.label}: unlimited",
                    value=value is None,
                    on_value=lambda on: set_value(None if on else lever.default),
                )
            if value is not None:
                solara.SliderInt(
                    label=label,
                    value=int(value),
                    min=int(lever.low or 0),
                    max=int(lever.high or 100),
                    step=int(lever.step),
                    on_value=set_value,
                )
        else:
            solara.SliderFloat(
                label=label,
                value=float(value),
                min=float(lever.low or 0.0),
                max=float(lever.high or 1.0),
                step=lever.step,
                on_value=set_value,
            )


@solara.component
def SideBySideControl(current: SideBySide | None, workshop: Workshop, on_change: Any) -> None:
    """Choose the levers in which a second copy differs, and its value of each."""
    choices = {lever.label: lever for lever in levers()}
    changes = dict(current.changes) if current is not None else {}

    def set_changes(new: dict[str, Any]) -> None:
        workshop.set_side_by_side(SideBySide(new) if new else None)
        on_change()

    def add(label: str | None) -> None:
        if label is None or label == OFF:
            set_changes({})
            return
        lever = choices[label]
        set_changes({**changes, lever.path: _contrast(lever, workshop)})

    free = [label for label, lever in choices.items() if lever.path not in changes]
    solara.Select(
        label="side by side: lever taught" if not changes else "side by side: add a lever",
        values=[OFF, *free],
        value=None if changes else OFF,
        on_value=add,
        classes=["lhsim-side-by-side"],
    )
    by_path = {lever.path: lever for lever in levers()}
    for path, value in changes.items():
        lever = by_path[path]

        def set_b(new: Any, path: str = path) -> None:
            set_changes({**changes, path: new})

        label = f"second copy: {lever.label}"
        with solara.Row():
            if lever.kind == "bool":
                solara.Switch(label=f"{label}: {format_value(value)}", value=bool(value),
                              on_value=set_b)  # fmt: skip
            elif lever.kind == "choice":
                words = {format_value(c): c for c in lever.choices}

                def choose(chosen: str, set_b: Any = set_b, words: Any = words) -> None:
                    set_b(words[chosen])

                solara.Select(
                    label=label, values=list(words), value=format_value(value), on_value=choose
                )
            elif lever.kind == "int" and value is not None:
                solara.SliderInt(
                    label=label, value=int(value), min=int(lever.low or 0),
                    max=int(lever.high or 100), on_value=set_b,
                )  # fmt: skip
            elif lever.kind in ("float", "int"):
                solara.SliderFloat(
                    label=label, value=float(value if value is not None else lever.default or 0),
                    min=float(lever.low or 0.0), max=float(lever.high or 1.0), step=lever.step,
                    on_value=set_b,
                )  # fmt: skip

            def remove(path: str = path) -> None:
                set_changes({k: v for k, v in changes.items() if k != path})

            solara.Button("remove", on_click=remove, text=True, classes=["lhsim-remove"])


def _contrast(lever: Lever, workshop: Workshop) -> Any:
    """A second value that differs clearly from the current one."""
    value = workshop.setting(lever.path)
    if lever.kind == "bool":
        return not value
    if lever.kind == "choice":
        return next(c for c in lever.choices if c != value)
    if value is None:
        return lever.default
    low, high = float(lever.low or 0), float(lever.high or 1)
    other = value + (high - low) / 4 if value < (low + high) / 2 else value - (high - low) / 4
    return int(round(other)) if lever.kind == "int" else round(other, 2)


@solara.component
def DistrictFundingControl(workshop: Workshop, revision: int, on_change: Any) -> None:
    """Fund a channel in the districts ticked, and nowhere else in the country.

    Pick a channel, tick districts, then "Fund in these districts": the channel is
    switched off for the country and a programme funds it in the districts ticked
    from month 1; the run starts again. "Undo" returns to the scenario's own. The
    control is drawn again whenever the runs restart (``revision`` is
    :attr:`Workshop.revision`).
    """
    words = {channel_words(c): c for c in CHANNELS}
    chosen = solara.use_reactive(CHANNELS[0])
    channel = chosen.value
    names = workshop.district_names()
    labels = {district_words(n): n for n in names}
    funded = workshop.funded(channel)
    ticked = solara.use_reactive([district_words(n) for n in funded])

    def show_funded() -> None:  # the ticks follow the run after Reset or another scenario
        ticked.value = [district_words(n) for n in funded]

    solara.use_effect(show_funded, [channel, tuple(funded)])

    def pick(label: str) -> None:
        chosen.value = words[label]

    def fund() -> None:
        workshop.fund_in_districts(channel, [labels[t] for t in ticked.value if t in labels])
        on_change()

    def undo() -> None:
        workshop.fund_in_districts(channel, None)
        on_change()

    solara.Select(
        label="channel funded district by district",
        values=list(words),
        value=channel_words(channel),
        on_value=pick,
        classes=["lhsim-district-channel"],
    )
    countries = workshop.scenario.countries if workshop.scenario else []
    where_in = f" in {countries[workshop.country_index()].name}" if len(countries) > 1 else ""
    solara.SelectMultiple(
        f"districts funded{where_in}",
        all_values=list(labels),
        values=ticked.value,
        on_value=ticked.set,
        classes=["lhsim-districts"],
    )
    with solara.Row():
        solara.Button(
            "Fund in these districts", on_click=fund, color="primary", classes=["lhsim-fund"]
        )
        if channel in workshop.district_funding:
            solara.Button("Undo", on_click=undo, text=True, classes=["lhsim-unfund"])
    where = ", ".join(district_words(n) for n in funded) or "no district"
    solara.Text(f"{channel_words(channel)}: funded in {where}", classes=["lhsim-funded"])
