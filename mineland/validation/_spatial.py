"""Checks that need the accounting: districts, locations, land released outside every
hazard, hazards recorded twice, closed hazards not released, district names."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from ..accounting import M2_PER_HA
from ..classes import HAZARD, METHODS
from ..errors import attempt
from ..geometry import (
    OverlayLog,
    clip_by_zone,
    explode_polygons,
    intersection,
    subtract,
    union_all,
    union_parts,
)
from ..zones import geodesic_gap, project
from .checks import Findings
from .names import names_match

_CLOSED = {"closed", "completed", "complete", "released", "cancelled", "canceled", "cleared"}


def spatial_checks(acc, records: gpd.GeoDataFrame, dist: gpd.GeoDataFrame, f: Findings) -> None:
    """Checks on where things are; each runs on its own, so one failing spares the rest."""
    overlay_log = OverlayLog()
    names = list(dist["district"])
    checks = {
        "district overlaps and gaps": lambda: _district_checks(acc, names, f, overlay_log),
        "location": lambda: _location_checks(records, dist, f),
        "released outside hazards": lambda: _released_outside_hazard(
            acc, records, names, f, overlay_log
        ),
        "overlapping hazards": lambda: _overlapping_hazards(acc, records, f, overlay_log),
        "closed hazards": lambda: _closed_unreleased(acc, records, f, overlay_log),
        "district names": lambda: _district_mismatch(records, dist, f),
    }
    for what, check in checks.items():  # a failed check must not take the others down
        attempt(what, check, failures=f.failures)


def _ha(area: float) -> str:
    """Hectares with enough decimals that a small area does not read as 0.00."""
    return f"{area:,.2f}" if area >= 0.01 else f"{area:.4f}"


def _to_wgs(geoms, crs):
    return project(np.atleast_1d(np.asarray(geoms, dtype=object)), crs, inverse=True)


def _district_checks(acc, names: list[str], f: Findings, overlay_log: OverlayLog) -> None:
    """Districts overlapping each other, and gaps between them."""
    for region in acc.regions:
        for a, b, shared in region.zones.overlaps:
            area = shapely.area(shared) / M2_PER_HA
            if area > 1e-4:
                f.add(
                    "district_overlap",
                    f"districts {names[a]!r} and {names[b]!r} overlap by {_ha(area)} ha",
                    geom=_to_wgs(shared, region.crs)[0],
                    area=area,
                )
        union = union_parts(region.zones.zones, overlay_log, "districts")
        holes = [shapely.Polygon(h) for p in union for h in p.interiors]
        for gap in holes:
            area = gap.area / M2_PER_HA
            if area >= 0.01:
                c = _to_wgs(gap.representative_point(), region.crs)[0]
                f.add(
                    "district_gap",
                    f"a gap of {area:,.2f} ha between districts near ({c.x:.5f}, {c.y:.5f})",
                    geom=_to_wgs(gap, region.crs)[0],
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


def _location_checks(records: gpd.GeoDataFrame, dist: gpd.GeoDataFrame, f: Findings) -> None:
    """Records outside every district (with the geodesic distance), swapped lon/lat."""
    if len(records) == 0:
        return
    zones = np.asarray(dist.geometry.array, dtype=object)
    tree = shapely.STRtree(zones)
    geoms = np.asarray(records.geometry.array, dtype=object)
    hit = np.zeros(len(records), dtype=bool)
    hit[tree.query(geoms, predicate="intersects")[0]] = True
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


def _pieces_of(region, rtype: np.ndarray, kinds) -> tuple[np.ndarray, np.ndarray]:
    """The region's record pieces of the given types, and their record rows."""
    sel = np.isin(rtype[region.piece_record], kinds)
    return region.pieces[sel], region.piece_record[sel]


def _released_outside_hazard(acc, records, names: list[str], f: Findings, overlay_log) -> None:
    """Released land outside every hazard, per district, naming the release records."""
    rtype = records["record_type"].to_numpy(dtype=object)
    ids = records["record_id"].astype(str).to_numpy()
    per_district: dict[int, dict] = {}
    for region in acc.regions:
        hazards = region.classes.get(HAZARD)
        if hazards is None:  # the dask engine keeps no geometry
            hazards = union_parts(
                _pieces_of(region, rtype, schema.HAZARD_TYPES)[0], overlay_log, "H"
            )
        released = np.concatenate([region.classes[k] for k in METHODS])
        outside = subtract(released, hazards, overlay_log)
        if not len(outside):
            continue
        # slivers under 1 m² (a release whose edge almost follows its hazard's) are
        # counted by where they lie, without overlays; the rest is cut by district
        sliver = shapely.area(outside) < 1.0
        pieces, where = _by_district(outside[~sliver], region.zones, overlay_log)
        tiny = region.zones.district_of(shapely.point_on_surface(outside[sliver]))
        rel, rel_rec = _pieces_of(region, rtype, schema.RELEASE_TYPES)
        ia, ib = shapely.STRtree(rel).query(pieces, predicate="intersects")
        shared = shapely.area(
            intersection(pieces[ia], rel[ib], overlay_log, "released outside hazards")
        )
        by_record = (
            pd.DataFrame({"d": where[ia], "rid": ids[rel_rec[ib]], "ha": shared / M2_PER_HA})
            .query("ha > 0")
            .groupby(["d", "rid"])["ha"]
            .sum()
        )
        area = shapely.area(pieces) / M2_PER_HA
        tiny_ha = shapely.area(outside[sliver]) / M2_PER_HA
        for d in np.unique(np.concatenate([where, tiny])):
            entry = per_district.setdefault(
                int(d), {"geoms": [], "ha": 0.0, "records": {}, "slivers": 0}
            )
            sel = where == d
            entry["geoms"].extend(_to_wgs(pieces[sel], region.crs))
            entry["ha"] += float(area[sel].sum()) + float(tiny_ha[tiny == d].sum())
            entry["slivers"] += int((tiny == d).sum())
            if d in by_record.index.get_level_values("d"):
                for rid, ha in by_record.loc[d].items():
                    entry["records"][rid] = entry["records"].get(rid, 0.0) + ha
    _report_released_outside(per_district, names, f)


def _by_district(parts: np.ndarray, zones, overlay_log) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint parts cut by the district zones; the district of each piece (-1 outside)."""
    pieces, ip, iz = clip_by_zone(parts, zones.zones, overlay_log)
    where = zones.district[iz]
    assigned = np.zeros(len(parts))
    np.add.at(assigned, ip, shapely.area(pieces))
    left = np.flatnonzero(shapely.area(parts) - assigned > 1e-9 * shapely.area(parts))
    if len(left):  # only the parts that reach outside every district are cut again
        rest = subtract(parts[left], zones.zones, overlay_log)
        pieces = np.concatenate([pieces, rest])
        where = np.concatenate([where, np.full(len(rest), -1)])
    return pieces, where


def _id_list(ids: list[str], limit: int = 2000) -> str:
    """Record ids joined with "; ", cut to ``limit`` characters (a spreadsheet cell
    holds at most 32,767) with how many more there are."""
    out, used = [], 0
    for k, rid in enumerate(ids):
        if used + len(rid) + 2 > limit:
            return "; ".join(out) + f"; … and {len(ids) - k} more"
        out.append(rid)
        used += len(rid) + 2
    return "; ".join(out)


def _report_released_outside(per_district: dict, names: list[str], f: Findings) -> None:
    for d, entry in sorted(per_district.items()):
        if entry["ha"] < 0.01:
            continue
        where = "outside every district and" if d < 0 else f"in {names[d]!r}"
        listed = sorted(entry["records"].items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{rid} ({ha:,.2f} ha)" for rid, ha in listed[:20])
        more = f" and {len(listed) - 20} more" if len(listed) > 20 else ""
        if entry["slivers"]:
            more += (
                f"; with {entry['slivers']:,} slivers under 1 m² where a release's edge almost "
                "follows its hazard's"
            )
        f.add(
            "released_outside_hazard",
            f"{entry['ha']:,.2f} ha released {where} outside every recorded hazard; "
            f"release records: {shown}{more}",
            record_id=_id_list([rid for rid, _ in listed]),
            geom=shapely.multipolygons(explode_polygons(np.array(entry["geoms"], dtype=object))),
            area=entry["ha"],
        )


def _overlapping_hazards(acc, records, f: Findings, overlay_log) -> None:
    """SHA/CHA records overlapping each other, one finding per cluster of records that
    overlap (directly or through others): the hectares recorded more than once."""
    rtype = records["record_type"].to_numpy(dtype=object)
    pairs = []
    for region in acc.regions:
        hp, rec = _pieces_of(region, rtype, schema.HAZARD_TYPES)
        if len(hp) < 2:
            continue
        a, b = shapely.STRtree(hp).query(hp, predicate="intersects")
        keep = rec[a] < rec[b]
        a, b = a[keep], b[keep]
        inter = intersection(hp[a], hp[b], overlay_log, "overlapping hazards")
        area = shapely.area(inter) / M2_PER_HA
        big = area >= 1e-6  # what cannot add up to 1 m² is not projected back
        a, b, inter, area = a[big], b[big], inter[big], area[big]
        frame = {"a": rec[a], "b": rec[b], "ha": area, "geom": _to_wgs(inter, region.crs)}
        pairs.append(pd.DataFrame({**frame, "proj": inter, "region": len(pairs)}))
    if not pairs:
        return
    table = (
        pd.concat(pairs)
        .groupby(["a", "b"], sort=True)
        .agg(ha=("ha", "sum"), geom=("geom", list), proj=("proj", list), region=("region", list))
    )
    table = table[table["ha"] >= 1e-4]
    if len(table):
        _report_clusters(table, records, rtype, f, overlay_log)


def _clusters(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cluster (connected component) of each pair, by union-find over records."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return np.array([root(i) for i in a.tolist()], dtype=np.int64)


def _report_clusters(table: pd.DataFrame, records, rtype, f: Findings, overlay_log) -> None:
    """One finding per cluster: its records, the hectares the overlaps hold (each
    overlap once: the union of the pairwise overlaps) and the largest pair."""
    ids = records["record_id"].astype(str).to_numpy()
    a = table.index.get_level_values("a").to_numpy()
    b = table.index.get_level_values("b").to_numpy()
    ha, geom = table["ha"].to_numpy(), table["geom"].to_list()
    proj, region = table["proj"].to_list(), table["region"].to_list()
    cluster = _clusters(a, b)
    order = np.argsort(cluster, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(cluster[order]) != 0, True])
    messages, first, areas, geoms, members = [], [], [], [], []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order[lo:hi]
        recs = np.unique(np.concatenate([a[idx], b[idx]]))
        parts = [g for k in idx for g in geom[k]]
        shape = (
            parts[0]
            if len(parts) == 1
            else shapely.multipolygons(explode_polygons(np.array(parts, dtype=object)))
        )
        held = (
            float(ha[idx[0]])
            if len(idx) == 1
            else _held_ha([proj[k] for k in idx], [region[k] for k in idx], overlay_log)
        )
        top = idx[np.argmax(ha[idx])]
        i, j = int(a[top]), int(b[top])
        largest = f"{rtype[i]} {ids[i]!r} and {rtype[j]} {ids[j]!r} ({ha[top]:,.4f} ha)"
        messages.append(
            f"{len(recs)} hazard records overlap: {held:,.4f} ha recorded twice or more; "
            f"the largest overlap: {largest}"
        )
        first.append(int(recs[-1]))
        areas.append(held)
        geoms.append(shape)
        members.append(_id_list([ids[k] for k in recs]))
    rows = np.array(first)
    f.add_many(
        "overlapping_hazards",
        messages,
        sources=records[schema.SOURCE_FILE].to_numpy()[rows],
        rows=records[schema.SOURCE_ROW].to_numpy()[rows],
        record_ids=members,
        geoms=geoms,
        areas=areas,
    )


def _held_ha(projected: list, regions: list, overlay_log) -> float:
    """The hectares a cluster's overlaps hold, each square metre once: the union of
    its pairwise overlaps, measured in each region's equal-area projection."""
    by_region: dict[int, list] = {}
    for geoms, where in zip(projected, regions, strict=True):
        for g, r in zip(geoms, where, strict=True):
            by_region.setdefault(r, []).append(g)
    total = 0.0
    for geoms in by_region.values():
        union = union_all(np.array(geoms, dtype=object), overlay_log, "overlap")
        total += float(shapely.area(union))
    return total / M2_PER_HA


def _closed_unreleased(acc, records, f: Findings, overlay_log) -> None:
    """Hazards whose status says closed but whose land is partly not released."""
    if "status" not in records.columns:
        return
    status = records["status"].astype(str).str.strip().str.casefold()
    closed = (records["record_type"].isin(schema.HAZARD_TYPES) & status.isin(_CLOSED)).to_numpy()
    left: dict[int, list] = {}
    for region in acc.regions:
        mine = closed[region.piece_record]
        if not mine.any():
            continue
        released = union_parts(
            np.concatenate([region.classes[k] for k in METHODS]), overlay_log, "releases"
        )
        for piece, i in zip(region.pieces[mine], region.piece_record[mine], strict=True):
            rest = subtract(np.array([piece], dtype=object), released, overlay_log)
            left.setdefault(int(i), []).extend(_to_wgs(rest, region.crs) if len(rest) else [])
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
    tree = shapely.STRtree(np.asarray(dist.geometry.array, dtype=object))
    j, z = tree.query(shapely.point_on_surface(geoms), predicate="intersects")
    where = dict(zip(j, z, strict=False))
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
