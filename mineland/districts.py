"""District layers: name detection, repair and grouping (pure computation)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import schema
from .crs import (
    WGS84,
    clamped_to_earth,
    finite_coordinates,
    missing_crs,
    off_earth,
    to_wgs84,
)
from .errors import CRSError, SchemaError
from .geometry import OverlayLog, connected, polygonal, repair, union_all
from .regions import cut_at_antimeridian, unwrap_antimeridian
from .tables import lists_as_text

__all__ = ["detect_name_field", "meeting_box", "prepare_districts"]

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
        "name it with name_field="
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
    frame = _with_crs(frame, crs, source)
    if name_field is None:
        name_field = detect_name_field(frame.columns, source=source)
    elif name_field not in frame.columns:
        cols = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise SchemaError(f"{source}: no field {name_field!r}; fields are {cols}")
    names = _names(lists_as_text(frame[name_field]), source)
    geoms, placed, off, dropped = _on_earth(frame, names, source)
    whole, crossing = unwrap_antimeridian(geoms)  # judged and repaired whole, then cut
    fixed, invalid = repair(whole)
    geoms = polygonal(fixed)
    geoms[crossing] = cut_at_antimeridian(geoms[crossing], OverlayLog())
    has_area = ~shapely.is_missing(geoms)
    has_area[has_area] = ~shapely.is_empty(geoms[has_area]) & (shapely.area(geoms[has_area]) > 0)
    keep = placed & has_area
    dropped += [
        f"row {i + 1} ({names[i]}): no polygon geometry" for i in np.flatnonzero(~keep & ~off)
    ]
    repaired = [str(names[i]) for i in np.flatnonzero(invalid & keep)]
    _say_left_out_and_repaired(source, dropped, repaired)
    if not keep.any():
        why = f": {dropped[0]}" if dropped else ""
        raise SchemaError(f"{source}: the layer has no usable polygon features{why}")
    result = _merge_same_names(names[keep], geoms[keep], source)
    result.attrs.update(
        {
            "source": source,
            "name_field": name_field,
            "repaired": repaired,
            "dropped": dropped,
            "mineland_districts": True,
        }
    )
    return result


def _with_crs(frame: gpd.GeoDataFrame, crs, source: str) -> gpd.GeoDataFrame:
    if frame.crs is not None:
        return frame
    if crs is None:
        raise missing_crs(source, frame.geometry.array, "the district layer")
    return frame.set_crs(crs, allow_override=True)


def _names(values: pd.Series, source: str) -> np.ndarray:
    """District names as clean text; a feature without one is '(unnamed feature N)'."""
    names = values.map(schema.clean_text).to_numpy(dtype=object, copy=True)  # written below
    unnamed = pd.isna(names)
    if unnamed.any():
        for i in np.flatnonzero(unnamed):
            names[i] = f"(unnamed feature {i + 1})"
        log.warning(
            "%s: %d features have no name; kept as '(unnamed feature N)'", source, unnamed.sum()
        )
    return names


def _on_earth(frame: gpd.GeoDataFrame, names, source: str):
    """The geometries in WGS 84, which of them lie on Earth, which were left out for
    their coordinates (not finite numbers, or not on Earth in the layer's CRS), and
    why."""
    geoms = np.asarray(frame.geometry.array, dtype=object).copy()
    present = ~shapely.is_missing(geoms)
    present[present] = ~shapely.is_empty(geoms[present])
    usable = present.copy()
    usable[present] = finite_coordinates(geoms[present])
    src_crs = pyproj.CRS.from_user_input(frame.crs)
    if usable.any():
        try:
            geoms[usable] = to_wgs84(geoms[usable], src_crs)
        except Exception as exc:
            raise CRSError(
                f"{source}: cannot transform from {src_crs.to_string()}: {exc}"
            ) from None
    placed = usable.copy()
    rings = shapely.boundary(geoms[usable])  # holes outside the shell too
    placed[usable] = finite_coordinates(geoms[usable]) & ~off_earth(rings)
    geoms[placed] = clamped_to_earth(geoms[placed], rings=True)
    off = present & ~placed
    dropped = [
        f"row {i + 1} ({names[i]}): "
        + (
            "coordinates that are not finite numbers (NaN or infinite)"
            if not usable[i]
            else f"coordinates cannot lie on Earth in {src_crs.name}; is the CRS right?"
        )
        for i in np.flatnonzero(off)
    ]
    geoms[off] = None
    return geoms, placed, off, dropped


def _say_left_out_and_repaired(source: str, dropped: list[str], repaired: list[str]) -> None:
    if dropped:
        log.warning("%s: %d features left out: %s", source, len(dropped), "; ".join(dropped[:5]))
    if repaired:
        log.warning(
            "%s: repaired %d invalid district polygons with make_valid: %s",
            source,
            len(repaired),
            ", ".join(repaired[:10]),
        )


def _merge_same_names(names: np.ndarray, geoms: np.ndarray, source: str) -> gpd.GeoDataFrame:
    """One row per name: features sharing a name are unioned into one district."""
    order: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        order.setdefault(name, []).append(i)
    out_names, out_geoms, out_counts = [], [], []
    overlay_log = OverlayLog()
    for name, idx in order.items():
        geom = geoms[idx[0]] if len(idx) == 1 else union_all(geoms[idx], overlay_log, name)
        out_names.append(name)
        out_geoms.append(polygonal(np.array([geom], dtype=object))[0])
        out_counts.append(len(idx))
    merged = [f"{n} ({c} features)" for n, c in zip(out_names, out_counts, strict=True) if c > 1]
    if merged:
        log.info("%s: features sharing a name merged: %s", source, ", ".join(merged))
    apart = [
        f"{len(idx)} features named {name!r} do not all touch one another and were merged "
        "into one district; if they are different places, give a name field that tells "
        "them apart (--name-field)"
        for name, idx in order.items()
        if len(idx) > 1 and len(np.unique(connected(geoms[idx]))) > 1
    ]
    for text in apart:
        log.warning("%s: %s", source, text)
    result = gpd.GeoDataFrame(
        {"district": out_names, "features": out_counts}, geometry=out_geoms, crs=WGS84
    )
    result.attrs["merged_apart"] = apart
    return result


def as_districts(districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Accept the output of :func:`prepare_districts` as is, or prepare any polygon layer."""
    if districts.attrs.get("mineland_districts") and "district" in districts.columns:
        return districts
    if not isinstance(districts, gpd.GeoDataFrame):
        raise SchemaError("districts must be a GeoDataFrame")
    return prepare_districts(districts, source="districts")


def meeting_box(districts: gpd.GeoDataFrame, bbox, records=()) -> tuple[np.ndarray, np.ndarray]:
    """Which districts meet a lon/lat box ``(W, S, E, N)`` or any of ``records`` (the
    geometries read through it: one may reach beyond it), and which of those are not
    wholly inside the box."""
    geoms = np.asarray(districts.geometry.array, dtype=object)
    box = shapely.box(*bbox)
    meets = shapely.intersects(geoms, box)
    records = np.asarray(records, dtype=object)
    records = records[~shapely.is_missing(records)]
    if len(records):
        meets[shapely.STRtree(geoms).query(records, predicate="intersects")[1]] = True
    return meets, meets & ~shapely.covered_by(geoms, box)
