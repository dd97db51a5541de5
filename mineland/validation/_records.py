"""Checks of single records: rows rejected on reading, ids, geometry and dates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .. import schema
from ..records import NOTE_SEPARATOR, SurveyData
from .checks import CHECKS, Findings


def from_rejected(data: SurveyData, f: Findings) -> None:
    for _, r in data.rejected.iterrows():
        check = r.get("check")
        if not isinstance(check, str) or check not in CHECKS:
            check = "unknown_record_type" if "record_type" in str(r["reason"]) else "empty_geometry"
        f.add(
            check,
            str(r["reason"]),
            rec=r,
        )
    if "note" in data.sources.columns:
        for _, src in data.sources[data.sources["note"].notna()].iterrows():
            for note in str(src["note"]).split(NOTE_SEPARATOR):
                check, _, message = note.partition(": ")
                f.add(
                    check if check in CHECKS else "unreadable_file",
                    message,
                    source=src["source_file"],
                )
    if "error" in data.sources.columns:
        for _, s in data.sources[data.sources["error"].notna()].iterrows():
            check, _, message = str(s["error"]).partition(": ")
            f.add(check if check in CHECKS else "unreadable_file", message, source=s["source_file"])


def id_checks(records: gpd.GeoDataFrame, f: Findings) -> None:
    """Ids that differ only in case or spacing.  (Ids made from file and row are
    reported from the readers' notes, as ``missing_record_id``.)"""
    ids = records["record_id"].astype(str)
    key = ids.str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)
    clash = key.duplicated(keep=False).to_numpy()
    if not clash.any():
        return
    sub = records[clash]
    variants = sub.groupby(key[clash].to_numpy())["record_id"].agg(
        lambda v: sorted(set(map(str, v)))
    )
    for _, r in sub.iterrows():
        group = variants[key[r.name]] if r.name in key.index else []
        others = [v for v in group if v != str(r["record_id"])]
        if others:
            f.add(
                "duplicate_id_variant",
                f"record_id {str(r['record_id'])!r} differs only in case or spacing from "
                + ", ".join(repr(v) for v in others),
                rec=r,
            )


def geometry_checks(records: gpd.GeoDataFrame, f: Findings, max_gap_km: float) -> None:
    geod = pyproj.Geod(ellps="WGS84")
    areas = records[records["record_type"].isin(schema.AREA_TYPES)]
    for _, r in records[records["repair"].notna()].iterrows():
        f.add(
            "repaired_geometry",
            str(r["repair"]),
            rec=r,
            geom=r.geometry,
        )
    if len(areas):
        geoms = np.asarray(areas.geometry.array, dtype=object)
        coords, ring_of, owner_of_ring = _ring_coordinates(geoms)
        same = ring_of[1:] == ring_of[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        # a degree spans at most 111.7 km: only longer steps in degrees can be long
        step = np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])
        maybe = np.flatnonzero(step * 111_700.0 > max_gap_km * 1000)
        if len(maybe):
            _, _, dist = geod.inv(a[maybe, 0], a[maybe, 1], b[maybe, 0], b[maybe, 1])
            long = maybe[dist > max_gap_km * 1000]
            dist = dict(zip(maybe.tolist(), dist.tolist(), strict=True))
            seen = set()
            for k in long:
                rec = owner_of_ring[ring_of[1:][same][k]]
                if rec in seen:
                    continue
                seen.add(rec)
                r = areas.iloc[rec]
                f.add(
                    "long_edge",
                    f"consecutive vertices {dist[k] / 1000:,.1f} km apart, from "
                    f"({a[k, 0]:.6f}, {a[k, 1]:.6f}) to ({b[k, 0]:.6f}, {b[k, 1]:.6f})",
                    rec=r,
                    geom=shapely.LineString([a[k], b[k]]),
                )
        _duplicates(areas, geoms, f)


def _ring_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every vertex of polygons, the ring of each vertex and the geometry of each ring,
    from shapely's ragged arrays (no geometry object per ring or part is made)."""
    _, coords, offsets = shapely.to_ragged_array(geoms)
    ring_of = np.repeat(np.arange(len(offsets[0]) - 1), np.diff(offsets[0]))
    owner = np.arange(len(offsets[0]) - 1)
    for level in offsets[1:]:  # rings → polygons (→ multipolygons)
        owner = np.repeat(np.arange(len(level) - 1), np.diff(level))[owner]
    return coords, ring_of, owner


def _duplicates(areas: gpd.GeoDataFrame, geoms: np.ndarray, f: Findings) -> None:
    """Area records with the same geometry as an earlier one (any start vertex or
    ring direction).  Only records with the same bounds can be equal, so only those
    are normalised and compared."""
    bounds = pd.DataFrame(shapely.bounds(geoms))
    alike = np.flatnonzero(bounds.duplicated(keep=False).to_numpy())
    if not len(alike):
        return
    keys = pd.Series(shapely.to_wkb(shapely.normalize(geoms[alike]), hex=True), index=alike)
    first: dict[str, int] = {}
    for i in keys.index[keys.duplicated(keep=False).to_numpy()]:
        k = keys[i]
        if k in first:
            r0, r = areas.iloc[first[k]], areas.iloc[i]
            f.add(
                "duplicate_geometry",
                f"same geometry as record {r0['record_id']!r} ({r0[schema.SOURCE_FILE]} "
                f"row {r0[schema.SOURCE_ROW]})",
                rec=r,
                geom=r.geometry,
            )
        else:
            first[k] = i


def date_checks(records, f: Findings, today: pd.Timestamp, start: pd.Timestamp | None) -> None:
    dates = records["date"]
    for _, r in records[dates > today].iterrows():
        f.add(
            "future_date",
            f"date {r['date'].date()} is after today ({today.date()})",
            rec=r,
        )
    if start is not None:
        for _, r in records[dates < start].iterrows():
            f.add(
                "date_before_start",
                f"date {r['date'].date()} is before the start {start.date()}",
                rec=r,
            )
    if "hazard_id" in records.columns:
        hazards = records[records["record_type"].isin(schema.HAZARD_TYPES)]
        hazard_date = pd.Series(hazards["date"].to_numpy(), index=hazards["record_id"].astype(str))
        hazard_date = hazard_date[~hazard_date.index.duplicated()]
        releases = records[records["record_type"].isin(schema.RELEASE_TYPES)]
        linked = releases["hazard_id"].astype("string").str.strip()
        hd_all = linked.map(hazard_date)
        early = (releases["date"] < hd_all).fillna(False).to_numpy(dtype=bool)
        for (_, r), hd in zip(releases[early].iterrows(), hd_all[early], strict=True):
            f.add(
                "release_before_hazard",
                f"released {r['date'].date()}, before its hazard {r['hazard_id']!r} was "
                f"recorded ({hd.date()})",
                rec=r,
            )
    n_undated = int(dates.isna().sum())
    if n_undated:
        f.add("undated_records", f"{n_undated} records have no date; they count at every date")
