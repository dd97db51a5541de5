"""Benchmark: mineland.summarize against the naive geopandas pipeline, same run.

    python benchmarks/bench_summarize.py --n 100000

Generates N overlapping synthetic hazards plus N/2 releases over about 60 synthetic
districts, writes them to GeoPackage, then times, in this order:

1. plain read: ``pyogrio.read_dataframe`` of the input files (the baseline);
2. ``mineland.read_districts`` + ``mineland.read_surveys`` (reading plus checking);
3. ``mineland.summarize`` on what was read;
4. the naive pipeline: ``dissolve`` each class, ``overlay`` differences, then
   ``overlay`` intersection with the districts.

It prints the ratios and checks that both pipelines give the same hectares.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

import mineland
from mineland.accounting import CLASSES, account
from mineland.demo import make_districts, make_surveys
from mineland.regions import densify_geodesic

EXTENT = (44.6, 38.4, 48.6, 41.8)


def generate(n: int, n_districts: int, out: Path) -> tuple[Path, Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    d_path, h_path, r_path = (
        out / f"districts_{n_districts}.gpkg",
        out / f"hazards_{n}.gpkg",
        out / f"releases_{n}.gpkg",
    )
    if not (d_path.exists() and h_path.exists() and r_path.exists()):
        t = time.perf_counter()
        districts = make_districts(n_districts, bounds=EXTENT, seed=7)
        surveys = make_surveys(
            districts, n_hazards=n, release_share=0.5, n_incidents=100, seed=11, vertices=16
        )
        for p in (d_path, h_path, r_path):
            p.unlink(missing_ok=True)
        districts.to_file(d_path, engine="pyogrio")
        surveys["hazards"].to_file(h_path, engine="pyogrio")
        surveys["releases"].to_file(r_path, engine="pyogrio")
        print(f"generated N={n} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return d_path, h_path, r_path


def naive(districts: gpd.GeoDataFrame, records: gpd.GeoDataFrame, crs) -> pd.DataFrame:
    """dissolve + overlay, the way it is usually written with geopandas.

    The edges are given the same vertices on the geodesic as mineland gives them,
    so that both pipelines measure the same polygons."""
    g = records[records.geom_type.isin(["Polygon", "MultiPolygon"])]
    g = g.set_geometry(densify_geodesic(np.asarray(g.geometry.array, dtype=object))).to_crs(crs)
    d = districts[["district", "geometry"]]
    d = d.set_geometry(densify_geodesic(np.asarray(d.geometry.array, dtype=object))).to_crs(crs)
    t = g["record_type"]

    def dis(mask) -> gpd.GeoDataFrame:
        part = g[mask][["geometry"]]
        if len(part) == 0:
            return gpd.GeoDataFrame(geometry=[], crs=crs)
        return part.dissolve()

    def diff(a, b):
        if len(a) == 0 or len(b) == 0:
            return a
        return gpd.overlay(a, b, how="difference")

    hazards, cha = dis(t.isin(["SHA", "CHA"])), dis(t == "CHA")
    cleared, reduced, cancelled = dis(t == "cleared"), dis(t == "reduced"), dis(t == "cancelled")
    released = dis(t.isin(["cleared", "reduced", "cancelled"]))
    classes = {
        "cha": diff(cha, released),
        "sha": diff(diff(hazards, cha), released),
        "cleared": cleared,
        "reduced": diff(reduced, cleared),
        "cancelled": diff(diff(cancelled, cleared), reduced),
    }
    out = pd.DataFrame({"district": d["district"]})
    for name, col in CLASSES.items():
        inter = gpd.overlay(d, classes[name], how="intersection")
        areas = inter.geometry.area.groupby(inter["district"]).sum() / 1e4
        out[col] = out["district"].map(areas).fillna(0.0)
    return out


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of hazard polygons")
    parser.add_argument("--districts", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    d_path, h_path, r_path = generate(args.n, args.districts, args.out)
    sizes_mb = sum(p.stat().st_size for p in (d_path, h_path, r_path)) / 1e6

    _, t_plain = timed(lambda: [pyogrio.read_dataframe(p) for p in (d_path, h_path, r_path)])
    (districts, surveys), t_read = timed(
        lambda: (mineland.read_districts(d_path), mineland.read_surveys(h_path, r_path))
    )
    acc, t_sum = timed(account, districts, surveys)
    summary = acc.summary
    figures = {
        "n_hazards": args.n,
        "n_releases": int(
            surveys.records["record_type"].isin(["cleared", "reduced", "cancelled"]).sum()
        ),
        "n_districts": len(districts),
        "input_mb": round(sizes_mb, 1),
        "plain_read_s": round(t_plain, 2),
        "mineland_read_s": round(t_read, 2),
        "summarize_s": round(t_sum, 2),
        "summarize_over_plain_read": round(t_sum / t_plain, 2),
        "contaminated_ha": round(float(summary["contaminated_ha"].sum()), 1),
        "released_ha": round(float(summary["released_ha"].sum()), 1),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    if not args.skip_naive:
        ref, t_naive = timed(naive, districts, surveys.records, acc.crs)
        mine = summary.set_index("district")
        worst = 0.0
        for col in CLASSES.values():
            a = mine.loc[ref["district"], col].to_numpy()
            b = ref[col].to_numpy()
            denom = np.maximum(np.abs(b), 1.0)
            worst = max(worst, float(np.max(np.abs(a - b) / denom)))
        figures.update(
            {
                "naive_s": round(t_naive, 2),
                "speedup_vs_naive": round(t_naive / t_sum, 1),
                "max_rel_diff_vs_naive": float(f"{worst:.2e}"),
            }
        )
        if worst > 1e-6:
            print(f"MISMATCH: pipelines differ by {worst:.2e} relative", file=sys.stderr)
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
