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
    // bottom right, under the legend: it never covers the panel (top left)
    if (map.getSize().x < 700) return; // a phone has no mouse
    control("bottomright", function (div) {
      div.classList.add("mineland-mouse");
      div.textContent = "lat, lon";
      map.on("mousemove", function (e) {
        div.textContent = e.latlng.lat.toFixed(5) + ", " + e.latlng.lng.toFixed(5);
      });
    }).addTo(map);
  }

  function foldName(text, table) {
    // as mineland.validation.names.fold_name: transliterations made one, then
    // accents, case, spaces and punctuation dropped (Füzuli, Fuzuli, Fizuli...)
    var out = "";
    String(text).normalize("NFC").toLowerCase().replace(/\b(district|rayon|rayonu|region|city|şəhəri|seheri|municipality)\b/g, " ")
      .split("").forEach(function (ch) {
        out += table[ch] !== undefined ? table[ch] : ch;
      });
    return out.normalize("NFKD").replace(/[^\p{L}\p{N}]/gu, "");
  }

  function similarity(a, b) {
    // 1 - edit distance / longer length
    var m = a.length, n = b.length, d = [], i, j;
    if (!m || !n) return 0;
    for (i = 0; i <= m; i++) d[i] = [i];
    for (j = 1; j <= n; j++) d[0][j] = j;
    for (i = 1; i <= m; i++)
      for (j = 1; j <= n; j++)
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return 1 - d[m][n] / Math.max(m, n);
  }

  function findDistrict(query, byName, keys, table) {
    var exact = byName[query.trim()];
    if (exact) return exact;
    var q = foldName(query, table), best = null, score = 0;
    if (!q) return null;
    Object.keys(byName).forEach(function (name) {
      var k = keys[name] || foldName(name, table);
      var s = k === q ? 2 : k.indexOf(q) === 0 ? 1.5 : similarity(k, q);
      if (s > score) {
        score = s;
        best = byName[name];
      }
    });
    return score >= 0.75 ? best : null;
  }
  M.foldName = function (text) {
    return foldName(text, M.searchFold);
  };
  M.findDistrict = function (query) {
    return findDistrict(query, M.districtsByName, M.searchKeys, M.searchFold);
  };

  function addSearch(map, districts, byName, cfg) {
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
        .sort(function (a, b) {
          return a.localeCompare(b); // Çaylı beside C, not after Z
        })
        .forEach(function (name) {
          var opt = el("option", "", null, list);
          opt.value = name;
        });
      function go() {
        if (!input.value.trim()) return;
        var hit = findDistrict(input.value, byName, cfg.searchKeys || {}, cfg.searchFold || {});
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

  function foldable(toggle, body, folded) {
    // a button that shows or hides a control's body ("–" open, "+" folded)
    function set(hidden) {
      body.style.display = hidden ? "none" : "";
      toggle.textContent = hidden ? "+" : "–";
    }
    set(!!folded);
    L.DomEvent.on(toggle, "click", function () {
      set(body.style.display !== "none");
    });
  }

  function addPanel(map, panel) {
    var handle = {};
    control("topleft", function (div) {
      div.classList.add("mineland-panel");
      var head = el("div", "mineland-panel-head", null, div);
      el("h1", "mineland-title", panel.title, head);
      var toggle = el("button", "mineland-panel-toggle", "–", head);
      toggle.title = "Show or hide the summary";
      toggle.setAttribute("aria-label", "Show or hide the summary");
      var body = el("div", "mineland-panel-body", null, div);
      var subtitle = el("div", "mineland-subtitle", panel.subtitle || "", body);
      var table = el("table", "mineland-totals", null, body);
      var cells = {};
      panel.rows.forEach(function (row) {
        var tr = el("tr", row[2] || "", null, table);
        el("th", "", row[0], tr);
        var td = el("td", "", row[1], tr);
        if (row[3]) {
          td.setAttribute("data-col", row[3]);
          cells[row[3]] = [td, row[1]];
        }
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
      handle.show = function (end, totals, tl) {
        // the totals at a period end (the timeline), or the map's own (null)
        subtitle.textContent = end ? "At the end of the period to " + end : panel.subtitle || "";
        Object.keys(cells).forEach(function (key) {
          var td = cells[key][0];
          if (!totals) return (td.textContent = cells[key][1]);
          if (key === "casualties") {
            var ki = tl.keys.indexOf("killed"), ii = tl.keys.indexOf("injured");
            td.textContent = fmtValue("killed", totals[ki]) + " / " + fmtValue("injured", totals[ii]);
            return;
          }
          var i = tl.keys.indexOf(key);
          td.textContent = i >= 0 ? fmtValue(key, totals[i]) : "–";
        });
      };
      foldable(toggle, body, panel.collapsed);
    }).addTo(map);
    return handle;
  }

  function pastAccounting(map, cfg, layers) {
    // The accounting layers hold the map's own date.  At a past period end they are
    // set aside, and the records known by then are drawn instead, as outlines in
    // their class colours (the raw records layer, filtered by date), so that nothing
    // on the map shows another date than the slider's.
    var shown = [], colours = {};
    cfg.classes.forEach(function (c) {
      colours[c.key] = c.color;
    });
    var byType = { SHA: colours.sha, CHA: colours.cha, cleared: colours.cleared, reduced: colours.reduced, cancelled: colours.cancelled };
    var rawWasOn = false, isPast = false;
    return function (past) {
      if (past === isPast) return;
      isPast = past;
      if (past) {
        shown = cfg.classes.filter(function (c) {
          return map.hasLayer(layers[c.key]);
        });
        shown.forEach(function (c) {
          map.removeLayer(layers[c.key]);
        });
        if (layers.raw) {
          rawWasOn = map.hasLayer(layers.raw);
          layers.raw.setStyle(function (f) {
            var c = byType[f.properties.v[1]] || "#111";
            return { color: c, weight: 1.5, fill: true, fillColor: c, fillOpacity: 0.25, dashArray: null };
          });
          map.addLayer(layers.raw);
        }
      } else {
        shown.forEach(function (c) {
          map.addLayer(layers[c.key]);
        });
        if (layers.raw) {
          layers.raw.setStyle(function () {
            return { color: "#111", weight: 1, fill: false, dashArray: "3 3" };
          });
          if (!rawWasOn) map.removeLayer(layers.raw);
        }
      }
    };
  }

  function datedFilter(layer, dateOf) {
    // show only the records dated on or before a period end (undated always count)
    var all = [];
    layer.eachLayer(function (l) {
      all.push(l);
    });
    return function (end) {
      var keep = all.filter(function (l) {
        var d = dateOf(l);
        return !end || !d || d <= end;
      });
      if (layer.clearLayers && layer.addLayers) {
        layer.clearLayers();
        layer.addLayers(keep);
      } else {
        all.forEach(function (l) {
          if (keep.indexOf(l) < 0) layer.removeLayer(l);
          else if (!layer.hasLayer(l)) layer.addLayer(l);
        });
      }
    };
  }

  function swatch(row, color, opacity) {
    // the colour as drawn: the fill's opacity over the map's light background
    var sw = el("span", "mineland-swatch", null, row);
    sw.style.background = color;
    if (opacity !== undefined) sw.style.opacity = opacity;
    return sw;
  }

  function addLayerList(map, bases, overlays) {
    // listed beside the map where the screen is wide enough and the list clears the
    // legend below it (a laptop's short screen); folded to an icon otherwise
    function add(collapsed) {
      return L.control.layers(bases, overlays, { collapsed: collapsed, position: "topright" }).addTo(map);
    }
    var wide = map.getSize().x >= 1200;
    var list = add(!wide);
    var legend = map.getContainer().querySelector(".mineland-legend");
    if (!wide || !legend) return;
    var a = list.getContainer().getBoundingClientRect(), b = legend.getBoundingClientRect();
    if (a.bottom + 10 > b.top && a.left < b.right && b.left < a.right) {
      map.removeControl(list);
      add(true);
    }
  }

  function addLegend(map, legend, layers) {
    var handle = {};
    control("bottomright", function (div) {
      div.classList.add("mineland-legend");
      var head = el("div", "mineland-legend-head", null, div);
      var title = el("div", "mineland-legend-title", legend.title, head);
      var toggle = el("button", "mineland-legend-toggle", "–", head);
      toggle.title = "Show or hide the legend";
      toggle.setAttribute("aria-label", "Show or hide the legend");
      var body = el("div", "mineland-legend-body", null, div);
      var steps = el("div", "", null, body);
      function drawSteps(list) {
        steps.textContent = "";
        list.forEach(function (step) {
          var row = el("div", "mineland-legend-row", null, steps);
          swatch(row, step.color, legend.districtOpacity);
          el("span", "", step.label, row);
        });
      }
      drawSteps(legend.steps);
      handle.set = function (text, list) {
        title.textContent = text || legend.title;
        drawSteps(list || legend.steps);
      };
      if (legend.density) {
        var dens = el("div", "mineland-legend-density", null, body);
        el("div", "mineland-legend-title", legend.density.title, dens);
        legend.density.steps.forEach(function (step) {
          var row = el("div", "mineland-legend-row", null, dens);
          swatch(row, step.color, legend.density.opacity);
          el("span", "", step.label, row);
        });
        // shown only while its layer is on
        dens.style.display = "none";
        map.on("overlayadd overlayremove", function () {
          dens.style.display = map.hasLayer(layers.density) ? "" : "none";
        });
      }
      if (legend.priorities) {
        el("div", "mineland-legend-title", "Priority (score, low to high)", body);
        var prow = el("div", "mineland-legend-row", null, body);
        legend.priorities.forEach(function (c) {
          swatch(prow, c);
        });
      }
      if (legend.unmapped) {
        el("div", "mineland-legend-title", "Unmapped contamination", body);
        var urow = el("div", "mineland-legend-row", null, body);
        var usw = el("span", "mineland-swatch", null, urow);
        usw.style.border = "2px dashed " + legend.unmapped.color;
        usw.style.background = "transparent";
        el("span", "", legend.unmapped.label, urow);
      }
      if (legend.status) {
        el("div", "mineland-legend-title", "Hazard status (IMAS outline)", body);
        legend.status.forEach(function (st) {
          var row = el("div", "mineland-legend-row", null, body);
          var sw = el("span", "mineland-swatch", null, row);
          sw.style.border = "2px " + (st.dash ? "dashed " : "solid ") + st.color;
          sw.style.background = "transparent";
          el("span", "", st.label, row);
        });
      }
      if (legend.classes.length) el("div", "mineland-legend-title", "Accounting layers", body);
      legend.classes.forEach(function (c) {
        var row = el("div", "mineland-legend-row", null, body);
        swatch(row, c.color, c.opacity);
        el("span", "", c.label, row);
      });
      if (legend.points && legend.points.length) {
        el("div", "mineland-legend-title", "Points", body);
        legend.points.forEach(function (p) {
          var row = el("div", "mineland-legend-row", null, body);
          var dot = el("span", "mineland-swatch mineland-dot", null, row);
          dot.style.background = p.color;
          el("span", "", p.label, row);
        });
        var crow = el("div", "mineland-legend-row", null, body);
        var circ = el("span", "mineland-swatch mineland-dot mineland-cluster-swatch", "12", crow);
        circ.style.background = "#777";
        el("span", "", "A numbered circle groups that many records; zoom in to see them", crow);
      }
      foldable(toggle, body, legend.collapsed);
    }).addTo(map);
    return handle;
  }

  function fmtValue(key, v) {
    if (v === null || v === undefined) return "–";
    if (/_ha$/.test(key)) return v.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + " ha";
    return Math.round(v).toLocaleString("en-US");
  }

  function periodTable(title, subtitle, tl, vals) {
    // a district's values at a past period end: every value set with textContent
    var div = el("div", "mineland-popup");
    el("h3", "", title, div);
    el("div", "mineland-subtitle", subtitle, div);
    var table = el("table", "", null, div);
    tl.keys.forEach(function (key, i) {
      var tr = el("tr", /^·/.test(tl.labels[key]) ? "sub" : "", null, table);
      el("th", "", tl.labels[key], tr);
      var td = el("td", "", fmtValue(key, vals[i]), tr);
      td.setAttribute("data-col", key);
    });
    return div;
  }

  function addTimeline(map, districts, tl, ui) {
    // a slider over the period ends; the last position is the map's own date
    var n = tl.periods.length, timer = null;
    var originals = {};
    districts.eachLayer(function (layer) {
      var name = layer.feature.properties.name;
      originals[name] = [layer.getTooltip().getContent(), layer.getPopup().getContent()];
    });
    control("bottomleft", function (div) {
      div.classList.add("mineland-timeline");
      el("div", "mineland-legend-title", "The map over time", div);
      var row = el("div", "mineland-timeline-row", null, div);
      var play = el("button", "mineland-play", "▶", row);
      play.title = "Play through the periods";
      play.setAttribute("aria-label", "Play");
      var input = el("input", "", null, row);
      input.type = "range";
      input.min = 0;
      input.max = n;
      input.value = n;
      input.setAttribute("aria-label", "Period");
      var label = el("div", "mineland-timeline-label", "Now (all records)", div);
      function show(k) {
        M.timelineIndex = k;
        districts.resetStyle(); // the style function reads the period
        var past = k < n, end = past ? tl.periods[k] : null;
        districts.eachLayer(function (layer) {
          var name = layer.feature.properties.name;
          if (!past) {
            layer.setTooltipContent(originals[name][0]);
            layer.setPopupContent(originals[name][1]);
            return;
          }
          var vals = tl.values[name];
          var tip = el("div");
          el("strong", "", name, tip);
          el("div", "", "At " + end + ": " + fmtValue("contaminated_ha", vals[k][0]) + " contaminated", tip);
          layer.setTooltipContent(tip);
          layer.setPopupContent(periodTable(name, "At the end of the period to " + end, tl, vals[k]));
        });
        ui.panel.show(past ? end : null, past ? tl.totals[k] : null, tl);
        ui.legend.set(past ? tl.legendTitles[k] : null, past ? tl.steps : null);
        ui.dated.forEach(function (f) {
          f(end);
        });
        ui.accounting(past);
        label.textContent = past
          ? "End of " + end + ": the records known by then, as outlines (cleared, reduced, " +
            "cancelled and counts: dated records since " + tl.cumulativeSince.slice(0, 4) + ")"
          : "Now (all records): the accounting layers";
      }
      function stop() {
        if (timer) clearInterval(timer);
        timer = null;
        play.textContent = "▶";
      }
      L.DomEvent.on(play, "click", function () {
        if (timer) return stop();
        var k = parseInt(input.value, 10);
        if (k >= n) k = -1;
        play.textContent = "❚❚";
        timer = setInterval(function () {
          k += 1;
          input.value = k;
          show(k);
          if (k >= n) stop();
        }, 900);
      });
      L.DomEvent.on(input, "input change", function () {
        stop();
        show(parseInt(input.value, 10));
      });
      M.showPeriod = function (k) {
        input.value = k;
        show(k);
      };
    }).addTo(map);
  }

  function baseMapNotice(map) {
    var box;
    control("bottomright", function (div) {
      div.classList.add("mineland-basemap-notice");
      div.style.display = "none";
      box = div;
    }).addTo(map);
    return {
      show: function (name) {
        box.textContent =
          "The base map (" + name + ") could not be loaded: no internet? " +
          "Districts, hazards and records are all in this file and still shown.";
        box.style.display = "";
      },
      hide: function () {
        box.style.display = "none";
      },
    };
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
      m.mlValues = p.slice(2);
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
    var notice = baseMapNotice(map);
    cfg.baseLayers.forEach(function (b) {
      var layer = b.url ? L.tileLayer(b.url, { attribution: b.attribution, maxZoom: b.maxZoom }) : L.layerGroup();
      if (b.url) {
        // offline, or blocked: say so on the map rather than show a blank background
        layer.on("tileerror", function () {
          notice.show(b.name);
        });
        layer.on("tileload", notice.hide);
        layer.on("remove", notice.hide);
      }
      bases[b.name] = layer;
      if (b.selected) layer.addTo(map);
    });

    var districts = L.geoJSON(cfg.districts, {
      style: function (f) {
        var k = M.timelineIndex, tl = cfg.timeline;
        var fill = tl && k !== undefined && k < tl.periods.length ? tl.colors[f.properties.name][k] : f.properties.color;
        return { color: "#333", weight: 1, fillColor: fill, fillOpacity: cfg.districtOpacity };
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
      // above the district fill (in a pane of its own, which clicks pass through)
      var densityPane = map.createPane("minelandDensity");
      densityPane.style.zIndex = 450;
      densityPane.style.pointerEvents = "none";
      var image = L.imageOverlay(cfg.density.url, cfg.density.bounds, {
        opacity: cfg.densityOpacity,
        interactive: false,
        pane: "minelandDensity",
      });
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

    var small = map.getSize().x < 700; // a phone: controls start folded
    var dated = [];
    if (layers.raw) dated.push(datedFilter(layers.raw, function (l) { return l.feature.properties.v[2]; }));
    if (layers.status) dated.push(datedFilter(layers.status, function (l) { return l.feature.properties.v[3]; }));
    cfg.points.forEach(function (group) {
      var i = group.fields.indexOf("date");
      if (i >= 0) dated.push(datedFilter(layers[group.key], function (l) { return l.mlValues[i]; }));
    });
    addSearch(map, districts, byName, cfg);
    addFullscreen(map);
    addMeasure(map);
    addMousePosition(map);
    cfg.legend.collapsed = small;
    cfg.panel.collapsed = small;
    var legend = addLegend(map, cfg.legend, layers);
    addLayerList(map, bases, overlays);
    var panel = addPanel(map, cfg.panel);
    if (cfg.timeline) {
      var ui = { panel: panel, legend: legend, dated: dated, accounting: pastAccounting(map, cfg, layers) };
      addTimeline(map, districts, cfg.timeline, ui);
    }
    if (cfg.bounds) {
      // the districts framed beside the panel (top left) and the legend (bottom right)
      var pw = small ? 0 : map.getContainer().querySelector(".mineland-panel").offsetWidth;
      var lw = small ? 0 : map.getContainer().querySelector(".mineland-legend").offsetWidth;
      map.fitBounds(cfg.bounds, { animate: false, paddingTopLeft: [pw + 10, 10], paddingBottomRight: [lw / 2, 10] });
    }

    // popups open clear of the panel (top left) and the layer control (top right)
    map.on("popupopen", function (e) {
      var panelBox = map.getContainer().querySelector(".mineland-panel");
      var layersBox = map.getContainer().querySelector(".leaflet-control-layers");
      var left = panelBox && panelBox.offsetHeight > 60 ? panelBox.offsetWidth + 20 : 20;
      var right = layersBox ? layersBox.offsetWidth + 20 : 20;
      if (left + right > map.getSize().x * 0.8) left = right = 20; // a narrow screen
      e.popup.options.autoPanPaddingTopLeft = L.point(left, 20);
      e.popup.options.autoPanPaddingBottomRight = L.point(right, 20);
      if (e.popup._adjustPan) e.popup._adjustPan();
    });

    // a picture for slides (mineland map --png): the map, its panel and legend only
    if (window.location.hash === "#png") map.getContainer().classList.add("mineland-png");

    M.map = map;
    M.layers = layers;
    M.districtsByName = byName;
    M.searchKeys = cfg.searchKeys || {};
    M.searchFold = cfg.searchFold || {};
    M.ready = true;
    return layers;
  };
})();
