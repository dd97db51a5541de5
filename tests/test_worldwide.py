"""Correct anywhere on Earth: districts on several continents, huge 4-vertex
polygons, the antimeridian.  Expected hectares come from pyproj's geodesic area
(GeographicLib) of the very same polygons, never from mineland."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import GEOD

import mineland


def geod_ha(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e4


def box(minx, miny, maxx, maxy):
    """A 4-vertex lon/lat rectangle: its edges are read as geodesics."""
    return shapely.Polygon([(minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy)])


#: districts on four continents; "Savanna" is 20° × 8° with 4 vertices
DISTRICTS = {
    "Antioquia-like": box(-76.5, 5.0, -74.5, 8.0),
    "Savanna": box(12.0, -16.0, 32.0, -8.0),
    "Donbas-like": box(36.0, 47.0, 40.0, 49.5),
    "Battambang-like": box(102.5, 12.5, 103.8, 13.8),
}
#: disjoint hazards well inside their district, some hundreds of km wide
HAZARDS = {
    "Antioquia-like": [box(-76.0, 5.5, -75.0, 7.5)],
    "Savanna": [
        box(13.0, -15.0, 20.0, -9.0),
        box(21.0, -15.5, 31.0, -12.0),
        box(21.0, -11.0, 24.0, -9.0),
    ],
    "Donbas-like": [box(36.5, 47.5, 39.5, 49.0)],
    "Battambang-like": [box(102.8, 12.8, 103.0, 13.0)],
}


def districts_gdf(names=None) -> gpd.GeoDataFrame:
    names = names or list(DISTRICTS)
    return gpd.GeoDataFrame({"name": names}, geometry=[DISTRICTS[n] for n in names], crs=4326)


def hazards_gdf(names=None) -> gpd.GeoDataFrame:
    names = names or list(HAZARDS)
    rows = [(f"{n}-{k}", g) for n in names for k, g in enumerate(HAZARDS[n])]
    return gpd.GeoDataFrame(
        {"record_id": [r for r, _ in rows], "record_type": "CHA"},
        geometry=[g for _, g in rows],
        crs=4326,
    )


@pytest.fixture(scope="module")
def world():
    return mineland.account(districts_gdf(), hazards_gdf())


def test_every_district_matches_geographiclib(world):
    summary = world.summary.set_index("district")
    assert (mineland.schema.OUTSIDE not in summary.index) or summary.loc[
        mineland.schema.OUTSIDE, "recorded_ha"
    ] == pytest.approx(0, abs=1e-6)
    for name, geom in DISTRICTS.items():
        want_cha = sum(geod_ha(h) for h in HAZARDS[name])
        assert summary.loc[name, "area_ha"] == pytest.approx(geod_ha(geom), rel=1e-5)
        assert summary.loc[name, "cha_ha"] == pytest.approx(want_cha, rel=1e-5)
    assert len(world.regions) > 4  # cut into regions of about 1,000 km


def test_huge_four_vertex_polygon_in_one_region_is_geodesic():
    # alone, the 20° × 8° district fits one region: edges must still be geodesics
    acc = mineland.account(districts_gdf(["Savanna"]), hazards_gdf(["Savanna"]))
    assert len(acc.regions) == 1
    row = acc.summary.set_index("district").loc["Savanna"]
    assert row["area_ha"] == pytest.approx(geod_ha(DISTRICTS["Savanna"]), rel=1e-5)
    want = sum(geod_ha(h) for h in HAZARDS["Savanna"])
    assert row["cha_ha"] == pytest.approx(want, rel=1e-5)


def test_hectares_do_not_depend_on_unrelated_districts(world):
    alone = mineland.summarize(districts_gdf(["Battambang-like"]), hazards_gdf(["Battambang-like"]))
    together = world.summary.set_index("district").loc["Battambang-like"]
    assert alone.iloc[0]["cha_ha"] == pytest.approx(together["cha_ha"], rel=1e-7)
    assert alone.iloc[0]["area_ha"] == pytest.approx(together["area_ha"], rel=1e-7)


def test_world_wide_map_and_validation_run(world, tmp_path):
    report = mineland.validate(districts_gdf(), hazards_gdf(), accounting=world)
    assert report.failures == []
    assert not (report.findings["check"] == "outside_districts").any()
    m = mineland.make_map(world)
    path = mineland.save_map(m, tmp_path / "world.html")
    assert path.stat().st_size > 0
    geoms = world.class_geometries("cha")
    assert sum(geod_ha(g) for g in geoms) == pytest.approx(
        sum(geod_ha(h) for hs in HAZARDS.values() for h in hs), rel=1e-4
    )


def test_district_across_the_antimeridian():
    # a Fiji-like district and hazard drawn across 180°: lon 178 → -178
    district = shapely.Polygon([(178, -18), (-178, -18), (-178, -16), (178, -16)])
    hazard = shapely.Polygon([(179.5, -17.5), (-179.5, -17.5), (-179.5, -16.5), (179.5, -16.5)])
    d = gpd.GeoDataFrame({"name": ["Across"]}, geometry=[district], crs=4326)
    s = gpd.GeoDataFrame({"record_id": ["h"], "record_type": ["SHA"]}, geometry=[hazard], crs=4326)
    row = mineland.summarize(d, s).set_index("district").loc["Across"]
    assert row["area_ha"] == pytest.approx(geod_ha(district), rel=1e-5)
    assert row["sha_ha"] == pytest.approx(geod_ha(hazard), rel=1e-5)


def test_densified_edges_follow_the_geodesic():
    from mineland.regions import densify_geodesic

    poly = DISTRICTS["Savanna"]
    (dense,) = densify_geodesic(np.array([poly], dtype=object))
    coords = np.asarray(dense.exterior.coords)
    steps = GEOD.inv(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])[2]
    assert steps.max() <= 1000.0 + 1e-6
    # the southern edge bulges towards the pole, as a geodesic does
    south = coords[(coords[:, 0] > 12.5) & (coords[:, 0] < 31.5) & (coords[:, 1] < -15)]
    assert south[:, 1].min() < -16.0 - 0.1
    assert geod_ha(dense) == pytest.approx(geod_ha(poly), rel=1e-9)


def test_a_release_across_a_region_border_leaves_nothing_outside():
    # 19°–22° E crosses the 20° E border between two cells of the region grid
    cleared = box(19.0, -14.0, 22.0, -10.5)
    s = hazards_gdf()
    s.loc[len(s)] = {"record_id": "c1", "record_type": "cleared", "geometry": cleared}
    summary = mineland.summarize(districts_gdf(), s).set_index("district")
    assert mineland.schema.OUTSIDE not in summary.index
    assert summary.loc["Savanna", "cleared_ha"] == pytest.approx(geod_ha(cleared), rel=1e-5)
    want = sum(geod_ha(h) for h in HAZARDS["Savanna"]) + geod_ha(cleared)
    overlap = sum(geod_ha(h.intersection(cleared)) for h in HAZARDS["Savanna"])
    assert summary.loc["Savanna", "recorded_ha"] == pytest.approx(want - overlap, rel=1e-4)
