"""Generated broken CSV exports: the demo's points and areas as one CSV (lon/lat and
WKT), corrupted at random, in its cells (ragged rows, payloads, numbers and dates
that are not, swapped coordinates, broken WKT, odd types, a header that is blank,
repeated or padded, repeated rows), in its text (truncated, stray quotes, NULs, line
ends, blank lines, fields of megabytes, lines before the header) and in its bytes
(BOM, UTF-16, Windows code pages, bytes that are not UTF-8), and written with one of
the delimiters exports use.

Every command ends with exit 0, 1 or 2, no traceback, internal error or raw Python
warning; every row read is used or rejected, the rejected ones written with a reason
and no cell a spreadsheet would run; and while the lines are left whole, the rows
read are the rows written.  The seeds include those that found a field longer than
the csv module's limit (a long note, a stray quote in a large export) to be an
internal error, and a quoted header under a title line to be missed."""

from __future__ import annotations

import csv
import io
import random
import re
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import DISTRICTS, SURVEYS, run

import mineland
from mineland.csvtext import read_csv_text

PAYLOADS = ['=HYPERLINK("http://x")', "+1+1", "@SUM(A1)", "-2+3", "\x1b]8;;http://x\x1b\\a"]
PAYLOADS += ["<script>alert(1)</script>", "\u202egnp.exe", "Cəbrayıl", "Goražde", "\x00", "\x07"]
HEADER = ["record_id", "record_type", "date", "quantity", "killed", "injured", "notes"]
HEADER += ["lon", "lat", "wkt"]
READ = re.compile(r"read (\d+) records? from \d+ files?: (\d+) used, (\d+) rejected")


def _base_rows() -> list[list[str]]:
    points = pd.read_csv(SURVEYS / "synthetic_devices_incidents.csv", dtype=str).head(30)
    points = points.fillna("")
    rows = [
        [p.record_id, p.record_type, p.date, p.quantity, p.killed, p.injured, p.notes]
        + [p.lon, p.lat, ""]
        for p in points.itertuples()
    ]
    for name in ("synthetic_hazards.gpkg", "synthetic_releases.geojson"):
        for a in gpd.read_file(SURVEYS / name).head(15).itertuples():
            date = "" if pd.isna(a.date) else str(a.date)[:10]
            rows.append([a.record_id, a.record_type, date, "", "", "", "area", "", ""])
            rows[-1].append(a.geometry.wkt)
    return rows


BASE = _base_rows()


def _some(rng, rows, most):
    return rng.sample(rows, k=min(len(rows), rng.randint(1, most)))


def _set_cells(rng, rows, columns, values, most=10):
    for r in _some(rng, rows, most):
        k = rng.choice(columns)
        if k < len(r):
            r[k] = rng.choice(values)


def c_ragged(rng, header, rows):
    for r in _some(rng, rows, 8):
        if rng.random() < 0.5:
            r.extend(["x"] * rng.randint(1, 3))
        else:
            del r[rng.randint(1, len(r) - 1) :]


def c_payload(rng, header, rows):
    _set_cells(rng, rows, [0, 1, 2, 3, 6], PAYLOADS)


def c_numbers(rng, header, rows):
    bad = ["nan", "inf", "-inf", "1e400", "1,5", "۱۲", "0x10", " 3 ", "-0", "9" * 40, "1.2.3"]
    _set_cells(rng, rows, [3, 4, 5, 7, 8], bad)


def c_swap(rng, header, rows):
    for r in _some(rng, rows, 6):
        if len(r) > 8:
            r[7], r[8] = r[8], r[7]


def c_wkt(rng, header, rows):
    bad = ["POLYGON((", "POLYGON EMPTY", "POINT(1e308 1e308)", "POLYGON((0 0,1 1,0 0))", "hello"]
    bad += ["LINESTRING(46 40,47 41)", "POLYGON((46 40,47 40,46 41,47 41,46 40))"]
    bad += ["GEOMETRYCOLLECTION(POINT(46 40))", "POLYGON Z((46 40 1,46.1 40 1,46 40.1 1,46 40 1))"]
    bad += ["SRID=4326;POLYGON((46 40,46.1 40,46.1 40.1,46 40))"]
    _set_cells(rng, rows, [9], bad, most=8)


def c_dates(rng, header, rows):
    bad = ["2022-02-30", "31/12/2021", "12/31/2021", "2021", "0000-00-00", "9999-12-31"]
    bad += ["yesterday", "44000", "2021-06-01T12:00:00Z", "2021-06-01 25:00", "١٢/١٢/٢٠٢١"]
    _set_cells(rng, rows, [2], bad)


def c_types(rng, header, rows):
    bad = ["", "sha", " CHA ", "Cleared", "CANCELLED", "device ", "incident\t", "mine", "ＳＨＡ"]
    _set_cells(rng, rows, [1], bad + ["SHA;CHA"])


def c_header(rng, header, rows):
    k = rng.random()
    if k < 0.25:
        header[rng.randint(0, len(header) - 1)] = ""
    elif k < 0.5:
        header[6] = header[0]  # a name twice
    else:
        header[:] = [h.upper() if k < 0.75 else f" {h} " for h in header]


def c_dupes(rng, header, rows):
    for _ in range(rng.randint(1, 5)):
        rows.insert(rng.randint(0, len(rows)), list(rng.choice(rows)))


CELLS = [c_ragged, c_payload, c_numbers, c_swap, c_wkt, c_dates, c_types, c_header, c_dupes]


def _at(rng, text):
    return rng.randint(len(text) // 3, len(text) - 1)


def t_truncate(rng, text):
    return text[: rng.randint(len(text) // 2, len(text))]


def t_quote(rng, text):
    for _ in range(rng.randint(1, 3)):
        i = _at(rng, text)
        text = text[:i] + '"' + text[i:]
    return text


def t_nul(rng, text):
    for _ in range(rng.randint(1, 5)):
        i = _at(rng, text)
        text = text[:i] + "\x00" + text[i:]
    return text


def t_endings(rng, text):
    return text.replace("\n", rng.choice(["\r\n", "\r", "\n\n", "\r\r\n"]))


def t_blank(rng, text):
    lines = text.split("\n")
    for _ in range(rng.randint(1, 5)):
        lines.insert(rng.randint(1, len(lines)), rng.choice(["", " ", "{sep}" * 4]))
    return "\n".join(lines)


def t_long(rng, text):
    lines = text.split("\n")
    if len(lines) < 3:  # its lines end in CR
        return text
    i = rng.randint(1, len(lines) - 2)
    size = rng.choice([10_000, 200_000, 2_000_000])
    lines[i] = lines[i].replace("area", "A" * size, 1) if "area" in lines[i] else lines[i]
    return "\n".join(lines)


def t_preamble(rng, text):
    titles = ["Report of hazards{sep} exported 2024\n", "# export\n\n", "Cəbrayıl\n{sep}{sep}\n"]
    return rng.choice(["\n\n", ",,,,\n", "sep={sep}\n", '"sep={sep}"\r\n\r\n', *titles]) + text


LINES_KEPT = {t_blank, t_endings, t_long, t_preamble}  # one line per row still
TEXT = [t_truncate, t_quote, t_nul, *sorted(LINES_KEPT, key=lambda t: t.__name__)]


def _encoded(rng, text: str) -> tuple[bytes, bool]:
    """The text's bytes, and whether its lines are left whole (a byte replaced at
    random may be a line end or a quote)."""
    k = rng.random()
    if k < 0.15:
        return "\ufeff".encode() + text.encode(), True
    if k < 0.25:
        return text.encode("utf-16"), True
    if k < 0.42:
        return text.encode(rng.choice(["cp1251", "latin-1"]), errors="replace"), True
    raw = bytearray(text.encode())
    if k >= 0.5:
        return bytes(raw), True
    for _ in range(rng.randint(1, 5)):
        raw[rng.randint(len(raw) // 2, len(raw) - 1)] = rng.randint(128, 255)
    return bytes(raw), False


def broken_csv(seed: int, path: Path) -> tuple[list[str], int | None]:
    """A broken export at ``path``; what was done to it, and its number of rows
    when its lines were left whole (None when they may not be)."""
    rng = random.Random(seed)
    header, rows = list(HEADER), [list(r) for r in BASE]
    done = rng.sample(CELLS, k=rng.randint(1, 4))
    for corrupt in done:
        corrupt(rng, header, rows)
    sep = rng.choice([",", ",", ";", "\t", "|"])
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if rng.random() < 0.2 else csv.QUOTE_MINIMAL
    csv.writer(out, delimiter=sep, quoting=quoting, lineterminator="\n").writerows([header, *rows])
    text = out.getvalue()
    texts = rng.sample(TEXT, k=rng.randint(1, 2)) if rng.random() < 0.6 else []
    texts.sort(key=lambda t: t is t_preamble)  # lines above the header go in last
    for corrupt in texts:
        text = corrupt(rng, text)
    separator_rows = text.count("{sep}" * 4)  # read, and rejected as blank rows
    raw, kept = _encoded(rng, text.replace("{sep}", sep))
    path.write_bytes(raw)
    whole = kept and all(t in LINES_KEPT for t in texts)
    return [c.__name__ for c in done + texts], len(rows) + separator_rows if whole else None


def _rejected_rows_are_written_inert(path: Path, n: int, said: str) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    assert len(table) == n, said
    assert (table["reason"].str.strip() != "").all(), said
    for col in table.columns:
        cells = table[col]
        assert not cells.str.match(r"[=+\-@\t\r]").any(), (col, said)
        assert not cells.str.contains(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").any(), (col, said)


def _check_run(command: str, src: Path, tmp_path: Path, rows: int | None) -> None:
    out, rejected = tmp_path / f"{command}.csv", tmp_path / f"rejected_{command}.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's warnings reach users raw
        result = run(command, DISTRICTS, src, "--crs", "4326", "-o", out, "--rejected", rejected)
    said = result.output
    assert result.exit_code in (0, 1, 2), (command, said)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), (command, said, result.exception)
    for bad in ("Traceback", "internal error", "Warning:"):
        assert bad not in said, (command, said)
    if result.exit_code == 2:
        assert "mineland: error" in said, (command, said)
        return
    n, used, rejected_n = map(int, READ.search(said).groups())
    assert used + rejected_n == n, (command, said)
    if rows is not None:
        assert n == rows, (command, said)
    if rejected_n:
        _rejected_rows_are_written_inert(rejected, rejected_n, said)
    assert command != "summarize" or out.exists(), said


SEEDS = [44, 55, 102, 185, 243, 278, 291, 314, 364, 7, 10, 29, 3, 12, 19, 2083, 2172]


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_broken_csv(seed, tmp_path):
    src = tmp_path / "export.csv"
    _, rows = broken_csv(seed, src)
    for command in ("summarize", "validate"):
        _check_run(command, src, tmp_path, rows)


def test_the_seeds_reach_every_corruption_and_most_runs_read_rows(tmp_path):
    """The seeds above are not all refused files: most read rows, and between them
    they apply every corruption."""
    applied, read = set(), 0
    for seed in SEEDS:
        done, _ = broken_csv(seed, tmp_path / "export.csv")
        applied |= set(done)
        data = mineland.read_surveys(tmp_path / "export.csv", crs="EPSG:4326")
        read += data.n_read > 0
    assert applied == {c.__name__ for c in CELLS + TEXT}
    assert read >= len(SEEDS) * 2 // 3


def test_a_field_longer_than_the_csv_modules_limit_is_read(tmp_path):
    src = tmp_path / "long.csv"
    note = "A" * 300_000  # the csv module refuses fields over 128 KiB by default
    src.write_text(f"record_id,record_type,lon,lat,notes\nD1,device,46.5,39.5,{note}\n")
    data = mineland.read_surveys(src)
    assert data.n_read == 1 and len(data.records) == 1
    assert data.records["notes"].iloc[0] == note


def test_a_stray_quote_in_a_large_export_does_not_swallow_the_rest(tmp_path):
    lines = [f"D{k},device,46.5,39.5,note {k}" for k in range(20_000)]
    lines[10] = 'D10,device,46.5,39.5,"a stray quote'
    src = tmp_path / "stray.csv"
    src.write_text("record_id,record_type,lon,lat,notes\n" + "\n".join(lines) + "\n")
    data = mineland.read_surveys(src)
    assert data.n_read == len(lines)
    assert len(data.records) >= len(lines) - 1


@pytest.mark.parametrize(
    "preamble, sep",
    [("\n\n", ","), (",,,,\r\n", ","), ("sep=;\n", ";"), ('"sep=;"\r\n\r\n', ";")]
    + [("SEP=\t\n", "\t")],
)
def test_blank_lines_and_excels_sep_line_before_the_header_are_left_out(tmp_path, preamble, sep):
    rows = [["record_id", "record_type", "lon", "lat"], ["D1", "device", "46,5", "39,5"]]
    rows += [["D2", "incident", "46,6", "39,6"]]
    if sep != ";":
        rows = [[c.replace(",", ".") for c in r] for r in rows]
    src = tmp_path / "export.csv"
    src.write_text(preamble + "\n".join(sep.join(r) for r in rows) + "\n", encoding="utf-8")
    data = mineland.read_surveys(src)
    assert data.n_read == 2 and len(data.records) == 2
    assert list(data.records["record_id"]) == ["D1", "D2"]
    assert data.records.geometry.x.round(6).tolist() == [46.5, 46.6]


@pytest.mark.parametrize(
    "title, line",
    [("Report of hazards; Cəbrayıl, 2024\n,,,\n", 3), ("# exported 2024\n", 2), ("", 1)],
)
def test_title_lines_above_the_header_are_named_not_read(tmp_path, caplog, title, line):
    src = tmp_path / "export.csv"
    rows = "record_id,record_type,lon,lat\nD1,device,46.5,39.5\nD2,device,46.6,39.6\n"
    src.write_text(title + rows, "utf-8")
    with caplog.at_level("WARNING"):
        data = mineland.read_surveys(src)
    assert data.n_read == 2 and list(data.records["record_id"]) == ["D1", "D2"]
    lines = "the line" if line == 2 else f"the {line - 1} lines"
    above = f"the header is on line {line}; {lines} above it (a title?) "
    assert (above in caplog.text) == bool(title)


def test_a_quoted_header_under_a_title_is_found(tmp_path, caplog):
    src = tmp_path / "export.csv"
    text = 'Cəbrayıl\n;;\n"record_id";"record_type";"lon";"lat"\n"D1";"device";"46,5";"39,5"\n'
    src.write_text(text, "utf-8")
    with caplog.at_level("WARNING"):
        data = mineland.read_surveys(src)
    assert list(data.records["record_id"]) == ["D1"]
    assert data.records.geometry.x.round(6).tolist() == [46.5]
    assert "the header is on line 3; the 2 lines above it (a title?) are not records" in caplog.text


def test_a_row_of_column_like_values_under_another_header_is_a_row(tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("ID_NUM,TYPE_CODE,LON_DD,LAT_DD\nD1,x,y,1\n", "utf-8")
    frame, problems = read_csv_text(src.read_text("utf-8"))
    assert list(frame.columns) == ["ID_NUM", "TYPE_CODE", "LON_DD", "LAT_DD"]
    assert frame.values.tolist() == [["D1", "x", "y", "1"]] and problems == [None]


def test_empty_lines_between_rows_are_not_rows_as_for_pandas(tmp_path):
    src = tmp_path / "export.csv"
    text = "record_id,record_type,lon,lat\n\nD1,device,46.5,39.5\n\r\n\nD2,device,46.6,39.6\n\n"
    src.write_text(text, encoding="utf-8")
    data = mineland.read_surveys(src)
    assert data.n_read == len(pd.read_csv(src)) == 2  # pandas leaves blank lines out too
    assert list(data.records["record_id"]) == ["D1", "D2"] and not len(data.rejected)
    assert list(data.records["source_row"]) == [1, 2]
