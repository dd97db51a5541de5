"""Benchmark: what a planner waits for, against a baseline in the same run.

    python benchmarks/bench_planner.py [--n 20000]

1. The saved map with a yearly time slider: its size offline (the default) against
   ``--cdn``; the time until it is ready in headless Chromium, with every request
   outside the file refused, against the same map without the slider; and how long
   one slider step (recolouring, tooltips, popups, panel, dated layers) takes.
2. ``mineland report`` to .html and to .pdf against ``-o .xlsx`` (the same report
   without the page, the map picture and the printing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_summarize import generate  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def timed(cmd: list) -> float:
    t = time.perf_counter()
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return time.perf_counter() - t


def open_map(path: Path, steps: int) -> tuple[float, float]:
    """Seconds until ``mineland.ready``, and the mean seconds of a slider step."""
    import playwright.sync_api as pw

    with pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.route(re.compile(r"^(?!file:|data:).*"), lambda r: r.abort())
        t = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_function("window.mineland && window.mineland.ready", timeout=120_000)
        ready = time.perf_counter() - t
        step = 0.0
        if steps:
            step = page.evaluate(
                "(n) => { const t = performance.now();"
                " for (let k = 0; k < n; k++) mineland.showPeriod(k % 3);"
                " mineland.showPeriod(99); return (performance.now() - t) / (n + 1) / 1000; }",
                steps,
            )
        browser.close()
    return ready, step


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = HERE / "out"
    d, h, r = generate(args.n, 40, out)
    maps = {}
    for name, extra in (("slider", ["--timeline", "year"]), ("plain", []), ("cdn", ["--cdn"])):
        path = out / f"planner_{name}.html"
        seconds = timed(["mineland", "map", "-q", d, h, r, "-o", path, *extra])
        maps[name] = (path, seconds)
    ready_slider, step = open_map(maps["slider"][0], 12)
    ready_plain, _ = open_map(maps["plain"][0], 0)
    reports = {
        ext: timed(["mineland", "report", "-q", d, h, r, "-o", out / f"planner.{ext}"])
        for ext in ("xlsx", "html", "pdf")
    }
    result = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "hazards": args.n,
        "map_mb": {k: round(v[0].stat().st_size / 1e6, 2) for k, v in maps.items()},
        "map_command_s": {k: round(v[1], 2) for k, v in maps.items()},
        "ready_s": {"slider": round(ready_slider, 2), "plain": round(ready_plain, 2)},
        "slider_step_s": round(step, 3),
        "report_s": {k: round(v, 2) for k, v in reports.items()},
        "pdf_mb": round((out / "planner.pdf").stat().st_size / 1e6, 2),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
