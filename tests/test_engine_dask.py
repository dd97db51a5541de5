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


# --- workers reading their own GeoParquet partitions -------------------------------


@pytest.fixture
def submitted(monkeypatch):
    """What the client submits to the cluster: each task's function name and the
    bytes of its pickled arguments."""
    import pickle

    seen: list[tuple[str, int]] = []
    real = distributed.Client.submit

    def submit(self, fn, *args, **kwargs):
        seen.append((fn.__name__, len(pickle.dumps(args, protocol=5))))
        return real(self, fn, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "submit", submit)
    return seen


def as_geoparquet(tmp_path, records, rows_per_part=700, row_group=250):
    from mineland.io import _parquet

    old, _parquet.ROW_GROUP_ROWS = _parquet.ROW_GROUP_ROWS, row_group
    try:
        return mineland.io.write_geoparquet(
            records, tmp_path / "surveys.parquet", rows_per_part=rows_per_part
        )
    finally:
        _parquet.ROW_GROUP_ROWS = old


def test_workers_read_their_own_row_groups_and_are_sent_no_geometry(
    cluster, tmp_path, submitted, caplog
):
    d = mineland.read_districts(DISTRICTS)
    s = mineland.read_surveys(as_geoparquet(tmp_path, mineland.read_surveys(SURVEYS).records))
    local = mineland.summarize(d, s)
    with caplog.at_level("INFO", logger="mineland.engines.dask_engine"):
        remote = mineland.summarize(d, s, engine="dask", scheduler=cluster.scheduler_address)
    assert_same(local, remote)
    names = {name for name, _ in submitted}
    assert "_partition" not in names and "_file_partition" in names
    assert "read 2" in caplog.text  # row groups, not the one file per part
    pushed = sum(n for _, n in submitted)
    submitted.clear()
    shipped = mineland.summarize(
        d, mineland.read_surveys(SURVEYS), engine="dask", scheduler=cluster.scheduler_address
    )
    assert_same(local, shipped)
    assert {name for name, _ in submitted} >= {"_partition"}
    assert pushed < sum(n for _, n in submitted) / 5


def test_world_wide_regions_read_by_the_workers(cluster, tmp_path, submitted):
    from test_worldwide import districts_gdf, hazards_gdf

    records = mineland.read_surveys(as_geoparquet(tmp_path, hazards_gdf(), 40, 15))
    local = mineland.account(districts_gdf(), records)
    assert len(local.regions) > 4
    remote = mineland.summarize(
        districts_gdf(), records, engine="dask", scheduler=cluster.scheduler_address
    )
    assert_same(local.summary, remote)
    assert "_partition" not in {name for name, _ in submitted}


def test_records_changed_since_they_were_read_are_sent(cluster, tmp_path, submitted, caplog):
    # a notebook moves records after reading them: the workers would read the old ones
    d = mineland.read_districts(DISTRICTS)
    s = mineland.read_surveys(as_geoparquet(tmp_path, mineland.read_surveys(SURVEYS).records))
    records = s.records.copy()
    moved = records.index[records["record_type"] == "SHA"][:25]
    records.loc[moved, "geometry"] = records.loc[moved].geometry.scale(1.5, 1.5)
    local = mineland.summarize(d, records)
    with caplog.at_level("WARNING", logger="mineland.engines.dask_engine"):
        remote = mineland.summarize(d, records, engine="dask", scheduler=cluster.scheduler_address)
    assert_same(local, remote)
    assert "differ from their GeoParquet files" in caplog.text
    assert "_partition" in {name for name, _ in submitted}


def test_files_gone_since_they_were_read_are_sent(cluster, tmp_path, caplog):
    import shutil

    d = mineland.read_districts(DISTRICTS)
    path = as_geoparquet(tmp_path, mineland.read_surveys(SURVEYS).records)
    s = mineland.read_surveys(path)
    shutil.rmtree(path)
    local = mineland.summarize(d, s)
    with caplog.at_level("INFO", logger="mineland.engines.dask_engine"):
        remote = mineland.summarize(d, s, engine="dask", scheduler=cluster.scheduler_address)
    assert_same(local, remote)
    assert "sending their geometry" in caplog.text


def test_files_some_worker_cannot_read_are_sent(tmp_path, caplog):
    from mineland.engines.base import PieceOrigin
    from mineland.engines.dask_engine import _readable_partitions

    s = mineland.read_surveys(as_geoparquet(tmp_path, mineland.read_surveys(SURVEYS).records))
    origin = PieceOrigin(
        s.records["source_file"].to_numpy(), s.records["source_row"].to_numpy(), [], 0
    )

    class Client:  # two workers, one on another machine without the files
        def __init__(self, sees):
            self.sees = sees

        def run(self, fn, paths):
            return {"tcp://a:1": fn(paths), "tcp://b:1": fn(paths) and self.sees}

    assert len(_readable_partitions(Client(True), origin)) > 1
    with caplog.at_level("WARNING", logger="mineland.engines.dask_engine"):
        assert _readable_partitions(Client(False), origin) is None
    assert "tcp://b:1 cannot read" in caplog.text
