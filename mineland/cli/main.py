"""The ``mineland`` command group: one module per command, registered here."""

from __future__ import annotations

import contextlib
import ctypes
import sys

import click

from .._version import __version__
from .convert import convert_cmd
from .export import export_cmd
from .forecast import forecast_cmd
from .impact import impact_cmd
from .map import map_cmd
from .options import OneLineUsage
from .presets import presets_cmd
from .prioritise import prioritise_cmd
from .process import end, fewer_collections
from .progress import progress_cmd
from .raster import raster_cmd
from .report import report_cmd
from .summarize import summarize_cmd
from .unmapped import unmapped_cmd
from .validate import validate_cmd

COMMANDS = (
    summarize_cmd,
    map_cmd,
    raster_cmd,
    impact_cmd,
    validate_cmd,
    progress_cmd,
    report_cmd,
    forecast_cmd,
    prioritise_cmd,
    unmapped_cmd,
    convert_cmd,
    export_cmd,
    presets_cmd,
)


@click.group(cls=OneLineUsage, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mineland")
def main() -> None:
    """Map landmine contamination: hectares contaminated and released per district."""
    _fewer_malloc_arenas()


def run() -> None:
    """The ``mineland`` console script: :func:`main` with fewer collections of the
    garbage, then the process ends without Python's teardown of every imported module
    (see :mod:`.process`).  In-process callers (tests, notebooks) use :func:`main`."""
    fewer_collections()
    try:
        code = main()  # the exit status (click's non-standalone mode returns it)
    except SystemExit as exc:
        code = exc.code
    end(code)


def _fewer_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at two.  GEOS allocates in worker threads; with an
    arena per thread, memory one thread frees is not reused by another, and the peak
    grows (1.34 GB against 1.13 GB for 100k hazards, at the same speed).  Does
    nothing where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX


for _command in COMMANDS:
    main.add_command(_command)
