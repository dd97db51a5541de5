"""Benchmark: the ``mineland summarize`` process as a user runs it (start-up to the
written CSV, the validation counts included) against the naive geopandas pipeline run
as a script, also a new process, on the same files in the same run.

    python benchmarks/bench_e2e.py --n 20000 [--n 100000]

The naive script is what a GIS analyst writes: read with geopandas, dissolve each
class, difference and intersect with ``gpd.overlay`` in a fitted equal-area
projection, write a CSV (see ``bench_summarize.naive``).  Both tables must agree
per district (0.5%: the script's edges are straight in the projection, mineland's
geodesics).  Each side runs twice; the best time counts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402

NAIVE = """
import sys
import geopandas as gpd
import pandas as pd
sys.path.insert(0, {here!r})
from bench_summarize import naive
from mineland.geometry import equal_area_crs
d, h, r, out = sys.argv[1:]
districts = gpd.read_file(d).rename(columns={{"name": "district"}})
records = pd.concat([gpd.read_file(h), gpd.read_file(r)], ignore_index=True)
crs = equal_area_crs(tuple(districts.total_bounds))
naive(districts, gpd.GeoDataFrame(records, crs=4326), crs).to_csv(out, index=False)
"""


def best(cmd: list, runs: int = 2) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        times.append(time.perf_counter() - t)
    return min(times)


def one(n: int, out: Path) -> dict:
    d, h, r = generate(n, 40, out)
    script = out / "naive_e2e.py"
    script.write_text(NAIVE.format(here=str(HERE)), encoding="utf-8")
    ours = best(["mineland", "summarize", "-q", d, h, r, "-o", out / f"e2e_{n}.csv"])
    theirs = best([sys.executable, script, d, h, r, out / f"e2e_naive_{n}.csv"])
    got = pd.read_csv(out / f"e2e_{n}.csv").set_index("district")
    want = pd.read_csv(out / f"e2e_naive_{n}.csv").set_index("district")
    for col in ("cha_ha", "sha_ha", "cleared_ha"):
        diff = (got[col].reindex(want.index) - want[col]).abs().max()
        assert diff <= 0.005 * max(want[col].max(), 1.0), f"{col} differs by {diff}"
    return {
        "hazards": n,
        "mineland_summarize_s": round(ours, 2),
        "naive_script_s": round(theirs, 2),
        "ratio": round(theirs / ours, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, action="append", help="hazards (repeatable)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = HERE / "out"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    result = {"machine": machine, "runs": [one(n, out) for n in args.n or [20_000]]}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
