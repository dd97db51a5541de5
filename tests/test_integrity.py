"""Integrity of inputs, options and outputs: nothing lost, nothing silently ignored."""

from __future__ import annotations

import builtins

import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import DISTRICTS, ROOT, TEST_LAEA, run, sq

import mineland
from mineland.charts import chart_label, figure_png, plot_remaining
from mineland.cli import main


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

    monkeypatch.setattr(mapping, "point_groups", broken)
    acc = mineland.account(
        mineland.read_districts(DISTRICTS), mineland.read_surveys(ROOT / "data" / "surveys")
    )
    path = mineland.save_map(mineland.make_map(acc), tmp_path / "m.html")
    text = path.read_text(encoding="utf-8")
    assert "devices and incidents layer could not be drawn" in text
    assert acc.summary["district"].iloc[0] in text  # the districts are still there


def test_a_failing_validation_leaves_the_table(monkeypatch, tmp_path):
    import importlib

    validate_module = importlib.import_module("mineland.validation")

    def broken(*args, **kwargs):
        raise RuntimeError("side location conflict")

    monkeypatch.setattr(validate_module, "validate", broken)
    out = tmp_path / "s.csv"
    result = run("summarize", DISTRICTS, ROOT / "data" / "surveys", "-o", out)
    assert result.exit_code == 0
    assert "validation failed and was left out" in result.output
    assert len(pd.read_csv(out)) > 0


# --------------------------------------------------------------------------- readers


def device_csv(path, rows):
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "raw, why",
    [
        ("9999-12-31", "outside the years"),
        ("0001-01-01", "outside the years"),
        ("1677-09-21", "outside the years"),
        ("31.12.9999", "outside the years"),
        ("2021-02-30", "does not exist"),
        ("20210230", "does not exist"),
        ("99991231", "outside the years"),
        ("soon", "unparseable"),
    ],
)
def test_placeholder_and_impossible_dates_are_rejected_with_their_value(tmp_path, raw, why):
    path = device_csv(
        tmp_path / "d.csv",
        [
            {
                "record_id": "ok",
                "record_type": "device",
                "date": "2021-05-01",
                "lon": 46.5,
                "lat": 39.7,
            },
            {"record_id": "bad", "record_type": "device", "date": raw, "lon": 46.5, "lat": 39.7},
        ],
    )
    data = mineland.read_surveys(path)
    assert list(data.records["record_id"]) == ["ok"]
    reason = data.rejected.set_index("record_id").loc["bad", "reason"]
    assert why in reason and raw in reason


def test_dates_as_databases_export_them_as_a_number(tmp_path):
    import openpyxl

    rows = [["record_id", "record_type", "date", "lon", "lat"]]
    rows += [["a", "device", "20210131", 46.5, 39.7], ["b", "device", "2021-01-31", 46.5, 39.7]]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    book = openpyxl.Workbook()
    for r in [rows[0], ["a", "device", 20210131, 46.5, 39.7], ["b", "device", 44227, 46.5, 39.7]]:
        book.active.append(r)  # a number in a workbook: YYYYMMDD, or a day serial (44227)
    book.save(tmp_path / "d.xlsx")
    for source in (path, tmp_path / "d.xlsx"):
        data = mineland.read_surveys(source)
        assert len(data.rejected) == 0
        assert data.records["date"].dt.strftime("%Y-%m-%d").tolist() == ["2021-01-31"] * 2


def test_typed_dates_out_of_range_are_rejected(tmp_path):
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        {
            "record_id": ["a", "b"],
            "record_type": ["device", "device"],
            "date": pd.to_datetime(["2021-05-01", "2262-01-01"]).as_unit("ms"),
        },
        geometry=[shapely.Point(46.5, 39.7)] * 2,
        crs=4326,
    )
    data = mineland.records.as_survey_data(frame)
    assert list(data.records["record_id"]) == ["a"]
    assert "outside the years" in data.rejected["reason"].iloc[0]


@pytest.mark.parametrize("text", ["1,000", "1.000", "1 000", "1\u00a0000"])
def test_thousands_separators_in_counts(tmp_path, text):
    path = device_csv(
        tmp_path / "d.csv",
        [
            {"record_id": "a", "record_type": "device", "quantity": text, "lon": 46.5, "lat": 39.7},
        ],
    )
    data = mineland.read_surveys(path)
    assert data.records["quantity"].tolist() == [1000]


def test_fractional_counts_are_rejected_not_rounded(tmp_path):
    path = device_csv(
        tmp_path / "d.csv",
        [
            {
                "record_id": "a",
                "record_type": "device",
                "quantity": "1,5",
                "lon": 46.5,
                "lat": 39.7,
            },
        ],
    )
    data = mineland.read_surveys(path)
    assert len(data.records) == 0 and "whole number" in data.rejected["reason"].iloc[0]


def test_integer_ids_stay_integers_and_same_named_files_keep_their_rows(tmp_path):
    import geopandas as gpd

    for folder in ("north", "south"):
        (tmp_path / folder).mkdir()
        gpd.GeoDataFrame(
            {
                "record_id": [17.0 if folder == "north" else 18.0, None],
                "record_type": ["device", "device"],
            },
            geometry=[shapely.Point(46.5, 39.7)] * 2,
            crs=4326,
        ).to_file(tmp_path / folder / "hazards.gpkg")
    data = mineland.read_surveys(tmp_path / "north", tmp_path / "south")
    assert len(data.rejected) == 0
    ids = sorted(data.records["record_id"])
    assert "17" in ids and "18" in ids
    made = [i for i in ids if "#" in i]
    assert len(made) == 2 and len(set(made)) == 2
    assert any(i.startswith("north/") for i in made) and any(i.startswith("south/") for i in made)


def test_bbox_filters_csv_points_too(tmp_path):
    path = device_csv(
        tmp_path / "d.csv",
        [
            {"record_id": "in", "record_type": "device", "lon": 46.5, "lat": 39.7},
            {"record_id": "out", "record_type": "device", "lon": 48.5, "lat": 41.0},
        ],
    )
    data = mineland.read_surveys(path, bbox=(46.0, 39.0, 47.0, 40.0))
    assert list(data.records["record_id"]) == ["in"] and len(data.rejected) == 0


def test_a_folder_read_lists_what_it_skipped(tmp_path, caplog):
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "meta.json").write_text('{"not": "geojson"}')
    (tmp_path / ".s.123.partial.csv").write_text("half a file")
    device_csv(
        tmp_path / "d.csv", [{"record_id": "a", "record_type": "device", "lon": 46.5, "lat": 39.7}]
    )
    with caplog.at_level("WARNING"):
        data = mineland.read_surveys(tmp_path)
    assert len(data.records) == 1
    text = caplog.text
    assert "skipped 3 files" in text and "notes.pdf" in text and "not GeoJSON" in text
    assert "interrupted run" in text


def test_a_folder_copied_from_a_mac_or_a_notebook_reads_its_data_once(tmp_path, caplog):
    row = [{"record_id": "a", "record_type": "device", "lon": 46.5, "lat": 39.7}]
    device_csv(tmp_path / "d.csv", row)
    fork = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02"
    (tmp_path / "._d.csv").write_bytes(fork)  # a resource fork: binary, not a CSV
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._d.csv").write_bytes(fork)
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / ".ipynb_checkpoints").mkdir()  # a notebook's copy of the same rows
    device_csv(tmp_path / ".ipynb_checkpoints" / "d-checkpoint.csv", row)
    device_csv(tmp_path / ".old.csv", row)
    with caplog.at_level("WARNING"):
        data = mineland.read_surveys(tmp_path)
    assert data.n_read == 1 and list(data.records["record_id"]) == ["a"]
    text = caplog.text
    assert "skipped 4 files" in text and ".DS_Store" not in text
    assert "._d.csv (macOS metadata, not data)" in text and "__MACOSX (macOS" in text
    assert ".ipynb_checkpoints (a hidden folder)" in text
    assert ".old.csv (a hidden file (its name starts with a dot))" in text


# --------------------------------------------------------------------------- options


def test_progress_window_is_honoured_exactly():
    d = mineland.read_districts(DISTRICTS)
    s = mineland.read_surveys(ROOT / "data" / "surveys")
    table = mineland.progress(d, s, freq="year", start="2021-03-15", end="2023-06-30")
    ends = sorted(set(table["period_end"]))
    assert ends[-1] == pd.Timestamp("2023-06-30")
    assert all(pd.Timestamp("2021-03-15") <= t <= pd.Timestamp("2023-06-30") for t in ends)
    # what the window released equals the difference of two accountings
    before = mineland.summarize(d, s, as_of="2021-03-14")["released_ha"].sum()
    after = mineland.summarize(d, s, as_of="2023-06-30")["released_ha"].sum()
    flows = table[["cleared_ha", "reduced_ha", "cancelled_ha"]].to_numpy().sum()
    assert flows == pytest.approx(after - before, rel=1e-6)


def test_quiet_prints_nothing_but_errors(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "summarize",
            str(DISTRICTS),
            str(ROOT / "data" / "surveys"),
            "-q",
            "-o",
            str(tmp_path / "s.csv"),
        ],
    )
    assert result.exit_code == 0
    assert result.stderr == ""


def test_end_and_as_of_together_are_a_usage_error(tmp_path):
    result = run(
        "progress",
        DISTRICTS,
        ROOT / "data" / "surveys",
        "--end",
        "2023-01-01",
        "--as-of",
        "2024-01-01",
    )
    assert result.exit_code == 2 and "not both" in result.output


# --------------------------------------------------------------------------- writers


def test_gpkg_output_keeps_the_files_other_layers(tmp_path):
    import geopandas as gpd
    import pyogrio

    out = tmp_path / "work.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(
        out, layer="my_layer"
    )
    result = run("summarize", DISTRICTS, ROOT / "data" / "surveys", "-q", "-o", out)
    assert result.exit_code == 0, result.output
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert layers == {"my_layer", "work"}


def test_two_writers_of_one_output_never_clash(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from mineland.io import write_table

    frames = [pd.DataFrame({"k": [i] * 50_000}) for i in range(6)]
    out = tmp_path / "same.csv"
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda f: write_table(f, out), frames))
    back = pd.read_csv(out)
    assert len(back) == 50_000 and back["k"].nunique() == 1  # one whole file, not a mix
    assert not list(tmp_path.glob(".*partial*"))


def test_convert_leaves_no_folder_when_interrupted(tmp_path, monkeypatch):
    import geopandas as gpd

    from mineland import io

    calls = {"n": 0}
    real = gpd.GeoDataFrame.to_parquet

    def dies_on_second_part(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", dies_on_second_part)
    records = mineland.read_surveys(ROOT / "data" / "surveys").records.drop(columns="repair")
    with pytest.raises(KeyboardInterrupt):
        io.write_geoparquet(records, tmp_path / "out.parquet", rows_per_part=1000)
    assert not (tmp_path / "out.parquet").exists()
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- wrong CRS


def test_swapped_lon_lat_file_stops_with_a_hint(tmp_path):
    d = mineland.read_districts(DISTRICTS)
    pts = d.geometry.representative_point()
    path = device_csv(
        tmp_path / "swapped.csv",
        [
            {"record_id": f"p{k}", "record_type": "device", "lon": p.y, "lat": p.x}
            for k, p in enumerate(pts)
        ],
    )
    result = run("summarize", DISTRICTS, path)
    assert result.exit_code == 2
    assert "swapped" in result.output and "--accept-far" in result.output
    assert "km from every district" in result.output
    accepted = run("summarize", DISTRICTS, path, "--accept-far")
    assert accepted.exit_code == 0


def test_file_declared_in_the_wrong_utm_zone_stops(tmp_path):
    import geopandas as gpd

    d = mineland.read_districts(DISTRICTS)
    right = d.to_crs(32638).geometry.representative_point()
    wrong = gpd.GeoDataFrame(
        {"record_id": [f"p{k}" for k in range(len(right))], "record_type": "device"},
        geometry=list(right),
        crs=32639,  # the numbers are zone 38
    )
    path = tmp_path / "wrong_zone.gpkg"
    wrong.to_file(path)
    result = run("summarize", DISTRICTS, path)
    assert result.exit_code == 2
    assert "EPSG:32639" in result.output and "right one" in result.output


def test_a_few_far_records_do_not_stop_the_run(tmp_path):
    d = mineland.read_districts(DISTRICTS)
    pts = d.geometry.representative_point()
    rows = [
        {"record_id": f"p{k}", "record_type": "device", "lon": p.x, "lat": p.y}
        for k, p in enumerate(pts)
    ]
    rows.append({"record_id": "far", "record_type": "device", "lon": 10.0, "lat": 10.0})
    result = run("summarize", DISTRICTS, device_csv(tmp_path / "s.csv", rows))
    assert result.exit_code == 0


def test_usage_errors_are_one_line_with_exit_2():
    result = run("summarize", "--no-such-option")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("mineland: error:")


def test_rejected_rows_round_trip(tmp_path):
    d = mineland.read_districts(DISTRICTS)
    c = d.geometry.iloc[0].representative_point()
    rows = [
        {
            "record_id": "ok",
            "record_type": "device",
            "date": "2021-01-01",
            "quantity": 2,
            "organisation": "A",
            "lon": c.x,
            "lat": c.y,
        },
        {
            "record_id": "typo",
            "record_type": "devise",
            "date": "2021-01-02",
            "quantity": 3,
            "organisation": "B",
            "lon": c.x,
            "lat": c.y,
        },
        {
            "record_id": "ok",
            "record_type": "incident",
            "date": "2021-01-03",
            "quantity": None,
            "organisation": "C",
            "lon": c.x,
            "lat": c.y,
        },
    ]
    src = device_csv(tmp_path / "in.csv", rows)
    result = run("summarize", DISTRICTS, src, "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    rejected = pd.read_csv(tmp_path / "s_rejected.csv")
    assert set(rejected["record_id"]) == {"typo", "ok"}
    assert {"organisation", "date", "geometry_wkt", "reason"} <= set(rejected.columns)
    dup = rejected[rejected["check"] == "duplicate_record_id"].iloc[0]
    assert dup["organisation"] == "C"  # the duplicate keeps its own columns
    # fix the rows in a spreadsheet, then read the file back as it is
    rejected.loc[rejected["record_id"] == "typo", "record_type"] = "device"
    rejected.loc[rejected["check"] == "duplicate_record_id", "record_id"] = "ok2"
    fixed = tmp_path / "fixed.csv"
    rejected.to_csv(fixed, index=False)
    back = mineland.read_surveys(fixed)
    assert len(back.rejected) == 0
    assert set(back.records["record_id"]) == {"typo", "ok2"}
    assert set(back.records["organisation"]) == {"B", "C"}


# --------------------------------------------------------------------------- CSV dialects

HEADER = "record_id,record_type,lon,lat,notes\n"


def csv_bytes(tmp_path, body: bytes, name="s.csv"):
    path = tmp_path / name
    path.write_bytes(body)
    return mineland.read_surveys(path)


def test_stray_quote_keeps_every_row_accounted_for(tmp_path):
    text = HEADER + (
        "a,device,46.5,39.7,fine\n"
        'b,device,46.5,39.7,"an unbalanced quote\n'
        "c,device,46.5,39.7,after it\n"
        "d,device,46.5,39.7,last\n"
    )
    data = csv_bytes(tmp_path, text.encode())
    assert data.n_read == 4 and len(data.records) + len(data.rejected) == 4
    assert set(data.records["record_id"]) == {"a", "b", "c", "d"}


def test_multi_line_quoted_notes_stay_one_row(tmp_path):
    text = HEADER + 'a,device,46.5,39.7,"two\nlines"\nb,device,46.5,39.7,x\n'
    data = csv_bytes(tmp_path, text.encode())
    assert list(data.records["record_id"]) == ["a", "b"]
    assert data.records["notes"].iloc[0] == "two\nlines"


def test_trailing_delimiters_do_not_shift_columns(tmp_path):
    text = "record_id,record_type,lon,lat\na,device,46.5,39.7,\nb,device,46.6,39.8,,\n"
    data = csv_bytes(tmp_path, text.encode())
    assert list(data.records["record_id"]) == ["a", "b"]
    assert data.records.geometry.x.round(1).tolist() == [46.5, 46.6]


def test_a_row_with_too_many_fields_is_rejected_with_the_reason(tmp_path):
    text = HEADER + "a,device,46.5,39.7,ok\nb,device,46.5,39.7,x,y,z\n"
    data = csv_bytes(tmp_path, text.encode())
    assert list(data.records["record_id"]) == ["a"]
    assert "7 fields where the header has 5" in data.rejected["reason"].iloc[0]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "cp1251"])
def test_encodings_of_real_exports(tmp_path, encoding):
    text = HEADER + "a,device,46.5,39.7,Cəbrayıl rayonu\n"
    if encoding == "cp1251":
        text = HEADER + "a,device,46.5,39.7,Кельбаджарский район\n"
    body = text.encode(encoding)
    if encoding == "utf-16-le":
        body = b"\xff\xfe" + body
    data = csv_bytes(tmp_path, body)
    assert data.records["notes"].iloc[0] == text.splitlines()[1].split(",")[-1]


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_line_ends_of_every_platform_give_the_same_rows(tmp_path, newline):
    # old Mac exports (Excel's "CSV (Macintosh)") end every line with a lone CR
    rows = [
        "a,device,46.5,39.7,x",
        'b,device,46.6,39.8,"quoted, with comma"',
        "c,device,46.7,39.9,",
    ]
    text = newline.join([HEADER.rstrip("\n"), *rows]) + newline
    data = csv_bytes(tmp_path, text.encode())
    assert data.n_read == 3 and len(data.rejected) == 0
    assert list(data.records["record_id"]) == ["a", "b", "c"]
    assert data.records["notes"].iloc[1] == "quoted, with comma"
    assert data.records.geometry.x.round(1).tolist() == [46.5, 46.6, 46.7]


def test_a_lone_cr_inside_a_field_breaks_the_line_and_no_row_is_lost(tmp_path):
    text = HEADER + "a,device,46.5,one\r39.7,x\nb,device,46.6,39.8,ok\n"
    data = csv_bytes(tmp_path, text.encode())
    # as a spreadsheet shows it: two short lines (both rejected with the reason), then b
    assert data.n_read == 3 and len(data.records) + len(data.rejected) == 3
    assert list(data.records["record_id"]) == ["b"]
    assert len(data.rejected) == 2
    assert data.rejected["reason"].str.contains("fields where the header has 5").all()


def test_separator_rows_are_rejected_as_blank_rows_not_as_errors(tmp_path):
    import openpyxl

    text = HEADER + "a,device,46.5,39.7,x\n,,,,\nb,device,46.6,39.8,y\n"
    book = openpyxl.Workbook()
    for row in (
        HEADER.strip().split(","),
        ["a", "device", 46.5, 39.7],
        [],
        ["b", "device", 46.6, 39.8],
    ):
        book.active.append(row)
    book.save(tmp_path / "s.xlsx")
    for data in (csv_bytes(tmp_path, text.encode()), mineland.read_surveys(tmp_path / "s.xlsx")):
        assert data.n_read == 3 and list(data.records["record_id"]) == ["a", "b"]
        assert list(data.rejected["check"]) == ["blank_row"]
        assert list(data.rejected["source_row"]) == [2]  # the rows after it keep their numbers
        findings = mineland.validate(mineland.read_districts(DISTRICTS), data).findings
        assert set(findings.loc[findings["check"] == "blank_row", "severity"]) == {"warning"}
        assert not findings["check"].isin(["unknown_record_type", "missing_record_id"]).any()


def test_nul_padded_fields_are_text_and_binary_files_are_refused(tmp_path):
    # fixed-width exports pad fields with NULs: the padding goes, the rows are read
    text = HEADER + "a\0\0\0,device\0\0,46.5,39.7,pad\0\0\0\0\nb,device,46.6,39.8,x\n"
    data = csv_bytes(tmp_path, text.encode())
    assert list(data.records["record_id"]) == ["a", "b"] and len(data.rejected) == 0
    assert data.records["notes"].iloc[0] == "pad"
    for name, body in [
        ("gpkg.csv", (ROOT / "data/surveys/synthetic_hazards.gpkg").read_bytes()),
        ("tif.csv", (ROOT / "data/landcover/synthetic_landcover.tif").read_bytes()),
        ("xlsx.csv", (ROOT / "data/samples/synthetic_kobo_land_release.xlsx").read_bytes()),
        ("dbf.csv", b"\x03\x7e\x0c\x02" + bytes(28) + b"RECORD_ID\0\0C" + bytes(20) + b"\r"),
    ]:
        (tmp_path / name).write_bytes(body)
        with pytest.raises(mineland.MinelandError, match="not a text CSV file"):
            mineland.read_surveys(tmp_path / name)


# --------------------------------------------------------------------------- per-input options


def test_sources_manifest_gives_each_input_its_crs_and_field_map(tmp_path):
    import geopandas as gpd

    d = mineland.read_districts(DISTRICTS)
    p = d.geometry.iloc[0].representative_point()
    utm = gpd.GeoSeries([p], crs=4326).to_crs(32638).iloc[0]
    (tmp_path / "gps").mkdir()
    device_csv(
        tmp_path / "gps" / "points.csv",
        [
            {"ID": "g1", "TYPE": "UXO", "x": utm.x, "y": utm.y},  # metres, no CRS in the file
        ],
    )
    device_csv(
        tmp_path / "imsma.csv",
        [
            {"HAZ_ID": "h1", "KIND": "Minefield", "longitude": p.x, "latitude": p.y},
        ],
    )
    (tmp_path / "imsma.toml").write_text(
        'record_id = "HAZ_ID"\nrecord_type = "KIND"\n[record_type_values]\nMinefield = "device"\n'
    )
    (tmp_path / "sources.toml").write_text(
        '[[source]]\npath = "gps/points.csv"\ncrs = "EPSG:32638"\n'
        'field_map = { record_id = "ID", record_type = "TYPE" }\n\n'
        '[[source]]\npath = "imsma.csv"\nfield_map = "imsma.toml"\n'
    )
    data = mineland.read_surveys(tmp_path / "sources.toml")
    assert len(data.rejected) == 0
    got = data.records.set_index("record_id")
    assert set(got.index) == {"g1", "h1"}
    assert got.loc["g1"].geometry.distance(p) < 1e-6  # UTM read as UTM, not degrees
    assert got.loc["h1", "record_type"] == "device"
    result = run("summarize", DISTRICTS, tmp_path / "sources.toml")
    assert result.exit_code == 0, result.output


def test_a_bad_manifest_is_a_one_line_error(tmp_path):
    (tmp_path / "sources.toml").write_text('[[source]]\nfile = "x.csv"\n')
    result = run("summarize", DISTRICTS, tmp_path / "sources.toml")
    assert result.exit_code == 2 and "unknown keys" in result.output


# --------------------------------------------------------------------------- Shapefiles


def shapefile(tmp_path, name, notes, encoding):
    import geopandas as gpd

    g = gpd.GeoDataFrame(
        {
            "record_id": [f"r{k}" for k in range(len(notes))],
            "record_type": "device",
            "notes": notes,
        },
        geometry=[shapely.Point(46.5, 39.7)] * len(notes),
        crs=4326,
    )
    path = tmp_path / f"{name}.shp"
    g.to_file(path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    raw = bytearray(path.with_suffix(".dbf").read_bytes())
    raw[29] = 0  # no code page in the header either, as real exports often have
    path.with_suffix(".dbf").write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("encoding", ["cp1251", "UTF-8"])
def test_shapefile_text_without_cpg_is_decoded(tmp_path, encoding):
    path = shapefile(tmp_path, "h", ["Кельбаджарский район"], encoding)
    data = mineland.read_surveys(path)
    assert data.records["notes"].tolist() == ["Кельбаджарский район"]


def test_shapefile_whose_dbf_has_fewer_rows_is_a_finding(tmp_path):
    path = shapefile(tmp_path, "m", ["a", "b", "c"], "UTF-8")
    raw = bytearray(path.with_suffix(".dbf").read_bytes())
    raw[4:8] = (2).to_bytes(4, "little")  # the .dbf now says 2 rows, the .shx has 3
    path.with_suffix(".dbf").write_bytes(bytes(raw))
    data = mineland.read_surveys(path)
    report = mineland.validate(mineland.read_districts(DISTRICTS), data)
    found = report.findings[report.findings["check"] == "shapefile_mismatch"]
    assert len(found) == 1 and "3 shapes but the .dbf 2" in found["message"].iloc[0]


def test_typed_date_field_with_an_impossible_value_rejects_only_that_row(tmp_path):
    import sqlite3

    import geopandas as gpd

    path = tmp_path / "typed.gpkg"
    gpd.GeoDataFrame(
        {
            "record_id": ["a", "b"],
            "record_type": ["device", "device"],
            "date": pd.to_datetime(["2021-01-01", "2021-01-02"]),
        },
        geometry=[shapely.Point(46.5, 39.7)] * 2,
        crs=4326,
    ).to_file(path, layer="s")
    con = sqlite3.connect(path)  # what a careless export leaves in a DATETIME column
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
        con.execute(f'DROP TRIGGER "{name}"')
    con.execute("UPDATE s SET date = '2021-02-30' WHERE record_id = 'b'")
    con.commit()
    con.close()
    data = mineland.read_surveys(path)
    assert list(data.records["record_id"]) == ["a"]
    assert data.records["date"].iloc[0] == pd.Timestamp("2021-01-01")
    assert "2021-02-30" in data.rejected["reason"].iloc[0]


def test_a_killed_writer_leaves_no_truncated_output(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "big.csv"
    out.write_text("the previous complete output\n")
    code = (
        "import pandas as pd; from mineland.io import write_table; "
        f"write_table(pd.DataFrame({{'k': range(4_000_000)}}), {str(out)!r})"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".big.*partial*")):
        time.sleep(0.02)  # wait until the writer is writing
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = list(tmp_path.glob(f".big.{proc.pid}.*partial*"))
    assert left, "the writer was killed before it wrote anything"
    assert out.read_text() == "the previous complete output\n"
    # the next run to the same output clears what the killed one left, not what a
    # running writer (here the process 1, which is always there) is writing
    running = tmp_path / ".big.1.0123abcd.partial.csv"
    running.write_text("a writer at work")
    from mineland.io import write_table

    write_table(pd.DataFrame({"k": [1, 2]}), out)
    assert pd.read_csv(out)["k"].tolist() == [1, 2]
    assert not any(p.exists() for p in left) and running.exists()


def test_validate_refuses_an_as_of_it_would_ignore():
    result = run("validate", DISTRICTS, ROOT / "data" / "surveys", "--as-of", "2024-01-01")
    assert result.exit_code == 2 and "--as-of does not apply" in result.output


def test_reading_leaves_the_gdal_configuration_as_it_was():
    import pyogrio

    pyogrio.set_gdal_config_options({"LIBKML_RESOLVE_STYLE": None})
    mineland.read_districts(DISTRICTS)
    mineland.read_surveys(ROOT / "data" / "surveys")
    assert pyogrio.get_gdal_config_option("LIBKML_RESOLVE_STYLE") is None


def test_record_id_lists_fit_a_spreadsheet_cell():
    from mineland.validation.checks import id_list

    text = id_list([f"R{i:06d}" for i in range(100_000)])
    listed = text.split("; … and ")[0].split("; ")
    assert len(text) < 32_767
    assert text.endswith(f"and {100_000 - len(listed)} more")  # nothing lost silently
    assert id_list(["a", "b"]) == "a; b"


def test_inputs_without_any_record_are_an_error(tmp_path):
    path = tmp_path / "header_only.csv"
    path.write_text("record_id,record_type,lon,lat\n")
    result = run("summarize", DISTRICTS, path)
    assert result.exit_code == 2 and "no records at all" in result.output


def test_curved_and_3d_geopackage_layers_read_as_flat_polygons(tmp_path):
    """GDAL's Arrow stream passes curves and Z through as they are stored; such layers
    are read feature by feature, which linearises and flattens them."""
    import struct

    import numpy as np
    import pyogrio

    arc = [(46.6, 39.7), (46.61, 39.71), (46.6, 39.72), (46.59, 39.71), (46.6, 39.7)]
    curve = struct.pack("<BII", 1, 10, 1) + struct.pack("<BII", 1, 8, len(arc))
    curve += b"".join(struct.pack("<dd", *xy) for xy in arc)  # CURVEPOLYGON(CIRCULARSTRING)
    flat = shapely.Polygon([(46.7, 39.7), (46.71, 39.7), (46.71, 39.71), (46.7, 39.71)])
    raised = shapely.to_wkb(shapely.force_3d(flat, 120.0))
    for name, wkb, gtype in (("curve", curve, "Unknown"), ("z", raised, "Polygon Z")):
        path = tmp_path / f"{name}.gpkg"
        pyogrio.raw.write(
            str(path),
            np.array([wkb], dtype=object),
            [np.array([name], dtype=object), np.array(["SHA"], dtype=object)],
            fields=["record_id", "record_type"],
            geometry_type=gtype,
            crs="EPSG:4326",
            driver="GPKG",
        )
        _, stored = pyogrio.raw.read_arrow(str(path))
        assert stored.column("geom")[0].as_py()[1] in (10, 0xEB)  # as written, not linear
        (geom,) = mineland.read_surveys(path).records.geometry
        assert isinstance(geom, shapely.Polygon) and not geom.has_z
        if name == "z":
            assert shapely.equals_exact(geom, flat, 1e-12)
        else:
            assert len(geom.exterior.coords) > 20
