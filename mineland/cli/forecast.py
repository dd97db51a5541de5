"""``mineland forecast``: when each district will be clear at the current pace."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..forecast import backtest, forecast_completion
from ..io import check_output_path, write_bytes, write_table
from ..io.write import TABLE_FORMATS
from .console import note, plain
from .options import (
    common_input_options,
    friendly_errors,
    output_option,
    reading,
    valid_date,
    valid_window,
)


@click.command("forecast")
@common_input_options
@output_option("Write the table: .csv, .json or .xlsx.")
@click.option(
    "--window",
    default="3y",
    show_default=True,
    callback=valid_window,
    help="Trailing window the pace is measured over: years (3y) or months (18m).",
)
@click.option(
    "--deadline", callback=valid_date, metavar="YYYY-MM-DD", help="Flag each row against it."
)
@click.option(
    "--backtest",
    "backtest_year",
    type=click.IntRange(min=1900, max=2100),
    metavar="YEAR",
    help="Forecast from the data up to YEAR and compare with what came after.",
)
@click.option(
    "--chart",
    type=click.Path(path_type=Path),
    help="A PNG of the remaining hectares with the projected range (all districts).",
)
@friendly_errors
def forecast_cmd(
    output, as_of, rejected_path, verbose, quiet, window, deadline, backtest_year, chart, **source
):
    """When each district will be clear at the current pace, with a range.

    The pace is the net decrease of contaminated land (first releases minus newly
    recorded contamination) per year over the trailing window; the range comes from a
    bootstrap over its periods.

    \b
    Examples:
      mineland forecast data/boundaries/synthetic_districts.geojson data/surveys --window 1y
      mineland forecast districts.gpkg surveys/ --deadline 2027-03-01 -o forecast.xlsx
      mineland forecast districts.gpkg surveys/ --backtest 2023
    """
    if chart is not None and chart.suffix.lower() != ".png":
        raise click.BadParameter("the chart is written as .png", param_hint="--chart")
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=TABLE_FORMATS,
    ) as run:
        if chart is not None:
            check_output_path(chart, run.inputs)
        cache = run.accounts
        if backtest_year is not None:
            table = backtest(run.dist, run.data, year=backtest_year, window=window, accounts=cache)
            title = f"Back-test: a forecast made at the end of {backtest_year}"
        else:
            result = forecast_completion(
                run.dist,
                run.data,
                as_of=as_of,
                window=window,
                deadline=deadline,
                accounts=cache,
            )
            table, title = (
                result.table,
                f"Completion at the current pace (from {result.origin.date()})",
            )
            for line in result.notes:
                note(plain(line))
    if chart is not None and backtest_year is None:
        from ..render.charts import figure_png, plot_forecast  # matplotlib: only here

        path = write_bytes(chart, figure_png(plot_forecast(result)), inputs=run.inputs)
        note(f"wrote {path}")
    if output is not None:
        path = write_table(table, output, inputs=run.inputs)
        note(f"wrote {len(table)} rows to {path}")
    else:
        _print(table, title)


def _print(table: pd.DataFrame, title: str) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=180)
    t = Table(title=title, header_style="bold")
    for col in table.columns:
        t.add_column(col.replace("_", " "), justify="left" if col == "district" else "right")
    for _, row in table.iterrows():
        t.add_row(*(_cell(col, row[col]) for col in table.columns))
    console.print(t)


def _cell(col: str, value) -> Text:
    if isinstance(value, str):
        return Text(plain(value))
    if pd.isna(value):
        return Text("")
    if col in ("periods",):
        return Text(f"{int(value):,}")
    if value == float("inf"):
        return Text("–")
    return Text(f"{value:,.1f}" if not col.endswith("multiple") else f"{value:,.2f}×")
