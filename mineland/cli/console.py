"""What the command line shows: the console, progress bars, notes, log lines and tables.

Text from data is made safe for a terminal here (:func:`plain`)."""

from __future__ import annotations

import logging
import sys

import click
import pandas as pd
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..accounting import total_row
from ..labels import SHORT_LABELS

err_console = Console(stderr=True)


class Bar:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = err_console.is_terminal and not _QUIET
        self.progress = Progress(
            TextColumn("{task.description:<40}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.stop()

    def callback(self, group: str):
        def update(label: str, done: int, total: int) -> None:
            if not self.enabled:
                return
            if group not in self.tasks:
                self.tasks[group] = self.progress.add_task(label, total=total)
            self.progress.update(self.tasks[group], description=label, completed=done, total=total)

        return update


class _SafeLogText(logging.Filter):
    """Log messages carry text from data: strip control characters before display."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = plain(record.getMessage())
        record.args = ()
        return True


_QUIET = False


def note(message: str) -> None:
    """An informational line on stderr; -q/--quiet leaves only errors and warnings."""
    if not _QUIET:
        click.echo(message, err=True)


def setup_logging(verbose: int, quiet: bool) -> None:
    global _QUIET
    _QUIET = bool(quiet)
    level = logging.ERROR if quiet else (logging.INFO if verbose else logging.WARNING)
    if verbose > 1:
        level = logging.DEBUG
    root = logging.getLogger("mineland")
    handler = RichHandler(console=err_console, show_time=False, show_path=False, markup=False)
    handler.addFilter(_SafeLogText())
    root.handlers[:] = [handler]
    root.setLevel(level)


_CONTROL = {c: "\N{REPLACEMENT CHARACTER}" for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]}


def plain(text: object) -> str:
    """Text from data made safe for a terminal: no control or escape characters."""
    return str(text).translate(_CONTROL)


def _cell(column: str, value) -> Text:
    if column == "district":
        return Text(plain(value))
    if pd.isna(value):
        return Text("")
    if column.endswith(("_ha", "_pct")):
        return Text(f"{value:,.1f}")
    return Text(f"{int(value):,}")


def print_summary(summary: pd.DataFrame, as_of) -> None:
    """Print the summary as a table with a totals line."""
    console = Console() if sys.stdout.isatty() else Console(width=200)
    title = "Contamination by district (ellipsoidal hectares)"
    if as_of is not None:
        title += f", as of {as_of.date()}"
    table = Table(title=title, show_footer=True, header_style="bold", footer_style="bold")
    totals = total_row(summary)
    for col, label in SHORT_LABELS.items():
        table.add_column(
            label,
            footer=_cell(col, totals[col]),
            justify="left" if col == "district" else "right",
            no_wrap=True,
        )
    for _, row in summary.iterrows():
        table.add_row(
            *(_cell(c, row[c]) for c in SHORT_LABELS),
            style="dim" if str(row["district"]).startswith("(") else None,
        )
    console.print(table)
