"""The organisational world: countries, districts, facilities and the ties between them.

Facilities are numbered ``0..N-1`` across all countries (the stable agent index used by
every state array); districts ``0..D-1``. Ties are kept as a symmetric sparse matrix,
never as Python objects, so a national network of 200,000 facilities costs a few MB.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp
from pydantic import model_validator

from sim.model.facility_list import read_facility_table
from sim.model.parameters import P, Section
from sim.model.streams import Streams

if TYPE_CHECKING:
    from sim.model.schema import Country, Scenario

__all__ = ["LEVELS", "FacilityMix", "Network", "World", "build_world", "pick_within"]

#: Facility levels, in the order of their codes.
LEVELS = ("hospital", "health_centre", "health_post")


class FacilityMix(Section):
    """How generated facilities are drawn: level, sector, staff and capabilities."""

    hospital_share: float = P(0.05, 0.0, 1.0, description="Share of facilities that are hospitals.")
    health_centre_share: float = P(
        0.35, 0.0, 1.0, description="Share that are health centres (the rest are health posts)."
    )
    private_share: float = P(
        0.2, 0.0, 1.0, description="Share of facilities in the private sector."
    )
    staff_hospital: int = P(60, 1, 5000, unit="staff", description="Staff of a hospital.")
    staff_health_centre: int = P(12, 1, 1000, unit="staff", description="Staff of a health centre.")
    staff_health_post: int = P(3, 1, 100, unit="staff", description="Staff of a health post.")
    qi_team_share: float = P(
        0.3,
        0.0,
        1.0,
        description="Share of facilities with a QI team (hospitals first).",
        plausible=(0.1, 0.5),
    )
    leadership_support: float = P(
        0.5, 0.0, 1.0, description="Mean leadership support for improvement.", plausible=(0.3, 0.7)
    )
    data_quality: float = P(
        0.5,
        0.0,
        1.0,
        description="Mean data quality: how reliably a trial's result is read.",
        plausible=(0.3, 0.7),
    )
    documentation: float = P(
        0.4,
        0.0,
        1.0,
        description="Mean chance that a facility writes the story of a lesson.",
        plausible=(0.2, 0.6),
    )
    capability_spread: float = P(
        0.15,
        0.0,
        0.5,
        description="Standard deviation of the three capabilities above.",
        plausible=(0.05, 0.25),
    )

    @model_validator(mode="after")
    def _levels_fit(self) -> FacilityMix:
        if self.hospital_share + self.health_centre_share > 1.0:
            raise ValueError(
                "hospital_share + health_centre_share must not exceed 1 "
                f"(got {self.hospital_share} + {self.health_centre_share})"
            )
        return self


class Network(Section):
    """The generated facility network: small-world inside districts, a few ties across."""

    neighbours: int = P(
        4, 0, 50, unit="ties", description="Ties per facility in the district ring lattice."
    )
    rewiring: float = P(0.1, 0.0, 1.0, description="Watts-Strogatz rewiring probability.")
    cross_district_ties: int = P(
        2, 0, 1000, unit="ties per district", description="Random ties to other districts."
    )


@dataclass
class World:
    """Who is where, and who is tied to whom.

    Attributes:
        country_names: Names of the countries, in scenario order.
        facility_country: Country index of each facility.
        facility_district: District index of each facility.
        facility_ids: External id of each facility (from a CSV, or generated).
        level: Level code of each facility (see :data:`LEVELS`).
        private: Whether each facility is in the private sector.
        staff: Staff count of each facility.
        qi_team: Whether each facility has a QI team.
        leadership: Leadership support of each facility, 0-1.
        data_quality: Data quality of each facility, 0-1.
        documentation: Chance that each facility writes a lesson's story, 0-1.
        district_country: Country index of each district.
        district_names: Name of each district.
        ties: Symmetric facility adjacency (CSR, values 1).
        district_members: Incidence matrix, facilities x districts (CSR, values 1).
        lat: Latitude of each facility in degrees (NaN where unknown), from the
            ``lat`` column of a facility file; ``None`` when no country has coordinates.
        lon: Longitude of each facility in degrees, like ``lat``.
    """

    country_names: tuple[str, ...]
    facility_country: np.ndarray
    facility_district: np.ndarray
    facility_ids: np.ndarray
    level: np.ndarray
    private: np.ndarray
    staff: np.ndarray
    qi_team: np.ndarray
    leadership: np.ndarray
    data_quality: np.ndarray
    documentation: np.ndarray
    district_country: np.ndarray
    district_names: np.ndarray
    ties: sp.csr_matrix
    district_members: sp.csr_matrix
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None

    @property
    def n_facilities(self) -> int:
        """Number of facilities."""
        return int(self.facility_country.size)

    @property
    def n_districts(self) -> int:
        """Number of districts."""
        return int(self.district_country.size)

    @property
    def n_countries(self) -> int:
        """Number of countries."""
        return len(self.country_names)

    # facilities grouped by district, and districts by country, for random picks
    @cached_property
    def district_order(self) -> np.ndarray:
        """Facilities sorted by district (stable).

        District ``d`` holds ``district_order[district_start[d]:][:district_size[d]]``.
        """
        return np.argsort(self.facility_district, kind="stable")

    @cached_property
    def district_size(self) -> np.ndarray:
        """Facilities of each district."""
        return np.bincount(self.facility_district, minlength=self.n_districts)

    @cached_property
    def district_start(self) -> np.ndarray:
        """Position of each district's first facility in :attr:`district_order`."""
        return np.concatenate([[0], np.cumsum(self.district_size)[:-1]])

    @cached_property
    def country_districts(self) -> np.ndarray:
        """Districts of each country (districts are numbered country by country)."""
        return np.bincount(self.district_country, minlength=self.n_countries)

    @cached_property
    def country_first_district(self) -> np.ndarray:
        """Index of each country's first district."""
        return np.concatenate([[0], np.cumsum(self.country_districts)[:-1]])

    @cached_property
    def country_size(self) -> np.ndarray:
        """Facilities of each country."""
        return np.bincount(self.facility_country, minlength=self.n_countries)

    @cached_property
    def ties_per_country(self) -> np.ndarray:
        """Ties (stored entries of :attr:`ties`) of each country's facilities."""
        return np.bincount(
            self.facility_country, weights=np.diff(self.ties.indptr), minlength=self.n_countries
        ).astype(np.int64)

    def in_countries(self, countries: np.ndarray) -> np.ndarray:
        """Facilities of the countries marked in ``countries`` (a per-country mask).

        When every country (or none) is marked, a shared read-only array is returned
        instead of a new one.
        """
        if countries.all() or not countries.any():
            value = bool(countries.all())
            cache = self.__dict__.setdefault("_everywhere", {})
            if value not in cache:
                cache[value] = np.full(self.n_facilities, value)
                cache[value].setflags(write=False)
            return cache[value]
        return countries[self.facility_country]


@dataclass
class _CountryPart:
    district: np.ndarray
    district_names: list[str]
    ids: np.ndarray
    level: np.ndarray
    private: np.ndarray
    staff: np.ndarray
    edges: np.ndarray
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None


def build_world(scenario: Scenario, streams: Streams) -> World:
    """Build facilities, districts and ties for every country of ``scenario``.

    Each country draws from its own stream, so adding a country does not change the
    others. Generated networks are small worlds inside districts (Watts-Strogatz)
    with a few random ties across districts.
    """
    parts = []
    for index, country in enumerate(scenario.countries):
        rng = streams.setup("world", "layout", index)
        if country.facility_file is not None:
            parts.append(_country_from_file(country, country.facility_file, rng))
        else:
            parts.append(_generated_country(country, rng))

    facility_country, facility_district, district_country, district_names = [], [], [], []
    ids, level, private, staff, edges = [], [], [], [], []
    qi: list[np.ndarray] = []
    lead: list[np.ndarray] = []
    data: list[np.ndarray] = []
    docs: list[np.ndarray] = []
    f_offset = d_offset = 0
    for index, (country, part) in enumerate(zip(scenario.countries, parts, strict=True)):
        n = part.district.size
        n_d = len(part.district_names)
        facility_country.append(np.full(n, index, dtype=np.int32))
        facility_district.append(part.district + d_offset)
        district_country.append(np.full(n_d, index, dtype=np.int32))
        district_names.extend(part.district_names)
        ids.append(part.ids)
        level.append(part.level)
        private.append(part.private)
        staff.append(part.staff)
        edges.append(part.edges + f_offset)
        capabilities = _capabilities(
            country, part.level, streams.setup("world", "capabilities", index)
        )
        for store, values in zip((qi, lead, data, docs), capabilities, strict=True):
            store.append(values)
        f_offset += n
        d_offset += n_d

    n_total = f_offset
    all_edges = np.concatenate(edges) if edges else np.zeros((0, 2), dtype=np.int64)
    ties = _symmetric(all_edges, n_total)
    district = np.concatenate(facility_district).astype(np.int32)
    members = sp.csr_matrix(
        (np.ones(n_total, dtype=np.float32), (np.arange(n_total), district)),
        shape=(n_total, d_offset),
    )
    return World(
        country_names=tuple(c.name for c in scenario.countries),
        facility_country=np.concatenate(facility_country),
        facility_district=district,
        facility_ids=np.concatenate(ids),
        level=np.concatenate(level).astype(np.int8),
        private=np.concatenate(private).astype(bool),
        staff=np.concatenate(staff).astype(np.int32),
        qi_team=np.concatenate(qi),
        leadership=np.concatenate(lead),
        data_quality=np.concatenate(data),
        documentation=np.concatenate(docs),
        district_country=np.concatenate(district_country),
        district_names=np.array(district_names, dtype=object),
        ties=ties,
        district_members=members,
        **_coordinates(parts),
    )


def _coordinates(parts: list[_CountryPart]) -> dict[str, np.ndarray]:
    """``lat`` and ``lon`` of every facility (NaN where unknown), if any country has them."""
    if all(part.lat is None for part in parts):
        return {}
    found = {}
    for name in ("lat", "lon"):
        found[name] = np.concatenate(
            [
                np.full(part.district.size, np.nan) if getattr(part, name) is None
                else np.asarray(getattr(part, name), dtype=np.float64)
                for part in parts
            ]
        )  # fmt: skip
    return found


def _generated_country(country: Country, rng: np.random.Generator) -> _CountryPart:
    n, n_d = country.facilities, country.districts
    mix = country.facility_mix
    district = (np.arange(n, dtype=np.int64) * n_d // n).astype(np.int32)
    level = rng.choice(
        3,
        size=n,
        p=[
            mix.hospital_share,
            mix.health_centre_share,
            1.0 - mix.hospital_share - mix.health_centre_share,
        ],
    ).astype(np.int8)
    private = rng.random(n) < mix.private_share
    staff = np.array([mix.staff_hospital, mix.staff_health_centre, mix.staff_health_post])[level]
    edges = _generated_ties(district, n_d, country, rng)
    return _CountryPart(
        district=district,
        district_names=[f"{country.name}-D{d + 1:03d}" for d in range(n_d)],
        ids=np.array([f"{country.name}-F{i + 1:06d}" for i in range(n)], dtype=object),
        level=level,
        private=private,
        staff=staff.astype(np.int32),
        edges=edges,
    )


def _country_from_file(country: Country, path: str, rng: np.random.Generator) -> _CountryPart:
    table = read_facility_table(path, country.edge_file)
    names, district = np.unique(table.district.astype(str), return_inverse=True)
    if table.edges is not None:
        edges = table.edges.astype(np.int64)
    else:
        edges = _generated_ties(district.astype(np.int32), len(names), country, rng)
    return _CountryPart(
        district=district.astype(np.int32),
        district_names=[f"{country.name}-{name}" for name in names],
        ids=table.ids,
        level=table.level,
        private=table.private,
        staff=table.staff,
        edges=edges,
        lat=table.lat,
        lon=table.lon,
    )


def _generated_ties(
    district: np.ndarray, n_districts: int, country: Country, rng: np.random.Generator
) -> np.ndarray:
    """Small world inside each district; ``cross_district_ties`` random ties out of each."""
    net = country.network
    order = np.argsort(district, kind="stable")
    bounds = np.searchsorted(district[order], np.arange(n_districts + 1))
    chunks = []
    # networkx draws through Python's own generator: seeded from ``rng``, it is as
    # reproducible and much faster than networkx's wrapper around a numpy generator.
    python_rng = random.Random(int(rng.integers(2**63)))
    for d in range(n_districts):
        members = order[bounds[d] : bounds[d + 1]]
        size = members.size
        if size < 2 or net.neighbours == 0:
            continue
        k = min(net.neighbours, size - 1)
        if k < 2 or size <= k:
            graph = nx.complete_graph(size)
        else:
            graph = nx.watts_strogatz_graph(size, k, net.rewiring, seed=python_rng)
        pairs = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
        chunks.append(members[pairs])
    if net.cross_district_ties and n_districts > 1:
        count = net.cross_district_ties * n_districts
        origin_district = np.repeat(np.arange(n_districts), net.cross_district_ties)
        other = (origin_district + rng.integers(1, n_districts, count)) % n_districts
        sizes = bounds[1:] - bounds[:-1]
        valid = (sizes[origin_district] > 0) & (sizes[other] > 0)
        origin_district, other = origin_district[valid], other[valid]
        a = order[pick_within(bounds[origin_district], sizes[origin_district], rng)]
        b = order[pick_within(bounds[other], sizes[other], rng)]
        chunks.append(np.stack([a, b], axis=1))
    if not chunks:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(chunks).astype(np.int64)


def pick_within(start: np.ndarray, size: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One position drawn uniformly in each range ``[start, start + size)``.

    An empty range (size 0) gives ``start``; callers drop those draws.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> picks = pick_within(np.array([0, 10]), np.array([5, 1]), rng)
        >>> bool(0 <= picks[0] < 5), int(picks[1])
        (True, 10)
    """
    return start + rng.integers(0, 1 << 62, start.size) % np.maximum(size, 1)


def _symmetric(edges: np.ndarray, n: int) -> sp.csr_matrix:
    edges = edges[edges[:, 0] != edges[:, 1]] if edges.size else edges
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    matrix = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.prune()
    matrix.data[:] = 1.0
    return matrix


def _capabilities(
    country: Country, level: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """QI teams (hospitals first, then centres, then posts) and the three capabilities."""
    mix = country.facility_mix
    n = level.size
    n_qi = int(round(mix.qi_team_share * n))
    priority = np.lexsort((rng.random(n), level))
    qi_team = np.zeros(n, dtype=bool)
    qi_team[priority[:n_qi]] = True

    def draw(mean: float) -> np.ndarray:
        return np.clip(rng.normal(mean, mix.capability_spread, n), 0.0, 1.0)

    return qi_team, draw(mix.leadership_support), draw(mix.data_quality), draw(mix.documentation)
