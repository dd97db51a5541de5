"""The checks every row of a survey table goes through, in order: each rejects the rows it
finds wrong, with a reason, and the first reason stands (:class:`Rows`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
import shapely

from . import schema
from .crs import (
    clamped_to_earth,
    coord_summary,
    crs_hint,
    finite_coordinates,
    off_earth,
    on_earth,
    resolve_crs,
    to_wgs84,
)
from .dates import bad_date_reason, parse_dates
from .errors import CRSError, DataError
from .geometry import OverlayLog, enclosed, invalid_geometries, made_valid, polygonal
from .regions import cut_at_antimeridian, unwrap_antimeridian
from .tables import RawTable

log = logging.getLogger(__name__)

ON_INVALID = ("fix", "raise", "reject")


_GEOD = pyproj.Geod(ellps="WGS84")


#: Counts above this are typing errors, not devices or casualties.
MAX_COUNT = 1_000_000


_THOUSANDS = r"\d{1,3}(?:([ ,.\u00a0\u202f'])\d{3})(?:\1\d{3})*"


def parse_count(values: pd.Series) -> tuple[pd.Series, pd.Series]:
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


@dataclass
class Rows:
    """The rows of one table while they are checked: each check may reject some rows
    (the first reason stands), and the geometry goes from read to WGS 84."""

    table: RawTable
    geoms: np.ndarray
    reason: np.ndarray
    check: np.ndarray
    repairs: np.ndarray

    def __post_init__(self) -> None:
        # the rows not rejected, kept as rows are rejected: every check asks, and
        # comparing every reason with None again took a millisecond per 100,000 rows
        self._live = np.equal(self.reason, None)

    @classmethod
    def of(cls, table: RawTable) -> Rows:
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
        """Which rows no check has rejected (a copy)."""
        return self._live.copy()

    def reject(self, mask, message, code: str) -> None:
        """Reject the rows in ``mask`` not rejected yet; ``message`` may be a function
        of the row index."""
        mask = np.asarray(mask, dtype=bool) & self._live
        if not mask.any():
            return
        self.check[mask] = code
        self._live &= ~mask
        if callable(message):
            for i in np.flatnonzero(mask):
                self.reason[i] = message(i)
        else:
            self.reason[mask] = message


def check_malformed(rows: Rows) -> None:
    """Rows the reader could not split into fields (a CSV's)."""
    _reject_listed(rows, rows.table.row_errors, "malformed row", "malformed_row")


def check_cells(rows: Rows) -> None:
    """Rows of a workbook with a cell whose value cannot be read (a formula the file
    stores no value for, an error such as #N/A): the value is unknown (a device
    count, a coordinate), so the row is not read as it stands."""
    text = "a cell without a value that can be read"
    _reject_listed(rows, rows.table.unreadable_cells, text, "unreadable_cell")


def _reject_listed(rows: Rows, listed, what: str, code: str) -> None:
    """Reject the rows a reader listed a problem for (``listed``: per row, its words
    or None) as ``what: <its words>``."""
    if listed is not None and len(listed) == rows.n:
        listed = np.asarray(listed, dtype=object)
        rows.reject(~np.equal(listed, None), lambda i: f"{what}: {listed[i]}", code)


def blank_rows(table: RawTable, among: np.ndarray) -> np.ndarray:
    """Which of the rows ``among`` (a mask; no other row is blank) are empty cells
    without a geometry: a spreadsheet's separator row, ",,,," in its CSV."""
    out = np.zeros(len(table), dtype=bool)
    idx = np.flatnonzero(among)
    if len(idx):
        geoms = np.asarray(table.geometry, dtype=object)[idx]
        out[idx] = table.attributes.iloc[idx].isna().all(axis=1).to_numpy()
        out[idx] &= shapely.is_missing(geoms)
    return out


def check_types(rows: Rows, raw_types: pd.Series, value_map: dict) -> np.ndarray:
    types = schema.by_value(lambda v: schema.normalize_record_type(v, value_map), raw_types)
    empty = pd.isna(schema.by_value(schema.clean_text, raw_types))
    blank = blank_rows(rows.table, empty)  # a blank row has no type either
    rows.reject(blank, "a blank row (no values, no geometry)", "blank_row")
    rows.reject(empty, "record_type is empty", "unknown_record_type")

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


def check_geometry_present(rows: Rows) -> None:
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
        finite[ok] = finite_coordinates(geoms[ok])
    rows.reject(
        ~finite, "geometry has non-finite (NaN or infinite) coordinates", "unreadable_geometry"
    )
    geoms[~rows.live] = None


def to_wgs84_checked(rows: Rows, crs) -> None:
    """The file's own CRS, else the declared one; coordinates that cannot be in it are
    rejected with a hint; the rest goes to WGS 84."""
    table, geoms = rows.table, rows.geoms
    source_crs = resolve_crs(table, crs)
    live = rows.live
    if source_crs.is_geographic and live.any():
        out = np.zeros(rows.n, dtype=bool)
        out[live] = off_earth(geoms[live])
        rows.reject(
            out,
            lambda i: (
                f"coordinates {coord_summary(geoms[i])} are outside the valid range of "
                f"{source_crs.name}; {crs_hint(geoms[i])}"
            ),
            "other_crs",
        )
        geoms[out] = None
    reject_degrees_in_metres(rows, source_crs)
    live = rows.live
    if not live.any():
        return
    drawn = geoms[live]
    try:
        geoms[live] = moved = to_wgs84(drawn, source_crs)
    except Exception as exc:  # pyproj raises several types
        raise CRSError(
            f"{table.source}: cannot transform from {source_crs.to_string()}: {exc}"
        ) from None
    bad = np.zeros(rows.n, dtype=bool)
    if moved is not drawn:  # in WGS 84 already, they were checked above
        bad[live] = ~on_earth(moved)
    rows.reject(
        bad,
        lambda i: (
            f"coordinates {coord_summary(table.geometry[i])} cannot be placed on Earth "
            f"in {source_crs.name}; is the CRS wrong?"
        ),
        "other_crs",
    )
    geoms[rows.live] = clamped_to_earth(geoms[rows.live])


def reject_degrees_in_metres(rows: Rows, source_crs: pyproj.CRS) -> None:
    """Small numbers in a metre CRS are degrees when they land outside its area."""
    use = source_crs.area_of_use if source_crs.is_projected else None
    live = rows.live
    if use is None or not live.any():
        return
    geoms = rows.geoms
    degrees = np.zeros(rows.n, dtype=bool)
    small = on_earth(geoms[live])  # numbers that could be lon/lat
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
            f"coordinates {coord_summary(geoms[i])} look like lon/lat degrees, but the "
            f"file's CRS is {source_crs.name} (metres); is the CRS wrong?"
        ),
        "other_crs",
    )


def check_geometry_types(rows: Rows, types: np.ndarray) -> None:
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
        lambda i: (
            f"{types[i]} record has {geometry_name(type_ids[i])} geometry; expected a polygon"
        ),
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
            f"{types[i]} record has {geometry_name(type_ids[i])} geometry{points}; "
            "expected one point"
        )

    rows.reject(
        live & is_point & (type_ids != GT.POINT.value) & ~single, why, "wrong_geometry_type"
    )


def check_validity(rows: Rows, types: np.ndarray, ids: np.ndarray, on_invalid: str) -> None:
    """Invalid polygons: repaired (noted in ``repair``), rejected, or an error.

    A polygon drawn across the antimeridian (longitudes that jump from 180° to −180°)
    is judged and repaired whole, then kept cut at ±180°."""
    table, geoms = rows.table, rows.geoms
    if table.parse_fixes is not None:
        fixes = np.asarray(table.parse_fixes, dtype=object)
        rows.repairs[~np.equal(fixes, None)] = fixes[~np.equal(fixes, None)]
    idx = np.flatnonzero(rows.live & np.isin(types, schema.AREA_TYPES))
    if not len(idx):
        return
    drawn = geoms[idx]
    geoms[idx], crossing = unwrap_antimeridian(drawn)  # judged whole, then cut
    _repair_rows(rows, idx, ids, on_invalid, drawn)
    live = rows.live[idx]
    geoms[idx[crossing & live]] = cut_at_antimeridian(geoms[idx[crossing & live]], OverlayLog())
    geoms[idx[crossing & ~live]] = drawn[crossing & ~live]  # rejected rows: as they came


def _repair_rows(rows: Rows, idx: np.ndarray, ids: np.ndarray, on_invalid: str, drawn) -> None:
    """The invalid polygons among rows ``idx``: repaired, rejected, or an error
    (``drawn``: the rows' polygons as drawn, before any unwrapping at ±180°)."""
    table, geoms = rows.table, rows.geoms
    was_invalid = invalid_geometries(geoms[idx])
    if not was_invalid.any():
        return
    bad_idx = idx[was_invalid]
    # a ring outside its polygon's shell is left out of the bounds the CRS checks saw:
    # rejected before a repair would take it for land
    as_drawn = dict(zip(bad_idx, drawn[was_invalid], strict=True))
    off = np.zeros(rows.n, dtype=bool)
    off[bad_idx] = off_earth(shapely.boundary(drawn[was_invalid]))
    rows.reject(
        off,
        lambda i: (
            f"a ring of the polygon reaches {_off_earth_vertex(as_drawn[i])}, beyond ±180° "
            "longitude or ±90° latitude; is the CRS right?"
        ),
        "other_crs",
    )
    bad_idx = bad_idx[~off[bad_idx]]
    if not len(bad_idx):
        return
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
    fixed_poly = clamped_to_earth(polygonal(made_valid(geoms[bad_idx])), lon=np.inf)
    before = geodesic_ha(enclosed(geoms[bad_idx]))
    after = geodesic_ha(fixed_poly)
    for i, w, g, a, b in zip(bad_idx, why, fixed_poly, before, after, strict=True):
        rows.repairs[i] = repair_note(w, a, b)
        geoms[i] = g
    collapsed = np.zeros(rows.n, dtype=bool)
    collapsed[bad_idx] = shapely.is_missing(fixed_poly) | shapely.is_empty(fixed_poly)
    rows.reject(
        collapsed,
        lambda i: f"invalid geometry ({rows.repairs[i]}) has no area left once repaired",
        "too_few_vertices",
    )
    n_rep = int(len(bad_idx) - collapsed.sum())
    if n_rep:
        log.warning("%s: repaired %d invalid geometries with make_valid", table.source, n_rep)


def _off_earth_vertex(geom) -> str:
    """The first vertex of a lon/lat geometry that cannot lie on Earth."""
    xy = shapely.get_coordinates(geom)
    return coord_summary(shapely.points(xy[(np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)]))


def check_dates(rows: Rows, attrs: pd.DataFrame) -> pd.Series:
    if "date" not in attrs.columns:
        return pd.Series(pd.NaT, index=attrs.index, dtype="datetime64[ns]")
    dates, bad = parse_dates(attrs["date"], serials=rows.table.date_serials)
    raw = attrs["date"]
    rows.reject(bad.to_numpy(), lambda i: bad_date_reason(raw.iloc[i]), "bad_date")
    return dates


def check_counts(rows: Rows, attrs: pd.DataFrame, types: np.ndarray) -> dict[str, pd.Series]:
    """quantity (devices, 1 when blank), killed and injured (incidents)."""
    counts: dict[str, pd.Series] = {}
    for col in schema.COUNT_COLUMNS:
        if col not in attrs.columns:
            counts[col] = pd.Series(pd.NA, index=attrs.index, dtype="Int64")
            continue
        values, bad = parse_count(attrs[col])
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


def repair_note(why: str, drawn: float, repaired: float) -> str:
    """What a make_valid repair did, with the area its rings enclose and what is kept."""
    note = f"repaired with make_valid: {why}; area {drawn:,.4f} ha → {repaired:,.4f} ha"
    if drawn > 0 and not 0.5 <= repaired / drawn <= 2.0:
        note += (
            f" (the rings enclose {drawn:,.4f} ha but the repaired polygon, as PostGIS "
            f"ST_MakeValid makes it, keeps {100 * repaired / drawn:,.1f}%: a ring traced twice "
            "keeps only the band between its tracings; check the record)"
        )
    return note


def geodesic_ha(geoms) -> list[float]:
    """Ellipsoidal areas (pyproj Geod) of lon/lat geometries (0 for none or empty),
    whichever way their rings run (Geod adds up signed areas: a hole that runs as its
    shell does would be added, not taken away)."""
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            out.append(0.0)
            continue
        try:
            area, _ = _GEOD.geometry_area_perimeter(shapely.orient_polygons(g))
            out.append(abs(area) / 10_000)
        except (TypeError, ValueError, AttributeError, pyproj.exceptions.GeodError):
            out.append(float("nan"))
    return out


def geometry_name(type_id: int) -> str:
    try:
        return shapely.GeometryType(int(type_id)).name.title().replace("string", "String")
    except ValueError:
        return "no"
