"""Figures of a comparison: frontier, acceptability, QoC bands, cost-effect plane, ledger.

Each function takes tables read from disk and returns a
:class:`matplotlib.figure.Figure` drawn on the Agg canvas; nothing is shown.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.reporting.palette import CAUSE_COLOURS
from sim.reporting.plots import LOSS_CAUSES

if TYPE_CHECKING:
    from sim.planning.analysis import ComparisonResults

__all__ = [
    "acceptability_figure",
    "comparison_figures",
    "cost_effect_figure",
    "figure_png",
    "frontier_figure",
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


def frontier_figure(table: pd.DataFrame, currency: str) -> Figure:
    """The efficiency frontier: every option's mean effect and mean cost.

    Frontier options are joined by a line (its slope between two options is the ICER of
    the more effective one); dominated options are grey, strongly dominated as crosses,
    extendedly dominated as open circles. Options with identical results share one label.

    Args:
        table: The comparison table (``scenario``, ``effect_points_mean``,
            ``cost_total_mean``, ``frontier_status``, ``same_as``, ``effect_measure``,
            ``best_buy``).
        currency: The currency of the costs.
    """
    from sim.planning.economics import EXTENDED, FRONTIER, STRONG

    figure = _new_figure(8.5, 5.5)
    axes = figure.add_subplot()
    measure = str(table["effect_measure"].iloc[0])
    axes.set_title(f"Efficiency frontier ({measure})", fontsize=13)
    first = table[table["same_as"].fillna("") == ""]
    labels = {
        name: " = ".join(
            [name, *table.loc[table["same_as"].fillna("") == name, "scenario"].astype(str)]
        )
        for name in first["scenario"]
    }
    on = first[first["frontier_status"] == FRONTIER].sort_values("cost_total_mean")
    axes.plot(
        on["effect_points_mean"],
        on["cost_total_mean"],
        "-",
        color="#1f5fa8",
        linewidth=2,
        label="frontier",
        zorder=2,
    )
    styles = {
        FRONTIER: {"marker": "o", "color": "#1f5fa8", "label": "on the frontier"},
        STRONG: {"marker": "x", "color": "#777777", "label": "strongly dominated"},
        EXTENDED: {"marker": "o", "color": "#777777", "label": "extendedly dominated"},
    }
    for status, style in styles.items():
        rows = first[first["frontier_status"] == status]
        if rows.empty:
            continue
        face = "none" if status == EXTENDED else style["color"]
        axes.scatter(
            rows["effect_points_mean"],
            rows["cost_total_mean"],
            s=70,
            marker=style["marker"],
            facecolors=face if style["marker"] != "x" else None,
            edgecolors=style["color"] if style["marker"] != "x" else None,
            color=style["color"] if style["marker"] == "x" else None,
            label=style["label"],
            zorder=3,
        )
    x_span = float(np.ptp(first["effect_points_mean"])) or 1.0
    y_span = float(np.ptp(first["cost_total_mean"])) or 1.0
    placed: list[tuple[float, float]] = []
    for _, r in first.sort_values(["cost_total_mean", "effect_points_mean"]).iterrows():
        x, y = float(r["effect_points_mean"]), float(r["cost_total_mean"])
        near = sum(
            1 for px, py in placed if abs(px - x) < 0.04 * x_span and abs(py - y) < 0.04 * y_span
        )
        placed.append((x, y))
        best = " (best buy)" if bool(r["best_buy"]) else ""
        axes.annotate(
            labels[str(r["scenario"])] + best,
            (x, y),
            textcoords="offset points",
            xytext=(7, -4 - 14 * near),
            fontsize=11,
            fontweight="bold" if best else "normal",
        )
    axes.set_xlabel(f"Effect: {measure} (QoC points)", fontsize=11)
    axes.set_ylabel(f"Discounted total cost ({currency}, mean of replicates)", fontsize=11)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=10)
    return figure


def acceptability_figure(
    curve: pd.DataFrame, wtp: float, currency: str, same_as: dict[str, str] | None = None
) -> Figure:
    """The cost-effectiveness acceptability curve, with the stated willingness to pay.

    Args:
        curve: ``wtp``, ``scenario``, ``probability``
            (:func:`sim.planning.economics.acceptability`).
        wtp: The stated willingness to pay per QoC point (a vertical line).
        currency: The currency.
        same_as: Options identical to an earlier one, mapped to it: drawn as one line.
    """
    twins = {k: v for k, v in (same_as or {}).items() if v}
    figure = _new_figure(8.5, 5.0)
    axes = figure.add_subplot()
    axes.set_title("Chance each option is the best buy, by willingness to pay", fontsize=13)
    names = [n for n in dict.fromkeys(curve["scenario"]) if n not in twins]
    shown = [n for n in names if curve.loc[curve["scenario"] == n, "probability"].max() > 0]
    for colour, name in zip(_colours(len(names)), names, strict=True):
        if name not in shown:
            continue
        rows = curve[curve["scenario"] == name]
        label = " = ".join([name, *(k for k, v in twins.items() if v == name)])
        axes.plot(rows["wtp"], rows["probability"], "-", color=colour, linewidth=2, label=label)
    axes.axvline(wtp, color="black", linestyle="--", linewidth=1)
    axes.annotate(
        f"stated: {wtp:,.0f}",
        (wtp, 1.0),
        textcoords="offset points",
        xytext=(4, -14),
        fontsize=10,
    )
    never = [n for n in names if n not in shown]
    if never:
        axes.text(
            0.99,
            0.02,
            "never the best buy: " + ", ".join(never),
            transform=axes.transAxes,
            ha="right",
            fontsize=10,
            color="#555555",
        )
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel(f"Willingness to pay per QoC point ({currency})", fontsize=11)
    axes.set_ylabel("Share of replicates with the highest net benefit", fontsize=11)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=10)
    return figure


def comparison_figures(results: ComparisonResults) -> dict[str, Figure]:
    """Every figure of a comparison, by file name (without ``.png``), in reading order."""
    from sim.planning.comparison import paired_differences, paired_values

    data, table = results.data, results.table
    baseline = results.comparison.baseline
    values = paired_values(data, results.comparison.effect)
    currency = data[0].scenario.costs.currency
    return {
        "frontier": frontier_figure(table, currency),
        "acceptability": acceptability_figure(
            results.acceptability,
            results.comparison.wtp,
            currency,
            dict(zip(table["scenario"], table["same_as"].fillna(""), strict=True)),
        ),
        "qoc_over_time": qoc_bands_figure({d.name: d.timeseries for d in data}, baseline),
        "cost_effect": cost_effect_figure(
            paired_differences(values.qoc_final, baseline),
            paired_differences(values.cost, baseline),
            baseline,
            currency,
        ),
        "loss_ledger": loss_ledger_comparison_figure(table),
    }
