"""Which single step up in learning-network maturity buys the most quality of care per cost.

A scenario whose countries carry a ``maturity`` profile (:mod:`sim.model.maturity`) is
the baseline; each variant raises one domain by one level in every country whose
profile has it below 4, everything else equal. The variants are written as scenario
files beside the results (so each can be read and rerun) and compared with common random
numbers (:func:`sim.planning.compare.run_comparison`). The step table adds, per domain,
the parameters the step changed, those of them that no unit cost charges (a step whose
changes are not all costed looks cheaper than it is, and the table says so) and those
that act on nothing in the country (a channel's setting where the channel is off, the
community of practice's reach without a learning centre).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from sim.config.scenario import load_scenario
from sim.errors import Problem, ScenarioError
from sim.model.maturity import DOMAINS, domain_levels, step_up
from sim.model.mechanisms.programmes import idle_channel
from sim.model.schema import Country
from sim.planning.compare import run_comparison
from sim.planning.economics import DEFAULT_EFFECT, DEFAULT_WTP_PER_POINT
from sim.runs.results import atomic_write

__all__ = ["PROFILE", "STEP_COLUMNS", "maturity_steps", "step_scenarios"]

#: The baseline's name in the comparison.
PROFILE = "profile"
#: Columns of ``maturity_steps.csv``.
STEP_COLUMNS = (
    "domain",
    "label",
    "levels",
    "changed",
    "not_costed",
    "idle",
    "gain_points",
    "gain_p05",
    "gain_p95",
    "extra_cost",
    "cost_per_point",
    "frontier_status",
    "reading",
)


def step_scenarios(file: Path | str) -> tuple[dict[str, dict], pd.DataFrame]:
    """The profile and its single-domain steps up, as scenario documents.

    Returns:
        The documents by scenario name (the profile first) and, per step, what it changes.

    Raises:
        ScenarioError: The file is invalid, or no country has a maturity profile, or
            every domain is already at level 4.
    """
    scenario = load_scenario(file)
    document = scenario.model_dump(mode="json")
    document["name"] = PROFILE
    profiled = [c for c, country in enumerate(scenario.countries) if country.maturity]
    if not profiled:
        raise ScenarioError(
            [
                Problem(
                    file=str(file),
                    key="countries",
                    value=None,
                    message="no country has a maturity profile",
                    fix="add 'maturity: {stage: implementation}' (or domain levels 1-4) to a "
                    "country",
                )
            ]
        )
    documents: dict[str, dict] = {PROFILE: document}
    rows = []
    for domain in DOMAINS:
        variant = yaml.safe_load(yaml.safe_dump(document))
        changed: set[str] = set()
        idle: dict[str, str] = {}
        levels = []
        for c in profiled:
            country = variant["countries"][c]
            level = domain_levels(country.get("maturity") or {}).get(domain.name)
            if level is None or level >= 4:
                continue
            variant["countries"][c], paths = step_up(country, domain.name)
            changed.update(paths)
            stepped = Country.model_validate(variant["countries"][c])
            for path in paths:
                reason = _idle(stepped, path)
                if reason:
                    idle.setdefault(path, reason)
            levels.append(f"{country['name']} {level}->{level + 1}")
        if not levels:
            continue
        name = f"{domain.name} up"
        variant["name"] = name
        documents[name] = variant
        rows.append(
            {
                "domain": domain.name,
                "label": domain.label,
                "levels": ", ".join(levels),
                "changed": ", ".join(sorted(changed)) or "nothing (the file sets them)",
                "not_costed": ", ".join(sorted(changed - set(domain.costed))),
                "idle": "; ".join(f"{path} ({reason})" for path, reason in sorted(idle.items())),
                "scenario": name,
            }
        )
    if not rows:
        raise ScenarioError(
            [
                Problem(
                    file=str(file),
                    key="countries",
                    value=None,
                    message="every maturity domain is already at level 4",
                    fix="lower a domain's level to compare steps up from it",
                )
            ]
        )
    return documents, pd.DataFrame(rows)


def maturity_steps(
    file: Path | str,
    *,
    out_dir: Path | str,
    replicates: int = 10,
    workers: int = 1,
    force: bool = False,
    progress: bool = False,
    command: Sequence[str] | None = None,
    wtp: float = DEFAULT_WTP_PER_POINT,
    effect: str = DEFAULT_EFFECT,
) -> pd.DataFrame:
    """Compare every single-domain step up of a maturity profile against the profile.

    Writes the scenarios to ``out_dir/inputs/``, the comparison (brief, tables) to
    ``out_dir`` and the step table to ``out_dir/maturity_steps.csv``.

    Returns:
        One row per step (:data:`STEP_COLUMNS`), the best value for money first: the
        steps that gain QoC ordered by cost per QoC point (free gains first), then the
        rest by gain.
    """
    out = Path(out_dir)
    documents, steps = step_scenarios(file)
    inputs = out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    files = []
    for name, document in documents.items():
        path = inputs / f"{name.replace(' ', '_')}.yaml"
        _write_text(path, yaml.safe_dump(document, sort_keys=False))
        files.append(path)
    run_comparison(
        files,
        baseline=PROFILE,
        replicates=replicates,
        out_dir=out,
        workers=workers,
        force=force,
        progress=progress,
        command=command,
        wtp=wtp,
        effect=effect,
    )
    table = pd.read_csv(out / "comparison.csv").set_index("scenario").to_dict("index")
    base_cost = float(table[PROFILE]["cost_total_mean"])
    rows = []
    for step in steps.to_dict("records"):
        r = table[step["scenario"]]
        gain = float(r["effect_gain_points_mean"])
        extra = float(r["cost_total_mean"]) - base_cost
        rows.append(
            {
                **{key: step[key] for key in ("domain", "label", "levels", "changed")},
                "not_costed": step["not_costed"],
                "idle": step["idle"],
                "gain_points": gain,
                "gain_p05": float(r["effect_gain_points_p05"]),
                "gain_p95": float(r["effect_gain_points_p95"]),
                "extra_cost": extra,
                "cost_per_point": extra / gain if gain > 0 and extra > 0 else math.nan,
                "frontier_status": str(r["frontier_status"]),
                "reading": _reading(gain, extra, str(step["not_costed"]), str(step["idle"])),
            }
        )
    result = pd.DataFrame(rows, columns=list(STEP_COLUMNS))
    gaining = result["gain_points"] > 0
    free = gaining & (result["extra_cost"] <= 0)
    order = pd.concat(
        [
            result[free].sort_values("gain_points", ascending=False),
            result[gaining & ~free].sort_values("cost_per_point"),
            result[~gaining].sort_values("gain_points", ascending=False),
        ]
    )
    order = order.reset_index(drop=True)
    _write_text(out / "maturity_steps.csv", order.to_csv(index=False))
    return order


def _idle(country: Country, path: str) -> str | None:
    """Why a channel setting (not its switch) a step changed acts on nothing, if it does."""
    parts = path.split(".")
    if len(parts) != 3 or parts[0] != "channels" or parts[2] == "enabled":
        return None
    return idle_channel(country, parts[1])


def _write_text(path: Path, text: str) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text(text)

    atomic_write(path, write)


def _reading(gain: float, extra: float, not_costed: str, idle: str = "") -> str:
    """The step in words (never a negative ratio).

    What the step changes at no charge and what it changes that acts on nothing follow.

    Examples:
        >>> _reading(2.0, 5000.0, "")
        'gains 2.00 QoC points at 2,500 per point'
        >>> _reading(1.0, -10.0, "trials.noise")
        'gains 1.00 QoC points and costs less (not costed: trials.noise)'
        >>> _reading(-0.5, 100.0, "")
        'gains nothing (-0.50 QoC points)'
        >>> _reading(-0.1, 0.0, "", "channels.x.y (x is off)")
        'gains nothing (-0.10 QoC points); acts on nothing here: channels.x.y (x is off)'
    """
    if gain <= 0:
        text = f"gains nothing ({gain:.2f} QoC points)"
    elif extra > 0:
        text = f"gains {gain:.2f} QoC points at {extra / gain:,.0f} per point"
    elif extra == 0:
        text = f"gains {gain:.2f} QoC points at no extra cost"
    else:
        text = f"gains {gain:.2f} QoC points and costs less"
    if not_costed:
        text = f"{text} (not costed: {not_costed})"
    return f"{text}; acts on nothing here: {idle}" if idle else text
