"""Shared helpers: shapes of known area, built in code."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

# Tests never write into the repository: Hypothesis keeps its examples and caches in
# the working directory unless told otherwise, and Python its bytecode beside the
# sources (also in the processes the tests start, which inherit the environment).
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "mineland-hypothesis")
)
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
sys.dont_write_bytecode = True

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
AZE = SHARED / "aze_districts_geoboundaries.geojson"
#: the demo data shipped in data/
DISTRICTS = ROOT / "data" / "boundaries" / "synthetic_districts.geojson"
SURVEYS = ROOT / "data" / "surveys"

#: A fixed equal-area CRS near Karabakh.  Shapes built in it have exactly their
#: nominal ellipsoidal area (the projection is authalic); mineland fits its own,
#: different projection, so agreement is a real check.
TEST_LAEA = pyproj.CRS.from_proj4(
    "+proj=laea +lat_0=39.8 +lon_0=46.6 +ellps=WGS84 +units=m +no_defs +type=crs"
)
GEOD = pyproj.Geod(ellps="WGS84")

#: for tests that write their KML with GDAL's KML driver: before GDAL 3.12 it puts the
#: first two text fields in a placemark's name and description, so the file it writes
#: has no record_id or record_type column to read back
GDAL_WRITES_KML_FIELDS = pytest.mark.skipif(
    pyogrio.__gdal_version__ < (3, 12, 0),
    reason="GDAL's KML writer before 3.12 keeps the first two fields as name and description",
)


def sq(x0: float, y0: float, size: float = 1000.0, size_y: float | None = None):
    """Axis-aligned rectangle in TEST_LAEA metres."""
    return shapely.box(x0, y0, x0 + size, y0 + (size if size_y is None else size_y))


def frame(rows: list[dict], crs=TEST_LAEA) -> gpd.GeoDataFrame:
    """GeoDataFrame (EPSG:4326) from dicts with a 'geometry' in ``crs``."""
    geoms = [r["geometry"] for r in rows]
    attrs = [{k: v for k, v in r.items() if k != "geometry"} for r in rows]
    gdf = gpd.GeoDataFrame(attrs, geometry=geoms, crs=crs)
    return gdf.to_crs(4326)


def districts_frame(named: dict[str, object], crs=TEST_LAEA) -> gpd.GeoDataFrame:
    return frame([{"name": k, "geometry": v} for k, v in named.items()], crs=crs)


def geod_ha(geom_4326) -> float:
    """Independent ellipsoidal area (pyproj Geod, geodesic edges) in hectares: each
    polygon's shell less its holes, every ring measured on its own.  (Orienting the
    rings first reads each ring's direction from its lon/lat drawn flat, which means
    nothing for a ring across 180°: a hole there was added, not taken away.)"""
    return sum(
        _ring_ha(p.exterior) - sum(_ring_ha(h) for h in p.interiors)
        for p in shapely.get_parts(geom_4326)
    )


def _ring_ha(ring) -> float:
    x, y = ring.xy
    return abs(GEOD.polygon_area_perimeter(x, y)[0]) / 1e4


def row(summary, name: str):
    match = summary[summary["district"] == name]
    assert len(match) == 1, f"no single row {name!r} in {list(summary['district'])}"
    return match.iloc[0]


def run(*args, catch: bool = True):
    """Run the command line in this process; every argument as text."""
    from click.testing import CliRunner

    from mineland.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=catch)


@pytest.fixture(scope="session")
def demo():
    """The demo districts and survey records, read once for the whole session."""
    import mineland

    return mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS)


@pytest.fixture(scope="session")
def demo_acc(demo):
    """The accounting of the demo data, worked out once."""
    import mineland

    return mineland.account(*demo)


@pytest.fixture
def two_districts():
    """West (0..10 km) and East (10..20 km) districts, 10 km tall: 10,000 ha each."""
    return districts_frame({"West": sq(0, 0, 10_000), "East": sq(10_000, 0, 10_000)})


@pytest.fixture
def rng():
    return np.random.default_rng(42)


@pytest.fixture(autouse=True)
def _outside_the_repository(tmp_path_factory, monkeypatch):
    """Every test runs in a scratch folder, so nothing it writes lands in the repo."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def _psql(sql: str) -> str:
    """Run SQL in the local PostGIS test database as the postgres user; rows as text."""
    import subprocess

    done = subprocess.run(
        ["su", "postgres", "-c", "psql -X -q -At -v ON_ERROR_STOP=1 -d mineland_test"],
        input=sql,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(done.stderr.strip())
    return done.stdout


@pytest.fixture(scope="session")
def postgis():
    """A PostGIS database to check hectares against ``ST_Area(geography)``.

    Skipped where no PostgreSQL server runs, except in CI (which starts one).
    """
    import os
    import shutil
    import subprocess

    try:
        if not shutil.which("psql"):
            raise RuntimeError("psql not installed")
        subprocess.run(
            ["su", "postgres", "-c", "createdb mineland_test"], capture_output=True, timeout=60
        )
        _psql("CREATE EXTENSION IF NOT EXISTS postgis;")
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostGIS server: {exc}")
    return _psql


@pytest.fixture(autouse=True)
def _fresh_logging():
    """The CLI configures the 'mineland' logger for its process; in-process CLI tests
    must not leave that setting (say, -q's ERROR level) to the tests after them."""
    import logging

    import mineland.cli.console

    logger = logging.getLogger("mineland")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    mineland.cli.console._QUIET = False
