"""The accounting's record pieces, by record type, and back to lon/lat."""

from __future__ import annotations

import numpy as np

from ..zones import unproject

__all__ = ["pieces_of", "to_wgs"]


def to_wgs(geoms, crs):
    """Geometries projected in ``crs`` (one or an array), back in lon/lat."""
    return unproject(np.atleast_1d(np.asarray(geoms, dtype=object)), crs)


def pieces_of(region, rtype: np.ndarray, kinds) -> tuple[np.ndarray, np.ndarray]:
    """The region's record pieces of the given types, and their record rows."""
    sel = np.isin(rtype[region.piece_record], kinds)
    return region.pieces[sel], region.piece_record[sel]
