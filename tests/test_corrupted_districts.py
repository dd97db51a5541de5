"""The real district layer, corrupted at random: rings traced twice, bow-ties, spikes,
holes outside their shell, repeated vertices, reversed rings, null and empty shapes,
features repeated, names blanked or taken from another district.

However the layer is broken, the land of every class stays where it is: over the
districts and the outside row together, each class adds up to what the intact layer
gives (only the district it is put in may change), and every feature is a district,
part of one, or dropped with a reason."""

from __future__ import annotations

import random

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import AZE, ROOT

import mineland

pytestmark = pytest.mark.skipif(not AZE.exists(), reason="the real district layer is not here")

CLASSES = ["cha_ha", "sha_ha", "cleared_ha", "reduced_ha", "cancelled_ha"]


def _ring(ring) -> np.ndarray:
    return np.asarray(ring.coords)


def _traced_twice(p, rng):
    twice = [np.vstack([c, c[1:]]) for c in map(_ring, [p.exterior, *p.interiors])]
    return shapely.Polygon(twice[0], twice[1:])


def _bowtie(p, rng):
    c = _ring(p.exterior)[:-1]
    i = rng.randrange(1, len(c) - 2)
    c[[i, i + 1]] = c[[i + 1, i]]
    return shapely.Polygon(c)


def _spike(p, rng):
    c = _ring(p.exterior)[:-1]
    i = rng.randrange(len(c))
    tip = c[i] + np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)])
    return shapely.Polygon(np.insert(c, i + 1, [tip, c[i]], axis=0))


def _hole_outside(p, rng):
    x0, y0, x1, _ = p.bounds
    hole = shapely.box(x1 + 0.01, y0, x1 + 0.02, y0 + 0.01)
    return shapely.Polygon(p.exterior.coords, [hole.exterior.coords])


def _repeated_vertices(p, rng):
    return shapely.Polygon(np.repeat(_ring(p.exterior), 2, axis=0))


def _reversed(p, rng):
    return shapely.reverse(p)


SPOIL = (_traced_twice, _bowtie, _spike, _hole_outside, _repeated_vertices, _reversed)


def _spoiled(geom, rng):
    """One polygon of ``geom`` spoiled (a multipolygon stays a multipolygon)."""
    parts = list(getattr(geom, "geoms", [geom]))
    k = rng.randrange(len(parts))
    parts[k] = rng.choice(SPOIL)(parts[k], rng)
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def corrupted(layer: gpd.GeoDataFrame, seed: int) -> tuple[gpd.GeoDataFrame, int]:
    """The layer with one to eight random corruptions, and how many features lost
    their shape (null or empty: dropped)."""
    rng = random.Random(seed)
    layer = layer.copy()
    geoms, names = list(layer.geometry), list(layer["shapeName"])
    lost = set()
    for _ in range(rng.randint(1, 8)):
        k, what = rng.randrange(len(geoms)), rng.random()
        if what < 0.6 and k not in lost:
            geoms[k] = _spoiled(geoms[k], rng)
        elif what < 0.7:
            geoms[k], _ = None, lost.add(k)
        elif what < 0.8:
            geoms[k], _ = shapely.Polygon(), lost.add(k)
        elif what < 0.9:  # the feature twice
            if k in lost:
                lost.add(len(geoms))
            geoms.append(geoms[k])
            names.append(names[k])
        else:  # no name, or another district's
            names[k] = rng.choice(["", None, names[rng.randrange(len(names))]])
    frame = gpd.GeoDataFrame({"shapeName": names}, geometry=geoms, crs=layer.crs)
    return frame, len(lost)


@pytest.fixture(scope="module")
def intact():
    layer = gpd.read_file(AZE)
    data = mineland.read_surveys(ROOT / "data" / "surveys")
    summary = mineland.summarize(mineland.read_districts(AZE), data)
    return layer, data, summary


@pytest.mark.parametrize("seed", range(8))
def test_a_corrupted_layer_keeps_every_hectare(intact, seed, tmp_path):
    layer, data, want = intact
    broken, lost = corrupted(layer, seed)
    broken.to_file(tmp_path / "districts.geojson")
    districts = mineland.read_districts(tmp_path / "districts.geojson")
    got = mineland.summarize(districts, data)
    for col in CLASSES:  # districts and the outside row together
        assert got[col].sum() == pytest.approx(want[col].sum(), rel=1e-9, abs=1e-4), col  # 1 m²
    assert got["devices"].sum() == want["devices"].sum()
    assert got["hazard_records"].sum() == want["hazard_records"].sum()
    # a repeated feature or a shared name makes one district: none is made from nothing
    assert len(districts) <= len(broken) - lost
    dropped = districts.attrs.get("dropped", [])
    assert len(dropped) == lost, dropped
