"""PostGIS as a source and a sink, against the real PostgreSQL that CI starts: the
hectares read from tables equal those read from files, the exported pieces'
``ST_Area(geography)`` equals mineland's hectares, credentials never show, and a
failed write changes nothing."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import DISTRICTS, SURVEYS, run

import mineland
from mineland.demo import make_surveys
from mineland.io import postgis as pgio

PASSWORD = "s3cr-t!pw:@/x"  # characters a URL must escape
USER = "mineland_rw"
DB = "mineland_io"


def _sh(cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["su", "postgres", "-c", cmd], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def pg(postgis):
    """A database owned by a role that logs in with a password, over TCP."""
    postgis(
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{USER}') THEN "
        f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'; END IF; END$$;"
    )
    _sh(f"dropdb --if-exists {DB}")
    made = _sh(f"createdb -O {USER} {DB}")
    assert made.returncode == 0, made.stderr
    added = _sh(f"psql -X -q -d {DB} -c 'CREATE EXTENSION postgis'")
    assert added.returncode == 0, added.stderr
    url = f"postgresql://{USER}:{quote(PASSWORD, safe='')}@localhost:5432/{DB}"
    engine = __import__("sqlalchemy").create_engine(
        url.replace("postgresql", "postgresql+psycopg", 1)
    )
    yield url, engine
    engine.dispose()


def sql(engine, query: str) -> pd.DataFrame:
    return pd.read_sql_query(query, engine)


@pytest.fixture(scope="module")
def loaded(pg, demo):
    """The demo data in PostGIS: districts in 4326, hazards in UTM 38N (EPSG:32638),
    releases in 4326, devices and incidents as a table of lon/lat columns."""
    url, engine = pg
    gpd.read_file(DISTRICTS).to_postgis("districts", engine, if_exists="replace")
    gpd.read_file(SURVEYS / "synthetic_hazards.gpkg").to_crs(32638).to_postgis(
        "hazards", engine, if_exists="replace"
    )
    gpd.read_file(SURVEYS / "synthetic_releases.geojson").to_postgis(
        "releases", engine, if_exists="replace"
    )
    pd.read_csv(SURVEYS / "synthetic_devices_incidents.csv").to_sql(
        "points", engine, if_exists="replace", index=False
    )
    return url, engine


def test_tables_and_queries_read_as_the_files_do(loaded, demo):
    url, _ = loaded
    districts = mineland.read_districts(f"{url}?table=districts")
    data = mineland.read_surveys(
        f"{url}?table=hazards",
        f"{url}?query=SELECT * FROM releases WHERE record_type <> ''",
        f"{url}?table=points",
    )
    assert len(data.rejected) == 0
    got = mineland.summarize(districts, data).set_index("district")
    want = mineland.summarize(*demo).set_index("district")
    assert list(got.index) == list(want.index)
    for col in ("area_ha", "sha_ha", "cha_ha", "released_ha", "devices", "killed"):
        assert np.allclose(got[col], want[col], rtol=1e-9, atol=1e-9, equal_nan=True), col
    assert PASSWORD not in " ".join(map(str, data.sources["source_file"]))
    assert all("***" in s for s in data.sources["source_file"])


def test_export_to_postgis_matches_st_area_geography(loaded, demo):
    """Random data (its own seed): the exported class pieces, measured by PostGIS on
    the ellipsoid, add up per district to mineland's hectares within 1e-5."""
    url, engine = loaded
    districts = demo[0]
    records = make_surveys(districts, n_hazards=400, seed=17)
    frame = pd.concat([records["hazards"], records["releases"]], ignore_index=True)
    path = f"{url}?table=random_result"
    gpd.GeoDataFrame(frame, crs=4326).to_postgis("random_in", engine, if_exists="replace")
    result = run("export", f"{url}?table=districts", f"{url}?table=random_in", "-o", path)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and quote(PASSWORD, safe="") not in result.output
    summary = sql(engine, "SELECT * FROM random_result").set_index("district")
    pieces = sql(
        engine,
        "SELECT district, class, SUM(ST_Area(geometry::geography)) / 1e4 AS ha "
        "FROM random_result_classes GROUP BY 1, 2",
    )
    assert len(pieces) > 20
    for _, r in pieces.iterrows():
        want = summary.at[r["district"], f"{r['class']}_ha"]
        assert r["ha"] == pytest.approx(want, rel=1e-5, abs=1e-6), (r["district"], r["class"])
    tables = set(sql(engine, "SELECT tablename FROM pg_tables")["tablename"])
    assert {"random_result", "random_result_classes"} <= tables
    assert any(t.startswith("random_result_findings") for t in tables)  # the findings too


def test_summarize_writes_a_table_and_its_layers(loaded):
    url, engine = loaded
    bad = f"{url}?query=SELECT record_id, 'nonsense' AS record_type, geometry FROM releases LIMIT 2"
    result = run(
        "summarize", f"{url}?table=districts", f"{url}?table=hazards", bad, "-o", f"{url}?table=s1"
    )
    assert result.exit_code == 0, result.output
    assert "2 rejected rows written to mineland_rejected.csv" in result.output
    tables = set(sql(engine, "SELECT tablename FROM pg_tables")["tablename"])
    assert {"s1", "s1_classes", "s1_findings_polygons"} <= tables
    table = sql(engine, "SELECT district, contaminated_ha, ST_SRID(geometry) AS srid FROM s1")
    assert table["district"].is_unique and len(table) >= 12
    assert set(table["srid"].dropna()) == {4326}


def test_credentials_from_pg_environment_and_never_shown(loaded, monkeypatch, tmp_path):
    url, _ = loaded
    bare = f"postgresql://{USER}@localhost/{DB}"
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    data = mineland.read_surveys(f"{bare}?table=hazards")
    assert len(data.records) == 3000
    monkeypatch.setenv("PGPASSWORD", "wrong")
    result = run(
        "summarize", f"{url.replace(quote(PASSWORD, safe=''), 'badpass')}?table=districts", SURVEYS
    )
    assert result.exit_code == 2 and "password authentication failed" in result.output
    assert "badpass" not in result.output
    # verbose logs, the rejected-rows file and the output name the database masked
    bad = f"{url}?query=SELECT record_id, 'nonsense' AS record_type, geometry FROM releases LIMIT 3"
    out = tmp_path / "s.csv"
    result = run("summarize", "-vv", DISTRICTS, f"{url}?table=hazards", bad, "-o", out)
    assert result.exit_code == 0, result.output
    rejected = (tmp_path / "s_rejected.csv").read_text(encoding="utf-8")
    for text in (result.output, rejected, out.read_text(encoding="utf-8")):
        assert PASSWORD not in text and quote(PASSWORD, safe="") not in text
    assert "***@localhost" in rejected


def test_a_failed_write_changes_nothing(loaded, monkeypatch, demo_acc):
    url, engine = loaded
    before = pgio.write_database({"summary": demo_acc.summary}, f"{url}?table=keep")
    assert "***" in before
    calls = []

    def failing(conn, frame, table, schema):
        calls.append(table)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        original(conn, frame, table, schema)

    original = pgio._write_one
    monkeypatch.setattr(pgio, "_write_one", failing)
    small = demo_acc.summary.head(3)
    with pytest.raises(mineland.OutputError, match="disk full"):
        pgio.write_database({"summary": small, "extra": small}, f"{url}?table=keep")
    assert len(sql(engine, "SELECT * FROM keep")) == len(demo_acc.summary)  # rolled back
    tables = set(sql(engine, "SELECT tablename FROM pg_tables")["tablename"])
    assert "keep_extra" not in tables


def test_queries_only_read(loaded):
    url, engine = loaded
    n = len(sql(engine, "SELECT * FROM points"))
    for query in ("DELETE FROM points", "SELECT 1; DROP TABLE points", "UPDATE points SET lon = 0"):
        with pytest.raises(mineland.MinelandError):
            mineland.read_surveys(f"{url}?query={quote(query)}")
    with pytest.raises(mineland.MinelandError, match="plain SQL name"):
        mineland.read_surveys(f"{url}?table={quote('points; DROP TABLE points')}")
    assert len(sql(engine, "SELECT * FROM points")) == n


def test_missing_table_and_geometry_choice(loaded):
    url, engine = loaded
    with pytest.raises(mineland.InputFileError, match='relation "nope" does not exist'):
        mineland.read_surveys(f"{url}?table=nope")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS two_geoms")
        conn.exec_driver_sql(
            "CREATE TABLE two_geoms AS SELECT record_id, 'device' AS record_type, geometry AS a, "
            "ST_Centroid(geometry) AS b FROM releases LIMIT 5"
        )
    with pytest.raises(mineland.SchemaError, match="several geometry columns"):
        mineland.read_surveys(f"{url}?table=two_geoms")
    points = mineland.read_surveys(f"{url}?table=two_geoms&geometry=b").records
    assert len(points) == 5 and set(points.geometry.geom_type) == {"Point"}


def test_without_the_extra_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(mineland.MissingExtraError, match=r"mineland\[postgis\]"):
        mineland.read_surveys("postgresql://u@h/db?table=t")


def test_naming_the_table_and_listing_them(loaded):
    url, _ = loaded
    with pytest.raises(mineland.SchemaError, match=r"tables with geometry: .*public\.hazards"):
        mineland.read_surveys(url)
    a = mineland.read_surveys(f"{url}?table=public.hazards").records
    b = mineland.read_surveys(f"{url}?table=hazards&schema=public").records
    assert len(a) == len(b) == 3000
    districts = mineland.read_districts(url, layer="districts")
    assert len(districts) == 12
    result = run("summarize", url, f"{url}?table=hazards", "--layer", "districts")
    assert result.exit_code == 0, result.output


def test_bbox_applies_to_database_tables_as_to_files(loaded):
    url, _ = loaded
    box = (46.0, 39.3, 46.6, 39.9)
    from_db = mineland.read_surveys(f"{url}?table=points", bbox=box).records
    from_file = mineland.read_surveys(SURVEYS / "synthetic_devices_incidents.csv", bbox=box).records
    assert 0 < len(from_db) == len(from_file) < 829
    assert set(from_db["record_id"]) == set(from_file["record_id"])
