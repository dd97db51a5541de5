"""Benchmark: size and render time of the saved map, against a naive folium map.

    python benchmarks/bench_map.py --n 100000

Uses the data of ``bench_summarize.py`` (generated if missing).  In one run it
builds and saves

1. mineland's map (``make_map`` + ``save_map(offline=True)``, no tiles), and
2. the naive baseline: the same accounting geometry put into ``folium.GeoJson``
   layers as is (full precision, no simplification, SVG renderer, online assets),

then opens each in headless Chromium (Debian's chromium, network blocked except
for the CDN assets of the baseline, which are served from the bundled copies) and
measures the time until every layer is drawn.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import folium
import geopandas as gpd

sys.path.insert(0, str(Path(__file__).parent))
from bench_summarize import generate  # noqa: E402

import mineland  # noqa: E402
from mineland.accounting import CLASSES  # noqa: E402
from mineland.mapping import CLASS_STYLE, _static, make_map, save_map
from mineland.mapping._offline import _VENDORED

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def naive_map(acc) -> folium.Map:
    m = folium.Map(tiles=None)
    folium.GeoJson(acc.summary[["district", "geometry"]].iloc[:-1], name="districts").add_to(m)
    for key in CLASSES:
        label, color, opacity = CLASS_STYLE[key]
        gdf = gpd.GeoDataFrame(geometry=acc.class_geometries(key), crs=4326)
        folium.GeoJson(
            gdf,
            name=label,
            style_function=lambda f, c=color, o=opacity: {
                "fillColor": c,
                "color": c,
                "fillOpacity": o,
            },
        ).add_to(m)
    folium.LayerControl().add_to(m)
    m.get_root().script.add_child(folium.Element("window.__ready = true;"))
    return m


def render_seconds(path: Path, ready_js: str, timeout_s: float = 300) -> float | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})

        def route(r):
            name = r.request.url.rsplit("/", 1)[-1]
            if r.request.url.startswith(("file:", "data:")):
                return r.continue_()
            if name in _VENDORED:  # serve CDN assets from the bundled copies
                kind = "text/css" if name.endswith(".css") else "application/javascript"
                return r.fulfill(body=_static(_VENDORED[name]), content_type=kind)
            return r.fulfill(body="", content_type="text/plain")  # other CDN assets: empty

        page.route(re.compile(".*"), route)
        t = time.perf_counter()
        try:
            page.goto(path.as_uri(), timeout=timeout_s * 1000, wait_until="load")
            page.wait_for_function(ready_js, timeout=timeout_s * 1000)
            # two animation frames: the canvas or SVG has been painted
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            elapsed = time.perf_counter() - t
        except Exception as exc:  # a frozen page is a result too
            print(
                f"{path.name}: not rendered within {timeout_s} s ({type(exc).__name__})",
                file=sys.stderr,
            )
            elapsed = None
        browser.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    d_path, h_path, r_path = generate(args.n, 60, args.out)
    acc = mineland.account(mineland.read_districts(d_path), mineland.read_surveys(h_path, r_path))

    t = time.perf_counter()
    mine = save_map(make_map(acc, tiles="none"), args.out / f"map_{args.n}.html", offline=True)
    t_mine_build = time.perf_counter() - t
    r_mine = render_seconds(mine, "window.mineland && window.mineland.ready")
    if args.skip_naive:
        print(
            f"map: {mine.stat().st_size / 1e6:.1f} MB, "
            f"build {t_mine_build:.1f} s, render {r_mine} s"
        )
        return
    t = time.perf_counter()
    naive = args.out / f"naive_map_{args.n}.html"
    naive_map(acc).save(str(naive))
    t_naive_build = time.perf_counter() - t
    r_naive = render_seconds(naive, "window.__ready === true")
    figures = {
        "n_hazards": args.n,
        "map_mb": round(mine.stat().st_size / 1e6, 1),
        "map_build_s": round(t_mine_build, 1),
        "map_render_s": None if r_mine is None else round(r_mine, 1),
        "naive_map_mb": round(naive.stat().st_size / 1e6, 1),
        "naive_build_s": round(t_naive_build, 1),
        "naive_render_s": None if r_naive is None else round(r_naive, 1),
        "size_ratio_naive_over_mine": round(naive.stat().st_size / mine.stat().st_size, 1),
    }
    if r_mine and r_naive:
        figures["render_ratio_naive_over_mine"] = round(r_naive / r_mine, 1)
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
