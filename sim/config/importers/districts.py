"""Districts derived from regions: each region split by seeded k-means on coordinates.

Lists such as Maina et al. 2019 give only the first administrative level (a region,
province or county), which is coarser than the health district the model's district
mechanisms stand for. :func:`derive_districts` splits each region into
``round(size / target)`` districts (at least one) by k-means clustering of the
facilities' projected coordinates (:func:`scipy.cluster.vq.kmeans2`, k-means++ start,
seeded per region, so a region's split does not depend on the others). Districts are
numbered north to south within their region. Facilities without coordinates join the
region's districts in turn; in a region without any coordinates, the districts are runs
of consecutive rows.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import kmeans2

__all__ = ["DerivedDistricts", "derive_districts", "project_km"]

EARTH_KM_PER_DEGREE = 111.195
"""Length of one degree of latitude (and of longitude at the equator), in km."""


def project_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Equirectangular projection to km around the median latitude; NaN rows stay NaN.

    Good to a few per cent over a country, which is all a nearest-neighbour network
    and a k-means split need.

    Examples:
        >>> xy = project_km(np.array([0.0, 1.0]), np.array([30.0, 30.0]))
        >>> round(float(xy[1, 1] - xy[0, 1]), 1)
        111.2
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    known = np.isfinite(lat) & np.isfinite(lon)
    centre = float(np.median(lat[known])) if known.any() else 0.0
    scale = np.cos(np.radians(centre))
    return np.column_stack([lon * scale, lat]) * EARTH_KM_PER_DEGREE


@dataclass(frozen=True)
class DerivedDistricts:
    """Derived district names and what the split did.

    Attributes:
        names: District name of each facility (object array of ``str``).
        regions: Number of regions split.
        districts: Number of districts made.
        sizes: Facilities per district: smallest, median, largest.
    """

    names: np.ndarray
    regions: int
    districts: int
    sizes: tuple[int, float, int]


def derive_districts(
    region: np.ndarray, xy: np.ndarray, target_size: int, seed: int
) -> DerivedDistricts:
    """Split every region into districts of about ``target_size`` facilities.

    Args:
        region: Region name of each facility.
        xy: Projected coordinates in km, shape ``(N, 2)``; NaN where unknown.
        target_size: Facilities wanted per district (at least 1).
        seed: Seed of the clustering; the same inputs and seed give the same districts.

    Examples:
        >>> rng = np.random.default_rng(1)
        >>> xy = np.concatenate([rng.normal(0, 1, (20, 2)), rng.normal(50, 1, (20, 2))])
        >>> found = derive_districts(np.array(["R"] * 40), xy, 20, seed=7)
        >>> sorted(set(found.names[:20])) == sorted(set(found.names[20:])), found.districts
        (False, 2)
    """
    region = np.asarray(region, dtype=str)
    names = np.empty(region.size, dtype=object)
    known = np.isfinite(xy).all(axis=1)
    regions, inverse = np.unique(region, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(regions.size + 1))
    count = 0
    for index, name in enumerate(regions.tolist()):
        members = order[bounds[index] : bounds[index + 1]]
        labels = _split(members, xy, known, target_size, seed, name)
        k = int(labels.max()) + 1
        width = len(str(k))
        if k == 1:
            names[members] = name
        else:
            labels_text = np.array([f"{name} {j + 1:0{width}d}" for j in range(k)], dtype=object)
            names[members] = labels_text[labels]
        count += k
    _, sizes = np.unique(names.astype(str), return_counts=True)
    return DerivedDistricts(
        names=names,
        regions=int(regions.size),
        districts=count,
        sizes=(int(sizes.min()), float(np.median(sizes)), int(sizes.max())),
    )


def _split(
    members: np.ndarray,
    xy: np.ndarray,
    known: np.ndarray,
    target_size: int,
    seed: int,
    region: str,
) -> np.ndarray:
    """District number (0..k-1, north to south) of each member of one region."""
    k = max(1, round(members.size / max(target_size, 1)))
    labels = np.zeros(members.size, dtype=np.int64)
    if k == 1:
        return labels
    located = known[members]
    points = xy[members[located]]
    distinct = np.unique(points, axis=0).shape[0] if points.size else 0
    if distinct < 2:
        # no geography to cluster: runs of consecutive rows
        return np.arange(members.size) * k // members.size
    k = min(k, distinct)
    rng = np.random.default_rng([seed, zlib.crc32(region.encode("utf-8"))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty cluster is dropped below
        centres, found = kmeans2(points, k, minit="++", iter=20, seed=rng)
    used = np.unique(found)
    # renumber the clusters in use from north to south (then west to east)
    rank = np.lexsort((centres[used, 0], -centres[used, 1]))
    number = np.empty(centres.shape[0], dtype=np.int64)
    number[used[rank]] = np.arange(used.size)
    labels[located] = number[found]
    labels[~located] = np.arange(int((~located).sum())) % used.size
    return labels
