"""``mineland progress``: hectares released per district and period."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from ..io import write_table
from ..io.write import TABLE_FORMATS
from ..labels import heading
from ..periods import annual_release, release_progress
from .console import note
from .options import (
    common_input_options,
    friendly_errors,
    output_option,
    reading,
    valid_date,
)


@click.command("progress")
@common_input_options
@click.option(
    "--freq",
    type=click.Choice(["year", "quarter", "month"]),
    default="year",
    show_default=True,
    help="Length of the periods.",
)
@click.option("--start", callback=valid_date, metavar="YYYY-MM-DD", help="First day covered.")
@click.option("--end", callback=valid_date, metavar="YYYY-MM-DD", help="Last day covered.")
@click.option(
    "--layout",
    type=click.Choice(["periods", "annual"]),
    default="periods",
    show_default=True,
    help="Per district and period, or the annual land-release table of the country reports.",
)
@output_option(".csv, .json or .xlsx")
@friendly_errors
def progress_cmd(output, as_of, rejected_path, verbose, quiet, freq, start, end, layout, **source):
    """Hectares released per district and period, and what remains at each period end.

    \b
    Example:
      mineland progress data/boundaries/synthetic_districts.geojson data/surveys --freq quarter
    """
    if end and as_of and str(end) != str(as_of):
        raise click.UsageError("give --end or --as-of (the same thing here), not both")
    if layout == "annual" and freq != "year":
        raise click.UsageError("--layout annual counts whole years: leave out --freq")
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=TABLE_FORMATS,
    ) as run:
        dist, data, inputs = run.dist, run.data, run.inputs
        table = release_progress(dist, data, freq=freq, start=start, end=end or as_of)
    if layout == "annual":
        return _annual(annual_release(table), output, inputs)
    if output is not None:
        xlsx = str(output).lower().endswith(".xlsx")  # a workbook keeps real dates
        out = table if xlsx else table.assign(period_end=table["period_end"].dt.date.astype(str))
        path = write_table(out, output, inputs=inputs)
        note(f"wrote {len(table)} rows to {path}")
        return
    console = Console() if sys.stdout.isatty() else Console(width=160)
    totals = table.groupby("period_end").sum(numeric_only=True).reset_index()
    t = Table(title=f"Progress by {freq} (all districts, ha)", header_style="bold")
    cols = [
        ("period_end", "period end"),
        ("cleared_ha", "cleared"),
        ("reduced_ha", "reduced"),
        ("cancelled_ha", "cancelled"),
        ("released_ha", "released to date"),
        ("contaminated_ha", "contaminated at end"),
        ("devices", "devices"),
        ("incidents", "incidents"),
    ]
    for c, label in cols:
        t.add_column(label, justify="left" if c == "period_end" else "right")
    for _, r in totals.iterrows():
        t.add_row(
            str(r["period_end"].date()),
            *(f"{r[c]:,.1f}" if c.endswith("_ha") else f"{int(r[c]):,}" for c, _ in cols[1:]),
        )
    console.print(t)


def _annual(table, output, inputs) -> None:
    """The annual land-release table, written or printed with readable headings."""
    if output is not None:
        path = write_table(table, output, inputs=inputs)
        note(f"wrote {len(table)} years to {path}")
        return
    console = Console() if sys.stdout.isatty() else Console(width=200)
    t = Table(title="Land release by year (all districts)", header_style="bold")
    for c in table.columns:
        t.add_column(heading(c), justify="left" if c == "year" else "right")
    for _, r in table.iterrows():
        t.add_row(
            *(
                str(int(r[c]))
                if c == "year"
                else f"{r[c]:,.1f}"
                if c.endswith(("_ha", "_km2"))
                else f"{int(r[c]):,}"
                for c in table.columns
            )
        )
    console.print(t)
