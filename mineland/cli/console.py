"""What the command line shows: the console, progress bars, notes, log lines and tables.

Text from data is made safe for a terminal here (:func:`plain`)."""

from __future__ import annotations

import functools
import logging
import os
import sys
import unicodedata
from typing import TYPE_CHECKING

import click
import pandas as pd

from ..accounting import total_row
from ..labels import SHORT_LABELS
from ..schema import OUTSIDE, replace_controls

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# rich is imported where something is drawn with it: a run whose stderr is not a
# terminal and that logs nothing does not import it (about 25 ms of every start)


@functools.cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _stderr_may_be_terminal() -> bool:
    """Whether rich could find stderr a terminal (a TTY, or a variable forcing it),
    told without importing rich."""
    forced = any(os.environ.get(v) for v in ("FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE"))
    return forced or sys.stderr.isatty()


class Bar:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = not _QUIET and _stderr_may_be_terminal() and err_console().is_terminal
        self.progress = _progress() if self.enabled else None
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


def _progress():
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
    )


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
    handler = _LogLines()
    handler.addFilter(_SafeLogText())
    root.handlers[:] = [handler]
    root.setLevel(level)


class _LogLines(logging.Handler):
    """Log lines on stderr as rich draws them, rich's handler made at the first line."""

    @functools.cached_property
    def rich(self) -> logging.Handler:
        from rich.logging import RichHandler

        return RichHandler(console=err_console(), show_time=False, show_path=False, markup=False)

    def emit(self, record: logging.LogRecord) -> None:
        self.rich.emit(record)


#: the bidirectional overrides, embeddings and isolates (U+202A-E, U+2066-9): in a
#: terminal that lays out right-to-left text, one in a name turns the rest of its line
#: round (1,541.8 read as 8.145,1)
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)], "\N{REPLACEMENT CHARACTER}")


def plain(text: object) -> str:
    """Text from data made safe for a terminal: no control or escape characters, and
    no bidirectional overrides (the text itself is kept in the files written)."""
    return replace_controls(str(text)).translate(_BIDI)


def _cell(column: str, value) -> Text:
    from rich.text import Text

    if column == "district":
        return Text(plain(value))
    if pd.isna(value):
        return Text("")
    if column.endswith(("_ha", "_pct")):
        return Text(f"{value:,.1f}")
    return Text(f"{int(value):,}")


#: The summary columns the terminal shows first when it cannot show them all.
PRIORITY = (
    "district",
    "contaminated_ha",
    "released_ha",
    "released_pct",
    "cha_ha",
    "sha_ha",
    "cleared_ha",
    "reduced_ha",
    "cancelled_ha",
    "devices",
    "incidents",
    "killed",
    "injured",
    "hazard_records",
)


def _terminal_width() -> int:
    """The terminal's width; ``COLUMNS`` when set (also when piped), else 200 when
    the output is not a terminal (a file keeps every column)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 20:
        return int(columns)
    if not sys.stdout.isatty():
        return 200
    from rich.console import Console

    return Console().width


def _header(label: str, width: int) -> str:
    """A header wrapped at spaces to ``width`` (never narrower than its longest word)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _fitting_columns(widths: dict[str, int], width: int, chosen) -> list[str]:
    """The columns that fit ``width``, taken in :data:`PRIORITY` order (or those
    chosen), in the summary's order."""
    if chosen:
        return ["district", *[c for c in chosen if c != "district"]]
    used, out = 1, set()
    for col in PRIORITY:
        if used + widths[col] + 3 <= width:  # the cell and its border
            out.add(col)
            used += widths[col] + 3
    return [c for c in SHORT_LABELS if c in out]


def print_summary(
    shown: pd.DataFrame,
    as_of,
    *,
    columns: list[str] | None = None,
    of: pd.DataFrame | None = None,
) -> None:
    """Print the summary as a table with a totals line, fitting the terminal: numbers
    are never cut; the columns that do not fit are left out and named on stderr.
    ``of`` is the whole summary when ``shown`` holds only some of its rows (the
    totals line sums them all)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    width = _terminal_width()
    summary = shown if of is None else of
    totals = total_row(summary)
    texts = {c: [_cell(c, v) for v in shown[c]] + [_cell(c, totals[c])] for c in SHORT_LABELS}
    widths = {}
    for c, values in texts.items():
        w = max(len(t.plain) for t in values)
        if c == "district":  # a long name is shortened in a narrow terminal, never a number
            w = min(w, max(24, min(60, width // 3)))
        widths[c] = max(w, *(len(word) for word in SHORT_LABELS[c].split()))
    keep = _fitting_columns(widths, width, columns)
    title = "Contamination by district (ellipsoidal hectares)"
    if as_of is not None:
        title += f", as of {as_of.date()}"
    if len(shown) < len(summary):
        title += f"; {len(shown)} of {len(summary)} rows, totals of all"
    table = Table(show_footer=True, header_style="bold", footer_style="bold")
    for col in keep:
        table.add_column(
            _header(SHORT_LABELS[col], widths[col]),
            footer=texts[col][-1],
            justify="left" if col == "district" else "right",
            no_wrap=True,
            overflow="ellipsis" if col == "district" else "fold",
            width=widths[col],
        )
    for k, name in enumerate(shown["district"]):
        table.add_row(
            *(texts[c][k] for c in keep), style="dim" if str(name).startswith("(") else None
        )
    sys.stderr.flush()  # the notes before the table, never in the middle of it
    need = sum(widths[c] + 3 for c in keep) + 1
    console = Console(width=max(width, need))
    console.print(Text(title, style="italic"), width=width)
    console.print(table)
    left_out = [SHORT_LABELS[c] for c in SHORT_LABELS if c not in keep]
    if left_out and not columns:
        note(
            f"{len(left_out)} columns left out to fit {width} characters "
            f"({', '.join(left_out)}): --columns chooses them, -o writes them all"
        )


def summary_columns(ctx, param, value):
    """``--columns``: summary column names, checked."""
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in SHORT_LABELS]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown columns {', '.join(map(repr, unknown)) or '(none)'}; "
            f"columns are {', '.join(SHORT_LABELS)}"
        )
    return names


#: letters no decomposition takes to a base letter, as (base, rank): ı before i, ə after e
_OWN_LETTERS = {"ı": ("i", "0"), "i": ("i", "1"), "ə": ("e", "1"), "ø": ("o", "1")}


def _letters(name: object) -> str:
    """A sort key in which a letter with a mark is a letter of its own right after its
    base (C, Ç, D; O, Ö, P; S, Ş, T; E, Ə; I, İ), as Azerbaijani, Turkish and Bosnian
    order them, case ignored: code points put every Ç after Z."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", str(name).casefold()):
        if unicodedata.combining(ch):
            if out and ch != "\u0307":  # the dot of İ is i's own
                out[-1] = out[-1][0] + "2"
            continue
        base, rank = _OWN_LETTERS.get(ch, (ch, "1"))
        out.append(base + rank)
    return "".join(out) + f"\x00{name}"  # the name itself breaks ties


def _alphabetical(names: pd.Series) -> pd.Series:
    return names.map(_letters)


def arrange(summary: pd.DataFrame, sort_by: str | None, top: int | None) -> pd.DataFrame:
    """The rows sorted (numbers largest first, names A–Z; the outside row last) and the
    first ``top`` of them; the table keeps the totals of all rows."""
    if sort_by is None and top is None:
        return summary
    out = summary
    if sort_by is not None:
        inside = summary[summary["district"] != OUTSIDE]
        outside = summary[summary["district"] == OUTSIDE]
        if sort_by == "district":
            inside = inside.sort_values(sort_by, key=_alphabetical, kind="stable")
        else:
            inside = inside.sort_values(sort_by, ascending=False, kind="stable")
        out = pd.concat([inside, outside])
    return out.head(top) if top is not None else out
