"""CSV text as real exports write it: encodings, delimiters, stray quotes.

Pure computation on bytes and text; :mod:`mineland.io` reads the file.  Every
physical row ends up as one row of the table, or as one row with the reason it
could not be split into fields, so row counts always add up.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading

import pandas as pd

from . import schema

__all__ = ["decode_csv", "looks_cyrillic", "parse_csv", "read_csv_text", "sniff_delimiter"]

log = logging.getLogger(__name__)

#: what may come before the header of an export: blank lines, lines of delimiters
#: only, and Excel's line naming the delimiter (``sep=;``, quoted or not)
_EOL = r"(?:\r\n|\r|\n)"  # a line end, as a spreadsheet takes them
_BLANK_LINES = rf"(?:[ \t,;|]*{_EOL})*"
_PREAMBLE = re.compile(
    rf'{_BLANK_LINES}(?:"?sep=([^"\r\n])"?[ \t]*{_EOL}{_BLANK_LINES})?', re.IGNORECASE
)
_LINE_END = re.compile(_EOL)
_LINE = re.compile(rf"([^\r\n]*){_EOL}")
_FIRST_LINE = re.compile(r"[^\r\n]*")

#: the csv module's field limit is one for the process; it is only ever raised
_FIELD_LIMIT = threading.Lock()

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_csv(raw: bytes, source: str = "CSV") -> str:
    """Text of a CSV export: UTF-8 (with or without BOM), UTF-16/32 with a BOM (as
    Excel's "Unicode text" writes), else Windows-1251 for Cyrillic text or
    Windows-1252, with a warning."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    if len(raw) > 3 and raw[1:4:2] == b"\x00\x00" and raw[0] != 0:
        return raw.decode("utf-16-le", errors="replace")  # UTF-16 without a BOM
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    encoding = "cp1251" if looks_cyrillic(raw) else "cp1252"
    log.warning("%s: not valid UTF-8; decoded as %s, check the names", source, encoding)
    return raw.decode(encoding, errors="replace")


def looks_cyrillic(raw: bytes) -> bool:
    """Cyrillic words in Windows-1251 are runs of bytes ≥ 0xC0; Western European
    text in Windows-1252 has single accented letters between ASCII ones."""
    high = [i for i, b in enumerate(raw) if b >= 0xC0]
    if not high:
        return False
    paired = sum(1 for i in high if (i + 1 < len(raw) and raw[i + 1] >= 0xC0))
    return paired / len(high) > 0.5


def read_csv_text(text: str, source: str = "CSV") -> tuple[pd.DataFrame, list[str | None]]:
    """:func:`parse_csv` of a whole export: blank lines (or lines of delimiters only)
    before the header are left out, as is Excel's ``sep=;`` line, whose delimiter is
    then used (else the header's, :func:`sniff_delimiter`).  Title lines above the
    header (found by its usual column names near the top) are not records,
    and are named in the log as a workbook's are."""
    preamble = _PREAMBLE.match(text)
    body = text[preamble.end() :] if preamble.end() else text
    above, at, sep = _header_line(body)
    if above:
        line = len(_LINE_END.findall(text, 0, preamble.end())) + above + 1
        log.warning(
            "%s: the header is on line %d; %s", source, line, schema.above_header(above, "line")
        )
        body = body[at:]
    return parse_csv(body, preamble.group(1) or sep or sniff_delimiter(body), source)


def _header_line(text: str) -> tuple[int, int, str | None]:
    """Where the header is when title lines stand above it: the number of lines
    above, where it starts, and its delimiter (0, 0, None when it is the first line,
    or when none of the top 20 lines looks like one and has more fields than the
    first: a row of values such as ``x`` and ``y`` under a header of other names)."""
    first = None
    for k, line in enumerate(_LINE.finditer(text, 0, min(len(text), 1 << 16))):
        if k == schema.HEADER_SEARCH_ROWS:
            break
        first = line.group(1) if first is None else first
        for sep in (",", ";", "\t", "|"):
            cells = _fields(line.group(1), sep)
            if schema.looks_like_header(cells):
                if k and len(_fields(first, sep)) < len(cells):
                    return k, line.start(), sep
                return 0, 0, None
    return 0, 0, None


def _fields(line: str, sep: str) -> list[str]:
    """One line's fields, unquoted."""
    return next(csv.reader([line], delimiter=sep, strict=False), [])


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of , ; tab |."""
    first = _FIRST_LINE.match(text).group()  # not every line split apart to get it
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def parse_csv(text: str, sep: str, source: str = "CSV") -> tuple[pd.DataFrame, list[str | None]]:
    """Rows of strings (blank cells missing) and, per row, why it is malformed.

    A record whose quotes run over several physical lines and swallow what look like
    whole rows (an unbalanced quote) is split back into its lines, each parsed on
    its own.  A lone CR ends a line, as CRLF and LF do; NULs that pad the end of a
    field are dropped.  Extra empty cells at the end of a row (a trailing delimiter) are
    dropped; a row with another number of cells than the header is kept with its
    reason, never shifted into the wrong columns.
    """
    records = _quote_aware_records(text, sep)
    if not records:
        return pd.DataFrame(), []
    if "\x00" in text:  # fixed-width exports pad their fields with NULs
        records = [[cell.rstrip("\x00") for cell in fields] for fields in records]
    header = [h.strip() for h in records[0]]
    while header and header[-1] == "":
        header.pop()  # a trailing delimiter on the header line
    width = len(header)
    rows, problems = [], []
    for fields in records[1:]:
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line (a line of delimiters only is a spreadsheet's blank row)
        cells = list(fields)
        while len(cells) > width and cells[-1] == "":
            cells.pop()
        problem = None
        if len(cells) != width:
            problem = (
                f"the row has {len(cells)} fields where the header has {width} "
                "(a stray quote or delimiter?)"
            )
            cells = (cells + [""] * width)[:width]
        rows.append(cells)
        problems.append(problem)
    header = [h or "column" for h in header]
    frame = pd.DataFrame(rows, columns=range(width), dtype=object)  # no rows: columns
    frame = schema.unique_columns(frame, header, source)
    frame = frame.replace({"": None})
    return frame, problems


def _quote_aware_records(text: str, sep: str) -> list[list[str]]:
    # a lone CR ends a line too (old Mac exports end every line so), as in a
    # spreadsheet; the reader and ``lines`` then count the same lines
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _allow_fields_of(len(text))
    lines = text.split("\n")
    out: list[list[str]] = []
    reader = csv.reader(io.StringIO(text), delimiter=sep, strict=False)
    header_width = None
    start = 0
    for fields in reader:
        end = reader.line_num
        spanned = lines[start:end]
        start = end
        if header_width is None:
            header_width = len(fields)
        if len(spanned) > 1 and _swallowed_rows(fields, sep, header_width):
            out.extend(
                next(csv.reader([line], delimiter=sep, strict=False), [""]) for line in spanned
            )
            continue
        out.append(fields)
    return out


def _allow_fields_of(size: int) -> None:
    """Let the csv module read a field as long as the whole text: a long note, or a
    stray quote that swallows the rest of a large export (whose lines are then split
    back), is not an error (its limit, 128 KiB by default, was one).  The limit is
    the process's, so it is only raised, under a lock (files are read in threads)."""
    with _FIELD_LIMIT:
        if csv.field_size_limit() <= size:
            csv.field_size_limit(min(size + 1, 2**31 - 1))


def _swallowed_rows(fields: list[str], sep: str, width: int) -> bool:
    """A quoted field spanning lines that holds whole rows: an unbalanced quote."""
    return any(
        "\n" in f and any(line.count(sep) >= max(1, width - 2) for line in f.split("\n")[1:])
        for f in fields
    )
