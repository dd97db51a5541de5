"""The layers of a QGIS-ready export: what the HTML map shows, as tables a GIS opens.

Pure computation: :func:`export_layers` returns GeoDataFrames; ``mineland export``
writes them to a GeoPackage (with their default QGIS styles, see
:mod:`mineland.render.qgis`) or to PostGIS.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .accounting import Accounting
from .frames import hazards_with_status, split_by_geometry
from .labels import CLASS_STYLE

__all__ = ["export_layers"]

#: the record columns each point layer keeps (those present)
_POINT_FIELDS = {
    "devices": ["record_id", "date", "device_type", "quantity"],
    "incidents": ["record_id", "date", "killed", "injured", "device_type"],
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
    hazards = hazards_with_status(records)
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
