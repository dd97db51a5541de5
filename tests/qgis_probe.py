"""Run by Debian's Python with QGIS (python3-qgis): load a GeoPackage's layers as
QGIS does and print, as JSON, the renderer each got from its default style.

    /usr/bin/python3 tests/qgis_probe.py result.gpkg summary,classes [out.png]
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402


def symbol_info(symbol) -> dict:
    layer = symbol.symbolLayer(0)
    info = {"fill": symbol.color().name(), "alpha": round(symbol.color().alphaF(), 3)}
    if hasattr(layer, "strokeColor"):
        info["stroke"] = layer.strokeColor().name()
        info["dashed"] = int(layer.strokeStyle()) != 1  # Qt.SolidLine
    return info


def describe(layer) -> dict:
    r = layer.renderer()
    out = {"valid": layer.isValid(), "type": r.type(), "labels": layer.labelsEnabled()}
    if r.type() == "categorizedSymbol":
        out["attr"] = r.classAttribute()
        out["categories"] = {str(c.value()): symbol_info(c.symbol()) for c in r.categories()}
    elif r.type() == "graduatedSymbol":
        out["attr"] = r.classAttribute()
        out["ranges"] = [
            [x.lowerValue(), x.upperValue(), symbol_info(x.symbol())] for x in r.ranges()
        ]
    elif r.type() == "singleSymbol":
        out["symbol"] = symbol_info(r.symbol())
    if layer.labelsEnabled():
        out["label_field"] = layer.labeling().settings().fieldName
    return out


def main() -> None:
    app = QgsApplication([], False)
    app.initQgis()
    path, names = sys.argv[1], sys.argv[2].split(",")
    layers = [QgsVectorLayer(f"{path}|layername={n}", n, "ogr") for n in names]
    print(json.dumps({n: describe(layer) for n, layer in zip(names, layers, strict=True)}))
    if len(sys.argv) > 3:
        settings = QgsMapSettings()
        settings.setLayers(layers[::-1])
        settings.setBackgroundColor(QColor("white"))
        settings.setDestinationCrs(layers[0].crs())
        settings.setExtent(layers[0].extent())
        settings.setOutputSize(QSize(800, 600))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        job.renderedImage().save(sys.argv[3], "png")
    sys.stdout.flush()
    os._exit(0)  # QGIS's own teardown can crash after the work is done


if __name__ == "__main__":
    main()
