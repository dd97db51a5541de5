"""The dask engine: the accounting spread over a dask (distributed) cluster.

The plane is cut into disjoint zones, the districts plus tiles of the area outside
them, so every piece of every record belongs to exactly one zone.  Records are
partitioned spatially along a Hilbert curve; each partition is made on the cluster
by a task from its records' WKB, which the scheduler holds, so that it can be made
again when a worker dies (:mod:`.cluster`).  Each zone-group task takes a group of
zones and only the partitions whose extent meets them, clips the records to each
zone and runs the same class arithmetic as the local engine.
Because the zones are disjoint and clipping commutes with union and difference,
polygons crossing partition or zone borders are counted once, and the per-zone
hectares add up to the local engine's.
"""

from __future__ import annotations

import contextlib
import uuid
import warnings

import geopandas as gpd
import numpy as np
import shapely

from ..classes import CLASSES, disjoint_classes
from ..errors import MissingExtraError
from ..geometry import (
    OverlayLog,
    area_without_slivers,
    clip_by_zone,
    difference,
    intersection,
    union_all,
)
from .base import RegionClasses
from .cluster import connect, run_tasks

__all__ = ["DaskEngine", "require_dask", "zone_class_areas"]


def require_dask(scheduler: str | None = None) -> None:
    """Fail early, with an install hint, when the dask extra is missing."""
    modules = ["dask", "distributed"] if scheduler else ["dask"]
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            raise MissingExtraError(
                f"the dask engine needs {name!r}: pip install 'mineland[dask]'"
            ) from None


_OUTSIDE_TILES = 4  # the outside area is cut into this many × this many tiles


def _outside_tiles(geoms: np.ndarray, zones: np.ndarray) -> np.ndarray:
    everything = np.concatenate([geoms, zones])
    minx, miny, maxx, maxy = shapely.total_bounds(everything)
    extent = shapely.box(minx - 1, miny - 1, maxx + 1, maxy + 1)
    overlay_log = OverlayLog()
    outside = difference(
        extent, union_all(zones, overlay_log, "districts"), overlay_log, "outside tiles"
    )[0]
    xs = np.linspace(minx - 1, maxx + 1, _OUTSIDE_TILES + 1)
    ys = np.linspace(miny - 1, maxy + 1, _OUTSIDE_TILES + 1)
    cells = [
        shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])
        for i in range(_OUTSIDE_TILES)
        for j in range(_OUTSIDE_TILES)
    ]
    tiles = intersection(np.array(cells, dtype=object), outside, overlay_log, "outside tiles")
    return tiles[~shapely.is_empty(tiles) & (shapely.area(tiles) > 0)]


def _group_task(zones: np.ndarray, outside: np.ndarray, *frames) -> np.ndarray:
    """Class areas (m²) of each zone of a group, from the record partitions given.

    In the zones ``outside`` every district (the tiles), polygons narrower than 0.1 mm
    on average are the floating-point noise of district borders and are not counted,
    as the local engine does not count them."""
    overlay_log = OverlayLog()
    out = np.zeros((len(zones), len(CLASSES)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return out
    geoms = np.concatenate([np.asarray(f.geometry.array, dtype=object) for f in frames])
    rtype = np.concatenate([f["record_type"].to_numpy(dtype=object) for f in frames])
    pieces, ip, iz = clip_by_zone(geoms, zones, overlay_log)
    for z in range(len(zones)):
        sel = iz == z
        if not sel.any():
            continue
        classes = disjoint_classes(pieces[sel], rtype[ip[sel]], overlay_log)
        out[z] = [_area(classes[name], outside[z]) for name in CLASSES]
    return out


def _area(polygons: np.ndarray, outside: bool) -> float:
    if outside:  # as the local engine counts what lies outside the districts
        return area_without_slivers(polygons)
    return float(shapely.area(polygons).sum())


def _partition(wkb: list, rtype: np.ndarray) -> gpd.GeoDataFrame:
    """A record partition, made where it is needed from what the task holds."""
    return gpd.GeoDataFrame({"record_type": rtype}, geometry=shapely.from_wkb(wkb))


def _plan(geoms, rtype, zones, partitions, groups):
    """The partitions (WKB and types), all zones with their district, and the groups
    of zones with the partitions each needs."""
    n = len(zones)
    tiles = _outside_tiles(geoms, zones)
    all_zones = np.concatenate([zones, tiles])
    owner = np.concatenate([np.arange(n), np.full(len(tiles), n)])
    nparts = partitions or max(2, min(64, len(geoms) // 20_000))
    # spatial partitions: contiguous runs along a Hilbert curve, each covering a
    # compact area (the ordering dask-geopandas' spatial_shuffle uses)
    order = np.argsort(gpd.GeoSeries(geoms).hilbert_distance().to_numpy(), kind="stable")
    chunks = [idx for idx in np.array_split(order, nparts) if len(idx)]
    hulls = np.array([shapely.box(*shapely.total_bounds(geoms[c])) for c in chunks])
    parts = [(list(shapely.to_wkb(geoms[c])), rtype[c]) for c in chunks]
    zone_order = np.argsort(
        gpd.GeoSeries(shapely.centroid(all_zones))
        .hilbert_distance(total_bounds=shapely.total_bounds(all_zones))
        .to_numpy()
    )
    n_groups = groups or max(2, min(len(all_zones), 4 * len(chunks)))
    plan = []
    for group in np.array_split(zone_order, n_groups):
        if len(group):
            box = shapely.box(*shapely.total_bounds(all_zones[group]))
            plan.append((group, np.flatnonzero(shapely.intersects(hulls, box))))
    return parts, all_zones, owner, plan


def zone_class_areas(
    geoms: np.ndarray,
    rtype: np.ndarray,
    zones: np.ndarray,
    *,
    scheduler: str | None = None,
    client=None,
    partitions: int | None = None,
    groups: int | None = None,
    progress=None,
    worker_timeout: float = 60.0,
    connect_timeout: float = 10.0,
) -> np.ndarray:
    """Class areas (m²) per district zone plus one last row for outside them.

    ``geoms`` are the area records (projected, valid), ``zones`` the disjoint
    districts.  With a ``client`` (or a ``scheduler`` address) the tasks run on that
    dask.distributed cluster and survive the loss of workers; otherwise on dask's
    local threads.
    """
    import dask  # the optional extra, checked by require_dask

    result = np.zeros((len(zones) + 1, len(CLASSES)))
    if len(geoms) == 0:
        return result
    parts, all_zones, owner, plan = _plan(geoms, rtype, zones, partitions, groups)
    if client is None and scheduler:
        with connect(scheduler, connect_timeout) as own:
            return zone_class_areas(
                geoms,
                rtype,
                zones,
                client=own,
                partitions=partitions,
                groups=groups,
                progress=progress,
                worker_timeout=worker_timeout,
            )
    n_districts = len(zones)
    if client is not None:
        outputs = _on_cluster(
            client, parts, (all_zones, owner == n_districts), plan, progress, worker_timeout
        )
    else:
        frames = [_partition(*p) for p in parts]
        tasks = [
            dask.delayed(_group_task)(
                all_zones[g], owner[g] == n_districts, *[frames[i] for i in need]
            )
            for g, need in plan
        ]
        outputs = dask.compute(*tasks, scheduler="threads")
    for (group, _), areas in zip(plan, outputs, strict=True):
        np.add.at(result, owner[group], areas)
    return result


def _on_cluster(client, parts, zones, plan, progress, worker_timeout) -> list:
    """Submit the partitions and the zone groups as recomputable tasks; their results.
    ``zones``: every zone, and whether it lies outside the districts."""
    all_zones, outside = zones
    token = uuid.uuid4().hex[:12]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
        made = [
            client.submit(_partition, wkb, types, key=f"mineland-partition-{k}-{token}")
            for k, (wkb, types) in enumerate(parts)
        ]
        futures = [
            client.submit(
                _group_task,
                all_zones[g],
                outside[g],
                *[made[i] for i in need],
                key=f"mineland-group-{k}-{token}",
            )
            for k, (g, need) in enumerate(plan)
        ]
    labels = [
        f"zone group {k + 1} of {len(plan)} ({len(g)} zones)" for k, (g, _) in enumerate(plan)
    ]
    return run_tasks(
        client, futures, labels=labels, progress=progress, worker_timeout=worker_timeout
    )


class DaskEngine:
    """Class areas per zone computed on dask; no class polygons are kept.

    Used as a context manager, it connects to ``scheduler`` once (within
    ``connect_timeout`` seconds) for every region of an accounting."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        connect_timeout: float = 10.0,
        progress=None,
        worker_timeout: float = 60.0,
    ) -> None:
        require_dask(scheduler)
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout
        self.progress = progress
        self.worker_timeout = worker_timeout
        self.client = None

    def __enter__(self) -> DaskEngine:
        if self.scheduler and self.client is None:
            self.client = connect(self.scheduler, self.connect_timeout)
        return self

    def __exit__(self, *exc) -> bool:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
        return False

    def region_classes(
        self, pieces: np.ndarray, types: np.ndarray, zones: np.ndarray, overlay_log
    ) -> RegionClasses:
        m2 = zone_class_areas(
            pieces,
            types,
            zones,
            scheduler=self.scheduler,
            client=self.client,
            progress=self.progress,
            worker_timeout=self.worker_timeout,
            connect_timeout=self.connect_timeout,
        )
        return RegionClasses({name: np.empty(0, dtype=object) for name in CLASSES}, m2)
