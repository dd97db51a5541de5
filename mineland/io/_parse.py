"""Geometries from WKB or WKT, with the one rule for what cannot be parsed as is."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException

from ..threads import map_chunks

__all__ = ["first_line", "parse_geometries"]


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (GEOS and GDAL add detail below)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def parse_geometries(
    raw: np.ndarray, parse: Callable, *, skip: np.ndarray | None = None, show_value: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse WKB or WKT (``parse`` is ``shapely.from_wkb`` or ``shapely.from_wkt``).

    A value GEOS refuses as is (an unclosed ring, a ring of three points) is read
    with ``on_invalid="fix"`` and the fix is noted; one that cannot be read even so
    gets the parser's message (with the start of the value when ``show_value``).
    Rows in ``skip`` are left for another reader.  Returns the geometries, the parse
    errors and the fixes, per row (None where there is nothing to say).
    """
    n = len(raw)
    errors = np.full(n, None, dtype=object)
    fixes = np.full(n, None, dtype=object)
    todo = raw if skip is None else np.where(skip, None, raw)
    geoms = map_chunks(lambda chunk: _quietly(parse, chunk, "ignore"), todo)  # in threads
    for i in np.flatnonzero(shapely.is_missing(geoms) & ~pd.isna(todo)):
        try:
            parse(raw[i])
            message = "unreadable"
        except (GEOSException, ValueError, TypeError) as exc:
            message = first_line(exc)
        fixed = _quietly(parse, raw[i], "fix")
        if fixed is not None and not shapely.is_empty(fixed):
            geoms[i] = fixed
            fixes[i] = f"read after fixing: {message}"
        else:
            errors[i] = f"{message} in {str(raw[i])[:60]!r}" if show_value else message
    return geoms, errors, fixes


def _quietly(parse: Callable, values, on_invalid: str):
    """``parse(values, on_invalid=...)`` without numpy's "invalid value" warning, which
    a value GEOS refuses raises, nor its "overflow" warning, which a number beyond
    the floating-point range raises (each is reported per row instead)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return parse(values, on_invalid=on_invalid)
