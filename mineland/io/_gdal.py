"""Reading vector layers through GDAL (pyogrio): offline settings scoped to each read,
Shapefile encodings and counts, curved geometries, GDAL's warnings sent to the log."""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from ..csvtext import looks_cyrillic
from ..errors import CRSError, InputFileError
from ..recorded_warnings import recorded_warnings
from ..records import RawTable
from ._parse import first_line, parse_geometries

log = logging.getLogger(__name__)
#: what has been done for GDAL in each thread (:func:`gdal_messages_as_warnings`)
_thread_state = threading.local()

#: GDAL settings while mineland reads: never fetch anything (KML network links,
#: remote references).  Set for the call only, then restored: importing or calling
#: mineland leaves the process's GDAL configuration as it found it.
_GDAL_OFFLINE = {
    "GDAL_HTTP_TIMEOUT": "1",
    "LIBKML_RESOLVE_STYLE": "NO",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".mineland-never",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
}


class offline_gdal(contextlib.ContextDecorator):
    """GDAL settings for reading, scoped to a block (as ``rasterio.Env`` is): inside it
    GDAL fetches nothing (:data:`_GDAL_OFFLINE`); on leaving, the settings are as they
    were.  Use as ``with offline_gdal():`` or as a decorator ``@offline_gdal()``.
    Nesting is safe: each level restores what it found."""

    def __init__(self) -> None:
        self._saved: list[dict] = []  # a decorator's block may be entered recursively

    def __enter__(self):
        self._saved.append({key: pyogrio.get_gdal_config_option(key) for key in _GDAL_OFFLINE})
        pyogrio.set_gdal_config_options(_GDAL_OFFLINE)
        return self

    def __exit__(self, *exc) -> bool:
        pyogrio.set_gdal_config_options(self._saved.pop())
        return False


@contextmanager
def gdal_warnings_to_log(path: Path):
    """GDAL's warnings (laundered names, odd headers) become log messages on the file."""
    gdal_messages_as_warnings()
    with recorded_warnings() as caught:  # files are read side by side, in threads
        yield
    messages: dict[str, int] = {}
    for w in caught:
        text = str(w.message).strip()
        if "Non closed ring" in text:
            text = "polygon rings that were not closed have been closed on reading"
        messages[text] = messages.get(text, 0) + 1
    for text, count in messages.items():
        log.warning("%s: %s%s", path, text, f" ({count} times)" if count > 1 else "")


def gdal_messages_as_warnings() -> None:
    """Make GDAL's messages in this thread Python warnings, as pyogrio makes them in
    the thread that imported it.  GDAL keeps an error handler per thread: in any other
    (the threads that read files side by side) it printed its warnings to stderr
    itself, past the log.  Done once a thread."""
    if getattr(_thread_state, "handled", False):
        return
    try:
        from pyogrio._err import _register_error_handler
    except ImportError:  # pragma: no cover - a pyogrio that does it another way
        return
    _register_error_handler()
    _thread_state.handled = True


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


def _read_arrow(path: Path, layer, bbox, encoding) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """The layer through GDAL's Arrow stream: attributes and WKB without a Python
    object per feature (about twice as fast as a feature-by-feature read)."""
    meta, table = pyogrio.raw.read_arrow(
        gdal_path(path), layer=layer, bbox=bbox, encoding=encoding, datetime_as_string=True
    )
    wkb_at = [
        i
        for i, field in enumerate(table.schema)
        if (field.metadata or {}).get(b"ARROW:extension:name") == b"geoarrow.wkb"
    ]
    if wkb_at and not _plain_2d(table.column(wkb_at[0])):
        raise ValueError("curved, 3D or measured geometries")
    wkb = table.column(wkb_at[0]).to_numpy(zero_copy_only=False) if wkb_at else None
    attrs = table.drop_columns([table.schema.names[i] for i in wkb_at]).to_pandas()
    return meta, attrs, wkb


def _read_features(path: Path, layer, bbox, encoding) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """The layer feature by feature: for what the Arrow stream cannot give (curves,
    which this path linearises; measured or 3D geometries, made 2D)."""
    meta, _, wkb, field_data = pyogrio.raw.read(
        gdal_path(path),
        layer=layer,
        force_2d=True,
        bbox=bbox,
        encoding=encoding,
        # dates as GDAL holds them: a value it cannot turn into a date (2021-02-30)
        # is then rejected row by row, with its raw text
        datetime_as_string=True,
    )
    fields = list(meta["fields"])
    attrs = pd.DataFrame(
        {name: values for name, values in zip(fields, field_data, strict=True)} if fields else {},
        index=pd.RangeIndex(len(wkb) if wkb is not None else 0),
    )
    return meta, attrs, wkb


def _plain_2d(column) -> bool:
    """Whether every WKB value in an Arrow binary column is a 2D linear geometry
    (type codes 1–7 without Z, M or SRID flags), read from the first five bytes of
    each value without a Python object per feature."""
    arr = column.combine_chunks()
    if arr.null_count == len(arr):
        return True
    offsets_type = np.int64 if str(arr.type).startswith("large") else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=offsets_type)
    offsets = offsets[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    valid = ~arr.is_null().to_numpy(zero_copy_only=False)
    if (np.diff(offsets)[valid] < 5).any():
        return False  # not WKB: the feature-by-feature read reports it
    heads = data[offsets[:-1][valid][:, None] + np.arange(5)]
    little = heads[:, 0] == 1
    code = np.where(
        little,
        heads[:, 1].astype(np.uint32) | (heads[:, 2].astype(np.uint32) << 8),
        heads[:, 4].astype(np.uint32) | (heads[:, 3].astype(np.uint32) << 8),
    )
    flags = np.where(little, heads[:, 4], heads[:, 1])  # EWKB's Z/M/SRID bits
    return bool(((code >= 1) & (code <= 7) & (flags == 0)).all())


def gdal_path(path: Path) -> str:
    """The name GDAL reads ``path`` by: a KMZ's main KML inside the zip (``doc.kml``,
    else the first), because libkml reads a KMZ's features without the attributes
    its ``<Schema>`` declares; any other file as it is."""
    inside = kmz_documents(path) if path.suffix.lower() == ".kmz" else []
    if not inside:
        return str(path)
    main = next((n for n in inside if n.lower() == "doc.kml"), inside[0])
    return f"/vsizip/{path.resolve()}/{main}"


def read_layer(path: Path, layer: str | int | None, *, bbox=None) -> RawTable:
    mismatch = _shapefile_counts_differ(path)
    if mismatch:
        log.warning("%s: %s", path, mismatch)
    encoding = _shapefile_encoding(path)
    try:
        with gdal_warnings_to_log(path):
            try:
                meta, attrs, wkb = _read_arrow(path, layer, bbox, encoding)
                arrow = True
            except Exception:  # a driver or type the Arrow stream does not handle
                arrow = False
            if not arrow:
                meta, attrs, wkb = _read_features(path, layer, bbox, encoding)
    except Exception as exc:  # pyogrio raises its own error types and OSError
        raise InputFileError(f"{path}: cannot read layer {layer!r}: {first_line(exc)}") from None
    if wkb is None:
        wkb = np.full(len(attrs), None, dtype=object)
    geoms, errors, fixes = parse_geometries(np.asarray(wkb, dtype=object), shapely.from_wkb)
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


def zip_members(path: Path) -> list[str]:
    """The files in a zip or KMZ (macOS metadata left out); none if it is no zip."""
    if path.suffix.lower() not in (".zip", ".kmz") or not zipfile.is_zipfile(path):
        return []
    with zipfile.ZipFile(path) as archive:
        return [n for n in archive.namelist() if is_zip_content(n)]


def is_zip_content(name: str) -> bool:
    """Whether a zip's member is a file of its content (not a folder, not macOS's
    metadata)."""
    return not (name.endswith("/") or name.startswith("__MACOSX/") or "/._" in f"/{name}")


def kmz_documents(path: Path) -> list[str]:
    """The KML files inside a KMZ (or zip)."""
    return [n for n in zip_members(path) if n.lower().endswith(".kml")]


def spatial_layers(path: Path, *, none_ok: bool = False, listed=None) -> list[str]:
    """The layers of a file that hold geometries (``none_ok``: maybe none;
    ``listed``: its layers and their types, as :func:`layer_types` gives them)."""
    listed = layer_types(path) if listed is None else listed
    spatial = [name for name, gtype in listed if gtype is not None]
    if not spatial and not none_ok:
        _refuse_a_zip_of_files(path)  # a zipped CSV: GDAL reads it without its points
        raise InputFileError(f"{path}: the file holds no layer with geometries")
    return spatial


def attribute_layers(path: Path, listed=None) -> dict[str, pd.DataFrame]:
    """The layers of a file that hold no geometry (a GeoPackage's attribute tables),
    each as a frame of its columns (``listed``: as for :func:`spatial_layers`)."""
    listed = layer_types(path) if listed is None else listed
    out = {}
    for name in (n for n, gtype in listed if gtype is None):
        with gdal_warnings_to_log(path):
            out[name] = pyogrio.read_dataframe(
                gdal_path(path), layer=name, read_geometry=False, datetime_as_string=True
            )
    return out


def layer_types(path: Path) -> list[tuple[str, object]]:
    """Each layer of a file and its geometry type (None: an attribute table)."""
    try:
        with gdal_warnings_to_log(path):
            layers = pyogrio.list_layers(gdal_path(path))
    except Exception as exc:
        _refuse_a_zip_of_files(path)
        raise InputFileError(f"{path}: not a readable vector dataset ({first_line(exc)})") from None
    return [(str(name), gtype) for name, gtype in layers]


def _refuse_a_zip_of_files(path: Path) -> None:
    """A zip GDAL reads no layer from (a zipped CSV of districts, a zip of no survey
    file) is an error that names what it holds."""
    inside = zip_members(path)
    if inside:
        raise InputFileError(
            f"{path}: no layer with geometries could be read from this zip, which holds "
            f"{', '.join(inside[:5])}{' …' if len(inside) > 5 else ''}: unzip it and "
            "give its files"
        )


CURVED = re.compile(
    r"^\s*(CURVEPOLYGON|MULTISURFACE|COMPOUNDCURVE|CIRCULARSTRING|MULTICURVE)", re.IGNORECASE
)


def linearise_curves(geoms: np.ndarray, texts: np.ndarray, fixes: np.ndarray) -> None:
    """Read curved WKT (CURVEPOLYGON, ...) through GDAL, which linearises the arcs.

    GEOS cannot parse curves; GDAL's CSV driver reads the WKT and pyogrio returns
    linear geometries.  Updates ``geoms`` and ``fixes`` in place.
    """
    todo = [
        i
        for i in np.flatnonzero(shapely.is_missing(geoms))
        if isinstance(texts[i], str) and CURVED.match(texts[i])
    ]
    if not todo:
        return
    lines = ["wkt"] + ['"' + str(texts[i]).replace('"', '""') + '"' for i in todo]
    gdal_messages_as_warnings()
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


def polygon_layers(path: Path, layers: Sequence[str]) -> list[str]:
    info = pyogrio.list_layers(gdal_path(path))
    return [str(n) for n, g in info if g and "polygon" in str(g).lower() and str(n) in layers]
