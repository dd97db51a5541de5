"""``mineland export``: a QGIS-ready GeoPackage (with default styles) or PostGIS tables."""

from __future__ import annotations

import click

from .. import validation
from ..export import export_layers
from ..io import write_layers
from ..io.postgis import is_database_url, write_database
from ..render.qgis import export_styles
from .console import note
from .options import (
    common_input_options,
    friendly_errors,
    output_option,
    reading,
    secondary,
)


@click.command("export")
@common_input_options
@output_option(
    "A GeoPackage (.gpkg, styled for QGIS) or postgresql://...?table=NAME.",
    required=True,
    url=True,
)
@friendly_errors
def export_cmd(output, as_of, rejected_path, verbose, quiet, **source):
    """Write what the map shows as GIS layers: the summary districts, the
    accounting classes, hazard status, devices, incidents and validation findings.

    A GeoPackage opens in QGIS with the map's picture: each layer has a default
    style (IMAS colours, the graduated district choropleth, labels).  A PostGIS
    URL gets the summary in TABLE and the others in TABLE_classes, TABLE_devices...

    \b
    Examples:
      mineland export data/boundaries/synthetic_districts.geojson data/surveys -o result.gpkg
      mineland export districts.gpkg hazards.gpkg -o "postgresql://gis@db/mine?table=karabakh"
    """
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        formats=(".gpkg",),
    ) as run:
        acc = run.accounts.at(as_of)
        result = secondary("validation", validation.validate, run.dist, run.data, accounting=acc)
        layers = export_layers(acc, result.findings if result is not None else None)
    if is_database_url(output):
        where = write_database(layers, output)
    else:
        where = write_layers(layers, output, inputs=run.inputs, styles=export_styles(layers))
    counts = ", ".join(f"{name} ({len(frame):,})" for name, frame in layers.items())
    note(f"wrote {where}: {counts}")
