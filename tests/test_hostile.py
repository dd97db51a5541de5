"""Hostile input: broken geometry, broken district layers, payloads in text fields."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from conftest import geod_ha, run

import mineland
from mineland.cli import main
from mineland.errors import SchemaError

XSS = "<img src=x onerror=alert(1)>"
MARKUP = "[bold red]boom[/] \x1b[2J\x07\u202e"  # \u202e: a right-to-left override
FORMULA = '=HYPERLINK("http://example.invalid","x")'


def feature(props, geometry):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def poly(x0, y0, d=0.01, close=True, z=None):
    ring = [[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d]]
    if close:
        ring.append(ring[0])
    if z is not None:
        ring = [[*p, z] for p in ring]
    return {"type": "Polygon", "coordinates": [ring]}


def write_fc(path, features):
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    return path


@pytest.fixture
def district_file(tmp_path):
    return write_fc(
        tmp_path / "districts.geojson",
        [feature({"name": f"{XSS}{MARKUP}"}, poly(46.0, 39.5, 1.0))],
    )


def test_geometry_geos_rejects_is_fixed_or_rejected_never_fatal(tmp_path):
    tri = {"type": "Polygon", "coordinates": [[[46.5, 39.7], [46.51, 39.7], [46.5, 39.71]]]}
    two = {"type": "Polygon", "coordinates": [[[46.5, 39.7], [46.51, 39.7]]]}
    gc = {
        "type": "GeometryCollection",
        "geometries": [{"type": "Point", "coordinates": [46.5, 39.7]}, poly(46.6, 39.7)],
    }
    path = write_fc(
        tmp_path / "s.geojson",
        [
            feature({"record_id": "tri", "record_type": "SHA"}, tri),
            feature({"record_id": "two", "record_type": "SHA"}, two),
            feature({"record_id": "z", "record_type": "SHA"}, poly(46.5, 39.7, z=10)),
            feature({"record_id": "null", "record_type": "SHA"}, None),
            feature({"record_id": "gc", "record_type": "CHA"}, gc),
            feature({"record_id": "big", "record_type": "device", "quantity": 1e30}, None),
            feature({"record_id": "open", "record_type": "SHA"}, poly(46.7, 39.7, close=False)),
        ],
    )
    data = mineland.read_surveys(path)
    assert data.n_read == 7
    used = set(data.records["record_id"])
    assert used == {"tri", "z", "gc", "open"}
    reasons = data.rejected.set_index("record_id")["reason"]
    assert "no area left" in reasons["two"]
    assert reasons["null"] == "no geometry"
    assert data.records.geometry.is_valid.all()
    assert not data.records.geometry.has_z.any()
    gc_repair = data.records.set_index("record_id").loc["gc", "repair"]
    assert "GeometryCollection" in gc_repair


def test_huge_counts_are_rejected(tmp_path):
    pd.DataFrame(
        {
            "record_id": ["a", "b"],
            "record_type": ["device", "incident"],
            "quantity": ["1e30", ""],
            "killed": ["", "99999999999"],
            "lon": [46.5, 46.5],
            "lat": [39.7, 39.7],
        }
    ).to_csv(tmp_path / "p.csv", index=False)
    data = mineland.read_surveys(tmp_path / "p.csv")
    assert len(data.records) == 0
    assert data.rejected["reason"].str.contains("whole number from 0").all()


def test_broken_district_layers(tmp_path):
    bow = {
        "type": "Polygon",
        "coordinates": [[[46.0, 39.0], [46.2, 39.2], [46.2, 39.0], [46.0, 39.2], [46.0, 39.0]]],
    }
    path = write_fc(
        tmp_path / "d.geojson",
        [
            feature({"name": "Bow"}, bow),
            feature({"name": "Null"}, None),
            feature({"name": "Point"}, {"type": "Point", "coordinates": [46.5, 39.5]}),
            feature({"name": None}, poly(46.5, 39.5, 0.1)),
            feature({"name": "  Füzuli "}, poly(46.7, 39.5, 0.1)),
        ],
    )
    d = mineland.read_districts(path)
    assert list(d["district"]) == ["Bow", "(unnamed feature 4)", "Füzuli"]
    assert d.geometry.is_valid.all()
    assert len(d.attrs["dropped"]) == 2
    assert d.attrs["repaired"] == ["Bow"]


def test_metres_declared_as_degrees_is_a_clear_error(tmp_path):
    path = write_fc(
        tmp_path / "d.geojson",
        [feature({"name": "A"}, poly(640000.0, 4400000.0, 1000.0))],
    )
    with pytest.raises(SchemaError, match="cannot lie on Earth"):
        mineland.read_districts(path)


def test_payloads_are_inert_in_terminal_and_spreadsheets(tmp_path, district_file):
    surveys = write_fc(
        tmp_path / "s.geojson",
        [
            feature(
                {"record_id": XSS, "record_type": "SHA", "notes": FORMULA},
                poly(46.5, 39.7),
            ),
            feature({"record_id": FORMULA, "record_type": MARKUP}, poly(46.5, 39.7)),
        ],
    )
    runner = CliRunner()
    result = runner.invoke(main, ["summarize", str(district_file), str(surveys)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "[bold red]boom[/]" in result.stdout  # shown as text, not as markup
    assert "\x1b" not in result.stderr
    # in a terminal that lays out right-to-left text, it would turn its row round
    assert "\u202e" not in result.stdout + result.stderr
    out = tmp_path / "out.csv"
    result = runner.invoke(main, ["summarize", str(district_file), str(surveys), "-o", str(out)])
    assert result.exit_code == 0
    rejected = pd.read_csv(tmp_path / "out_rejected.csv")
    assert rejected["record_id"].iloc[0] == "'" + FORMULA
    # the rejected row's type held terminal escapes: a written CSV holds no control
    # character (tabs and line ends aside), and the text around them is kept
    raw = (tmp_path / "out_rejected.csv").read_text(encoding="utf-8")
    assert not any(ord(c) < 32 and c not in "\t\r\n" or 0x7F <= ord(c) <= 0x9F for c in raw)
    assert "[bold red]boom[/] \N{REPLACEMENT CHARACTER}[2J" in raw
    xlsx = tmp_path / "out.xlsx"
    runner.invoke(main, ["summarize", str(district_file), str(surveys), "-o", str(xlsx)])
    assert not str(pd.read_excel(xlsx, engine="openpyxl")["district"].iloc[0]).startswith("=")


def test_array_properties_are_read_as_text_not_a_crash(tmp_path):
    # one feature with an array makes GDAL read the whole property as a list column
    import pyproj
    import shapely.geometry

    districts = write_fc(
        tmp_path / "d.geojson",
        [
            feature({"name": ["Cəbrayıl"]}, poly(46.0, 39.5, 1.0)),
            feature({"name": "Goražde"}, poly(47.0, 39.5, 1.0)),
        ],
    )
    surveys = write_fc(
        tmp_path / "s.geojson",
        [
            feature({"record_id": "a", "record_type": ["SHA"]}, poly(46.5, 39.7)),
            feature({"record_id": "b", "record_type": "SHA"}, poly(47.5, 39.7)),
            feature({"record_id": "c", "record_type": ["SHA", "CHA"]}, poly(46.2, 39.7)),
            feature({"record_id": "d", "record_type": []}, poly(46.3, 39.7)),
        ],
    )
    data = mineland.read_surveys(surveys)
    assert sorted(data.records["record_id"]) == ["a", "b"]
    assert set(data.records["record_type"]) == {"SHA"}
    reasons = dict(zip(data.rejected["record_id"], data.rejected["reason"], strict=True))
    assert "'SHA; CHA'" in reasons["c"] and "empty" in reasons["d"]
    table = mineland.summarize(mineland.read_districts(districts), data).set_index("district")
    square = (
        abs(
            pyproj.Geod(ellps="WGS84").geometry_area_perimeter(
                shapely.geometry.shape(poly(46.5, 39.7))
            )[0]
        )
        / 1e4
    )
    assert table.loc["Cəbrayıl", "sha_ha"] == pytest.approx(square, rel=1e-4)
    assert table.loc["Goražde", "sha_ha"] == pytest.approx(square, rel=1e-3)


def test_kml_network_links_are_not_followed(tmp_path):
    kml = tmp_path / "link.kml"
    kml.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<NetworkLink><Link><href>http://127.0.0.1:9/evil.kml</href></Link></NetworkLink>
<Placemark><name>P1</name>
<ExtendedData><Data name="record_type"><value>device</value></Data></ExtendedData>
<Point><coordinates>46.5,39.7</coordinates></Point></Placemark>
</Document></kml>""",
        encoding="utf-8",
    )
    data = mineland.read_surveys(kml, field_map={"record_id": "Name"})
    assert list(data.records["record_id"]) == ["P1"]


def test_summarize_handles_records_that_are_all_rejected(tmp_path, district_file):
    surveys = write_fc(
        tmp_path / "s.geojson", [feature({"record_id": "x", "record_type": "nope"}, poly(46, 39))]
    )
    runner = CliRunner()
    result = runner.invoke(main, ["summarize", str(district_file), str(surveys)])
    # a table of zeros with exit 0 would look like good news: stop, say why
    assert result.exit_code == 2
    assert "0 used, 1 rejected" in result.stderr
    assert "every one of the 1 input rows was rejected" in result.stderr


def test_a_number_beyond_the_float_range_is_a_rejected_row_without_a_numpy_warning(tmp_path):
    path = tmp_path / "overflow.csv"
    path.write_text(
        "record_id,record_type,wkt\n"
        '1,SHA,"POLYGON ((1e3080.5 40, 46 40, 46 41, 1e3080.5 40))"\n'
        '2,SHA,"POLYGON ((46 40, 46.01 40, 46.01 40.01, 46 40))"\n',
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail the read
        data = mineland.read_surveys(path, crs="EPSG:4326")
    assert list(data.records["record_id"]) == ["2"]
    (row,) = data.rejected.to_dict("records")
    assert row["record_id"] == "1" and row["check"] == "unreadable_geometry"
    assert "1e3080.5" in row["reason"]


def test_a_file_without_a_crs_whose_first_coordinate_overflows_gets_the_crs_error(tmp_path):
    # the hint that reads the first coordinate (is it Gauss-Krüger?) met inf
    path = tmp_path / "no_crs.csv"
    path.write_text(
        "record_id,record_type,wkt\n1,device,POINT (46.26 39.2690e5682208039)\n",
        encoding="utf-8",
    )
    districts = tmp_path / "d.geojson"
    write_fc(districts, [feature({"name": "A"}, poly(46.0, 39.0, 1.0))])
    result = run("summarize", districts, path)
    assert result.exit_code == 2, result.output
    assert "declares no coordinate reference system" in result.stderr
    assert "internal error" not in result.stderr


def test_a_nan_vertex_that_the_bounds_leave_out_is_a_rejected_row(tmp_path):
    # GEOS leaves a NaN out of a polygon's bounds: the row used to reach the repair,
    # which made nothing of it with a numpy warning (and GEOS raises on some)
    path = tmp_path / "nan.csv"
    path.write_text(
        "record_id,record_type,wkt\n"
        '1,SHA,"POLYGON ((46 39, 46.1 39, 46.1 NaN, 46 39.1, 46 39))"\n'
        '2,SHA,"POLYGON ((46 39, 46.1 39, 46.1 39.1, 46 39, 46 39), (1 1, 2 1, 2 NaN, 1 1))"\n'
        '3,SHA,"POLYGON ((46 39, 46.01 39, 46.01 39.01, 46 39))"\n',
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = mineland.read_surveys(path, crs="EPSG:4326")
    assert list(data.records["record_id"]) == ["3"]
    assert set(data.rejected["record_id"]) == {"1", "2"}
    assert data.rejected["reason"].str.contains("non-finite").all()


def test_districts_with_nan_or_infinite_vertices_are_left_out_with_the_reason(tmp_path):
    ring = [[46.0, 39.0], [47.0, 39.0], [47.0, 40.0], [46.0, 40.0], [46.0, 39.0]]
    bad_nan = [p[:] for p in ring]
    bad_nan[2][1] = float("nan")
    bad_inf = [p[:] for p in ring]
    bad_inf[2][1] = float("inf")
    path = tmp_path / "d.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    feature({"name": "NaN"}, {"type": "Polygon", "coordinates": [bad_nan]}),
                    feature({"name": "Inf"}, {"type": "Polygon", "coordinates": [bad_inf]}),
                    feature({"name": "Good"}, poly(44.0, 39.0, 1.0)),
                ],
            }
        ),
        encoding="utf-8",
    )
    districts = mineland.read_districts(path)
    assert list(districts["district"]) == ["Good"]
    dropped = districts.attrs["dropped"]
    assert len(dropped) == 2 and all("not finite numbers" in d for d in dropped)
    surveys = tmp_path / "s.geojson"
    write_fc(surveys, [feature({"record_id": "h", "record_type": "SHA"}, poly(44.5, 39.5))])
    result = run("summarize", path, surveys)
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output


def test_a_hole_beyond_the_earth_outside_its_shell_is_rejected_before_any_repair(tmp_path):
    # the bounds the CRS checks look at are the shell's: a ring outside it escaped
    # them, and make_valid turned it into land at latitude 95 (or overflowed on 1e308)
    shell = [[46.0, 39.0], [46.5, 39.0], [46.0, 39.0]]
    beyond = [[200.0, 95.0], [200.5, 95.0], [200.5, 95.5], [200.0, 95.5], [200.0, 95.0]]
    huge = [[1e308, 0.0], [1e308, 0.01], [1e307, 0.01], [1e308, 0.0]]
    path = write_fc(
        tmp_path / "holes.geojson",
        [
            feature(
                {"record_id": "a", "record_type": "SHA"},
                {"type": "Polygon", "coordinates": [shell, beyond]},
            ),
            feature(
                {"record_id": "b", "record_type": "CHA"},
                {"type": "Polygon", "coordinates": [shell, huge]},
            ),
            feature({"record_id": "c", "record_type": "SHA"}, poly(46.2, 39.2)),
        ],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = mineland.read_surveys(path)
    assert list(data.records["record_id"]) == ["c"]
    rejected = data.rejected.set_index("record_id")
    assert set(rejected["check"]) == {"other_crs"}
    assert "(200, 95)" in rejected.loc["a", "reason"]


def test_validate_writes_an_empty_findings_geopackage_when_there_is_nothing_to_find(tmp_path):
    districts = write_fc(tmp_path / "d.geojson", [feature({"name": "A"}, poly(46.0, 39.0, 1.0))])
    surveys = write_fc(tmp_path / "s.geojson", [])
    out = tmp_path / "findings.gpkg"
    result = run("validate", districts, surveys, "-o", out)
    assert result.exit_code == 0, result.output
    assert [name for name, _ in pyogrio.list_layers(out)] == ["findings"]
    assert len(pyogrio.read_dataframe(out)) == 0


def test_a_district_layer_whose_only_name_is_null_reads(tmp_path):
    # an all-null object column came back from pandas read-only, and the placeholder
    # name could not be written into it
    districts = write_fc(tmp_path / "d.geojson", [feature({"name": None}, poly(46.0, 39.0, 1.0))])
    assert list(mineland.read_districts(districts)["district"]) == ["(unnamed feature 1)"]


def test_a_district_with_a_ring_beyond_the_earth_outside_its_shell_is_left_out(tmp_path):
    shell = [[46.0, 39.0], [47.0, 39.0], [47.0, 40.0], [46.0, 40.0], [46.0, 39.0]]
    beyond = [[200.0, 95.0], [200.5, 95.0], [200.5, 95.5], [200.0, 95.5], [200.0, 95.0]]
    far = {"type": "Polygon", "coordinates": [shell, beyond]}
    path = write_fc(
        tmp_path / "d.geojson",
        [feature({"name": "Far"}, far), feature({"name": "Good"}, poly(44.0, 39.0, 1.0))],
    )
    districts = mineland.read_districts(path)
    assert list(districts["district"]) == ["Good"]
    (why,) = districts.attrs["dropped"]
    assert why.startswith("row 1 (Far): coordinates cannot lie on Earth")


def test_a_multipolygon_with_an_empty_part_is_measured_not_a_crash(tmp_path):
    # GeoJSON's [[], [ring]]: shapely's ragged arrays, which the geodesic densifying of
    # long edges goes through, crashed the process (a segmentation fault) on it
    ring = [[46.0, 39.0], [46.5, 39.0], [46.5, 39.5], [46.0, 39.5], [46.0, 39.0]]
    hazard = {"type": "MultiPolygon", "coordinates": [[], [ring]]}
    surveys = write_fc(
        tmp_path / "s.geojson", [feature({"record_id": "m", "record_type": "SHA"}, hazard)]
    )
    districts = write_fc(tmp_path / "d.geojson", [feature({"name": "A"}, poly(45.0, 38.0, 3.0))])
    summary = mineland.summarize(mineland.read_districts(districts), mineland.read_surveys(surveys))
    expected = geod_ha(shapely.Polygon(ring))
    assert summary["sha_ha"].sum() == pytest.approx(expected, rel=1e-6)
    assert expected > 100_000  # edges of 40-55 km: densified along the geodesic


def test_a_vertex_a_nanodegree_beyond_the_pole_is_moved_onto_it(tmp_path):
    # tolerated as on Earth, but latitude 90.000000001 has no geodesic area and
    # projects to infinity: the shell of "p", and the hole outside the shell of "h"
    cap = [[-180.0, 90.0], [-179.9, 90.0], [-179.9, 90.000000001], [-180.0, 90.0]]
    square = [[46.0, 39.0], [46.5, 39.0], [46.5, 39.5], [46.0, 39.5], [46.0, 39.0]]
    path = write_fc(
        tmp_path / "pole.geojson",
        [
            feature(
                {"record_id": "p", "record_type": "SHA"}, {"type": "Polygon", "coordinates": [cap]}
            ),
            feature(
                {"record_id": "h", "record_type": "SHA"},
                {"type": "Polygon", "coordinates": [square, cap]},
            ),
        ],
    )
    data = mineland.read_surveys(path)
    assert (data.records.geometry.bounds["maxy"] <= 90.0).all()
    districts = write_fc(tmp_path / "d.geojson", [feature({"name": "A"}, poly(45.0, 38.0, 3.0))])
    summary = mineland.summarize(mineland.read_districts(districts), data)
    assert np.isfinite(summary["sha_ha"]).all()
    assert summary.loc[summary["district"] == "A", "sha_ha"].iloc[0] == pytest.approx(
        geod_ha(shapely.Polygon(square)), rel=1e-6
    )


def test_a_collapsed_shell_with_a_hole_that_make_valid_refuses_is_a_rejected_row(tmp_path):
    # GEOS's make_valid raises "Overlay input is mixed-dimension" on this shape: it was
    # an internal error, it is now a row rejected for having no area once repaired
    path = tmp_path / "collapsed.csv"
    point = "46.09284 40.149946"
    hole = "46.933269 40.15035, 46.933369 40.15035, 46.933369 40.15045, 46.933269 40.15035"
    path.write_text(
        "record_id,record_type,wkt\n"
        f'1,cancelled,"POLYGON (({", ".join([point] * 5)}), ({hole}))"\n'
        '2,SHA,"POLYGON ((46 39, 46.01 39, 46.01 39.01, 46 39))"\n',
        encoding="utf-8",
    )
    data = mineland.read_surveys(path, crs="EPSG:4326")
    assert list(data.records["record_id"]) == ["2"]
    (row,) = data.rejected.to_dict("records")
    assert row["record_id"] == "1" and "no area left once repaired" in row["reason"]


def test_a_point_in_a_district_layer_is_left_out_as_no_polygon(tmp_path):
    point = {"type": "Point", "coordinates": [46.0, 39.0]}
    path = write_fc(
        tmp_path / "d.geojson",
        [feature({"name": "Pt"}, point), feature({"name": "Good"}, poly(44.0, 39.0, 1.0))],
    )
    districts = mineland.read_districts(path)
    assert districts.attrs["dropped"] == ["row 1 (Pt): no polygon geometry"]
