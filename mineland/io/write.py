"""Writing outputs: atomically, never over an input, with spreadsheet formulas neutralised."""

from __future__ import annotations

import glob
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .. import schema
from ..errors import OutputError
from ..frames import split_by_geometry
from ..render.html import findings_page, report_page
from ..tables import as_of_text, box_read

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


TABLE_FORMATS = (".csv", ".json", ".geojson", ".gpkg", ".xlsx")
FINDINGS_FORMATS = (".csv", ".xlsx", ".gpkg", ".html")
RASTER_FORMATS = (".tif", ".tiff")


def _safe_cell(value: object) -> object:
    if not isinstance(value, str):
        return value
    # a workbook cannot hold most control characters, and in a CSV they are terminal
    # escapes or a NUL that ends the text for many tools; tabs and line ends stay
    value = schema.replace_controls(value, keep="\t\n\r")
    return "'" + value if value.startswith(_FORMULA_START) else value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote, and
    replace control characters (terminal escapes, NUL; tabs and line ends stay) with
    U+FFFD, for CSV and workbook cells alike.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = _safe_column(out[col])
    out.columns = [_safe_cell(str(c)) for c in out.columns]
    return out


def _safe_column(values: pd.Series) -> pd.Series:
    """:func:`_safe_cell` of every cell; of each distinct text once (a column stamped
    with one as-of date over a million rows), where every cell is text or missing."""
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return values.map(_safe_cell).astype(object)  # mixed: 1 and True are not one
    codes, uniques = pd.factorize(values)
    safe = np.array([_safe_cell(u) for u in uniques] + [None], dtype=object)[codes]
    missing = codes < 0
    safe[missing] = values.to_numpy(dtype=object)[missing]  # None, NaN or NA as they were
    return pd.Series(safe, index=values.index, dtype=object)


def check_output_path(
    path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike] = (),
    formats: Sequence[str] | None = None,
) -> Path:
    """Refuse an output path that is one of the inputs (or inside an input folder), in
    a folder that does not exist, or (with ``formats``) of another format."""
    out = Path(path)
    suffix = out.suffix.lower()
    if formats is not None and suffix not in formats:
        raise OutputError(f"{out}: unknown output format {suffix!r}; use {', '.join(formats)}")
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
    frame: pd.DataFrame,
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    sheet: str | None = None,
) -> Path:
    """Write a table by extension: .csv, .json, .geojson, .gpkg or .xlsx.

    A CSV carries the as-of date of its figures and the software version as its last
    columns (``as_of``, ``software``); a JSON file is an object with those keys and
    the ``rows``.

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
    meta = table_metadata(frame)
    with atomic(out) as tmp:
        if suffix == ".csv":  # the as-of date and the version as the last columns
            stamped = plain.assign(**{k: v for k, v in meta.items() if k not in plain.columns})
            neutralise_formulas(stamped).to_csv(tmp, index=False, encoding="utf-8")
        elif suffix == ".xlsx":  # bold frozen headers, number formats, widths, real dates
            _write_workbook(tmp, {sheet or _sheet_name(plain): plain}, totals=None)
        elif suffix == ".json":
            rows = json.loads(plain.to_json(orient="records", force_ascii=False, date_format="iso"))
            text = json.dumps({**meta, "rows": rows}, ensure_ascii=False, indent=1)
            tmp.write_text(text, encoding="utf-8")
        else:
            driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
            frame.to_file(tmp, driver=driver, engine="pyogrio", layer=out.stem)
    return out


def _sheet_name(frame: pd.DataFrame) -> str:
    """A workbook sheet named after what the table holds."""
    columns = set(frame.columns)
    if {"period_end", "released_ha"} <= columns:
        return "Progress"
    if {"year", "released_km2"} <= columns:
        return "Land release by year"
    if {"district", "contaminated_ha", "area_ha"} <= columns:
        return "Summary"
    if "class_name" in columns:
        return "Land cover"
    if "completion" in columns:
        return "Forecast"
    return "Table"


def table_metadata(frame: pd.DataFrame) -> dict[str, str]:
    """What a written table says of itself: the as-of date of its figures (when it
    has one) and the software that computed them."""
    from .._version import __version__

    meta = frame.attrs.get("mineland", {}) if isinstance(frame.attrs, dict) else {}
    out = {}
    if "as_of" in meta:
        out["as_of"] = as_of_text(meta, "all records")
    if meta.get("bbox"):
        out["records_read"] = box_read(meta["bbox"])
    out["software"] = f"mineland {__version__}"
    return out


LAYERS_FORMATS = (".gpkg", ".xlsx", ".csv")


def write_layers(
    layers: dict[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    styles: dict[str, tuple[str, str]] | None = None,
) -> Path:
    """Write several tables to one file: a GeoPackage layer each (tables without
    geometry as attribute tables), a workbook sheet each, or, as CSV, the first table
    alone with its geometry as WKT.  ``styles`` (``{layer: (name, QML)}``) become
    the layers' default QGIS styles, in the GeoPackage's ``layer_styles`` table.

    Examples
    --------
    >>> write_layers({"candidates": found.candidates}, "unmapped.gpkg")  # doctest: +SKIP
    """
    out = check_output_path(path, inputs, LAYERS_FORMATS)
    suffix = out.suffix.lower()
    with atomic(out) as tmp:
        if suffix == ".gpkg":
            for name, frame in layers.items():
                frame = frame if isinstance(frame, gpd.GeoDataFrame) else pd.DataFrame(frame)
                kw = {} if isinstance(frame, gpd.GeoDataFrame) else {"geometry_type": None}
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=False, **kw)
            if styles:
                _store_styles(tmp, styles)
        elif suffix == ".xlsx":
            sheets = {name: _with_wkt(frame) for name, frame in layers.items()}
            _write_workbook(tmp, sheets)
        else:
            first = _with_wkt(next(iter(layers.values())))
            neutralise_formulas(first).to_csv(tmp, index=False, encoding="utf-8")
    return out


_LAYER_STYLES = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
  styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT CURRENT_TIMESTAMP)
"""


def _store_styles(path: Path, styles: dict[str, tuple[str, str]]) -> None:
    """Default QGIS styles in a GeoPackage's ``layer_styles`` table (the table QGIS
    itself writes, registered as an attribute table), replacing the layers' old ones."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(_LAYER_STYLES)
        db.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier) "
            "VALUES ('layer_styles', 'attributes', 'layer_styles')"
        )
        geometry = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        for layer, (name, qml) in styles.items():
            db.execute("DELETE FROM layer_styles WHERE f_table_name = ?", (layer,))
            db.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '')",
                (layer, geometry.get(layer, ""), name, qml, f"{name} (mineland)"),
            )


def _with_wkt(frame: pd.DataFrame) -> pd.DataFrame:
    """A table with its geometry (if any) as a WKT column, for CSV and workbooks."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame)
    wkt = [None if g is None else shapely.to_wkt(g, rounding_precision=7) for g in frame.geometry]
    return pd.DataFrame(frame.drop(columns=frame.geometry.name)).assign(geometry_wkt=wkt)


def partial_path(out: Path, suffix: str = "") -> Path:
    """A hidden name beside ``out`` for what is written before it is moved into place,
    unique to this process and call (``suffix``: the output's own, kept last).  What
    killed runs left for the same output (their process is gone) is removed first."""
    stem = out.name[: len(out.name) - len(suffix)] if suffix else out.name
    if os.name == "posix":  # signal 0 only asks whether a process is there
        for left in out.parent.glob(f".{glob.escape(stem)}.*.partial{glob.escape(suffix)}"):
            pid = left.name[len(stem) + 2 :].split(".", 1)[0]
            if not pid.isdigit() or _running(int(pid)):
                continue
            if left.is_dir():
                shutil.rmtree(left, ignore_errors=True)
            else:
                left.unlink(missing_ok=True)
    return out.with_name(f".{stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial{suffix}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


@contextmanager
def atomic(out: Path):
    """Write to a temporary file beside ``out`` and move it into place on success.

    The temporary name is unique to this process and call, so two runs writing the
    same output never write into each other's file; a killed run leaves at most a
    hidden ``.partial`` file, never a truncated output.  An existing GeoPackage is
    copied first, so that writing one layer keeps the file's other layers.
    """
    tmp = partial_path(out, out.suffix)
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


def write_bytes(path: str | os.PathLike, data: bytes, *, inputs=()) -> Path:
    """Write bytes (a PNG) atomically, never over an input."""
    out = check_output_path(path, inputs)
    with atomic(out) as tmp:
        tmp.write_bytes(data)
    return out


def write_text(path: Path, text: str) -> Path:
    """Write a text file (UTF-8) atomically; the path has been checked by the caller."""
    with atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_rejected(
    rejected: pd.DataFrame, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()
) -> Path:
    """Write rejected rows (original columns plus ``reason``) as CSV for fixing."""
    out = check_output_path(path, inputs)
    with atomic(out) as tmp:
        neutralise_formulas(rejected).to_csv(tmp, index=False, encoding="utf-8")
    return out


def write_findings(
    result, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()
) -> Path:
    """Write validation findings: .csv (findings), .xlsx (sheets Checks, Findings,
    Files), .gpkg (one layer per geometry type, ``findings_points``,
    ``findings_polygons``…, and the findings without a place in ``findings``) or .html
    (a readable page)."""
    out = check_output_path(path, inputs)
    suffix = out.suffix.lower()
    if suffix not in FINDINGS_FORMATS:
        raise OutputError(
            f"{out}: unknown findings format {suffix!r}; use {', '.join(FINDINGS_FORMATS)}"
        )
    findings = result.findings
    plain = pd.DataFrame(findings.drop(columns="geometry", errors="ignore"))
    wkt = [
        None if g is None else shapely.to_wkt(g, rounding_precision=7) for g in findings.geometry
    ]
    with atomic(out) as tmp:
        if suffix == ".csv":
            neutralise_formulas(plain.assign(geometry_wkt=wkt)).to_csv(
                tmp, index=False, encoding="utf-8"
            )
        elif suffix == ".xlsx":  # the geometries are in the .gpkg
            sheets = {"Checks": result.summary, "Findings": plain, "Files": result.conservation}
            _write_workbook(tmp, sheets)
        elif suffix == ".gpkg":  # a layer per geometry type: QGIS loads each without asking
            gdf = findings.copy()
            gdf[schema.SOURCE_ROW] = gdf[schema.SOURCE_ROW].astype("float64")
            # no findings: an empty table, so that the file says so (and exists)
            layers = split_by_geometry(gdf, "findings") or {"findings": plain}
            for name, layer in layers.items():
                kw = {} if isinstance(layer, gpd.GeoDataFrame) else {"geometry_type": None}
                pyogrio.write_dataframe(layer, tmp, layer=name, driver="GPKG", **kw)
        else:
            tmp.write_text(findings_page(result, plain), encoding="utf-8")
    return out


def _write_workbook(tmp: Path, sheets: dict, *, totals: str | None = None) -> None:
    """Sheets with formulas neutralised, styled (:func:`mineland.render.xlsx.style_sheet`)."""
    from ..render.xlsx import style_sheet  # openpyxl: 0.1 s at start-up, only for workbooks

    with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            neutralise_formulas(frame).to_excel(xl, sheet_name=name, index=False)
            style_sheet(xl.sheets[name], frame, bold_last_row=name == totals)


def write_report(report, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()):
    """Write a :class:`mineland.render.report.Report`: a formatted .xlsx workbook or a
    printable .html page.  (Given validation findings, as before 0.2, it writes them
    with :func:`write_findings` and warns that this use is deprecated.)"""
    if hasattr(report, "conservation"):
        warnings.warn(
            "write_report(validation result) is deprecated; use write_findings",
            DeprecationWarning,
            stacklevel=2,
        )
        return write_findings(report, path, inputs=inputs)
    out = check_output_path(path, inputs)
    suffix = out.suffix.lower()
    if suffix == ".html":
        return write_text(out, report_page(report))
    if suffix == ".pdf":
        with atomic(out) as tmp:
            print_to_pdf(report_page(report), tmp)
        return out
    if suffix != ".xlsx":
        raise OutputError(f"{out}: reports are written as .xlsx, .html or .pdf")
    sheets = {
        "Summary": report.summary,
        "Land release by year": report.annual,
        "Progress by year": report.progress,
        "Validation": report.findings_summary,
        "Validation findings": report.findings,
        "Unmapped by district": report.unmapped,
        "Candidate areas": report.candidates,
        "Forecast": report.forecast,
        "Priorities": report.priorities,
        "Sources": report.sources,
    }
    with atomic(out) as tmp:
        _write_workbook(tmp, sheets, totals="Summary")
    return out


#: Browsers that print a page to PDF from the command line, tried in turn.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser(out: Path) -> str:
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        raise OutputError(
            f"{out.name}: made by Chromium, which is not installed (apt-get install chromium)"
        )
    return browser


def _run_browser(url: str, out: Path, options: list[str], folder: str, timeout: float) -> None:
    """Run a headless Chromium on ``url`` writing ``out`` (a PDF or a screenshot)."""
    args = [_browser(out), "--headless", "--disable-gpu", "--hide-scrollbars", *options]
    args += ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    args += [f"--user-data-dir={folder}/profile", url]
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OutputError(f"{out.name}: Chromium did not finish") from None
    if done.returncode or not out.is_file() or out.stat().st_size == 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise OutputError(f"{out.name}: Chromium could not make it ({why[0]})")


def print_to_pdf(page: str, out: Path, *, timeout: float = 120.0) -> None:
    """Print an HTML page to PDF with a headless Chromium (Debian's ``chromium``),
    as the browser prints it: A4 landscape, tables not cut across pages."""
    with tempfile.TemporaryDirectory(prefix="mineland-pdf-") as folder:
        source = Path(folder) / "report.html"
        source.write_text(page, encoding="utf-8")
        options = ["--no-pdf-header-footer", f"--print-to-pdf={out}"]
        _run_browser(source.as_uri(), out, options, folder, timeout)


def map_png(
    html_path: str | os.PathLike,
    path: str | os.PathLike,
    *,
    size: tuple[int, int] = (1600, 1000),
    inputs: Iterable[str | os.PathLike] = (),
    timeout: float = 120.0,
) -> Path:
    """A PNG of a saved map for slides, made by the same browser (headless Chromium):
    the map, its panel and legend, without the buttons one clicks."""
    out = check_output_path(path, inputs)
    with atomic(out) as tmp, tempfile.TemporaryDirectory(prefix="mineland-png-") as folder:
        url = Path(html_path).resolve().as_uri() + "#png"
        options = [f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=15000"]
        _run_browser(url, tmp, [*options, f"--screenshot={tmp}"], folder, timeout)
    return out


def write_report_file(report, path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = ()):
    """Deprecated name of :func:`write_report` (removed in 0.3)."""
    warnings.warn(
        "write_report_file is deprecated; use write_report", DeprecationWarning, stacklevel=2
    )
    return write_report(report, path, inputs=inputs)
