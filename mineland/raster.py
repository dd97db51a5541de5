"""Raster outputs: contamination density and land-cover impact (pure computation).

Coverage fractions are exact (exactextract computes the covered share of every
cell, partial cells included).  The density grid is in the equal-area projection
of the accounting by default, so every cell has the same ellipsoidal area and
``sum(fraction × cell area)`` is the contaminated area.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from . import schema
from .accounting import M2_PER_HA, Accounting, account
from .crs import named_crs
from .errors import DataError, SchemaError, positive_metres
from .geometry import (
    OverlayLog,
    clip_by_zone,
    explode_polygons,
    intersection,
    subtract,
    union_groups,
)
from .rasterdata import RasterData
from .zones import repaired, transformer

__all__ = [
    "DENSITY_NODATA",
    "WORLDCOVER_CLASSES",
    "DensityPlan",
    "RasterData",
    "density_grid",
    "plan_density",
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
IMPACT_GROUPS = {
    "contaminated_ha": ("cha", "sha"),
    "released_ha": ("cleared", "reduced", "cancelled"),
}
#: Features given to exactextract at once are grouped into tiles of this many cells.
_TILE_CELLS = 256
#: The side of the windows a density grid is worked out in (cells): 1 M cells, about
#: 50 MB of working memory, whatever the size of the grid.
WINDOW_CELLS = 1024


def _as_accounting(districts, surveys, as_of) -> Accounting:
    if isinstance(districts, Accounting):
        return districts
    return account(districts, surveys, as_of=as_of)


def _grouped_by_tile(geoms: np.ndarray, size: float) -> np.ndarray:
    """Disjoint single polygons (the plan's, exploded once) combined into one
    multipolygon per tile (fewer features)."""
    if len(geoms) == 0:
        return geoms
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


def _in_crs(acc: Accounting, target: pyproj.CRS, pick) -> np.ndarray:
    """``pick(region)`` of every region, transformed into ``target``."""
    out = []
    for region in acc.regions:
        geoms = pick(region)
        if len(geoms) and not region.crs.equals(target):
            t = transformer(region.crs, target)
            geoms = shapely.transform(geoms, t.transform, interleaved=False)
        out.append(geoms)
    return np.concatenate(out) if out else np.empty(0, dtype=object)


@dataclass
class DensityPlan:
    """A density grid, ready to be worked out window by window: memory is bounded by
    the window, not by the grid."""

    parts: np.ndarray  # remaining contamination in the grid's CRS
    zones: np.ndarray  # the district zones in the grid's CRS
    profile: dict  # the GeoTIFF's rasterio profile (width, height, transform, ...)
    crs: pyproj.CRS
    part_tree: shapely.STRtree = field(init=False)
    zone_tree: shapely.STRtree = field(init=False)

    def __post_init__(self) -> None:
        self.part_tree = shapely.STRtree(self.parts)
        self.zone_tree = shapely.STRtree(self.zones)

    @property
    def shape(self) -> tuple[int, int]:
        return self.profile["height"], self.profile["width"]

    def windows(self, size: int = WINDOW_CELLS) -> list[tuple[int, int, int, int]]:
        """(row offset, column offset, rows, columns) of windows covering the grid."""
        height, width = self.shape
        return [
            (r, c, min(size, height - r), min(size, width - c))
            for r in range(0, height, size)
            for c in range(0, width, size)
        ]

    def window(self, row: int, col: int, rows: int, cols: int) -> np.ndarray:
        """The density (float32, nodata outside the districts) of one window."""
        t = self.profile["transform"]
        x0, y1 = t.c + col * t.a, t.f + row * t.e
        bounds = (x0, y1 + rows * t.e, x0 + cols * t.a, y1)
        box = shapely.box(*bounds)
        tile = _TILE_CELLS * t.a
        parts = _grouped_by_tile(self.parts[np.sort(self.part_tree.query(box))], tile)
        zones = self.zones[self.zone_tree.query(box)]
        cover = _coverage_sum(parts, (rows, cols), bounds, self.crs)
        land = _coverage_sum(zones, (rows, cols), bounds, self.crs)
        density = np.clip(cover, 0.0, 1.0).astype(np.float32)
        density[(land <= 0) & (cover <= 0)] = DENSITY_NODATA
        return density


def plan_density(
    acc: Accounting, *, resolution: float = 100.0, crs: object = None, by: str = "all"
) -> DensityPlan:
    """The grid of the density raster of an :class:`~mineland.accounting.Accounting`:
    its extent (the districts and the contamination), CRS and profile."""
    if by not in BY:
        raise DataError(f"by must be one of {', '.join(BY)}, got {by!r}")
    positive_metres(resolution, "resolution")
    if crs is None and len(acc.regions) > 1:
        raise DataError(
            f"the data spans {len(acc.regions)} equal-area regions, so there is no single "
            "equal-area grid; give a projected CRS for the grid, or keep the data in one region"
        )
    target = acc.regions[0].crs if crs is None else pyproj.CRS.from_user_input(crs)
    if not target.is_projected:
        raise DataError(f"the raster grid needs a projected CRS in metres, got {target.name}")
    if crs is not None and "Lambert Azimuthal Equal Area" not in target.to_wkt():
        log.warning("%s is not equal-area: cell areas on the ground differ", target.name)
    zones = _in_crs(acc, target, lambda r: r.zones.zones)
    parts = _in_crs(acc, target, lambda r: np.concatenate([r.classes[k] for k in BY[by]]))
    everything = np.concatenate([zones, parts]) if len(parts) else zones
    r = float(resolution)
    minx, maxy, width, height = _grid(shapely.total_bounds(everything), r)
    profile = {
        "driver": "GTiff",
        "dtype": "float32",
        "nodata": DENSITY_NODATA,
        "width": width,
        "height": height,
        "count": 1,
        "crs": named_crs(target).to_wkt(),  # a name QGIS shows, not "unknown"
        "transform": Affine(r, 0.0, minx, 0.0, -r, maxy),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3,
        "BIGTIFF": "IF_SAFER",
    }
    return DensityPlan(explode_polygons(parts), zones, profile, target)


#: what a GeoTIFF can hold: rows and columns (GDAL counts them in 32-bit integers), and
#: tiles of 256 x 256 cells (GDAL keeps their offsets, 8 bytes each, under 2 GB)
MAX_SIDE, MAX_TILES = 2**31 - 1, 2**31 // 8


def _grid(bounds: np.ndarray, r: float) -> tuple[float, float, int, int]:
    """The grid of cells of ``r`` metres on whole multiples of ``r`` that covers
    ``bounds``: its upper left corner, width and height; a DataError when a GeoTIFF
    cannot hold it, naming the finest resolution that it can."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    with np.errstate(over="ignore", invalid="ignore"):
        left, right = np.floor(minx / r) * r, np.ceil(maxx / r) * r
        bottom, top = np.floor(miny / r) * r, np.ceil(maxy / r) * r
        cols, rows = np.round((right - left) / r), np.round((top - bottom) / r)
        tiles = np.ceil(cols / 256) * np.ceil(rows / 256)
    if np.isfinite(tiles) and max(cols, rows) <= MAX_SIDE and tiles < MAX_TILES:
        return left, top, int(cols), int(rows)
    w, h = maxx - minx, maxy - miny
    finest = max(max(w, h) / MAX_SIDE, np.sqrt(w * h / (MAX_TILES * 256.0**2)))
    raise DataError(
        f"a grid of {r:g} m cells over {w / 1e3:,.1f} km x {h / 1e3:,.1f} km is more than a "
        f"GeoTIFF can hold; the finest resolution for this extent is about {finest:.2g} m "
        "(a coarser one is written far faster)"
    )


def density_grid(
    acc: Accounting, *, resolution: float = 100.0, crs: object = None, by: str = "all"
) -> tuple[np.ndarray, dict]:
    """The density raster of an :class:`~mineland.accounting.Accounting`, in memory
    (float32, 4 bytes a cell; ``mineland raster`` writes large grids window by
    window instead, see :class:`DensityPlan`)."""
    plan = plan_density(acc, resolution=resolution, crs=crs, by=by)
    density = np.empty(plan.shape, dtype=np.float32)
    for row, col, rows, cols in plan.windows():
        density[row : row + rows, col : col + cols] = plan.window(row, col, rows, cols)
    return density, plan.profile


def density_hectares(array: np.ndarray, profile: dict) -> float:
    """The hectares a density grid covers: the sum of its fractions times the cell area.

    Examples
    --------
    >>> density_hectares(np.array([[0.5, 1.0]]), {"transform": Affine(100, 0, 0, 0, -100, 0)})
    1.5
    """
    t = profile["transform"]
    cell_ha = abs(t.a * t.e - t.b * t.d) / M2_PER_HA
    valid = array > 0  # nodata is negative
    return float(array[valid].sum(dtype=np.float64)) * cell_ha


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
        A categorical raster in any CRS, from :func:`mineland.read_raster`.  The
        vectors are reprojected to it; the categories are never resampled.
    classes
        Class code → name; ESA WorldCover's names by default.

    Returns
    -------
    pandas.DataFrame
        ``district``, ``class_value``, ``class_name``, ``contaminated_ha``,
        ``released_ha``.  Area outside the raster or on its nodata cells is reported
        with ``class_name`` ``"(no land-cover data)"``, and land outside every district
        in ``(outside districts)`` rows, so the rows add up to the summary figures.

    Examples
    --------
    >>> landcover_impact(districts, surveys, read_raster("worldcover.tif"))  # doctest: +SKIP
    """
    if not isinstance(landcover, RasterData):
        raise DataError(
            "landcover_impact takes a raster in memory; read the file with "
            "mineland.read_raster(path) first"
        )
    acc = _as_accounting(districts, surveys, as_of)
    feats, meta = _impact_features(acc, landcover.crs)
    rows: dict[tuple[int, int | None], dict] = {}
    for (z, col, true_ha), shares in zip(meta, class_shares(feats, landcover), strict=True):
        for v, share in shares.items():
            row = rows.setdefault((z, v), {"contaminated_ha": 0.0, "released_ha": 0.0})
            row[col] += true_ha * share
    return _impact_table(rows, list(acc.districts["district"]), _class_names(classes))


def _impact_features(acc: Accounting, target: pyproj.CRS) -> tuple[np.ndarray, list[tuple]]:
    """Remaining and released land per district (and outside), in the raster's CRS.

    Returns the features and, for each, (district index or n for outside, column,
    ellipsoidal hectares).
    """
    overlay_log = OverlayLog()
    n = len(acc.districts)
    feats, meta = [], []
    for region in acc.regions:
        zones, owner = region.zones.zones, region.zones.district
        to_target = transformer(region.crs, target).transform
        for col, keys in IMPACT_GROUPS.items():
            parts = np.concatenate([region.classes[k] for k in keys])
            pieces, _, iz = clip_by_zone(parts, zones, overlay_log)
            outside = (
                subtract(parts, zones, overlay_log, shared_edges=True) if len(zones) else parts
            )
            where = np.concatenate([owner[iz], np.full(len(outside), n)])
            pieces = np.concatenate([pieces, outside])
            # a piece that only meets a border is a line, without area (and exactextract
            # cannot read the empty multipolygon its polygons make)
            keep = shapely.area(pieces) > 0
            slots = np.unique(where[keep])
            groups = [np.flatnonzero(keep & (where == d)) for d in slots]
            # one valid shape per district: the pieces share edges (cleared land borders
            # reduced land), and exactextract miscounts the cells of an invalid shape
            # (and reads no collection: union_groups keeps the polygons)
            merged = union_groups(pieces, groups, overlay_log)
            for d, idx, geom in zip(slots, groups, merged, strict=True):
                feats.append(shapely.transform(geom, to_target, interleaved=False))
                meta.append((int(d), col, shapely.area(pieces[idx]).sum() / M2_PER_HA))
    return np.array(feats, dtype=object), meta


def _valid(feats: np.ndarray) -> np.ndarray:
    """The features made valid again where the move to the raster's CRS made a sliver
    cross itself by a rounding error (their polygons; a feature with none is kept):
    exactextract miscounts the cells of such a shape."""
    fixed = repaired(feats)[0]
    lost = shapely.is_missing(fixed) | shapely.is_empty(fixed)
    fixed[lost] = feats[lost]
    return fixed


def class_shares(feats: np.ndarray, landcover: RasterData) -> list[dict[int | None, float]]:
    """Per feature, the share of its area on each class (None: outside or nodata).

    Shares come from exact cell coverage, relative to the coverage of all cells the
    feature touches, times the share of the feature inside the raster's extent; so
    land over cells with data is never put under "(no land-cover data)".
    """
    if len(feats) == 0:
        return []
    feats = _valid(np.asarray(feats, dtype=object))
    box = shapely.box(*landcover.bounds)
    inside = shapely.area(intersection(feats, box, OverlayLog(), "raster extent"))
    inside_share = np.divide(
        inside, shapely.area(feats), out=np.zeros(len(feats)), where=shapely.area(feats) > 0
    )
    # no nodata for exactextract: it would leave those cells out of the coverage,
    # and the shares are taken relative to the coverage of every cell touched
    src = NumPyRasterSource(
        landcover.array, *landcover.bounds, nodata=None, srs_wkt=landcover.crs.to_wkt()
    )
    frame = gpd.GeoDataFrame(geometry=list(feats), crs=landcover.crs)
    result = exact_extract(src, frame, ["coverage", "values"], output="pandas")
    out = []
    for k, (cov, vals) in enumerate(zip(result["coverage"], result["values"], strict=True)):
        cov, vals = np.asarray(cov, dtype=float), np.asarray(vals, dtype=float)
        valid = np.isfinite(vals)
        if landcover.nodata is not None:
            valid &= vals != landcover.nodata
        total = cov.sum()
        shares: dict[int | None, float] = {}
        if total > 0:
            for v in np.unique(vals[valid]):
                shares[int(v)] = inside_share[k] * cov[valid & (vals == v)].sum() / total
        rest = 1.0 - sum(shares.values())
        if rest > 1e-12:
            shares[None] = rest
        out.append(shares)
    return out


def _impact_table(rows: dict, district_names: list[str], names: dict[int, str]) -> pd.DataFrame:
    labels = [*district_names, schema.OUTSIDE]
    table = pd.DataFrame(
        [
            {
                "district": labels[d],
                "class_value": v,
                "class_name": "(no land-cover data)" if v is None else names.get(v, f"class {v}"),
                **vals,
            }
            for (d, v), vals in rows.items()
        ],
        columns=["district", "class_value", "class_name", "contaminated_ha", "released_ha"],
    )
    table["_order"] = [labels.index(d) for d in table["district"]]
    table = table.sort_values(["_order", "class_value"], na_position="last").drop(columns="_order")
    table["class_value"] = table["class_value"].astype("Int64")
    return table.reset_index(drop=True)
