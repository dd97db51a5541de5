"""The rolling accounting: each date built from the previous one must give what a
fresh :func:`mineland.account` gives at that date, on data made to be awkward."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import districts_frame, frame, sq

import mineland
from mineland.accounting import AccountingCache
from mineland.classes import METHODS
from mineland.rolling import RollingAccounting, summaries_at
from mineland.schema import SUMMARY_COLUMNS

KINDS = ("SHA", "CHA", "cleared", "reduced", "cancelled")
CLASSES_HA = ("cleared_ha", "reduced_ha", "cancelled_ha")
NUMERIC = [c for c in SUMMARY_COLUMNS if c not in ("district", "released_pct", "area_ha")]


def rec(rid, rtype, geom, date=None, **kw) -> dict:
    return {"record_id": rid, "record_type": rtype, "geometry": geom, "date": date, **kw}


def dated(rows: list[dict]) -> gpd.GeoDataFrame:
    surveys = frame(rows)
    surveys["date"] = pd.to_datetime(surveys["date"])
    return surveys


def pathological_records(seed: int) -> gpd.GeoDataFrame:
    """Clusters of overlapping records of every type over two districts and beyond
    them: chains that merge clusters late, releases before their hazards, records
    that touch only along an edge, undated ones, duplicates, points."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2021-01-01", "2023-12-31")
    rows = []
    for i in range(160):
        x, y = rng.uniform(-2000, 9000, 2)
        if i % 17 == 1:  # an edge-sharing neighbour of the previous record
            x, y = rows[-1]["bounds"][2], rows[-1]["bounds"][1]
        w, h = rng.uniform(100, 900, 2)
        shape = (
            shapely.box(x, y, x + w, y + h)
            if i % 3
            else shapely.Point(x, y).buffer(w / 2, quad_segs=3)
        )
        date = None if i % 11 == 0 else days[rng.integers(len(days))]
        rows.append(
            {
                "record_id": f"A{i}",
                "record_type": KINDS[rng.integers(len(KINDS))],
                "geometry": shape,
                "date": date,
                "bounds": shape.bounds,
            }
        )
    rows.append({**rows[5], "record_id": "dup"})  # the same land twice
    for i in range(30):
        kind = "device" if i % 2 else "incident"
        p = shapely.Point(*rng.uniform(-2000, 9000, 2))
        extra = {"quantity": int(rng.integers(1, 5))} if kind == "device" else {"killed": 1}
        rows.append(
            {
                "record_id": f"P{i}",
                "record_type": kind,
                "geometry": p,
                "date": days[i * 30],
                **extra,
            }
        )
    for r in rows:
        r.pop("bounds", None)
    return frame(rows)


def assert_same(got: pd.DataFrame, want: pd.DataFrame, label) -> None:
    got, want = got.set_index("district"), want.set_index("district")
    assert list(got.index) == list(want.index), label
    for col in NUMERIC:
        a, b = got[col].to_numpy(float), want[col].to_numpy(float)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{label} {col}")


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_every_month_equals_a_fresh_accounting(seed):
    dist = districts_frame({"Cəbrayıl": sq(0, 0, 4000, 8000), "Goražde": sq(4000, 0, 4000, 8000)})
    surveys = pathological_records(seed)
    cache = AccountingCache(dist, surveys)
    rolling = RollingAccounting(cache.districts, cache.records, cache.plan)
    ends = pd.date_range("2020-12-31", "2024-01-31", freq="ME")
    for t in ends:
        summary, _ = rolling.advance(t)
        want = mineland.account(dist, surveys, as_of=t, regions=cache.plan).summary
        assert_same(summary, want, t.date())


@pytest.mark.parametrize("seed", [6, 7])
def test_rolling_through_dates_equals_advancing_one_at_a_time(seed):
    """The class polygons of the next dates are worked out in a thread while this
    date's are put in place: the summaries and the hectares released in each period
    are those of advance(), date by date, and of a fresh accounting."""
    dist = districts_frame({"Cəbrayıl": sq(0, 0, 4000, 8000), "Goražde": sq(4000, 0, 4000, 8000)})
    surveys = pathological_records(seed)
    cache = AccountingCache(dist, surveys)
    ends = list(pd.date_range("2020-12-31", "2024-01-31", freq="ME"))
    one = RollingAccounting(cache.districts, cache.records, cache.plan)
    through = RollingAccounting(cache.districts, cache.records, cache.plan)
    steps = list(through.advance_through(ends))
    assert len(steps) == len(ends)
    released = 0.0
    for t, (summary, fresh) in zip(ends, steps, strict=True):
        want, want_fresh = one.advance(t)
        assert_same(summary, want, t.date())
        for m, ha in want_fresh.items():
            np.testing.assert_allclose(fresh[m], ha, rtol=1e-12, atol=1e-12)
            released += ha.sum()
        fresh_acc = mineland.account(dist, surveys, as_of=t, regions=cache.plan).summary
        assert_same(summary, fresh_acc, t.date())
    assert released > 0  # the periods did release land


def _released_since(acc, before, n: int) -> dict[str, np.ndarray]:
    """Per method, ha per district slot (outside last) of the class's land in ``acc``
    less all the land released in ``before``: plain overlays, region by region."""
    out = {m: np.zeros(n + 1) for m in METHODS}
    for k, region in enumerate(acc.regions):
        cut = None
        if before is not None:
            cut = shapely.union_all(np.concatenate([before.regions[k].classes[m] for m in METHODS]))
        zones = region.zones
        for m in METHODS:
            land = shapely.union_all(region.classes[m])
            if cut is not None:
                land = shapely.difference(land, cut)
            inside = shapely.area(shapely.intersection(land, zones.zones))
            out[m][:n] += np.bincount(zones.district, inside, n) / 1e4
            out[m][n] += (shapely.area(land) - inside.sum()) / 1e4
    return out


@pytest.mark.parametrize("seed", [3, 8])
def test_land_released_in_a_period_is_its_method_now_less_all_land_released_before(seed):
    """What each period released, by method and district, is the land of that method
    at its end less all the land released at the one before, worked out here by
    plain overlays of two fresh accountings.  The data have periods where a release
    changes the method of land released before (cancelled, then cleared): that land
    is not released again."""
    dist = districts_frame({"Cəbrayıl": sq(0, 0, 4000, 8000), "Goražde": sq(4000, 0, 4000, 8000)})
    surveys = pathological_records(seed)
    cache = AccountingCache(dist, surveys)
    ends = list(pd.date_range("2020-12-31", "2024-01-31", freq="QE"))
    steps = RollingAccounting(cache.districts, cache.records, cache.plan).advance_through(ends)
    before, changed_method = None, 0
    for t, (_, fresh) in zip(ends, steps, strict=True):
        acc = mineland.account(dist, surveys, as_of=t, regions=cache.plan)
        want = _released_since(acc, before, len(dist))
        for m in METHODS:
            np.testing.assert_allclose(fresh[m], want[m], rtol=1e-7, atol=1e-7, err_msg=f"{t} {m}")
        if before is not None:  # the cleared stock grew by more than the land new to it
            grew = acc.summary["cleared_ha"].sum() - before.summary["cleared_ha"].sum()
            changed_method += grew > fresh["cleared"].sum() + 1e-6
        before = acc
    assert changed_method > 0


def test_rolling_through_dates_only_moves_forward():
    dist = districts_frame({"A": sq(0, 0, 4000)})
    surveys = dated([rec("a", "SHA", sq(0, 0), "2022-01-01"), rec("b", "cleared", sq(0, 0))])
    cache = AccountingCache(dist, surveys)
    rolling = RollingAccounting(cache.districts, cache.records, cache.plan)
    with pytest.raises(ValueError, match="forward"):
        list(rolling.advance_through(["2023-01-01", "2021-01-01"]))


def test_world_wide_regions_roll_too():
    from test_worldwide import districts_gdf, hazards_gdf

    hazards = hazards_gdf()
    hazards["date"] = pd.to_datetime(
        ["2021-05-01", "2022-01-01", None, "2023-03-03", None, "2021-07-07"]
    )
    released = hazards.iloc[[1, 3]].copy()
    released["record_type"] = "cleared"
    released["record_id"] += "-cleared"
    released["geometry"] = released.geometry.scale(0.5, 0.5)
    released["date"] = pd.to_datetime(["2022-06-01", "2023-06-01"])
    surveys = gpd.GeoDataFrame(pd.concat([hazards, released], ignore_index=True), crs=4326)
    dist = districts_gdf()
    cache = AccountingCache(dist, surveys)
    assert len(cache.plan) > 1
    cache.at(None)  # its projected pieces are lent to the rolling accounting
    ends = list(pd.date_range("2020-12-31", "2023-12-31", freq="QE"))
    for t, got in zip(ends, summaries_at(cache, ends), strict=True):
        assert_same(got, cache.at(t).summary, t.date())


def test_it_only_moves_forward():
    dist = districts_frame({"A": sq(0, 0, 4000)})
    surveys = frame(
        [{"record_id": "a", "record_type": "SHA", "geometry": sq(0, 0), "date": "2022-01-01"}]
    )
    surveys["date"] = pd.to_datetime(surveys["date"])
    cache = AccountingCache(dist, surveys)
    rolling = RollingAccounting(cache.districts, cache.records, cache.plan)
    rolling.advance("2023-01-01")
    with pytest.raises(ValueError, match="forward"):
        rolling.advance("2021-01-01")


def test_a_cluster_worked_out_again_from_its_classes_keeps_the_precedence():
    """Each month a cluster gains a record whose class takes precedence over land of
    an earlier one (SHA, then CHA over part of it; cancelled, then reduced, then
    cleared over the same land; a hazard added over land already released; a release
    beside remaining CHA): the classes worked out from last month's classes and the
    new record equal a fresh accounting's, every month."""
    dist = districts_frame({"Cəbrayıl": sq(0, 0, 3000), "Goražde": sq(3000, 0, 3000)})
    steps = [
        ("SHA", sq(500, 500, 3000, 1000)),
        ("CHA", sq(1000, 600, 800)),
        ("cancelled", sq(900, 500, 1200, 900)),
        ("reduced", sq(1200, 400, 700, 900)),
        ("cleared", sq(1000, 700, 2000, 400)),
        ("SHA", sq(2400, 200, 600)),
        ("cancelled", sq(2500, 300, 200)),
        ("CHA", sq(2450, 250, 300)),
        ("cancelled", sq(3300, 600, 150)),  # the cluster again, its CHA left as it was
        ("cleared", sq(2300, 100, 900, 1500)),
    ]
    rows = [
        rec(f"r{i}", kind, shape, f"2021-{i + 1:02d}-15") for i, (kind, shape) in enumerate(steps)
    ]
    surveys = dated(rows)
    cache = AccountingCache(dist, surveys)
    ends = list(pd.date_range("2021-01-31", periods=len(steps), freq="ME"))
    rolling = RollingAccounting(cache.districts, cache.records, cache.plan)
    held = set()
    for t, (summary, _) in zip(ends, rolling.advance_through(ends), strict=True):
        want = mineland.account(dist, surveys, as_of=t, regions=cache.plan).summary
        assert_same(summary, want, t.date())
        held |= {col for col in ("sha_ha", "cha_ha", *CLASSES_HA) if summary[col].sum() > 0}
    assert held == {"sha_ha", "cha_ha", *CLASSES_HA}  # every class held land in some month


def test_released_in_a_period_is_new_land_only():
    """Land cleared again in a later period is not released again; land cleared for
    the first time is, with the method that holds it."""
    dist = districts_frame({"A": sq(-5000, -5000, 20000)})
    rows = [
        {"record_id": "h", "record_type": "SHA", "geometry": sq(0, 0, 2000), "date": "2021-01-10"},
        {
            "record_id": "c1",
            "record_type": "cleared",
            "geometry": sq(0, 0, 1000),
            "date": "2021-02-10",
        },
        {
            "record_id": "c2",
            "record_type": "cleared",
            "geometry": sq(0, 0, 1000, 2000),
            "date": "2021-03-10",
        },
    ]
    surveys = frame(rows)
    surveys["date"] = pd.to_datetime(surveys["date"])
    cache = AccountingCache(dist, surveys)
    rolling = RollingAccounting(cache.districts, cache.records, cache.plan)
    rolling.advance("2021-01-31")
    _, feb = rolling.advance("2021-02-28")
    _, mar = rolling.advance("2021-03-31")
    square_ha = cache.at("2021-02-28").summary["cleared_ha"].iloc[0]
    assert feb["cleared"][0] == pytest.approx(square_ha, rel=1e-9)
    assert mar["cleared"][0] == pytest.approx(square_ha, rel=1e-6)  # the second square only


@pytest.mark.parametrize("seed", range(4))
def test_each_class_part_is_given_the_cluster_it_lies_in(seed):
    """The cluster of a class part, by boxes where they settle it and by a point
    inside it where they do not, against a brute-force test of every piece."""
    from mineland.geometry import OverlayLog, connected, union_parts
    from mineland.rolling import _cluster_of

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 3000, (300, 2))
    size = rng.uniform(20, 150, 300)
    pieces = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + size, xy[:, 1] + size * 0.4)
    cluster = connected(pieces)
    parts = union_parts(pieces, OverlayLog())
    # an L-shaped cluster's box holds the box of another: some parts are ambiguous
    got = _cluster_of(parts, pieces, cluster)
    inside = shapely.point_on_surface(parts)
    want = [cluster[[i for i, p in enumerate(pieces) if p.intersects(q)][0]] for q in inside]
    assert got.tolist() == want
    boxes = shapely.STRtree(pieces).query(parts)
    ambiguous = np.unique(boxes[0][cluster[boxes[1]] != got[boxes[0]]])
    assert len(ambiguous) > 0  # the exact path was taken too


def test_chosen_is_isin():
    from mineland.rolling import chosen

    rng = np.random.default_rng(3)
    for _ in range(50):
        labels = rng.integers(0, 40, rng.integers(0, 60))
        picked = np.unique(rng.integers(0, 50, rng.integers(0, 10)))
        assert chosen(labels, picked).tolist() == np.isin(labels, picked).tolist()


def test_a_cluster_is_placed_in_a_zone_only_when_all_its_pieces_lie_inside_it():
    """Only a cluster whose every piece lies inside one zone (not on its edge) gets
    that zone, so that its class polygons are placed there without a test; a cluster
    across two zones, on a zone's edge, or outside them all gets -1."""
    from mineland.geometry import ZoneIndex, connected
    from mineland.rolling import _cluster_zones

    zones = np.array([sq(0, 0, 100, 100), sq(100, 0, 100, 100)], dtype=object)
    pieces = np.array(
        [
            sq(10, 10, 20, 20),  # cluster: two overlapping pieces inside zone 0
            sq(25, 25, 20, 20),
            sq(150, 50, 10, 10),  # inside zone 1
            sq(90, 60, 20, 10),  # across the border of the two zones
            sq(60, 80, 10, 20),  # inside zone 0, touching its outer edge
            sq(300, 300, 10, 10),  # outside both
            sq(120, 10, 10, 10),  # inside zone 1, chained to a piece across the border
            sq(95, 15, 30, 5),
        ],
        dtype=object,
    )
    cluster = connected(pieces)
    zone = _cluster_zones(pieces, cluster, ZoneIndex.of(zones))[cluster]
    assert zone.tolist() == [0, 0, 1, -1, -1, -1, -1, -1]


@pytest.mark.parametrize("seed", range(3))
def test_class_parts_taken_and_put_keep_what_a_plain_list_keeps(seed):
    """Parts taken away are marked gone and compacted later; at every step the parts
    taken (and their m² per slot, some clusters left out), and the m² per slot, are
    those of a plain list of the parts put and not yet taken."""
    from mineland.rolling import _ClassParts

    rng = np.random.default_rng(seed)
    store, kept = _ClassParts(), []  # kept: (part, cluster, [(slot, m2)])
    serial = 0
    for _ in range(40):
        clusters = np.unique(rng.integers(0, 12, rng.integers(0, 4)))
        taken = store.take(clusters)
        want = [p for p, c, _ in kept if c in set(clusters.tolist())]
        assert sorted(map(str, taken.parts)) == sorted(map(str, want))
        left_out = clusters[: len(clusters) // 2]  # the m² per slot of the rest
        want_taken = np.zeros(5)
        for _, c, pieces in kept:
            if c in set(clusters.tolist()) - set(left_out.tolist()):
                for slot, m2 in pieces:
                    want_taken[slot] += m2
        np.testing.assert_allclose(taken.per_slot(4, but=left_out), want_taken, rtol=1e-12)
        kept = [k for k in kept if k[1] not in set(clusters.tolist())]
        new, cluster, rows = [], [], ([], [], [])
        for _ in range(rng.integers(0, 6)):
            serial += 1
            c = int(rng.choice(clusters)) if len(clusters) else int(rng.integers(0, 12))
            pieces = [(int(rng.integers(0, 4)), float(rng.uniform(1, 100))) for _ in range(2)]
            for slot, m2 in pieces:
                rows[0].append(len(new))
                rows[1].append(slot)
                rows[2].append(m2)
            new.append(shapely.Point(serial, 0))
            cluster.append(c)
            kept.append((new[-1], c, pieces))
        part, slot, m2 = (np.array(col) for col in rows)
        part, slot = part.astype(np.int64), slot.astype(np.int64)
        store.put(np.array(new, dtype=object), np.array(cluster, dtype=np.int64), (part, slot, m2))
        want_m2 = np.zeros(5)
        for _, _, pieces in kept:
            for slot, m2 in pieces:
                want_m2[slot] += m2
        np.testing.assert_allclose(store.per_slot(4), want_m2, rtol=1e-12)
        assert np.count_nonzero(~store.alive) * 2 <= len(store.alive)  # compacted in time
