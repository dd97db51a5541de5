"""Integrity of inputs, options and outputs: nothing lost, nothing silently ignored."""

from __future__ import annotations

import builtins

import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import ROOT, TEST_LAEA, sq

import mineland
from mineland.charts import chart_label, figure_png, plot_remaining
from mineland.cli import main

DISTRICTS = ROOT / "data" / "boundaries" / "synthetic_districts.geojson"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def lonlat_wkt(geom) -> str:
    import geopandas as gpd

    return gpd.GeoSeries([geom], crs=TEST_LAEA).to_crs(4326).iloc[0].wkt


@pytest.fixture
def shapefile_like_csv(tmp_path):
    """Columns as a Shapefile truncates them: DATE_COMPLETED → DATE_COMPL."""
    districts = mineland.read_districts(DISTRICTS)
    c = districts.to_crs(TEST_LAEA).geometry.iloc[0].representative_point()
    rows = [
        {"ID": "a", "TYPE": "SHA", "DATE_COMPL": "2020-05-01", "WKT": lonlat_wkt(sq(c.x, c.y))},
        {
            "ID": "b",
            "TYPE": "SHA",
            "DATE_COMPL": "2024-05-01",
            "WKT": lonlat_wkt(sq(c.x + 2000, c.y)),
        },
    ]
    path = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def write_map(tmp_path, date_column: str):
    path = tmp_path / f"map_{date_column}.toml"
    path.write_text(f'record_id = "ID"\nrecord_type = "TYPE"\ndate = "{date_column}"\n')
    return path


def test_field_map_naming_a_missing_column_is_an_error(tmp_path, shapefile_like_csv):
    fmap = write_map(tmp_path, "DATE_DONE")
    result = run(
        "summarize", DISTRICTS, shapefile_like_csv, "--field-map", fmap, "--crs", "EPSG:4326"
    )
    assert result.exit_code == 2
    assert "DATE_DONE" in result.output and "'DATE_COMPL'" in result.output
    assert "internal error" not in result.output


def test_truncated_shapefile_name_is_used_and_as_of_works(tmp_path, shapefile_like_csv):
    fmap = write_map(tmp_path, "DATE_COMPLETED")
    data = mineland.read_surveys(shapefile_like_csv, field_map=fmap, crs="EPSG:4326")
    assert data.records["date"].notna().all()  # not silently undated
    d = mineland.read_districts(DISTRICTS)
    early = mineland.summarize(d, data, as_of="2021-01-01")["sha_ha"].sum()
    late = mineland.summarize(d, data, as_of="2025-01-01")["sha_ha"].sum()
    assert early == pytest.approx(100.0, rel=1e-4)  # one 1 km square
    assert late == pytest.approx(200.0, rel=1e-4)


def test_a_run_that_rejects_every_row_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "record_id": ["x", "y"],
            "record_type": ["nope", "zzz"],
            "lon": [46.5, 46.6],
            "lat": [39.7, 39.8],
        }
    ).to_csv(bad, index=False)
    out = tmp_path / "s.csv"
    result = run("summarize", DISTRICTS, bad, "-o", out)
    assert result.exit_code == 2
    assert "every one of the 2 input rows was rejected" in result.output
    assert not out.exists()
    rejected = pd.read_csv(tmp_path / "s_rejected.csv")
    assert list(rejected["record_id"]) == ["x", "y"]


def test_output_paths_are_checked_before_any_work(tmp_path):
    surveys = ROOT / "data" / "surveys"
    same = tmp_path / "s.csv"
    result = run("summarize", DISTRICTS, surveys, "-o", same, "--rejected", same)
    assert result.exit_code == 2 and "same file" in result.output
    result = run("summarize", DISTRICTS, surveys, "-o", tmp_path / "no" / "such" / "s.csv")
    assert result.exit_code == 2 and "does not exist" in result.output
    assert "districts from" not in result.output  # nothing was read


@pytest.mark.parametrize("value", ["0", "-1"])
def test_option_ranges(tmp_path, value):
    result = run(
        "convert", ROOT / "data" / "surveys", "-o", tmp_path / "p", "--rows-per-part", value
    )
    assert result.exit_code == 2
    result = run(
        "raster",
        DISTRICTS,
        ROOT / "data" / "surveys",
        "-o",
        tmp_path / "d.tif",
        "--resolution",
        value,
    )
    assert result.exit_code == 2


def test_chart_labels_from_data_are_safe():
    assert chart_label("a$b$c") == r"a\$b\$c"
    assert chart_label("bell\x07\x1b[31m") == "bell[31m"
    summary = pd.DataFrame(
        {
            "district": [r"$\frac{1}{0}$", "x\x1b]0;pwn\x07"],
            "cha_ha": [1.0, 2.0],
            "sha_ha": [3.0, 4.0],
            "contaminated_ha": [4.0, 6.0],
        }
    )
    png = figure_png(plot_remaining(summary))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_dask_gives_an_install_hint(monkeypatch):
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    d = mineland.read_districts(DISTRICTS)
    s = mineland.read_surveys(ROOT / "data" / "surveys")
    with pytest.raises(mineland.MissingExtraError, match=r"pip install 'mineland\[dask\]'"):
        mineland.summarize(d, s, engine="dask")


def test_curved_wkt_is_linearised(tmp_path):
    path = tmp_path / "curves.csv"
    ring = "CIRCULARSTRING(46.6 39.7, 46.61 39.71, 46.6 39.72, 46.59 39.71, 46.6 39.7)"
    pd.DataFrame(
        {"record_id": ["c"], "record_type": ["SHA"], "wkt": [f"CURVEPOLYGON({ring})"]}
    ).to_csv(path, index=False)
    data = mineland.read_surveys(path, crs="EPSG:4326")
    (geom,) = data.records.geometry
    assert isinstance(geom, shapely.Polygon) and len(geom.exterior.coords) > 20
    assert "linearised" in data.records["repair"].iloc[0]


def test_a_failing_map_layer_leaves_the_map_and_says_so(monkeypatch, tmp_path):
    import mineland.mapping as mapping

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(mapping, "_point_groups", broken)
    acc = mineland.account(
        mineland.read_districts(DISTRICTS), mineland.read_surveys(ROOT / "data" / "surveys")
    )
    path = mineland.save_map(mineland.make_map(acc), tmp_path / "m.html")
    text = path.read_text(encoding="utf-8")
    assert "devices and incidents layer could not be drawn" in text
    assert acc.summary["district"].iloc[0] in text  # the districts are still there


def test_a_failing_validation_leaves_the_table(monkeypatch, tmp_path):
    import importlib

    validate_module = importlib.import_module("mineland.validate")

    def broken(*args, **kwargs):
        raise RuntimeError("side location conflict")

    monkeypatch.setattr(validate_module, "validate", broken)
    out = tmp_path / "s.csv"
    result = run("summarize", DISTRICTS, ROOT / "data" / "surveys", "-o", out)
    assert result.exit_code == 0
    assert "validation failed and was left out" in result.output
    assert len(pd.read_csv(out)) > 0
