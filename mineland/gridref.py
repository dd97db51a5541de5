"""MGRS grid references (``38T NK 12345 67890``) to WGS 84 points.

Field reports write references as people say them: lower case, with spaces, at any
precision from 100 km to 1 m.  A reference names a square, not a point: the
record is placed at the centre of its square (as GeoTrans, through the maintained
``mgrs`` package, converts it), so a 1 km reference is at most 707 m from the
truth.  The checks of the form, with the reason a reference is refused, are ours.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .recorded_warnings import recorded_warnings

__all__ = ["MGRS_PATTERN", "mgrs_problem", "mgrs_to_lonlat", "normalize_mgrs"]

#: zone (1-60), latitude band, 100 km column and row letters, then digits
MGRS_PATTERN = re.compile(r"^(\d{1,2})([C-HJ-NP-X])([A-HJ-NP-Z])([A-HJ-NP-V])(\d*)$")

_UPS = re.compile(r"^[ABYZ][A-HJ-NP-Z][A-HJ-NP-Z]\d*$")


def normalize_mgrs(value: object) -> str | None:
    """Upper case without spaces or hyphens; None when blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = re.sub(r"[\s\-]+", "", str(value)).upper()
    return text or None


def mgrs_problem(ref: str) -> str | None:
    """Why a normalised reference is malformed, or None when its form is right."""
    if _UPS.match(ref):
        return None if len(ref[3:]) % 2 == 0 and len(ref[3:]) <= 10 else "odd digits"
    m = MGRS_PATTERN.match(ref)
    if m is None:
        return "not an MGRS reference (zone, band letter, two square letters, digits)"
    zone, digits = int(m.group(1)), m.group(5)
    if not 1 <= zone <= 60:
        return f"zone {zone} does not exist (1-60)"
    if len(digits) % 2:
        return f"{len(digits)} digits: easting and northing need the same number"
    if len(digits) > 10:
        return f"{len(digits)} digits: at most 10 (1 m)"
    return None


def mgrs_to_lonlat(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitudes, latitudes (the centre of each square) and a reason per value that
    could not be read (None where it could, NaN coordinates there).  Each distinct
    reference is converted once."""
    import mgrs  # a compiled extension: loaded only when an MGRS column is read

    refs = pd.Series([normalize_mgrs(v) for v in values], dtype=object)
    codes, uniques = pd.factorize(refs)
    lon_u = np.full(len(uniques), np.nan)
    lat_u = np.full(len(uniques), np.nan)
    why_u = np.full(len(uniques), None, dtype=object)
    converter = mgrs.MGRS()
    for k, ref in enumerate(uniques):
        problem = mgrs_problem(ref)
        if problem is None:
            problem = _convert(converter, ref, lat_u, lon_u, k)
        if problem is not None:
            why_u[k] = f"MGRS {ref!r}: {problem}"
    known = codes >= 0
    lon = np.full(len(refs), np.nan)
    lat = np.full(len(refs), np.nan)
    why = np.full(len(refs), None, dtype=object)
    lon[known], lat[known], why[known] = (
        lon_u[codes[known]],
        lat_u[codes[known]],
        why_u[codes[known]],
    )
    return lon, lat, why


def _convert(converter, ref: str, lat: np.ndarray, lon: np.ndarray, k: int) -> str | None:
    """Convert one reference into ``lat[k]``, ``lon[k]``; the reason it cannot be."""
    with recorded_warnings() as caught:  # files are read side by side, in threads
        try:
            lat[k], lon[k] = converter.toLatLon(ref)
        except Exception:  # the library raises its own MGRSError types
            return "no such 100 km square in that zone and band"
    if any("Latitude" in str(w.message) for w in caught):
        lat[k] = lon[k] = np.nan
        return (
            f"band letter {ref[len(ref.rstrip('0123456789')) - 3]} does not match the 100 km square"
        )
    return None
