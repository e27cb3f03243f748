"""The trainer page's HTML pieces: log, lever labels, ledger, means of learning, maturity, style.

How learning moved is read by the WHO report's means and levels
(:mod:`sim.metrics.learning_means`); the maturity profile is a country's
(:mod:`sim.model.maturity`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from sim.metrics.learning_means import LEVELS, MEANS, means_table
from sim.model.maturity import DOMAINS, domain_levels
from sim.reporting.palette import CAUSE_WORDS
from sim.trainer.levers import Lever, format_value
from sim.trainer.live import LiveRun, ledger_series
from sim.trainer.narration import Event, district_label, practice_labels
from sim.trainer.workshop import Workshop

__all__ = [
    "ALL",
    "CSS",
    "LOG_SHOWN",
    "district_qoc",
    "filter_choices",
    "ledger_html",
    "lever_label",
    "log_html",
    "maturity_html",
    "means_html",
    "same_value",
]

CSS = """
.lhsim-log { font-family: monospace; font-size: 12px; max-height: 260px; overflow-y: auto;
             border: 1px solid #ddd; padding: 4px 8px; background: #fafafa; }
.lhsim-log .loss { color: #b30000; }
.lhsim-log .month { color: #777; }
.lhsim-view { width: 100%; max-width: 1920px; height: auto; }
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; white-space: normal;
                                             max-width: 100%; height: auto;
                                             line-height: 1.3; margin-bottom: 6px; }
.lhsim-notice { font-size: 18px; margin: 4px 0; }
.lhsim-projector, .lhsim-projector .v-label, .lhsim-projector .v-btn { color: #000;
                  font-size: 22px !important; }
.lhsim-projector .lhsim-log { font-size: 20px; max-height: 420px; background: #fff;
                              border: 2px solid #000; }
.lhsim-projector .lhsim-ledger table, .lhsim-projector .lhsim-means table { font-size: 20px; }
.lhsim-projector .lhsim-ledger .swatch { width: 20px; height: 20px; }
.lhsim-projector .lhsim-notice, .lhsim-projector .lhsim-explain { font-size: 26px; }
.lhsim-explain { border: 3px solid #0072B2; background: #eef6fb; padding: 8px 12px;
                 font-size: 18px; }
.lhsim-ledger table, .lhsim-means table { border-collapse: collapse; font-size: 14px;
                                          margin-bottom: 6px; }
.lhsim-ledger td, .lhsim-ledger th, .lhsim-means td, .lhsim-means th { padding: 2px 8px;
                                                                       text-align: left; }
.lhsim-ledger td.number, .lhsim-means td.number { text-align: right;
                                                  font-variant-numeric: tabular-nums; }
.lhsim-ledger .swatch { display: inline-block; width: 14px; height: 14px;
                        vertical-align: middle; border: 1px solid #333; }
"""


#: Most events shown in the page's log (the export has them all).
LOG_SHOWN = 200


ALL = "all"


def log_html(workshop: Workshop, filters: dict[str, Any] | None = None) -> str:
    """The newest events of the log (filtered) as an HTML list."""
    filters = filters or {}
    events = workshop.events(**filters)
    rows = []
    if len(events) > LOG_SHOWN:
        rows.append(
            f'<div class="more">The newest {LOG_SHOWN} of {len(events):,} events; '
            "export the log for all of them.</div>"
        )
    for label, event in events[:LOG_SHOWN]:
        css = "loss" if event.kind in ("losses", "lost") else ""
        prefix = f"[{html.escape(label)}] " if label else ""
        rows.append(
            f'<div class="event {css}"><span class="month">month {event.month}</span> '
            f"{prefix}{html.escape(event.text)}</div>"
        )
    if not rows and filters:
        return "<div>No event matches these filters yet.</div>"
    return "\n".join(rows) or "<div>Press play or step: events will appear here.</div>"


def lever_label(lever: Lever, value: Any, moved: Event | None) -> str:
    """``Staff who leave each year: 0.4 per year``, and who moved it, if the model did."""
    unit = f" {lever.unit}" if lever.unit and value is not None else ""
    label = f"{lever.label}: {format_value(value)}{unit}"
    if moved is not None:
        label += f" (moved by the model in month {moved.month})"
    return label


def district_qoc(runs: Sequence[LiveRun]) -> str:
    """QoC now of each group of districts, in runs whose districts are split ("" if none).

    Examples:
        >>> district_qoc([])
        ''
    """
    many = len(runs) > 1
    return " · ".join(
        f"{run.label}, {label}: {qoc[-1]:.3f}" if many else f"{label}: {qoc[-1]:.3f}"
        for run in runs
        if run.split is not None
        for label, qoc in zip(run.split.labels, run.split.qoc, strict=True)
    )


def ledger_html(workshop: Workshop) -> str:
    """The loss ledger of each run as a table: counts, rates and what each cause means."""
    parts = []
    series = ledger_series(workshop.runs)
    for label, run, group in series:
        lines = run.ledger(group)
        created = run.lessons_created(group)
        title = f"{html.escape(label)}: " if len(series) > 1 else ""
        parts.append(
            f"<div><b>{title}lessons lost so far</b> (of {created:,} lessons created, "
            f"{run.model.catalogue.size} practices)</div>"
        )
        rows = [
            f'<tr><td><span class="swatch" style="background:{line.colour}"></span> '
            f"{html.escape(line.words)}</td>"
            f'<td class="number">{line.lost:,}</td>'
            f'<td class="number">{line.per_100_created:.1f}</td>'
            f'<td class="number">{line.per_practice:.1f}</td>'
            f"<td>{html.escape(line.explanation)}</td></tr>"
            for line in lines
            if not line.absent
        ]
        if rows:
            parts.append(
                "<table><tr><th>cause</th><th>lost</th><th>per 100 created</th>"
                "<th>per practice</th><th>what it means</th></tr>" + "".join(rows) + "</table>"
            )
        absent = [line.words for line in lines if line.absent]
        if absent:
            parts.append(
                f'<div class="absent">Absent so far (no lesson lost to it): '
                f"{html.escape(', '.join(absent))}</div>"
            )
    for run in workshop.runs:
        asked = run.model.recorder.total("support_requests")
        if asked:
            title = f"{html.escape(run.label)}: " if len(workshop.runs) > 1 else ""
            parts.append(
                f"<div>{title}beside the ledger, requests for support not given so far: "
                f"{run.model.recorder.total('support_not_given'):,.0f} of {asked:,.0f} "
                "(facilities whose trials kept failing asked their district; no coaching "
                "visit came in time)</div>"
            )
    return "\n".join(parts)


def same_value(lever: Lever, new: Any, shown: Any) -> bool:
    """Whether ``new`` is the value the control shows (within half a slider step)."""
    if isinstance(new, bool) or isinstance(shown, bool) or new is None or shown is None:
        return bool(new == shown)
    if isinstance(new, int | float) and isinstance(shown, int | float):
        return abs(float(new) - float(shown)) < max(lever.step, 1e-9) / 2
    return bool(new == shown)


def filter_choices(workshop: Workshop) -> dict[str, dict[str, Any]]:
    """The values each log filter offers, by its words: causes, districts, practices."""
    causes = {ALL: None, **{words: cause for cause, words in CAUSE_WORDS.items()}}
    if not workshop.runs:
        return {"cause": causes, "district": {ALL: None}, "practice": {ALL: None}}
    model = workshop.runs[0].model
    districts = {district_label(model, d): d for d in range(model.world.n_districts)}
    names = practice_labels(model.catalogue.names, model.catalogue.topics)
    practices = {name: k for k, name in enumerate(names)}
    return {
        "cause": causes,
        "district": {ALL: None, **districts},
        "practice": {ALL: None, **practices},
    }


def means_html(workshop: Workshop) -> str:
    """How learning has moved so far in each run: the WHO report's means by level.

    Each cell is practices first reached / lessons made or passed on, so far.
    """
    parts = []
    many = len(workshop.runs) > 1
    for run in workshop.runs:
        if not run.model.recorder.rows:
            continue  # nothing has moved before the first month
        summary = pd.DataFrame([run.model.recorder.summary()])
        practices = means_table(summary, "practices").to_numpy(dtype=float)
        lessons = means_table(summary, "lessons").to_numpy(dtype=float)
        title = f"{html.escape(run.label)}: " if many else ""
        header = "".join(f"<th>{level}</th>" for level in LEVELS)
        rows = "".join(
            f"<tr><td>{means}</td>"
            + "".join(
                f'<td class="number">{practices[r, c]:,.0f} / {lessons[r, c]:,.0f}</td>'
                for c in range(len(LEVELS))
            )
            + "</tr>"
            for r, means in enumerate(MEANS)
        )
        parts.append(
            f"<div><b>{title}how learning moved so far</b> (practices first reached / "
            "lessons made or passed on)</div>"
            f"<table><tr><th>means</th>{header}</tr>{rows}</table>"
        )
    return "\n".join(parts)


def maturity_html(workshop: Workshop) -> str:
    """The learning-network maturity profile of each country that has one, or ``""``."""
    rows = []
    for country in workshop.runs[0].scenario.countries if workshop.runs else ():
        if country.maturity is None:
            continue
        profile = country.maturity.model_dump()
        levels = domain_levels(profile)
        cells = "".join(f'<td class="number">{levels.get(d.name, "-")}</td>' for d in DOMAINS)
        stage = html.escape(str(profile.get("stage") or "-"))
        rows.append(f"<tr><td>{html.escape(country.name)}</td><td>{stage}</td>{cells}</tr>")
    if not rows:
        return ""
    header = "".join(f"<th>{html.escape(d.label)}</th>" for d in DOMAINS)
    return (
        "<div><b>learning-network maturity</b> (levels 1-4)</div>"
        f"<table><tr><th>country</th><th>stage</th>{header}</tr>{''.join(rows)}</table>"
    )
