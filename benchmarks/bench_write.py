"""Benchmark: writing a large table as CSV, ``write_table`` against the same writing
with every text cell made inert on its own (the baseline), in one run.

    python benchmarks/bench_write.py --rows 3000000

The table is what a large ``rejected`` file or an export of records looks like: a
number, an id and a type per row, and the as-of date and software version that every
written CSV carries as its last columns.  Both sides write the same bytes; the ratio
is the baseline's time over ``write_table``'s (best of three each, taking turns).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from results import machine, report  # noqa: E402

from mineland.io import write_table  # noqa: E402
from mineland.io.write import _safe_cell, table_metadata  # noqa: E402


def baseline(frame: pd.DataFrame, path: Path) -> None:
    """The table written with each text cell made inert on its own."""
    stamped = frame.assign(**table_metadata(frame))
    for col in stamped.columns:
        if stamped[col].dtype == object or pd.api.types.is_string_dtype(stamped[col]):
            stamped[col] = stamped[col].map(_safe_cell).astype(object)
    stamped.to_csv(path, index=False, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "k": np.arange(args.rows),
            "record_id": [f"R{k:08d}" for k in range(args.rows)],
            "record_type": rng.choice(["SHA", "CHA", "cleared", "=cmd"], args.rows),
        }
    )
    times: dict[str, list[float]] = {"write_table": [], "baseline": []}
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = Path(folder) / "ours.csv", Path(folder) / "theirs.csv"
        for _ in range(3):
            t = time.perf_counter()
            write_table(frame, ours)
            times["write_table"].append(time.perf_counter() - t)
            t = time.perf_counter()
            baseline(frame, theirs)
            times["baseline"].append(time.perf_counter() - t)
        assert ours.read_bytes() == theirs.read_bytes(), "the two writers differ"
        size = ours.stat().st_size
    best = {k: min(v) for k, v in times.items()}
    report(
        {
            "machine": machine(),
            "rows": args.rows,
            "csv_mb": round(size / 1e6, 1),
            "write_table_s": round(best["write_table"], 2),
            "baseline_s": round(best["baseline"], 2),
            "ratio": round(best["baseline"] / best["write_table"], 2),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
