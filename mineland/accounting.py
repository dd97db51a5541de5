"""Per-district land accounting (DESIGN §3): the heart of mineland.

Pure computation on GeoDataFrames.  Areas are ellipsoidal hectares, measured in a
Lambert azimuthal equal-area projection fitted to the data.

The classes, with U(x) the union of a set of polygons::

    H  = U(SHA ∪ CHA)        C  = U(CHA)
    CL = U(cleared)          RD = U(reduced) − CL       CN = U(cancelled) − CL − U(reduced)
    R  = CL ∪ RD ∪ CN
    remaining CHA = C − R    remaining SHA = H − C − R
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import schema
from .districts import as_districts
from .errors import DataError, SchemaError
from .geometry import (
    OverlayLog,
    area_by_zone,
    equal_area_crs,
    explode_polygons,
    map_chunks,
    repair,
    subtract,
    union_parts,
)
from .records import WGS84, SurveyData, as_survey_data

__all__ = ["CLASSES", "Accounting", "account", "summarize"]

log = logging.getLogger(__name__)

#: The disjoint accounting classes, in display order, with their summary column.
CLASSES = {
    "cha": "cha_ha",
    "sha": "sha_ha",
    "cleared": "cleared_ha",
    "reduced": "reduced_ha",
    "cancelled": "cancelled_ha",
}
M2_PER_HA = 10_000.0

Progress = Callable[[str, int, int], None]


@dataclass
class Accounting:
    """Everything :func:`account` worked out.

    ``summary`` is the per-district table; ``classes`` holds the disjoint polygons of
    each accounting class (in ``crs``, metres) that the hectares were measured on.
    """

    summary: gpd.GeoDataFrame
    classes: dict[str, np.ndarray]
    crs: pyproj.CRS
    as_of: pd.Timestamp | None
    records: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    overlay_log: OverlayLog
    diagnostics: dict = field(default_factory=dict)
    #: the districts in ``crs``, repaired and made disjoint, in summary order
    zones: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    def class_geometries(self, name: str) -> gpd.GeoSeries:
        """The polygons of one accounting class, in EPSG:4326."""
        return gpd.GeoSeries(self.classes[name], crs=self.crs).to_crs(WGS84)

    @property
    def totals(self) -> pd.Series:
        """Column sums over all rows (districts and the outside row)."""
        return total_row(self.summary)


def parse_as_of(as_of: object) -> pd.Timestamp | None:
    """Turn ``None``, a date, a datetime or an ISO string into a day Timestamp."""
    if as_of is None:
        return None
    if isinstance(as_of, (date, datetime, pd.Timestamp)):
        return pd.Timestamp(as_of).normalize().tz_localize(None)
    try:
        return pd.Timestamp(datetime.strptime(str(as_of).strip(), "%Y-%m-%d"))
    except ValueError:
        raise DataError(f"invalid as-of date {as_of!r}; use YYYY-MM-DD") from None


def _as_records(surveys) -> gpd.GeoDataFrame:
    if isinstance(surveys, gpd.GeoDataFrame) and surveys.crs is None:
        raise SchemaError("the survey GeoDataFrame has no CRS; set one with .set_crs()")
    data = as_survey_data(surveys)
    if len(data.rejected) and not isinstance(surveys, SurveyData):
        reasons = data.rejected["reason"].value_counts().head(3)
        log.warning(
            "%d survey rows not used: %s",
            len(data.rejected),
            "; ".join(f"{r} ({n})" for r, n in reasons.items()),
        )
    return data.records


def _filter_as_of(records: gpd.GeoDataFrame, as_of: pd.Timestamp | None) -> gpd.GeoDataFrame:
    if as_of is None:
        return records
    dates = records["date"]
    return records[dates.isna() | (dates <= as_of)]


def _make_disjoint(
    geoms: np.ndarray, names: list[str], overlay_log: OverlayLog
) -> tuple[np.ndarray, float]:
    """Give overlapping districts' shared area to the first of them (input order)."""
    tree = shapely.STRtree(geoms)
    ia, ib = tree.query(geoms, predicate="intersects")
    later = ia > ib  # district ia loses to the earlier ib
    ia, ib = ia[later], ib[later]
    out = geoms.copy()
    overlap_m2 = 0.0
    if len(ia):
        shared = shapely.area(shapely.intersection(geoms[ia], geoms[ib]))
        real = shared > 0
        ia, ib = ia[real], ib[real]
        overlap_m2 = float(shared[real].sum())
        for i in np.unique(ia):
            cutters = explode_polygons(geoms[ib[ia == i]])
            union = union_parts(cutters, overlay_log, "district overlap")
            left = subtract(np.array([geoms[i]], dtype=object), union, overlay_log)
            out[i] = shapely.multipolygons(left) if len(left) else shapely.MultiPolygon()
        if overlap_m2 > 0:
            pairs = sorted({(names[b], names[a]) for a, b in zip(ia, ib, strict=True)})
            log.warning(
                "districts overlap by %.2f ha in total; the shared area is counted once, in the "
                "first district: %s",
                overlap_m2 / M2_PER_HA,
                ", ".join(f"{a} / {b}" for a, b in pairs[:10]),
            )
    return out, overlap_m2 / M2_PER_HA


def _project(geoms: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    # one transformer per call: pyproj transformers are not shared between threads
    transformer = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)
    return shapely.transform(geoms, transformer.transform, interleaved=False)


def _assign_points(points: np.ndarray, zones: np.ndarray, tree) -> np.ndarray:
    """Index of the zone holding each point, -1 outside (first zone wins on a border)."""
    zone = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(zones) == 0:
        return zone
    ip, iz = tree.query(points, predicate="intersects")
    order = np.lexsort((iz, ip))
    ip, iz = ip[order], iz[order]
    first = np.unique(ip, return_index=True)[1]
    zone[ip[first]] = iz[first]
    return zone


def _disjoint_classes(
    geoms: np.ndarray, rtype: np.ndarray, overlay_log: OverlayLog
) -> dict[str, np.ndarray]:
    """The five disjoint accounting classes as arrays of polygons (see module doc).

    remaining SHA is computed as U(SHA) − C − R, which equals H − C − R without
    building H.  Independent unions and differences run in threads (GEOS releases
    the GIL); every task is submitted after the tasks it waits for, so the pool
    cannot deadlock.
    """
    with ThreadPoolExecutor(4) as pool:

        def union(kind: str):
            return pool.submit(union_parts, geoms[rtype == kind], overlay_log, f"union {kind}")

        def then(fn, *deps):
            return pool.submit(lambda: fn(*(d.result() for d in deps)))

        u_sha, u_cha = union("SHA"), union("CHA")
        u_cl, u_rd, u_cn = union("cleared"), union("reduced"), union("cancelled")
        released = then(
            lambda a, b, c: union_parts(np.concatenate([a, b, c]), overlay_log, "union releases"),
            u_cl,
            u_rd,
            u_cn,
        )
        sha_no_cha = then(lambda a, c: subtract(a, c, overlay_log), u_sha, u_cha)
        reduced = then(lambda rd, cl: subtract(rd, cl, overlay_log), u_rd, u_cl)
        cancelled = then(
            lambda cn, cl, rd: subtract(subtract(cn, cl, overlay_log), rd, overlay_log),
            u_cn,
            u_cl,
            u_rd,
        )
        cha = then(lambda c, r: subtract(c, r, overlay_log), u_cha, released)
        sha = then(lambda h, r: subtract(h, r, overlay_log), sha_no_cha, released)
        return {
            "cha": cha.result(),
            "sha": sha.result(),
            "cleared": u_cl.result(),
            "reduced": reduced.result(),
            "cancelled": cancelled.result(),
        }


def account(
    districts: gpd.GeoDataFrame,
    surveys: SurveyData | gpd.GeoDataFrame,
    /,
    *,
    as_of: object = None,
    progress: Progress | None = None,
    crs: pyproj.CRS | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> Accounting:
    """Work out the accounting classes and the per-district summary.

    See :func:`summarize` for the parameters; this returns an :class:`Accounting`
    that also holds the class geometries (for maps) and diagnostics.  ``crs`` forces
    the equal-area CRS (so that accountings at several dates can be combined);
    by default one is fitted to the districts.  ``engine="dask"`` runs the class
    arithmetic on dask (``scheduler``: a dask.distributed address); the class
    geometries are then not kept (``classes`` is empty), the figures are the same.

    Examples
    --------
    >>> acc = account(districts, surveys, as_of="2024-12-31")  # doctest: +SKIP
    >>> acc.summary, acc.class_geometries("cleared")  # doctest: +SKIP
    """
    as_of_ts = parse_as_of(as_of)
    steps = 6

    def step(label: str, k: int) -> None:
        if progress:
            progress(label, k, steps)
        log.debug("accounting: %s", label)

    step("preparing", 0)
    dist = as_districts(districts)
    records_all = _as_records(surveys)
    records = _filter_as_of(records_all, as_of_ts)
    overlay_log = OverlayLog()

    # one equal-area projection for everything, centred on the districts: the same
    # at every as-of date, so that accountings at several dates add up exactly
    if crs is None:
        crs = equal_area_crs(dist.total_bounds)

    def project(geoms: np.ndarray) -> np.ndarray:
        return map_chunks(lambda chunk: _project(chunk, crs), geoms)

    step("projecting", 1)
    zones = project(np.asarray(dist.geometry.array, dtype=object))
    zones, _ = repair(zones)
    zones = np.array(
        [shapely.multipolygons(explode_polygons(np.array([z], dtype=object))) for z in zones],
        dtype=object,
    )
    zones, overlap_ha = _make_disjoint(zones, list(dist["district"]), overlay_log)
    zone_tree = shapely.STRtree(zones)

    rtype = records["record_type"].to_numpy(dtype=object)
    geoms = np.asarray(records.geometry.array, dtype=object)
    is_area = np.isin(rtype, schema.AREA_TYPES)
    area_geoms = np.full(len(records), None, dtype=object)
    area_geoms[is_area] = project(geoms[is_area])
    repaired = map_chunks(lambda chunk: np.stack(repair(chunk)), area_geoms[is_area], axis=1)
    area_geoms[is_area] = repaired[0] if len(repaired) else area_geoms[is_area]
    reinvalid = repaired[1].astype(bool) if len(repaired) else np.zeros(0, dtype=bool)
    if reinvalid.any():
        log.info("%d polygons became invalid when projected and were repaired", reinvalid.sum())

    n_zones = len(zones)
    table = {col: np.zeros(n_zones + 1) for col in CLASSES.values()}
    if engine == "dask":
        from .engine_dask import zone_class_areas

        step("class arithmetic on dask", 2)
        areas = zone_class_areas(area_geoms[is_area], rtype[is_area], zones, scheduler=scheduler)
        for k, col in enumerate(CLASSES.values()):
            table[col][:] = areas[:, k] / M2_PER_HA
        classes = {name: np.empty(0, dtype=object) for name in CLASSES}
    elif engine == "local":
        step("union and differences of the record classes", 2)
        classes = _disjoint_classes(area_geoms, rtype, overlay_log)
        step("areas per district", 4)
        with ThreadPoolExecutor(2) as pool:
            zoned = pool.map(lambda name: area_by_zone(classes[name], zones, overlay_log), CLASSES)
            for col, za in zip(CLASSES.values(), zoned, strict=True):
                table[col][:n_zones] = za.per_zone / M2_PER_HA
                table[col][n_zones] = za.outside / M2_PER_HA
    else:
        raise DataError(f"engine must be 'local' or 'dask', got {engine!r}")

    step("counting records, devices and incidents", 5)
    counts = {k: np.zeros(n_zones + 1, dtype=np.int64) for k in ("hazard_records", "devices")}
    counts.update({k: np.zeros(n_zones + 1, dtype=np.int64) for k in ("incidents", "killed")})
    counts["injured"] = np.zeros(n_zones + 1, dtype=np.int64)
    hazard = np.isin(rtype, schema.HAZARD_TYPES)
    if hazard.any():
        anchor = map_chunks(shapely.point_on_surface, area_geoms[hazard])
        zone = _assign_points(anchor, zones, zone_tree)
        np.add.at(counts["hazard_records"], np.where(zone < 0, n_zones, zone), 1)
    points_outside = 0
    for rt in schema.POINT_TYPES:
        mask = rtype == rt
        if not mask.any():
            continue
        zone = _assign_points(project(geoms[mask]), zones, zone_tree)
        slot = np.where(zone < 0, n_zones, zone)
        points_outside += int((zone < 0).sum())
        sub = records[mask]
        if rt == "device":
            qty = sub["quantity"].fillna(1).to_numpy(dtype=np.int64)
            np.add.at(counts["devices"], slot, qty)
        else:
            np.add.at(counts["incidents"], slot, 1)
            for col in ("killed", "injured"):
                np.add.at(counts[col], slot, sub[col].fillna(0).to_numpy(dtype=np.int64))

    step("summary", 6)
    names = list(dist["district"]) + [schema.OUTSIDE]
    area = np.append(shapely.area(zones) / M2_PER_HA, np.nan)
    summary = pd.DataFrame({"district": names, "area_ha": area, **table, **counts})
    summary["contaminated_ha"] = summary["sha_ha"] + summary["cha_ha"]
    summary["released_ha"] = summary["cleared_ha"] + summary["reduced_ha"] + summary["cancelled_ha"]
    summary["recorded_ha"] = summary["contaminated_ha"] + summary["released_ha"]
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100.0 * summary["released_ha"] / summary["recorded_ha"]
    summary["released_pct"] = pct.where(summary["recorded_ha"] > 0)
    outside = summary.iloc[-1]
    outside_area = float(outside[list(CLASSES.values())].sum())
    has_outside = outside_area > 1e-6 or outside["hazard_records"] > 0 or points_outside > 0
    geometry = list(dist.geometry.array) + [None]
    summary = gpd.GeoDataFrame(summary[list(schema.SUMMARY_COLUMNS)], geometry=geometry, crs=WGS84)
    if not has_outside:
        summary = summary.iloc[:-1].copy()
    elif outside_area > 1e-6:
        log.info("%.2f ha of recorded land lie outside every district", outside_area)
    summary = summary.reset_index(drop=True)

    undated = int(records_all["date"].isna().sum())
    diagnostics = {
        "records_total": len(records_all),
        "records_counted": len(records),
        "records_after_as_of": len(records_all) - len(records),
        "records_undated": undated,
        "district_overlap_ha": overlap_ha,
        "outside_ha": outside_area if has_outside else 0.0,
        "points_outside": points_outside,
        "overlay_retries": len(overlay_log),
        "equal_area_crs": crs.srs,
    }
    if len(overlay_log):
        log.warning(
            "GEOS refused %d overlay operations; they were retried on a 1 cm grid", len(overlay_log)
        )
    summary.attrs["mineland"] = {
        "as_of": None if as_of_ts is None else as_of_ts.date().isoformat(),
        **diagnostics,
    }
    return Accounting(
        summary=summary,
        classes=classes,
        crs=crs,
        as_of=as_of_ts,
        records=records,
        districts=dist,
        overlay_log=overlay_log,
        diagnostics=diagnostics,
        zones=zones,
    )


def summarize(
    districts: gpd.GeoDataFrame,
    surveys: SurveyData | gpd.GeoDataFrame,
    /,
    *,
    as_of: object = None,
    progress: Progress | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> gpd.GeoDataFrame:
    """Hectares of contaminated and released land per district.

    Parameters
    ----------
    districts
        From :func:`mineland.read_districts`, or any polygon GeoDataFrame with a name
        column.
    surveys
        From :func:`mineland.read_surveys`, or a GeoDataFrame in the canonical schema.
    as_of
        Count only records dated on or before this day (undated records always count).
        A ``date``, ``datetime`` or ``"YYYY-MM-DD"``.
    engine, scheduler
        ``"local"`` (threads in this process) or ``"dask"`` (dask-geopandas spatial
        partitions; ``scheduler`` is a dask.distributed address such as
        ``"tcp://10.0.0.5:8786"``, by default dask's local threads).  Needs
        ``pip install mineland[dask]``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per district (plus ``(outside districts)`` when anything falls outside
        them) with ``area_ha``, ``sha_ha``, ``cha_ha``, ``contaminated_ha``,
        ``cancelled_ha``, ``reduced_ha``, ``cleared_ha``, ``released_ha``,
        ``recorded_ha``, ``released_pct``, ``hazard_records``, ``devices``,
        ``incidents``, ``killed`` and ``injured``.  Areas are ellipsoidal hectares.

    Examples
    --------
    >>> summary = summarize(read_districts("d.gpkg"), read_surveys("s.gpkg"))  # doctest: +SKIP
    """
    return account(
        districts, surveys, as_of=as_of, progress=progress, engine=engine, scheduler=scheduler
    ).summary


def total_row(summary: pd.DataFrame) -> pd.Series:
    """Sums over every row of a summary, with released_pct recomputed from the sums."""
    numeric = [c for c in schema.SUMMARY_COLUMNS if c not in ("district", "released_pct")]
    totals = summary[numeric].sum(numeric_only=True).astype(object)
    recorded = float(totals["recorded_ha"])
    totals["released_pct"] = 100.0 * totals["released_ha"] / recorded if recorded > 0 else np.nan
    totals["district"] = "Total"
    return totals
