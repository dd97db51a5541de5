"""Which hazards to clear first: a score per remaining hazard, every part explained
(pure computation over an :class:`Accounting`).

Each SHA/CHA record's remaining land (its polygon less all released land; remnants
under 100 m² are left out) gets a score per criterion between 0 and 1, times the
criterion's weight from a profile:

- ``casualties``: incidents (and their killed and injured) within ``distance`` metres,
  dated in the ``years`` before the as-of date: ``min(1, (incidents + casualties) /
  cap)``;
- ``class``: 1 for CHA, 0.5 for SHA;
- ``size``: hectares per unit of effort, ``1 / (1 + remaining ha / reference_ha)``;
- each **layer** (settlements, roads, water, schools…): the score of the first
  distance band that holds the geodesic distance to the layer's nearest feature;
- ``landcover``: the share of the remaining land on the profile's classes (exact cell
  coverage);
- each **attribute** of the records (a blockage field): 1 where it is set (yes, true,
  1, y), else 0.

The total is the weighted sum; hazards are ranked by it, ties by record id, so the
same inputs always give the same order.  Distances are geodesic metres: the nearest
feature is found in the accounting's equal-area projection and the distance measured
on the ellipsoid between the nearest points.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import schema
from .accounting import M2_PER_HA, Accounting, AccountingCache
from .classes import released_parts
from .crs import WGS84
from .errors import SchemaError
from .geometry import OverlayLog, subtract_each
from .regions import region_of_points
from .zones import geodesic_gap, project, unproject

__all__ = ["DEFAULT_PROFILE", "Priorities", "check_profile", "load_profile", "prioritise"]

_TRUE = {"1", "true", "yes", "y", "t", "x"}
#: Remaining land smaller than this (m², a 10 m square) is the trace of releases digitised
#: a little off their hazard, not a hazard to rank (its hectares stay in the summary).
MIN_REMAINING_M2 = 100.0


def _default_profile() -> dict:
    text = resources.files("mineland").joinpath("static", "priority_profile.toml").read_text()
    return tomllib.loads(text)


#: The profile shipped with mineland (``mineland/static/priority_profile.toml``).
DEFAULT_PROFILE = _default_profile()


def load_profile(text: str, *, source: str = "profile") -> dict:
    """A profile from TOML text, checked (see :func:`check_profile`)."""
    try:
        profile = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{source}: not a valid TOML profile: {exc}") from None
    check_profile(profile, source)
    return profile


#: what a profile holds: its tables, and the criteria it can weigh besides its layers
PROFILE_TABLES = ("criteria", "layers", "attributes")
CRITERIA = ("casualties", "class", "size", "landcover")


def check_profile(profile: dict, source: str = "profile") -> None:
    """A SchemaError naming what a profile gets wrong: a table or criterion mineland
    does not know (a misspelt name would weigh nothing), a weight that is not a finite
    number, distance bands that do not ascend or scores outside 0–1, or no weight at
    all (every hazard would score 0)."""
    for key, spec in profile.items():
        if key not in PROFILE_TABLES or not isinstance(spec, dict):
            raise SchemaError(
                f"{source}: {key!r} is not a table of a profile; it holds "
                f"[{'], ['.join(PROFILE_TABLES)}] (see the default profile)"
            )
    criteria, layers = profile.get("criteria", {}), profile.get("layers", {})
    for name, spec in criteria.items():
        if name not in CRITERIA or not isinstance(spec, dict):
            raise SchemaError(
                f"{source}: unknown criterion {name!r}; the criteria are {', '.join(CRITERIA)}"
            )
        _number(spec.get("weight", 0), f"{source}: the weight of {name!r}")
    for name, spec in layers.items():
        if not isinstance(spec, dict):
            raise SchemaError(f"{source}: layer {name!r} must be a table ([layers.{name}])")
        _number(spec.get("weight", 0), f"{source}: the weight of layer {name!r}")
        _check_bands(spec.get("bands", []), f"{source}: layer {name!r}")
    weights = [s.get("weight", 0) for s in (*criteria.values(), *layers.values())]
    for column, weight in profile.get("attributes", {}).items():
        weights.append(_number(weight, f"{source}: the weight of attribute {column!r}"))
    if not any(weights):
        raise SchemaError(f"{source}: the profile gives no criterion a weight")


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise SchemaError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _check_bands(bands, what: str) -> None:
    if not isinstance(bands, list) or not bands or any(len(b) != 2 for b in bands):
        raise SchemaError(f"{what} needs bands = [[metres, score], ...]")
    metres = [_number(m, f"{what}: a band's distance") for m, _ in bands]
    scores = [_number(v, f"{what}: a band's score") for _, v in bands]
    if metres != sorted(metres) or metres[0] < 0:
        raise SchemaError(f"{what}: the bands must ascend in metres, from 0 up")
    if not all(0 <= v <= 1 for v in scores):
        raise SchemaError(f"{what}: a band's score must lie between 0 and 1")


@dataclass
class Priorities:
    """What :func:`prioritise` worked out."""

    #: one row per remaining hazard, best first: rank, record_id, district, class,
    #: remaining_ha, a score per criterion (weighted), total, geometry (EPSG:4326)
    table: gpd.GeoDataFrame
    #: criterion → weight, as used
    weights: dict[str, float]
    notes: list[str] = field(default_factory=list)


def prioritise(
    districts,
    surveys=None,
    /,
    *,
    profile: dict | None = None,
    layers: dict[str, gpd.GeoDataFrame] | None = None,
    landcover=None,
    as_of: object = None,
    accounts: AccountingCache | None = None,
) -> Priorities:
    """Score and rank the remaining hazards (see the module's description).

    Parameters
    ----------
    districts, surveys
        As for :func:`mineland.summarize`; or an :class:`Accounting` alone.
    profile
        Weights and bands (:func:`load_profile`); by default :data:`DEFAULT_PROFILE`.
    layers
        The GeoDataFrames the profile's layers name (any CRS).  A layer the profile
        names and that is not given is an error, unless the profile marks it
        ``optional``; then its criterion is left out and a note says so.
    landcover
        A :class:`~mineland.rasterdata.RasterData` for the land-cover criterion.

    Examples
    --------
    >>> ranked = prioritise(districts, surveys, layers={"settlements": towns})  # doctest: +SKIP
    >>> ranked.table.head(10)  # doctest: +SKIP
    """
    if profile is None:
        profile = DEFAULT_PROFILE
    else:
        check_profile(profile)
    acc = (
        districts
        if isinstance(districts, Accounting)
        else (accounts if accounts is not None else AccountingCache(districts, surveys)).at(as_of)
    )
    table = _remaining_hazards(acc)
    notes: list[str] = []
    weights = _criteria(profile, layers or {}, landcover, notes)
    geoms = np.asarray(table.geometry.array, dtype=object)
    scores = {
        "casualties": lambda: _casualties(
            acc, geoms, profile.get("criteria", {}).get("casualties", {})
        ),
        "class": lambda: np.where(table["class"] == "CHA", 1.0, 0.5),
        "size": lambda: 1.0 / (1.0 + table["remaining_ha"].to_numpy() / _reference(profile)),
    }
    for name, spec in profile.get("layers", {}).items():
        if name in weights:
            scores[name] = lambda s=spec, n=name: _bands(acc, geoms, layers[n], s["bands"])
    if "landcover" in weights:
        classes = profile["criteria"]["landcover"].get("classes", [])
        scores["landcover"] = lambda: _landcover_share(geoms, landcover, classes)
    for column in profile.get("attributes", {}):
        if column in weights:
            scores[column] = lambda c=column: _attribute(acc, table, c)
    for name, weight in weights.items():
        table[f"{name}_score"] = weight * np.asarray(scores[name](), dtype=float)
    table["total"] = table[[f"{n}_score" for n in weights]].sum(axis=1)
    table = table.sort_values(["total", "record_id"], ascending=[False, True], kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return Priorities(table.reset_index(drop=True), weights, notes)


def _criteria(profile: dict, layers: dict, landcover, notes: list[str]) -> dict[str, float]:
    """The criteria that apply, with their weights; a missing layer is an error."""
    criteria = profile.get("criteria", {})
    weights = {
        k: float(criteria.get(k, {}).get("weight", 0)) for k in ("casualties", "class", "size")
    }
    for name, spec in profile.get("layers", {}).items():
        if name in layers:
            weights[name] = float(spec.get("weight", 0))
        elif spec.get("optional"):
            notes.append(f"layer {name!r} not given: its criterion is left out")
        else:
            raise SchemaError(f"the profile names the layer {name!r}, which was not given")
    if "landcover" in criteria:
        if landcover is not None:
            weights["landcover"] = float(criteria["landcover"].get("weight", 0))
        else:
            notes.append("no land-cover raster: the land-cover criterion is left out")
    for column, weight in profile.get("attributes", {}).items():
        weights[column] = float(weight)
    return {k: w for k, w in weights.items() if w}


def _reference(profile: dict) -> float:
    return float(profile.get("criteria", {}).get("size", {}).get("reference_ha", 10.0))


def _remaining_hazards(acc: Accounting) -> gpd.GeoDataFrame:
    """Each SHA/CHA record's land not released, in lon/lat, with its hectares."""
    records = acc.records
    rtype = records["record_type"].to_numpy(dtype=object)
    ids = records["record_id"].to_numpy(dtype=object)
    names = np.array([*acc.districts["district"], schema.OUTSIDE], dtype=object)
    rows, geoms = [], []
    overlay_log = OverlayLog()
    for region in acc.regions:
        mine = np.isin(rtype[region.piece_record], schema.HAZARD_TYPES)
        pieces, owner = region.pieces[mine], region.piece_record[mine]
        left = subtract_each(pieces, released_parts(region.classes, overlay_log), overlay_log)
        area = shapely.area(left)
        keep = area > MIN_REMAINING_M2
        district = region.zones.district_of(shapely.point_on_surface(left[keep]))
        rec = owner[keep]
        rows.append(
            pd.DataFrame(
                {
                    "record_id": ids[rec],
                    "class": rtype[rec],
                    "district": names[np.where(district >= 0, district, len(names) - 1)],
                    "remaining_ha": area[keep] / M2_PER_HA,
                    "_row": rec,
                }
            )
        )
        geoms.append(unproject(left[keep], region.crs))
    frame = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(columns=["record_id", "class", "district", "remaining_ha", "_row"])
    )
    geoms = np.concatenate(geoms) if geoms else np.empty(0, dtype=object)
    if not len(frame):
        return gpd.GeoDataFrame(frame.drop(columns="_row"), geometry=[], crs=WGS84)
    # a record cut by region borders is one row: its pieces are disjoint
    parts = (
        pd.Series(geoms)
        .groupby(frame["_row"].to_numpy())
        .agg(lambda g: shapely.multipolygons(shapely.get_parts(np.asarray(g, dtype=object))))
    )
    first = frame.groupby("_row", sort=True).agg(
        {"record_id": "first", "class": "first", "district": "first", "remaining_ha": "sum"}
    )
    return gpd.GeoDataFrame(
        first.reset_index(drop=True), geometry=list(parts.loc[first.index]), crs=WGS84
    )


def _pairs_m(acc: Accounting, geoms: np.ndarray, targets: np.ndarray, within: float | None):
    """Geodesic metres between hazards and target features (lon/lat): with
    ``within``, every pair closer than that; without, each hazard's nearest target.
    Found in each region's equal-area projection, measured on the ellipsoid."""
    where = region_of_points(shapely.point_on_surface(geoms), acc.plan)
    hi, ti, metres = [], [], []
    for k, region in enumerate(acc.regions):
        mine = np.flatnonzero(where == k)
        if not len(mine) or not len(targets):
            continue
        a, b = project(geoms[mine], region.crs), project(targets, region.crs)
        tree = shapely.STRtree(b)
        if within is None:
            i, j = tree.query_nearest(a, all_matches=False)
        else:
            i, j = tree.query(a, predicate="dwithin", distance=within * 1.01)
        d = geodesic_gap(a[i], b[j], region.crs)
        hi.append(mine[i])
        ti.append(j)
        metres.append(d)
    if not hi:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    hi, ti, metres = np.concatenate(hi), np.concatenate(ti), np.concatenate(metres)
    keep = metres <= within if within is not None else np.ones(len(hi), dtype=bool)
    return hi[keep], ti[keep], metres[keep]


def _lonlat(frame: gpd.GeoDataFrame) -> np.ndarray:
    if frame.crs is None:
        raise SchemaError("a priority layer has no CRS; set one")
    geoms = np.asarray(frame.to_crs(WGS84).geometry.array, dtype=object)
    return geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]


def _bands(acc: Accounting, geoms: np.ndarray, layer: gpd.GeoDataFrame, bands) -> np.ndarray:
    """The score of the first band holding the distance to the layer's nearest feature."""
    score = np.zeros(len(geoms))
    hi, _, metres = _pairs_m(acc, geoms, _lonlat(layer), None)
    limits = np.array([b[0] for b in bands], dtype=float)
    values = np.array([b[1] for b in bands], dtype=float)
    band = np.searchsorted(limits, metres, side="left")
    inside = band < len(limits)
    score[hi[inside]] = values[band[inside]]
    return score


def _casualties(acc: Accounting, geoms: np.ndarray, spec: dict) -> np.ndarray:
    """min(1, (incidents + killed + injured) / cap) within the distance and years."""
    records = acc.records
    incidents = records[records["record_type"] == "incident"]
    years = float(spec.get("years", 5))
    if acc.as_of is not None and years:
        since = acc.as_of - pd.DateOffset(days=int(years * 365.2425))
        incidents = incidents[incidents["date"].isna() | (incidents["date"] >= since)]
    score = np.zeros(len(geoms))
    if not len(incidents) or not len(geoms):
        return score
    weight = (
        1 + incidents["killed"].fillna(0).to_numpy() + incidents["injured"].fillna(0).to_numpy()
    )
    points = np.asarray(incidents.geometry.array, dtype=object)
    hi, ti, _ = _pairs_m(acc, geoms, points, float(spec.get("distance", 1000)))
    np.add.at(score, hi, weight[ti])
    return np.minimum(1.0, score / float(spec.get("cap", 3)))


def _landcover_share(geoms: np.ndarray, landcover, classes) -> np.ndarray:
    from .raster import class_shares  # exactextract: only when land cover is scored

    target = np.asarray(gpd.GeoSeries(geoms, crs=WGS84).to_crs(landcover.crs).array, dtype=object)
    wanted = {int(c) for c in classes}
    return np.array(
        [sum(v for k, v in s.items() if k in wanted) for s in class_shares(target, landcover)]
    )


def _attribute(acc: Accounting, table: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """1 where the record's blockage field is set."""
    records = acc.records.drop_duplicates("record_id").set_index("record_id")
    if column not in records.columns:
        raise SchemaError(f"the profile scores the attribute {column!r}, which no record has")
    values = records[column].reindex(table["record_id"]).astype("string").str.strip().str.casefold()
    return values.isin(_TRUE).to_numpy(dtype=float)
