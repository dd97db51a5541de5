"""Words and colours shared by every output: the map, charts, tables and workbooks.

One place for how a summary column is labelled and formatted and how an accounting
class is coloured, so that the terminal table, the workbook, the charts and the map
always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLASS_STYLE",
    "Choropleth",
    "DISTRICT_OPACITY",
    "COLUMN_LABELS",
    "heading",
    "ZERO_COLOR",
    "choropleth_colors",
    "class_breaks",
    "nice_number",
    "STATUS_STYLE",
    "METHOD_COLORS",
    "METRIC_LABELS",
    "SHORT_LABELS",
    "SUGGESTION",
    "UNMAPPED_COLOR",
    "number_format",
]

#: Accounting classes: label, fill colour, fill opacity.  CHA and SHA follow
#: IMAS TN 07.11/01; the released classes use colours that contrast with both.
CLASS_STYLE = {
    "cha": ("Remaining CHA", "#FF0000", 0.5),
    "sha": ("Remaining SHA", "#F4A718", 0.5),
    "cleared": ("Cleared", "#1A9850", 0.55),
    "reduced": ("Reduced (technical survey)", "#2C7BB6", 0.5),
    "cancelled": ("Cancelled (non-technical survey)", "#8073AC", 0.45),
}

#: Hazard status as the IMAS outline shows it: label, line colour, dash pattern
#: (None for a solid line).  Red for open, orange dashed for worked on, green for
#: closed; the keys are :data:`mineland.schema.STATUS_VALUES`.
STATUS_STYLE = {
    "open": ("Open", "#FF0000", None),
    "worked on": ("Worked on", "#F4A718", "6 4"),
    "closed": ("Closed", "#1A9850", None),
}

#: Unmapped evidence and candidate areas: a magenta that none of the IMAS hazard
#: colours (red, orange) nor the release colours (green, blue, purple) resembles.
UNMAPPED_COLOR = "#D6007E"

#: What every output says about the candidate areas.
SUGGESTION = (
    "Candidate areas are suggestions for non-technical survey, drawn from devices and "
    "incidents found away from every recorded hazard. They are not hazard records and "
    "not for clearance decisions: indicative only."
)

#: The colour of each release method, as on the map.
METHOD_COLORS = {m: CLASS_STYLE[m][1] for m in ("cleared", "reduced", "cancelled")}

#: Summary columns as a legend or chart says them, with their unit.
METRIC_LABELS = {
    "contaminated_ha": "Contaminated land (ha)",
    "sha_ha": "Remaining SHA (ha)",
    "cha_ha": "Remaining CHA (ha)",
    "released_ha": "Released land (ha)",
    "cleared_ha": "Cleared land (ha)",
    "reduced_ha": "Reduced land (ha)",
    "cancelled_ha": "Cancelled land (ha)",
    "recorded_ha": "Recorded land (ha)",
    "released_pct": "Released share of recorded land (%)",
    "hazard_records": "Hazard records",
    "devices": "Explosive items found (quantity)",
    "incidents": "Incidents",
    "killed": "People killed",
    "injured": "People injured",
    "area_ha": "District area (ha)",
}

#: Summary columns as a table header says them (the terminal table).
SHORT_LABELS = {
    "district": "district",
    "contaminated_ha": "contaminated ha",
    "sha_ha": "SHA ha",
    "cha_ha": "CHA ha",
    "released_ha": "released ha",
    "cleared_ha": "cleared ha",
    "reduced_ha": "reduced ha",
    "cancelled_ha": "cancelled ha",
    "released_pct": "released %",
    "hazard_records": "hazards",
    "devices": "devices",
    "incidents": "incidents",
    "killed": "killed",
    "injured": "injured",
}

_COUNTS = {"devices", "incidents", "killed", "injured", "hazard_records", "quantity"}


def number_format(column: object) -> str | None:
    """How a column's numbers are shown: one decimal for hectares and shares, thousands
    separators for counts (an Excel number format); None for other columns."""
    name = str(column)
    if name.endswith("_ha"):
        return "#,##0.0"
    if name.endswith("_pct"):
        return "0.0"
    if name in _COUNTS:
        return "#,##0"
    return None


#: District choropleths: neutral sequential ramps (light to dark, ColorBrewer Blues
#: and Greys), so that the districts never compete with the IMAS hazard colours (CHA
#: red, SHA orange) or the release colours drawn over them; and the colour of zero.
_RELEASE_METRICS = ("released_ha", "cleared_ha", "reduced_ha", "cancelled_ha", "released_pct")
_BLUES = ["#DEEBF7", "#9ECAE1", "#6BAED6", "#3182BD", "#08519C"]
_GREYS = ["#E0E0E0", "#BDBDBD", "#969696", "#636363", "#252525"]
ZERO_COLOR = "#FFFFFF"

#: How opaque the district fill is drawn (the map, its legend, the report's map and
#: the QGIS style).
DISTRICT_OPACITY = 0.55


#: Round numbers per decade, coarse to fine, for class breaks.
_NICE_STEPS = (
    (1.0, 2.0, 5.0, 10.0),
    (1.0, 2.0, 2.5, 5.0, 10.0),
    (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0),
)


def nice_number(value: float, steps: tuple[float, ...] = _NICE_STEPS[1]) -> float:
    """The smallest round number (by default 1, 2, 2.5 or 5 × 10^k) at or above
    ``value``."""
    if value <= 0:
        return 0.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in steps:
        if value <= step * power * (1 + 1e-12):
            return float(step * power)
    return float(10 * power)


def class_breaks(values: np.ndarray, n: int = 5) -> list[float]:
    """Class breaks for a choropleth: quantiles of the non-zero values, each rounded
    up to a round number, so that the legend reads "1,000 – 2,000" rather than
    "1,300 – 1,400".  The coarsest rounding that keeps four classes (or as many as
    the distinct values allow) is used; the last break holds the maximum."""
    positive = values[np.isfinite(values) & (values > 0)]
    if len(positive) == 0:
        return []
    qs = np.quantile(positive, np.linspace(0, 1, n + 1)[1:])
    want = min(4, n, len(np.unique(positive)))
    out: list[float] = []
    for steps in _NICE_STEPS:
        out = []
        for q in qs:
            nice = nice_number(float(q), steps)
            if not out or nice > out[-1]:
                out.append(nice)
        if len(out) >= want:
            break
    return out


def choropleth_colors(metric: str, n: int) -> list[str]:
    """The colours of ``n`` classes of a metric (greys for released land, else blues),
    as the map and the GeoPackage styles draw them."""
    palette = _GREYS if metric in _RELEASE_METRICS else _BLUES
    return palette[-n:] if n else []


#: Column headings as a reader sees them in reports and pages.
COLUMN_LABELS = {
    "district": "District",
    "area_ha": "District area (ha)",
    "sha_ha": "Remaining SHA (ha)",
    "cha_ha": "Remaining CHA (ha)",
    "contaminated_ha": "Contaminated (ha)",
    "cancelled_ha": "Cancelled (ha)",
    "reduced_ha": "Reduced (ha)",
    "cleared_ha": "Cleared (ha)",
    "released_ha": "Released (ha)",
    "recorded_ha": "Recorded (ha)",
    "released_pct": "Released (% of recorded)",
    "hazard_records": "Hazard records",
    "devices": "Explosive items found",
    "incidents": "Incidents",
    "killed": "Killed",
    "injured": "Injured",
    "period_end": "Period end",
    "year": "Year",
    "cancelled_km2": "Cancelled (km²)",
    "reduced_km2": "Reduced (km²)",
    "cleared_km2": "Cleared (km²)",
    "released_km2": "Released (km²)",
    "record_id": "Record id",
    "record_type": "Record type",
    "source_file": "File",
    "source_row": "Row",
    "area_ha_total": "Area (ha)",
}


def heading(column: object) -> str:
    """A column's heading for readers: ``sha_ha`` is "Remaining SHA (ha)", and any
    other ``snake_case_ha`` reads "Snake case (ha)"."""
    name = str(column)
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    for suffix, unit in (("_ha", " (ha)"), ("_km2", " (km²)"), ("_pct", " (%)"), ("_m", " (m)")):
        if name.endswith(suffix):
            name = name[: -len(suffix)] + unit
            break
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Choropleth:
    """The classes of a district choropleth, one rule for the map, its legend, the
    report's map and the QGIS style: round breaks (upper bounds), their colours, and
    zero in :data:`ZERO_COLOR`."""

    metric: str
    breaks: tuple[float, ...]
    colors: tuple[str, ...]

    @classmethod
    def of(cls, values: np.ndarray, metric: str) -> Choropleth:
        breaks = class_breaks(np.asarray(values, dtype=float))
        return cls(metric, tuple(breaks), tuple(choropleth_colors(metric, len(breaks))))

    def color(self, value: float) -> str:
        if not np.isfinite(value) or value <= 0 or not self.breaks:
            return ZERO_COLOR
        for upper, color in zip(self.breaks, self.colors, strict=True):
            if value <= upper:
                return color
        return self.colors[-1]

    def steps(self) -> list[dict]:
        """The legend: zero, then each class with its colour, bounds and label."""
        unit = (
            " ha" if self.metric.endswith("_ha") else " %" if self.metric.endswith("_pct") else ""
        )
        out = [{"color": ZERO_COLOR, "label": f"0{unit}", "lower": 0.0, "upper": 0.0}]
        lower = 0.0
        for upper, color in zip(self.breaks, self.colors, strict=True):
            low = "> 0" if lower == 0 else f"{lower:,.{0 if lower >= 10 else 1}f}"
            label = f"{low} – {upper:,.{0 if upper >= 10 else 1}f}{unit}"
            out.append({"color": color, "label": label, "lower": lower, "upper": float(upper)})
            lower = float(upper)
        return out
