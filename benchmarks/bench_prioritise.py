"""Benchmark: prioritisation of N hazards against M road segments.

    python benchmarks/bench_prioritise.py --n 100000 --roads 1000000

Times in one run, on the same data:

1. ``mineland.prioritise`` with a roads layer (the distance bands; geodesic metres),
   on an accounting made beforehand (not timed);
2. the baseline: geopandas ``sjoin_nearest`` of the same remaining hazards to the
   roads in the same equal-area projection (planar metres), the usual way;
3. the whole ``mineland prioritise`` command as a user runs it (a new process,
   reading the GeoPackages, accounting, scoring, writing the CSV).

It checks that both give the same nearest distances (to 1%: geodesic against planar
in an equal-area projection) and prints the times and their ratio.
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

import geopandas as gpd
import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402

import mineland  # noqa: E402
from mineland.priorities import prioritise  # noqa: E402


def roads(districts: gpd.GeoDataFrame, m: int, out: Path) -> Path:
    path = out / f"roads_{m}.gpkg"
    if path.exists():
        return path
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = districts.total_bounds
    x = rng.uniform(minx, maxx, m)
    y = rng.uniform(miny, maxy, m)
    angle = rng.uniform(0, 2 * np.pi, m)
    step = rng.uniform(0.001, 0.004, m)  # 100–400 m segments
    coords = np.stack(
        [np.stack([x, y], 1), np.stack([x + step * np.cos(angle), y + step * np.sin(angle)], 1)], 1
    )
    lines = shapely.linestrings(coords)
    frame = gpd.GeoDataFrame({"kind": ["road"] * m}, geometry=lines, crs=4326)
    frame.to_file(path, engine="pyogrio")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--roads", type=int, default=1_000_000)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    out = HERE / "out"
    d, h, r = generate(a.n, 60, out)
    districts = mineland.read_districts(d)
    road_path = roads(districts, a.roads, out)
    surveys = mineland.read_surveys(h, r)
    acc = mineland.account(districts, surveys)
    layer = mineland.io.read_features(road_path)
    profile = {"criteria": {}, "layers": {"roads": {"weight": 1, "bands": [[1e9, 1.0]]}}}

    t = time.perf_counter()
    ranked = prioritise(acc, profile=profile, layers={"roads": layer})
    ours = time.perf_counter() - t

    crs = acc.crs
    hazards = ranked.table.to_crs(crs)
    t = time.perf_counter()
    naive = gpd.sjoin_nearest(hazards, layer.to_crs(crs), distance_col="metres", how="left")
    baseline = time.perf_counter() - t
    naive = naive[~naive.index.duplicated()]

    from mineland.priorities import _pairs_m  # the distances themselves, to compare

    geoms = np.asarray(ranked.table.geometry.array, dtype=object)
    hi, _, metres = _pairs_m(acc, geoms, np.asarray(layer.to_crs(4326).geometry.array), None)
    got = np.full(len(geoms), np.nan)
    got[hi] = metres
    ref = naive["metres"].to_numpy()
    far = ref > 1.0
    rel = float(np.nanmax(np.abs(got[far] - ref[far]) / ref[far])) if far.any() else 0.0

    csv = out / "prioritise.csv"
    profile_path = out / "roads_profile.toml"
    profile_path.write_text(
        f'[layers.roads]\nweight = 1\nbands = [[1000, 1.0]]\npath = "{road_path.name}"\n'
    )
    t = time.perf_counter()
    subprocess.run(
        [
            "mineland",
            "prioritise",
            str(d),
            str(h),
            str(r),
            "--profile",
            str(profile_path),
            "-q",
            "-o",
            str(csv),
        ],
        check=True,
    )
    command = time.perf_counter() - t
    result = {
        "n_hazards": a.n,
        "road_segments": a.roads,
        "ranked_hazards": len(ranked.table),
        "prioritise_s": ours,
        "sjoin_nearest_s": baseline,
        "baseline_over_ours": baseline / ours,
        "whole_command_s": command,
        "max_rel_distance_difference": rel,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=1))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
