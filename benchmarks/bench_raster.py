"""Benchmark: exact density raster against a plain 0/1 burn, same run.

    python benchmarks/bench_raster.py --n 100000 --resolution 100

Uses the data of ``bench_summarize.py``.  Times ``density_grid`` (exact coverage with
exactextract) and, as the baseline, ``rasterio.features.rasterize`` of the same
remaining-contamination polygons on the same grid (cell centres burnt 0/1), and
compares both totals with ``contaminated_ha``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from rasterio.features import rasterize

sys.path.insert(0, str(Path(__file__).parent))
from bench_summarize import generate  # noqa: E402

import mineland  # noqa: E402
from mineland.raster import density_grid  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--resolution", type=float, default=100.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    d_path, h_path, r_path = generate(args.n, 60, args.out)
    acc = mineland.account(mineland.read_districts(d_path), mineland.read_surveys(h_path, r_path))
    truth = float(acc.summary["contaminated_ha"].sum())
    cell_ha = args.resolution**2 / 1e4

    t = time.perf_counter()
    array, profile = density_grid(acc, resolution=args.resolution)
    t_exact = time.perf_counter() - t
    exact_ha = float(array[array > 0].astype(np.float64).sum()) * cell_ha

    parts = np.concatenate([r.classes[k] for r in acc.regions for k in ("cha", "sha")])
    t = time.perf_counter()
    burnt = rasterize(
        ((g, 1) for g in parts),
        out_shape=array.shape,
        transform=profile["transform"],
        fill=0,
        dtype="uint8",
    )
    t_burn = time.perf_counter() - t
    burn_ha = float(burnt.sum()) * cell_ha
    figures = {
        "n_hazards": args.n,
        "grid": f"{profile['width']} x {profile['height']} at {args.resolution:g} m",
        "exact_s": round(t_exact, 2),
        "burn_s": round(t_burn, 2),
        "exact_over_burn_time": round(t_exact / t_burn, 1),
        "contaminated_ha": round(truth, 1),
        "exact_rel_error": float(f"{abs(exact_ha - truth) / truth:.2e}"),
        "burn_rel_error": float(f"{abs(burn_ha - truth) / truth:.2e}"),
    }
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
