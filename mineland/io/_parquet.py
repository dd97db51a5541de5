"""GeoParquet: reading parts (skipping those outside a bbox) and writing a partitioned dataset."""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..errors import InputFileError, OutputError
from ..records import RawTable, parse_crs
from ._parse import first_line
from .write import check_output_path

log = logging.getLogger(__name__)


def read_parquet(path: Path, bbox=None) -> RawTable:
    try:
        frame = gpd.read_parquet(path, bbox=bbox)
    except Exception as exc:  # pyarrow raises many types
        raise InputFileError(
            f"{path}: not a readable GeoParquet file ({first_line(exc)})"
        ) from None
    crs = None if frame.crs is None else pyproj.CRS.from_user_input(frame.crs)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
    return RawTable(str(path), None, attrs, shapely.force_2d(geoms), crs)


def bbox_in(bbox, crs: pyproj.CRS | None):
    """A lon/lat bounding box in another CRS (None when there is no box)."""
    if bbox is None:
        return None
    if crs is None or crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return tuple(bbox)
    t = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    return tuple(t.transform_bounds(*bbox, densify_pts=21))


def parquet_crs(path: Path) -> pyproj.CRS | None:
    import pyarrow.parquet as pq

    part = path if path.is_file() else next(iter(sorted(path.glob("*.parquet"))), None)
    if part is None:
        return None
    try:
        meta = json.loads(pq.read_schema(part).metadata[b"geo"])
        column = meta["columns"][meta["primary_column"]]
        return pyproj.CRS.from_user_input(column.get("crs") or "OGC:CRS84")
    except (KeyError, TypeError, ValueError, OSError, pyproj.exceptions.CRSError):
        return None


def clip_to_bbox(table: RawTable, bbox, crs) -> RawTable:
    """Keep the rows of a table read whole (CSV) that meet ``bbox`` (lon/lat), as the
    spatial readers do; rows whose geometry could not be read stay, to be rejected."""
    if bbox is None or len(table) == 0:
        return table
    table_crs = table.crs or parse_crs(crs) or pyproj.CRS.from_epsg(4326)
    box = shapely.box(*bbox_in(bbox, table_crs))
    geoms = np.asarray(table.geometry, dtype=object)
    keep = shapely.is_missing(geoms)
    keep[~keep] = shapely.intersects(geoms[~keep], box)
    if keep.all():
        return table
    log.info(
        "%s: %d of %d rows lie outside the bbox and were not read",
        table.source,
        int((~keep).sum()),
        len(table),
    )
    table.attributes = table.attributes[keep].reset_index(drop=True)
    table.geometry = geoms[keep]
    for name in ("geometry_errors", "parse_fixes", "row_errors"):
        value = getattr(table, name)
        if value is not None:
            setattr(table, name, np.asarray(value, dtype=object)[keep])
    return table


def write_geoparquet(
    records: gpd.GeoDataFrame,
    folder: str | os.PathLike,
    *,
    rows_per_part: int = 250_000,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Write records as a partitioned GeoParquet dataset (``part-NNNNN.parquet``),
    sorted along a Hilbert curve so that each part covers a compact area; every part
    has a bounding-box covering column, so readers can skip parts by ``bbox``."""
    out = check_output_path(folder, inputs)
    if out.exists():
        raise OutputError(f"{out}: already exists")
    if len(records):
        order = np.argsort(records.geometry.hilbert_distance(), kind="stable")
        records = records.iloc[order]
    n_parts = max(1, -(-len(records) // rows_per_part))
    # the parts go to a hidden folder renamed when complete: a killed run never
    # leaves a folder that reads as a whole dataset
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    tmp.mkdir()
    try:
        for k in range(n_parts):
            part = records.iloc[k * rows_per_part : (k + 1) * rows_per_part]
            part.to_parquet(tmp / f"part-{k:05d}.parquet", write_covering_bbox=True, index=False)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
