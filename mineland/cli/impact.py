"""``mineland impact``: contaminated and released land per land-cover class."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..io import load_class_table, read_raster, write_table
from ..io.write import TABLE_FORMATS
from .console import note, plain
from .options import (
    common_input_options,
    friendly_errors,
    output_option,
    reading,
)


@click.command("impact")
@common_input_options
@click.option(
    "--landcover",
    required=True,
    type=click.Path(path_type=Path),
    help="Categorical land-cover raster, any CRS.",
)
@click.option(
    "--classes",
    "class_table",
    type=click.Path(path_type=Path),
    help="CSV (value,name) or TOML of class names (default: ESA WorldCover).",
)
@output_option(".csv, .json or .xlsx")
@friendly_errors
def impact_cmd(output, as_of, rejected_path, verbose, quiet, landcover, class_table, **source):
    """Hectares contaminated and released per district and land-cover class.

    \b
    Example:
      mineland impact data/boundaries/synthetic_districts.geojson data/surveys \\
          --landcover data/landcover/synthetic_landcover.tif -o impact.csv
    """
    from ..raster import landcover_impact  # exactextract: only for this command

    extra = [landcover, class_table]
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=TABLE_FORMATS,
        extra=extra,
    ) as run:
        inputs = run.inputs
        raster = read_raster(landcover)
        classes = load_class_table(class_table) if class_table else None
        acc = run.accounts.at(as_of)
        table = landcover_impact(acc, None, raster, classes=classes)
    if output is None:
        console = Console() if sys.stdout.isatty() else Console(width=160)
        t = Table(title="Land cover of contaminated and released land (ha)", header_style="bold")
        for col in ("district", "class", "contaminated ha", "released ha"):
            t.add_column(col, justify="left" if col in ("district", "class") else "right")
        for _, row in table.iterrows():
            t.add_row(
                Text(plain(row["district"])),
                Text(plain(row["class_name"])),
                f"{row['contaminated_ha']:,.1f}",
                f"{row['released_ha']:,.1f}",
            )
        console.print(t)
    else:
        path = write_table(table, output, inputs=inputs)
        note(f"wrote {len(table)} rows to {path}")
