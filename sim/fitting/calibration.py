"""Map an observed adoption record onto a scenario, and simulate its adoption curves.

Each group of the data (a city, a district) becomes one country with one district, so
that the peer channel stays inside the group; each node at risk becomes a facility
with a single clinician and no staff turnover; the practice is one effective, simple
practice whose national guidance stands for the outside channel (marketing, journals,
guidance: the Bass ``p``). With an edges file the peer channel runs along the ties
(``contact_probability`` per tie and month); without one, peers mix fully within the
group (``full_mixing_rate``: the Bass ``q``). Ties between groups cannot be carried by
this mapping and are dropped (counted in the diagnostics).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.config.explain import schema_problems
from sim.config.paths import merge, set_key
from sim.errors import Problem, ScenarioError
from sim.fitting.adoption_data import AdoptionData
from sim.fitting.calibration_spec import TIME_UNIT_MONTHS, CalibrationSpec
from sim.model.schema import Scenario
from sim.runs.simulation import run_replicate

__all__ = [
    "CalibrationProblem",
    "build_problem",
    "group_country_template",
    "inert_parameter_problems",
]

log = logging.getLogger(__name__)

PRACTICE = "observed_practice"

_OFF = {"enabled": False}


def group_country_template(network: bool) -> dict[str, Any]:
    """Country settings that turn the model into single-clinician adoption of one practice.

    Args:
        network: Peers meet along ties (``True``) or mix fully within the group.
    """
    return {
        "districts": 1,
        "facility_mix": {"qi_team_share": 0.0, "data_quality": 1.0, "capability_spread": 0.0},
        "innovation": {"rate": 0.0},
        "trials": {
            "months": 0,
            "noise": 0.0,
            "uptake_with_story": 1.0,
            "uptake_without_story": 1.0,
            "failure_heeded": 0.0,
            "team_size": 1,
        },
        "turnover": {"annual": 0.0},
        "blame": {"facility": 0.0, "district": 0.0, "national": 0.0},
        "channels": {
            "internal": _OFF,
            "peer_network": {
                "mixing": "network" if network else "full",
                "fidelity": 1.0,
                "contact_probability": 0.05,
                "full_mixing_rate": 0.3,
            },
            "learning_sessions": _OFF,
            "messaging_group": _OFF,
            "exchange_visits": _OFF,
            "coaching": _OFF,
            "upward_reporting": _OFF,
            "district_exchange": _OFF,
            "community_of_practice": _OFF,
            "guidance": {"fidelity": 1.0, "reach": 0.05},
        },
    }


def scenario_template(months: int, seed: int, name: str) -> dict[str, Any]:
    """Scenario-level settings: one practice in guidance from the start, loops off."""
    return {
        "name": name,
        "seed": seed,
        "months": months,
        "replicates": 100,
        "practices": {
            "catalogue": [
                {
                    "name": PRACTICE,
                    "effect": 1.0,
                    "context_spread": 0.0,
                    "complexity": 0.0,
                    "in_guidance": True,
                }
            ],
            "initial_adoption": 0.0,
        },
        "loops": {"single": True, "double": False, "triple": False, "review_share": 0.0},
        "global_learning": {"enabled": False},
    }


def write_group_files(data: AdoptionData, folder: Path) -> dict[str, tuple[str, str | None]]:
    """Write a facilities CSV (and an edges CSV) per group; return their file names.

    Returns:
        For each group, the facilities file name and the edges file name (``None``
        without ties), relative to ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[str, str | None]] = {}
    for number, group in enumerate(data.groups, start=1):
        members = np.flatnonzero(data.group == group)
        facility_name = f"group{number:02d}_facilities.csv"
        pd.DataFrame(
            {
                "id": data.ids[members],
                "district": group,
                "level": "health_post",
                "sector": "public",
                "staff": 1,
            }
        ).to_csv(folder / facility_name, index=False)
        edge_name: str | None = None
        if data.edges is not None:
            inside = np.isin(data.edges, members).all(axis=1)
            ties = data.edges[inside]
            edge_name = f"group{number:02d}_edges.csv"
            pd.DataFrame({"source": data.ids[ties[:, 0]], "target": data.ids[ties[:, 1]]}).to_csv(
                folder / edge_name, index=False
            )
        files[group] = (facility_name, edge_name)
    return files


def inert_parameter_problems(spec: CalibrationSpec) -> list[Problem]:
    """Fitted parameters that cannot act on the data as the file maps it (checked first).

    A parameter of a channel the mapping switches off, contact along ties when the
    record has none (peers then mix fully), or the full-mixing rate when it has ties
    would be fitted to noise: its posterior would be its prior, and nothing would say so.
    """
    file = spec.file or "calibration file"
    ties = spec.data.edges is not None
    country = merge(group_country_template(ties), spec.scenario.get("country") or {})
    channels = country.get("channels", {})
    problems = []
    for index, parameter in enumerate(spec.parameters):
        parts = parameter.key.split(".")
        reason = fix = ""
        if parts[0] == "channels" and len(parts) > 2:
            channel = parts[1]
            if not channels.get(channel, {}).get("enabled", True):
                reason = f"the {channel} channel is off in the calibration's mapping"
                fix = f"switch it on under scenario.country.channels.{channel}, or fit another"
        mixing = channels.get("peer_network", {}).get("mixing")
        why = "the record has ties" if ties else "the record has no ties (no data.edges)"
        if parameter.key == "channels.peer_network.contact_probability" and mixing == "full":
            reason = f"peers mix fully ({why})"
            fix = "fit channels.peer_network.full_mixing_rate (the Bass q) instead"
        elif parameter.key == "channels.peer_network.full_mixing_rate" and mixing == "network":
            reason = f"peers meet along ties and do not mix fully ({why})"
            fix = "fit channels.peer_network.contact_probability instead"
        if reason:
            problems.append(
                Problem(
                    file,
                    f"parameters.{index}.key",
                    parameter.key,
                    f"cannot act on this record: {reason}",
                    fix,
                )
            )
    return problems


def cross_group_ties(data: AdoptionData) -> int:
    """Number of ties whose ends lie in different groups (the mapping drops them)."""
    if data.edges is None or len(data.edges) == 0:
        return 0
    return int((data.group[data.edges[:, 0]] != data.group[data.edges[:, 1]]).sum())


@dataclass
class CalibrationProblem:
    """A calibration ready to simulate: the scenario document, the groups, the data.

    Attributes:
        spec: The calibration file.
        data: The observed record.
        document: The scenario document (plain data) before the fitted values are set.
        months_per_unit: Model months per data time unit.
        holdout: The held-out group, or ``None``.
    """

    spec: CalibrationSpec
    data: AdoptionData
    document: dict[str, Any]
    months_per_unit: int
    holdout: str | None = None
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def groups(self) -> list[str]:
        """Every group, in data order."""
        return self.data.groups

    @property
    def fitted_groups(self) -> list[str]:
        """The groups the fit sees (all but the held-out one)."""
        return [g for g in self.groups if g != self.holdout]

    def observed(self) -> np.ndarray:
        """Observed cumulative adopters, groups x time units."""
        frame = self.data.cumulative()
        return np.array(
            [frame.loc[frame["group"] == g, "observed"].to_numpy() for g in self.groups]
        )

    def scenario(self, values: dict[str, float]) -> Scenario:
        """The scenario with the fitted parameters set to ``values`` (by parameter name)."""
        document = copy.deepcopy(self.document)
        for parameter in self.spec.parameters:
            set_key(document, f"countries.*.{parameter.key}", float(values[parameter.name]))
        return Scenario.model_validate(document)

    def simulate(self, values: dict[str, float], replicate: int) -> np.ndarray:
        """Cumulative adopters of every group at the end of each time unit (groups x T)."""
        result = run_replicate(self.scenario(values), replicate)
        table = result.countries.pivot(
            index="month", columns="country", values="practices_in_use_share"
        )
        months = np.arange(1, self.data.periods + 1) * self.months_per_unit
        shares = table.loc[months, self.groups].to_numpy().T
        sizes = np.array([self.sizes[g] for g in self.groups])[:, None]
        return np.rint(shares * sizes).astype(np.int64)


def build_problem(
    spec: CalibrationSpec, data: AdoptionData, folder: Path, holdout: str | None = None
) -> CalibrationProblem:
    """Write the group facility files into ``folder`` and build the scenario document.

    Raises:
        ScenarioError: The held-out group is unknown, only one group would remain to fit,
            or the calibration file's ``scenario`` changes do not make a valid scenario.
    """
    file = spec.file or "calibration file"
    if holdout is not None and holdout not in data.groups:
        raise ScenarioError(
            [Problem("--holdout", "", holdout, "no such group in the data", f"use {data.groups}")]
        )
    if holdout is not None and len(data.groups) < 2:
        raise ScenarioError(
            [Problem("--holdout", "", holdout, "nothing left to fit", "needs two or more groups")]
        )
    months_per_unit = TIME_UNIT_MONTHS[spec.data.time_unit]
    files = write_group_files(data, folder)
    changes = dict(spec.scenario)
    country_changes = changes.pop("country", {}) or {}
    top = merge(scenario_template(data.periods * months_per_unit, spec.seed, spec.name), changes)
    top["months"] = data.periods * months_per_unit  # the window fixes the simulated months
    country = merge(group_country_template(data.edges is not None), country_changes)
    countries = []
    for group in data.groups:
        facility_name, edge_name = files[group]
        entry = merge(country, {"name": group, "facility_file": str(folder / facility_name)})
        if edge_name is not None:
            entry["edge_file"] = str(folder / edge_name)
        countries.append(entry)
    top["countries"] = countries
    try:
        Scenario.model_validate(top)
    except ValidationError as error:
        raise ScenarioError(schema_problems(error, file, Scenario, prefix="scenario: ")) from None
    return CalibrationProblem(
        spec=spec,
        data=data,
        document=top,
        months_per_unit=months_per_unit,
        holdout=holdout,
        sizes=data.group_sizes(),
    )
