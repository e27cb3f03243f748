"""The Maina et al. 2019 list of public health facilities of sub-Saharan Africa.

Maina J, Ouma PO, Macharia PM, et al. A spatial database of health facilities managed by
the public health sector in sub Saharan Africa. Scientific Data 6, 134 (2019),
doi:10.1038/s41597-019-0142-2, CC BY 4.0. The list ships with lhsim as
``sim/data/maina2019_facilities.csv.gz`` (see ``sim/data/README.md``).

Its ``Admin1`` column is the first administrative level (region, province, county), so
districts are always derived (:mod:`sim.config.importers.districts`). Facility ids are
the country's ISO 3166 code and the facility's place among that country's rows
(``MWI-00001``), stable as long as the shipped file is.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from sim.config.importers.common import FIELDS, SourceCountry
from sim.config.importers.type_mapping import normalise
from sim.errors import Problem, ScenarioError

__all__ = ["ALL", "MAINA_FILE", "CREDIT", "maina_countries", "maina_sources"]

MAINA_FILE = Path(__file__).resolve().parents[2] / "data" / "maina2019_facilities.csv.gz"
"""The shipped list."""

CREDIT = (
    "Facilities: Maina J et al. (2019), A spatial database of health facilities managed by "
    "the public health sector in sub Saharan Africa, Scientific Data 6:134, CC BY 4.0."
)
"""Attribution written into every scenario made from the list."""

ALL = "all"
"""The ``--country`` value that selects every country of the list."""

_COLUMNS = {
    "Country": "country",
    "Admin1": "region",
    "Facility name": "name",
    "Facility type": "type",
    "Ownership": "ownership",
    "Lat": "lat",
    "Long": "lon",
    "iso3c": "iso3c",
}


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path,
        usecols=list(_COLUMNS),
        dtype=str,
        keep_default_na=False,
        encoding="utf-8",
    )
    return frame.rename(columns=_COLUMNS)


def maina_countries(path: Path = MAINA_FILE) -> list[str]:
    """The country names of the list, sorted as the list's README sorts them (by name)."""
    return sorted(_read(path)["country"].unique().tolist(), key=str.casefold)


def maina_sources(names: list[str], path: Path = MAINA_FILE) -> list[SourceCountry]:
    """The facilities of the named countries (or of every country, for ``all``).

    Names match the list's country names or ISO 3166 alpha-3 codes, ignoring case,
    accents and punctuation.

    Raises:
        ScenarioError: Naming every unknown country, with the closest names.
    """
    frame = _read(path)
    known = sorted(frame["country"].unique().tolist(), key=str.casefold)
    lookup = {normalise(name): name for name in known}
    for code, name in frame.groupby("iso3c", sort=True)["country"].first().items():
        lookup.setdefault(normalise(str(code)), str(name))
    chosen: list[str] = []
    problems = []
    for name in names:
        if normalise(name) == ALL:
            chosen += [c for c in known if c not in chosen]
            continue
        found = lookup.get(normalise(name))
        if found is None:
            close = difflib.get_close_matches(normalise(name), list(lookup), n=3, cutoff=0.6)
            fix = (
                "did you mean " + " or ".join(repr(lookup[c]) for c in close) + "?"
                if close
                else f"the list's countries: {', '.join(known)}; or 'all'"
            )
            problems.append(Problem(str(path), "--country", name, "not a country of the list", fix))
        elif found not in chosen:
            chosen.append(found)
    if problems:
        raise ScenarioError(problems)
    sources = []
    for name in chosen:
        rows = frame[frame["country"] == name].copy()
        code = rows["iso3c"].iloc[0]
        rows.index = pd.RangeIndex(1, len(rows) + 1)
        rows["id"] = [f"{code}-{number:05d}" for number in rows.index]
        rows["district"] = ""
        sources.append(
            SourceCountry(
                name=name,
                source=f"{path.name} ({name})",
                frame=rows.loc[:, list(FIELDS)].apply(lambda column: column.str.strip()),
                districts_given=False,
            )
        )
    return sources
