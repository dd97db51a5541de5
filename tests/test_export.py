"""``mineland export``: a GeoPackage whose layers carry default QGIS styles that draw
the HTML map's picture, read back from ``layer_styles`` and, where Debian's QGIS is
installed (CI installs it), by QGIS itself."""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from conftest import DISTRICTS, ROOT, SURVEYS, geod_ha, run

import mineland
from mineland.export import export_layers, split_by_geometry
from mineland.labels import CLASS_STYLE, STATUS_STYLE

SAMPLES = ROOT / "data" / "samples"
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "result.gpkg"
    result = run("export", DISTRICTS, SURVEYS, "-o", out)
    assert result.exit_code == 0, result.output
    status_out = out.with_name("status.gpkg")
    result = run(
        "export", DISTRICTS, SAMPLES / "imsma_ng", "--preset", "imsma-ng", "-o", status_out
    )
    assert result.exit_code == 0, result.output
    return out, status_out


def styles(path: Path) -> dict[str, ET.Element]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT f_table_name, styleQML, useAsDefault FROM layer_styles")
        out = {}
        for name, qml, default in rows:
            assert default == 1
            out[name] = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE
    return out


def rgba(text: str) -> tuple[str, float]:
    r, g, b, a = (int(v) for v in text.split(","))
    return f"#{r:02X}{g:02X}{b:02X}", a / 255


def option(layer: ET.Element, name: str) -> str:
    return layer.find(f".//Option[@name='{name}']").get("value")


def test_layers_and_their_registered_styles(exported):
    out, status_out = exported
    layers = dict(pyogrio.list_layers(out))
    for name in ("summary", "classes", "devices", "incidents", "findings_polygons"):
        assert name in layers
    with sqlite3.connect(out) as db:
        kind = db.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchone()
    assert kind == ("attributes",)
    assert set(styles(out)) == {n for n in layers if n not in ("findings", "layer_styles")}
    assert "hazard_status" in styles(status_out)


def test_class_colours_are_the_imas_colours(exported):
    qml = styles(exported[0])["classes"]
    symbols = {s.get("name"): s for s in qml.iter("symbol")}
    seen = {}
    for cat in qml.iter("category"):
        layer = symbols[cat.get("symbol")].find("layer")
        seen[cat.get("value")] = (rgba(option(layer, "color")), cat.get("label"))
    for key, (label, color, opacity) in CLASS_STYLE.items():
        (got_color, got_alpha), got_label = seen[key]
        assert got_color == color.upper() and got_label == label
        assert math.isclose(got_alpha, opacity, abs_tol=1 / 255)


def test_status_outlines_are_the_imas_outlines(exported):
    qml = styles(exported[1])["hazard_status"]
    symbols = {s.get("name"): s for s in qml.iter("symbol")}
    for cat in qml.iter("category"):
        layer = symbols[cat.get("symbol")].find("layer")
        _, color, dash = STATUS_STYLE[cat.get("value")]
        assert rgba(option(layer, "outline_color"))[0] == color.upper()
        assert option(layer, "outline_style") == ("dash" if dash else "solid")
        assert option(layer, "style") == "no"  # an outline only


def test_district_ranges_are_the_html_maps_legend(exported, demo_acc):
    """The same breaks and colours as the saved map's legend, and district labels."""
    qml = styles(exported[0])["summary"]
    html = mineland.make_map(demo_acc).get_root().render()
    steps = json.loads(re.search(r'"legend":\{"title":"[^"]*","steps":(\[[^\]]*\])', html)[1])
    ranges = list(qml.iter("range"))
    symbols = {s.get("name"): s for s in qml.iter("symbol")}
    assert len(ranges) == len(steps)
    for rng, step in zip(ranges, steps, strict=True):
        color, alpha = rgba(option(symbols[rng.get("symbol")].find("layer"), "color"))
        assert color == step["color"].upper() and math.isclose(alpha, 0.55, abs_tol=1 / 255)
    values = demo_acc.summary["contaminated_ha"].to_numpy()
    assert float(ranges[-1].get("upper")) >= values.max() - 1e-6
    assert qml.find(".//text-style").get("fieldName") == "district"


def test_class_pieces_add_up_to_the_summary_and_to_geodesic_area(demo_acc):
    pieces = demo_acc.class_pieces()
    sums = pieces.groupby(["district", "class"])["area_ha"].sum().unstack(fill_value=0.0)
    summary = demo_acc.summary.set_index("district")
    for key in CLASS_STYLE:
        got = sums[key].reindex(summary.index, fill_value=0.0)
        assert np.allclose(got, summary[f"{key}_ha"], rtol=1e-9, atol=1e-9)
    sample = pieces.sample(200, random_state=1)
    geodesic = np.array([geod_ha(g) for g in sample.geometry])
    assert np.allclose(geodesic, sample["area_ha"], rtol=1e-5, atol=1e-6)


def test_every_shape_written_is_valid(exported):
    """Class polygons valid in the equal-area projection can cross themselves once
    moved back to lon/lat (rings that nearly touch); overlapping-hazard clusters and
    released land outside hazards are drawn from pieces that overlap or share edges.
    Every shape of every layer read back from the GeoPackage is valid."""
    import shapely

    out, _ = exported
    checked = 0
    for layer, _ in pyogrio.list_layers(out):
        frame = pyogrio.read_dataframe(out, layer=layer)
        if "geometry" not in frame:
            continue
        geoms = np.asarray(frame.geometry.array, dtype=object)
        geoms = geoms[~shapely.is_missing(geoms)]
        assert shapely.is_valid(geoms).all(), (layer, shapely.is_valid_reason(geoms).tolist())
        checked += len(geoms)
    assert checked > 8000


def test_findings_split_by_geometry_type():
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"check": ["a", "b", "c", "d"]},
        geometry=[
            shapely.Point(0, 0),
            shapely.box(0, 0, 1, 1),
            None,
            shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)]),
        ],
        crs=4326,
    )
    out = split_by_geometry(frame, "findings")
    assert list(out["findings_points"]["check"]) == ["a"]
    assert list(out["findings_polygons"]["check"]) == ["b", "d"]
    assert list(out["findings"]["check"]) == ["c"]
    assert sum(len(v) for v in out.values()) == len(frame)


def test_export_layers_without_findings_or_status(demo_acc):
    layers = export_layers(demo_acc)
    assert list(layers)[:2] == ["summary", "classes"]
    assert "hazard_status" not in layers and not any(n.startswith("findings") for n in layers)


def test_export_refuses_other_formats_before_reading(tmp_path):
    result = run("export", DISTRICTS, SURVEYS, "-o", tmp_path / "x.csv")
    assert result.exit_code == 2 and "'.csv'" in result.output
    result = run("export", DISTRICTS, SURVEYS, "-o", SURVEYS / "x.gpkg")
    assert result.exit_code == 2 and "input folder" in result.output


def _has_qgis() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(
    not _has_qgis() and not os.environ.get("CI"), reason="Debian's python3-qgis not installed"
)
def test_qgis_opens_the_geopackage_with_the_maps_picture(exported, tmp_path):
    """QGIS itself: each layer gets its default style (the IMAS colours, the dashed
    worked-on outline, the graduated districts with labels), and renders."""
    out, status_out = exported
    png = tmp_path / "qgis.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    probe = Path(__file__).with_name("qgis_probe.py")
    done = subprocess.run(
        [SYSTEM_PYTHON, probe, out, "summary,classes,devices,incidents", png],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["summary"]["type"] == "graduatedSymbol" and seen["summary"]["labels"]
    assert seen["summary"]["label_field"] == "district"
    cats = seen["classes"]["categories"]
    for key, (_, color, opacity) in CLASS_STYLE.items():
        assert cats[key]["fill"] == color.lower()
        assert math.isclose(cats[key]["alpha"], opacity, abs_tol=0.01)
    assert seen["devices"]["symbol"]["fill"] == "#6a3d9a"
    done = subprocess.run(
        [SYSTEM_PYTHON, probe, status_out, "hazard_status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    status = json.loads(done.stdout.strip().splitlines()[-1])["hazard_status"]["categories"]
    assert status["worked on"]["dashed"] and not status["open"]["dashed"]
    assert status["open"]["stroke"] == "#ff0000" and status["closed"]["stroke"] == "#1a9850"
    import PIL.Image

    image = np.asarray(PIL.Image.open(png).convert("RGB")).reshape(-1, 3)
    reds = (image[:, 0] > 200) & (image[:, 1] < 120) & (image[:, 2] < 120)
    assert reds.sum() > 50  # the CHA polygons were drawn in IMAS red
