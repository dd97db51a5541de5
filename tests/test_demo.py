"""The synthetic data generator, on the demo extent and on the real boundaries."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import shapely
from conftest import AZE, ROOT, geod_ha

import mineland
from mineland.accounting import CLASSES
from mineland.demo import make_districts, make_surveys
from mineland.schema import OUTSIDE


def test_generator_is_deterministic():
    a = make_surveys(make_districts(5, seed=3), n_hazards=200, seed=4)
    b = make_surveys(make_districts(5, seed=3), n_hazards=200, seed=4)
    for key in a:
        assert a[key].geometry.geom_equals_exact(b[key].geometry, 0).all()


def test_demo_hazards_have_realistic_sizes():
    s = make_surveys(make_districts(6, seed=1), n_hazards=500, seed=2)
    areas = np.array([geod_ha(g) for g in s["hazards"].geometry])
    assert areas.min() >= 0.09 and areas.max() <= 260  # 0.1–200 ha, with shape noise
    assert s["hazards"].geometry.is_valid.all()
    assert set(s["releases"]["record_type"]) == {"cleared", "reduced", "cancelled"}
    years = s["releases"]["date"].str[:4].astype(int)
    assert years.min() >= 2021 and years.max() <= 2025


def test_shipped_demo_data_is_small_and_labelled():
    files = list((ROOT / "data").rglob("*"))
    size = sum(f.stat().st_size for f in files if f.is_file())
    assert size < 5e6
    assert all("synthetic" in f.name for f in files if f.suffix in (".gpkg", ".geojson", ".csv"))
    assert "SYNTHETIC" in (ROOT / "data" / "README.md").read_text()


def test_generator_over_the_real_boundaries(tmp_path):
    if not AZE.exists():
        pytest.skip("shared Azerbaijan boundaries not available")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_demo_data.py"),
            "--districts",
            str(AZE),
            "--out",
            str(tmp_path),
            "--hazards",
            "800",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "synthetic_hazards.gpkg" in result.stdout
    districts = mineland.read_districts(AZE)
    surveys = mineland.read_surveys(tmp_path)
    assert len(surveys.rejected) == 0
    acc = mineland.account(districts, surveys)
    s = acc.summary
    # rows add up to the global class areas, measured independently (geodesic)
    for name, col in CLASSES.items():
        geo = sum(geod_ha(g) for g in acc.class_geometries(name))
        assert s[col].sum() == pytest.approx(geo, rel=5e-4)
    # hazards were placed inside the districts: almost nothing is outside
    inside = s[s["district"] != OUTSIDE]
    assert inside["contaminated_ha"].sum() > 0.9 * s["contaminated_ha"].sum()
    assert s["hazard_records"].sum() == 800
    # every hazard record is accounted for in exactly one row
    hazards = surveys.records[surveys.records["record_type"].isin(["SHA", "CHA"])]
    assert shapely.union_all(hazards.geometry.to_numpy()).is_valid
