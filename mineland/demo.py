"""Synthetic demonstration data: districts and survey records that look realistic.

Everything here is made up and deterministic for a given seed.  It is used for the
shipped demo data, the tests and the benchmarks.  Pure computation: writing the
files is done by ``scripts/make_demo_data.py``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from .crs import equal_area_crs
from .records import WGS84

__all__ = ["KARABAKH_BOUNDS", "make_districts", "make_surveys"]

#: lon/lat box of the demo extent (Karabakh region).
KARABAKH_BOUNDS = (45.8, 39.1, 47.2, 40.3)

#: Invented names with Azerbaijani letters (not real districts).
DEMO_NAMES = (
    "Ağbulaq",
    "Çaylı",
    "Şəfəqli",
    "Günəşli",
    "Yaşıldərə",
    "Qızılqaya",
    "Əlincəli",
    "Ördəkli",
    "Sarıbulaq",
    "Üçtəpə",
    "Dağüstü",
    "Göyçəli",
)
DEVICE_TYPES = ("AP mine", "AT mine", "UXO", "IED", "submunition", "other")
ORGANISATIONS = ("ANAMA", "Demo Demining Team A", "Demo Demining Team B", "Demo NGO")
SYNTHETIC = "SYNTHETIC demo data - not real contamination"


def _local(bounds):
    crs = equal_area_crs(bounds)
    return crs


def make_districts(
    n: int = 12, *, bounds=KARABAKH_BOUNDS, seed: int = 1, names=None
) -> gpd.GeoDataFrame:
    """Voronoi districts tiling ``bounds`` (lon/lat), with shared edges, in EPSG:4326."""
    rng = np.random.default_rng(seed)
    crs = _local(bounds)
    frame = gpd.GeoSeries([shapely.box(*bounds).segmentize(0.01)], crs=WGS84).to_crs(crs)
    extent = frame.iloc[0]
    minx, miny, maxx, maxy = extent.bounds
    pts = []
    while len(pts) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if extent.contains(shapely.Point(x, y)) and all(
            (x - px) ** 2 + (y - py) ** 2 > ((maxx - minx) / (2.2 * np.sqrt(n))) ** 2
            for px, py in pts
        ):
            pts.append((x, y))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=extent.buffer(1e5))
    )
    # keep cell order aligned with the seed points
    order = [next(i for i, c in enumerate(cells) if c.contains(shapely.Point(p))) for p in pts]
    cells = shapely.intersection(cells[order], extent)
    if names is None:
        base = list(DEMO_NAMES)
        names = [
            base[i % len(base)] + ("" if i < len(base) else f" {i // len(base) + 1}")
            for i in range(n)
        ]
    out = gpd.GeoDataFrame(
        {"name": names[:n], "source": SYNTHETIC}, geometry=list(cells), crs=crs
    ).to_crs(WGS84)
    return out


def _star_polygons(rng, cx, cy, area_m2, k: int = 14) -> np.ndarray:
    """Irregular star-shaped polygons with roughly the given areas (metres)."""
    n = len(cx)
    ang = (np.arange(k)[None, :] + rng.uniform(-0.4, 0.4, (n, k))) * (2 * np.pi / k)
    wob = rng.uniform(0.65, 1.35, (n, k))
    stretch = rng.uniform(1.0, 2.2, n)[:, None]
    rot = rng.uniform(0, np.pi, n)[:, None]
    r0 = np.sqrt(area_m2 / np.pi)[:, None]
    x = r0 * wob * np.cos(ang) * np.sqrt(stretch)
    y = r0 * wob * np.sin(ang) / np.sqrt(stretch)
    xr = x * np.cos(rot) - y * np.sin(rot) + cx[:, None]
    yr = x * np.sin(rot) + y * np.cos(rot) + cy[:, None]
    coords = np.stack([xr, yr], axis=-1)
    coords = np.concatenate([coords, coords[:, :1]], axis=1)
    return shapely.polygons(coords)


def _random_dates(rng, n: int, start: str, end: str) -> pd.Series:
    lo, hi = (
        pd.Timestamp(start).value // 86_400_000_000_000,
        pd.Timestamp(end).value // 86_400_000_000_000,
    )
    days = rng.integers(lo, hi + 1, n)
    return pd.Series(pd.to_datetime(days, unit="D"))


def _points_in(rng, polys: np.ndarray, per: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``per[i]`` random points inside each polygon; returns points and owner index."""
    owner = np.repeat(np.arange(len(polys)), per)
    out = np.full(len(owner), None, dtype=object)
    todo = np.arange(len(owner))
    b = shapely.bounds(polys)
    shapely.prepare(polys)
    for _ in range(50):
        if len(todo) == 0:
            break
        o = owner[todo]
        x = rng.uniform(b[o, 0], b[o, 2])
        y = rng.uniform(b[o, 1], b[o, 3])
        hit = shapely.contains_xy(polys[o], x, y)
        out[todo[hit]] = shapely.points(x[hit], y[hit])
        todo = todo[~hit]
    if len(todo):  # very thin polygons: use a point on the surface
        out[todo] = shapely.point_on_surface(polys[owner[todo]])
    return out, owner


def make_surveys(
    districts: gpd.GeoDataFrame,
    *,
    n_hazards: int = 3000,
    release_share: float = 0.5,
    n_incidents: int = 150,
    seed: int = 2,
    vertices: int = 14,
    clusters: int | None = None,
    unmapped_groups: int = 3,
) -> dict[str, gpd.GeoDataFrame]:
    """Generate hazards, releases and points over a district layer.

    Returns a dict of GeoDataFrames in EPSG:4326: ``hazards`` (SHA/CHA), ``releases``
    (cancelled/reduced/cleared, dated 2021–2025) and ``points`` (devices and
    incidents).  Hazards overlap one another and some cross district borders; about
    ``release_share × n_hazards`` releases are made, a few of them outside any hazard.
    ``unmapped_groups`` groups of devices and incidents (and two strays) lie well away
    from every hazard: the evidence that ``mineland unmapped`` looks for.
    """
    rng = np.random.default_rng(seed)
    crs = _local(districts.total_bounds)
    land = districts.to_crs(crs)
    union = shapely.union_all(shapely.make_valid(land.geometry.to_numpy()))
    shapely.prepare(union)
    centres = _cluster_centres(rng, union, clusters or max(8, n_hazards // 60))
    hazards, haz = _hazards(rng, union, centres, n_hazards, vertices, crs)
    rel = _releases(rng, hazards, haz, release_share, crs)
    points = pd.concat([_devices(rng, rel, crs), _incidents(rng, hazards, n_incidents, crs)])
    if unmapped_groups:
        points = pd.concat([points, _unmapped_evidence(rng, union, hazards, unmapped_groups, crs)])
    return {
        "hazards": haz.to_crs(WGS84),
        "releases": rel.to_crs(WGS84).reset_index(drop=True),
        "points": gpd.GeoDataFrame(
            points.reset_index(drop=True), geometry="geometry", crs=crs
        ).to_crs(WGS84),
    }


def _cluster_centres(rng, union, n_clusters: int) -> np.ndarray:
    minx, miny, maxx, maxy = union.bounds
    centres = []
    while len(centres) < n_clusters:
        x = rng.uniform(minx, maxx, 4 * n_clusters)
        y = rng.uniform(miny, maxy, 4 * n_clusters)
        ok = shapely.contains_xy(union, x, y)
        centres.extend(zip(x[ok], y[ok], strict=True))
    return np.array(centres[:n_clusters])


def _hazards(rng, union, centres, n_hazards: int, vertices: int, crs):
    """Star-shaped SHA/CHA polygons around the cluster centres, mostly on land."""
    n_clusters = len(centres)
    spread = rng.uniform(1500, 6000, n_clusters)
    which = rng.integers(0, n_clusters, n_hazards)
    cx = centres[which, 0] + rng.normal(0, 1, n_hazards) * spread[which]
    cy = centres[which, 1] + rng.normal(0, 1, n_hazards) * spread[which]
    # most hazards lie inside the districts; about 1 in 50 is left where it fell
    off_land = ~shapely.contains_xy(union, cx, cy) & (rng.random(n_hazards) > 0.02)
    cx[off_land] = centres[which[off_land], 0]
    cy[off_land] = centres[which[off_land], 1]
    area_ha = np.clip(rng.lognormal(np.log(6), 1.3, n_hazards), 0.1, 200)
    hazards = _star_polygons(rng, cx, cy, area_ha * 1e4, vertices)
    htype = np.where(rng.random(n_hazards) < 0.35, "CHA", "SHA")
    hdates = _random_dates(rng, n_hazards, "2020-11-10", "2024-06-30")
    hdates[rng.random(n_hazards) < 0.04] = pd.NaT
    width = len(str(n_hazards))
    haz = gpd.GeoDataFrame(
        {
            "record_id": [f"HAZ-{i:0{width}d}" for i in range(1, n_hazards + 1)],
            "record_type": htype,
            "date": hdates.dt.strftime("%Y-%m-%d").where(hdates.notna(), None),
            "organisation": rng.choice(ORGANISATIONS, n_hazards),
            "notes": SYNTHETIC,
        },
        geometry=hazards,
        crs=crs,
    )
    return hazards, haz


def _half_planes(rng, base: np.ndarray) -> np.ndarray:
    """A random half-plane (a large square) through each polygon, near its centre."""
    n_rel = len(base)
    c = shapely.centroid(base)
    bx, by = shapely.get_x(c), shapely.get_y(c)
    r = np.sqrt(shapely.area(base) / np.pi) * 3
    theta = rng.uniform(0, 2 * np.pi, n_rel)
    off = rng.uniform(-0.6, 0.6, n_rel) * r / 3
    nx, ny = np.cos(theta), np.sin(theta)
    px, py = bx + nx * off, by + ny * off
    return shapely.polygons(
        np.stack(
            [
                np.stack([px - ny * r, py + nx * r], -1),
                np.stack([px - ny * r + nx * r, py + nx * r + ny * r], -1),
                np.stack([px + ny * r + nx * r, py - nx * r + ny * r], -1),
                np.stack([px + ny * r, py - nx * r], -1),
                np.stack([px - ny * r, py + nx * r], -1),
            ],
            axis=1,
        )
    )


def _releases(rng, hazards: np.ndarray, haz, release_share: float, crs):
    """Releases: part of a hazard cut by a random half-plane, or the whole hazard."""
    n_hazards = len(hazards)
    n_rel = int(round(release_share * n_hazards))
    src = rng.choice(n_hazards, n_rel, replace=n_rel > n_hazards)
    base = hazards[src]
    half = _half_planes(rng, base)
    whole = rng.random(n_rel) < 0.3
    rel_geoms = np.where(whole, base, shapely.intersection(base, half))
    # a few task polygons drawn beyond the hazard (released land outside hazards)
    stray = rng.random(n_rel) < 0.03
    rel_geoms[stray] = shapely.buffer(rel_geoms[stray], 60.0, quad_segs=4)
    rtype = rng.choice(["cleared", "reduced", "cancelled"], n_rel, p=[0.4, 0.25, 0.35])
    rdates = _random_dates(rng, n_rel, "2021-01-15", "2025-12-15")
    hd = pd.to_datetime(haz["date"].to_numpy()[src])
    rdates = pd.Series(
        np.where(hd.notna() & (rdates.to_numpy() < hd), hd + pd.Timedelta(days=30), rdates)
    )
    keep = ~shapely.is_empty(rel_geoms) & (shapely.area(rel_geoms) > 100)
    rel_geoms = shapely.set_precision(rel_geoms, 0.01)
    width = len(str(n_hazards))
    return gpd.GeoDataFrame(
        {
            "record_id": [f"REL-{i:0{width}d}" for i in range(1, n_rel + 1)],
            "record_type": rtype,
            "date": rdates.dt.strftime("%Y-%m-%d"),
            "hazard_id": haz["record_id"].to_numpy()[src],
            "organisation": rng.choice(ORGANISATIONS, n_rel),
            "notes": SYNTHETIC,
        },
        geometry=rel_geoms,
        crs=crs,
    )[keep]


def _devices(rng, rel, crs) -> gpd.GeoDataFrame:
    """Devices inside cleared land."""
    cleared = rel[rel["record_type"] == "cleared"]
    per = rng.poisson(1.2, len(cleared))
    dev_pts, owner = _points_in(rng, cleared.geometry.to_numpy(), per)
    n_dev = len(dev_pts)
    return gpd.GeoDataFrame(
        {
            "record_id": [f"DEV-{i:06d}" for i in range(1, n_dev + 1)],
            "record_type": "device",
            "date": cleared["date"].to_numpy()[owner],
            "device_type": rng.choice(DEVICE_TYPES, n_dev, p=[0.45, 0.15, 0.3, 0.03, 0.05, 0.02]),
            "quantity": rng.integers(1, 12, n_dev),
            "killed": pd.NA,
            "injured": pd.NA,
            "organisation": cleared["organisation"].to_numpy()[owner],
            "notes": SYNTHETIC,
        },
        geometry=dev_pts,
        crs=crs,
    )


def _unmapped_evidence(rng, union, hazards: np.ndarray, groups: int, crs) -> gpd.GeoDataFrame:
    """Groups of 4–7 devices and incidents (within about 80 m of one another) and two
    stray devices, each at least 1.5 km from every hazard and inside the districts."""
    tree = shapely.STRtree(hazards)
    minx, miny, maxx, maxy = union.bounds
    centres: list[tuple[float, float]] = []
    while len(centres) < groups + 2:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        p = shapely.Point(x, y)
        far = tree.query(p, predicate="dwithin", distance=1500.0).size == 0
        if far and union.contains(shapely.buffer(p, 200.0)):
            centres.append((x, y))
    rows = []
    for k, (x, y) in enumerate(centres):
        n = int(rng.integers(4, 8)) if k < groups else 1
        for j in range(n):
            incident = k == 0 and j < 2  # the first group holds two incidents
            kind = "INC" if incident else "DEV"
            rows.append(
                {
                    "record_id": f"{kind}-U{k + 1}{j + 1:02d}",
                    "record_type": "incident" if incident else "device",
                    "date": f"{2022 + k % 4}-{1 + j % 12:02d}-15",
                    "device_type": rng.choice(DEVICE_TYPES[:3]),
                    "quantity": pd.NA if incident else int(rng.integers(1, 4)),
                    "killed": int(rng.integers(0, 2)) if incident else pd.NA,
                    "injured": int(rng.integers(1, 3)) if incident else pd.NA,
                    "organisation": "Demo casualty register" if incident else ORGANISATIONS[0],
                    "notes": SYNTHETIC,
                    "geometry": shapely.Point(x + rng.normal(0, 30), y + rng.normal(0, 30)),
                }
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def _incidents(rng, hazards: np.ndarray, n_incidents: int, crs) -> gpd.GeoDataFrame:
    """Incidents near hazards."""
    inc_src = rng.choice(len(hazards), n_incidents)
    inc_pts, _ = _points_in(rng, hazards[inc_src], np.ones(n_incidents, dtype=int))
    idates = _random_dates(rng, n_incidents, "1994-05-12", "2025-11-30")
    return gpd.GeoDataFrame(
        {
            "record_id": [f"INC-{i:05d}" for i in range(1, n_incidents + 1)],
            "record_type": "incident",
            "date": idates.dt.strftime("%Y-%m-%d"),
            "device_type": rng.choice(DEVICE_TYPES[:3], n_incidents),
            "quantity": pd.NA,
            "killed": rng.choice([0, 0, 0, 1, 1, 2], n_incidents),
            "injured": rng.choice([0, 1, 1, 2, 3], n_incidents),
            "organisation": "Demo casualty register",
            "notes": SYNTHETIC,
        },
        geometry=inc_pts,
        crs=crs,
    )


def make_context(
    districts: gpd.GeoDataFrame, *, settlements: int = 40, seed: int = 7
) -> dict[str, gpd.GeoDataFrame]:
    """Synthetic settlements, schools, roads and rivers over a district layer, for
    :func:`mineland.prioritise`: ``settlements`` (points with a ``name``), ``schools``
    (points near some settlements), ``roads`` (lines joining each settlement to its
    two nearest) and ``water`` (three meandering lines), in EPSG:4326."""
    rng = np.random.default_rng(seed)
    crs = _local(districts.total_bounds)
    union = shapely.union_all(shapely.make_valid(districts.to_crs(crs).geometry.to_numpy()))
    minx, miny, maxx, maxy = union.bounds
    towns = []
    while len(towns) < settlements:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if union.contains(shapely.Point(x, y)):
            towns.append((x, y))
    towns = np.array(towns)
    pts = shapely.points(towns)
    names = [f"Demo village {k + 1}" for k in range(len(towns))]
    near = rng.choice(len(towns), max(1, settlements // 3), replace=False)
    schools = shapely.points(towns[near] + rng.normal(0, 250, (len(near), 2)))
    d = np.hypot(*(towns[:, None, :] - towns[None, :, :]).transpose(2, 0, 1))
    edges = {tuple(sorted((i, int(j)))) for i in range(len(towns)) for j in np.argsort(d[i])[1:3]}
    roads = [shapely.LineString([towns[i], towns[j]]) for i, j in sorted(edges)]
    rivers = []
    for _ in range(3):
        x = rng.uniform(minx, maxx, 2)
        ys = np.linspace(miny, maxy, 12)
        xs = np.linspace(x[0], x[1], 12) + np.cumsum(rng.normal(0, 1500, 12))
        rivers.append(shapely.LineString(np.column_stack([xs, ys])))

    def layer(geoms, **columns):
        n = len(geoms)
        frame = gpd.GeoDataFrame(
            {**columns, "notes": [SYNTHETIC] * n}, geometry=list(geoms), crs=crs
        )
        return frame.to_crs(WGS84)

    return {
        "settlements": layer(pts, name=names),
        "schools": layer(schools, name=[f"Demo school {k + 1}" for k in range(len(near))]),
        "roads": layer(roads, kind=["road"] * len(roads)),
        "water": layer(rivers, name=["Demo river A", "Demo river B", "Demo river C"]),
    }


def make_landcover(bounds=KARABAKH_BOUNDS, *, resolution_deg: float = 0.004, seed: int = 5):
    """A synthetic categorical land-cover raster (ESA WorldCover codes), EPSG:4326.

    Smooth random fields decide tree cover, shrubland, grassland, cropland, built-up,
    bare land and water.  Returns ``(array, profile)`` ready for a GeoTIFF.
    """
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bounds
    width = int(round((maxx - minx) / resolution_deg))
    height = int(round((maxy - miny) / resolution_deg))
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)

    def field(n_waves: int) -> np.ndarray:
        out = np.zeros((height, width))
        for _ in range(n_waves):
            fx, fy = rng.uniform(1, 9, 2)
            phase = rng.uniform(0, 2 * np.pi)
            out += np.sin(2 * np.pi * (fx * xx + fy * yy) + phase) / np.hypot(fx, fy)
        return out

    relief, wet, human = field(12), field(8), field(10)
    classes = np.full((height, width), 30, dtype=np.uint8)  # grassland
    classes[relief > 0.35] = 10  # tree cover on high ground
    classes[(relief > 0.1) & (relief <= 0.35)] = 20  # shrubland
    classes[(relief < -0.1) & (human > -0.2)] = 40  # cropland in the lowlands
    classes[relief > 0.8] = 60  # bare rock
    classes[human > 0.75] = 50  # built-up
    classes[wet > 0.85] = 80  # water
    profile = {
        "driver": "GTiff",
        "dtype": "uint8",
        "nodata": 0,
        "width": width,
        "height": height,
        "count": 1,
        "crs": "EPSG:4326",
        "transform": Affine(resolution_deg, 0.0, minx, 0.0, -resolution_deg, maxy),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
    }
    return classes, profile
