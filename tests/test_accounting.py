"""Area accounting against shapes of known area and independent geodesic areas."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import AZE, districts_frame, frame, geod_ha, row, sq
from shapely.errors import GEOSException

import mineland
from mineland import geometry as mgeom
from mineland.schema import OUTSIDE

REL = 1e-5  # equal-area projections with different centres agree to about 1e-6
# edges that coincide in one projection differ by millimetres in another: 1 m² tolerance
SLIVER = 1e-4


def rec(rid, rtype, geom, date=None, **extra):
    return {"record_id": rid, "record_type": rtype, "date": date, "geometry": geom, **extra}


def summarize(districts, rows, **kw):
    return mineland.summarize(districts, frame(rows), **kw)


def test_single_square_is_100_ha(two_districts):
    s = summarize(two_districts, [rec("a", "SHA", sq(1000, 1000))])
    west = row(s, "West")
    assert west["sha_ha"] == pytest.approx(100.0, rel=REL)
    assert west["contaminated_ha"] == pytest.approx(100.0, rel=REL)
    assert row(s, "East")["sha_ha"] == 0
    assert west["area_ha"] == pytest.approx(10_000.0, rel=REL)
    assert OUTSIDE not in set(s["district"])


def test_overlapping_hazards_are_not_double_counted(two_districts):
    s = summarize(
        two_districts,
        [
            rec("a", "SHA", sq(1000, 1000)),
            rec("b", "SHA", sq(1500, 1000)),
            rec("c", "SHA", sq(1000, 1000)),
        ],
    )
    assert row(s, "West")["sha_ha"] == pytest.approx(150.0, rel=REL)
    assert row(s, "West")["hazard_records"] == 3


def test_cha_takes_precedence_over_sha(two_districts):
    s = summarize(two_districts, [rec("s", "SHA", sq(1000, 1000)), rec("c", "CHA", sq(1500, 1000))])
    west = row(s, "West")
    assert west["cha_ha"] == pytest.approx(100.0, rel=REL)
    assert west["sha_ha"] == pytest.approx(50.0, rel=REL)
    assert west["contaminated_ha"] == pytest.approx(150.0, rel=REL)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        # the three methods on the same 100 ha: the strongest method wins, whatever the order
        (
            ["cleared", "reduced", "cancelled"],
            {"cleared_ha": 100, "reduced_ha": 0, "cancelled_ha": 0},
        ),
        (
            ["cancelled", "reduced", "cleared"],
            {"cleared_ha": 100, "reduced_ha": 0, "cancelled_ha": 0},
        ),
        (["reduced", "cancelled"], {"cleared_ha": 0, "reduced_ha": 100, "cancelled_ha": 0}),
        (["cancelled", "cleared"], {"cleared_ha": 100, "reduced_ha": 0, "cancelled_ha": 0}),
        (["cancelled"], {"cleared_ha": 0, "reduced_ha": 0, "cancelled_ha": 100}),
    ],
)
def test_release_precedence_on_identical_land(two_districts, order, expected):
    rows = [rec("h", "CHA", sq(1000, 1000))]
    rows += [rec(f"r{i}", t, sq(1000, 1000)) for i, t in enumerate(order)]
    west = row(summarize(two_districts, rows), "West")
    for col, ha in expected.items():
        assert west[col] == pytest.approx(ha, rel=REL, abs=SLIVER)
    assert west["contaminated_ha"] == pytest.approx(0.0, abs=SLIVER)
    assert west["released_ha"] == pytest.approx(100.0, rel=REL)


def test_release_precedence_partial_overlaps(two_districts):
    # hazard 0..3000 x 0..1000 (300 ha); cleared 0..1000, reduced 500..2000, cancelled 1500..3000
    rows = [
        rec("h", "SHA", sq(1000, 1000, 3000, 1000)),
        rec("cl", "cleared", sq(1000, 1000, 1000, 1000)),
        rec("rd", "reduced", sq(1500, 1000, 1500, 1000)),
        rec("cn", "cancelled", sq(2500, 1000, 1500, 1000)),
    ]
    west = row(summarize(two_districts, rows), "West")
    assert west["cleared_ha"] == pytest.approx(100.0, rel=REL)
    assert west["reduced_ha"] == pytest.approx(100.0, rel=REL)  # 2000..3000 minus nothing
    assert west["cancelled_ha"] == pytest.approx(100.0, rel=REL)  # 3000..4000 lies beyond reduced
    assert west["sha_ha"] == pytest.approx(0.0, abs=SLIVER)
    assert west["released_ha"] == pytest.approx(300.0, rel=REL)
    assert west["recorded_ha"] == pytest.approx(300.0, rel=REL)
    assert west["released_pct"] == pytest.approx(100.0, rel=REL)


def test_released_land_outside_hazards_still_counts(two_districts):
    rows = [rec("h", "SHA", sq(1000, 1000)), rec("c", "cleared", sq(1500, 1000))]
    west = row(summarize(two_districts, rows), "West")
    assert west["cleared_ha"] == pytest.approx(100.0, rel=REL)
    assert west["sha_ha"] == pytest.approx(50.0, rel=REL)
    assert west["recorded_ha"] == pytest.approx(150.0, rel=REL)
    assert west["recorded_ha"] == pytest.approx(west["contaminated_ha"] + west["released_ha"])
    assert west["released_pct"] == pytest.approx(100 * 100 / 150, rel=REL)


def test_polygon_crossing_district_border_is_split(two_districts):
    # 2 km x 1 km straddling x = 10 km: 100 ha on each side
    s = summarize(two_districts, [rec("x", "CHA", sq(9000, 2000, 2000, 1000))])
    assert row(s, "West")["cha_ha"] == pytest.approx(100.0, rel=REL)
    assert row(s, "East")["cha_ha"] == pytest.approx(100.0, rel=REL)
    assert s["hazard_records"].sum() == 1  # a record counts once


def test_holes_and_multipolygons(two_districts):
    ring = shapely.Polygon(sq(1000, 1000, 2000).exterior, [sq(1500, 1500).exterior])  # 400 - 100
    multi = shapely.MultiPolygon([sq(12_000, 1000), sq(15_000, 1000, 500)])  # 100 + 25
    s = summarize(two_districts, [rec("r", "SHA", ring), rec("m", "CHA", multi)])
    assert row(s, "West")["sha_ha"] == pytest.approx(300.0, rel=REL)
    assert row(s, "East")["cha_ha"] == pytest.approx(125.0, rel=REL)
    # a hazard filling the hole is counted, the hole itself is not
    s2 = summarize(two_districts, [rec("r", "SHA", ring), rec("f", "CHA", sq(1500, 1500))])
    assert row(s2, "West")["contaminated_ha"] == pytest.approx(400.0, rel=REL)


def test_bow_tie_keeps_both_lobes(two_districts):
    # figure-eight: two triangles of 1000 x 500 / 2 = 25 ha each
    bow = shapely.Polygon([(1000, 1000), (2000, 2000), (2000, 1000), (1000, 2000), (1000, 1000)])
    assert not bow.is_valid
    assert bow.buffer(0).area / 1e4 == pytest.approx(25.0)  # the trap make_valid avoids
    data = mineland.read_surveys  # noqa: F841 - readers are exercised in test_io
    s = summarize(two_districts, [rec("bow", "SHA", bow)])
    assert row(s, "West")["sha_ha"] == pytest.approx(50.0, rel=REL)


def test_as_of_filter_and_undated_records(two_districts):
    rows = [
        rec("h1", "SHA", sq(1000, 1000), "2021-01-01"),
        rec("h2", "SHA", sq(3000, 1000), "2023-06-01"),
        rec("h3", "CHA", sq(5000, 1000), None),
        rec("c1", "cleared", sq(1000, 1000), "2022-03-01"),
        rec("d1", "device", shapely.Point(1500, 1500), "2022-03-01", quantity=4),
        rec("d2", "device", shapely.Point(1600, 1500), None, quantity=2),
    ]
    early = row(summarize(two_districts, rows, as_of="2021-12-31"), "West")
    assert early["sha_ha"] == pytest.approx(100.0, rel=REL)
    assert early["cha_ha"] == pytest.approx(100.0, rel=REL)  # undated: counts at every date
    assert early["cleared_ha"] == 0
    assert early["devices"] == 2
    mid = row(summarize(two_districts, rows, as_of="2022-03-01"), "West")  # inclusive
    assert mid["sha_ha"] == pytest.approx(0.0, abs=SLIVER)
    assert mid["cleared_ha"] == pytest.approx(100.0, rel=REL)
    assert mid["devices"] == 6
    late = row(summarize(two_districts, rows), "West")
    assert late["sha_ha"] == pytest.approx(100.0, rel=REL)
    assert late["contaminated_ha"] == pytest.approx(200.0, rel=REL)


def test_as_of_rejects_bad_dates(two_districts):
    with pytest.raises(mineland.DataError, match="2022-02-30"):
        summarize(two_districts, [rec("a", "SHA", sq(0, 0))], as_of="2022-02-30")


def test_points_in_and_outside_districts(two_districts):
    rows = [
        rec("d1", "device", shapely.Point(500, 500), quantity=3),
        rec("d2", "device", shapely.Point(15_000, 500)),  # quantity defaults to 1
        rec("d3", "device", shapely.Point(50_000, 500), quantity=7),
        rec("i1", "incident", shapely.Point(600, 600), killed=1, injured=2),
        rec("i2", "incident", shapely.Point(-5000, 600), killed=2, injured=0),
        rec("b", "device", shapely.Point(10_000, 500), quantity=5),  # on the shared border
    ]
    s = summarize(two_districts, rows)
    assert row(s, "West")["devices"] == 3 + 5  # border point goes to one district only
    assert row(s, "East")["devices"] == 1
    out = row(s, OUTSIDE)
    assert (out["devices"], out["incidents"], out["killed"], out["injured"]) == (7, 1, 2, 0)
    assert (row(s, "West")["incidents"], row(s, "West")["killed"]) == (1, 1)
    assert s["devices"].sum() == 16


def test_outside_row_and_totals_equal_global_areas(two_districts):
    rows = [
        rec("a", "SHA", sq(-500, 1000)),  # half outside to the west
        rec("b", "CHA", sq(30_000, 1000)),  # wholly outside
        rec("c", "cleared", sq(19_500, 9_500)),  # quarter inside East
    ]
    s = summarize(two_districts, rows)
    out = row(s, OUTSIDE)
    assert out["sha_ha"] == pytest.approx(50.0, rel=REL)
    assert out["cha_ha"] == pytest.approx(100.0, rel=REL)
    assert out["cleared_ha"] == pytest.approx(75.0, rel=REL)
    assert np.isnan(out["area_ha"])
    assert s["recorded_ha"].sum() == pytest.approx(300.0, rel=REL)


def test_district_popups_count_unicode_and_merged_names():
    districts = districts_frame({"Cəbrayıl": sq(0, 0, 5000), "Goražde": sq(5000, 0, 5000)})
    extra = districts_frame({"Cəbrayıl": sq(0, 5000, 5000)})
    both = gpd.GeoDataFrame(pd.concat([districts, extra], ignore_index=True), crs=4326)
    s = mineland.summarize(both, frame([rec("a", "SHA", sq(1000, 6000))]))
    assert list(s["district"]) == ["Cəbrayıl", "Goražde"]
    assert row(s, "Cəbrayıl")["area_ha"] == pytest.approx(5000.0, rel=REL)
    assert row(s, "Cəbrayıl")["sha_ha"] == pytest.approx(100.0, rel=REL)


def test_overlapping_districts_do_not_double_count():
    districts = districts_frame({"A": sq(0, 0, 6000), "B": sq(4000, 0, 6000)})
    s = mineland.summarize(districts, frame([rec("h", "SHA", sq(4500, 1000))]))
    assert s["sha_ha"].sum() == pytest.approx(100.0, rel=REL)
    assert row(s, "A")["sha_ha"] == pytest.approx(100.0, rel=REL)  # first district keeps it
    assert s.attrs["mineland"]["district_overlap_ha"] == pytest.approx(2000 * 6000 / 1e4)


def test_district_inside_another_is_not_double_counted():
    # a city district drawn inside its rayon, without a hole in the rayon
    districts = districts_frame({"City": sq(2000, 2000, 2000), "Rayon": sq(0, 0, 10_000)})
    s = mineland.summarize(districts, frame([rec("h", "SHA", sq(2500, 2500))]))
    assert row(s, "City")["sha_ha"] == pytest.approx(100.0, rel=REL)
    assert row(s, "Rayon")["sha_ha"] == pytest.approx(0.0, abs=SLIVER)
    assert row(s, "Rayon")["area_ha"] == pytest.approx(10_000 - 400, rel=REL)


def test_recorded_is_contaminated_plus_released_on_random_data(two_districts, rng):
    rows = []
    types = ["SHA", "CHA", "cleared", "reduced", "cancelled"]
    for i in range(300):
        x, y = rng.uniform(-2000, 22_000), rng.uniform(-2000, 12_000)
        poly = shapely.Point(x, y).buffer(rng.uniform(50, 900), quad_segs=5)
        rows.append(rec(f"r{i}", types[i % 5], poly))
    acc = mineland.account(two_districts, frame(rows))
    s = acc.summary
    assert np.allclose(s["recorded_ha"], s["contaminated_ha"] + s["released_ha"], rtol=1e-12)
    # independent check: the area of the union of everything, computed in a second way
    everything = shapely.union_all([r["geometry"] for r in rows])
    assert s["recorded_ha"].sum() == pytest.approx(everything.area / 1e4, rel=1e-6)
    # and each class's union measured geodesically
    for name, col in mineland.accounting.CLASSES.items():
        geoms = acc.class_geometries(name)
        geo = sum(geod_ha(g) for g in geoms) if len(geoms) else 0.0
        assert s[col].sum() == pytest.approx(geo, rel=5e-4, abs=1e-6)


def test_district_areas_match_geodesic_areas_on_real_boundaries():
    if not AZE.exists():
        pytest.skip("shared Azerbaijan boundaries not available")
    districts = mineland.read_districts(AZE)
    s = mineland.summarize(districts, frame([rec("a", "SHA", sq(0, 0))]))
    for _, r in s[s["district"] != OUTSIDE].iterrows():
        geom = districts.loc[districts["district"] == r["district"], "geometry"].iloc[0]
        assert r["area_ha"] == pytest.approx(geod_ha(geom), rel=5e-4), r["district"]


def test_large_polygons_match_geodesic_area(two_districts):
    # a 60 km x 40 km irregular, densely noded polygon, far from the projection centre
    theta = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    r = 20_000 * (1 + 0.3 * np.sin(5 * theta))
    poly = shapely.Polygon(np.c_[80_000 + 1.5 * r * np.cos(theta), 40_000 + r * np.sin(theta)])
    gdf = frame([rec("big", "SHA", poly)])
    s = mineland.summarize(two_districts, gdf)
    assert row(s, OUTSIDE)["sha_ha"] == pytest.approx(geod_ha(gdf.geometry.iloc[0]), rel=5e-4)


def test_utm_input_is_measured_ellipsoidally(two_districts):
    # a 1 km square drawn in UTM 38N is not 100 ha on the ground (scale factor)
    x0, y0 = 640_000, 4_400_000
    gdf = gpd.GeoDataFrame(
        {"record_id": ["u"], "record_type": ["SHA"]},
        geometry=[shapely.box(x0, y0, x0 + 1000, y0 + 1000).segmentize(50)],
        crs=32638,
    )
    s = mineland.summarize(two_districts, gdf)
    expected = geod_ha(gdf.to_crs(4326).geometry.iloc[0])
    assert s["sha_ha"].sum() == pytest.approx(expected, rel=1e-5)
    assert abs(expected - 100.0) > 0.01  # so that the check above could fail


def test_topology_exception_is_retried_on_a_grid(monkeypatch):
    real = mgeom.shapely.difference
    calls = {"n": 0}

    def flaky(a, b, **kw):
        if "grid_size" not in kw:
            calls["n"] += 1
            raise GEOSException("TopologyException: side location conflict at 1 2")
        return real(a, b, **kw)

    monkeypatch.setattr(mgeom.shapely, "difference", flaky)
    log = mgeom.OverlayLog()
    parts = np.array([sq(0, 0, 1000)], dtype=object)
    cut = mgeom.subtract(parts, np.array([sq(500, 0, 1000)], dtype=object), log)
    assert shapely.area(cut).sum() == pytest.approx(500_000.0)
    assert calls["n"] >= 1
    assert len(log) == 1 and log.events[0]["grid_size"] == mgeom.GRID_SIZES[0]


def test_an_operation_refused_on_invalid_inputs_is_done_on_them_made_valid(monkeypatch, caplog):
    # as GEOS may refuse a polygon cut at ±180° whose two sides touch once projected:
    # the operation is done again on the inputs made valid, the same land, with a line
    # at the INFO level, not a warning of snapped grids
    real = mgeom.shapely.intersection

    def strict(a, b, **kw):
        if not np.all(shapely.is_valid(a)):
            raise GEOSException("TopologyException: found non-noded intersection")
        return real(a, b, **kw)

    monkeypatch.setattr(mgeom.shapely, "intersection", strict)
    touching = shapely.MultiPolygon([sq(0, 0, 1000), sq(1000, 0, 1000)])  # share an edge
    assert not shapely.is_valid(touching)
    log = mgeom.OverlayLog()
    with caplog.at_level(logging.INFO, logger="mineland"):
        cut = mgeom.intersection(np.array([touching], dtype=object), sq(500, 0, 1000), log)
    assert shapely.area(cut[0]) == pytest.approx(1000.0 * 1000.0)
    assert len(log) == 1 and log.events[0]["grid_size"] == 0 and log.snapped == 0
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "made valid" in caplog.records[0].getMessage()


# A pair on which GEOS 3.14 raises "TopologyException: side location conflict":
# an irregular hand-drawn-like polygon (self-touching) and a half-plane cut.
TOPO_A = (
    "POLYGON ((15383.696810800076 -60916.031494673276, "
    "15383.04192206405 -60893.86641492745, 15395.80165480652 -60917.276612571775, "
    "15397.350425942703 -60922.25416270715, 15396.634480685256 -60917.27603371996, "
    "15394.708508910306 -60907.71796959504, 15412.244376191755 -60917.295024050894, "
    "15403.02905494894 -60893.43048188063, 15408.32025635576 -60892.99776820143, "
    "15418.657719984087 -60897.715924468335, 15407.521398905277 -60882.062187703894, "
    "15418.163321494676 -60885.88529993919, 15403.337020895471 -60835.80424996694, "
    "15401.649703263853 -60825.19722112756, 15383.696810800076 -60916.031494673276))"
)
TOPO_B = (
    "POLYGON ((15343.551781192522 -60859.690139104554, "
    "15360.300192408427 -60800.67515584834, 15478.330158920864 -60834.17197828015, "
    "15461.581747704959 -60893.18696153637, 15343.551781192522 -60859.690139104554))"
)


def test_real_geos_topology_exception_does_not_end_the_run():
    a, b = shapely.from_wkt(TOPO_A), shapely.from_wkt(TOPO_B)
    with pytest.raises(GEOSException, match="TopologyException"):
        shapely.intersection(a, b)
    log = mgeom.OverlayLog()
    out = mgeom._pairwise(
        shapely.intersection,
        np.array([a], dtype=object),
        np.array([b], dtype=object),
        log,
        "intersection",
        fallback=lambda x, y: None,
    )
    expected = shapely.intersection(shapely.make_valid(a), b).area
    assert out[0] is not None and out[0].area == pytest.approx(expected)
    assert len(log) == 1  # the retry is recorded


def test_summary_columns_and_types(two_districts):
    s = summarize(two_districts, [rec("a", "SHA", sq(0, 0))])
    assert list(s.columns[:-1]) == list(mineland.schema.SUMMARY_COLUMNS)
    assert isinstance(s, gpd.GeoDataFrame) and s.crs.to_epsg() == 4326


def test_empty_surveys(two_districts):
    s = summarize(two_districts, [rec("a", "device", shapely.Point(100, 100))])
    assert s["recorded_ha"].sum() == 0
    assert s["released_pct"].isna().all()


def test_a_spike_of_no_width_does_not_make_land_noise():
    from mineland.geometry import area_without_slivers, narrow

    # land 50 m long and 1.4 mm wide: not noise, even with a 466 m spike of no width
    # that an overlay left on it (which alone would make it read as 0.07 mm wide)
    land = shapely.Polygon([(0, 0), (50, 0), (50, 0.0014), (0, 0.0014)])
    spiked = shapely.Polygon(
        [(0, 0), (50, 0), (516, 0.0007), (50, 0.0007 + 1e-9), (50, 0.0014), (0, 0.0014)]
    )
    band = shapely.Polygon([(0, 0), (500, 0), (500, 0.00005), (0, 0.00005)])  # 0.05 mm
    assert shapely.is_valid(spiked) and spiked.length > 1000
    assert list(narrow(np.array([land, spiked, band], dtype=object))) == [False, False, True]
    got = area_without_slivers(np.array([spiked, band], dtype=object))
    assert got == pytest.approx(spiked.area, rel=1e-12)
