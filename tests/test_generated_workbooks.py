"""Generated hostile workbooks: sheets of device and incident points with title rows,
blank rows, numbers typed as text, payloads, formulas Excel worked out (a stored
value), formulas a script wrote (no stored value), error cells (#N/A, #DIV/0!) and
record types merged down blocks of rows.

Each generated row's fate is known when it is written: a row with a cell whose value
cannot be read (in any column) is rejected as ``unreadable_cell``; a blank row as
``blank_row``; every other row is used, with its coordinates and its count as
written (a stored formula value counts as its value).  Nothing is left out.  The
same workbooks damaged (cut short, bytes changed, junk in a sheet's XML) end in a
clear error or a table, never a traceback."""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import shapely
from conftest import DISTRICTS, run
from openpyxl.utils.cell import get_column_letter

import mineland

HEAD = ["record_id", "record_type", "date", "lon", "lat", "quantity", "notes"]
PAYLOADS = ["<script>alert(1)</script>", '=HYPERLINK("x")', "\u202e", "Goražde", "Cəbrayıl"]
ERRORS = ["#N/A", "#DIV/0!", "#REF!", "#VALUE!"]


def _cell(rng, value, kind: str):
    """A cell holding ``value`` as ``kind``: plain, text, a formula with its value
    stored (Excel), a formula without (a script), or an error; returned as the value
    openpyxl writes and the XML that replaces it afterwards (None: as written)."""
    if kind == "plain":
        return value, None
    if kind == "text":
        return str(value), None
    if kind == "stored":
        return f"={value}+0", f"<f>{value}+0</f><v>{value}</v>"
    if kind == "script":
        return f"={value}+0", None
    return 0, f"<v>{rng.choice(ERRORS)}</v>"


def _rows(rng, n: int):
    """Rows to write, each with its XML edits and what must become of it."""
    out = []
    for i in range(n):
        if rng.random() < 0.08:
            out.append(([None] * len(HEAD), {}, "blank_row"))
            continue
        kinds = {}
        for col in ("lon", "lat", "quantity", "notes"):
            kinds[col] = rng.choices(
                ["plain", "text", "stored", "script", "error"], [70, 10, 8, 6, 6]
            )[0]
        if kinds["notes"] == "text":
            kinds["notes"] = "plain"
        lon, lat = round(rng.uniform(46.5, 47.0), 5), round(rng.uniform(39.3, 39.9), 5)
        qty = rng.randint(1, 9)
        values = {"lon": lon, "lat": lat, "quantity": qty, "notes": rng.randint(0, 99)}
        cells, edits = [f"W{i}", rng.choice(["device", "incident"]), "2023-05-06"], {}
        for col in ("lon", "lat", "quantity", "notes"):
            value, xml = _cell(rng, values[col], kinds[col])
            if col == "notes" and kinds[col] == "plain":
                value = rng.choice(PAYLOADS)
            cells.append(value)
            if xml is not None:
                edits[HEAD.index(col)] = (xml, kinds[col] == "error")
        bad = any(kinds[c] in ("script", "error") for c in kinds)
        # openpyxl writes a text that starts with "=" as a formula (with no value)
        bad |= kinds["notes"] == "plain" and str(cells[-1]).startswith("=")
        out.append((cells, edits, "unreadable_cell" if bad else (lon, lat, qty)))
    return out


def _write(path: Path, rng, n: int, title: bool):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "points"
    top = 0
    if title:
        sheet.append(["Field reports, team 3"])
        sheet.append([])
        top = 2
    sheet.append(HEAD)
    rows = _rows(rng, n)
    for cells, _, _ in rows:
        sheet.append(cells)
    for start in range(0, len(rows) - 3, 7):  # a type written once for a block of rows
        size = rng.randint(2, 4)
        block = rows[start : start + size]
        if rng.random() < 0.5 and all(fate != "blank_row" for _, _, fate in block):
            sheet.merge_cells(f"B{top + 2 + start}:B{top + 1 + start + size}")
            for cells, _, _ in block[1:]:
                cells[1] = block[0][0][1]
    book.save(path)
    edits = {
        f"{get_column_letter(c + 1)}{top + 2 + k}": xml
        for k, (_, e, _) in enumerate(rows)
        for c, xml in e.items()
    }
    _edit(path, edits)
    return rows


def _edit(path: Path, edits: dict[str, tuple[str, bool]]) -> None:
    """Replace the inside of the cells named (and mark error cells ``t="e"``)."""
    with zipfile.ZipFile(path) as src:
        items = [(item, src.read(item)) for item in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for item, data in items:
            if item.filename.startswith("xl/worksheets/"):
                text = data.decode()
                for cell, (xml, error) in edits.items():
                    kind = ' t="e"' if error else ""
                    text, n = re.subn(
                        rf'<c r="{cell}"[^>]*>.*?</c>', f'<c r="{cell}"{kind}>{xml}</c>', text
                    )
                    assert n == 1, cell
                data = text.encode()
            dst.writestr(item, data)


@pytest.mark.parametrize("seed", range(6))
def test_generated_workbook_rows_are_used_as_written_or_rejected(seed, tmp_path):
    rng = random.Random(seed)
    path = tmp_path / f"team{seed}.xlsx"
    rows = _write(path, rng, rng.randint(20, 60), title=seed % 2 == 1)
    data = mineland.read_surveys(path)
    assert data.n_read == sum(1 for _ in rows) - _trailing_blanks(rows)
    used = data.records.set_index("record_id")
    rejected = data.rejected.set_index("record_id")
    for cells, _, fate in rows:
        rid = cells[0]
        if fate == "blank_row":
            continue
        if fate == "unreadable_cell":
            assert rid in rejected.index, rid
            assert rejected.at[rid, "check"] == "unreadable_cell", rejected.loc[rid].to_dict()
            continue
        lon, lat, qty = fate
        assert rid in used.index, (
            rid,
            rejected.loc[rid].to_dict() if rid in rejected.index else "",
        )
        assert used.at[rid, "geometry"].equals_exact(shapely.Point(lon, lat), 1e-9)
        assert int(used.at[rid, "quantity"]) == qty
        assert used.at[rid, "record_type"] == cells[1]
    blanks = [f for _, _, f in rows[: len(rows) - _trailing_blanks(rows)] if f == "blank_row"]
    assert (data.rejected["check"] == "blank_row").sum() == len(blanks)

    result = run("summarize", DISTRICTS, path, "-o", tmp_path / "s.csv")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def _trailing_blanks(rows) -> int:
    k = 0
    for _, _, fate in reversed(rows):
        if fate != "blank_row":
            break
        k += 1
    return k


def _corrupted(path: Path, rng) -> None:
    """The workbook cut short, with bytes changed, or with junk in a sheet's XML (an
    entity, a control character, a stray tag, an open formula)."""
    data = path.read_bytes()
    kind = rng.randrange(3)
    if kind == 0:
        data = data[: rng.randint(10, len(data))]
    elif kind == 1:
        data = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
    else:
        junk = [b'<c r="ZZ9"><f>', b"</row>", b"\x00\xff", b'<f t="shared"/>', b"&bogus;"]
        with zipfile.ZipFile(path) as src:
            items = [(item, src.read(item)) for item in src.infolist()]
        with zipfile.ZipFile(path, "w") as dst:
            for item, xml in items:
                if item.filename.startswith("xl/worksheets/"):
                    at = rng.randrange(len(xml))
                    xml = xml[:at] + rng.choice(junk) + xml[at:]
                dst.writestr(item, xml)
        return
    path.write_bytes(data)


@pytest.mark.parametrize("seed", range(12))
def test_corrupted_workbooks_end_in_a_clear_error_or_a_table(seed, tmp_path):
    """Whatever the damage: exit 0, 1 or 2, and never a traceback or an internal error
    (a sheet's XML that a lenient reader took but the cell reader did not was one)."""
    rng = random.Random(1000 + seed)
    path = tmp_path / "damaged.xlsx"
    _write(path, rng, rng.randint(5, 20), title=False)
    _corrupted(path, rng)
    result = run("summarize", DISTRICTS, path, "-o", tmp_path / "s.csv")
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
