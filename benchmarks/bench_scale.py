"""Benchmark: scaling from 10k to 1M hazards, local engine against the dask engine.

    python benchmarks/bench_scale.py --sizes 10000 100000 1000000

For each size (N hazards + N/2 releases over 60 districts, generated once into
benchmarks/out/), in one run: the plain read (baseline), the local engine, and the
dask engine on a distributed.LocalCluster of 2 single-threaded worker processes;
wall times, peak memory of this process and of each worker, and the ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyogrio

sys.path.insert(0, str(Path(__file__).parent))
from bench_summarize import generate  # noqa: E402

import mineland  # noqa: E402
from mineland.accounting import CLASSES  # noqa: E402


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def worker_peak_gb(client) -> list[float]:
    def peak():
        import resource as r

        return r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1e6

    return sorted(client.run(peak).values())


def main() -> None:
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        for n in args.sizes:
            paths = generate(n, 60, args.out)
            gc.collect()
            t = time.perf_counter()
            for p in paths:
                pyogrio.read_dataframe(p)
            t_plain = time.perf_counter() - t
            d = mineland.read_districts(paths[0])
            s = mineland.read_surveys(*paths[1:])
            t = time.perf_counter()
            local = mineland.summarize(d, s)
            t_local = time.perf_counter() - t
            peak_local = rss_gb()
            t = time.perf_counter()
            remote = mineland.summarize(d, s, engine="dask", scheduler=cluster.scheduler_address)
            t_dask = time.perf_counter() - t
            cols = list(CLASSES.values())
            x, y = local[cols].to_numpy(float), remote[cols].to_numpy(float)
            row = {
                "n_hazards": n,
                "plain_read_s": round(t_plain, 2),
                "local_s": round(t_local, 2),
                "dask_s": round(t_dask, 2),
                "dask_over_local": round(t_dask / t_local, 2),
                "local_over_plain_read": round(t_local / t_plain, 1),
                "peak_process_gb": round(peak_local, 2),
                "peak_worker_gb": [round(v, 2) for v in worker_peak_gb(client)],
                "max_rel_diff": float(f"{np.max(np.abs(x - y) / np.maximum(np.abs(x), 1)):.1e}"),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
            del d, s, local, remote
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
