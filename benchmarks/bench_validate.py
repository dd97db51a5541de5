"""Benchmark: mineland.validate against summarize and the plain read, same run.

python benchmarks/bench_validate.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyogrio

sys.path.insert(0, str(Path(__file__).parent))
from bench_summarize import generate  # noqa: E402

import mineland  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    paths = generate(args.n, 60, args.out)
    t = time.perf_counter()
    for p in paths:
        pyogrio.read_dataframe(p)
    t_plain = time.perf_counter() - t
    districts = mineland.read_districts(paths[0])
    surveys = mineland.read_surveys(*paths[1:])
    t = time.perf_counter()
    mineland.summarize(districts, surveys)
    t_sum = time.perf_counter() - t
    t = time.perf_counter()
    report = mineland.validate(districts, surveys)
    t_val = time.perf_counter() - t
    figures = {
        "n_hazards": args.n,
        "plain_read_s": round(t_plain, 2),
        "summarize_s": round(t_sum, 2),
        "validate_s": round(t_val, 2),
        "validate_over_summarize": round(t_val / t_sum, 1),
        "validate_over_plain_read": round(t_val / t_plain, 1),
        "findings": len(report.findings),
    }
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
