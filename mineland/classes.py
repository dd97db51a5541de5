"""The disjoint accounting classes (pure computation, one projection).

With U(x) the union of a set of polygons::

    H  = U(SHA ∪ CHA)        C  = U(CHA)
    CL = U(cleared)          RD = U(reduced) − CL       CN = U(cancelled) − CL − U(reduced)
    R  = CL ∪ RD ∪ CN
    remaining CHA = C − R    remaining SHA = H − C − R
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .geometry import OverlayLog, subtract, subtract_of, union_parts
from .threads import urgent

__all__ = [
    "CLASSES",
    "HAZARD_LAYERS",
    "METHODS",
    "WITHIN",
    "disjoint_classes",
    "released_parts",
]

#: The disjoint accounting classes, in display order, with their summary column.
CLASSES = {
    "cha": "cha_ha",
    "sha": "sha_ha",
    "cleared": "cleared_ha",
    "reduced": "reduced_ha",
    "cancelled": "cancelled_ha",
}
#: H = U(SHA ∪ CHA), kept beside the classes in two layers, U(SHA) − C and C: the
#: parts of each share no edge (a cutter for :func:`~mineland.geometry.subtract`; the
#: parts of both together do, so they are not one cutter).
HAZARD_LAYERS = ("hazard_sha", "hazard_cha")
#: The release classes, in order of precedence.
METHODS = ("cleared", "reduced", "cancelled")
#: The classes whose every polygon lies in one part of a layer of H: C − R in C,
#: and U(SHA) − C − R in U(SHA) − C.
WITHIN = {"cha": HAZARD_LAYERS[1], "sha": HAZARD_LAYERS[0]}


def disjoint_classes(
    geoms: np.ndarray,
    rtype: np.ndarray,
    overlay_log: OverlayLog,
    parents: dict | None = None,
    *,
    split: bool = True,
) -> dict[str, np.ndarray]:
    """The five disjoint accounting classes as arrays of polygons (see module doc),
    plus H in two layers under the keys :data:`HAZARD_LAYERS`.  A ``parents`` dict
    receives, for each class of :data:`WITHIN`, the index of the part of its layer of
    H that each of its polygons lies in.

    ``geoms`` are valid projected polygons, ``rtype`` their record types.  Remaining
    SHA is computed as U(SHA) − C − R, which equals H − C − R without building H.
    Independent unions and differences run in threads (GEOS releases the GIL); every
    task is submitted after the tasks it waits for, so the pool cannot deadlock.  The
    longest chain, U(SHA), U(SHA) − C, then − R, hands its work to the geometry
    kernel's threads as :func:`~mineland.threads.urgent`: queued behind C − R, it
    would finish last, alone.
    ``split=False`` leaves the remaining SHA and CHA of each part of H's layers whole,
    one (Multi)Polygon (see :func:`~mineland.geometry.subtract_of`): to measure them.
    """
    with ThreadPoolExecutor(4) as pool:

        def union(kind: str, first: bool = False):
            return then(
                lambda: union_parts(geoms[rtype == kind], overlay_log, f"union {kind}"), first=first
            )

        def then(fn, *deps, first: bool = False):
            def run():
                args = [d.result() for d in deps]
                with urgent(first):
                    return fn(*args)

            return pool.submit(run)

        u_sha, u_cha = union("SHA", first=True), union("CHA")
        u_cl, u_rd, u_cn = union("cleared"), union("reduced"), union("cancelled")
        released = then(
            lambda a, b, c: union_parts(np.concatenate([a, b, c]), overlay_log, "union releases"),
            u_cl,
            u_rd,
            u_cn,
        )
        sha_no_cha = then(lambda a, c: subtract(a, c, overlay_log), u_sha, u_cha, first=True)
        reduced = then(lambda rd, cl: subtract(rd, cl, overlay_log), u_rd, u_cl)
        cancelled = then(
            lambda cn, cl, rd: subtract(subtract(cn, cl, overlay_log), rd, overlay_log),
            u_cn,
            u_cl,
            u_rd,
        )
        cha = then(lambda c, r: subtract_of(c, r, overlay_log, split=split), u_cha, released)
        sha = then(
            lambda h, r: subtract_of(h, r, overlay_log, split=split),
            sha_no_cha,
            released,
            first=True,
        )
        if parents is not None:
            parents.update(cha=cha.result()[1], sha=sha.result()[1])
        return {
            "cha": cha.result()[0],
            "sha": sha.result()[0],
            "cleared": u_cl.result(),
            "reduced": reduced.result(),
            "cancelled": cancelled.result(),
            # H, for validation (released land outside every hazard)
            HAZARD_LAYERS[0]: sha_no_cha.result(),
            HAZARD_LAYERS[1]: u_cha.result(),
        }


def released_parts(classes: dict, overlay_log: OverlayLog) -> np.ndarray:
    """R as a cutter for :func:`~mineland.geometry.subtract`: the release classes
    merged into parts that share no edge (the classes do: reduced land borders cleared
    land, and as one multipolygon they are invalid)."""
    return union_parts(np.concatenate([classes[m] for m in METHODS]), overlay_log, "releases")
