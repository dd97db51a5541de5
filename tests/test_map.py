"""The HTML map as a file: structure, escaping, offline assets, size."""

from __future__ import annotations

import json
import re

import folium
import pytest
from click.testing import CliRunner
from conftest import DISTRICTS, ROOT, SURVEYS, districts_frame, frame, run, sq

import mineland
from mineland.cli import main
from mineland.mapping import make_map, save_map

XSS = '<img src=x onerror="window.__xss=1">'
BREAKOUT = "</script><script>window.__xss=2</script>"
SSTI = "{{ 7*7 }}{% for x in range(3) %}loop{% endfor %}{{ self.__init__.__globals__ }}"


def test_make_map_returns_a_folium_map_that_renders_inline(demo_acc):
    m = make_map(demo_acc, title="Demo")
    assert isinstance(m, folium.Map)
    html = m._repr_html_()
    assert "iframe" in html and "mineland.build" in html


def map_data(m) -> dict:
    """The JSON the page's script draws from."""
    text = m.get_root().render()
    found = re.search(r'<script type="application/json" id="[^"]+">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def test_summary_plus_surveys_gives_the_same_map_data(demo, demo_acc):
    from_summary = map_data(make_map(demo_acc.summary, demo[1], tiles="none"))
    from_accounting = map_data(make_map(demo_acc, tiles="none"))
    assert from_summary.keys() == from_accounting.keys()
    for key in ("districts", "classes", "points", "legend", "bounds", "raw"):
        assert from_summary[key] == from_accounting[key], key
    assert [c["label"] for c in from_summary["classes"]] == [
        "Remaining CHA",
        "Remaining SHA",
        "Cleared",
        "Reduced (technical survey)",
        "Cancelled (non-technical survey)",
    ]


def test_maps_are_offline_by_default_and_cdn_on_request(demo_acc, tmp_path):
    m = make_map(demo_acc)
    online = save_map(m, tmp_path / "online.html", offline=False).read_text(encoding="utf-8")
    assert re.search(r'<script[^>]+src="https://[^"]+leaflet\.js"', online)
    offline = save_map(m, tmp_path / "offline.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", offline)
    assert not re.search(r"<link[^>]+stylesheet", offline)
    assert "Leaflet 1.9.4" in offline  # the vendored copy
    assert "url(images/" not in offline  # layer-control icons inlined as data URIs
    # no URL that a browser would fetch by itself (links in text and comments aside)
    fetched = re.findall(r'\ssrc="(https?://[^"]+)"', offline)
    fetched += re.findall(r'<link[^>]+href="(https?://[^"]+)"', offline)
    assert fetched == []
    # the base maps are offered, none is selected: nothing is fetched at open
    bases = re.search(r'"baseLayers":(\[.*?\]),"districtsLabel"', offline)[1]
    assert '"selected":true' in bases.split("},")[0]  # "No base map"
    assert bases.count('"selected":false') == 2


def test_the_notebook_map_needs_no_internet(demo_acc):
    """Jupyter shows a map through _repr_html_: its page is inlined there too."""
    html = make_map(demo_acc)._repr_html_()
    assert "Leaflet 1.9.4" in html
    assert "cdn.jsdelivr.net" not in html and "src=&quot;https://" not in html


def test_offline_refuses_assets_it_cannot_bundle(demo_acc, tmp_path):
    m = folium.Map(tiles=None)  # folium's default map pulls jQuery and Bootstrap from CDNs
    make_map(demo_acc, m=m)
    with pytest.raises(mineland.OutputError, match="cannot save offline"):
        save_map(m, tmp_path / "x.html", offline=True)


def test_payloads_are_escaped_in_the_html_source(tmp_path):
    d = districts_frame({XSS: sq(0, 0, 10_000), BREAKOUT: sq(10_000, 0, 10_000)})
    s = frame(
        [
            {"record_id": XSS, "record_type": "SHA", "notes": BREAKOUT, "geometry": sq(1000, 1000)},
            {
                "record_id": "i1",
                "record_type": "incident",
                "organisation": XSS,
                "geometry": sq(0, 0).centroid,
            },
        ]
    )
    acc = mineland.account(d, s)
    text = save_map(make_map(acc, title=XSS), tmp_path / "m.html", offline=True).read_text()
    assert "<img src=x" not in text
    assert "</script><script>window.__xss" not in text


def test_template_syntax_in_data_is_not_evaluated(tmp_path):
    # folium/branca re-read macro output as Jinja templates; data must never reach them
    d = districts_frame({SSTI: sq(0, 0, 10_000), "B": sq(10_000, 0, 10_000)})
    s = frame(
        [
            {
                "record_id": SSTI,
                "record_type": "incident",
                "notes": SSTI,
                "geometry": sq(0, 0).centroid,
            }
        ]
    )
    acc = mineland.account(d, s)
    m = make_map(acc, title=SSTI, sources=[SSTI])
    for offline in (False, True):
        text = save_map(m, tmp_path / f"m{offline}.html", offline=offline).read_text()
        assert text.count("{{ 7*7 }}") >= 3  # district, panel title, source, record
        assert "looploop" not in text and "__builtins__" not in text


def test_map_cli(tmp_path):
    out = tmp_path / "map.html"
    result = CliRunner().invoke(
        main,
        [
            "map",
            str(DISTRICTS),
            str(SURVEYS),
            "-o",
            str(out),
            "--tiles",
            "none",
            "--title",
            "Demo",
            "--source",
            "Demo source",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr and "works offline" in result.stderr
    assert "<script src=" not in out.read_text(encoding="utf-8")
    cdn = run("map", DISTRICTS, SURVEYS, "-o", tmp_path / "cdn.html", "--cdn", "-q")
    assert cdn.exit_code == 0
    assert (tmp_path / "cdn.html").stat().st_size < out.stat().st_size - 100_000
    both = run("map", DISTRICTS, SURVEYS, "-o", tmp_path / "x.html", "--cdn", "--offline")
    assert both.exit_code == 2 and "contradict" in both.output
    text = out.read_text(encoding="utf-8")
    assert "Demo source" in text
    assert out.stat().st_size < 10e6  # the demo map stays small


def test_map_cli_errors(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["map", str(DISTRICTS), str(SURVEYS), "-o", str(tmp_path / "m.png")])
    assert r.exit_code == 2 and ".html" in r.stderr
    r = runner.invoke(
        main, ["map", str(DISTRICTS), str(SURVEYS), "-o", str(tmp_path / "m.html"), "--metric", "x"]
    )
    assert r.exit_code == 2 and "--metric" in r.stderr
    r = runner.invoke(main, ["map", str(DISTRICTS), str(SURVEYS)])
    assert r.exit_code == 2 and "--output" in r.stderr


def test_unknown_metric_and_tiles(demo_acc):
    with pytest.raises(mineland.SchemaError, match="unknown metric"):
        make_map(demo_acc, metric="nope")
    with pytest.raises(mineland.SchemaError, match="unknown tiles"):
        make_map(demo_acc, tiles="google")


def test_map_cli_with_density_and_landcover(tmp_path):
    out = tmp_path / "map.html"
    landcover = ROOT / "data" / "landcover" / "synthetic_landcover.tif"
    args = ["map", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--tiles", "none"]
    args += ["--density", "250", "--landcover", str(landcover)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text and "Contaminated by land cover" in text
    assert "synthetic_landcover.tif" in text


def test_png_for_slides_is_made_by_the_browser(tmp_path):
    import shutil

    if not shutil.which("chromium"):
        pytest.skip("chromium not installed")
    import PIL.Image

    html, png = tmp_path / "m.html", tmp_path / "m.png"
    result = run("map", DISTRICTS, SURVEYS, "-o", html, "--png", png)
    assert result.exit_code == 0, result.output
    image = PIL.Image.open(png)
    assert image.size == (1600, 1000)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert len(colours) > 200  # a drawn map, not a blank page
    bad = run("map", DISTRICTS, SURVEYS, "-o", tmp_path / "x.html", "--png", tmp_path / "x.jpg")
    assert bad.exit_code == 2 and "'.jpg'" in bad.output
