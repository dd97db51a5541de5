"""How deep points lie inside polygons, from the polygons' coordinates (pure numpy).

A disk of radius r centred on a point lies inside a polygon when the point is inside
it and at least r from each of its edges.  That shows, without an overlay, that two
polygons overlap by at least the disk's area: all that counting overlapping hazards
asks of most pairs.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["CENTRES", "edge_distance", "share_a_disk"]

#: where a disk's centre is tried in the overlap of two boxes (as fractions of its
#: width and height), in order: the middle, then the four quarter points
CENTRES = ((0.5, 0.5), (0.25, 0.25), (0.75, 0.75), (0.25, 0.75), (0.75, 0.25))


def edge_distance(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each polygon ``geoms[k]``, the distance from ``(x[k], y[k])`` to the nearest
    segment between two of its consecutive vertices (infinity for an empty one).

    For a polygon of one ring this is the distance to its boundary.  Vertices are
    consecutive across rings and parts too (the last of one, the first of the next),
    which only adds segments: the figure is never larger than the distance to the
    boundary, so a disk it shows is inside."""
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    out = np.full(len(geoms), np.inf)
    if len(xy) < 2:
        return out
    start, end, k = xy[:-1], xy[1:], owner[:-1]
    px, py = x[k] - start[:, 0], y[k] - start[:, 1]
    dx, dy = end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]
    length2 = dx * dx + dy * dy
    along = np.divide(px * dx + py * dy, length2, out=np.zeros(len(k)), where=length2 > 0)
    along = np.clip(along, 0.0, 1.0)
    gap2 = (px - along * dx) ** 2 + (py - along * dy) ** 2
    same = k == owner[1:]
    np.minimum.at(out, k[same], gap2[same])
    return np.sqrt(out)


def share_a_disk(a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Element-wise: True where a disk of ``radius`` lies inside both polygons, so that
    ``a ∩ b`` holds at least π·radius², shown without an overlay.  The disk's centre is
    tried at the :data:`CENTRES` of the overlap of their bounding boxes; False says
    nothing (the overlap may still be that large)."""
    out = np.zeros(len(a), dtype=bool)
    if len(a) == 0:
        return out
    box_a, box_b = shapely.bounds(a), shapely.bounds(b)
    low = np.maximum(box_a[:, :2], box_b[:, :2])
    size = np.minimum(box_a[:, 2:], box_b[:, 2:]) - low
    todo = np.flatnonzero((size >= 2 * radius).all(axis=1))  # room for the disk
    for fx, fy in CENTRES:
        x, y = low[todo, 0] + fx * size[todo, 0], low[todo, 1] + fy * size[todo, 1]
        inside = shapely.contains_xy(a[todo], x, y) & shapely.contains_xy(b[todo], x, y)
        at, x, y = todo[inside], x[inside], y[inside]
        deep = (edge_distance(a[at], x, y) >= radius) & (edge_distance(b[at], x, y) >= radius)
        out[at[deep]] = True
        todo = todo[~out[todo]]
        if len(todo) == 0:
            break
    return out
