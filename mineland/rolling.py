"""Accountings at successive dates, each built from the one before (pure computation).

Records that share no land never meet in the class arithmetic.  The area records are
grouped into clusters: records that overlap or touch, directly or through others, in
each equal-area region.  Going from one date to the next, only the clusters that
gained a record dated in between are worked out again (their class polygons and their
hectares per district); every other cluster keeps what it had.  The figures are the
same as :func:`mineland.account` at each date, which a test checks to 1e-9.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from .accounting import Accounting, parse_as_of, projected_inputs, summary_table
from .classes import CLASSES, HAZARD_LAYERS, METHODS, disjoint_classes
from .counts import count_records, record_slots, record_weights
from .geometry import (
    OverlayLog,
    ZoneIndex,
    connected,
    intersecting_pairs,
    subtract_of,
    zone_shares,
)
from .regions import Region
from .threads import map_chunks
from .zones import M2_PER_HA, RegionZones

__all__ = ["RollingAccounting", "summaries_at"]

log = logging.getLogger(__name__)

#: dates whose class polygons :meth:`RollingAccounting.advance_through` works out
#: ahead of the one it puts in place
LOOKAHEAD = 2
#: the rows of parts whose m² per slot are not kept (the look-ahead thread's)
NO_ROWS = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
#: the classes a cluster's classes are worked out again from, with the record type
#: each stands for (see :meth:`RollingAccounting._classes`)
AS_RECORDS = {
    "cleared": "cleared",
    "reduced": "reduced",
    "cancelled": "cancelled",
    HAZARD_LAYERS[1]: "CHA",
    HAZARD_LAYERS[0]: "SHA",
}


def chosen(labels: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """``np.isin(labels, picked)`` for small non-negative integer labels, by a table
    (the months of a progress ask this of every part)."""
    if not len(labels) or not len(picked):
        return np.zeros(len(labels), dtype=bool)
    table = np.zeros(max(labels.max(), picked.max()) + 1, dtype=bool)
    table[picked] = True
    return table[labels]


@dataclass
class _Taken:
    """The parts :meth:`_ClassParts.take` removed: their clusters, and their rows (the
    cluster, district slot and m² of each piece of a part in a district)."""

    parts: np.ndarray
    cluster: np.ndarray
    row_cluster: np.ndarray
    row_slot: np.ndarray
    row_m2: np.ndarray

    def per_slot(self, n: int, but: np.ndarray) -> np.ndarray:
        """m² per slot, the clusters ``but`` left out."""
        keep = ~chosen(self.row_cluster, but)
        return np.bincount(self.row_slot[keep], weights=self.row_m2[keep], minlength=n + 1)


@dataclass
class _ClassParts:
    """The polygons of one class in one region, with the cluster of each and its area
    per district slot (one row per piece of a part in a district).

    Parts taken away are only marked gone, their rows made to weigh nothing: the
    arrays are compacted once half their parts are gone, not at every date (copying
    every polygon each month cost more than the months' changes)."""

    parts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    cluster: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    row_part: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    row_slot: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    row_m2: np.ndarray = field(default_factory=lambda: np.empty(0))
    alive: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))

    def take(self, clusters: np.ndarray) -> _Taken:
        """Remove the parts of ``clusters``; return them, with their m² per slot."""
        gone = chosen(self.cluster, clusters) & self.alive
        rows = gone[self.row_part]
        taken = _Taken(
            self.parts[gone],
            self.cluster[gone],
            self.cluster[self.row_part[rows]],
            self.row_slot[rows],
            self.row_m2[rows],
        )
        self.alive[gone] = False
        self.row_m2[rows] = 0.0  # adds nothing to any sum: x + 0.0 == x
        if 2 * np.count_nonzero(~self.alive) > len(self.alive):
            self._compact()
        return taken

    def _compact(self) -> None:
        """Drop the parts that are gone, and their rows."""
        keep = self.alive
        keep_row = keep[self.row_part]
        renumber = np.cumsum(keep) - 1
        self.parts, self.cluster, self.alive = self.parts[keep], self.cluster[keep], keep[keep]
        self.row_part = renumber[self.row_part[keep_row]]
        self.row_slot, self.row_m2 = self.row_slot[keep_row], self.row_m2[keep_row]

    def put(self, parts: np.ndarray, cluster: np.ndarray, slots: tuple) -> None:
        """Add parts with their cluster and their (part, slot, m²) rows."""
        part, slot, m2 = slots
        self.row_part = np.concatenate([self.row_part, part + len(self.parts)])
        self.row_slot = np.concatenate([self.row_slot, slot])
        self.row_m2 = np.concatenate([self.row_m2, m2])
        self.parts = np.concatenate([self.parts, parts])
        self.cluster = np.concatenate([self.cluster, cluster])
        self.alive = np.concatenate([self.alive, np.ones(len(parts), dtype=bool)])

    def per_slot(self, n: int) -> np.ndarray:
        return np.bincount(self.row_slot, weights=self.row_m2, minlength=n + 1)


@dataclass
class _Region:
    zones: RegionZones
    pieces: np.ndarray  # the projected pieces of every area record
    piece_record: np.ndarray
    cluster: np.ndarray  # the cluster of each piece
    classes: dict[str, _ClassParts]
    index: ZoneIndex  # the zones, prepared once
    #: the zone every piece of each cluster lies inside (-1: not all in one zone), so
    #: that every polygon of the cluster's classes lies inside it too, untested
    cluster_zone: np.ndarray
    #: the classes of :data:`AS_RECORDS` as the look-ahead thread last worked them
    #: out, without rows (only that thread touches them)
    worked: dict[str, _ClassParts] = field(
        default_factory=lambda: {k: _ClassParts() for k in AS_RECORDS}
    )


class RollingAccounting:
    """The accounting of one dataset at ever later dates.

    ``advance(t)`` counts the records dated on or before ``t`` (and the undated
    ones) and returns the summary at ``t`` (as :func:`mineland.account` makes it)
    and the hectares per district released since the previous date, by method.
    ``plan`` is the equal-area regions, shared with any other accounting of the data;
    ``base``, an accounting of all the records in those regions, lends its projected
    pieces, so that they are not projected again.
    """

    def __init__(
        self,
        districts: gpd.GeoDataFrame,
        records: gpd.GeoDataFrame,
        plan: list[Region],
        base: Accounting | None = None,
    ):
        self.districts, self.records = districts, records
        self.n = len(districts)
        self.overlay_log = OverlayLog()
        # compared at every date: fixed-width text, faster to compare than objects
        self.rtype = records["record_type"].to_numpy(dtype=object).astype(str)
        self.dates = records["date"]
        self.regions = []
        for rz, pieces, piece_record in self._projected(plan, base):
            classes = {k: _ClassParts() for k in CLASSES}
            index = ZoneIndex.of(rz.zones)
            cluster = connected(pieces)
            zone = _cluster_zones(pieces, cluster, index)
            self.regions.append(_Region(rz, pieces, piece_record, cluster, classes, index, zone))
        self.slots = record_slots(records, self.rtype, self.regions, self.n)
        self.weights = record_weights(records)
        log.debug(
            "accounting: preparing to roll forward, %d clusters of area records",
            sum(len(np.unique(r.cluster)) for r in self.regions),
        )
        self.counted = np.zeros(len(records), dtype=bool)

    def _projected(self, plan: list[Region], base: Accounting | None) -> list[tuple]:
        """Per region: the district zones and the projected pieces of every area record
        with their record rows; taken from ``base`` (an accounting of the same records
        without an as-of date, in the same regions) when there is one."""
        if base is not None and base.as_of is None and len(base.records) == len(self.records):
            return [(r.zones, r.pieces, r.piece_record) for r in base.regions]
        zones, _, area_idx, prepared = projected_inputs(
            self.districts, self.records, plan, self.overlay_log
        )
        return [(rz, p, area_idx[owner]) for (p, owner), rz in zip(prepared, zones, strict=True)]

    def advance(self, as_of: object) -> tuple[gpd.GeoDataFrame, dict[str, np.ndarray]]:
        """The summary at ``as_of`` and the hectares released since the last date."""
        [step] = self.advance_through([as_of])
        return step

    def advance_through(self, dates: list) -> Iterator[tuple[gpd.GeoDataFrame, dict]]:
        """:meth:`advance` at each of the increasing ``dates`` in turn, the same
        figures; the class polygons of the next dates are worked out in a thread while
        this date's are measured and put in place (which is serial work)."""
        with ThreadPoolExecutor(1) as pool:
            pending: deque = deque()
            before = self.counted
            for t in dates:
                now = self._now(t, before)
                changes = self._changes(now, before)
                jobs = [
                    pool.submit(self._classes, r, changed, sel, new)
                    for r, (changed, sel, new) in zip(self.regions, changes, strict=True)
                ]
                pending.append((now, changes, jobs))
                before = now
                if len(pending) > LOOKAHEAD:
                    yield self._done(*pending.popleft())
            while pending:
                yield self._done(*pending.popleft())

    def _done(self, now, changes, jobs) -> tuple[gpd.GeoDataFrame, dict]:
        return self._apply(now, changes, [job.result() for job in jobs])

    def _now(self, as_of: object, before: np.ndarray) -> np.ndarray:
        """The records counted at ``as_of``: dated on or before it, or undated."""
        t = parse_as_of(as_of)
        now = (self.dates.isna() | (self.dates <= t)).to_numpy()
        if (before & ~now).any():
            raise ValueError("a rolling accounting only moves forward in time")
        return now

    def _changes(self, now: np.ndarray, before: np.ndarray) -> list[tuple]:
        """Per region: the clusters that gained records since ``before`` (all counted
        at ``now``), the pieces of their records counted at ``now`` (None when no
        cluster changed), and which of those pieces are of the records gained."""
        added = now & ~before
        out = []
        for region in self.regions:
            new = added[region.piece_record]
            changed = np.unique(region.cluster[new])
            sel = chosen(region.cluster, changed) & now[region.piece_record]
            out.append((changed, sel if len(changed) else None, new))
        return out

    def _classes(self, region: _Region, changed, sel, new) -> tuple | None:
        """The disjoint classes of the ``changed`` clusters (their pieces ``sel``),
        the cluster of each of their polygons (in :data:`CLASSES` order), and the
        clusters where land released before changes method (see :func:`_upgraded`).

        They are worked out from the clusters' classes at the last date and the
        pieces of the records gained since (``new``), not from all their pieces: with
        U(x) the union, U(cleared) is the union of the cleared land before and the
        new cleared records; U(reduced) − CL that of the reduced land before and the
        new reduced records, less CL; and so on (the land a class lost to one that
        takes precedence stays in that one).  Only this thread touches the region's
        ``worked`` classes, one date after another."""
        if sel is None:
            return None
        new = np.flatnonzero(new & sel)
        before = {k: region.worked[k].take(changed) for k in AS_RECORDS}
        geoms = np.concatenate([region.pieces[new], *(b.parts for b in before.values())])
        owner = np.concatenate([region.cluster[new], *(b.cluster for b in before.values())])
        types = np.concatenate(
            [self.rtype[region.piece_record[new]]]
            + [np.full(len(before[k].parts), kind) for k, kind in AS_RECORDS.items()]
        )
        cut = _upgraded(geoms[: len(new)], types[: len(new)], owner[: len(new)], before)
        classes = disjoint_classes(geoms, types, self.overlay_log)
        keys = [*CLASSES, *HAZARD_LAYERS]
        where = _cluster_of(np.concatenate([classes[k] for k in keys]), geoms, owner)
        at = dict(zip(keys, _offsets([classes[k] for k in keys]), strict=False))
        for k in AS_RECORDS:
            cluster = where[at[k] : at[k] + len(classes[k])]
            region.worked[k].put(classes[k], cluster, NO_ROWS)
        return classes, where[: at[HAZARD_LAYERS[0]]], cut  # the classes come first

    def _apply(self, now, changes, classes) -> tuple[gpd.GeoDataFrame, dict[str, np.ndarray]]:
        """Put the changed clusters' classes in place; the summary at ``now`` and the
        hectares released since the previous date."""
        self.counted = now
        fresh = {m: np.zeros(self.n + 1) for m in METHODS}
        for region, (changed, _, _), found in zip(self.regions, changes, classes, strict=True):
            if found is not None:
                self._redo(region, changed, *found, fresh)
        for m in METHODS:  # where nothing new was released, rounding only
            np.maximum(fresh[m], 0.0, out=fresh[m])
        table = {
            col: sum(r.classes[k].per_slot(self.n) for r in self.regions) / M2_PER_HA
            for k, col in CLASSES.items()
        }
        counts, outside = count_records(self.rtype, self.slots, self.weights, self.n, now)
        summary, _ = summary_table(
            self.districts, [r.zones for r in self.regions], table, counts, outside
        )
        return summary, {m: v / M2_PER_HA for m, v in fresh.items()}

    def _redo(self, region: _Region, changed, classes, where, cut, fresh: dict) -> None:
        """Replace the classes of the ``changed`` clusters of ``region`` with
        ``classes`` (their polygons in the clusters ``where``), adding what they
        released since the previous date to ``fresh``.

        Land released before keeps its method but in the clusters ``cut``: in the
        others every release class holds what it held before, so what it released
        since is its m² per slot less those it had.  Only the clusters ``cut`` have
        their classes cut by the land released before (an overlay of land against
        itself, where GEOS can leave a part whole that the land covers)."""
        log.debug("accounting: %d clusters worked out again", len(changed))
        old = {k: region.classes[k].take(changed) for k in CLASSES}
        start = dict(zip(CLASSES, _offsets([classes[k] for k in CLASSES]), strict=False))
        new, new_where = self._cut_by_released(classes, where, start, old, cut)
        # every polygon measured in one call: the zones are prepared once per date
        groups = [classes[k] for k in CLASSES] + new
        sizes = _offsets(groups)
        where = np.concatenate([where, *new_where])
        part, slot, m2 = self._slots_of(np.concatenate(groups), region, where)
        group = np.searchsorted(sizes, part, side="right") - 1
        for g, k in enumerate(CLASSES):
            mine = group == g
            rows = (part[mine] - sizes[g], slot[mine], m2[mine])
            region.classes[k].put(classes[k], where[sizes[g] : sizes[g + 1]], rows)
            if k in METHODS:  # the clusters not cut: m² now less m² before
                kept = mine & ~chosen(where[part], cut)
                fresh[k] += np.bincount(slot[kept], weights=m2[kept], minlength=self.n + 1)
                fresh[k] -= old[k].per_slot(self.n, but=cut)
        for g, m in enumerate(METHODS, start=len(CLASSES)):
            mine = group == g
            fresh[m] += np.bincount(slot[mine], weights=m2[mine], minlength=self.n + 1)

    def _cut_by_released(self, classes, where, start, old, cut) -> tuple[list, list]:
        """Per method, what its parts in the clusters ``cut`` hold beyond the land
        released before (``old``), and the cluster of each polygon left.

        The land released before is taken away one class at a time, not as one union:
        the release classes can overlap each other by slivers of no area, and their
        union then holds degenerate holes along which GEOS can leave whole a part the
        union covers."""
        if not len(cut):
            empty = np.empty(0, dtype=object)
            return [empty for _ in METHODS], [np.zeros(0, dtype=np.int64) for _ in METHODS]
        before = [old[m].parts[chosen(old[m].cluster, cut)] for m in METHODS]
        new, new_where = [], []
        for m in METHODS:
            mine = np.flatnonzero(chosen(where[start[m] : start[m] + len(classes[m])], cut))
            left, source = classes[m][mine], np.arange(len(mine))
            for layer in before:  # each a cutter of its own (see the docstring)
                left, at = subtract_of(left, layer, self.overlay_log)
                source = source[at]
            new.append(left)
            new_where.append(where[start[m] + mine[source]])
        return new, new_where

    def _slots_of(self, parts: np.ndarray, region: _Region, cluster: np.ndarray) -> tuple:
        """(part, district slot, m²) rows of disjoint parts (of the clusters
        ``cluster``), the outside slot last.  A part of a cluster that lies inside one
        zone is in that zone; only the others are measured against the zones."""
        zone = region.cluster_zone[cluster]
        placed = np.flatnonzero(zone >= 0)
        rest = np.flatnonzero(zone < 0)
        rows = [(placed, region.zones.district[zone[placed]], shapely.area(parts[placed]))]
        if len(rest):
            shares = zone_shares(parts[rest], region.zones.zones, self.overlay_log, region.index)
            out = np.flatnonzero(shares.outside > 0)
            rows.append((rest[shares.part], region.zones.district[shares.zone], shares.m2))
            rows.append((rest[out], np.full(len(out), self.n), shares.outside[out]))
        part, slot, m2 = (np.concatenate(col) for col in zip(*rows, strict=True))
        return part.astype(np.int64, copy=False), slot.astype(np.int64, copy=False), m2


def _offsets(groups: list) -> np.ndarray:
    """Where each of ``groups`` starts once they are concatenated, and the total."""
    return np.cumsum([0] + [len(g) for g in groups])


def _upgraded(pieces: np.ndarray, types: np.ndarray, cluster: np.ndarray, before: dict):
    """The clusters where a release added since the last date (its ``pieces``, record
    ``types`` and ``cluster``) lies over land released before (``before``: the
    parts taken of each class) by a method it takes precedence over: their
    interiors meet.  That land changes method; in every other cluster the land
    released before keeps its method."""
    found = [np.zeros(0, dtype=np.int64)]
    for rank, method in enumerate(METHODS[:-1]):
        mine = np.flatnonzero(types == method)
        lower = np.concatenate([before[m].parts for m in METHODS[rank + 1 :]])
        if not len(mine) or not len(lower):
            continue
        a, b = intersecting_pairs(pieces[mine], others=lower)
        inner = ~shapely.touches(pieces[mine[a]], lower[b])
        found.append(cluster[mine[a[inner]]])
    return np.unique(np.concatenate(found))


def _cluster_zones(pieces: np.ndarray, cluster: np.ndarray, index: ZoneIndex) -> np.ndarray:
    """For each cluster label, the zone that all its pieces lie inside (``contains
    properly``), or -1: every polygon made of the cluster's pieces lies inside it."""
    zone = np.full(len(pieces), -1, dtype=np.int64)
    if not len(pieces):
        return zone
    ip, iz, inside = index.pairs(pieces)
    zone[ip[inside]] = iz[inside]
    return _shared(cluster, zone, len(pieces))


def _shared(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """For each of ``n`` groups, the value (0 or more) that all its members share
    (``group``: the group of each member); -1 where they differ, or it has none."""
    low = np.full(n, np.iinfo(np.int64).max)
    high = np.full(n, -1, dtype=np.int64)
    np.minimum.at(low, group, values)
    np.maximum.at(high, group, values)
    return np.where(low == high, high, -1)


def _cluster_of(parts: np.ndarray, pieces: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """The cluster of each class part: that of a record piece that holds a point
    inside the part.  Clusters share no point, so any piece that holds it will do
    (the nearest, for a point a rounding error away from every piece).  A part whose
    box meets the boxes of one cluster's pieces only is that cluster's, untested."""
    if not len(parts):
        return np.zeros(0, dtype=np.int64)
    tree = shapely.STRtree(pieces)
    ipart, ipiece = tree.query(parts)
    out = _shared(ipart, cluster[ipiece], len(parts))
    rest = np.flatnonzero(out < 0)
    if len(rest):
        out[rest] = _cluster_by_point(parts[rest], pieces, cluster, tree)
    return out


def _cluster_by_point(parts, pieces, cluster, tree) -> np.ndarray:
    """:func:`_cluster_of` by a point inside each part."""
    out = np.zeros(len(parts), dtype=np.int64)
    points = map_chunks(shapely.point_on_surface, parts)
    xy = shapely.get_coordinates(points)
    ipoint, ipiece = tree.query(points)  # boxes first, then the point-in-polygon test
    hit = shapely.intersects_xy(pieces[ipiece], xy[ipoint, 0], xy[ipoint, 1])
    ipoint, ipiece = ipoint[hit], ipiece[hit]
    first = np.unique(ipoint, return_index=True)[1]
    out[ipoint[first]] = cluster[ipiece[first]]
    lost = np.setdiff1d(np.arange(len(parts)), ipoint)
    if len(lost):
        near_point, near_piece = tree.query_nearest(points[lost], all_matches=False)
        out[lost[near_point]] = cluster[near_piece]
    return out


def summaries_at(cache, dates: list) -> list[gpd.GeoDataFrame]:
    """The summaries of an :class:`~mineland.AccountingCache`'s data at increasing
    ``dates``, each as ``account(as_of=date).summary``, rolled forward from one date
    to the next."""
    rolling = RollingAccounting(cache.districts, cache.records, cache.plan, cache.known(None))
    return [summary for summary, _ in rolling.advance_through(dates)]
