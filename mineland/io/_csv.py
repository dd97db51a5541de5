"""Reading delimited text: points from lon/lat, x/y or MGRS columns, or geometries
from WKT (see :mod:`mineland.io._columns`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..csvtext import decode_csv, parse_csv, sniff_delimiter
from ..errors import InputFileError
from ..records import RawTable
from ._columns import table_from_frame


def read_csv(
    path: Path, crs: object | None, geometry_columns: Mapping[str, str] | None = None
) -> RawTable:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty")
    text = decode_csv(raw, str(path))
    if "\x00" in text[:4096]:
        raise InputFileError(f"{path}: not a text CSV file (binary content)")
    frame, problems = parse_csv(text, sniff_delimiter(text))
    if frame.shape[1] == 0:
        raise InputFileError(f"{path}: not a readable CSV file (no header)")
    table = table_from_frame(frame, str(path), None, crs, geometry_columns)
    table.row_errors = np.asarray(problems, dtype=object)
    return table
