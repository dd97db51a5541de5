"""Reading Excel workbooks (``.xlsx``, ``.xls``): one table per sheet that holds
coordinates (lon/lat, x/y, WKT or MGRS columns)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..errors import InputFileError, SchemaError
from ..tables import RawTable
from ._columns import table_from_frame
from ._parse import first_line

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
    for name, frame in sheets.items():
        filled = frame.notna().any(axis=1).to_numpy()
        frame = frame.iloc[: filled.nonzero()[0].max() + 1 if filled.any() else 0]
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


def _sheets(path: Path, sheet: str | None) -> dict[str, pd.DataFrame]:
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
        return {name: pd.read_excel(book, sheet_name=name, dtype=object) for name in wanted}
    except Exception as exc:
        raise InputFileError(f"{path}: cannot read the workbook ({first_line(exc)})") from None
