"""Input files most of whose records lie far from every district: the sign of a wrong CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from .. import schema
from ..districts import as_districts
from ..records import SurveyData
from ._spatial import distance_m


def far_files(
    districts: gpd.GeoDataFrame, surveys: SurveyData, /, *, km: float = 100.0
) -> list[str]:
    """Input files most of whose records lie more than ``km`` from every district.

    That is what a wrong CRS looks like (another UTM zone, swapped axes, a file
    declared in the wrong system).  Returns one message per such file, with the
    typical distance and a hint.

    Examples
    --------
    >>> far_files(read_districts("d.gpkg"), read_surveys("s"))  # doctest: +SKIP
    ['s.gpkg: 950 of 1,000 records lie more than 100 km from every district ...']
    """
    dist = as_districts(districts)
    records = surveys.records
    if len(records) == 0:
        return []
    zones = np.asarray(dist.geometry.array, dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(zones)
    pad = km / 111.0 * 2  # generous: only what is surely far is measured
    b = shapely.bounds(np.asarray(records.geometry.array, dtype=object))
    x, y = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2  # cheap: the box centres
    maybe = (x < minx - pad) | (x > maxx + pad) | (y < miny - pad) | (y > maxy + pad)
    anchor = np.full(len(records), None, dtype=object)
    anchor[maybe] = shapely.points(x[maybe], y[maybe])
    messages = []
    tree = shapely.STRtree(zones)
    for source, idx in records.groupby(schema.SOURCE_FILE).indices.items():
        cand = idx[maybe[idx]]
        if len(cand) * 2 <= len(idx):
            continue
        d = distance_m(anchor[cand], zones, tree) / 1000
        far = d > km
        if far.sum() * 2 <= len(idx):
            continue
        swapped = shapely.points(y[cand][far], x[cand][far])
        back = len(tree.query(swapped, predicate="intersects")[0])
        crs = surveys.sources.set_index("source_file")["crs"].get(source)
        hint = (
            "lon and lat look swapped"
            if back * 2 > far.sum()
            else f"the file's CRS is {crs or 'not declared'}: is it the right one (zone, "
            "datum, a Gauss-Krüger zone prefix)?"
        )
        messages.append(
            f"{source}: {int(far.sum()):,} of {len(idx):,} records lie more than {km:g} km "
            f"from every district (median {np.median(d[far]):,.0f} km); {hint}"
        )
    return messages
