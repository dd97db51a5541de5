"""Which district counts each record (a hazard by its largest piece, a device or an
incident by its point), and the records, devices, incidents and casualties per
district that follow (pure computation, on the accounting's projected pieces)."""

from __future__ import annotations

import numpy as np
import shapely

from . import schema
from .threads import map_chunks
from .zones import assign_points

__all__ = ["count_records", "record_slots", "record_weights"]


def _hazard_districts(parts, rtype, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The district (n: outside) of each SHA/CHA record with pieces in ``parts`` (a
    list of objects with ``pieces``, ``piece_record`` and ``zones``): where a point
    on the surface of its largest piece lies (of equals, the last).  Measured on the
    projected pieces, so nothing is projected again, and only on each record's
    largest piece of a region.  Returns the record rows and their districts."""
    found = []
    for region in parts:
        mine = np.flatnonzero(np.isin(rtype[region.piece_record], schema.HAZARD_TYPES))
        if not len(mine):
            continue
        rec, m2 = region.piece_record[mine], shapely.area(region.pieces[mine])
        top = _largest(rec, m2)
        points = map_chunks(shapely.point_on_surface, region.pieces[mine[top]])
        district = region.zones.district_of(points)
        district[district < 0] = n
        found.append((rec[top], m2[top], district))
    if not found:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    rec, m2, district = (np.concatenate(col) for col in zip(*found, strict=True))
    top = _largest(rec, m2)
    return rec[top], district[top]


def _largest(rec: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """The position of each record's largest piece (of equals, the last)."""
    if (rec[1:] > rec[:-1]).all():  # one piece a record, in order: as most data is
        return np.arange(len(rec))
    order = np.argsort(rec, kind="stable")
    r, a = rec[order], m2[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    sizes = np.diff(np.r_[starts, len(r)])
    best = np.flatnonzero(a == np.repeat(np.maximum.reduceat(a, starts), sizes))
    return order[best[np.r_[r[best][1:] != r[best][:-1], True]]]


def record_slots(records, rtype, parts, n: int) -> np.ndarray:
    """The district slot (n: outside every district) that counts each hazard, device
    and incident record; -1 for the records that no count holds."""
    slots = np.full(len(records), -1, dtype=np.int64)
    rec, district = _hazard_districts(parts, rtype, n)
    slots[rec] = district
    points = np.flatnonzero(np.isin(rtype, schema.POINT_TYPES))
    if len(points):
        geoms = np.asarray(records.geometry.array, dtype=object)[points]
        slots[points] = _slot(assign_points(geoms, [r.zones for r in parts]), n)
    return slots


def record_weights(records) -> dict[str, np.ndarray]:
    """What each record adds to the counts: its quantity of items (1 when not given),
    killed and injured (0 when not given)."""
    return {
        "quantity": records["quantity"].fillna(1).to_numpy(dtype=np.int64),
        "killed": records["killed"].fillna(0).to_numpy(dtype=np.int64),
        "injured": records["injured"].fillna(0).to_numpy(dtype=np.int64),
    }


def count_records(
    rtype, slots, weights: dict[str, np.ndarray], n: int, counted: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """Hazard records, devices, incidents and casualties per district (+ outside),
    from :func:`record_slots` and :func:`record_weights`, of the ``counted`` records
    (all by default); and how many devices and incidents lie outside."""
    counted = np.ones(len(rtype), dtype=bool) if counted is None else counted

    def per_slot(mask: np.ndarray, weights=None) -> np.ndarray:
        mask = mask & counted
        w = None if weights is None else weights[mask]
        return np.bincount(slots[mask], weights=w, minlength=n + 1).astype(np.int64)

    hazard = np.isin(rtype, schema.HAZARD_TYPES) & (slots >= 0)
    device, incident = rtype == "device", rtype == "incident"
    counts = {
        "hazard_records": per_slot(hazard),
        "devices": per_slot(device, weights["quantity"]),
        "incidents": per_slot(incident),
    }
    for col in ("killed", "injured"):
        counts[col] = per_slot(incident, weights[col])
    points_outside = int((np.isin(rtype, schema.POINT_TYPES) & (slots == n) & counted).sum())
    return counts, points_outside


def _slot(zone: np.ndarray, n: int) -> np.ndarray:
    return np.where(zone < 0, n, zone)
