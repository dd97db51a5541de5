"""The ``mineland`` command: a thin layer over the library."""

from __future__ import annotations

import functools
import logging
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ._version import __version__
from .accounting import account, parse_as_of, total_row
from .errors import MinelandError, OutputError, attempt
from .io import check_output_path, read_districts, read_surveys, write_rejected, write_table
from .schema import SUMMARY_COLUMNS

log = logging.getLogger("mineland")
err_console = Console(stderr=True)


class _Bar:
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


def _setup_logging(verbose: int, quiet: bool) -> None:
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


def _friendly_errors(fn):
    """Show library errors as one line and exit 2; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MinelandError as exc:
            click.echo(f"mineland: error: {plain(exc)}", err=True)
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


def _valid_date(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_as_of(value)
    except MinelandError as exc:
        raise click.BadParameter(str(exc)) from None


def common_input_options(fn):
    """DISTRICTS SURVEYS... and the options every reading command shares."""
    options = [
        click.argument("districts", type=click.Path(dir_okay=True, path_type=Path)),
        click.argument("surveys", nargs=-1, required=True, type=click.Path(path_type=Path)),
        click.option("--name-field", help="District name field (detected when not given)."),
        click.option("--layer", help="Layer of the district file, if it has several."),
        click.option(
            "--field-map",
            type=click.Path(path_type=Path),
            help="TOML or JSON file renaming foreign columns and type values.",
        ),
        click.option("--crs", help="CRS of input files that declare none, e.g. EPSG:32638."),
        click.option(
            "--as-of",
            callback=_valid_date,
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
            help="Read only survey features meeting this lon/lat box (spatial index).",
        ),
        click.option(
            "--accept-far",
            is_flag=True,
            help="Go on when most of a file's records lie far from every district.",
        ),
        click.option("-v", "--verbose", count=True, help="More messages (-vv for debugging)."),
        click.option("-q", "--quiet", is_flag=True, help="Only errors."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _hint(source: dict) -> str:
    return " ".join(str(p) for p in [source["districts"], *source["surveys"]])


def input_paths(source: dict) -> list[Path]:
    """Every file the command reads (outputs may not overwrite any of them)."""
    paths = [source["districts"], *source["surveys"]]
    return paths + ([source["field_map"]] if source.get("field_map") else [])


def load_inputs(
    bar: _Bar,
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
):
    """Read districts and surveys, print the input account line.

    Stops (exit 2) when most records of a file lie far from every district, the sign
    of a wrong CRS, unless ``accept_far`` (or when validating, which reports them)."""
    dist = read_districts(districts, name_field=name_field, layer=layer, crs=crs)
    data = read_surveys(
        *surveys,
        field_map=field_map,
        crs=crs,
        on_invalid=on_invalid,
        on_file_error=on_file_error,
        bbox=bbox or None,
        progress=bar.callback("read"),
    )
    note(plain(f"{len(dist)} districts from {districts}; {data.account()}"))
    if on_file_error == "raise":
        from .validate import far_files

        far = far_files(dist, data)
        if far and not accept_far:
            raise MinelandError(plain(far[0]) + "; --accept-far goes on anyway")
        for message in far:
            note(plain(f"warning: {message}"))
    repaired = int(data.records["repair"].notna().sum()) if len(data.records) else 0
    if repaired:
        note(f"{repaired} geometries repaired on reading (column 'repair')")
    return dist, data


def _reason_kind(reason: str) -> str:
    """A rejection reason without its values, to count reasons of one kind together."""
    kind = re.sub(r"\([^)]*\)", "", reason).split(":")[0].split(";")[0]
    kind = re.sub(r"'[^']*'|-?\d[\d.,]*", "…", kind)
    return re.sub(r"\s+", " ", kind).strip()


@dataclass
class _Run:
    bar: _Bar
    dist: object
    data: object
    inputs: list[Path]


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
):
    """What every reading command starts with: logging, the inputs (which outputs may
    not overwrite), a progress bar, then the districts and surveys read.

    A run in which every row was rejected stops here (exit 2), after writing the
    rejected rows."""
    _setup_logging(verbose, quiet)
    inputs = input_paths(source) + [Path(p) for p in extra if p]
    if output is not None:
        check_output_path(output, inputs)
    if rejected is not None:
        check_output_path(Path(rejected), inputs)
        if output is not None and Path(rejected).resolve() == Path(output).resolve():
            raise OutputError(f"{rejected}: --rejected and -o name the same file")
    with _Bar() as bar:
        dist, data = load_inputs(bar, on_file_error=on_file_error, **source)
        if data.n_read and not len(data.records) and not all_rejected_ok:
            report_rejected(data, rejected, output, inputs)
            raise MinelandError(f"every one of the {data.n_read:,} input rows was rejected")
        if not data.n_read and not source.get("bbox") and not all_rejected_ok:
            # a table of zeros would look like good news
            raise MinelandError("the survey inputs hold no records at all")
        yield _Run(bar, dist, data, inputs)


def secondary(what: str, fn, *args, **kwargs):
    """Run a secondary step; if it fails, say so in one line and go on without it.

    The primary result (the table, the map) is still written.
    """
    failed: list[str] = []
    result = attempt(what, fn, *args, failures=failed, **kwargs)
    for failure in failed:
        name, _, message = failure.partition(": ")
        note(plain(f"warning: {name} failed and was left out ({message})"))
    return result


def report_validation(dist, data, acc, inputs_hint: str):
    """One line with the error and warning counts of the data, and how to see them."""
    return secondary("validation", _report_validation, dist, data, acc, inputs_hint)


def _report_validation(dist, data, acc, inputs_hint: str):
    from .validate import validate

    report = validate(dist, data, accounting=acc)
    for failure in report.failures:
        note(plain(f"warning: a validation check failed: {failure}"))
    if report.errors or report.warnings:
        note(
            f"validation: {report.errors:,} errors, {report.warnings:,} warnings; "
            f"details: mineland validate {inputs_hint}"
        )
    else:
        note("validation: no errors or warnings")
    return report


def report_rejected(data, rejected_path: Path | None, output: Path | None, inputs) -> None:
    if not len(data.rejected):
        return
    if rejected_path is None:
        rejected_path = (
            output.with_name(f"{output.stem}_rejected.csv")
            if output is not None
            else Path("mineland_rejected.csv")
        )
    path = write_rejected(data.rejected, rejected_path, inputs=inputs)
    reasons = data.rejected["reason"].astype(str).map(_reason_kind).value_counts()
    top = "; ".join(f"{r} ({n})" for r, n in reasons.head(3).items())
    note(plain(f"{len(data.rejected)} rejected rows written to {path}: {top}"))


def _fmt_ha(v) -> str:
    return "" if pd.isna(v) else f"{v:,.1f}"


_TABLE_COLUMNS = {
    "district": "district",
    "contaminated_ha": "contaminated ha",
    "sha_ha": "SHA ha",
    "cha_ha": "CHA ha",
    "released_ha": "released ha",
    "cleared_ha": "cleared ha",
    "reduced_ha": "reduced ha",
    "cancelled_ha": "cancelled ha",
    "released_pct": "released %",
    "hazard_records": "hazards",
    "devices": "devices",
    "incidents": "incidents",
    "killed": "killed",
    "injured": "injured",
}


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
    for col, label in _TABLE_COLUMNS.items():
        table.add_column(
            label,
            footer=_cell(col, totals[col]),
            justify="left" if col == "district" else "right",
            no_wrap=True,
        )
    for _, row in summary.iterrows():
        table.add_row(
            *(_cell(c, row[c]) for c in _TABLE_COLUMNS),
            style="dim" if str(row["district"]).startswith("(") else None,
        )
    console.print(table)


class _OneLineUsage(click.Group):
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


@click.group(cls=_OneLineUsage, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mineland")
def main() -> None:
    """Map landmine contamination: hectares contaminated and released per district."""


@main.command("summarize")
@common_input_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the table: .csv, .json, .geojson, .gpkg or .xlsx.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where the accounting runs (dask needs mineland[dask]).",
)
@click.option(
    "--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://host:8786."
)
@_friendly_errors
def summarize_cmd(output, as_of, rejected_path, verbose, quiet, engine, scheduler, **source):
    """Hectares contaminated and released per district.

    \b
    Examples:
      mineland summarize data/boundaries/synthetic_districts.geojson data/surveys
      mineland summarize districts.gpkg hazards.gpkg releases.shp --as-of 2024-12-31 -o out.xlsx
    """
    with reading(
        source, verbose=verbose, quiet=quiet, output=output, rejected=rejected_path
    ) as run:
        bar, dist, data, inputs = run.bar, run.dist, run.data, run.inputs
        acc = account(
            dist,
            data,
            as_of=as_of,
            progress=bar.callback("account"),
            engine=engine,
            scheduler=scheduler,
        )
        summary = acc.summary
        report_validation(dist, data, acc if engine == "local" else None, _hint(source))
    report_rejected(data, rejected_path, output, inputs)
    meta = summary.attrs.get("mineland", {})
    if meta.get("records_undated"):
        note(f"{meta['records_undated']} undated records count at every date")
    if output is None:
        print_summary(summary, as_of)
    else:
        path = write_table(summary, output, inputs=inputs)
        note(f"wrote {len(summary)} rows to {path}")


@main.command("map")
@common_input_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The HTML file to write.",
)
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
    default="street",
    show_default=True,
    help="Base map shown first; 'none' makes a map that requests no tiles at all.",
)
@click.option("--offline", is_flag=True, help="Inline every script and style: no CDN needed.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="TEXT",
    help="A data source or attribution to show on the map (repeatable).",
)
@click.option(
    "--density",
    type=click.FloatRange(min=0, min_open=True),
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
@_friendly_errors
def map_cmd(
    output,
    as_of,
    rejected_path,
    verbose,
    quiet,
    title,
    metric,
    tiles,
    offline,
    sources,
    density,
    landcover,
    timeline,
    **source,
):
    """Write an interactive HTML map of the accounting.

    \b
    Examples:
      mineland map data/boundaries/synthetic_districts.geojson data/surveys -o map.html
      mineland map districts.gpkg surveys/ -o map.html --offline --tiles none --as-of 2024-12-31
    """
    from .accounting import account
    from .mapping import make_map, save_map

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
        bar, dist, data, inputs = run.bar, run.dist, run.data, run.inputs
        acc = account(dist, data, as_of=as_of, progress=bar.callback("account"))
        report = report_validation(dist, data, acc, _hint(source))
        all_sources = [
            f"District boundaries: {Path(source['districts']).name}",
            "Survey records: " + ", ".join(Path(s).name for s in source["surveys"]),
            *sources,
        ]
        grid = impact = table = None
        if density:
            from .raster import density_grid

            grid = secondary("the density layer", density_grid, acc, resolution=density)
        if landcover:
            from .io import read_raster
            from .raster import landcover_impact

            raster = read_raster(landcover)
            impact = secondary("the land-cover breakdown", landcover_impact, acc, None, raster)
            all_sources.append(f"Land cover: {Path(landcover).name}")
        if timeline:
            from .progress import progress

            table = secondary("the time slider", progress, dist, data, freq=timeline, end=as_of)
        m = make_map(
            acc,
            metric=metric,
            title=title,
            tiles=tiles,
            sources=all_sources,
            density=grid,
            landcover=impact,
            findings=report,
            progress=table,
        )
        path = save_map(m, output, offline=offline, inputs=inputs)
    report_rejected(data, rejected_path, output, inputs)
    size = path.stat().st_size / 1e6
    note(f"wrote {path} ({size:.1f} MB{', offline' if offline else ''})")


@main.command("raster")
@common_input_options
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="GeoTIFF.")
@click.option(
    "--resolution",
    type=click.FloatRange(min=0, min_open=True),
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
@_friendly_errors
def raster_cmd(output, as_of, rejected_path, verbose, quiet, resolution, grid_crs, by, **source):
    """Write the exact contamination density (0-1 per cell) as a GeoTIFF.

    \b
    Example:
      mineland raster data/boundaries/synthetic_districts.geojson data/surveys -o density.tif
    """
    from .accounting import account
    from .io import write_raster
    from .raster import density_grid

    with reading(
        source, verbose=verbose, quiet=quiet, output=output, rejected=rejected_path
    ) as run:
        bar, dist, data, inputs = run.bar, run.dist, run.data, run.inputs
        acc = account(dist, data, as_of=as_of, progress=bar.callback("account"))
        array, profile = density_grid(acc, resolution=resolution, crs=grid_crs, by=by)
        tags = {
            "description": f"fraction of each cell covered by remaining contamination ({by})",
            "as_of": acc.summary.attrs["mineland"]["as_of"] or "all records",
            "software": f"mineland {__version__}",
        }
        path = write_raster(array, profile, output, inputs=inputs, tags=tags)
    report_rejected(data, rejected_path, output, inputs)
    cell_ha = resolution * resolution / 10_000
    covered = float(array[array > 0].sum()) * cell_ha
    note(
        f"wrote {path}: {profile['width']} x {profile['height']} cells of {resolution:g} m, "
        f"{covered:,.1f} ha of remaining contamination"
    )


@main.command("impact")
@common_input_options
@click.option(
    "--landcover",
    required=True,
    type=click.Path(path_type=Path),
    help="Categorical land-cover raster, any CRS.",
)
@click.option(
    "--classes",
    "class_table",
    type=click.Path(path_type=Path),
    help="CSV (value,name) or TOML of class names (default: ESA WorldCover).",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help=".csv, .json or .xlsx")
@_friendly_errors
def impact_cmd(output, as_of, rejected_path, verbose, quiet, landcover, class_table, **source):
    """Hectares contaminated and released per district and land-cover class.

    \b
    Example:
      mineland impact data/boundaries/synthetic_districts.geojson data/surveys \\
          --landcover data/landcover/synthetic_landcover.tif -o impact.csv
    """
    from .accounting import account
    from .io import load_class_table, read_raster
    from .raster import landcover_impact

    extra = [landcover, class_table]
    with reading(
        source, verbose=verbose, quiet=quiet, output=output, rejected=rejected_path, extra=extra
    ) as run:
        bar, dist, data, inputs = run.bar, run.dist, run.data, run.inputs
        raster = read_raster(landcover)
        classes = load_class_table(class_table) if class_table else None
        acc = account(dist, data, as_of=as_of, progress=bar.callback("account"))
        table = landcover_impact(acc, None, raster, classes=classes)
    report_rejected(data, rejected_path, output, inputs)
    if output is None:
        console = Console() if sys.stdout.isatty() else Console(width=160)
        t = Table(title="Land cover of contaminated and released land (ha)", header_style="bold")
        for col in ("district", "class", "contaminated ha", "released ha"):
            t.add_column(col, justify="left" if col in ("district", "class") else "right")
        for _, row in table.iterrows():
            t.add_row(
                Text(plain(row["district"])),
                Text(plain(row["class_name"])),
                f"{row['contaminated_ha']:,.1f}",
                f"{row['released_ha']:,.1f}",
            )
        console.print(t)
    else:
        path = write_table(table, output, inputs=inputs)
        note(f"wrote {len(table)} rows to {path}")


def _print_validation(report) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(title="Validation findings", header_style="bold")
    for col in ("check", "severity", "findings", "meaning"):
        table.add_column(col, justify="right" if col == "findings" else "left")
    for _, row in report.summary.iterrows():
        style = {"error": "red", "warning": "yellow"}.get(row["severity"])
        table.add_row(
            Text(row["check"]),
            Text(row["severity"], style=style),
            f"{row['findings']:,}",
            Text(row["meaning"]),
        )
    console.print(table)
    worst = report.findings[report.findings["severity"] != "info"]
    if len(worst):
        console.print(Text("Worst examples:", style="bold"))
        for check in report.summary["check"]:
            for _, f in worst[worst["check"] == check].head(3).iterrows():
                where = ""
                if isinstance(f["source_file"], str):
                    where = f"{Path(f['source_file']).name}"
                    if pd.notna(f["source_row"]):
                        where += f" row {int(f['source_row'])}"
                rid = f" [{f['record_id']}]" if isinstance(f["record_id"], str) else ""
                console.print(
                    Text(plain(f"  {f['severity']:<7} {f['check']}: {where}{rid} {f['message']}"))
                )
    if len(report.conservation):
        files = Table(title="Input rows: used + rejected", header_style="bold")
        for col in ("file", "rows", "used", "rejected", "balanced"):
            files.add_column(col, justify="left" if col == "file" else "right")
        for _, r in report.conservation.iterrows():
            files.add_row(
                Text(plain(Path(str(r["source_file"])).name)),
                f"{int(r['rows']):,}",
                f"{int(r['used']):,}",
                f"{int(r['rejected']):,}",
                "yes" if r["balanced"] else Text("NO", style="red"),
            )
        console.print(files)
    console.print(Text(f"{report.errors:,} errors, {report.warnings:,} warnings", style="bold"))


@main.command("validate")
@common_input_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the findings: .csv, .xlsx, .gpkg (with geometries) or .html.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option(
    "--start-date",
    callback=_valid_date,
    metavar="YYYY-MM-DD",
    help="Flag dates before this day (for Karabakh: 2020-11-10).",
)
@_friendly_errors
def validate_cmd(output, as_of, rejected_path, verbose, quiet, strict, start_date, **source):
    """Check the data: what is wrong, where, and what it does to the hectares.

    Exit 0 when there are no errors, 1 with errors (or warnings with --strict),
    2 on usage errors.

    \b
    Example:
      mineland validate data/boundaries/synthetic_districts.geojson data/surveys -o report.xlsx
    """
    from .io import write_report
    from .validate import validate

    if as_of is not None:
        raise click.UsageError(
            "validate checks every record whatever its date; --as-of does not apply here"
        )
    with reading(
        source,
        verbose=verbose,
        quiet=quiet,
        output=output,
        rejected=rejected_path,
        on_file_error="reject",
        all_rejected_ok=True,  # the findings say why, and errors give exit 1
    ) as run:
        dist, data, inputs = run.dist, run.data, run.inputs
        report = validate(dist, data, start_date=start_date)
    report_rejected(data, rejected_path, output, inputs)
    _print_validation(report)
    bad = report.conservation[~report.conservation["balanced"]] if len(report.conservation) else []
    if len(bad):
        click.echo(f"internal error: rows not accounted for in {len(bad)} files", err=True)
    if output is not None:
        path = write_report(report, output, inputs=inputs)
        note(f"wrote {len(report.findings)} findings to {path}")
    sys.exit(report.exit_code(strict=strict))


@main.command("progress")
@common_input_options
@click.option(
    "--freq",
    type=click.Choice(["year", "quarter", "month"]),
    default="year",
    show_default=True,
    help="Length of the periods.",
)
@click.option("--start", callback=_valid_date, metavar="YYYY-MM-DD", help="First day covered.")
@click.option("--end", callback=_valid_date, metavar="YYYY-MM-DD", help="Last day covered.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help=".csv, .json or .xlsx")
@_friendly_errors
def progress_cmd(output, as_of, rejected_path, verbose, quiet, freq, start, end, **source):
    """Hectares released per district and period, and what remains at each period end.

    \b
    Example:
      mineland progress data/boundaries/synthetic_districts.geojson data/surveys --freq quarter
    """
    from .progress import progress

    if end and as_of and str(end) != str(as_of):
        raise click.UsageError("give --end or --as-of (the same thing here), not both")
    with reading(
        source, verbose=verbose, quiet=quiet, output=output, rejected=rejected_path
    ) as run:
        dist, data, inputs = run.dist, run.data, run.inputs
        table = progress(dist, data, freq=freq, start=start, end=end or as_of)
    report_rejected(data, rejected_path, output, inputs)
    if output is not None:
        out = table.assign(period_end=table["period_end"].dt.date.astype(str))
        path = write_table(out, output, inputs=inputs)
        note(f"wrote {len(table)} rows to {path}")
        return
    console = Console() if sys.stdout.isatty() else Console(width=160)
    totals = table.groupby("period_end").sum(numeric_only=True).reset_index()
    t = Table(title=f"Progress by {freq} (all districts, ha)", header_style="bold")
    cols = [
        ("period_end", "period end"),
        ("cleared_ha", "cleared"),
        ("reduced_ha", "reduced"),
        ("cancelled_ha", "cancelled"),
        ("released_ha", "released to date"),
        ("contaminated_ha", "contaminated at end"),
        ("devices", "devices"),
        ("incidents", "incidents"),
    ]
    for c, label in cols:
        t.add_column(label, justify="left" if c == "period_end" else "right")
    for _, r in totals.iterrows():
        t.add_row(
            str(r["period_end"].date()),
            *(f"{r[c]:,.1f}" if c.endswith("_ha") else f"{int(r[c]):,}" for c, _ in cols[1:]),
        )
    console.print(t)


@main.command("report")
@common_input_options
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help=".xlsx or .html"
)
@click.option("--title", help="Title of the report.")
@_friendly_errors
def report_cmd(output, as_of, rejected_path, verbose, quiet, title, **source):
    """Write a report: a formatted Excel workbook or a printable HTML page.

    Sheets: Summary (with totals), Progress by year, Validation, Validation findings,
    Sources (inputs, CRS, as-of date, software version).  The HTML page has charts.

    \b
    Example:
      mineland report data/boundaries/synthetic_districts.geojson data/surveys -o report.xlsx
    """
    from .io import write_report_file
    from .report import build_report

    if output.suffix.lower() not in (".xlsx", ".html"):
        raise click.BadParameter("reports are written as .xlsx or .html", param_hint="-o")
    with reading(
        source, verbose=verbose, quiet=quiet, output=output, rejected=rejected_path
    ) as run:
        dist, data, inputs = run.dist, run.data, run.inputs
        rep = build_report(dist, data, as_of=as_of, title=title)
        path = write_report_file(rep, output, inputs=inputs)
    report_rejected(data, rejected_path, output, inputs)
    note(f"wrote {path}")


@main.command("convert")
@click.argument("surveys", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="A new folder."
)
@click.option("--field-map", type=click.Path(path_type=Path), help="TOML/JSON field map.")
@click.option("--crs", help="CRS of input files that declare none.")
@click.option(
    "--rows-per-part",
    type=click.IntRange(min=1),
    default=250_000,
    show_default=True,
    help="Rows per file.",
)
@click.option(
    "--rejected",
    "rejected_path",
    type=click.Path(path_type=Path),
    help="Where to write rejected rows.",
)
@click.option("-v", "--verbose", count=True)
@click.option("-q", "--quiet", is_flag=True)
@_friendly_errors
def convert_cmd(surveys, output, field_map, crs, rows_per_part, rejected_path, verbose, quiet):
    """Turn survey files into partitioned GeoParquet in the canonical schema.

    \b
    Example:
      mineland convert data/surveys -o surveys.parquet
    """
    from .io import write_geoparquet

    _setup_logging(verbose, quiet)
    inputs = [*surveys] + ([field_map] if field_map else [])
    check_output_path(output, inputs)
    with _Bar() as bar:
        data = read_surveys(*surveys, field_map=field_map, crs=crs, progress=bar.callback("read"))
        note(data.account())
        records = data.records.drop(columns=["repair"], errors="ignore")
        path = write_geoparquet(records, output, rows_per_part=rows_per_part, inputs=inputs)
    if len(data.rejected):
        report_rejected(
            data, rejected_path or output.with_name(f"{output.name}_rejected.csv"), None, inputs
        )
    parts = len(list(path.glob("part-*.parquet")))
    note(f"wrote {len(data.records):,} records in {parts} parts to {path}")
