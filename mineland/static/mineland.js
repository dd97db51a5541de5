/* mineland map controls (MIT licence, part of mineland).
 *
 * Builds the map's layers and controls from a JSON configuration written by
 * mineland.mapping.  Text that comes from data is only ever inserted with
 * textContent, or as HTML that mineland escaped before writing it.
 */
(function () {
  "use strict";
  var M = (window.mineland = window.mineland || {});

  function el(tag, cls, text, parent) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (parent) parent.appendChild(node);
    return node;
  }

  var SVG = "http://www.w3.org/2000/svg";
  function icon(paths, parent) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2");
      svg.appendChild(path);
    });
    parent.appendChild(svg);
    return svg;
  }
  var ICON_MEASURE = ["M3 17 L17 3 L21 7 L7 21 Z", "M7 13 l2 2 M10 10 l2 2 M13 7 l2 2"];
  var ICON_FULLSCREEN = ["M4 9 V4 H9", "M15 4 H20 V9", "M20 15 V20 H15", "M9 20 H4 V15"];

  function control(position, build) {
    var C = L.Control.extend({
      options: { position: position },
      onAdd: function (map) {
        var div = el("div", "leaflet-control mineland-control");
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        build(div, map);
        return div;
      },
    });
    return new C();
  }

  /* ---------------------------------------------------------------- measure */

  var R = 6378137;
  function ringAreaM2(latlngs) {
    // spherical excess of a lon/lat ring, as in Leaflet.draw's geodesicArea
    var area = 0, n = latlngs.length, d2r = Math.PI / 180;
    if (n < 3) return 0;
    for (var i = 0; i < n; i++) {
      var p1 = latlngs[i], p2 = latlngs[(i + 1) % n];
      area += (p2.lng - p1.lng) * d2r * (2 + Math.sin(p1.lat * d2r) + Math.sin(p2.lat * d2r));
    }
    return Math.abs((area * R * R) / 2);
  }

  function fmtDistance(m) {
    return m >= 1000 ? (m / 1000).toFixed(2) + " km" : m.toFixed(0) + " m";
  }

  function addMeasure(map) {
    var points = [], line = null, poly = null, active = false, out;
    function redraw() {
      if (line) map.removeLayer(line);
      if (poly) map.removeLayer(poly);
      line = poly = null;
      if (points.length > 1) line = L.polyline(points, { color: "#222", weight: 2, dashArray: "4 4" }).addTo(map);
      if (points.length > 2) poly = L.polygon(points, { color: "#222", weight: 1, fillOpacity: 0.1 }).addTo(map);
      var dist = 0;
      for (var i = 1; i < points.length; i++) dist += map.distance(points[i - 1], points[i]);
      var text = points.length ? "Distance: " + fmtDistance(dist) : "Click on the map to measure";
      if (points.length > 2) {
        var ha = ringAreaM2(points) / 10000;
        text += " · Area: " + ha.toLocaleString("en-US", { maximumFractionDigits: 1 }) + " ha";
      }
      out.textContent = text;
    }
    function onClick(e) {
      points.push(e.latlng);
      redraw();
    }
    var parked = [];
    function parkPopups() {
      // popups stop the map's click event: set them aside while measuring
      map.eachLayer(function (layer) {
        if (layer.getPopup && layer.getPopup()) {
          parked.push([layer, layer.getPopup()]);
          layer.unbindPopup();
        }
      });
      map.closePopup();
    }
    function restorePopups() {
      parked.forEach(function (pair) {
        pair[0].bindPopup(pair[1]);
      });
      parked = [];
    }
    function stop() {
      active = false;
      points = [];
      redraw();
      out.textContent = "";
      restorePopups();
      map.off("click", onClick);
      map.getContainer().classList.remove("mineland-measuring");
      button.classList.remove("active");
    }
    var button;
    control("topleft", function (div) {
      div.classList.add("leaflet-bar");
      button = el("a", "mineland-measure-button", null, div);
      icon(ICON_MEASURE, button);
      button.href = "#";
      button.title = "Measure distance and area (click points; click the button again to stop)";
      button.setAttribute("role", "button");
      out = el("div", "mineland-measure-result", "", div);
      L.DomEvent.on(button, "click", function (e) {
        L.DomEvent.preventDefault(e);
        if (active) return stop();
        active = true;
        parkPopups();
        button.classList.add("active");
        map.getContainer().classList.add("mineland-measuring");
        map.on("click", onClick);
        redraw();
      });
    }).addTo(map);
    L.DomEvent.on(document, "keydown", function (e) {
      if (e.key === "Escape" && active) stop();
    });
  }

  /* ---------------------------------------------------------------- controls */

  function addFullscreen(map) {
    control("topleft", function (div) {
      div.classList.add("leaflet-bar");
      var a = el("a", "mineland-fullscreen-button", null, div);
      icon(ICON_FULLSCREEN, a);
      a.href = "#";
      a.title = "Full screen";
      a.setAttribute("role", "button");
      L.DomEvent.on(a, "click", function (e) {
        L.DomEvent.preventDefault(e);
        var c = map.getContainer();
        if (document.fullscreenElement) document.exitFullscreen();
        else if (c.requestFullscreen) c.requestFullscreen();
      });
      document.addEventListener("fullscreenchange", function () {
        map.invalidateSize();
      });
    }).addTo(map);
  }

  function addMousePosition(map) {
    control("bottomleft", function (div) {
      div.classList.add("mineland-mouse");
      div.textContent = "lat, lon";
      map.on("mousemove", function (e) {
        div.textContent = e.latlng.lat.toFixed(5) + ", " + e.latlng.lng.toFixed(5);
      });
    }).addTo(map);
  }

  function addSearch(map, districts, byName) {
    control("topleft", function (div) {
      div.classList.add("mineland-search");
      var input = el("input", "", null, div);
      input.type = "search";
      input.placeholder = "Find a district…";
      input.setAttribute("aria-label", "Find a district");
      var listId = "mineland-districts-" + Math.random().toString(36).slice(2);
      input.setAttribute("list", listId);
      var list = el("datalist", "", null, div);
      list.id = listId;
      Object.keys(byName)
        .sort()
        .forEach(function (name) {
          var opt = el("option", "", null, list);
          opt.value = name;
        });
      function go() {
        var wanted = input.value.trim().toLowerCase();
        if (!wanted) return;
        var hit = byName[input.value.trim()];
        if (!hit) {
          Object.keys(byName).forEach(function (name) {
            if (!hit && name.toLowerCase().indexOf(wanted) >= 0) hit = byName[name];
          });
        }
        if (hit) {
          map.fitBounds(hit.getBounds(), { maxZoom: 12 });
          hit.openPopup(hit.getBounds().getCenter());
          input.classList.remove("mineland-notfound");
        } else {
          input.classList.add("mineland-notfound");
        }
      }
      L.DomEvent.on(input, "change", go);
      L.DomEvent.on(input, "keydown", function (e) {
        if (e.key === "Enter") go();
      });
    }).addTo(map);
  }

  function addPanel(map, panel) {
    control("topleft", function (div) {
      div.classList.add("mineland-panel");
      var head = el("div", "mineland-panel-head", null, div);
      el("h1", "mineland-title", panel.title, head);
      var toggle = el("button", "mineland-panel-toggle", "–", head);
      toggle.title = "Show or hide the summary";
      var body = el("div", "mineland-panel-body", null, div);
      if (panel.subtitle) el("div", "mineland-subtitle", panel.subtitle, body);
      var table = el("table", "mineland-totals", null, body);
      panel.rows.forEach(function (row) {
        var tr = el("tr", row[2] || "", null, table);
        el("th", "", row[0], tr);
        el("td", "", row[1], tr);
      });
      (panel.notes || []).forEach(function (note) {
        el("p", "mineland-note", note, body);
      });
      el("p", "mineland-disclaimer", panel.disclaimer, body);
      var src = el("div", "mineland-sources", null, body);
      el("strong", "", "Sources: ", src);
      panel.sources.forEach(function (s, i) {
        el("span", "", (i ? " · " : "") + s, src);
      });
      L.DomEvent.on(toggle, "click", function () {
        var hidden = body.style.display === "none";
        body.style.display = hidden ? "" : "none";
        toggle.textContent = hidden ? "–" : "+";
      });
    }).addTo(map);
  }

  function addLegend(map, legend) {
    control("bottomright", function (div) {
      div.classList.add("mineland-legend");
      el("div", "mineland-legend-title", legend.title, div);
      legend.steps.forEach(function (step) {
        var row = el("div", "mineland-legend-row", null, div);
        var sw = el("span", "mineland-swatch", null, row);
        sw.style.background = step.color;
        el("span", "", step.label, row);
      });
      if (legend.density) {
        el("div", "mineland-legend-title", legend.density.title, div);
        legend.density.steps.forEach(function (step) {
          var row = el("div", "mineland-legend-row", null, div);
          var sw = el("span", "mineland-swatch", null, row);
          sw.style.background = step.color;
          el("span", "", step.label, row);
        });
      }
      if (legend.priorities) {
        el("div", "mineland-legend-title", "Priority (score, low to high)", div);
        var prow = el("div", "mineland-legend-row", null, div);
        legend.priorities.forEach(function (c) {
          var sw = el("span", "mineland-swatch", null, prow);
          sw.style.background = c;
        });
      }
      if (legend.unmapped) {
        el("div", "mineland-legend-title", "Unmapped contamination", div);
        var urow = el("div", "mineland-legend-row", null, div);
        var usw = el("span", "mineland-swatch", null, urow);
        usw.style.border = "2px dashed " + legend.unmapped.color;
        usw.style.background = "transparent";
        el("span", "", legend.unmapped.label, urow);
      }
      if (legend.status) {
        el("div", "mineland-legend-title", "Hazard status (IMAS outline)", div);
        legend.status.forEach(function (st) {
          var row = el("div", "mineland-legend-row", null, div);
          var sw = el("span", "mineland-swatch", null, row);
          sw.style.border = "2px " + (st.dash ? "dashed " : "solid ") + st.color;
          sw.style.background = "transparent";
          el("span", "", st.label, row);
        });
      }
      if (legend.classes.length) el("div", "mineland-legend-title", "Accounting layers", div);
      legend.classes.forEach(function (c) {
        var row = el("div", "mineland-legend-row", null, div);
        var sw = el("span", "mineland-swatch", null, row);
        sw.style.background = c.color;
        sw.style.opacity = c.opacity;
        el("span", "", c.label, row);
      });
    }).addTo(map);
  }

  function addTimeline(map, districts, tl) {
    // a slider over the period ends; the last position restores the map's own colours
    var n = tl.periods.length;
    control("bottomleft", function (div) {
      div.classList.add("mineland-timeline");
      el("div", "mineland-legend-title", "Contaminated land over time", div);
      var input = el("input", "", null, div);
      input.type = "range";
      input.min = 0;
      input.max = n;
      input.value = n;
      input.setAttribute("aria-label", "Period");
      var label = el("div", "mineland-timeline-label", "Now (all records)", div);
      function show(k) {
        M.timelineIndex = k;
        districts.resetStyle(); // the style function reads the period
        label.textContent = k < n ? tl.labels[k] : "Now (all records)";
      }
      L.DomEvent.on(input, "input change", function () {
        show(parseInt(input.value, 10));
      });
      M.showPeriod = function (k) {
        input.value = k;
        show(k);
      };
    }).addTo(map);
  }

  /* ---------------------------------------------------------------- layers */

  function decodeRing(text) {
    // polyline algorithm: lat, lon pairs, delta-coded at 1e-5 degrees
    var out = [], i = 0, lat = 0, lon = 0;
    function next() {
      var result = 0, shift = 0, b;
      do {
        b = text.charCodeAt(i++) - 63;
        result |= (b & 0x1f) << shift;
        shift += 5;
      } while (b >= 0x20);
      return result & 1 ? ~(result >> 1) : result >> 1;
    }
    while (i < text.length) {
      lat += next();
      lon += next();
      out.push([lat / 1e5, lon / 1e5]);
    }
    return out;
  }

  function decodePolygons(data) {
    var polygons = [], r = 0;
    data.parts.forEach(function (n) {
      var rings = [];
      for (var k = 0; k < n; k++) rings.push(decodeRing(data.rings[r++]));
      polygons.push(rings);
    });
    return polygons;
  }
  M.decodePolygons = decodePolygons;

  function recordTable(title, fields, values) {
    // popups of records: every value from data goes in with textContent
    var div = el("div", "mineland-popup");
    el("h3", "", title, div);
    var table = el("table", "", null, div);
    fields.forEach(function (name, i) {
      var v = values[i];
      if (v === null || v === undefined || v === "") return;
      var tr = el("tr", "", null, table);
      el("th", "", name, tr);
      el("td", "", v, tr);
    });
    return div;
  }

  function pointLayer(group) {
    var cluster = L.markerClusterGroup({
      chunkedLoading: true,
      showCoverageOnHover: false,
      iconCreateFunction: function (c) {
        var n = c.getChildCount();
        var size = n < 10 ? 28 : n < 100 ? 34 : 40;
        var div = el("div", "mineland-cluster");
        div.style.background = group.color;
        el("span", "", n, div);
        return L.divIcon({ html: div, className: "mineland-cluster-icon", iconSize: L.point(size, size) });
      },
    });
    var markers = group.data.map(function (p) {
      var m = L.circleMarker([p[0], p[1]], {
        radius: 6,
        color: "#222",
        weight: 1,
        fillColor: group.color,
        fillOpacity: 0.9,
      });
      m.bindPopup(function () {
        return recordTable(group.title, group.fields, p.slice(2));
      });
      return m;
    });
    cluster.addLayers(markers);
    return cluster;
  }

  M.build = function (map, cfg) {
    var overlays = {}, layers = {}, byName = {};
    if (map.options.maxZoom === undefined) map.setMaxZoom(19); // marker clusters need one
    var bases = {};
    cfg.baseLayers.forEach(function (b) {
      var layer = b.url ? L.tileLayer(b.url, { attribution: b.attribution, maxZoom: b.maxZoom }) : L.layerGroup();
      bases[b.name] = layer;
      if (b.selected) layer.addTo(map);
    });

    var districts = L.geoJSON(cfg.districts, {
      style: function (f) {
        var k = M.timelineIndex, tl = cfg.timeline;
        var fill = tl && k !== undefined && k < tl.periods.length ? tl.colors[f.properties.name][k] : f.properties.color;
        return { color: "#333", weight: 1, fillColor: fill, fillOpacity: 0.55 };
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(f.properties.tooltip, { sticky: true }); // escaped by mineland
        layer.bindPopup(f.properties.popup, { maxWidth: 360 }); // escaped by mineland
        layer.on("mouseover", function () {
          layer.setStyle({ weight: 3 });
        });
        layer.on("mouseout", function () {
          districts.resetStyle(layer);
        });
        byName[f.properties.name] = layer;
      },
    }).addTo(map);
    overlays[cfg.districtsLabel] = districts;
    layers.districts = districts;

    cfg.classes.forEach(function (c) {
      // one path per polygon: browsers fill many small paths much faster than one
      // path with many rings
      var style = {
        interactive: false,
        color: c.color,
        weight: 0.6,
        fillColor: c.color,
        fillOpacity: c.opacity,
        opacity: 0.9,
      };
      var layer = L.layerGroup(
        decodePolygons(c.data).map(function (rings) {
          return L.polygon(rings, style);
        })
      );
      if (c.show) layer.addTo(map);
      overlays[c.label] = layer;
      layers[c.key] = layer;
    });

    if (cfg.raw) {
      var raw = L.geoJSON(cfg.raw, {
        style: { color: "#111", weight: 1, fill: false, dashArray: "3 3" },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            return recordTable(f.properties.v[1] + " record", cfg.rawFields, f.properties.v);
          });
        },
      });
      overlays[cfg.rawLabel] = raw;
      layers.raw = raw;
    }

    if (cfg.status) {
      // hazard status as the IMAS outline: red open, orange dashed worked on, green closed
      var status = L.geoJSON(cfg.status, {
        style: function (f) {
          var st = cfg.statusStyles[f.properties.s];
          return { color: st.color, weight: 2.5, dashArray: st.dash, fill: false, opacity: 1 };
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            return recordTable("Hazard", ["record id", "type", "status", "date"], f.properties.v);
          });
        },
      }).addTo(map);
      overlays[cfg.statusLabel] = status;
      layers.status = status;
    }

    if (cfg.density) {
      var image = L.imageOverlay(cfg.density.url, cfg.density.bounds, { opacity: 0.85, interactive: false });
      overlays[cfg.density.label] = image;
      layers.density = image;
    }

    if (cfg.findings) {
      var severityColor = { error: "#C00000", warning: "#E07B00", info: "#2C7BB6" };
      var findings = L.geoJSON(cfg.findings, {
        style: function (f) {
          var c = severityColor[f.properties.v[1]] || "#555";
          return { color: c, weight: 2, fillColor: c, fillOpacity: 0.25 };
        },
        pointToLayer: function (f, latlng) {
          var c = severityColor[f.properties.v[1]] || "#555";
          return L.circleMarker(latlng, { radius: 7, color: c, weight: 2, fillOpacity: 0.5 });
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            return recordTable("Finding", ["check", "severity", "record id", "message"], f.properties.v);
          });
        },
      });
      overlays[cfg.findingsLabel] = findings;
      layers.findings = findings;
    }

    if (cfg.priorities) {
      var pr = cfg.priorities;
      var priorities = L.geoJSON(pr.data, {
        style: function (f) {
          return { color: f.properties.c, weight: 1.5, fillColor: f.properties.c, fillOpacity: 0.6 };
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            return recordTable("Priority " + f.properties.v[0], pr.fields, f.properties.v);
          });
        },
      }).addTo(map);
      overlays[pr.label] = priorities;
      layers.priorities = priorities;
    }

    if (cfg.unmapped) {
      // evidence away from every recorded hazard, and candidate areas: suggestions
      var uc = cfg.unmappedColor;
      var candidateFields = ["candidate", "area", "evidence points", "devices", "incidents",
        "killed / injured", "dates", "districts", "note"];
      var evidenceFields = ["record id", "type", "date", "nearest hazard", "candidate area"];
      var unmapped = L.geoJSON(cfg.unmapped, {
        style: { color: uc, weight: 2, dashArray: "6 4", fillColor: uc, fillOpacity: 0.12 },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 5, color: "#fff", weight: 1, fillColor: uc, fillOpacity: 0.95 });
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(function () {
            var isArea = f.properties.k === "candidate";
            return recordTable(
              isArea ? "Candidate area for survey" : "Evidence away from every hazard",
              isArea ? candidateFields : evidenceFields,
              f.properties.v
            );
          });
        },
      }).addTo(map);
      overlays[cfg.unmappedLabel] = unmapped;
      layers.unmapped = unmapped;
    }

    cfg.points.forEach(function (group) {
      var layer = pointLayer(group);
      if (group.show) layer.addTo(map);
      overlays[group.label] = layer;
      layers[group.key] = layer;
    });

    L.control.layers(bases, overlays, { collapsed: false, position: "topright" }).addTo(map);
    if (cfg.timeline) addTimeline(map, districts, cfg.timeline);
    addSearch(map, districts, byName);
    addFullscreen(map);
    addMeasure(map);
    addMousePosition(map);
    addLegend(map, cfg.legend);
    addPanel(map, cfg.panel);
    if (cfg.bounds) map.fitBounds(cfg.bounds, { animate: false });

    M.map = map;
    M.layers = layers;
    M.districtsByName = byName;
    M.ready = true;
    return layers;
  };
})();
