"""Reading delimited text: points from lon/lat, x/y or MGRS columns, or geometries
from WKT (see :mod:`mineland.io._columns`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .. import schema
from ..csvtext import decode_csv, read_csv_text
from ..errors import InputFileError
from ..records import RawTable
from ._columns import table_from_frame

#: how binary files given a .csv name by mistake begin: zip (a workbook, a zipped
#: shapefile), SQLite (a GeoPackage), PDF, an old Office document
_BINARY_STARTS = (b"PK\x03\x04", b"SQLite format 3\x00", b"%PDF", b"\xd0\xcf\x11\xe0")
_CONTROL = schema.CONTROLS - set("\t\n\r")


def _binary(raw: bytes, head: str) -> bool:
    """Whether a file is binary rather than text: a known binary start, or a control
    character or NUL in its header line (binary data holds one within a few bytes).
    NULs and other controls in later lines are text: old exports pad fields with
    NULs, and a cell may hold anything."""
    header = head.lstrip(" \t\r\n").split("\n", 1)[0].split("\r", 1)[0]
    return raw.startswith(_BINARY_STARTS) or any(c in _CONTROL for c in header)


def read_csv(
    path: Path, crs: object | None, geometry_columns: Mapping[str, str] | None = None
) -> RawTable:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty")
    text = decode_csv(raw, str(path))
    if _binary(raw, text[:4096]):
        raise InputFileError(f"{path}: not a text CSV file (binary content)")
    frame, problems = read_csv_text(text, str(path))
    if frame.shape[1] == 0:
        raise InputFileError(f"{path}: not a readable CSV file (no header)")
    table = table_from_frame(frame, str(path), None, crs, geometry_columns)
    table.row_errors = np.asarray(problems, dtype=object)
    return table
