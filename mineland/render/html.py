"""HTML tables and pages; every text from data is escaped."""

from __future__ import annotations

import base64
import html

import numpy as np
import pandas as pd

from .. import schema
from ..labels import SUGGESTION, heading, number_format

__all__ = ["findings_page", "html_table", "report_page"]

_e = html.escape


def _cell(value: object, column: object = None) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "<td></td>"
    if column == "year" and isinstance(value, (int, np.integer)):
        return f'<td class="num">{int(value)}</td>'  # 2021, not 2,021
    if number_format(column) == "#,##0" and isinstance(value, float) and value.is_integer():
        value = int(value)  # a count in a column that a totals row made floating point
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, float) and not np.isfinite(value):
        return '<td class="num">–</td>'  # no finite value (a pace that never ends)
    if isinstance(value, float):
        small = 0 < abs(value) < 0.05  # would read as 0.0
        return (
            f'<td class="num">{value:,.2f}</td>' if small else f'<td class="num">{value:,.1f}</td>'
        )
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    text = str(value)
    return f"<td class='long'>{_e(text)}</td>" if len(text) > 60 else f"<td>{_e(text)}</td>"


def html_table(frame: pd.DataFrame, *, max_rows: int | None = None) -> str:
    """A table with readable headings (:func:`mineland.labels.heading`), escaped text,
    numbers right-aligned (hectares to 0.1, counts whole), and a note when only the
    first ``max_rows`` rows are shown."""
    shown = frame if max_rows is None else frame.head(max_rows)
    head = "".join(f"<th>{_e(heading(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v, c) for c, v in zip(shown.columns, row, strict=True)) + "</tr>"
        for row in shown.astype(object).itertuples(index=False)
    )
    more = (
        f"<p class='note'>First {max_rows:,} of {len(frame):,} rows.</p>"
        if max_rows is not None and len(frame) > max_rows
        else ""
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div class='scroll'>{table}</div>{more}"


STYLE = (
    "body{font:13px system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f2f2f2}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "figure{margin:1em 0}img{max-width:100%}.note{color:#555}"
    ".scroll{overflow-x:auto;max-width:100%}"
    ".disclaimer{background:#fff3cd;border-left:4px solid #F4A718;padding:6px 10px}"
    "thead{display:table-header-group}tr,figure,table,.headline{break-inside:avoid}"
    ".headline{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0}"
    ".headline div{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:150px}"
    ".headline b{display:block;font-size:20px}"
    "@page{size:A4 landscape;margin:12mm}"
    "@media print{body{margin:0;font-size:10px}.scroll{overflow:visible}"
    "th,td{padding:1px 4px}h2{break-before:page}h2.keep{break-before:auto}"
    "img{max-height:120mm}}"
    "h2,h3{break-after:avoid}"
    # on a phone a wide table scrolls sideways instead of squeezing each column to a word
    "@media screen and (max-width:700px){body{margin:0.8em}th,td{min-width:4em}"
    "td.long{min-width:18em}}"
)


def page(title: str, body: str) -> str:
    """A whole HTML page around ``body`` (already HTML), with the shared style."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1>{body}</body></html>"
    )


def findings_page(result, findings: pd.DataFrame) -> str:
    """Validation findings as a readable page: counts, files, then every finding.
    Files are shown by name (the CSV, workbook and GeoPackage keep the full paths)."""
    return page(
        "Validation findings",
        f"<p>{result.errors:,} errors, {result.warnings:,} warnings.</p>"
        f"<h2>Summary</h2>{html_table(result.summary)}"
        f"<h2>Files: rows = used + rejected</h2>{html_table(_file_names(result.conservation))}"
        f"<h2>Findings</h2>{html_table(_file_names(findings))}",
    )


def _file_names(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``source_file`` column as file names: a page is read, not parsed."""
    if schema.SOURCE_FILE not in frame.columns:
        return frame
    names = frame[schema.SOURCE_FILE].map(
        lambda p: p.replace("\\", "/").rsplit("/", 1)[-1] if isinstance(p, str) else p
    )
    return frame.assign(**{schema.SOURCE_FILE: names})


#: The summary columns a printed report shows (the workbook has them all).
REPORT_COLUMNS = (
    "district",
    "contaminated_ha",
    "cha_ha",
    "sha_ha",
    "released_ha",
    "cleared_ha",
    "reduced_ha",
    "cancelled_ha",
    "released_pct",
    "devices",
    "incidents",
    "killed",
    "injured",
)


def report_page(report) -> str:
    """A :class:`mineland.render.report.Report` as a document a donor reads: the
    headline figures, a map, the summary, land release by year, charts, then the
    sections; a findings summary rather than every finding; printable on A4."""
    charts = "".join(
        _figure(name, png) for name, png in report.charts.items() if name not in ("forecast", "map")
    )
    district_map = _figure("map", report.charts["map"]) if "map" in report.charts else ""
    wide = report.summary[[c for c in REPORT_COLUMNS if c in report.summary.columns]]
    return page(
        report.title,
        f"{_headline(report)}"
        "<p class='disclaimer'>Indicative only: not for navigation or for clearance "
        "decisions in the field. Areas are ellipsoidal hectares.</p>"
        f"{district_map}"
        f"<h2 class='keep'>Summary by district</h2>{html_table(wide)}"
        f"<h2>Land release by year</h2>{_annual_note()}{html_table(report.annual)}"
        f"<h2>Charts</h2>{charts}"
        f"{_forecast_section(report)}"
        f"{_priority_section(report)}"
        f"{_unmapped_section(report)}"
        f"{_findings_section(report)}"
        f"<h2>Sources and metadata</h2>{html_table(report.sources)}",
    )


def _headline(report) -> str:
    """The figures a reader wants first."""
    totals = report.summary[report.summary["district"] == "Total"]
    if not len(totals):
        return ""
    t = totals.iloc[0]
    share = t["released_ha"] / t["recorded_ha"] * 100 if t.get("recorded_ha") else float("nan")
    items = [
        (
            "Contaminated",
            f"{t['contaminated_ha']:,.0f} ha",
            f"CHA {t['cha_ha']:,.0f} · SHA {t['sha_ha']:,.0f}",
        ),
        (
            "Released",
            f"{t['released_ha']:,.0f} ha",
            f"{share:.0f}% of the land ever recorded" if share == share else "",
        ),
        ("Explosive items found", f"{int(t['devices']):,}", ""),
        (
            "Casualties",
            f"{int(t['killed']):,} killed, {int(t['injured']):,} injured",
            f"in {int(t['incidents']):,} incidents",
        ),
    ]
    cells = "".join(
        f"<div>{_e(label)}<b>{_e(value)}</b>{_e(sub)}</div>" for label, value, sub in items
    )
    return f"<div class='headline'>{cells}</div>"


def _annual_note() -> str:
    return (
        "<p>Per year, all districts: land cancelled by non-technical survey, reduced by "
        "technical survey and cleared, in hectares and km², with the explosive items found "
        "and the casualties dated in the year (the layout of the Mine Action Review and "
        "Landmine Monitor country reports).</p>"
    )


def _findings_section(report) -> str:
    """The findings by check, and the worst few: the whole list is in the workbook."""
    worst = report.findings
    if len(worst) and "severity" in worst.columns:
        order = worst["severity"].map({"error": 0, "warning": 1, "info": 2}).fillna(3)
        worst = worst.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o")
    keep = [c for c in ("severity", "check", "record_id", "message") if c in worst.columns]
    return f"<h2>Data quality</h2>{html_table(report.findings_summary)}" + (
        f"<h3>The first findings, errors first</h3>{html_table(worst[keep], max_rows=15)}"
        f"<p class='note'>All {len(report.findings):,} findings are in the workbook "
        "(<code>-o report.xlsx</code>) and in <code>mineland validate</code>.</p>"
        if len(worst)
        else "<p>No findings.</p>"
    )


def _unmapped_section(report) -> str:
    """Devices and incidents away from every hazard, and the largest candidate areas."""
    if not len(report.unmapped):
        return ""
    candidates = (
        html_table(report.candidates, max_rows=20)
        if len(report.candidates)
        else "<p>No group of evidence makes a candidate area.</p>"
    )
    return (
        "<h2>Unmapped contamination</h2>"
        f"<p class='disclaimer'>{_e(SUGGESTION)}</p>"
        "<p>Devices and incidents more than 250 m from every recorded hazard, per "
        "district: a high share says the district's hazard map is incomplete.</p>"
        f"{html_table(report.unmapped)}<h3>Largest candidate areas</h3>{candidates}"
    )


def _figure(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode()
    return f'<figure><img alt="{_e(name)}" src="data:image/png;base64,{data}"></figure>'


def _forecast_section(report) -> str:
    """Completion per district at the current pace, and its chart."""
    if not len(report.forecast):
        return ""
    chart = _figure("forecast", report.charts["forecast"]) if "forecast" in report.charts else ""
    return (
        "<h2>Completion at the current pace</h2>"
        "<p>The net rate (first releases minus newly recorded contamination) of the last "
        "three years; the range is the 10th–90th percentile of a bootstrap over its "
        "quarters. Forecasts are often wrong: see <code>mineland forecast --backtest"
        "</code>.</p>"
        f"{html_table(report.forecast)}{chart}"
    )


def _priority_section(report) -> str:
    """The hazards to clear first, with the score of each criterion."""
    if not len(report.priorities):
        return ""
    return (
        "<h2>Hazards to clear first</h2>"
        "<p>The remaining hazards with the highest scores of the default profile "
        "(casualties nearby, class, size; see <code>mineland prioritise</code> to add "
        "settlements, roads, water, schools and land cover). Each column is a "
        "criterion's weighted score.</p>"
        f"{html_table(report.priorities)}"
    )
