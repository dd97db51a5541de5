"""Geometry from the columns of a table: WKT, lon/lat or x/y pairs, MGRS references,
ODK/KoboToolbox geopoints and geoshapes.  Shared by CSV, Excel and database tables
that hold no geometry column of their own."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyproj
import shapely

from ..degrees import degrees
from ..errors import SchemaError
from ..gridref import mgrs_problem, mgrs_to_lonlat, normalize_mgrs
from ..records import RawTable, parse_crs
from ..schema import (
    GEOGRAPHIC_XY,
    GEOMETRY_KEYS,
    MGRS_COLUMNS,
    WKT_COLUMNS,
    XY_COLUMNS,
    closest_names,
)
from ._gdal import CURVED, linearise_curves
from ._parse import parse_geometries

__all__ = ["geometry_columns", "table_from_frame"]

Parsed = tuple[np.ndarray, np.ndarray, np.ndarray]  # geometries, errors, fixes


def table_from_frame(
    frame: pd.DataFrame,
    source: str,
    layer: str | None,
    crs: object | None,
    geometry_columns: Mapping[str, str] | None = None,
) -> RawTable:
    """A raw table whose geometry comes from columns of ``frame``.

    ``geometry_columns`` (the geometry keys of a field map: ``wkt``, ``lon`` and
    ``lat``, ``mgrs``, ``geopoint``, ``geoshape``) names them; otherwise the usual
    names are recognised.  Lon/lat and MGRS are WGS 84 unless ``crs`` says otherwise.
    """
    frame = frame.rename(columns=lambda c: str(c).strip())
    cols = _choose_columns(frame, source, geometry_columns or {})
    geoms, errors, fixes = _parse_columns(frame, cols)
    geographic = "mgrs" in cols or "geopoint" in cols or "geoshape" in cols
    if "lon" in cols:
        geographic = geographic or cols.get("kind") == "geographic"
    assumed = crs is None and geographic
    used = [c for k, c in cols.items() if k != "kind"]
    attrs = frame.drop(columns=used)
    table_crs = pyproj.CRS.from_epsg(4326) if assumed else None
    if "source_crs" in attrs.columns and "wkt" in cols:
        # a rejected-rows file written by mineland says which CRS its WKT is in
        named = attrs["source_crs"].dropna().unique()
        if len(named) == 1:
            table_crs, assumed = parse_crs(str(named[0])), False
        attrs = attrs.drop(columns="source_crs")
    return RawTable(source, layer, attrs, geoms, table_crs, errors, fixes, assumed)


def _choose_columns(frame: pd.DataFrame, source: str, named: Mapping[str, str]) -> dict:
    """The columns that hold the geometry: named in the field map, else recognised."""
    folded = {c.casefold(): c for c in frame.columns}
    if named:
        cols = {}
        for key, want in named.items():
            col = folded.get(str(want).strip().casefold())
            if col is None:
                close = closest_names(str(want), frame.columns)
                hint = f"; closest: {', '.join(map(repr, close))}" if close else ""
                raise SchemaError(
                    f"{source}: the field map names column {want!r} (for {key}), "
                    f"which the table does not have{hint}"
                )
            cols[key] = col
        if ("lon" in cols) != ("lat" in cols):
            raise SchemaError(f"{source}: the field map must name both lon and lat columns")
        cols["kind"] = "geographic" if "lon" in cols else None
        return cols
    return _recognised_columns(frame, folded, source)


def _recognised_columns(frame: pd.DataFrame, folded: dict, source: str) -> dict:
    wkt = next((folded[c] for c in WKT_COLUMNS if c in folded), None)
    cols: dict = {}
    pair = next(((a, b) for a, b in XY_COLUMNS if a in folded and b in folded), None)
    if wkt is not None:
        # an export that writes areas as WKT and points as coordinates: a row's lon/lat
        # (x/y) stand where its WKT cell is blank, in the same CRS (WKT names none, so
        # the file's CRS is still asked for: the pair does not make it lon/lat)
        xy = {"lon": folded[pair[0]], "lat": folded[pair[1]], "kind": None} if pair else {}
        return {"wkt": wkt, **xy}
    if pair is not None:
        cols = {"lon": folded[pair[0]], "lat": folded[pair[1]]}
        cols["kind"] = "geographic" if pair in GEOGRAPHIC_XY else "projected"
    else:
        suffixed = _suffixed_pair(frame.columns)
        if suffixed is not None:
            cols = {"lon": suffixed[0], "lat": suffixed[1], "kind": "geographic"}
    shape = _odk_shape_column(frame)
    if shape is not None:
        cols["geoshape"] = shape  # a form's drawn area; its point where none was drawn
    mgrs = next((folded[c] for c in MGRS_COLUMNS if c in folded), None)
    if mgrs is None and not cols:
        mgrs = _mgrs_column_by_values(frame)
    if mgrs is not None and cols.get("kind") != "projected":
        cols["mgrs"] = mgrs  # the points, or where lon/lat are blank, their fallback
    if not cols:
        raise SchemaError(
            f"{source}: needs lon/lat (or longitude/latitude, x/y) columns, an MGRS "
            f"column or a WKT column; columns are {', '.join(map(str, frame.columns))}. "
            'Name them in a field map, e.g. lon = "Longitude (WGS84)", lat = "Latitude (WGS84)"'
        )
    return cols


def _mgrs_column_by_values(frame: pd.DataFrame) -> str | None:
    """A text column whose values are MGRS references, whatever its name ("Grid",
    "Location (MGRS)"): at least four in five of its first 50 values."""
    for col in frame.columns:
        values = frame[col].dropna().head(50)
        if len(values) and values.map(lambda v: isinstance(v, str)).all():
            refs = values.map(normalize_mgrs)
            ok = refs.map(lambda r: r is not None and mgrs_problem(r) is None and len(r) > 5)
            if ok.mean() >= 0.8:
                return col
    return None


def _suffixed_pair(columns) -> tuple[str, str] | None:
    """``<name>_longitude`` / ``<name>_latitude`` (as KoboToolbox splits a geopoint,
    ``group/_location_latitude`` in an export with group names)."""
    for col in map(str, columns):
        low = col.casefold()
        if low.endswith("latitude") and low != "latitude":
            stem = col[: -len("latitude")]
            partner = next(
                (c for c in map(str, columns) if c.casefold() == (stem + "longitude").casefold()),
                None,
            )
            if partner is not None:
                return partner, col
    return None


def _parse_columns(frame: pd.DataFrame, cols: dict) -> Parsed:
    """Each row's geometry from the first of its columns that holds one (a form's
    area where it was drawn, else its point, else its MGRS reference)."""
    n = len(frame)
    geoms = np.full(n, None, dtype=object)
    errors = np.full(n, None, dtype=object)
    fixes = np.full(n, None, dtype=object)
    for key in ("wkt", "geoshape", "geopoint", "lon", "mgrs"):
        if key not in cols:
            continue
        todo = shapely.is_missing(geoms)
        if key == "lon":
            degrees_too = cols.get("kind") != "projected"
            g, e, blank = _from_xy(frame[cols["lon"]], frame[cols["lat"]], degrees_too)
            f = np.full(n, None, dtype=object)
        else:
            blank = frame[cols[key]].isna().to_numpy()
            g, e, f = _READERS[key](frame[cols[key]])
        take = todo & ~blank
        geoms[take], fixes[take] = g[take], f[take]
        errors[take] = e[take]
    return geoms, errors, fixes


def _from_mgrs(column: pd.Series) -> Parsed:
    lon, lat, why = mgrs_to_lonlat(column.to_numpy(dtype=object))
    geoms = np.full(len(column), None, dtype=object)
    ok = np.isfinite(lon)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    return geoms, why, np.full(len(column), None, dtype=object)


def _from_wkt(column: pd.Series) -> Parsed:
    text = column.astype(object).where(column.notna(), None).to_numpy(dtype=object)
    # GEOS cannot parse curves (shapely raises even with on_invalid="ignore")
    curved = np.array([isinstance(t, str) and bool(CURVED.match(t)) for t in text], dtype=bool)
    geoms, errors, fixes = parse_geometries(text, shapely.from_wkt, skip=curved, show_value=True)
    linearise_curves(geoms, text, fixes)
    for i in np.flatnonzero(curved & shapely.is_missing(geoms)):
        errors[i] = f"curved geometry that cannot be read: {str(text[i])[:60]!r}"
    return shapely.force_2d(geoms), errors, fixes


def _from_xy(
    xcol: pd.Series, ycol: pd.Series, degrees_too: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points, the reason per unreadable pair, and which rows have no point; with
    ``degrees_too``, values that are no numbers may be degrees, minutes and seconds
    or have a hemisphere (:mod:`mineland.degrees`)."""
    xs, ys = _numbers(xcol), _numbers(ycol)
    if degrees_too:
        for values, col, axis in ((xs, xcol, "lon"), (ys, ycol, "lat")):
            todo = np.flatnonzero(np.isnan(values) & col.notna().to_numpy())
            if len(todo):
                values[todo] = degrees(col.iloc[todo], axis)
    n = len(xs)
    geoms = np.full(n, None, dtype=object)
    errors = np.full(n, None, dtype=object)
    ok = np.isfinite(xs) & np.isfinite(ys)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    blank = xcol.isna().to_numpy() & ycol.isna().to_numpy()
    for i in np.flatnonzero(~ok & ~blank):
        x, y = xcol.iloc[i], ycol.iloc[i]
        if pd.isna(x) or pd.isna(y):
            errors[i] = f"{xcol.name if pd.isna(x) else ycol.name} is blank (only one coordinate)"
        else:
            errors[i] = f"coordinates {xcol.name}={x!r}, {ycol.name}={y!r} are not numbers"
            if degrees_too:
                errors[i] += " nor degrees of their axis (46.7528, 46°45'10\"E, N39°30.25')"
    return geoms, errors, blank


def _numbers(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _from_odk(column: pd.Series, *, shape: bool) -> Parsed:
    """ODK geopoints (``lat lon alt accuracy``) or geoshapes (such points joined by
    ``;``, closed), as KoboToolbox and ODK Central export them."""
    n = len(column)
    geoms = np.full(n, None, dtype=object)
    errors = np.full(n, None, dtype=object)
    codes, uniques = pd.factorize(column.astype("string").str.strip())
    parsed = [_odk_geometry(str(u), shape) for u in uniques]
    for i in np.flatnonzero(codes >= 0):
        geoms[i], errors[i] = parsed[codes[i]]
    return geoms, errors, np.full(n, None, dtype=object)


def _odk_geometry(text: str, shape: bool):
    kind = "geoshape" if shape else "geopoint"
    try:
        points = [
            [float(v) for v in part.split()[:2]][::-1] for part in text.split(";") if part.strip()
        ]
        if any(len(p) != 2 for p in points) or not points:
            raise ValueError
        if not shape:
            return (
                (shapely.Point(points[0]), None)
                if len(points) == 1
                else (None, f"{kind} {text[:60]!r} holds several points")
            )
        if points[0] != points[-1]:
            points.append(points[0])
        if len(points) < 4:
            return None, f"{kind} {text[:60]!r} has fewer than three corners"
        return shapely.Polygon(points), None
    except (ValueError, TypeError):
        return None, f"unreadable {kind} {text[:60]!r} (expected 'lat lon alt accuracy' points)"


_READERS = {
    "wkt": _from_wkt,
    "geoshape": lambda c: _from_odk(c, shape=True),
    "geopoint": lambda c: _from_odk(c, shape=False),
    "mgrs": _from_mgrs,
}

_ODK_SHAPE = re.compile(
    r"^\s*-?\d+(\.\d+)?\s+-?\d+(\.\d+)?(\s+-?[\d.]+){0,2}\s*(;\s*-?\d+(\.\d+)?\s+-?\d+(\.\d+)?(\s+-?[\d.]+){0,2}\s*)+;?\s*$"
)


def _odk_shape_column(frame: pd.DataFrame) -> str | None:
    """A text column of ODK geoshapes (``lat lon alt acc;...``), found by its values."""
    for col in frame.columns:
        values = frame[col].dropna()
        texts = len(values) and values.map(lambda v: isinstance(v, str)).all()
        if texts and values.head(20).map(lambda v: bool(_ODK_SHAPE.match(v))).all():
            return col
    return None


def geometry_columns(field_map: Mapping[str, object] | None) -> dict[str, str]:
    """The geometry keys of a field map (what the reader, not the renaming, uses)."""
    if not field_map:
        return {}
    return {k: str(v) for k, v in field_map.items() if k in GEOMETRY_KEYS}
