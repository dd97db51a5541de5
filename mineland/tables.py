"""The data containers: a table as read from a file (:class:`RawTable`) and survey
records in the canonical schema with their rejected rows (:class:`SurveyData`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj


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
    #: True when plain numbers in a date column are spreadsheet day serials (Excel)
    date_serials: bool = False
    #: per row: the workbook's cells whose value cannot be read, a formula the file
    #: stores no value for or an error such as #N/A, in words (None where none)
    unreadable_cells: np.ndarray | None = None

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

    def describe(self) -> str:
        """One line: how many records were read from how many files, used and rejected.

        Examples
        --------
        >>> SurveyData(gpd.GeoDataFrame(geometry=[]), pd.DataFrame()).describe()
        'read 0 records from 0 files: 0 used, 0 rejected'
        """
        files = self.sources["source_file"].nunique() if len(self.sources) else 0
        return (
            f"read {self.n_read} records from {files} file{'s' if files != 1 else ''}: "
            f"{len(self.records)} used, {len(self.rejected)} rejected"
        )

    def account(self) -> str:
        """Deprecated name of :meth:`describe` (removed in 0.3)."""
        warnings.warn(
            "SurveyData.account() is deprecated; use describe()", DeprecationWarning, stacklevel=2
        )
        return self.describe()


#: The records' attrs key of the lon/lat box ``(W, S, E, N)`` they were read through.
BBOX_ATTR = "mineland_bbox"


def box_text(bbox) -> str:
    """A lon/lat box as its user gave it: ``W S E N``."""
    return " ".join(f"{v:g}" for v in bbox)


def box_read(bbox) -> str:
    """How what is computed from records read through a box says so."""
    return f"only the records that meet the box {box_text(bbox)}"


def as_of_text(meta: dict, none: str) -> str:
    """A result's as-of date (from its ``attrs["mineland"]``), else ``none`` (all
    records), or "no as-of date" when its records were read through a box: they are
    not all the records."""
    if meta.get("as_of"):
        return str(meta["as_of"])
    return "no as-of date" if meta.get("bbox") else none


def lists_as_text(values: pd.Series) -> pd.Series:
    """Cells that hold lists or mappings as text: a one-item list as its item, a longer
    one as its items joined with "; ".  GDAL makes a whole GeoJSON property a list
    column (StringList, IntegerList) when one feature holds an array there, and
    Parquet and PostGIS have list columns; such a column is typed, so only an object
    column whose first value is a list or mapping is converted."""
    first = values.first_valid_index() if values.dtype == object else None
    if first is None or not isinstance(values[first], _LISTS):
        return values
    return values.map(_as_text)


_LISTS = (list, tuple, np.ndarray, dict)


def _as_text(value: object) -> object:
    if isinstance(value, dict):
        return str(value)
    if not isinstance(value, _LISTS):
        return value
    items = [str(v) for v in value if v is not None]
    if not items:
        return None
    return items[0] if len(items) == 1 else "; ".join(items)
