"""Coordinate reference systems: parsing what users give, reprojecting to WGS 84, and
the test of whether coordinates can be on Earth at all."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from .errors import CRSError
from .tables import RawTable

log = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)


def to_wgs84(geoms: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """Reproject an array of geometries to EPSG:4326 (lon/lat order)."""
    if crs == WGS84 or crs.equals(WGS84, ignore_axis_order=True):
        return geoms
    return np.asarray(gpd.GeoSeries(geoms, crs=crs).to_crs(WGS84).array, dtype=object)


def coord_summary(geom) -> str:
    try:
        x, y = shapely.get_coordinates(geom)[0]
        return f"({x:.6g}, {y:.6g})"
    except (IndexError, TypeError, ValueError):
        return "(?)"


def parse_crs(crs: object | None) -> pyproj.CRS | None:
    """A user-given CRS (EPSG code, "EPSG:n", WKT, PROJ string or pyproj CRS), checked."""
    if crs is None or isinstance(crs, pyproj.CRS):
        return crs
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSError(
            f"unknown CRS {str(crs)[:80]!r}; give e.g. EPSG:4326 or EPSG:32638"
        ) from None


def resolve_crs(table: RawTable, crs: object | None) -> pyproj.CRS:
    crs = parse_crs(crs)
    if table.crs is not None:
        if crs is not None and not table.crs.equals(crs):
            log.info(
                "%s: file declares %s; the given CRS %s is only used for files without one",
                table.source,
                table.crs.to_string(),
                crs,
            )
        return table.crs
    if crs is None:
        raise CRSError(
            f"{table.source}: the file declares no coordinate reference system; "
            "give one with crs= (for example EPSG:4326 or EPSG:32638)"
        )
    return crs


def off_earth(geoms: np.ndarray) -> np.ndarray:
    """True where a geometry's bounds reach beyond ±180° longitude or ±90° latitude
    (with a micro-degree of tolerance); non-finite bounds are not off Earth here."""
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        return (
            (bounds[:, 0] < -180.000001)
            | (bounds[:, 2] > 180.000001)
            | (bounds[:, 1] < -90.000001)
            | (bounds[:, 3] > 90.000001)
        )


def crs_text(crs: pyproj.CRS | None) -> str | None:
    """A CRS as short text that reads back (EPSG:n where there is a code)."""
    if crs is None:
        return None
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_wkt()


def crs_hint(geom) -> str:
    """What projected coordinates in a lon/lat file probably are."""
    try:
        x, y = shapely.get_coordinates(geom)[0]
    except (IndexError, TypeError):
        return "is the CRS wrong?"
    for a, b in ((x, y), (y, x)):
        if 8_000_000 <= a < 9_000_000 and 3_500_000 <= b < 5_000_000:
            return "they look like Gauss-Krüger zone 8 (easting prefixed 8): try EPSG:28408"
    if max(abs(x), abs(y)) > 1_000:
        return "they look like projected metres (UTM 38N is EPSG:32638): declare the CRS"
    return "is the CRS wrong?"


def on_earth(geoms: np.ndarray) -> np.ndarray:
    """True where a lon/lat geometry's coordinates are finite and within ±180°/±90°."""
    bounds = shapely.bounds(geoms)
    return np.isfinite(bounds).all(axis=1) & ~off_earth(geoms)
