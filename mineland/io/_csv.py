"""Reading delimited text: points from lon/lat or x/y columns, or geometries from WKT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

from ..csvtext import decode_csv, parse_csv, sniff_delimiter
from ..errors import InputFileError, SchemaError
from ..records import RawTable, parse_crs
from ._gdal import CURVED, linearise_curves
from ._parse import parse_geometries

_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom", "geometry_wkt")


_XY_COLUMNS = (
    ("lon", "lat"),
    ("longitude", "latitude"),
    ("long", "lat"),
    ("lng", "lat"),
    ("x", "y"),
    ("easting", "northing"),
)


_GEOGRAPHIC_XY = {("lon", "lat"), ("longitude", "latitude"), ("long", "lat"), ("lng", "lat")}


def read_csv(path: Path, crs: object | None) -> RawTable:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty")
    text = decode_csv(raw, str(path))
    if "\x00" in text[:4096]:
        raise InputFileError(f"{path}: not a text CSV file (binary content)")
    frame, problems = parse_csv(text, sniff_delimiter(text))
    if frame.shape[1] == 0:
        raise InputFileError(f"{path}: not a readable CSV file (no header)")
    frame.columns = [str(c).strip() for c in frame.columns]
    folded = {c.casefold(): c for c in frame.columns}
    n = len(frame)
    errors = np.full(n, None, dtype=object)
    fixes = np.full(n, None, dtype=object)
    crs_assumed = False
    wkt_col = next((folded[c] for c in _WKT_COLUMNS if c in folded), None)
    xy = next(((folded[a], folded[b]) for a, b in _XY_COLUMNS if a in folded and b in folded), None)
    if wkt_col is not None:
        text_geoms = frame[wkt_col].astype(object).where(frame[wkt_col].notna(), None)
        text_geoms = text_geoms.to_numpy(dtype=object)
        # GEOS cannot parse curves (shapely raises even with on_invalid="ignore")
        curved = np.array([isinstance(t, str) and bool(CURVED.match(t)) for t in text_geoms])
        geoms, errors, fixes = parse_geometries(
            text_geoms, shapely.from_wkt, skip=curved, show_value=True
        )
        linearise_curves(geoms, text_geoms, fixes)
        for i in np.flatnonzero(curved & shapely.is_missing(geoms)):
            errors[i] = f"curved geometry that cannot be read: {str(text_geoms[i])[:60]!r}"
        geoms = shapely.force_2d(geoms)
        attrs = frame.drop(columns=[wkt_col])
    elif xy is not None:
        xs = _numbers(frame[xy[0]])
        ys = _numbers(frame[xy[1]])
        geoms = np.full(n, None, dtype=object)
        ok = np.isfinite(xs) & np.isfinite(ys)
        geoms[ok] = shapely.points(xs[ok], ys[ok])
        blank = frame[xy[0]].isna().to_numpy() & frame[xy[1]].isna().to_numpy()
        for i in np.flatnonzero(~ok & ~blank):
            errors[i] = (
                f"coordinates {xy[0]}={frame[xy[0]].iloc[i]!r}, {xy[1]}={frame[xy[1]].iloc[i]!r} "
                "are not numbers"
            )
        attrs = frame.drop(columns=list(xy))
        if crs is None and (xy[0].casefold(), xy[1].casefold()) in _GEOGRAPHIC_XY:
            crs_assumed = True
    else:
        raise SchemaError(
            f"{path}: a CSV needs lon/lat (or longitude/latitude, x/y) columns or a WKT "
            f"column; columns are {', '.join(frame.columns)}"
        )
    table_crs = pyproj.CRS.from_epsg(4326) if crs_assumed else None
    if "source_crs" in attrs.columns and wkt_col is not None:
        # a rejected-rows file written by mineland says which CRS its WKT is in
        named = attrs["source_crs"].dropna().unique()
        if len(named) == 1:
            table_crs = parse_crs(str(named[0]))
            crs_assumed = False
        attrs = attrs.drop(columns="source_crs")
    table = RawTable(str(path), None, attrs, geoms, table_crs, errors, fixes, crs_assumed)
    table.row_errors = np.asarray(problems, dtype=object)
    return table


def _numbers(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
