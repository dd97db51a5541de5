"""Reading districts and survey records from files and folders into canonical data."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import shapely

from ..districts import prepare_districts
from ..errors import CRSError, InputFileError, SchemaError
from ..records import RawTable, SurveyData, normalize_records, parse_crs
from ._csv import read_csv
from ._gdal import offline_gdal, polygon_layers, read_layer, spatial_layers
from ._parquet import bbox_in, clip_to_bbox, parquet_crs, read_parquet
from .files import (
    CSV_EXTENSIONS,
    PARQUET_EXTENSIONS,
    VECTOR_EXTENSIONS,
    expand_inputs,
    is_parquet_dataset,
    load_field_map,
)

__all__ = ["read_districts", "read_surveys", "read_tables"]

log = logging.getLogger(__name__)


Progress = Callable[[str, int, int], None]


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
        return [clip_to_bbox(read_csv(path, crs), bbox, crs)]
    if suffix in PARQUET_EXTENSIONS or is_parquet_dataset(path):
        return [read_parquet(path, bbox_in(bbox, parquet_crs(path)))]
    if suffix not in VECTOR_EXTENSIONS:
        log.info("%s: unknown file ending; trying GDAL", path)
    layers = [layer] if layer is not None else spatial_layers(path)
    tables = []
    for name in layers:
        box = None
        if bbox is not None:
            info_crs = pyogrio.read_info(str(path), layer=name).get("crs")
            box = bbox_in(bbox, pyproj.CRS.from_user_input(info_crs) if info_crs else None)
        tables.append(read_layer(path, name, bbox=box))
    if len(tables) == 1 and layer is None:
        tables[0].layer = None if len(layers) == 1 else tables[0].layer
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
    inputs = expand_inputs(paths)
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


@offline_gdal()
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
        table = read_csv(path, crs)
    else:
        if layer is None:
            layers = spatial_layers(path)
            if len(layers) > 1:
                polys = polygon_layers(path, layers)
                if len(polys) != 1:
                    raise SchemaError(
                        f"{path}: holds several layers ({', '.join(layers)}); choose one with "
                        "layer="
                    )
                layers = polys
            layer = layers[0]
        table = read_layer(path, layer)
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
            "give one with crs="
        )
    frame = gpd.GeoDataFrame(table.attributes, geometry=table.geometry, crs=crs_used)
    return prepare_districts(frame, name_field=name_field, source=str(path))


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
