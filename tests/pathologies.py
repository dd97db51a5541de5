"""A generator of the shapes that real survey data and boundary files contain.

Every shape is built in code, in TEST_LAEA metres (so its intended area is known),
and written to the formats a user would hand over.  ``seed`` varies positions and
sizes, so a run over several seeds tries many variants of each pathology.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from conftest import TEST_LAEA

TO_LONLAT = None


def lonlat(geom):
    return gpd.GeoSeries([geom], crs=TEST_LAEA).to_crs(4326).iloc[0]


def circle(cx, cy, r, n=48, phase=0.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False) + phase
    return list(zip(cx + r * np.cos(t), cy + r * np.sin(t), strict=True))


def double_traced(cx, cy, r, offset=2.0):
    """A ring traced twice around the same area, the second lap ``offset`` inside."""
    return shapely.Polygon(circle(cx, cy, r) + circle(cx, cy, r - offset))


def spike(x, y, size):
    """A square with a zero-width spike going out of one side."""
    return shapely.Polygon(
        [
            (x, y),
            (x + size, y),
            (x + size, y + size / 2),
            (x + 2 * size, y + size / 2),
            (x + size, y + size / 2),
            (x + size, y + size),
            (x, y + size),
        ]
    )


def cut_line(x, y, size):
    """A square with a zero-width cut from one side to its middle."""
    m = x + size / 2
    return shapely.Polygon(
        [
            (x, y),
            (m, y),
            (m, y + size / 2),
            (m, y),
            (x + size, y),
            (x + size, y + size),
            (x, y + size),
        ]
    )


def bowtie(x, y, size):
    return shapely.Polygon([(x, y), (x + size, y + size), (x + size, y), (x, y + size)])


def districts(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """A 3 × 2 grid of 10 km districts with overlaps, a gap, a sliver, an invalid
    polygon, near-coincident borders and a district split in two features."""
    cells, names = [], []
    for j in range(2):
        for i in range(3):
            cells.append(shapely.box(i * 10_000, j * 10_000, (i + 1) * 10_000, (j + 1) * 10_000))
            names.append(["Cəbrayıl", "Goražde", "Füzuli", "Ağdam", "Laçın", "Zəngilan"][j * 3 + i])
    overlap = float(rng.uniform(50, 300))
    cells[1] = shapely.box(10_000 - overlap, 0, 20_000, 10_000)  # overlaps Cəbrayıl
    gap = float(rng.uniform(20, 100))
    cells[2] = shapely.box(20_000 + gap, 0, 30_000, 10_000)  # a gap beside Goražde
    # Ağdam: invalid (a bow-tie notch on its border) ; Laçın: a spike on its top
    cells[3] = shapely.Polygon(
        [
            (0, 10_000),
            (10_000, 10_000),
            (10_000, 20_000),
            (6_000, 20_000),
            (4_000, 19_000),
            (6_000, 19_000),
            (4_000, 20_000),
            (0, 20_000),
        ]
    )
    cells[4] = shapely.Polygon(
        [
            (10_000, 10_000),
            (20_000, 10_000),
            (20_000, 20_000),
            (15_000, 20_000),
            (15_000, 20_500),
            (15_000, 20_000),
            (10_000, 20_000),
        ]
    )
    out = gpd.GeoDataFrame({"shapeName": names}, geometry=cells, crs=TEST_LAEA).to_crs(4326)
    # Zəngilan's western border moved by 1e-9° (near-coincident with Laçın)
    z = out.geometry.iloc[5]
    out.loc[5, "geometry"] = shapely.transform(z, lambda c: c + 1e-9)
    # Füzuli in two features that share its name
    f = out.geometry.iloc[2]
    west, east = shapely.box(-180, -90, f.centroid.x, 90), shapely.box(f.centroid.x, -90, 180, 90)
    halves = gpd.GeoDataFrame(
        {"shapeName": ["Füzuli", "Füzuli"]},
        geometry=[f.intersection(west), f.intersection(east)],
        crs=4326,
    )
    return pd.concat([out.drop(index=2), halves], ignore_index=True)


def records(rng: np.random.Generator) -> list[dict]:
    """Survey rows as dicts with a ``wkt`` column (lon/lat), every pathology once."""
    rows = []

    def add(kind, geom, wkt=None, **extra):
        rid = f"P{len(rows) + 1}"
        text = wkt if wkt is not None else shapely.to_wkt(lonlat(geom), rounding_precision=-1)
        rows.append(
            {"record_id": rid, "record_type": kind, "date": "2023-04-01", "wkt": text, **extra}
        )

    x, y = rng.uniform(1_000, 7_000, 2)
    add("SHA", double_traced(x, y, rng.uniform(150, 400)))
    add("CHA", spike(x + 500, y + 500, 300))
    add("cleared", cut_line(x + 400, y + 400, 400))
    add("reduced", bowtie(12_000, 2_000, 500))
    add("cancelled", shapely.box(9_000, 5_000, 11_500, 5_600))  # across a border
    # a GeometryCollection with a polygon and a line
    gc = shapely.GeometryCollection(
        [shapely.box(3_000, 13_000, 3_400, 13_400), shapely.LineString([(0, 0), (100, 100)])]
    )
    add("SHA", gc)
    # Z and M values
    poly = lonlat(shapely.box(13_000, 13_000, 13_600, 13_500))
    zc = ", ".join(f"{a} {b} 5" for a, b in poly.exterior.coords)
    zmc = ", ".join(f"{a} {b} 5 7" for a, b in poly.exterior.coords)
    add("CHA", None, wkt=f"POLYGON Z (({zc}))")
    add("cleared", None, wkt=f"POLYGON ZM (({zmc}))")
    # a curved geometry
    cx, cy = lonlat(shapely.Point(25_000, 15_000)).coords[0]
    add(
        "SHA",
        None,
        wkt=(
            f"CURVEPOLYGON(CIRCULARSTRING({cx} {cy}, {cx + 0.003} {cy + 0.003}, "
            f"{cx} {cy + 0.006}, {cx - 0.003} {cy + 0.003}, {cx} {cy}))"
        ),
    )
    # near-coincident shared borders between two records
    a = lonlat(shapely.box(21_000, 3_000, 22_000, 4_000))
    b = shapely.transform(lonlat(shapely.box(22_000, 3_000, 23_000, 4_000)), lambda c: c - 1e-9)
    add("SHA", a)
    rows[-1]["wkt"] = shapely.to_wkt(a, rounding_precision=-1)
    add("SHA", b)
    rows[-1]["wkt"] = shapely.to_wkt(b, rounding_precision=-1)
    # outside every district, in the gap, and broken values
    add("CHA", shapely.box(40_000, 40_000, 40_500, 40_500))
    add("device", shapely.Point(20_000 + 10, 5_000), quantity=3)
    add("incident", shapely.Point(5_000, 5_000), killed=1, injured=2)
    add("SHA", None, wkt="POLYGON ((46 39, 46.1 39))")
    add("nonsense", shapely.box(1_000, 1_000, 1_200, 1_200))
    add("SHA", None, wkt="")
    return rows


def write(tmp_path, seed: int) -> tuple:
    """Write one corpus: districts.geojson and surveys.csv (+ a GeoJSON copy)."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / f"corpus{seed}"
    folder.mkdir()
    dpath = folder / "districts.geojson"
    districts(rng).to_file(dpath, driver="GeoJSON")
    rows = records(rng)
    spath = folder / "surveys.csv"
    # the line ends of every platform: LF, Windows' CRLF, old Mac exports' lone CR
    ending = ("\n", "\r\n", "\r")[seed % 3]
    pd.DataFrame(rows).to_csv(spath, index=False, lineterminator=ending)
    return dpath, spath, len(rows)


__all__ = ["json", "write"]
