"""Figure 1 of the framework, drawn from a simulation: the nine countries A to I.

The framework's text describes, for countries A to I of its Figure 1, where learning
passes and where it is lost; ``scenarios/figure1/world.yaml`` encodes those sentences.
:func:`figure1_panel` draws one small schematic per country: its national level
(with a learning centre if it has one), two of its districts and six of its
facilities, with a line for every channel that is switched on (green: facility to
facility; blue: district to district; grey arrows: up and down). Facilities are
coloured by the country's simulated final QoC, and the text under each schematic
gives the simulated lessons passed on and the two largest causes of loss. The
schematic shows which channels exist; the numbers come from the simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sim.model.ledger import CAUSES
from sim.model.schema import Country, Scenario
from sim.reporting.plots import LOSS_CAUSES
from sim.runs.results import atomic_write, read_results

__all__ = ["country_outcomes", "figure1_panel", "write_figure1"]

_FACILITY_X = np.linspace(0.08, 0.92, 6)
_DISTRICT_X = (0.27, 0.73)
_Y_FACILITY, _Y_DISTRICT, _Y_NATIONAL = 0.18, 0.5, 0.82
_QOC_COLOURS = colormaps["RdYlGn"]


def country_outcomes(countries: pd.DataFrame) -> pd.DataFrame:
    """Final-month outcomes per country, median over replicates.

    Args:
        countries: The ``countries`` table of a results folder.

    Returns:
        One row per country (index ``country``): ``qoc``, ``lessons_generated``,
        ``lessons_passed``, the ``lost_<cause>`` counts and ``lost_total``.
    """
    last = countries[countries["month"] == countries["month"].max()]
    columns = ["qoc", "lessons_generated", "lessons_passed", *(f"lost_{c}" for c in CAUSES)]
    table = last.groupby("country")[columns].median()
    table["lost_total"] = table[[f"lost_{c}" for c in CAUSES]].sum(axis=1)
    return table


def _box(axes: Axes, x: float, y: float, text: str, colour: str) -> None:
    width, height = 0.3, 0.1
    axes.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.01",
            facecolor=colour,
            edgecolor="black",
            linewidth=0.6,
        )
    )
    axes.text(x, y, text, ha="center", va="center", fontsize=6.5)


def _arrow(axes: Axes, start: tuple[float, float], end: tuple[float, float], colour: str) -> None:
    axes.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=7, color=colour, lw=0.8)
    )


def _horizontal_on(country: Country) -> bool:
    c = country.channels
    return bool(
        c.peer_network.enabled
        or c.learning_sessions.enabled
        or c.messaging_group.enabled
        or c.exchange_visits.enabled
    )


def _draw_country(
    axes: Axes, country: Country, outcome: pd.Series, partners: Sequence[str]
) -> None:
    axes.set_xlim(0, 1)
    axes.set_ylim(-0.12, 1)
    axes.set_xticks([])
    axes.set_yticks([])
    for side in axes.spines.values():
        side.set_linewidth(0.5)
    channels = country.channels
    national = "national"
    if country.learning_centres.count:
        national += " + learning centre"
    _box(axes, 0.5, _Y_NATIONAL, national, "#dde6f3")
    if partners:
        axes.text(0.5, 0.95, "global: " + ", ".join(partners), ha="center", fontsize=6)
    for x in _DISTRICT_X:
        _box(axes, x, _Y_DISTRICT, "district", "#eeeeee")
        if channels.guidance.enabled:
            _arrow(
                axes, (0.5 + (x - 0.5) * 0.3, _Y_NATIONAL - 0.05), (x, _Y_DISTRICT + 0.05), "grey"
            )
    if channels.district_exchange.enabled and country.national.routing == "free":
        axes.plot(
            [_DISTRICT_X[0] + 0.15, _DISTRICT_X[1] - 0.15], [_Y_DISTRICT] * 2, color="#1f77b4"
        )
    colour = _QOC_COLOURS(Normalize(0, 1)(float(outcome["qoc"])))
    for index, x in enumerate(_FACILITY_X):
        district_x = _DISTRICT_X[index // 3]
        if channels.upward_reporting.enabled:
            _arrow(axes, (x, _Y_FACILITY + 0.05), (district_x - 0.02, _Y_DISTRICT - 0.05), "grey")
        if channels.coaching.enabled:
            _arrow(
                axes,
                (district_x + 0.02, _Y_DISTRICT - 0.05),
                (x + 0.01, _Y_FACILITY + 0.05),
                "#9467bd",
            )
    if _horizontal_on(country):
        axes.plot(_FACILITY_X, [_Y_FACILITY] * len(_FACILITY_X), color="#2ca02c", lw=1.5, zorder=1)
    else:
        for left, right in zip(_FACILITY_X[:-1], _FACILITY_X[1:], strict=True):
            axes.text(
                (left + right) / 2,
                _Y_FACILITY,
                "x",
                color="#d62728",
                ha="center",
                va="center",
                fontsize=8,
            )
    axes.scatter(
        _FACILITY_X,
        [_Y_FACILITY] * len(_FACILITY_X),
        s=70,
        color=colour,
        edgecolor="black",
        linewidth=0.6,
        zorder=2,
    )
    total = float(outcome["lost_total"]) or 1.0
    shares = sorted(
        ((float(outcome[f"lost_{c}"]) / total, LOSS_CAUSES[f"lost_{c}"]) for c in CAUSES),
        reverse=True,
    )
    lost = ", ".join(f"{words} {share:.0%}" for share, words in shares[:2])
    axes.text(
        0.5,
        -0.06,
        f"passed on {outcome['lessons_passed']:,.0f}; lost: {lost}",
        ha="center",
        va="center",
        fontsize=6,
    )
    axes.set_title(f"{country.name}: QoC {float(outcome['qoc']):.2f}", fontsize=9)


def figure1_panel(scenario: Scenario, countries: pd.DataFrame) -> Figure:
    """The 3 x 3 panel of the Figure-1 world.

    Args:
        scenario: The world scenario (its countries' channels are drawn).
        countries: The ``countries`` table of its results.

    Returns:
        The figure (up to nine countries, in scenario order).
    """
    outcomes = country_outcomes(countries)
    figure = Figure(figsize=(10.5, 10.0), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.subplots(3, 3, squeeze=False)
    links = scenario.global_links
    for axes, country in zip(grid.reshape(-1), scenario.countries[:9], strict=False):
        partners = sorted(
            {b for a, b in links if a == country.name} | {a for a, b in links if b == country.name}
        )
        outcome = cast(pd.Series, outcomes.loc[country.name])
        _draw_country(axes, country, outcome, partners)
    for axes in grid.reshape(-1)[len(scenario.countries) :]:
        axes.set_axis_off()
    figure.suptitle(
        "Where learning passes and where it is lost (after the framework's Figure 1; "
        f"simulated, median of {countries['replicate'].nunique()} replicates)\n"
        "green: facility to facility; red x: lost between facilities; blue: district to "
        "district; grey arrows: reports up and guidance down; purple: coaching",
        fontsize=9,
    )
    return figure


def write_figure1(
    file: Path,
    *,
    out_dir: Path,
    replicates: int,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    command: Sequence[str] | None = None,
) -> Path:
    """Run the world scenario in ``file`` (resuming a run already there) and draw the panel.

    Returns:
        The path of ``figure1.png`` in ``out_dir``.
    """
    from sim.config.scenario import load_scenario
    from sim.planning.figures import figure_png
    from sim.runs.runner import run_scenario

    scenario = load_scenario(file)
    out_dir = Path(out_dir)
    run_folder = out_dir / "world"
    resume = not force and run_folder.is_dir() and any(run_folder.iterdir())
    run_scenario(
        scenario,
        replicates=replicates,
        out_dir=run_folder,
        workers=workers,
        resume=resume,
        force=force,
        progress=progress,
        command=command,
    )
    results = read_results(run_folder)
    png = figure_png(figure1_panel(scenario, results.countries))
    path = out_dir / "figure1.png"
    atomic_write(path, lambda tmp: tmp.write_bytes(png))
    return path
