"""What every output looks like when a GIS user opens it: named CRSs, a GeoPackage
QGIS loads without asking, workbooks formatted like the report's."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pyogrio
import pytest
import rasterio
from conftest import DISTRICTS, SURVEYS, run


def test_the_rasters_crs_has_a_name(tmp_path):
    out = tmp_path / "d.tif"
    assert run("raster", DISTRICTS, SURVEYS, "-o", out, "--resolution", "500").exit_code == 0
    with rasterio.open(out) as src:
        wkt = src.crs.to_wkt()
    name = wkt.split('"')[1]
    assert name.startswith("Lambert Azimuthal Equal Area (WGS 84), centre ")
    assert "°N" in name and "°E" in name


def test_findings_geopackage_has_one_layer_per_geometry_type(tmp_path):
    out = tmp_path / "v.gpkg"
    run("validate", DISTRICTS, SURVEYS, "-o", out, "-q")
    layers = {name: kind for name, kind in pyogrio.list_layers(out)}
    assert layers.get("findings_points") == "Point"
    assert layers.get("findings_polygons") in ("Polygon", "MultiPolygon")
    assert layers.get("findings") is None and "findings" in layers  # without a place
    for name, kind in layers.items():
        info = pyogrio.read_info(out, layer=name)
        assert info["geometry_type"] == kind


@pytest.mark.parametrize(
    ("command", "sheet", "number_col", "fmt"),
    [
        ("summarize", "Summary", "contaminated_ha", "#,##0.0"),
        ("progress", "Progress", "cleared_ha", "#,##0.0"),
        ("impact", "Land cover", "contaminated_ha", "#,##0.0"),
    ],
)
def test_every_workbook_is_formatted(tmp_path, command, sheet, number_col, fmt):
    out = tmp_path / f"{command}.xlsx"
    extra = ["--landcover", DISTRICTS.parents[1] / "landcover" / "synthetic_landcover.tif"]
    args = [command, DISTRICTS, SURVEYS, "-o", out, *(extra if command == "impact" else [])]
    result = run(*args)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [sheet]
    ws = book[sheet]
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2" and all(c.font.bold for c in ws[1])
    k = header.index(number_col) + 1
    assert ws.cell(row=2, column=k).number_format == fmt
    assert ws.column_dimensions["A"].width >= 8
    if command == "progress":
        dates = [c.value for (c,) in ws.iter_rows(min_row=2, min_col=2, max_col=2)]
        assert all(isinstance(d, dt.datetime) for d in dates)
        assert ws.cell(row=2, column=2).number_format == "yyyy-mm-dd"


def test_validation_workbook_sheets_are_named(tmp_path):
    out = tmp_path / "v.xlsx"
    run("validate", DISTRICTS, SURVEYS, "-o", out, "-q")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Checks", "Findings", "Files"]
    assert all(book[s].freeze_panes == "A2" for s in book.sheetnames)


@pytest.mark.parametrize("seed", range(4))
def test_text_cells_neutralised_by_distinct_value_equal_each_cell_neutralised(seed):
    """Text columns are made inert once per distinct value: the cells come out as
    neutralising each one on its own gives, missing values and mixed columns too."""
    import random

    from mineland.io.write import _safe_cell, neutralise_formulas

    rng = random.Random(seed)
    texts = ["=1+1", "+1", "-2", "@A1", "\tx", "ok", "Cəbrayıl", "\x1b[2J", "a\x00b", ""]
    missing = [None, float("nan"), pd.NA]
    frame = pd.DataFrame(
        {
            "text": [rng.choice(texts + missing) for _ in range(500)],
            "arrow": pd.array([rng.choice(texts + [None]) for _ in range(500)], dtype="string"),
            "mixed": [rng.choice(texts + missing + [1, 1.0, True, 0]) for _ in range(500)],
        }
    )
    got = neutralise_formulas(frame)
    for col in frame.columns:
        for have, cell in zip(got[col], frame[col].astype(object), strict=True):
            want = _safe_cell(cell)
            assert type(have) is type(want), (col, cell, have)
            assert have == want if isinstance(want, str) else have is want or pd.isna(have)
