"""``mineland raster``: the contamination density as a GeoTIFF."""

from __future__ import annotations

import click

from ..io.raster import write_raster_windows
from ..io.write import RASTER_FORMATS, table_metadata
from .console import note
from .options import (
    Positive,
    common_input_options,
    friendly_errors,
    output_option,
    reading,
)


@click.command("raster")
@common_input_options
@output_option("GeoTIFF.", required=True)
@click.option(
    "--resolution",
    type=Positive(),
    default=100.0,
    show_default=True,
    help="Cell size (m).",
)
@click.option(
    "--grid-crs", help="Projected CRS of the grid (default: equal-area fitted to the data)."
)
@click.option(
    "--by",
    type=click.Choice(["all", "cha", "sha"]),
    default="all",
    show_default=True,
    help="Which remaining contamination to count.",
)
@friendly_errors
def raster_cmd(output, as_of, rejected_path, verbose, quiet, resolution, grid_crs, by, **source):
    """Write the exact contamination density (0-1 per cell) as a GeoTIFF.

    \b
    Example:
      mineland raster data/boundaries/synthetic_districts.geojson data/surveys -o density.tif
    """
    from ..raster import plan_density  # exactextract: only here

    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=RASTER_FORMATS,
    ) as run:
        inputs = run.inputs
        acc = run.accounts.at(as_of)
        plan = plan_density(acc, resolution=resolution, crs=grid_crs, by=by)
        profile = plan.profile
        tags = {
            "description": f"fraction of each cell covered by remaining contamination ({by})",
            **table_metadata(acc.summary),  # as of, the software, a box records were read in
        }
        total = [0.0]
        blocks = _density_blocks(plan, run.bar, total)
        path = write_raster_windows(blocks, profile, output, inputs=inputs, tags=tags)
    covered = total[0]
    note(
        f"wrote {path}: {profile['width']} x {profile['height']} cells of {resolution:g} m, "
        f"{covered:,.1f} ha of remaining contamination"
    )


def _density_blocks(plan, bar, total: list):
    """The density windows, one by one, with a progress bar; adds up the hectares."""
    from ..raster import density_hectares

    windows, update = plan.windows(), bar.callback("density")
    for k, window in enumerate(windows):
        update(f"density: window {k + 1} of {len(windows)}", k, len(windows))
        array = plan.window(*window)
        total[0] += density_hectares(array, plan.profile)
        yield window, array
