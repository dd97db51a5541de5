"""Real sources: MGRS references, Excel workbooks, the presets for common exports,
hazard status, and UCS-2000 Gauss-Krüger zones.  Hectares against pyproj's
geodesic area; MGRS against an encoder written here from the grid's definition."""

from __future__ import annotations

import datetime as dt
import logging
import math
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
import shapely
from conftest import DISTRICTS, GDAL_WRITES_KML_FIELDS, ROOT, geod_ha, row, run

import mineland
from mineland.errors import InputFileError, SchemaError
from mineland.gridref import mgrs_to_lonlat

SAMPLES = ROOT / "data" / "samples"

# --- MGRS -----------------------------------------------------------------------

_BANDS = "CDEFGHJKLMNPQRSTUVWX"
_COLUMNS = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")  # by zone % 3
_ROWS = "ABCDEFGHJKLMNPQRSTUV"


def encode_mgrs(lon: float, lat: float, digits: int) -> str:
    """An MGRS reference from the grid's definition (UTM, 100 km letters: columns by
    zone set, rows cycling every 2,000 km, offset by five in even zones), outside the
    polar and Norway/Svalbard exceptions."""
    zone = int((lon + 180) // 6) + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    e, n = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    col = _COLUMNS[zone % 3][int(e // 100_000) - 1]
    row_letter = _ROWS[(int(n // 100_000) + (5 if zone % 2 == 0 else 0)) % 20]
    band = _BANDS[int((lat + 80) // 8)]
    p = 10 ** (5 - digits)
    east, north = int(e % 100_000 // p), int(n % 100_000 // p)
    return f"{zone}{band}{col}{row_letter}{east:0{digits}d}{north:0{digits}d}"


def utm_of(lon: float, lat: float, zone: int) -> tuple[float, float]:
    epsg = (32600 if lat >= 0 else 32700) + zone
    return pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)


@pytest.mark.parametrize("seed", range(4))
def test_mgrs_points_are_the_centres_of_their_squares(seed):
    """For random points in both hemispheres and every precision, the reference our
    own encoder writes reads back to the centre of its square (to a millimetre)."""
    rng = np.random.default_rng(seed)
    lons = rng.uniform(-179, 179, 30)
    lats = rng.uniform(-70, 55, 30)
    for lon, lat in zip(lons, lats, strict=True):
        digits = int(rng.integers(1, 6))
        ref = encode_mgrs(lon, lat, digits)
        got_lon, got_lat, why = mgrs_to_lonlat([ref])
        assert why[0] is None, ref
        zone = int((lon + 180) // 6) + 1
        e, n = utm_of(lon, lat, zone)
        ge, gn = utm_of(got_lon[0], got_lat[0], zone)
        p = 10 ** (5 - digits)
        assert math.isclose(ge, e // p * p + p / 2, abs_tol=1e-3), ref
        assert math.isclose(gn, n // p * p + p / 2, abs_tol=1e-3), ref


def test_mgrs_published_reference_point():
    """The mgrs package's own documented example: 42°N 93°W is 15TWG0000049776
    (zone 15's central meridian, so the easting is 500 000 m)."""
    lon, lat, why = mgrs_to_lonlat(["15TWG0000049776"])
    assert why[0] is None
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(lon[0], lat[0], -93.0, 42.0)
    assert dist < 1.0  # the 1 m square's centre, 0.7 m from its corner at most


def test_mgrs_as_people_type_it():
    ref = "38TNK1234567890"
    lon, lat, _ = mgrs_to_lonlat([ref])
    for typed in ("38tnk 12345 67890", " 38T NK 12345 67890 ", "38T-NK-12345-67890"):
        got_lon, got_lat, why = mgrs_to_lonlat([typed])
        assert why[0] is None and got_lon[0] == lon[0] and got_lat[0] == lat[0]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("38TNK123", "3 digits"),
        ("38TNK123456789012", "at most 10"),
        ("61TNK1234", "zone 61 does not exist"),
        ("38INK1234", "not an MGRS reference"),
        ("38TIK1234", "not an MGRS reference"),
        ("hello", "not an MGRS reference"),
        ("38TAK1234", "no such 100 km square"),  # column A is not in zone 38's set
        ("38CNK1234", "band letter C does not match"),
    ],
)
def test_malformed_mgrs_is_refused_with_its_reason(typed, reason):
    lon, _, why = mgrs_to_lonlat([typed])
    assert np.isnan(lon[0]) and reason in why[0]


def test_mgrs_column_in_a_csv_rejects_row_by_row(tmp_path):
    path = tmp_path / "eo.csv"
    path.write_text(
        "record_id,record_type,MGRS\nA,device,38S NJ 1234 5678\nB,device,38SNJ123\nC,device,\n",
        encoding="utf-8",
    )
    data = mineland.read_surveys(path)
    assert list(data.records["record_id"]) == ["A"]
    reasons = dict(zip(data.rejected["record_id"], data.rejected["reason"], strict=True))
    assert "MGRS '38SNJ123'" in reasons["B"] and "3 digits" in reasons["B"]
    assert "geometry" in reasons["C"]  # blank: no location at all


def test_field_mapped_mgrs_column_and_fallback_after_lon_lat(tmp_path):
    path = tmp_path / "eo.csv"
    want = encode_mgrs(46.5, 39.7, 5)
    path.write_text(
        f"id,kind,lon,lat,Grid Ref\nA,device,46.5,39.7,\nB,device,,,{want}\n", encoding="utf-8"
    )
    fmap = {
        "record_id": "id",
        "record_type": "kind",
        "lon": "lon",
        "lat": "lat",
        "mgrs": "Grid Ref",
    }
    data = mineland.read_surveys(path, field_map=fmap)
    geoms = dict(zip(data.records["record_id"], data.records.geometry, strict=True))
    assert geoms["A"].equals(shapely.Point(46.5, 39.7))
    assert geoms["B"].distance(shapely.Point(46.5, 39.7)) < 2e-5  # 1 m square
    with pytest.raises(SchemaError, match="Grid Reff"):
        mineland.read_surveys(path, field_map={**fmap, "mgrs": "Grid Reff"})


# --- Excel ----------------------------------------------------------------------


def test_the_mgrs_workbook_sample(caplog):
    """Every sheet with coordinates is read; the sheet without is named in the log;
    a malformed reference is rejected with its reason; a date cell and a date
    typed as an Excel serial both read as dates."""
    path = SAMPLES / "synthetic_field_reports_mgrs.xlsx"
    with caplog.at_level(logging.WARNING, logger="mineland"):
        data = mineland.read_surveys(path)
    assert "'Contacts'" in caplog.text
    assert len(data.records) + len(data.rejected) == 10
    assert list(data.rejected["record_id"]) == ["EO-099"]
    assert "MGRS '38SXX12'" in data.rejected["reason"].iloc[0]
    book = openpyxl.load_workbook(path)
    sheet = book["EO reports"]
    by_id = data.records.set_index("record_id")
    for r in sheet.iter_rows(min_row=2, values_only=True):
        rid, _, when, _, qty, ref = r
        if rid == "EO-099":
            continue
        if isinstance(when, (int, float)):  # the serial
            when = dt.date(1899, 12, 30) + dt.timedelta(days=int(when))
        assert by_id.at[rid, "date"].date() == (when.date() if hasattr(when, "date") else when)
        assert by_id.at[rid, "quantity"] == qty
        lon, lat, _ = mgrs_to_lonlat([ref])
        assert by_id.at[rid, "geometry"].equals(shapely.Point(lon[0], lat[0]))
    assert set(data.records["source_layer"]) == {"EO reports"}


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r in rows:
            sheet.append(r)
    book.save(path)
    return path


def test_sheet_selection(tmp_path):
    head = ["record_id", "record_type", "lon", "lat"]
    path = _workbook(
        tmp_path / "two.xlsx",
        {
            "north": [head, ["N1", "device", 46.5, 39.9]],
            "south": [head, ["S1", "device", 46.5, 39.3], ["S2", "incident", 46.6, 39.3]],
            "notes": [["text"], ["nothing here"]],
        },
    )
    both = mineland.read_surveys(path)
    assert sorted(both.records["record_id"]) == ["N1", "S1", "S2"]
    south = mineland.read_surveys(path, sheet="south")
    assert sorted(south.records["record_id"]) == ["S1", "S2"]
    with pytest.raises(InputFileError, match="'north', 'south', 'notes'"):
        mineland.read_surveys(path, sheet="east")
    with pytest.raises(SchemaError, match="sheet 'notes'"):
        mineland.read_surveys(path, sheet="notes")
    result = run("summarize", DISTRICTS, path, "--sheet", "north", "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "s.csv", comment="#")["devices"].sum() == 1


def test_hidden_sheets_are_read_and_named(tmp_path):
    """A sheet hidden in Excel (often a former version of the data) is read like the
    others, and a warning names it: neither reading nor skipping it is silent."""
    head = ["record_id", "record_type", "lon", "lat"]
    path = _workbook(
        tmp_path / "hidden.xlsx",
        {"now": [head, ["A", "device", 46.5, 39.7]], "old": [head, ["B", "device", 46.6, 39.7]]},
    )
    book = openpyxl.load_workbook(path)
    book["old"].sheet_state = "hidden"
    book.save(path)
    data = mineland.read_surveys(path)
    assert sorted(data.records["record_id"]) == ["A", "B"]
    notes = data.sources.set_index("source_layer")["note"]
    assert notes["old"] == "hidden_sheet: sheet 'old': hidden in the workbook; its rows were read"
    assert pd.isna(notes["now"])
    result = run("validate", DISTRICTS, path)
    assert "hidden_sheet" in result.output and "sheet 'old'" in result.output


def test_workbook_cells_as_excel_types_them(tmp_path):
    """Numbers as numbers or text with a decimal comma, dates as date cells, day-first
    text and serials; trailing blank rows are formatting, not records."""
    path = _workbook(
        tmp_path / "typed.xlsx",
        {
            "points": [
                ["record_id", "record_type", "date", "longitude", "latitude", "quantity"],
                ["A", "device", dt.datetime(2023, 4, 5), 46.5, 39.7, 2],
                ["B", "device", "05.04.2023", "46,5", "39,7", "3"],
                ["C", "device", 45021, 46.5, 39.7, 1.0],
                ["D", "device", "9999-12-31", 46.5, 39.7, 1],
                [None, None, None, None, None, None],
            ]
        },
    )
    data = mineland.read_surveys(path)
    dates = data.records.set_index("record_id")["date"]
    assert dates["A"] == dates["B"] == dates["C"] == pd.Timestamp("2023-04-05")
    assert list(data.rejected["record_id"]) == ["D"]
    assert data.n_read == 4


def test_legacy_xls_workbook(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("devices")
    for j, h in enumerate(["record_id", "record_type", "date", "lon", "lat"]):
        sheet.write(0, j, h)
    style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    sheet.write(1, 0, "X1")
    sheet.write(1, 1, "device")
    sheet.write(1, 2, dt.date(2022, 8, 9), style)
    sheet.write(1, 3, 46.5)
    sheet.write(1, 4, 39.7)
    book.save(str(tmp_path / "old.xls"))
    data = mineland.read_surveys(tmp_path / "old.xls")
    assert data.records["date"].iloc[0] == pd.Timestamp("2022-08-09")
    assert data.records.geometry.iloc[0].equals(shapely.Point(46.5, 39.7))
    # the same file named .xlsx (no zip inside) is read as it is
    (tmp_path / "renamed.xlsx").write_bytes((tmp_path / "old.xls").read_bytes())
    renamed = mineland.read_surveys(tmp_path / "renamed.xlsx")
    assert list(renamed.records["record_id"]) == ["X1"] and len(renamed.rejected) == 0


def _ods(path: Path, name: str, rows: list[list]) -> Path:
    """A LibreOffice spreadsheet (``.ods``) of one sheet, written from its parts."""
    import zipfile

    def cell(v) -> str:
        if isinstance(v, (int, float)):
            kind = f'office:value-type="float" office:value="{v}"'
        else:
            kind = 'office:value-type="string"'
        return f"<table:table-cell {kind}><text:p>{v}</text:p></table:table-cell>"

    body = "".join(f"<table:table-row>{''.join(map(cell, r))}</table:table-row>" for r in rows)
    ns = "urn:oasis:names:tc:opendocument:xmlns"
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        f'xmlns:office="{ns}:office:1.0" xmlns:table="{ns}:table:1.0" '
        f'xmlns:text="{ns}:text:1.0" office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="{name}">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        f'xmlns:manifest="{ns}:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        book.writestr("META-INF/manifest.xml", manifest)
        book.writestr("content.xml", content)
    return path


def test_libreoffice_spreadsheet_is_read_like_a_workbook(tmp_path):
    """An ``.ods`` file, as LibreOffice saves it (it was refused as a file with no
    layer of geometries), alone or in a folder."""
    head = ["record_id", "record_type", "date", "lon", "lat", "quantity"]
    _ods(
        tmp_path / "reports.ods",
        "team 2",
        [
            head,
            ["O1", "device", "2023-01-01", 46.75, 39.4, 2],
            ["O2", "incident", "x", 46.76, 39.41, 1],
        ],
    )
    data = mineland.read_surveys(tmp_path)
    assert list(data.records["record_id"]) == ["O1"]
    assert int(data.records["quantity"].iloc[0]) == 2
    assert data.records.geometry.iloc[0].equals(shapely.Point(46.75, 39.4))
    assert list(data.rejected["check"]) == ["bad_date"]
    assert set(data.sources["source_layer"]) == {"team 2"}


def test_folder_with_workbooks_skips_excels_lock_file(tmp_path, caplog):
    _workbook(
        tmp_path / "a.xlsx",
        {"s": [["record_id", "record_type", "lon", "lat"], ["A", "device", 46.5, 39.7]]},
    )
    (tmp_path / "~$a.xlsx").write_bytes(b"\x00lock")
    with caplog.at_level(logging.WARNING, logger="mineland"):
        data = mineland.read_surveys(tmp_path)
    assert list(data.records["record_id"]) == ["A"]
    assert "lock file" in caplog.text


def test_a_broken_workbook_is_one_clear_error(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match="broken.xlsx: not a readable workbook"):
        mineland.read_surveys(path)
    result = run("summarize", DISTRICTS, path)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_workbook_cells_without_a_value_are_rejected_not_read_as_blank(tmp_path):
    """A workbook saved by a program that does not work formulas out (a script's
    openpyxl) stores no value for them, and a cell may hold an error: the row is
    rejected naming the cell, its column and what it holds, not read as blank (a
    count of 1, no geometry).  A formula Excel worked out is read as its stored
    value; a formula alone on the last row is a row too."""
    head = ["record_id", "record_type", "date", "lon", "lat", "quantity"]
    path = _workbook(
        tmp_path / "formulas.xlsx",
        {
            "devices": [
                head,
                ["A", "device", "2023-01-01", 46.75, 39.4, 1],
                ["B", "device", "2023-01-02", "=46.7+0.01", "=39.4", 2],
                ["C", "device", "2023-01-03", 46.76, 39.41, "=1+1"],
                ["D", "device", "2023-01-04", 46.77, 39.42, 1],
                ["E", "device", "2023-01-05", 46.78, 39.43, 1],
                [None, None, None, None, None, "=SUM(F2:F5)"],
            ]
        },
    )
    data = mineland.read_surveys(path)
    assert list(data.records["record_id"]) == ["A", "D", "E"]
    rejected = data.rejected.set_index("record_id")
    assert list(rejected["check"]) == ["unreadable_cell"] * 3
    assert "cell D3 (lon) holds =46.7+0.01" in rejected.at["B", "reason"]
    assert "cell E3 (lat) holds =39.4" in rejected.at["B", "reason"]
    assert "cell F4 (quantity) holds =1+1" in rejected.at["C", "reason"]
    assert "Excel or LibreOffice" in rejected.at["C", "reason"]
    assert "cell F7 (quantity) holds =SUM(F2:F5)" in data.rejected["reason"].iloc[-1]
    assert data.n_read == 6 and data.sources["rejected"].sum() == 3

    # Excel's own saving: C's value stored; D's count and E's longitude errors
    saved = _edited_cells(
        path,
        {
            "F4": '<c r="F4"><f>1+1</f><v>2</v></c>',
            "F5": '<c r="F5" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            "D6": '<c r="D6" t="e"><v>#N/A</v></c>',
            "F2": '<c r="F2" t="str"><f>IF(1,"","")</f><v></v></c>',  # an empty text
        },
    )
    data = mineland.read_surveys(saved)
    assert list(data.records["record_id"]) == ["A", "C"]
    assert int(data.records.set_index("record_id").at["C", "quantity"]) == 2
    rejected = data.rejected.set_index("record_id")
    assert "cell F5 (quantity) holds the error #DIV/0! (=1/0)" in rejected.at["D", "reason"]
    assert "cell D6 (lon) holds the error #N/A" in rejected.at["E", "reason"]
    assert "LibreOffice" not in rejected.at["E", "reason"]

    result = run("validate", DISTRICTS, path)
    assert result.exit_code == 1 and "unreadable_cell" in result.output


def test_merged_cells_stand_for_their_value_on_each_row_of_one_column(tmp_path):
    """A record type or a date written once for a block of rows (cells merged down one
    column) is read on each of its rows, as the sheet shows it; a merge longer than
    its block makes no record; cells merged across columns keep their value in their
    first cell (copied across, a longitude would become a latitude).  A note says
    which ranges were read how."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "team 3"
    sheet.append(["record_id", "record_type", "date", "lon", "lat", "quantity"])
    sheet.append(["M1", "device", "2023-01-01", 46.75, 39.40, 1])
    sheet.append(["M2", None, "2023-01-02", 46.76, 39.41, 2])
    sheet.append(["M3", None, None, 46.77, 39.42, 3])
    sheet.append(["M4", "incident", "2023-01-05", 46.78, None, None])
    sheet.append([None, None, None, None, None, None])
    sheet.merge_cells("B2:B6")  # one type for M1–M3, and on past the block
    sheet.merge_cells("C3:C4")
    sheet.merge_cells("D5:E5")  # a longitude over the latitude's cell
    path = tmp_path / "merged.xlsx"
    book.save(path)
    data = mineland.read_surveys(path)
    used = data.records.set_index("record_id")
    assert list(used.index) == ["M1", "M2", "M3"]
    assert list(used["record_type"]) == ["device"] * 3
    assert used.at["M3", "date"] == used.at["M2", "date"] == pd.Timestamp("2023-01-02")
    assert used.at["M3", "quantity"] == 3
    assert list(data.rejected["record_id"]) == ["M4"]  # its latitude is not its longitude
    assert "lat" in data.rejected["reason"].iloc[0]
    note = data.sources["note"].iloc[0]
    assert "sheet 'team 3': merged cells read on each of their rows: B2:B6, C3:C4" in note
    assert "read in their first cell only: D5:E5" in note
    assert data.n_read == 4


def test_a_workbook_excel_saved_with_formulas_is_read_at_full_speed(tmp_path, monkeypatch):
    """Every formula with its stored value: the cells are not read one by one (the
    slow path is never opened), and the stored values are read."""
    head = ["record_id", "record_type", "lon", "lat", "quantity"]
    path = _workbook(
        tmp_path / "saved.xlsx",
        {"s": [head, ["A", "device", 46.5, 39.7, "=1+1"], ["B", "device", 46.6, 39.7, 3]]},
    )
    path = _edited_cells(path, {"E2": '<c r="E2"><f>1+1</f><v>2</v></c>'})

    def slow(*args, **kwargs):
        raise AssertionError("the workbook was read cell by cell")

    monkeypatch.setattr(openpyxl, "load_workbook", slow)
    data = mineland.read_surveys(path)
    assert dict(zip(data.records["record_id"], data.records["quantity"], strict=True)) == {
        "A": 2,
        "B": 3,
    }


def test_a_workbook_whose_cells_cannot_be_read_is_one_clear_error(tmp_path):
    """A sheet whose XML breaks after a formula without a value (the values a lenient
    reader still finds cannot be trusted): one error naming the file, exit 2."""
    head = ["record_id", "record_type", "lon", "lat", "quantity"]
    path = _workbook(
        tmp_path / "broken.xlsx",
        {"s": [head, ["A", "device", 46.5, 39.7, "=1+1"], ["B", "device", 46.6, 39.7, 3]]},
    )
    path = _edited_cells(path, {"B3": '<c r="B3" t="inlineStr"><is><t>device</t></is></c>&bogus;'})
    with pytest.raises(InputFileError, match=r"broken\.xlsx: cannot read the cells"):
        mineland.read_surveys(path)
    result = run("summarize", DISTRICTS, path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cannot read the cells of the workbook" in result.output


def _edited_cells(path: Path, cells: dict[str, str]) -> Path:
    """The workbook with the XML of the cells named replaced (``{"F4": "<c ...>"}``),
    as Excel writes a formula's stored value or an error."""
    import re
    import zipfile

    out = path.with_name(f"edited_{path.name}")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/"):
                text = data.decode()
                for cell, xml in cells.items():
                    text, n = re.subn(rf'<c r="{cell}"[^>]*>.*?</c>', xml, text)
                    assert n == 1, cell
                data = text.encode()
            dst.writestr(item, data)
    return out


# --- presets --------------------------------------------------------------------


def polygons_ha(path: Path, **query) -> float:
    """Geodesic hectares of a file's polygons (rows matching ``query``)."""
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        geoms = shapely.from_wkt(frame["wkt"])
    else:
        frame = gpd.read_file(path)
        geoms = frame.geometry.to_numpy()
    mask = np.ones(len(frame), dtype=bool)
    for k, values in query.items():
        mask &= frame[k].isin(values).to_numpy()
    return sum(geod_ha(g) for g in geoms[mask])


def test_imsma_ng_preset(demo):
    folder = SAMPLES / "imsma_ng"
    data = mineland.read_surveys(folder, preset="imsma-ng")
    assert len(data.rejected) == 0
    rec = data.records
    counts = rec["record_type"].value_counts().to_dict()
    raw_hazards = pd.read_csv(folder / "synthetic_hazard.csv")
    raw_releases = pd.read_csv(folder / "synthetic_hazreduc.csv")
    assert counts["incident"] == len(pd.read_csv(folder / "synthetic_accident.csv"))
    assert counts["SHA"] + counts.get("CHA", 0) == len(raw_hazards)
    assert set(rec.loc[rec["record_type"] == "SHA", "record_id"]) == set(
        raw_hazards.loc[
            raw_hazards["hazardtypeenum"] == "Suspected Hazardous Area", "hazard_localid"
        ]
    )
    status = rec.dropna(subset=["status"]).set_index("record_id")["status"]
    want = raw_hazards.set_index("hazard_localid")["status_enum"].str.lower()
    assert (status == want.reindex(status.index)).all()
    types = dict(zip(rec["record_id"], rec["record_type"], strict=True))
    for _, r in raw_releases.iterrows():
        assert (
            types[r["hazreduc_localid"]]
            == {"NTS": "cancelled", "TS": "reduced", "Clearance": "cleared"}[r["hazreductypeenum"]]
        )
    summary = mineland.summarize(demo[0], data)
    total = summary[summary["district"] != "(outside districts)"].sum(numeric_only=True)
    hazard_ha = polygons_ha(folder / "synthetic_hazard.csv")
    release_ha = polygons_ha(folder / "synthetic_hazreduc.csv")
    assert math.isclose(total["contaminated_ha"] + total["released_ha"], hazard_ha, rel_tol=1e-6)
    assert math.isclose(total["released_ha"], release_ha, rel_tol=1e-6)
    assert total["killed"] == pd.read_csv(folder / "synthetic_accident.csv")["killed"].sum()


def test_survey123_preset(demo):
    path = SAMPLES / "synthetic_survey123_land_release.geojson"
    data = mineland.read_surveys(path, preset="survey123")
    raw = gpd.read_file(path)
    ids = list(data.records["record_id"])
    want = raw["imsma_id"].where(raw["imsma_id"].notna(), raw["globalid"])
    assert ids == list(want)  # a new form without an IMSMA id keeps its GlobalID
    assert set(data.records["status"]) == {"open", "worked on", "closed"}
    assert data.records["date"].notna().all()
    summary = mineland.summarize(demo[0], data)
    tot = summary.sum(numeric_only=True)
    assert math.isclose(
        tot["sha_ha"] + tot["cha_ha"] + tot["released_ha"],
        polygons_ha(path),
        rel_tol=1e-6,  # the sample's areas are disjoint
    )
    assert math.isclose(
        tot["cleared_ha"], polygons_ha(path, activity_type=["clearance"]), rel_tol=1e-6
    )


def test_kobo_preset():
    path = SAMPLES / "synthetic_kobo_land_release.xlsx"
    data = mineland.read_surveys(path, preset="kobo")
    raw = pd.read_excel(path, engine="openpyxl")
    assert list(data.records["record_id"]) == list(raw["_uuid"])
    rec = data.records.set_index("record_id")
    for _, r in raw.iterrows():
        got = rec.loc[r["_uuid"]]
        if isinstance(r["location/area"], str):
            corners = [
                tuple(map(float, p.split()[:2]))[::-1] for p in r["location/area"].split(";")
            ]
            assert got.geometry.equals(shapely.Polygon(corners))
        else:
            assert got.geometry.equals(
                shapely.Point(r["location/_point_longitude"], r["location/_point_latitude"])
            )
            assert got["record_type"] == "device" and got["quantity"] == r["eo/eo_quantity"]
        assert got["date"] == pd.Timestamp(r["activity/activity_date"])


def test_presets_command_lists_and_prints_each():
    listed = run("presets")
    assert listed.exit_code == 0
    for name in ("imsma-ng", "survey123", "kobo"):
        assert name in listed.output
        text = run("presets", name).output
        table = tomllib.loads(text)
        assert table["preset"] == name
        comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
        for column in (table["record_id"][0], table["record_type"][0], table["date"][0]):
            assert column in comments  # the file documents the columns it expects
    assert run("presets", "nope").exit_code == 2


def test_a_field_map_goes_over_a_preset(tmp_path):
    path = tmp_path / "hazard.csv"
    path.write_text(
        "hazard_localid,hazardtypeenum,my_date,wkt\n"
        'H1,Dangerous Area,2022-01-02,"POLYGON((46.5 39.7,46.51 39.7,46.51 39.71,46.5 39.7))"\n',
        encoding="utf-8",
    )
    data = mineland.read_surveys(
        path,
        preset="imsma-ng",
        field_map={"date": "my_date", "record_type_values": {"Dangerous Area": "CHA"}},
    )
    r = data.records.iloc[0]
    assert r["record_type"] == "CHA" and r["date"] == pd.Timestamp("2022-01-02")
    with pytest.raises(SchemaError, match="no preset 'imsma'"):
        mineland.read_surveys(path, preset="imsma")


def test_preset_in_a_sources_manifest(tmp_path):
    manifest = tmp_path / "sources.toml"
    folder = SAMPLES / "imsma_ng"
    manifest.write_text(
        f'[[source]]\npath = "{folder.as_posix()}"\npreset = "imsma-ng"\n', encoding="utf-8"
    )
    data = mineland.read_surveys(manifest)
    assert len(data.rejected) == 0 and (data.records["record_type"] == "incident").sum() == 6


# --- status ---------------------------------------------------------------------


def test_statuses_read_in_their_many_spellings(tmp_path):
    path = tmp_path / "h.csv"
    rows = ["Open", "worked_on", "In progress", "COMPLETED", "closed", "Suspended", ""]
    body = "\n".join(
        f'H{k},SHA,{s},"{shapely.box(46.5 + k / 100, 39.7, 46.505 + k / 100, 39.705).wkt}"'
        for k, s in enumerate(rows)
    )
    path.write_text("record_id,record_type,status,wkt\n" + body + "\n", encoding="utf-8")
    got = list(mineland.read_surveys(path, crs="EPSG:4326").records["status"])
    assert got[:6] == ["open", "worked on", "worked on", "closed", "closed", "Suspended"]
    assert pd.isna(got[6])


def test_status_on_the_map_as_the_imas_outline(demo):
    data = mineland.read_surveys(SAMPLES / "imsma_ng", preset="imsma-ng")
    html = mineland.make_map(mineland.account(demo[0], data)).get_root().render()
    assert '"statusStyles":{"open":{"color":"#FF0000","dash":null}' in html
    assert '"worked on":{"color":"#F4A718","dash":"6 4"}' in html
    assert '"closed":{"color":"#1A9850","dash":null}' in html
    assert "Hazard status, IMAS outline (10)" in html


# --- UCS-2000 -------------------------------------------------------------------


def test_ucs2000_gauss_kruger_zone_reads_like_pulkovo(tmp_path):
    """A square near Kyiv drawn in UCS-2000 zone 6 (EPSG:5564) keeps its geodesic area,
    and the same coordinates without a CRS get a hint naming both datums."""
    centre = pyproj.Transformer.from_crs(4326, 5564, always_xy=True).transform(30.52, 50.45)
    square = shapely.box(centre[0], centre[1], centre[0] + 1000, centre[1] + 1000)
    frame = gpd.GeoDataFrame(
        {"record_id": ["K1"], "record_type": ["SHA"]}, geometry=[square], crs=5564
    )
    frame.to_file(tmp_path / "ua.gpkg", engine="pyogrio")
    districts = gpd.GeoDataFrame(
        {"name": ["Kyiv"]}, geometry=[shapely.box(30.3, 50.3, 30.8, 50.6)], crs=4326
    )
    summary = mineland.summarize(districts, mineland.read_surveys(tmp_path / "ua.gpkg"))
    want = geod_ha(frame.to_crs(4326).geometry.iloc[0])
    assert math.isclose(row(summary, "Kyiv")["sha_ha"], want, rel_tol=1e-6)
    pd.DataFrame(
        {"record_id": ["K1"], "record_type": ["device"], "x": [centre[0]], "y": [centre[1]]}
    ).to_csv(tmp_path / "ua.csv", index=False)
    with pytest.raises(mineland.CRSError, match=r"EPSG:5564 \(UCS-2000, Ukraine\) or EPSG:28406"):
        mineland.read_surveys(tmp_path / "ua.csv")
    points = mineland.read_surveys(tmp_path / "ua.csv", crs="EPSG:5564").records
    assert points.geometry.iloc[0].distance(shapely.Point(30.52, 50.45)) < 1e-7


def test_a_sheet_as_people_make_it(tmp_path, caplog):
    """A title and a note above the header, headings with spaces and capitals, and
    the grid references in a column whose name says nothing of MGRS."""
    refs = [encode_mgrs(46.5 + k / 100, 39.7, 4) for k in range(5)]
    rows = [
        ["Explosive ordnance reports — Team 3"],
        ["exported 2025-02-01", None, None],
        ["Record ID", "Record Type", "Date", "Location"],
        *[[f"R{k}", "Device", dt.datetime(2024, 3, 1 + k), ref] for k, ref in enumerate(refs)],
    ]
    path = _workbook(tmp_path / "team3.xlsx", {"reports": rows})
    with caplog.at_level(logging.WARNING, logger="mineland"):
        data = mineland.read_surveys(path)
    assert "header is on row 3" in caplog.text
    assert list(data.records["record_id"]) == [f"R{k}" for k in range(5)]
    assert set(data.records["record_type"]) == {"device"}
    assert data.records["date"].iloc[4] == pd.Timestamp("2024-03-05")
    lon, lat, _ = mgrs_to_lonlat(refs)
    assert np.allclose(data.records.geometry.x, lon) and np.allclose(data.records.geometry.y, lat)


def test_one_coordinate_blank_says_so(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("record_id,record_type,lon,lat\nA,device,46.5,\nB,device,x,39.7\n")
    reasons = dict(mineland.read_surveys(path).rejected[["record_id", "reason"]].to_numpy())
    assert "lat is blank (only one coordinate)" in reasons["A"]
    assert "lon='x', lat=39.7 are not numbers" in reasons["B"] or "are not numbers" in reasons["B"]


def test_preset_columns_match_whatever_their_case_and_separators(tmp_path):
    """An IMSMA export saved by a spreadsheet with headings for people."""
    path = tmp_path / "hazard.csv"
    box = shapely.box(46.5, 39.7, 46.51, 39.71).wkt
    path.write_text(
        "Hazard Local ID,Hazard Type Enum,Status Enum,Date Of Record,WKT\n"
        f'HZ-1,Confirmed Hazardous Area,Worked On,2023-02-01,"{box}"\n',
        encoding="utf-8",
    )
    r = mineland.read_surveys(path, preset="imsma-ng").records.iloc[0]
    assert (r["record_id"], r["record_type"], r["status"]) == ("HZ-1", "CHA", "worked on")
    assert r["date"] == pd.Timestamp("2023-02-01")


@GDAL_WRITES_KML_FIELDS
def test_a_kmz_is_read_with_the_attributes_its_schema_declares(tmp_path):
    """A KMZ as GDAL or a GIS writes it declares its attributes in a ``<Schema>``; libkml
    read such a KMZ's features without them (no record_type: every file refused).  The
    KML inside is read instead, so the attributes, the geometries and the hectares are
    those of the same KML read on its own; a Google-Earth-style KMZ (``<Data>``) too."""
    import zipfile

    records = mineland.read_surveys(ROOT / "data" / "surveys" / "synthetic_hazards.gpkg").records
    sample = records.head(40)[["record_id", "record_type", "date", "geometry"]]
    sample.to_file(tmp_path / "h.kml", driver="KML", engine="pyogrio")
    with zipfile.ZipFile(tmp_path / "h.kmz", "w") as kmz:
        kmz.write(tmp_path / "h.kml", "doc.kml")
    placemark = (
        "<Placemark><ExtendedData><Data name='record_id'><value>G1</value></Data>"
        "<Data name='record_type'><value>CHA</value></Data></ExtendedData><Polygon>"
        "<outerBoundaryIs><LinearRing><coordinates>46.60,39.50 46.61,39.50 46.61,39.51 "
        "46.60,39.51 46.60,39.50</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</Placemark>"
    )
    with zipfile.ZipFile(tmp_path / "ge.kmz", "w") as kmz:
        kmz.writestr("files/readme.txt", "a file beside the KML")
        kmz.writestr("doc.kml", f"<kml><Document>{placemark}</Document></kml>")
    from_kmz = mineland.read_surveys(tmp_path / "h.kmz")
    from_kml = mineland.read_surveys(tmp_path / "h.kml")
    assert len(from_kmz.rejected) == 0 and len(from_kmz.records) == 40
    assert list(from_kmz.records["record_id"]) == list(sample["record_id"])
    assert list(from_kmz.records["record_type"]) == list(sample["record_type"])
    assert set(from_kmz.records["source_file"]) == {str(tmp_path / "h.kmz")}
    assert shapely.equals_exact(
        from_kmz.records.geometry.values, from_kml.records.geometry.values, tolerance=0
    ).all()
    google = mineland.read_surveys(tmp_path / "ge.kmz").records
    assert list(google["record_type"]) == ["CHA"]
    assert geod_ha(google.geometry.iloc[0]) == pytest.approx(
        geod_ha(shapely.box(46.60, 39.50, 46.61, 39.51)), rel=1e-9
    )
