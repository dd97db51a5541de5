"""Reading and writing files: the only module that touches the file system."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import tempfile
import tomllib
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from shapely.errors import GEOSException

from . import schema
from .csvtext import decode_csv, looks_cyrillic, parse_csv, sniff_delimiter
from .districts import prepare_districts
from .errors import CRSError, InputFileError, OutputError, SchemaError
from .rasterdata import RasterData
from .records import RawTable, SurveyData, normalize_records, parse_crs

__all__ = [
    "VECTOR_EXTENSIONS",
    "check_output_path",
    "find_input_files",
    "load_class_table",
    "load_field_map",
    "load_sources",
    "read_raster",
    "read_districts",
    "read_surveys",
    "write_raster",
    "write_report",
    "write_report_file",
    "write_geoparquet",
    "write_rejected",
    "write_table",
    "write_text",
]

log = logging.getLogger(__name__)

#: File endings read through GDAL (a ``.gdb`` folder is a File Geodatabase).
VECTOR_EXTENSIONS = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".kml", ".kmz", ".gdb")
PARQUET_EXTENSIONS = (".parquet", ".geoparquet")
CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
_WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom", "geometry_wkt")
_XY_COLUMNS = (
    ("lon", "lat"),
    ("longitude", "latitude"),
    ("long", "lat"),
    ("lng", "lat"),
    ("x", "y"),
    ("easting", "northing"),
)
_GEOGRAPHIC_XY = {("lon", "lat"), ("longitude", "latitude"), ("long", "lat"), ("lng", "lat")}

Progress = Callable[[str, int, int], None]

#: GDAL settings while mineland reads: never fetch anything (KML network links,
#: remote references).  Set for the call only, then restored: importing or calling
#: mineland leaves the process's GDAL configuration as it found it.
_GDAL_OFFLINE = {
    "GDAL_HTTP_TIMEOUT": "1",
    "LIBKML_RESOLVE_STYLE": "NO",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".mineland-never",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
}


def _offline_gdal(fn):
    """Run a reader with :data:`_GDAL_OFFLINE` set, restoring the settings after."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        before = {key: pyogrio.get_gdal_config_option(key) for key in _GDAL_OFFLINE}
        pyogrio.set_gdal_config_options(_GDAL_OFFLINE)
        try:
            return fn(*args, **kwargs)
        finally:
            pyogrio.set_gdal_config_options(before)

    return wrapper


# --------------------------------------------------------------------------- discovery


def _is_geojson_text(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096].decode("utf-8", "ignore")
    except OSError:
        return False
    return '"type"' in head and ("Feature" in head or "Polygon" in head or "Point" in head)


_SIDECARS = {".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".xml", ".aux"}


def _folder_files(path: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The survey files in a folder (recursively), and the files skipped with why."""
    inside: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for child in sorted(path.rglob("*")):
        rel = child.relative_to(path)
        if any(p.suffix.lower() == ".gdb" for p in rel.parents):
            continue
        suffix = child.suffix.lower()
        if child.is_dir():
            if suffix == ".gdb":
                inside.append(child)
            continue
        if ".partial" in child.name:
            skipped.append((child, "unfinished output of an interrupted run"))
        elif suffix in PARQUET_EXTENSIONS:
            in_dataset = any(_is_parquet_dataset(path / p) for p in rel.parents if p != Path("."))
            if not in_dataset:
                inside.append(child)
        elif suffix == ".json" and not _is_geojson_text(child):
            skipped.append((child, "JSON but not GeoJSON"))
        elif suffix in VECTOR_EXTENSIONS + CSV_EXTENSIONS and suffix != ".txt":
            inside.append(child)
        elif suffix in _SIDECARS and child.with_suffix(".shp").exists():
            continue  # part of a Shapefile
        elif not child.name.startswith("."):
            skipped.append((child, "not a survey file format"))
    return inside, skipped


def find_input_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand the given files and folders into the files to read, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputFileError(f"{path}: no such file or folder")
        if path.is_dir() and _is_parquet_dataset(path):
            found.append(path)
        elif path.is_dir() and path.suffix.lower() != ".gdb":
            inside, skipped = _folder_files(path)
            if skipped:
                shown = "; ".join(f"{p.relative_to(path)} ({why})" for p, why in skipped[:10])
                more = f"; and {len(skipped) - 10} more" if len(skipped) > 10 else ""
                log.warning("%s: skipped %d files: %s%s", path, len(skipped), shown, more)
            if not inside:
                raise InputFileError(f"{path}: the folder holds no supported survey files")
            found.extend(inside)
        else:
            found.append(path)
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _is_parquet_dataset(path: Path) -> bool:
    """A folder of GeoParquet parts (what ``mineland convert`` writes)."""
    return path.is_dir() and (
        path.suffix.lower() in PARQUET_EXTENSIONS or any(path.glob("part-*.parquet"))
    )


# --------------------------------------------------------------------------- raw reading


def _parse_wkb(wkb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse WKB; return geometries, parse errors and what had to be fixed, per row."""
    n = len(wkb)
    errors = np.full(n, None, dtype=object)
    fixes = np.full(n, None, dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    failed = np.flatnonzero(shapely.is_missing(geoms) & ~np.equal(wkb, None))
    for i in failed:
        try:
            shapely.from_wkb(wkb[i])
            message = "unreadable"
        except (GEOSException, ValueError, TypeError) as exc:
            message = str(exc).split("\n")[0]
        fixed = shapely.from_wkb(wkb[i], on_invalid="fix")
        if fixed is not None and not shapely.is_empty(fixed):
            geoms[i] = fixed
            fixes[i] = f"read after fixing: {message}"
        else:
            errors[i] = message
    return geoms, errors, fixes


@contextmanager
def _gdal_warnings_to_log(path: Path):
    """GDAL's warnings (laundered names, odd headers) become log messages on the file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    messages: dict[str, int] = {}
    for w in caught:
        text = str(w.message).strip()
        if "Non closed ring" in text:
            text = "polygon rings that were not closed have been closed on reading"
        messages[text] = messages.get(text, 0) + 1
    for text, count in messages.items():
        log.warning("%s: %s%s", path, text, f" ({count} times)" if count > 1 else "")


def _shapefile_encoding(path: Path) -> str | None:
    """The encoding of a Shapefile's .dbf when no .cpg says it.

    UTF-8 when the text is valid UTF-8; else the code page in the .dbf header
    (GDAL reads it); else, when the header names none, Windows-1251 for Cyrillic
    text or Windows-1252, with a warning (post-Soviet exports are often cp1251).
    """
    if path.suffix.lower() != ".shp" or path.with_suffix(".cpg").exists():
        return None
    dbf = next(
        (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
    )
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    body = raw[int.from_bytes(raw[8:10], "little") :] if len(raw) > 32 else b""
    if max(body, default=0) < 0x80:
        return None  # plain ASCII: nothing to decide
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    if len(raw) > 29 and raw[29] != 0:
        return None  # the header names a code page; GDAL uses it
    encoding = "cp1251" if looks_cyrillic(body) else "cp1252"
    log.warning("%s: no .cpg and no code page in the .dbf; text read as %s", path, encoding)
    return encoding


def _shapefile_counts_differ(path: Path) -> str | None:
    """A Shapefile whose .shx (shapes) and .dbf (attribute rows) disagree in count."""
    if path.suffix.lower() != ".shp":
        return None
    shx, dbf = path.with_suffix(".shx"), path.with_suffix(".dbf")
    if not (shx.exists() and dbf.exists()):
        return None
    shapes = (shx.stat().st_size - 100) // 8
    with dbf.open("rb") as f:
        head = f.read(8)
    rows = int.from_bytes(head[4:8], "little") if len(head) == 8 else shapes
    if shapes == rows:
        return None
    return (
        f"the .shp has {shapes:,} shapes but the .dbf {rows:,} attribute rows; the "
        f"{abs(shapes - rows):,} without a partner cannot be read: repair the Shapefile"
    )


def _read_layer(path: Path, layer: str | int | None, *, bbox=None) -> RawTable:
    mismatch = _shapefile_counts_differ(path)
    if mismatch:
        log.warning("%s: %s", path, mismatch)
    try:
        with _gdal_warnings_to_log(path):
            meta, _, wkb, field_data = pyogrio.raw.read(
                str(path),
                layer=layer,
                force_2d=True,
                bbox=bbox,
                encoding=_shapefile_encoding(path),
                # dates as GDAL holds them: a value it cannot turn into a date
                # (2021-02-30) is then rejected row by row, with its raw text
                datetime_as_string=True,
            )
    except Exception as exc:  # pyogrio raises its own error types and OSError
        raise InputFileError(f"{path}: cannot read layer {layer!r}: {_first_line(exc)}") from None
    fields = list(meta["fields"])
    attrs = pd.DataFrame(
        {name: values for name, values in zip(fields, field_data, strict=True)} if fields else {},
        index=pd.RangeIndex(len(wkb) if wkb is not None else 0),
    )
    if wkb is None:
        wkb = np.full(len(attrs), None, dtype=object)
    geoms, errors, fixes = _parse_wkb(np.asarray(wkb, dtype=object))
    crs = None
    if meta.get("crs"):
        try:
            crs = pyproj.CRS.from_user_input(meta["crs"])
        except pyproj.exceptions.CRSError:
            raise CRSError(f"{path}: unreadable CRS {meta['crs']!r}") from None
    name = None if layer is None else str(layer)
    table = RawTable(str(path), name, attrs, geoms, crs, errors, fixes)
    if mismatch:
        table.notes.append(("shapefile_mismatch", mismatch))
    return table


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _spatial_layers(path: Path) -> list[str]:
    try:
        with _gdal_warnings_to_log(path):
            layers = pyogrio.list_layers(str(path))
    except Exception as exc:
        raise InputFileError(
            f"{path}: not a readable vector dataset ({_first_line(exc)})"
        ) from None
    spatial = [str(name) for name, gtype in layers if gtype is not None]
    if not spatial:
        raise InputFileError(f"{path}: the file holds no layer with geometries")
    return spatial


_CURVED = re.compile(
    r"^\s*(CURVEPOLYGON|MULTISURFACE|COMPOUNDCURVE|CIRCULARSTRING|MULTICURVE)", re.IGNORECASE
)


def _linearise_curves(geoms: np.ndarray, texts: np.ndarray, fixes: np.ndarray) -> None:
    """Read curved WKT (CURVEPOLYGON, ...) through GDAL, which linearises the arcs.

    GEOS cannot parse curves; GDAL's CSV driver reads the WKT and pyogrio returns
    linear geometries.  Updates ``geoms`` and ``fixes`` in place.
    """
    todo = [
        i
        for i in np.flatnonzero(shapely.is_missing(geoms))
        if isinstance(texts[i], str) and _CURVED.match(texts[i])
    ]
    if not todo:
        return
    lines = ["wkt"] + ['"' + str(texts[i]).replace('"', '""') + '"' for i in todo]
    try:
        with tempfile.TemporaryDirectory(prefix="mineland-") as tmp:
            scratch = Path(tmp) / "curves.csv"
            scratch.write_text("\n".join(lines), encoding="utf-8")
            frame = pyogrio.read_dataframe(
                scratch, GEOM_POSSIBLE_NAMES="wkt", KEEP_GEOM_COLUMNS="NO"
            )
    except Exception as exc:  # GDAL refused the text: the rows stay unreadable
        log.debug("curved WKT could not be linearised: %s", exc)
        return
    for i, g in zip(todo, frame.geometry.array, strict=True):
        if g is not None and not g.is_empty:
            geoms[i] = g
            fixes[i] = "curved geometry linearised (arcs replaced by short straight segments)"


def _read_csv(path: Path, crs: object | None) -> RawTable:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty")
    text = decode_csv(raw, str(path))
    if "\x00" in text[:4096]:
        raise InputFileError(f"{path}: not a text CSV file (binary content)")
    frame, problems = parse_csv(text, sniff_delimiter(text))
    if frame.shape[1] == 0:
        raise InputFileError(f"{path}: not a readable CSV file (no header)")
    frame.columns = [str(c).strip() for c in frame.columns]
    folded = {c.casefold(): c for c in frame.columns}
    n = len(frame)
    errors = np.full(n, None, dtype=object)
    fixes = np.full(n, None, dtype=object)
    crs_assumed = False
    wkt_col = next((folded[c] for c in _WKT_COLUMNS if c in folded), None)
    xy = next(((folded[a], folded[b]) for a, b in _XY_COLUMNS if a in folded and b in folded), None)
    if wkt_col is not None:
        text_geoms = frame[wkt_col].astype(object).where(frame[wkt_col].notna(), None)
        text_geoms = text_geoms.to_numpy(dtype=object)
        # GEOS cannot parse curves (shapely raises even with on_invalid="ignore")
        curved = np.array([isinstance(t, str) and bool(_CURVED.match(t)) for t in text_geoms])
        plain_text = np.where(curved, None, text_geoms)
        geoms = shapely.from_wkt(plain_text, on_invalid="ignore")
        _linearise_curves(geoms, text_geoms, fixes)
        for i in np.flatnonzero(shapely.is_missing(geoms) & ~pd.isna(text_geoms) & ~curved):
            try:
                shapely.from_wkt(text_geoms[i])
                message = "unreadable"
            except (GEOSException, ValueError, TypeError) as exc:
                message = _first_line(exc)
            fixed = shapely.from_wkt(text_geoms[i], on_invalid="fix")
            if fixed is not None and not shapely.is_empty(fixed):
                geoms[i] = fixed
                fixes[i] = f"read after fixing: {message}"
            else:
                errors[i] = f"{message} in {str(text_geoms[i])[:60]!r}"
        for i in np.flatnonzero(curved & shapely.is_missing(geoms)):
            errors[i] = f"curved geometry that cannot be read: {str(text_geoms[i])[:60]!r}"
        geoms = shapely.force_2d(geoms)
        attrs = frame.drop(columns=[wkt_col])
    elif xy is not None:
        xs = _numbers(frame[xy[0]])
        ys = _numbers(frame[xy[1]])
        geoms = np.full(n, None, dtype=object)
        ok = np.isfinite(xs) & np.isfinite(ys)
        geoms[ok] = shapely.points(xs[ok], ys[ok])
        blank = frame[xy[0]].isna().to_numpy() & frame[xy[1]].isna().to_numpy()
        for i in np.flatnonzero(~ok & ~blank):
            errors[i] = (
                f"coordinates {xy[0]}={frame[xy[0]].iloc[i]!r}, {xy[1]}={frame[xy[1]].iloc[i]!r} "
                "are not numbers"
            )
        attrs = frame.drop(columns=list(xy))
        if crs is None and (xy[0].casefold(), xy[1].casefold()) in _GEOGRAPHIC_XY:
            crs_assumed = True
    else:
        raise SchemaError(
            f"{path}: a CSV needs lon/lat (or longitude/latitude, x/y) columns or a WKT "
            f"column; columns are {', '.join(frame.columns)}"
        )
    table_crs = pyproj.CRS.from_epsg(4326) if crs_assumed else None
    if "source_crs" in attrs.columns and wkt_col is not None:
        # a rejected-rows file written by mineland says which CRS its WKT is in
        named = attrs["source_crs"].dropna().unique()
        if len(named) == 1:
            table_crs = parse_crs(str(named[0]))
            crs_assumed = False
        attrs = attrs.drop(columns="source_crs")
    table = RawTable(str(path), None, attrs, geoms, table_crs, errors, fixes, crs_assumed)
    table.row_errors = np.asarray(problems, dtype=object)
    return table


def _numbers(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _read_parquet(path: Path, bbox=None) -> RawTable:
    try:
        frame = gpd.read_parquet(path, bbox=bbox)
    except Exception as exc:  # pyarrow raises many types
        raise InputFileError(
            f"{path}: not a readable GeoParquet file ({_first_line(exc)})"
        ) from None
    crs = None if frame.crs is None else pyproj.CRS.from_user_input(frame.crs)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name)).reset_index(drop=True)
    return RawTable(str(path), None, attrs, shapely.force_2d(geoms), crs)


def _bbox_in(bbox, crs: pyproj.CRS | None):
    """A lon/lat bounding box in another CRS (None when there is no box)."""
    if bbox is None:
        return None
    if crs is None or crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return tuple(bbox)
    t = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    return tuple(t.transform_bounds(*bbox, densify_pts=21))


def _parquet_crs(path: Path) -> pyproj.CRS | None:
    import pyarrow.parquet as pq

    part = path if path.is_file() else next(iter(sorted(path.glob("*.parquet"))), None)
    if part is None:
        return None
    try:
        meta = json.loads(pq.read_schema(part).metadata[b"geo"])
        column = meta["columns"][meta["primary_column"]]
        return pyproj.CRS.from_user_input(column.get("crs") or "OGC:CRS84")
    except (KeyError, TypeError, ValueError, OSError, pyproj.exceptions.CRSError):
        return None


def _clip_to_bbox(table: RawTable, bbox, crs) -> RawTable:
    """Keep the rows of a table read whole (CSV) that meet ``bbox`` (lon/lat), as the
    spatial readers do; rows whose geometry could not be read stay, to be rejected."""
    if bbox is None or len(table) == 0:
        return table
    table_crs = table.crs or parse_crs(crs) or pyproj.CRS.from_epsg(4326)
    box = shapely.box(*_bbox_in(bbox, table_crs))
    geoms = np.asarray(table.geometry, dtype=object)
    keep = shapely.is_missing(geoms)
    keep[~keep] = shapely.intersects(geoms[~keep], box)
    if keep.all():
        return table
    log.info(
        "%s: %d of %d rows lie outside --bbox and were not read",
        table.source,
        int((~keep).sum()),
        len(table),
    )
    table.attributes = table.attributes[keep].reset_index(drop=True)
    table.geometry = geoms[keep]
    for name in ("geometry_errors", "parse_fixes", "row_errors"):
        value = getattr(table, name)
        if value is not None:
            setattr(table, name, np.asarray(value, dtype=object)[keep])
    return table


def read_tables(
    path: Path,
    *,
    layer: str | None = None,
    crs: object | None = None,
    bbox: Sequence[float] | None = None,
) -> list[RawTable]:
    """Read every spatial layer of one input (or the named one) into raw tables.

    ``bbox`` (lon/lat) reads only the features that intersect it, through the
    file's spatial index where it has one (GeoPackage, FlatGeobuf, GeoParquet...).
    """
    suffix = path.suffix.lower()
    if path.is_file() and path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty")
    if suffix in CSV_EXTENSIONS:
        return [_clip_to_bbox(_read_csv(path, crs), bbox, crs)]
    if suffix in PARQUET_EXTENSIONS or _is_parquet_dataset(path):
        return [_read_parquet(path, _bbox_in(bbox, _parquet_crs(path)))]
    if suffix not in VECTOR_EXTENSIONS:
        log.info("%s: unknown file ending; trying GDAL", path)
    layers = [layer] if layer is not None else _spatial_layers(path)
    tables = []
    for name in layers:
        box = None
        if bbox is not None:
            info_crs = pyogrio.read_info(str(path), layer=name).get("crs")
            box = _bbox_in(bbox, pyproj.CRS.from_user_input(info_crs) if info_crs else None)
        tables.append(_read_layer(path, name, bbox=box))
    if len(tables) == 1 and layer is None:
        tables[0].layer = None if len(layers) == 1 else tables[0].layer
    return tables


# --------------------------------------------------------------------------- public


def load_field_map(path: str | os.PathLike) -> dict[str, object]:
    """Read a field map from a TOML or JSON file.

    Examples
    --------
    >>> read_surveys("imsma_export.shp", field_map=load_field_map("imsma.toml"))  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: field map file not found")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: not a valid field map: {_first_line(exc)}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: a field map must be a table of column names")
    return data


@_offline_gdal
def read_surveys(
    *paths: str | os.PathLike,
    field_map: Mapping[str, object] | str | os.PathLike | None = None,
    crs: object | None = None,
    on_invalid: str = "fix",
    on_file_error: str = "raise",
    bbox: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> SurveyData:
    """Read mine action survey records from files and folders.

    Parameters
    ----------
    *paths
        Files (GeoPackage, GeoJSON, Shapefile or zipped Shapefile, FlatGeobuf, KML,
        File Geodatabase, CSV) or folders, read in turn and concatenated; or sources
        manifests (``.toml``, see :func:`load_sources`) giving each input its own
        CRS, field map and layer.
    field_map
        A dict, or a TOML/JSON file, mapping canonical column names to the file's
        column names; ``record_type_values`` maps foreign type values.
    crs
        The CRS of files that declare none.  Files that declare one keep theirs.
    on_invalid
        ``"fix"`` repairs invalid polygons with ``make_valid`` and notes it in the
        ``repair`` column, ``"reject"`` rejects them, ``"raise"`` raises.
    bbox
        ``(min lon, min lat, max lon, max lat)``: read only the features that
        intersect this box (GeoPackage, FlatGeobuf, Shapefile and GeoParquet use their
        spatial index), to work on a part of an input larger than memory.
    on_file_error
        ``"raise"`` (default) stops at a file that cannot be read or lacks a
        ``record_type`` column or a CRS; ``"reject"`` records it and goes on (what
        ``mineland validate`` does).

    Returns
    -------
    SurveyData
        ``records`` (GeoDataFrame in EPSG:4326), ``rejected`` (rows not used, with a
        ``reason``) and ``sources`` (row counts per file).

    Examples
    --------
    >>> records, rejected = read_surveys("data/surveys")  # doctest: +SKIP
    """
    if not paths:
        raise InputFileError("no survey files given")
    crs = parse_crs(crs)
    if field_map is not None and not isinstance(field_map, Mapping):
        field_map = load_field_map(field_map)
    inputs = _expand_inputs(paths)
    tables: list[RawTable] = []
    failures: list[tuple[str, str, str]] = []
    for k, (path, options) in enumerate(inputs):
        if progress:
            progress(f"reading {path.name}", k, len(inputs))
        try:
            tables.extend(_read_source(path, options, crs=crs, bbox=bbox))
        except (InputFileError, SchemaError, CRSError) as exc:
            if on_file_error == "raise":
                raise
            failures.append((str(path), "unreadable_file", str(exc)))
    if progress:
        progress("checking records", len(inputs), len(inputs))
    return normalize_records(
        tables,
        field_map=field_map,
        crs=crs,
        on_invalid=on_invalid,
        on_file_error=on_file_error,
        failures=failures,
    )


#: what a ``[[source]]`` entry of a sources manifest may say
_SOURCE_KEYS = {"path", "crs", "assign_crs", "field_map", "layer"}


def _expand_inputs(paths) -> list[tuple[Path, dict]]:
    """Files to read, each with the options of its manifest entry (none for plain
    paths).  A ``.toml`` input holding ``[[source]]`` entries is a sources manifest."""
    out: list[tuple[Path, dict]] = []
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() == ".toml" and path.is_file():
            for entry in load_sources(path):
                files = find_input_files([entry["path"]])
                out.extend((f, entry) for f in files)
        else:
            out.extend((f, {}) for f in find_input_files([path]))
    return out


def load_sources(path: str | os.PathLike) -> list[dict]:
    """Read a sources manifest: one ``[[source]]`` table per input, with its own
    ``crs`` (for a file that declares none), ``assign_crs`` (replaces a declared
    one, as ``ogr2ogr -a_srs`` does), ``field_map`` (a table, or the path of a
    field-map file) and ``layer``.  Paths are relative to the manifest.

    Examples
    --------
    >>> read_surveys("sources.toml")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(f"{path}: not a readable sources manifest ({exc})") from None
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise SchemaError(f"{path}: a sources manifest needs [[source]] entries with a path")
    out = []
    for k, entry in enumerate(entries, 1):
        unknown = set(entry) - _SOURCE_KEYS
        if "path" not in entry or unknown:
            what = f"unknown keys {sorted(unknown)}" if unknown else "no path"
            raise SchemaError(
                f"{path}: source {k} has {what}; keys are {', '.join(sorted(_SOURCE_KEYS))}"
            )
        entry = dict(entry)
        entry["path"] = (path.parent / entry["path"]).resolve()
        fmap = entry.get("field_map")
        if fmap is not None and not isinstance(fmap, Mapping):
            entry["field_map"] = load_field_map(path.parent / str(fmap))
        for key in ("crs", "assign_crs"):
            if key in entry:
                entry[key] = parse_crs(entry[key])
        out.append(entry)
    return out


def _read_source(path: Path, options: dict, *, crs, bbox) -> list[RawTable]:
    """The tables of one input, carrying its manifest options for normalisation."""
    own_crs = options.get("crs") or crs
    tables = read_tables(path, layer=options.get("layer"), crs=own_crs, bbox=bbox)
    for table in tables:
        if options.get("assign_crs") is not None:
            table.crs, table.crs_assumed = options["assign_crs"], False
        elif options.get("crs") is not None and table.crs_assumed:
            table.crs, table.crs_assumed = options["crs"], False  # says otherwise
        table.options = {k: options[k] for k in ("crs", "field_map") if k in options}
    return tables


@_offline_gdal
def read_districts(
    path: str | os.PathLike,
    /,
    *,
    name_field: str | None = None,
    layer: str | None = None,
    crs: object | None = None,
) -> gpd.GeoDataFrame:
    """Read a district (admin boundary) polygon layer.

    The name field is detected when not given (``name``, ``shapeName``, ``NAME_2``,
    ``district``...).  Features sharing a name are merged into one district, invalid
    polygons are repaired with ``make_valid``.  Returns a GeoDataFrame in EPSG:4326
    with ``district``, ``features`` and ``geometry``.

    Examples
    --------
    >>> districts = read_districts("data/boundaries/synthetic_districts.geojson")  # doctest: +SKIP
    """
    path = Path(path)
    crs = parse_crs(crs)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.suffix.lower() in CSV_EXTENSIONS:
        table = _read_csv(path, crs)
    else:
        if layer is None:
            layers = _spatial_layers(path)
            if len(layers) > 1:
                polys = _polygon_layers(path, layers)
                if len(polys) != 1:
                    raise SchemaError(
                        f"{path}: holds several layers ({', '.join(layers)}); choose one with "
                        "--layer / layer="
                    )
                layers = polys
            layer = layers[0]
        table = _read_layer(path, layer)
    if table.geometry_errors is not None:
        bad = np.flatnonzero(~np.equal(table.geometry_errors, None))
        for i in bad:
            log.warning(
                "%s: row %d: unreadable geometry: %s", path, i + 1, table.geometry_errors[i]
            )
    crs_used = table.crs if table.crs is not None else crs
    if crs_used is None:
        raise CRSError(
            f"{path}: the district layer declares no coordinate reference system; "
            "give one with --crs / crs="
        )
    frame = gpd.GeoDataFrame(table.attributes, geometry=table.geometry, crs=crs_used)
    return prepare_districts(frame, name_field=name_field, source=str(path))


def _polygon_layers(path: Path, layers: Sequence[str]) -> list[str]:
    info = pyogrio.list_layers(str(path))
    return [str(n) for n, g in info if g and "polygon" in str(g).lower() and str(n) in layers]


# --------------------------------------------------------------------------- writing

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TABLE_FORMATS = (".csv", ".json", ".geojson", ".gpkg", ".xlsx")


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _safe_cell(value: object, *, xlsx: bool) -> object:
    if not isinstance(value, str):
        return value
    if xlsx:
        value = _XLSX_ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def neutralise_formulas(frame: pd.DataFrame, *, xlsx: bool = False) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote.

    With ``xlsx=True`` also replace the control characters a workbook cannot hold.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: _safe_cell(v, xlsx=xlsx)).astype(object)
    out.columns = [_safe_cell(str(c), xlsx=xlsx) for c in out.columns]
    return out


def check_output_path(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Refuse an output path that is one of the inputs (or inside an input folder)."""
    out = Path(path)
    target = out.resolve()
    for raw in inputs:
        src = Path(raw).resolve()
        if target == src:
            raise OutputError(f"{out}: refusing to write over the input {raw}")
        if src.is_dir() and src in target.parents:
            raise OutputError(
                f"{out}: refusing to write inside the input folder {raw} "
                "(it would be read as input next time)"
            )
    if out.exists() and out.is_dir():
        raise OutputError(f"{out}: is a folder")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputError(f"{out}: the folder {parent} does not exist")
    return out


def write_table(
    frame: pd.DataFrame, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()
) -> Path:
    """Write a table by extension: .csv, .json, .geojson, .gpkg or .xlsx.

    Text cells that a spreadsheet would run as formulas are neutralised; an output
    that is one of ``inputs`` is refused.

    Examples
    --------
    >>> write_table(summarize(districts, surveys), "summary.xlsx")  # doctest: +SKIP
    """
    out = check_output_path(path, inputs)
    suffix = out.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise OutputError(
            f"{out}: unknown output format {suffix!r}; use {', '.join(TABLE_FORMATS)}"
        )
    if out.parent and not out.parent.exists():
        raise OutputError(f"{out}: folder {out.parent} does not exist")
    plain = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if suffix in (".gpkg", ".geojson") and not isinstance(frame, gpd.GeoDataFrame):
        raise OutputError(f"{out}: {suffix} needs geometries")
    with _atomic(out) as tmp:
        if suffix == ".csv":
            neutralise_formulas(plain).to_csv(tmp, index=False, encoding="utf-8")
        elif suffix == ".xlsx":
            neutralise_formulas(plain, xlsx=True).to_excel(tmp, index=False, sheet_name="summary")
        elif suffix == ".json":
            tmp.write_text(
                plain.to_json(orient="records", force_ascii=False, indent=1, date_format="iso"),
                encoding="utf-8",
            )
        else:
            driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
            frame.to_file(tmp, driver=driver, engine="pyogrio", layer=out.stem)
    return out


@contextmanager
def _atomic(out: Path):
    """Write to a temporary file beside ``out`` and move it into place on success.

    The temporary name is unique to this process and call, so two runs writing the
    same output never write into each other's file; a killed run leaves at most a
    hidden ``.partial`` file, never a truncated output.  An existing GeoPackage is
    copied first, so that writing one layer keeps the file's other layers.
    """
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial{out.suffix}")
    if out.suffix.lower() == ".gpkg" and out.is_file():
        _check_geopackage(out)
        shutil.copy2(out, tmp)
    try:
        yield tmp
        os.replace(tmp, out)
    except PermissionError as exc:
        raise OutputError(f"{out}: cannot write: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _check_geopackage(path: Path) -> None:
    try:
        pyogrio.list_layers(str(path))
    except Exception:  # not readable as a GeoPackage: do not replace what it is
        raise OutputError(
            f"{path}: exists and is not a GeoPackage mineland can add a layer to; "
            "choose another name"
        ) from None


def write_text(path: Path, text: str) -> Path:
    """Write a text file (UTF-8) atomically; the path has been checked by the caller."""
    with _atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_rejected(
    rejected: pd.DataFrame, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()
) -> Path:
    """Write rejected rows (original columns plus ``reason``) as CSV for fixing."""
    out = check_output_path(path, inputs)
    with _atomic(out) as tmp:
        neutralise_formulas(rejected).to_csv(tmp, index=False, encoding="utf-8")
    return out


# --------------------------------------------------------------------------- rasters


def read_raster(path: str | os.PathLike, *, band: int = 1) -> RasterData:
    """Read one band of a raster (GeoTIFF or anything GDAL reads) into memory.

    Examples
    --------
    >>> landcover = read_raster("worldcover.tif")  # doctest: +SKIP
    >>> landcover_impact(districts, surveys, landcover)  # doctest: +SKIP
    """
    import rasterio

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise CRSError(f"{path}: the raster declares no coordinate reference system")
            array = src.read(band)
            crs = pyproj.CRS.from_user_input(src.crs.to_wkt())
            return RasterData(array, src.transform, crs, src.nodata, str(path))
    except rasterio.errors.RasterioError as exc:
        raise InputFileError(f"{path}: not a readable raster ({_first_line(exc)})") from None


def write_raster(
    array: np.ndarray,
    profile: dict,
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    tags: Mapping[str, str] | None = None,
    overviews: Sequence[int] = (2, 4, 8, 16),
) -> Path:
    """Write a single-band GeoTIFF with overviews (average resampling)."""
    import rasterio
    from rasterio.enums import Resampling

    out = check_output_path(path, inputs)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise OutputError(f"{out}: rasters are written as GeoTIFF (.tif)")
    with _atomic(out) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(array, 1)
        usable = [f for f in overviews if min(array.shape) // f >= 1]
        if usable:
            dst.build_overviews(usable, Resampling.average)
            dst.update_tags(ns="rio_overview", resampling="average")
        if tags:
            dst.update_tags(**{k: str(v) for k, v in tags.items()})
    return out


def load_class_table(path: str | os.PathLike) -> dict[int, str]:
    """Land-cover class names from a CSV (``value,name``) or TOML (``10 = "Trees"``) file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: class table not found")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{path}: not a valid class table: {_first_line(exc)}") from None
        data = data.get("classes", data)
    else:
        frame = pd.read_csv(path, dtype=str)
        cols = [c.casefold() for c in frame.columns]
        if len(cols) < 2:
            raise SchemaError(f"{path}: a class table needs two columns: value, name")
        data = dict(zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True))
    out = {}
    for k, v in data.items():
        try:
            out[int(str(k).strip())] = str(v).strip()
        except ValueError:
            raise SchemaError(f"{path}: class value {k!r} is not a whole number") from None
    return out


# --------------------------------------------------------------------------- reports

REPORT_FORMATS = (".csv", ".xlsx", ".gpkg", ".html")


def write_report(report, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()):
    """Write a validation report: .csv (findings), .xlsx (summary, findings, files),
    .gpkg (findings with their geometries) or .html (a readable page)."""
    import html as _html

    out = check_output_path(path, inputs)
    suffix = out.suffix.lower()
    if suffix not in REPORT_FORMATS:
        raise OutputError(
            f"{out}: unknown report format {suffix!r}; use {', '.join(REPORT_FORMATS)}"
        )
    findings = report.findings
    plain = pd.DataFrame(findings.drop(columns="geometry", errors="ignore"))
    plain["geometry_wkt"] = [
        None if g is None else shapely.to_wkt(g, rounding_precision=7) for g in findings.geometry
    ]
    with _atomic(out) as tmp:
        if suffix == ".csv":
            neutralise_formulas(plain).to_csv(tmp, index=False, encoding="utf-8")
        elif suffix == ".xlsx":
            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                for name, frame in (
                    ("summary", report.summary),
                    ("findings", plain.drop(columns="geometry_wkt")),  # see the .gpkg
                    ("files", report.conservation),
                ):
                    neutralise_formulas(frame, xlsx=True).to_excel(xl, sheet_name=name, index=False)
        elif suffix == ".gpkg":
            gdf = findings.copy()
            gdf[schema.SOURCE_ROW] = gdf[schema.SOURCE_ROW].astype("float64")
            gdf.to_file(tmp, driver="GPKG", layer="findings", engine="pyogrio")
        else:
            e = _html.escape

            def table(frame: pd.DataFrame) -> str:
                head = "".join(f"<th>{e(str(c))}</th>" for c in frame.columns)
                body = "".join(
                    "<tr>"
                    + "".join(f"<td>{e('' if pd.isna(v) else str(v))}</td>" for v in row)
                    + "</tr>"
                    for row in frame.itertuples(index=False)
                )
                return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

            page = (
                "<!doctype html><html><head><meta charset='utf-8'>"
                "<title>mineland validation</title>"
                "<style>body{font:14px system-ui,sans-serif;margin:2em}"
                "table{border-collapse:collapse}"
                "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
                ".error{color:#b00}</style></head><body>"
                "<h1>Validation report</h1>"
                f"<p>{report.errors} errors, {report.warnings} warnings.</p>"
                f"<h2>Summary</h2>{table(report.summary)}"
                f"<h2>Files: rows = used + rejected</h2>{table(report.conservation)}"
                f"<h2>Findings</h2>{table(plain.drop(columns='geometry_wkt'))}"
                "</body></html>"
            )
            tmp.write_text(page, encoding="utf-8")
    return out


def write_report_file(report, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()):
    """Write a :class:`mineland.report.Report`: a formatted .xlsx workbook or .html page."""
    from .report import report_html

    out = check_output_path(path, inputs)
    suffix = out.suffix.lower()
    if suffix == ".html":
        return write_text(out, report_html(report))
    if suffix != ".xlsx":
        raise OutputError(f"{out}: reports are written as .xlsx or .html")
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheets = {
        "Summary": report.summary,
        "Progress by year": report.progress,
        "Validation": report.findings_summary,
        "Validation findings": report.findings,
        "Sources": report.sources,
    }
    with _atomic(out) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            neutralise_formulas(frame, xlsx=True).to_excel(xl, sheet_name=name, index=False)
            ws = xl.sheets[name]
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            if ws.max_row > 1:
                ws.auto_filter.ref = ws.dimensions
            for k, col in enumerate(frame.columns, start=1):
                letter = get_column_letter(k)
                values = [str(col)] + [str(v) for v in frame[col].head(200)]
                ws.column_dimensions[letter].width = min(60, max(8, max(map(len, values)) + 2))
                fmt = None
                if str(col).endswith("_ha"):
                    fmt = "#,##0.0"
                elif str(col).endswith("_pct"):
                    fmt = "0.0"
                elif str(col) in (
                    "devices",
                    "incidents",
                    "killed",
                    "injured",
                    "hazard_records",
                ):
                    fmt = "#,##0"
                if fmt:
                    for row in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                        row[0].number_format = fmt
            if name == "Summary" and ws.max_row > 1:
                for cell in ws[ws.max_row]:
                    cell.font = Font(bold=True)  # the totals row
    return out


def write_geoparquet(
    records: gpd.GeoDataFrame,
    folder: str | os.PathLike,
    *,
    rows_per_part: int = 250_000,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Write records as a partitioned GeoParquet dataset (``part-NNNNN.parquet``),
    sorted along a Hilbert curve so that each part covers a compact area; every part
    has a bounding-box covering column, so readers can skip parts by ``bbox``."""
    out = check_output_path(folder, inputs)
    if out.exists():
        raise OutputError(f"{out}: already exists")
    if len(records):
        order = np.argsort(records.geometry.hilbert_distance(), kind="stable")
        records = records.iloc[order]
    n_parts = max(1, -(-len(records) // rows_per_part))
    # the parts go to a hidden folder renamed when complete: a killed run never
    # leaves a folder that reads as a whole dataset
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    tmp.mkdir()
    try:
        for k in range(n_parts):
            part = records.iloc[k * rows_per_part : (k + 1) * rows_per_part]
            part.to_parquet(tmp / f"part-{k:05d}.parquet", write_covering_bbox=True, index=False)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
