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
from ..classes import HAZARD_LAYERS, METHODS
from ..errors import DataError, attempt
from ..geometry import (
    OverlayLog,
    clip_by_zone,
    explode_polygons,
    intersecting_pairs,
    intersection,
    multipolygons_by,
    share_a_disk,
    subtract,
    subtract_of,
    union_areas,
    union_parts,
)
from ..graphs import components
from ..threads import map_chunks, map_pairs
from ..zones import areas_by_district, geodesic_gap, points_in, project
from .checks import Findings
from .names import names_match

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
        "location": lambda g: _location_checks(records, dist, g),
        "released outside hazards": lambda g: released_outside(acc, records, names, g, overlay_log),
        "overlapping hazards": lambda g: _overlapping_hazards(acc, records, g, overlay_log, detail),
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
    present = np.flatnonzero(~shapely.is_missing(geoms))
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


def _pieces_of(region, rtype: np.ndarray, kinds) -> tuple[np.ndarray, np.ndarray]:
    """The region's record pieces of the given types, and their record rows."""
    sel = np.isin(rtype[region.piece_record], kinds)
    return region.pieces[sel], region.piece_record[sel]


def _released_outside_hazard(acc, records, names: list[str], f: Findings, overlay_log) -> None:
    """Released land outside every hazard, per district, naming the release records."""
    rtype = records["record_type"].to_numpy(dtype=object)
    ids = records["record_id"].astype(str).to_numpy()
    per_district: dict[int, dict] = {}
    n = len(names)
    for region in acc.regions:
        released = _released(region, rtype, overlay_log)
        outside, part = _outside_hazards(released, region, rtype, overlay_log)
        if not len(outside):
            continue
        # slivers under 1 m² (a release whose edge almost follows its hazard's) are
        # placed without overlays; the rest is cut by district
        sliver = shapely.area(outside) < 1.0
        pieces, where = _by_district(outside[~sliver], region.zones, overlay_log)
        tiny = _sliver_districts(outside[sliver], part[sliver], released, region.zones)
        where[where < 0], tiny[tiny < 0] = n, n
        rel, rel_rec = _pieces_of(region, rtype, schema.RELEASE_TYPES)
        ia, ib = shapely.STRtree(rel).query(pieces, predicate="intersects")
        shared = shared_m2(pieces, rel, ia, ib, overlay_log)
        by_record = (
            pd.DataFrame({"d": where[ia], "rid": ids[rel_rec[ib]], "ha": shared / M2_PER_HA})
            .query("ha > 0")
            .groupby(["d", "rid"])["ha"]
            .sum()
        )
        for d in np.unique(np.concatenate([where, tiny])):
            entry = per_district.setdefault(int(d), {"geoms": [], "records": {}, "slivers": 0})
            entry["geoms"].extend(_to_wgs(pieces[where == d], region.crs))
            entry["slivers"] += int((tiny == d).sum())
            if d in by_record.index.get_level_values("d"):
                for rid, ha in by_record.loc[d].items():
                    entry["records"][rid] = entry["records"].get(rid, 0.0) + ha
    ha = _outside_ha(acc, n, overlay_log)
    _report_released_outside(per_district, ha, names, f)


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


def _outside_hazards(parts, region, rtype, overlay_log) -> tuple[np.ndarray, np.ndarray]:
    """What lies outside every hazard of the region's ``parts`` (the pieces, as
    :func:`subtract` makes them), and the part each piece comes from."""
    part = np.arange(len(parts))
    for cutter in _hazard_layers(region, rtype, overlay_log):
        parts, of = subtract_of(parts, cutter, overlay_log)
        part = part[of]
    return parts, part


def _sliver_districts(slivers: np.ndarray, part: np.ndarray, parts: np.ndarray, zones):
    """The district of each sliver (-1 outside them all): that of its part (``part``:
    its index in ``parts``) where the part lies inside one, else where a point on the
    sliver lies."""
    if not len(slivers):
        return np.full(0, -1, dtype=np.int64)
    used, back = np.unique(part, return_inverse=True)  # a part has many slivers
    out = zones.district_around(parts[used])[back.ravel()]
    rest = np.flatnonzero(out < 0)
    out[rest] = zones.district_of(shapely.point_on_surface(slivers[rest]))
    return out


def _released(region, rtype: np.ndarray, overlay_log, *, merged: bool = False) -> np.ndarray:
    """R: the release classes (disjoint, but sharing edges unless ``merged`` into
    parts that share none), or the union of the release records when the accounting
    kept no classes."""
    if region.keeps_classes:
        parts = np.concatenate([region.classes[k] for k in METHODS])
        return union_parts(parts, overlay_log, "releases") if merged else parts
    return union_parts(_pieces_of(region, rtype, schema.RELEASE_TYPES)[0], overlay_log, "R")


def _hazard_layers(region, rtype: np.ndarray, overlay_log) -> list[np.ndarray]:
    """H as cutters for :func:`subtract`: layers of parts that share no edge."""
    if region.keeps_classes:
        return [region.classes[k] for k in HAZARD_LAYERS]
    return [union_parts(_pieces_of(region, rtype, schema.HAZARD_TYPES)[0], overlay_log, "H")]


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
    _report_released_outside({}, _outside_ha(acc, len(names), overlay_log), names, f)


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


def _report_released_outside(per_district: dict, ha: np.ndarray, names: list[str], f) -> None:
    """One finding per district (and outside them all) with at least 0.01 ha released
    outside every hazard; its shape, records and slivers where ``per_district`` has
    them."""
    n = len(names)
    for d in np.flatnonzero(ha >= 0.01):
        entry = per_district.get(int(d), {"geoms": [], "records": {}, "slivers": 0})
        where = "outside every district and" if d == n else f"in {names[d]!r}"
        listed = sorted(entry["records"].items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{rid} ({ha:,.2f} ha)" for rid, ha in listed[:20])
        more = f" and {len(listed) - 20} more" if len(listed) > 20 else ""
        if entry["slivers"]:
            more += (
                f"; with {entry['slivers']:,} slivers under 1 m² where a release's edge almost "
                "follows its hazard's"
            )
        named = f"; release records: {shown}{more}" if listed else ""
        geoms = explode_polygons(np.array(entry["geoms"], dtype=object))
        f.add(
            "released_outside_hazard",
            f"{ha[d]:,.2f} ha released {where} outside every recorded hazard{named}",
            record_id=_id_list([rid for rid, _ in listed]) if listed else None,
            geom=shapely.multipolygons(geoms) if len(geoms) else None,
            area=float(ha[d]),
        )


def _overlapping_hazards(acc, records, f: Findings, overlay_log, detail: bool = True) -> None:
    """SHA/CHA records overlapping each other, one finding per cluster of records that
    overlap (directly or through others): the hectares recorded more than once."""
    rtype = records["record_type"].to_numpy(dtype=object)
    rows = []
    for k, region in enumerate(acc.regions):
        hp, rec = _pieces_of(region, rtype, schema.HAZARD_TYPES)
        if len(hp) < 2:
            continue
        a, b = intersecting_pairs(hp, lambda a, b, rec=rec: rec[a] < rec[b])
        inter, area = _overlaps(hp[a], hp[b], overlay_log, keep=detail)
        big = area >= 1e-6  # what cannot add up to 1 m² is not projected back
        rows.append((rec[a[big]], rec[b[big]], area[big], inter[big], np.full(big.sum(), k)))
    if not rows:
        return
    a, b, ha, proj, region = (np.concatenate(col) for col in zip(*rows, strict=True))
    # a record pair may overlap in several pieces (multipolygons, regions): add them up
    n = len(records)  # one number per pair, in the order of (a, b)
    key, row_pair = np.unique(a.astype(np.int64) * n + b, return_inverse=True)
    pair = np.stack([key // n, key % n], axis=1)
    pair_ha = np.bincount(row_pair, weights=ha, minlength=len(pair))
    kept = pair_ha >= 1e-4
    if kept.any() and not detail:
        _count_clusters(pair[kept], records, f)
    elif kept.any():
        rows_kept = np.flatnonzero(kept[row_pair])
        _report_clusters(
            pair[kept],
            pair_ha[kept],
            np.searchsorted(np.flatnonzero(kept), row_pair[rows_kept]),
            proj[rows_kept],
            region[rows_kept],
            acc,
            records,
            rtype,
            f,
            overlay_log,
        )


#: a disk of this radius (m) holds more than the 1 m² an overlap must reach to count
_DISK_M = 0.6


def _overlaps(a, b, overlay_log, *, keep: bool, chunk: int = 100_000):
    """The overlap of each pair and its hectares.  Where one of a pair covers the
    other, the overlap is the other, without an overlay.

    Without ``keep`` only the hectares are kept (the shapes are made and dropped a
    chunk at a time: at a million hazards they would take gigabytes), and an overlap
    shown to hold a disk of :data:`_DISK_M` is given that disk's area (over 1 m²,
    which is all the counts ask) without an overlay."""
    area = np.zeros(len(a))
    todo = np.arange(len(a))
    if not keep:
        deep = map_pairs(lambda x, y: share_a_disk(x, y, _DISK_M), a, b)
        area[deep] = np.pi * _DISK_M**2
        todo = todo[~deep]
    a_in_b = shapely.covers(b[todo], a[todo])
    whole = a_in_b | shapely.covers(a[todo], b[todo])
    inter = np.full(len(a), None, dtype=object)
    covered = np.where(a_in_b[whole], a[todo[whole]], b[todo[whole]])
    area[todo[whole]] = shapely.area(covered)
    if keep:
        inter[todo[whole]] = covered
    rest = todo[~whole]
    for i in range(0, len(rest), chunk):
        at = rest[i : i + chunk]
        cut = intersection(a[at], b[at], overlay_log, "overlapping hazards")
        area[at] = shapely.area(cut)
        if keep:
            inter[at] = cut
    return inter, area / M2_PER_HA


def _clusters(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cluster (connected component) of each pair: the smallest record in it."""
    ids, node = np.unique(np.concatenate([a, b]), return_inverse=True)
    label = components(len(ids), node[: len(a)], node[len(a) :])
    return ids[label[node[: len(a)]]]


def _count_clusters(pair: np.ndarray, records, f: Findings) -> None:
    """One finding per cluster, as :func:`_report_clusters` makes them, naming only how
    many records overlap."""
    count, rec = _cluster_records(_clusters(pair[:, 0], pair[:, 1]), pair[:, 0], pair[:, 1])
    rows = rec[np.cumsum(count) - 1]  # each cluster's last record
    f.add_many(
        "overlapping_hazards",
        [f"{k} hazard records overlap" for k in count],
        sources=records[schema.SOURCE_FILE].take(rows).to_numpy(),
        rows=records[schema.SOURCE_ROW].take(rows).to_numpy(),
        record_ids=records["record_id"].take(rows).astype(str).to_numpy(),
        geoms=[None] * len(rows),
        areas=[np.nan] * len(rows),
    )


def _report_clusters(
    pair, pair_ha, row_pair, proj, region, acc, records, rtype, f: Findings, overlay_log
) -> None:
    """One finding per cluster: its records, the hectares the overlaps hold (each
    overlap once: the union of the pairwise overlaps) and the largest pair.

    ``pair`` holds the record pairs (a < b) with their hectares ``pair_ha``; each
    overlap piece (``proj``, projected in ``region``) belongs to the pair
    ``row_pair``."""
    ids = records["record_id"].astype(str).to_numpy()
    a, b = pair[:, 0], pair[:, 1]
    cluster = _clusters(a, b)
    labels, pair_cluster = np.unique(cluster, return_inverse=True)
    row_cluster = pair_cluster[row_pair]
    held = _held_ha(row_cluster, proj, region, len(labels), acc, overlay_log)
    wgs = np.empty(len(proj), dtype=object)
    for k, r in enumerate(acc.regions):
        sel = region == k
        if sel.any():
            wgs[sel] = _to_wgs(proj[sel], r.crs)
    by_row = np.argsort(row_cluster, kind="stable")
    row_bounds = np.searchsorted(row_cluster[by_row], np.arange(len(labels) + 1))
    geoms = multipolygons_by(wgs, row_cluster, len(labels))
    single = np.flatnonzero(np.diff(row_bounds) == 1)  # one piece: kept as it is
    geoms[single] = wgs[by_row[row_bounds[single]]]
    messages, rows, members = _cluster_texts(a, b, pair_ha, pair_cluster, held, ids, rtype)
    f.add_many(
        "overlapping_hazards",
        messages,
        sources=records[schema.SOURCE_FILE].take(rows).to_numpy(),
        rows=records[schema.SOURCE_ROW].take(rows).to_numpy(),
        record_ids=members,
        geoms=list(geoms),
        areas=held.tolist(),
    )


def _cluster_texts(a, b, pair_ha, pair_cluster, held, ids, rtype):
    """Each cluster's message (how many records, the hectares ``held``, its largest
    pair: the first of equals in pair order), last record and record ids, for all the
    clusters at once (``a``–``b``: the record pairs, with their hectares and cluster)."""
    count, rec = _cluster_records(pair_cluster, a, b)
    ends = np.cumsum(count)
    rec_ids = ids[rec]
    members = [_id_list(list(rec_ids[e - k : e])) for e, k in zip(ends, count, strict=True)]
    order = np.lexsort((np.arange(len(a)), -pair_ha, pair_cluster))
    top = order[np.r_[0, np.flatnonzero(np.diff(pair_cluster[order])) + 1]]
    i, j = a[top], b[top]
    messages = [
        f"{k} hazard records overlap: {h:,.4f} ha recorded twice or more; the largest "
        f"overlap: {ti} {ii!r} and {tj} {ij!r} ({ha:,.4f} ha)"
        for k, h, ti, ii, tj, ij, ha in zip(
            count, held, rtype[i], ids[i], rtype[j], ids[j], pair_ha[top], strict=True
        )
    ]
    return messages, rec[ends - 1], members


def _cluster_records(cluster: np.ndarray, a: np.ndarray, b: np.ndarray):
    """How many records each cluster holds (the clusters in order; ``cluster``: each
    pair ``a``–``b``'s), and the records, cluster by cluster, each once and in order."""
    both = pd.DataFrame({"c": np.r_[cluster, cluster], "rec": np.r_[a, b]})
    both = both.drop_duplicates().sort_values(["c", "rec"])
    return np.unique(both["c"].to_numpy(), return_counts=True)[1], both["rec"].to_numpy()


def _held_ha(row_cluster, proj, region, n: int, acc, overlay_log) -> np.ndarray:
    """The hectares each cluster's overlaps hold, each square metre once: the union of
    its pairwise overlaps, measured in each region's equal-area projection.  A
    cluster of one overlap piece is its area; the unions of the others run in
    threads (GEOS releases the GIL)."""
    held = np.bincount(row_cluster, weights=shapely.area(proj), minlength=n)
    pieces = np.bincount(row_cluster, minlength=n)
    key = row_cluster * len(acc.regions) + region
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(key[order]) != 0])
    groups = [
        order[lo:hi]
        for lo, hi in zip(starts, np.r_[starts[1:], len(order)], strict=True)
        if pieces[row_cluster[order[lo]]] > 1
    ]
    many = np.unique(row_cluster[pieces[row_cluster] > 1])
    held[many] = 0.0
    for idx, area in zip(groups, union_areas(proj, groups, overlay_log), strict=True):
        held[row_cluster[idx[0]]] += area
    return held / M2_PER_HA


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
