"""Drill: kill a dask worker during a run, as the fault model promises to survive.

    python benchmarks/drill_dask_faults.py --n 100000 --kill-after 12 20

Starts a real ``dask scheduler`` and two ``dask worker`` processes, runs ``mineland
summarize --engine dask`` on N generated hazards (as ``bench_summarize.py`` makes
them) and kills one worker (SIGKILL, with its children) that many seconds after the
start, once per value given; then compares every figure with the local engine's.
Prints the largest relative difference and the times.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402

COLS = ["sha_ha", "cha_ha", "cleared_ha", "reduced_ha", "cancelled_ha", "devices"]


def start(args: list[str], log: Path) -> subprocess.Popen:
    out = log.open("w")
    return subprocess.Popen(args, stdout=out, stderr=out, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def drill(inputs: list[str], kill_after: float, folder: Path, port: int) -> dict:
    address = f"tcp://127.0.0.1:{port}"
    scheduler = start(
        ["dask", "scheduler", "--port", str(port), "--no-dashboard"], folder / "s.log"
    )
    time.sleep(3)
    worker = ["dask", "worker", address, "--nthreads", "1", "--no-dashboard"]
    workers = [start(worker, folder / f"w{k}.log") for k in range(2)]
    time.sleep(4)
    out = folder / f"dask_{kill_after:g}.csv"
    t = time.perf_counter()
    run = subprocess.Popen(
        [
            "mineland",
            "summarize",
            *inputs,
            "--engine",
            "dask",
            "--scheduler",
            address,
            "-q",
            "-o",
            str(out),
        ]
    )
    time.sleep(kill_after)
    killed = run.poll() is None
    stop(workers[0])  # the worker and its nanny, with SIGKILL
    code = run.wait()
    elapsed = time.perf_counter() - t
    for proc in [*workers, scheduler]:
        stop(proc)
    return {
        "kill_after_s": kill_after,
        "killed_during_run": killed,
        "exit": code,
        "elapsed_s": elapsed,
        "output": str(out),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--kill-after", type=float, nargs="+", default=[12.0, 20.0])
    ap.add_argument("--port", type=int, default=8799)
    a = ap.parse_args()
    d, h, r = generate(a.n, 60, HERE / "out")
    inputs = [str(d), str(h), str(r)]
    folder = Path(tempfile.mkdtemp(prefix="mineland-drill-"))
    local = folder / "local.csv"
    subprocess.run(["mineland", "summarize", *inputs, "-q", "-o", str(local)], check=True)
    base = pd.read_csv(local).set_index("district")
    results = []
    for seconds in a.kill_after:
        res = drill(inputs, seconds, folder, a.port)
        got = pd.read_csv(res.pop("output")).set_index("district")
        rel = (base[COLS] - got.loc[base.index, COLS]).abs() / base[COLS].abs().clip(lower=1)
        res["max_rel_difference"] = float(rel.max().max())
        results.append(res)
    print(json.dumps({"n": a.n, "drills": results}, indent=1))


if __name__ == "__main__":
    main()
