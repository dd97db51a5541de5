"""Rasters: exact density GeoTIFF and land-cover impact on hand-computable cases."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from conftest import DISTRICTS, ROOT, SURVEYS, TEST_LAEA, districts_frame, frame, sq

import mineland
from mineland.cli import main
from mineland.errors import DataError
from mineland.io import load_class_table, read_raster, write_raster
from mineland.raster import DENSITY_NODATA, RasterData, landcover_impact, rasterize_contamination

LANDCOVER = ROOT / "data" / "landcover" / "synthetic_landcover.tif"


def rec(rid, rtype, geom, **kw):
    return {"record_id": rid, "record_type": rtype, "geometry": geom, **kw}


@pytest.fixture
def small():
    d = districts_frame({"A": sq(0, 0, 5000), "B": sq(5000, 0, 5000)})
    s = frame(
        [
            rec("h1", "CHA", sq(1234, 1234, 777)),  # partial cells everywhere
            rec("h2", "SHA", shapely.Point(4000, 4000).buffer(300)),
            rec("c1", "cleared", sq(1234, 1234, 300)),
        ]
    )
    return mineland.account(d, s)


def test_cell_area_times_fraction_equals_contaminated_ha(small):
    for res in (50, 100, 250):
        array, profile = rasterize_contamination(small, resolution=res)
        cell_ha = res * res / 1e4
        total = float(array[array > 0].astype(np.float64).sum()) * cell_ha
        assert total == pytest.approx(small.summary["contaminated_ha"].sum(), rel=5e-3)
        assert total == pytest.approx(small.summary["contaminated_ha"].sum(), rel=1e-5)
        assert array.max() <= 1.0 and profile["nodata"] == DENSITY_NODATA
        partial = (array > 0) & (array < 1)
        assert partial.any()  # exact fractions, not a 0/1 burn


def test_by_class_and_a_utm_grid(small):
    cha, _ = rasterize_contamination(small, resolution=100, by="cha")
    sha, _ = rasterize_contamination(small, resolution=100, by="sha")
    s = small.summary
    assert cha[cha > 0].sum() == pytest.approx(s["cha_ha"].sum(), rel=1e-5)
    assert sha[sha > 0].sum() == pytest.approx(s["sha_ha"].sum(), rel=1e-5)
    utm, profile = rasterize_contamination(small, resolution=100, crs="EPSG:32638")
    assert "UTM zone 38N" in pyproj.CRS.from_wkt(profile["crs"]).name
    # UTM cells are not equal-area: off by the scale factor, but close
    assert utm[utm > 0].sum() == pytest.approx(s["contaminated_ha"].sum(), rel=5e-3)
    with pytest.raises(mineland.DataError, match="projected"):
        rasterize_contamination(small, crs="EPSG:4326")
    with pytest.raises(mineland.DataError, match="by must be"):
        rasterize_contamination(small, by="cleared")


def test_geotiff_has_nodata_compression_tiling_and_overviews(small, tmp_path):
    array, profile = rasterize_contamination(small, resolution=20)
    path = write_raster(array, profile, tmp_path / "d.tif", tags={"as_of": "x"})
    with rasterio.open(path) as src:
        assert src.nodata == DENSITY_NODATA
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.overviews(1) == [2, 4, 8, 16]
        assert src.tags()["as_of"] == "x"
        assert np.array_equal(src.read(1), array)
    # nodata only on the rim where the grid pokes out of the (slightly rotated) districts
    assert 0 < (array == DENSITY_NODATA).sum() < 0.02 * array.size
    assert array[array.shape[0] // 2, array.shape[1] // 2] != DENSITY_NODATA
    with pytest.raises(mineland.OutputError, match=r"\.tif"):
        write_raster(array, profile, tmp_path / "d.png")


def test_landcover_two_classes_hand_computed(tmp_path):
    # a 2-class raster in UTM 38N: west half cropland (40), east half trees (10)
    x0, y0 = 600_000, 4_400_000
    arr = np.full((10, 10), 40, dtype=np.uint8)
    arr[:, 5:] = 10
    arr[0, 0] = 0  # nodata corner
    transform = Affine(100, 0, x0, 0, -100, y0 + 1000)
    lc = RasterData(arr, transform, pyproj.CRS.from_epsg(32638), 0)
    # one district covering the raster, one CHA polygon: 300 m x 200 m straddling the
    # class border (x 400..700 → 100 m in cropland, 200 m in trees)
    utm = pyproj.CRS.from_epsg(32638)
    district = districts_frame(
        {"D": shapely.box(x0 - 1000, y0 - 1000, x0 + 2000, y0 + 2000)}, crs=utm
    )
    hazard = frame([rec("h", "CHA", shapely.box(x0 + 400, y0 + 300, x0 + 700, y0 + 500))], crs=utm)
    acc = mineland.account(district, hazard)
    table = landcover_impact(acc, None, lc)
    by = table.set_index("class_value")["contaminated_ha"]
    total = acc.summary["contaminated_ha"].sum()
    assert by[40] == pytest.approx(total * 1 / 3, rel=1e-3)
    assert by[10] == pytest.approx(total * 2 / 3, rel=1e-3)
    assert table["class_name"].tolist()[:2] == ["Tree cover", "Cropland"]
    # 300 m x 300 m over the raster's top-left corner: 4 cells inside the raster, one of
    # them nodata, so 3/9 is cropland ("Fields") and 6/9 has no land-cover data
    corner = frame([rec("c", "SHA", shapely.box(x0 - 100, y0 + 800, x0 + 200, y0 + 1100))], crs=utm)
    acc2 = mineland.account(district, corner)
    t2 = landcover_impact(acc2, None, lc, classes={40: "Fields"})
    total2 = acc2.summary["contaminated_ha"].sum()
    nodata = t2[t2["class_name"] == "(no land-cover data)"]["contaminated_ha"].sum()
    fields = t2[t2["class_name"] == "Fields"]["contaminated_ha"].sum()
    assert fields == pytest.approx(total2 / 3, rel=1e-3)
    assert nodata == pytest.approx(total2 * 2 / 3, rel=1e-3)


def test_a_hazard_flush_with_a_district_border_is_measured(tmp_path):
    # its edge is the border's very edge: its piece in the next district is a line,
    # which has no area and which exactextract cannot read
    d = districts_frame({"A": sq(0, 0, 5000), "B": sq(5000, 0, 5000)})
    acc = mineland.account(d, frame([rec("h", "SHA", shapely.box(4000, 0, 5000, 5000))]))
    lc = RasterData(np.full((20, 20), 40, dtype=np.uint8), Affine(600, 0, -1000, 0, -600, 11000),
                    TEST_LAEA, 0)  # fmt: skip
    table = landcover_impact(acc, None, lc)
    assert table["contaminated_ha"].sum() == pytest.approx(500.0, rel=1e-6)  # 1 km x 5 km
    assert table.set_index("district").loc["A", "contaminated_ha"] == pytest.approx(500, rel=1e-6)
    array, _ = rasterize_contamination(acc, resolution=250)
    assert float(array[array > 0].astype(np.float64).sum()) * 6.25 == pytest.approx(500, rel=1e-5)


def test_landcover_rows_add_up_to_the_summary():
    acc = mineland.account(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    table = landcover_impact(acc, None, mineland.read_raster(LANDCOVER))
    got = table.groupby("district")[["contaminated_ha", "released_ha"]].sum()
    want = acc.summary.set_index("district").loc[got.index]
    assert np.allclose(got["contaminated_ha"], want["contaminated_ha"], rtol=1e-6, atol=1e-6)
    assert np.allclose(got["released_ha"], want["released_ha"], rtol=1e-6, atol=1e-6)
    assert set(table["class_value"].dropna()) <= {10, 20, 30, 40, 50, 60, 80}


def test_class_tables(tmp_path):
    (tmp_path / "c.csv").write_text("value,name\n1,Fields\n2,Forest\n")
    (tmp_path / "c.toml").write_text('[classes]\n1 = "Fields"\n2 = "Forest"\n')
    assert load_class_table(tmp_path / "c.csv") == {1: "Fields", 2: "Forest"}
    assert load_class_table(tmp_path / "c.toml") == {1: "Fields", 2: "Forest"}
    (tmp_path / "bad.csv").write_text("value,name\nx,Fields\n")
    with pytest.raises(mineland.SchemaError, match="'x'"):
        load_class_table(tmp_path / "bad.csv")


@pytest.mark.parametrize(
    "raw, want",
    [
        ("value;name\r\n1;Fields\r\n2;Forêt\r\n".encode("cp1252"), {1: "Fields", 2: "Forêt"}),
        ("\ufeffvalue,name,colour\n1,Fields,#ff0\n".encode(), {1: "Fields"}),
        (b'{"type": "FeatureCollection",\n "features": [1, 2, 3]}\n', "two columns"),
        (b"value,name\n1,Fields\n2,Forest,extra\n", "row 2 after the header"),
        (b"value,name\n1,Fields\n1,Forest\n", "named twice"),
        (b"", "two columns"),
    ],
)
def test_class_tables_read_as_survey_csvs_are_or_one_clear_error(tmp_path, raw, want):
    """A class table from a spreadsheet (semicolons, Windows-1252, a BOM, a third
    column) is read; anything else (a GeoJSON given by mistake, a row that does not
    fit, a value named twice, an empty file) is one error naming the file."""
    path = tmp_path / "classes.csv"
    path.write_bytes(raw)
    if isinstance(want, dict):
        assert load_class_table(path) == want
        return
    with pytest.raises(mineland.SchemaError, match=want) as err:
        load_class_table(path)
    assert str(path) in str(err.value)
    r = CliRunner().invoke(
        main,
        ["impact", str(DISTRICTS), str(SURVEYS), "--landcover", str(LANDCOVER)]
        + ["--classes", str(path), "-o", str(tmp_path / "i.csv")],
    )
    assert r.exit_code == 2 and want in r.stderr and "internal error" not in r.output


def test_read_raster_errors(tmp_path):
    (tmp_path / "x.tif").write_bytes(b"not a tiff")
    with pytest.raises(mineland.InputFileError, match="x.tif"):
        read_raster(tmp_path / "x.tif")
    with pytest.raises(mineland.InputFileError, match="no such file"):
        read_raster(tmp_path / "missing.tif")


def test_raster_and_impact_cli(tmp_path):
    out = tmp_path / "d.tif"
    r = CliRunner().invoke(
        main, ["raster", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--resolution", "250"]
    )
    assert r.exit_code == 0, r.output
    with rasterio.open(out) as src:
        a = src.read(1)
        assert src.res == (250.0, 250.0)
    acc = mineland.account(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    assert a[a > 0].astype(float).sum() * 6.25 == pytest.approx(
        acc.summary["contaminated_ha"].sum(), rel=1e-5
    )
    csv = tmp_path / "impact.csv"
    r = CliRunner().invoke(
        main,
        ["impact", str(DISTRICTS), str(SURVEYS), "--landcover", str(LANDCOVER), "-o", str(csv)],
    )
    assert r.exit_code == 0, r.output
    assert "Cropland" in csv.read_text()
    r = CliRunner().invoke(
        main, ["raster", str(DISTRICTS), str(SURVEYS), "-o", str(tmp_path / "x.png")]
    )
    assert r.exit_code == 2 and ".tif" in r.stderr


@pytest.mark.parametrize("resolution", ["1e-300", "1e-9", "0.001", "nan", "inf"])
def test_a_grid_no_geotiff_can_hold_is_one_clear_error(tmp_path, resolution):
    """Cells so small that the grid has more rows, columns or tiles than a GeoTIFF
    holds (or not a number at all): exit 2 and one line, naming the finest
    resolution, never an overflow or GDAL's own error, and no file left behind."""
    out = tmp_path / "d.tif"
    args = ["raster", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--resolution", resolution]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "internal error" not in r.output
    assert ("finest resolution" in r.stderr) or ("is not a finite number" in r.stderr)
    assert list(tmp_path.iterdir()) == []


def test_the_finest_grid_named_is_the_edge_of_what_a_geotiff_holds():
    """Just coarser than the resolution the error names, the grid fits: fewer rows and
    columns than 2^31 and fewer tiles of 256 x 256 cells than GDAL takes."""
    from mineland.raster import MAX_SIDE, MAX_TILES, _grid

    for bounds in ([0.0, 0.0, 121_100.0, 140_100.0], [-3e6, 1e3, 4e6, 2e3], [5.0, 5.0, 6.0, 9e6]):
        with pytest.raises(DataError, match="finest resolution") as err:
            _grid(np.array(bounds), 1e-6)
        finest = float(str(err.value).split("about ")[1].split(" m")[0])
        left, top, cols, rows = _grid(np.array(bounds), finest * 1.05)
        assert max(cols, rows) <= MAX_SIDE
        assert np.ceil(cols / 256) * np.ceil(rows / 256) < MAX_TILES
        assert left <= bounds[0] and top >= bounds[3]
        assert left + cols * finest * 1.05 >= bounds[2] - 1e-6
        with pytest.raises(DataError):
            _grid(np.array(bounds), finest / 2)


def test_demo_landcover_is_small_and_synthetic():
    lc = read_raster(LANDCOVER)
    assert LANDCOVER.stat().st_size < 500_000
    assert lc.crs.to_epsg() == 4326
    with rasterio.open(LANDCOVER) as src:
        assert "SYNTHETIC" in src.tags()["description"]


def test_impact_adds_up_to_the_summary_with_the_outside_row():
    # a raster that covers everything, with data in every cell: nothing may be reported
    # as "(no land-cover data)", and the outside row closes the totals
    x0, y0 = 600_000, 4_400_000
    utm = pyproj.CRS.from_epsg(32638)
    arr = np.full((40, 40), 40, dtype=np.uint8)
    arr[:, 20:] = 10
    lc = RasterData(arr, Affine(100, 0, x0 - 1000, 0, -100, y0 + 3000), utm, 0)
    district = districts_frame({"D": shapely.box(x0, y0, x0 + 1500, y0 + 1500)}, crs=utm)
    hazards = frame(
        [
            rec("in", "CHA", shapely.box(x0 + 100, y0 + 100, x0 + 600, y0 + 600)),
            rec("across", "SHA", shapely.box(x0 + 1200, y0 + 200, x0 + 2200, y0 + 700)),
            rec("done", "cleared", shapely.box(x0 + 1300, y0 + 300, x0 + 1900, y0 + 500)),
        ],
        crs=utm,
    )
    acc = mineland.account(district, hazards)
    table = landcover_impact(acc, None, lc)
    totals = acc.summary[["contaminated_ha", "released_ha"]].sum()
    got = table[["contaminated_ha", "released_ha"]].sum()
    assert got["contaminated_ha"] == pytest.approx(totals["contaminated_ha"], rel=1e-6)
    assert got["released_ha"] == pytest.approx(totals["released_ha"], rel=1e-6)
    assert mineland.schema.OUTSIDE in set(table["district"])
    assert not (table["class_name"] == "(no land-cover data)").any()
    outside = acc.summary.set_index("district").loc[mineland.schema.OUTSIDE]
    rows = table[table["district"] == mineland.schema.OUTSIDE]
    assert rows["contaminated_ha"].sum() == pytest.approx(outside["contaminated_ha"], rel=1e-6)


def test_a_grid_worked_out_in_small_windows_is_the_same_grid(small, monkeypatch, tmp_path):
    """Windows of 37 × 37 cells (ragged at the edges) give the very grid that one
    window gives, and the CLI writes it window by window with the same hectares."""
    from mineland import raster

    whole, profile = raster.density_grid(small, resolution=50)
    plan = raster.plan_density(small, resolution=50)
    assert len(plan.windows()) == 1 and len(plan.windows(37)) == 18
    tiled = np.full(plan.shape, np.nan, dtype=np.float32)
    for row, col, rows, cols in plan.windows(37):
        tiled[row : row + rows, col : col + cols] = plan.window(row, col, rows, cols)
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-6)
    cell_ha = 50 * 50 / 1e4
    assert tiled[tiled > 0].astype(np.float64).sum() * cell_ha == pytest.approx(
        small.summary["contaminated_ha"].sum(), rel=1e-6
    )
    monkeypatch.setattr(raster.DensityPlan.windows, "__defaults__", (64,))
    d, s = DISTRICTS, SURVEYS
    out = tmp_path / "w.tif"
    args = ["raster", str(d), str(s), "-o", str(out), "--resolution", "250"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    monkeypatch.undo()
    with rasterio.open(out) as src:
        written = src.read(1)
    acc = mineland.account(mineland.read_districts(d), mineland.read_surveys(s))
    expected, _ = raster.density_grid(acc, resolution=250)
    np.testing.assert_allclose(written, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("resolution", [np.float32(250), np.int64(250), 250, 250.0])
def test_a_resolution_given_as_a_numpy_number_is_a_number(small, resolution):
    """A notebook's resolution is often a numpy scalar: it is a number of metres like
    any other, and gives the grid a Python number gives."""
    array, profile = rasterize_contamination(small, resolution=resolution)
    want, _ = rasterize_contamination(small, resolution=250)
    assert profile["transform"].a == 250 and np.array_equal(array, want)


@pytest.mark.parametrize("resolution", [True, "250", None, -1, 0])
def test_a_resolution_that_is_no_positive_number_is_refused(small, resolution):
    with pytest.raises(DataError, match="positive number of metres"):
        rasterize_contamination(small, resolution=resolution)
