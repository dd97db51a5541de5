"""Finding input files: folders, supported extensions, sources manifests and field maps."""

from __future__ import annotations

import functools
import json
import logging
import os
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from ..errors import InputFileError, SchemaError
from ..priorities import load_profile as parse_profile
from ..records import parse_crs
from ._parse import first_line
from .postgis import is_database_url

log = logging.getLogger(__name__)

#: File endings read through GDAL (a ``.gdb`` folder is a File Geodatabase).
VECTOR_EXTENSIONS = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".kml", ".kmz", ".gdb")


PARQUET_EXTENSIONS = (".parquet", ".geoparquet")


CSV_EXTENSIONS = (".csv", ".tsv", ".txt")


#: Workbooks (Excel's, and LibreOffice's ``.ods``), read one sheet per table (see
#: :mod:`mineland.io._excel`).
EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")


def _is_geojson_text(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4096].decode("utf-8", "ignore")
    except OSError:
        return False
    return '"type"' in head and ("Feature" in head or "Polygon" in head or "Point" in head)


#: what a folder's files are read as, by extension (a ``.txt`` only when named)
_READ = tuple(e for e in VECTOR_EXTENSIONS + CSV_EXTENSIONS + EXCEL_EXTENSIONS if e != ".txt")
#: archives other than zips, which are not unpacked
OTHER_ARCHIVES = (".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
#: why such an archive is not read
NOT_UNPACKED = "an archive mineland does not unpack (zips it does): unpack it and give its files"

#: the file endings of survey data (a hidden file of these is named when skipped)
DATA_ENDINGS = _READ + PARQUET_EXTENSIONS
_SIDECARS = {".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".xml", ".aux"}


def _beside_a_shapefile(path: Path) -> bool:
    """Whether a file is a Shapefile's sidecar (``HAZ.DBF`` of ``HAZ.SHP`` too)."""
    return any(path.with_suffix(s).exists() for s in (".shp", ".SHP", ".Shp"))


def _folder_files(path: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The survey files in a folder (recursively), and the files skipped with why."""
    inside: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    datasets = functools.cache(is_parquet_dataset)  # each folder looked at once
    for child in sorted(path.rglob("*")):
        parents = [path / p for p in child.relative_to(path).parents if p != Path(".")]
        if any(p.suffix.lower() == ".gdb" or _hidden(p.name) for p in parents):
            continue  # read whole, or a hidden folder's (said once for the folder)
        if _hidden(child.name):
            why = _hidden_reason(child)
            if why:
                skipped.append((child, why))
            continue
        suffix = child.suffix.lower()
        if child.is_dir():
            if suffix == ".gdb" or (datasets(child) and not any(map(datasets, parents))):
                inside.append(child)  # read whole, as one input
            continue
        if suffix in PARQUET_EXTENSIONS:
            if not any(map(datasets, parents)):  # a part of a dataset read whole
                inside.append(child)
        elif suffix == ".json" and not _is_geojson_text(child):
            skipped.append((child, "JSON but not GeoJSON"))
        elif child.name.startswith("~$"):
            skipped.append((child, "Excel's lock file of an open workbook"))
        elif suffix in _READ:
            inside.append(child)
        elif suffix in _SIDECARS and _beside_a_shapefile(child):
            continue  # part of a Shapefile
        else:
            archive = suffix in OTHER_ARCHIVES
            skipped.append((child, NOT_UNPACKED if archive else "not a survey file format"))
    return inside, skipped


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _hidden_reason(child: Path) -> str | None:
    """Why a hidden file or folder is skipped, where it would have been read (None: a
    hidden file of no survey format, as ``.DS_Store``, goes unsaid)."""
    if ".partial" in child.name:
        return "unfinished output of an interrupted run"
    if child.name.startswith("._") or child.name == "__MACOSX":
        return "macOS metadata, not data"
    if child.is_dir():
        found = (f for f in child.rglob("*") if f.suffix.lower() in DATA_ENDINGS)
        return "a hidden folder" if next(found, None) else None
    if child.suffix.lower() in DATA_ENDINGS:
        return "a hidden file (its name starts with a dot)"
    return None


def find_input_files(
    paths: Iterable[str | os.PathLike], *, shown_as: str | None = None
) -> list[Path]:
    """Expand the given files and folders into the files to read, in a stable order
    (``shown_as``: the name a folder goes by in what is said, an unpacked zip's)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        name = shown_as or path
        if not path.exists():
            raise InputFileError(f"{path}: no such file or folder")
        if path.is_dir() and is_parquet_dataset(path):
            found.append(path)
        elif path.is_dir() and path.suffix.lower() != ".gdb":
            inside, skipped = _folder_files(path)
            if skipped:
                shown = "; ".join(f"{p.relative_to(path)} ({why})" for p, why in skipped[:10])
                more = f"; and {len(skipped) - 10} more" if len(skipped) > 10 else ""
                n = len(skipped)
                log.warning("%s: skipped %d file%s: %s%s", name, n, "s" * (n != 1), shown, more)
            if not inside:
                what = "the zip" if shown_as else "the folder"
                raise InputFileError(f"{name}: {what} holds no supported survey files")
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
        raise SchemaError(f"{path}: not a valid field map: {first_line(exc)}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: a field map must be a table of column names")
    return data


#: The field-map presets shipped with mineland (``mineland/static/presets``).
PRESETS = ("imsma-ng", "survey123", "kobo")


def preset_text(name: str) -> str:
    """The TOML text of a shipped preset, with its comments (the columns it expects)."""
    if name not in PRESETS:
        raise SchemaError(f"no preset {name!r}; presets are {', '.join(PRESETS)}")
    return (
        resources.files("mineland")
        .joinpath("static", "presets", f"{name}.toml")
        .read_text(encoding="utf-8")
    )


def load_preset(name: str) -> dict[str, object]:
    """A shipped field-map preset for a common export: ``imsma-ng`` (IMSMA NG
    staging-area tables), ``survey123`` (an IMSMA Core land-release form) or
    ``kobo`` (a KoboToolbox/ODK export).  Each names, for every canonical column,
    the export columns it may come from.

    Examples
    --------
    >>> read_surveys("hazard.csv", field_map=load_preset("imsma-ng"))  # doctest: +SKIP
    """
    return tomllib.loads(preset_text(name))


def with_preset(field_map: Mapping[str, object] | None, preset: str | None):
    """A preset with a field map's own entries over it (either may be None)."""
    if preset is None:
        return dict(field_map) if field_map is not None else None
    merged = load_preset(preset)
    for key, value in (field_map or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


#: what a ``[[source]]`` entry of a sources manifest may say
_SOURCE_KEYS = {"path", "crs", "assign_crs", "field_map", "preset", "layer", "sheet"}


def expand_inputs(paths) -> list[tuple[Path, dict]]:
    """Files to read, each with the options of its manifest entry (none for plain
    paths).  A ``.toml`` input holding ``[[source]]`` entries is a sources manifest."""
    out: list[tuple[Path | str, dict]] = []
    for raw in paths:
        if is_database_url(raw):
            out.append((str(raw), {}))
            continue
        path = Path(raw)
        if path.suffix.lower() == ".toml" and path.is_file():
            for entry in load_sources(path):
                files = find_input_files([entry["path"]])
                out.extend((f, entry) for f in files)
        else:
            out.extend((f, {}) for f in find_input_files([path]))
    return out


def flat_paths(paths):
    """The paths given, with collections of paths opened (``read_surveys([a, b])`` as
    ``read_surveys(a, b)``; a tuple, an array or a generator as well)."""
    for raw in paths:
        if isinstance(raw, Iterable) and not isinstance(raw, (str, bytes, os.PathLike)):
            yield from flat_paths(raw)
        else:
            yield raw


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
            fmap = load_field_map(path.parent / str(fmap))
        if fmap is not None or "preset" in entry:
            entry["field_map"] = with_preset(fmap, entry.get("preset"))
        for key in ("crs", "assign_crs"):
            if key in entry:
                entry[key] = parse_crs(entry[key])
        out.append(entry)
    return out


def is_parquet_dataset(path: Path) -> bool:
    """A folder of GeoParquet parts (what ``mineland convert`` writes)."""
    return path.is_dir() and (
        path.suffix.lower() in PARQUET_EXTENSIONS or any(path.glob("part-*.parquet"))
    )


def load_profile(path: str | os.PathLike) -> dict:
    """A prioritisation profile from a TOML file, checked (see
    :func:`mineland.priorities.load_profile`).

    Examples
    --------
    >>> profile = load_profile("my_profile.toml")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such profile")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read the profile ({first_line(exc)})") from None
    return parse_profile(text, source=str(path))
