"""Districts as disjoint, projected zones, region by region (pure computation).

Each equal-area region (:mod:`mineland.regions`) holds the pieces of the districts
that fall in it, projected, repaired and made disjoint: the zones on which hectares
are measured.  A district that crosses a region border has one zone per region.
Points (devices, incidents, record anchors) are assigned to districts through them.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely

from .geometry import (
    OverlayLog,
    ZoneIndex,
    area_by_zone,
    explode_polygons,
    intersection,
    polygonal,
    repair,
    subtract,
    union_parts,
)
from .records import WGS84
from .regions import (
    Region,
    densify_geodesic,
    region_of_points,
    regions_touched,
    split_antimeridian,
)
from .threads import chunk_spans, map_chunks, threaded

__all__ = [
    "RegionZones",
    "add_to_districts",
    "areas_by_district",
    "assign_points",
    "prepare_geometries",
    "prepare_zones",
    "project",
    "repaired",
    "transformer",
]

log = logging.getLogger(__name__)

_GEOD = pyproj.Geod(ellps="WGS84")

M2_PER_HA = 10_000.0
_SAID: set[str] = set()


@dataclass
class RegionZones:
    """The district zones of one region."""

    region: Region
    #: district pieces in ``region.crs`` (metres), valid and pairwise disjoint
    zones: np.ndarray
    #: index of the district (row of the district table) of each zone
    district: np.ndarray
    #: overlapping district pairs: (earlier district, later district, shared polygon)
    overlaps: list[tuple[int, int, object]] = field(default_factory=list)

    @property
    def crs(self) -> pyproj.CRS:
        return self.region.crs

    def district_of(self, points: np.ndarray) -> np.ndarray:
        """District of each point in this region's projection, -1 outside every
        zone; on a border the first zone wins."""
        out = np.full(len(points), -1, dtype=np.int64)
        if len(points) == 0 or len(self.zones) == 0:
            return out
        ip, iz = points_in(points, self.zones)
        order = np.lexsort((iz, ip))
        ip, iz = ip[order], iz[order]
        first = np.unique(ip, return_index=True)[1]
        out[ip[first]] = self.district[iz[first]]
        return out


def points_in(points: np.ndarray, polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point, polygon) of points that intersect polygons (a border counts),
    ordered by polygon, then point.

    The candidates come by their boxes; each is then tested by its coordinates
    against the prepared copy of its polygon that :class:`ZoneIndex` holds, which
    GEOS indexes once (3-4× faster than testing point geometries, on 150,000 points
    in 40 districts)."""
    xy, present = shapely.get_coordinates(points, return_index=True)  # none if missing
    index = ZoneIndex.of(polygons)
    ipoint, ipoly = index.tree.query(points[present])
    x, y = xy[ipoint, 0], xy[ipoint, 1]
    ipoint = present[ipoint]
    hit = shapely.intersects_xy(index.zones[ipoly], x, y)
    ipoint, ipoly = ipoint[hit], ipoly[hit]
    order = np.lexsort((ipoint, ipoly))
    return ipoint[order], ipoly[order]


@functools.lru_cache(maxsize=32)
def transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    """The transformer from ``src`` to ``dst`` (x, y order), made once: making one
    looks the operation up in PROJ's database, about 16 ms.  pyproj's transformers
    may be shared between threads (each thread gets its own copy)."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def project(geoms: np.ndarray, crs: pyproj.CRS, *, inverse: bool = False) -> np.ndarray:
    """Lon/lat geometries into ``crs`` (or back with ``inverse``), in threads."""
    t = transformer(crs, WGS84) if inverse else transformer(WGS84, crs)
    return map_chunks(
        lambda chunk: shapely.transform(chunk, t.transform, interleaved=False),
        np.asarray(geoms, dtype=object),
    )


def unproject(geoms: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """Polygons projected in ``crs`` back in lon/lat, valid.  Valid in ``crs``, a polygon
    whose rings nearly touch can cross itself once its vertices are moved back (about
    one remaining SHA or CHA polygon in a thousand); those are repaired as projected
    inputs are (:func:`repaired`), so every written shape is valid."""
    return repaired(project(geoms, crs, inverse=True))[0]


def repaired(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygons made invalid by moving their vertices to another CRS, repaired
    (:func:`~mineland.geometry.repair`) to their polygonal part; and which they were."""
    fixed, invalid = repair(geoms)
    if invalid.any():
        fixed[invalid] = polygonal(fixed[invalid])
    return fixed, invalid


def geodesic_gap(a: np.ndarray, b: np.ndarray, crs: pyproj.CRS | None = None) -> np.ndarray:
    """Geodesic metres between each pair ``a[k]``, ``b[k]``: on the ellipsoid, between
    their nearest points (found in ``crs``, the projection the geometries are in, or
    in lon/lat when None); 0 where they meet."""
    lines = shapely.shortest_line(a, b)
    if crs is not None:
        lines = project(lines, crs, inverse=True)
    ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    metres = _GEOD.inv(ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1])[2]
    return np.where(shapely.intersects(a, b), 0.0, metres)


def prepare_geometries(
    geoms: np.ndarray, regions: list[Region], overlay_log: OverlayLog
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Lon/lat polygons cut into regions, densified, projected and repaired.

    Returns per region the projected pieces and the index of the geometry each came
    from.  Each geometry is prepared on its own, so the chunks of the geometries are
    prepared whole in the threads, every step of them (densifying, cutting and
    filtering hold Python's lock part of the time, projecting and repairing do not:
    chunk by chunk, the one runs beside the other).
    """
    geoms = np.asarray(geoms, dtype=object)
    spans = chunk_spans(len(geoms))
    done = threaded(lambda s: _prepared(geoms[s[0] : s[1]], regions, overlay_log), spans)
    return [
        (
            np.concatenate([chunk[k][0] for chunk in done]),
            np.concatenate([chunk[k][1] + lo for chunk, (lo, _) in zip(done, spans, strict=True)]),
        )
        for k in range(len(regions))
    ]


def _prepared(geoms: np.ndarray, regions: list[Region], overlay_log: OverlayLog):
    """:func:`prepare_geometries` of one chunk of geometries."""
    geoms = densify_geodesic(geoms)
    geoms, _ = split_antimeridian(geoms, overlay_log)
    owner, where, whole = regions_touched(geoms, regions)
    out = []
    for k, r in enumerate(regions):
        sel = where == k
        picked, cut = geoms[owner[sel]], ~whole[sel]
        polar = cut.copy()  # of those cut, the ones that reach a pole
        polar[cut] = (np.abs(shapely.bounds(picked[cut])[:, [1, 3]]) >= 90.0).any(axis=1)
        if polar.any():
            # a polygon closed along a pole would be, projected whole, a disc with a slit
            # along ±180° (its edges there traced twice): only what lies near the cell is
            # projected, and made valid before it is cut
            picked[polar] = intersection(picked[polar], r.near, overlay_log, "near a region")
        projected = project(picked, r.crs)
        if polar.any():
            projected[polar] = repaired(projected[polar])[0]
        if cut.any():
            # cut in the region's own projection, by the cell drawn in it, so that the
            # pieces of districts and records share the very same cut edges
            box = project(np.array([r.box], dtype=object), r.crs)[0]
            projected[cut] = intersection(projected[cut], box, overlay_log, "cut by region")
        fixed, invalid = repaired(projected)
        if invalid.any():
            log.debug("%d polygons became invalid when projected and were repaired", invalid.sum())
        keep = ~shapely.is_missing(fixed)
        keep[keep] = ~shapely.is_empty(fixed[keep])
        keep[keep] = shapely.area(fixed[keep]) > 0
        out.append((fixed[keep], owner[sel][keep]))
    return out


def prepare_zones(
    districts: np.ndarray, names: list[str], regions: list[Region], overlay_log: OverlayLog
) -> list[RegionZones]:
    """The disjoint district zones of every region (``districts``: lon/lat)."""
    out = []
    for region, (pieces, owner) in zip(
        regions, prepare_geometries(districts, regions, overlay_log), strict=True
    ):
        zones = np.array(
            [shapely.multipolygons(explode_polygons(np.array([z], dtype=object))) for z in pieces],
            dtype=object,
        )
        zones, overlaps = _make_disjoint(zones, owner, overlay_log)
        out.append(RegionZones(region, zones, owner, overlaps))
    _log_overlaps(out, names)
    return out


def _make_disjoint(
    geoms: np.ndarray, owner: np.ndarray, overlay_log: OverlayLog
) -> tuple[np.ndarray, list[tuple[int, int, object]]]:
    """Give overlapping districts' shared area to the first of them (input order)."""
    out = geoms.copy()
    if len(geoms) < 2:
        return out, []
    ia, ib = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    later = owner[ia] > owner[ib]  # district ia loses to the earlier ib
    ia, ib = ia[later], ib[later]
    if not len(ia):
        return out, []
    shared = intersection(geoms[ia], geoms[ib], overlay_log, "district overlap")
    real = shapely.area(shared) > 0
    ia, ib, shared = ia[real], ib[real], shared[real]
    for i in np.unique(ia):
        cutters = union_parts(geoms[ib[ia == i]], overlay_log, "district overlap")
        left = subtract(np.array([geoms[i]], dtype=object), cutters, overlay_log)
        out[i] = shapely.multipolygons(left) if len(left) else shapely.MultiPolygon()
    overlaps = [(int(owner[b]), int(owner[a]), g) for a, b, g in zip(ia, ib, shared, strict=True)]
    return out, overlaps


def _log_overlaps(regions: list[RegionZones], names: list[str]) -> None:
    pairs = [(a, b, g) for rz in regions for a, b, g in rz.overlaps]
    if not pairs:
        return
    total = sum(shapely.area(g) for _, _, g in pairs) / M2_PER_HA
    if total < 0.005:  # below the figures shown: floating-point noise of shared borders
        return
    shown = sorted({(names[a], names[b]) for a, b, _ in pairs})
    message = (
        f"districts overlap by {total:,.2f} ha in total; the shared area is counted once, in "
        f"the first district: {', '.join(f'{a} / {b}' for a, b in shown[:10])}"
    )
    if message not in _SAID:  # once per process, not once per as-of date
        _SAID.add(message)
        log.warning("%s", message)


def overlap_ha(regions: list[RegionZones]) -> float:
    """Hectares where districts overlap each other."""
    return sum(float(shapely.area(g)) for rz in regions for _, _, g in rz.overlaps) / M2_PER_HA


def add_to_districts(totals: np.ndarray, zones: RegionZones, per_zone, outside: float) -> None:
    """Add per-zone figures of one region to per-district ``totals`` (last slot:
    outside every district)."""
    np.add.at(totals, zones.district, per_zone)
    totals[-1] += outside


def areas_by_district(
    parts_per_region: list[np.ndarray], regions: list[RegionZones], n_districts: int, overlay_log
) -> np.ndarray:
    """Area (m²) of disjoint projected parts per district, plus one last slot outside."""
    out = np.zeros(n_districts + 1)
    for parts, rz in zip(parts_per_region, regions, strict=True):
        za = area_by_zone(parts, rz.zones, overlay_log)
        add_to_districts(out, rz, za.per_zone, za.outside)
    return out


def assign_points(points: np.ndarray, regions: list[RegionZones]) -> np.ndarray:
    """District index of each lon/lat point, -1 outside (first zone wins on a border)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0:
        return out
    where = region_of_points(points, [rz.region for rz in regions])
    for k, rz in enumerate(regions):
        sel = np.flatnonzero(where == k)
        if len(sel):
            out[sel] = rz.district_of(project(points[sel], rz.crs))
    return out
