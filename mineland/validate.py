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
from .districts import as_districts
from .geometry import (
    OverlayLog,
    area_by_zone,
    clip_by_zone,
    explode_polygons,
    subtract,
    union_parts,
)
from .records import WGS84, SurveyData, as_survey_data

__all__ = ["CHECKS", "ValidationReport", "fold_name", "names_match", "validate"]

#: check id -> (severity, what it means)
CHECKS: dict[str, tuple[str, str]] = {
    # schema
    "unreadable_file": ("error", "a file could not be read at all"),
    "missing_column": ("error", "a required column (record_type) is missing"),
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
    if "error" in data.sources.columns:
        for _, s in data.sources[data.sources["error"].notna()].iterrows():
            check, _, message = str(s["error"]).partition(": ")
            f.add(check if check in CHECKS else "unreadable_file", message, source=s["source_file"])


def _ids(records: gpd.GeoDataFrame, f: _Findings) -> None:
    ids = records["record_id"].astype(str)
    stem = (
        records[schema.SOURCE_FILE].astype(str).str.replace("\\", "/").str.rsplit("/", n=1).str[-1]
    )
    made = ids == stem + "#" + records[schema.SOURCE_ROW].astype(str)
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
    )


def _spatial_checks(acc, records: gpd.GeoDataFrame, dist: gpd.GeoDataFrame, f: _Findings) -> None:
    crs = acc.crs
    to_ea = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True).transform
    to_wgs = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True).transform
    log = OverlayLog()
    zones = shapely.transform(
        shapely.make_valid(np.asarray(dist.geometry.array, dtype=object)), to_ea, interleaved=False
    )
    names = list(dist["district"])

    def wgs(g):
        return shapely.transform(g, to_wgs, interleaved=False)

    # districts overlapping each other, and gaps between them
    tree = shapely.STRtree(zones)
    ia, ib = tree.query(zones, predicate="intersects")
    for a, b in zip(ia, ib, strict=True):
        if a < b:
            shared = shapely.intersection(zones[a], zones[b])
            area = shapely.area(shared) / M2_PER_HA
            if area > 1e-4:
                f.add(
                    "district_overlap",
                    f"districts {names[a]!r} and {names[b]!r} overlap by {area:,.2f} ha",
                    record_id=None,
                    geom=wgs(shared),
                    area=area,
                )
    union = shapely.union_all(zones)
    for poly in shapely.get_parts(union):
        if not isinstance(poly, shapely.Polygon):
            continue
        for hole in poly.interiors:
            gap = shapely.Polygon(hole)
            area = gap.area / M2_PER_HA
            if area >= 0.01:
                c = wgs(gap.representative_point())
                f.add(
                    "district_gap",
                    f"a gap of {area:,.2f} ha between districts near ({c.x:.5f}, {c.y:.5f})",
                    geom=wgs(gap),
                    area=area,
                )
    if len(records) == 0:
        return

    # records outside every district, and swapped lon/lat
    geoms = np.asarray(records.geometry.array, dtype=object)
    projected = shapely.transform(geoms, to_ea, interleaved=False)
    hit = np.zeros(len(records), dtype=bool)
    ir, _ = tree.query(projected, predicate="intersects")
    hit[ir] = True
    if (~hit).any():
        idx = np.flatnonzero(~hit)
        near_i, near_d = tree.query_nearest(projected[idx], return_distance=True, all_matches=False)
        distance = np.full(len(idx), np.inf)
        distance[near_i[0]] = near_d
        swapped = shapely.transform(geoms[idx], lambda c: c[:, ::-1])
        valid_swap = np.all(np.abs(shapely.bounds(swapped)[:, [1, 3]]) <= 90, axis=1)
        sw_hit = np.zeros(len(idx), dtype=bool)
        if valid_swap.any():
            sp = shapely.transform(swapped[valid_swap], to_ea, interleaved=False)
            j, _ = tree.query(sp, predicate="intersects")
            sw_hit[np.flatnonzero(valid_swap)[j]] = True
        for k, i in enumerate(idx):
            r = records.iloc[i]
            if sw_hit[k]:
                f.add(
                    "swapped_lonlat",
                    "outside every district, but inside one with lon and lat swapped",
                    rec=r,
                    geom=geoms[i],
                )
            else:
                f.add(
                    "outside_districts",
                    f"outside every district, {distance[k] / 1000:,.2f} km from the nearest",
                    rec=r,
                    geom=geoms[i],
                )

    # accounting checks on the polygons
    rtype = records["record_type"].to_numpy(dtype=object)
    hazard = np.isin(rtype, schema.HAZARD_TYPES)
    released = np.concatenate([acc.classes[k] for k in ("cleared", "reduced", "cancelled")])
    hazard_union = union_parts(projected[hazard], log, "hazards")
    outside = subtract(released, hazard_union, log)
    if len(outside):
        pieces, _, iz = clip_by_zone(outside, zones, log)
        for z in np.unique(iz):
            sel = pieces[iz == z]
            area = float(shapely.area(sel).sum()) / M2_PER_HA
            if area >= 0.01:
                f.add(
                    "released_outside_hazard",
                    f"{area:,.2f} ha released in {names[z]!r} lie outside every recorded hazard",
                    geom=wgs(shapely.multipolygons(explode_polygons(sel))),
                    area=area,
                )
        za = area_by_zone(outside, zones, log)
        if za.outside / M2_PER_HA >= 0.01:
            f.add(
                "released_outside_hazard",
                f"{za.outside / M2_PER_HA:,.2f} ha released outside every district and hazard",
                area=za.outside / M2_PER_HA,
            )
    h_idx = np.flatnonzero(hazard)
    if len(h_idx) > 1:
        hp = projected[h_idx]
        ht = shapely.STRtree(hp)
        a, b = ht.query(hp, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        if len(a):
            inter = shapely.intersection(hp[a], hp[b])
            area = shapely.area(inter) / M2_PER_HA
            k = np.flatnonzero(area >= 1e-4)
            ids = records["record_id"].astype(str).to_numpy()[h_idx]
            types = rtype[h_idx]
            src = records[schema.SOURCE_FILE].to_numpy()[h_idx]
            row = records[schema.SOURCE_ROW].to_numpy()[h_idx]
            f.add_many(
                "overlapping_hazards",
                [
                    f"{types[a[j]]} {ids[a[j]]!r} and {types[b[j]]} {ids[b[j]]!r} overlap: "
                    f"{area[j]:,.4f} ha recorded twice"
                    for j in k
                ],
                sources=src[b[k]],
                rows=row[b[k]],
                record_ids=ids[b[k]],
                geoms=wgs(inter[k]) if len(k) else [],
                areas=area[k].tolist(),
            )
    if "status" in records.columns:
        status = records["status"].astype(str).str.strip().str.casefold()
        closed = hazard & status.isin(_CLOSED).to_numpy()
        r_union = union_parts(released, log, "releases")
        for i in np.flatnonzero(closed):
            left = subtract(np.array([projected[i]], dtype=object), r_union, log)
            area = float(shapely.area(left).sum()) / M2_PER_HA if len(left) else 0.0
            if area >= 0.01:
                r = records.iloc[i]
                f.add(
                    "closed_hazard_unreleased",
                    f"status {r['status']!r} but {area:,.2f} ha of it are not released",
                    rec=r,
                    geom=wgs(shapely.multipolygons(left)),
                    area=area,
                )
    if "district" in records.columns:
        anchor = shapely.point_on_surface(projected)
        j, z = tree.query(anchor, predicate="intersects")
        where = dict(zip(j, z, strict=False))
        for i, given in enumerate(records["district"]):
            if given is None or pd.isna(given) or i not in where:
                continue
            actual = names[where[i]]
            if not names_match(given, actual):
                r = records.iloc[i]
                f.add(
                    "district_mismatch",
                    f"district attribute {str(given)!r} but the record lies in {actual!r}",
                    rec=r,
                    geom=geoms[i],
                )
