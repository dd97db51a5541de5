"""Reading districts and survey records from files and folders into canonical data."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import shapely

from ..crs import missing_crs
from ..districts import prepare_districts
from ..errors import CRSError, InputFileError, SchemaError
from ..records import RawTable, SurveyData, normalize_records, parse_crs
from ..tables import BBOX_ATTR
from ..threads import threaded
from ._columns import geometry_columns, table_from_frame
from ._csv import read_csv
from ._excel import read_excel
from ._gdal import (
    attribute_layers,
    gdal_path,
    gdal_warnings_to_log,
    layer_types,
    offline_gdal,
    polygon_layers,
    read_layer,
    spatial_layers,
)
from ._parquet import bbox_in, clip_to_bbox, parquet_crs, read_parquet
from .archives import as_shown, shown_error, unpacked_inputs, zip_needs_unpacking
from .files import (
    CSV_EXTENSIONS,
    EXCEL_EXTENSIONS,
    NOT_UNPACKED,
    OTHER_ARCHIVES,
    PARQUET_EXTENSIONS,
    VECTOR_EXTENSIONS,
    expand_inputs,
    flat_paths,
    is_parquet_dataset,
    load_field_map,
    with_preset,
)
from .postgis import is_database_url, read_database, safe_url, with_table

__all__ = ["read_districts", "read_surveys", "read_tables"]

log = logging.getLogger(__name__)


Progress = Callable[[str, int, int], None]


def read_tables(
    path: Path | str,
    *,
    layer: str | None = None,
    crs: object | None = None,
    bbox: Sequence[float] | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[RawTable]:
    """Read every spatial layer of one input (or the named one; a workbook's sheet)
    into raw tables.

    ``bbox`` (lon/lat) reads only the features that intersect it, through the
    file's spatial index where it has one (GeoPackage, FlatGeobuf, GeoParquet...).
    ``columns`` names the columns a CSV or workbook builds its geometry from (the
    geometry keys of a field map).
    """
    if isinstance(path, str):  # a postgresql:// URL: a table or a query
        return [clip_to_bbox(read_database(path, crs, columns), bbox, crs)]
    suffix = path.suffix.lower()
    if path.is_file() and path.stat().st_size == 0:
        raise InputFileError(f"{path}: the file is empty")
    if suffix in CSV_EXTENSIONS:
        return [clip_to_bbox(read_csv(path, crs, columns), bbox, crs)]
    if suffix in EXCEL_EXTENSIONS:
        tables = read_excel(path, crs, sheet=layer, geometry_columns=columns)
        return [clip_to_bbox(t, bbox, crs) for t in tables]
    if suffix in PARQUET_EXTENSIONS or is_parquet_dataset(path):
        return [read_parquet(path, bbox_in(bbox, parquet_crs(path)))]
    if suffix in OTHER_ARCHIVES:
        raise InputFileError(f"{path}: {NOT_UNPACKED}")
    if suffix not in VECTOR_EXTENSIONS:
        log.info("%s: unknown file ending; trying GDAL", path)
    layers, extra = [layer], []
    if layer is None:
        listed = layer_types(path) if suffix in (".gpkg", ".gdb") else None  # and tables
        if listed:
            found = _coordinate_tables(path, crs, columns, listed)
            extra = [clip_to_bbox(t, bbox, crs) for t in found]
        layers = spatial_layers(path, none_ok=bool(extra), listed=listed)
    tables = []
    for name in layers:
        box = None
        if bbox is not None:
            with gdal_warnings_to_log(path):
                info_crs = pyogrio.read_info(gdal_path(path), layer=name).get("crs")
            box = bbox_in(bbox, pyproj.CRS.from_user_input(info_crs) if info_crs else None)
        tables.append(read_layer(path, name, bbox=box))
    tables += extra
    if len(tables) == 1 and layer is None and not extra:
        tables[0].layer = None
    return tables


#: attribute tables GIS software keeps beside the data (QGIS's styles and projects)
_AUXILIARY_LAYERS = {"layer_styles", "qgis_projects"}


def _coordinate_tables(path: Path, crs, columns, listed) -> list[RawTable]:
    """The attribute tables of a GeoPackage or geodatabase that hold coordinate
    columns (lon/lat, x/y, WKT, MGRS), read as a CSV's are; the others are named in
    the log."""
    tables, skipped = [], []
    for name, frame in attribute_layers(path, listed).items():
        if name in _AUXILIARY_LAYERS:
            continue
        try:
            tables.append(table_from_frame(frame, str(path), name, crs, columns))
        except SchemaError:
            skipped.append(name)
    if skipped:
        names = ", ".join(map(repr, skipped))
        log.warning("%s: layers without geometry or coordinate columns skipped: %s", path, names)
    return tables


@offline_gdal()
def read_surveys(
    *paths: str | os.PathLike,
    field_map: Mapping[str, object] | str | os.PathLike | None = None,
    crs: object | None = None,
    on_invalid: str = "fix",
    on_file_error: str = "raise",
    bbox: Sequence[float] | None = None,
    progress: Progress | None = None,
    preset: str | None = None,
    sheet: str | None = None,
) -> SurveyData:
    """Read mine action survey records from files and folders.

    Parameters
    ----------
    *paths
        Files (GeoPackage, GeoJSON, Shapefile or zipped Shapefile, FlatGeobuf, KML,
        File Geodatabase, CSV, Excel workbooks, ``.ods`` spreadsheets), folders or
        PostGIS tables and queries (``postgresql://user@host/db?table=hazards``), read
        in turn and concatenated; or sources manifests (``.toml``, see
        :func:`load_sources`) giving each input its own CRS, field map, preset and
        layer or sheet.  A list (tuple, array) of these may be given in place of
        separate arguments.
    field_map
        A dict, or a TOML/JSON file, mapping canonical column names to the file's
        column names (or lists of names, the first one present is used);
        ``record_type_values`` and ``status_values`` map foreign values.  The keys
        ``lon``/``lat``, ``mgrs``, ``wkt``, ``geopoint`` and ``geoshape`` name the
        columns a CSV or workbook builds its geometry from.
    preset
        A shipped field map for a common export (see :func:`load_preset`), under
        ``field_map``'s own entries.
    sheet
        The sheet of workbooks (Excel, ``.ods``) to read; by default every sheet with
        coordinate columns.
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
    paths = list(flat_paths(paths))
    if not paths:
        raise InputFileError("no survey files given")
    crs, bbox = parse_crs(crs), checked_bbox(bbox)
    if field_map is not None and not isinstance(field_map, Mapping):
        field_map = load_field_map(field_map)
    field_map = with_preset(field_map, preset)
    with contextlib.ExitStack() as scratch:  # zips unpacked, removed once read
        inputs = unpacked_inputs(expand_inputs(paths), scratch)
        tables, failures = _read_inputs(
            inputs, on_file_error, progress, crs=crs, bbox=bbox, field_map=field_map, sheet=sheet
        )
    if progress:
        progress("checking records", len(inputs), len(inputs))
    checks = {"on_invalid": on_invalid, "on_file_error": on_file_error, "failures": failures}
    data = normalize_records(tables, field_map=field_map, crs=crs, **checks)
    if bbox is not None:  # what is computed from them says so (see box_read)
        data.records.attrs[BBOX_ATTR] = list(bbox)
    return data


def checked_bbox(bbox: Sequence[float] | None) -> tuple[float, ...] | None:
    """A lon/lat box ``(W, S, E, N)`` as a tuple, or a SchemaError saying what is wrong
    with it: not four finite numbers, beyond ±180°/±90°, or west of its east edge
    (a box across 180° is two boxes: read each side on its own)."""
    if bbox is None:
        return None
    try:
        box = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise SchemaError(f"bbox must be four numbers W S E N, got {bbox!r}") from None
    if len(box) != 4 or not np.isfinite(box).all():
        raise SchemaError(f"bbox must be four finite numbers W S E N, got {bbox!r}")
    w, s, e, n = box
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise SchemaError(f"bbox {w:g} {s:g} {e:g} {n:g} lies beyond ±180° or ±90°")
    if w > e or s > n:
        raise SchemaError(
            f"bbox {w:g} {s:g} {e:g} {n:g}: its west edge must not lie east of its east "
            "edge, nor its south edge north of its north edge (W S E N; a box across "
            "180° is two boxes: read each side on its own)"
        )
    return box


def _read_inputs(inputs, on_file_error: str, progress: Progress | None, **how):
    """The raw tables of every input, and the inputs that could not be read
    (``(path, check, message)``) when ``on_file_error`` is ``"reject"``."""
    tables: list[RawTable] = []
    failures: list[tuple[str, str, str]] = []

    def read(item: tuple[int, tuple]) -> list[RawTable] | Exception:
        k, (path, options) = item
        if progress:
            progress(f"reading {getattr(path, 'name', safe_url(str(path)))}", k, len(inputs))
        try:
            return _read_source(path, options, **how)
        except (InputFileError, SchemaError, CRSError) as exc:  # named as the zip's member
            return shown_error(exc, options.get("shown"))

    for (path, options), got in zip(inputs, threaded(read, list(enumerate(inputs))), strict=True):
        if not isinstance(got, Exception):
            tables.extend(got)
        elif on_file_error == "raise":
            raise got
        else:
            failures.append(
                (as_shown(str(path), options.get("shown")), "unreadable_file", str(got))
            )
    return tables, failures


def _read_source(
    path: Path | str, options: dict, *, crs, bbox, field_map=None, sheet=None
) -> list[RawTable]:
    """The tables of one input, carrying its manifest options for normalisation."""
    if "refused" in options:  # a zip that could not be unpacked
        raise InputFileError(options["refused"])
    fmap = options.get("field_map", field_map) or {}
    own_crs = options.get("crs") or crs or parse_crs(fmap.get("crs"))
    columns = geometry_columns(fmap)
    layer = options.get("layer")
    if isinstance(path, Path) and path.suffix.lower() in EXCEL_EXTENSIONS:
        layer = layer or options.get("sheet", sheet)
    tables = read_tables(path, layer=layer, crs=own_crs, bbox=bbox, columns=columns)
    for table in tables:
        if options.get("assign_crs") is not None:
            table.crs, table.crs_assumed = options["assign_crs"], False
        elif options.get("crs") is not None and table.crs_assumed:
            table.crs, table.crs_assumed = options["crs"], False  # says otherwise
        elif table.crs is None and crs is None and fmap.get("crs"):
            table.crs = parse_crs(fmap["crs"])  # the preset knows its export's CRS
        table.options = {k: options[k] for k in ("crs", "field_map") if k in options}
        table.source = as_shown(table.source, options.get("shown"))
    return tables


@offline_gdal()
def read_districts(
    path: str | os.PathLike,
    /,
    *,
    name_field: str | None = None,
    layer: str | None = None,
    crs: object | None = None,
) -> gpd.GeoDataFrame:
    """Read a district (admin boundary) polygon layer: a file, or a PostGIS table or
    query (``postgresql://user@host/db?table=districts``, see :mod:`mineland.io.postgis`).

    The name field is detected when not given (``name``, ``shapeName``, ``NAME_2``,
    ``district``...).  Features sharing a name are merged into one district, invalid
    polygons are repaired with ``make_valid``.  Returns a GeoDataFrame in EPSG:4326
    with ``district``, ``features`` and ``geometry``.

    Examples
    --------
    >>> districts = read_districts("data/boundaries/synthetic_districts.geojson")  # doctest: +SKIP
    """
    crs = parse_crs(crs)
    if is_database_url(path):
        url = str(path) if layer is None else with_table(str(path), layer)
        table = read_database(url, crs)
        return _districts_from(table, table.source, crs, name_field)
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    return _districts_from(_district_table(path, layer, crs), str(path), crs, name_field)


def _district_table(path: Path, layer: str | None, crs) -> RawTable:
    """The raw table of a district layer's file (of a zip, the one file it holds)."""
    if zip_needs_unpacking(path):
        return _zipped_district_table(path, layer, crs)
    if path.suffix.lower() in CSV_EXTENSIONS:
        return read_csv(path, crs)
    if layer is None:
        layers = spatial_layers(path)
        if len(layers) > 1:
            polys = polygon_layers(path, layers)
            if len(polys) != 1:
                raise SchemaError(
                    f"{path}: holds several layers ({', '.join(layers)}); choose one with layer="
                )
            layers = polys
        layer = layers[0]
    return read_layer(path, layer)


def _zipped_district_table(path: Path, layer: str | None, crs) -> RawTable:
    """The district layer of a zip GDAL does not read as it is: the one file it holds,
    unpacked (several are an error naming them: GDAL would read one, unsaid)."""
    with contextlib.ExitStack() as scratch:
        found = unpacked_inputs([(path, {})], scratch)
        (member, options), *more = found
        if more:
            inside = (as_shown(str(p), o.get("shown")) for p, o in found)
            names = ", ".join(n.removeprefix(f"{path}/") for n in inside)
            raise InputFileError(
                f"{path}: the zip holds {names}; a district layer is one of them: unzip it "
                "and give that file"
            )
        if "refused" in options:
            raise InputFileError(options["refused"])
        try:
            table = _district_table(member, layer, crs)
        except (InputFileError, SchemaError, CRSError) as exc:
            raise shown_error(exc, options["shown"]) from None
    table.source = as_shown(table.source, options["shown"])
    return table


def _districts_from(table: RawTable, path: str, crs, name_field) -> gpd.GeoDataFrame:
    """A district layer from its raw table: unreadable rows logged, the CRS checked."""
    if table.geometry_errors is not None:
        bad = np.flatnonzero(~np.equal(table.geometry_errors, None))
        for i in bad:
            log.warning(
                "%s: row %d: unreadable geometry: %s", path, i + 1, table.geometry_errors[i]
            )
    crs_used = table.crs if table.crs is not None else crs
    if crs_used is None:
        raise missing_crs(path, table.geometry, "the district layer")
    frame = gpd.GeoDataFrame(table.attributes, geometry=table.geometry, crs=crs_used)
    return prepare_districts(frame, name_field=name_field, source=path)


@offline_gdal()
def read_features(path: str | os.PathLike, /, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read any layer of features (points, lines, polygons) as it is, with its CRS:
    settlements, roads, water or schools for :func:`mineland.prioritise`.

    Examples
    --------
    >>> towns = read_features("settlements.gpkg")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    table = (
        read_csv(path, None)
        if path.suffix.lower() in CSV_EXTENSIONS
        else read_layer(path, layer if layer is not None else spatial_layers(path)[0])
    )
    if table.crs is None:
        raise CRSError(f"{path}: the layer declares no coordinate reference system")
    geoms = np.asarray(table.geometry, dtype=object)
    usable = ~shapely.is_missing(geoms)
    usable[usable] = ~shapely.is_empty(geoms[usable])
    if not usable.any():
        raise SchemaError(f"{path}: the layer holds no geometry")
    attributes = table.attributes.reset_index(drop=True)[usable]
    return gpd.GeoDataFrame(attributes, geometry=list(geoms[usable]), crs=table.crs)
