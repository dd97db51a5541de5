"""Reading workbooks (``.xlsx``, ``.xlsm``, ``.xls``, LibreOffice's ``.ods``): one
table per sheet that holds coordinates (lon/lat, x/y, WKT or MGRS columns)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema
from ..errors import InputFileError, SchemaError
from ..tables import RawTable
from ._columns import table_from_frame
from ._merged import filled_merges, merged_ranges
from ._parse import first_line
from ._xlsx_cells import NOT_WORKED_OUT, cell_name, unreadable_cells

log = logging.getLogger(__name__)


def read_excel(
    path: Path,
    crs: object | None,
    *,
    sheet: str | None = None,
    geometry_columns: Mapping[str, str] | None = None,
) -> list[RawTable]:
    """The sheets of a workbook as raw tables: the one named, or every sheet with
    coordinate columns (the others are named in the log).  Cells typed as dates
    stay dates; plain numbers in a date column are read as Excel day serials."""
    sheets = _sheets(path, sheet)
    tables, skipped = [], []
    for name, (frame, unreadable, notes) in sheets.items():
        filled = frame.notna().any(axis=1).to_numpy() | ~np.equal(unreadable, None)
        last = filled.nonzero()[0].max() + 1 if filled.any() else 0
        frame, unreadable = frame.iloc[:last], unreadable[:last]
        # (blank rows after the last one are formatting Excel keeps, not records)
        try:
            table = table_from_frame(frame, str(path), name, crs, geometry_columns)
        except SchemaError as exc:
            if sheet is not None:
                raise SchemaError(
                    str(exc).replace(str(path), f"{path} (sheet {name!r})", 1)
                ) from None
            skipped.append((name, exc))
            continue
        table.date_serials = True
        table.notes.extend(notes)
        table.unreadable_cells = unreadable
        tables.append(table)
    if skipped and tables:
        names = ", ".join(repr(n) for n, _ in skipped)
        log.warning("%s: sheets without coordinate columns skipped: %s", path, names)
    if not tables:
        names = ", ".join(map(repr, sheets))
        raise SchemaError(
            f"{path}: no sheet has lon/lat, x/y, MGRS or WKT columns (sheets: {names})"
        )
    return tables


def _sheets(path: Path, sheet: str | None) -> dict[str, tuple[pd.DataFrame, np.ndarray, list]]:
    """The sheets wanted, each under its header row, with per row the cells whose
    value cannot be read (see :func:`_unreadable`), and notes on the sheet."""
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # each engine raises its own error types
        raise InputFileError(f"{path}: not a readable workbook ({first_line(exc)})") from None
    names = [str(n) for n in book.sheet_names]
    if sheet is not None and sheet not in names:
        raise InputFileError(
            f"{path}: no sheet {sheet!r}; sheets are {', '.join(map(repr, names))}"
        )
    wanted = [sheet] if sheet is not None else names
    try:
        raw = {
            name: pd.read_excel(book, sheet_name=name, header=None, dtype=object) for name in wanted
        }
    except Exception as exc:
        raise InputFileError(f"{path}: cannot read the workbook ({first_line(exc)})") from None
    cells = unreadable_cells(path, wanted)
    hidden = _hidden_sheets(book)
    out = {}
    for name, frame in raw.items():
        frame, unreadable, notes = _sheet(
            frame, cells.get(name, {}), merged_ranges(book, name), path, name
        )
        if name in hidden:
            notes.insert(0, ("hidden_sheet", "hidden in the workbook; its rows were read"))
        out[name] = frame, unreadable, [(c, f"sheet {name!r}: {text}") for c, text in notes]
    return out


def _sheet(raw, cells: dict, merges: list, path: Path, name: str):
    """One sheet's table under its header, its unreadable cells per row, and notes."""
    raw, unreadable = _unreadable(raw, cells)
    header = _header_row(raw, path, name)
    frame, unreadable = _with_header(raw, unreadable, header, f"{path} (sheet {name!r})")
    frame, notes = filled_merges(frame, merges, header)
    return frame, unreadable, notes


def _hidden_sheets(book: pd.ExcelFile) -> set[str]:
    """The sheets hidden in Excel (a former version of the data, often): read like the
    others, with a note, so that neither reading nor skipping them is silent."""
    try:
        sheets = book.book.sheets_metadata
    except Exception:  # a format or an engine that does not tell
        return set()
    return {str(m.name) for m in sheets if str(m.visible).rsplit(".", 1)[-1] != "Visible"}


def _unreadable(raw: pd.DataFrame, cells: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """The sheet (grown to hold every cell of ``cells``), and per row the cells of
    ``cells`` read as blank, as ``[(column, (what it holds, uncomputed)), ...]`` (None
    where none).
    Their value is unknown, so the row cannot be read as it stands."""
    rows = max([len(raw), *(r + 1 for r, _ in cells)])
    cols = max([raw.shape[1], *(c + 1 for _, c in cells)])
    raw = raw.reindex(index=range(rows), columns=range(cols))
    out = np.full(rows, None, dtype=object)
    for (r, c), text in sorted(cells.items()):
        if pd.isna(raw.iat[r, c]):
            out[r] = [*(out[r] or []), (c, text)]
    return raw, out


def _cell_texts(unreadable: np.ndarray, names: list[str], header: int) -> np.ndarray:
    """Each data row's unreadable cells in words (cell, column, what it holds), and
    what to do about formulas the workbook stores no value for."""
    out = np.full(max(len(unreadable) - header - 1, 0), None, dtype=object)
    for k, cells in enumerate(unreadable[header + 1 :]):
        if cells:
            texts = [
                f"cell {cell_name(header + k + 1, c)} ({names[c]}) holds {t}" for c, (t, _) in cells
            ]
            hint = f" ({NOT_WORKED_OUT})" if any(u for _, (_, u) in cells) else ""
            out[k] = "; ".join(texts) + hint
    return out


def _header_row(raw: pd.DataFrame, path: Path, sheet: str) -> int:
    """The sheet's header row: the first row, unless a title or notes stand above it
    (then the first of the top 20 rows that holds two of the usual column names, with
    the rows above named in the log)."""
    header = 0
    for k in range(min(schema.HEADER_SEARCH_ROWS, len(raw))):
        if schema.looks_like_header(raw.iloc[k].dropna()):
            header = k
            break
    if header:
        log.warning(
            "%s: sheet %r: the header is on row %d; %s",
            path,
            sheet,
            header + 1,
            schema.above_header(header, "row"),
        )
    return header


def _with_header(
    raw: pd.DataFrame, unreadable: np.ndarray, header: int, source: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The sheet as a table under its header row, and its unreadable cells in words."""
    names = (
        [
            str(v).strip() if pd.notna(v) else f"column_{j + 1}"
            for j, v in enumerate(raw.iloc[header])
        ]
        if len(raw)
        else []
    )
    frame = raw.iloc[header + 1 :].reset_index(drop=True)
    return schema.unique_columns(frame, names, source), _cell_texts(unreadable, names, header)
