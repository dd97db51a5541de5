"""Unmapped contamination: devices and incidents found away from every recorded hazard,
and the areas where they gather (pure computation over an :class:`Accounting`).

A device or incident more than ``distance`` metres (geodesic) from every SHA/CHA
record dated up to the as-of date, remaining or released, is *evidence* that the
hazard map is incomplete.  Evidence points are grouped with DBSCAN on geodesic
distances: a point with at least ``min_evidence`` points (itself included) within
``distance`` is a core point; core points within ``distance`` of one another form a
group, with the other points within ``distance`` of them.  Each group becomes a
*candidate area*: the convex hull of its points widened by ``distance``, built and
measured in the equal-area projection of the accounting.

Candidate areas are suggestions for non-technical survey, never hazard records.
Points that are probably data errors (lon/lat swapped) are not evidence; they are
counted as excluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import schema
from .accounting import M2_PER_HA, Accounting, AccountingCache
from .crs import WGS84
from .errors import DataError, positive_metres
from .geometry import hull_buffer
from .graphs import components
from .labels import SUGGESTION
from .regions import region_of_points
from .validation import inside_when_swapped
from .zones import assign_points, geodesic_gap, project, unproject

__all__ = ["SUGGESTION", "UnmappedResult", "find_unmapped"]


_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass
class UnmappedResult:
    """What :func:`find_unmapped` found."""

    #: every device and incident: its nearest hazard and distance, whether it is
    #: evidence, why it was excluded, and its candidate area
    points: gpd.GeoDataFrame
    #: one row per candidate area (EPSG:4326)
    candidates: gpd.GeoDataFrame
    #: per district: devices and incidents, how many lie away from every hazard
    by_district: pd.DataFrame
    distance: float
    min_evidence: int
    as_of: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def evidence(self) -> gpd.GeoDataFrame:
        """The points that are evidence of unmapped contamination."""
        return self.points[self.points["evidence"]]

    @property
    def excluded(self) -> int:
        """How many points were left out as probable data errors."""
        return int(self.points["excluded"].notna().sum())


def find_unmapped(
    districts,
    surveys=None,
    /,
    *,
    distance: float = 250.0,
    min_evidence: int = 3,
    as_of: object = None,
    accounts: AccountingCache | None = None,
) -> UnmappedResult:
    """Devices and incidents away from every recorded hazard, and candidate areas.

    Parameters
    ----------
    districts, surveys
        As for :func:`mineland.summarize`; or an :class:`Accounting` alone.
    distance
        Metres (geodesic): a point farther than this from every hazard is evidence,
        and the neighbourhood of the grouping.
    min_evidence
        The fewest evidence points (within ``distance`` of one another) that make a
        candidate area.
    as_of
        Hazards and points dated on or before this day (undated ones always count).
    accounts
        An :class:`mineland.AccountingCache` of the same data, to reuse.

    Returns
    -------
    UnmappedResult
        ``points`` (each device and incident with ``nearest_hazard``,
        ``distance_m``, ``evidence``, ``excluded``, ``candidate``), ``candidates``
        (``candidate``, ``area_ha``, ``evidence``, ``device_records``, ``devices``,
        ``incidents``, ``killed``, ``injured``, ``first_date``, ``last_date``,
        ``districts``, geometry) and ``by_district``.

    Examples
    --------
    >>> found = find_unmapped(districts, surveys, distance=250, min_evidence=3)  # doctest: +SKIP
    >>> found.candidates.sort_values("evidence", ascending=False).head()  # doctest: +SKIP
    """
    distance = positive_metres(distance, "distance")
    if min_evidence < 1:
        raise DataError(f"min_evidence must be at least 1, got {min_evidence!r}")
    acc = _accounting(districts, surveys, as_of, accounts)
    points = _points(acc)
    geoms = np.asarray(points.geometry.array, dtype=object)
    nearest, metres = _nearest_hazards(acc, geoms)
    points["nearest_hazard"] = nearest
    points["distance_m"] = np.where(np.isfinite(metres), metres, np.nan)  # NaN: no hazard
    points["excluded"] = _probable_errors(acc, geoms)
    points["evidence"] = points["excluded"].isna().to_numpy() & ~(metres <= distance)
    evidence = np.flatnonzero(points["evidence"].to_numpy())
    group = _dbscan(geoms[evidence], distance, min_evidence)
    points["candidate"] = pd.array([pd.NA] * len(points), dtype="Int64")
    points.loc[points.index[evidence[group >= 0]], "candidate"] = group[group >= 0] + 1
    candidates = _candidates(acc, points, distance)
    notes = [SUGGESTION]
    if (n := int(points["excluded"].notna().sum())) > 0:
        notes.append(f"{n} points left out as probable data errors (lon/lat swapped)")
    return UnmappedResult(
        points,
        candidates,
        _by_district(acc, points),
        distance,
        int(min_evidence),
        None if acc.as_of is None else acc.as_of.date().isoformat(),
        notes,
    )


def _accounting(districts, surveys, as_of, accounts) -> Accounting:
    if isinstance(districts, Accounting):
        return districts
    cache = accounts if accounts is not None else AccountingCache(districts, surveys)
    return cache.at(as_of)


def _points(acc: Accounting) -> gpd.GeoDataFrame:
    """The devices and incidents counted, with their district."""
    records = acc.records
    points = records[records["record_type"].isin(schema.POINT_TYPES)].copy()
    cols = [c for c in ("record_id", "record_type", "date", "quantity", "killed", "injured")]
    cols += [c for c in (schema.SOURCE_FILE, schema.SOURCE_ROW) if c in points.columns]
    points = gpd.GeoDataFrame(points[cols], geometry=points.geometry.array, crs=WGS84)
    zone = assign_points(np.asarray(points.geometry.array, dtype=object), acc.zones)
    names = np.array([*acc.districts["district"], schema.OUTSIDE], dtype=object)
    points.insert(2, "district", names[np.where(zone < 0, len(names) - 1, zone)])
    return points.reset_index(drop=True)


def _nearest_hazards(acc: Accounting, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The id of each point's nearest SHA/CHA record and the geodesic metres to it.

    The nearest piece is found in the region's equal-area projection; the distance is
    then the geodesic between the point and the nearest point of that piece."""
    ids = np.full(len(geoms), None, dtype=object)
    metres = np.full(len(geoms), np.inf)
    record_ids = acc.records["record_id"].to_numpy(dtype=object)
    rtype = acc.records["record_type"].to_numpy(dtype=object)
    where = region_of_points(geoms, acc.plan)
    for k, region in enumerate(acc.regions):
        mine = np.flatnonzero(where == k)
        hazard = np.isin(rtype[region.piece_record], schema.HAZARD_TYPES)
        if not len(mine) or not hazard.any():
            continue
        pieces, owner = region.pieces[hazard], region.piece_record[hazard]
        projected = project(geoms[mine], region.crs)
        tree = shapely.STRtree(pieces)
        near = tree.query_nearest(projected, all_matches=False)
        metres[mine[near[0]]] = geodesic_gap(projected[near[0]], pieces[near[1]], region.crs)
        ids[mine[near[0]]] = record_ids[owner[near[1]]]
    return ids, metres


def _probable_errors(acc: Accounting, geoms: np.ndarray) -> np.ndarray:
    """Why a point is not evidence although it lies away from the hazards: outside
    every district but inside one with lon/lat swapped (validation's swapped_lonlat)."""
    out = np.full(len(geoms), None, dtype=object)
    if not len(geoms):
        return out
    tree = shapely.STRtree(np.asarray(acc.districts.geometry.array, dtype=object))
    outside = np.ones(len(geoms), dtype=bool)
    outside[tree.query(geoms, predicate="intersects")[0]] = False
    idx = np.flatnonzero(outside)
    out[idx[inside_when_swapped(geoms[idx], tree)]] = "swapped_lonlat"
    return out


def _dbscan(geoms: np.ndarray, distance: float, min_points: int) -> np.ndarray:
    """DBSCAN labels (-1: no group) of lon/lat points on geodesic distances."""
    n = len(geoms)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    i, j = _pairs_within(geoms, distance)
    core = np.bincount(np.concatenate([i, j]), minlength=n) + 1 >= min_points  # with itself
    # groups: core points joined through core neighbours (labels spread to the smallest)
    both = core[i] & core[j]
    group = components(n, i[both], j[both])
    # a point that is not core joins the group of a core neighbour
    border = np.concatenate([np.stack([i, j], 1), np.stack([j, i], 1)])
    border = border[~core[border[:, 0]] & core[border[:, 1]]]
    joined = core.copy()
    first = np.unique(border[:, 0], return_index=True)[1]
    group[border[first, 0]] = group[border[first, 1]]
    joined[border[first, 0]] = True
    _, labels[joined] = np.unique(group[joined], return_inverse=True)
    return labels


def _pairs_within(geoms: np.ndarray, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (i < j) of lon/lat points within ``distance`` geodesic metres: found
    in a box a little larger than the distance in degrees, then measured."""
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    dy = distance / 110_000.0 * 1.01
    dx = dy / np.cos(np.radians(np.minimum(np.abs(y) + 1, 89)))
    boxes = shapely.box(x - dx, y - dy, x + dx, y + dy)
    i, j = shapely.STRtree(geoms).query(boxes, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    close = _GEOD.inv(x[i], y[i], x[j], y[j])[2] <= distance
    return i[close], j[close]


def _candidates(acc: Accounting, points: gpd.GeoDataFrame, distance: float) -> gpd.GeoDataFrame:
    """One polygon per group: the points' hull widened by ``distance``, in the
    equal-area projection of the region holding most of its points."""
    rows, geoms = [], []
    grouped = points[points["candidate"].notna()]
    for label, group in grouped.groupby("candidate"):
        lonlat = np.asarray(group.geometry.array, dtype=object)
        regions = region_of_points(lonlat, acc.plan)
        region = acc.plan[int(np.bincount(np.maximum(regions, 0)).argmax())]
        area = hull_buffer(project(lonlat, region.crs), distance)
        geoms.append(unproject(np.array([area], dtype=object), region.crs)[0])
        devices = group["record_type"] == "device"
        dates = group["date"].dropna()
        rows.append(
            {
                "candidate": int(label),
                "area_ha": float(shapely.area(area)) / M2_PER_HA,
                "evidence": len(group),
                "device_records": int(devices.sum()),
                "devices": int(group.loc[devices, "quantity"].fillna(1).sum()),
                "incidents": int((~devices).sum()),
                "killed": int(group["killed"].fillna(0).sum()),
                "injured": int(group["injured"].fillna(0).sum()),
                "first_date": dates.min().date().isoformat() if len(dates) else None,
                "last_date": dates.max().date().isoformat() if len(dates) else None,
                "districts": "; ".join(sorted(set(group["district"]))),
                "note": "suggestion for non-technical survey; not a hazard record",
            }
        )
    columns = ["candidate", "area_ha", "evidence", "device_records", "devices", "incidents"]
    columns += ["killed", "injured", "first_date", "last_date", "districts", "note"]
    frame = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(frame, geometry=geoms if geoms else [], crs=WGS84)


def _by_district(acc: Accounting, points: gpd.GeoDataFrame) -> pd.DataFrame:
    """Devices (items) and incidents per district, and how many lie away from every
    hazard: a high share says the district's hazard map is incomplete."""
    frame = pd.DataFrame(
        {
            "district": points["district"],
            "devices": np.where(
                points["record_type"] == "device", points["quantity"].fillna(1), 0
            ).astype(np.int64),
            "incidents": (points["record_type"] == "incident").astype(np.int64),
        }
    )
    away = points["evidence"].to_numpy()
    frame["devices_outside"] = np.where(away, frame["devices"], 0)
    frame["incidents_outside"] = np.where(away, frame["incidents"], 0)
    frame["excluded"] = points["excluded"].notna().astype(np.int64)
    names = [*acc.districts["district"], schema.OUTSIDE]
    table = frame.groupby("district", sort=False).sum().reindex(names, fill_value=0)
    table = table.reset_index()
    if not table.iloc[-1][["devices", "incidents", "excluded"]].any():
        table = table.iloc[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        for kind in ("devices", "incidents"):
            share = 100.0 * table[f"{kind}_outside"] / table[kind]
            table[f"{kind}_outside_pct"] = share.where(table[kind] > 0)
    order = ["district", "devices", "devices_outside", "devices_outside_pct", "incidents"]
    order += ["incidents_outside", "incidents_outside_pct", "excluded"]
    return table[order].reset_index(drop=True)
