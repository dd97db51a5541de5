"""Dates as survey records hold them: ISO, day-first and typed dates, within 1900-2100."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$")


_ISO_SLASH = re.compile(r"^\d{4}/\d{1,2}/\d{1,2}([ T].*)?$")


_DMY = re.compile(r"^\d{1,2}[./]\d{1,2}[./]\d{4}([ T].*)?$")


#: ISO 8601's basic form, as databases export a date as a number: 20220131
_BASIC = re.compile(r"^\d{8}$")


#: Dates outside these years are placeholders (9999-12-31, 0001-01-01) or typing
#: errors, never survey dates; they are rejected rather than read.
DATE_YEARS = (1900, 2100)


def parse_dates(values: pd.Series, *, serials: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse dates written as ISO ``YYYY-MM-DD`` (or ``YYYY/MM/DD``, or ``YYYYMMDD``)
    or day-first ``DD.MM.YYYY`` / ``DD/MM/YYYY``, with an optional time part that is
    ignored.
    With ``serials`` (a spreadsheet), a cell holding a plain number is an Excel day
    serial (45292 is 2024-01-01), as a date cell formatted as General shows it.

    Returns the parsed dates (``datetime64[ns]``, NaT where blank) and a boolean mask
    of the values that were not blank but could not be used: unreadable, impossible
    (30 February) or outside the years :data:`DATE_YEARS` (placeholders such as
    ``9999-12-31``, which do not even fit pandas' nanosecond range).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return _typed_dates(values)
    if serials:
        values = _from_serials(values)
    # a date column repeats few values: each distinct value is parsed once
    codes, uniques = pd.factorize(values.astype("string").str.strip())
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=values.index)
    if len(uniques) == 0:
        return out, bad
    out_u, bad_u = _parse_date_text(pd.Series(uniques, dtype="string"))
    known = codes >= 0
    take = codes[known]
    out[known] = out_u.to_numpy()[take]
    bad[known] = bad_u.to_numpy()[take]
    return out, bad


def _parse_date_text(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO or day-first dates from distinct, stripped text (see :func:`parse_dates`)."""
    blank = text.isna() | (text == "")
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=text.index)
    todo = text[~blank]
    if len(todo) == 0:
        return out, bad
    date_part = todo.str.split(r"[ T]", n=1, regex=True).str[0]
    iso = todo.str.match(_ISO) | todo.str.match(_ISO_SLASH)
    dmy = todo.str.match(_DMY)
    basic = todo.str.match(_BASIC)
    if basic.any():
        digits = todo[basic]
        out.loc[digits.index] = _ymd(digits.str[:4], digits.str[4:6], digits.str[6:])
    if iso.any():
        parts = date_part[iso].str.replace("/", "-").str.split("-", expand=True)
        out.loc[parts.index] = _ymd(parts[0], parts[1], parts[2])
    if dmy.any():
        parts = date_part[dmy].str.split(r"[./]", regex=True, expand=True)
        out.loc[parts.index] = _ymd(parts[2], parts[1], parts[0])
    bad.loc[todo.index] = out.loc[todo.index].isna()
    return out, bad


#: Excel's day 0 (its serials count from here, past its phantom 29 February 1900)
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _from_serials(values: pd.Series) -> pd.Series:
    """Plain numbers (not text) replaced by the ISO dates they count in Excel's
    serials; a number no serial can be stays visible as ``serial N`` (unparseable)."""
    is_number = values.map(
        lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    )
    is_number &= values.notna()
    if not is_number.any():
        return values
    days = pd.to_numeric(values[is_number], errors="coerce")
    dates = EXCEL_EPOCH + pd.to_timedelta(days.where(days.between(1, 2_958_465)), unit="D")
    out = values.astype(object).copy()
    text = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), "serial " + days.astype(str))
    lo, hi = (year * 10_000 + mmdd for year, mmdd in zip(DATE_YEARS, (101, 1231), strict=True))
    basic = (days % 1 == 0) & days.between(lo, hi)  # YYYYMMDD as a number
    out[is_number] = text.where(~basic, days[basic].astype("int64").astype(str))
    return out


def _typed_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A date/datetime column as a file typed it (any resolution, any time zone)."""
    if values.dt.tz is not None:
        values = values.dt.tz_localize(None)
    years = values.dt.year
    bad = values.notna() & ((years < DATE_YEARS[0]) | (years > DATE_YEARS[1]))
    kept = values.where(~bad)
    return kept.dt.normalize().astype("datetime64[ns]"), bad


def _ymd(y: pd.Series, m: pd.Series, d: pd.Series) -> pd.Series:
    """Year, month and day columns as dates; NaT where impossible or out of range."""
    frame = pd.DataFrame({"year": y.astype(int), "month": m.astype(int), "day": d.astype(int)})
    plausible = frame["year"].between(*DATE_YEARS)
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    if plausible.any():
        out[plausible] = pd.to_datetime(frame[plausible], errors="coerce")
    return out


def bad_date_reason(raw) -> str:
    text = str(raw)
    year = re.match(r"^\s*(\d{4})[-/]|^\s*\d{1,2}[./]\d{1,2}[./](\d{4})|^\s*(\d{4})\d{4}\s*$", text)
    if year and not DATE_YEARS[0] <= int(next(filter(None, year.groups()))) <= DATE_YEARS[1]:
        return (
            f"date {text!r} is outside the years {DATE_YEARS[0]}–{DATE_YEARS[1]} "
            "(a placeholder for an unknown date? leave it blank instead)"
        )
    if hasattr(raw, "year"):
        return f"date {text!r} is outside the years {DATE_YEARS[0]}–{DATE_YEARS[1]}"
    if _ISO.match(text) or _ISO_SLASH.match(text) or _DMY.match(text) or _BASIC.match(text):
        return f"date {text!r} does not exist"
    return f"unparseable date {text!r} (use YYYY-MM-DD)"
