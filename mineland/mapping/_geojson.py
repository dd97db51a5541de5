"""Compact GeoJSON for the page: rounded coordinates, polylines encoded as text, and
JSON that is safe inside a script element."""

from __future__ import annotations

import json

import numpy as np
import shapely


def script_json(obj: object) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>`` breakout)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def round_coords(geoms: np.ndarray, decimals: int = 5) -> np.ndarray:
    """Round coordinates for display (1e-5° is about 1 m)."""
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def geojson_collection(geoms: np.ndarray, properties: list[dict] | None = None) -> str:
    """A FeatureCollection as compact JSON text (geometries via shapely)."""
    if len(geoms) == 0:
        return '{"type":"FeatureCollection","features":[]}'
    texts = shapely.to_geojson(geoms)
    if properties is None:
        feats = [f'{{"type":"Feature","properties":{{}},"geometry":{t}}}' for t in texts]
    else:
        feats = [
            f'{{"type":"Feature","properties":{script_json(p)},"geometry":{t}}}'
            for t, p in zip(texts, properties, strict=True)
        ]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


def polyline_chars(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Encode integers with the polyline algorithm: the characters and the
    number of characters of each value (vectorised)."""
    v = np.asarray(values, dtype=np.int64)
    z = np.where(v < 0, ~(v << 1), v << 1).astype(np.uint64)  # zigzag
    chunks = np.stack([(z >> np.uint64(5 * k)) & np.uint64(0x1F) for k in range(7)], axis=1)
    bits = np.zeros(len(z), dtype=np.int64)
    for k in range(7):
        bits[(z >> np.uint64(5 * k)) > 0] = k + 1
    length = np.maximum(bits, 1)
    k = np.arange(7)[None, :]
    more = k < (length[:, None] - 1)
    chars = (chunks.astype(np.int64) | np.where(more, 0x20, 0)) + 63
    keep = k < length[:, None]
    return chars[keep].astype(np.uint8).tobytes(), length


def encode_polygons(geoms: np.ndarray, decimals: int = 5) -> dict:
    """Polygons (lon/lat) as compact polyline-encoded rings for the map.

    Returns ``{"rings": [...], "parts": [...]}``: one encoded string per ring
    (lat, lon pairs, delta-coded at 10^-decimals degrees, closing vertex dropped) and
    the number of rings of each polygon.  About a third of the size of GeoJSON.
    """
    polys = explode_for_display(geoms)
    if len(polys) == 0:
        return {"rings": [], "parts": []}
    rings, owner = shapely.get_rings(polys, return_index=True)
    parts = np.bincount(owner, minlength=len(polys)).tolist()
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    counts = np.bincount(ring_of, minlength=len(rings))
    last = np.cumsum(counts) - 1
    keep = np.ones(len(coords), dtype=bool)
    keep[last] = False  # drop each ring's closing vertex
    coords, ring_of = coords[keep], ring_of[keep]
    scaled = np.round(coords[:, ::-1] * 10**decimals).astype(np.int64)  # lat, lon
    first = np.r_[True, ring_of[1:] != ring_of[:-1]]
    delta = scaled.copy()
    delta[1:] -= scaled[:-1]
    delta[first] = scaled[first]
    chars, length = polyline_chars(delta.reshape(-1))
    per_vertex = length.reshape(-1, 2).sum(axis=1)
    per_ring = np.bincount(ring_of, weights=per_vertex, minlength=len(rings)).astype(np.int64)
    text = chars.decode("ascii")
    ends = np.cumsum(per_ring)
    starts = ends - per_ring
    return {"rings": [text[a:b] for a, b in zip(starts, ends, strict=True)], "parts": parts}


def explode_for_display(geoms: np.ndarray) -> np.ndarray:
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    if len(parts) == 0:
        return parts
    ok = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON.value) & ~shapely.is_empty(
        parts
    )
    return parts[ok]
