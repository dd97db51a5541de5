"""The saved map in real headless Chromium (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import shapely
from conftest import AZE, DISTRICTS, ROOT, SURVEYS, districts_frame, frame, run, sq

import mineland
from mineland.mapping import make_map, save_map
from mineland.schema import OUTSIDE

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "</script><script>window.__xss=2</script>"
SSTI = "{{ 7*7 }}{% if true %}jinja{% endif %}"
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

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is not installed; .ci/run must install it")
    pytestmark = pytest.mark.skip(reason="chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page on a saved map, recording console errors and network requests."""

    def __init__(self, browser, path: Path, *, block_network: bool = True, size=(1400, 900)):
        self.page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        if block_network:
            self.page.route(
                re.compile(r"^(?!file:|data:).*"), lambda route: route.abort("internetdisconnected")
            )
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.mineland && window.mineland.ready", timeout=30_000)

    def js(self, code: str, arg=None):
        return self.page.evaluate(code, arg)

    def run(self, code: str, arg=None) -> None:
        """Run a JS function for its effect; Leaflet calls return the map, and sending
        that object graph back to Python would take long."""
        self.page.evaluate(f"(arg) => {{ ({code})(arg); }}", arg)

    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def layer_popup(self, code: str) -> str:
        """Open a popup with ``code`` (JS) once any previous popup has gone; its text."""
        self.run("() => mineland.map.closePopup()")
        self.page.wait_for_function("!document.querySelector('.leaflet-popup')")
        self.run(code)
        self.page.wait_for_selector(".leaflet-popup-content")
        return self.page.inner_text(".leaflet-popup-content")

    def point_popup(self, key: str) -> str:
        """The popup of the first marker of a clustered layer, rendered into the page.

        Markers sit inside clusters until the map zooms in, so the popup is built the
        way Leaflet builds it on a click (the bound content function), then added to
        the document: whatever it holds would run there.
        """
        return self.js(
            "(k) => { const m = mineland.layers[k].getLayers()[0];"
            " const node = m.getPopup().getContent()(m);"
            " node.classList.add('test-popup'); document.body.appendChild(node);"
            " return node.innerText; }",
            key,
        )

    def hide_points(self):
        self.run(
            "() => { for (const k of ['devices', 'incidents']) "
            "if (mineland.layers[k]) mineland.map.removeLayer(mineland.layers[k]); }"
        )

    def click_district(self, name: str, lon: float, lat: float) -> str:
        self.run(
            "(n) => mineland.map.fitBounds(mineland.districtsByName[n].getBounds(), "
            "{animate: false, paddingTopLeft: [360, 20]})",
            name,
        )
        self.run("() => mineland.map.closePopup()")
        # a closed popup fades out for a moment before it leaves the page
        self.page.wait_for_function("!document.querySelector('.leaflet-popup')")
        xy = self.js(
            "([lat, lon]) => { const p = mineland.map.latLngToContainerPoint([lat, lon]);"
            " const r = mineland.map.getContainer().getBoundingClientRect();"
            " return [p.x + r.left, p.y + r.top]; }",
            [lat, lon],
        )
        self.page.mouse.click(*xy)
        self.page.wait_for_selector(".leaflet-popup-content .mineland-popup", timeout=5000)
        return self.page.inner_text(".leaflet-popup-content")

    def popup_values(self) -> dict[str, str]:
        return self.js(
            "() => Object.fromEntries([...document.querySelectorAll("
            "'.leaflet-popup-content [data-col]')].map(e => [e.dataset.col, e.textContent]))"
        )


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    districts = mineland.read_districts(DISTRICTS)
    acc = mineland.account(districts, mineland.read_surveys(SURVEYS))
    path = tmp_path_factory.mktemp("map") / "demo.html"
    save_map(make_map(acc, title="Demo", tiles="none"), path, offline=True)
    return acc, districts, path


def test_demo_map_renders_without_errors_or_requests(browser, demo):
    acc, _, path = demo
    page = Page(browser, path)
    assert page.errors == []
    assert page.external_requests() == []
    n = len(acc.summary[acc.summary["district"] != OUTSIDE])
    assert page.js("() => mineland.layers.districts.getLayers().length") == n
    drawn = page.js(
        "() => mineland.layers.districts.getLayers().filter(l => l._parts.length).length"
    )
    assert drawn == n  # every district was projected and drawn on the canvas
    total = page.page.inner_text(".mineland-panel")
    assert f"{acc.summary['contaminated_ha'].sum():,.1f}" in total


def test_clicking_a_district_shows_its_summary_row(browser, demo):
    acc, districts, path = demo
    page = Page(browser, path)
    page.hide_points()
    page.run("() => document.querySelector('.mineland-panel-toggle').click()")
    for name in list(districts["district"])[:4]:
        geom = districts.loc[districts["district"] == name, "geometry"].iloc[0]
        p = shapely.point_on_surface(geom)
        text = page.click_district(name, p.x, p.y)
        values = page.popup_values()
        assert values["district"] == name and name in text
        row = acc.summary.set_index("district").loc[name]
        for col in (
            "contaminated_ha",
            "sha_ha",
            "cha_ha",
            "released_ha",
            "cleared_ha",
            "reduced_ha",
            "cancelled_ha",
            "area_ha",
        ):
            assert number(values[col]) == pytest.approx(row[col], abs=0.051), col
        for col in ("devices", "incidents", "killed", "injured", "hazard_records"):
            assert number(values[col]) == row[col], col
        assert "," in values["area_ha"]  # thousands separators
    assert page.errors == []


def test_layers_toggle_from_the_layer_control(browser, demo):
    _, _, path = demo
    page = Page(browser, path)
    for label, key, initially in [
        ("Remaining CHA", "cha", True),
        ("Cleared", "cleared", True),
        ("Raw records", "raw", False),
        ("Incidents", "incidents", True),
    ]:
        box = page.page.locator(".leaflet-control-layers-overlays label", has_text=label).locator(
            "input"
        )
        shown = f"() => mineland.map.hasLayer(mineland.layers.{key})"
        assert page.js(shown) is initially
        box.click()
        assert page.js(shown) is (not initially)
        box.click()
        assert page.js(shown) is initially
    assert page.errors == []


def test_search_finds_a_district_and_points_have_popups(browser, demo):
    acc, districts, path = demo
    page = Page(browser, path)
    name = districts["district"].iloc[3]
    page.page.fill(".mineland-search input", name[:5].lower())
    page.page.press(".mineland-search input", "Enter")
    page.page.wait_for_selector(".leaflet-popup-content .mineland-popup")
    assert page.popup_values()["district"] == name
    incidents = acc.records[acc.records["record_type"] == "incident"]
    text = page.point_popup("incidents")
    rid = re.search(r"record id\t(\S+)", text).group(1)
    rec = incidents.set_index("record_id").loc[rid]
    assert f"killed\t{rec['killed']}" in text and f"injured\t{rec['injured']}" in text
    assert f"date\t{rec['date'].date().isoformat()}" in text
    # the search list in alphabetical order: Çaylı among the C's, not after Yaşıldərə
    options = page.js("() => [...document.querySelectorAll('datalist option')].map(o => o.value)")
    assert sorted(options) != options and set(options) == set(districts["district"])
    assert options.index("Çaylı") < options.index("Dağüstü") < options.index("Yaşıldərə")
    assert page.errors == []


def test_offline_map_renders_with_every_request_blocked(browser, demo):
    _, _, path = demo
    page = Page(browser, path, block_network=True)
    assert page.external_requests() == []
    assert page.errors == []
    assert page.js("() => document.querySelectorAll('.leaflet-control').length") >= 6


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    names = {
        XSS_IMG: sq(0, 0, 10_000),
        XSS_SCRIPT: sq(10_000, 0, 10_000),
        "Cəbrayıl": sq(0, 10_000, 10_000),
        "Goražde": sq(10_000, 10_000, 10_000),
        SSTI: sq(20_000, 0, 10_000),
    }
    d = districts_frame(names)
    s = frame(
        [
            {
                "record_id": XSS_IMG,
                "record_type": "SHA",
                "organisation": XSS_SCRIPT,
                "geometry": sq(1000, 1000),
            },
            {
                "record_id": "c1",
                "record_type": "cleared",
                "notes": XSS_IMG,
                "geometry": sq(11_000, 11_000),
            },
            {
                "record_id": XSS_SCRIPT,
                "record_type": "incident",
                "killed": 1,
                "injured": 2,
                "notes": XSS_IMG,
                "geometry": sq(0, 0).centroid,
            },
            {
                "record_id": "d1",
                "record_type": "device",
                "device_type": XSS_IMG,
                "geometry": sq(12_000, 12_000).centroid,
            },
        ]
    )
    acc = mineland.account(mineland.districts.prepare_districts(d), s)
    path = tmp_path_factory.mktemp("hostile") / "hostile.html"
    save_map(make_map(acc, title=XSS_IMG, sources=[XSS_SCRIPT], tiles="none"), path, offline=True)
    return acc, d, path


def test_payloads_show_as_text_and_execute_nothing(browser, hostile):
    acc, d, path = hostile
    page = Page(browser, path)
    page.hide_points()
    page.run("() => document.querySelector('.mineland-panel-toggle').click()")
    for name in (XSS_IMG, XSS_SCRIPT, SSTI):
        geom = d.loc[d["name"] == name, "geometry"].iloc[0]
        p = shapely.point_on_surface(geom)
        text = page.click_district(name, p.x, p.y)
        assert name in text
    # tooltips, record popups, the panel and the search list
    page.run("() => mineland.map.addLayer(mineland.layers.raw)")
    raw = page.layer_popup("() => mineland.layers.raw.getLayers()[0].openPopup()")
    assert XSS_SCRIPT in raw
    assert XSS_IMG in page.point_popup("incidents")
    assert XSS_IMG in page.point_popup("devices")
    tip = page.js(
        "(n) => { const l = mineland.districtsByName[n]; l.openTooltip(l.getBounds().getCenter());"
        " return l.getTooltip().getElement().textContent; }",
        XSS_IMG,
    )
    assert XSS_IMG in tip
    options = page.js("() => [...document.querySelectorAll('datalist option')].map(o => o.value)")
    assert set(options) >= {XSS_IMG, XSS_SCRIPT, "Cəbrayıl", "Goražde"}
    page.run("() => document.querySelector('.mineland-panel-toggle').click()")
    panel = page.page.inner_text(".mineland-panel")
    assert XSS_IMG in panel and XSS_SCRIPT in panel
    page.page.wait_for_timeout(300)
    assert page.js("() => window.__xss === undefined") is True
    assert page.js("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.errors == []


def test_unicode_district_names_display(browser, hostile):
    _, d, path = hostile
    page = Page(browser, path)
    page.hide_points()
    page.run("() => document.querySelector('.mineland-panel-toggle').click()")
    for name in ("Cəbrayıl", "Goražde"):
        geom = d.loc[d["name"] == name, "geometry"].iloc[0]
        p = shapely.point_on_surface(geom)
        page.click_district(name, p.x, p.y)
        assert page.popup_values()["district"] == name
    page.page.fill(".mineland-search input", "Cəbrayıl")
    page.page.press(".mineland-search input", "Enter")
    assert page.popup_values()["district"] == "Cəbrayıl"


def test_map_over_the_real_boundaries(browser, tmp_path):
    if not AZE.exists():
        pytest.skip("shared Azerbaijan boundaries not available")
    from mineland.demo import make_surveys

    districts = mineland.read_districts(AZE)
    surveys = make_surveys(districts, n_hazards=1500, seed=9)
    import geopandas as gpd
    import pandas as pd

    records = gpd.GeoDataFrame(pd.concat(list(surveys.values()), ignore_index=True), crs=4326)
    acc = mineland.account(districts, records)
    path = tmp_path / "aze.html"
    attribution = (
        "District boundaries: geoBoundaries (Runfola et al. 2020, PLOS ONE 15(4): "
        "e0231866), AZE ADM2, sourced from Wikipedia, CC BY-SA 3.0"
    )
    save_map(make_map(acc, tiles="none", sources=[attribution]), path, offline=True)
    page = Page(browser, path)
    assert page.errors == []
    assert page.js("() => mineland.layers.districts.getLayers().length") == len(districts)
    assert "geoBoundaries" in page.page.inner_text(".mineland-panel")


def test_measure_tool_mouse_position_and_scale_bar(browser, demo):
    _, _, path = demo
    page = Page(browser, path)
    page.hide_points()
    page.run("() => document.querySelector('.mineland-panel-toggle').click()")
    box = page.page.locator(".leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.page.mouse.move(cx, cy)
    lat, lon = (float(v) for v in page.page.inner_text(".mineland-mouse").split(","))
    centre = page.js(
        "([x, y]) => { const r = mineland.map.getContainer().getBoundingClientRect();"
        " const ll = mineland.map.containerPointToLatLng([x - r.left, y - r.top]);"
        " return [ll.lat, ll.lng]; }",
        [cx, cy],
    )
    assert (lat, lon) == pytest.approx(centre, abs=1e-4)
    page.page.click(".mineland-measure-button")
    corners = [(cx, cy), (cx + 200, cy), (cx + 200, cy + 200)]
    for x, y in corners:
        page.page.mouse.click(x, y)
    text = page.page.inner_text(".mineland-measure-result")
    assert "Distance:" in text and "Area:" in text
    # the same triangle measured independently on the sphere
    lls = page.js(
        "(pts) => { const r = mineland.map.getContainer().getBoundingClientRect();"
        " return pts.map(([x, y]) => { const ll = mineland.map.containerPointToLatLng("
        "[x - r.left, y - r.top]); return [ll.lng, ll.lat]; }); }",
        corners,
    )
    import pyproj

    area, _ = pyproj.Geod(a=6378137, b=6378137).polygon_area_perimeter(*zip(*lls, strict=True))
    shown = float(re.search(r"Area: ([\d,.]+) ha", text).group(1).replace(",", ""))
    assert shown == pytest.approx(abs(area) / 1e4, rel=0.01)
    page.page.click(".mineland-measure-button")  # stop: district popups work again
    page.page.mouse.click(cx, cy)
    page.page.wait_for_selector(".leaflet-popup-content .mineland-popup")
    assert page.page.locator(".leaflet-control-scale").count() == 1
    assert page.page.locator(".mineland-fullscreen-button").count() == 1
    assert page.errors == []


def test_density_layer_and_landcover_in_popups(browser, tmp_path):
    from mineland.raster import density_grid, landcover_impact

    districts = mineland.read_districts(DISTRICTS)
    acc = mineland.account(districts, mineland.read_surveys(SURVEYS))
    landcover = mineland.read_raster(ROOT / "data" / "landcover" / "synthetic_landcover.tif")
    impact = landcover_impact(acc, None, landcover)
    grid = density_grid(acc, resolution=250)
    path = tmp_path / "raster.html"
    save_map(make_map(acc, tiles="none", density=grid, landcover=impact), path, offline=True)
    page = Page(browser, path)
    assert page.errors == [] and page.external_requests() == []
    box = page.page.locator(".leaflet-control-layers-overlays label", has_text="density").locator(
        "input"
    )
    assert page.js("() => mineland.map.hasLayer(mineland.layers.density)") is False
    box.click()
    assert page.js("() => mineland.map.hasLayer(mineland.layers.density)") is True
    assert page.js("() => document.querySelector('.leaflet-image-layer').naturalWidth") > 10
    assert "Contamination density" in page.page.inner_text(".mineland-legend")
    page.hide_points()
    page.run("() => document.querySelector('.mineland-panel-toggle').click()")
    name = districts["district"].iloc[1]
    p = shapely.point_on_surface(districts.geometry.iloc[1])
    page.click_district(name, p.x, p.y)
    shown = page.js(
        "() => Object.fromEntries([...document.querySelectorAll("
        "'.leaflet-popup-content [data-lc]')].map(e => [e.dataset.lc, e.textContent]))"
    )
    want = impact[(impact["district"] == name) & (impact["contaminated_ha"] > 0.005)]
    assert set(shown) == set(want["class_name"])
    for _, row in want.iterrows():
        assert number(shown[row["class_name"]]) == pytest.approx(row["contaminated_ha"], abs=0.051)


def test_findings_layer_shows_bad_records(browser, tmp_path):
    from mineland.validation import validate

    d = districts_frame({"A": sq(0, 0, 10_000)})
    s = frame(
        [
            {"record_id": "OUT", "record_type": "SHA", "geometry": sq(30_000, 0)},
            {"record_id": "IN", "record_type": "SHA", "geometry": sq(1000, 1000)},
            {"record_id": XSS_IMG, "record_type": "SHA", "geometry": sq(1000, 1000)},
        ]
    )
    districts = mineland.districts.prepare_districts(d)
    acc = mineland.account(districts, s)
    report = validate(districts, s)
    path = tmp_path / "findings.html"
    save_map(make_map(acc, tiles="none", findings=report), path, offline=True)
    page = Page(browser, path)
    label = page.page.locator(".leaflet-control-layers-overlays label", has_text="findings")
    assert "errors" in label.inner_text()
    assert page.js("() => mineland.map.hasLayer(mineland.layers.findings)") is False
    label.locator("input").click()
    n = page.js("() => mineland.layers.findings.getLayers().length")
    assert n == int(report.findings.geometry.notna().sum())
    texts = page.js(
        "() => mineland.layers.findings.getLayers()"
        ".map(l => l.getPopup().getContent()(l).innerText)"
    )
    assert any("outside_districts" in t and "OUT" in t for t in texts)
    assert any(XSS_IMG in t for t in texts)
    assert page.js("() => window.__xss === undefined") is True
    assert page.errors == []


def test_time_slider_recolours_districts(browser, tmp_path):
    from mineland.periods import release_progress

    districts = mineland.read_districts(DISTRICTS)
    surveys = mineland.read_surveys(SURVEYS)
    acc = mineland.account(districts, surveys)
    table = release_progress(districts, surveys)
    path = tmp_path / "time.html"
    save_map(make_map(acc, tiles="none", progress=table), path, offline=True)
    page = Page(browser, path)
    name = districts["district"].iloc[0]
    fill = "(n) => mineland.districtsByName[n].options.fillColor"
    now = page.js(fill, name)
    page.run("() => mineland.showPeriod(0)")
    first = page.js(fill, name)
    label = page.page.inner_text(".mineland-timeline-label")
    year0 = table[table["period_end"] == table["period_end"].min()]
    end0 = year0["period_end"].iloc[0].date().isoformat()
    assert end0 in label
    # the panel totals, the district's tooltip and popup, and the legend: that date's
    cell = "(c) => document.querySelector(`.mineland-totals td[data-col=${c}]`).textContent"
    assert page.js(cell, "contaminated_ha") == f"{year0['contaminated_ha'].sum():,.1f} ha"
    assert page.js(cell, "cha_ha") == f"{year0['cha_ha'].sum():,.1f} ha"
    assert page.js(cell, "released_ha") == f"{year0['released_ha'].sum():,.1f} ha"
    mine = year0.set_index("district").loc[name]
    tip = page.js(
        "(n) => { const t = mineland.districtsByName[n].getTooltip().getContent();"
        " return typeof t === 'string' ? t : t.textContent; }",
        name,
    )
    assert f"{mine['contaminated_ha']:,.1f} ha contaminated" in tip and end0 in tip
    page.run("(n) => mineland.districtsByName[n].openPopup()", name)
    assert page.popup_values()["sha_ha"] == f"{mine['sha_ha']:,.1f} ha"
    assert end0 in page.page.inner_text(".mineland-legend .mineland-legend-title")
    total_now = acc.summary["contaminated_ha"].sum()
    assert year0["contaminated_ha"].sum() < total_now  # releases were fewer, hazards fewer
    # records dated after the period are hidden, and come back at "now"
    later = int(
        (
            surveys.records["record_type"].isin(["SHA", "CHA", "cancelled", "reduced", "cleared"])
            & (surveys.records["date"] > year0["period_end"].iloc[0])
        ).sum()
    )
    shown = page.js("() => mineland.layers.raw.getLayers().length")
    n_areas = int(
        surveys.records["record_type"].isin(["SHA", "CHA", "cancelled", "reduced", "cleared"]).sum()
    )
    assert shown == n_areas - later
    # the accounting layers (the map's own date) give way to the records known then
    on = "(k) => mineland.map.hasLayer(mineland.layers[k])"
    assert not page.js(on, "cha") and not page.js(on, "cleared") and page.js(on, "raw")
    colour = page.js(
        "() => mineland.layers.raw.getLayers().find(l => l.feature.properties.v[1] === 'CHA')"
        ".options.color"
    )
    assert colour.upper() == "#FF0000"
    page.page.locator(".mineland-timeline input").fill(str(table["period_end"].nunique()))
    assert page.js(fill, name) == now and "Now" in page.page.inner_text(".mineland-timeline-label")
    assert page.js(cell, "contaminated_ha") == f"{total_now:,.1f} ha"
    assert page.js(on, "cha") and page.js(on, "cleared") and not page.js(on, "raw")
    assert page.js("() => mineland.layers.raw.getLayers().length") == n_areas
    from mineland.mapping._layers import timeline

    expected = timeline(table, list(districts["district"]))["colors"][name][0]
    assert first == expected
    assert page.errors == []


def test_unmapped_layer_draws_candidates_and_evidence(browser, tmp_path):
    from mineland.unmapped import find_unmapped

    d = districts_frame({"A": sq(0, 0, 10_000)})
    group = [(5000 + dx, 6000 + dy) for dx, dy in ((0, 0), (30, 20), (-25, 30), (10, -35))]
    rows = [{"record_id": "H", "record_type": "SHA", "geometry": sq(1000, 1000)}]
    rows += [
        {"record_id": f"{XSS_IMG}{k}", "record_type": "device", "geometry": shapely.Point(x, y)}
        for k, (x, y) in enumerate(group)
    ]
    districts = mineland.districts.prepare_districts(d)
    acc = mineland.account(districts, frame(rows))
    found = find_unmapped(acc)
    path = tmp_path / "unmapped.html"
    save_map(make_map(acc, tiles="none", unmapped=found), path, offline=True)
    page = Page(browser, path)
    kinds = page.js(
        "() => mineland.layers.unmapped.getLayers().map(l => l.feature.properties.k).sort()"
    )
    assert kinds == ["candidate"] + ["evidence"] * 4
    texts = page.js(
        "() => mineland.layers.unmapped.getLayers()"
        ".map(l => l.getPopup().getContent()(l).innerText)"
    )
    assert any("Candidate area for survey" in t and "not a hazard record" in t for t in texts)
    assert any(XSS_IMG in t for t in texts)  # shown as text
    assert page.js("() => window.__xss === undefined") is True
    assert "Unmapped contamination" in page.page.inner_text(".mineland-legend")
    assert "suggestions for non-technical survey" in page.page.inner_text(".mineland-panel")
    assert page.errors == []


SIZES = {
    "desktop": (1400, 900),
    "wide laptop": (1280, 720),
    "laptop": (1024, 768),
    "phone": (390, 844),
}


@pytest.fixture(scope="module")
def cli_map(tmp_path_factory):
    """The map as a user makes it, with no option: offline, with the time slider."""
    path = tmp_path_factory.mktemp("cli") / "map.html"
    result = run("map", DISTRICTS, SURVEYS, "-o", path, "--timeline", "year", "--density", "500")
    assert result.exit_code == 0, result.output
    return path


def box(page: Page, selector: str):
    return page.page.locator(selector).first.bounding_box()


def overlap(a, b) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("size", SIZES)
def test_the_default_map_at_four_sizes(browser, cli_map, size):
    """No request leaves the page, nothing covers anything else, and on a phone the
    layer control, the panel and the legend start folded."""
    page = Page(browser, cli_map, size=SIZES[size])
    assert page.errors == [] and page.external_requests() == []
    panel = box(page, ".mineland-panel")
    for other in (".leaflet-control-layers", ".mineland-legend", ".mineland-timeline"):
        assert not overlap(panel, box(page, other)), other
    assert not overlap(box(page, ".leaflet-control-layers"), box(page, ".mineland-legend"))
    folded = page.js("() => document.querySelector('.leaflet-control-layers-expanded') === null")
    hidden = page.js(
        "() => ['.mineland-panel-body', '.mineland-legend-body']"
        ".map(s => getComputedStyle(document.querySelector(s)).display)"
    )
    # the layer control folds below 1200 px, and where it would reach the legend
    assert folded == (size != "desktop")
    if size == "phone":
        assert hidden == ["none", "none"]
        assert page.page.locator(".mineland-mouse").count() == 0  # no mouse on a phone
    else:
        assert hidden == ["block", "block"]
        assert not overlap(panel, box(page, ".mineland-mouse"))
    if folded and size != "phone":  # opened, the list is drawn over the legend
        toggle = box(page, ".leaflet-control-layers-toggle")
        page.page.mouse.move(toggle["x"] + 5, toggle["y"] + 5)
        page.page.wait_for_selector(".leaflet-control-layers-expanded")
        label = page.page.locator(".leaflet-control-layers-overlays label").last
        label.scroll_into_view_if_needed()
        target = label.bounding_box()
        under = "([x, y]) => document.elementFromPoint(x, y).closest('.leaflet-control-layers')"
        on_top = page.js(f"{under} !== null", [target["x"] + 5, target["y"] + target["height"] / 2])
        assert on_top
    page.page.screenshot(path=str(cli_map.with_name(f"{size}.png")))


def test_legend_swatches_are_drawn_as_the_map_draws(browser, cli_map):
    page = Page(browser, cli_map)
    fill = page.js(
        "() => { const l = mineland.layers.districts.getLayers()[0].options;"
        " return [l.fillColor, l.fillOpacity]; }"
    )
    swatches = page.js(
        "() => [...document.querySelectorAll("
        "'.mineland-legend-body > div:first-child .mineland-swatch')]"
        ".map(s => [getComputedStyle(s).backgroundColor, s.style.opacity])"
    )
    assert len(swatches) >= 3 and all(float(op) == fill[1] for _, op in swatches)
    density = ".mineland-legend-density"
    assert page.js(f"() => getComputedStyle(document.querySelector('{density}')).display") == "none"
    page.run("() => mineland.map.addLayer(mineland.layers.density)")
    assert page.js(f"() => getComputedStyle(document.querySelector('{density}')).display") != "none"
    # the density image sits above the district fill, and lets clicks through
    z = page.js(
        "() => [getComputedStyle(mineland.map.getPane('minelandDensity')).zIndex,"
        " getComputedStyle(mineland.map.getPane('overlayPane')).zIndex]"
    )
    assert int(z[0]) > int(z[1])


def test_play_steps_through_the_periods(browser, cli_map):
    page = Page(browser, cli_map)
    page.page.click(".mineland-play")
    page.page.wait_for_function(
        "() => document.querySelector('.mineland-timeline input').value === '1'", timeout=5000
    )
    page.page.click(".mineland-play")  # pause
    value = page.js("() => document.querySelector('.mineland-timeline input').value")
    page.page.wait_for_timeout(1500)
    assert page.js("() => document.querySelector('.mineland-timeline input').value") == value


def test_popups_open_clear_of_the_panel_and_layer_control(browser, cli_map, demo):
    _, districts, _ = demo
    page = Page(browser, cli_map)
    page.hide_points()
    west = districts.geometry.centroid.x.idxmin()
    name = districts["district"].iloc[west]
    p = districts.geometry.iloc[west].representative_point()
    page.run("() => mineland.map.setView(mineland.map.getCenter(), mineland.map.getZoom())")
    page.click_district(name, p.x, p.y)
    page.page.wait_for_timeout(500)  # the pan
    popup = box(page, ".leaflet-popup-content-wrapper")
    assert not overlap(popup, box(page, ".mineland-panel"))
    assert not overlap(popup, box(page, ".leaflet-control-layers"))


def test_a_base_map_that_cannot_load_is_said_on_the_map(browser, cli_map):
    page = Page(browser, cli_map)  # every request outside the file is refused
    page.run(
        "() => { const c = document.querySelectorAll('.leaflet-control-layers-base input');"
        " c[1].click(); }"
    )
    page.page.wait_for_selector(".mineland-basemap-notice", state="visible", timeout=10_000)
    assert "could not be loaded" in page.page.inner_text(".mineland-basemap-notice")


def test_search_tolerates_transliteration(browser, tmp_path):
    """Füzuli, Fuzuli and Fizuli find the same district; the page folds names exactly
    as validation does (mineland.validation.names.fold_name)."""
    from mineland.validation.names import fold_name

    names = {
        "Füzuli": sq(0, 0, 10_000),
        "Cəbrayıl": sq(10_000, 0, 10_000),
        "Goražde": sq(0, 10_000, 10_000),
    }
    hazard = [{"record_id": "h", "record_type": "SHA", "geometry": sq(100, 100, 500)}]
    acc = mineland.account(districts_frame(names), frame(hazard))
    path = tmp_path / "search.html"
    save_map(make_map(acc), path)
    page = Page(browser, path)
    find = (
        "(q) => { const l = mineland.findDistrict(q);"
        " return l ? l.feature.properties.name : null; }"
    )
    for typed, want in [
        ("Fuzuli", "Füzuli"),
        ("Fizuli", "Füzuli"),
        ("fizuli rayonu", "Füzuli"),
        ("Jabrayil", "Cəbrayıl"),
        ("Cabrayil", "Cəbrayıl"),
        ("Gorazde", "Goražde"),
        ("Xankəndi", None),
    ]:
        assert page.js(find, typed) == want, typed
    others = [*names, "Şəhər Ağdam district", "Ağcabədi", "Xocavənd", "Čapljina", "Đakovo"]
    assert page.js("(ns) => ns.map(n => mineland.foldName(n))", others) == [
        fold_name(n) for n in others
    ]


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_findings_page_keeps_long_messages_readable_on_a_phone(browser, tmp_path, size):
    """`validate -o findings.html` on the demo: on a phone a long message keeps a
    readable width and its table scrolls sideways; on a desktop nothing scrolls."""
    out = tmp_path / "findings.html"
    assert run("validate", DISTRICTS, SURVEYS, "-o", out).exit_code in (0, 1)
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    cell = page.locator("td.long", has_text="outside every recorded hazard").first
    width = cell.bounding_box()["width"]
    sideways = page.evaluate(
        "() => [...document.querySelectorAll('.scroll')].some(s => s.scrollWidth > s.clientWidth)"
    )
    page.close()
    assert errors == []
    assert width >= 200  # about 30 characters a line, not a word
    assert sideways == (size[0] < 700)
