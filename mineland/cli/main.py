"""The ``mineland`` command group: one module per command, registered here."""

from __future__ import annotations

import difflib
import importlib

import click

from .._version import __version__
from .options import OneLineUsage
from .process import end, fewer_collections, fewer_malloc_arenas, small_pages_for_arrays

#: every command, in the order ``--help`` lists them: command ``x`` is ``x_cmd`` in
#: the module ``x`` of this package
COMMANDS = (
    "summarize",
    "map",
    "raster",
    "impact",
    "validate",
    "progress",
    "report",
    "forecast",
    "prioritise",
    "unmapped",
    "convert",
    "export",
    "presets",
)


class Commands(OneLineUsage):
    """The commands, each imported when it is run or listed: a run imports only its
    own command's module (and what that needs), not every command's."""

    def list_commands(self, ctx) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(f"{__package__}.{name}"), f"{name}_cmd")

    def resolve_command(self, ctx, args):
        name = str(args[0])
        if name not in COMMANDS and not name.startswith("-"):
            close = difflib.get_close_matches(name, COMMANDS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mineland")
def main() -> None:
    """Map landmine contamination: hectares contaminated and released per district."""
    fewer_malloc_arenas()
    small_pages_for_arrays()


def run() -> None:
    """The ``mineland`` console script: :func:`main` with fewer collections of the
    garbage, then the process ends without Python's teardown of every imported module
    (see :mod:`.process`).  In-process callers (tests, notebooks) use :func:`main`."""
    fewer_collections()
    try:
        code = main()  # the exit status (click's non-standalone mode returns it)
    except SystemExit as exc:
        # ended while the exception still holds the command's frames: what they
        # hold (validate's accounting) is not freed object by object for nothing
        end(exc.code)
    else:
        end(code)
