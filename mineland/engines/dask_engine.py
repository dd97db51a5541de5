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
import logging
import os
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
from ..io.partitions import FilePartition, parquet_partitions, read_partition
from ..schema import SOURCE_ROW
from ..zones import prepare_geometries
from .base import PieceOrigin, RegionClasses
from .cluster import connect, run_tasks

log = logging.getLogger(__name__)

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


def _file_partition(part, row_group, rows, names, codes, regions, k) -> gpd.GeoDataFrame:
    """A record partition read by the worker from a row group of a GeoParquet file:
    the records checked as the reader checked them, projected into region ``k`` as
    the accounting projects them; ``at`` is each piece's position in ``rows``."""
    records = read_partition(part, row_group, rows, names[codes])
    geoms = np.asarray(records.geometry.array, dtype=object)
    pieces, owner = prepare_geometries(geoms, regions, OverlayLog())[k]
    return gpd.GeoDataFrame(
        {
            "record_type": records["record_type"].to_numpy()[owner],
            "at": records[SOURCE_ROW].to_numpy()[owner] - 1,
        },
        geometry=pieces,
    )


def _piece_areas(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    return frame["at"].to_numpy(), shapely.area(np.asarray(frame.geometry.array, dtype=object))


def _can_read(paths: list[str]) -> bool:
    return all(os.access(p, os.R_OK) for p in paths)


def _chunks(geoms, partitions, files) -> list[np.ndarray]:
    """The pieces of each partition: those of each file row group, or contiguous runs
    along a Hilbert curve, each covering a compact area (the ordering dask-geopandas'
    spatial_shuffle uses)."""
    if files is not None:
        return [p.at for p in files]
    nparts = partitions or max(2, min(64, len(geoms) // 20_000))
    order = np.argsort(gpd.GeoSeries(geoms).hilbert_distance().to_numpy(), kind="stable")
    return [idx for idx in np.array_split(order, nparts) if len(idx)]


def _plan(geoms, zones, partitions, groups, files=None):
    """The pieces of each partition, all zones with their district, and the groups
    of zones with the partitions each needs (``files``: the row groups the workers
    read the pieces from)."""
    n = len(zones)
    tiles = _outside_tiles(geoms, zones)
    all_zones = np.concatenate([zones, tiles])
    owner = np.concatenate([np.arange(n), np.full(len(tiles), n)])
    chunks = _chunks(geoms, partitions, files)
    hulls = np.array([shapely.box(*shapely.total_bounds(geoms[c])) for c in chunks])
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
    return chunks, all_zones, owner, plan


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
    origin: PieceOrigin | None = None,
) -> np.ndarray:
    """Class areas (m²) per district zone plus one last row for outside them.

    ``geoms`` are the area records (projected, valid), ``zones`` the disjoint
    districts.  With a ``client`` (or a ``scheduler`` address) the tasks run on that
    dask.distributed cluster and survive the loss of workers; otherwise on dask's
    local threads.  With an ``origin`` whose records all come from GeoParquet files
    the workers can read, the workers read and project their own row groups and only
    row numbers are sent; the pieces they make are checked against ``geoms``, and
    the geometry is sent after all when they differ.
    """
    if len(geoms) == 0:
        return np.zeros((len(zones) + 1, len(CLASSES)))
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
                origin=origin,
            )
    run = (geoms, rtype, zones, partitions, groups)
    if client is None:
        return _on_threads(*run)
    files = _readable_partitions(client, origin)
    how = (progress, worker_timeout)
    result = None if files is None else _on_cluster(client, run, how, (files, origin))
    return _on_cluster(client, run, how) if result is None else result


def _on_threads(geoms, rtype, zones, partitions, groups) -> np.ndarray:
    import dask  # the optional extra, checked by require_dask

    chunks, all_zones, owner, plan = _plan(geoms, zones, partitions, groups)
    outside = owner == len(zones)
    frames = [gpd.GeoDataFrame({"record_type": rtype[c]}, geometry=geoms[c]) for c in chunks]
    tasks = [
        dask.delayed(_group_task)(all_zones[g], outside[g], *[frames[i] for i in need])
        for g, need in plan
    ]
    return _add_up(len(zones), owner, plan, dask.compute(*tasks, scheduler="threads"))


def _add_up(n_zones: int, owner, plan, outputs) -> np.ndarray:
    result = np.zeros((n_zones + 1, len(CLASSES)))
    for (group, _), areas in zip(plan, outputs, strict=True):
        np.add.at(result, owner[group], areas)
    return result


def _readable_partitions(client, origin: PieceOrigin | None) -> list[FilePartition] | None:
    """The row groups the workers can read the pieces from, or None (the geometry is
    then sent): records not from GeoParquet, or files some worker cannot read."""
    if origin is None:
        return None
    files = parquet_partitions(origin.files, origin.rows)
    if files is None:
        log.info("dask: the records do not all come from GeoParquet; sending their geometry")
        return None
    paths = sorted({p.part for p in files})
    readable = client.run(_can_read, paths)
    if not all(readable.values()):
        cannot = sorted(w for w, ok in readable.items() if not ok)
        log.warning(
            "dask: workers %s cannot read %s; sending the geometry instead (put the input "
            "where every worker sees it at the same path to send only row numbers)",
            ", ".join(cannot),
            paths[0] if len(paths) == 1 else f"the {len(paths)} GeoParquet files",
        )
        return None
    return files


def _on_cluster(client, run, how, read=None) -> np.ndarray | None:
    """The zone groups on the cluster.  ``read`` (row groups, origin): the workers
    read their partitions themselves; None when what they read differs from the
    pieces here."""
    geoms, rtype, zones, partitions, groups = run
    files, origin = read if read is not None else (None, None)
    chunks, all_zones, owner, plan = _plan(geoms, zones, partitions, groups, files)
    token = uuid.uuid4().hex[:12]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
        made = [
            client.submit(*task, key=f"mineland-partition-{k}-{token}")
            for k, task in enumerate(_partition_tasks(geoms, rtype, chunks, files, origin))
        ]
    outside = owner == len(zones)
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
    # the zone groups start at once; their results are used only if the check passes
    if files is not None and not _same_pieces(client, made, geoms, chunks, how):
        client.cancel(made + futures)
        return None
    labels = [
        f"zone group {k + 1} of {len(plan)} ({len(g)} zones)" for k, (g, _) in enumerate(plan)
    ]
    progress, worker_timeout = how
    outputs = run_tasks(
        client, futures, labels=labels, progress=progress, worker_timeout=worker_timeout
    )
    return _add_up(len(zones), owner, plan, outputs)


def _partition_tasks(geoms, rtype, chunks, files, origin) -> list[tuple]:
    """The function and arguments that make each partition on a worker: from the
    WKB sent, or from the row group the worker reads (only row numbers and record
    type codes are sent)."""
    if files is None:
        return [(_partition, list(shapely.to_wkb(geoms[c])), rtype[c]) for c in chunks]
    tasks = []
    for p, c in zip(files, chunks, strict=True):
        names, codes = np.unique(rtype[c], return_inverse=True)
        args = (p.part, p.row_group, p.rows, names, codes.astype(np.uint8))
        tasks.append((_file_partition, *args, origin.regions, origin.region))
    return tasks


def _same_pieces(client, made, geoms, chunks, how) -> bool:
    """Whether the workers made, from the files, the very pieces held here (each
    piece's area to 1e-9): the files may have changed since they were read, or the
    records since (a notebook)."""
    checks = [client.submit(_piece_areas, m, pure=False) for m in made]
    labels = [f"reading partition {k + 1} of {len(made)}" for k in range(len(made))]
    found = run_tasks(client, checks, labels=labels, worker_timeout=how[1])
    for (at, area), c in zip(found, chunks, strict=True):
        if len(at) != len(c) or not np.array_equal(np.sort(at), np.arange(len(c))):
            break
        if not np.allclose(area, shapely.area(geoms[c])[at], rtol=1e-9, atol=0):
            break
    else:
        log.info("dask: the workers read %d row groups of GeoParquet themselves", len(made))
        return True
    log.warning(
        "dask: the records differ from their GeoParquet files (changed since they were "
        "read?); sending their geometry instead"
    )
    return False


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
        self, pieces: np.ndarray, types: np.ndarray, zones: np.ndarray, overlay_log, origin=None
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
            origin=origin,
        )
        return RegionClasses({name: np.empty(0, dtype=object) for name in CLASSES}, m2)
