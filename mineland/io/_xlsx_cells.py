"""Cells of an ``.xlsx`` workbook without a value that can be read: a formula whose
value the file does not store (a workbook written by a script: Excel and LibreOffice
store the value when they save), or an error (``#N/A``, ``#DIV/0!``).  A reader of
cached values sees both as blank cells; these are told apart here, without working
any formula out."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import InputFileError
from ._parse import first_line

__all__ = ["unreadable_cells"]

#: a worksheet's formula element (with or without a namespace prefix), or an error cell
_SPECIAL = re.compile(rb'<(?:\w+:)?f[\s>/]|\st="e"')
#: a formula shown at most this long in a message
_SHOWN = 80


def unreadable_cells(path: Path, names: list[str]) -> dict[str, dict[tuple[int, int], str]]:
    """Per sheet of ``names``: (row, column) from 0 → what the cell holds, in words,
    for every formula and error cell (the caller keeps those read as blank).  Read
    cell by cell (slow) only when some worksheet holds a formula or an error."""
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not _has_special_cells(path):
        return {}
    formulas = _cells(path, names, data_only=False, kind="f")
    errors = _cells(path, names, data_only=True, kind="e")
    out: dict[str, dict[tuple[int, int], str]] = {}
    for name in names:
        f, e = formulas.get(name, {}), errors.get(name, {})
        out[name] = {
            at: (
                f"the error {e[at]}" + (f" (={_shown(f[at])})" if at in f else "")
                if at in e
                else f"={_shown(f[at])}, a formula whose value the workbook does not store"
            )
            for at in f.keys() | e.keys()
        }
    return out


def _shown(formula: str) -> str:
    formula = formula.lstrip("=")
    return formula if len(formula) <= _SHOWN else f"{formula[: _SHOWN - 1]}…"


def _has_special_cells(path: Path) -> bool:
    """Whether a worksheet of the file holds a formula or an error cell (its XML read
    a megabyte at a time: a sheet can be large)."""
    with zipfile.ZipFile(path) as book:
        for member in book.namelist():
            if not (member.startswith("xl/worksheets/") and member.endswith(".xml")):
                continue
            with book.open(member) as xml:
                tail = b""
                while chunk := xml.read(1 << 20):
                    if _SPECIAL.search(tail + chunk):
                        return True
                    tail = chunk[-16:]
    return False


def _cells(path: Path, names: list[str], *, data_only: bool, kind: str) -> dict[str, dict]:
    """The cells of openpyxl's ``data_type`` ``kind`` of each sheet: their formula
    (``data_only=False``) or stored value (``data_only=True``), as text."""
    import openpyxl  # the slow path only

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # each part of a broken workbook raises its own
        raise InputFileError(f"{path}: cannot read the workbook ({first_line(exc)})") from None
    try:
        return {
            name: {
                (cell.row - 1, cell.column - 1): str(getattr(cell.value, "text", cell.value))
                for row in book[name].iter_rows()
                for cell in row
                if getattr(cell, "data_type", None) == kind
            }
            for name in names
            if name in book.sheetnames
        }
    finally:
        book.close()
