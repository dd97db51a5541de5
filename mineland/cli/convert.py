"""``mineland convert``: survey files as partitioned GeoParquet in the canonical schema."""

from __future__ import annotations

from pathlib import Path

import click

from ..io import check_output_path, read_surveys, write_geoparquet
from ..io.files import PRESETS
from .console import Bar, note, setup_logging
from .options import friendly_errors, output_option, verbosity_options, write_rejected_rows


@click.command("convert")
@click.argument("surveys", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option("A new folder.", required=True)
@click.option("--field-map", type=click.Path(path_type=Path), help="TOML/JSON field map.")
@click.option("--preset", type=click.Choice(PRESETS), help="Field map of a common export.")
@click.option("--sheet", help="Sheet of workbook inputs (default: every sheet with coordinates).")
@click.option("--crs", help="CRS of input files that declare none.")
@click.option(
    "--rows-per-part",
    type=click.IntRange(min=1),
    default=250_000,
    show_default=True,
    help="Rows per file.",
)
@click.option(
    "--rejected",
    "rejected_path",
    type=click.Path(path_type=Path),
    help="Where to write rejected rows.",
)
@verbosity_options
@friendly_errors
def convert_cmd(
    surveys, output, field_map, preset, sheet, crs, rows_per_part, rejected_path, verbose, quiet
):
    """Turn survey files into partitioned GeoParquet in the canonical schema.

    \b
    Example:
      mineland convert data/surveys -o surveys.parquet
    """
    setup_logging(verbose, quiet)
    inputs = [*surveys] + ([field_map] if field_map else [])
    check_output_path(output, inputs)
    with Bar() as bar:
        data = read_surveys(
            *surveys,
            field_map=field_map,
            preset=preset,
            sheet=sheet,
            crs=crs,
            progress=bar.callback("read"),
        )
        note(data.describe())
        records = data.records.drop(columns=["repair"], errors="ignore")
        path = write_geoparquet(records, output, rows_per_part=rows_per_part, inputs=inputs)
    if len(data.rejected):
        write_rejected_rows(
            data, rejected_path or output.with_name(f"{output.name}_rejected.csv"), None, inputs
        )
    parts = len(list(path.glob("part-*.parquet")))
    note(f"wrote {len(data.records):,} records in {parts} parts to {path}")
