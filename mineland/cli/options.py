"""What every reading command shares: its arguments and options, reading the inputs,
one-line errors, and the secondary steps that may fail without stopping a run."""

from __future__ import annotations

import functools
import logging
import math
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from .. import validation
from ..accounting import AccountingCache, parse_as_of
from ..districts import meeting_box
from ..errors import MinelandError, OutputError, attempt
from ..forecast import parse_window
from ..io import check_output_path, read_districts, read_surveys, write_rejected
from ..io.files import PRESETS
from ..io.postgis import is_database_url, safe_url
from ..tables import box_text
from ..validation.far import far_files
from .console import Bar, note, plain, setup_logging

_PARAMETER = re.compile(r"\b(name_field|layer|crs)=")


def as_flags(message: str) -> str:
    """A library message speaks of parameters (``crs=``); the command line of flags."""
    return _PARAMETER.sub(lambda m: "--" + m.group(1).replace("_", "-"), message)


def friendly_errors(fn):
    """Show library errors as one line and exit 2; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MinelandError as exc:
            click.echo(f"mineland: error: {as_flags(plain(exc))}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("mineland: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected failure: still one line
            if logging.getLogger("mineland").level <= logging.DEBUG:
                raise
            first = plain(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
            click.echo(
                f"mineland: internal error: {type(exc).__name__}: {first} "
                "(run with -vv for details)",
                err=True,
            )
            sys.exit(1)

    return wrapper


def valid_date(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_as_of(value)
    except MinelandError as exc:
        raise click.BadParameter(str(exc)) from None


def valid_window(ctx, param, value):
    """A forecast window such as ``3y`` or ``18m`` (None: not asked for)."""
    if value is None:
        return None
    try:
        parse_window(value)
    except MinelandError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


class Positive(click.FloatRange):
    """A finite number above 0 (click's own range lets ``nan`` and ``inf`` through)."""

    def __init__(self) -> None:
        super().__init__(min=0, min_open=True)

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class PathOrURL(click.ParamType):
    """A file or folder (a Path), or a ``postgresql://`` URL kept as text."""

    name = "PATH|URL"

    def convert(self, value, param, ctx):
        if isinstance(value, Path) or not is_database_url(value):
            return Path(value)
        return str(value)


PATH_OR_URL = PathOrURL()


def shown(value) -> str:
    """An input or output as messages name it: a URL with its password masked."""
    return safe_url(value) if is_database_url(value) else str(value)


def output_option(help_text: str, *, required: bool = False, url: bool = False):
    """The ``-o/--output`` option of a command (``url``: it may be a PostGIS URL)."""
    kind = PATH_OR_URL if url else click.Path(path_type=Path)
    return click.option("-o", "--output", required=required, type=kind, help=help_text)


def verbosity_options(fn):
    """``-v/--verbose`` (repeatable) and ``-q/--quiet``."""
    fn = click.option("-q", "--quiet", is_flag=True, help="Only errors.")(fn)
    return click.option("-v", "--verbose", count=True, help="More messages (-vv for debugging).")(
        fn
    )


def common_input_options(fn):
    """DISTRICTS SURVEYS... and the options every reading command shares."""
    options = [
        click.argument("districts", type=PATH_OR_URL),
        click.argument("surveys", nargs=-1, required=True, type=PATH_OR_URL),
        click.option("--name-field", help="District name field (detected when not given)."),
        click.option("--layer", help="Layer of the district file, if it has several."),
        click.option(
            "--field-map",
            type=click.Path(path_type=Path),
            help="TOML or JSON file renaming foreign columns and type values.",
        ),
        click.option(
            "--preset",
            type=click.Choice(PRESETS),
            help="Field map of a common export (see mineland presets); --field-map adds to it.",
        ),
        click.option(
            "--sheet", help="Sheet of workbook inputs (default: every sheet with coordinates)."
        ),
        click.option("--crs", help="CRS of input files that declare none, e.g. EPSG:32638."),
        click.option(
            "--as-of",
            callback=valid_date,
            metavar="YYYY-MM-DD",
            help="Count only records dated on or before this day (undated always count).",
        ),
        click.option(
            "--on-invalid",
            type=click.Choice(["fix", "reject"]),
            default="fix",
            show_default=True,
            help="Repair invalid polygons with make_valid, or reject them.",
        ),
        click.option(
            "--rejected",
            "rejected_path",
            type=click.Path(path_type=Path),
            help="Where to write rejected rows (default: next to the output).",
        ),
        click.option(
            "--bbox",
            type=float,
            nargs=4,
            metavar="W S E N",
            help=(
                "Read only survey features meeting this lon/lat box (spatial index); "
                "districts beyond it are left out."
            ),
        ),
        click.option(
            "--accept-far",
            is_flag=True,
            help="Go on when most of a file's records lie far from every district.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return verbosity_options(fn)


def inputs_hint(source: dict) -> str:
    return " ".join(shown(p) for p in [source["districts"], *source["surveys"]])


def input_paths(source: dict) -> list[Path]:
    """Every file the command reads (outputs may not overwrite any of them)."""
    paths = [p for p in [source["districts"], *source["surveys"]] if isinstance(p, Path)]
    return paths + ([source["field_map"]] if source.get("field_map") else [])


def load_inputs(
    bar: Bar,
    *,
    districts,
    surveys,
    name_field,
    layer,
    field_map,
    crs,
    on_invalid,
    bbox=None,
    on_file_error="raise",
    accept_far=False,
    preset=None,
    sheet=None,
):
    """Read districts and surveys, print the input account line.

    Stops (exit 2) when most records of a file lie far from every district, the sign
    of a wrong CRS, unless ``accept_far`` (or when validating, which reports them)."""
    dist = read_districts(districts, name_field=name_field, layer=layer, crs=crs)
    data = read_surveys(
        *surveys,
        field_map=field_map,
        preset=preset,
        sheet=sheet,
        crs=crs,
        on_invalid=on_invalid,
        on_file_error=on_file_error,
        bbox=bbox or None,
        progress=bar.callback("read"),
    )
    note(plain(f"{len(dist)} districts from {shown(districts)}; {data.describe()}"))
    if bbox:
        dist = _districts_in_box(dist, bbox, data.records.geometry.array)
    if on_file_error == "raise":
        far = far_files(dist, data)
        if far and not accept_far:
            raise MinelandError(plain(far[0]) + "; --accept-far goes on anyway")
        for message in far:
            note(plain(f"warning: {message}"))
    repaired = int(data.records["repair"].notna().sum()) if len(data.records) else 0
    if repaired:
        note(f"{repaired} geometries repaired on reading (column 'repair')")
    return dist, data


def _districts_in_box(dist, bbox, records):
    """Only the districts that meet ``--bbox`` (or a record read): the records beyond it
    were not read, and a row of zeros would read as land free of mines.  Those that
    cross its edge are named: only their records that meet the box were read."""
    meets, crossing = meeting_box(dist, bbox, records)
    box = box_text(bbox)
    if not meets.any():
        raise MinelandError(f"--bbox {box}: no district meets the box")
    beyond, names = int((~meets).sum()), [str(n) for n in dist["district"][crossing]]
    said = f"{beyond} districts beyond it are left out" if beyond else ""
    if names:
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        partial = f"{len(names)} that cross its edge count only those records"
        said += f"{'; ' if said else ''}{partial} ({', '.join(names[:5])}{more})"
    if said:
        note(plain(f"warning: --bbox {box}: only the records that meet the box were read; {said}"))
    return dist[meets].reset_index(drop=True)


def _reason_kind(reason: str) -> str:
    """A rejection reason without its values, to count reasons of one kind together."""
    kind = re.sub(r"\([^)]*\)", "", reason).split(":")[0].split(";")[0]
    kind = re.sub(r"'[^']*'|-?\d[\d.,]*", "…", kind)
    return re.sub(r"\s+", " ", kind).strip()


@dataclass
class _Run:
    bar: Bar
    dist: object
    data: object
    inputs: list[Path]

    @functools.cached_property
    def accounts(self) -> AccountingCache:
        """The accountings of what was read, each date once, with the progress bar."""
        return AccountingCache(self.dist, self.data, progress=self.bar.callback("account"))


@contextmanager
def reading(
    source: dict,
    *,
    verbose,
    quiet,
    output=None,
    rejected=None,
    extra=(),
    on_file_error="raise",
    all_rejected_ok=False,
    formats=None,
):
    """What every reading command starts with: logging, the inputs (which outputs may
    not overwrite), a progress bar, then the districts and surveys read.

    A run in which every row was rejected stops here (exit 2), after writing the
    rejected rows; a run that completes writes them when its block ends.  An output of
    none of ``formats`` is refused before anything is read."""
    setup_logging(verbose, quiet)
    inputs = input_paths(source) + [Path(p) for p in extra if p]
    if output is not None and not is_database_url(output):
        check_output_path(output, inputs, formats)
    if rejected is not None:
        check_output_path(Path(rejected), inputs)
        if output is not None and Path(rejected).resolve() == Path(output).resolve():
            raise OutputError(f"{rejected}: --rejected and -o name the same file")
    with Bar() as bar:
        dist, data = load_inputs(bar, on_file_error=on_file_error, **source)
        if data.n_read and not len(data.records) and not all_rejected_ok:
            write_rejected_rows(data, rejected, output, inputs)
            raise MinelandError(f"every one of the {data.n_read:,} input rows was rejected")
        if not data.n_read and not source.get("bbox") and not all_rejected_ok:
            # a table of zeros would look like good news
            raise MinelandError("the survey inputs hold no records at all")
        yield _Run(bar, dist, data, inputs)
    write_rejected_rows(data, rejected, output, inputs)


def secondary(what: str, fn, *args, **kwargs):
    """Run a secondary step; if it fails, say so in one line and go on without it.

    The primary result (the table, the map) is still written.
    """
    failed: list[str] = []
    result = attempt(what, fn, *args, failures=failed, **kwargs)
    say_left_out(failed)
    return result


def say_left_out(failures: list[str]) -> None:
    """One line per secondary step that failed ("what: why")."""
    for failure in failures:
        name, _, message = failure.partition(": ")
        note(plain(f"warning: {name} failed and was left out ({message})"))


def validation_counts(dist, data, acc, inputs_hint: str, *, detail: bool = True):
    """One line with the error and warning counts of the data, and how to see them
    (``detail``: also every finding's shape and records, for a map or an export)."""
    return secondary("validation", _validation_counts, dist, data, acc, inputs_hint, detail)


def _validation_counts(dist, data, acc, inputs_hint: str, detail: bool):
    result = validation.validate(dist, data, accounting=acc, detail=detail)
    for failure in result.failures:
        note(plain(f"warning: a validation check failed: {failure}"))
    if result.errors or result.warnings:
        note(
            f"validation: {result.errors:,} errors, {result.warnings:,} warnings; "
            f"details: mineland validate {inputs_hint}"
        )
    else:
        note("validation: no errors or warnings")
    return result


def write_rejected_rows(data, rejected_path: Path | None, output: Path | None, inputs) -> None:
    if not len(data.rejected):
        return
    if rejected_path is None:
        rejected_path = (
            output.with_name(f"{output.stem}_rejected.csv")
            if isinstance(output, Path)  # not a database URL
            else Path("mineland_rejected.csv")
        )
    path = write_rejected(data.rejected, rejected_path, inputs=inputs)
    reasons = data.rejected["reason"].astype(str).map(_reason_kind).value_counts()
    top = "; ".join(f"{r} ({n})" for r, n in reasons.head(3).items())
    if len(reasons) > 3:  # the rest in one count, so that the counts add up
        rest = len(reasons) - 3
        top += f"; {reasons.iloc[3:].sum()} more, of {rest} other kind{'s' * (rest > 1)}"
    note(plain(f"{len(data.rejected)} rejected rows written to {path}: {top}"))


class OneLineUsage(click.Group):
    """Usage errors as one line on stderr with exit 2, as every other error."""

    def main(self, *args, **kwargs):
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            sys.exit(0)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "mineland"
            click.echo(f"mineland: error: {plain(exc.format_message())} (see {where} -h)", err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            click.echo("mineland: interrupted", err=True)
            sys.exit(130)
