"""A facility network from geography, built with k-d trees (no loop over pairs).

Three kinds of tie, each undirected and listed once:

``district``
    Each facility with coordinates is tied to its ``neighbours`` nearest facilities with
    coordinates in the same district. One k-d tree holds every facility, with the
    district as a third coordinate far larger than the country, so a single query finds
    neighbours within districts only.
``cross_district``
    From each district, ``cross_ties`` ties to facilities of other districts. The
    candidates are, for every facility, its ``candidates`` nearest facilities that lie in
    another district; a district draws its ties among its facilities' candidates without
    replacement, with weight ``exp(-distance / decay_km)`` (Gumbel top-k), so a tie to
    the next district's nearby facility is far likelier than one across the country.
``no_coordinates``
    Each facility without coordinates is tied to ``neighbours`` facilities of its
    district drawn at random (with or without coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["KINDS", "GeographicTies", "geographic_ties"]

KINDS: tuple[str, ...] = ("district", "cross_district", "no_coordinates")
"""The kinds of tie, in the order of their codes in :attr:`GeographicTies.kind`."""


@dataclass(frozen=True)
class GeographicTies:
    """Ties as row-index pairs (``a < b``, sorted, each once) with a kind code each."""

    pairs: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        """Number of ties."""
        return int(self.pairs.shape[0])


def geographic_ties(
    xy: np.ndarray,
    district: np.ndarray,
    *,
    neighbours: int,
    cross_ties: int,
    decay_km: float,
    rng: np.random.Generator,
    candidates: int = 16,
) -> GeographicTies:
    """Build the network of one country.

    Args:
        xy: Projected coordinates in km, ``(N, 2)``; NaN rows have no coordinates.
        district: District code of each facility (``0..D-1``).
        neighbours: Nearest facilities tied within the district.
        cross_ties: Ties drawn from each district to other districts.
        decay_km: Distance over which a cross-district tie's weight falls by e.
        rng: Generator of the random draws (cross ties and facilities without
            coordinates).
        candidates: Nearest facilities of other districts considered per facility.

    Examples:
        >>> xy = np.array([[0, 0], [1, 0], [2, 0], [10, 0], [11, 0]], dtype=float)
        >>> ties = geographic_ties(xy, np.array([0, 0, 0, 1, 1]), neighbours=1,
        ...     cross_ties=1, decay_km=0.1, rng=np.random.default_rng(0))
        >>> ties.pairs.tolist(), [KINDS[k] for k in ties.kind]
        ([[0, 1], [1, 2], [2, 3], [3, 4]], ['district', 'district', 'cross_district', 'district'])
    """
    district = np.asarray(district, dtype=np.int64)
    known = np.isfinite(xy).all(axis=1)
    located = np.flatnonzero(known)
    chunks = [
        _within_districts(xy, district, located, neighbours),
        _across_districts(xy, district, located, cross_ties, decay_km, candidates, rng),
        _without_coordinates(district, np.flatnonzero(~known), neighbours, rng),
    ]
    pairs = np.concatenate(chunks).astype(np.int64).reshape(-1, 2)
    kind = np.concatenate([np.full(len(c), code, np.int8) for code, c in enumerate(chunks)])
    pairs = np.sort(pairs, axis=1)
    keep = pairs[:, 0] != pairs[:, 1]
    pairs, kind = pairs[keep], kind[keep]
    # each tie once, in sorted order; the first kind listed (district before cross) wins
    unique, first = np.unique(pairs, axis=0, return_index=True)
    return GeographicTies(pairs=unique.reshape(-1, 2), kind=kind[first])


def _within_districts(
    xy: np.ndarray, district: np.ndarray, located: np.ndarray, neighbours: int
) -> np.ndarray:
    if neighbours == 0 or located.size < 2:
        return np.zeros((0, 2), np.int64)
    points = xy[located]
    span = float(np.ptp(points, axis=0).max()) + 1.0
    gap = 10.0 * span  # farther than any two facilities of one district can be
    lifted = np.column_stack([points, district[located] * gap])
    tree = cKDTree(lifted)
    k = min(neighbours + 1, located.size)
    distance, found = tree.query(lifted, k=k, distance_upper_bound=gap / 2)
    distance, found = distance.reshape(located.size, k), found.reshape(located.size, k)
    origin = np.repeat(np.arange(located.size), k).reshape(located.size, k)
    usable = np.isfinite(distance) & (found != origin)
    return np.column_stack([located[origin[usable]], located[found[usable]]])


def _across_districts(
    xy: np.ndarray,
    district: np.ndarray,
    located: np.ndarray,
    cross_ties: int,
    decay_km: float,
    candidates: int,
    rng: np.random.Generator,
) -> np.ndarray:
    if cross_ties == 0 or located.size < 2 or np.unique(district[located]).size < 2:
        return np.zeros((0, 2), np.int64)
    points = xy[located]
    tree = cKDTree(points)
    k = min(candidates + 1, located.size)
    distance, found = tree.query(points, k=k)
    distance, found = distance.reshape(located.size, k), found.reshape(located.size, k)
    origin = np.repeat(located, k).reshape(located.size, k)
    target = located[found]
    usable = district[origin] != district[target]
    origin, target, distance = origin[usable], target[usable], distance[usable]
    # Gumbel top-k: keys log(w) + Gumbel noise; the best few per district are a weighted
    # sample without replacement
    gumbel = -np.log(-np.log(rng.random(origin.size).clip(1e-300, 1.0 - 1e-16)))
    key = -distance / max(decay_km, 1e-9) + gumbel
    home = district[origin]
    order = np.lexsort((-key, home))
    home = home[order]
    start = np.searchsorted(home, home, side="left")
    rank = np.arange(home.size) - start
    chosen = order[rank < cross_ties]
    return np.column_stack([origin[chosen], target[chosen]])


def _without_coordinates(
    district: np.ndarray, unlocated: np.ndarray, neighbours: int, rng: np.random.Generator
) -> np.ndarray:
    if neighbours == 0 or unlocated.size == 0:
        return np.zeros((0, 2), np.int64)
    order = np.argsort(district, kind="stable")
    n_districts = int(district.max()) + 1
    bounds = np.searchsorted(district[order], np.arange(n_districts + 1))
    home = district[unlocated]
    start = np.repeat(bounds[home], neighbours)
    size = np.repeat(bounds[home + 1] - bounds[home], neighbours)
    picks = order[start + rng.integers(0, 1 << 62, start.size) % np.maximum(size, 1)]
    return np.column_stack([np.repeat(unlocated, neighbours), picks])
