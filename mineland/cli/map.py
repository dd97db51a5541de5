"""``mineland map``: an interactive HTML map of the accounting."""

from __future__ import annotations

from pathlib import Path

import click

from ..io.write import check_output_path, map_png
from ..schema import SUMMARY_COLUMNS
from .console import note
from .options import (
    Positive,
    common_input_options,
    friendly_errors,
    inputs_hint,
    output_option,
    reading,
    say_left_out,
    valid_window,
    validation_counts,
)


@click.command("map")
@common_input_options
@output_option("The HTML file to write.", required=True)
@click.option("--title", help="Title of the map's panel.")
@click.option(
    "--metric",
    type=click.Choice([c for c in SUMMARY_COLUMNS if c != "district"]),
    default="contaminated_ha",
    show_default=True,
    help="Summary column that colours the districts.",
)
@click.option(
    "--tiles",
    type=click.Choice(["street", "satellite", "none"]),
    default="none",
    show_default=True,
    help="Base map shown at open (each is offered in the map); 'none' fetches nothing.",
)
@click.option(
    "--cdn",
    is_flag=True,
    help="Link scripts and styles from a CDN (0.2 MB smaller; needs internet to open).",
)
@click.option("--offline", is_flag=True, hidden=True, help="The default now: kept for scripts.")
@click.option(
    "--png",
    type=click.Path(path_type=Path),
    help="Also save a PNG of the map for slides, made by headless Chromium.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="TEXT",
    help="A data source or attribution to show on the map (repeatable).",
)
@click.option(
    "--density",
    type=Positive(),
    metavar="METRES",
    help="Add the contamination density raster at this cell size as a layer.",
)
@click.option(
    "--landcover",
    type=click.Path(path_type=Path),
    help="Land-cover raster: district popups list contaminated ha by class.",
)
@click.option(
    "--timeline",
    type=click.Choice(["year", "quarter", "month"]),
    help="Add a time slider: contaminated land at the end of each period.",
)
@click.option(
    "--unmapped",
    is_flag=True,
    help="Add devices and incidents over 250 m from every hazard, and candidate areas.",
)
@click.option(
    "--forecast",
    metavar="WINDOW",
    callback=valid_window,
    help="Add each district's completion date at the pace of this window (e.g. 3y).",
)
@click.option(
    "--priorities",
    is_flag=True,
    help="Add the remaining hazards coloured by priority score (the default profile).",
)
@friendly_errors
def map_cmd(
    output,
    as_of,
    rejected_path,
    verbose,
    quiet,
    title,
    metric,
    tiles,
    cdn,
    offline,
    png,
    sources,
    density,
    landcover,
    timeline,
    unmapped,
    forecast,
    priorities,
    **source,
):
    """Write an interactive HTML map of the accounting.

    \b
    Examples:
      mineland map data/boundaries/synthetic_districts.geojson data/surveys -o map.html
      mineland map districts.gpkg surveys/ -o map.html --tiles street --as-of 2024-12-31
    """
    from ..mapping import make_map, map_layers, save_map  # folium: only for maps

    if cdn and offline:
        raise click.BadParameter("--cdn and --offline contradict each other")
    if png is not None:
        check_output_path(png, [], (".png",))
    if output.suffix.lower() not in (".html", ".htm"):
        raise click.BadParameter("the map is written as .html", param_hint="-o/--output")
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        extra=[landcover],
    ) as run:
        dist, data, inputs = run.dist, run.data, run.inputs
        cache = run.accounts
        acc = cache.at(as_of)
        findings = validation_counts(dist, data, cache, inputs_hint(source))
        failed: list[str] = []
        layers = map_layers(
            cache,
            as_of,
            density=density,
            landcover=landcover,
            timeline=timeline,
            unmapped=unmapped,
            forecast=forecast,
            priorities=priorities,
            failures=failed,
        )
        say_left_out(failed)
        m = make_map(
            acc,
            metric=metric,
            title=title,
            tiles=tiles,
            sources=map_sources(source, landcover, sources),
            findings=findings,
            **layers,
        )
        path = save_map(m, output, offline=not cdn, inputs=inputs)
    size = path.stat().st_size / 1e6
    works = "needs internet: scripts from a CDN" if cdn else "works offline"
    note(f"wrote {path} ({size:.1f} MB, {works})")
    if png is not None:
        note(f"wrote {map_png(path, png, inputs=inputs)}")


def map_sources(source: dict, landcover, extra) -> list[str]:
    """The sources the map's panel names: files by name, never by their full path."""
    names = [
        f"District boundaries: {Path(source['districts']).name}",
        "Survey records: " + ", ".join(Path(s).name for s in source["surveys"]),
        *extra,
    ]
    return names + ([f"Land cover: {Path(landcover).name}"] if landcover else [])
