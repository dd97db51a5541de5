"""The dask engine equals the local one, including polygons across partition seams."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import DISTRICTS, SURVEYS, districts_frame, frame, sq

import mineland
from mineland.accounting import CLASSES, account
from mineland.cli import main
from mineland.engines.dask_engine import zone_class_areas

distributed = pytest.importorskip("distributed")

COLS = list(CLASSES.values()) + ["devices", "incidents", "hazard_records"]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


def assert_same(a, b):
    assert list(a["district"]) == list(b["district"])
    x, y = a[COLS].to_numpy(dtype=float), b[COLS].to_numpy(dtype=float)
    assert np.all(np.abs(x - y) <= 1e-6 * np.maximum(np.abs(x), 1.0)), np.abs(x - y).max()


def test_demo_on_a_two_worker_local_cluster(cluster):
    d, s = mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS)
    local = mineland.summarize(d, s)
    remote = mineland.summarize(d, s, engine="dask", scheduler=cluster.scheduler_address)
    assert_same(local, remote)


def test_seams_between_partitions_are_not_double_counted(cluster):
    # a row of districts; long polygons overlapping each other across many partitions,
    # releases across district borders, and a hazard reaching outside every district
    d = districts_frame({f"D{i}": sq(i * 2000, 0, 2000, 10_000) for i in range(6)})
    rows = []
    for i in range(40):
        rows.append(
            {
                "record_id": f"h{i}",
                "record_type": "SHA" if i % 3 else "CHA",
                "geometry": sq(i * 280, 1000 + (i % 7) * 900, 1500, 700),
            }
        )
    for i in range(12):
        rows.append(
            {
                "record_id": f"r{i}",
                "record_type": ["cleared", "reduced", "cancelled"][i % 3],
                "geometry": sq(i * 950 + 500, 1500, 1800, 3000),
            }
        )
    rows.append(
        {"record_id": "big", "record_type": "SHA", "geometry": sq(-3000, 8000, 20_000, 4000)}
    )
    s = frame(rows)
    local = account(d, s)
    (region,) = local.regions
    many = zone_class_areas(
        region.pieces,
        local.records["record_type"].to_numpy(dtype=object)[region.piece_record],
        region.zones.zones,
        scheduler=cluster.scheduler_address,
        partitions=8,
        groups=5,
    )
    expected = local.summary[list(CLASSES.values())].to_numpy(dtype=float) * 1e4
    assert np.allclose(many[: len(expected)], expected, rtol=1e-6, atol=1e-3)
    assert many[-1].sum() > 0  # "big" reaches outside the districts
    remote = mineland.summarize(d, s, engine="dask", scheduler=cluster.scheduler_address)
    assert_same(local.summary, remote)


def test_unknown_engine():
    d = districts_frame({"A": sq(0, 0)})
    with pytest.raises(mineland.DataError, match="engine"):
        mineland.summarize(
            d,
            frame([{"record_id": "a", "record_type": "SHA", "geometry": sq(0, 0)}]),
            engine="spark",
        )


def test_cli_engine(cluster, tmp_path):
    out = tmp_path / "s.csv"
    r = CliRunner().invoke(
        main,
        [
            "summarize",
            str(DISTRICTS),
            str(SURVEYS),
            "-o",
            str(out),
            "--engine",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
        ],
    )
    assert r.exit_code == 0, r.output
    import pandas as pd

    got = pd.read_csv(out)
    local = mineland.summarize(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    assert np.allclose(got["contaminated_ha"], local["contaminated_ha"], rtol=1e-6)


def test_world_wide_regions_on_the_cluster(cluster):
    from test_worldwide import districts_gdf, hazards_gdf

    local = mineland.account(districts_gdf(), hazards_gdf())
    assert len(local.regions) > 4
    remote = mineland.summarize(
        districts_gdf(), hazards_gdf(), engine="dask", scheduler=cluster.scheduler_address
    )
    assert_same(local.summary, remote)
