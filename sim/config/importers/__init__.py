"""Importers: master facility lists and DHIS2 exports become ready scenarios.

Each importer reads its source into :class:`~sim.config.importers.common.SourceCountry`
records; :func:`~sim.config.importers.common.build_country` gives every facility a level
and staff (from the editable type mapping, :mod:`sim.config.importers.type_mapping`), a
sector, a district (given, or derived from regions by seeded k-means,
:mod:`sim.config.importers.districts`) and geographic ties (k-d trees,
:mod:`sim.config.importers.network`); :func:`~sim.config.importers.writer.write_scenario`
writes ``scenario.yaml`` and its CSV files, and :func:`~sim.config.importers.maps.draw_map`
a map. The command line is ``lhsim import`` (:mod:`sim.cli.import_commands`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.config.importers.common import (
    ImportedCountry,
    ImportOptions,
    SourceCountry,
    build_countries,
)
from sim.config.importers.writer import ScenarioFiles, scenario_name, write_scenario

__all__ = ["ImportOptions", "ImportResult", "import_csv", "import_dhis2", "import_maina"]


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote and what the user should hear about.

    Attributes:
        files: The scenario file and its CSV files.
        map: The map drawn (``None`` when not asked for or nothing has coordinates).
        countries: The imported countries.
        warnings: Messages to show (facilities without coordinates, unmapped types given
            the mapping's fallback level).
    """

    files: ScenarioFiles
    map: Path | None
    countries: tuple[ImportedCountry, ...]
    warnings: tuple[str, ...]

    @property
    def facilities(self) -> int:
        """Facilities imported."""
        return sum(len(c.facilities) for c in self.countries)

    @property
    def districts(self) -> int:
        """Districts made."""
        return sum(int(c.facilities["district"].nunique()) for c in self.countries)

    @property
    def ties(self) -> int:
        """Network ties made."""
        return sum(len(c.ties) for c in self.countries)


def import_maina(
    countries: list[str],
    out: Path,
    options: ImportOptions | None = None,
    *,
    command: str = "",
    draw: bool = True,
) -> ImportResult:
    """Import countries of the shipped Maina et al. 2019 list (``["all"]``: every one)."""
    from sim.config.importers.maina import CREDIT, maina_sources

    options = options or ImportOptions()
    sources = maina_sources(countries)
    names = [s.name for s in sources]
    label = names[0] if len(names) == 1 else f"{len(names)} countries"
    description = (
        f"The public health facilities of {', '.join(names)} from the published list of "
        "Maina et al. 2019 (Scientific Data 6:134, CC BY 4.0), imported by lhsim import maina. "
        "Levels and staff come from the facility types through the type mapping "
        f"({_mapping_label(options)}); every other parameter is at its documented default."
    )
    name = scenario_name(names[0]) if len(names) == 1 else "maina-world"
    return _finish(sources, out, options, name, description, command, CREDIT, draw, label)


def import_csv(
    path: Path,
    columns: dict[str, str],
    out: Path,
    options: ImportOptions | None = None,
    *,
    country: str | None = None,
    separator: str = ",",
    command: str = "",
    draw: bool = True,
) -> ImportResult:
    """Import a facility list in CSV whose columns are named by ``columns``."""
    from sim.config.importers.csv_list import csv_source

    options = options or ImportOptions()
    source = csv_source(path, columns, country, separator)
    description = (
        f"The facilities of {source.name} from the list {path.name}, imported by lhsim import "
        f"csv. Levels and staff come from the facility types through the type mapping "
        f"({_mapping_label(options)}); every other parameter is at its documented default."
    )
    return _finish(
        [source], out, options, scenario_name(source.name), description, command, "", draw,
        source.name,
    )  # fmt: skip


def import_dhis2(
    path: Path,
    out: Path,
    options: ImportOptions | None = None,
    *,
    facility_level: int | None = None,
    district_level: int | None = None,
    country: str | None = None,
    command: str = "",
    draw: bool = True,
) -> ImportResult:
    """Import the organisation units of a DHIS2 metadata export (JSON)."""
    from sim.config.importers.dhis2 import dhis2_source

    options = options or ImportOptions()
    source, summary = dhis2_source(path, options.types, facility_level, district_level, country)
    description = (
        f"{source.name}, from a DHIS2 metadata export, imported by lhsim import dhis2. "
        f"{summary} Levels and staff come from the facility types (type groups, else unit "
        f"names) through the type mapping ({_mapping_label(options)}); every other parameter is "
        "at its documented default."
    )
    return _finish(
        [source], out, options, scenario_name(source.name), description, command, "", draw,
        source.name,
    )  # fmt: skip


def _mapping_label(options: ImportOptions) -> str:
    """The mapping file's name, for descriptions (no absolute path: files stay portable)."""
    from sim.config.importers.type_mapping import DEFAULT_TYPES

    file = Path(options.types.file)
    return "the default, facility_types.yaml" if file == DEFAULT_TYPES else file.name


def _finish(
    sources: list[SourceCountry],
    out: Path,
    options: ImportOptions,
    name: str,
    description: str,
    command: str,
    credit: str,
    draw: bool,
    label: str,
) -> ImportResult:
    built = build_countries(sources, options)
    if any(note.startswith("Districts are derived") for c in built for note in c.notes):
        description += (
            " Districts are derived, not official: the list's regions are split by k-means "
            "clustering of the facilities' coordinates (see each country's description)."
        )
    files = write_scenario(
        out,
        built,
        name=name,
        description=description,
        seed=options.seed,
        command=command or "lhsim import",
        credit=credit,
    )
    drawn = None
    if draw:
        from sim.config.importers.maps import draw_map

        drawn = draw_map(built, out / "map.png", label)
    warnings = tuple(w for country in built for w in country.warnings)
    return ImportResult(files, drawn, tuple(built), warnings)
