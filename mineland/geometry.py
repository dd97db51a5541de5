"""Pure geometry: repair, equal-area projection, robust overlay and zonal areas.

Nothing here opens a file.  Arrays are numpy arrays of shapely geometries in a
projected, equal-area CRS (metres) unless a function says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.errors import GEOSException

from .graphs import components
from .overlay_log import OverlayLog
from .threads import THREADS, chunk_spans, map_chunks, threaded

__all__ = [
    "GRID_SIZES",
    "OverlayLog",
    "ZoneIndex",
    "area_by_zone",
    "area_without_slivers",
    "box_pairs",
    "clip_by_zone",
    "connected",
    "difference",
    "enclosed",
    "explode_polygons",
    "explode_polygons_of",
    "hull_buffer",
    "intersecting_pairs",
    "intersection",
    "invalid_geometries",
    "made_valid",
    "meets",
    "narrow",
    "polygonal",
    "repair",
    "subtract",
    "subtract_each",
    "subtract_of",
    "union_all",
    "union_parts",
    "zone_shares",
]

#: Snap grids (projected units, metres) tried in turn when GEOS raises a
#: TopologyException: 1 cm first, then coarser.
GRID_SIZES = (0.01, 0.1, 1.0)

#: ``shapely.is_valid`` without its wrapper, which changes the process's warning filters
#: (threads doing that at once leave them changed: every later warning ignored)
_IS_VALID = getattr(shapely.lib, "is_valid", shapely.is_valid)
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each geometry (None/empty where there is none)."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    types = shapely.get_type_id(geoms)
    mixed = ~np.isin(types, [t.value for t in _POLYGONAL]) & (types >= 0)
    if mixed.any():
        idx = np.flatnonzero(mixed)
        parts, owner = shapely.get_parts(geoms[idx], return_index=True)
        keep = np.isin(shapely.get_type_id(parts), [t.value for t in _POLYGONAL])
        out[idx] = None
        if keep.any():
            # parts of a polygonal part may themselves be multipolygons: flatten once more
            sub, sub_owner = shapely.get_parts(parts[keep], return_index=True)
            owners = owner[keep][sub_owner]
            uniq, compact = np.unique(owners, return_inverse=True)
            out[idx[uniq]] = shapely.multipolygons(sub, indices=compact)
    return out


def repair(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make geometries valid with ``make_valid`` (never ``buffer(0)``).

    Uses GEOS's default *linework* method, as PostGIS ``ST_MakeValid`` and QGIS "Fix
    geometries" do, so that repaired hectares agree with theirs: the rings are noded
    and every face they enclose an odd number of times is kept (both lobes of a
    bow-tie; for a ring traced twice, only the band between the two tracings, which
    validation reports with the drawn and the repaired area).  Returns the repaired
    array and a boolean mask of the geometries that were invalid."""
    out = np.asarray(geoms, dtype=object).copy()
    invalid = invalid_geometries(out)
    out[invalid] = made_valid(out[invalid])
    return out, invalid


def invalid_geometries(geoms: np.ndarray) -> np.ndarray:
    """Which geometries GEOS finds invalid (a missing one is not), in threads, each
    under its own numpy error state: a hole at 1e308 overflows in GEOS's test, and
    numpy's warning of it would reach the user raw."""
    return ~map_chunks(_is_valid, geoms).astype(bool) & ~shapely.is_missing(geoms)


def _is_valid(geoms: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return _IS_VALID(geoms)


def made_valid(geoms: np.ndarray) -> np.ndarray:
    """``make_valid`` as :func:`repair` makes it, without numpy's overflow warnings;
    where GEOS refuses a geometry (a collapsed shell with a hole: "Overlay input is
    mixed-dimension"), the structure method, else None (nothing usable is left)."""
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            return shapely.make_valid(geoms, method="linework")
        except GEOSException:
            return np.array([_made_valid_one(g) for g in geoms], dtype=object)


def _made_valid_one(geom):
    for method in ("linework", "structure"):
        try:
            return shapely.make_valid(geom, method=method, keep_collapsed=method == "linework")
        except GEOSException:
            continue
    return None


def enclosed(geoms: np.ndarray) -> np.ndarray:
    """What the rings of invalid polygons enclose, for reporting a repair: ``make_valid``'s
    *structure* method unions the shells and subtracts the holes (for a ring traced
    twice it keeps the whole enclosed area, where the linework repair of
    :func:`repair` keeps only the band between the tracings)."""
    geoms = np.asarray(geoms, dtype=object)
    return polygonal(shapely.make_valid(geoms, method="structure", keep_collapsed=False))


def explode_polygons(geoms: np.ndarray) -> np.ndarray:
    """Flatten to single, non-empty polygons."""
    return explode_polygons_of(geoms)[0]


def explode_polygons_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten to single, non-empty polygons, with the index of the geometry each
    came from."""
    geoms = np.asarray(geoms, dtype=object)
    polygon = shapely.GeometryType.POLYGON.value
    # a polygon is its own part: only the others are taken apart (copying every part
    # costs more than the rest of this)
    whole = (shapely.get_type_id(geoms) == polygon) & ~shapely.is_empty(geoms)
    rest = np.flatnonzero(~whole)
    if not len(rest):
        return geoms.copy(), np.arange(len(geoms))
    parts, owner = shapely.get_parts(polygonal(geoms[rest]), return_index=True)
    keep = (shapely.get_type_id(parts) == polygon) & ~shapely.is_empty(parts)
    parts = np.concatenate([geoms[whole], parts[keep]])
    owner = np.concatenate([np.flatnonzero(whole), rest[owner[keep]]])
    order = np.argsort(owner, kind="stable")  # the parts in the order of their geometry
    return parts[order], owner[order]


def _retry(
    fn: Callable, args: tuple, overlay_log: OverlayLog, operation: str, detail: str, error: str
):
    """Call ``fn(*args, grid_size=g)`` on ever coarser grids; return None if all fail."""
    for grid in GRID_SIZES:
        try:
            result = fn(*args, grid_size=grid)
        except GEOSException as exc:  # pragma: no cover - extremely rare
            error = str(exc)
            continue
        overlay_log.add(operation, detail, grid, error)
        return result
    overlay_log.add(operation, detail, None, error)
    return None


def _pairwise(
    fn: Callable,
    a: np.ndarray,
    b: np.ndarray,
    overlay_log: OverlayLog,
    operation: str,
    fallback: Callable[[object, object], object],
) -> np.ndarray:
    """Vectorised ``fn(a, b)`` in threads, retrying any element GEOS rejects."""

    def run(lo: int, hi: int) -> np.ndarray:
        try:
            return fn(a[lo:hi], b[lo:hi])
        except GEOSException:
            out = np.empty(hi - lo, dtype=object)
            for k in range(lo, hi):
                try:
                    out[k - lo] = fn(a[k], b[k])
                except GEOSException as exc:
                    fixed = shapely.make_valid(np.array([a[k], b[k]], dtype=object))
                    try:
                        out[k - lo] = fn(fixed[0], fixed[1])
                        overlay_log.add(operation, f"pair {k}", 0.0, str(exc))
                        continue
                    except GEOSException:
                        pass
                    res = _retry(fn, (a[k], b[k]), overlay_log, operation, f"pair {k}", str(exc))
                    out[k - lo] = res if res is not None else fallback(a[k], b[k])
            return out

    n = len(a)
    if n == 0:
        return np.empty(0, dtype=object)
    return np.concatenate(threaded(lambda s: run(*s), chunk_spans(n)))


def _pair_arrays(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.atleast_1d(np.asarray(a, dtype=object))
    b = np.atleast_1d(np.asarray(b, dtype=object))
    a, b = np.broadcast_arrays(a, b)
    return a.copy(), b.copy()


def intersection(
    a: np.ndarray, b: np.ndarray, overlay_log: OverlayLog, what: str = "intersection"
) -> np.ndarray:
    """Element-wise ``a ∩ b`` with the retry path; an empty polygon where all fails."""
    a, b = _pair_arrays(a, b)
    return _pairwise(
        shapely.intersection, a, b, overlay_log, what, fallback=lambda x, y: shapely.Polygon()
    )


def difference(
    a: np.ndarray, b: np.ndarray, overlay_log: OverlayLog, what: str = "difference"
) -> np.ndarray:
    """Element-wise ``a − b`` with the retry path; ``a`` unchanged where all fails."""
    a, b = _pair_arrays(a, b)
    return _pairwise(shapely.difference, a, b, overlay_log, what, fallback=lambda x, y: x)


def union_all(geoms: np.ndarray, overlay_log: OverlayLog, what: str = "union"):
    """The union of polygons as one (Multi)Polygon, robust like :func:`union_parts`."""
    parts = union_parts(geoms, overlay_log, what)
    return shapely.multipolygons(parts) if len(parts) else shapely.MultiPolygon()


def union_groups(geoms: np.ndarray, groups: list[np.ndarray], overlay_log: OverlayLog):
    """The union of each group of ``geoms`` (index arrays), in threads: an array of
    valid (Multi)Polygons, one per group.

    The groups go to the threads in a few strided batches, not one by one: most
    groups are a few small polygons, whose union costs about what handing a task to
    a thread does (and the stride spreads the large groups)."""

    def union(idx: np.ndarray):
        try:
            return shapely.union_all(geoms[idx])
        except GEOSException:
            return union_all(geoms[idx], overlay_log, "union of a group")

    out = np.empty(len(groups), dtype=object)
    n = min(len(groups), 4 * THREADS)
    for k, batch in enumerate(threaded(lambda k: [union(i) for i in groups[k::n]], range(n))):
        out[k::n] = batch
    return polygonal(out)  # a piece cut at a corner can bring a point: not a polygon


def intersecting_pairs(
    geoms: np.ndarray,
    keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    *,
    others: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``a`` (of ``geoms``), ``b`` (of ``others``) that intersect (touching
    included), of the candidate pairs that ``keep(a, b)`` selects.  Without
    ``others``, the pairs among ``geoms``, each once (``a < b`` by default).

    The candidates come by their boxes and only those kept are tested: a tree query
    with a predicate would prepare every geometry, which for many small polygons
    costs more than the test itself."""
    a, b = box_pairs(geoms, keep, others=others)
    hit = meets(geoms[a], (geoms if others is None else others)[b])
    return a[hit], b[hit]


def box_pairs(
    geoms: np.ndarray,
    keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    *,
    others: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates of :func:`intersecting_pairs`: the pairs whose boxes meet, of
    those ``keep(a, b)`` selects (without ``others``, each pair once by default)."""
    alone = others is None
    a, b = shapely.STRtree(geoms if alone else others).query(geoms)
    if keep is not None or alone:
        sel = keep(a, b) if keep is not None else a < b
        a, b = a[sel], b[sel]
    return a, b


def meets(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise ``a`` intersects ``b``, unprepared, in threads (True where GEOS
    cannot tell: the overlay that follows decides)."""
    return _pairwise(shapely.intersects, a, b, OverlayLog(), "", lambda x, y: True).astype(bool)


def connected(geoms: np.ndarray) -> np.ndarray:
    """A label per geometry: geometries that intersect (touching included), directly
    or through others, share one."""
    return components(len(geoms), *intersecting_pairs(geoms))


def union_parts(geoms: np.ndarray, overlay_log: OverlayLog, what: str = "union") -> np.ndarray:
    """Union polygons and return the disjoint polygon parts of the result.

    Uses ``shapely.disjoint_subset_union_all``, which unions each cluster of mutually
    intersecting polygons on its own instead of building one giant geometry, on the
    polygons that meet another; the rest are passed through as they are (so
    ``geoms`` must be valid: every caller unions repaired polygons).
    """
    polys = explode_polygons(geoms)
    if len(polys) == 0:
        return polys
    # a polygon that meets no other is its own union: only the others are merged
    lone = np.ones(len(polys), dtype=bool)
    for side in intersecting_pairs(polys):
        lone[side] = False
    if lone.all():
        return polys
    alone, polys = polys[lone], polys[~lone]
    try:
        merged = shapely.disjoint_subset_union_all(polys)
    except GEOSException as exc:
        polys = polygonal(shapely.make_valid(polys))
        polys = polys[~shapely.is_missing(polys)]
        try:
            merged = shapely.disjoint_subset_union_all(polys)
            overlay_log.add(what, f"{len(polys)} polygons", 0.0, str(exc))
        except GEOSException:
            merged = _retry(
                shapely.union_all, (polys,), overlay_log, what, f"{len(polys)} polygons", str(exc)
            )
            if merged is None:  # pragma: no cover - last resort, logged as an error
                merged = shapely.union_all(shapely.set_precision(polys, 1.0))
    return np.concatenate([alone, explode_polygons(np.array([merged], dtype=object))])


def subtract(
    parts: np.ndarray, cutters: np.ndarray, overlay_log: OverlayLog, *, shared_edges: bool = False
) -> np.ndarray:
    """``parts`` minus the union of ``cutters``, for disjoint ``cutters`` (union parts):
    the non-empty polygon parts left (see :func:`subtract_each`; cutters that may share
    edges, as district zones do, need ``shared_edges=True``)."""
    return subtract_of(parts, cutters, overlay_log, shared_edges=shared_edges)[0]


def subtract_of(
    parts, cutters, overlay_log: OverlayLog, *, shared_edges: bool = False, split: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`subtract`, with the index of the part each polygon left comes from.
    ``split=False`` leaves what is left of each part whole, one (Multi)Polygon, to
    measure: taking apart the slivers of nearly shared edges costs more."""
    each = subtract_each(parts, cutters, overlay_log, shared_edges=shared_edges)
    if split:
        return explode_polygons_of(each)
    left = np.flatnonzero(~shapely.is_empty(each))
    whole = polygonal(each[left])
    kept = ~shapely.is_missing(whole)  # nothing polygonal left (lines of a retry)
    return whole[kept], left[kept]


def subtract_each(
    parts: np.ndarray, cutters: np.ndarray, overlay_log: OverlayLog, *, shared_edges: bool = False
) -> np.ndarray:
    """What is left of each of ``parts`` (aligned with them; possibly empty) once the
    disjoint ``cutters`` are taken away: each part less the cutters it meets, as one
    multipolygon, all in one vectorised call.  With ``shared_edges`` a part's cutters
    are merged first: an enclave and the zone round it, as one (invalid) multipolygon,
    can leave a part over the enclave's border whole."""
    if len(parts) == 0 or len(cutters) == 0:
        return parts
    cutters = explode_polygons(cutters)
    ia, ib = intersecting_pairs(parts, others=cutters)
    if len(ia) == 0:
        return parts
    order = np.argsort(ia, kind="stable")
    ia, ib = ia[order], ib[order]
    hit, first = np.unique(ia, return_index=True)
    counts = np.diff(np.append(first, len(ia)))
    single = counts == 1
    knives = np.empty(len(hit), dtype=object)
    knives[single] = cutters[ib[first[single]]]
    if (~single).any():
        multi_rows = np.repeat(~single, counts)
        group = np.repeat(np.arange(len(hit)), counts)[multi_rows]
        _, group_idx = np.unique(group, return_inverse=True)
        which = ib[multi_rows]
        knives[~single] = (
            _merged(cutters, which, group_idx, overlay_log)
            if shared_edges
            else shapely.multipolygons(cutters[which], indices=group_idx)
        )
    # a part that is its cutter's very polygon (a release drawn as its hazard's) is
    # gone without an overlay: identical edges are GEOS's slowest difference
    same = _copies(parts[hit], knives)
    out = parts.copy()
    out[hit[same]] = shapely.Polygon()
    rest = hit[~same]
    out[rest] = _pairwise(
        shapely.difference, parts[rest], knives[~same], overlay_log, "difference", lambda a, b: a
    )
    return out


def _merged(cutters, which, group, overlay_log) -> np.ndarray:
    """The ``cutters`` ``which`` of each ``group`` as one valid shape, their union
    (worked out once for each set of cutters)."""
    starts = np.flatnonzero(np.diff(group, prepend=-1))
    out = np.empty(len(starts), dtype=object)
    done: dict[tuple, object] = {}
    for k, rows in enumerate(np.split(which, starts[1:])):
        key = tuple(np.sort(rows))
        if key not in done:
            merged = union_parts(cutters[rows], overlay_log, "merged cutters")
            done[key] = shapely.multipolygons(merged)
        out[k] = done[key]
    return out


def _copies(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where ``a`` is ``b``'s very polygon, from whatever vertex each starts.  Only the
    pairs with as many vertices and the same box are compared (hardly any are)."""
    same = shapely.get_num_coordinates(a) == shapely.get_num_coordinates(b)
    same &= (shapely.bounds(a) == shapely.bounds(b)).all(axis=1)
    same[same] = shapely.equals_exact(a[same], b[same], normalize=True)
    return same


@dataclass
class ZoneAreas:
    """Area of a set of polygons per zone, plus what lies outside every zone (m²);
    ``within``: the zone each polygon lies inside, uncut (-1 where it was cut)."""

    per_zone: np.ndarray
    outside: float
    within: np.ndarray


def private_copy(geoms: np.ndarray) -> np.ndarray:
    """Copies of geometries, for a thread to prepare its own: GEOS prepared geometries
    are not thread-safe (their indexes are built lazily)."""
    return shapely.from_wkb(shapely.to_wkb(geoms))


@dataclass
class ZoneIndex:
    """Zones prepared for :func:`clip_by_zone` once, to clip many times in one thread
    (GEOS prepared geometries are not thread-safe: each thread needs its own)."""

    zones: np.ndarray
    tree: shapely.STRtree
    bounds: np.ndarray

    @classmethod
    def of(cls, zones: np.ndarray) -> ZoneIndex:
        zones = private_copy(zones)
        shapely.prepare(zones)
        return cls(zones, shapely.STRtree(zones), shapely.bounds(zones))

    def pairs(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs (part, zone) that meet, and whether the part lies inside the zone:
        by their boxes, then on the prepared zones (a query with a predicate would
        prepare every part, the slow side).  A part lies inside a zone only if its box
        does, and then meets no other zone (they are disjoint): the others are tested."""
        ip, iz = self.tree.query(parts)
        box, zbox = shapely.bounds(parts)[ip], self.bounds[iz]
        boxed = np.flatnonzero(
            (box[:, :2] >= zbox[:, :2]).all(axis=1) & (box[:, 2:] <= zbox[:, 2:]).all(axis=1)
        )
        inside = np.zeros(len(ip), dtype=bool)
        inside[boxed] = shapely.contains_properly(self.zones[iz[boxed]], parts[ip[boxed]])
        placed = np.zeros(len(parts), dtype=bool)
        placed[ip[inside]] = True
        keep, rest = inside.copy(), np.flatnonzero(~placed[ip])
        keep[rest] = shapely.intersects(self.zones[iz[rest]], parts[ip[rest]])
        return ip[keep], iz[keep], inside[keep]


def clip_by_zone(
    parts: np.ndarray, zones: np.ndarray, overlay_log: OverlayLog, index: ZoneIndex | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut disjoint ``parts`` by disjoint ``zones``: the pieces, the index of the part
    and of the zone of each piece.  Parts wholly inside one zone are kept as they are
    (prepared ``contains_properly``); only those that cross a zone boundary are
    intersected.  Safe to call from several threads at once with the same ``zones``."""
    return _clip(parts, zones, overlay_log, index)[:3]


def _clip(parts, zones, overlay_log, index) -> tuple[np.ndarray, ...]:
    """:func:`clip_by_zone`, and whether each piece is its part, uncut."""
    if len(parts) == 0 or len(zones) == 0:
        empty = np.empty(0, dtype=np.int64)
        return np.empty(0, dtype=object), empty, empty, np.empty(0, dtype=bool)
    index = index or ZoneIndex.of(zones)
    ip, iz, inside = index.pairs(parts)
    pieces = parts[ip].copy()
    cross = np.flatnonzero(~inside)
    if len(cross):
        pieces[cross] = _pairwise(
            shapely.intersection,
            parts[ip[cross]],
            index.zones[iz[cross]],
            overlay_log,
            "intersection",
            fallback=lambda a, b: shapely.Polygon(),
        )
    return pieces, ip, iz, inside


def area_by_zone(
    parts: np.ndarray, zones: np.ndarray, overlay_log: OverlayLog, index: ZoneIndex | None = None
) -> ZoneAreas:
    """Split the area of disjoint ``parts`` among disjoint ``zones`` (see clip_by_zone;
    ``index``: the same zones, prepared)."""
    per_zone = np.zeros(len(zones), dtype=float)
    if len(parts) == 0:
        return ZoneAreas(per_zone, 0.0, np.empty(0, dtype=np.int64))
    shares = zone_shares(parts, zones, overlay_log, index)
    np.add.at(per_zone, shares.zone, shares.m2)
    return ZoneAreas(per_zone, float(shares.outside.sum()), shares.within)


@dataclass
class ZoneShares:
    """Each part's area per zone: ``m2`` of part ``part`` in zone ``zone`` (one row
    per piece), the area of each part outside every zone, and the zone each part
    lies inside, uncut (-1 where it was cut)."""

    part: np.ndarray
    zone: np.ndarray
    m2: np.ndarray
    outside: np.ndarray
    within: np.ndarray


def zone_shares(
    parts: np.ndarray, zones: np.ndarray, overlay_log: OverlayLog, index: ZoneIndex | None = None
) -> ZoneShares:
    """The area (m²) of each of the disjoint ``parts`` in each of the disjoint
    ``zones`` (``index``: the same zones, prepared), and outside them all."""
    part_area = shapely.area(parts)
    pieces, ip, iz, inside = _clip(parts, zones, overlay_log, index)
    pair_area = part_area[ip]  # a part inside its zone is its own piece
    pair_area[~inside] = shapely.area(pieces[~inside])
    assigned = np.zeros(len(parts), dtype=float)
    np.add.at(assigned, ip, pair_area)
    outside = part_area - assigned
    outside[outside <= part_area * 1e-12] = 0.0  # within the rounding of the areas
    # a small remainder left (floating-point noise of the overlay where regions' cuts
    # meet, or slivers) is looked at: only slivers narrower than 0.2 mm are dropped
    small = outside > 0
    bound = np.maximum(part_area[small] * 1e-9, shapely.length(parts[small]) * 1e-4)
    small[small] = outside[small] <= bound
    if small.any():
        idx = np.flatnonzero(small)
        rest = subtract_each(parts[idx], zones, overlay_log, shared_edges=True)
        rest, owner = shapely.get_parts(rest, return_index=True)
        area = np.where(narrow(rest), 0.0, shapely.area(rest))
        outside[idx] = np.bincount(owner, weights=area, minlength=len(idx))
    within = np.full(len(parts), -1, dtype=np.int64)
    within[ip[inside]] = iz[inside]
    return ZoneShares(ip, iz, pair_area, outside, within)


def narrow(polygons: np.ndarray) -> np.ndarray:
    """Which polygons are narrower than 0.2 mm on average (area at most 0.1 mm ×
    perimeter): the floating-point noise of overlays, not land.  The perimeter is
    taken without spikes narrower than 0.02 mm, which overlays leave on slivers of
    land (a spike of no width would make any polygon read as narrow)."""
    polygons = np.asarray(polygons, dtype=object)
    area = shapely.area(polygons)
    thin = area <= shapely.length(polygons) * 1e-4
    if thin.any():
        idx = np.flatnonzero(thin)
        opened = shapely.buffer(shapely.buffer(polygons[idx], -1e-5), 1e-5)
        thin[idx] = area[idx] <= shapely.length(opened) * 1e-4
    return thin


def area_without_slivers(polygons: np.ndarray) -> float:
    """The area of polygons, leaving out the parts that are :func:`narrow`."""
    parts = shapely.get_parts(np.asarray(polygons, dtype=object))
    return float(shapely.area(parts[~narrow(parts)]).sum())


def hull_buffer(points: np.ndarray, distance: float) -> object:
    """The convex hull of projected points, widened by ``distance`` (metres) all round:
    the area within ``distance`` of the hull (round ends, 16 segments a quarter)."""
    hull = shapely.convex_hull(shapely.multipoints(points))
    return shapely.buffer(hull, distance, quad_segs=16)
