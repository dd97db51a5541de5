"""The district choropleth: class breaks, colours, popups and tooltips."""

from __future__ import annotations

import html

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from ..labels import Choropleth
from ._geojson import geojson_collection, round_coords


def fmt_number(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{digits}f}"


def fmt_int(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


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
        f"{e(fmt_number(r['contaminated_ha']))} ha</td></tr>"
        for _, r in sub.iterrows()
    )
    return f'<tr class="strong"><th>Contaminated by land cover</th><td></td></tr>{body}'


def district_popup(
    row: pd.Series, impact: pd.DataFrame | None = None, forecast: pd.DataFrame | None = None
) -> str:
    e = html.escape
    rows = [
        ("contaminated_ha", "Contaminated", fmt_number(row["contaminated_ha"]) + " ha", "strong"),
        ("sha_ha", "· remaining SHA", fmt_number(row["sha_ha"]) + " ha", ""),
        ("cha_ha", "· remaining CHA", fmt_number(row["cha_ha"]) + " ha", ""),
        ("released_ha", "Released", fmt_number(row["released_ha"]) + " ha", "strong"),
        ("cleared_ha", "· cleared", fmt_number(row["cleared_ha"]) + " ha", ""),
        ("reduced_ha", "· reduced", fmt_number(row["reduced_ha"]) + " ha", ""),
        ("cancelled_ha", "· cancelled", fmt_number(row["cancelled_ha"]) + " ha", ""),
        ("released_pct", "Released share", fmt_number(row["released_pct"]) + " %", ""),
        ("recorded_ha", "Recorded land", fmt_number(row["recorded_ha"]) + " ha", ""),
        ("area_ha", "District area", fmt_number(row["area_ha"]) + " ha", ""),
        ("hazard_records", "Hazard records", fmt_int(row["hazard_records"]), ""),
        ("devices", "Explosive items found", fmt_int(row["devices"]), ""),
        ("incidents", "Incidents", fmt_int(row["incidents"]), ""),
        ("killed", "Killed", fmt_int(row["killed"]), ""),
        ("injured", "Injured", fmt_int(row["injured"]), ""),
    ]
    body = "".join(
        f'<tr class="{cls}"><th>{e(label)}</th><td data-col="{col}">{e(value)}</td></tr>'
        for col, label, value, cls in rows
    )
    body += _landcover_rows(impact, str(row["district"]))
    body += _forecast_row(forecast, str(row["district"]))
    return (
        f'<div class="mineland-popup"><h3 data-col="district">{e(str(row["district"]))}</h3>'
        f"<table>{body}</table></div>"
    )


def _forecast_row(forecast: pd.DataFrame | None, name: str) -> str:
    """The district's completion at the current pace, with its range (and status)."""
    if forecast is None or name not in set(forecast["district"]):
        return ""
    f = forecast.set_index("district").loc[name]
    text = str(f["completion"])
    if f["completion_low"] != f["completion_high"]:
        text += f" ({f['completion_low']} – {f['completion_high']})"
    if "status" in f.index:
        text += f", {f['status']}"
    e = html.escape
    return (
        f'<tr class="strong"><th>Clear at the current pace</th>'
        f'<td data-col="completion">{e(text)}</td></tr>'
    )


def _district_tooltip(row: pd.Series) -> str:
    e = html.escape
    return (
        f"<strong>{e(str(row['district']))}</strong><br>"
        f"Contaminated: {e(fmt_number(row['contaminated_ha']))} ha<br>"
        f"Released: {e(fmt_number(row['released_ha']))} ha"
    )


def district_geojson(
    summary: gpd.GeoDataFrame,
    metric: str,
    impact: pd.DataFrame | None = None,
    forecast: pd.DataFrame | None = None,
) -> tuple[str, list[dict]]:
    inside = summary[summary["district"] != schema.OUTSIDE].reset_index(drop=True)
    values = inside[metric].to_numpy(dtype=float)
    classes = Choropleth.of(values, metric)
    color, steps = classes.color, classes.steps()
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
            "popup": district_popup(row, impact, forecast),
        }
        for _, row in inside.iterrows()
    ]
    return geojson_collection(round_coords(geoms), props), steps
