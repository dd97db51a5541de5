"""Where the class arithmetic runs: one interface, several engines.

An engine takes the projected, valid pieces of the area records of one equal-area
region with their record types and the region's disjoint district zones, and returns
:class:`RegionClasses`: the disjoint polygons of each accounting class (kept for maps
and progress) and/or their areas per zone.  The accounting adds up zones into
districts the same way whatever the engine.

- ``"local"`` (:mod:`.local`): in this process; keeps the class polygons.
- ``"dask"`` (:mod:`.dask_engine`): on dask's threads or a dask.distributed cluster; returns
  areas only.
"""

from __future__ import annotations

from ..errors import DataError
from .base import Engine, PieceOrigin, RegionClasses
from .local import LocalEngine

__all__ = ["ENGINES", "Engine", "PieceOrigin", "RegionClasses", "get_engine"]

ENGINES = ("local", "dask")


def get_engine(
    name: str,
    *,
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
    progress=None,
    keep_classes: bool = True,
) -> Engine:
    """The engine called ``name``; ``scheduler`` is a dask.distributed address, which
    must answer within ``connect_timeout`` seconds; ``progress`` follows the tasks on
    the cluster; ``keep_classes=False`` lets the local engine measure the class
    polygons a batch at a time and keep none.  Use it as a context manager around
    the work.

    Examples
    --------
    >>> get_engine("local").name
    'local'
    """
    if name == "local":
        return LocalEngine(keep_classes, progress)
    if name == "dask":
        from .dask_engine import DaskEngine  # needs the optional dask extra

        return DaskEngine(scheduler, connect_timeout=connect_timeout, progress=progress)
    raise DataError(f"engine must be one of {', '.join(ENGINES)}, got {name!r}")
