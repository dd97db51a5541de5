"""Interactive Leaflet maps of the accounting (folium).

:func:`make_map` builds a :class:`folium.Map` with a district choropleth, the
accounting geometry that the hectares were measured on, the raw records, devices
and incidents, and the controls planners need.  :func:`save_map` writes it, with
every script and style sheet inlined when ``offline=True``.

Text that comes from data is escaped before it reaches HTML (district names in
popups), or handed to the browser as JSON and inserted with ``textContent``.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import re
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from affine import Affine
from branca.element import Element, MacroElement

from . import schema
from ._version import __version__
from .accounting import CLASSES, Accounting, account
from .districts import prepare_districts
from .errors import OutputError, SchemaError, attempt
from .records import SurveyData
from .zones import project

__all__ = ["BASEMAPS", "CLASS_STYLE", "make_map", "save_map"]

log = logging.getLogger(__name__)

#: Accounting layers: label, fill colour, fill opacity.  CHA and SHA follow
#: IMAS TN 07.11/01; the released classes use colours that contrast with both.
CLASS_STYLE = {
    "cha": ("Remaining CHA", "#FF0000", 0.5),
    "sha": ("Remaining SHA", "#F4A718", 0.5),
    "cleared": ("Cleared", "#1A9850", 0.55),
    "reduced": ("Reduced (technical survey)", "#2C7BB6", 0.5),
    "cancelled": ("Cancelled (non-technical survey)", "#8073AC", 0.45),
}

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

DISCLAIMER = (
    "Indicative only. Not for navigation, and not for clearance decisions in the field: "
    "records may be incomplete or inaccurate. Treat every area as dangerous until "
    "officially released."
)

_LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/"
_CLUSTER_CDN = "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/"

#: Remote asset file name -> vendored copy (package data in ``mineland/static``).
_VENDORED = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "leaflet.markercluster.js": "markercluster/leaflet.markercluster.min.js",
    "MarkerCluster.css": "markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "markercluster/MarkerCluster.Default.css",
}

_METRIC_LABELS = {
    "contaminated_ha": "Contaminated land (ha)",
    "sha_ha": "Remaining SHA (ha)",
    "cha_ha": "Remaining CHA (ha)",
    "released_ha": "Released land (ha)",
    "cleared_ha": "Cleared land (ha)",
    "reduced_ha": "Reduced land (ha)",
    "cancelled_ha": "Cancelled land (ha)",
    "recorded_ha": "Recorded land (ha)",
    "released_pct": "Released share of recorded land (%)",
    "hazard_records": "Hazard records",
    "devices": "Devices found",
    "incidents": "Incidents",
    "killed": "People killed",
    "injured": "People injured",
    "area_ha": "District area (ha)",
}
_RELEASE_METRICS = ("released_ha", "cleared_ha", "reduced_ha", "cancelled_ha", "released_pct")
_REDS = ["#FFF5B8", "#FECC5C", "#FD8D3C", "#F03B20", "#BD0026"]
_GREENS = ["#EDF8E9", "#BAE4B3", "#74C476", "#31A354", "#006D2C"]
_ZERO = "#F2F2F2"

#: Bytes of GeoJSON the accounting layers may take before shapes are simplified more.
CLASS_BUDGET = 12_000_000
#: Above this many records the raw-records layer is left out (with a note).
RAW_LIMIT = 20_000
#: At most this many validation findings are drawn (errors first); the label says so.
FINDINGS_LIMIT = 5_000


# --------------------------------------------------------------------------- helpers


def _static(name: str) -> str:
    return resources.files("mineland").joinpath("static", name).read_text(encoding="utf-8")


def _static_bytes(name: str) -> bytes:
    return resources.files("mineland").joinpath("static", name).read_bytes()


def script_json(obj: object) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>`` breakout)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _fmt(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{digits}f}"


def _fmt_int(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def _round_coords(geoms: np.ndarray, decimals: int = 5) -> np.ndarray:
    """Round coordinates for display (1e-5° is about 1 m)."""
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def _geojson_collection(geoms: np.ndarray, properties: list[dict] | None = None) -> str:
    """A FeatureCollection as compact JSON text (geometries via shapely)."""
    if len(geoms) == 0:
        return '{"type":"FeatureCollection","features":[]}'
    texts = shapely.to_geojson(geoms)
    if properties is None:
        feats = [f'{{"type":"Feature","properties":{{}},"geometry":{t}}}' for t in texts]
    else:
        feats = [
            f'{{"type":"Feature","properties":{script_json(p)},"geometry":{t}}}'
            for t, p in zip(texts, properties, strict=True)
        ]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


def _polyline_chars(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Encode integers with the polyline algorithm: the characters and the
    number of characters of each value (vectorised)."""
    v = np.asarray(values, dtype=np.int64)
    z = np.where(v < 0, ~(v << 1), v << 1).astype(np.uint64)  # zigzag
    chunks = np.stack([(z >> np.uint64(5 * k)) & np.uint64(0x1F) for k in range(7)], axis=1)
    bits = np.zeros(len(z), dtype=np.int64)
    for k in range(7):
        bits[(z >> np.uint64(5 * k)) > 0] = k + 1
    length = np.maximum(bits, 1)
    k = np.arange(7)[None, :]
    more = k < (length[:, None] - 1)
    chars = (chunks.astype(np.int64) | np.where(more, 0x20, 0)) + 63
    keep = k < length[:, None]
    return chars[keep].astype(np.uint8).tobytes(), length


def encode_polygons(geoms: np.ndarray, decimals: int = 5) -> dict:
    """Polygons (lon/lat) as compact polyline-encoded rings for the map.

    Returns ``{"rings": [...], "parts": [...]}``: one encoded string per ring
    (lat, lon pairs, delta-coded at 10^-decimals degrees, closing vertex dropped) and
    the number of rings of each polygon.  About a third of the size of GeoJSON.
    """
    polys = explode_for_display(geoms)
    if len(polys) == 0:
        return {"rings": [], "parts": []}
    rings, owner = shapely.get_rings(polys, return_index=True)
    parts = np.bincount(owner, minlength=len(polys)).tolist()
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(ring_of, minlength=len(rings))
    last = np.cumsum(counts) - 1
    keep = np.ones(len(coords), dtype=bool)
    keep[last] = False  # drop each ring's closing vertex
    coords, ring_of = coords[keep], ring_of[keep]
    scaled = np.round(coords[:, ::-1] * 10**decimals).astype(np.int64)  # lat, lon
    first = np.r_[True, ring_of[1:] != ring_of[:-1]]
    delta = scaled.copy()
    delta[1:] -= scaled[:-1]
    delta[first] = scaled[first]
    chars, length = _polyline_chars(delta.reshape(-1))
    per_vertex = length.reshape(-1, 2).sum(axis=1)
    per_ring = np.bincount(ring_of, weights=per_vertex, minlength=len(rings)).astype(np.int64)
    text = chars.decode("ascii")
    ends = np.cumsum(per_ring)
    starts = ends - per_ring
    return {"rings": [text[a:b] for a, b in zip(starts, ends, strict=True)], "parts": parts}


def explode_for_display(geoms: np.ndarray) -> np.ndarray:
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    if len(parts) == 0:
        return parts
    ok = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON.value) & ~shapely.is_empty(
        parts
    )
    return parts[ok]


def _breaks(values: np.ndarray, n: int = 5) -> list[float]:
    """Class breaks for a choropleth: quantiles of the non-zero values, rounded."""
    positive = values[np.isfinite(values) & (values > 0)]
    if len(positive) == 0:
        return []
    qs = np.quantile(positive, np.linspace(0, 1, n + 1)[1:])
    out: list[float] = []
    for q in qs:
        nice = float(f"{q:.2g}") if q >= 1 else round(float(q), 2)
        nice = max(nice, float(q)) if q == qs[-1] else nice
        if not out or nice > out[-1]:
            out.append(nice)
    out[-1] = max(out[-1], float(positive.max()))
    return out


def _color_steps(values: np.ndarray, metric: str):
    palette = _GREENS if metric in _RELEASE_METRICS else _REDS
    breaks = _breaks(values)
    colors = palette[-len(breaks) :] if breaks else []
    unit = " ha" if metric.endswith("_ha") else (" %" if metric.endswith("_pct") else "")

    def color(v: float) -> str:
        if not np.isfinite(v) or v <= 0 or not breaks:
            return _ZERO
        for b, c in zip(breaks, colors, strict=True):
            if v <= b:
                return c
        return colors[-1]

    steps = [{"color": _ZERO, "label": f"0{unit}"}]
    lo = 0.0
    for b, c in zip(breaks, colors, strict=True):
        steps.append(
            {
                "color": c,
                "label": (
                    f"{'> 0' if lo == 0 else _fmt(lo, 0 if lo >= 10 else 1)} – "
                    f"{_fmt(b, 0 if b >= 10 else 1)}{unit}"
                ),
            }
        )
        lo = b
    return color, steps


def _landcover_rows(impact: pd.DataFrame | None, district: str) -> str:
    """Popup rows: remaining contamination of one district by land-cover class."""
    if impact is None:
        return ""
    sub = impact[(impact["district"] == district) & (impact["contaminated_ha"] > 0.005)]
    if len(sub) == 0:
        return ""
    e = html.escape
    sub = sub.sort_values("contaminated_ha", ascending=False)
    body = "".join(
        f'<tr><th>· {e(str(r["class_name"]))}</th><td data-lc="{e(str(r["class_name"]))}">'
        f"{e(_fmt(r['contaminated_ha']))} ha</td></tr>"
        for _, r in sub.iterrows()
    )
    return f'<tr class="strong"><th>Contaminated by land cover</th><td></td></tr>{body}'


def _district_popup(row: pd.Series, impact: pd.DataFrame | None = None) -> str:
    e = html.escape
    rows = [
        ("contaminated_ha", "Contaminated", _fmt(row["contaminated_ha"]) + " ha", "strong"),
        ("sha_ha", "· remaining SHA", _fmt(row["sha_ha"]) + " ha", ""),
        ("cha_ha", "· remaining CHA", _fmt(row["cha_ha"]) + " ha", ""),
        ("released_ha", "Released", _fmt(row["released_ha"]) + " ha", "strong"),
        ("cleared_ha", "· cleared", _fmt(row["cleared_ha"]) + " ha", ""),
        ("reduced_ha", "· reduced", _fmt(row["reduced_ha"]) + " ha", ""),
        ("cancelled_ha", "· cancelled", _fmt(row["cancelled_ha"]) + " ha", ""),
        ("released_pct", "Released share", _fmt(row["released_pct"]) + " %", ""),
        ("recorded_ha", "Recorded land", _fmt(row["recorded_ha"]) + " ha", ""),
        ("area_ha", "District area", _fmt(row["area_ha"]) + " ha", ""),
        ("hazard_records", "Hazard records", _fmt_int(row["hazard_records"]), ""),
        ("devices", "Devices found", _fmt_int(row["devices"]), ""),
        ("incidents", "Incidents", _fmt_int(row["incidents"]), ""),
        ("killed", "Killed", _fmt_int(row["killed"]), ""),
        ("injured", "Injured", _fmt_int(row["injured"]), ""),
    ]
    body = "".join(
        f'<tr class="{cls}"><th>{e(label)}</th><td data-col="{col}">{e(value)}</td></tr>'
        for col, label, value, cls in rows
    )
    body += _landcover_rows(impact, str(row["district"]))
    return (
        f'<div class="mineland-popup"><h3 data-col="district">{e(str(row["district"]))}</h3>'
        f"<table>{body}</table></div>"
    )


def _district_tooltip(row: pd.Series) -> str:
    e = html.escape
    return (
        f"<strong>{e(str(row['district']))}</strong><br>"
        f"Contaminated: {e(_fmt(row['contaminated_ha']))} ha<br>"
        f"Released: {e(_fmt(row['released_ha']))} ha"
    )


def _resolve(summary, surveys) -> tuple[gpd.GeoDataFrame, Accounting | None]:
    if isinstance(summary, Accounting):
        return summary.summary, summary
    if not isinstance(summary, gpd.GeoDataFrame) or "district" not in summary.columns:
        raise SchemaError("make_map needs the result of summarize() or account()")
    if surveys is None:
        return summary, None
    inside = summary[summary["district"] != schema.OUTSIDE]
    districts = prepare_districts(inside[["district", "geometry"]], name_field="district")
    as_of = summary.attrs.get("mineland", {}).get("as_of")
    acc = account(districts, surveys, as_of=as_of)
    return acc.summary, acc


#: Parts of the accounting geometry smaller than this (m²) are not drawn: slivers
#: left where two records' edges almost coincide.  They still count in the hectares.
MIN_DRAWN_M2 = 1.0


def _class_layers(acc: Accounting) -> tuple[list[dict], float, str | None]:
    """Accounting geometry per class, simplified for display within the byte budget.

    Each class is one MultiPolygon feature (compact), coordinates rounded to 1e-5°.
    Returns the layers, the simplification tolerance used (m) and a note on the
    slivers that were not drawn, if any.
    """
    kept: dict[str, list[tuple[np.ndarray, object]]] = {key: [] for key in CLASSES}
    n_small, small_m2 = 0, 0.0
    for region in acc.regions:
        for key in CLASSES:
            geoms = region.classes[key]
            area = shapely.area(geoms) if len(geoms) else np.zeros(0)
            small = area < MIN_DRAWN_M2
            n_small += int(small.sum())
            small_m2 += float(area[small].sum())
            kept[key].append((geoms[~small], region.crs))
    note = None
    if n_small:
        note = (
            f"{n_small:,} slivers smaller than {MIN_DRAWN_M2:g} m² ({small_m2:,.0f} m² in all) "
            "are not drawn; they are counted in the hectares."
        )
    layers: list[dict] = []
    for tolerance in (0.5, 2.0, 5.0, 10.0, 25.0, 50.0):
        layers, size = [], 0
        for key in CLASSES:
            drawn = [
                project(shapely.simplify(g, tolerance, preserve_topology=True), crs, inverse=True)
                for g, crs in kept[key]
                if len(g)
            ]
            data = encode_polygons(np.concatenate(drawn) if drawn else np.empty(0, dtype=object))
            size += sum(len(r) + 3 for r in data["rings"]) + 2 * len(data["parts"])
            label, color, opacity = CLASS_STYLE[key]
            layers.append(
                {
                    "key": key,
                    "label": label,
                    "color": color,
                    "opacity": opacity,
                    "show": True,
                    "data": data,
                }
            )
        if size <= CLASS_BUDGET:
            return layers, tolerance, note
    log.warning("accounting layers still take %.1f MB after simplifying to 50 m", size / 1e6)
    return layers, tolerance, note


def _district_geojson(
    summary: gpd.GeoDataFrame, metric: str, impact: pd.DataFrame | None = None
) -> tuple[str, list[dict]]:
    inside = summary[summary["district"] != schema.OUTSIDE].reset_index(drop=True)
    values = inside[metric].to_numpy(dtype=float)
    color, steps = _color_steps(values, metric)
    geoms = np.asarray(inside.geometry.array, dtype=object)
    try:
        if len(geoms) > 1 and bool(shapely.coverage_is_valid(geoms)):
            geoms = shapely.coverage_simplify(geoms, 1e-4)  # about 10 m; keeps shared edges
        else:
            geoms = shapely.simplify(geoms, 1e-4, preserve_topology=True)
    except shapely.errors.GEOSException:
        pass
    props = [
        {
            "name": str(row["district"]),
            "color": color(float(row[metric])),
            "tooltip": _district_tooltip(row),
            "popup": _district_popup(row, impact),
        }
        for _, row in inside.iterrows()
    ]
    return _geojson_collection(_round_coords(geoms), props), steps


def _point_groups(records: gpd.GeoDataFrame) -> list[dict]:
    groups = []
    spec = {
        "device": (
            "devices",
            "Devices found",
            "#6A3D9A",
            ["record_id", "date", "device_type", "quantity", "organisation", "notes"],
        ),
        "incident": (
            "incidents",
            "Incidents (casualties)",
            "#111111",
            ["record_id", "date", "killed", "injured", "device_type", "organisation", "notes"],
        ),
    }
    for rtype, (key, label, color, fields) in spec.items():
        sub = records[records["record_type"] == rtype]
        fields = [f for f in fields if f in sub.columns]
        data = []
        if len(sub):
            xy = np.round(shapely.get_coordinates(sub.geometry.to_numpy()), 6)
            columns = [_display_values(sub[f]) for f in fields]
            for i in range(len(sub)):
                data.append([float(xy[i, 1]), float(xy[i, 0]), *(c[i] for c in columns)])
        title = "Device" if rtype == "device" else "Incident"
        groups.append(
            {
                "key": key,
                "label": f"{label} ({len(sub):,})",
                "color": color,
                "show": True,
                "title": title,
                "fields": [f.replace("_", " ") for f in fields],
                "data": data,
            }
        )
    return groups


def _display_values(col: pd.Series) -> list:
    if pd.api.types.is_datetime64_any_dtype(col):
        return [None if pd.isna(v) else v.date().isoformat() for v in col]
    out = []
    for v in col.to_numpy(dtype=object):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append(None)
        elif isinstance(v, (int, np.integer)):
            out.append(int(v))
        elif isinstance(v, (float, np.floating)):
            out.append(float(v) if np.isfinite(v) else None)
        else:
            out.append(str(v))
    return out


_RAW_SKIP = {"geometry", schema.SOURCE_LAYER, "repair"}


def _raw_layer(
    records: gpd.GeoDataFrame, acc: Accounting
) -> tuple[str | None, list[str], str | None]:
    areas = records[records["record_type"].isin(schema.AREA_TYPES)]
    if len(areas) == 0:
        return None, [], None
    if len(areas) > RAW_LIMIT:
        note = (
            f"The raw-records layer is left out: {len(areas):,} area records are more than "
            f"{RAW_LIMIT:,}, which would make the map too heavy to open."
        )
        return None, [], note
    fields = ["record_id", "record_type", "date"] + [
        c
        for c in areas.columns
        if c not in _RAW_SKIP and c not in ("record_id", "record_type", "date")
    ]
    fields = [
        f
        for f in fields
        if f not in ("device_type", "quantity", "killed", "injured") or areas[f].notna().any()
    ]
    columns = [_display_values(areas[f]) for f in fields]
    props = [{"v": [c[i] for c in columns]} for i in range(len(areas))]
    geoms = shapely.simplify(
        np.asarray(areas.geometry.array, dtype=object), 1e-6, preserve_topology=True
    )
    return (
        _geojson_collection(_round_coords(geoms), props),
        [f.replace("_", " ") for f in fields],
        None,
    )


DENSITY_NODATA_MAP = -1.0  # what the reprojected density grid holds outside the data

#: Colour ramp of the density overlay: share of the cell contaminated → RGBA.
_DENSITY_RAMP = [
    (0.05, (203, 201, 226, 170)),
    (0.25, (158, 154, 200, 190)),
    (0.5, (117, 107, 177, 210)),
    (0.75, (84, 39, 143, 225)),
    (1.01, (45, 0, 75, 235)),
]


def _density_overlay(array: np.ndarray, profile: dict) -> dict:
    """The density raster as a PNG data URI in Web Mercator, for a Leaflet image layer.

    Leaflet stretches an image linearly in Web Mercator, so the grid is reprojected
    to EPSG:3857 first (nearest neighbour: the fractions are shown, not resampled).
    """
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    src_crs = rasterio.crs.CRS.from_wkt(profile["crs"])
    h, w = array.shape
    t = profile["transform"]
    bounds = (t.c, t.f + h * t.e, t.c + w * t.a, t.f)
    dst_t, dst_w, dst_h = calculate_default_transform(src_crs, "EPSG:3857", w, h, *bounds)
    scale = max(1.0, max(dst_w, dst_h) / 2048)  # keep the image under 2048 px a side
    dst_w, dst_h = int(dst_w / scale), int(dst_h / scale)
    dst_t = dst_t @ Affine.scale(scale, scale)
    merc = np.full((dst_h, dst_w), DENSITY_NODATA_MAP, dtype=np.float32)
    reproject(
        array,
        merc,
        src_transform=t,
        src_crs=src_crs,
        dst_transform=dst_t,
        dst_crs="EPSG:3857",
        src_nodata=profile.get("nodata"),
        dst_nodata=DENSITY_NODATA_MAP,
        resampling=Resampling.nearest,
    )
    rgba = np.zeros((4, dst_h, dst_w), dtype=np.uint8)
    lower = 0.0
    legend = []
    for upper, color in _DENSITY_RAMP:
        sel = (merc > lower) & (merc <= upper) if lower > 0 else (merc > 0) & (merc <= upper)
        for band in range(4):
            rgba[band][sel] = color[band]
        label = f"{'> 0' if lower == 0 else f'{lower:.0%}'} – {min(upper, 1.0):.0%}"
        legend.append(
            {"color": "rgba({},{},{},{:.2f})".format(*color[:3], color[3] / 255), "label": label}
        )
        lower = upper
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(driver="PNG", width=dst_w, height=dst_h, count=4, dtype="uint8") as png:
                png.write(rgba)
            data = mem.read()
    to_wgs = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    west, north = to_wgs.transform(dst_t.c, dst_t.f)
    east, south = to_wgs.transform(dst_t.c + dst_w * dst_t.a, dst_t.f + dst_h * dst_t.e)
    return {
        "url": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
        "bounds": [[south, west], [north, east]],
        "label": "Contamination density (share of each cell)",
        "legend": {"title": "Contamination density", "steps": legend},
    }


def _timeline(table: pd.DataFrame | None, names: list[str]) -> dict | None:
    """Per-period district colours (contaminated ha at each period end) for the slider."""
    if table is None or len(table) == 0:
        return None
    wide = table.pivot_table(index="district", columns="period_end", values="contaminated_ha")
    wide = wide.reindex(names).fillna(0.0)
    color, steps = _color_steps(wide.to_numpy(dtype=float).ravel(), "contaminated_ha")
    periods = [pd.Timestamp(c).date().isoformat() for c in wide.columns]
    totals = table.groupby("period_end")["contaminated_ha"].sum().reindex(wide.columns)
    released = table.groupby("period_end")["released_ha"].sum().reindex(wide.columns)
    return {
        "periods": periods,
        "colors": {n: [color(float(v)) for v in wide.loc[n]] for n in names},
        "labels": [
            f"End of period {p}: {_fmt(t)} ha contaminated, {_fmt(r)} ha released to date"
            for p, t, r in zip(periods, totals, released, strict=True)
        ],
        "steps": steps,
    }


def _findings_layer(report) -> tuple[str | None, str]:
    """Validation findings with a geometry, as GeoJSON for a map layer."""
    if report is None or len(report.findings) == 0:
        return None, ""
    f = report.findings[~report.findings.geometry.is_empty & report.findings.geometry.notna()]
    if len(f) == 0:
        return None, ""
    total = len(f)
    order = f["severity"].map({"error": 0, "warning": 1, "info": 2}).fillna(3)
    f = f.assign(_o=order).sort_values("_o", kind="stable").head(FINDINGS_LIMIT).drop(columns="_o")
    props = [
        {
            "v": [
                r["check"],
                r["severity"],
                r["record_id"] if isinstance(r["record_id"], str) else None,
                r["message"],
            ]
        }
        for _, r in f.iterrows()
    ]
    geoms = _round_coords(np.asarray(f.geometry.array, dtype=object), 6)
    errors = int((f["severity"] == "error").sum())
    shown = f"{len(f):,}" if len(f) == total else f"worst {len(f):,} of {total:,}"
    label = f"Data-quality findings ({shown}; {errors:,} errors)"
    return _geojson_collection(geoms, props), label


class _Raw(Element):
    """Text that goes into the page as it is.

    branca turns the output of a MacroElement's macros into new Jinja templates, so
    text from data that passed through them would be evaluated as template code
    (``{{ ... }}``).  Everything mineland writes goes through this element instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class _MinelandLayers(MacroElement):
    """Adds mineland's layers and controls (mineland.js) to a folium map."""

    def __init__(self, data: str) -> None:
        super().__init__()
        self._name = "MinelandLayers"
        self.data = data

    def render(self, **kwargs):
        figure = self.get_root()
        header = figure.header
        header.add_child(
            folium.elements.JavascriptLink(_CLUSTER_CDN + "leaflet.markercluster.js"),
            name="markercluster_js",
        )
        for name, file in (
            ("markercluster_css", "MarkerCluster.css"),
            ("markercluster_default_css", "MarkerCluster.Default.css"),
        ):
            header.add_child(folium.elements.CssLink(_CLUSTER_CDN + file), name=name)
        js = _static("mineland.js").replace("</script", "<\\/script")
        header.add_child(
            _Raw(f"<style>{_static('mineland.css')}</style>\n<script>{js}</script>"),
            name=self.get_name() + "_assets",
        )
        data_id = f"{self.get_name()}_data"
        figure.html.add_child(
            _Raw(f'<script type="application/json" id="{data_id}">{self.data}</script>'),
            name=data_id,
        )
        figure.script.add_child(
            _Raw(
                f"mineland.build({self._parent.get_name()}, "
                f'JSON.parse(document.getElementById("{data_id}").textContent));'
            ),
            name=self.get_name() + "_build",
        )


def make_map(
    summary: gpd.GeoDataFrame | Accounting,
    surveys: SurveyData | gpd.GeoDataFrame | None = None,
    /,
    *,
    metric: str = "contaminated_ha",
    title: str | None = None,
    tiles: str = "street",
    m: folium.Map | None = None,
    sources: Sequence[str] = (),
    density: tuple[np.ndarray, dict] | None = None,
    landcover: pd.DataFrame | None = None,
    findings=None,
    progress: pd.DataFrame | None = None,
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
        The base map shown first: ``"street"``, ``"satellite"`` or ``"none"``.  With
        ``"none"`` the map has no base map at all and makes no tile requests.
    m
        An existing :class:`folium.Map` to draw on.
    sources
        Data sources and attributions to show in the panel.
    density
        ``(array, profile)`` from :func:`mineland.rasterize_contamination`, shown as
        an image layer (off by default) with its legend.
    landcover
        The table of :func:`mineland.landcover_impact`; district popups then list the
        contaminated hectares by land-cover class.
    findings
        A :class:`~mineland.validate.ValidationReport`: its findings that have a
        geometry become a layer (off by default), coloured by severity.
    progress
        The table of :func:`mineland.progress`: a time slider then colours the
        districts by their contaminated hectares at the end of each period.

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
    table, acc = _resolve(summary, surveys)
    numeric = [c for c in schema.SUMMARY_COLUMNS if c != "district"]
    if metric not in numeric:
        raise SchemaError(f"unknown metric {metric!r}; use one of {', '.join(numeric)}")
    inside = table[table["district"] != schema.OUTSIDE]
    if len(inside) == 0:
        raise SchemaError("the summary has no districts to map")

    districts_json, steps = _district_geojson(table, metric, landcover)
    notes: list[str] = []

    failed: list[str] = []  # optional layers that could not be drawn

    def optional(what: str, fallback, fn, *args):
        return attempt(f"the {what} layer", fn, *args, failures=failed, fallback=fallback)

    overlay = optional("density", None, _density_overlay, *density) if density else None
    classes, tolerance, sliver_note = (
        optional("accounting", ([], 0.0, None), _class_layers, acc)
        if acc is not None
        else ([], 0.0, None)
    )
    records = acc.records if acc is not None else None
    raw_json, raw_fields = None, []
    points: list[dict] = []
    if records is not None:
        raw_json, raw_fields, raw_note = optional(
            "raw records", (None, [], None), _raw_layer, records, acc
        )
        if raw_note:
            notes.append(raw_note)
        points = optional("devices and incidents", [], _point_groups, records)
    if sliver_note:
        notes.append(sliver_note)
    if tolerance > 0.5:
        notes.append(
            f"Shapes are simplified for display (up to {tolerance:g} m); the hectares are "
            "computed on the full geometry."
        )
    outside = table[table["district"] == schema.OUTSIDE]
    if len(outside):
        o = outside.iloc[0]
        notes.append(
            f"Outside every district: {_fmt(o['contaminated_ha'])} ha contaminated, "
            f"{_fmt(o['released_ha'])} ha released, {_fmt_int(o['devices'])} devices, "
            f"{_fmt_int(o['incidents'])} incidents (included in the totals)."
        )

    from .accounting import total_row

    t = total_row(table)
    meta = table.attrs.get("mineland", {})
    as_of = meta.get("as_of")
    panel = {
        "title": title or "Landmine contamination",
        "subtitle": f"As of {as_of}" if as_of else "All records (no as-of date)",
        "rows": [
            ["Contaminated", _fmt(t["contaminated_ha"]) + " ha", "strong"],
            ["· remaining CHA", _fmt(t["cha_ha"]) + " ha", "sub"],
            ["· remaining SHA", _fmt(t["sha_ha"]) + " ha", "sub"],
            ["Released", _fmt(t["released_ha"]) + " ha", "strong"],
            ["· cleared", _fmt(t["cleared_ha"]) + " ha", "sub"],
            ["· reduced", _fmt(t["reduced_ha"]) + " ha", "sub"],
            ["· cancelled", _fmt(t["cancelled_ha"]) + " ha", "sub"],
            ["Devices found", _fmt_int(t["devices"]), ""],
            ["Incidents", _fmt_int(t["incidents"]), ""],
            [
                "Casualties (killed / injured)",
                f"{_fmt_int(t['killed'])} / {_fmt_int(t['injured'])}",
                "",
            ],
        ],
        "notes": notes,
        "disclaimer": DISCLAIMER,
        "sources": [
            *[str(s) for s in sources],
            f"Computed with mineland {__version__} (ellipsoidal hectares)",
        ],
    }
    base_layers = (
        [
            {
                "name": BASEMAPS[k][0],
                "url": BASEMAPS[k][1],
                "attribution": BASEMAPS[k][2],
                "maxZoom": BASEMAPS[k][3],
                "selected": k == tiles,
            }
            for k in BASEMAPS
        ]
        if tiles != "none"
        else []
    )
    base_layers.append({"name": "No base map", "url": None, "selected": tiles == "none"})
    minx, miny, maxx, maxy = inside.total_bounds
    legend = {
        "title": _METRIC_LABELS.get(metric, metric),
        "steps": steps,
        "classes": [
            {"label": c["label"], "color": c["color"], "opacity": c["opacity"]} for c in classes
        ],
        "density": overlay["legend"] if overlay else None,
    }
    findings_json, findings_label = optional("findings", (None, ""), _findings_layer, findings)
    raw_count = 0 if records is None else int(records["record_type"].isin(schema.AREA_TYPES).sum())
    cfg_small = {
        "baseLayers": base_layers,
        "districtsLabel": f"Districts: {_METRIC_LABELS.get(metric, metric)}",
        "districts": "@@DISTRICTS@@",
        "classes": classes,
        "raw": "@@RAW@@" if raw_json else None,
        "rawLabel": f"Raw records, outlines ({raw_count:,})" if raw_json else "",
        "rawFields": raw_fields,
        "points": points,
        "legend": legend,
        "panel": panel,
        "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
        "density": overlay,
        "timeline": optional("time slider", None, _timeline, progress, list(inside["district"])),
        "findings": "@@FINDINGS@@" if findings_json else None,
        "findingsLabel": findings_label,
    }
    for failure in failed:  # the map is made without them, and says so
        log.warning("map: %s", failure)
        what = failure.split(": ", 1)[0]
        notes.append(f"{what[0].upper()}{what[1:]} could not be drawn and was left out.")
    data = script_json(cfg_small)
    data = data.replace('"@@DISTRICTS@@"', districts_json, 1)
    if raw_json:
        data = data.replace('"@@RAW@@"', raw_json, 1)
    if findings_json:
        data = data.replace('"@@FINDINGS@@"', findings_json, 1)

    if m is None:
        m = folium.Map(
            location=[float(miny + maxy) / 2, float(minx + maxx) / 2],
            zoom_start=8,
            tiles=None,
            prefer_canvas=True,
            control_scale=True,
        )
        m.default_js = [("leaflet", _LEAFLET_CDN + "leaflet.js")]
        m.default_css = [("leaflet_css", _LEAFLET_CDN + "leaflet.css")]
    _MinelandLayers(data).add_to(m)
    return m


# --------------------------------------------------------------------------- saving

_SCRIPT_SRC = re.compile(r'<script[^>]*\ssrc="([^"]+)"[^>]*>\s*</script>', re.IGNORECASE)
_CSS_LINK = re.compile(r'<link[^>]*\shref="([^"]+)"[^>]*/?>', re.IGNORECASE)


def _inline_css(name: str) -> str:
    css = _static(name)
    folder = name.rsplit("/", 1)[0]

    def data_uri(match: re.Match) -> str:
        target = match.group(1).strip("'\"")
        if target.startswith(("data:", "#")):
            return match.group(0)
        try:
            raw = _static_bytes(f"{folder}/{target}")
        except (FileNotFoundError, OSError):
            return "url()"  # an image no control here uses (default marker icons)
        return f"url(data:image/png;base64,{base64.b64encode(raw).decode()})"

    return re.sub(r"url\(([^)]+)\)", data_uri, css)


def offline_html(text: str) -> str:
    """Inline every script and style sheet; refuse any other external asset."""
    missing: list[str] = []

    def script(match: re.Match) -> str:
        url = match.group(1)
        local = _VENDORED.get(url.rsplit("/", 1)[-1])
        if local is None or not local.endswith(".js"):
            missing.append(url)
            return match.group(0)
        return "<script>" + _static(local).replace("</script", "<\\/script") + "</script>"

    def link(match: re.Match) -> str:
        tag, url = match.group(0), match.group(1)
        if "stylesheet" not in tag.lower():
            return tag
        local = _VENDORED.get(url.rsplit("/", 1)[-1])
        if local is None or not local.endswith(".css"):
            missing.append(url)
            return tag
        return "<style>" + _inline_css(local).replace("</style", "<\\/style") + "</style>"

    text = _SCRIPT_SRC.sub(script, text)
    text = _CSS_LINK.sub(link, text)
    if missing:
        raise OutputError(
            "cannot save offline: no bundled copy of " + ", ".join(sorted(set(missing)))
        )
    return text


def save_map(
    m: folium.Map,
    path: str | os.PathLike,
    *,
    offline: bool = False,
    inputs: Sequence[str | os.PathLike] = (),
) -> Path:
    """Write a map as one HTML file.

    With ``offline=True`` every script and style sheet is inlined from copies bundled
    with mineland, so the file works without a network (base map tiles aside; use
    ``tiles="none"`` for a map that makes no request at all).

    Examples
    --------
    >>> save_map(make_map(account(districts, surveys)), "map.html", offline=True)  # doctest: +SKIP
    """
    from .io import check_output_path, write_text

    out = check_output_path(path, inputs)
    text = m.get_root().render()
    if offline:
        text = offline_html(text)
    return write_text(out, text)
