"""``mineland report``: a formatted workbook or a printable HTML page."""

from __future__ import annotations

import click

from ..io import write_report
from .console import note
from .options import (
    common_input_options,
    friendly_errors,
    output_option,
    reading,
)


@click.command("report")
@common_input_options
@output_option(".xlsx, .html, or .pdf (printed by Chromium)", required=True)
@click.option("--title", help="Title of the report.")
@friendly_errors
def report_cmd(output, as_of, rejected_path, verbose, quiet, title, **source):
    """Write a report: a formatted Excel workbook or a printable HTML page.

    Sheets: Summary (with totals), Land release by year, Progress by year,
    Validation, Validation findings, Unmapped by district, Candidate areas
    (suggestions for survey), Forecast, Priorities, Sources (inputs, CRS, as-of date,
    software version).  The HTML page (and the PDF printed from it) opens with the
    headline figures and a map, and has the charts.

    \b
    Example:
      mineland report data/boundaries/synthetic_districts.geojson data/surveys -o report.xlsx
    """
    from ..render.report import build_report  # matplotlib: only for reports

    if output.suffix.lower() not in (".xlsx", ".html", ".pdf"):
        raise click.BadParameter("reports are written as .xlsx, .html or .pdf", param_hint="-o")
    with reading(
        source, verbose=verbose, quiet=quiet, output=output, rejected=rejected_path
    ) as run:
        dist, data, inputs = run.dist, run.data, run.inputs
        rep = build_report(dist, data, as_of=as_of, title=title)
        path = write_report(rep, output, inputs=inputs)
    note(f"wrote {path}")
