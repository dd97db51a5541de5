"""``mineland validate``: what is wrong in the data, where, and what it does to the hectares."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..accounting import account_for_checks
from ..io import write_findings
from ..io.write import FINDINGS_FORMATS
from ..validation import validate
from .console import note, plain
from .options import (
    common_input_options,
    friendly_errors,
    output_option,
    reading,
    valid_date,
)


def _print_validation(result) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(title="Validation findings", header_style="bold")
    for col in ("check", "severity", "findings", "meaning"):
        table.add_column(col, justify="right" if col == "findings" else "left")
    for _, row in result.summary.iterrows():
        style = {"error": "red", "warning": "yellow"}.get(row["severity"])
        table.add_row(
            Text(row["check"]),
            Text(row["severity"], style=style),
            f"{row['findings']:,}",
            Text(row["meaning"]),
        )
    console.print(table)
    worst = result.findings[result.findings["severity"] != "info"]
    if len(worst):
        console.print(Text("Worst examples:", style="bold"))
        for check in result.summary["check"]:
            for _, f in worst[worst["check"] == check].head(3).iterrows():
                where = ""
                if isinstance(f["source_file"], str):
                    where = f"{Path(f['source_file']).name}"
                    if pd.notna(f["source_row"]):
                        where += f" row {int(f['source_row'])}"
                rid = f" [{f['record_id']}]" if isinstance(f["record_id"], str) else ""
                console.print(
                    Text(plain(f"  {f['severity']:<7} {f['check']}: {where}{rid} {f['message']}"))
                )
    if len(result.conservation):
        files = Table(title="Input rows: used + rejected", header_style="bold")
        for col in ("file", "rows", "used", "rejected", "balanced"):
            files.add_column(col, justify="left" if col == "file" else "right")
        for _, r in result.conservation.iterrows():
            files.add_row(
                Text(plain(Path(str(r["source_file"])).name)),
                f"{int(r['rows']):,}",
                f"{int(r['used']):,}",
                f"{int(r['rejected']):,}",
                "yes" if r["balanced"] else Text("NO", style="red"),
            )
        console.print(files)
    console.print(Text(f"{result.errors:,} errors, {result.warnings:,} warnings", style="bold"))


@click.command("validate")
@common_input_options
@output_option("Write the findings: .csv, .xlsx, .gpkg (with geometries) or .html.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--start-date",
    callback=valid_date,
    metavar="YYYY-MM-DD",
    help="Flag dates before this day (for Karabakh: 2020-11-10).",
)
@friendly_errors
def validate_cmd(output, as_of, rejected_path, verbose, quiet, strict, start_date, **source):
    """Check the data: what is wrong, where, and what it does to the hectares.

    Exit 0 when there are no errors, 1 with errors (or warnings with --strict),
    2 on usage errors.

    \b
    Example:
      mineland validate data/boundaries/synthetic_districts.geojson data/surveys -o report.xlsx
    """
    if as_of is not None:
        raise click.UsageError(
            "validate checks every record whatever its date; --as-of does not apply here"
        )
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        formats=FINDINGS_FORMATS,
        rejected=rejected_path,
        on_file_error="reject",
        all_rejected_ok=True,  # the findings say why, and errors give exit 1
    ) as run:
        dist, data, inputs = run.dist, run.data, run.inputs
        # what validate would work out, held here to the end of the process (see
        # mineland.cli.process.end): not freed polygon by polygon for nothing
        accounting = account_for_checks(dist, data)
        result = validate(dist, data, start_date=start_date, accounting=accounting)
    _print_validation(result)
    bad = result.conservation[~result.conservation["balanced"]] if len(result.conservation) else []
    if len(bad):
        click.echo(f"internal error: rows not accounted for in {len(bad)} files", err=True)
    if output is not None:
        path = write_findings(result, output, inputs=inputs)
        note(f"wrote {len(result.findings)} findings to {path}")
    sys.exit(result.exit_code(strict=strict))
