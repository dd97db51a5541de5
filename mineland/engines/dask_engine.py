"""The dask engine: the accounting spread over a dask (distributed) cluster.

The plane is cut into disjoint zones, the districts plus tiles of the area outside
them, so every piece of every record belongs to exactly one zone.  Records are
partitioned spatially along a Hilbert curve and scattered to the workers once; each
task
takes a group of zones and only the record partitions whose extent meets them, clips
the records to each zone and runs the same class arithmetic as the local engine.
Because the zones are disjoint and clipping commutes with union and difference,
polygons crossing partition or zone borders are counted once, and the per-zone
hectares add up to the local engine's.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ..classes import CLASSES, disjoint_classes
from ..errors import MissingExtraError
from ..geometry import OverlayLog, clip_by_zone, difference, intersection, union_all
from .base import RegionClasses

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


def _group_task(zones: np.ndarray, *frames) -> np.ndarray:
    """Class areas (m²) of each zone of a group, from the record partitions given."""
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
        out[z] = [float(shapely.area(classes[name]).sum()) for name in CLASSES]
    return out


def zone_class_areas(
    geoms: np.ndarray,
    rtype: np.ndarray,
    zones: np.ndarray,
    *,
    scheduler: str | None = None,
    partitions: int | None = None,
    groups: int | None = None,
) -> np.ndarray:
    """Class areas (m²) per district zone plus one last row for outside them.

    ``geoms`` are the area records (projected, valid), ``zones`` the disjoint
    districts.  With ``scheduler`` (a ``tcp://`` address) the tasks run on that
    dask.distributed cluster; otherwise on dask's local threads.
    """
    import dask  # the optional extra, checked by require_dask

    n = len(zones)
    result = np.zeros((n + 1, len(CLASSES)))
    if len(geoms) == 0:
        return result
    tiles = _outside_tiles(geoms, zones)
    all_zones = np.concatenate([zones, tiles])
    owner = np.concatenate([np.arange(n), np.full(len(tiles), n)])
    frame = gpd.GeoDataFrame({"record_type": rtype}, geometry=list(geoms))
    nparts = partitions or max(2, min(64, len(frame) // 20_000))
    # spatial partitions: contiguous runs along a Hilbert curve, each covering a
    # compact area (the ordering dask-geopandas' spatial_shuffle uses)
    order = np.argsort(frame.geometry.hilbert_distance().to_numpy(), kind="stable")
    chunks = [frame.iloc[idx] for idx in np.array_split(order, nparts) if len(idx)]
    hulls = np.array([shapely.box(*c.total_bounds) for c in chunks], dtype=object)
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
    if scheduler:
        from distributed import Client

        # a client of our own: the caller's default client is left alone
        with Client(scheduler, set_as_default=False) as client:
            scattered = client.scatter(chunks)
            futures = [
                client.submit(_group_task, all_zones[g], *[scattered[i] for i in need], pure=False)
                for g, need in plan
            ]
            outputs = client.gather(futures)
    else:
        tasks = [
            dask.delayed(_group_task)(all_zones[g], *[chunks[i] for i in need]) for g, need in plan
        ]
        outputs = dask.compute(*tasks, scheduler="threads")
    for (group, _), areas in zip(plan, outputs, strict=True):
        np.add.at(result, owner[group], areas)
    return result


class DaskEngine:
    """Class areas per zone computed on dask; no class polygons are kept."""

    name = "dask"

    def __init__(self, scheduler: str | None = None) -> None:
        require_dask(scheduler)
        self.scheduler = scheduler

    def region_classes(
        self, pieces: np.ndarray, types: np.ndarray, zones: np.ndarray, overlay_log
    ) -> RegionClasses:
        m2 = zone_class_areas(pieces, types, zones, scheduler=self.scheduler)
        return RegionClasses({name: np.empty(0, dtype=object) for name in CLASSES}, m2)
