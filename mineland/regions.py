"""Geodesic edges and equal-area regions: where on Earth each piece is measured.

Pure computation on lon/lat (EPSG:4326) geometries.

- Edges are geodesics, as in PostGIS geography and QGIS ellipsoidal area, so long
  edges get intermediate vertices on the geodesic (:func:`densify_geodesic`) before
  any projection.
- One equal-area projection serves one region only.  Data that fits in a disc of
  :data:`MAX_RADIUS_KM` is measured in one Lambert azimuthal equal-area projection
  fitted to the districts (the common, fast case).  Wider data is cut along a fixed
  lon/lat grid of cells of about 1,000 km, each measured in its own projection
  centred on the cell, so a record's hectares never depend on unrelated districts.
- Polygons that cross the antimeridian (a part spanning more than 180° of longitude)
  are split at ±180° (:func:`split_antimeridian`); on reading, they are judged valid or
  repaired whole (:func:`unwrap_antimeridian`), then cut (:func:`cut_at_antimeridian`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from .crs import equal_area_crs
from .geometry import OverlayLog, explode_polygons, intersection

__all__ = [
    "MAX_RADIUS_KM",
    "MAX_SEGMENT_M",
    "Region",
    "densify_geodesic",
    "plan_regions",
    "regions_touched",
    "region_of_points",
    "cut_at_antimeridian",
    "split_antimeridian",
    "unwrap_antimeridian",
]

#: Edges longer than this (metres) get vertices on the geodesic in between.
MAX_SEGMENT_M = 1_000.0
#: Data within this distance of its centre is measured in one projection.
MAX_RADIUS_KM = 1_500.0
#: Cut lines along the cell grid get a vertex every this many degrees, so both sides
#: of a cut follow the same curve in their own projections.
_CUT_STEP_DEG = 0.01
#: A polygon closed along a pole is first clipped, in lon/lat, to each cell that cuts
#: it, widened by this (:attr:`Region.near`).
_NEAR_DEG = 1.0
_GEOD = pyproj.Geod(ellps="WGS84")
# upper bound of the length (m) of one degree along any lon/lat straight line
_M_PER_DEG = 111_700.0


@dataclass(frozen=True)
class Region:
    """One equal-area region: its projection and, when the plane is cut, its cell."""

    crs: pyproj.CRS
    #: lon/lat cell (minx, miny, maxx, maxy); None when one region holds everything
    cell: tuple[float, float, float, float] | None = None

    @property
    def near(self) -> shapely.Polygon | None:
        """The cell widened by :data:`_NEAR_DEG`: the part of a geometry that is
        projected for the cell, where it is cut exactly.  Its edges have a vertex
        every 0.1°, so that, projected, they stay away from the cell; it reaches past
        ±180° and ±90°, so that no edge of it runs along a geometry's there."""
        if self.cell is None:
            return None
        minx, miny, maxx, maxy = self.cell
        near = shapely.box(minx - _NEAR_DEG, miny - _NEAR_DEG, maxx + _NEAR_DEG, maxy + _NEAR_DEG)
        return shapely.segmentize(near, 10 * _CUT_STEP_DEG)

    @property
    def box(self) -> shapely.Polygon | None:
        """The cell as a polygon whose edges have a vertex every 0.01°."""
        if self.cell is None:
            return None
        return shapely.segmentize(shapely.box(*self.cell), _CUT_STEP_DEG)


def densify_geodesic(geoms: np.ndarray, max_segment_m: float = MAX_SEGMENT_M) -> np.ndarray:
    """Insert vertices on the geodesic into every edge longer than ``max_segment_m``.

    Vectorised over all rings: only geometries with a long edge are rebuilt.  Points
    and missing geometries pass through unchanged.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    if poly.any():  # a geometry smaller than one segment cannot have a long edge
        b = shapely.bounds(geoms[poly])
        poly[np.flatnonzero(poly)] = (
            np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * (_M_PER_DEG) > max_segment_m
        )
    if not poly.any():
        return out
    idx = np.flatnonzero(poly)
    coords, owner = shapely.get_coordinates(geoms[idx], return_index=True)
    long = np.zeros(len(idx), dtype=bool)
    if len(coords) > 1:
        step = np.hypot(*np.diff(coords, axis=0).T) * _M_PER_DEG
        # steps between two geometries are not edges (a jump to a hole may count:
        # that only rebuilds the geometry, whose rings are then densified properly)
        same = owner[1:] == owner[:-1]
        long[owner[1:][same & (step > max_segment_m)]] = True
    if not long.any():
        return out
    sub = idx[long]
    kind, coords, offsets = shapely.to_ragged_array(_without_empty_parts(geoms[sub]))
    rings = offsets[0]
    new_coords, new_rings = _densify_rings(coords, np.asarray(rings), max_segment_m)
    rebuilt = shapely.from_ragged_array(kind, new_coords, (new_rings, *offsets[1:]))
    # beside a multipolygon, polygons come back as multipolygons of one part: made
    # polygons again, so that what a geometry becomes does not hang on its neighbours
    single = shapely.get_type_id(geoms[sub]) == shapely.GeometryType.POLYGON
    if kind == shapely.GeometryType.MULTIPOLYGON and single.any():
        rebuilt[single] = shapely.get_geometry(rebuilt[single], 0)
    out[sub] = rebuilt
    return out


def _without_empty_parts(geoms: np.ndarray) -> np.ndarray:
    """(Multi)polygons without their empty parts (``MULTIPOLYGON (((…)), EMPTY)``, as
    GeoJSON's ``[[], [ring]]`` reads): the same land, and a shape shapely's ragged
    arrays can be rebuilt from (an empty part crashes ``from_ragged_array``)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    empty = shapely.is_empty(parts)
    if not empty.any():
        return geoms
    out = geoms.copy()
    for k in np.unique(owner[empty]):
        out[k] = shapely.multipolygons(parts[(owner == k) & ~empty])
    return out


def _densify_rings(
    coords: np.ndarray, rings: np.ndarray, max_segment_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Densify the rings ``coords[rings[k]:rings[k+1]]``; return coords and offsets."""
    n = len(coords)
    last = np.zeros(n, dtype=bool)
    last[rings[1:] - 1] = True  # the closing vertex of each ring starts no edge
    start = np.flatnonzero(~last)
    x1, y1 = coords[start, 0], coords[start, 1]
    x2, y2 = coords[start + 1, 0], coords[start + 1, 1]
    # each edge is computed from its lexicographically smaller end, so an edge shared
    # by two neighbours (traced in opposite directions) gets the very same vertices
    flip = (x2 < x1) | ((x2 == x1) & (y2 < y1))
    ax, ay = np.where(flip, x2, x1), np.where(flip, y2, y1)
    bx, by = np.where(flip, x1, x2), np.where(flip, y1, y2)
    extra = np.zeros(n, dtype=np.int64)
    maybe = np.hypot(bx - ax, by - ay) * _M_PER_DEG > max_segment_m
    az, _, dist = _GEOD.inv(ax[maybe], ay[maybe], bx[maybe], by[maybe])
    extra[start[maybe]] = np.maximum(np.ceil(dist / max_segment_m).astype(np.int64) - 1, 0)
    pos = np.arange(n) + np.concatenate([[0], np.cumsum(extra)[:-1]])
    out = np.empty((n + int(extra.sum()), 2))
    out[pos] = coords
    which = np.flatnonzero(extra)
    if len(which):
        k = extra[which]
        edge = np.searchsorted(start[maybe], which)  # position among the ``maybe`` edges
        rep = np.repeat(np.arange(len(which)), k)
        step = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k) + 1
        frac = step / np.repeat(k + 1, k)
        flipped = flip[maybe][edge][rep]
        frac = np.where(flipped, 1.0 - frac, frac)
        lon0 = ax[maybe][edge][rep]
        lon, lat, _ = _GEOD.fwd(lon0, ay[maybe][edge][rep], az[edge][rep], dist[edge][rep] * frac)
        lon = lon0 + ((lon - lon0 + 180.0) % 360.0 - 180.0)  # no jump at ±180°
        slots = np.repeat(pos[which], k) + step
        out[slots, 0], out[slots, 1] = lon, lat
    new_rings = np.append(pos[rings[:-1]], len(out)) if len(rings) > 1 else rings
    return out, new_rings


def split_antimeridian(geoms: np.ndarray, overlay_log: OverlayLog) -> tuple[np.ndarray, np.ndarray]:
    """Split polygons whose parts span more than 180° of longitude at ±180°.

    Such a part is read as crossing the antimeridian (:func:`unwrap_antimeridian`),
    then cut at 180° (:func:`cut_at_antimeridian`).  Returns the geometries and a mask
    of those that were split.
    """
    shifted, crossing = unwrap_antimeridian(geoms)
    out = shifted.copy()
    out[crossing] = cut_at_antimeridian(shifted[crossing], overlay_log)
    return out, crossing


def unwrap_antimeridian(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygons with a part that crosses the antimeridian, that part made whole again:
    its western longitudes shifted by +360°.  A part crosses it where an edge's ends
    lie more than 180° of longitude apart (edges are geodesics: the short way round),
    apart from an edge along a pole.  In lon/lat, such a part crosses itself; whole
    again, its validity can be judged and it can be repaired.  A part whose outer ring
    crosses it once goes round a pole: it is closed along that pole instead
    (:func:`_closed_along_pole`).  Returns the geometries and a mask of those changed."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    crossing = np.zeros(len(geoms), dtype=bool)
    with np.errstate(invalid="ignore"):
        b = shapely.bounds(geoms)
        poly = np.isin(shapely.get_type_id(geoms), [3, 6]) & ((b[:, 2] - b[:, 0]) > 180.0)
    if not poly.any():
        return out, crossing
    idx = np.flatnonzero(poly)
    parts, owner = shapely.get_parts(geoms[idx], return_index=True)
    shell_jumps, across = _antimeridian_jumps(parts)
    for i in np.unique(owner[across]):
        mine = np.flatnonzero(owner == i)
        pieces = [_made_whole(parts[k], shell_jumps[k], across[k]) for k in mine]
        out[idx[i]] = pieces[0] if len(pieces) == 1 else shapely.multipolygons(pieces)
        crossing[idx[i]] = True
    return out, crossing


def _made_whole(part: shapely.Polygon, shell_jumps: int, across: bool) -> shapely.Polygon:
    """One polygon of :func:`unwrap_antimeridian`: closed along a pole where its outer
    ring crosses the antimeridian once, shifted where it crosses it otherwise."""
    if shell_jumps == 1:
        return _closed_along_pole(part)
    return shapely.transform(part, _shift_west) if across else part


def _antimeridian_jumps(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many edges of each polygon's outer ring cross the antimeridian (their ends
    more than 180° of longitude apart, not along a pole), and whether any of its
    rings has such an edge."""
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    shell = np.r_[True, ring_part[1:] != ring_part[:-1]]  # a part's first ring
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    edge = ring[1:] == ring[:-1]
    per_ring = np.bincount(ring[1:][edge & _jumps(xy)], minlength=len(rings))
    shell_jumps = np.bincount(ring_part[shell], weights=per_ring[shell], minlength=len(parts))
    across = np.bincount(ring_part, weights=per_ring, minlength=len(parts)) > 0
    return shell_jumps.astype(np.int64), across


def _jumps(xy: np.ndarray) -> np.ndarray:
    """Which steps between consecutive lon/lat vertices cross the antimeridian: their
    ends more than 180° of longitude apart, neither at a pole."""
    jump = np.abs(np.diff(xy[:, 0])) > 180.0
    return jump & (np.abs(xy[1:, 1]) < 90.0) & (np.abs(xy[:-1, 1]) < 90.0)


def _closed_along_pole(part: shapely.Polygon) -> shapely.Polygon:
    """A polygon whose outer ring goes round a pole, crossing the antimeridian once,
    closed along that pole (the one on the side of most of its vertices): down the
    meridian of ±180° to the pole and back up the other side, as Natural Earth draws
    Antarctica."""
    xy = np.asarray(part.exterior.coords)
    k = int(np.flatnonzero(_jumps(xy))[0])
    (x1, y1), (x2, y2) = xy[k], xy[k + 1]
    side = 180.0 if x1 > x2 else -180.0  # the side of 180° the jump leaves from
    y = y1 + (y2 - y1) * (side - x1) / ((x2 + 2 * side) - x1)  # where it crosses 180°
    pole = -90.0 if xy[:-1, 1].mean() < 0 else 90.0
    path = [(side, y), (side, pole), (-side, pole), (-side, y)]
    ring = np.concatenate([xy[: k + 1], path, xy[k + 1 :]])
    return shapely.Polygon(ring, [h.coords for h in part.interiors])


def cut_at_antimeridian(geoms: np.ndarray, overlay_log: OverlayLog) -> np.ndarray:
    """Unwrapped polygons (:func:`unwrap_antimeridian`; valid) cut at 180°, the piece
    east of it shifted back by −360°: multipolygons within ±180°.  Their edges get
    vertices on the geodesic first (:func:`densify_geodesic`), so that the cut falls
    where the geodesic crosses 180°, not where a straight line would."""
    geoms = densify_geodesic(np.asarray(geoms, dtype=object))
    if not len(geoms):
        return geoms.copy()
    west = intersection(geoms, shapely.box(-180, -90, 180, 90), overlay_log, "split at 180°")
    east = intersection(geoms, shapely.box(180, -90, 540, 90), overlay_log, "split at 180°")
    east = shapely.transform(east, lambda c: c - [360.0, 0.0])
    out = np.empty(len(geoms), dtype=object)
    for k, (w, e) in enumerate(zip(west, east, strict=True)):
        out[k] = shapely.multipolygons(explode_polygons(np.array([w, e], dtype=object)))
    return out


def _shift_west(coords: np.ndarray) -> np.ndarray:
    coords = coords.copy()
    coords[coords[:, 0] < 0, 0] += 360.0
    return coords


def _disc_radius_km(bounds: np.ndarray) -> float:
    """Largest geodesic distance from the centre of lon/lat ``bounds`` to its edge."""
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    xs = np.array([minx, maxx, minx, maxx, cx, cx, minx, maxx])
    ys = np.array([miny, miny, maxy, maxy, miny, maxy, cy, cy])
    _, _, d = _GEOD.inv(np.full(8, cx), np.full(8, cy), xs, ys)
    return float(np.max(d)) / 1000.0


def _cell_width(lat_band_south: float) -> float:
    """Longitude width (degrees) of grid cells in the 10° band starting at this lat."""
    top = max(abs(lat_band_south), abs(lat_band_south + 10.0))
    if top <= 60:
        return 10.0
    if top <= 70:
        return 20.0
    if top <= 80:
        return 40.0
    return 120.0


def _cells_of(bounds: np.ndarray) -> set[tuple[float, float, float, float]]:
    """The grid cells that the lon/lat boxes ``bounds`` (n × 4) touch."""
    cells: set[tuple[float, float, float, float]] = set()
    south = np.floor(bounds[:, 1] / 10.0) * 10.0
    north = np.floor(np.minimum(bounds[:, 3], 89.999999) / 10.0) * 10.0
    for lat0 in np.unique(
        np.concatenate([np.arange(s, n + 1, 10.0) for s, n in zip(south, north, strict=True)])
    ):
        width = _cell_width(lat0)
        band = (bounds[:, 1] <= lat0 + 10.0) & (bounds[:, 3] >= lat0)
        lo = np.floor(bounds[band, 0] / width) * width
        hi = np.floor(np.minimum(bounds[band, 2], 179.999999) / width) * width
        for lon0 in np.unique(
            np.concatenate([np.arange(a, b + 1, width) for a, b in zip(lo, hi, strict=True)])
        ):
            # cut at ±180°: a cell across it would hold, in its projection, what the
            # cell on the other side holds too
            west, east = max(float(lon0), -180.0), min(float(lon0 + width), 180.0)
            cells.add((west, float(lat0), east, float(lat0 + 10.0)))
    return cells


def plan_regions(
    district_bounds: np.ndarray, other_bounds: np.ndarray | None = None
) -> list[Region]:
    """The equal-area regions for districts (and records) with these lon/lat boxes.

    One region, fitted to the districts, when everything lies within
    :data:`MAX_RADIUS_KM` of its centre; otherwise one region per grid cell touched.
    """
    boxes = np.asarray(district_bounds, dtype=float).reshape(-1, 4)
    if other_bounds is not None and len(other_bounds):
        boxes = np.concatenate([boxes, np.asarray(other_bounds, dtype=float).reshape(-1, 4)])
    boxes = boxes[np.isfinite(boxes).all(axis=1)]
    if len(boxes) == 0:
        return [Region(equal_area_crs((0, 0, 0, 0)))]
    total = np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])
    if total[2] - total[0] < 180.0 and _disc_radius_km(total) <= MAX_RADIUS_KM:
        fit = np.asarray(district_bounds, dtype=float).reshape(-1, 4)
        fit = fit[np.isfinite(fit).all(axis=1)]
        fitted = (
            [fit[:, 0].min(), fit[:, 1].min(), fit[:, 2].max(), fit[:, 3].max()]
            if len(fit)
            else total
        )
        return [Region(equal_area_crs(fitted))]
    return [Region(equal_area_crs(cell), cell) for cell in sorted(_cells_of(boxes))]


def region_of_points(points: np.ndarray, regions: list[Region]) -> np.ndarray:
    """Index of the region holding each lon/lat point (-1 where none does)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(regions) == 1 and regions[0].cell is None:
        out[:] = 0
        return out
    if len(points) == 0:
        return out
    x, y = shapely.get_x(points), shapely.get_y(points)
    for k, r in enumerate(regions):
        minx, miny, maxx, maxy = r.cell
        inside = (out < 0) & (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        out[inside] = k
    return out


def regions_touched(
    geoms: np.ndarray, regions: list[Region]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which regions each lon/lat geometry touches.

    Returns the geometry index, the region index and whether the geometry lies
    wholly inside that region's cell, one row per (geometry, region) pair.  With one
    region (no cells) every geometry lies wholly in region 0.
    """
    n = len(geoms)
    if len(regions) == 1 and regions[0].cell is None:
        return np.arange(n), np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
    cells = np.array([shapely.box(*r.cell) for r in regions], dtype=object)
    ig, ir = shapely.STRtree(cells).query(geoms, predicate="intersects")
    b = shapely.bounds(geoms[ig])
    c = np.array([r.cell for r in regions])[ir]
    whole = (
        (b[:, 0] >= c[:, 0]) & (b[:, 1] >= c[:, 1]) & (b[:, 2] <= c[:, 2]) & (b[:, 3] <= c[:, 3])
    )
    return ig, ir, whole
