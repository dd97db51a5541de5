"""Readers: formats, CRS handling, field maps, and every row accounted for."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from conftest import (
    DISTRICTS,
    GDAL_WRITES_KML_FIELDS,
    TEST_LAEA,
    districts_frame,
    frame,
    geod_ha,
    sq,
)

import mineland
from mineland.errors import CRSError, SchemaError


def sample_records() -> gpd.GeoDataFrame:
    return frame(
        [
            {"record_id": "H1", "record_type": "SHA", "date": "2021-05-01", "geometry": sq(0, 0)},
            {"record_id": "H2", "record_type": "CHA", "date": "2022-01-10", "geometry": sq(500, 0)},
            {
                "record_id": "C1",
                "record_type": "cleared",
                "date": "2023-03-03",
                "geometry": sq(0, 0, 500),
            },
            {
                "record_id": "D1",
                "record_type": "device",
                "date": "2023-03-03",
                "device_type": "AP mine",
                "quantity": 3,
                "geometry": shapely.Point(100, 100),
            },
        ]
    )


@pytest.fixture
def districts():
    return districts_frame({"Cəbrayıl": sq(-5000, -5000, 10_000)})


def write(gdf: gpd.GeoDataFrame, path, driver=None, **kw):
    gdf.to_file(path, driver=driver, engine="pyogrio", **kw)
    return path


FORMATS = [
    ("gpkg", "GPKG"),
    ("geojson", "GeoJSON"),
    ("fgb", "FlatGeobuf"),
    ("gdb", "OpenFileGDB"),
]


@pytest.mark.parametrize(("ext", "driver"), FORMATS)
def test_vector_formats_give_the_same_hectares(tmp_path, districts, ext, driver):
    gdf = sample_records()
    if driver == "OpenFileGDB":
        # a geodatabase feature class holds one geometry type
        write(gdf[gdf.geom_type != "Point"], tmp_path / f"s.{ext}", driver, layer="areas")
    else:
        write(gdf, tmp_path / f"s.{ext}", driver)
    data = mineland.read_surveys(tmp_path / f"s.{ext}")
    assert len(data.rejected) == 0
    s = mineland.summarize(districts, data)
    # SHA 0..1000 and CHA 500..1500 (x), cleared 0..500 x 0..500
    assert s["sha_ha"].sum() == pytest.approx(25.0, rel=1e-5)
    assert s["cha_ha"].sum() == pytest.approx(100.0, rel=1e-5)
    assert s["cleared_ha"].sum() == pytest.approx(25.0, rel=1e-5)


def test_shapefile_plain_and_zipped(tmp_path, districts):
    gdf = sample_records()
    areas = gdf[gdf.geom_type != "Point"]
    write(areas, tmp_path / "areas.shp", "ESRI Shapefile")
    zpath = tmp_path / "areas.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for part in tmp_path.glob("areas.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    for path in (tmp_path / "areas.shp", zpath):
        s = mineland.summarize(districts, mineland.read_surveys(path))
        assert s["contaminated_ha"].sum() == pytest.approx(125.0, rel=1e-5)


@GDAL_WRITES_KML_FIELDS
def test_kml(tmp_path, districts):
    gdf = sample_records()[["record_id", "record_type", "geometry"]]
    write(gdf, tmp_path / "s.kml", "KML")
    data = mineland.read_surveys(tmp_path / "s.kml")
    assert len(data.records) == 4
    s = mineland.summarize(districts, data)
    assert s["contaminated_ha"].sum() == pytest.approx(125.0, rel=1e-5)


def test_csv_lonlat_and_wkt(tmp_path, districts):
    gdf = sample_records()
    pts = gdf[gdf.geom_type == "Point"]
    table = pts.drop(columns="geometry").assign(lon=pts.geometry.x, lat=pts.geometry.y)
    table.to_csv(tmp_path / "points.csv", index=False)
    areas = gdf[gdf.geom_type != "Point"]
    areas.drop(columns="geometry").assign(WKT=areas.geometry.to_wkt()).to_csv(
        tmp_path / "areas.csv", index=False, sep=";"
    )
    with pytest.raises(CRSError, match="areas.csv"):
        mineland.read_surveys(tmp_path / "areas.csv")
    data = mineland.read_surveys(tmp_path, crs="EPSG:4326")
    assert data.n_read == 4 and len(data.rejected) == 0
    s = mineland.summarize(districts, data)
    assert s["devices"].sum() == 3
    assert s["contaminated_ha"].sum() == pytest.approx(125.0, rel=1e-5)
    # lon/lat columns are WGS 84 by definition: no CRS needed
    assert len(mineland.read_surveys(tmp_path / "points.csv").records) == 1


def test_csv_with_wkt_areas_and_lonlat_points_in_one_table(tmp_path, districts):
    """An export that writes areas as WKT and points as coordinates, in one table: a
    row whose WKT cell is blank takes its point from lon/lat (it was rejected as
    having no geometry); where both are given the WKT stands (a centroid beside its
    polygon).  WKT names no CRS, so one is still asked for."""
    gdf = sample_records()
    wkt = gdf.geometry.to_wkt().where(gdf.geom_type != "Point", None)
    centre = gdf.geometry.representative_point()
    table = gdf.drop(columns="geometry").assign(wkt=wkt, lon=centre.x, lat=centre.y)
    table.to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(CRSError, match="mixed.csv"):
        mineland.read_surveys(tmp_path / "mixed.csv")
    data = mineland.read_surveys(tmp_path / "mixed.csv", crs="EPSG:4326")
    assert data.n_read == len(gdf) and len(data.rejected) == 0
    got = data.records.set_index("record_id").geometry
    for rid, geom in zip(gdf["record_id"], gdf.geometry, strict=True):  # WKT: 6 decimals
        assert shapely.normalize(got[rid]).equals_exact(shapely.normalize(geom), 1e-6), rid
    s = mineland.summarize(districts, data)
    assert s["devices"].sum() == 3
    assert s["contaminated_ha"].sum() == pytest.approx(125.0, rel=1e-5)


def test_folder_reads_every_file_and_skips_non_geodata(tmp_path, districts):
    gdf = sample_records()
    write(gdf.iloc[:2], tmp_path / "a.geojson", "GeoJSON")
    (tmp_path / "sub").mkdir()
    write(gdf.iloc[2:], tmp_path / "sub" / "b.gpkg", "GPKG")
    (tmp_path / "fieldmap.json").write_text('{"record_id": "ID"}')
    (tmp_path / "notes.txt").write_text("hello")
    data = mineland.read_surveys(tmp_path)
    assert sorted(data.sources["source_file"].map(lambda p: p.rsplit("/", 1)[-1])) == [
        "a.geojson",
        "b.gpkg",
    ]
    assert len(data.records) == 4


def test_a_shapefile_named_in_capitals_in_a_folder_is_read_with_its_sidecars(tmp_path, caplog):
    areas = sample_records().iloc[:3]  # SHA, CHA, cleared
    write(areas, tmp_path / "haz.shp", "ESRI Shapefile")
    for f in tmp_path.iterdir():  # as old Windows tools name them: HAZ.SHP, HAZ.DBF
        f.rename(f.with_name(f.name.upper()))
    with caplog.at_level("WARNING"):
        data = mineland.read_surveys(tmp_path)
    assert len(data.records) == len(areas)
    assert set(data.records["record_type"]) == {"SHA", "CHA", "cleared"}  # the .DBF's
    assert "skipped" not in caplog.text  # its sidecars are no files left out


def test_several_paths_are_concatenated(tmp_path):
    gdf = sample_records()
    write(gdf.iloc[:2], tmp_path / "a.geojson", "GeoJSON")
    write(gdf.iloc[2:], tmp_path / "b.geojson", "GeoJSON")
    records, rejected = mineland.read_surveys(tmp_path / "a.geojson", tmp_path / "b.geojson")
    assert list(records["record_id"]) == ["H1", "H2", "C1", "D1"]
    assert len(rejected) == 0
    # a list, as a notebook passes it, reads the same; an empty one is an error
    listed, _ = mineland.read_surveys([tmp_path / "a.geojson", (tmp_path / "b.geojson",)])
    assert listed["record_id"].tolist() == records["record_id"].tolist()
    names = np.array([str(tmp_path / "a.geojson"), str(tmp_path / "b.geojson")])
    for many in (names, (Path(p) for p in names)):  # an array, a generator
        assert mineland.read_surveys(many).records["record_id"].tolist() == ["H1", "H2", "C1", "D1"]
    for empty in ([], [[]], ()):
        with pytest.raises(mineland.InputFileError, match="no survey files"):
            mineland.read_surveys(empty)


def test_missing_crs_is_an_error_unless_declared(tmp_path, districts):
    gdf = sample_records().to_crs(TEST_LAEA)
    areas = gdf[gdf.geom_type != "Point"]
    write(areas, tmp_path / "nocrs.shp", "ESRI Shapefile")
    (tmp_path / "nocrs.prj").unlink()
    with pytest.raises(CRSError, match=r"nocrs\.shp.*no coordinate reference system"):
        mineland.read_surveys(tmp_path / "nocrs.shp")
    data = mineland.read_surveys(tmp_path / "nocrs.shp", crs=TEST_LAEA.to_wkt())
    s = mineland.summarize(districts, data)
    assert s["contaminated_ha"].sum() == pytest.approx(125.0, rel=1e-5)


def test_a_district_layer_without_a_crs_is_told_what_its_coordinates_look_like(tmp_path):
    """A Shapefile of districts in Gauss-Krüger zone 9 that lost its .prj: the error
    names the zone's CRS, as it does for survey files; with that CRS the areas are
    those of the layer the shapefile was made from."""
    source = gpd.read_file(DISTRICTS)
    write(source.to_crs(28409), tmp_path / "gk.shp", "ESRI Shapefile")
    (tmp_path / "gk.prj").unlink()
    with pytest.raises(CRSError, match=r"gk\.shp: the district layer .*EPSG:28409"):
        mineland.read_districts(tmp_path / "gk.shp")
    frame = gpd.read_file(tmp_path / "gk.shp")
    assert frame.crs is None
    with pytest.raises(CRSError, match=r"the district layer .*EPSG:28409"):
        mineland.summarize(frame, sample_records())
    got = mineland.read_districts(tmp_path / "gk.shp", crs="EPSG:28409")
    want = source.to_crs(TEST_LAEA).area.sum()  # the authalic test projection
    assert got.to_crs(TEST_LAEA).area.sum() == pytest.approx(want, rel=1e-5)


def test_missing_crs_error_of_a_file_whose_first_shapes_are_empty(tmp_path):
    # the hint looks at the first coordinates; an empty or unreadable shape has none
    (tmp_path / "s.csv").write_text(
        "record_id,record_type,wkt\n"
        "a,SHA,POLYGON EMPTY\n"
        "b,SHA,not wkt\n"
        'c,SHA,"POLYGON ((8500000 4400000, 8501000 4400000, 8501000 4401000, 8500000 4400000))"\n'
    )
    with pytest.raises(CRSError, match=r"s\.csv.*no coordinate reference system.*28408"):
        mineland.read_surveys(tmp_path / "s.csv")
    (tmp_path / "e.csv").write_text("record_id,record_type,wkt\na,SHA,POLYGON EMPTY\n")
    with pytest.raises(CRSError, match=r"e\.csv.*no coordinate reference system"):
        mineland.read_surveys(tmp_path / "e.csv")


def test_unreadable_wkt_is_rejected_without_a_numpy_warning(tmp_path):
    import warnings

    (tmp_path / "s.csv").write_text(
        "record_id,record_type,lon,lat,wkt\n"
        'a,SHA,,,"POLYGON ((nan nan, 1 1, 1 0, nan nan))"\n'
        'b,SHA,,,"POLYGON ((46.5 39.5, 46.51 39.5, 46.51 39.51, 46.5 39.5))"\n'
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = mineland.read_surveys(tmp_path / "s.csv", crs="EPSG:4326")
    assert list(data.records["record_id"]) == ["b"]
    assert list(data.rejected["record_id"]) == ["a"]


@pytest.mark.parametrize("epsg", [28408, 32638, 4284, 3857])
def test_projected_and_legacy_crs_twins_agree(tmp_path, districts, epsg):
    # irregular polygons in Karabakh, written in WGS 84 and in another CRS
    rng = np.random.default_rng(epsg)
    geoms = [
        shapely.Point(x, y).buffer(r, quad_segs=6)
        for x, y, r in zip(
            rng.uniform(-4000, 4000, 20),
            rng.uniform(-4000, 4000, 20),
            rng.uniform(50, 600, 20),
            strict=True,
        )
    ]
    gdf = frame(
        [{"record_id": f"r{i}", "record_type": "SHA", "geometry": g} for i, g in enumerate(geoms)]
    )
    write(gdf, tmp_path / "wgs84.gpkg", "GPKG")
    write(gdf.to_crs(epsg), tmp_path / f"twin_{epsg}.gpkg", "GPKG")
    a = mineland.summarize(districts, mineland.read_surveys(tmp_path / "wgs84.gpkg"))
    b = mineland.summarize(districts, mineland.read_surveys(tmp_path / f"twin_{epsg}.gpkg"))
    assert b["sha_ha"].sum() == pytest.approx(a["sha_ha"].sum(), rel=1e-4)  # 0.01 %


def test_gauss_kruger_csv_with_declared_crs(tmp_path, districts):
    # GK zone 8: easting carries the zone prefix 8 (8 500 000 + ...), northing ~ 4.4e6
    poly = sq(0, 0)
    gk = gpd.GeoSeries([poly], crs=TEST_LAEA).to_crs(28408).iloc[0]
    assert 8_000_000 < gk.bounds[0] < 9_000_000
    pd.DataFrame({"record_id": ["g"], "record_type": ["CHA"], "wkt": [gk.wkt]}).to_csv(
        tmp_path / "gk.csv", index=False
    )
    s = mineland.summarize(districts, mineland.read_surveys(tmp_path / "gk.csv", crs="EPSG:28408"))
    assert s["cha_ha"].sum() == pytest.approx(100.0, rel=1e-4)


def test_field_map_dict_toml_and_json(tmp_path, districts):
    gdf = sample_records().rename(columns={"record_id": "HAZ_ID", "record_type": "TYPE"})
    gdf["TYPE"] = gdf["TYPE"].replace({"SHA": "Suspected", "CHA": "Minefield"})
    write(gdf, tmp_path / "imsma.geojson", "GeoJSON")
    fmap = {
        "record_id": "HAZ_ID",
        "record_type": "TYPE",
        "record_type_values": {"Minefield": "CHA"},
    }
    (tmp_path / "map.json").write_text(json.dumps(fmap))
    (tmp_path / "map.toml").write_text(
        'record_id = "HAZ_ID"\nrecord_type = "TYPE"\n[record_type_values]\nMinefield = "CHA"\n'
    )
    for fm in (fmap, tmp_path / "map.json", tmp_path / "map.toml"):
        data = mineland.read_surveys(tmp_path / "imsma.geojson", field_map=fm)
        assert len(data.rejected) == 0, data.rejected
        assert list(data.records["record_id"]) == ["H1", "H2", "C1", "D1"]
        assert list(data.records["record_type"]) == ["SHA", "CHA", "cleared", "device"]


def test_a_field_map_that_maps_a_type_to_no_type_is_a_schema_error(tmp_path):
    """``record_type_values`` with a target that is no record type (a typo) rejected
    every row of that value with exit 0; now the field map is refused, naming the
    entry.  A target in another spelling of a type still maps."""
    gdf = sample_records().rename(columns={"record_type": "TYPE"})
    gdf["TYPE"] = gdf["TYPE"].replace({"CHA": "Minefield"})
    write(gdf, tmp_path / "x.geojson", "GeoJSON")
    fmap = {"record_type": "TYPE", "record_type_values": {"Minefield": "CAH"}}
    with pytest.raises(SchemaError, match=r"x\.geojson.*'Minefield' to 'CAH'.*not a record type"):
        mineland.read_surveys(tmp_path / "x.geojson", field_map=fmap)
    fmap["record_type_values"] = {"Minefield": "Confirmed Hazardous Area"}
    data = mineland.read_surveys(tmp_path / "x.geojson", field_map=fmap)
    assert len(data.rejected) == 0 and "CHA" in set(data.records["record_type"])


def test_missing_record_type_column_is_a_schema_error(tmp_path):
    gdf = sample_records().drop(columns="record_type")
    write(gdf, tmp_path / "x.geojson", "GeoJSON")
    with pytest.raises(SchemaError, match=r"x\.geojson.*record_type"):
        mineland.read_surveys(tmp_path / "x.geojson")


def test_every_row_is_used_or_rejected_with_a_reason(tmp_path):
    rows = [
        ("ok1", "SHA", "2021-01-01", "", sq(0, 0).wkt),
        ("badtype", "Suspected Hazardous Aera", "2021-01-01", "", sq(0, 0).wkt),
        ("baddate", "SHA", "31.02.2021", "", sq(0, 0).wkt),
        ("negq", "device", "2021-01-01", "-2", "POINT (10 10)"),
        ("fracq", "device", "2021-01-01", "1.5", "POINT (10 10)"),
        ("empty", "CHA", "2021-01-01", "", "POLYGON EMPTY"),
        ("nogeom", "CHA", "2021-01-01", "", ""),
        ("garbage", "CHA", "2021-01-01", "", "POLYGON ((0 0, 1"),
        ("line", "cleared", "2021-01-01", "", "LINESTRING (0 0, 100 100)"),
        ("polydev", "device", "2021-01-01", "", sq(0, 0).wkt),
        ("ok1", "CHA", "2021-01-01", "", sq(0, 0).wkt),  # duplicate id
        ("unclosed", "SHA", "05/06/2022", "", "POLYGON ((0 0, 1000 0, 1000 1000, 0 1000))"),
        ("bowtie", "SHA", "2022-06-05T10:00:00", "", "POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0))"),
        ("", "reduced", "", "", sq(2000, 0).wkt),  # no id: one is made up
        ("ok2", "incident", "2020", "", "POINT (5 5)"),  # year only: not a date
    ]
    df = pd.DataFrame(rows, columns=["record_id", "record_type", "date", "quantity", "wkt"])
    df.to_csv(tmp_path / "messy.csv", index=False)
    data = mineland.read_surveys(tmp_path / "messy.csv", crs=TEST_LAEA.to_wkt())
    assert data.n_read == len(rows)
    assert data.sources.iloc[0]["rows"] == len(rows)
    assert data.sources.iloc[0]["used"] + data.sources.iloc[0]["rejected"] == len(rows)
    reasons = dict(zip(data.rejected["source_row"], data.rejected["reason"], strict=True))
    assert "did you mean 'SHA'" in reasons[2]
    assert "'31.02.2021'" in reasons[3]
    assert "-2" in reasons[4] and "1.5" in reasons[5]
    assert "empty geometry" in reasons[6]
    assert "no geometry" in reasons[7]
    assert "unreadable geometry" in reasons[8]
    assert "LineString" in reasons[9] and "Polygon" in reasons[10]
    assert "duplicate record_id 'ok1'" in reasons[11]
    assert "'2020'" in reasons[15]
    used = data.records.set_index("record_id")
    assert set(used.index) == {"ok1", "unclosed", "bowtie", "messy.csv#14"}
    assert used.loc["unclosed", "date"] == pd.Timestamp("2022-06-05")  # day first
    assert used.loc["bowtie", "date"] == pd.Timestamp("2022-06-05")
    assert "closed" in used.loc["unclosed", "repair"].lower() or used.loc["unclosed", "repair"]
    assert "make_valid" in used.loc["bowtie", "repair"]
    # the rejected rows keep the original columns, for fixing and re-import
    assert {"record_type", "date", "quantity", "reason", "geometry_wkt"} <= set(
        data.rejected.columns
    )


def test_bow_tie_read_from_file_keeps_both_lobes(tmp_path, districts):
    bow = shapely.Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000), (0, 0)])
    pd.DataFrame({"record_id": ["b"], "record_type": ["SHA"], "wkt": [bow.wkt]}).to_csv(
        tmp_path / "bow.csv", index=False
    )
    data = mineland.read_surveys(tmp_path / "bow.csv", crs=TEST_LAEA.to_wkt())
    s = mineland.summarize(districts, data)
    assert s["sha_ha"].sum() == pytest.approx(50.0, rel=1e-5)
    with pytest.raises(mineland.DataError, match=r"bow\.csv, row 1, record_id 'b'"):
        mineland.read_surveys(tmp_path / "bow.csv", crs=TEST_LAEA.to_wkt(), on_invalid="raise")
    rej = mineland.read_surveys(tmp_path / "bow.csv", crs=TEST_LAEA.to_wkt(), on_invalid="reject")
    assert len(rej.records) == 0 and "Self-intersection" in rej.rejected["reason"].iloc[0]


def test_out_of_range_and_non_finite_coordinates_are_rejected(tmp_path):
    df = pd.DataFrame(
        {
            "record_id": ["metres", "nan", "ok"],
            "record_type": ["device"] * 3,
            "lon": ["512345.0", "nan", "46.5"],
            "lat": ["4412345.0", "39.7", "39,7"],  # decimal comma is understood
        }
    )
    df.to_csv(tmp_path / "pts.csv", index=False)
    data = mineland.read_surveys(tmp_path / "pts.csv")
    reasons = data.rejected.set_index("record_id")["reason"]
    assert "outside the valid range" in reasons["metres"]
    assert "not numbers" in reasons["nan"]
    assert list(data.records["record_id"]) == ["ok"]


def test_aliases_and_case_insensitive_types():
    from mineland.schema import normalize_record_type

    assert normalize_record_type("Suspected Hazardous Area") == "SHA"
    assert normalize_record_type("cha") == "CHA"
    assert normalize_record_type("Clearance") == "cleared"
    assert normalize_record_type("Technical_Survey") == "reduced"
    assert normalize_record_type("CANCELED") == "cancelled"
    assert normalize_record_type("Accident") == "incident"
    assert normalize_record_type("minefield") is None


def test_unicode_is_kept(tmp_path, districts):
    gdf = sample_records()
    gdf["organisation"] = "Qubadlı — Füzuli ✓"
    write(gdf, tmp_path / "u.gpkg", "GPKG")
    data = mineland.read_surveys(tmp_path / "u.gpkg")
    assert (data.records["organisation"] == "Qubadlı — Füzuli ✓").all()


def test_record_ids_are_composed_to_nfc_as_one_value_at_a_time_would_be():
    """The column at once (only its non-ASCII texts normalised) equals
    ``unicodedata.normalize("NFC", ...)`` and stripping, value by value."""
    import unicodedata

    from mineland.schema import clean_texts

    values = np.array(
        ["REL-1", " Goraz\u030cde ", "Cəbrayıl", "e\u0301", "\u212b", "", "   ", None, np.nan, 7],
        dtype=object,
    )
    want = [
        None if pd.isna(v) else (unicodedata.normalize("NFC", str(v)).strip() or None)
        for v in values
    ]
    assert list(clean_texts(values)) == want
    assert clean_texts(values)[1] == "Goražde" and len(clean_texts(values)[3]) == 1


def test_corrupt_empty_and_non_geodata_files(tmp_path):
    (tmp_path / "empty.geojson").write_text("")
    (tmp_path / "broken.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x01" * 100)
    (tmp_path / "text.geojson").write_text("this is not json")
    (tmp_path / "trunc.geojson").write_text('{"type": "FeatureCollection", "features": [{"type": ')
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    for name, pattern in [
        ("empty.geojson", "empty"),
        ("broken.gpkg", "broken.gpkg"),
        ("text.geojson", "text.geojson"),
        ("trunc.geojson", "trunc.geojson"),
        ("table.csv", "lon/lat"),
        ("missing.gpkg", "no such file"),
    ]:
        with pytest.raises(mineland.MinelandError, match=pattern):
            mineland.read_surveys(tmp_path / name)


def test_read_districts_detects_names_and_merges(tmp_path):
    d = districts_frame({"Lankaran": sq(0, 0), "Goražde": sq(1000, 0)})
    d = pd.concat([d, districts_frame({"Lankaran": sq(0, 1000)})], ignore_index=True)
    d = gpd.GeoDataFrame(d.rename(columns={"name": "shapeName"}), crs=4326)
    d["shapeISO"] = "AZ"
    write(d, tmp_path / "d.geojson", "GeoJSON")
    out = mineland.read_districts(tmp_path / "d.geojson")
    assert list(out["district"]) == ["Lankaran", "Goražde"]
    assert list(out["features"]) == [2, 1]
    assert out.attrs["name_field"] == "shapeName"
    assert geod_ha(out.geometry.iloc[0]) == pytest.approx(200.0, rel=1e-4)
    with pytest.raises(SchemaError, match="NAME_3"):
        mineland.read_districts(tmp_path / "d.geojson", name_field="NAME_3")
    write(d.drop(columns="shapeName"), tmp_path / "noname.geojson", "GeoJSON")
    with pytest.raises(SchemaError, match="no district name field"):
        mineland.read_districts(tmp_path / "noname.geojson")


def test_invalid_district_polygons_are_repaired(tmp_path, caplog):
    bow = shapely.Polygon([(0, 0), (2000, 2000), (2000, 0), (0, 2000), (0, 0)])
    d = districts_frame({"Bow": bow, "Ok": sq(3000, 0)})
    write(d, tmp_path / "d.gpkg", "GPKG")
    out = mineland.read_districts(tmp_path / "d.gpkg")
    assert out.attrs["repaired"] == ["Bow"]
    assert geod_ha(out.geometry.iloc[0]) == pytest.approx(200.0, rel=1e-4)  # both lobes
    assert "repaired 1 invalid district" in caplog.text


def test_real_boundaries_read(tmp_path):
    from conftest import AZE

    if not AZE.exists():
        pytest.skip("shared Azerbaijan boundaries not available")
    d = mineland.read_districts(AZE)
    assert len(d) == 78  # 79 features, Lankaran District twice
    assert d.loc[d["district"] == "Lankaran District", "features"].iloc[0] == 2


def _text_columns(seed: int) -> list[np.ndarray]:
    """Object columns as readers hand them over: text with blanks of each kind, text
    mixed with numbers, no text at all, non-ASCII names, and none of these."""
    rng = np.random.default_rng(seed)
    kinds = [
        ["Cəbrayıl", "Goražde", "HZ-001", "", " padded "],
        [None, np.nan, pd.NA],
        [1, 2.5, True],
    ]
    out = [np.array([], dtype=object), np.full(5, None, dtype=object)]
    for mix in ([0], [0, 1], [1], [0, 2], [0, 1, 2], [2, 1]):
        pool = [v for k in mix for v in kinds[k]]
        out.append(np.array([pool[i] for i in rng.integers(0, len(pool), 40)], dtype=object))
    return out


@pytest.mark.parametrize("infer", [True, False])
def test_text_columns_made_by_arrow_are_those_pandas_infers(infer):
    from mineland.records import _column, _text_dtype

    # pandas 3 warns that the option is to go in pandas 4
    with warnings.catch_warnings(action="ignore"), pd.option_context("future.infer_string", infer):
        text = _text_dtype()
        assert (text is None) != infer
        for seed in range(5):
            for values in _text_columns(seed):
                got, want = pd.Series(_column(values, text)), pd.Series(values)
                pd.testing.assert_series_equal(got, want)
        for value in ("Ağdam/hazards.gpkg", None, ""):
            for n in (0, 1, 7):
                repeated = np.full(n, value, dtype=object)
                got = pd.Series(_column(repeated, text))
                pd.testing.assert_series_equal(got, pd.Series(repeated))


def test_a_geopackage_attribute_table_with_coordinates_is_read_and_the_others_named(
    tmp_path, caplog
):
    import pyogrio

    path = tmp_path / "export.gpkg"
    areas = sample_records().iloc[:3]
    write(areas.to_crs(4326), path, "GPKG")
    devices = pd.DataFrame(
        {"record_id": ["D1", "D2"], "record_type": "device", "lon": [46.5, 46.6], "lat": 39.5}
    )
    pyogrio.write_dataframe(devices, path, layer="devices")
    pyogrio.write_dataframe(pd.DataFrame({"code": [1], "label": ["a"]}), path, layer="lookup")
    pyogrio.write_dataframe(pd.DataFrame({"styleName": ["s"]}), path, layer="layer_styles")
    with caplog.at_level("WARNING"):
        data = mineland.read_surveys(path)
    assert data.n_read == len(areas) + len(devices)  # the devices table is not lost
    got = data.records.set_index("record_id")
    assert got.geometry["D2"].x == pytest.approx(46.6) and got.geometry["D2"].y == 39.5
    assert "layers without geometry or coordinate columns skipped: 'lookup'" in caplog.text
    assert "layer_styles" not in caplog.text


def test_twin_columns_that_differ_are_an_error_naming_them(tmp_path, caplog):
    """A join's stale copy of the type column: which one the table is read by would be
    a guess, and each gives other hectares."""
    rows = "record_id,record_type,lon,lat,record_type\nA1,device,46.6,39.8,device\n"
    (tmp_path / "same.csv").write_text(rows, encoding="utf-8")
    assert list(mineland.read_surveys(tmp_path / "same.csv").records.record_type) == ["device"]
    (tmp_path / "twin.csv").write_text(rows.replace(",device\n", ",incident\n"), encoding="utf-8")
    with pytest.raises(SchemaError, match=r"twin\.csv: columns 2 \('record_type'\) and 5 "):
        mineland.read_surveys(tmp_path / "twin.csv")
    frame = pd.DataFrame([["A1", "device", 46.6, 39.8, "incident"]])
    frame.to_excel(tmp_path / "twin.xlsx", header=rows.split("\n")[0].split(","), index=False)
    with pytest.raises(SchemaError, match=r"twin\.xlsx \(sheet 'Sheet1'\): columns 2 .* row 1"):
        mineland.read_surveys(tmp_path / "twin.xlsx")
    ids = "record_id,record_type,lon,lat,Record-ID\nA1,device,46.6,39.8,B1\n"
    (tmp_path / "ids.csv").write_text(ids, encoding="utf-8")
    assert list(mineland.read_surveys(tmp_path / "ids.csv").records.record_id) == ["A1"]
    assert "are both record_id, and row 1 has 'A1' in one and 'B1'" in caplog.text


def test_a_field_map_chooses_between_twin_columns_of_other_case(tmp_path):
    gdf = sample_records().iloc[:1].assign(**{"Record Type": "cleared"})  # SHA beside it
    write(gdf, tmp_path / "h.geojson")
    with pytest.raises(SchemaError, match=r"'record_type'\) and .* \('Record Type'\) are both"):
        mineland.read_surveys(tmp_path / "h.geojson")
    data = mineland.read_surveys(tmp_path / "h.geojson", field_map={"record_type": "Record Type"})
    assert list(data.records.record_type) == ["cleared"]


def test_arcgis_point_x_and_point_y_are_coordinates_in_the_crs_given(tmp_path):
    """ArcGIS's Add XY Coordinates writes POINT_X and POINT_Y, in the layer's CRS (so
    a CRS must be given); other names get a hint to name them in a field map."""
    east, north = 421_000.0, 4_404_000.0  # UTM 38N
    path = tmp_path / "xy.csv"
    path.write_text(f"record_id,record_type,POINT_X,POINT_Y\nA1,device,{east},{north}\n")
    with pytest.raises(CRSError, match="declares no coordinate reference system"):
        mineland.read_surveys(path)
    point = mineland.read_surveys(path, crs="EPSG:32638").records.geometry.iloc[0]
    lon, lat = pyproj.Transformer.from_crs(32638, 4326, always_xy=True).transform(east, north)
    assert (point.x, point.y) == pytest.approx((lon, lat), abs=1e-9)
    path.write_text("record_id,record_type,Lon (WGS84),Lat (WGS84)\nA1,device,46.5,39.5\n")
    with pytest.raises(SchemaError, match=r"Name them in a field map, e\.g\. lon = "):
        mineland.read_surveys(path)
    named = {"lon": "Lon (WGS84)", "lat": "Lat (WGS84)"}
    assert len(mineland.read_surveys(path, field_map=named).records) == 1
