"""Words and colours shared by every output: the map, charts, tables and workbooks.

One place for how a summary column is labelled and formatted and how an accounting
class is coloured, so that the terminal table, the workbook, the charts and the map
always agree.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CLASS_STYLE",
    "ZERO_COLOR",
    "choropleth_colors",
    "class_breaks",
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
    "devices": "Devices found",
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


#: District choropleths: sequential ramps (light to dark) and the colour of zero.
_RELEASE_METRICS = ("released_ha", "cleared_ha", "reduced_ha", "cancelled_ha", "released_pct")
_REDS = ["#FFF5B8", "#FECC5C", "#FD8D3C", "#F03B20", "#BD0026"]
_GREENS = ["#EDF8E9", "#BAE4B3", "#74C476", "#31A354", "#006D2C"]
ZERO_COLOR = "#F2F2F2"


def class_breaks(values: np.ndarray, n: int = 5) -> list[float]:
    """Class breaks for a choropleth: quantiles of the non-zero values, rounded."""
    positive = values[np.isfinite(values) & (values > 0)]
    if len(positive) == 0:
        return []
    qs = np.quantile(positive, np.linspace(0, 1, n + 1)[1:])
    out: list[float] = []
    for q in qs:
        nice = float(f"{q:.2g}") if q >= 1 else round(float(q), 2)
        nice = max(nice, float(q)) if q == qs[-1] else nice
        if not out or nice > out[-1]:
            out.append(nice)
    out[-1] = max(out[-1], float(positive.max()))
    return out


def choropleth_colors(metric: str, n: int) -> list[str]:
    """The colours of ``n`` classes of a metric (greens for released land, else reds),
    as the map and the GeoPackage styles draw them."""
    palette = _GREENS if metric in _RELEASE_METRICS else _REDS
    return palette[-n:] if n else []
