"""The local engine: the class arithmetic in this process (GEOS, vectorised)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

from ..classes import CLASSES, HAZARD_LAYERS, METHODS, WITHIN, disjoint_classes
from ..geometry import ZoneIndex, area_by_zone, connected
from .base import RegionClasses

__all__ = ["LocalEngine", "zone_class_m2"]

#: area pieces per batch when the class polygons are not kept
BATCH_PIECES = 50_000
#: up to this many pieces the classes are worked out at once all the same: their
#: memory is small, and batches cost time (the clusters, and less parallel work)
WHOLE_PIECES = 300_000


class LocalEngine:
    """Disjoint class polygons per region, measured per zone here (with H).

    With ``keep_classes=False`` the class polygons are worked out a batch of clusters
    at a time, measured per zone and dropped (:func:`zone_class_m2`): the memory they
    take is a batch's, not the data's."""

    name = "local"

    def __init__(self, keep_classes: bool = True, progress=None, *, split: bool = True) -> None:
        self.keep_classes = keep_classes
        self.progress = progress
        #: False: what is left of each part of H's layers is kept whole (remaining SHA
        #: and CHA), for callers that only measure those classes
        self.split = split

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def region_classes(
        self, pieces: np.ndarray, types: np.ndarray, zones: np.ndarray, overlay_log, origin=None
    ) -> RegionClasses:
        if self.keep_classes:
            parents: dict = {}
            classes = disjoint_classes(pieces, types, overlay_log, parents, split=self.split)
            with _ZoneMeter(zones, overlay_log) as meter:
                return RegionClasses(classes, *meter(classes, parents), parents=parents)
        m2, hazard = zone_class_m2(pieces, types, zones, overlay_log, progress=self.progress)
        return RegionClasses({}, m2, hazard)


class _ZoneMeter:
    """Measures the classes and H's layers per zone, two layers at a time (GEOS
    releases the GIL), each thread with its own prepared zones (they are not
    thread-safe).  Use it as a context manager."""

    def __init__(self, zones: np.ndarray, overlay_log) -> None:
        self.zones, self.overlay_log = zones, overlay_log
        self.own = threading.local()
        self.pool = ThreadPoolExecutor(2)

    def __enter__(self) -> _ZoneMeter:
        return self

    def __exit__(self, *exc) -> bool:
        self.pool.shutdown()
        return False

    def _measure(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """m² per zone (a last one outside), and the zone each part lies inside."""
        if not hasattr(self.own, "index"):
            self.own.index = ZoneIndex.of(self.zones)
        za = area_by_zone(parts, self.zones, self.overlay_log, self.own.index)
        return np.append(za.per_zone, za.outside), za.within

    def _measure_within(self, parts: np.ndarray, parent: np.ndarray, layer) -> np.ndarray:
        """m² per zone (a last one outside) of polygons that each lie in a part
        (``parent``) of a ``layer`` measured already (a future): those in a part that
        lies inside a zone are in that zone, without a test; the others are measured."""
        zone = layer.result()[1][parent]
        placed = zone >= 0
        m2 = np.bincount(zone[placed], shapely.area(parts[placed]), len(self.zones) + 1)
        return m2 + self._measure(parts[~placed])[0]

    def __call__(self, classes: dict, parents: dict) -> tuple[np.ndarray, np.ndarray]:
        """m² of each class per zone (rows, a last one outside; columns in the order of
        :data:`~mineland.classes.CLASSES`) and of H per zone.  The classes of
        :data:`~mineland.classes.WITHIN` are placed by their parts of H's layers
        (``parents``, from :func:`~mineland.classes.disjoint_classes`), measured first
        and submitted first, so that no task waits on one not started."""
        done = {k: self.pool.submit(self._measure, classes[k]) for k in (*HAZARD_LAYERS, *METHODS)}
        within = {
            k: self.pool.submit(self._measure_within, classes[k], parents[k], done[layer])
            for k, layer in WITHIN.items()
        }
        m2 = {k: f.result()[0] for k, f in done.items()} | {
            k: f.result() for k, f in within.items()
        }
        return np.column_stack([m2[k] for k in CLASSES]), sum(m2[k] for k in HAZARD_LAYERS)


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
    batches = _batches(pieces, size or BATCH_PIECES)
    with _ZoneMeter(zones, overlay_log) as meter:
        for k, batch in enumerate(batches):
            parents: dict = {}
            classes = disjoint_classes(
                pieces[batch], types[batch], overlay_log, parents, split=False
            )
            batch_m2, batch_hazard = meter(classes, parents)
            m2 += batch_m2
            hazard += batch_hazard
            if progress and len(batches) > 1:
                progress("classes, a batch of clusters at a time", k + 1, len(batches))
    return m2, hazard
