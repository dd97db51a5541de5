"""The local engine: the class arithmetic in this process (GEOS, vectorised)."""

from __future__ import annotations

import numpy as np

from ..classes import disjoint_classes
from .base import RegionClasses

__all__ = ["LocalEngine"]


class LocalEngine:
    """Disjoint class polygons per region; areas are measured by the accounting."""

    name = "local"

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def region_classes(
        self, pieces: np.ndarray, types: np.ndarray, zones: np.ndarray, overlay_log, origin=None
    ) -> RegionClasses:
        return RegionClasses(disjoint_classes(pieces, types, overlay_log))
