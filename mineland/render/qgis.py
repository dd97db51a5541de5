"""QGIS layer styles (QML) for the layers ``mineland export`` writes, so that a
GeoPackage opens in QGIS with the picture of the HTML map: IMAS colours for the
accounting classes and the hazard status outline, the same graduated district
choropleth, district labels, and the map's colours for devices, incidents and
findings.  Pure text; :mod:`mineland.io.write` stores it in ``layer_styles``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ..labels import (
    CLASS_STYLE,
    DISTRICT_OPACITY,
    METRIC_LABELS,
    STATUS_STYLE,
    Choropleth,
)

__all__ = ["Symbol", "categorized", "district_style", "export_styles", "graduated", "single"]

#: QGIS version the styles are written for (read by 3.16 and later)
QGIS_VERSION = "3.28.0-Firenze"

#: point layers and findings, in the map's colours
POINT_COLORS = {"devices": "#6A3D9A", "incidents": "#111111"}
SEVERITY_COLORS = {"error": "#C00000", "warning": "#E07B00", "info": "#2C7BB6"}


@dataclass(frozen=True)
class Symbol:
    """One symbol: its fill (None for an outline only), line, dash and opacity."""

    fill: str | None
    line: str
    alpha: float = 1.0
    dashed: bool = False
    width_mm: float = 0.26


def _rgba(hex_color: str, alpha: float = 1.0) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _options(parent: ET.Element, values: dict[str, str]) -> None:
    box = ET.SubElement(parent, "Option", type="Map")
    for key, value in values.items():
        ET.SubElement(box, "Option", name=key, value=value, type="QString")


def _symbol(parent: ET.Element, name: str, sym: Symbol, kind: str) -> None:
    """A fill or marker symbol of one simple layer."""
    node = ET.SubElement(
        parent, "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    layer = ET.SubElement(
        node,
        "layer",
        {"class": "SimpleFill" if kind == "fill" else "SimpleMarker"},
        enabled="1",
        locked="0",
        **{"pass": "0"},
    )
    values = {
        "color": _rgba(sym.fill or sym.line, sym.alpha if sym.fill else 0.0),
        "outline_color": _rgba(sym.line),
        "outline_style": "dash" if sym.dashed else "solid",
        "outline_width": f"{sym.width_mm:g}",
        "outline_width_unit": "MM",
        "style": "solid" if sym.fill else "no",
    }
    if kind == "marker":
        values.update({"name": "circle", "size": "2", "size_unit": "MM"})
    _options(layer, values)


def _document(renderer: ET.Element, label_field: str | None) -> str:
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology|Labeling")
    root.append(renderer)
    if label_field is not None:
        _labels(root, label_field)
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


def _labels(root: ET.Element, field: str) -> None:
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    style = ET.SubElement(
        settings,
        "text-style",
        fieldName=field,
        isExpression="0",
        fontSize="9",
        fontSizeUnit="Point",
        textColor="34,34,34,255",
        fontWeight="75",
    )
    ET.SubElement(
        style, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferColor="255,255,255,255"
    )
    ET.SubElement(settings, "placement", placement="0")  # around the centroid
    ET.SubElement(root, "labelsEnabled").text = "1"  # older QGIS
    root.set("labelsEnabled", "1")


def categorized(
    attr: str,
    categories: Sequence[tuple[str, str, Symbol]],
    *,
    kind: str = "fill",
    label_field: str | None = None,
) -> str:
    """A categorized renderer: ``(value, label, symbol)`` per category."""
    renderer = ET.Element("renderer-v2", type="categorizedSymbol", attr=attr, symbollevels="0")
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for k, (value, label, sym) in enumerate(categories):
        ET.SubElement(cats, "category", value=value, symbol=str(k), label=label, render="true")
        _symbol(symbols, str(k), sym, kind)
    return _document(renderer, label_field)


def single(sym: Symbol, *, kind: str = "marker") -> str:
    """One symbol for every feature."""
    renderer = ET.Element("renderer-v2", type="singleSymbol", symbollevels="0")
    _symbol(ET.SubElement(renderer, "symbols"), "0", sym, kind)
    return _document(renderer, None)


def graduated(
    attr: str,
    ranges: Sequence[tuple[float, float, str, Symbol]],
    *,
    label_field: str | None = None,
) -> str:
    """A graduated renderer: ``(lower, upper, label, symbol)`` per class."""
    renderer = ET.Element(
        "renderer-v2",
        type="graduatedSymbol",
        attr=attr,
        graduatedMethod="GraduatedColor",
        symbollevels="0",
    )
    node = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    for k, (lower, upper, label, sym) in enumerate(ranges):
        ET.SubElement(
            node,
            "range",
            lower=f"{lower:.6f}",
            upper=f"{upper:.6f}",
            symbol=str(k),
            label=label,
            render="true",
        )
        _symbol(symbols, str(k), sym, "fill")
    return _document(renderer, label_field)


def district_style(summary: pd.DataFrame, metric: str = "contaminated_ha") -> str:
    """The districts as the HTML map colours them (:class:`mineland.labels.Choropleth`:
    the same breaks, colours, opacity and legend labels), labelled with their names."""
    classes = Choropleth.of(summary[metric].to_numpy(dtype=float), metric)
    ranges = [
        (
            step["lower"] if k else -1e-9,
            step["upper"],
            step["label"],
            Symbol(step["color"], "#333333", DISTRICT_OPACITY),
        )
        for k, step in enumerate(classes.steps())
    ]
    return graduated(metric, ranges, label_field="district")


def export_styles(layers: dict[str, pd.DataFrame]) -> dict[str, tuple[str, str]]:
    """The default style of each exported layer that has one: ``{layer: (name, qml)}``."""
    styles: dict[str, tuple[str, str]] = {}
    if "summary" in layers:
        title = METRIC_LABELS.get("contaminated_ha", "contaminated_ha")
        styles["summary"] = (title, district_style(layers["summary"]))
    if "classes" in layers:
        cats = [
            (key, label, Symbol(color, color, opacity, width_mm=0.1))
            for key, (label, color, opacity) in CLASS_STYLE.items()
        ]
        styles["classes"] = ("Accounting classes (IMAS)", categorized("class", cats))
    if "hazard_status" in layers:
        cats = [
            (key, label, Symbol(None, color, dashed=dash is not None, width_mm=0.6))
            for key, (label, color, dash) in STATUS_STYLE.items()
        ]
        styles["hazard_status"] = ("Hazard status (IMAS outline)", categorized("status", cats))
    for name, color in POINT_COLORS.items():
        if name in layers:
            styles[name] = (name.capitalize(), single(Symbol(color, "#222222", 0.9)))
    for name in (n for n in layers if n.startswith("findings_")):
        kind = "marker" if name.endswith("points") else "fill"
        cats = [
            (severity, severity, Symbol(color, color, 0.25 if kind == "fill" else 0.6))
            for severity, color in SEVERITY_COLORS.items()
        ]
        styles[name] = ("Findings by severity", categorized("severity", cats, kind=kind))
    return styles
