"""Hazard records that overlap each other: one finding per cluster of records that
overlap directly or through others, with the hectares recorded more than once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .. import schema
from ..accounting import M2_PER_HA
from ..depth import share_a_disk
from ..geometry import (
    box_pairs,
    intersecting_pairs,
    intersection,
    meets,
    polygonal,
    union_all,
    union_groups,
)
from ..graphs import components
from ..threads import map_pairs
from .checks import Findings, id_list
from .pieces import pieces_of, to_wgs

__all__ = ["overlapping_hazards"]


def overlapping_hazards(acc, records, f: Findings, overlay_log, detail: bool = True) -> None:
    """SHA/CHA records overlapping each other, one finding per cluster of records that
    overlap (directly or through others): the hectares recorded more than once."""
    rtype = records["record_type"].to_numpy(dtype=object)
    rows = _overlap_rows(acc, rtype, overlay_log, detail)
    if rows is None:
        return
    a, b, ha, proj, region, pa, pb, covered = rows
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
        drawn = rows_kept[_drawn(pa[rows_kept], pb[rows_kept], covered[rows_kept])]
        _report_clusters(
            pair[kept],
            pair_ha[kept],
            np.searchsorted(np.flatnonzero(kept), row_pair[drawn]),
            proj[drawn],
            region[drawn],
            acc,
            records,
            rtype,
            f,
            overlay_log,
        )


def _overlap_rows(acc, rtype: np.ndarray, overlay_log, detail: bool):
    """The overlap pieces of hazard pieces, region by region: their records (the first
    lower), hectares, shapes (with ``detail``), region, hazard pieces (numbered across
    the regions) and the piece the other covers (-1: neither); None without any."""
    rows, offset = [], 0
    for k, region in enumerate(acc.regions):
        hp, rec = pieces_of(region, rtype, schema.HAZARD_TYPES)
        if len(hp) < 2:
            continue
        a, b, deep = _hazard_pairs(hp, rec, detail)
        inter, area, inside = _overlaps(hp[a], hp[b], overlay_log, keep=detail, deep=deep)
        big = area >= 1e-6  # what cannot add up to 1 m² is not projected back
        a, b, inside = a[big], b[big], inside[big]
        covered = np.where(inside == 0, -1, np.where(inside == 1, a, b) + offset)
        region_of = np.full(len(a), k)
        rows.append(
            (rec[a], rec[b], area[big], inter[big], region_of, a + offset, b + offset, covered)
        )
        offset += len(hp)
    return [np.concatenate(col) for col in zip(*rows, strict=True)] if rows else None


def _drawn(pa: np.ndarray, pb: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Which overlap pieces (of hazard pieces ``pa``–``pb``) a cluster's union needs.
    Where one piece covers the other, their overlap is the ``covered`` one (-1 where
    neither covers the other), which holds every other overlap of that piece: one
    copy of it stands for them all (on real data most of a large cluster's overlaps)."""
    whole = np.flatnonzero(covered >= 0)
    pieces, first = np.unique(covered[whole], return_index=True)
    drawn = ~(np.isin(pa, pieces) | np.isin(pb, pieces))
    drawn[whole[first]] = True
    return drawn


#: a disk of this radius (m) holds more than the 1 m² an overlap must reach to count
_DISK_M = 0.6


def _hazard_pairs(hp, rec, detail: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of hazard pieces ``hp`` that intersect, of different records (the
    first's ``rec`` lower), and which of them a shared disk of :data:`_DISK_M` shows
    to overlap by more than 1 m².

    Without ``detail`` the disk is tried on every pair of boxes that meet, so only the
    pairs it does not show are tested for meeting: with ``detail`` the overlaps are
    drawn anyway, and none is shown."""
    if detail:
        a, b = intersecting_pairs(hp, lambda a, b: rec[a] < rec[b])
        return a, b, np.zeros(len(a), dtype=bool)
    a, b = box_pairs(hp, lambda a, b: rec[a] < rec[b])
    deep = map_pairs(lambda x, y: share_a_disk(x, y, _DISK_M), hp[a], hp[b])
    met = deep.copy()
    met[~deep] = meets(hp[a[~deep]], hp[b[~deep]])
    return a[met], b[met], deep[met]


def _overlaps(a, b, overlay_log, *, keep: bool, deep: np.ndarray, chunk: int = 100_000):
    """The overlap of each pair, its hectares, and which of the pair the other covers
    (1: the first, 2: the second, 0: neither).  Where one of a pair covers the other,
    the overlap is the covered one, without an overlay.

    Without ``keep`` only the hectares are kept (the shapes are made and dropped a
    chunk at a time: at a million hazards they would take gigabytes), and the pairs
    ``deep`` says hold a disk of :data:`_DISK_M` are given that disk's area (over 1 m²,
    which is all the counts ask) without an overlay (with ``keep`` none is)."""
    area = np.where(deep, np.pi * _DISK_M**2, 0.0)
    todo = np.flatnonzero(~deep)
    a_in_b = shapely.covers(b[todo], a[todo])
    whole = a_in_b | shapely.covers(a[todo], b[todo])
    inter = np.full(len(a), None, dtype=object)
    inside = np.zeros(len(a), dtype=np.int8)
    inside[todo[whole]] = np.where(a_in_b[whole], 1, 2)
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
    return inter, area / M2_PER_HA, inside


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
    held, geoms = _held(pair_cluster[row_pair], proj, region, len(labels), acc, overlay_log)
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
    members = [id_list(list(rec_ids[e - k : e])) for e, k in zip(ends, count, strict=True)]
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


def _held(row_cluster, proj, region, n: int, acc, overlay_log) -> tuple[np.ndarray, np.ndarray]:
    """The land each cluster's overlaps hold, each square metre once: the union of its
    pairwise overlaps, as one valid shape in lon/lat, and its hectares, measured in
    each region's equal-area projection.  The unions run in threads (GEOS releases
    the GIL); a cluster of one overlap piece in a region is that piece.  Lines where
    two records also touch are left out."""
    proj = polygonal(proj)
    key = row_cluster * len(acc.regions) + region
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(key[order]) != 0])
    groups = np.split(order, starts[1:])
    size = np.diff(np.r_[starts, len(order)])
    shapes = np.empty(len(groups), dtype=object)
    shapes[size == 1] = proj[order[starts[size == 1]]]
    shapes[size > 1] = union_groups(proj, [g for g in groups if len(g) > 1], overlay_log)
    cluster, where = row_cluster[order[starts]], region[order[starts]]
    held = np.bincount(cluster, weights=shapely.area(shapes), minlength=n) / M2_PER_HA
    for k, r in enumerate(acc.regions):
        if (where == k).any():
            shapes[where == k] = to_wgs(shapes[where == k], r.crs)
    geoms = np.empty(n, dtype=object)
    geoms[cluster] = shapes  # a cluster in one region; one across regions is joined:
    for c in np.flatnonzero(np.bincount(cluster, minlength=n) > 1):
        geoms[c] = union_all(shapes[cluster == c], overlay_log, "overlaps across regions")
    return held, geoms
