"""GeoParquet: reading parts (skipping those outside a bbox) and writing a partitioned dataset."""

from __future__ import annotations

import json
import logging
import os
import shutil
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
from .write import check_output_path, partial_path

log = logging.getLogger(__name__)

#: rows per row group of the datasets written here: the unit a reader with a bbox
#: skips, and the partition a dask worker reads
ROW_GROUP_ROWS = 20_000


def dataset_parts(path: Path) -> list[Path] | None:
    """The files of a GeoParquet input in the order they are read: the file itself, or
    a flat folder's ``*.parquet`` files sorted by name (files starting with ``.`` or
    ``_`` are not data).  None for a folder with subfolders (a partitioned layout
    that pyarrow reads itself) and for what is not there."""
    if path.is_file():
        return [path]
    if not path.is_dir() or any(p.is_dir() for p in path.iterdir()):
        return None
    return sorted(
        p
        for p in path.iterdir()
        if p.suffix.lower() in (".parquet", ".geoparquet") and p.name[0] not in "._"
    )


def row_group_sizes(part: Path) -> np.ndarray:
    """The number of rows of each row group of one GeoParquet file."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(part).metadata
    return np.array([meta.row_group(i).num_rows for i in range(meta.num_row_groups)])


def read_parquet(path: Path, bbox=None) -> RawTable:
    """A GeoParquet file or dataset as one table.  A flat dataset is read part by part
    in the order of :func:`dataset_parts`, so that, without ``bbox``, row ``i`` of the
    table is row ``i`` of the parts laid end to end."""
    frames = [_read_frame(p, bbox) for p in dataset_parts(path) or [path]]
    frame = frames[0] if len(frames) == 1 else _concat_frames(frames, path)
    crs = None if frame.crs is None else pyproj.CRS.from_user_input(frame.crs)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
    return RawTable(str(path), None, attrs, shapely.force_2d(geoms), crs)


def _read_frame(path: Path, bbox) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path, bbox=bbox)
    except Exception as exc:  # pyarrow raises many types
        raise InputFileError(
            f"{path}: not a readable GeoParquet file ({first_line(exc)})"
        ) from None


def _concat_frames(frames: list[gpd.GeoDataFrame], path: Path) -> gpd.GeoDataFrame:
    if len({None if f.crs is None else f.crs.to_wkt() for f in frames}) > 1:
        raise InputFileError(f"{path}: its parts have different CRSs; convert them to one")
    names = {f.geometry.name for f in frames}
    frames = [f.rename_geometry("geometry") if len(names) > 1 else f for f in frames]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def _geo_column(part: Path) -> tuple[str, dict, pyproj.CRS] | None:
    """The primary geometry column of a GeoParquet file: its name, its ``geo``
    metadata and its CRS (None when the file has no readable ``geo`` metadata)."""
    import pyarrow.parquet as pq

    try:
        meta = json.loads(pq.read_schema(part).metadata[b"geo"])
        name = meta["primary_column"]
        column = meta["columns"][name]
        return name, column, pyproj.CRS.from_user_input(column.get("crs") or "OGC:CRS84")
    except (KeyError, TypeError, ValueError, OSError, pyproj.exceptions.CRSError):
        return None


def wkb_column(part: Path) -> tuple[str, pyproj.CRS] | None:
    """The primary geometry column of a GeoParquet file and its CRS, when it is stored
    as WKB (None otherwise: no ``geo`` metadata, or a GeoArrow encoding)."""
    found = _geo_column(part)
    if found is None or str(found[1].get("encoding", "WKB")).upper() != "WKB":
        return None
    return found[0], found[2]


def read_part_geometries(part: Path, row_group: int) -> tuple[np.ndarray, pyproj.CRS]:
    """The geometries (2D) of one row group of one GeoParquet file stored as WKB, and
    its CRS: what a dask worker reads of its own partition."""
    import pyarrow.parquet as pq

    found = wkb_column(part)
    if found is None:
        raise InputFileError(f"{part}: no WKB geometry column to read")
    name, crs = found
    column = pq.ParquetFile(part).read_row_group(row_group, columns=[name]).column(name)
    geoms = shapely.from_wkb(column.to_numpy(zero_copy_only=False))
    return shapely.force_2d(geoms), crs


def bbox_in(bbox, crs: pyproj.CRS | None):
    """A lon/lat bounding box in another CRS (None when there is no box)."""
    if bbox is None:
        return None
    if crs is None or crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return tuple(bbox)
    t = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    return tuple(t.transform_bounds(*bbox, densify_pts=21))


def parquet_crs(path: Path) -> pyproj.CRS | None:
    part = path if path.is_file() else next(iter(sorted(path.glob("*.parquet"))), None)
    found = None if part is None else _geo_column(part)
    return None if found is None else found[2]


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
    for name in ("geometry_errors", "parse_fixes", "row_errors", "unreadable_cells"):
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
    tmp = partial_path(out)
    tmp.mkdir()
    try:
        for k in range(n_parts):
            part = records.iloc[k * rows_per_part : (k + 1) * rows_per_part]
            part.to_parquet(
                tmp / f"part-{k:05d}.parquet",
                write_covering_bbox=True,
                index=False,
                row_group_size=ROW_GROUP_ROWS,
            )
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
