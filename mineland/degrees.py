"""Longitudes and latitudes as field forms and GPS units write them: degrees,
minutes and seconds (``46°45'10.5"E``, ``46 45 10.5 E``), degrees and decimal
minutes (``N39°30.25'``), or decimal degrees with a hemisphere (``E46.7528``); the
marks may be letters too (``46d45m10.5s``).

Pure computation on text.  A value is read only when it is unambiguous: minutes and
seconds under 60, at most one hemisphere letter, and that one of its axis (``N``/``S``
for a latitude, ``E``/``W`` for a longitude); anything else is left unread (NaN), for
the reader to reject with the value.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["degrees"]

#: the marks that end degrees, minutes and seconds, as typed or as a GPS writes them
_MARKS = re.compile(r"[°º˚'′’‘`\"″”“]|''|(?<=\d)[dms](?=[\d\s.,]|$)")
#: a hemisphere is a capital letter (a small ``s`` after a number is seconds)
_HEMISPHERE = re.compile(r"^\s*([NSEW])|([NSEW])\s*$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_AXIS = {"lat": ("N", "S"), "lon": ("E", "W")}


def degrees(values: pd.Series, axis: str) -> np.ndarray:
    """Decimal degrees of each text value on ``axis`` (``"lon"`` or ``"lat"``): NaN
    where it cannot be read unambiguously (see the module doc)."""
    codes, uniques = pd.factorize(values.astype("string").str.strip())
    parsed = np.array([_one(str(u), axis) for u in uniques] + [np.nan], dtype=float)
    return parsed[codes]  # code -1 (missing) takes the last, NaN


def _one(text: str, axis: str) -> float:
    text = text.replace(",", ".")
    letters = _HEMISPHERE.findall(text)
    hemisphere = "".join(a + b for a, b in letters).upper()
    if len(hemisphere) > 1 or (hemisphere and hemisphere not in _AXIS[axis]):
        return np.nan
    text = _HEMISPHERE.sub("", text).strip()
    sign = -1.0 if hemisphere in ("S", "W") else 1.0
    if text.startswith("-"):
        if hemisphere:
            return np.nan  # a sign and a hemisphere: which one holds?
        sign, text = -1.0, text[1:]
    parts = _MARKS.sub(" ", text).split()
    if not 1 <= len(parts) <= 3 or not all(_NUMBER.match(p) for p in parts):
        return np.nan
    if len(parts) == 1 and not hemisphere:
        return np.nan  # a plain number, which the caller reads
    values = [float(p) for p in parts]
    if any(v >= 60 for v in values[1:]) or any("." in p for p in parts[:-1]):
        return np.nan  # only the last part may have decimals
    limit = 90.0 if axis == "lat" else 180.0
    value = values[0] + sum(v / 60**k for k, v in enumerate(values[1:], start=1))
    return sign * value if value <= limit else np.nan
