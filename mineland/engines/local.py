"""The local engine: the class arithmetic in this process (GEOS, vectorised)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..classes import CLASSES, HAZARD_LAYERS, disjoint_classes
from ..geometry import ZoneIndex, area_by_zone, connected
from .base import RegionClasses

__all__ = ["LocalEngine", "zone_class_m2"]

#: area pieces per batch when the class polygons are not kept
BATCH_PIECES = 50_000
#: up to this many pieces the classes are worked out at once all the same: their
#: memory is small, and batches cost time (the clusters, and less parallel work)
WHOLE_PIECES = 300_000


class LocalEngine:
    """Disjoint class polygons per region; areas are measured by the accounting.

    With ``keep_classes=False`` the class polygons are worked out a batch of clusters
    at a time, measured per zone and dropped (:func:`zone_class_m2`): the memory they
    take is a batch's, not the data's."""

    name = "local"

    def __init__(self, keep_classes: bool = True, progress=None) -> None:
        self.keep_classes = keep_classes
        self.progress = progress

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def region_classes(
        self, pieces: np.ndarray, types: np.ndarray, zones: np.ndarray, overlay_log, origin=None
    ) -> RegionClasses:
        if self.keep_classes:
            return RegionClasses(disjoint_classes(pieces, types, overlay_log))
        m2, hazard = zone_class_m2(pieces, types, zones, overlay_log, progress=self.progress)
        return RegionClasses({}, m2, hazard)


def _batches(pieces: np.ndarray, size: int) -> list[np.ndarray]:
    """The pieces in batches of whole clusters (pieces that intersect, directly or
    through others, are in one batch), about ``size`` pieces each; one batch up to
    :data:`WHOLE_PIECES`."""
    if len(pieces) <= max(size, WHOLE_PIECES):
        return [np.arange(len(pieces))]
    label = connected(pieces)
    order = np.argsort(label, kind="stable")
    starts = np.flatnonzero(np.diff(label[order], prepend=-1))  # where clusters start
    at = np.searchsorted(starts, np.arange(size, len(pieces), size))
    return [b for b in np.split(order, np.unique(starts[at[at < len(starts)]])) if len(b)]


def zone_class_m2(
    pieces: np.ndarray,
    types: np.ndarray,
    zones: np.ndarray,
    overlay_log,
    size: int | None = None,
    progress=None,
) -> tuple[np.ndarray, np.ndarray]:
    """The area (m²) of each class per zone (rows; a last row for outside every zone;
    columns in the order of :data:`~mineland.classes.CLASSES`), and of H per zone,
    with the class polygons worked out a batch of clusters (about ``size`` pieces,
    :data:`BATCH_PIECES` by default) at a time; ``progress(label, done, total)``
    follows the batches.  The classes of
    clusters that do not touch are disjoint, so the batches add up to the whole."""
    m2 = np.zeros((len(zones) + 1, len(CLASSES)))
    hazard = np.zeros(len(zones) + 1)
    names = [*CLASSES, *HAZARD_LAYERS]

    own = threading.local()  # prepared zones are not thread-safe: one set per thread

    def measure(parts: np.ndarray) -> np.ndarray:
        if not hasattr(own, "index"):
            own.index = ZoneIndex.of(zones)
        za = area_by_zone(parts, zones, overlay_log, own.index)
        return np.append(za.per_zone, za.outside)

    with ThreadPoolExecutor(2) as pool:  # GEOS releases the GIL
        batches = _batches(pieces, size or BATCH_PIECES)
        for k, batch in enumerate(batches):
            classes = disjoint_classes(pieces[batch], types[batch], overlay_log)
            areas = list(pool.map(measure, [classes[k] for k in names]))
            del classes
            m2 += np.column_stack(areas[: len(CLASSES)])
            hazard += areas[len(CLASSES)] + areas[len(CLASSES) + 1]
            if progress and len(batches) > 1:
                progress("classes, a batch of clusters at a time", k + 1, len(batches))
    return m2, hazard
