"""Generated hostile GeoJSON: survey files and district layers with random geometries
(degenerate rings, rings traced twice, bow-ties, holes off Earth, NaN and 1e308
vertices, collections, wrong types) and random properties (payloads, lists, nulls).

Every command must end with exit 0, 1 or 2 and no traceback, internal error or raw
Python warning; every row read is used or rejected.  The seeds include the ones that
found the bugs this file guards against (a hole off Earth taken for land, a hole at
1e308, a null-only name column, an empty findings GeoPackage, a district ring off
Earth, an empty part of a multipolygon, a ring a nanodegree beyond the pole)."""

from __future__ import annotations

import json
import random
import warnings

import geopandas as gpd
import pytest
from conftest import DISTRICTS, run

import mineland

BOUNDS = gpd.read_file(DISTRICTS).total_bounds
ODD = [[1e308, 0], [float("nan"), 1], [200, 95], [46, 40, 5], [46], [], ["46", "40"], [0, 0]]
PAYLOADS = ["<script>alert(1)</script>", "=1+1", "\x1b[2J", "Goražde", "Cəbrayıl", None, 17]
PAYLOADS += [3.5, True, [1, 2], {"a": 1}, "", " ", "SHA; CHA", "\u202e"]
TYPES = ["SHA", "CHA", "cleared", "reduced", "cancelled", "device", "incident", "sha "]
TYPES += ["Confirmed", "clearance", "", None, 5, ["SHA"], "<b>SHA</b>"]


def _coord(rng):
    if rng.random() < 0.9:
        return [rng.uniform(BOUNDS[0], BOUNDS[2]), rng.uniform(BOUNDS[1], BOUNDS[3])]
    return rng.choice(ODD + [[-180, 90], [180, -90]])


def _ring(rng):
    c, s = _coord(rng), rng.choice([1e-9, 1e-4, 0.001, 0.01, 0.5, 3])
    try:
        pts = [c, [c[0] + s, c[1]], [c[0] + s, c[1] + s], [c[0], c[1] + s]]
    except (IndexError, TypeError):
        pts = [c, c, c]
    k = rng.random()
    if k < 0.1:
        pts = pts[:2]
    elif k < 0.2:
        pts = pts + pts  # traced twice
    elif k < 0.3 and len(pts) == 4:
        pts = [pts[0], pts[2], pts[1], pts[3]]  # a bow-tie
    return pts + [pts[0]] if rng.random() < 0.85 and pts else pts


def _geometry(rng, depth=0):
    kinds = ["Point", "Polygon", "Polygon", "Polygon", "MultiPolygon", "LineString"]
    kind = rng.choice(kinds + ["GeometryCollection", None, "Bogus", "MultiPoint", "Empty"])
    if kind is None:
        return None
    if kind == "Point":
        return {"type": "Point", "coordinates": _coord(rng)}
    if kind == "MultiPoint":
        return {
            "type": "MultiPoint",
            "coordinates": [_coord(rng) for _ in range(rng.randint(0, 3))],
        }
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": [_ring(rng) for _ in range(rng.randint(1, 2))]}
    if kind == "Empty":
        return {"type": "Polygon", "coordinates": []}
    if kind == "MultiPolygon":
        return {
            "type": "MultiPolygon",
            "coordinates": [[_ring(rng)] for _ in range(rng.randint(0, 3))],
        }
    if kind == "LineString":
        return {"type": "LineString", "coordinates": [_coord(rng), _coord(rng)]}
    if kind == "GeometryCollection" and depth < 2:
        parts = [_geometry(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        return {"type": "GeometryCollection", "geometries": parts}
    return {"type": "Bogus", "coordinates": 5}


def _feature(rng, i):
    props = {
        "record_id": rng.choice([i, str(i), None, "dup", f"r{i}", 1.0 * i, True]),
        "record_type": rng.choice(TYPES),
        "date": rng.choice(["2022-01-01", None, 20220101, "01.01.2022", "2022-13-45", 44000, ""]),
        "notes": rng.choice(PAYLOADS),
        "quantity": rng.choice([None, 1, "2", -1, 1.5, "many", 10**12]),
    }
    if rng.random() < 0.1:
        props = rng.choice([{}, {"weird key\n": 1}, {"record_type": "SHA"}])
    return {"type": "Feature", "properties": props, "geometry": _geometry(rng)}


def _write(path, features):
    fc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(fc, allow_nan=True), encoding="utf-8")
    return path


def _inputs(seed: int, tmp_path):
    rng = random.Random(seed)
    surveys = _write(tmp_path / "s.geojson", [_feature(rng, i) for i in range(rng.randint(0, 30))])
    districts = DISTRICTS
    if rng.random() < 0.3:  # a hostile district layer
        features = []
        for i in range(rng.randint(0, 6)):
            geom = rng.choice([_geometry(rng), {"type": "Polygon", "coordinates": [_ring(rng)]}])
            name = rng.choice(PAYLOADS + [f"D{i}", f"D{i}"])
            features.append({"type": "Feature", "properties": {"name": name}, "geometry": geom})
        districts = _write(tmp_path / "d.geojson", features)
    return districts, surveys


@pytest.mark.parametrize("seed", [31, 41, 89, 112, 231, 612, 642, 664, 777, 7, 58, 305])
def test_generated_hostile_geojson(seed, tmp_path):
    districts, surveys = _inputs(seed, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's warnings reach users raw
        data = mineland.read_surveys(surveys, on_file_error="reject")
    sources = data.sources
    assert (sources["rows"] == sources["used"] + sources["rejected"]).all()
    outputs = {"summarize": "o.csv", "validate": "v.gpkg", "map": "m.html", "report": "r.xlsx"}
    for command, name in outputs.items():
        out = tmp_path / name
        result = run(command, districts, surveys, "-o", out)
        said = result.output
        assert result.exit_code in (0, 1, 2), (command, said)
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), (command, said)
        for bad in ("Traceback", "internal error", "Warning:"):
            assert bad not in said, (command, said)
        if result.exit_code == 2:
            assert "mineland: error" in said, (command, said)
        elif command != "validate" or result.exit_code == 0:
            assert out.exists(), (command, said)
        if command == "map" and result.exit_code == 0:
            assert "<script>alert(1)</script>" not in out.read_text(encoding="utf-8")
