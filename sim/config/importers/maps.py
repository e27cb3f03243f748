"""A map of an imported country: facilities at their coordinates, districts, the network.

Drawn with matplotlib alone (no tile server, no network access): each district's
facilities in one of 20 colours, the district outlined by the convex hull of its
facilities, ties as faint lines, hospitals larger than health centres and posts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from scipy.spatial import ConvexHull, QhullError

from sim.config.importers.common import ImportedCountry

__all__ = ["district_hulls", "draw_map"]

#: Most ties drawn (a random sample of them beyond that).
MAX_TIES = 60_000


def district_hulls(lon: np.ndarray, lat: np.ndarray, district: np.ndarray) -> list[np.ndarray]:
    """Convex hull (a ``(k, 2)`` lon-lat polygon) of each district with 3+ located points.

    Examples:
        >>> lon = np.array([0.0, 1.0, 0.0, 1.0, 5.0])
        >>> lat = np.array([0.0, 0.0, 1.0, 1.0, 5.0])
        >>> [h.shape for h in district_hulls(lon, lat, np.array([0, 0, 0, 0, 1]))]
        [(4, 2)]
    """
    known = np.isfinite(lon) & np.isfinite(lat)
    codes = np.asarray(district)[known]
    points = np.column_stack([lon[known], lat[known]])
    order = np.argsort(codes, kind="stable")
    _, starts = np.unique(codes[order], return_index=True)
    ends = np.append(starts[1:], codes.size)
    hulls = []
    for start, end in zip(starts, ends, strict=True):
        members = points[order[start:end]]
        if members.shape[0] < 3:
            continue
        try:
            hull = ConvexHull(members)
        except QhullError:  # all on one line
            continue
        hulls.append(members[hull.vertices])
    return hulls


def draw_map(countries: list[ImportedCountry], path: Path, title: str) -> Path | None:
    """Draw the imported countries to ``path`` (PNG); ``None`` when nothing has coordinates."""
    lon_all, lat_all, district_all, pairs_all, level_all = [], [], [], [], []
    offset = 0
    district_offset = 0
    for country in countries:
        frame = country.facilities
        _, codes = np.unique(frame["district"].to_numpy(dtype=str), return_inverse=True)
        lon_all.append(frame["lon"].to_numpy(np.float64))
        lat_all.append(frame["lat"].to_numpy(np.float64))
        district_all.append(codes + district_offset)
        level_all.append(frame["level"].to_numpy(dtype=str))
        pairs_all.append(country.ties.pairs + offset)
        offset += len(frame)
        district_offset += int(codes.max()) + 1 if codes.size else 0
    lon, lat = np.concatenate(lon_all), np.concatenate(lat_all)
    district = np.concatenate(district_all)
    level = np.concatenate(level_all)
    pairs = np.concatenate(pairs_all)
    known = np.isfinite(lon) & np.isfinite(lat)
    if not known.any():
        return None
    figure = Figure(figsize=(8, 8), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.set_aspect(1.0 / max(np.cos(np.radians(float(np.median(lat[known])))), 0.2))
    drawn = pairs[known[pairs[:, 0]] & known[pairs[:, 1]]]
    if drawn.shape[0] > MAX_TIES:
        keep = np.random.default_rng(0).choice(drawn.shape[0], MAX_TIES, replace=False)
        drawn = drawn[np.sort(keep)]
    segments = np.stack(
        [np.column_stack([lon[drawn[:, 0]], lat[drawn[:, 0]]]),
         np.column_stack([lon[drawn[:, 1]], lat[drawn[:, 1]]])], axis=1,
    )  # fmt: skip
    ax.add_collection(LineCollection(list(segments), colors="#bdbdbd", linewidths=0.3, zorder=1))
    if np.unique(district[known]).size <= 3000:
        hulls = district_hulls(lon, lat, district)
        ax.add_collection(
            PolyCollection(hulls, facecolors="none", edgecolors="#737373", linewidths=0.4, zorder=2)
        )
    palette = np.array([colormaps["tab20"](i) for i in range(20)])
    colours = palette[district[known] % 20]
    size = np.where(
        level[known] == "hospital", 16.0, np.where(level[known] == "health_centre", 5.0, 2.0)
    )
    scale = min(1.0, 3000.0 / max(int(known.sum()), 1)) ** 0.5
    ax.scatter(lon[known], lat[known], s=size * max(scale, 0.15), c=colours, linewidths=0, zorder=3)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    missing = int((~known).sum())
    note = f"; {missing:,} without coordinates not shown" if missing else ""
    ax.set_title(
        f"{title}: {int(known.sum()):,} facilities in {np.unique(district).size:,} districts"
        f"{note}\n(colour: district; outline: hull of its facilities; large dots: hospitals)",
        fontsize=9,
    )
    ax.tick_params(labelsize=7)
    figure.savefig(path, dpi=110, metadata={"Software": None})
    return path
