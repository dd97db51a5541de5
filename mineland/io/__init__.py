"""Files in and out: the only package that touches the file system.

- :mod:`.read`: districts and survey records from files and folders;
- :mod:`.files`: finding input files, sources manifests, field maps;
- :mod:`._gdal`, :mod:`._csv`, :mod:`._parquet`: one reader per kind of file;
- :mod:`.raster`: rasters (rasterio, imported on first use);
- :mod:`.write`: outputs, atomically and never over an input.
"""

from __future__ import annotations

from ._parquet import write_geoparquet
from .files import (
    VECTOR_EXTENSIONS,
    find_input_files,
    load_field_map,
    load_preset,
    load_profile,
    load_sources,
    preset_text,
)
from .raster import load_class_table, read_raster, write_raster
from .read import read_districts, read_features, read_surveys, read_tables
from .write import (
    check_output_path,
    neutralise_formulas,
    write_bytes,
    write_findings,
    write_layers,
    write_rejected,
    write_report,
    write_report_file,
    write_table,
    write_text,
)

__all__ = [
    "VECTOR_EXTENSIONS",
    "check_output_path",
    "find_input_files",
    "load_class_table",
    "load_field_map",
    "load_preset",
    "preset_text",
    "load_profile",
    "load_sources",
    "neutralise_formulas",
    "read_districts",
    "read_features",
    "read_raster",
    "read_surveys",
    "read_tables",
    "write_bytes",
    "write_findings",
    "write_geoparquet",
    "write_layers",
    "write_raster",
    "write_rejected",
    "write_report",
    "write_report_file",
    "write_table",
    "write_text",
]
