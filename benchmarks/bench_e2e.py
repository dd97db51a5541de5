"""Benchmark: the ``mineland summarize`` process as a user runs it (start-up to the
written CSV, the validation counts included) against the naive geopandas pipeline run
as a script, also a new process, on the same files in the same run.

    python benchmarks/bench_e2e.py --n 20000 [--n 100000] [--naive-runs 1]
    python benchmarks/bench_e2e.py --n 20000 --vertices 6 \
        --districts ../shared/data/aze_districts_geoboundaries.geojson

By default the hazards lie over 40 generated districts, with 16 vertices each; with
``--districts`` they are generated over a real district layer instead (its name
column is read as mineland reads it), and ``--vertices`` makes them lighter.

In the same run, against that ``summarize`` process: ``mineland validate`` and
``mineland progress --freq month`` (five years of months) as processes, taking turns
with ``summarize`` (each of its runs next to one of theirs); and, in one process,
``read_surveys`` against a plain ``pyogrio.read_dataframe`` of the same files (best
of five each, taking turns), and the validation counts (``validate(detail=False)``)
against the accounting.

The naive script is what a GIS analyst writes: read with geopandas, dissolve each
class, difference and intersect with ``gpd.overlay`` in a fitted equal-area
projection, write a CSV (see ``bench_summarize.naive``).  Both tables must agree
per district (0.5%: the script's edges are straight in the projection, mineland's
geodesics).  Each side runs twice; the best time counts.  The naive script takes its
turns with the three commands too (a round: ``summarize``, ``validate``, ``progress``,
the script), so that the machine's slow and fast minutes fall on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402
from results import machine, report  # noqa: E402

import mineland  # noqa: E402
from mineland.demo import make_surveys  # noqa: E402

NAIVE = """
import sys
import geopandas as gpd
import pandas as pd
sys.path.insert(0, {here!r})
from bench_summarize import naive
from mineland.crs import equal_area_crs
d, h, r, out = sys.argv[1:]
districts = gpd.read_file(d).rename(columns={{"name": "district", "shapeName": "district"}})
records = pd.concat([gpd.read_file(h), gpd.read_file(r)], ignore_index=True)
crs = equal_area_crs(tuple(districts.total_bounds))
naive(districts, gpd.GeoDataFrame(records, crs=4326), crs).to_csv(out, index=False)
"""


INPROCESS = """
import json, sys, time
import pyogrio
import mineland
from mineland.validation import validate
d, h, r = sys.argv[1:]
def best(fn, runs=2):
    times = []
    for _ in range(runs):
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
    return min(times), out
plain, read = [], []
for _ in range(5):  # the two reads take turns: a slow second falls on both
    plain.append(best(lambda: [pyogrio.read_dataframe(p) for p in (h, r)], 1)[0])
    took, data = best(lambda: mineland.read_surveys(h, r), 1)
    read.append(took)
plain, read = min(plain), min(read)
dist = mineland.read_districts(d)
acc_s, acc = best(lambda: mineland.account(dist, data))
counts, _ = best(lambda: validate(dist, data, accounting=acc, detail=False))
print(json.dumps({"plain_read_s": plain, "read_surveys_s": read, "account_s": acc_s,
                  "validation_counts_s": counts}))
"""


#: the processes' environment: Python's compiled bytecode is kept (in benchmarks/out),
#: as an installed package's is, even where the shell says not to write it
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = str(HERE / "out" / "pycache")


def best(cmd: list, runs: int = 2, ok: tuple = (0,)) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=ENV)
        if done.returncode not in ok:
            raise SystemExit(done.stderr[-3000:])
        times.append(time.perf_counter() - t)
    return min(times)


def turns(commands: dict[str, tuple[list, int, tuple]]) -> dict[str, float]:
    """The best time of each command (``name: (command, runs, exit codes that are
    fine)``), the commands taking turns, one run of each a round: a slow minute of
    the machine then falls on all of them, not on the one that ran then."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for turn in range(max(runs for _, runs, _ in commands.values())):
        for name, (cmd, runs, ok) in commands.items():
            if turn < runs:
                times[name].append(best(cmd, 1, ok))
    return {name: min(t) for name, t in times.items()}


def generate_over(districts: Path, n: int, vertices: int, out: Path) -> tuple[Path, Path, Path]:
    """N hazards and N/2 releases over a given district layer (written once)."""
    tag = f"{districts.stem}_{n}_{vertices}v"
    h_path, r_path = out / f"hazards_{tag}.gpkg", out / f"releases_{tag}.gpkg"
    if not (h_path.exists() and r_path.exists()):
        dist = mineland.read_districts(districts)
        surveys = make_surveys(dist, n_hazards=n, release_share=0.5, seed=11, vertices=vertices)
        surveys["hazards"].to_file(h_path, engine="pyogrio")
        surveys["releases"].to_file(r_path, engine="pyogrio")
    return districts, h_path, r_path


def one(n: int, out: Path, naive_runs: int, districts: Path | None, vertices: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    if districts is None and vertices == 16:
        d, h, r = generate(n, 40, out)
    else:
        d, h, r = generate_over(districts or generate(n, 40, out)[0], n, vertices, out)
    script = out / "naive_e2e.py"
    script.write_text(NAIVE.format(here=str(HERE)), encoding="utf-8")
    subprocess.run(["mineland", "--version"], capture_output=True, env=ENV, check=True)  # compiles
    months = ["--freq", "month", "--start", "2021-01-01", "--end", "2025-12-31"]
    timed = turns(
        {
            "summarize": (["mineland", "summarize", d, h, r, "-o", out / f"e2e_{n}.csv"], 2, (0,)),
            "validate": (["mineland", "validate", d, h, r], 2, (0, 1)),
            "progress": (
                ["mineland", "progress", d, h, r, *months, "-o", out / f"m_{n}.csv"],
                1,
                (0,),
            ),
            "naive": (
                [sys.executable, script, d, h, r, out / f"e2e_naive_{n}.csv"],
                naive_runs,
                (0,),
            ),
        }
    )
    ours, check, monthly = timed["summarize"], timed["validate"], timed["progress"]
    theirs = timed["naive"]
    got = pd.read_csv(out / f"e2e_{n}.csv").set_index("district")
    want = pd.read_csv(out / f"e2e_naive_{n}.csv").set_index("district")
    for col in ("cha_ha", "sha_ha", "cleared_ha"):
        diff = (got[col].reindex(want.index) - want[col]).abs().max()
        assert diff <= 0.005 * max(want[col].max(), 1.0), f"{col} differs by {diff}"
    command = [sys.executable, "-c", INPROCESS, d, h, r]
    inside = subprocess.run(command, capture_output=True, text=True, check=True, env=ENV)
    parts = {k: round(v, 2) for k, v in json.loads(inside.stdout).items()}
    return {
        "hazards": n,
        "districts": Path(d).name,
        "vertices": vertices,
        "mineland_summarize_s": round(ours, 2),
        "naive_script_s": round(theirs, 2),
        "ratio": round(theirs / ours, 2),
        "validate_s": round(check, 2),
        "validate_over_summarize": round(check / ours, 2),
        "progress_monthly_5y_s": round(monthly, 2),
        "progress_over_summarize": round(monthly / ours, 2),
        **parts,
        "read_over_plain": round(parts["read_surveys_s"] / parts["plain_read_s"], 2),
        "counts_over_account": round(parts["validation_counts_s"] / parts["account_s"], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, action="append", help="hazards (repeatable)")
    ap.add_argument("--naive-runs", type=int, default=2, help="runs of the naive script")
    ap.add_argument("--districts", type=Path, help="a real district layer (default: 40 made up)")
    ap.add_argument("--vertices", type=int, default=16, help="vertices of a generated hazard")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = HERE / "out"
    districts = args.districts.resolve() if args.districts else None
    runs = [one(n, out, args.naive_runs, districts, args.vertices) for n in args.n or [20_000]]
    result = {"machine": machine(), "runs": runs}
    report(result, args.json)


if __name__ == "__main__":
    main()
