"""Where the trainer's map draws each facility: districts on a grid, or real coordinates."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from sim.trainer.live import LiveRun

__all__ = ["GEO_WIDTH", "MAP_LIMIT", "MapLayout", "geographic_layout", "map_layout"]

#: Most facilities drawn per district (large scenarios show a sample of each district).
MAP_LIMIT = 4000


class MapLayout:
    """Positions of facilities, district hubs and the national body on a map.

    Districts sit on a grid; each district's facilities form a sunflower around its
    hub; the national body is above the grid. When every country of the world has
    coordinates (:attr:`sim.model.world.World.lat`), facilities sit where they are (an
    equirectangular projection scaled into the same frame), hubs at their districts'
    centres, and ``hulls`` outline the districts.

    Attributes:
        shown: Indices of the facilities drawn.
        xy: Position of each shown facility (rows match ``shown``).
        position: Position of every facility (NaN for those not shown).
        hub: Position of each district hub.
        national: Position of the national body.
        hulls: Outline (a polygon) of each district drawn; empty on the grid.
    """

    def __init__(
        self,
        shown: np.ndarray,
        xy: np.ndarray,
        position: np.ndarray,
        hub: np.ndarray,
        national: np.ndarray,
        columns: int,
        rows: int,
        hulls: Sequence[np.ndarray] = (),
    ) -> None:
        self.shown, self.xy, self.position = shown, xy, position
        self.hub, self.national = hub, national
        self.columns, self.rows = columns, rows
        self.hulls = list(hulls)


def map_layout(run: LiveRun) -> MapLayout:
    """Lay out the facilities of ``run`` by district.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="t", countries=[{"name": "A", "facilities": 40,
        ...              "districts": 4}])
        >>> layout = map_layout(LiveRun(s))
        >>> layout.xy.shape, layout.hub.shape, layout.columns
        ((40, 2), (4, 2), 3)
    """
    m = run.model
    w = m.world
    n_d = w.n_districts
    per_district = max(1, MAP_LIMIT // max(n_d, 1))
    columns = max(1, math.ceil(math.sqrt(n_d * 1.6)))
    rows = math.ceil(n_d / columns)
    d = np.arange(n_d)
    hub = np.column_stack([d % columns + 0.5, rows - d // columns - 0.5])
    order = w.district_order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - np.repeat(w.district_start, w.district_size)
    shown = np.flatnonzero(rank < per_district)
    if w.lat is not None and w.lon is not None:
        located = np.unique(w.facility_country[np.isfinite(w.lat) & np.isfinite(w.lon)])
        if located.size == w.n_countries:  # every country can be placed on the map
            return geographic_layout(run, shown, rank)
    district = w.facility_district[shown]
    size = np.minimum(w.district_size[district], per_district)
    r = np.sqrt((rank[shown] + 0.5) / size) * 0.38  # room above for the name
    angle = rank[shown] * math.pi * (3.0 - math.sqrt(5.0))
    xy = hub[district] + np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    position = np.full((w.n_facilities, 2), np.nan)
    position[shown] = xy
    national = np.array([columns / 2.0, rows + 0.6])
    return MapLayout(shown, xy, position, hub, national, columns, rows)


#: Width of the geographic map in layout units (a grid cell is one unit).
GEO_WIDTH = 10.0


def geographic_layout(run: LiveRun, shown: np.ndarray, rank: np.ndarray) -> MapLayout:
    """Facilities at their coordinates; those without sit in a ring around their hub."""
    from sim.config.importers.maps import district_hulls

    w = run.model.world
    if w.lat is None or w.lon is None:
        raise ValueError("a geographic layout needs facility coordinates")
    known = np.isfinite(w.lat) & np.isfinite(w.lon)
    scale = math.cos(math.radians(float(np.median(w.lat[known]))))
    raw = np.column_stack([w.lon * scale, w.lat])
    low, high = raw[known].min(axis=0), raw[known].max(axis=0)
    span = max(float((high - low).max()), 1e-6)
    unit = GEO_WIDTH / span
    xy_all = (raw - low) * unit + 0.4
    columns = max(1, math.ceil((high[0] - low[0]) * unit + 0.8))
    rows = max(1, math.ceil((high[1] - low[1]) * unit + 0.8))
    n_d = w.n_districts
    located = np.bincount(w.facility_district[known], minlength=n_d)
    hub = np.full((n_d, 2), np.nan)
    for axis in (0, 1):
        total = np.bincount(w.facility_district[known], xy_all[known, axis], minlength=n_d)
        hub[:, axis] = np.divide(total, located, out=np.full(n_d, np.nan), where=located > 0)
    hub[np.isnan(hub[:, 0])] = (columns / 2.0, rows / 2.0)  # a district without coordinates
    lost = ~known
    angle = rank[lost] * math.pi * (3.0 - math.sqrt(5.0))
    xy_all[lost] = hub[w.facility_district[lost]] + 0.15 * np.column_stack(
        [np.cos(angle), np.sin(angle)]
    )
    position = np.full((w.n_facilities, 2), np.nan)
    position[shown] = xy_all[shown]
    # outlines from the located facilities only
    hulls = district_hulls(np.where(known, xy_all[:, 0], np.nan), xy_all[:, 1], w.facility_district)
    national = np.array([columns / 2.0, rows + 0.6])
    return MapLayout(shown, xy_all[shown], position, hub, national, columns, rows, hulls)
