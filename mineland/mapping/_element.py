"""The folium element that puts mineland's layers (mineland.js) and their data on a map."""

from __future__ import annotations

import folium
from branca.element import Element, Figure, MacroElement

from ..errors import OutputError
from ._offline import CLUSTER_CDN, offline_html, static_text


class OfflinePage(Figure):
    """The page of a mineland map.  Shown inline in a notebook, its scripts and
    styles are inlined (as in a saved map), so that the map shows without internet;
    an asset mineland does not bundle (a plugin added by hand) keeps its link."""

    def _repr_html_(self, **kwargs) -> str:
        online = self.render

        def render(**kw) -> str:
            text = online(**kw)
            try:
                return offline_html(text)
            except OutputError:
                return text

        self.render = render
        try:
            return super()._repr_html_(**kwargs)
        finally:
            del self.render


class RawText(Element):
    """Text that goes into the page as it is.

    branca turns the output of a MacroElement's macros into new Jinja templates, so
    text from data that passed through them would be evaluated as template code
    (``{{ ... }}``).  Everything mineland writes goes through this element instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class MinelandLayers(MacroElement):
    """Adds mineland's layers and controls (mineland.js) to a folium map."""

    def __init__(self, data: str) -> None:
        super().__init__()
        self._name = "MinelandLayers"
        self.data = data

    def render(self, **kwargs):
        figure = self.get_root()
        header = figure.header
        header.add_child(
            folium.elements.JavascriptLink(CLUSTER_CDN + "leaflet.markercluster.js"),
            name="markercluster_js",
        )
        for name, file in (
            ("markercluster_css", "MarkerCluster.css"),
            ("markercluster_default_css", "MarkerCluster.Default.css"),
        ):
            header.add_child(folium.elements.CssLink(CLUSTER_CDN + file), name=name)
        js = static_text("mineland.js").replace("</script", "<\\/script")
        header.add_child(
            RawText(f"<style>{static_text('mineland.css')}</style>\n<script>{js}</script>"),
            name=self.get_name() + "_assets",
        )
        data_id = f"{self.get_name()}_data"
        figure.html.add_child(
            RawText(f'<script type="application/json" id="{data_id}">{self.data}</script>'),
            name=data_id,
        )
        figure.script.add_child(
            RawText(
                f"mineland.build({self._parent.get_name()}, "
                f'JSON.parse(document.getElementById("{data_id}").textContent));'
            ),
            name=self.get_name() + "_build",
        )
