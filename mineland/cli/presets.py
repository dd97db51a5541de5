"""``mineland presets``: the field maps shipped for common exports."""

from __future__ import annotations

import tomllib

import click

from ..io import preset_text
from ..io.files import PRESETS
from .options import friendly_errors


@click.command("presets")
@click.argument("name", required=False, type=click.Choice(PRESETS))
@friendly_errors
def presets_cmd(name):
    """List the presets, or print one (a field map to copy and edit).

    \b
    Examples:
      mineland presets
      mineland presets kobo > my_form.toml
      mineland summarize districts.gpkg hazard.csv hazreduc.csv --preset imsma-ng
    """
    if name is not None:
        click.echo(preset_text(name), nl=False)
        return
    for preset in PRESETS:
        description = tomllib.loads(preset_text(preset)).get("description", "")
        click.echo(f"{preset:<10}  {description}")
