"""Interactive Leaflet maps of the accounting (folium).

:func:`make_map` builds a :class:`folium.Map` with a district choropleth, the
accounting geometry that the hectares were measured on, the raw records, devices
and incidents, and the controls planners need.  :func:`save_map` writes it, with
every script and style sheet inlined when ``offline=True``.

Text that comes from data is escaped before it reaches HTML (district names in
popups), or handed to the browser as JSON and inserted with ``textContent``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from .. import schema
from .._version import __version__
from ..accounting import Accounting, total_row
from ..errors import SchemaError, attempt
from ..io import check_output_path, write_text
from ..labels import (
    CLASS_STYLE,
    DISTRICT_OPACITY,
    METRIC_LABELS,
    STATUS_STYLE,
    UNMAPPED_COLOR,
)
from ..records import SurveyData
from ..tables import as_of_text, box_read
from ..validation.names import TRANSLIT, fold_name
from ._density import density_overlay
from ._districts import district_geojson, fmt_int, fmt_number
from ._element import MinelandLayers, OfflinePage
from ._geojson import script_json
from ._layers import (
    class_layers,
    findings_layer,
    point_groups,
    priority_layer,
    raw_layer,
    resolve_inputs,
    status_layer,
    timeline,
    unmapped_layer,
)
from ._offline import LEAFLET_CDN, offline_html
from .compose import map_layers

__all__ = ["BASEMAPS", "CLASS_STYLE", "make_map", "map_layers", "save_map"]

log = logging.getLogger(__name__)


#: Base maps: key -> (label, URL template, attribution, max zoom).
BASEMAPS = {
    "street": (
        "Street map (OpenStreetMap)",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        19,
    ),
    "satellite": (
        "Satellite imagery (Esri)",
        "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
        "Imagery &copy; Esri, Maxar, Earthstar Geographics, and the GIS User Community",
        18,
    ),
}
TILE_CHOICES = (*BASEMAPS, "none")

#: How opaque the density image is drawn (its legend's swatches use the same).
DENSITY_OPACITY = 0.85

DISCLAIMER = (
    "Indicative only. Not for navigation, and not for clearance decisions in the field: "
    "records may be incomplete or inaccurate. Treat every area as dangerous until "
    "officially released."
)


# --------------------------------------------------------------------------- helpers


def make_map(
    summary: gpd.GeoDataFrame | Accounting,
    surveys: SurveyData | gpd.GeoDataFrame | None = None,
    /,
    *,
    metric: str = "contaminated_ha",
    title: str | None = None,
    tiles: str = "none",
    m: folium.Map | None = None,
    sources: Sequence[str] = (),
    density: tuple[np.ndarray, dict] | None = None,
    landcover: pd.DataFrame | None = None,
    findings=None,
    progress: pd.DataFrame | None = None,
    unmapped=None,
    forecast=None,
    priorities=None,
) -> folium.Map:
    """An interactive Leaflet map of the accounting.

    Parameters
    ----------
    summary
        The result of :func:`mineland.summarize` (then give ``surveys`` too, to show
        the accounting geometry and the records) or of :func:`mineland.account`.
    surveys
        The survey records, from :func:`mineland.read_surveys`.
    metric
        The summary column that colours the districts.
    title
        The title of the map's panel.
    tiles
        The base map shown at open: ``"none"`` (default: the map makes no request at
        all, and works offline), ``"street"`` or ``"satellite"``.  Each is offered in
        the layer control; a base map that cannot load is said so on the map.
    m, sources
        An existing :class:`folium.Map` to draw on; data sources and attributions to
        show in the panel.
    density, landcover, findings, progress, unmapped, forecast, priorities
        Optional layers, each the result of: :func:`mineland.rasterize_contamination`
        (an image layer, off by default, with its legend),
        :func:`mineland.landcover_impact` (district popups by land-cover class),
        :func:`mineland.validate` (findings with a geometry, by severity),
        :func:`mineland.release_progress` (a time slider over the period ends),
        :func:`mineland.find_unmapped` (evidence and candidate areas, magenta),
        :func:`mineland.forecast_completion` (completion dates in the popups),
        :func:`mineland.prioritise` (remaining hazards coloured by score).

    Returns
    -------
    folium.Map
        Displays inline in Jupyter; write it with :func:`save_map`.

    Examples
    --------
    >>> acc = mineland.account(districts, surveys)  # doctest: +SKIP
    >>> save_map(make_map(acc, title="Karabakh"), "map.html", offline=True)  # doctest: +SKIP
    """
    if tiles not in TILE_CHOICES:
        raise SchemaError(f"unknown tiles {tiles!r}; use one of {', '.join(TILE_CHOICES)}")
    table, acc = resolve_inputs(summary, surveys)
    numeric = [c for c in schema.SUMMARY_COLUMNS if c != "district"]
    if metric not in numeric:
        raise SchemaError(f"unknown metric {metric!r}; use one of {', '.join(numeric)}")
    inside = table[table["district"] != schema.OUTSIDE]
    if len(inside) == 0:
        raise SchemaError("the summary has no districts to map")
    options = {"metric": metric, "title": title, "tiles": tiles, "sources": sources}
    options["forecast"] = forecast.table if forecast is not None else None
    options["priorities"] = priorities
    data, bounds = _page_data(table, acc, options, density, landcover, findings, progress, unmapped)
    m = _new_map(bounds) if m is None else m
    MinelandLayers(data).add_to(m)
    return m


def _page_data(table, acc, options: dict, density, landcover, findings, progress, unmapped):
    """The JSON the page's script draws from, and the bounds of the districts."""
    metric = options["metric"]
    inside = table[table["district"] != schema.OUTSIDE]
    failed: list[str] = []  # optional layers that could not be drawn
    names = list(inside["district"])
    layers = _layers(acc, density, findings, (progress, metric), names, failed)
    layers["priorities"] = attempt(
        "the priority layer", priority_layer, options["priorities"], failures=failed
    )
    layers["unmapped"], layers["unmapped_label"] = attempt(
        "the unmapped layer", unmapped_layer, unmapped, failures=failed, fallback=(None, "")
    )
    districts_json, steps = district_geojson(table, metric, landcover, options["forecast"])
    notes = _notes(table, layers, failed)
    if layers["timeline"] and layers["timeline"].get("note"):
        notes.append(layers["timeline"]["note"])
    if layers["unmapped"]:
        notes.append(
            "Candidate areas (magenta, dashed) are suggestions for non-technical survey, "
            "drawn from devices and incidents away from every recorded hazard; they are "
            "not hazard records."
        )
    config = {
        "baseLayers": _base_layers(options["tiles"]),
        "districtsLabel": f"Districts: {METRIC_LABELS.get(metric, metric)}",
        "districts": "@@DISTRICTS@@",
        "searchFold": TRANSLIT,
        "searchKeys": {n: fold_name(n) for n in names},
        "classes": layers["classes"],
        "raw": "@@RAW@@" if layers["raw"] else None,
        "rawLabel": layers["raw_label"],
        "rawFields": layers["raw_fields"],
        "points": layers["points"],
        "status": "@@STATUS@@" if layers["status"] else None,
        "statusLabel": layers["status_label"],
        "statusStyles": {k: {"color": c, "dash": d} for k, (_, c, d) in STATUS_STYLE.items()},
        "legend": _legend(metric, steps, layers),
        "districtOpacity": DISTRICT_OPACITY,
        "densityOpacity": DENSITY_OPACITY,
        "panel": _panel(table, options["title"], options["sources"], notes),
        "bounds": _bounds(inside),
        "density": layers["density"],
        "timeline": layers["timeline"],
        "findings": "@@FINDINGS@@" if layers["findings"] else None,
        "findingsLabel": layers["findings_label"],
        "unmapped": "@@UNMAPPED@@" if layers["unmapped"] else None,
        "unmappedLabel": layers["unmapped_label"],
        "unmappedColor": UNMAPPED_COLOR,
        "priorities": (
            {k: v for k, v in layers["priorities"].items() if k != "geojson"}
            if layers["priorities"]
            else None
        ),
    }
    data = script_json(config).replace('"@@DISTRICTS@@"', districts_json, 1)
    payloads = (
        ("RAW", layers["raw"]),
        ("FINDINGS", layers["findings"]),
        ("STATUS", layers["status"]),
    )
    priority = layers["priorities"]["geojson"] if layers["priorities"] else None
    for key, payload in (*payloads, ("UNMAPPED", layers["unmapped"]), ("PRIORITIES", priority)):
        if payload:
            data = data.replace(f'"@@{key}@@"', payload, 1)
    return data, config["bounds"]


def _layers(acc, density, findings, progress, names: list[str], failed: list[str]) -> dict:
    """Every optional layer; one that cannot be drawn is left out and named in ``failed``.
    ``progress`` is the progress table and the metric the slider colours by."""

    def optional(what: str, fallback, fn, *args):
        return attempt(f"the {what} layer", fn, *args, failures=failed, fallback=fallback)

    out = {
        "density": optional("density", None, density_overlay, *density) if density else None,
        "classes": [],
        "tolerance": 0.0,
        "notes": [],
        "raw": None,
        "raw_fields": [],
        "raw_label": "",
        "points": [],
        "status": None,
        "status_label": "",
    }
    if acc is not None:
        classes = optional("accounting", ([], 0.0, None), class_layers, acc)
        out["classes"], out["tolerance"], sliver_note = classes
        records = acc.records
        raw, out["raw_fields"], raw_note = optional(
            "raw records", (None, [], None), raw_layer, records
        )
        out["notes"] = [n for n in (raw_note, sliver_note) if n]
        if raw:
            n_areas = int(records["record_type"].isin(schema.AREA_TYPES).sum())
            out["raw"], out["raw_label"] = raw, f"Raw records, outlines ({n_areas:,})"
        out["points"] = optional("devices and incidents", [], point_groups, records)
        out["status"], out["status_label"] = optional(
            "hazard status", (None, ""), status_layer, records
        )
    out["findings"], out["findings_label"] = optional(
        "findings", (None, ""), findings_layer, findings
    )
    out["timeline"] = optional("time slider", None, timeline, progress[0], names, progress[1])
    return out


def _notes(table: pd.DataFrame, layers: dict, failed: list[str]) -> list[str]:
    """What the panel's notes say: simplification, the outside row, what was left out."""
    notes = list(layers["notes"])
    if layers["tolerance"] > 0.5:
        notes.append(
            f"Shapes are simplified for display (up to {layers['tolerance']:g} m); the "
            "hectares are computed on the full geometry."
        )
    outside = table[table["district"] == schema.OUTSIDE]
    if len(outside):
        o = outside.iloc[0]
        notes.append(
            f"Outside every district: {fmt_number(o['contaminated_ha'])} ha contaminated, "
            f"{fmt_number(o['released_ha'])} ha released, {fmt_int(o['devices'])} explosive "
            "items, "
            f"{fmt_int(o['incidents'])} incidents (included in the totals)."
        )
    for failure in failed:  # the map is made without them, and says so
        log.warning("map: %s", failure)
        what = failure.split(": ", 1)[0]
        notes.append(f"{what[0].upper()}{what[1:]} could not be drawn and was left out.")
    return notes


def _panel(table: pd.DataFrame, title, sources, notes: list[str]) -> dict:
    """The panel: title, as-of date, totals, notes, disclaimer and sources."""
    t = total_row(table)
    meta = table.attrs.get("mineland", {})
    when = as_of_text(meta, "all records (no as-of date)")
    subtitle = f"As of {when}" if meta.get("as_of") else when.capitalize()
    if meta.get("bbox"):  # not all records: those read through a box
        subtitle += f"; {box_read(meta['bbox'])}"
    ha = {k: fmt_number(t[k]) + " ha" for k in t.index if str(k).endswith("_ha")}
    return {
        "title": title or "Landmine contamination",
        "subtitle": subtitle,
        "rows": [
            ["Contaminated", ha["contaminated_ha"], "strong", "contaminated_ha"],
            ["· remaining CHA", ha["cha_ha"], "sub", "cha_ha"],
            ["· remaining SHA", ha["sha_ha"], "sub", "sha_ha"],
            ["Released", ha["released_ha"], "strong", "released_ha"],
            ["· cleared", ha["cleared_ha"], "sub", "cleared_ha"],
            ["· reduced", ha["reduced_ha"], "sub", "reduced_ha"],
            ["· cancelled", ha["cancelled_ha"], "sub", "cancelled_ha"],
            ["Explosive items found", fmt_int(t["devices"]), "", "devices"],
            ["Incidents", fmt_int(t["incidents"]), "", "incidents"],
            [
                "Casualties (killed / injured)",
                f"{fmt_int(t['killed'])} / {fmt_int(t['injured'])}",
                "",
                "casualties",
            ],
        ],
        "notes": notes,
        "disclaimer": DISCLAIMER,
        "sources": [
            *[str(s) for s in sources],
            f"Computed with mineland {__version__} (ellipsoidal hectares)",
        ],
    }


def _base_layers(tiles: str) -> list[dict]:
    """The base maps the reader may pick; only the selected one is fetched at open
    (none by default: the map then makes no request at all)."""
    layers = [
        {
            "name": f"{label}, online",
            "url": url,
            "attribution": attribution,
            "maxZoom": max_zoom,
            "selected": key == tiles,
        }
        for key, (label, url, attribution, max_zoom) in BASEMAPS.items()
    ]
    return [{"name": "No base map", "url": None, "selected": tiles == "none"}, *layers]


def _legend(metric: str, steps, layers: dict) -> dict:
    density = layers["density"]["legend"] if layers["density"] else None
    return {
        "title": METRIC_LABELS.get(metric, metric),
        "steps": steps,
        "districtOpacity": DISTRICT_OPACITY,
        "points": [{"label": g["label"], "color": g["color"]} for g in layers["points"]],
        "classes": [
            {"label": c["label"], "color": c["color"], "opacity": c["opacity"]}
            for c in layers["classes"]
        ],
        "density": {**density, "opacity": DENSITY_OPACITY} if density else None,
        "priorities": layers["priorities"]["ramp"] if layers.get("priorities") else None,
        "unmapped": (
            {"label": "Candidate areas for survey (suggestions)", "color": UNMAPPED_COLOR}
            if layers.get("unmapped")
            else None
        ),
        "status": (
            [{"label": label, "color": c, "dash": d} for label, c, d in STATUS_STYLE.values()]
            if layers.get("status")
            else None
        ),
    }


def _bounds(inside: gpd.GeoDataFrame) -> list[list[float]]:
    minx, miny, maxx, maxy = (float(v) for v in inside.total_bounds)
    return [[miny, minx], [maxy, maxx]]


def _new_map(bounds: list[list[float]]) -> folium.Map:
    (miny, minx), (maxy, maxx) = bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=8,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    m.default_js = [("leaflet", LEAFLET_CDN + "leaflet.js")]
    m.default_css = [("leaflet_css", LEAFLET_CDN + "leaflet.css")]
    OfflinePage().add_child(m)  # inline in a notebook, it needs no internet either
    return m


def save_map(
    m: folium.Map,
    path: str | os.PathLike,
    *,
    offline: bool = True,
    inputs: Sequence[str | os.PathLike] = (),
) -> Path:
    """Write a map as one HTML file.

    By default every script and style sheet is inlined from copies bundled with
    mineland, so the file works without a network: a field office opens it as it
    is.  ``offline=False`` links them from a CDN instead (a file 0.2 MB smaller that
    needs internet).  Base map tiles are the one thing fetched, and only when the
    map was made with ``tiles="street"`` or ``"satellite"`` or the reader picks one.

    Examples
    --------
    >>> save_map(make_map(account(districts, surveys)), "map.html", offline=True)  # doctest: +SKIP
    """
    out = check_output_path(path, inputs)
    text = m.get_root().render()
    if offline:
        text = offline_html(text)
    return write_text(out, text)
