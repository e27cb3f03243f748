"""The key questions answered with paired effects: each scenario against itself without a channel.

A count (practices that first reached a facility through coaching, say) says how busy a
channel was, not what it was worth. For the key questions that a channel answers
(:data:`COUNTERFACTUALS`), ``lhsim compare --key-effects`` runs every compared scenario
again with that channel switched off (its *counterfactual*), with the same seed and
replicates, so replicate r of both draws from the same random streams (common random
numbers, :mod:`sim.planning.compare`). The effect is the paired difference of final QoC,
in points, scenario minus counterfactual, replicate by replicate: its median and 90 %
interval (5th to 95th percentile of the paired differences), with the paired difference
of discounted cost beside it.

A counterfactual switches a channel off in every country (``channels.<name>.enabled:
false``) and drops every programme that funds it, so the channel runs nowhere and at no
time; it applies to a scenario only where the channel runs somewhere (a country switches
it on, or a programme funds it). Where it does not, the effect is "not run in this
scenario", never 0.

The runs are kept in the comparison folder (the table alone is enough for ``lhsim
report`` where the runs are removed to save space)::

    <out>/key_effects/<scenario>/<counterfactual>/   one results folder per run (resumable)
    <out>/key_effects.csv                            one row per scenario and question

Everything after the runs is computed from the results on disk
(:func:`key_effects_table`), so ``lhsim report`` rebuilds the table and the brief.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.paths import get_path, set_key
from sim.model.mechanisms.programmes import CHANNEL_LEVERS
from sim.model.parameters import MAX_NAME_LENGTH
from sim.model.schema import Scenario
from sim.planning.comparison import (
    INTERVAL,
    POINTS_PER_INDEX,
    ComparedScenario,
    Comparison,
    ScenarioData,
    folder_name,
    read_scenario,
)
from sim.planning.key_questions import KEY_QUESTIONS
from sim.runs.manifest import read_manifest, resolved_scenario
from sim.runs.results import ResultsError, document_differences

__all__ = [
    "COLUMNS",
    "COUNTERFACTUALS",
    "KEY_EFFECTS_FILE",
    "KEY_EFFECTS_FOLDER",
    "Counterfactual",
    "counterfactual_scenario",
    "key_effects_table",
    "run_key_effects",
]

#: Folder of the counterfactual runs inside a comparison folder.
KEY_EFFECTS_FOLDER = "key_effects"
#: The table of effects written beside ``comparison.csv``.
KEY_EFFECTS_FILE = "key_effects.csv"

#: What ``status`` says of an effect.
ESTIMATED = "estimated"
NOT_RUN = "not run in this scenario"
NOT_FINISHED = "counterfactual run missing or not finished"
OUT_OF_DATE = "counterfactual run is of another version of the scenario"

#: Columns of ``key_effects.csv``.
COLUMNS = (
    "scenario",
    "question",
    "level",
    "kind",
    "counterfactual",
    "assumption",
    "applies",
    "status",
    "replicates",
    "effect_points_median",
    "effect_points_p05",
    "effect_points_p95",
    "cost_diff_median",
    "cost_diff_p05",
    "cost_diff_p95",
)


@dataclass(frozen=True)
class Counterfactual:
    """A scenario without one channel (or one group of channels).

    Attributes:
        key: Short name; names the run folder and the run (``<scenario> without <key>``).
        label: What is switched off, in words ("without district coaching").
        settings: Dotted scenario paths and the value each is set to; ``countries.*.``
            sets it in every country.
        levers: Programme levers whose programmes are dropped, so that no programme runs
            the channel in some districts.
        assumption: The counterfactual's assumption, in a sentence.
        needs: A further condition for the counterfactual to apply (beside the channel
            running somewhere), or None.
    """

    key: str
    label: str
    settings: tuple[tuple[str, Any], ...]
    levers: tuple[str, ...]
    assumption: str
    needs: Callable[[Scenario], bool] | None = None

    def applies(self, scenario: Scenario) -> bool:
        """Whether ``scenario`` runs what the counterfactual switches off, somewhere."""
        if self.needs is not None and not self.needs(scenario):
            return False
        document = resolved_scenario(scenario)
        for path, value in self.settings:
            for concrete in _concrete_paths(document, path):
                if get_path(document, concrete) != value:
                    return True
        return any(
            p.lever in self.levers for country in scenario.countries for p in country.programmes
        )


def _concrete_paths(document: dict[str, Any], path: str) -> list[str]:
    """``path`` with ``countries.*`` spelt out for every country."""
    if path.startswith("countries.*."):
        rest = path.removeprefix("countries.*.")
        return [f"countries.{i}.{rest}" for i in range(len(document["countries"]))]
    return [path]


def _off(*channels: str) -> tuple[tuple[str, Any], ...]:
    return tuple((f"countries.*.channels.{c}.enabled", False) for c in channels)


def _levers(*channels: str) -> tuple[str, ...]:
    return tuple(c for c in channels if c in CHANNEL_LEVERS)


def _coaching_runs(scenario: Scenario) -> bool:
    return COACHING.applies(scenario)


_PEERS = ("peer_network", "learning_sessions", "messaging_group", "exchange_visits")
_SUPPORT = ("learning_sessions", "coaching", "messaging_group")

COACHING = Counterfactual(
    "coaching",
    "without district coaching",
    _off("coaching"),
    _levers("coaching"),
    "District coaches visit no facility, in any country, and no programme funds coaching; "
    "support requests go unanswered.",
)
FACILITY_PEERS = Counterfactual(
    "facility-peers",
    "without learning from other facilities",
    _off(*_PEERS),
    _levers(*_PEERS),
    "Facilities learn nothing from other facilities: no peer contact, learning sessions, "
    "messaging groups or exchange visits, and no programme funds them (the yearly review, "
    "where it is on, may still switch messaging groups on).",
)
SUPPORT_REQUESTS = Counterfactual(
    "support-requests",
    "without support requests",
    (("countries.*.support_requests.enabled", False),),
    (),
    "Facilities whose trials keep failing do not ask their district for support; coaches "
    "visit as planned.",
    needs=_coaching_runs,
)
DISTRICT_SUPPORT = Counterfactual(
    "district-support",
    "without the district's support to facilities",
    _off(*_SUPPORT),
    _levers(*_SUPPORT),
    "Districts run no learning sessions, coaching or messaging groups, and no programme "
    "funds them (the yearly review, where it is on, may still switch messaging groups on).",
)
DISTRICT_PEERS = Counterfactual(
    "district-peers",
    "without district exchange",
    _off("district_exchange"),
    _levers("district_exchange"),
    "District offices do not meet peer districts, and no programme funds such meetings.",
)
GUIDANCE = Counterfactual(
    "guidance",
    "without national guidance",
    _off("guidance"),
    (),
    "The national level issues no guidance to districts and facilities; lessons still "
    "reach it and its queue.",
)
GLOBAL = Counterfactual(
    "global-learning",
    "without learning between countries",
    (("global_learning.enabled", False),),
    (),
    "Linked national bodies share no guidance with each other.",
    needs=lambda scenario: bool(scenario.global_links),
)
UPWARD = Counterfactual(
    "upward-reporting",
    "without upward reporting",
    _off("upward_reporting"),
    _levers("upward_reporting"),
    "Facilities send no lesson reports to their district and districts forward nothing "
    "up, and no programme funds reporting: no lesson of the country reaches its national "
    "body or learning centre, so none becomes guidance; districts hear only of the lessons "
    "of facilities a coach visits, and share those at their own meetings.",
)

#: The key questions (by their text in :data:`KEY_QUESTIONS`) that a channel answers, and
#: the counterfactual that measures what it was worth.
COUNTERFACTUALS: dict[str, Counterfactual] = {
    "What did other facilities do to improve care?": FACILITY_PEERS,
    "How effective was the guidance and support from the district?": COACHING,
    "What other guidance and support is required from the district?": SUPPORT_REQUESTS,
    "What support did we provide to facilities, and with what activities?": DISTRICT_SUPPORT,
    "What did other districts do to support facilities to improve care?": DISTRICT_PEERS,
    "How effective was the guidance and support from the national level?": GUIDANCE,
    "What support did we provide to districts and facilities?": GUIDANCE,
    "What did other countries do to support districts and facilities?": GLOBAL,
    "What learning reached the national level?": UPWARD,
}


def counterfactuals() -> list[Counterfactual]:
    """Every distinct counterfactual of :data:`COUNTERFACTUALS`, in the table's order."""
    seen: dict[str, Counterfactual] = {}
    for counterfactual in COUNTERFACTUALS.values():
        seen.setdefault(counterfactual.key, counterfactual)
    return list(seen.values())


def counterfactual_scenario(scenario: Scenario, counterfactual: Counterfactual) -> Scenario:
    """``scenario`` with the counterfactual's change: same seed, everything else equal.

    Raises:
        ValueError: A setting did not take (the change would not be a real "without").
    """
    document = resolved_scenario(scenario)
    for path, value in counterfactual.settings:
        set_key(document, path, value)
    for country in document["countries"]:
        country["programmes"] = [
            p for p in country.get("programmes") or [] if p["lever"] not in counterfactual.levers
        ]
    suffix = f" without {counterfactual.key}"
    document["name"] = scenario.name[: MAX_NAME_LENGTH - len(suffix)] + suffix
    changed = Scenario.model_validate(document)
    check = resolved_scenario(changed)
    for path, value in counterfactual.settings:
        for concrete in _concrete_paths(check, path):
            if get_path(check, concrete) != value:
                raise ValueError(f"{counterfactual.key}: {concrete} is not {value!r} in the run")
    return changed


def run_folder(comparison: Comparison, entry: ComparedScenario, key: str) -> Path:
    """The results folder of ``entry`` run without the counterfactual ``key``."""
    return Path(comparison.folder) / KEY_EFFECTS_FOLDER / folder_name(entry.name) / key


def _planned(comparison: Comparison) -> list[tuple[ComparedScenario, Scenario, Counterfactual]]:
    """Every (scenario, its run, counterfactual) to run: those that apply."""
    planned = []
    for entry in comparison.scenarios:
        run = Scenario.model_validate(read_manifest(entry.folder)["scenario"])
        for counterfactual in counterfactuals():
            if counterfactual.applies(run):
                planned.append((entry, run, counterfactual))
    return planned


def run_key_effects(
    comparison: Comparison,
    *,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    command: Sequence[str] | None = None,
) -> int:
    """Run every compared scenario without each channel it runs, into ``key_effects/``.

    Each run takes the scenario exactly as it ran in the comparison (its seed, and any
    uncertain parameters drawn per replicate) with the counterfactual's change, and the
    comparison's replicates. Without ``force`` a run folder already there is resumed:
    finished replicates are not run again.

    Returns:
        How many counterfactual runs the comparison has.
    """
    from sim.runs.runner import run_scenario

    planned = _planned(comparison)
    for entry, run, counterfactual in planned:
        folder = run_folder(comparison, entry, counterfactual.key)
        resume = not force and folder.is_dir() and any(folder.iterdir())
        run_scenario(
            counterfactual_scenario(run, counterfactual),
            replicates=comparison.replicates,
            out_dir=folder,
            workers=workers,
            resume=resume,
            force=force,
            progress=progress,
            command=command,
        )
    return len(planned)


def key_effects_table(comparison: Comparison, data: Sequence[ScenarioData]) -> pd.DataFrame | None:
    """One row per scenario and key question with a counterfactual (:data:`COLUMNS`).

    Computed from the runs on disk; where they were removed to save space, read back
    from the ``key_effects.csv`` written with them. ``None`` when the comparison has
    neither (``compare`` ran without ``--key-effects``).
    """
    if not (Path(comparison.folder) / KEY_EFFECTS_FOLDER).is_dir():
        written = Path(comparison.folder) / KEY_EFFECTS_FILE
        return pd.read_csv(written) if written.is_file() else None
    entries = {entry.name: entry for entry in comparison.scenarios}
    rows = []
    for d in data:
        cached: dict[str, dict[str, Any]] = {}
        for question in KEY_QUESTIONS:
            counterfactual = COUNTERFACTUALS.get(question.question)
            if counterfactual is None:
                continue
            if counterfactual.key not in cached:
                cached[counterfactual.key] = _effect(comparison, entries[d.name], d, counterfactual)
            rows.append(
                {
                    "scenario": d.name,
                    "question": question.question,
                    "level": question.level,
                    "kind": question.kind,
                    "counterfactual": counterfactual.label,
                    "assumption": counterfactual.assumption,
                    **cached[counterfactual.key],
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _effect(
    comparison: Comparison,
    entry: ComparedScenario,
    d: ScenarioData,
    counterfactual: Counterfactual,
) -> dict[str, Any]:
    """The paired effect of one scenario against its counterfactual, or why there is none."""
    empty: dict[str, Any] = {c: float("nan") for c in COLUMNS[9:]}
    if not counterfactual.applies(d.scenario):
        return {"applies": False, "status": NOT_RUN, "replicates": 0, **empty}
    folder = run_folder(comparison, entry, counterfactual.key)
    try:
        other = read_scenario(ComparedScenario(entry.name, entry.file, folder))
    except ResultsError:
        return {"applies": True, "status": NOT_FINISHED, "replicates": 0, **empty}
    wanted = resolved_scenario(counterfactual_scenario(d.scenario, counterfactual))
    if document_differences(resolved_scenario(other.scenario), wanted):
        return {"applies": True, "status": OUT_OF_DATE, "replicates": 0, **empty}
    common = sorted(set(d.summary.index) & set(other.summary.index))
    effect = POINTS_PER_INDEX * (
        d.summary.loc[common, "qoc_final"].astype(float)
        - other.summary.loc[common, "qoc_final"].astype(float)
    )
    cost = d.totals.loc[common, "cost_total"] - other.totals.loc[common, "cost_total"]
    return {
        "applies": True,
        "status": ESTIMATED,
        "replicates": len(common),
        **_spread("effect_points", effect.to_numpy()),
        **_spread("cost_diff", cost.to_numpy(dtype=float)),
    }


def _spread(name: str, values: np.ndarray) -> dict[str, float]:
    """Median and 90 % interval of paired differences.

    Examples:
        >>> _spread("x", np.arange(21.0))
        {'x_median': 10.0, 'x_p05': 1.0, 'x_p95': 19.0}
    """
    if values.size == 0:
        return {f"{name}_median": np.nan, f"{name}_p05": np.nan, f"{name}_p95": np.nan}
    low, high = np.quantile(values, INTERVAL)
    return {
        f"{name}_median": float(np.median(values)),
        f"{name}_p05": float(low),
        f"{name}_p95": float(high),
    }
