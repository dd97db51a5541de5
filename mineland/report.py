"""Reports for people who live in Excel, and a printable HTML page (pure computation).

:func:`build_report` gathers the tables and charts; :func:`mineland.io.write_report_file`
writes them as a formatted workbook or as HTML.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from . import schema
from ._version import __version__
from .accounting import account, total_row
from .charts import figure_png, plot_released, plot_remaining
from .errors import attempt
from .progress import progress
from .records import SurveyData
from .validate import validate

__all__ = ["Report", "build_report", "report_html"]


@dataclass
class Report:
    """The sheets of a report (DataFrames) and its charts (PNG bytes)."""

    summary: pd.DataFrame
    progress: pd.DataFrame
    findings_summary: pd.DataFrame
    findings: pd.DataFrame
    sources: pd.DataFrame
    charts: dict[str, bytes] = field(default_factory=dict)
    title: str = "Landmine contamination report"


log = logging.getLogger(__name__)

_EMPTY_PROGRESS = pd.DataFrame({"district": [], "period_end": pd.to_datetime([])})


def build_report(districts, surveys: SurveyData, /, *, as_of=None, title=None) -> Report:
    """Everything a report shows: summary with totals, progress by year, validation
    findings, sources and metadata, and the charts.

    Examples
    --------
    >>> rep = build_report(districts, surveys, as_of="2024-12-31")  # doctest: +SKIP
    """
    acc = account(districts, surveys, as_of=as_of)
    summary = pd.DataFrame(acc.summary.drop(columns="geometry"))
    totals = total_row(summary)
    totals["area_ha"] = summary["area_ha"].sum(skipna=True)
    summary = pd.concat([summary, totals.to_frame().T], ignore_index=True)
    failed: list[str] = []
    prog = attempt(
        "progress",
        progress,
        districts,
        surveys,
        freq="year",
        end=as_of,
        failures=failed,
        fallback=_EMPTY_PROGRESS,
    )
    reuse = acc if as_of is None else None
    checks = attempt("validation", validate, districts, surveys, accounting=reuse, failures=failed)
    meta = acc.summary.attrs.get("mineland", {})
    rows = [
        ("Report", title or "Landmine contamination report"),
        ("As of", meta.get("as_of") or "all records (no as-of date)"),
        ("Generated", datetime.now().strftime("%Y-%m-%d %H:%M")),
        ("Software", f"mineland {__version__}"),
        ("Areas", "ellipsoidal hectares (equal-area projection fitted to the districts)"),
        ("Equal-area CRS", meta.get("equal_area_crs", "")),
        ("Districts", str(acc.districts.attrs.get("source", "districts"))),
        ("District name field", str(acc.districts.attrs.get("name_field", ""))),
        ("Records used", f"{len(surveys.records):,}"),
        ("Records rejected", f"{len(surveys.rejected):,}"),
        ("Undated records", f"{meta.get('records_undated', 0):,}"),
    ]
    sources = pd.DataFrame(rows, columns=["item", "value"])
    files = surveys.sources.copy()
    if len(files):
        files.insert(0, "item", "input file")
        sources = pd.concat([sources, files], ignore_index=True)
    plots = {
        "released_by_district": lambda: plot_released(prog, by="district"),
        "released_by_method": lambda: plot_released(prog, by="method"),
        "remaining": lambda: plot_remaining(acc.summary),
    }
    charts = {}
    for name, plot in plots.items():
        png = attempt(f"chart {name}", lambda p=plot: figure_png(p()), failures=failed)
        if png is not None:
            charts[name] = png
    for failure in failed:
        log.warning("report: left out %s", failure)
    if failed:
        extra = pd.DataFrame({"item": "left out", "value": failed})
        sources = pd.concat([sources, extra], ignore_index=True)
    findings = (
        pd.DataFrame(checks.findings.drop(columns="geometry"))
        if checks is not None
        else pd.DataFrame()
    )
    return Report(
        summary,
        prog.assign(period_end=pd.to_datetime(prog["period_end"]).dt.date),
        checks.summary if checks is not None else pd.DataFrame(),
        findings,
        sources,
        charts,
        title or "Landmine contamination report",
    )


def _table(frame: pd.DataFrame, *, max_rows: int | None = None) -> str:
    e = html.escape
    shown = frame if max_rows is None else frame.head(max_rows)

    def cell(col: str, v) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
            return "<td></td>"
        if isinstance(v, float):
            text = f"{v:,.1f}"
            return f'<td class="num">{e(text)}</td>'
        if isinstance(v, int):
            return f'<td class="num">{v:,}</td>'
        return f"<td>{e(str(v))}</td>"

    head = "".join(f"<th>{e(str(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(cell(c, v) for c, v in zip(shown.columns, row, strict=True)) + "</tr>"
        for row in shown.itertuples(index=False)
    )
    more = (
        f"<p class='note'>First {max_rows:,} of {len(frame):,} rows.</p>"
        if max_rows is not None and len(frame) > max_rows
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def report_html(report: Report) -> str:
    """A printable HTML page: tables and charts; every text from data escaped."""
    e = html.escape
    charts = "".join(
        f'<figure><img alt="{e(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"></figure>'
        for name, png in report.charts.items()
    )
    wide = report.summary[[c for c in schema.SUMMARY_COLUMNS if c in report.summary.columns]]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{e(report.title)}</title><style>"
        "body{font:13px system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "th,td{border:1px solid #ccc;padding:2px 6px}th{background:#f2f2f2}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums}"
        "figure{margin:1em 0}img{max-width:100%}.note{color:#555}"
        ".disclaimer{background:#fff3cd;border-left:4px solid #F4A718;padding:6px 10px}"
        "@media print{h2{page-break-before:always}h2:first-of-type{page-break-before:auto}}"
        "</style></head><body>"
        f"<h1>{e(report.title)}</h1>"
        "<p class='disclaimer'>Indicative only: not for navigation or for clearance "
        "decisions in the field. Areas are ellipsoidal hectares.</p>"
        f"<h2>Summary by district</h2>{_table(wide)}"
        f"<h2>Charts</h2>{charts}"
        f"<h2>Progress by year</h2>{_table(report.progress)}"
        f"<h2>Validation findings</h2>{_table(report.findings_summary)}"
        f"{_table(report.findings, max_rows=500)}"
        f"<h2>Sources and metadata</h2>{_table(report.sources)}"
        "</body></html>"
    )
