"""What every importer shares: the facility records, the build of a country, the options.

An importer reads its source into :class:`SourceCountry` records (text columns
:data:`FIELDS`); :func:`build_country` turns one into an :class:`ImportedCountry`:
levels and staff from the type mapping, sectors from ownership, districts (given, or
derived from regions), and the geographic network. Problems are collected and raised
together as a :class:`~sim.errors.ScenarioError`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.config.importers.districts import derive_districts, project_km
from sim.config.importers.network import GeographicTies, geographic_ties
from sim.config.importers.type_mapping import TypeMapping, load_type_mapping
from sim.errors import Problem, ScenarioError
from sim.model.facility_list import LEVELS, MAX_ROW_PROBLEMS, SECTORS

__all__ = [
    "FIELDS",
    "ImportOptions",
    "ImportedCountry",
    "SourceCountry",
    "build_country",
    "build_countries",
]

FIELDS: tuple[str, ...] = ("id", "name", "district", "region", "type", "ownership", "lat", "lon")
"""The facility fields an importer fills (text; empty where the source has nothing)."""

MAX_LISTED = 30
"""Most unmapped type names listed one by one."""


@dataclass(frozen=True)
class ImportOptions:
    """Choices shared by every importer (the command line's options).

    Attributes:
        types: The type mapping (levels and staff from type names).
        district_size: Facilities wanted per derived district.
        seed: Seed of the district split and of the network's random draws; written as
            the scenario's seed.
        neighbours: Nearest facilities tied within a district.
        cross_ties: Ties drawn from each district across its border.
        decay_km: Distance over which a cross-district tie's weight falls by e.
    """

    types: TypeMapping = field(default_factory=load_type_mapping)
    district_size: int = 25
    seed: int = 20261122
    neighbours: int = 4
    cross_ties: int = 2
    decay_km: float = 25.0


@dataclass
class SourceCountry:
    """The facilities of one country as read from a source.

    Attributes:
        name: Country name (the scenario's country name).
        source: Where the facilities come from, for the description and problems.
        frame: One row per facility, the columns :data:`FIELDS` as text ("" = none),
            indexed by where the source has it (row number, unit id).
        districts_given: The ``district`` column holds real districts; otherwise they
            are derived from ``region`` (or from the whole country when it is empty).
        where: How problem locations are named: "row" or "unit".
    """

    name: str
    source: str
    frame: pd.DataFrame
    districts_given: bool
    where: str = "row"


@dataclass
class ImportedCountry:
    """A country ready to write: facility columns, ties, and what to tell the user.

    Attributes:
        name: Country name.
        facilities: Columns ``id, name, type, district, level, sector, staff, lat, lon``.
        ties: The network, as row pairs of ``facilities``.
        notes: Sentences for the scenario's description.
        warnings: Things the user should know (facilities without coordinates...).
    """

    name: str
    facilities: pd.DataFrame
    ties: GeographicTies
    notes: list[str]
    warnings: list[str]


def build_countries(sources: list[SourceCountry], options: ImportOptions) -> list[ImportedCountry]:
    """Build every country; the problems of all of them are raised together."""
    built, problems = [], []
    for source in sources:
        try:
            built.append(build_country(source, options))
        except ScenarioError as error:
            problems += error.problems
    if problems:
        raise ScenarioError(problems)
    return built


def build_country(source: SourceCountry, options: ImportOptions) -> ImportedCountry:
    """Levels, sectors, districts and network of one country.

    Raises:
        ScenarioError: Unmapped types (unless the mapping names a level for them),
            repeated or empty ids, coordinates that are not numbers in range, facilities
            without a district where districts are given.
    """
    frame = source.frame
    problems: list[Problem] = []
    warnings: list[str] = []
    notes: list[str] = []
    _check_ids(source, problems)
    lat, lon = _coordinates(source, problems)
    level, staff, unmapped = options.types.levels(frame["type"].to_numpy())
    if unmapped:
        problems += _unmapped(source, unmapped, options.types, warnings, level, staff)
    if source.districts_given:
        empty = frame["district"] == ""
        problems += _row_problems(source, empty, "district", "facility has no district")
    if problems:
        raise ScenarioError(problems)

    xy = project_km(lat, lon)
    if source.districts_given:
        district = frame["district"].to_numpy(dtype=object)
    else:
        region = frame["region"].where(frame["region"] != "", source.name).to_numpy(dtype=str)
        derived = derive_districts(region, xy, options.district_size, options.seed)
        district = derived.names
        smallest, median, largest = derived.sizes
        notes.append(
            f"Districts are derived, not official: each of the {derived.regions} "
            f"region{'s' if derived.regions != 1 else ''} of the list was split into districts "
            f"of about {options.district_size} facilities by k-means clustering of the "
            f"facilities' coordinates (seed {options.seed}), giving {derived.districts} "
            f"districts of {smallest} to {largest} facilities (median {median:g})."
        )
    names, codes = np.unique(district.astype(str), return_inverse=True)
    rng = np.random.default_rng([options.seed, zlib.crc32(source.name.encode("utf-8"))])
    ties = geographic_ties(
        xy,
        codes,
        neighbours=options.neighbours,
        cross_ties=options.cross_ties,
        decay_km=options.decay_km,
        rng=rng,
    )
    missing = int((~np.isfinite(xy).all(axis=1)).sum())
    if missing:
        warnings.append(
            f"{source.name}: {missing} of {len(frame)} facilities "
            f"{'has' if missing == 1 else 'have'} no coordinates; "
            f"{'it is' if missing == 1 else 'they are'} kept, with ties drawn at random "
            "within the district"
        )
    notes.append(
        f"Network from geography: each facility is tied to its {options.neighbours} nearest "
        f"facilities in its district, and each district has {options.cross_ties} ties across "
        f"its border to nearby facilities (weight exp(-distance / {options.decay_km:g} km))"
        + (
            f"; the {missing} facilities without coordinates have random ties in their district."
            if missing
            else "."
        )
    )
    facilities = pd.DataFrame(
        {
            "id": frame["id"].to_numpy(dtype=object),
            "name": frame["name"].to_numpy(dtype=object),
            "type": frame["type"].to_numpy(dtype=object),
            "district": names[codes].astype(object),
            "level": np.array(LEVELS, dtype=object)[level],
            "sector": np.array(SECTORS, dtype=object)[
                options.types.is_private(frame["ownership"].to_numpy()).astype(np.int64)
            ],
            "staff": staff,
            "lat": lat,
            "lon": lon,
        }
    )
    return ImportedCountry(source.name, facilities, ties, notes, warnings)


def _check_ids(source: SourceCountry, problems: list[Problem]) -> None:
    ids = source.frame["id"]
    problems += _row_problems(source, ids == "", "id", "facility id is empty")
    repeated = ids.duplicated(keep=False) & (ids != "")
    if repeated.any():
        groups = ids[repeated].groupby(ids[repeated], sort=True)
        listed = [
            f"{value!r} ({', '.join(str(i) for i in group.index[:5])})"
            for value, group in list(groups)[:MAX_ROW_PROBLEMS]
        ]
        problems.append(
            Problem(
                source.source,
                "id",
                int(groups.ngroups),
                f"{groups.ngroups} id{'s are' if groups.ngroups != 1 else ' is'} repeated, at "
                f"{source.where}s: " + "; ".join(listed),
                "give every facility a different id",
            )
        )


def _coordinates(source: SourceCountry, problems: list[Problem]) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude as floats, NaN where missing; bad text is a problem."""
    found = []
    for name, limit in (("lat", 90.0), ("lon", 180.0)):
        text = source.frame[name]
        value = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = (text != "") & ~(value.abs() <= limit)
        problems += _row_problems(
            source, bad, name, f"{name} is not a number of degrees between -{limit:g} and {limit:g}"
        )
        found.append(value.where(~bad).to_numpy(np.float64, copy=True))
    lat, lon = found
    # one coordinate alone, or the 0, 0 placeholder, is no location
    unknown = ~(np.isfinite(lat) & np.isfinite(lon)) | ((lat == 0) & (lon == 0))
    lat[unknown] = np.nan
    lon[unknown] = np.nan
    return lat, lon


def _row_problems(
    source: SourceCountry, mask: pd.Series | np.ndarray, column: str, message: str
) -> list[Problem]:
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))
    if positions.size == 0:
        return []
    index = source.frame.index
    values = source.frame[column].to_numpy()
    problems = [
        Problem(source.source, f"{source.where} {index[p]}, {column}", values[p], message)
        for p in positions[:MAX_ROW_PROBLEMS]
    ]
    if positions.size > MAX_ROW_PROBLEMS:
        hidden = positions.size - MAX_ROW_PROBLEMS
        problems.append(
            Problem(source.source, column, hidden, f"{hidden} more {source.where}s like these")
        )
    return problems


def _unmapped(
    source: SourceCountry,
    unmapped: dict[str, int],
    mapping: TypeMapping,
    warnings: list[str],
    level: np.ndarray,
    staff: np.ndarray,
) -> list[Problem]:
    """Unmapped types: a problem listing them, or a warning when the mapping has a level.

    With ``unmapped:`` set in the mapping, ``level`` and ``staff`` are filled in place.
    """
    ranked = sorted(unmapped.items(), key=lambda item: (-item[1], item[0]))
    listed = ", ".join(f"{name or '(empty)'!r} ({count})" for name, count in ranked[:MAX_LISTED])
    if len(ranked) > MAX_LISTED:
        listed += f" and {len(ranked) - MAX_LISTED} more"
    total = sum(unmapped.values())
    head = f"{len(ranked)} facility type{'s' if len(ranked) != 1 else ''} ({total} facilities)"
    if mapping.unmapped is not None:
        fallback = LEVELS[mapping.unmapped]
        default_staff = {rule.level: rule.staff for rule in reversed(mapping.rules)}
        level[level < 0] = mapping.unmapped
        staff[staff == 0] = default_staff.get(mapping.unmapped, 1)
        warnings.append(f"{source.name}: {head} matched no phrase of {mapping.file} "
                        f"and were given the level {fallback}: {listed}")  # fmt: skip
        return []
    return [
        Problem(
            source.source,
            "type",
            len(ranked),
            f"{head} {'match' if len(ranked) != 1 else 'matches'} no phrase of the type "
            f"mapping: {listed}",
            f"add phrases for them to a copy of {mapping.file} and pass it with --types "
            "(or set 'unmapped:' to a level there)",
        )
    ]
