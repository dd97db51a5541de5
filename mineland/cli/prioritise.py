"""``mineland prioritise``: the remaining hazards ranked by what they block."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..io import load_profile, read_features, read_raster, write_layers
from ..io.write import LAYERS_FORMATS
from ..priorities import DEFAULT_PROFILE, prioritise
from .console import note, plain
from .options import (
    common_input_options,
    friendly_errors,
    output_option,
    reading,
)


def _layer_files(ctx, param, values) -> dict[str, Path]:
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise click.BadParameter(f"give NAME=PATH, got {value!r}")
        out[name.strip()] = Path(path.strip())
    return out


@click.command("prioritise")
@common_input_options
@output_option("Write the ranking: .gpkg (with the remaining polygons), .xlsx or .csv.")
@click.option(
    "--profile",
    type=click.Path(path_type=Path),
    help="TOML profile of weights and distance bands (default: the one shipped).",
)
@click.option(
    "--layer-file",
    "layer_files",
    multiple=True,
    callback=_layer_files,
    metavar="NAME=PATH",
    help="A layer the profile names, e.g. settlements=towns.gpkg (repeatable).",
)
@click.option(
    "--landcover",
    type=click.Path(path_type=Path),
    help="Land-cover raster for the profile's land-cover criterion.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Rows shown in the terminal.",
)
@friendly_errors
def prioritise_cmd(
    output, as_of, rejected_path, verbose, quiet, profile, layer_files, landcover, top, **source
):
    """Rank the remaining hazards: casualties nearby, what they block, class and size.

    Every row shows its score per criterion, so each rank can be explained.

    \b
    Example:
      mineland prioritise data/boundaries/synthetic_districts.geojson data/surveys \\
          --layer-file settlements=data/context/synthetic_settlements.geojson -o ranked.gpkg
    """
    extra = [profile, landcover, *layer_files.values()]
    spec = _profile(profile)  # a wrong profile is said before anything is read
    paths = _paths(spec, profile, layer_files)
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=LAYERS_FORMATS,
        extra=extra,
    ) as run:
        layers = {name: read_features(path) for name, path in paths.items()}
        raster = read_raster(landcover) if landcover else None
        cache = run.accounts
        ranked = prioritise(
            run.dist,
            run.data,
            profile=spec,
            layers=layers,
            landcover=raster,
            as_of=as_of,
            accounts=cache,
        )
    for line in ranked.notes:
        note(plain(f"note: {line}"))
    if output is None:
        _print(ranked.table.head(top), ranked.weights)
        return
    weights = pd.DataFrame(
        {"criterion": list(ranked.weights), "weight": list(ranked.weights.values())}
    )
    path = write_layers({"priorities": ranked.table, "weights": weights}, output, inputs=run.inputs)
    note(f"wrote {len(ranked.table)} ranked hazards to {path}")


def _profile(path: Path | None) -> dict:
    return DEFAULT_PROFILE if path is None else load_profile(path)


def _paths(spec: dict, profile: Path | None, given: dict[str, Path]) -> dict[str, Path]:
    """The file of each layer: given on the command line, or the profile's ``path``
    (relative to the profile)."""
    out = dict(given)
    for name, layer in spec.get("layers", {}).items():
        if name not in out and layer.get("path"):
            base = profile.parent if profile is not None else Path.cwd()
            out[name] = base / layer["path"]
    unknown = set(given) - set(spec.get("layers", {}))
    if unknown:
        raise click.BadParameter(
            f"the profile names no layer {', '.join(sorted(map(repr, unknown)))}",
            param_hint="--layer-file",
        )
    return out


def _print(table: pd.DataFrame, weights: dict) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=180)
    t = Table(title="Remaining hazards by priority (weighted scores)", header_style="bold")
    columns = ["rank", "record_id", "district", "class", "remaining_ha"]
    columns += [f"{n}_score" for n in weights] + ["total"]
    for col in columns:
        label = col.replace("_score", "").replace("_", " ")
        t.add_column(
            label, justify="left" if col in ("record_id", "district", "class") else "right"
        )
    for _, row in table.iterrows():
        t.add_row(*(_cell(c, row[c]) for c in columns))
    console.print(t)


def _cell(column: str, value) -> Text:
    if isinstance(value, str):
        return Text(plain(value))
    if column == "rank":
        return Text(str(value))
    return Text(f"{value:,.2f}" if column == "remaining_ha" else f"{value:,.1f}")
