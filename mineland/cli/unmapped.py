"""``mineland unmapped``: devices and incidents away from every recorded hazard, and
the candidate areas where they gather."""

from __future__ import annotations

import sys

import click
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..io import write_layers
from ..io.write import LAYERS_FORMATS
from ..unmapped import SUGGESTION, find_unmapped
from .console import note, plain
from .options import (
    Positive,
    common_input_options,
    friendly_errors,
    output_option,
    reading,
)


@click.command("unmapped")
@common_input_options
@output_option("Write the candidates: .gpkg (candidates, evidence, districts), .xlsx or .csv.")
@click.option(
    "--distance",
    type=Positive(),
    default=250.0,
    show_default=True,
    metavar="METRES",
    help="Evidence lies farther than this from every hazard; also the grouping distance.",
)
@click.option(
    "--min-evidence",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="The fewest evidence points that make a candidate area.",
)
@friendly_errors
def unmapped_cmd(output, as_of, rejected_path, verbose, quiet, distance, min_evidence, **source):
    """Devices and incidents away from every recorded hazard, and where they gather.

    Candidate areas are suggestions for non-technical survey, never hazard records.

    \b
    Example:
      mineland unmapped data/boundaries/synthetic_districts.geojson data/surveys -o unmapped.gpkg
    """
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=LAYERS_FORMATS,
    ) as run:
        cache = run.accounts
        found = find_unmapped(
            run.dist,
            run.data,
            distance=distance,
            min_evidence=min_evidence,
            as_of=as_of,
            accounts=cache,
        )
    for line in found.notes[1:]:
        note(plain(f"warning: {line}"))
    if output is None:
        _print(found)
        return
    layers = {
        "candidates": found.candidates,
        "evidence": found.evidence.drop(columns=["evidence"]),
        "districts": found.by_district,
        "about": pd.DataFrame({"note": [SUGGESTION]}),
    }
    path = write_layers(layers, output, inputs=run.inputs)
    note(
        f"wrote {len(found.candidates)} candidate areas and {len(found.evidence)} points to {path}"
    )
    note(SUGGESTION)


def _print(found) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=160)
    title = f"Devices and incidents more than {found.distance:g} m from every recorded hazard"
    table = Table(title=title, header_style="bold")
    columns = [
        ("district", "district"),
        ("devices_outside", "devices away"),
        ("devices_outside_pct", "% of devices"),
        ("incidents_outside", "incidents away"),
        ("incidents_outside_pct", "% of incidents"),
    ]
    for col, label in columns:
        table.add_column(label, justify="left" if col == "district" else "right")
    for _, row in found.by_district.iterrows():
        table.add_row(*(_cell(col, row[col]) for col, _ in columns))
    console.print(table)
    areas = Table(
        title="Candidate areas (suggestions for non-technical survey)", header_style="bold"
    )
    for label in (
        "#",
        "ha",
        "evidence",
        "devices",
        "incidents",
        "casualties",
        "dates",
        "districts",
    ):
        areas.add_column(label, justify="left" if label in ("dates", "districts") else "right")
    top = found.candidates.sort_values("evidence", ascending=False).head(20)
    for _, c in top.iterrows():
        areas.add_row(
            str(c["candidate"]),
            f"{c['area_ha']:,.1f}",
            f"{c['evidence']:,}",
            f"{c['devices']:,}",
            f"{c['incidents']:,}",
            f"{c['killed'] + c['injured']:,}",
            f"{c['first_date'] or ''} – {c['last_date'] or ''}",
            Text(plain(c["districts"])),
        )
    console.print(areas)
    console.print(Text(SUGGESTION, style="italic"))


def _cell(col: str, value) -> Text:
    if col == "district":
        return Text(plain(value))
    if pd.isna(value):
        return Text("")
    return Text(f"{value:,.1f}" if col.endswith("_pct") else f"{int(value):,}")
