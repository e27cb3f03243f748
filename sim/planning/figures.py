"""Figures of a scenario comparison: QoC bands, the cost-effect plane, the loss ledger.

Each function takes tables read from disk and returns a
:class:`matplotlib.figure.Figure` drawn on the Agg canvas; nothing is shown.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.reporting.palette import CAUSE_COLOURS
from sim.reporting.plots import LOSS_CAUSES

if TYPE_CHECKING:
    from sim.planning.compare import ScenarioData

__all__ = [
    "comparison_figures",
    "cost_effect_figure",
    "figure_png",
    "loss_ledger_comparison_figure",
    "qoc_bands_figure",
]

DPI = 110


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _colours(count: int) -> list[tuple[float, float, float, float]]:
    palette = colormaps["tab10"] if count <= 10 else colormaps["tab20"]
    return [palette(i % palette.N) for i in range(count)]


def figure_png(figure: Figure) -> bytes:
    """Render ``figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def qoc_bands_figure(series: dict[str, pd.DataFrame], baseline: str) -> Figure:
    """QoC over time for every scenario: median line and 5-95 % band over replicates.

    Args:
        series: Per scenario, its timeseries (``replicate``, ``month``, ``qoc``).
        baseline: The baseline's name (drawn dashed).
    """
    figure = _new_figure(8.5, 5.0)
    axes = figure.add_subplot()
    axes.set_title("Quality of care over time (median, 5-95 % of replicates)")
    for colour, (name, frame) in zip(_colours(len(series)), series.items(), strict=True):
        by_month = frame.groupby("month")["qoc"]
        median = by_month.median()
        low, high = by_month.quantile(0.05), by_month.quantile(0.95)
        style = "--" if name == baseline else "-"
        label = f"{name} (baseline)" if name == baseline else name
        axes.plot(median.index, median.to_numpy(), style, color=colour, label=label)
        axes.fill_between(median.index, low.to_numpy(), high.to_numpy(), color=colour, alpha=0.15)
    axes.set_xlabel("Month")
    axes.set_ylabel("QoC index (0-1)")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize="small", ncols=2 if len(series) > 5 else 1)
    return figure


def cost_effect_figure(
    qoc_diff: pd.DataFrame, cost_diff: pd.DataFrame, baseline: str, currency: str
) -> Figure:
    """The cost-effect plane: each scenario's paired gain in QoC against its extra cost.

    Args:
        qoc_diff: Paired differences in final QoC (index) from the baseline; one column
            per scenario, one row per replicate.
        cost_diff: Paired differences in discounted total cost, same shape.
        baseline: The baseline's name (at the origin).
        currency: The currency of the costs.
    """
    figure = _new_figure(8.0, 5.5)
    axes = figure.add_subplot()
    axes.set_title(f"Cost-effect plane against {baseline} (small dots: replicates)")
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.axvline(0, color="grey", linewidth=0.8)
    names = [n for n in qoc_diff.columns if n != baseline]
    for colour, name in zip(_colours(len(names)), names, strict=True):
        x = qoc_diff[name].to_numpy() * 100.0
        y = cost_diff[name].to_numpy()
        axes.scatter(x, y, s=10, color=colour, alpha=0.35)
        axes.scatter([x.mean()], [y.mean()], s=80, color=colour, edgecolor="black", label=name)
        axes.annotate(name, (x.mean(), y.mean()), textcoords="offset points", xytext=(6, 4))
    axes.set_xlabel("Gain in final QoC (points, 1 point = 0.01 of the index)")
    axes.set_ylabel(f"Extra discounted cost ({currency})")
    axes.grid(alpha=0.3)
    if names:
        axes.legend(loc="best", fontsize="small", title="mean of replicates")
    return figure


def loss_ledger_comparison_figure(table: pd.DataFrame) -> Figure:
    """Share of lost lessons by cause, one stacked bar per scenario.

    Args:
        table: The comparison table (``scenario`` and ``lost_<cause>_share`` columns).
    """
    figure = _new_figure(8.5, 4.8)
    axes = figure.add_subplot()
    axes.set_title("Where lessons were lost (share of all lessons lost, by cause)")
    positions = np.arange(len(table))
    bottom = np.zeros(len(table))
    for column, words in LOSS_CAUSES.items():
        colour = CAUSE_COLOURS[column.removeprefix("lost_")]
        values = table[f"{column}_share"].to_numpy(float)
        axes.bar(positions, values, bottom=bottom, color=colour, label=words)
        bottom += values
    axes.set_xticks(positions, list(table["scenario"]))
    axes.set_ylabel("Share of lessons lost")
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return figure


def comparison_figures(
    data: Sequence[ScenarioData], table: pd.DataFrame, baseline: str
) -> dict[str, Figure]:
    """Every figure of a comparison, by file name (without ``.png``)."""
    from sim.planning.compare import paired_differences

    common = table["replicates"].min()
    replicates = sorted(set.intersection(*(set(d.summary.index) for d in data)))[: int(common)]
    qoc = pd.DataFrame({d.name: d.summary.loc[replicates, "qoc_final"] for d in data})
    cost = pd.DataFrame({d.name: d.totals.loc[replicates, "cost_total"] for d in data})
    currency = data[0].scenario.costs.currency
    return {
        "qoc_over_time": qoc_bands_figure({d.name: d.timeseries for d in data}, baseline),
        "cost_effect": cost_effect_figure(
            paired_differences(qoc, baseline),
            paired_differences(cost, baseline),
            baseline,
            currency,
        ),
        "loss_ledger": loss_ledger_comparison_figure(table),
    }
