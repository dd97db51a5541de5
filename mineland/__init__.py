"""mineland: map landmine contamination and released land per district.

>>> import mineland
>>> path = "data/boundaries/synthetic_districts.geojson"
>>> districts = mineland.read_districts(path)  # doctest: +SKIP
>>> surveys = mineland.read_surveys("data/surveys")  # doctest: +SKIP
>>> summary = mineland.summarize(districts, surveys, as_of="2024-12-31")  # doctest: +SKIP

The layout, from the vocabulary up:

- ``errors``, ``schema``, ``labels``, ``crs``, ``dates``, ``geometry`` (the only overlay
  kernel), ``regions``, ``zones``, ``classes``: vocabulary and kernels;
- ``tables``, ``records``, ``record_checks``, ``districts``: raw tables to canonical data;
- ``accounting`` and ``engines``: the per-district accounting, on one interface;
- ``periods``, ``validation``, ``raster``, ``unmapped``: analyses over an
  :class:`Accounting`;
- ``io``: every file read or written; ``render``: HTML, workbooks, charts, reports;
  ``mapping``: the Leaflet map; ``cli``: the ``mineland`` command.
"""

from __future__ import annotations

import importlib
import logging
import warnings

from ._version import __version__
from .accounting import Accounting, AccountingCache, account, summarize
from .errors import (
    ClusterError,
    CRSError,
    DataError,
    InputFileError,
    MinelandError,
    MissingExtraError,
    OutputError,
    SchemaError,
)
from .forecast import backtest, forecast_completion
from .io import (
    load_field_map,
    load_preset,
    load_sources,
    read_districts,
    read_raster,
    read_surveys,
    write_table,
)
from .periods import release_progress
from .priorities import Priorities, prioritise
from .tables import SurveyData
from .unmapped import UnmappedResult, find_unmapped
from .validation import ValidationReport, ValidationResult, validate

__all__ = [
    "Accounting",
    "AccountingCache",
    "CRSError",
    "ClusterError",
    "DataError",
    "InputFileError",
    "MinelandError",
    "MissingExtraError",
    "Priorities",
    "OutputError",
    "SchemaError",
    "SurveyData",
    "UnmappedResult",
    "ValidationReport",
    "ValidationResult",
    "__version__",
    "account",
    "backtest",
    "find_unmapped",
    "forecast_completion",
    "landcover_impact",
    "load_field_map",
    "load_preset",
    "load_sources",
    "make_map",
    "plot_forecast",
    "plot_released",
    "plot_remaining",
    "prioritise",
    "rasterize_contamination",
    "read_districts",
    "read_raster",
    "read_surveys",
    "release_progress",
    "save_map",
    "summarize",
    "validate",
    "write_table",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: functions whose modules pull in heavy libraries (folium, matplotlib, exactextract,
#: rasterio): imported on first use, so that the command line starts fast
_LAZY = {
    "make_map": "mapping",
    "save_map": "mapping",
    "landcover_impact": "raster",
    "rasterize_contamination": "raster",
    "plot_forecast": "render.charts",
    "plot_released": "render.charts",
    "plot_remaining": "render.charts",
}

#: the subpackages and modules, importable as attributes (``mineland.mapping``)
_SUBMODULES = {
    "accounting",
    "classes",
    "cli",
    "crs",
    "dates",
    "demo",
    "districts",
    "engines",
    "errors",
    "forecast",
    "geometry",
    "io",
    "labels",
    "mapping",
    "periods",
    "priorities",
    "raster",
    "record_checks",
    "records",
    "regions",
    "render",
    "schema",
    "tables",
    "unmapped",
    "validation",
    "zones",
}


def progress(districts, surveys, /, **options):
    """Deprecated name of :func:`release_progress` (removed in 0.3).

    Examples
    --------
    >>> table = mineland.release_progress(districts, surveys)  # doctest: +SKIP
    """
    warnings.warn(
        "mineland.progress is deprecated; use mineland.release_progress",
        DeprecationWarning,
        stacklevel=2,
    )
    return release_progress(districts, surveys, **options)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mineland' has no attribute {name!r}")
