"""The geometry kernel's fast paths against brute force: every pair tested, every
part intersected with every zone, every overlap computed as an overlay."""

from __future__ import annotations

import multiprocessing
import threading
import time
import warnings

import numpy as np
import pytest
import shapely

from mineland import geometry, threads
from mineland.depth import CENTRES, edge_distance, share_a_disk
from mineland.geometry import (
    OverlayLog,
    area_by_zone,
    clip_by_zone,
    explode_polygons_of,
    intersecting_pairs,
    subtract_each,
    subtract_of,
    union_groups,
    union_parts,
)
from mineland.validation._overlaps import _hazard_pairs, _overlaps


def _shapes(rng, n: int, extent: float = 1000.0) -> np.ndarray:
    """Squares, stars and rings of random sizes, some sharing an edge or a corner with
    another, some inside another."""
    out = []
    for _ in range(n):
        x, y = rng.uniform(0, extent, 2)
        r = rng.uniform(2, 80)
        kind = rng.integers(4)
        if kind == 0:
            out.append(shapely.box(x, y, x + r, y + r))
        elif kind == 1:
            t = np.linspace(0, 2 * np.pi, 11)[:-1]
            radius = np.where(np.arange(10) % 2, r / 3, r)
            out.append(shapely.Polygon(np.c_[x + radius * np.cos(t), y + radius * np.sin(t)]))
        elif kind == 2:
            out.append(shapely.Point(x, y).buffer(r).difference(shapely.Point(x, y).buffer(r / 2)))
        else:  # touching the previous shape along an edge or at a corner
            prev = out[-1] if out else shapely.box(x, y, x + r, y + r)
            x0, y0, x1, y1 = prev.bounds
            out.append(
                shapely.box(x1, y0, x1 + r, y0 + r)
                if rng.random() < 0.5
                else shapely.box(x1, y1, x1 + r, y1 + r)
            )
    return np.array(out, dtype=object)


def _zones() -> np.ndarray:
    """A 3 × 3 grid of disjoint zones over part of the extent, one with a hole."""
    cells = [
        shapely.box(100 + 250 * i, 100 + 250 * j, 350 + 250 * i, 350 + 250 * j)
        for i in range(3)
        for j in range(3)
    ]
    cells[4] = cells[4].difference(shapely.box(520, 520, 580, 580))
    return np.array(cells, dtype=object)


@pytest.mark.parametrize("seed", range(6))
def test_intersecting_pairs_are_every_intersecting_pair_once(seed):
    geoms = _shapes(np.random.default_rng(seed), 150)
    a, b = intersecting_pairs(geoms)
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    want = {
        (i, j)
        for i in range(len(geoms))
        for j in range(i + 1, len(geoms))
        if geoms[i].intersects(geoms[j])
    }
    assert got == want
    assert len(got) == len(a)  # once each


def test_intersecting_pairs_keep_selects_the_candidates():
    geoms = _shapes(np.random.default_rng(7), 120)
    group = np.arange(len(geoms)) % 3
    a, b = intersecting_pairs(geoms, lambda a, b: group[a] < group[b])
    assert (group[a] < group[b]).all()
    want = {
        (i, j)
        for i in range(len(geoms))
        for j in range(len(geoms))
        if group[i] < group[j] and geoms[i].intersects(geoms[j])
    }
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == want


def _zones_with_an_enclave() -> np.ndarray:
    """:func:`_zones`, with a zone in the hole of the middle one (a town in its rayon)."""
    return np.append(_zones(), shapely.box(520, 520, 580, 580))


@pytest.mark.parametrize("seed", range(4))
def test_subtracting_zones_that_share_edges_equals_subtracting_their_union(seed):
    """Zones share edges with their neighbours, and one fills another's hole: as one
    multipolygon they are invalid, and GEOS's difference with the enclave and the zone
    round it left a part over the enclave's border whole.  ``shared_edges`` merges
    each part's zones first."""
    rng = np.random.default_rng(seed)
    across = [shapely.box(500, 500, 550, 550), shapely.box(530, 510, 590, 570)]
    across += [shapely.box(300, 540, 560, 560)]  # and over a neighbour's edge
    parts = np.append(shapely.get_parts(shapely.union_all(_shapes(rng, 120))), across)
    zones = _zones_with_an_enclave()
    got = shapely.area(subtract_each(parts, zones, OverlayLog(), shared_edges=True))
    want = shapely.area(shapely.difference(parts, shapely.union_all(zones)))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
    assert want[-3:].tolist() == [0.0, 0.0, 0.0]


def _cells(rng, n: int = 12) -> np.ndarray:
    """Voronoi cells of random points over part of the extent: disjoint zones whose
    boxes overlap one another's (a part inside one lies in the boxes of others)."""
    points = shapely.multipoints(rng.uniform(150, 850, (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=shapely.box(0, 0, 1, 1)))
    return shapely.intersection(cells, shapely.box(100, 100, 900, 900))


@pytest.mark.parametrize("layout", ["grid", "cells"])
@pytest.mark.parametrize("seed", range(6))
def test_area_by_zone_equals_every_part_cut_by_every_zone(seed, layout):
    """Parts inside a zone, across borders, touching a zone from outside, in the hole
    and outside every zone: the per-zone areas equal brute-force intersections."""
    rng = np.random.default_rng(seed)
    parts = shapely.get_parts(shapely.union_all(_shapes(rng, 120)))
    zones = _zones() if layout == "grid" else _cells(rng)
    got = area_by_zone(parts, zones, OverlayLog())
    want = np.array([shapely.area(shapely.intersection(parts, z)).sum() for z in zones])
    np.testing.assert_allclose(got.per_zone, want, rtol=1e-12, atol=1e-9)
    outside = shapely.area(shapely.difference(parts, shapely.union_all(zones))).sum()
    assert got.outside == pytest.approx(outside, rel=1e-9, abs=1e-6)
    inside = [np.flatnonzero(shapely.contains_properly(zones, p)) for p in parts]
    assert got.within.tolist() == [z[0] if len(z) else -1 for z in inside]
    assert (got.within >= 0).any() and (got.within < 0).any()
    pieces, ip, iz = clip_by_zone(parts, zones, OverlayLog())
    for p, z, piece in zip(ip, iz, pieces, strict=True):  # each piece lies in its zone
        assert shapely.area(shapely.difference(piece, zones[z])) < 1e-6
        assert parts[p].intersects(zones[z])


@pytest.mark.parametrize("layout", ["grid", "cells"])
@pytest.mark.parametrize("seed", range(4))
def test_classes_placed_by_their_part_of_h_equal_every_class_cut_by_every_zone(seed, layout):
    """The local engine places the polygons of C − R and U(SHA) − C − R by the part of
    H's layer each lies in, where that part lies inside a zone: the per-zone areas of
    every class equal brute-force intersections, with parts of H inside zones and
    across their borders."""
    from mineland.classes import CLASSES, WITHIN, disjoint_classes
    from mineland.engines.local import LocalEngine, zone_class_m2

    rng = np.random.default_rng(seed)
    hazards = _shapes(rng, 160)
    half = shapely.box(0, 0, 1000, 1000).difference(
        shapely.LineString([(0, rng.uniform(0, 1000)), (1000, rng.uniform(0, 1000))]).buffer(400)
    )
    cut = rng.choice(len(hazards), 80, replace=False)
    releases = np.concatenate([shapely.intersection(hazards[cut[:40]], half), hazards[cut[40:60]]])
    releases = releases[~shapely.is_empty(releases) & (shapely.area(releases) > 0)]
    geoms = np.concatenate([hazards, releases])
    types = np.array(
        list(rng.choice(["SHA", "CHA"], len(hazards)))
        + list(rng.choice(["cleared", "reduced", "cancelled"], len(releases))),
        dtype=object,
    )
    zones = _zones() if layout == "grid" else _cells(rng)
    got = LocalEngine().region_classes(geoms, types, zones, OverlayLog())
    for col, k in enumerate(CLASSES):
        polys = got.classes[k]
        want = [shapely.area(shapely.intersection(polys, z)).sum() for z in zones]
        np.testing.assert_allclose(got.zone_m2[:-1, col], want, rtol=1e-9, atol=1e-6)
    parents: dict = {}
    classes = disjoint_classes(geoms, types, OverlayLog(), parents)
    for k, layer in WITHIN.items():  # both kinds of part hold polygons of the class
        within = area_by_zone(classes[layer], zones, OverlayLog()).within[parents[k]]
        assert (within >= 0).any() and (within < 0).any()
    # measured without keeping the polygons (what is left of each part of H whole)
    lean, hazard = zone_class_m2(geoms, types, zones, OverlayLog())
    np.testing.assert_allclose(lean, got.zone_m2, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(hazard, got.hazard_m2, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_what_is_left_of_each_part_whole_is_its_split_polygons_together(seed):
    """``subtract_of(split=False)``: one (Multi)Polygon per part that anything is left
    of, with that part's index, holding the very polygons the split form gives it."""
    rng = np.random.default_rng(seed)
    parts = union_parts(_shapes(rng, 120), OverlayLog())
    cutters = union_parts(_shapes(rng, 60), OverlayLog())
    split, owner = subtract_of(parts, cutters, OverlayLog())
    whole, index = subtract_of(parts, cutters, OverlayLog(), split=False)
    assert (np.diff(index) > 0).all() and set(index) == set(owner)
    assert np.isin(shapely.get_type_id(whole), [3, 6]).all()
    assert len(whole) < len(split)  # some parts were cut in several
    for k, i in enumerate(index):
        want = shapely.normalize(shapely.multipolygons(split[owner == i]))
        got = shapely.normalize(shapely.multipolygons(shapely.get_parts(whole[k])))
        assert shapely.equals_exact(got, want)


@pytest.mark.parametrize("seed", range(3))
def test_a_remainder_within_the_rounding_of_the_areas_is_none_without_an_overlay(seed, monkeypatch):
    """Parts across the borders of zones that cover them leave, from the rounding of
    their pieces' areas, a remainder within 1e-12 of the part: it is none, without
    the overlay that looks for slivers.  A part reaching beyond the zones is still
    measured outside them."""
    rng = np.random.default_rng(seed)
    zones, parts = _cells(rng, 30), _cells(rng, 80)  # the parts cover the zones too
    cut = [shapely.area(shapely.intersection(p, zones)).sum() for p in parts]
    rounding = np.abs(shapely.area(parts) - np.array(cut)) > 0
    assert rounding.any()  # the pieces' areas do not add up to the part's exactly
    looked = []
    real = geometry.subtract_each
    monkeypatch.setattr(
        geometry, "subtract_each", lambda p, *a, **k: looked.append(p) or real(p, *a, **k)
    )
    got = geometry.zone_shares(parts, zones, OverlayLog())
    assert (got.within < 0).sum() >= 10 and (got.outside == 0).all() and not looked
    beyond = np.array([shapely.box(840, 400, 950, 420)], dtype=object)  # 50 m out
    got = geometry.zone_shares(beyond, zones, OverlayLog())
    assert got.outside[0] == pytest.approx(50 * 20, rel=1e-9)


def test_a_part_touching_a_zone_only_along_an_edge_gets_no_area_there():
    zones = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], dtype=object)
    parts = np.array([shapely.box(2, 2, 10, 8), shapely.box(20, 0, 25, 5)], dtype=object)
    got = area_by_zone(parts, zones, OverlayLog())
    assert got.per_zone.tolist() == [48.0, 0.0]
    assert got.outside == 25.0


@pytest.mark.parametrize("keep", [True, False])
def test_overlaps_with_shortcuts_equal_the_overlays(keep):
    """The pairs are those that intersect, whether or not a disk was tried first; a
    pair where one covers the other takes the covered one as the overlap; every
    hectare equals the overlay's, with or without the shapes kept."""
    geoms = _shapes(np.random.default_rng(11), 200)
    inner = shapely.buffer(geoms[:40], -1.0)
    geoms = np.concatenate([geoms, inner[~shapely.is_empty(inner)]])
    rec = np.arange(len(geoms)) % 150  # an inner shape is of another record but one
    a, b, deep = _hazard_pairs(geoms, rec, detail=keep)
    ia, ib = intersecting_pairs(geoms)
    ia, ib = np.minimum(ia, ib), np.maximum(ia, ib)
    want_pairs = {(int(i), int(j)) for i, j in zip(ia, ib, strict=True) if rec[i] != rec[j]}
    got_pairs = [(min(i, j), max(i, j)) for i, j in zip(a.tolist(), b.tolist(), strict=True)]
    assert sorted(got_pairs) == sorted(want_pairs) and (rec[a] < rec[b]).all()
    inter, ha, inside = _overlaps(geoms[a], geoms[b], OverlayLog(), keep=keep, deep=deep)
    want = shapely.area(shapely.intersection(geoms[a], geoms[b])) / 10_000
    # without the shapes, an overlap shown to hold a disk of 0.6 m gets its area
    disk = np.isclose(ha, np.pi * 0.36 / 10_000, rtol=1e-12) & ~np.isclose(want, ha)
    assert keep or disk.sum() >= 50
    np.testing.assert_allclose(ha[~disk], want[~disk], rtol=1e-9, atol=1e-12)
    assert (want[disk] >= ha[disk]).all()
    assert ((ha >= 1e-4) == (want >= 1e-4)).all()  # what the counts decide
    a_in_b = shapely.covers(geoms[b], geoms[a])
    covered = a_in_b | shapely.covers(geoms[a], geoms[b])
    assert covered.sum() >= 30  # the shortcut was taken
    want_inside = np.where(a_in_b, 1, np.where(covered, 2, 0))
    np.testing.assert_array_equal(inside[~deep], want_inside[~deep])
    if keep:
        same = shapely.area(
            shapely.symmetric_difference(inter, shapely.intersection(geoms[a], geoms[b]))
        )
        assert (same < 1e-6).all()
    else:
        assert all(g is None for g in inter)


@pytest.mark.parametrize("seed", range(4))
def test_a_shared_disk_is_inside_both_polygons(seed):
    """Where a disk is shown, a buffered point at one of the centres tried in the
    boxes' overlap lies inside both polygons; pairs that overlap in a strip narrower
    than the disk, or not at all, are never shown."""
    rng = np.random.default_rng(seed)
    geoms = _shapes(rng, 200)
    a, b = intersecting_pairs(geoms)
    strip = [(shapely.box(0, 0, 10, 10), shapely.box(9, 0, 20, 10))]  # 1 m wide overlap
    apart = [(shapely.box(0, 0, 10, 10), shapely.box(0, 10, 10, 20))]  # an edge only
    ring = shapely.Point(0, 0).buffer(10).difference(shapely.Point(0, 0).buffer(5))
    hole = [(ring, shapely.box(-4.9, -4.9, 4.9, 4.9))]  # inside the hole: no overlap
    # the middle of the boxes' overlap is in the ring's hole; its quarter points are not
    square = np.array([shapely.box(-8.5, -8.5, 8.5, 8.5)], dtype=object)
    left = np.concatenate([geoms[a], [p for p, _ in strip + apart + hole]])
    right = np.concatenate([geoms[b], [q for _, q in strip + apart + hole]])
    shown = share_a_disk(left, right, 0.6)
    assert shown[: len(a)].sum() >= 50 and not shown[len(a) :].any()
    assert share_a_disk(np.array([ring], dtype=object), square, 0.6).all()
    for p, q in zip(left[shown], right[shown], strict=True):
        (x0, y0, x1, y1), (u0, v0, u1, v1) = p.bounds, q.bounds
        lo, hi = np.array([max(x0, u0), max(y0, v0)]), np.array([min(x1, u1), min(y1, v1)])
        disks = [shapely.Point(lo + f * (hi - lo)).buffer(0.6 * 0.999, 64) for f in CENTRES]
        assert any(p.contains(disk) and q.contains(disk) for disk in disks)
        assert p.intersection(q).area >= np.pi * 0.36 * 0.99


@pytest.mark.parametrize("seed", range(4))
def test_edge_distance_is_the_distance_to_the_boundary_or_less(seed):
    """One ring: the distance from the point to the polygon's boundary, as GEOS
    measures it.  Holes and parts: never more than that (a disk it shows is inside);
    nothing: infinity."""
    rng = np.random.default_rng(seed)
    x0, y0 = rng.uniform(0, 1000, (2, 20))
    two = [shapely.box(x0, y0, x0 + 5, y0 + 5), shapely.box(x0 + 20, y0, x0 + 25, y0 + 9)]
    parts = shapely.multipolygons(np.stack(two, 1))
    geoms = np.concatenate([_shapes(rng, 300), parts, [shapely.Polygon(), None]])
    x, y = rng.uniform(-50, 1050, (2, len(geoms)))
    got = edge_distance(geoms, x, y)
    want = shapely.distance(shapely.points(x, y), shapely.boundary(geoms))
    present = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    one_ring = present & (shapely.get_num_interior_rings(geoms) == 0)
    one_ring &= shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    np.testing.assert_allclose(got[one_ring], want[one_ring], rtol=1e-12, atol=1e-9)
    assert (got[present] <= want[present] + 1e-9).all() and (~one_ring & present).sum() > 20
    assert np.isinf(got[~present]).all()


@pytest.mark.parametrize("seed", range(4))
def test_union_parts_passes_lone_polygons_through_and_merges_the_rest(seed):
    geoms = _shapes(np.random.default_rng(seed), 150)
    parts = union_parts(geoms, OverlayLog())
    whole = shapely.union_all(geoms)
    assert shapely.area(parts).sum() == pytest.approx(whole.area, rel=1e-12)
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(parts), whole)) < 1e-6
    a, b = intersecting_pairs(parts)  # disjoint: no two parts share any area
    assert (shapely.area(shapely.intersection(parts[a], parts[b])) < 1e-9).all()
    touching = {i for pair in zip(*intersecting_pairs(geoms), strict=True) for i in pair}
    lone = [g for i, g in enumerate(geoms) if i not in touching]
    assert len(lone) > 10  # the case has lone polygons, passed through unchanged
    assert all(any(g.equals_exact(p, 0) for p in parts) for g in lone)


@pytest.mark.parametrize("seed", range(3))
def test_subtract_equals_the_differences_with_exact_copies_among_the_cutters(seed, monkeypatch):
    """A part whose cutter is its very polygon (drawn from another vertex, the other
    way round) is gone without an overlay; one with a vertex moved by a nanometre is
    not a copy, and is overlaid; every part is the plain difference."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 13)[:-1]
    parts, cutters, kinds = [], [], []
    for i in range(240):
        x, y, r = (i % 20) * 3000.0, (i // 20) * 3000.0, rng.uniform(100, 900, 12)
        ring = np.c_[x + r * np.cos(t), y + r * np.sin(t)]
        part, kind = shapely.Polygon(ring), i % 4
        kinds.append(kind)
        parts.append(part)
        if kind == 0:  # the same polygon, from its fifth vertex, clockwise
            cutters.append(shapely.Polygon(np.roll(ring, -4, axis=0)[::-1]))
        elif kind == 1:  # one vertex moved outwards by a nanometre
            cutters.append(shapely.Polygon(ring + np.r_[[[1e-9, 0.0]], np.zeros((11, 2))]))
        elif kind == 2:
            cutters.append(shapely.buffer(part, -rng.uniform(1, 50)))
        else:
            cutters.append(shapely.Point(x + 900, y).buffer(300))
    parts, cutters, kinds = np.array(parts), np.array(cutters), np.array(kinds)
    overlaid = []
    pairwise = geometry._pairwise

    def counted(fn, a, *rest):
        overlaid.extend([len(a)] if fn is shapely.difference else [])
        return pairwise(fn, a, *rest)

    monkeypatch.setattr(geometry, "_pairwise", counted)
    got = subtract_each(parts, cutters, OverlayLog())
    met = shapely.intersects(parts, cutters)
    assert sum(overlaid) == (met & (kinds != 0)).sum()  # the copies were not overlaid
    want = shapely.difference(parts, cutters)
    np.testing.assert_allclose(shapely.area(got), shapely.area(want), rtol=1e-9, atol=1e-12)
    assert shapely.is_empty(got[kinds == 0]).all()
    assert (shapely.area(got[kinds == 2]) > 0).all()
    assert (shapely.area(got[kinds == 1]) == shapely.area(want[kinds == 1])).all()


@pytest.mark.parametrize("seed", range(3))
def test_union_groups_are_each_groups_union_in_order(seed):
    rng = np.random.default_rng(seed)
    geoms = _shapes(rng, 400)
    # many small groups and a few large ones, more groups than the threads' batches
    sizes = np.r_[rng.integers(1, 4, 90), [60, 1, 45]]
    order = rng.permutation(len(geoms))[: sizes.sum()]
    groups = np.split(order, np.cumsum(sizes)[:-1])
    got = union_groups(geoms, groups, OverlayLog())
    want = [shapely.union_all(geoms[idx]) for idx in groups]
    assert len(got) == len(groups) and shapely.is_valid(got).all()
    np.testing.assert_allclose(shapely.area(got), shapely.area(want), rtol=1e-12)
    assert (shapely.area(shapely.symmetric_difference(got, want)) < 1e-6).all()


def test_explode_polygons_of_keeps_every_polygon_part_in_order():
    rng = np.random.default_rng(9)
    shapes = list(_shapes(rng, 30))
    mixed = [
        *shapes[:5],
        shapely.MultiPolygon([shapes[5], shapely.box(5000, 0, 5001, 1)]),
        shapely.Polygon(),
        None,
        shapely.LineString([(0, 0), (1, 1)]),
        shapely.GeometryCollection([shapes[6], shapely.Point(0, 0), shapes[7]]),
        shapely.MultiPolygon(),
        *shapes[8:12],
    ]
    geoms = np.array(mixed, dtype=object)
    parts, owner = explode_polygons_of(geoms)
    want_parts, want_owner = [], []
    for i, g in enumerate(mixed):  # brute force: every polygon inside, in order
        if g is None:
            continue
        for p in getattr(g, "geoms", [g]):
            if p.geom_type == "Polygon" and not p.is_empty:
                want_parts.append(p)
                want_owner.append(i)
    assert list(owner) == want_owner
    assert all(a.equals_exact(b, 0) for a, b in zip(parts, want_parts, strict=True))
    only_polygons = np.array(shapes, dtype=object)
    parts, owner = explode_polygons_of(only_polygons)
    assert list(owner) == list(range(len(shapes))) and all(parts == only_polygons)


def _names_in_pool() -> list[list[str]]:
    """Which threads ran an inner call made from each of four outer tasks."""

    def inner(_):
        return threading.current_thread().name

    return threads.threaded(lambda _: threads.threaded(inner, range(3)), range(4))


def test_a_call_from_the_kernels_own_threads_runs_in_that_thread():
    """Two threads, each waiting on work queued behind it, would never finish: a call
    made from one of the pool's threads runs there instead."""
    done: list = []
    runner = threading.Thread(target=lambda: done.append(_names_in_pool()), daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert done, "the nested call never finished"
    for names in done[0]:
        assert len(set(names)) == 1 and names[0].startswith("mineland-geometry")


def test_the_pool_ends_and_starts_again_and_a_forked_child_starts_its_own():
    from mineland.cli.process import may_end_early

    squares = np.array([shapely.box(i, 0, i + 1, 1) for i in range(3 * 2048)], dtype=object)
    threads.close_pool()  # started by a daemon thread of another test, its threads are too
    threads.map_chunks(shapely.area, squares)  # starts the pool's threads
    if threads.THREADS > 1:
        assert not may_end_early()  # its idle threads would be waited for
    threads.close_pool()
    assert may_end_early()
    assert threads.map_chunks(shapely.area, squares).sum() == len(squares)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as child:  # the parent's pool threads do not exist in the child
        got = child.apply_async(threads.map_chunks, (shapely.area, squares)).get(timeout=60)
    assert got.sum() == len(squares)
    threads.close_pool()


def _occupied_pool(started: threading.Event, release: threading.Event) -> threading.Thread:
    """A thread holding every thread of the pool on a task that waits for ``release``."""
    count, lock = [0], threading.Lock()

    def hold(_):
        with lock:
            count[0] += 1
            if count[0] == threads.THREADS:
                started.set()
        release.wait(30)

    holder = threading.Thread(target=threads.threaded, args=(hold, range(threads.THREADS)))
    holder.start()
    return holder


@pytest.mark.skipif(threads.THREADS < 2, reason="one thread: every call runs where it is made")
def test_urgent_work_goes_before_the_work_already_waiting():
    """Work handed over in an urgent block, after other work, is taken first; each
    kind in the order it came."""
    started, release, order = threading.Event(), threading.Event(), []
    holder = _occupied_pool(started, release)
    assert started.wait(30)

    def usual():
        threads.threaded(lambda k: order.append(("usual", k)), range(6))

    def urgent():
        with threads.urgent():
            threads.threaded(lambda k: order.append(("urgent", k)), range(4))

    callers = [threading.Thread(target=usual)]
    callers[0].start()
    while len(threads._waiting) < 6:  # the usual work is queued first
        time.sleep(0.01)
    callers.append(threading.Thread(target=urgent))
    callers[1].start()
    while len(threads._waiting) < 10:
        time.sleep(0.01)
    release.set()
    for t in (holder, *callers):
        t.join(30)
    # taken first by the threads in turn: at most one usual item each before the last
    # urgent one (in the order they came, all six would be)
    last_urgent = max(i for i, (kind, _) in enumerate(order) if kind == "urgent")
    assert sum(kind == "usual" for kind, _ in order[:last_urgent]) < threads.THREADS, order
    every = [("urgent", k) for k in range(4)] + [("usual", k) for k in range(6)]
    assert sorted(order) == sorted(every)
    assert not threads._waiting


def test_urgent_off_leaves_the_urgency_as_it_found_it():
    level = lambda: getattr(threads._local, "urgency", threads._USUAL)  # noqa: E731
    with threads.urgent(False):
        assert level() == threads._USUAL
    with threads.urgent(), threads.urgent(False):
        assert level() == threads._URGENT
    assert level() == threads._USUAL


@pytest.mark.skipif(threads.THREADS < 2, reason="one thread: every call runs where it is made")
def test_a_failing_item_is_raised_and_the_items_not_started_are_not_run():
    started, release, ran = threading.Event(), threading.Event(), []
    holder = _occupied_pool(started, release)
    assert started.wait(30)

    def item(k):
        if k == 0:
            raise ValueError("item 0 fails")
        time.sleep(0.05)
        ran.append(k)

    got: list = []

    def call():
        try:
            threads.threaded(item, range(20))
        except ValueError as exc:
            got.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while len(threads._waiting) < 20:
        time.sleep(0.01)
    release.set()
    for t in (holder, caller):
        t.join(30)
    threads.threaded(lambda k: k, range(4))  # the pool goes on working
    assert got and "item 0 fails" in str(got[0])
    assert len(ran) < 19  # those still waiting when item 0 failed were not run
    assert not threads._waiting


@pytest.mark.parametrize("seed", [0, 1])
def test_points_in_polygons_equals_testing_each_pair(seed):
    """Every (point, polygon) pair where the point lies in or on the polygon, and no
    other, ordered by polygon then point; missing and empty points lie nowhere."""
    from mineland.zones import points_in

    rng = np.random.default_rng(seed)
    polygons = _cells(rng)
    xy = rng.uniform(-100, 1100, (500, 2))
    on_vertex = shapely.get_coordinates(polygons)[:50]  # on borders: in both cells
    points = shapely.points(np.concatenate([xy, on_vertex])).astype(object)
    points[[3, 7]] = None
    points[11] = shapely.Point()
    want = [
        (p, k)
        for k, poly in enumerate(polygons)
        for p, pt in enumerate(points)
        if pt is not None and poly.intersects(pt)
    ]
    ip, iz = points_in(points, polygons)
    assert list(zip(ip.tolist(), iz.tolist(), strict=True)) == want
    assert len(ip) > len(set(ip.tolist()))  # border points were found in two cells


@pytest.mark.parametrize("n", [0, 1, 256, 257, 2048, 2049, 4097, 6000, 100_003])
def test_chunks_cover_the_items_in_even_shares_for_the_threads(n):
    """The chunks cover every item once, in order, none larger than CHUNK; above
    MIN_SPLIT items there are as many as a multiple of THREADS, of sizes that differ
    by one at most (so that no chunk is left to run alone at the end)."""
    spans = threads.chunk_spans(n)
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(end == start for (_, end), (start, _) in zip(spans[:-1], spans[1:], strict=True))
    sizes = [end - start for start, end in spans]
    assert max(sizes) <= max(threads.CHUNK, threads.MIN_SPLIT)
    if n <= threads.MIN_SPLIT:
        assert len(spans) == 1
    else:
        assert len(spans) % threads.THREADS == 0 and max(sizes) - min(sizes) <= 1
        # the fewest such chunks: a round of THREADS fewer would be larger than CHUNK
        assert (len(spans) - threads.THREADS) * threads.CHUNK < n


def test_pairs_in_threaded_chunks_keep_their_alignment():
    """map_pairs hands aligned slices of both arrays to each thread: every result is
    that of its own pair, in order, across chunk borders and for empty input."""
    rng = np.random.default_rng(5)
    n = 3 * threads.CHUNK + 17
    a = shapely.box(*rng.uniform(0, 10, (2, n)), *rng.uniform(10, 20, (2, n)))
    b = shapely.box(*rng.uniform(0, 15, (2, n)), *rng.uniform(15, 25, (2, n)))
    want = shapely.area(shapely.intersection(a, b))
    got = threads.map_pairs(lambda x, y: shapely.area(shapely.intersection(x, y)), a, b)
    np.testing.assert_array_equal(got, want)
    disk = threads.map_pairs(lambda x, y: share_a_disk(x, y, 0.6), a, b)
    np.testing.assert_array_equal(disk, share_a_disk(a, b, 0.6))
    empty = np.empty(0, dtype=object)
    assert len(threads.map_pairs(lambda x, y: shapely.area(x), empty, empty)) == 0


def test_projecting_with_the_kept_transformer_in_threads_equals_a_fresh_one():
    """One transformer per pair of CRSs, kept and shared by the threads, projects
    every chunk as a transformer made for it would, both ways."""
    import pyproj

    from mineland.zones import WGS84, project

    crs = pyproj.CRS.from_proj4("+proj=laea +lat_0=39.8 +lon_0=46.6 +ellps=WGS84 +units=m")
    rng = np.random.default_rng(3)
    lonlat = shapely.points(rng.uniform(44, 50, 3 * 2048), rng.uniform(38, 42, 3 * 2048))
    fresh = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)
    want = shapely.transform(lonlat, fresh.transform, interleaved=False)
    inverse = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True).transform
    for _ in range(2):
        got = project(lonlat, crs)
        assert shapely.equals_exact(got, want, tolerance=1e-6).all()
        back = project(got, crs, inverse=True)
        assert shapely.equals_exact(back, shapely.transform(want, inverse, interleaved=False)).all()
        assert shapely.equals_exact(back, lonlat, tolerance=1e-7).all()  # PROJ's inverse


def test_accountings_in_several_threads_at_once_equal_one_alone(demo):
    """The kernel's pool is shared by every caller in the process: three accountings
    started from three threads at once (a server, a notebook with threads) each get
    the figures of an accounting run alone."""
    from concurrent.futures import ThreadPoolExecutor

    from mineland.accounting import account

    dist, surveys = demo
    alone = account(dist, surveys).summary
    with ThreadPoolExecutor(3) as callers:
        together = list(callers.map(lambda _: account(dist, surveys).summary, range(3)))
    for summary in together:
        assert list(summary["district"]) == list(alone["district"])
        for column in ("contaminated_ha", "released_ha", "cleared_ha", "sha_ha"):
            np.testing.assert_allclose(summary[column], alone[column], rtol=1e-12)


@pytest.mark.parametrize("copies", [1, 3 * threads.CHUNK])  # one chunk; chunks in threads
def test_a_hole_at_1e308_is_invalid_without_a_raw_numpy_warning(copies):
    """GEOS's validity test overflows on a hole at 1e308 (a generated GeoJSON found
    it): numpy's warning of it reached the user raw, from the threads that test."""
    shell = [(46.48, 39.30), (46.49, 39.30), (46.49, 39.31), (46.48, 39.31)]
    hole = [(1e308, 0), (1e308, 1e-4), (1e308 - 1e292, 1e-4)]
    geoms = np.array([shapely.Polygon(shell, [hole]), shapely.Polygon(shell)] * copies)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        invalid = geometry.invalid_geometries(geoms)
    assert invalid.tolist() == [True, False] * copies
