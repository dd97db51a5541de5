"""Benchmark: the real sources and sinks, each against a baseline in the same run.

    python benchmarks/bench_sources.py --points 100000 --hazards 20000 [--pg URL]

1. An Excel workbook of N explosive-item reports with MGRS references: the whole
   ``mineland summarize`` command (a new process: start-up, reading the workbook,
   converting every reference, counting devices per district, writing a CSV)
   against the usual script, also a new process: ``pandas.read_excel`` (openpyxl),
   ``mgrs.toLatLon`` row by row, a geopandas spatial join and a ``groupby``.  The
   device counts per district must agree.
2. PostGIS (when ``--pg`` names a database mineland may write to): reading N
   hazards with ``read_surveys("postgresql://…?table=…")`` against
   ``geopandas.read_postgis`` of the same table; and ``mineland summarize`` from
   PostGIS against the same command on the GeoPackage.
3. ``mineland export`` to a styled GeoPackage against ``mineland summarize -o
   .gpkg`` on the same inputs: what the extra layers, findings and styles cost.
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
import mgrs
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402

import mineland  # noqa: E402

NAIVE_MGRS = """
import sys, mgrs, pandas as pd, geopandas as gpd
book, districts, out = sys.argv[1:]
frame = pd.read_excel(book, engine="openpyxl")
m = mgrs.MGRS()
lat, lon = zip(*(m.toLatLon(str(v).replace(" ", "").upper()) for v in frame["mgrs"]))
points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)
d = gpd.read_file(districts)
joined = gpd.sjoin(points, d, predicate="within")
joined.groupby("name")["quantity"].sum().to_csv(out)
"""


def timed(cmd: list[str], env=None) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t


def mgrs_workbook(districts: Path, n: int, out: Path) -> Path:
    path = out / f"mgrs_{n}.xlsx"
    if path.exists():
        return path
    d = gpd.read_file(districts)
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = d.total_bounds
    lon, lat = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    grid = mgrs.MGRS()
    refs = [grid.toMGRS(y, x, MGRSPrecision=5) for x, y in zip(lon, lat, strict=True)]
    refs = [f"{r[:3]} {r[3:5]} {r[5:10]} {r[10:]}" for r in refs]  # as people type them
    frame = pd.DataFrame(
        {
            "record_id": [f"EO-{k}" for k in range(n)],
            "record_type": "device",
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D"),
            "quantity": rng.integers(1, 4, n),
            "mgrs": refs,
        }
    )
    frame.to_excel(path, index=False, sheet_name="EO reports")
    return path


def bench_excel(districts: Path, n: int, out: Path) -> dict:
    book = mgrs_workbook(districts, n, out)
    script = out / "naive_mgrs.py"
    script.write_text(NAIVE_MGRS, encoding="utf-8")
    ours, naive = [], []
    for _ in range(2):
        ours.append(
            timed(["mineland", "summarize", "-q", districts, book, "-o", out / "mgrs_sum.csv"])
        )
        naive.append(timed([sys.executable, script, book, districts, out / "mgrs_naive.csv"]))
    got = pd.read_csv(out / "mgrs_sum.csv", comment="#").set_index("district")["devices"]
    want = pd.read_csv(out / "mgrs_naive.csv").set_index("name")["quantity"]
    # mineland's district edges are geodesics, the naive join's straight lon/lat
    # lines: points within metres of a border may fall on the other side
    diff = (got.reindex(want.index) - want).abs()
    assert got.sum() == want.sum() and (diff <= 0.01 * want).all(), "device counts differ"
    return {
        "points": n,
        "workbook_mb": round(book.stat().st_size / 1e6, 1),
        "mineland_summarize_s": round(min(ours), 2),
        "naive_script_s": round(min(naive), 2),
        "ratio": round(min(naive) / min(ours), 2),
        "points_on_the_other_side_of_a_border": int(diff.sum() // 2),
    }


def bench_postgis(url: str, d_path: Path, h_path: Path) -> dict:
    import sqlalchemy

    hazards = gpd.read_file(h_path)
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    hazards.to_postgis("bench_hazards", engine, if_exists="replace")
    gpd.read_file(d_path).to_postgis("bench_districts", engine, if_exists="replace")
    reads, bases = [], []
    for _ in range(3):
        t = time.perf_counter()
        data = mineland.read_surveys(f"{url}?table=bench_hazards")
        reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        base = gpd.read_postgis("SELECT * FROM bench_hazards", engine, geom_col="geometry")
        bases.append(time.perf_counter() - t)
    assert len(data.records) == len(base) == len(hazards)
    engine.dispose()
    tables = ["mineland", "summarize", "-q", f"{url}?table=bench_districts"]
    from_pg = timed([*tables, f"{url}?table=bench_hazards"])
    from_file = timed(["mineland", "summarize", "-q", d_path, h_path])
    return {
        "hazards": len(hazards),
        "read_surveys_s": round(min(reads), 2),
        "read_postgis_s": round(min(bases), 2),
        "read_ratio": round(min(reads) / min(bases), 2),
        "summarize_from_postgis_s": round(from_pg, 2),
        "summarize_from_gpkg_s": round(from_file, 2),
    }


def bench_export(d_path: Path, h_path: Path, r_path: Path, out: Path) -> dict:
    exports, summaries = [], []
    for _ in range(2):
        gpkg = out / "export.gpkg"
        gpkg.unlink(missing_ok=True)
        exports.append(timed(["mineland", "export", "-q", d_path, h_path, r_path, "-o", gpkg]))
        plain = out / "summary.gpkg"
        plain.unlink(missing_ok=True)
        summaries.append(
            timed(["mineland", "summarize", "-q", d_path, h_path, r_path, "-o", plain])
        )
    return {
        "export_s": round(min(exports), 2),
        "summarize_gpkg_s": round(min(summaries), 2),
        "ratio": round(min(exports) / min(summaries), 2),
        "export_mb": round((out / "export.gpkg").stat().st_size / 1e6, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--hazards", type=int, default=20_000)
    ap.add_argument("--pg", help="postgresql://user:password@host/db mineland may write to")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = HERE / "out"
    d_path, h_path, r_path = generate(args.hazards, 40, out)
    result = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "excel_mgrs": bench_excel(d_path, args.points, out),
        "export": bench_export(d_path, h_path, r_path, out),
    }
    if args.pg:
        result["postgis"] = bench_postgis(args.pg, d_path, h_path)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
