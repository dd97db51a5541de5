"""Checks that need the accounting: districts, locations, land released outside every
hazard, hazards recorded twice, closed hazards not released, district names."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from ..accounting import M2_PER_HA
from ..classes import HAZARD_LAYERS, METHODS, WITHIN, released_parts
from ..errors import DataError, attempt
from ..geometry import (
    OverlayLog,
    clip_by_zone,
    explode_polygons,
    intersecting_pairs,
    intersection,
    subtract,
    union_all,
    union_parts,
)
from ..graphs import components
from ..threads import map_chunks
from ..zones import areas_by_district, geodesic_gap, points_in
from ._overlaps import overlapping_hazards
from .checks import Findings, id_list
from .names import names_match
from .pieces import pieces_of, to_wgs

_CLOSED = {"closed", "completed", "complete", "released", "cancelled", "canceled", "cleared"}


def spatial_checks(acc, records: gpd.GeoDataFrame, dist: gpd.GeoDataFrame, detail: bool = True):
    """The checks on where things are, by name (each takes the findings to add to).

    Without ``detail`` the two costly checks make the same decisions (the same
    findings, counted alike) without drawing their shapes or naming every record."""
    overlay_log = OverlayLog()
    names = list(dist["district"])
    released_outside = _released_outside_hazard if detail else _released_outside_counts
    return {
        "district overlaps and gaps": lambda g: _district_checks(acc, names, g, overlay_log),
        "location": lambda g: _location_checks(records, dist, g, acc.record_slots),
        "released outside hazards": lambda g: released_outside(acc, records, names, g, overlay_log),
        "overlapping hazards": lambda g: overlapping_hazards(acc, records, g, overlay_log, detail),
        "closed hazards": lambda g: _closed_unreleased(acc, records, g, overlay_log),
        "district names": lambda g: _district_mismatch(records, dist, g),
    }


#: the checks that take longest, started first so that the others fill the other thread
SLOW_CHECKS = ("overlapping hazards", "released outside hazards", "location")


def run_checks(checks: dict, f: Findings) -> None:
    """Run checks two at a time (GEOS releases the GIL), each into its own findings,
    so that one failing spares the rest; their findings are added in the order of
    ``checks``, whichever finished first."""

    def run(what: str) -> Findings:
        found = Findings()
        attempt(what, checks[what], found, failures=found.failures)
        return found

    order = [w for w in SLOW_CHECKS if w in checks] + [w for w in checks if w not in SLOW_CHECKS]
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(order, pool.map(run, order), strict=True))
    for what in checks:
        f.extend(done[what])


def _ha(area: float) -> str:
    """Hectares with enough decimals that a small area does not read as 0.00."""
    return f"{area:,.2f}" if area >= 0.01 else f"{area:.4f}"


def _district_checks(acc, names: list[str], f: Findings, overlay_log: OverlayLog) -> None:
    """Districts overlapping each other, and gaps between them."""
    for region in acc.regions:
        for a, b, shared in region.zones.overlaps:
            area = shapely.area(shared) / M2_PER_HA
            if area > 1e-4:
                f.add(
                    "district_overlap",
                    f"districts {names[a]!r} and {names[b]!r} overlap by {_ha(area)} ha",
                    geom=to_wgs(shared, region.crs)[0],
                    area=area,
                )
        union = union_parts(region.zones.zones, overlay_log, "districts")
        holes = [shapely.Polygon(h) for p in union for h in p.interiors]
        for gap in holes:
            area = gap.area / M2_PER_HA
            if area >= 0.01:
                c = to_wgs(gap.representative_point(), region.crs)[0]
                f.add(
                    "district_gap",
                    f"a gap of {area:,.2f} ha between districts near ({c.x:.5f}, {c.y:.5f})",
                    geom=to_wgs(gap, region.crs)[0],
                    area=area,
                )


def distance_m(geoms: np.ndarray, zones: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """Geodesic distance (m) from each lon/lat geometry to the nearest of ``zones``
    (lon/lat, indexed by ``tree``), measured between the nearest points."""
    out = np.full(len(geoms), np.nan)
    if len(geoms) == 0 or len(zones) == 0:
        return out
    near = tree.query_nearest(geoms, all_matches=False)
    out[near[0]] = geodesic_gap(geoms[near[0]], zones[near[1]])
    return out


def inside_when_swapped(geoms: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """True where a lon/lat geometry falls inside one of the tree's districts once its
    longitude and latitude are swapped: the sign of a swapped-coordinate record."""
    swapped = shapely.transform(geoms, lambda c: c[:, ::-1])
    valid = np.all(np.abs(shapely.bounds(swapped)[:, [1, 3]]) <= 90, axis=1)
    hit = np.zeros(len(geoms), dtype=bool)
    if valid.any():
        j, _ = tree.query(swapped[valid], predicate="intersects")
        hit[np.flatnonzero(valid)[j]] = True
    return hit


def _location_checks(records, dist: gpd.GeoDataFrame, f: Findings, slots=None) -> None:
    """Records outside every district (with the geodesic distance), swapped lon/lat.

    The records the accounting counted in a district (``slots``: see
    :attr:`~mineland.accounting.Accounting.record_slots`) are in it; the rest are
    looked for here."""
    if len(records) == 0:
        return
    zones = np.asarray(dist.geometry.array, dtype=object)
    tree = shapely.STRtree(zones)
    geoms = np.asarray(records.geometry.array, dtype=object)
    settled = slots is not None and len(slots) == len(records)
    hit = (slots >= 0) & (slots < len(dist)) if settled else np.zeros(len(records), dtype=bool)
    present = np.flatnonzero(~hit & ~shapely.is_missing(geoms))
    # a point on each record inside a district settles most of them cheaply
    hit[present[points_in(map_chunks(shapely.point_on_surface, geoms[present]), zones)[0]]] = True
    rest = np.flatnonzero(~hit)
    hit[rest[tree.query(geoms[rest], predicate="intersects")[0]]] = True
    idx = np.flatnonzero(~hit)
    if not len(idx):
        return
    distance = distance_m(geoms[idx], zones, tree)
    sw_hit = inside_when_swapped(geoms[idx], tree)
    for k, i in enumerate(idx):
        r = records.iloc[i]
        if sw_hit[k]:
            message = "outside every district, but inside one with lon and lat swapped"
            f.add("swapped_lonlat", message, rec=r, geom=geoms[i])
        else:
            message = f"outside every district, {distance[k] / 1000:,.2f} km from the nearest"
            f.add("outside_districts", message, rec=r, geom=geoms[i])


def _released_outside_hazard(acc, records, names: list[str], f: Findings, overlay_log) -> None:
    """Released land outside every hazard, per district, naming the release records."""
    rtype = records["record_type"].to_numpy(dtype=object)
    ids = records["record_id"].astype(str).to_numpy()
    per_district: dict[int, dict] = {}
    n = len(names)
    drawn = np.zeros(n + 1)  # ha per district (last: outside them all)
    for region in acc.regions:
        released = _released(region, rtype, overlay_log)
        cut = released[~_slivers_only(released, region)]  # the others leave slivers only
        outside = _outside_hazards(cut, region, rtype, overlay_log)
        # slivers under 1 m² (where a release's edge almost follows its hazard's) are
        # neither drawn nor named; the rest is cut by district
        big = shapely.area(outside) >= 1.0
        pieces, where = _by_district(outside[big], region.zones, overlay_log)
        where[where < 0] = n
        rel, rel_rec = pieces_of(region, rtype, schema.RELEASE_TYPES)
        ia, ib = shapely.STRtree(rel).query(pieces, predicate="intersects")
        shared = shared_m2(pieces, rel, ia, ib, overlay_log)
        by_record = (
            pd.DataFrame({"d": where[ia], "rid": ids[rel_rec[ib]], "ha": shared / M2_PER_HA})
            .query("ha > 0")
            .groupby(["d", "rid"])["ha"]
            .sum()
        )
        drawn += np.bincount(where, shapely.area(pieces), n + 1) / M2_PER_HA
        for d in np.unique(where):
            entry = per_district.setdefault(int(d), {"geoms": [], "records": {}})
            entry["geoms"].extend(to_wgs(pieces[where == d], region.crs))
            if d in by_record.index.get_level_values("d"):
                for rid, ha in by_record.loc[d].items():
                    entry["records"][rid] = entry["records"].get(rid, 0.0) + ha
    ha = _outside_ha(acc, n, overlay_log)
    _report_released_outside(per_district, ha, names, f, overlay_log, slivers=ha - drawn)


def shared_m2(pieces, records, ia: np.ndarray, ib: np.ndarray, overlay_log) -> np.ndarray:
    """The area (m²) each of ``pieces`` shares with each record it meets (the pairs
    ``ia``–``ib``), for pieces that lie in the union of the ``records``: a piece that
    meets one record only lies in it, and shares its whole area without an overlay."""
    alone = np.bincount(ia, minlength=len(pieces))[ia] == 1
    out = np.empty(len(ia))
    out[alone] = shapely.area(pieces[ia[alone]])
    rest = ~alone
    cut = intersection(pieces[ia[rest]], records[ib[rest]], overlay_log, "released outside hazards")
    out[rest] = shapely.area(cut)
    return out


def _outside_hazards(parts, region, rtype, overlay_log) -> np.ndarray:
    """What lies outside every hazard of the region's ``parts`` (the pieces, as
    :func:`subtract` makes them)."""
    for cutter in _hazard_layers(region, rtype, overlay_log):
        parts = subtract(parts, cutter, overlay_log)
    return parts


#: a cluster of release parts whose land outside H adds up to less than this (m²),
#: less a margin for rounding, leaves slivers under 1 m² only
_SLIVERS_M2 = 0.999


def _slivers_only(parts: np.ndarray, region) -> np.ndarray:
    """Which release ``parts`` (the release classes) leave only slivers under 1 m²
    outside H, found without an overlay.

    Release parts and the parts of H's layers that meet them fall into clusters.  In
    a cluster, the land released outside H is the release parts' area less the land
    of H they cover; a part of H is covered but for what the accounting left of it
    (the remaining SHA and CHA, each polygon within one part: ``region.parents``).
    Where a cluster's total is under 1 m², so is each of its pieces.  Without the
    classes no part is said to leave slivers only."""
    out = np.zeros(len(parts), dtype=bool)
    if not len(parts) or not region.keeps_classes or set(region.parents) != set(WITHIN):
        return out
    layers = [region.classes[k] for k in HAZARD_LAYERS]
    start = dict(zip(HAZARD_LAYERS, np.cumsum([len(parts), len(layers[0])]), strict=True))
    pairs = [intersecting_pairs(parts, others=g) for g in layers]
    a = np.concatenate([ia for ia, _ in pairs])
    b = np.concatenate([ib + start[k] for k, (_, ib) in zip(HAZARD_LAYERS, pairs, strict=True)])
    area = np.concatenate([shapely.area(parts), *map(shapely.area, layers)])
    label = components(len(area), a, b)
    sign = np.where(np.arange(len(area)) < len(parts), 1.0, -1.0)
    left = np.bincount(label, sign * area, len(area))
    for cls, layer in WITHIN.items():  # what the releases left of each part of H
        part = start[layer] + region.parents[cls]
        left += np.bincount(label[part], shapely.area(region.classes[cls]), len(area))
    size = np.bincount(label, area, len(area))
    out[a] = True  # the parts that meet H (the others lie outside it whole)
    return out & (left < _SLIVERS_M2 - 1e-9 * size)[label[: len(parts)]]


def _released(region, rtype: np.ndarray, overlay_log, *, merged: bool = False) -> np.ndarray:
    """R: the release classes (disjoint, but sharing edges unless ``merged`` into
    parts that share none), or the union of the release records when the accounting
    kept no classes."""
    if region.keeps_classes:
        if merged:
            return released_parts(region.classes, overlay_log)
        return np.concatenate([region.classes[k] for k in METHODS])
    return union_parts(pieces_of(region, rtype, schema.RELEASE_TYPES)[0], overlay_log, "R")


def _hazard_layers(region, rtype: np.ndarray, overlay_log) -> list[np.ndarray]:
    """H as cutters for :func:`subtract`: layers of parts that share no edge."""
    if region.keeps_classes:
        return [region.classes[k] for k in HAZARD_LAYERS]
    return [union_parts(pieces_of(region, rtype, schema.HAZARD_TYPES)[0], overlay_log, "H")]


def _outside_ha(acc, n: int, overlay_log) -> np.ndarray:
    """Hectares released outside every hazard per district (last slot: outside every
    district), from the accounting's own hectares: R ∪ H is both R ⊔ (H − R) and
    H ⊔ (R − H), so per district area(R − H) = released + remaining − area(H).  H
    comes from the accounting (the local engine measures it); with the dask engine,
    which does not, it is measured here, as the union of the hazard records."""
    if acc.hazard_ha is not None:  # measured by the accounting
        hazard = acc.hazard_ha * M2_PER_HA
    else:
        rtype = acc.records["record_type"].to_numpy(dtype=object)
        layers = [np.concatenate(_hazard_layers(r, rtype, overlay_log)) for r in acc.regions]
        hazard = areas_by_district(layers, acc.zones, n, overlay_log)
    summary = acc.summary
    if len(summary) < n or list(summary["district"][:n]) != list(acc.districts["district"]):
        raise DataError("the accounting's summary is not in the order of its districts")
    table = np.zeros(n + 1)
    for column in ("released_ha", "contaminated_ha"):
        values = summary[column].to_numpy(dtype=float)
        table[: len(values)] += values  # the outside row, when there is one, is last
    return table - hazard / M2_PER_HA


def _released_outside_counts(acc, records, names: list[str], f: Findings, overlay_log) -> None:
    """The findings of :func:`_released_outside_hazard`, from the hectares alone:
    without cutting the land, to draw it and name its records."""
    _report_released_outside({}, _outside_ha(acc, len(names), overlay_log), names, f, overlay_log)


def _by_district(parts: np.ndarray, zones, overlay_log) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint parts cut by the district zones; the district of each piece (-1 outside)."""
    pieces, ip, iz = clip_by_zone(parts, zones.zones, overlay_log)
    where = zones.district[iz]
    assigned = np.zeros(len(parts))
    np.add.at(assigned, ip, shapely.area(pieces))
    left = np.flatnonzero(shapely.area(parts) - assigned > 1e-9 * shapely.area(parts))
    if len(left):  # only the parts that reach outside every district are cut again
        rest = subtract(parts[left], zones.zones, overlay_log, shared_edges=True)
        pieces = np.concatenate([pieces, rest])
        where = np.concatenate([where, np.full(len(rest), -1)])
    return pieces, where


def _report_released_outside(
    per_district: dict, ha, names: list[str], f, overlay_log, slivers=None
) -> None:
    """One finding per district (and outside them all) with at least 0.01 ha released
    outside every hazard; its shape and records where ``per_district`` has them, and
    the hectares of it in ``slivers`` (not drawn) where given."""
    n = len(names)
    for d in np.flatnonzero(ha >= 0.01):
        entry = per_district.get(int(d), {"geoms": [], "records": {}})
        where = "outside every district and" if d == n else f"in {names[d]!r}"
        listed = sorted(entry["records"].items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{rid} ({_ha(ha)} ha)" for rid, ha in listed[:20])
        more = f" and {len(listed) - 20} more" if len(listed) > 20 else ""
        named = f"; release records: {shown}{more}" if listed else ""
        if slivers is not None and slivers[d] >= 1e-4:  # a square metre or more
            named += (
                f"; {_ha(slivers[d])} ha of it in slivers under 1 m² each (not drawn), where "
                "a release's edge almost follows its hazard's"
            )
        geoms = np.array(entry["geoms"], dtype=object)  # pieces that may share edges: one shape
        f.add(
            "released_outside_hazard",
            f"{ha[d]:,.2f} ha released {where} outside every recorded hazard{named}",
            record_id=id_list([rid for rid, _ in listed]) if listed else None,
            geom=union_all(geoms, overlay_log, "released land outside hazards")
            if len(geoms)
            else None,
            area=float(ha[d]),
        )


def _closed_unreleased(acc, records, f: Findings, overlay_log) -> None:
    """Hazards whose status says closed but whose land is partly not released."""
    if "status" not in records.columns:
        return
    status = records["status"].astype(str).str.strip().str.casefold()
    closed = (records["record_type"].isin(schema.HAZARD_TYPES) & status.isin(_CLOSED)).to_numpy()
    rtype = records["record_type"].to_numpy(dtype=object)
    left: dict[int, list] = {}
    for region in acc.regions:
        mine = closed[region.piece_record]
        if not mine.any():
            continue
        released = _released(region, rtype, overlay_log, merged=True)
        for piece, i in zip(region.pieces[mine], region.piece_record[mine], strict=True):
            rest = subtract(np.array([piece], dtype=object), released, overlay_log)
            left.setdefault(int(i), []).extend(to_wgs(rest, region.crs) if len(rest) else [])
            left[int(i)].append(float(shapely.area(rest).sum()) if len(rest) else 0.0)
    for i, items in left.items():
        area = sum(x for x in items if isinstance(x, float)) / M2_PER_HA
        if area >= 0.01:
            r = records.iloc[i]
            geoms = np.array([g for g in items if not isinstance(g, float)], dtype=object)
            f.add(
                "closed_hazard_unreleased",
                f"status {r['status']!r} but {area:,.2f} ha of it are not released",
                rec=r,
                geom=shapely.multipolygons(explode_polygons(geoms)),
                area=area,
            )


def _district_mismatch(records, dist: gpd.GeoDataFrame, f: Findings) -> None:
    """A record's own district attribute disagrees with the district it lies in."""
    if "district" not in records.columns or len(records) == 0:
        return
    names = list(dist["district"])
    geoms = np.asarray(records.geometry.array, dtype=object)
    points = map_chunks(shapely.point_on_surface, geoms)
    j, z = points_in(points, np.asarray(dist.geometry.array, dtype=object))
    where = dict(zip(j[::-1], z[::-1], strict=True))  # on a border the first district
    for i, given in enumerate(records["district"]):
        if given is None or pd.isna(given) or i not in where:
            continue
        actual = names[where[i]]
        if not names_match(given, actual):
            f.add(
                "district_mismatch",
                f"district attribute {str(given)!r} but the record lies in {actual!r}",
                rec=records.iloc[i],
                geom=geoms[i],
            )
