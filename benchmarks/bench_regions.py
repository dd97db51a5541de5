"""Benchmark: the whole ``mineland summarize`` command, this checkout against an
earlier commit, on the same single-region data, in the same run.

    python benchmarks/bench_regions.py --n 100000 --base 630ea13

The earlier commit is checked out with ``git worktree`` into ``benchmarks/out`` and
run from there (``PYTHONPATH``), so both are timed as a user runs them: a new
process from start-up to the written CSV.  The runs alternate, and the medians and
their ratio are reported, with the largest per-district difference in hectares.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402
from versions import NEUTRAL, check_versions, worktree  # noqa: E402

CLI = "import sys; from mineland.cli import main; sys.argv[0] = 'mineland'; main()"


def run(pythonpath: Path, args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CLI, *args], env=env, check=True, capture_output=True, cwd=NEUTRAL
    )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--base", default="630ea13")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    out = HERE / "out"
    d, h, r = generate(a.n, 60, out)
    base = worktree(a.base)
    check_versions(base, ROOT)
    times: dict[str, list[float]] = {"base": [], "new": []}
    for k in range(a.repeat):
        for name, path in (("base", base), ("new", ROOT)):
            csv = out / f"summary_{name}.csv"
            csv.unlink(missing_ok=True)
            times[name].append(
                run(path, ["summarize", str(d), str(h), str(r), "-q", "-o", str(csv)])
            )
            print(f"{name} run {k + 1}: {times[name][-1]:.2f} s", file=sys.stderr)
    old = pd.read_csv(out / "summary_base.csv").set_index("district")
    new = pd.read_csv(out / "summary_new.csv").set_index("district")
    cols = ["sha_ha", "cha_ha", "cleared_ha", "reduced_ha", "cancelled_ha"]
    diff = (
        ((new[cols] - old.loc[new.index, cols]).abs() / old.loc[new.index, cols].clip(lower=1))
        .max()
        .max()
    )
    result = {
        "n": a.n,
        "base_commit": a.base,
        "base_s": statistics.median(times["base"]),
        "new_s": statistics.median(times["new"]),
        "new_over_base": statistics.median(times["new"]) / statistics.median(times["base"]),
        "max_rel_difference": float(diff),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    if a.json:
        a.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
