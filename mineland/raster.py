"""Raster outputs: contamination density and land-cover impact (pure computation).

Coverage fractions are exact (exactextract computes the covered share of every
cell, partial cells included).  The density grid is in the equal-area projection
of the accounting by default, so every cell has the same ellipsoidal area and
``sum(fraction × cell area)`` is the contaminated area.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from .accounting import M2_PER_HA, Accounting, account
from .errors import DataError, SchemaError
from .geometry import OverlayLog, clip_by_zone, explode_polygons

__all__ = [
    "DENSITY_NODATA",
    "WORLDCOVER_CLASSES",
    "RasterData",
    "density_grid",
    "landcover_impact",
    "rasterize_contamination",
]

log = logging.getLogger(__name__)

#: ESA WorldCover 10 m v200 classes.
WORLDCOVER_CLASSES = {
    10: "Tree cover",
    20: "Shrubland",
    30: "Grassland",
    40: "Cropland",
    50: "Built-up",
    60: "Bare / sparse vegetation",
    70: "Snow and ice",
    80: "Permanent water bodies",
    90: "Herbaceous wetland",
    95: "Mangroves",
    100: "Moss and lichen",
}
DENSITY_NODATA = -1.0
BY = {"all": ("cha", "sha"), "cha": ("cha",), "sha": ("sha",)}
#: Features given to exactextract at once are grouped into tiles of this many cells.
_TILE_CELLS = 256


@dataclass
class RasterData:
    """A single-band raster in memory (what :func:`mineland.io.read_raster` returns)."""

    array: np.ndarray
    transform: Affine
    crs: pyproj.CRS
    nodata: float | None
    source: str = "raster"

    @property
    def res(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)


def _as_accounting(districts, surveys, as_of) -> Accounting:
    if isinstance(districts, Accounting):
        return districts
    return account(districts, surveys, as_of=as_of)


def _grouped_by_tile(geoms: np.ndarray, size: float) -> np.ndarray:
    """Disjoint polygons combined into one multipolygon per tile (fewer features)."""
    if len(geoms) == 0:
        return geoms
    geoms = explode_polygons(geoms)
    c = shapely.centroid(geoms)
    key = np.floor(shapely.get_x(c) / size).astype(np.int64) * 1_000_003 + np.floor(
        shapely.get_y(c) / size
    ).astype(np.int64)
    _, group = np.unique(key, return_inverse=True)
    order = np.argsort(group, kind="stable")
    return shapely.multipolygons(geoms[order], indices=group[order])


def _coverage_sum(geoms: np.ndarray, shape: tuple[int, int], bounds, crs: pyproj.CRS) -> np.ndarray:
    """Sum of the exact coverage fractions of ``geoms`` over a grid (row-major, top row 0)."""
    out = np.zeros(shape[0] * shape[1], dtype=np.float64)
    if len(geoms) == 0:
        return out.reshape(shape)
    template = NumPyRasterSource(
        np.zeros(shape, dtype=np.float32), *bounds, nodata=None, srs_wkt=crs.to_wkt()
    )
    frame = gpd.GeoDataFrame(geometry=list(geoms), crs=crs)
    result = exact_extract(template, frame, ["cell_id", "coverage"], output="pandas")
    for ids, cov in zip(result["cell_id"], result["coverage"], strict=True):
        np.add.at(out, np.asarray(ids, dtype=np.int64), np.asarray(cov, dtype=np.float64))
    return out.reshape(shape)


def density_grid(
    acc: Accounting, *, resolution: float = 100.0, crs: object = None, by: str = "all"
) -> tuple[np.ndarray, dict]:
    """The density raster of an :class:`~mineland.accounting.Accounting`."""
    if by not in BY:
        raise DataError(f"by must be one of {', '.join(BY)}, got {by!r}")
    if not resolution or resolution <= 0:
        raise DataError(f"resolution must be a positive number of metres, got {resolution!r}")
    target = acc.crs if crs is None else pyproj.CRS.from_user_input(crs)
    if not target.is_projected:
        raise DataError(f"the raster grid needs a projected CRS in metres, got {target.name}")
    if crs is not None and "Lambert Azimuthal Equal Area" not in target.to_wkt():
        log.warning("%s is not equal-area: cell areas on the ground differ", target.name)
    transform = pyproj.Transformer.from_crs(acc.crs, target, always_xy=True).transform

    def to_target(geoms):
        if crs is None or len(geoms) == 0:
            return geoms
        return shapely.transform(geoms, transform, interleaved=False)

    zones = to_target(acc.zones)
    parts = to_target(np.concatenate([acc.classes[k] for k in BY[by]]))
    everything = np.concatenate([zones, parts]) if len(parts) else zones
    minx, miny, maxx, maxy = shapely.total_bounds(everything)
    r = float(resolution)
    minx, miny = np.floor(minx / r) * r, np.floor(miny / r) * r
    maxx, maxy = np.ceil(maxx / r) * r, np.ceil(maxy / r) * r
    width, height = int(round((maxx - minx) / r)), int(round((maxy - miny) / r))
    if width * height > 200_000_000:
        raise DataError(
            f"a {width} × {height} grid at {r:g} m is too large; choose a coarser resolution"
        )
    bounds = (minx, miny, maxx, maxy)
    tile = _TILE_CELLS * r
    cover = _coverage_sum(_grouped_by_tile(parts, tile), (height, width), bounds, target)
    land = _coverage_sum(zones, (height, width), bounds, target)
    density = np.clip(cover, 0.0, 1.0).astype(np.float32)
    density[(land <= 0) & (cover <= 0)] = DENSITY_NODATA
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "nodata": DENSITY_NODATA,
        "width": width,
        "height": height,
        "count": 1,
        "crs": target.to_wkt(),
        "transform": Affine(r, 0.0, minx, 0.0, -r, maxy),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3,
    }
    return density, profile


def rasterize_contamination(
    districts,
    surveys=None,
    /,
    *,
    resolution: float = 100.0,
    crs: object = None,
    as_of: object = None,
    by: str = "all",
) -> tuple[np.ndarray, dict]:
    """Exact contamination density on a grid.

    Parameters
    ----------
    districts, surveys
        As for :func:`mineland.summarize` (or an :class:`Accounting` alone).
    resolution
        Cell size in metres.
    crs
        The grid's projected CRS; by default the accounting's equal-area projection,
        where every cell has the same ground area.
    as_of
        As for :func:`mineland.summarize`.
    by
        ``"all"`` (remaining SHA and CHA), ``"cha"`` or ``"sha"``.

    Returns
    -------
    (numpy.ndarray, dict)
        Float32 fractions 0–1 of each cell covered by remaining contamination (nodata
        -1 outside the districts) and a rasterio profile (tiled, deflate).

    Examples
    --------
    >>> array, profile = rasterize_contamination(d, s, resolution=50)  # doctest: +SKIP
    """
    acc = _as_accounting(districts, surveys, as_of)
    return density_grid(acc, resolution=resolution, crs=crs, by=by)


def _class_names(classes: Mapping | None) -> dict[int, str]:
    if classes is None:
        return dict(WORLDCOVER_CLASSES)
    out = {}
    for k, v in classes.items():
        try:
            out[int(k)] = str(v)
        except (TypeError, ValueError):
            raise SchemaError(f"land-cover class codes must be whole numbers, got {k!r}") from None
    return out


def landcover_impact(
    districts,
    surveys=None,
    landcover=None,
    /,
    *,
    classes: Mapping | None = None,
    as_of: object = None,
) -> pd.DataFrame:
    """Hectares of remaining contamination and of released land per district and
    land-cover class.

    Parameters
    ----------
    districts, surveys
        As for :func:`mineland.summarize` (or an :class:`Accounting` and ``None``).
    landcover
        A :class:`RasterData` or the path of a categorical raster, in any CRS.  The
        vectors are reprojected to it; the categories are never resampled.
    classes
        Class code → name; ESA WorldCover's names by default.

    Returns
    -------
    pandas.DataFrame
        ``district``, ``class_value``, ``class_name``, ``contaminated_ha``,
        ``released_ha``.  Area outside the raster or on its nodata cells is reported
        with ``class_name`` ``"(no land-cover data)"``, so each district's rows add up
        to its summary figures.

    Examples
    --------
    >>> landcover_impact(districts, surveys, "worldcover.tif")  # doctest: +SKIP
    """
    if landcover is None:
        raise DataError("landcover_impact needs a land-cover raster")
    if not isinstance(landcover, RasterData):
        from .io import read_raster

        landcover = read_raster(landcover)
    names = _class_names(classes)
    acc = _as_accounting(districts, surveys, as_of)
    zones = acc.zones
    overlay_log = OverlayLog()
    groups = {
        "contaminated_ha": np.concatenate([acc.classes["cha"], acc.classes["sha"]]),
        "released_ha": np.concatenate(
            [acc.classes["cleared"], acc.classes["reduced"], acc.classes["cancelled"]]
        ),
    }
    feats, meta = [], []
    for col, parts in groups.items():
        pieces, _, iz = clip_by_zone(parts, zones, overlay_log)
        keep = ~shapely.is_empty(pieces) if len(pieces) else np.zeros(0, dtype=bool)
        for z in np.unique(iz[keep]):
            geom = shapely.multipolygons(explode_polygons(pieces[keep][iz[keep] == z]))
            feats.append(geom)
            meta.append((int(z), col, shapely.area(geom) / M2_PER_HA))
    rows: dict[tuple[str, int | None], dict] = {}
    district_names = list(acc.districts["district"])
    if feats:
        to_raster = pyproj.Transformer.from_crs(acc.crs, landcover.crs, always_xy=True).transform
        in_raster = shapely.transform(np.array(feats, dtype=object), to_raster, interleaved=False)
        planar = shapely.area(in_raster)
        dx, dy = landcover.res
        h, w = landcover.array.shape
        t = landcover.transform
        bounds = (t.c, t.f + h * t.e, t.c + w * t.a, t.f)
        nodata = landcover.nodata
        if nodata is not None and np.issubdtype(landcover.array.dtype, np.integer):
            nodata = int(nodata)
        src = NumPyRasterSource(
            landcover.array, *bounds, nodata=nodata, srs_wkt=landcover.crs.to_wkt()
        )
        frame = gpd.GeoDataFrame(geometry=list(in_raster), crs=landcover.crs)
        result = exact_extract(src, frame, ["coverage", "values"], output="pandas")
        for k, (cov, vals) in enumerate(zip(result["coverage"], result["values"], strict=True)):
            z, col, true_ha = meta[k]
            cells = planar[k] / (dx * dy)  # how many cells the feature covers in all
            cov = np.asarray(cov, dtype=float)
            vals = np.asarray(vals, dtype=float)
            valid = np.isfinite(vals)
            if landcover.nodata is not None:
                valid &= vals != landcover.nodata
            values = np.unique(vals[valid])
            shares = np.array([cov[valid & (vals == v)].sum() for v in values]) / max(cells, 1e-300)
            if shares.sum() > 1 - 1e-4 and shares.sum() > 0:
                shares = shares / shares.sum()  # covered in full: the rest is rounding
            for v, share in zip(values, shares, strict=True):
                key = (district_names[z], int(v))
                rows.setdefault(key, {"contaminated_ha": 0.0, "released_ha": 0.0})
                rows[key][col] += true_ha * share
            rest = true_ha * (1.0 - shares.sum())
            if rest > 0:
                key = (district_names[z], None)
                rows.setdefault(key, {"contaminated_ha": 0.0, "released_ha": 0.0})
                rows[key][col] += rest
    table = pd.DataFrame(
        [
            {
                "district": d,
                "class_value": v,
                "class_name": "(no land-cover data)" if v is None else names.get(v, f"class {v}"),
                **vals,
            }
            for (d, v), vals in rows.items()
        ],
        columns=["district", "class_value", "class_name", "contaminated_ha", "released_ha"],
    )
    order = {n: i for i, n in enumerate(district_names)}
    table["_order"] = table["district"].map(order)
    table = table.sort_values(["_order", "class_value"], na_position="last").drop(columns="_order")
    table["class_value"] = table["class_value"].astype("Int64")
    return table.reset_index(drop=True)
