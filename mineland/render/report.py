"""Reports for people who live in Excel, and a printable HTML page (pure computation).

:func:`build_report` gathers the tables and charts; :func:`mineland.io.write_report`
writes them as a formatted workbook or as HTML.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from .._version import __version__
from ..accounting import AccountingCache, total_row
from ..errors import attempt
from ..forecast import forecast_completion
from ..periods import annual_release, release_progress
from ..priorities import prioritise
from ..records import SurveyData
from ..tables import as_of_text, box_read
from ..unmapped import find_unmapped
from ..validation import validate
from .charts import (
    figure_png,
    plot_district_map,
    plot_forecast,
    plot_released,
    plot_remaining,
)

__all__ = ["Report", "build_report"]


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
    #: devices and incidents away from every hazard, per district
    unmapped: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: candidate areas for non-technical survey, largest evidence first
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: completion per district at the pace of the last three years
    forecast: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the remaining hazards to clear first (default profile), best first
    priorities: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: land released per year, all districts (Mine Action Review layout)
    annual: pd.DataFrame = field(default_factory=pd.DataFrame)


log = logging.getLogger(__name__)

#: hazards listed in the report's priority table
TOP = 20

_EMPTY_PROGRESS = pd.DataFrame({"district": [], "period_end": pd.to_datetime([])})


def build_report(
    districts, surveys: SurveyData, /, *, as_of=None, title=None, accounts=None
) -> Report:
    """Everything a report shows: summary with totals, progress by year, validation
    findings, devices and incidents away from every hazard with the candidate areas
    for survey, the completion forecast (pace of the last three years), sources and
    metadata, and the charts.

    The accounting runs once per distinct date (``as_of``, every year end, and all
    records for validation), through one :class:`mineland.AccountingCache`;
    ``accounts`` passes one the caller already has.

    Examples
    --------
    >>> rep = build_report(districts, surveys, as_of="2024-12-31")  # doctest: +SKIP
    """
    cache = accounts if accounts is not None else AccountingCache(districts, surveys)
    acc = cache.at(as_of)
    failed: list[str] = []
    prog = attempt(
        "progress",
        release_progress,
        districts,
        surveys,
        freq="year",
        end=as_of,
        accounts=cache,
        failures=failed,
        fallback=_EMPTY_PROGRESS,
    )
    checks = attempt("validation", validate, districts, surveys, accounting=cache, failures=failed)
    found = attempt("unmapped evidence", find_unmapped, acc, failures=failed)
    pace = attempt(
        "forecast",
        forecast_completion,
        districts,
        surveys,
        as_of=as_of,
        accounts=cache,
        failures=failed,
    )
    ranked = attempt("priorities", prioritise, acc, failures=failed)
    charts = _charts(prog, acc, pace, failed)
    sources = _sources(acc, surveys, title, failed)
    findings = (
        pd.DataFrame(checks.findings.drop(columns="geometry"))
        if checks is not None
        else pd.DataFrame()
    )
    return Report(
        _summary_with_totals(acc.summary),
        prog.assign(period_end=pd.to_datetime(prog["period_end"]).dt.date),
        checks.summary if checks is not None else pd.DataFrame(),
        findings,
        sources,
        charts,
        title or "Landmine contamination report",
        found.by_district if found is not None else pd.DataFrame(),
        _candidate_table(found),
        pace.table if pace is not None else pd.DataFrame(),
        _top(ranked),
        annual_release(prog) if "cleared_ha" in prog.columns else pd.DataFrame(),
    )


def _top(ranked, n: int = TOP) -> pd.DataFrame:
    if ranked is None:
        return pd.DataFrame()
    return pd.DataFrame(ranked.table.drop(columns="geometry").head(n))


def _candidate_table(found) -> pd.DataFrame:
    if found is None or not len(found.candidates):
        return pd.DataFrame()
    table = pd.DataFrame(found.candidates.drop(columns="geometry"))
    return table.sort_values(["evidence", "area_ha"], ascending=False, kind="stable")


def _summary_with_totals(summary: pd.DataFrame) -> pd.DataFrame:
    summary = pd.DataFrame(summary.drop(columns="geometry"))
    totals = total_row(summary)
    totals["area_ha"] = summary["area_ha"].sum(skipna=True)
    return pd.concat([summary, totals.to_frame().T], ignore_index=True)


def _charts(prog: pd.DataFrame, acc, pace, failed: list[str]) -> dict[str, bytes]:
    plots = {
        "released_by_district": lambda: plot_released(prog, by="district"),
        "released_by_method": lambda: plot_released(prog, by="method"),
        "remaining": lambda: plot_remaining(acc.summary),
        "map": lambda: plot_district_map(acc),
    }
    if pace is not None:
        plots["forecast"] = lambda: plot_forecast(pace)
    charts = {}
    for name, plot in plots.items():
        png = attempt(f"chart {name}", lambda p=plot: figure_png(p()), failures=failed)
        if png is not None:
            charts[name] = png
    return charts


def _sources(acc, surveys: SurveyData, title, failed: list[str]) -> pd.DataFrame:
    """The sources sheet: what was read and how, and what was left out."""
    meta = acc.summary.attrs.get("mineland", {})
    rows = [
        ("Report", title or "Landmine contamination report"),
        ("As of", as_of_text(meta, "all records (no as-of date)")),
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
    if meta.get("bbox"):
        rows.append(("Records read", box_read(meta["bbox"])))
    sources = pd.DataFrame(rows, columns=["item", "value"])
    files = surveys.sources.copy()
    if len(files):
        files.insert(0, "item", "input file")
        sources = pd.concat([sources, files], ignore_index=True)
    for failure in failed:
        log.warning("report: left out %s", failure)
    if failed:
        extra = pd.DataFrame({"item": "left out", "value": failed})
        sources = pd.concat([sources, extra], ignore_index=True)
    return sources
