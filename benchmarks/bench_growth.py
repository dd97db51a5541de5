"""Benchmark: how the whole ``mineland summarize`` grows from 10k to 1M hazards at
constant density: the area (and the number of districts) grows with N, so the
hazards, their clusters and the districts keep their sizes.

    python benchmarks/bench_growth.py --sizes 10000 100000 1000000

For each N (+ N/2 releases) it runs, each as a new process: a plain
``pyogrio.read_dataframe`` of the three files (the baseline) and ``mineland
summarize … -o s.csv`` (start-up, reading with every check, the accounting, the
validation counts, writing).  It reports the wall time and the peak memory (peak RSS
of the process), the ratio to the plain read, and the growth exponent k of
time ∝ N^k between consecutive sizes.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

from mineland.demo import make_districts, make_surveys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import machine, report  # noqa: E402

HERE = Path(__file__).resolve().parent
#: the 10k extent, about 110 × 120 km (0.8 hazards per km², as bench_summarize's 100k)
BASE = (1.3, 1.1)
CENTRE = (44.0, 40.0)

PLAIN = """
import sys, pyogrio
for p in sys.argv[1:]:
    pyogrio.read_dataframe(p)
"""


def generate(n: int, out: Path) -> tuple[Path, Path, Path]:
    scale = math.sqrt(n / 10_000)
    w, h = BASE[0] * scale / 2, BASE[1] * scale / 2
    bounds = (CENTRE[0] - w, CENTRE[1] - h, CENTRE[0] + w, CENTRE[1] + h)
    paths = tuple(out / f"growth_{k}_{n}.gpkg" for k in ("districts", "hazards", "releases"))
    if all(p.exists() for p in paths):
        return paths
    t = time.perf_counter()
    districts = make_districts(max(12, 12 * n // 10_000), bounds=bounds, seed=7)
    surveys = make_surveys(
        districts, n_hazards=n, release_share=0.5, n_incidents=100, seed=11, vertices=16
    )
    for p, frame in zip(paths, (districts, surveys["hazards"], surveys["releases"]), strict=True):
        p.unlink(missing_ok=True)
        frame.to_file(p, engine="pyogrio")
    print(f"generated N={n} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return paths


def timed(cmd: list) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of a command run as a new process."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "dt = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(done.returncode, dt, peak)\n"
        "sys.stderr.write(done.stderr[-2000:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, cmd)], capture_output=True, text=True
    )
    rc, dt, peak = done.stdout.split()
    if int(rc) not in (0,):
        raise SystemExit(done.stderr)
    return float(dt), int(peak) / 1024**2


def one(n: int, out: Path) -> dict:
    d, h, r = generate(n, out)
    plain_s, plain_gb = timed([sys.executable, "-c", PLAIN, d, h, r])
    ours_s, ours_gb = timed(["mineland", "summarize", d, h, r, "-o", out / f"growth_{n}.csv"])
    size = sum(p.stat().st_size for p in (d, h, r)) / 1e6
    return {
        "hazards": n,
        "input_mb": round(size, 1),
        "plain_read_s": round(plain_s, 2),
        "summarize_s": round(ours_s, 2),
        "summarize_over_plain_read": round(ours_s / plain_s, 2),
        "plain_read_peak_gb": round(plain_gb, 2),
        "summarize_peak_gb": round(ours_gb, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    runs = [one(n, out) for n in args.sizes]
    for a, b in zip(runs, runs[1:], strict=False):
        k = math.log(b["summarize_s"] / a["summarize_s"]) / math.log(b["hazards"] / a["hazards"])
        m = math.log(b["summarize_peak_gb"] / a["summarize_peak_gb"]) / math.log(
            b["hazards"] / a["hazards"]
        )
        b["time_exponent_from_previous"] = round(k, 2)
        b["memory_exponent_from_previous"] = round(m, 2)
    result = {"machine": machine(), "runs": runs}
    report(result, args.json)


if __name__ == "__main__":
    main()
