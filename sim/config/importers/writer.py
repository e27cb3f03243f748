"""Write imported countries as a scenario: ``scenario.yaml`` and its CSV files.

The files are written the same way every time (sorted ties, fixed number formats, no
dates), so the same source, options and seed give byte-identical files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.config.importers.common import ImportedCountry
from sim.config.importers.network import KINDS
from sim.config.importers.type_mapping import normalise

__all__ = ["ScenarioFiles", "scenario_name", "write_scenario"]

FACILITY_HEADER = ("id", "name", "type", "district", "level", "sector", "staff", "lat", "lon")
"""Columns of the facility CSV written (the last two may be empty)."""


@dataclass(frozen=True)
class ScenarioFiles:
    """What was written: the scenario file and each country's facility and edge files."""

    scenario: Path
    facility_files: tuple[Path, ...]
    edge_files: tuple[Path, ...]


def scenario_name(text: str) -> str:
    """A file-friendly name: lower case words joined by hyphens.

    Examples:
        >>> scenario_name("Côte d'Ivoire")
        'cote-d-ivoire'
    """
    return re.sub(r"\s+", "-", normalise(text)) or "country"


def write_scenario(
    out: Path,
    countries: list[ImportedCountry],
    *,
    name: str,
    description: str,
    seed: int,
    command: str,
    credit: str = "",
) -> ScenarioFiles:
    """Write ``out/scenario.yaml`` and the CSV files it names (paths relative to it).

    Args:
        out: Folder to write (created if needed; files of the same names are replaced).
        countries: The imported countries, in scenario order.
        name: Scenario name.
        description: What the scenario is; each country's notes are added to its own.
        seed: The scenario's seed.
        command: The command that built it, recorded in the file's first comment.
        credit: Attribution of the source data, a comment line in the file.
    """
    out.mkdir(parents=True, exist_ok=True)
    single = len(countries) == 1
    entries, facility_files, edge_files = [], [], []
    for country in countries:
        prefix = "" if single else f"{scenario_name(country.name)}_"
        facility_file = out / f"{prefix}facilities.csv"
        edge_file = out / f"{prefix}edges.csv"
        _write_facilities(country, facility_file)
        _write_edges(country, edge_file)
        facility_files.append(facility_file)
        edge_files.append(edge_file)
        entries.append(
            {
                "name": country.name,
                "description": " ".join(country.notes),
                "facility_file": facility_file.name,
                "edge_file": edge_file.name,
            }
        )
    document = {
        "name": name,
        "description": description,
        "seed": seed,
        "months": 60,
        "replicates": 10,
        "practices": {"count": 24},
        "countries": entries,
    }
    header = [f"# Built by: {command}"]
    if credit:
        header.append(f"# {credit}")
    header.append(
        "# Edit the countries' keys (channels, culture, turnover...) here or in a file that "
        "extends this one."
    )
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88)
    scenario = out / "scenario.yaml"
    scenario.write_text("\n".join(header) + "\n" + body, encoding="utf-8")
    return ScenarioFiles(scenario, tuple(facility_files), tuple(edge_files))


def _write_facilities(country: ImportedCountry, path: Path) -> None:
    frame = country.facilities.loc[:, list(FACILITY_HEADER)].copy()
    for column in ("lat", "lon"):
        values = frame[column].to_numpy(np.float64)
        text = np.char.mod("%.6f", np.nan_to_num(values))
        frame[column] = np.where(np.isfinite(values), text, "")
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _write_edges(country: ImportedCountry, path: Path) -> None:
    ids = country.facilities["id"].to_numpy(dtype=object)
    pairs = country.ties.pairs
    frame = pd.DataFrame(
        {
            "source": ids[pairs[:, 0]],
            "target": ids[pairs[:, 1]],
            "kind": np.array(KINDS, dtype=object)[country.ties.kind.astype(np.int64)],
        }
    )
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
