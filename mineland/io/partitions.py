"""Where records came from in GeoParquet inputs, so that a worker can read them again.

A record read from a GeoParquet file or flat dataset keeps its file (``source_file``)
and its row (``source_row``, counted over the parts laid end to end in the order of
:func:`._parquet.dataset_parts`).  :func:`parquet_partitions` turns those into row
groups of part files and rows within them; :func:`read_partition` reads one such row
group as a worker does: only the geometry column of that row group, made into records
by the same checks the reader ran (:func:`mineland.records.normalize_records`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..records import normalize_records
from ..tables import RawTable
from ._parquet import dataset_parts, read_part_geometries, row_group_sizes, wkb_column

__all__ = ["FilePartition", "parquet_partitions", "read_partition"]


@dataclass(frozen=True)
class FilePartition:
    """Records to read from one row group of one GeoParquet file."""

    #: the file, as an absolute path
    part: str
    row_group: int
    #: the rows within the row group (0-based)
    rows: np.ndarray
    #: the positions of these records in the list that was mapped
    at: np.ndarray


def _row_groups(source: str) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """Every row group of a GeoParquet input: its file, index and first row (0-based,
    over the input); None when the input is not a WKB GeoParquet file or flat dataset."""
    path = Path(source)
    parts = dataset_parts(path) if path.exists() else None
    if not parts or any(wkb_column(p) is None for p in parts):
        return None
    files, groups, sizes = [], [], []
    for part in parts:
        n = row_group_sizes(part)
        files += [str(part.resolve())] * len(n)
        groups.append(np.arange(len(n)))
        sizes.append(n)
    sizes = np.concatenate(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return files, np.concatenate(groups), starts


def parquet_partitions(sources: np.ndarray, rows: np.ndarray) -> list[FilePartition] | None:
    """The row groups holding each record (``sources``: its file, ``rows``: its
    1-based row in it), or None when any record is not in a GeoParquet input that can
    be read again this way (another kind of file, a row past the end)."""
    out = []
    sources = np.asarray(sources, dtype=object)
    rows = np.asarray(rows)
    if len(rows) and (pd.isna(rows).any() or not np.issubdtype(rows.dtype, np.integer)):
        return None
    for source in pd.unique(sources):
        at = np.flatnonzero(sources == source)
        found = _row_groups(str(source)) if isinstance(source, str) else None
        if found is None:
            return None
        files, groups, starts = found
        row = rows[at].astype(np.int64) - 1
        if (row < 0).any() or (row >= starts[-1]).any():
            return None
        which = np.searchsorted(starts, row, side="right") - 1
        for g in np.unique(which):
            sel = which == g
            rows_in = (row[sel] - starts[g]).astype(np.int32)
            out.append(FilePartition(files[g], int(groups[g]), rows_in, at[sel]))
    return out


def read_partition(part: str, row_group: int, rows: np.ndarray, types: np.ndarray):
    """The records of ``rows`` of one row group, with the ``types`` the reader gave
    them, their geometry checked as the reader checked it (invalid polygons repaired):
    a GeoDataFrame in EPSG:4326 whose ``source_row`` is 1 + the position in ``rows``.
    Rows the checks reject are missing from it."""
    geoms, crs = read_part_geometries(Path(part), row_group)
    attrs = pd.DataFrame({"record_id": np.arange(len(rows)).astype(str), "record_type": types})
    table = RawTable(part, None, attrs, geoms[rows], crs)
    return normalize_records([table], on_invalid="fix").records
