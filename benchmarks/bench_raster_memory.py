"""Benchmark: the peak memory of ``mineland raster`` as a user runs it, for grids of
growing size, against ``mineland summarize`` of the same data in the same run.

    python benchmarks/bench_raster_memory.py --n 100000 --resolution 100 50 25

Uses the data of ``bench_summarize.py`` (N hazards + N/2 releases over 60 districts,
a national extent of about 340 × 380 km).  Each command is a new process; the peak is
its peak RSS.  The raster is worked out and written in windows, so its peak should
stay near the accounting's (the summarize baseline) whatever the grid's size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import rasterio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_growth import timed  # noqa: E402
from bench_summarize import generate  # noqa: E402
from results import machine, report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--resolution", type=float, nargs="+", default=[100.0, 50.0, 25.0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = HERE / "out"
    d, h, r = generate(args.n, 60, out)
    base_s, base_gb = timed(["mineland", "summarize", "-q", d, h, r, "-o", out / "rm.csv"])
    runs = []
    for res in args.resolution:
        tif = out / f"density_{res:g}.tif"
        cmd = ["mineland", "raster", "-q", d, h, r, "--resolution", res, "-o", tif]
        seconds, peak = timed(cmd)
        with rasterio.open(tif) as src:
            cells = src.width * src.height
        runs.append(
            {
                "resolution_m": res,
                "cells_million": round(cells / 1e6, 1),
                "raster_s": round(seconds, 2),
                "raster_peak_gb": round(peak, 2),
                "peak_over_summarize": round(peak / base_gb, 2),
            }
        )
    result = {
        "machine": machine(),
        "hazards": args.n,
        "summarize_s": round(base_s, 2),
        "summarize_peak_gb": round(base_gb, 2),
        "runs": runs,
    }
    report(result, args.json)


if __name__ == "__main__":
    main()
