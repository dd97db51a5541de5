"""``mineland summarize``: hectares contaminated and released per district."""

from __future__ import annotations

import click

from ..accounting import account
from ..export import export_layers
from ..io import write_table
from ..io.postgis import is_database_url, write_database
from ..io.write import TABLE_FORMATS
from ..schema import SUMMARY_COLUMNS
from .console import arrange, note, print_summary, summary_columns
from .options import (
    Positive,
    common_input_options,
    friendly_errors,
    inputs_hint,
    output_option,
    reading,
    validation_counts,
)


@click.command("summarize")
@common_input_options
@output_option(
    "Write the table: .csv, .json, .geojson, .gpkg, .xlsx, or postgresql://...?table=NAME.",
    url=True,
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where the accounting runs (dask needs mineland[dask]).",
)
@click.option(
    "--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://host:8786."
)
@click.option(
    "--connect-timeout",
    type=Positive(),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the dask scheduler.",
)
@click.option(
    "--columns",
    callback=summary_columns,
    metavar="COL,COL...",
    help="Columns to show or write (district always), e.g. contaminated_ha,cleared_ha.",
)
@click.option(
    "--sort",
    "sort_by",
    type=click.Choice(SUMMARY_COLUMNS),
    metavar="COL",
    help="Sort the rows by this column (largest first; district A–Z).",
)
@click.option(
    "--top", type=click.IntRange(min=1), metavar="N", help="Only the first N rows (after --sort)."
)
@friendly_errors
def summarize_cmd(
    output,
    as_of,
    rejected_path,
    verbose,
    quiet,
    engine,
    scheduler,
    connect_timeout,
    columns,
    sort_by,
    top,
    **source,
):
    """Hectares contaminated and released per district.

    \b
    Examples:
      mineland summarize data/boundaries/synthetic_districts.geojson data/surveys
      mineland summarize districts.gpkg hazards.gpkg releases.shp --as-of 2024-12-31 -o out.xlsx
    """
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=TABLE_FORMATS,
    ) as run:
        bar, dist, data, inputs = run.bar, run.dist, run.data, run.inputs
        to_database = is_database_url(output)
        acc = account(
            dist,
            data,
            as_of=as_of,
            progress=bar.callback("account"),
            engine=engine,
            scheduler=scheduler,
            connect_timeout=connect_timeout,
            keep_classes=to_database,  # the layers written beside the summary need them
        )
        summary = acc.summary
        found = validation_counts(
            dist,
            data,
            acc if engine == "local" else None,
            inputs_hint(source),
            detail=to_database,  # the findings are written beside the summary
        )
    meta = summary.attrs.get("mineland", {})
    if meta.get("records_undated"):
        note(f"{meta['records_undated']} undated records count at every date")
    if meta.get("records_after_as_of"):
        later = meta["records_after_as_of"]
        note(
            f"{later:,} record{'s' * (later != 1)} dated after {as_of:%Y-%m-%d} left out (--as-of)"
        )
    full, summary = summary, arrange(summary, sort_by, top)
    if output is None:
        print_summary(summary, as_of, columns=columns, of=full)
        return
    if columns:
        keep = ["district", *[c for c in columns if c != "district"]]
        summary = summary[keep + (["geometry"] if "geometry" in summary.columns else [])]
    if to_database:  # the summary, and beside it what `mineland export` writes
        findings = found.findings if found is not None else None
        layers = export_layers(acc, findings) if engine == "local" else {}
        layers = {"summary": summary, **{k: v for k, v in layers.items() if k != "summary"}}
        where = write_database(layers, output)
        others = ", ".join(list(layers)[1:]) or "no other layers"
        note(f"wrote {len(summary)} rows to {where}, and beside it {others}")
    else:
        path = write_table(summary, output, inputs=inputs)
        note(f"wrote {len(summary)} rows to {path}")
