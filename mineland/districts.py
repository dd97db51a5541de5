"""District layers: name detection, repair and grouping (pure computation)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import schema
from .errors import CRSError, SchemaError
from .geometry import OverlayLog, polygonal, repair, union_all
from .records import WGS84, to_wgs84

__all__ = ["detect_name_field", "prepare_districts"]

log = logging.getLogger(__name__)


def detect_name_field(columns, *, source: str = "districts") -> str:
    """Pick the district name column: the first of the usual candidates that exists."""
    cols = [str(c) for c in columns if str(c) != "geometry"]
    folded = {c.casefold(): c for c in cols}
    for candidate in schema.DISTRICT_NAME_CANDIDATES:
        if candidate.casefold() in folded:
            return folded[candidate.casefold()]
    raise SchemaError(
        f"{source}: no district name field found among {', '.join(cols) or '(no fields)'}; "
        "name it with --name-field / name_field="
    )


def prepare_districts(
    frame: gpd.GeoDataFrame,
    *,
    name_field: str | None = None,
    source: str = "districts",
    crs: object | None = None,
) -> gpd.GeoDataFrame:
    """Normalise a polygon layer into one row per district, in EPSG:4326.

    Features that share a name become one district.  Invalid polygons are repaired
    with ``make_valid``; features without any polygon are left out with a warning.
    The result has the columns ``district``, ``features`` and ``geometry``; its
    ``attrs`` record the name field, the repairs and what was left out.
    """
    if frame.crs is None:
        if crs is None:
            raise CRSError(
                f"{source}: the district layer declares no coordinate reference system; "
                "give one with --crs / crs="
            )
        frame = frame.set_crs(crs, allow_override=True)
    if name_field is None:
        name_field = detect_name_field(frame.columns, source=source)
    elif name_field not in frame.columns:
        cols = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise SchemaError(f"{source}: no field {name_field!r}; fields are {cols}")
    n = len(frame)
    names = frame[name_field].map(schema.clean_text).to_numpy(dtype=object)
    rows = np.arange(1, n + 1)
    unnamed = pd.isna(names)
    if unnamed.any():
        for i in np.flatnonzero(unnamed):
            names[i] = f"(unnamed feature {rows[i]})"
        log.warning(
            "%s: %d features have no name; kept as '(unnamed feature N)'", source, unnamed.sum()
        )
    geoms = np.asarray(frame.geometry.array, dtype=object)
    dropped: list[str] = []
    usable = ~shapely.is_missing(geoms)
    usable[usable] = ~shapely.is_empty(geoms[usable])
    if usable.any():
        bounds = shapely.bounds(geoms[usable])
        usable[np.flatnonzero(usable)[~np.isfinite(bounds).all(axis=1)]] = False
    src_crs = pyproj.CRS.from_user_input(frame.crs)
    if usable.any():
        try:
            geoms[usable] = to_wgs84(geoms[usable], src_crs)
        except Exception as exc:
            raise CRSError(
                f"{source}: cannot transform from {src_crs.to_string()}: {exc}"
            ) from None
    placed = usable.copy()
    if usable.any():
        b = shapely.bounds(geoms[usable])
        on_earth = np.isfinite(b).all(axis=1) & (np.abs(b[:, [0, 2]]) <= 180.000001).all(axis=1)
        on_earth &= (np.abs(b[:, [1, 3]]) <= 90.000001).all(axis=1)
        placed[np.flatnonzero(usable)[~on_earth]] = False
    off_earth = usable & ~placed
    for i in np.flatnonzero(off_earth):
        dropped.append(
            f"row {rows[i]} ({names[i]}): coordinates cannot lie on Earth in "
            f"{src_crs.name}; is the CRS right?"
        )
        geoms[i] = None
    usable = placed
    fixed, invalid = repair(geoms)
    geoms = polygonal(fixed)
    has_area = ~shapely.is_missing(geoms)
    has_area[has_area] = ~shapely.is_empty(geoms[has_area]) & (shapely.area(geoms[has_area]) > 0)
    keep = usable & has_area
    for i in np.flatnonzero(~keep & ~off_earth):
        dropped.append(f"row {rows[i]} ({names[i]}): no polygon geometry")
    if dropped:
        log.warning("%s: %d features left out: %s", source, len(dropped), "; ".join(dropped[:5]))
    repaired = [str(names[i]) for i in np.flatnonzero(invalid & keep)]
    if repaired:
        log.warning(
            "%s: repaired %d invalid district polygons with make_valid: %s",
            source,
            len(repaired),
            ", ".join(repaired[:10]),
        )
    if not keep.any():
        why = f": {dropped[0]}" if dropped else ""
        raise SchemaError(f"{source}: the layer has no usable polygon features{why}")
    names_k, geoms_k = names[keep], geoms[keep]
    order: dict[str, list[int]] = {}
    for i, name in enumerate(names_k):
        order.setdefault(name, []).append(i)
    out_names, out_geoms, out_counts = [], [], []
    overlay_log = OverlayLog()
    for name, idx in order.items():
        geom = geoms_k[idx[0]] if len(idx) == 1 else union_all(geoms_k[idx], overlay_log, name)
        out_names.append(name)
        out_geoms.append(polygonal(np.array([geom], dtype=object))[0])
        out_counts.append(len(idx))
    result = gpd.GeoDataFrame(
        {"district": out_names, "features": out_counts}, geometry=out_geoms, crs=WGS84
    )
    result.attrs.update(
        {
            "source": source,
            "name_field": name_field,
            "repaired": repaired,
            "dropped": dropped,
            "mineland_districts": True,
        }
    )
    merged = [f"{n} ({c} features)" for n, c in zip(out_names, out_counts, strict=True) if c > 1]
    if merged:
        log.info("%s: features sharing a name merged: %s", source, ", ".join(merged))
    return result


def as_districts(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Accept the output of :func:`prepare_districts` as is, or prepare any polygon layer."""
    if districts.attrs.get("mineland_districts") and "district" in districts.columns:
        return districts
    if not isinstance(districts, gpd.GeoDataFrame):
        raise SchemaError("districts must be a GeoDataFrame")
    return prepare_districts(districts, source="districts")
