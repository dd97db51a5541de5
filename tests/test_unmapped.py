"""Unmapped contamination: evidence away from every hazard, and candidate areas."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import DISTRICTS, GEOD, SURVEYS, TEST_LAEA, frame, run, sq

import mineland
from mineland.unmapped import SUGGESTION, find_unmapped

HAZARD = sq(1000, 1000, 800)  # 64 ha, 1.0–1.8 km east and north of the origin
GROUP_AT = (4000.0, 6000.0)  # about 4.6 km from the hazard
GROUP = [(0, 0), (40, 10), (-30, 35), (20, -40), (-15, -20)]  # five within ~80 m


def lonlat(x, y):
    return gpd.GeoSeries([shapely.Point(x, y)], crs=TEST_LAEA).to_crs(4326).iloc[0]


def device(rid, x, y, **kw):
    return {"record_id": rid, "record_type": "device", "geometry": shapely.Point(x, y), **kw}


def crafted(extra=()):
    rows = [{"record_id": "H1", "record_type": "SHA", "geometry": HAZARD}]
    rows += [
        device(f"G{k}", GROUP_AT[0] + dx, GROUP_AT[1] + dy) for k, (dx, dy) in enumerate(GROUP)
    ]
    rows += [
        device("STRAY", 15_000, 8_000),  # alone, in East: evidence but no group
        device("INSIDE", 1400, 1400),  # inside the hazard
        device("NEAR", 1800 + 150, 1400),  # 150 m east of the hazard: within 250 m
        {
            "record_id": "I1",
            "record_type": "incident",
            "killed": 1,
            "injured": 2,
            "geometry": shapely.Point(GROUP_AT[0] + 5, GROUP_AT[1] - 60),
        },
    ]
    return frame(rows + list(extra))


def swapped_point(two_districts):
    """A device whose lon and lat were swapped: outside every district, inside one
    once swapped back."""
    inside = lonlat(5000, 5000)
    return gpd.GeoDataFrame(
        [{"record_id": "SWAP", "record_type": "device"}],
        geometry=[shapely.Point(inside.y, inside.x)],
        crs=4326,
    )


@pytest.fixture
def found(two_districts):
    surveys = pd.concat([crafted(), swapped_point(two_districts)], ignore_index=True)
    return find_unmapped(two_districts, gpd.GeoDataFrame(surveys, crs=4326))


def test_a_tight_group_is_one_candidate_and_a_stray_is_not(found):
    evidence = set(found.evidence["record_id"])
    assert evidence == {"G0", "G1", "G2", "G3", "G4", "I1", "STRAY"}
    (candidate,) = found.candidates.itertuples()
    assert candidate.evidence == 6 and candidate.device_records == 5 and candidate.incidents == 1
    assert (candidate.killed, candidate.injured) == (1, 2)
    assert candidate.districts == "West"
    grouped = found.points.set_index("record_id")["candidate"]
    assert grouped[["G0", "G4", "I1"]].tolist() == [1, 1, 1]
    assert pd.isna(grouped["STRAY"])


def test_points_in_or_near_a_hazard_are_never_evidence(found):
    points = found.points.set_index("record_id")
    assert points.loc["INSIDE", "distance_m"] == 0 and not points.loc["INSIDE", "evidence"]
    assert 140 < points.loc["NEAR", "distance_m"] < 160 and not points.loc["NEAR", "evidence"]
    assert (points.loc[["INSIDE", "NEAR", "G0"], "nearest_hazard"] == "H1").all()


def test_a_swapped_point_is_excluded_and_counted(found):
    points = found.points.set_index("record_id")
    assert points.loc["SWAP", "excluded"] == "swapped_lonlat"
    assert not points.loc["SWAP", "evidence"]
    assert found.excluded == 1
    assert any("1 points left out" in n for n in found.notes)


def test_distances_are_geodesic(two_districts):
    # a point off the hazard's north-east corner: the corner is its nearest point
    corner = (1800.0, 1800.0)
    for dx, dy in ((300.0, 400.0), (2000.0, 1500.0), (30.0, 5000.0)):
        surveys = crafted([device("P", corner[0] + dx, corner[1] + dy)])
        got = find_unmapped(two_districts, surveys).points.set_index("record_id")
        a, b = lonlat(corner[0] + dx, corner[1] + dy), lonlat(*corner)
        expected = GEOD.inv(a.x, a.y, b.x, b.y)[2]
        assert got.loc["P", "distance_m"] == pytest.approx(expected, rel=1e-6)


def test_the_candidate_area_is_the_widened_hull(found):
    (candidate,) = found.candidates.itertuples()
    pts = np.array(
        [(GROUP_AT[0] + dx, GROUP_AT[1] + dy) for dx, dy in GROUP]
        + [(GROUP_AT[0] + 5, GROUP_AT[1] - 60)]
    )
    hull = shapely.convex_hull(shapely.multipoints(pts))
    # Steiner: hull + perimeter × d + π d² (TEST_LAEA is equal-area too)
    expected = (hull.area + hull.length * 250 + math.pi * 250**2) / 1e4
    assert candidate.area_ha == pytest.approx(expected, rel=3e-3)
    assert candidate.geometry.contains(lonlat(*GROUP_AT))


def test_min_evidence_and_distance_change_the_result(two_districts):
    surveys = crafted()
    assert len(find_unmapped(two_districts, surveys, min_evidence=7).candidates) == 0
    assert len(find_unmapped(two_districts, surveys, min_evidence=6).candidates) == 1
    wide = find_unmapped(two_districts, surveys, distance=5_000)
    assert set(wide.evidence["record_id"]) == {"STRAY"}  # the group is within 5 km of H1


def test_shares_per_district(found):
    table = found.by_district.set_index("district")
    west, east = table.loc["West"], table.loc["East"]
    assert (west["devices"], west["devices_outside"]) == (7, 5)  # group, inside, near
    assert west["devices_outside_pct"] == pytest.approx(100 * 5 / 7)
    assert (west["incidents"], west["incidents_outside"]) == (1, 1)
    assert (east["devices"], east["devices_outside"], east["devices_outside_pct"]) == (1, 1, 100)
    assert table.loc[mineland.schema.OUTSIDE, "excluded"] == 1


def test_as_of_leaves_out_later_hazards_and_points(two_districts):
    rows = crafted().assign(date="2020-01-01")
    later = frame(
        [
            {
                "record_id": "H2",
                "record_type": "SHA",
                "date": "2024-01-01",
                "geometry": sq(3800, 5800, 500),
            }
        ]
    )
    surveys = pd.concat([rows, later], ignore_index=True)
    now = find_unmapped(two_districts, gpd.GeoDataFrame(surveys, crs=4326))
    before = find_unmapped(two_districts, gpd.GeoDataFrame(surveys, crs=4326), as_of="2023-12-31")
    assert len(now.candidates) == 0 and len(before.candidates) == 1


def test_bad_parameters_are_errors(two_districts):
    with pytest.raises(ValueError, match="distance"):
        find_unmapped(two_districts, crafted(), distance=0)
    with pytest.raises(ValueError, match="min_evidence"):
        find_unmapped(two_districts, crafted(), min_evidence=0)


# --------------------------------------------------------------------------- the command


def test_demo_data_holds_candidates():
    found = find_unmapped(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    assert len(found.candidates) >= 3
    assert found.candidates["evidence"].min() >= 3
    assert (found.candidates["area_ha"] > 0).all()


@pytest.mark.parametrize("suffix", [".gpkg", ".xlsx", ".csv"])
def test_cli_writes_candidates(tmp_path, suffix):
    out = tmp_path / f"unmapped{suffix}"
    result = run(
        "unmapped", DISTRICTS, SURVEYS, "--distance", "250", "--min-evidence", "3", "-o", out
    )
    assert result.exit_code == 0, result.output
    assert SUGGESTION in result.stderr.replace("\n", " ")
    if suffix == ".gpkg":
        layers = {name for name, _ in pyogrio.list_layers(out)}
        assert layers == {"candidates", "evidence", "districts", "about"}
        candidates = gpd.read_file(out, layer="candidates")
        assert candidates.crs.to_epsg() == 4326 and len(candidates) >= 3
        assert (candidates["note"].str.contains("not a hazard record")).all()
    elif suffix == ".xlsx":
        sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
        assert set(sheets) == {"candidates", "evidence", "districts", "about"}
        assert "geometry_wkt" in sheets["candidates"].columns
    else:
        table = pd.read_csv(out)
        assert len(table) >= 3 and table["geometry_wkt"].str.startswith("POLYGON").all()


def test_cli_prints_shares_and_candidates():
    result = run("unmapped", DISTRICTS, SURVEYS)
    assert result.exit_code == 0, result.output
    assert "Candidate areas (suggestions for non-technical survey)" in result.stdout
    assert "% of devices" in result.stdout


def test_cli_refuses_a_bad_distance():
    result = run("unmapped", DISTRICTS, SURVEYS, "--distance", "0")
    assert result.exit_code == 2 and "--distance" in result.stderr


@pytest.mark.parametrize("distance", [math.nan, math.inf, True, "250", None, -5, 0])
def test_a_distance_that_is_no_positive_number_is_refused(distance):
    """NaN read every point as within no distance of a hazard, and infinity as within
    every distance: each gave an empty table, not an error."""
    d, s = mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS)
    with pytest.raises(mineland.DataError, match="distance must be a positive number"):
        find_unmapped(d, s, distance=distance)


def test_a_distance_given_as_a_numpy_number_is_a_number():
    d, s = mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS)
    got, want = find_unmapped(d, s, distance=np.float32(250)), find_unmapped(d, s, distance=250)
    assert got.distance == 250.0 and len(got.candidates) == len(want.candidates) > 0


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_cli_refuses_a_distance_that_is_not_finite(value):
    result = run("unmapped", DISTRICTS, SURVEYS, "--distance", value)
    assert result.exit_code == 2 and "distance" in result.stderr, result.output
    assert "Traceback" not in result.output


def test_map_and_report_show_the_unmapped_evidence(tmp_path):
    html = tmp_path / "m.html"
    result = run("map", DISTRICTS, SURVEYS, "--tiles", "none", "--unmapped", "-o", html)
    assert result.exit_code == 0, result.output
    assert "Unmapped evidence (" in html.read_text(encoding="utf-8")
    xlsx, page = tmp_path / "r.xlsx", tmp_path / "r.html"
    assert run("report", DISTRICTS, SURVEYS, "-o", xlsx).exit_code == 0
    sheets = pd.read_excel(xlsx, sheet_name=None, engine="openpyxl")
    found = find_unmapped(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    assert len(sheets["Candidate areas"]) == len(found.candidates)
    by_district = sheets["Unmapped by district"].set_index("district")["devices_outside"]
    assert by_district.sum() == found.by_district["devices_outside"].sum()
    assert run("report", DISTRICTS, SURVEYS, "-o", page).exit_code == 0
    text = page.read_text(encoding="utf-8")
    assert "Unmapped contamination" in text and "Largest candidate areas" in text


def brute_dbscan(lon, lat, distance, min_points):
    """A plain reference: all pairwise geodesic distances, breadth-first groups."""
    n = len(lon)
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    d = GEOD.inv(lon[a.ravel()], lat[a.ravel()], lon[b.ravel()], lat[b.ravel()])[2]
    near = d.reshape(n, n) <= distance
    core = near.sum(axis=1) >= min_points
    groups, seen = [], set()
    for start in np.flatnonzero(core):
        if start in seen:
            continue
        members, todo = {start}, [start]
        seen.add(start)
        while todo:
            k = todo.pop()
            for m in np.flatnonzero(near[k] & core):
                if m not in seen:
                    seen.add(m)
                    members.add(m)
                    todo.append(m)
        groups.append(members)
    return core, near, groups


@pytest.mark.parametrize("seed", range(12))
def test_grouping_equals_a_brute_force_dbscan(seed):
    from mineland.unmapped import _dbscan

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 80))
    lon = 46.6 + rng.normal(0, 0.01, n) * rng.choice([1, 3], n)
    lat = 39.8 + rng.normal(0, 0.01, n)
    distance, min_points = float(rng.choice([150, 250, 500])), int(rng.integers(2, 6))
    labels = _dbscan(shapely.points(lon, lat), distance, min_points)
    core, near, groups = brute_dbscan(lon, lat, distance, min_points)
    # the core points fall into exactly the reference groups
    ours = {frozenset(np.flatnonzero(core & (labels == g))) for g in set(labels[core])}
    assert ours == {frozenset(g) for g in groups}
    # a point that is not core is grouped exactly when a core point is near it, and
    # then with one of those core points
    for k in np.flatnonzero(~core):
        neighbours = np.flatnonzero(near[k] & core)
        assert (labels[k] >= 0) == (len(neighbours) > 0)
        if len(neighbours):
            assert labels[k] in set(labels[neighbours])
