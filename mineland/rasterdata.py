"""A single-band raster in memory: what the reader returns and the raster code uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyproj

if TYPE_CHECKING:  # importing affine (and attrs) costs every command 25 ms
    from affine import Affine

__all__ = ["RasterData"]


@dataclass
class RasterData:
    """A single-band raster in memory (what :func:`mineland.io.read_raster` returns)."""

    array: np.ndarray
    transform: Affine
    crs: pyproj.CRS
    nodata: float | None
    source: str = "raster"

    @property
    def res(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of a north-up raster."""
        h, w = self.array.shape
        t = self.transform
        return (t.c, t.f + h * t.e, t.c + w * t.a, t.f)
