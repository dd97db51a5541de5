"""Coordinate reference systems: parsing what users give, reprojecting to WGS 84, and
the test of whether coordinates can be on Earth at all."""

from __future__ import annotations

import logging
from collections.abc import Sequence

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


def equal_area_crs(bounds: Sequence[float]) -> pyproj.CRS:
    """A Lambert azimuthal equal-area CRS on WGS 84 centred on lon/lat ``bounds``.

    Areas measured in it are ellipsoidal areas (the projection is authalic), and with
    the centre on the data the shape distortion of edges stays negligible.
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not all(np.isfinite([minx, miny, maxx, maxy])):
        minx, miny, maxx, maxy = 0.0, 0.0, 0.0, 0.0
    lon0 = (minx + maxx) / 2.0
    lat0 = (miny + maxy) / 2.0
    if maxx - minx > 180:  # data on both sides of the antimeridian: centre on it
        lon0 = 180.0
    return pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +x_0=0 +y_0=0 "
        "+ellps=WGS84 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs"
    )


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
        raise missing_crs(table.source, table.geometry)
    return crs


def missing_crs(source: str, geoms, what: str = "the file") -> CRSError:
    """The error of a file (``what``) without a CRS, saying what its coordinates look
    like (a Gauss-Krüger zone names its CRSs)."""
    return CRSError(
        f"{source}: {what} declares no coordinate reference system; "
        f"give one with crs= ({_coordinate_hint(geoms)})"
    )


def _coordinate_hint(geoms) -> str:
    """What the coordinates of a file without a CRS look like, for its error."""
    geoms = np.asarray(geoms, dtype=object)
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]  # with coordinates
    if len(present):
        x, y = shapely.get_coordinates(present[:1])[0]
        zone = gauss_kruger_zone(x, y) or gauss_kruger_zone(y, x)
        if zone is not None:
            return _zone_hint(zone, y if gauss_kruger_zone(x, y) else x)
    return "for example EPSG:4326 or EPSG:32638"


def clamped_to_earth(geoms: np.ndarray, *, rings: bool = False, lon: float = 180.0):
    """Lon/lat geometries with the coordinates that lie beyond ±180° or ±90° by less
    than :func:`off_earth` tolerates moved onto those lines (latitude 90.000000001
    has no geodesic area, and projects to infinity).  Chosen by their bounds, or with
    ``rings`` by their rings' (a hole outside an invalid polygon's shell too); ``lon``
    ``inf`` leaves longitudes alone (polygons unwrapped across ±180°)."""
    low, high = (-lon, -90.0), (lon, 90.0)
    bounds = shapely.bounds(shapely.boundary(geoms) if rings else geoms)
    with np.errstate(invalid="ignore"):
        over = (bounds[:, :2] < low).any(axis=1) | (bounds[:, 2:] > high).any(axis=1)
    if not over.any():
        return geoms
    out = np.asarray(geoms, dtype=object).copy()
    out[over] = shapely.transform(out[over], lambda xy: np.clip(xy, low, high))
    return out


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
        zone = gauss_kruger_zone(a, b)
        if zone is not None:
            return _zone_hint(zone, b)
    if max(abs(x), abs(y)) > 1_000:
        return "they look like projected metres (UTM 38N is EPSG:32638): declare the CRS"
    return "is the CRS wrong?"


def gauss_kruger_zone(easting: float, northing: float) -> int | None:
    """The zone of a Gauss-Krüger easting written with its zone number in front
    (zone 8: 8 500 000 at the central meridian), or None (also for a coordinate
    that is not a finite number: one beyond the floating-point range reads as inf)."""
    if not (np.isfinite(easting) and np.isfinite(northing)):
        return None
    zone = int(easting // 1_000_000)
    inside = 100_000 <= easting - zone * 1_000_000 <= 900_000
    return zone if 4 <= zone <= 32 and inside and 3_000_000 <= northing <= 8_500_000 else None


def _zone_hint(zone: int, northing: float) -> str:
    """The CRSs that number a Gauss-Krüger zone this way (Pulkovo 1942 across the
    former Soviet Union; UCS-2000 in Ukraine, zones 4-7)."""
    pulkovo = f"EPSG:{28400 + zone}"
    if 4 <= zone <= 7 and 4_850_000 <= northing <= 5_850_000:
        return (
            f"they look like Gauss-Krüger zone {zone} (easting prefixed {zone}): try "
            f"EPSG:{5558 + zone} (UCS-2000, Ukraine) or {pulkovo} (Pulkovo 1942)"
        )
    return f"they look like Gauss-Krüger zone {zone} (easting prefixed {zone}): try {pulkovo}"


def on_earth(geoms: np.ndarray) -> np.ndarray:
    """True where a lon/lat geometry's coordinates are finite and within ±180°/±90°."""
    return finite_coordinates(geoms) & ~off_earth(geoms)


def finite_coordinates(geoms: np.ndarray) -> np.ndarray:
    """True where every coordinate of a (non-empty) geometry is a finite number.

    GEOS leaves a NaN out of a geometry's bounds (``POLYGON ((46 39, 47 39, 47 NaN,
    ...))`` has finite bounds), so the geometries whose area or length is not finite
    (a NaN, or finite values too large to add up) are looked at vertex by vertex."""
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.isfinite(shapely.bounds(geoms)).all(axis=1)
        measured = np.isfinite(shapely.area(geoms)) & np.isfinite(shapely.length(geoms))
    suspect = np.flatnonzero(out & ~measured)
    if len(suspect):
        xy, owner = shapely.get_coordinates(geoms[suspect], return_index=True)
        out[suspect[np.unique(owner[~np.isfinite(xy).all(axis=1)])]] = False
    return out


def named_crs(crs: pyproj.CRS) -> pyproj.CRS:
    """The CRS with a name a GIS shows ("Lambert Azimuthal Equal Area (WGS 84),
    centre 39.8°N 46.6°E") where it has none (a CRS made from PROJ parameters is
    "unknown"); other CRSs unchanged."""
    if crs.name and crs.name != "unknown":
        return crs
    data = crs.to_json_dict()
    base = data.get("source_crs", data)
    if base.get("name", "unknown") != "unknown":
        return crs
    params = {p["name"]: p["value"] for p in base.get("conversion", {}).get("parameters", [])}
    lat = params.get("Latitude of natural origin", 0.0)
    lon = params.get("Longitude of natural origin", 0.0)
    method = base.get("conversion", {}).get("method", {}).get("name", "Projection")
    ns, ew = "N" if lat >= 0 else "S", "E" if lon >= 0 else "W"
    name = f"{method} (WGS 84), centre {abs(lat):.2f}°{ns} {abs(lon):.2f}°{ew}"
    base["name"] = name
    if "conversion" in base:
        base["conversion"]["name"] = name
    return pyproj.CRS.from_json_dict(base)
