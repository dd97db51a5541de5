"""Cells of an ``.xlsx`` workbook without a value that can be read: a formula whose
value the file does not store (a workbook written by a script: Excel and LibreOffice
store the value when they save), or an error (``#N/A``, ``#DIV/0!``).  A reader of
cached values sees both as blank cells; these are told apart here, without working
any formula out."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from ..errors import InputFileError
from ._parse import first_line

__all__ = ["NOT_WORKED_OUT", "cell_name", "unreadable_cells"]

#: a cell that holds an error, or a formula with no stored value: an ``f`` element
#: followed by nothing or an empty ``v``, in a cell whose result is not a text (an
#: empty text is a value: Excel stores ``=IF(x,"","")`` so); ``N:`` stands for an
#: element's namespace prefix, if any
_SPECIAL = re.compile(
    rb'<N:c\b[^>]*\st="e"'
    rb'|<N:c\b(?![^>]*\st="str")[^>]*>\s*<N:f\b[^>]*(?:/>|>[^<]*</N:f>)\s*'
    rb"(?:<N:v\s*/>|<N:v>\s*</N:v>)?\s*</N:c>".replace(b"N:", rb"(?:\w+:)?")
)
#: bytes of a chunk's end read again with the next chunk (a cell across the two)
_OVERLAP = 1 << 16
#: a formula shown at most this long in a message
_SHOWN = 80
#: what to do about formulas whose value the workbook does not store
NOT_WORKED_OUT = (
    "the file was saved by a program that does not work formulas out: open and save it "
    "in Excel or LibreOffice, or export the sheet to CSV"
)


def cell_name(row: int, column: int) -> str:
    """A cell's name as a spreadsheet shows it (``B3``), from its row and column from 0."""
    from openpyxl.utils.cell import get_column_letter  # only where a cell is named

    return f"{get_column_letter(column + 1)}{row + 1}"


def unreadable_cells(path: Path, names: list[str]) -> dict[str, dict[tuple[int, int], tuple]]:
    """Per sheet of ``names``: (row, column) from 0 → (what the cell holds, in words;
    whether it is a formula the workbook stores no value for), for every formula and
    error cell (the caller keeps those read as blank).  Read cell by cell (slow) only
    when some worksheet holds an error or a formula without a stored value."""
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not _has_special_cells(path):
        return {}
    formulas = _cells(path, names, data_only=False, kinds=("f",))
    stored = _cells(path, names, data_only=True, kinds=("e", "str"))
    out: dict[str, dict[tuple[int, int], tuple]] = {}
    for name in names:
        f, e = formulas.get(name, {}), stored.get(name, {})
        out[name] = {}
        for at in f.keys() | e.keys():
            kind, value = e.get(at, (None, None))
            if kind == "str":  # a formula's text result, perhaps empty: a value
                continue
            formula = f"={_shown(f[at][1])}" if at in f else ""
            out[name][at] = (
                (f"the error {value}{f' ({formula})' if formula else ''}", False)
                if kind == "e"
                else (f"{formula}, a formula whose value the workbook does not store", True)
            )
    return out


def _shown(formula: str) -> str:
    formula = formula.lstrip("=")
    return formula if len(formula) <= _SHOWN else f"{formula[: _SHOWN - 1]}…"


def _has_special_cells(path: Path) -> bool:
    """Whether a worksheet of the file holds an error cell or a formula without a
    stored value (its XML read a megabyte at a time: a sheet can be large).  A
    workbook Excel saved, formulas and all, is read at full speed; so is a file that
    is no zip at all (an ``.xls`` named ``.xlsx``, which the reader took as it is)."""
    try:
        with zipfile.ZipFile(path) as book:
            return any(_special(book, m) for m in book.namelist() if _worksheet(m))
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError):
        return False


def _worksheet(member: str) -> bool:
    return member.startswith("xl/worksheets/") and member.endswith(".xml")


def _special(book: zipfile.ZipFile, member: str) -> bool:
    with book.open(member) as xml:
        tail = b""
        while chunk := xml.read(1 << 20):
            if _SPECIAL.search(tail + chunk):
                return True
            tail = chunk[-_OVERLAP:]
    return False


def _cells(path: Path, names: list[str], *, data_only: bool, kinds: tuple) -> dict[str, dict]:
    """The cells of openpyxl's ``data_type`` in ``kinds`` of each sheet, (row,
    column) from 0 → (data type, formula (``data_only=False``) or stored value
    (``data_only=True``) as text)."""
    import openpyxl  # the slow path only

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # each part of a broken workbook raises its own
        raise InputFileError(f"{path}: cannot read the workbook ({first_line(exc)})") from None
    try:
        return {name: _typed(book[name], kinds) for name in names if name in book.sheetnames}
    except Exception as exc:  # a sheet's XML broken past where its values are read
        raise InputFileError(
            f"{path}: cannot read the cells of the workbook ({first_line(exc)})"
        ) from None
    finally:
        book.close()


def _typed(sheet, kinds: tuple) -> dict:
    """(row, column) from 0 → (data type, text) of the sheet's cells of ``kinds``."""
    return {
        (cell.row - 1, cell.column - 1): (
            cell.data_type,
            str(getattr(cell.value, "text", cell.value)),
        )
        for row in sheet.iter_rows()
        for cell in row
        if getattr(cell, "data_type", None) in kinds
    }
