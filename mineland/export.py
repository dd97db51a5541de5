"""The layers of a QGIS-ready export: what the HTML map shows, as tables a GIS opens.

Pure computation: :func:`export_layers` returns GeoDataFrames; ``mineland export``
writes them to a GeoPackage (with their default QGIS styles, see
:mod:`mineland.render.qgis`) or to PostGIS.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import schema
from .accounting import Accounting
from .crs import WGS84
from .labels import CLASS_STYLE, STATUS_STYLE

__all__ = ["export_layers", "split_by_geometry"]

#: the record columns each point layer keeps (those present)
_POINT_FIELDS = {
    "devices": ["record_id", "date", "device_type", "quantity"],
    "incidents": ["record_id", "date", "killed", "injured", "device_type"],
}

_GEOMETRY_KINDS = {
    "Point": "points",
    "MultiPoint": "points",
    "LineString": "lines",
    "MultiLineString": "lines",
    "Polygon": "polygons",
    "MultiPolygon": "polygons",
}


def export_layers(acc: Accounting, findings: gpd.GeoDataFrame | None = None) -> dict:
    """The layers of an export, in EPSG:4326, each present only when it has rows:

    - ``summary``: the districts with their summary row (first, the main table);
    - ``classes``: each accounting class polygon cut by the districts, with
      ``class``, its ``label``, ``district`` and ``area_ha`` (the pieces of a
      district add up to its summary hectares);
    - ``hazard_status``: hazard records with a ``status`` (open, worked on, closed);
    - ``devices`` and ``incidents``: the point records;
    - ``findings_points``, ``findings_polygons``, ``findings_lines`` and
      ``findings`` (without geometry): validation findings, one layer per geometry
      type so that a GIS loads each without asking.

    Examples
    --------
    >>> layers = export_layers(account(districts, surveys))  # doctest: +SKIP
    """
    layers: dict[str, pd.DataFrame] = {"summary": acc.summary}
    pieces = acc.class_pieces()
    if len(pieces):
        labels = {k: label for k, (label, _, _) in CLASS_STYLE.items()}
        layers["classes"] = pieces.assign(label=pieces["class"].map(labels))
    records = acc.records
    if "status" in records.columns:
        hazards = records[
            records["record_type"].isin(schema.HAZARD_TYPES) & records["status"].isin(STATUS_STYLE)
        ]
        if len(hazards):
            keep = ["record_id", "record_type", "status", "date", "geometry"]
            layers["hazard_status"] = hazards[keep].reset_index(drop=True)
    for name, rtype in (("devices", "device"), ("incidents", "incident")):
        sub = records[records["record_type"] == rtype]
        if len(sub):
            fields = [f for f in _POINT_FIELDS[name] if f in sub.columns]
            layers[name] = sub[[*fields, "geometry"]].reset_index(drop=True)
    if findings is not None and len(findings):
        layers.update(split_by_geometry(findings, "findings"))
    return layers


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
