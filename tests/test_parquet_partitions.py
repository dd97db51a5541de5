"""Records read from GeoParquet can be found again by file, row group and row: what
the dask workers read instead of being sent the geometry."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely
from conftest import SURVEYS

import mineland
from mineland.io import _parquet
from mineland.io.partitions import parquet_partitions, read_partition


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.setattr(_parquet, "ROW_GROUP_ROWS", 300)
    records = mineland.read_surveys(SURVEYS).records
    return mineland.io.write_geoparquet(records, tmp_path / "s.parquet", rows_per_part=1000)


def test_datasets_are_written_in_row_groups(dataset):
    part = sorted(dataset.glob("part-*.parquet"))[0]
    meta = pq.ParquetFile(part).metadata
    assert meta.num_row_groups == 4  # 1000 rows in row groups of 300
    assert sum(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) == 1000


def test_every_record_is_found_again_in_its_row_group(dataset):
    records = mineland.read_surveys(dataset).records
    n_parts = len(list(dataset.glob("part-*.parquet")))
    assert n_parts > 3
    found = parquet_partitions(records["source_file"].to_numpy(), records["source_row"].to_numpy())
    assert found is not None
    at = np.concatenate([p.at for p in found])
    assert np.array_equal(np.sort(at), np.arange(len(records)))
    types = records["record_type"].to_numpy(dtype=object)
    for p in found:
        again = read_partition(p.part, p.row_group, p.rows, types[p.at])
        assert len(again) == len(p.rows)
        mine = np.asarray(records.geometry.array, dtype=object)[p.at]
        theirs = np.asarray(again.geometry.array, dtype=object)
        assert shapely.equals_exact(mine, theirs, tolerance=0).all()


def test_a_shuffled_subset_maps_to_the_right_rows(dataset):
    records = mineland.read_surveys(dataset).records
    rng = np.random.default_rng(3)
    pick = rng.choice(len(records), 400, replace=False)
    found = parquet_partitions(
        records["source_file"].to_numpy()[pick], records["source_row"].to_numpy()[pick]
    )
    geoms = np.asarray(records.geometry.array, dtype=object)[pick]
    types = records["record_type"].to_numpy(dtype=object)[pick]
    for p in found:
        again = read_partition(p.part, p.row_group, p.rows, types[p.at])
        assert shapely.equals_exact(geoms[p.at], again.geometry.to_numpy(), 0).all()


def test_what_cannot_be_read_again_is_not_mapped(dataset, tmp_path):
    records = mineland.read_surveys(dataset).records
    files, rows = records["source_file"].to_numpy(), records["source_row"].to_numpy()
    assert parquet_partitions(np.full(3, str(SURVEYS / "x.gpkg"), dtype=object), rows[:3]) is None
    assert parquet_partitions(files[:3], np.array([1, 2, 10**7])) is None  # past the end
    nested = tmp_path / "hive"
    (nested / "year=2024").mkdir(parents=True)
    (dataset / "part-00000.parquet").rename(nested / "year=2024" / "part-00000.parquet")
    assert parquet_partitions(np.full(1, str(nested), dtype=object), rows[:1]) is None


def test_convert_clears_the_unfinished_folder_a_killed_run_left(tmp_path):
    import subprocess
    import sys

    from conftest import run

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its process id is now free: the run it stands for was killed
    left = tmp_path / f".parts.{dead.pid}.0123abcd.partial"
    left.mkdir()
    (left / "part-00000.parquet").write_bytes(b"half a part")
    result = run("convert", SURVEYS, "-o", tmp_path / "parts")
    assert result.exit_code == 0, result.output
    assert not left.exists()
    assert len(mineland.read_surveys(tmp_path / "parts").records) > 0
