"""Data-quality checks: what is wrong, where, and what it does to the hectares.

Pure computation on what the readers returned.  Every finding names its check, a
severity, the source file and row, the record_id, the bad value, and a geometry
where one applies.  Nothing is changed: the findings only describe.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import schema
from .accounting import M2_PER_HA, account, parse_as_of
from .classes import HAZARD, METHODS
from .districts import as_districts
from .errors import attempt
from .geometry import (
    OverlayLog,
    clip_by_zone,
    explode_polygons,
    intersection,
    subtract,
    union_all,
    union_parts,
)
from .records import WGS84, SurveyData, as_survey_data
from .zones import project

__all__ = ["CHECKS", "ValidationReport", "far_files", "fold_name", "names_match", "validate"]

_GEOD = pyproj.Geod(ellps="WGS84")

#: check id -> (severity, what it means)
CHECKS: dict[str, tuple[str, str]] = {
    # schema
    "unreadable_file": ("error", "a file could not be read at all"),
    "missing_column": ("error", "a required column (record_type) is missing"),
    "malformed_row": ("error", "a CSV row that cannot be split into its fields"),
    "shapefile_mismatch": ("error", "a Shapefile whose shapes and attribute rows differ"),
    "missing_record_id": ("warning", "no record_id column: ids were made from file and row"),
    "unknown_record_type": ("error", "record_type is empty or not a known type"),
    "bad_date": ("error", "a date cannot be read"),
    "bad_count": ("error", "quantity/killed/injured is negative, fractional or absurd"),
    "duplicate_record_id": ("error", "a record_id is used twice (the later row is rejected)"),
    "duplicate_id_variant": ("warning", "record_ids that differ only in case or spacing"),
    # geometry
    "empty_geometry": ("error", "no geometry, or an empty one"),
    "unreadable_geometry": ("error", "the geometry cannot be read (or has NaN coordinates)"),
    "invalid_geometry": ("error", "invalid geometry, rejected (on_invalid='reject')"),
    "repaired_geometry": ("warning", "invalid geometry repaired with make_valid"),
    "too_few_vertices": ("error", "a polygon with fewer than 3 distinct vertices"),
    "wrong_geometry_type": ("error", "a geometry type that does not fit the record_type"),
    "long_edge": ("warning", "consecutive vertices far apart (a likely typo)"),
    "duplicate_geometry": ("warning", "exactly the same geometry as another record"),
    # CRS and location
    "missing_crs": ("error", "a file declares no CRS and none was given"),
    "other_crs": ("error", "coordinates that belong to another CRS"),
    "outside_districts": ("warning", "a record outside every district"),
    "swapped_lonlat": ("error", "lon/lat swapped: the swapped point lies in the districts"),
    # dates
    "future_date": ("warning", "a date after today"),
    "release_before_hazard": ("warning", "a release dated before its hazard (hazard_id)"),
    "date_before_start": ("warning", "a date before the configured start"),
    "undated_records": ("info", "records without a date count at every as-of date"),
    # accounting
    "released_outside_hazard": ("warning", "released land outside every recorded hazard"),
    "overlapping_hazards": ("warning", "SHA/CHA records overlapping: hectares recorded twice"),
    "district_overlap": ("error", "districts overlapping each other"),
    "district_gap": ("warning", "a gap between districts"),
    "closed_hazard_unreleased": ("warning", "a hazard marked closed that is partly unreleased"),
    # district names
    "district_mismatch": ("warning", "the record's district attribute disagrees with its place"),
    # the district layer itself
    "district_repaired": ("warning", "an invalid district polygon repaired with make_valid"),
    "district_dropped": ("warning", "a district feature without a polygon, left out"),
    "district_unnamed": ("warning", "a district feature without a name"),
}
SEVERITIES = ("error", "warning", "info")
_CLOSED = {"closed", "completed", "complete", "released", "cancelled", "canceled", "cleared"}
FINDING_COLUMNS = [
    "check",
    "severity",
    schema.SOURCE_FILE,
    schema.SOURCE_ROW,
    "record_id",
    "message",
    "area_ha",
]


@dataclass
class ValidationReport:
    """Findings, one per problem, and the row accounting of every input file."""

    findings: gpd.GeoDataFrame
    conservation: pd.DataFrame
    options: dict = field(default_factory=dict)
    #: checks that failed to run (the others still ran): "ErrorType: message"
    failures: list[str] = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        """Findings counted per check and severity, worst first."""
        if len(self.findings) == 0:
            return pd.DataFrame(columns=["check", "severity", "findings", "meaning"])
        counts = self.findings.groupby(["check", "severity"]).size().rename("findings")
        out = counts.reset_index()
        out["meaning"] = out["check"].map(lambda c: CHECKS.get(c, ("", ""))[1])
        out["_s"] = out["severity"].map(SEVERITIES.index)
        return (
            out.sort_values(["_s", "findings"], ascending=[True, False])
            .drop(columns="_s")
            .reset_index(drop=True)
        )

    def count(self, severity: str) -> int:
        return int((self.findings["severity"] == severity).sum()) if len(self.findings) else 0

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def warnings(self) -> int:
        return self.count("warning")

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when clean, 1 with errors (or warnings too when ``strict``)."""
        return 1 if self.errors or (strict and self.warnings) else 0


class _Findings:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.geoms: list[object] = []
        #: checks that could not run: "ErrorType: message"
        self.failures: list[str] = []

    def add(
        self,
        check,
        message,
        *,
        rec=None,
        source=None,
        row=None,
        record_id=None,
        geom=None,
        area=None,
    ):
        """One finding; ``rec`` (a record row) gives its file, row and record_id."""
        if rec is not None:
            source, row, record_id = (
                rec[schema.SOURCE_FILE],
                rec[schema.SOURCE_ROW],
                rec["record_id"],
            )
        self.add_many(
            check,
            [message],
            sources=[source],
            rows=[row],
            record_ids=[record_id],
            geoms=[geom],
            areas=[area],
        )

    def add_many(self, check, messages, *, sources, rows, record_ids, geoms, areas) -> None:
        """Many findings of one check at once (columns as sequences)."""
        severity = CHECKS[check][0]
        for m, src, row, rid, g, a in zip(
            messages, sources, rows, record_ids, geoms, areas, strict=True
        ):
            self.rows.append(
                {
                    "check": check,
                    "severity": severity,
                    schema.SOURCE_FILE: src,
                    schema.SOURCE_ROW: None if row is None or pd.isna(row) else int(row),
                    "record_id": rid,
                    "message": m,
                    "area_ha": a,
                }
            )
            self.geoms.append(g)

    def frame(self) -> gpd.GeoDataFrame:
        table = pd.DataFrame(self.rows, columns=FINDING_COLUMNS)
        table[schema.SOURCE_ROW] = table[schema.SOURCE_ROW].astype("Int64")
        geometry = gpd.GeoSeries(list(self.geoms), index=table.index, crs=WGS84)
        return gpd.GeoDataFrame(table, geometry=geometry, crs=WGS84)


# --------------------------------------------------------------------------- names

_TRANSLIT = str.maketrans(
    {
        "ə": "a",
        "ı": "i",
        "ü": "u",
        "ö": "o",
        "ğ": "g",
        "ş": "sh",
        "ç": "ch",
        "q": "g",
        "c": "j",
        "x": "kh",
        "y": "i",
        "ž": "z",
        "š": "s",
        "č": "c",
        "ć": "c",
        "đ": "dj",
    }
)
_ADMIN_WORDS = re.compile(r"\b(district|rayon|rayonu|region|city|şəhəri|seheri|municipality)\b")


def fold_name(name: object) -> str:
    """A district name reduced for tolerant matching (Cəbrayıl → jabraiil, Fizuli...)."""
    text = unicodedata.normalize("NFC", str(name)).casefold()
    text = _ADMIN_WORDS.sub(" ", text).translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if ch.isalnum())
    return text


def names_match(a: object, b: object, *, threshold: float = 0.8) -> bool:
    """Whether two district names are the same place, allowing transliterations."""
    fa, fb = fold_name(a), fold_name(b)
    if not fa or not fb:
        return False
    return fa == fb or difflib.SequenceMatcher(None, fa, fb).ratio() >= threshold


# --------------------------------------------------------------------------- checks


def _from_rejected(data: SurveyData, f: _Findings) -> None:
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
            for note in str(src["note"]).split("; "):
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


def _ids(records: gpd.GeoDataFrame, f: _Findings) -> None:
    ids = records["record_id"].astype(str)
    stem = (
        records[schema.SOURCE_FILE].astype(str).str.replace("\\", "/").str.rsplit("/", n=1).str[-1]
    )
    rows = records[schema.SOURCE_ROW].astype(str)
    made = pd.Series(
        [
            i.endswith(f"#{r}") and st in i
            for i, r, st in zip(ids, rows, stem.astype(str), strict=True)
        ],
        index=ids.index,
    )
    for src, n in records[made.to_numpy()].groupby(schema.SOURCE_FILE).size().items():
        f.add(
            "missing_record_id",
            f"{n} records have no record_id; made from file and row",
            source=src,
        )
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


def _geometry_checks(records: gpd.GeoDataFrame, f: _Findings, max_gap_km: float) -> None:
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
        rings, owner = shapely.get_rings(
            shapely.get_parts(geoms, return_index=True)[0], return_index=True
        )
        part_owner = shapely.get_parts(geoms, return_index=True)[1]
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        same = ring_of[1:] == ring_of[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        if len(a):
            _, _, dist = geod.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
            long = np.flatnonzero(dist > max_gap_km * 1000)
            seen = set()
            for k in long:
                rec = part_owner[owner[ring_of[1:][same][k]]]
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
        keys = pd.Series(shapely.to_wkb(shapely.normalize(geoms), hex=True))
        repeated = keys.duplicated(keep=False).to_numpy()
        first: dict[str, int] = {}
        for i in np.flatnonzero(repeated):
            k = keys.iloc[i]
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


def _date_checks(records, f: _Findings, today: pd.Timestamp, start: pd.Timestamp | None) -> None:
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


def validate(
    districts: gpd.GeoDataFrame,
    surveys: SurveyData | gpd.GeoDataFrame,
    /,
    *,
    start_date: object = None,
    today: object = None,
    max_vertex_gap_km: float = 5.0,
    accounting=None,
) -> ValidationReport:
    """Check survey records and districts; report every problem found.

    Parameters
    ----------
    districts
        From :func:`mineland.read_districts`.
    surveys
        From :func:`mineland.read_surveys` (with ``on_file_error="reject"`` to get
        findings for unreadable files instead of an exception).
    start_date
        Flag dates before this day (for Karabakh, ``"2020-11-10"``); off by default.
    today
        The day after which dates are in the future (default: today).
    max_vertex_gap_km
        Consecutive polygon vertices farther apart than this are flagged.
    accounting
        The :func:`mineland.account` of the same data without an as-of date, to
        reuse instead of computing it again.

    Returns
    -------
    ValidationReport
        ``findings`` (GeoDataFrame: check, severity, source_file, source_row,
        record_id, message, area_ha, geometry), ``summary`` and ``conservation``.

    Examples
    --------
    >>> report = validate(read_districts("d.gpkg"), read_surveys("s"))  # doctest: +SKIP
    >>> report.summary  # doctest: +SKIP
    """
    data = as_survey_data(surveys, on_file_error="reject")
    dist = as_districts(districts)
    records = data.records
    f = _Findings()
    _from_rejected(data, f)
    source = dist.attrs.get("source")
    for name in dist.attrs.get("repaired", []):
        f.add("district_repaired", f"district {name!r} was invalid and was repaired", source=source)
    for text in dist.attrs.get("dropped", []):
        f.add("district_dropped", text, source=source)
    for name in dist["district"]:
        if str(name).startswith("(unnamed feature "):
            f.add("district_unnamed", f"a district has no name; shown as {name!r}", source=source)
    if len(records):
        _ids(records, f)
        _geometry_checks(records, f, max_vertex_gap_km)
        today_ts = parse_as_of(today) if today is not None else pd.Timestamp(date.today())
        start = parse_as_of(start_date) if start_date is not None else None
        _date_checks(records, f, today_ts, start)
    reuse = accounting is not None and accounting.as_of is None
    acc = accounting if reuse else account(dist, data)
    _spatial_checks(acc, records, dist, f)
    conservation = data.sources.copy()
    if len(conservation):
        conservation["balanced"] = (
            conservation["rows"] == conservation["used"] + conservation["rejected"]
        )
    return ValidationReport(
        f.frame(),
        conservation,
        {"start_date": start_date, "today": str(today), "max_vertex_gap_km": max_vertex_gap_km},
        f.failures,
    )


def _spatial_checks(acc, records: gpd.GeoDataFrame, dist: gpd.GeoDataFrame, f: _Findings) -> None:
    """Checks on where things are; each runs on its own, so one failing spares the rest."""
    log = OverlayLog()
    names = list(dist["district"])
    checks = {
        "district overlaps and gaps": lambda: _district_checks(acc, names, f, log),
        "location": lambda: _location_checks(records, dist, f),
        "released outside hazards": lambda: _released_outside_hazard(acc, records, names, f, log),
        "overlapping hazards": lambda: _overlapping_hazards(acc, records, f, log),
        "closed hazards": lambda: _closed_unreleased(acc, records, f, log),
        "district names": lambda: _district_mismatch(records, dist, f),
    }
    for what, check in checks.items():  # a failed check must not take the others down
        attempt(what, check, failures=f.failures)


def _ha(area: float) -> str:
    """Hectares with enough decimals that a small area does not read as 0.00."""
    return f"{area:,.2f}" if area >= 0.01 else f"{area:.4f}"


def _to_wgs(geoms, crs):
    return project(np.atleast_1d(np.asarray(geoms, dtype=object)), crs, inverse=True)


def _district_checks(acc, names: list[str], f: _Findings, log: OverlayLog) -> None:
    """Districts overlapping each other, and gaps between them."""
    for region in acc.regions:
        for a, b, shared in region.zones.overlaps:
            area = shapely.area(shared) / M2_PER_HA
            if area > 1e-4:
                f.add(
                    "district_overlap",
                    f"districts {names[a]!r} and {names[b]!r} overlap by {_ha(area)} ha",
                    geom=_to_wgs(shared, region.crs)[0],
                    area=area,
                )
        union = union_parts(region.zones.zones, log, "districts")
        holes = [shapely.Polygon(h) for p in union for h in p.interiors]
        for gap in holes:
            area = gap.area / M2_PER_HA
            if area >= 0.01:
                c = _to_wgs(gap.representative_point(), region.crs)[0]
                f.add(
                    "district_gap",
                    f"a gap of {area:,.2f} ha between districts near ({c.x:.5f}, {c.y:.5f})",
                    geom=_to_wgs(gap, region.crs)[0],
                    area=area,
                )


def _distance_m(geoms: np.ndarray, zones: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """Geodesic distance (m) from each lon/lat geometry to the nearest of ``zones``
    (lon/lat, indexed by ``tree``), measured between the nearest points."""
    out = np.full(len(geoms), np.nan)
    if len(geoms) == 0 or len(zones) == 0:
        return out
    near = tree.query_nearest(geoms, all_matches=False)
    ends = shapely.get_coordinates(shapely.shortest_line(geoms[near[0]], zones[near[1]]))
    ends = ends.reshape(-1, 2, 2)
    out[near[0]] = _GEOD.inv(ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1])[2]
    return out


def _location_checks(records: gpd.GeoDataFrame, dist: gpd.GeoDataFrame, f: _Findings) -> None:
    """Records outside every district (with the geodesic distance), swapped lon/lat."""
    if len(records) == 0:
        return
    zones = np.asarray(dist.geometry.array, dtype=object)
    tree = shapely.STRtree(zones)
    geoms = np.asarray(records.geometry.array, dtype=object)
    hit = np.zeros(len(records), dtype=bool)
    hit[tree.query(geoms, predicate="intersects")[0]] = True
    idx = np.flatnonzero(~hit)
    if not len(idx):
        return
    distance = _distance_m(geoms[idx], zones, tree)
    swapped = shapely.transform(geoms[idx], lambda c: c[:, ::-1])
    valid_swap = np.all(np.abs(shapely.bounds(swapped)[:, [1, 3]]) <= 90, axis=1)
    sw_hit = np.zeros(len(idx), dtype=bool)
    if valid_swap.any():
        j, _ = tree.query(swapped[valid_swap], predicate="intersects")
        sw_hit[np.flatnonzero(valid_swap)[j]] = True
    for k, i in enumerate(idx):
        r = records.iloc[i]
        if sw_hit[k]:
            message = "outside every district, but inside one with lon and lat swapped"
            f.add("swapped_lonlat", message, rec=r, geom=geoms[i])
        else:
            message = f"outside every district, {distance[k] / 1000:,.2f} km from the nearest"
            f.add("outside_districts", message, rec=r, geom=geoms[i])


def _pieces_of(region, rtype: np.ndarray, kinds) -> tuple[np.ndarray, np.ndarray]:
    """The region's record pieces of the given types, and their record rows."""
    sel = np.isin(rtype[region.piece_record], kinds)
    return region.pieces[sel], region.piece_record[sel]


def _released_outside_hazard(acc, records, names: list[str], f: _Findings, log) -> None:
    """Released land outside every hazard, per district, naming the release records."""
    rtype = records["record_type"].to_numpy(dtype=object)
    ids = records["record_id"].astype(str).to_numpy()
    per_district: dict[int, dict] = {}
    for region in acc.regions:
        hazards = region.classes.get(HAZARD)
        if hazards is None:  # the dask engine keeps no geometry
            hazards = union_parts(_pieces_of(region, rtype, schema.HAZARD_TYPES)[0], log, "H")
        released = np.concatenate([region.classes[k] for k in METHODS])
        outside = subtract(released, hazards, log)
        if not len(outside):
            continue
        # slivers under 1 m² (a release whose edge almost follows its hazard's) are
        # counted by where they lie, without overlays; the rest is cut by district
        sliver = shapely.area(outside) < 1.0
        pieces, where = _by_district(outside[~sliver], region.zones, log)
        tiny = region.zones.district_of(shapely.point_on_surface(outside[sliver]))
        rel, rel_rec = _pieces_of(region, rtype, schema.RELEASE_TYPES)
        ia, ib = shapely.STRtree(rel).query(pieces, predicate="intersects")
        shared = shapely.area(intersection(pieces[ia], rel[ib], log, "released outside hazards"))
        by_record = (
            pd.DataFrame({"d": where[ia], "rid": ids[rel_rec[ib]], "ha": shared / M2_PER_HA})
            .query("ha > 0")
            .groupby(["d", "rid"])["ha"]
            .sum()
        )
        area = shapely.area(pieces) / M2_PER_HA
        tiny_ha = shapely.area(outside[sliver]) / M2_PER_HA
        for d in np.unique(np.concatenate([where, tiny])):
            entry = per_district.setdefault(
                int(d), {"geoms": [], "ha": 0.0, "records": {}, "slivers": 0}
            )
            sel = where == d
            entry["geoms"].extend(_to_wgs(pieces[sel], region.crs))
            entry["ha"] += float(area[sel].sum()) + float(tiny_ha[tiny == d].sum())
            entry["slivers"] += int((tiny == d).sum())
            if d in by_record.index.get_level_values("d"):
                for rid, ha in by_record.loc[d].items():
                    entry["records"][rid] = entry["records"].get(rid, 0.0) + ha
    _report_released_outside(per_district, names, f)


def _by_district(parts: np.ndarray, zones, log) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint parts cut by the district zones; the district of each piece (-1 outside)."""
    pieces, ip, iz = clip_by_zone(parts, zones.zones, log)
    where = zones.district[iz]
    assigned = np.zeros(len(parts))
    np.add.at(assigned, ip, shapely.area(pieces))
    left = np.flatnonzero(shapely.area(parts) - assigned > 1e-9 * shapely.area(parts))
    if len(left):  # only the parts that reach outside every district are cut again
        rest = subtract(parts[left], zones.zones, log)
        pieces = np.concatenate([pieces, rest])
        where = np.concatenate([where, np.full(len(rest), -1)])
    return pieces, where


def _id_list(ids: list[str], limit: int = 2000) -> str:
    """Record ids joined with "; ", cut to ``limit`` characters (a spreadsheet cell
    holds at most 32,767) with how many more there are."""
    out, used = [], 0
    for k, rid in enumerate(ids):
        if used + len(rid) + 2 > limit:
            return "; ".join(out) + f"; … and {len(ids) - k} more"
        out.append(rid)
        used += len(rid) + 2
    return "; ".join(out)


def _report_released_outside(per_district: dict, names: list[str], f: _Findings) -> None:
    for d, entry in sorted(per_district.items()):
        if entry["ha"] < 0.01:
            continue
        where = "outside every district and" if d < 0 else f"in {names[d]!r}"
        listed = sorted(entry["records"].items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{rid} ({ha:,.2f} ha)" for rid, ha in listed[:20])
        more = f" and {len(listed) - 20} more" if len(listed) > 20 else ""
        if entry["slivers"]:
            more += (
                f"; with {entry['slivers']:,} slivers under 1 m² where a release's edge almost "
                "follows its hazard's"
            )
        f.add(
            "released_outside_hazard",
            f"{entry['ha']:,.2f} ha released {where} outside every recorded hazard; "
            f"release records: {shown}{more}",
            record_id=_id_list([rid for rid, _ in listed]),
            geom=shapely.multipolygons(explode_polygons(np.array(entry["geoms"], dtype=object))),
            area=entry["ha"],
        )


def _overlapping_hazards(acc, records, f: _Findings, log) -> None:
    """SHA/CHA records overlapping each other: hectares recorded twice."""
    rtype = records["record_type"].to_numpy(dtype=object)
    pairs = []
    for region in acc.regions:
        hp, rec = _pieces_of(region, rtype, schema.HAZARD_TYPES)
        if len(hp) < 2:
            continue
        a, b = shapely.STRtree(hp).query(hp, predicate="intersects")
        keep = rec[a] < rec[b]
        a, b = a[keep], b[keep]
        inter = intersection(hp[a], hp[b], log, "overlapping hazards")
        area = shapely.area(inter) / M2_PER_HA
        big = area >= 1e-6  # what cannot add up to 1 m² is not projected back
        a, b, inter, area = a[big], b[big], inter[big], area[big]
        pairs.append(
            pd.DataFrame({"a": rec[a], "b": rec[b], "ha": area, "geom": _to_wgs(inter, region.crs)})
        )
    if not pairs:
        return
    table = (
        pd.concat(pairs).groupby(["a", "b"], sort=True).agg(ha=("ha", "sum"), geom=("geom", list))
    )
    table = table[table["ha"] >= 1e-4]
    if not len(table):
        return
    ids = records["record_id"].astype(str).to_numpy()
    a = table.index.get_level_values("a").to_numpy()
    b = table.index.get_level_values("b").to_numpy()
    f.add_many(
        "overlapping_hazards",
        [
            f"{rtype[i]} {ids[i]!r} and {rtype[j]} {ids[j]!r} overlap: {ha:,.4f} ha recorded twice"
            for i, j, ha in zip(a, b, table["ha"], strict=True)
        ],
        sources=records[schema.SOURCE_FILE].to_numpy()[b],
        rows=records[schema.SOURCE_ROW].to_numpy()[b],
        record_ids=ids[b],
        geoms=[g[0] if len(g) == 1 else union_all(g, log, "overlap") for g in table["geom"]],
        areas=table["ha"].tolist(),
    )


def _closed_unreleased(acc, records, f: _Findings, log) -> None:
    """Hazards whose status says closed but whose land is partly not released."""
    if "status" not in records.columns:
        return
    status = records["status"].astype(str).str.strip().str.casefold()
    closed = (records["record_type"].isin(schema.HAZARD_TYPES) & status.isin(_CLOSED)).to_numpy()
    left: dict[int, list] = {}
    for region in acc.regions:
        mine = closed[region.piece_record]
        if not mine.any():
            continue
        released = union_parts(
            np.concatenate([region.classes[k] for k in METHODS]), log, "releases"
        )
        for piece, i in zip(region.pieces[mine], region.piece_record[mine], strict=True):
            rest = subtract(np.array([piece], dtype=object), released, log)
            left.setdefault(int(i), []).extend(_to_wgs(rest, region.crs) if len(rest) else [])
            left[int(i)].append(float(shapely.area(rest).sum()) if len(rest) else 0.0)
    for i, items in left.items():
        area = sum(x for x in items if isinstance(x, float)) / M2_PER_HA
        if area >= 0.01:
            r = records.iloc[i]
            geoms = np.array([g for g in items if not isinstance(g, float)], dtype=object)
            f.add(
                "closed_hazard_unreleased",
                f"status {r['status']!r} but {area:,.2f} ha of it are not released",
                rec=r,
                geom=shapely.multipolygons(explode_polygons(geoms)),
                area=area,
            )


def _district_mismatch(records, dist: gpd.GeoDataFrame, f: _Findings) -> None:
    """A record's own district attribute disagrees with the district it lies in."""
    if "district" not in records.columns or len(records) == 0:
        return
    names = list(dist["district"])
    geoms = np.asarray(records.geometry.array, dtype=object)
    tree = shapely.STRtree(np.asarray(dist.geometry.array, dtype=object))
    j, z = tree.query(shapely.point_on_surface(geoms), predicate="intersects")
    where = dict(zip(j, z, strict=False))
    for i, given in enumerate(records["district"]):
        if given is None or pd.isna(given) or i not in where:
            continue
        actual = names[where[i]]
        if not names_match(given, actual):
            f.add(
                "district_mismatch",
                f"district attribute {str(given)!r} but the record lies in {actual!r}",
                rec=records.iloc[i],
                geom=geoms[i],
            )


def far_files(
    districts: gpd.GeoDataFrame, surveys: SurveyData, /, *, km: float = 100.0
) -> list[str]:
    """Input files most of whose records lie more than ``km`` from every district.

    That is what a wrong CRS looks like (another UTM zone, swapped axes, a file
    declared in the wrong system).  Returns one message per such file, with the
    typical distance and a hint.

    Examples
    --------
    >>> far_files(read_districts("d.gpkg"), read_surveys("s"))  # doctest: +SKIP
    ['s.gpkg: 950 of 1,000 records lie more than 100 km from every district ...']
    """
    dist = as_districts(districts)
    records = surveys.records
    if len(records) == 0:
        return []
    zones = np.asarray(dist.geometry.array, dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(zones)
    pad = km / 111.0 * 2  # generous: only what is surely far is measured
    b = shapely.bounds(np.asarray(records.geometry.array, dtype=object))
    x, y = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2  # cheap: the box centres
    maybe = (x < minx - pad) | (x > maxx + pad) | (y < miny - pad) | (y > maxy + pad)
    anchor = np.full(len(records), None, dtype=object)
    anchor[maybe] = shapely.points(x[maybe], y[maybe])
    messages = []
    tree = shapely.STRtree(zones)
    for source, idx in records.groupby(schema.SOURCE_FILE).indices.items():
        cand = idx[maybe[idx]]
        if len(cand) * 2 <= len(idx):
            continue
        d = _distance_m(anchor[cand], zones, tree) / 1000
        far = d > km
        if far.sum() * 2 <= len(idx):
            continue
        swapped = shapely.points(y[cand][far], x[cand][far])
        back = len(tree.query(swapped, predicate="intersects")[0])
        crs = surveys.sources.set_index("source_file")["crs"].get(source)
        hint = (
            "lon and lat look swapped"
            if back * 2 > far.sum()
            else f"the file's CRS is {crs or 'not declared'}: is it the right one (zone, "
            "datum, a Gauss-Krüger zone prefix)?"
        )
        messages.append(
            f"{source}: {int(far.sum()):,} of {len(idx):,} records lie more than {km:g} km "
            f"from every district (median {np.median(d[far]):,.0f} km); {hint}"
        )
    return messages
