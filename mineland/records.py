"""Turn raw attribute tables and geometries into canonical survey records.

Pure computation: the readers in :mod:`mineland.io` hand over what they read, and
this module applies the field map, the vocabulary, the CRS, date and count parsing
and geometry checks.  Every input row ends up either in the records or in the
rejected table, with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from . import schema
from .crs import WGS84, crs_text, parse_crs
from .errors import CRSError, DataError, SchemaError
from .record_checks import (
    ON_INVALID,
    Rows,
    blank_rows,
    check_cells,
    check_counts,
    check_dates,
    check_geometry_present,
    check_geometry_types,
    check_malformed,
    check_types,
    check_validity,
    to_wgs84_checked,
)
from .tables import RawTable, SurveyData, lists_as_text

__all__ = [
    "RawTable",
    "SurveyData",
    "as_survey_data",
    "normalize_records",
    "parse_crs",
]

log = logging.getLogger(__name__)

#: Between the notes of one file in ``SurveyData.sources["note"]`` (a note's own
#: text may hold semicolons).
NOTE_SEPARATOR = " | "


# --------------------------------------------------------------------------- dates


# --------------------------------------------------------------------------- helpers


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
    if on_invalid not in ON_INVALID:
        raise DataError(f"on_invalid must be one of {', '.join(ON_INVALID)}, got {on_invalid!r}")
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
                "note": NOTE_SEPARATOR.join(f"{c}: {m}" for c, m in table.notes) or None,
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
    if field_map.get("preset"):
        _note_preset_gaps(tables, field_map)
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


def _note_preset_gaps(tables: Sequence[RawTable], field_map) -> None:
    """A preset names the columns of several export tables; each table has only
    some, so a missing one is noted, not an error."""
    for table in tables:
        gaps = schema.missing_fields(table.attributes.columns, field_map, source=table.source)
        if gaps:
            log.info(
                "%s: preset %s: no column for %s",
                table.source,
                field_map["preset"],
                ", ".join(canonical for canonical, _, _ in gaps),
            )


def generated_id(label: str, layer: str | None, row: int) -> str:
    """The id of a record that has none: its file (``label``), its layer when the file
    has several (a GeoPackage), and its row, as ``label[:layer]#row``."""
    stem = label.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    layer_tag = f":{layer}" if layer and layer != stem else ""
    return f"{label}{layer_tag}#{row}"


def _record_ids(attrs: pd.DataFrame, table: RawTable, label: str, rows: np.ndarray) -> np.ndarray:
    """The record ids as text; made from the file and row where missing
    (:func:`generated_id`), which the table's notes say, for validation to report.

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
    missing_id = ids.isna().to_numpy()
    if missing_id.any():
        ids = ids.astype(object)
        ids[missing_id] = [generated_id(label, table.layer, r) for r in rows[missing_id]]
        unnamed = int((missing_id & ~blank_rows(table, missing_id)).sum())  # nor a blank row
        if unnamed:
            message = f"{unnamed} records have no record_id; made from file and row"
            table.notes.append(("missing_record_id", message))
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
    rows = Rows.of(table)
    ids = _record_ids(attrs, table, label or _basename(table.source), rows.numbers)
    check_malformed(rows)
    check_cells(rows)
    types = check_types(rows, attrs["record_type"], value_map)
    check_geometry_present(rows)
    to_wgs84_checked(rows, crs)
    check_geometry_types(rows, types)
    check_validity(rows, types, ids, on_invalid)
    dates = check_dates(rows, attrs)
    counts = check_counts(rows, attrs, types)
    used = _used_frame(rows, attrs, ids, types, dates, counts)
    return used, _rejected_frame(rows, original, ids, crs)


def _basename(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _canonical_columns(table: RawTable, field_map) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The field map applied, case and Shapefile-truncated variants of canonical names
    recognised; a table without ``record_type`` cannot be read."""
    original = table.attributes.reset_index(drop=True).apply(lists_as_text)
    attrs, value_map = schema.apply_field_map(original, field_map, source=table.source)
    # "record_type" and "Record Type" in a GeoJSON (a CSV's twins are looked at as read)
    schema.check_twins(attrs, table.source, skip=set(field_map or {}))
    # "Record Type", "record-type" and "RECORD_TYPE" as spreadsheets head them
    lower = {schema.column_key(c): c for c in attrs.columns}
    for canonical in schema.CANONICAL_COLUMNS:
        if canonical in attrs.columns:
            continue
        for variant in (canonical, canonical[:10]):
            if variant in lower and lower[variant] not in schema.CANONICAL_COLUMNS:
                attrs = attrs.rename(columns={lower[variant]: canonical})
                break
    by_table = (field_map or {}).get("record_type_by_table")
    if "record_type" not in attrs.columns and isinstance(by_table, Mapping):
        attrs = _type_from_table_name(attrs, table, by_table)
    if "status" in attrs.columns:
        attrs["status"] = schema.normalize_statuses(
            attrs["status"], (field_map or {}).get("status_values")
        )
    if "record_type" not in attrs.columns:
        raise SchemaError(
            f"{table.source}{'' if not table.layer else f' (layer {table.layer})'}: "
            f"no 'record_type' column; columns are {', '.join(map(str, original.columns))}. "
            'Name the type column in a field map, e.g. record_type = "TYPE"'
        )
    return original, attrs, value_map


def _type_from_table_name(attrs: pd.DataFrame, table: RawTable, by_table: Mapping) -> pd.DataFrame:
    """A table without a type column whose name says what it holds (an ``accident``
    table holds incidents): the field map's ``record_type_by_table``."""
    names = [table.layer or "", _basename(table.source).rsplit(".", 1)[0]]
    for key, record_type in by_table.items():
        if any(str(key).casefold() in name.casefold() for name in names):
            return attrs.assign(record_type=str(record_type))
    return attrs


def _used_frame(rows: Rows, attrs, ids, types, dates, counts) -> gpd.GeoDataFrame:
    """The rows used, in the canonical schema, with their provenance."""
    table, n = rows.table, rows.n
    provenance = (schema.SOURCE_FILE, schema.SOURCE_LAYER, schema.SOURCE_ROW, "repair")
    # a file written by mineland keeps where its rows first came from
    attrs = attrs.rename(columns={c: f"original_{c}" for c in provenance if c in attrs.columns})
    extra = [c for c in attrs.columns if c not in schema.CANONICAL_COLUMNS and c != "geometry"]
    text = _text_dtype()
    data = {
        "record_id": _column(ids, text),
        "record_type": _column(types, text),
        "date": dates.to_numpy(),
        "device_type": (
            _column(schema.clean_texts(attrs["device_type"]), text)
            if "device_type" in attrs.columns
            else np.full(n, None, dtype=object)
        ),
        "quantity": counts["quantity"].array,
        "killed": counts["killed"].array,
        "injured": counts["injured"].array,
    }
    for col in extra:
        data[col] = attrs[col].array if attrs[col].dtype == text else attrs[col].to_numpy()
    data[schema.SOURCE_FILE] = _column(np.full(n, table.source, dtype=object), text)
    data[schema.SOURCE_LAYER] = _column(np.full(n, table.layer, dtype=object), text)
    data[schema.SOURCE_ROW] = rows.numbers
    data["repair"] = _column(rows.repairs, text)
    keep = rows.live
    frame = pd.DataFrame(data)
    used = gpd.GeoDataFrame(frame[keep], geometry=rows.geoms[keep], crs=WGS84)
    used.index = pd.RangeIndex(len(used))
    if table.crs_assumed:
        log.info("%s: no CRS declared; lon/lat columns read as WGS 84", table.source)
    return used


def _text_dtype():
    """The dtype pandas gives a column of text it is handed as Python strings, where
    that is Arrow-backed (``str`` in pandas 3, ``string[pyarrow_numpy]`` in pandas
    2.2 with ``future.infer_string``); None where it keeps them as objects."""
    dtype = pd.Series(np.array(["a"], dtype=object)).dtype
    arrow = isinstance(dtype, pd.StringDtype) and dtype.storage in ("pyarrow", "pyarrow_numpy")
    return dtype if arrow else None


def _column(values: np.ndarray, text) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """An object column as the column pandas makes of it, its text (Python strings
    and missing values) made ``text`` (:func:`_text_dtype`) by Arrow at once: pandas
    itself looks at every value in Python first.  The used rows of the 100k benchmark
    (150,000 rows) took 0.12–0.14 s to put together that way, 0.04–0.05 s this way."""
    if text is None or pd.api.types.infer_dtype(values, skipna=True) != "string":
        return values
    return pd.array(pa.array(values, type=pa.large_string(), from_pandas=True), dtype=text)


def rejected_rows(
    *,
    source_file,
    source_layer,
    rows,
    reasons,
    checks,
    own: pd.DataFrame,
    geoms,
    crs: str | None,
    record_ids=None,
) -> pd.DataFrame:
    """The one shape of rejected rows: where each came from (file, layer, row), its id,
    why (``reason``, ``check``), its own columns as read (names that clash get
    ``_original``), its geometry as read (WKT, full precision) and that CRS, so that
    the file can be fixed and read again.  Without ``record_ids`` the ids are the
    rows' own ``record_id`` column, when they have one."""
    own = own.reset_index(drop=True)
    if record_ids is None:
        record_ids = own["record_id"].to_numpy() if "record_id" in own.columns else None
    front = pd.DataFrame(
        {
            schema.SOURCE_FILE: source_file,
            schema.SOURCE_LAYER: source_layer,
            schema.SOURCE_ROW: rows,
            "record_id": record_ids,
            "reason": reasons,
            "check": checks,
        }
    )
    own = own.drop(columns="record_id", errors="ignore")
    own = own.rename(columns={c: f"{c}_original" for c in own.columns if c in front.columns})
    out = pd.concat([front, own], axis=1)
    out["geometry_wkt"] = [
        None if g is None else shapely.to_wkt(g, rounding_precision=-1) for g in geoms
    ]
    out["source_crs"] = crs
    return out


def _rejected_frame(rows: Rows, original: pd.DataFrame, ids, crs) -> pd.DataFrame:
    """The rows of one table that the checks rejected."""
    table, keep = rows.table, rows.live
    return rejected_rows(
        source_file=table.source,
        source_layer=table.layer,
        rows=rows.numbers[~keep],
        record_ids=ids[~keep],
        reasons=rows.reason[~keep],
        checks=rows.check[~keep],
        own=original.loc[~keep],
        geoms=np.asarray(table.geometry, dtype=object)[~keep],
        crs=crs_text(table.crs or parse_crs(crs)),
    )


def _whole_table_rejected(table: RawTable, reason: str, code: str) -> pd.DataFrame:
    return rejected_rows(
        source_file=table.source,
        source_layer=table.layer,
        rows=np.arange(1, len(table) + 1),
        reasons=reason,
        checks=code,
        own=table.attributes,
        geoms=table.geometry,
        crs=crs_text(table.crs),
    )


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
    # the record's own columns, as read, so the row can be fixed and read again
    own = pd.DataFrame(bad.drop(columns=[bad.geometry.name, "repair"], errors="ignore"))
    if "date" in own.columns:
        own["date"] = own["date"].dt.strftime("%Y-%m-%d")
    rej = rejected_rows(
        source_file=bad[schema.SOURCE_FILE].to_numpy(),
        source_layer=bad[schema.SOURCE_LAYER].to_numpy(),
        rows=bad[schema.SOURCE_ROW].to_numpy(),
        reasons=[
            f"duplicate record_id {rid!r}; first used in {first.at[rid, schema.SOURCE_FILE]} "
            f"row {first.at[rid, schema.SOURCE_ROW]}"
            for rid in ids[dup]
        ],
        checks="duplicate_record_id",
        own=own.drop(columns=[schema.SOURCE_FILE, schema.SOURCE_LAYER, schema.SOURCE_ROW]),
        geoms=bad.geometry.to_numpy(),
        crs="EPSG:4326",
    )
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
