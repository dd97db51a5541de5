"""Per-district land accounting: the heart of mineland.

Pure computation on GeoDataFrames.  Areas are ellipsoidal hectares: every polygon
gets vertices on its geodesic edges and is measured in a Lambert azimuthal
equal-area projection fitted to its region (:mod:`mineland.regions`); the class
arithmetic is in :mod:`mineland.classes`, the district zones in
:mod:`mineland.zones`.
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
from .classes import CLASSES, HAZARD_LAYERS
from .counts import count_records, record_slots, record_weights
from .districts import as_districts
from .engines import LocalEngine, PieceOrigin, get_engine
from .errors import DataError, SchemaError
from .geometry import OverlayLog, clip_by_zone, subtract
from .records import WGS84, SurveyData, as_survey_data
from .regions import Region, plan_regions
from .tables import BBOX_ATTR
from .zones import (
    M2_PER_HA,
    RegionZones,
    add_to_districts,
    overlap_ha,
    prepare_geometries,
    prepare_zones,
    unproject,
)

__all__ = [
    "CLASSES",
    "Accounting",
    "AccountingCache",
    "RegionAccounting",
    "account",
    "summarize",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
#: a class piece smaller than this (0.01 m²) that vanishes in lon/lat is left out of
#: :meth:`Accounting.class_pieces`: a sliver a rounding error wide
SLIVER_HA = 1e-6


@dataclass
class RegionAccounting:
    """The accounting of one equal-area region: zones, record pieces and classes."""

    zones: RegionZones
    #: projected pieces of the area records counted, and the record row of each
    pieces: np.ndarray
    piece_record: np.ndarray
    #: the disjoint polygons of each class and of H's layers (see keeps_classes)
    classes: dict[str, np.ndarray]
    #: for the remaining SHA and CHA (:data:`~mineland.classes.WITHIN`), the part of
    #: their layer of H that each polygon lies in (empty where no classes are kept)
    parents: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def crs(self) -> pyproj.CRS:
        return self.zones.crs

    @property
    def keeps_classes(self) -> bool:
        """Whether the polygons were kept (not by dask, nor with keep_classes=False)."""
        return all(k in self.classes for k in (*CLASSES, *HAZARD_LAYERS))


@dataclass
class Accounting:
    """Everything :func:`account` worked out.

    ``summary`` is the per-district table; ``regions`` holds, per equal-area region,
    the district zones and the disjoint polygons of each accounting class that the
    hectares were measured on (in that region's projection, metres).
    """

    summary: gpd.GeoDataFrame
    regions: list[RegionAccounting]
    as_of: pd.Timestamp | None
    records: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    overlay_log: OverlayLog
    diagnostics: dict = field(default_factory=dict)
    #: ha of H (every hazard) per district and outside (None from the dask engine)
    hazard_ha: np.ndarray | None = None
    #: per record, the district row that counts it (``len(districts)``: outside every
    #: district; -1: not counted, as releases are): see :func:`record_slots`
    record_slots: np.ndarray | None = None

    @property
    def keeps_classes(self) -> bool:
        """Whether the class polygons were kept (see :class:`RegionAccounting`)."""
        return all(r.keeps_classes for r in self.regions)

    def _need_classes(self) -> None:
        if not self.keeps_classes:
            raise DataError(
                "this accounting keeps no class polygons (the dask engine and "
                "keep_classes=False measure them and keep none); work it out with the "
                "local engine and keep_classes=True"
            )

    @property
    def plan(self) -> list[Region]:
        """The equal-area regions, to reuse for another as-of date."""
        return [r.zones.region for r in self.regions]

    @property
    def zones(self) -> list[RegionZones]:
        return [r.zones for r in self.regions]

    @property
    def crs(self) -> pyproj.CRS:
        """The equal-area CRS, when one region holds everything."""
        if len(self.regions) != 1:
            raise DataError(
                f"the data spans {len(self.regions)} equal-area regions; there is no single "
                "projection for all of it"
            )
        return self.regions[0].crs

    def class_geometries(self, name: str) -> gpd.GeoSeries:
        """The polygons of one accounting class, in EPSG:4326."""
        self._need_classes()
        parts = [unproject(r.classes[name], r.crs) for r in self.regions]
        geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        return gpd.GeoSeries(geoms, crs=WGS84)

    def class_pieces(self) -> gpd.GeoDataFrame:
        """Every accounting class polygon cut by the districts, in EPSG:4326, with its
        ``class``, ``district`` (:data:`~mineland.schema.OUTSIDE` outside them all)
        and ``area_ha``, measured as the summary measures it: per district and class,
        the pieces' hectares add up to the summary's."""
        self._need_classes()
        frames = [self._region_pieces(r) for r in self.regions]
        frames = [f for f in frames if len(f)]
        if not frames:
            columns = {"class": [], "district": [], "area_ha": []}
            return gpd.GeoDataFrame(columns, geometry=[], crs=WGS84)
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)

    def _region_pieces(self, r: RegionAccounting) -> pd.DataFrame:
        names = self.districts["district"].to_numpy(dtype=object)
        rows = []
        for name in CLASSES:
            parts = r.classes.get(name, np.empty(0, dtype=object))
            pieces, _, iz = clip_by_zone(parts, r.zones.zones, self.overlay_log)
            outside = shapely.get_parts(
                subtract(parts, r.zones.zones, self.overlay_log, shared_edges=True)
            )
            geoms = np.concatenate([pieces, outside])
            district = np.concatenate(
                [names[r.zones.district[iz]], np.full(len(outside), schema.OUTSIDE, dtype=object)]
            )
            keep = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
            ha, drawn = shapely.area(geoms[keep]) / 1e4, unproject(geoms[keep], r.crs)
            # a sliver that vanishes in lon/lat is no row, rather than one without shape
            shown = ~shapely.is_missing(drawn) | (ha >= SLIVER_HA)
            frame = {"class": name, "district": district[keep], "area_ha": ha, "geometry": drawn}
            rows.append(pd.DataFrame(frame)[shown])
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

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


def warn_if_before_every_date(records, when: pd.Timestamp | None, what: str) -> None:
    """A warning when ``when`` falls before every dated record: then only the undated
    records count, and a mistyped year (2012 for 2021) gives a table that looks real."""
    first = records["date"].min() if when is not None else pd.NaT
    if pd.notna(first) and first > when:
        undated = int(records["date"].isna().sum())
        log.warning(
            "%s %s is before every dated record (the first is dated %s): only the %d "
            "undated records count",
            what,
            when.date(),
            first.date(),
            undated,
        )


def account(
    districts: gpd.GeoDataFrame,
    surveys: SurveyData | gpd.GeoDataFrame,
    /,
    *,
    as_of: object = None,
    progress: Progress | None = None,
    crs: pyproj.CRS | None = None,
    regions: list[Region] | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
    keep_classes: bool = True,
) -> Accounting:
    """Work out the accounting classes and the per-district summary.

    See :func:`summarize` for the parameters; this returns an :class:`Accounting`
    that also holds the class geometries (for maps) and diagnostics.  ``regions``
    (an earlier accounting's ``plan``) or ``crs`` (one equal-area CRS for
    everything) force the projections, so that accountings at several dates can be
    combined; by default they are planned from the districts and all records.
    ``engine="dask"`` runs the class arithmetic on dask (``scheduler``: a
    dask.distributed address, which must answer within ``connect_timeout`` seconds);
    the class geometries are then not kept, the figures are the same.
    ``keep_classes=False`` (local engine) works the class polygons out a batch of
    clusters at a time, measures them and keeps none, nor their unions: for the
    summary alone, in a fraction of the memory.  ``hazard_ha`` holds H per district
    (for the validation) with the local engine either way.

    Examples
    --------
    >>> acc = account(districts, surveys, as_of="2024-12-31")  # doctest: +SKIP
    >>> acc.summary, acc.class_geometries("cleared")  # doctest: +SKIP
    """
    runner = get_engine(
        engine,
        scheduler=scheduler,
        connect_timeout=connect_timeout,
        progress=progress,
        keep_classes=keep_classes,
    )
    with runner:  # a cluster is reached (or not) before any work
        return _account(districts, surveys, as_of, progress, crs, regions, runner)


def account_for_checks(districts, surveys, /) -> Accounting:
    """The accounting :func:`mineland.validate` works out when it is given none: every
    class polygon kept (the checks draw with them), but the remaining SHA and CHA of
    each part of H's layers kept whole, as the checks only measure those two (taking
    apart the slivers a release drawn along its hazard leaves costs more)."""
    with LocalEngine(keep_classes=True, split=False) as runner:
        return _account(districts, surveys, None, None, None, None, runner)


def _account(districts, surveys, as_of, progress, crs, regions, runner) -> Accounting:
    as_of_ts = parse_as_of(as_of)
    step = _stepper(progress)
    step("preparing", 0)
    dist = as_districts(districts)
    records_all = _as_records(surveys)
    records = _filter_as_of(records_all, as_of_ts)
    warn_if_before_every_date(records_all, as_of_ts, "the as-of date")
    overlay_log = OverlayLog()
    plan = _plan(dist, records_all, crs, regions)
    step("projecting", 1)
    zones, rtype, area_idx, prepared = projected_inputs(dist, records, plan, overlay_log)
    step("union and differences of the record classes", 2)
    projected = (prepared, area_idx, _origin(records, plan))
    parts, table, hazard = _class_areas(projected, rtype, zones, len(dist), runner, overlay_log)
    step("counting records, devices and incidents", 5)
    slots = record_slots(records, rtype, parts, len(dist))
    counts, points_outside = count_records(rtype, slots, record_weights(records), len(dist))
    step("summary", 6)
    summary, outside_area = summary_table(dist, zones, table, counts, points_outside)
    diagnostics = {
        "records_total": len(records_all),
        "records_counted": len(records),
        "records_after_as_of": len(records_all) - len(records),
        "records_undated": int(records_all["date"].isna().sum()),
        "district_overlap_ha": overlap_ha(zones),
        "outside_ha": outside_area,
        "points_outside": points_outside,
        "overlay_retries": len(overlay_log),
        "regions": len(plan),
        "equal_area_crs": plan[0].crs.srs if len(plan) == 1 else f"{len(plan)} regions",
    }
    if overlay_log.snapped:
        log.warning(
            "GEOS refused %d overlay operations; they were retried on grids of 1 cm up to 1 m",
            overlay_log.snapped,
        )
    summary.attrs["mineland"] = {
        "as_of": None if as_of_ts is None else as_of_ts.date().isoformat(),
        "bbox": records_all.attrs.get(BBOX_ATTR),
        **diagnostics,
    }
    return Accounting(
        summary, parts, as_of_ts, records, dist, overlay_log, diagnostics, hazard, slots
    )


def projected_inputs(dist, records, plan, overlay_log):
    """The district zones and the area records' pieces of every region (projected,
    repaired), the record types and the rows of the area records.  The districts are
    prepared in a thread beside the records: neither waits on the other."""
    with ThreadPoolExecutor(1) as side:
        zones = side.submit(
            prepare_zones,
            np.asarray(dist.geometry.array, dtype=object),
            list(dist["district"]),
            plan,
            overlay_log,
        )
        rtype = records["record_type"].to_numpy(dtype=object)
        area_idx = np.flatnonzero(np.isin(rtype, schema.AREA_TYPES))
        prepared = prepare_geometries(
            np.asarray(records.geometry.array, dtype=object)[area_idx], plan, overlay_log
        )
        return zones.result(), rtype, area_idx, prepared


def _stepper(progress: Progress | None, steps: int = 6) -> Callable[[str, int], None]:
    def step(label: str, k: int) -> None:
        if progress:
            progress(label, k, steps)
        log.debug("accounting: %s", label)

    return step


def _plan(dist, records, crs, regions) -> list[Region]:
    if regions is not None:
        return list(regions)
    if crs is not None:
        return [Region(pyproj.CRS.from_user_input(crs))]
    other = shapely.bounds(np.asarray(records.geometry.array, dtype=object))
    plan = plan_regions(shapely.bounds(np.asarray(dist.geometry.array, dtype=object)), other)
    if len(plan) > 1:
        log.info("the data spans %d equal-area regions of about 1,000 km", len(plan))
    return plan


def _origin(records, plan) -> Callable[[int, np.ndarray], PieceOrigin | None]:
    """The origin of the pieces of region ``k`` whose records are ``rec``."""
    columns = (schema.SOURCE_FILE, schema.SOURCE_ROW)
    if not all(c in records.columns for c in columns):
        return lambda k, rec: None
    files, rows = (records[c].to_numpy() for c in columns)
    return lambda k, rec: PieceOrigin(files[rec], rows[rec], plan, k)


def _class_areas(
    projected, rtype, zones, n, engine, overlay_log
) -> tuple[list[RegionAccounting], dict[str, np.ndarray], np.ndarray | None]:
    """Class areas (ha) per district (+ outside), region by region, on ``engine``, and
    H's (None from an engine that does not measure it).  ``projected``: the pieces of
    each region, their records (rows of the area records) and origin."""
    prepared, area_idx, origin = projected
    out, table, hazard = [], np.zeros((n + 1, len(CLASSES))), np.zeros(n + 1)
    for k, ((pieces, owner), rz) in enumerate(zip(prepared, zones, strict=True)):
        rec = area_idx[owner]
        result = engine.region_classes(pieces, rtype[rec], rz.zones, overlay_log, origin(k, rec))
        out.append(RegionAccounting(rz, pieces, rec, result.classes, result.parents))
        add_to_districts(table, rz, result.zone_m2[:-1], result.zone_m2[-1])
        if result.hazard_m2 is None:
            hazard = None
        elif hazard is not None:
            add_to_districts(hazard, rz, result.hazard_m2[:-1], result.hazard_m2[-1])
    columns = {col: table[:, k] / M2_PER_HA for k, col in enumerate(CLASSES.values())}
    return out, columns, None if hazard is None else hazard / M2_PER_HA


def summary_table(dist, zones, table, counts, points_outside) -> tuple[gpd.GeoDataFrame, float]:
    """The summary table; the outside row only when something lies outside."""
    n = len(dist)
    area = np.zeros(n)
    for rz in zones:
        np.add.at(area, rz.district, shapely.area(rz.zones) / M2_PER_HA)
    names = list(dist["district"]) + [schema.OUTSIDE]
    summary = pd.DataFrame(
        {"district": names, "area_ha": np.append(area, np.nan), **table, **counts}
    )
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
    return summary.reset_index(drop=True), outside_area if has_outside else 0.0


def summarize(
    districts: gpd.GeoDataFrame,
    surveys: SurveyData | gpd.GeoDataFrame,
    /,
    *,
    as_of: object = None,
    progress: Progress | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
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
        ``"local"`` (threads in this process) or ``"dask"`` (the records cut into
        spatial partitions along a Hilbert curve, see :mod:`mineland.engines`;
        ``scheduler`` is a dask.distributed address such as ``"tcp://10.0.0.5:8786"``,
        by default dask's local threads).  Needs ``pip install mineland[dask]``.
        A cluster's tasks survive the loss of workers while one remains.
    connect_timeout
        Seconds to wait for the dask scheduler before giving up (a ``ClusterError``).

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
        districts,
        surveys,
        as_of=as_of,
        progress=progress,
        engine=engine,
        scheduler=scheduler,
        connect_timeout=connect_timeout,
        keep_classes=False,  # the table alone: no class polygon is kept
    ).summary


class AccountingCache:
    """Accountings of one dataset at several dates, each worked out once.

    Every date shares the equal-area regions of the first accounting (planned from
    all records), so their figures can be subtracted from one another.  A report,
    the progress table, validation and the map ask it for the dates they need and
    each distinct date is computed once.

    Examples
    --------
    >>> cache = AccountingCache(districts, surveys)  # doctest: +SKIP
    >>> cache.at(None).summary, cache.at("2024-12-31").summary  # doctest: +SKIP
    """

    def __init__(self, districts, surveys, /, *, progress: Progress | None = None) -> None:
        self.districts = as_districts(districts)
        self.records = _as_records(surveys)
        self._progress = progress
        self._done: dict[pd.Timestamp | None, Accounting] = {}
        self._plan: list[Region] | None = None

    @property
    def plan(self) -> list[Region]:
        """The equal-area regions every date shares (planned from all records)."""
        if self._plan is None:
            done = next(iter(self._done.values()), None)
            self._plan = done.plan if done else _plan(self.districts, self.records, None, None)
        return self._plan

    def at(self, as_of: object = None) -> Accounting:
        """The accounting of the records dated on or before ``as_of`` (all: None)."""
        key = parse_as_of(as_of)
        if key not in self._done:
            self._done[key] = account(
                self.districts, self.records, as_of=key, regions=self.plan, progress=self._progress
            )
        return self._done[key]

    def known(self, as_of: object = None) -> Accounting | None:
        """The accounting at ``as_of`` if it has been worked out, else None."""
        return self._done.get(parse_as_of(as_of))

    def add(self, accounting: Accounting) -> None:
        """Keep an accounting made elsewhere (with the same records) for its date."""
        self._done.setdefault(accounting.as_of, accounting)

    @property
    def dates(self) -> list[pd.Timestamp | None]:
        """The dates worked out so far."""
        return list(self._done)


def total_row(summary: pd.DataFrame) -> pd.Series:
    """Sums over every row of a summary, with released_pct recomputed from the sums."""
    numeric = [c for c in schema.SUMMARY_COLUMNS if c not in ("district", "released_pct")]
    totals = summary[numeric].sum(numeric_only=True).astype(object)
    recorded = float(totals["recorded_ha"])
    totals["released_pct"] = 100.0 * totals["released_ha"] / recorded if recorded > 0 else np.nan
    totals["district"] = "Total"
    return totals
