"""The page's scripts and styles: CDN links, or the vendored copies inlined so that the
map works without a network."""

from __future__ import annotations

import base64
import re
from importlib import resources

from ..errors import OutputError

LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/"


CLUSTER_CDN = "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/"


#: Remote asset file name -> vendored copy (package data in ``mineland/static``).
_VENDORED = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "leaflet.markercluster.js": "markercluster/leaflet.markercluster.min.js",
    "MarkerCluster.css": "markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "markercluster/MarkerCluster.Default.css",
}


def static_text(name: str) -> str:
    return resources.files("mineland").joinpath("static", name).read_text(encoding="utf-8")


def static_bytes(name: str) -> bytes:
    return resources.files("mineland").joinpath("static", name).read_bytes()


_SCRIPT_SRC = re.compile(r'<script[^>]*\ssrc="([^"]+)"[^>]*>\s*</script>', re.IGNORECASE)


_CSS_LINK = re.compile(r'<link[^>]*\shref="([^"]+)"[^>]*/?>', re.IGNORECASE)


def _inline_css(name: str) -> str:
    css = static_text(name)
    folder = name.rsplit("/", 1)[0]

    def data_uri(match: re.Match) -> str:
        target = match.group(1).strip("'\"")
        if target.startswith(("data:", "#")):
            return match.group(0)
        try:
            raw = static_bytes(f"{folder}/{target}")
        except (FileNotFoundError, OSError):
            return "url()"  # an image no control here uses (default marker icons)
        return f"url(data:image/png;base64,{base64.b64encode(raw).decode()})"

    return re.sub(r"url\(([^)]+)\)", data_uri, css)


def offline_html(text: str) -> str:
    """Inline every script and style sheet; refuse any other external asset."""
    missing: list[str] = []

    def script(match: re.Match) -> str:
        url = match.group(1)
        local = _VENDORED.get(url.rsplit("/", 1)[-1])
        if local is None or not local.endswith(".js"):
            missing.append(url)
            return match.group(0)
        return "<script>" + static_text(local).replace("</script", "<\\/script") + "</script>"

    def link(match: re.Match) -> str:
        tag, url = match.group(0), match.group(1)
        if "stylesheet" not in tag.lower():
            return tag
        local = _VENDORED.get(url.rsplit("/", 1)[-1])
        if local is None or not local.endswith(".css"):
            missing.append(url)
            return tag
        return "<style>" + _inline_css(local).replace("</style", "<\\/style") + "</style>"

    text = _SCRIPT_SRC.sub(script, text)
    text = _CSS_LINK.sub(link, text)
    if missing:
        raise OutputError(
            "cannot save offline: no bundled copy of " + ", ".join(sorted(set(missing)))
        )
    return text
