"""What every engine returns, and the interface it has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

__all__ = ["Engine", "PieceOrigin", "RegionClasses"]


@dataclass
class RegionClasses:
    """What an engine returns for one region."""

    #: the disjoint polygons of each class (empty arrays when the engine keeps none)
    classes: dict[str, np.ndarray]
    #: m² per zone (rows; a last row for outside every zone) and class (columns, in
    #: the order of :data:`mineland.classes.CLASSES`)
    zone_m2: np.ndarray
    #: m² of H (every hazard) per zone and outside; None from an engine that does not
    #: measure it (dask)
    hazard_m2: np.ndarray | None = None
    #: for each class of :data:`mineland.classes.WITHIN` kept, the index of the part
    #: of its layer of H that each of its polygons lies in
    parents: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class PieceOrigin:
    """Where the pieces of one region came from, for an engine whose workers can make
    them again from the input files instead of being sent them."""

    #: per piece: the file its record was read from, and its 1-based row there
    files: np.ndarray
    rows: np.ndarray
    #: the regions of the accounting, and the index of this one
    regions: list
    region: int


class Engine(Protocol):
    """The interface every engine has."""

    name: str

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc) -> bool: ...

    def region_classes(
        self,
        pieces: np.ndarray,
        types: np.ndarray,
        zones: np.ndarray,
        overlay_log,
        origin: PieceOrigin | None = None,
    ) -> RegionClasses: ...
