"""GeoParquet in and out, and reading only a bounding box."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import DISTRICTS, SURVEYS, geod_ha, run

import mineland
from mineland.cli import main

BOX = (46.2, 39.5, 46.7, 39.9)


def test_convert_round_trip_gives_the_same_hectares(tmp_path):
    out = tmp_path / "surveys.parquet"
    r = CliRunner().invoke(
        main, ["convert", str(SURVEYS), "-o", str(out), "--rows-per-part", "1500"]
    )
    assert r.exit_code == 0, r.output
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 4  # 5,310 records / 1,500
    d = mineland.read_districts(DISTRICTS)
    a = mineland.summarize(d, mineland.read_surveys(SURVEYS))
    back = mineland.read_surveys(out)
    b = mineland.summarize(d, back)
    for col in ("contaminated_ha", "released_ha", "devices", "killed"):
        assert b[col].sum() == pytest.approx(a[col].sum(), rel=1e-9)
    assert "original_source_file" in back.records.columns
    # a second conversion into the same folder is refused, as is writing over an input
    r = CliRunner().invoke(main, ["convert", str(SURVEYS), "-o", str(out)])
    assert r.exit_code == 2 and "folder" in r.stderr


@pytest.mark.parametrize("fmt", ["gpkg", "parquet"])
def test_bbox_reads_only_what_intersects(tmp_path, fmt):
    full = mineland.read_surveys(SURVEYS).records
    path = tmp_path / f"s.{fmt}"
    if fmt == "gpkg":
        full.to_crs(32638).to_file(path, engine="pyogrio")  # the box is lon/lat, the file UTM
    else:
        mineland.io.write_geoparquet(full, path, rows_per_part=1000)
    part = mineland.read_surveys(path, bbox=BOX).records
    expected = full[full.intersects(shapely.box(*BOX))]
    assert set(expected["record_id"]) <= set(part["record_id"])
    # the index may return a few more (bounding boxes touching the box), never the rest
    assert len(part) < 0.5 * len(full)
    assert len(part) <= len(expected) * 1.2 + 5


def test_parquet_files_in_folders_are_found(tmp_path):
    full = mineland.read_surveys(SURVEYS).records
    (tmp_path / "in").mkdir()
    full.iloc[:100].to_parquet(tmp_path / "in" / "a.parquet")
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "in" / "notes.txt")
    data = mineland.read_surveys(tmp_path / "in")
    assert len(data.records) == 100
    assert isinstance(data.records, gpd.GeoDataFrame)


def test_a_converted_dataset_in_a_folder_is_read_and_an_unfinished_one_skipped(tmp_path, caplog):
    full = mineland.read_surveys(SURVEYS).records
    inbox = tmp_path / "in"
    inbox.mkdir()
    assert run("convert", SURVEYS, "-o", inbox / "parts", "--rows-per-part", "1000").exit_code == 0
    left = inbox / ".parts.1.0123abcd.partial"  # a run at work, or a killed one's
    shutil.copytree(inbox / "parts", left)
    extra = [f"x{k},device,46.{k}5,39.5" for k in range(10)]
    (inbox / "extra.csv").write_text("record_id,record_type,lon,lat\n" + "\n".join(extra))
    with caplog.at_level("WARNING"):
        data = mineland.read_surveys(inbox)
    assert data.n_read == len(full) + 10  # the dataset whole, once, and the CSV
    assert len(data.records) == len(full) + 10
    assert ".parts.1.0123abcd.partial (unfinished output of an interrupted run)" in caplog.text


def test_bbox_on_the_command_line(tmp_path):
    out = tmp_path / "s.csv"
    args = ["summarize", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--bbox", *map(str, BOX)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    full = mineland.read_surveys(SURVEYS).records
    n = int(r.stderr.split("read ")[1].split(" records")[0])
    assert 0 < n < len(full)


def test_a_box_leaves_out_the_districts_it_does_not_read_and_names_the_partial_ones(tmp_path):
    """Only the records that meet --bbox are read: a district beyond the box showed 0 ha
    (land free of mines, to a reader) and one across its edge a part of its own, with
    nothing said.  Now the first is left out and the others named; a district inside
    the box has its whole land, and a record that meets the box keeps its land in a
    district beyond it (not outside every district)."""
    cells = {
        n: shapely.box(46.0 + 0.1 * k, 39.0, 46.1 + 0.1 * k, 39.1) for k, n in enumerate("ABC")
    }
    named = {**cells, "Goražde": shapely.box(46.5, 39.0, 46.6, 39.1)}
    hazards = {
        "h1": shapely.box(46.02, 39.02, 46.05, 39.05),  # in A
        "h2": shapely.box(46.17, 39.02, 46.19, 39.05),  # in B, beyond the box
        "h3": shapely.box(46.14, 39.06, 46.25, 39.08),  # meets the box, reaches into C
        "h4": shapely.box(46.52, 39.02, 46.55, 39.05),  # beyond the box
    }
    gpd.GeoDataFrame({"name": list(named)}, geometry=list(named.values()), crs=4326).to_file(
        tmp_path / "d.geojson"
    )
    rows = {"record_id": list(hazards), "record_type": ["SHA"] * 4}
    gpd.GeoDataFrame(rows, geometry=list(hazards.values()), crs=4326).to_file(tmp_path / "h.gpkg")
    common = ["summarize", tmp_path / "d.geojson", tmp_path / "h.gpkg"]
    box = ["--bbox", "45.95", "38.95", "46.15", "39.15"]
    r = CliRunner().invoke(main, [str(a) for a in [*common, "-o", tmp_path / "b.csv", *box]])
    assert r.exit_code == 0, r.output
    assert "1 districts beyond it are left out" in r.stderr
    assert "2 that cross its edge count only those records (B, C)" in r.stderr
    got = pd.read_csv(tmp_path / "b.csv").set_index("district")
    assert list(got.index) == ["A", "B", "C"]  # no row outside every district either
    # the table says it holds only what was read through the box (so do the map, the
    # report's sources and the raster's tags: the same metadata)
    assert set(got["records_read"]) == {
        "only the records that meet the box 45.95 38.95 46.15 39.15"
    }
    assert got.loc["A", "sha_ha"] == pytest.approx(geod_ha(hazards["h1"]), rel=1e-7)
    read = (
        mineland.read_districts(tmp_path / "d.geojson"),
        mineland.read_surveys(tmp_path / "h.gpkg"),
    )
    full = mineland.summarize(*read).set_index("district")
    assert got.loc["C", "sha_ha"] == pytest.approx(full.loc["C", "sha_ha"], rel=1e-7)
    assert 0 < got.loc["B", "sha_ha"] < full.loc["B", "sha_ha"]  # h2 was not read
    far = ["--bbox", "40", "38", "40.1", "38.1"]
    r = CliRunner().invoke(main, [str(a) for a in [*common, "-o", tmp_path / "f.csv", *far]])
    assert r.exit_code == 2 and "no district meets the box" in r.stderr, r.output
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize(
    "box, words",
    [
        (("50", "40", "40", "50"), "west edge must not lie east"),
        (("40", "50", "50", "40"), "south edge north"),
        (("nan", "39", "47", "40"), "four finite numbers"),
        (("-200", "-100", "200", "100"), "beyond ±180° or ±90°"),
    ],
)
def test_a_box_that_is_not_a_box_is_one_clear_error(tmp_path, box, words):
    """A box given the wrong way round, not a number or beyond the Earth read, before,
    what GDAL made of it (a box turned round, or an error in its SQL): now exit 2 and
    one line saying what is wrong, in the library as on the command line."""
    out = tmp_path / "s.csv"
    r = CliRunner().invoke(
        main, ["summarize", str(DISTRICTS), str(SURVEYS), "-o", str(out)] + ["--bbox", *box]
    )
    assert r.exit_code == 2 and words in r.stderr, r.output
    assert not out.exists()
    with pytest.raises(mineland.SchemaError, match=words):
        mineland.read_surveys(SURVEYS, bbox=tuple(float(v) for v in box))
