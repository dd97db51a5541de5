"""Reading and writing rasters (rasterio, imported on first use)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyproj

from ..csvtext import decode_csv, read_csv_text
from ..errors import CRSError, InputFileError, SchemaError
from ..rasterdata import RasterData
from ._parse import first_line
from .write import RASTER_FORMATS, atomic, check_output_path


def read_raster(path: str | os.PathLike, *, band: int = 1) -> RasterData:
    """Read one band of a raster (GeoTIFF or anything GDAL reads) into memory.

    Examples
    --------
    >>> landcover = read_raster("worldcover.tif")  # doctest: +SKIP
    >>> landcover_impact(districts, surveys, landcover)  # doctest: +SKIP
    """
    import rasterio

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise CRSError(f"{path}: the raster declares no coordinate reference system")
            array = src.read(band)
            crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
            return RasterData(array, src.transform, crs, src.nodata, str(path))
    except rasterio.errors.RasterioError as exc:
        raise InputFileError(f"{path}: not a readable raster ({first_line(exc)})") from None


def write_raster(
    array: np.ndarray,
    profile: dict,
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    tags: Mapping[str, str] | None = None,
    overviews: Sequence[int] = (2, 4, 8, 16),
) -> Path:
    """Write a single-band GeoTIFF with overviews (average resampling)."""
    height, width = array.shape
    blocks = [((0, 0, height, width), array)]
    return write_raster_windows(
        blocks, profile, path, inputs=inputs, tags=tags, overviews=overviews
    )


def write_raster_windows(
    blocks: Iterable[tuple[tuple[int, int, int, int], np.ndarray]],
    profile: dict,
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    tags: Mapping[str, str] | None = None,
    overviews: Sequence[int] = (2, 4, 8, 16),
) -> Path:
    """Write a single-band GeoTIFF window by window: ``blocks`` yields ((row offset,
    column offset, rows, columns), array), each written as it comes, so that only
    one window is in memory.  Overviews (average resampling) are built by GDAL from
    the written file, block by block."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    out = check_output_path(path, inputs, RASTER_FORMATS)
    # GDAL's block cache defaults to 5% of the machine's memory; building overviews
    # fills it with the whole band, so it is capped (MB)
    with (
        rasterio.Env(GDAL_CACHEMAX=64),
        atomic(out) as tmp,
        rasterio.open(tmp, "w", **profile) as dst,
    ):
        for (row, col, rows, cols), array in blocks:
            dst.write(array, 1, window=Window(col, row, cols, rows))
        usable = [f for f in overviews if min(profile["height"], profile["width"]) // f >= 1]
        if usable:
            dst.build_overviews(usable, Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
        if tags:
            dst.update_tags(**{k: str(v) for k, v in tags.items()})
    return out


def load_class_table(path: str | os.PathLike) -> dict[int, str]:
    """Land-cover class names from a CSV (``value,name``) or TOML (``10 = "Trees"``) file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: class table not found")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{path}: not a valid class table: {first_line(exc)}") from None
        rows = list(data.get("classes", data).items())
    else:
        rows = _csv_classes(path)
    out: dict[int, str] = {}
    for k, v in rows:
        try:
            value = int(str(k).strip())
        except ValueError:
            raise SchemaError(f"{path}: class value {k!r} is not a whole number") from None
        if value in out and out[value] != str(v).strip():
            raise SchemaError(f"{path}: class value {value} is named twice: {out[value]!r}, {v!r}")
        out[value] = str(v).strip()
    return out


def _csv_classes(path: Path) -> list[tuple[object, object]]:
    """The (value, name) rows of a CSV class table, read as survey CSVs are (any
    encoding or delimiter); a row that does not fit the header is an error."""
    text = decode_csv(path.read_bytes(), str(path))
    frame, problems = read_csv_text(text)
    if frame.shape[1] < 2:
        raise SchemaError(f"{path}: a class table needs two columns: value, name")
    for k, problem in enumerate(problems):
        if problem:
            raise SchemaError(f"{path}: row {k + 1} after the header: {problem}")
    return list(zip(frame.iloc[:, 0], frame.iloc[:, 1].fillna(""), strict=True))
