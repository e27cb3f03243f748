"""Figures a planner can read, built from results tables (never from a live model).

Every function takes DataFrames and returns a :class:`matplotlib.figure.Figure`; nothing
is shown on screen. Figures are drawn with the Agg canvas and never touch
``matplotlib.pyplot``, so they work on servers and do not change the user's backend.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from sim.metrics.learning_means import LEVELS, MEANS, means_table
from sim.reporting.palette import CAUSE_COLOURS
from sim.runs.results import Results, atomic_write

__all__ = [
    "LOSS_CAUSES",
    "SUPPORT_NOT_GIVEN",
    "coverage_figure",
    "learning_means_figure",
    "loss_ledger_figure",
    "qoc_figure",
    "write_figures",
]

#: The five causes of the loss ledger, with the words a planner uses for them.
LOSS_CAUSES: dict[str, str] = {
    "lost_turnover": "staff turnover",
    "lost_bottleneck": "national bottleneck",
    "lost_blame": "blame culture",
    "lost_no_story": "no story",
    "lost_no_channel": "no channel",
}
#: Requests for support that expired unanswered (run total): shown beside the loss ledger,
#: never in it, since a request is not a lesson.
SUPPORT_NOT_GIVEN = "support_not_given_total"
#: Most practices drawn with a legend entry each.
LEGEND_LIMIT = 8
DPI = 120


def _new_figure(width: float = 8.0, height: float = 4.8) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _require(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the {table} table has no column {missing}; found {list(frame.columns)}")


def _runs(frame: pd.DataFrame) -> int:
    return int(frame["replicate"].nunique()) if "replicate" in frame.columns else 1


def _no_data(figure: Figure, message: str) -> Figure:
    axes = figure.axes[0] if figure.axes else figure.add_subplot()
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()
    return figure


def qoc_figure(timeseries: pd.DataFrame) -> Figure:
    """Quality of care over time: median over replicates and the band holding 90 % of them.

    Args:
        timeseries: One row per (``replicate``, ``month``) with column ``qoc``.

    Returns:
        The figure.

    Raises:
        ValueError: ``month`` or ``qoc`` is missing.
    """
    _require(timeseries, ["month", "qoc"], "timeseries")
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.set_title("Quality of care over time")
    if timeseries.empty:
        return _no_data(figure, "no months were simulated")
    by_month = timeseries.groupby("month")["qoc"]
    low, median, high = (by_month.quantile(q) for q in (0.05, 0.5, 0.95))
    runs = _runs(timeseries)
    axes.fill_between(
        low.index, low.to_numpy(), high.to_numpy(), alpha=0.25, label="90 % of runs in this band"
    )
    axes.plot(median.index, median.to_numpy(), linewidth=2, label=f"median of {runs} runs")
    axes.set_xlabel("Months since the start")
    axes.set_ylabel("Quality-of-care index\n(0 = no good practice in use, 1 = all of them)")
    axes.set_ylim(0, max(1.0, float(high.max())))
    axes.set_xlim(float(median.index.min()), float(median.index.max()))
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return figure


def loss_ledger_figure(summary: pd.DataFrame) -> Figure:
    """Where lessons are lost: the five causes, median per run with 5-95 % whiskers.

    Beside the ledger, not as a cause, the axis label gives the median of requests for
    support not given (:data:`SUPPORT_NOT_GIVEN`) where the summary has it.

    Args:
        summary: One row per replicate with the columns of :data:`LOSS_CAUSES`.

    Returns:
        The figure.

    Raises:
        ValueError: A cause column is missing.
    """
    _require(summary, LOSS_CAUSES, "summary")
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.set_title("Where lessons are lost (loss ledger)")
    if summary.empty:
        return _no_data(figure, "no runs to summarise")
    values = summary[list(LOSS_CAUSES)].astype(float)
    median = values.median().to_numpy()
    low = values.quantile(0.05).to_numpy()
    high = values.quantile(0.95).to_numpy()
    positions = np.arange(len(LOSS_CAUSES))
    axes.bar(
        positions,
        median,
        yerr=np.vstack([median - low, high - median]),
        capsize=6,
        color=[CAUSE_COLOURS[column.removeprefix("lost_")] for column in LOSS_CAUSES],
    )
    axes.set_xticks(positions, list(LOSS_CAUSES.values()))
    label = "Why the lesson was lost"
    if SUPPORT_NOT_GIVEN in summary.columns:
        unanswered = float(summary[SUPPORT_NOT_GIVEN].astype(float).median())
        label += (
            f"\nBeside the ledger (requests, not lessons): {unanswered:,.0f} requests for "
            "support not given (median per run)"
        )
    axes.set_xlabel(label)
    axes.set_ylabel("Lessons lost per run")
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    bar = Patch(facecolor="#999999", label=f"median of {_runs(summary)} runs (bar)")
    whisker = Line2D([], [], color="black", marker="_", markersize=10, label="5 % to 95 % of runs")
    axes.legend(handles=[bar, whisker], loc="best")
    return figure


def learning_means_figure(summary: pd.DataFrame) -> Figure:
    """How learning moved: practices and lessons by means (WHO) and level, median per run.

    Args:
        summary: One row per replicate (the columns of
            :data:`sim.metrics.learning_means.ROUTES`).

    Returns:
        The figure: two tables of shaded cells, practices and lessons.
    """
    figure = _new_figure(width=9.0, height=4.2)
    figure.suptitle("How learning moved: by means and level (median per run)")
    if summary.empty:
        return _no_data(figure, "no runs to summarise")
    panels = figure.subplots(1, 2)
    for axes, quantity in zip(panels, ("practices", "lessons"), strict=True):
        table = means_table(summary, quantity).to_numpy(dtype=float)
        top = max(float(table.max()), 1.0)
        axes.imshow(table, cmap="Blues", vmin=0.0, vmax=top * 1.4, aspect="auto")
        for (row, column), value in np.ndenumerate(table):
            axes.text(column, row, _count_words(value), ha="center", va="center", fontsize=11)
        axes.set_xticks(range(len(LEVELS)), list(LEVELS))
        axes.set_yticks(range(len(MEANS)), list(MEANS))
        axes.set_title(
            "practices first reached" if quantity == "practices" else "lessons made or passed on"
        )
        axes.tick_params(length=0)
    return figure


def _count_words(value: float) -> str:
    if value == 0:
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def coverage_figure(practices: pd.DataFrame) -> Figure:
    """Spread of each practice: median share of facilities using it, month by month.

    With few practices each line has a legend entry; with many, lines are coloured by
    their final coverage and the legend names the five furthest spread.

    Args:
        practices: One row per (``replicate``, ``month``, ``practice``) with ``coverage``
            as a share of facilities (0 to 1).

    Returns:
        The figure.

    Raises:
        ValueError: ``month``, ``practice`` or ``coverage`` is missing.
    """
    _require(practices, ["month", "practice", "coverage"], "practices")
    figure = _new_figure(9.0, 5.0)
    axes = figure.add_subplot()
    axes.set_title("How far each practice has spread")
    if practices.empty:
        return _no_data(figure, "no practices to show")
    median = practices.pivot_table(
        index="month", columns="practice", values="coverage", aggfunc="median", sort=True
    )
    final = median.iloc[-1].sort_values(ascending=False, kind="stable")
    few = len(final) <= LEGEND_LIMIT
    if few:
        for practice in final.index:
            axes.plot(median.index, median[practice].to_numpy(), label=str(practice))
        axes.legend(title="practice", loc="best", fontsize="small")
    else:
        norm = Normalize(vmin=0.0, vmax=max(1e-9, float(final.max())))
        colours = colormaps["viridis"]
        for practice in final.index[::-1]:  # most spread drawn last, on top
            axes.plot(
                median.index,
                median[practice].to_numpy(),
                color=colours(norm(final[practice])),
                linewidth=1.2,
                alpha=0.85,
            )
        figure.colorbar(
            ScalarMappable(norm=norm, cmap=colours),
            ax=axes,
            label="share of facilities at the end",
            format=PercentFormatter(1.0, decimals=0),
        )
        top = final.index[:5]
        handles = [Line2D([], [], color=colours(norm(final[p]))) for p in top]
        axes.legend(
            handles,
            [f"{p} ({final[p]:.0%})" for p in top],
            title=f"most spread of {len(final)}",
            loc="upper left",
            fontsize="small",
        )
    axes.set_xlabel("Months since the start")
    axes.set_ylabel("Share of facilities using the practice\n(median of runs)")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_ylim(0, 1)
    axes.set_xlim(float(median.index.min()), float(median.index.max()))
    axes.grid(alpha=0.3)
    return figure


def _save(figure: Figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    data = buffer.getvalue()
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_figures(results: Results, folder: Path | None = None) -> dict[str, Path]:
    """Write the standard figures of ``results`` as PNG files under ``folder/figures/``.

    Args:
        results: Results read with :func:`sim.runs.results.read_results`.
        folder: The results folder; defaults to ``results.folder``.

    Returns:
        The path of each figure by name: ``qoc``, ``loss_ledger``, ``coverage``,
        ``learning_means``.
    """
    target = Path(results.folder if folder is None else folder) / "figures"
    figures = {
        "qoc": qoc_figure(results.timeseries),
        "loss_ledger": loss_ledger_figure(results.summary),
        "coverage": coverage_figure(results.practices),
        "learning_means": learning_means_figure(results.summary),
    }
    paths = {}
    for name, figure in figures.items():
        paths[name] = target / f"{name}.png"
        _save(figure, paths[name])
    return paths
