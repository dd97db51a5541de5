"""The density raster as an image layer, with its legend."""

from __future__ import annotations

import base64
import warnings

import numpy as np
import pyproj
import rasterio
from affine import Affine
from rasterio.io import MemoryFile
from rasterio.warp import Resampling, calculate_default_transform, reproject

from ..raster import DENSITY_NODATA

#: Colour ramp of the density overlay: share of the cell contaminated → RGBA.
_DENSITY_RAMP = [
    (0.05, (203, 201, 226, 170)),
    (0.25, (158, 154, 200, 190)),
    (0.5, (117, 107, 177, 210)),
    (0.75, (84, 39, 143, 225)),
    (1.01, (45, 0, 75, 235)),
]


def density_overlay(array: np.ndarray, profile: dict) -> dict:
    """The density raster as a PNG data URI in Web Mercator, for a Leaflet image layer.

    Leaflet stretches an image linearly in Web Mercator, so the grid is reprojected
    to EPSG:3857 first (nearest neighbour: the fractions are shown, not resampled).
    """

    src_crs = rasterio.crs.CRS.from_wkt(profile["crs"])
    h, w = array.shape
    t = profile["transform"]
    bounds = (t.c, t.f + h * t.e, t.c + w * t.a, t.f)
    dst_t, dst_w, dst_h = calculate_default_transform(src_crs, "EPSG:3857", w, h, *bounds)
    scale = max(1.0, max(dst_w, dst_h) / 2048)  # keep the image under 2048 px a side
    dst_w, dst_h = int(dst_w / scale), int(dst_h / scale)
    dst_t = dst_t @ Affine.scale(scale, scale)
    merc = np.full((dst_h, dst_w), DENSITY_NODATA, dtype=np.float32)
    reproject(
        array,
        merc,
        src_transform=t,
        src_crs=src_crs,
        dst_transform=dst_t,
        dst_crs="EPSG:3857",
        src_nodata=profile.get("nodata"),
        dst_nodata=DENSITY_NODATA,
        resampling=Resampling.nearest,
    )
    rgba = np.zeros((4, dst_h, dst_w), dtype=np.uint8)
    lower = 0.0
    legend = []
    for upper, color in _DENSITY_RAMP:
        sel = (merc > lower) & (merc <= upper) if lower > 0 else (merc > 0) & (merc <= upper)
        for band in range(4):
            rgba[band][sel] = color[band]
        label = f"{'> 0' if lower == 0 else f'{lower:.0%}'} – {min(upper, 1.0):.0%}"
        legend.append(
            {"color": "rgba({},{},{},{:.2f})".format(*color[:3], color[3] / 255), "label": label}
        )
        lower = upper
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(driver="PNG", width=dst_w, height=dst_h, count=4, dtype="uint8") as png:
                png.write(rgba)
            data = mem.read()
    to_wgs = pyproj.Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    west, north = to_wgs.transform(dst_t.c, dst_t.f)
    east, south = to_wgs.transform(dst_t.c + dst_w * dst_t.a, dst_t.f + dst_h * dst_t.e)
    return {
        "url": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
        "bounds": [[south, west], [north, east]],
        "label": "Contamination density (share of each cell)",
        "legend": {"title": "Contamination density", "steps": legend},
    }
