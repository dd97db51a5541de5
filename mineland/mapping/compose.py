"""The optional layers of a map, worked out from the accounting they belong to."""

from __future__ import annotations

import os

from ..accounting import AccountingCache
from ..errors import attempt
from ..forecast import forecast_completion
from ..io import read_raster
from ..periods import release_progress
from ..priorities import prioritise
from ..raster import density_grid, landcover_impact
from ..unmapped import find_unmapped

__all__ = ["map_layers"]


def map_layers(
    accounts: AccountingCache,
    as_of: object = None,
    /,
    *,
    density: float | None = None,
    landcover: str | os.PathLike | None = None,
    timeline: str | None = None,
    unmapped: bool = False,
    forecast: str | None = None,
    priorities: bool = False,
    failures: list[str] | None = None,
) -> dict:
    """The density raster, land-cover breakdown, time slider, unmapped evidence
    (with the defaults of :func:`mineland.find_unmapped`) and completion forecast
    (over the ``forecast`` window) of a map, as keyword arguments for
    :func:`mineland.make_map`.

    Each is computed from ``accounts`` (the accounting at ``as_of`` and, for the
    time slider, at every period end up to it).  One that fails is left out and
    named in ``failures``; the map is still made.

    Examples
    --------
    >>> cache = AccountingCache(districts, surveys)  # doctest: +SKIP
    >>> make_map(cache.at(None), **map_layers(cache, density=100))  # doctest: +SKIP
    """
    failed = failures if failures is not None else []
    acc = accounts.at(as_of)
    layers: dict = {
        "density": None,
        "landcover": None,
        "progress": None,
        "unmapped": None,
        "forecast": None,
        "priorities": None,
    }
    if density:
        layers["density"] = attempt(
            "the density layer", density_grid, acc, resolution=density, failures=failed
        )
    if landcover:
        raster = read_raster(landcover)  # a missing file is an error, not a left-out layer
        layers["landcover"] = attempt(
            "the land-cover breakdown", landcover_impact, acc, None, raster, failures=failed
        )
    if timeline:
        layers["progress"] = attempt(
            "the time slider",
            release_progress,
            accounts.districts,
            accounts.records,
            freq=timeline,
            end=as_of,
            accounts=accounts,
            failures=failed,
        )
    if unmapped:
        layers["unmapped"] = attempt("the unmapped layer", find_unmapped, acc, failures=failed)
    if forecast:  # the window, e.g. "3y"
        layers["forecast"] = attempt(
            "the completion forecast",
            forecast_completion,
            accounts.districts,
            accounts.records,
            as_of=as_of,
            window=forecast,
            accounts=accounts,
            failures=failed,
        )
    if priorities:  # the default profile, without context layers
        layers["priorities"] = attempt("the priorities", prioritise, acc, failures=failed)
    return layers
