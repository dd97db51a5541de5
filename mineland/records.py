"""Turn raw attribute tables and geometries into canonical survey records.

Pure computation: the readers in :mod:`mineland.io` hand over what they read, and
this module applies the field map, the vocabulary, the CRS, date and count parsing
and geometry checks.  Every input row ends up either in the records or in the
rejected table, with a reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import schema
from .errors import CRSError, DataError, SchemaError
from .geometry import enclosed, polygonal, repair

__all__ = [
    "RawTable",
    "SurveyData",
    "as_survey_data",
    "normalize_records",
    "parse_crs",
    "parse_dates",
    "to_wgs84",
]

log = logging.getLogger(__name__)

WGS84 = pyproj.CRS.from_epsg(4326)
_ON_INVALID = ("fix", "raise", "reject")
_GEOD = pyproj.Geod(ellps="WGS84")
#: Counts above this are typing errors, not devices or casualties.
MAX_COUNT = 1_000_000


@dataclass
class RawTable:
    """One layer as read from a file, before any interpretation."""

    source: str
    layer: str | None
    attributes: pd.DataFrame
    geometry: np.ndarray
    crs: pyproj.CRS | None
    #: per row: why the geometry could not be read (None where it could)
    geometry_errors: np.ndarray | None = None
    #: per row: what the parser had to fix to read it (None where nothing)
    parse_fixes: np.ndarray | None = None
    #: True when the CRS was assumed rather than declared (lon/lat CSV)
    crs_assumed: bool = False
    #: per row: why the row itself could not be split into fields (None where it could)
    row_errors: np.ndarray | None = None
    #: options of this input alone (a sources manifest): ``crs``, ``field_map``
    options: dict = field(default_factory=dict)
    #: problems of the file as a whole: (check, message)
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.attributes)


@dataclass
class SurveyData:
    """What :func:`mineland.read_surveys` returns.

    ``records`` is a GeoDataFrame (EPSG:4326) of the rows used, ``rejected`` a
    DataFrame of the rows not used with a ``reason``, and ``sources`` one row per file
    and layer with its row counts.  Unpacks as ``records, rejected``.
    """

    records: gpd.GeoDataFrame
    rejected: pd.DataFrame
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __iter__(self):
        yield self.records
        yield self.rejected

    @property
    def n_read(self) -> int:
        return len(self.records) + len(self.rejected)

    def account(self) -> str:
        """One line: how many records were read from how many files, used and rejected."""
        files = self.sources["source_file"].nunique() if len(self.sources) else 0
        return (
            f"read {self.n_read} records from {files} file{'s' if files != 1 else ''}: "
            f"{len(self.records)} used, {len(self.rejected)} rejected"
        )


# --------------------------------------------------------------------------- dates

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$")
_ISO_SLASH = re.compile(r"^\d{4}/\d{1,2}/\d{1,2}([ T].*)?$")
_DMY = re.compile(r"^\d{1,2}[./]\d{1,2}[./]\d{4}([ T].*)?$")


#: Dates outside these years are placeholders (9999-12-31, 0001-01-01) or typing
#: errors, never survey dates; they are rejected rather than read.
DATE_YEARS = (1900, 2100)


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse dates written as ISO ``YYYY-MM-DD`` (or ``YYYY/MM/DD``) or day-first
    ``DD.MM.YYYY`` / ``DD/MM/YYYY``, with an optional time part that is ignored.

    Returns the parsed dates (``datetime64[ns]``, NaT where blank) and a boolean mask
    of the values that were not blank but could not be used: unreadable, impossible
    (30 February) or outside the years :data:`DATE_YEARS` (placeholders such as
    ``9999-12-31``, which do not even fit pandas' nanosecond range).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return _typed_dates(values)
    # a date column repeats few values: each distinct value is parsed once
    codes, uniques = pd.factorize(values.astype("string").str.strip())
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=values.index)
    if len(uniques) == 0:
        return out, bad
    out_u, bad_u = _parse_date_text(pd.Series(uniques, dtype="string"))
    known = codes >= 0
    take = codes[known]
    out[known] = out_u.to_numpy()[take]
    bad[known] = bad_u.to_numpy()[take]
    return out, bad


def _parse_date_text(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO or day-first dates from distinct, stripped text (see :func:`parse_dates`)."""
    blank = text.isna() | (text == "")
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=text.index)
    todo = text[~blank]
    if len(todo) == 0:
        return out, bad
    date_part = todo.str.split(r"[ T]", n=1, regex=True).str[0]
    iso = todo.str.match(_ISO) | todo.str.match(_ISO_SLASH)
    dmy = todo.str.match(_DMY)
    if iso.any():
        parts = date_part[iso].str.replace("/", "-").str.split("-", expand=True)
        out.loc[parts.index] = _ymd(parts[0], parts[1], parts[2])
    if dmy.any():
        parts = date_part[dmy].str.split(r"[./]", regex=True, expand=True)
        out.loc[parts.index] = _ymd(parts[2], parts[1], parts[0])
    bad.loc[todo.index] = out.loc[todo.index].isna()
    return out, bad


def _typed_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A date/datetime column as a file typed it (any resolution, any time zone)."""
    if values.dt.tz is not None:
        values = values.dt.tz_localize(None)
    years = values.dt.year
    bad = values.notna() & ((years < DATE_YEARS[0]) | (years > DATE_YEARS[1]))
    kept = values.where(~bad)
    return kept.dt.normalize().astype("datetime64[ns]"), bad


def _ymd(y: pd.Series, m: pd.Series, d: pd.Series) -> pd.Series:
    """Year, month and day columns as dates; NaT where impossible or out of range."""
    frame = pd.DataFrame({"year": y.astype(int), "month": m.astype(int), "day": d.astype(int)})
    plausible = frame["year"].between(*DATE_YEARS)
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    if plausible.any():
        out[plausible] = pd.to_datetime(frame[plausible], errors="coerce")
    return out


# --------------------------------------------------------------------------- helpers


def to_wgs84(geoms: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """Reproject an array of geometries to EPSG:4326 (lon/lat order)."""
    if crs == WGS84 or crs.equals(WGS84, ignore_axis_order=True):
        return geoms
    return np.asarray(gpd.GeoSeries(geoms, crs=crs).to_crs(WGS84).array, dtype=object)


_THOUSANDS = r"\d{1,3}(?:([ ,.\u00a0\u202f'])\d{3})(?:\1\d{3})*"


def _count(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a count column: returns Int64 values and a mask of bad (non-blank) values."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = pd.to_numeric(values, errors="coerce")
        blank = num.isna()
    else:
        text = values.astype("string").str.strip()
        blank = text.isna() | (text == "")
        # thousands separators: 1,000 / 1.000 / 1 000 (also no-break spaces) are 1000
        grouped = text.str.fullmatch(_THOUSANDS).fillna(False)
        text = text.where(~grouped, text.str.replace(r"[ ,.\u00a0\u202f']", "", regex=True))
        num = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    with np.errstate(invalid="ignore"):
        bad = ~blank & (
            num.isna() | (num < 0) | (num != np.floor(num)) | ~np.isfinite(num) | (num > MAX_COUNT)
        )
    out = num.where(~bad & ~blank).round().astype("Int64")
    return out, bad


def _coord_summary(geom) -> str:
    try:
        x, y = shapely.get_coordinates(geom)[0]
        return f"({x:.6g}, {y:.6g})"
    except (IndexError, TypeError, ValueError):
        return "(?)"


def parse_crs(crs: object | None) -> pyproj.CRS | None:
    """A user-given CRS (EPSG code, "EPSG:n", WKT, PROJ string or pyproj CRS), checked."""
    if crs is None or isinstance(crs, pyproj.CRS):
        return crs
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSError(
            f"unknown CRS {str(crs)[:80]!r}; give e.g. EPSG:4326 or EPSG:32638"
        ) from None


def _resolve_crs(table: RawTable, crs: object | None) -> pyproj.CRS:
    crs = parse_crs(crs)
    if table.crs is not None:
        if crs is not None and not table.crs.equals(crs):
            log.info(
                "%s: file declares %s; the given CRS %s is only used for files without one",
                table.source,
                table.crs.to_string(),
                crs,
            )
        return table.crs
    if crs is None:
        raise CRSError(
            f"{table.source}: the file declares no coordinate reference system; "
            "give one with --crs / crs= (for example EPSG:4326 or EPSG:32638)"
        )
    return crs


def _geographic_out_of_range(geoms: np.ndarray) -> np.ndarray:
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        return (
            (bounds[:, 0] < -180.000001)
            | (bounds[:, 2] > 180.000001)
            | (bounds[:, 1] < -90.000001)
            | (bounds[:, 3] > 90.000001)
        )


# --------------------------------------------------------------------------- main


def normalize_records(
    tables: Sequence[RawTable],
    *,
    field_map: Mapping[str, object] | None = None,
    crs: object | None = None,
    on_invalid: str = "fix",
    on_file_error: str = "raise",
    failures: Sequence[tuple[str, str, str]] = (),
) -> SurveyData:
    """Interpret raw tables as survey records; see :func:`mineland.read_surveys`.

    With ``on_file_error="reject"`` a table without a ``record_type`` column or a CRS
    has all its rows rejected (with the reason) instead of raising.  ``failures``
    lists files that could not be read at all: ``(path, check, message)``.
    """
    if on_invalid not in _ON_INVALID:
        raise DataError(f"on_invalid must be one of {', '.join(_ON_INVALID)}, got {on_invalid!r}")
    used_parts: list[gpd.GeoDataFrame] = []
    rejected_parts: list[pd.DataFrame] = []
    sources: list[dict] = [
        {
            "source_file": path,
            "source_layer": None,
            "rows": 0,
            "used": 0,
            "rejected": 0,
            "error": f"{check}: {message}",
        }
        for path, check, message in failures
    ]
    _check_field_maps(tables, field_map)
    labels = _source_labels(list(dict.fromkeys(t.source for t in tables)))
    for table in tables:
        own_map = table.options.get("field_map", field_map)
        own_crs = table.options.get("crs") or crs
        try:
            used, rejected = _normalize_table(
                table, own_map, own_crs, on_invalid, labels.get(table.source)
            )
        except (SchemaError, CRSError) as exc:
            if on_file_error == "raise":
                raise
            code = "missing_crs" if isinstance(exc, CRSError) else "missing_column"
            used = _concat_records([])
            rejected = _whole_table_rejected(table, str(exc), code)
        used_parts.append(used)
        rejected_parts.append(rejected)
        sources.append(
            {
                "source_file": table.source,
                "source_layer": table.layer,
                "crs": None if table.crs is None else table.crs.to_string(),
                "crs_assumed": table.crs_assumed,
                "rows": len(table),
                "used": len(used),
                "rejected": len(rejected),
                "note": "; ".join(f"{c}: {m}" for c, m in table.notes) or None,
            }
        )
    records = _concat_records(used_parts)
    rejected = _concat_rejected(rejected_parts)
    records, dup_rejected = _reject_duplicate_ids(records)
    if len(dup_rejected):
        rejected = _concat_rejected([rejected, dup_rejected])
        counts = dup_rejected.groupby(["source_file", "source_layer"], dropna=False).size()
        for src in sources:
            n = int(counts.get((src["source_file"], src["source_layer"]), 0))
            src["used"] -= n
            src["rejected"] += n
    records.attrs["mineland_normalized"] = True
    n_undated = int(records["date"].isna().sum())
    if n_undated:
        log.info("%d records have no date; they count at every as-of date", n_undated)
    return SurveyData(records, rejected, pd.DataFrame(sources))


def _check_field_maps(tables: Sequence[RawTable], field_map) -> None:
    """Check each field map against the inputs it applies to."""
    groups: dict[int, tuple[object, list[RawTable]]] = {}
    for table in tables:
        fmap = table.options.get("field_map", field_map)
        groups.setdefault(id(fmap), (fmap, []))[1].append(table)
    for fmap, group in groups.values():
        _check_field_map(group, fmap)


def _check_field_map(tables: Sequence[RawTable], field_map) -> None:
    """A field-map column that no input has is an error: every record would silently
    lose that field (a wrong ``date`` column would make ``--as-of`` do nothing).  One
    that only some inputs lack is a warning naming them."""
    if not field_map or not tables:
        return
    missing: dict[tuple[str, str], list[tuple[str, list[str]]]] = {}
    for table in tables:
        unmapped = schema.missing_fields(table.attributes.columns, field_map, source=table.source)
        for canonical, foreign, close in unmapped:
            missing.setdefault((canonical, foreign), []).append((table.source, close))
    for (canonical, foreign), where in missing.items():
        hint = where[0][1]
        suggestion = f"; closest: {', '.join(map(repr, hint))}" if hint else ""
        if len(where) == len(tables):
            raise SchemaError(
                f"{where[0][0]}: the field map names column {foreign!r} (for {canonical}), "
                f"which the file does not have{suggestion}"
            )
        log.warning(
            "field map: column %r (for %s) is missing from %s",
            foreign,
            canonical,
            ", ".join(src for src, _ in where),
        )


def _record_ids(attrs: pd.DataFrame, table: RawTable, label: str, rows: np.ndarray) -> np.ndarray:
    """The record ids as text; made from the file and row where missing.

    Whole numbers stay whole (``17``, not ``17.0``, when a missing value made the
    column floating point).  ``label`` tells files of the same name apart.
    """
    if "record_id" in attrs.columns:
        raw = attrs["record_id"]
        if pd.api.types.is_float_dtype(raw) and (raw.dropna() % 1 == 0).all():
            raw = raw.astype("Int64")
        ids = pd.Series(schema.clean_texts(raw), dtype=object)
    else:
        log.warning("%s: no 'record_id' column; ids are made from file and row", table.source)
        ids = pd.Series([None] * len(rows), dtype=object)
    stem = label.rsplit("/", 1)[-1]
    layer_tag = f":{table.layer}" if table.layer and table.layer != stem.rsplit(".", 1)[0] else ""
    missing_id = ids.isna().to_numpy()
    if missing_id.any():
        ids = ids.astype(object)
        ids[missing_id] = [f"{label}{layer_tag}#{r}" for r in rows[missing_id]]
    return ids.to_numpy(dtype=object)


def _source_labels(sources: Sequence[str]) -> dict[str, str]:
    """The shortest path suffix that tells each source apart (``a/h.csv``, ``b/h.csv``)."""
    parts = {s: s.replace("\\", "/").split("/") for s in sources}
    out = {}
    for s, p in parts.items():
        for k in range(1, len(p) + 1):
            tail = "/".join(p[-k:])
            if sum(1 for q in parts.values() if "/".join(q[-k:]) == tail) == 1 or k == len(p):
                out[s] = tail
                break
    return out


@dataclass
class _Rows:
    """The rows of one table while they are checked: each check may reject some rows
    (the first reason stands), and the geometry goes from read to WGS 84."""

    table: RawTable
    geoms: np.ndarray
    reason: np.ndarray
    check: np.ndarray
    repairs: np.ndarray

    @classmethod
    def of(cls, table: RawTable) -> _Rows:
        n = len(table)
        empty = np.full(n, None, dtype=object)
        geoms = np.asarray(table.geometry, dtype=object).copy()
        return cls(table, geoms, empty.copy(), empty.copy(), empty.copy())

    @property
    def n(self) -> int:
        return len(self.reason)

    @property
    def numbers(self) -> np.ndarray:
        return np.arange(1, self.n + 1)

    @property
    def live(self) -> np.ndarray:
        return np.equal(self.reason, None)

    def reject(self, mask, message, code: str) -> None:
        """Reject the rows in ``mask`` not rejected yet; ``message`` may be a function
        of the row index."""
        mask = np.asarray(mask, dtype=bool) & self.live
        if not mask.any():
            return
        self.check[mask] = code
        if callable(message):
            for i in np.flatnonzero(mask):
                self.reason[i] = message(i)
        else:
            self.reason[mask] = message


def _normalize_table(
    table: RawTable,
    field_map: Mapping[str, object] | None,
    crs: object | None,
    on_invalid: str,
    label: str | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """One table: every row used, or rejected with its reason, in the order of the
    checks below (the first reason found stands)."""
    original, attrs, value_map = _canonical_columns(table, field_map)
    rows = _Rows.of(table)
    ids = _record_ids(attrs, table, label or _basename(table.source), rows.numbers)
    _check_malformed(rows)
    types = _check_types(rows, attrs["record_type"], value_map)
    _check_geometry_present(rows)
    _to_wgs84_checked(rows, crs)
    _check_geometry_types(rows, types)
    _check_validity(rows, types, ids, on_invalid)
    dates = _check_dates(rows, attrs)
    counts = _check_counts(rows, attrs, types)
    used = _used_frame(rows, attrs, ids, types, dates, counts)
    return used, _rejected_frame(rows, original, ids, crs)


def _basename(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _canonical_columns(table: RawTable, field_map) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The field map applied, case and Shapefile-truncated variants of canonical names
    recognised; a table without ``record_type`` cannot be read."""
    original = table.attributes.reset_index(drop=True)
    attrs, value_map = schema.apply_field_map(original, field_map, source=table.source)
    lower = {str(c).casefold(): c for c in attrs.columns}
    for canonical in schema.CANONICAL_COLUMNS:
        if canonical in attrs.columns:
            continue
        for variant in (canonical, canonical[:10]):
            if variant in lower and lower[variant] not in schema.CANONICAL_COLUMNS:
                attrs = attrs.rename(columns={lower[variant]: canonical})
                break
    if "record_type" not in attrs.columns:
        raise SchemaError(
            f"{table.source}{'' if not table.layer else f' (layer {table.layer})'}: "
            f"no 'record_type' column; columns are {', '.join(map(str, original.columns))}. "
            'Name the type column in a field map, e.g. record_type = "TYPE"'
        )
    return original, attrs, value_map


def _check_malformed(rows: _Rows) -> None:
    errors = rows.table.row_errors
    if errors is not None and len(errors) == rows.n:
        errors = np.asarray(errors, dtype=object)
        rows.reject(
            ~np.equal(errors, None), lambda i: f"malformed row: {errors[i]}", "malformed_row"
        )


def _check_types(rows: _Rows, raw_types: pd.Series, value_map: dict) -> np.ndarray:
    types = schema.by_value(lambda v: schema.normalize_record_type(v, value_map), raw_types)
    rows.reject(
        pd.isna(schema.by_value(schema.clean_text, raw_types)),
        "record_type is empty",
        "unknown_record_type",
    )

    def unknown(i: int) -> str:
        value = raw_types.iloc[i]
        hint = schema.suggest_record_type(value)
        return (
            f"unknown record_type {str(value)!r}"
            + (f" (did you mean {hint!r}?)" if hint else "")
            + f"; valid: {', '.join(schema.RECORD_TYPES)}"
        )

    rows.reject(np.equal(types, None), unknown, "unknown_record_type")
    return types


def _check_geometry_present(rows: _Rows) -> None:
    """Unreadable, missing, empty or non-finite geometry."""
    geoms = rows.geoms
    if rows.table.geometry_errors is not None:
        errs = np.asarray(rows.table.geometry_errors, dtype=object)
        rows.reject(
            ~np.equal(errs, None),
            lambda i: f"unreadable geometry: {errs[i]}",
            "unreadable_geometry",
        )
    missing = shapely.is_missing(geoms)
    rows.reject(missing, "no geometry", "empty_geometry")
    empty = np.zeros(rows.n, dtype=bool)
    empty[~missing] = shapely.is_empty(geoms[~missing])
    rows.reject(empty, "empty geometry", "empty_geometry")
    ok = ~missing & ~empty
    finite = np.ones(rows.n, dtype=bool)
    if ok.any():
        finite[ok] = np.isfinite(shapely.bounds(geoms[ok])).all(axis=1)
    rows.reject(
        ~finite, "geometry has non-finite (NaN or infinite) coordinates", "unreadable_geometry"
    )
    geoms[~rows.live] = None


def _to_wgs84_checked(rows: _Rows, crs) -> None:
    """The file's own CRS, else the declared one; coordinates that cannot be in it are
    rejected with a hint; the rest goes to WGS 84."""
    table, geoms = rows.table, rows.geoms
    source_crs = _resolve_crs(table, crs)
    live = rows.live
    if source_crs.is_geographic and live.any():
        out = np.zeros(rows.n, dtype=bool)
        out[live] = _geographic_out_of_range(geoms[live])
        rows.reject(
            out,
            lambda i: (
                f"coordinates {_coord_summary(geoms[i])} are outside the valid range of "
                f"{source_crs.name}; {_crs_hint(geoms[i])}"
            ),
            "other_crs",
        )
        geoms[out] = None
    _reject_degrees_in_metres(rows, source_crs)
    live = rows.live
    if not live.any():
        return
    try:
        geoms[live] = to_wgs84(geoms[live], source_crs)
    except Exception as exc:  # pyproj raises several types
        raise CRSError(
            f"{table.source}: cannot transform from {source_crs.to_string()}: {exc}"
        ) from None
    bad = np.zeros(rows.n, dtype=bool)
    b = shapely.bounds(geoms[live])
    bad[live] = ~np.isfinite(b).all(axis=1) | _geographic_out_of_range(geoms[live])
    rows.reject(
        bad,
        lambda i: (
            f"coordinates {_coord_summary(table.geometry[i])} cannot be placed on Earth "
            f"in {source_crs.name}; is the CRS wrong?"
        ),
        "other_crs",
    )


def _reject_degrees_in_metres(rows: _Rows, source_crs: pyproj.CRS) -> None:
    """Small numbers in a metre CRS are degrees when they land outside its area."""
    use = source_crs.area_of_use if source_crs.is_projected else None
    live = rows.live
    if use is None or not live.any():
        return
    geoms = rows.geoms
    degrees = np.zeros(rows.n, dtype=bool)
    b = shapely.bounds(geoms[live])
    small = (np.abs(b[:, [0, 2]]) <= 180).all(axis=1) & (np.abs(b[:, [1, 3]]) <= 90).all(axis=1)
    if small.any():
        idx = np.flatnonzero(live)[small]
        at = shapely.bounds(to_wgs84(geoms[idx], source_crs))
        outside = (
            (at[:, 2] < use.west - 1)
            | (at[:, 0] > use.east + 1)
            | (at[:, 3] < use.south - 1)
            | (at[:, 1] > use.north + 1)
        )
        degrees[idx[outside]] = True
    rows.reject(
        degrees,
        lambda i: (
            f"coordinates {_coord_summary(geoms[i])} look like lon/lat degrees, but the "
            f"file's CRS is {source_crs.name} (metres); is the CRS wrong?"
        ),
        "other_crs",
    )


def _check_geometry_types(rows: _Rows, types: np.ndarray) -> None:
    """Area types need polygons (the polygons of a GeometryCollection are kept), points
    need one point (a MultiPoint of one point is that point)."""
    geoms, live = rows.geoms, rows.live
    type_ids = np.full(rows.n, -1)
    type_ids[live] = shapely.get_type_id(geoms[live])
    is_area = np.isin(types, schema.AREA_TYPES)
    is_point = np.isin(types, schema.POINT_TYPES)
    GT = shapely.GeometryType
    polyish = np.isin(type_ids, [GT.POLYGON.value, GT.MULTIPOLYGON.value])
    collection = live & is_area & (type_ids == GT.GEOMETRYCOLLECTION.value)
    if collection.any():
        idx = np.flatnonzero(collection)
        geoms[idx] = polygonal(geoms[idx])
        rows.repairs[idx] = "kept the polygons of a GeometryCollection, dropped its other parts"
        got = ~shapely.is_missing(geoms[idx])
        got[got] = ~shapely.is_empty(geoms[idx][got])
        polyish[idx[got]] = True
    rows.reject(
        live & is_area & ~polyish,
        lambda i: f"{types[i]} record has {_geom_name(type_ids[i])} geometry; expected a polygon",
        "wrong_geometry_type",
    )
    single = np.zeros(rows.n, dtype=bool)
    multipoint = live & is_point & (type_ids == GT.MULTIPOINT.value)
    if multipoint.any():
        single[multipoint] = shapely.get_num_geometries(geoms[multipoint]) == 1
        geoms[single] = shapely.get_geometry(geoms[single], 0)

    def why(i: int) -> str:
        many = type_ids[i] == GT.MULTIPOINT.value
        points = f" with {shapely.get_num_geometries(geoms[i])} points" if many else ""
        return (
            f"{types[i]} record has {_geom_name(type_ids[i])} geometry{points}; expected one point"
        )

    rows.reject(
        live & is_point & (type_ids != GT.POINT.value) & ~single, why, "wrong_geometry_type"
    )


def _check_validity(rows: _Rows, types: np.ndarray, ids: np.ndarray, on_invalid: str) -> None:
    """Invalid polygons: repaired (noted in ``repair``), rejected, or an error."""
    table, geoms = rows.table, rows.geoms
    if table.parse_fixes is not None:
        fixes = np.asarray(table.parse_fixes, dtype=object)
        rows.repairs[~np.equal(fixes, None)] = fixes[~np.equal(fixes, None)]
    idx = np.flatnonzero(rows.live & np.isin(types, schema.AREA_TYPES))
    if not len(idx):
        return
    fixed, was_invalid = repair(geoms[idx])
    if not was_invalid.any():
        return
    bad_idx = idx[was_invalid]
    why = shapely.is_valid_reason(geoms[bad_idx])
    if on_invalid == "raise":
        i = bad_idx[0]
        raise DataError(
            f"{table.source}, row {i + 1}, record_id {ids[i]!r}: invalid geometry "
            f"({why[0]}); use on_invalid='fix' to repair it with make_valid"
        )
    if on_invalid == "reject":
        mask = np.zeros(rows.n, dtype=bool)
        mask[bad_idx] = True
        reasons = dict(zip(bad_idx, why, strict=True))
        rows.reject(mask, lambda i: f"invalid geometry: {reasons[i]}", "invalid_geometry")
        return
    fixed_poly = polygonal(fixed[was_invalid])
    before = _geodesic_ha(enclosed(geoms[bad_idx]))
    after = _geodesic_ha(fixed_poly)
    for i, w, g, a, b in zip(bad_idx, why, fixed_poly, before, after, strict=True):
        rows.repairs[i] = _repair_note(w, a, b)
        geoms[i] = g
    collapsed = np.zeros(rows.n, dtype=bool)
    collapsed[bad_idx] = shapely.is_missing(fixed_poly) | shapely.is_empty(fixed_poly)
    rows.reject(
        collapsed,
        lambda i: f"invalid geometry ({rows.repairs[i]}) has no area left once repaired",
        "too_few_vertices",
    )
    n_rep = int(was_invalid.sum() - collapsed.sum())
    if n_rep:
        log.warning("%s: repaired %d invalid geometries with make_valid", table.source, n_rep)


def _check_dates(rows: _Rows, attrs: pd.DataFrame) -> pd.Series:
    if "date" not in attrs.columns:
        return pd.Series(pd.NaT, index=attrs.index, dtype="datetime64[ns]")
    dates, bad = parse_dates(attrs["date"])
    raw = attrs["date"]
    rows.reject(bad.to_numpy(), lambda i: _bad_date_reason(raw.iloc[i]), "bad_date")
    return dates


def _check_counts(rows: _Rows, attrs: pd.DataFrame, types: np.ndarray) -> dict[str, pd.Series]:
    """quantity (devices, 1 when blank), killed and injured (incidents)."""
    counts: dict[str, pd.Series] = {}
    for col in schema.COUNT_COLUMNS:
        if col not in attrs.columns:
            counts[col] = pd.Series(pd.NA, index=attrs.index, dtype="Int64")
            continue
        values, bad = _count(attrs[col])
        relevant = types == ("device" if col == "quantity" else "incident")
        raw = attrs[col]
        rows.reject(
            bad.to_numpy() & relevant,
            lambda i, col=col, raw=raw: (
                f"{col} must be a whole number from 0 to {MAX_COUNT:,}, got {str(raw.iloc[i])!r}"
            ),
            "bad_count",
        )
        counts[col] = values
    blank = (types == "device") & counts["quantity"].isna().to_numpy()
    counts["quantity"] = counts["quantity"].where(~blank, 1)
    return counts


def _used_frame(rows: _Rows, attrs, ids, types, dates, counts) -> gpd.GeoDataFrame:
    """The rows used, in the canonical schema, with their provenance."""
    table, n = rows.table, rows.n
    provenance = (schema.SOURCE_FILE, schema.SOURCE_LAYER, schema.SOURCE_ROW, "repair")
    # a file written by mineland keeps where its rows first came from
    attrs = attrs.rename(columns={c: f"original_{c}" for c in provenance if c in attrs.columns})
    extra = [c for c in attrs.columns if c not in schema.CANONICAL_COLUMNS and c != "geometry"]
    data = {
        "record_id": ids,
        "record_type": types,
        "date": dates.to_numpy(),
        "device_type": (
            schema.clean_texts(attrs["device_type"])
            if "device_type" in attrs.columns
            else np.full(n, None, dtype=object)
        ),
        "quantity": counts["quantity"].array,
        "killed": counts["killed"].array,
        "injured": counts["injured"].array,
    }
    for col in extra:
        data[col] = attrs[col].to_numpy()
    data[schema.SOURCE_FILE] = np.full(n, table.source, dtype=object)
    data[schema.SOURCE_LAYER] = np.full(n, table.layer, dtype=object)
    data[schema.SOURCE_ROW] = rows.numbers
    data["repair"] = rows.repairs
    keep = rows.live
    frame = pd.DataFrame(data)
    used = gpd.GeoDataFrame(frame[keep], geometry=rows.geoms[keep], crs=WGS84)
    used.index = pd.RangeIndex(len(used))
    if table.crs_assumed:
        log.info("%s: no CRS declared; lon/lat columns read as WGS 84", table.source)
    return used


def _rejected_frame(rows: _Rows, original: pd.DataFrame, ids, crs) -> pd.DataFrame:
    """The rows rejected: where they came from, why, their own columns, their geometry
    as read (WKT) and its CRS, so that the file can be fixed and read again."""
    table, keep = rows.table, rows.live
    front = pd.DataFrame(
        {
            schema.SOURCE_FILE: table.source,
            schema.SOURCE_LAYER: table.layer,
            schema.SOURCE_ROW: rows.numbers[~keep],
            "record_id": ids[~keep],
            "reason": rows.reason[~keep],
            "check": rows.check[~keep],
        }
    )
    rest = original.loc[~keep].reset_index(drop=True)
    if "record_id" in rest.columns:
        rest = rest.drop(columns="record_id")
    rest = rest.rename(columns={c: f"{c}_original" for c in rest.columns if c in front.columns})
    rej = pd.concat([front, rest], axis=1)
    src_geoms = np.asarray(table.geometry, dtype=object)[~keep]
    rej["geometry_wkt"] = [
        None if g is None else shapely.to_wkt(g, rounding_precision=-1) for g in src_geoms
    ]
    rej["source_crs"] = _crs_text(table.crs or parse_crs(crs))
    return rej


def _repair_note(why: str, drawn: float, repaired: float) -> str:
    """What a make_valid repair did, with the area its rings enclose and what is kept."""
    note = f"repaired with make_valid: {why}; area {drawn:,.4f} ha → {repaired:,.4f} ha"
    if drawn > 0 and not 0.5 <= repaired / drawn <= 2.0:
        note += (
            f" (the rings enclose {drawn:,.4f} ha but the repaired polygon, as PostGIS "
            f"ST_MakeValid makes it, keeps {100 * repaired / drawn:,.1f}%: a ring traced twice "
            "keeps only the band between its tracings; check the record)"
        )
    return note


def _crs_text(crs: pyproj.CRS | None) -> str | None:
    """A CRS as short text that reads back (EPSG:n where there is a code)."""
    if crs is None:
        return None
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_wkt()


def _bad_date_reason(raw) -> str:
    text = str(raw)
    year = re.match(r"^\s*(\d{4})[-/]|^\s*\d{1,2}[./]\d{1,2}[./](\d{4})", text)
    if year and not DATE_YEARS[0] <= int(year.group(1) or year.group(2)) <= DATE_YEARS[1]:
        return (
            f"date {text!r} is outside the years {DATE_YEARS[0]}–{DATE_YEARS[1]} "
            "(a placeholder for an unknown date? leave it blank instead)"
        )
    if hasattr(raw, "year"):
        return f"date {text!r} is outside the years {DATE_YEARS[0]}–{DATE_YEARS[1]}"
    if _ISO.match(text) or _ISO_SLASH.match(text) or _DMY.match(text):
        return f"date {text!r} does not exist"
    return f"unparseable date {text!r} (use YYYY-MM-DD)"


def _geodesic_ha(geoms) -> list[float]:
    """Ellipsoidal areas (pyproj Geod) of lon/lat geometries (0 for none or empty)."""
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            out.append(0.0)
            continue
        try:
            area, _ = _GEOD.geometry_area_perimeter(g)
            out.append(abs(area) / 10_000)
        except (TypeError, ValueError, AttributeError, pyproj.exceptions.GeodError):
            out.append(float("nan"))
    return out


def _crs_hint(geom) -> str:
    """What projected coordinates in a lon/lat file probably are."""
    try:
        x, y = shapely.get_coordinates(geom)[0]
    except (IndexError, TypeError):
        return "is the CRS wrong?"
    for a, b in ((x, y), (y, x)):
        if 8_000_000 <= a < 9_000_000 and 3_500_000 <= b < 5_000_000:
            return "they look like Gauss-Krüger zone 8 (easting prefixed 8): try EPSG:28408"
    if max(abs(x), abs(y)) > 1_000:
        return "they look like projected metres (UTM 38N is EPSG:32638): declare the CRS"
    return "is the CRS wrong?"


def _whole_table_rejected(table: RawTable, reason: str, code: str) -> pd.DataFrame:
    n = len(table)
    front = pd.DataFrame(
        {
            schema.SOURCE_FILE: table.source,
            schema.SOURCE_LAYER: table.layer,
            schema.SOURCE_ROW: np.arange(1, n + 1),
            "record_id": None,
            "reason": reason,
            "check": code,
        }
    )
    rest = table.attributes.reset_index(drop=True)
    rest = rest.rename(columns={c: f"{c}_original" for c in rest.columns if c in front.columns})
    out = pd.concat([front, rest], axis=1)
    out["geometry_wkt"] = [None if g is None else shapely.to_wkt(g) for g in table.geometry]
    out["source_crs"] = _crs_text(table.crs)
    return out


def _geom_name(type_id: int) -> str:
    try:
        return shapely.GeometryType(int(type_id)).name.title().replace("string", "String")
    except ValueError:
        return "no"


def _concat_records(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in schema.CANONICAL_COLUMNS},
            geometry=gpd.GeoSeries([], crs=WGS84),
        ).assign(date=pd.Series(dtype="datetime64[ns]"))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=WGS84)


def _concat_rejected(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    base = [
        schema.SOURCE_FILE,
        schema.SOURCE_LAYER,
        schema.SOURCE_ROW,
        "record_id",
        "reason",
        "check",
    ]
    if not parts:
        return pd.DataFrame(columns=base)
    return pd.concat(parts, ignore_index=True)


def _reject_duplicate_ids(records: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    ids = records["record_id"].astype(str)
    dup = ids.duplicated(keep="first")
    if not dup.any():
        return records, _concat_rejected([])
    first = records.loc[~dup].set_index(ids[~dup])
    bad = records.loc[dup]
    front = pd.DataFrame(
        {
            schema.SOURCE_FILE: bad[schema.SOURCE_FILE].to_numpy(),
            schema.SOURCE_LAYER: bad[schema.SOURCE_LAYER].to_numpy(),
            schema.SOURCE_ROW: bad[schema.SOURCE_ROW].to_numpy(),
            "record_id": bad["record_id"].to_numpy(),
            "check": "duplicate_record_id",
            "reason": [
                f"duplicate record_id {rid!r}; first used in {first.at[rid, schema.SOURCE_FILE]} "
                f"row {first.at[rid, schema.SOURCE_ROW]}"
                for rid in ids[dup]
            ],
        }
    )
    # the record's own columns, as read, so the row can be fixed and read again
    own = pd.DataFrame(
        bad.drop(columns=[bad.geometry.name, *front.columns, "repair"], errors="ignore")
    ).reset_index(drop=True)
    if "date" in own.columns:
        own["date"] = own["date"].dt.strftime("%Y-%m-%d")
    rej = pd.concat([front, own], axis=1)
    rej["geometry_wkt"] = shapely.to_wkt(bad.geometry.to_numpy())
    rej["source_crs"] = "EPSG:4326"
    log.warning("%d records rejected for a duplicate record_id", len(rej))
    kept = records.loc[~dup].reset_index(drop=True)
    kept.attrs = records.attrs
    return kept, rej


def as_survey_data(surveys, *, on_file_error: str = "raise") -> SurveyData:
    """Accept :func:`mineland.read_surveys`' result as it is, or check a GeoDataFrame
    in the canonical schema the way the readers check a file."""
    if isinstance(surveys, SurveyData):
        return surveys
    if not isinstance(surveys, gpd.GeoDataFrame):
        raise SchemaError("surveys must be a GeoDataFrame or the result of read_surveys()")
    if surveys.attrs.get("mineland_normalized"):
        return SurveyData(surveys, _concat_rejected([]))
    table = RawTable(
        "surveys",
        None,
        pd.DataFrame(surveys.drop(columns=surveys.geometry.name)),
        np.asarray(surveys.geometry.array, dtype=object),
        None if surveys.crs is None else pyproj.CRS.from_user_input(surveys.crs),
    )
    return normalize_records([table], on_file_error=on_file_error)
