"""The ``mineland`` command group: one module per command, registered here."""

from __future__ import annotations

import contextlib
import ctypes
import difflib
import importlib
import sys

import click

from .._version import __version__
from .options import OneLineUsage
from .process import end, fewer_collections

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
    _fewer_malloc_arenas()
    _small_pages_for_arrays()


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


def _small_pages_for_arrays() -> None:
    """Let numpy's large arrays take ordinary pages, not transparent huge pages.
    numpy asks Linux for huge pages on every array of 4 MB or more; where the kernel
    compacts memory to find one when such an array is first touched (``defrag`` set
    to ``madvise``, Debian's default), the thread that touches it waits.  ``summarize``
    at 100k hazards spent 0.85–1.41 s in the kernel that way, against 0.48–0.65 s with
    ordinary pages (7–12% of the run, and most of its spread from run to run).
    For this process only; where numpy has no such switch, nothing changes."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        with contextlib.suppress(ImportError, AttributeError):
            importlib.import_module(name)._set_madvise_hugepage(False)
            return
