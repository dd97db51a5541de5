"""Helpers over GeoDataFrames that more than one output needs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import schema
from .crs import WGS84
from .labels import STATUS_STYLE

__all__ = ["hazards_with_status", "split_by_geometry"]


def hazards_with_status(records: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The SHA/CHA records whose ``status`` is one the IMAS outline draws (open,
    worked on, closed); none when the records have no status."""
    if "status" not in records.columns:
        return records.iloc[0:0]
    keep = records["record_type"].isin(schema.HAZARD_TYPES) & records["status"].isin(STATUS_STYLE)
    return records[keep]


_GEOMETRY_KINDS = {
    "Point": "points",
    "MultiPoint": "points",
    "LineString": "lines",
    "MultiLineString": "lines",
    "Polygon": "polygons",
    "MultiPolygon": "polygons",
}


def split_by_geometry(frame: gpd.GeoDataFrame, prefix: str) -> dict[str, pd.DataFrame]:
    """``frame`` as one layer per geometry type (``<prefix>_points``, ``_lines``,
    ``_polygons``) and, for the rows without geometry, an attribute table named
    ``prefix``.  Collections are split into their parts' types."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms)
    present[present] = ~shapely.is_empty(geoms[present])
    kinds = np.array(
        [
            _GEOMETRY_KINDS.get(g.geom_type, "mixed") if ok else None
            for g, ok in zip(geoms, present, strict=True)
        ],
        dtype=object,
    )
    out: dict[str, pd.DataFrame] = {}
    for kind in ("points", "lines", "polygons"):
        rows = kinds == kind
        if rows.any():
            out[f"{prefix}_{kind}"] = gpd.GeoDataFrame(
                frame[rows].drop(columns=frame.geometry.name).reset_index(drop=True),
                geometry=list(geoms[rows]),
                crs=frame.crs or WGS84,
            )
    mixed = kinds == "mixed"
    if mixed.any():  # a collection: its polygons, else its lines, else its points
        parts = [_dominant_parts(g) for g in geoms[mixed]]
        extra = gpd.GeoDataFrame(
            frame[mixed].drop(columns=frame.geometry.name).reset_index(drop=True),
            geometry=parts,
            crs=frame.crs or WGS84,
        )
        kind = f"{prefix}_polygons"
        out[kind] = pd.concat([out[kind], extra], ignore_index=True) if kind in out else extra
    blank = ~present
    if blank.any():
        out[prefix] = pd.DataFrame(frame[blank].drop(columns=frame.geometry.name)).reset_index(
            drop=True
        )
    return out


def _dominant_parts(geom):
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.multipolygons(shapely.get_parts(polys)) if polys else shapely.envelope(geom)
