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
    key = id_keys(ids)
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


#: ids with nothing to strip, fold or space but ASCII case ("HAZ-00123")
_PLAIN_ID = r"[0-9A-Za-z_./:#+-]*"


def id_keys(ids: pd.Series) -> pd.Series:
    """Each id stripped, case-folded and with runs of spaces as one space: ids with
    the same key differ only in case or spacing.  Plain ASCII ids, nearly all of them,
    only need lower case, which Arrow gives at once; the rest are folded in Python."""
    plain = ids.str.fullmatch(_PLAIN_ID).fillna(False).to_numpy(dtype=bool)
    key = ids.str.lower()
    if not plain.all():
        rest = ids[~plain].str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)
        key[~plain] = rest
    return key


def geometry_checks(records: gpd.GeoDataFrame, f: Findings, max_gap_km: float) -> None:
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
        _long_edges(areas, geoms, f, max_gap_km * 1000)
        _duplicates(areas, geoms, f)


def _long_edges(areas: gpd.GeoDataFrame, geoms: np.ndarray, f: Findings, gap_m: float) -> None:
    """Consecutive vertices farther apart than ``gap_m`` (geodesic), one finding per
    record.  A degree spans at most 111.7 km, so only the records with a step that
    long in degrees (between any two consecutive coordinates, ring to ring included;
    looked for only in records whose box has a diagonal that long) are taken apart
    ring by ring and measured.  An edge along the antimeridian is where reading cut a
    record that crosses it (:func:`~mineland.regions.cut_at_antimeridian`), not an
    edge of the data: it is not measured."""
    b = shapely.bounds(geoms)  # no step is longer than the diagonal of its box
    wide = np.flatnonzero(np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * 111_700.0 > gap_m)
    coords, owner = shapely.get_coordinates(geoms[wide], return_index=True)
    owner = wide[owner]
    dx, dy = np.diff(coords[:, 0]), np.diff(coords[:, 1])
    maybe = (np.hypot(dx, dy) * 111_700.0 > gap_m) & (owner[1:] == owner[:-1])
    geod = pyproj.Geod(ellps="WGS84")
    for rec in np.unique(owner[1:][maybe]):
        for ring in shapely.get_rings(shapely.get_parts(geoms[rec])):
            xy = shapely.get_coordinates(ring)
            _, _, dist = geod.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
            dist[(np.abs(xy[:-1, 0]) == 180.0) & (np.abs(xy[1:, 0]) == 180.0)] = 0.0
            if len(dist) and dist.max() > gap_m:
                k = int(np.argmax(dist > gap_m))
                (x0, y0), (x1, y1) = xy[k], xy[k + 1]
                f.add(
                    "long_edge",
                    f"consecutive vertices {dist[k] / 1000:,.1f} km apart, from "
                    f"({x0:.6f}, {y0:.6f}) to ({x1:.6f}, {y1:.6f})",
                    rec=areas.iloc[rec],
                    geom=shapely.LineString([xy[k], xy[k + 1]]),
                )
                break


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
        # columns, not the whole frame, are selected: the frame's geometry and text
        # columns would be copied for nothing
        rtype = records["record_type"]
        hazards = rtype.isin(schema.HAZARD_TYPES).to_numpy()
        hazard_date = pd.Series(
            dates.to_numpy()[hazards], index=records["record_id"].astype(str)[hazards]
        )
        hazard_date = hazard_date[~hazard_date.index.duplicated()]
        releases = rtype.isin(schema.RELEASE_TYPES).to_numpy()
        linked = records["hazard_id"][releases].astype("string").str.strip()
        # looked up, not mapped: a map that finds no hazard (releases read without
        # their hazards) gives floats that pandas then refuses to compare with dates
        found = hazard_date.reindex(linked.to_numpy(dtype=object, na_value=None)).to_numpy()
        hd_all = pd.Series(found, index=linked.index, dtype=dates.dtype)
        early = (dates[releases] < hd_all).fillna(False).to_numpy(dtype=bool)
        late_rows = records.iloc[np.flatnonzero(releases)[early]]
        for (_, r), hd in zip(late_rows.iterrows(), hd_all[early], strict=True):
            f.add(
                "release_before_hazard",
                f"released {r['date'].date()}, before its hazard {r['hazard_id']!r} was "
                f"recorded ({hd.date()})",
                rec=r,
            )
    n_undated = int(dates.isna().sum())
    if n_undated:
        f.add("undated_records", f"{n_undated} records have no date; they count at every date")
