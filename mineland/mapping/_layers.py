"""The accounting layers, the records, devices and incidents, findings and the time slider."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import schema
from ..accounting import CLASSES, Accounting, account
from ..crs import equal_area_crs
from ..districts import prepare_districts
from ..errors import SchemaError
from ..frames import hazards_with_status
from ..labels import CLASS_STYLE, METRIC_LABELS, Choropleth
from ..zones import project
from ._geojson import encode_polygons, geojson_collection, round_coords

log = logging.getLogger(__name__)

#: Bytes of GeoJSON the accounting layers may take before shapes are simplified more.
CLASS_BUDGET = 12_000_000


#: Above this many records the raw-records layer is left out (with a note).
RAW_LIMIT = 20_000


#: At most this many validation findings are drawn (errors first); the label says so.
FINDINGS_LIMIT = 5_000


def resolve_inputs(summary, surveys) -> tuple[gpd.GeoDataFrame, Accounting | None]:
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


def class_layers(acc: Accounting) -> tuple[list[dict], float, str | None]:
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
            f"{n_small:,} specks of land, each smaller than a {MIN_DRAWN_M2**0.5:g} m square "
            f"({small_m2 / 1e4:,.2f} ha in all), are too small to draw; they are counted "
            "in the hectares."
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


def point_groups(records: gpd.GeoDataFrame) -> list[dict]:
    groups = []
    spec = {
        "device": (
            "devices",
            "Explosive items found",
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
        count = f"{len(sub):,}"
        if rtype == "device" and "quantity" in sub.columns:
            items = int(pd.to_numeric(sub["quantity"], errors="coerce").fillna(1).sum())
            count = f"{len(sub):,} records, {items:,} items"
        groups.append(
            {
                "key": key,
                "label": f"{label} ({count})",
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


def raw_layer(records: gpd.GeoDataFrame) -> tuple[str | None, list[str], str | None]:
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
    fields.insert(3, "area as recorded (ha)")  # the record's own ellipsoidal hectares
    columns.insert(3, [round(float(a), 2) for a in recorded_ha(areas.geometry)])
    props = [{"v": [c[i] for c in columns]} for i in range(len(areas))]
    geoms = shapely.simplify(
        np.asarray(areas.geometry.array, dtype=object), 1e-6, preserve_topology=True
    )
    return (
        geojson_collection(round_coords(geoms), props),
        [f.replace("_", " ") for f in fields],
        None,
    )


def status_layer(records: gpd.GeoDataFrame) -> tuple[str | None, str]:
    """Hazards with a status, outlined as IMAS draws them (``labels.STATUS_STYLE``)."""
    hazards = hazards_with_status(records)
    if len(hazards) == 0 or len(hazards) > RAW_LIMIT:
        return None, ""
    fields = [_display_values(hazards[f]) for f in ("record_id", "record_type", "status", "date")]
    props = [
        {"s": status, "v": [c[i] for c in fields]}
        for i, status in enumerate(hazards["status"].to_numpy())
    ]
    geoms = shapely.simplify(
        np.asarray(hazards.geometry.array, dtype=object), 1e-6, preserve_topology=True
    )
    label = f"Hazard status, IMAS outline ({len(hazards):,})"
    return geojson_collection(round_coords(geoms), props), label


#: What the time slider shows of each district and in the panel, per period end:
#: (key, label, cumulative).  Stocks are at the period end; flows in the period are
#: summed to date from the first period (a total "since <first period>").
TIMELINE_VALUES = (
    ("contaminated_ha", "Contaminated", False),
    ("cha_ha", "· remaining CHA", False),
    ("sha_ha", "· remaining SHA", False),
    ("released_ha", "Released to date", False),
    ("cleared_ha", "· cleared", True),
    ("reduced_ha", "· reduced", True),
    ("cancelled_ha", "· cancelled", True),
    ("devices", "Explosive items found", True),
    ("incidents", "Incidents", True),
    ("killed", "Killed", True),
    ("injured", "Injured", True),
)


def recorded_ha(geoms: gpd.GeoSeries) -> np.ndarray:
    """Each polygon's own hectares (before overlaps are counted once), in an
    equal-area projection fitted to them all."""
    crs = equal_area_crs(tuple(geoms.total_bounds))
    return shapely.area(project(np.asarray(geoms.array, dtype=object), crs)) / 1e4


CUMULATIVE = {k for k, _, cumulative in TIMELINE_VALUES if cumulative}


def timeline(table: pd.DataFrame | None, names: list[str], metric: str = "contaminated_ha"):
    """Everything the time slider shows at each period end: the district colours (of
    ``metric``, or of contaminated land when the progress table lacks it), each
    district's values, the panel totals and the legend title."""
    if table is None or len(table) == 0:
        return None
    coloured = metric if metric in table.columns else "contaminated_ha"
    keys = [k for k, _, _ in TIMELINE_VALUES if k in table.columns]
    # every row of the table (the outside row too: the panel's totals hold it), flows
    # summed to date; the districts' own values are the rows named
    every = {
        k: table.pivot_table(index="district", columns="period_end", values=k, aggfunc="sum")
        .fillna(0.0)
        .pipe(lambda w, k=k: w.cumsum(axis=1) if k in CUMULATIVE else w)
        for k in keys
    }
    wide = {k: w.reindex(names).fillna(0.0) for k, w in every.items()}
    ends = list(wide[keys[0]].columns)
    periods = [pd.Timestamp(c).date().isoformat() for c in ends]
    values = wide[coloured].to_numpy(dtype=float)
    classes = Choropleth.of(values.ravel(), coloured)
    color, steps = classes.color, classes.steps()
    first = periods[0]
    label = METRIC_LABELS.get(coloured, coloured)
    return {
        "periods": periods,
        "metric": coloured,
        "colors": {n: [color(float(v)) for v in wide[coloured].loc[n]] for n in names},
        "steps": steps,
        "keys": keys,
        "labels": {k: lab for k, lab, _ in TIMELINE_VALUES if k in keys},
        "cumulativeSince": first,
        "values": {
            n: [[round(float(wide[k].at[n, c]), 4) for k in keys] for c in ends] for n in names
        },
        "totals": [[round(float(every[k][c].sum()), 6) for k in keys] for c in ends],
        "legendTitles": [f"{label} at {p}" for p in periods],
        "note": (
            None
            if coloured == metric
            else f"The slider colours by contaminated land ({METRIC_LABELS.get(metric, metric)} "
            "is not tracked per period)."
        ),
    }


def findings_layer(result) -> tuple[str | None, str]:
    """Validation findings with a geometry, as GeoJSON for a map layer."""
    if result is None or len(result.findings) == 0:
        return None, ""
    f = result.findings[~result.findings.geometry.is_empty & result.findings.geometry.notna()]
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
    geoms = round_coords(np.asarray(f.geometry.array, dtype=object), 6)
    errors = int((f["severity"] == "error").sum())
    shown = f"{len(f):,}" if len(f) == total else f"worst {len(f):,} of {total:,}"
    label = f"Data-quality findings ({shown}; {errors:,} errors)"
    return geojson_collection(geoms, props), label


def unmapped_layer(found) -> tuple[str | None, str]:
    """Candidate areas and the evidence points of an :class:`UnmappedResult`, as
    GeoJSON for one map layer, with the label of its layer control."""
    if found is None or (len(found.candidates) == 0 and len(found.evidence) == 0):
        return None, ""
    props, geoms = [], []
    for _, c in found.candidates.iterrows():
        dates = f"{c['first_date'] or '?'} – {c['last_date'] or '?'}"
        props.append(
            {
                "k": "candidate",
                "v": [
                    int(c["candidate"]),
                    f"{c['area_ha']:,.1f} ha",
                    int(c["evidence"]),
                    f"{int(c['devices']):,} items in {int(c['device_records']):,} records",
                    int(c["incidents"]),
                    f"{int(c['killed'])} / {int(c['injured'])}",
                    dates,
                    c["districts"],
                    "Suggestion for non-technical survey; not a hazard record",
                ],
            }
        )
        geoms.append(c.geometry)
    for _, p in found.evidence.iterrows():
        date = p["date"].date().isoformat() if pd.notna(p["date"]) else None
        near = (
            f"{p['distance_m']:,.0f} m ({p['nearest_hazard']})" if p["nearest_hazard"] else "none"
        )
        candidate = None if pd.isna(p["candidate"]) else int(p["candidate"])
        props.append(
            {"k": "evidence", "v": [p["record_id"], p["record_type"], date, near, candidate]}
        )
        geoms.append(p.geometry)
    geoms = round_coords(np.asarray(geoms, dtype=object), 6)
    label = (
        f"Unmapped evidence ({len(found.evidence):,} points) and candidate areas "
        f"({len(found.candidates):,})"
    )
    return geojson_collection(geoms, props), label


#: At most this many ranked hazards are drawn (the best first); the label says so.
PRIORITY_LIMIT = 2_000
#: Priority scores, low to high: a blue-purple ramp unlike the IMAS hazard colours.
PRIORITY_RAMP = ["#B3CDE3", "#8C96C6", "#8856A7", "#810F7C", "#4D004B"]


def priority_layer(ranked) -> dict | None:
    """The ranked remaining hazards of :func:`mineland.prioritise`, coloured by their
    total score (quintiles), with every criterion's score in the popup."""
    if ranked is None or len(ranked.table) == 0:
        return None
    table = ranked.table.head(PRIORITY_LIMIT)
    criteria = [c for c in table.columns if c.endswith("_score")]
    fields = ["rank", "record id", "class", "district", "remaining ha"]
    fields += [c.removesuffix("_score").replace("_", " ") for c in criteria] + ["total"]
    edges = np.quantile(ranked.table["total"], [0.2, 0.4, 0.6, 0.8])
    props = []
    for _, r in table.iterrows():
        values = [int(r["rank"]), r["record_id"], r["class"], r["district"]]
        values += [f"{r['remaining_ha']:,.2f}", *(f"{r[c]:.1f}" for c in criteria)]
        values.append(f"{r['total']:.1f}")
        color = PRIORITY_RAMP[int(np.searchsorted(edges, r["total"], side="right"))]
        props.append({"v": values, "c": color})
    geoms = round_coords(np.asarray(table.geometry.array, dtype=object), 6)
    shown = (
        f"{len(table):,}"
        if len(table) == len(ranked.table)
        else (f"best {len(table):,} of {len(ranked.table):,}")
    )
    return {
        "data": "@@PRIORITIES@@",
        "geojson": geojson_collection(geoms, props),
        "fields": fields,
        "label": f"Priorities: remaining hazards by score ({shown})",
        "ramp": PRIORITY_RAMP,
    }
