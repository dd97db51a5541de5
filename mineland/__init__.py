"""mineland: map landmine contamination and released land per district.

>>> import mineland
>>> path = "data/boundaries/synthetic_districts.geojson"
>>> districts = mineland.read_districts(path)  # doctest: +SKIP
>>> surveys = mineland.read_surveys("data/surveys")  # doctest: +SKIP
>>> summary = mineland.summarize(districts, surveys, as_of="2024-12-31")  # doctest: +SKIP
"""

from __future__ import annotations

import logging

from ._version import __version__
from .accounting import Accounting, account, summarize
from .errors import (
    CRSError,
    DataError,
    InputFileError,
    MinelandError,
    MissingExtraError,
    OutputError,
    SchemaError,
)
from .io import (
    load_field_map,
    load_sources,
    read_districts,
    read_raster,
    read_surveys,
    write_table,
)
from .progress import progress
from .records import SurveyData
from .validate import ValidationReport, validate

__all__ = [
    "Accounting",
    "CRSError",
    "DataError",
    "InputFileError",
    "MinelandError",
    "MissingExtraError",
    "OutputError",
    "SchemaError",
    "SurveyData",
    "ValidationReport",
    "__version__",
    "account",
    "landcover_impact",
    "load_field_map",
    "load_sources",
    "make_map",
    "progress",
    "rasterize_contamination",
    "read_districts",
    "read_raster",
    "read_surveys",
    "save_map",
    "summarize",
    "validate",
    "write_table",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: functions whose modules pull in heavy libraries (folium, exactextract, rasterio):
#: imported on first use, so that the command line starts fast
_LAZY = {
    "make_map": "mapping",
    "save_map": "mapping",
    "landcover_impact": "raster",
    "rasterize_contamination": "raster",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'mineland' has no attribute {name!r}")
