"""Benchmark: what the client sends to the dask workers, geometry against row numbers.

    python benchmarks/bench_dask_pushdown.py --sizes 100000 1000000

For each size (N hazards + N/2 releases at constant density, the data of
``bench_growth.py``, generated once into benchmarks/out/, and converted once to a
GeoParquet dataset as ``mineland convert`` writes it), in one run on a
``distributed.LocalCluster`` of 2 single-threaded worker processes:

- the local engine (the baseline figures);
- the dask engine on the records read from the GeoPackages: the client sends their
  projected geometry (WKB);
- the dask engine on the same records read from the GeoParquet dataset: the workers
  read their own row groups; the client sends row numbers and type codes.

The bytes sent are counted by pickling the arguments of every task the client
submits (``Client.submit``), zones and row numbers included, and compared with the
size of the input on disk.  Both dask results must equal the local one to 1e-9.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_growth import generate  # noqa: E402
from results import machine, report  # noqa: E402

import mineland  # noqa: E402
from mineland.accounting import CLASSES  # noqa: E402
from mineland.io import write_geoparquet  # noqa: E402


def size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def as_geoparquet(paths: list[Path], out: Path) -> Path:
    if not out.exists():
        t = time.perf_counter()
        write_geoparquet(mineland.read_surveys(*paths).records, out, inputs=paths)
        print(f"converted to {out.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return out


class Sent:
    """Counts the pickled bytes of every task argument the client submits."""

    def __init__(self) -> None:
        import distributed

        self.bytes, self.by_task = 0, {}
        self.real = distributed.Client.submit
        counter = self

        def submit(client, fn, *args, **kwargs):
            n = len(pickle.dumps(args, protocol=5))
            counter.bytes += n
            counter.by_task[fn.__name__] = counter.by_task.get(fn.__name__, 0) + n
            return counter.real(client, fn, *args, **kwargs)

        distributed.Client.submit = submit

    def take(self) -> tuple[int, dict]:
        out = self.bytes, dict(self.by_task)
        self.bytes, self.by_task = 0, {}
        return out


def max_rel_diff(a, b) -> float:
    cols = list(CLASSES.values())
    x, y = a[cols].to_numpy(float), b[cols].to_numpy(float)
    return float(f"{np.max(np.abs(x - y) / np.maximum(np.abs(x), 1)):.1e}")


def one_size(n: int, out: Path, address: str, sent: Sent) -> dict:
    d_path, *paths = generate(n, out)
    dataset = as_geoparquet(paths, out / f"growth_surveys_{n}.parquet")
    d = mineland.read_districts(d_path)
    from_gpkg, from_parquet = mineland.read_surveys(*paths), mineland.read_surveys(dataset)
    t = time.perf_counter()
    local = mineland.summarize(d, from_gpkg)
    t_local = time.perf_counter() - t
    row = {"n_hazards": n, "local_s": round(t_local, 2)}
    for label, records in (("geometry_sent", from_gpkg), ("workers_read", from_parquet)):
        sent.take()
        t = time.perf_counter()
        remote = mineland.summarize(d, records, engine="dask", scheduler=address)
        row[f"{label}_s"] = round(time.perf_counter() - t, 2)
        total, by_task = sent.take()
        row[f"{label}_mb"] = round(total / 1e6, 2)
        row[f"{label}_by_task_mb"] = {k: round(v / 1e6, 3) for k, v in by_task.items()}
        row[f"{label}_max_rel_diff"] = max_rel_diff(local, remote)
    row["input_gpkg_mb"] = round(sum(size_mb(p) for p in paths), 1)
    row["input_parquet_mb"] = round(size_mb(dataset), 1)
    row["sent_share_of_input"] = round(row["workers_read_mb"] / row["input_parquet_mb"], 4)
    row["sent_share_geometry"] = round(row["geometry_sent_mb"] / row["input_parquet_mb"], 4)
    print(row, file=sys.stderr, flush=True)
    return row


def main() -> None:
    from distributed import Client, LocalCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sent = Sent()
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        runs = [one_size(n, args.out, cluster.scheduler_address, sent) for n in args.sizes]
    report({"machine": machine(), "runs": runs}, args.json)


if __name__ == "__main__":
    main()
