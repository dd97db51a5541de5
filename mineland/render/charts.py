"""PNG charts of progress and remaining contamination (matplotlib, no display)."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .. import schema
from ..crs import equal_area_crs
from ..errors import DataError
from ..labels import (
    CLASS_STYLE,
    DISTRICT_OPACITY,
    METHOD_COLORS,
    METRIC_LABELS,
    Choropleth,
)

__all__ = ["figure_png", "plot_forecast", "plot_released", "plot_remaining"]

_HA = FuncFormatter(lambda v, _: f"{v:,.0f}")


class Chart(Figure):
    """A matplotlib Figure that shows itself as a PNG in Jupyter, without pyplot (no
    global backend is set and no figure is kept by a figure manager)."""

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def chart_label(text: object) -> str:
    """Text from data, safe for matplotlib: no control characters, and ``$`` shown as
    a dollar sign instead of starting mathtext (which fails on arbitrary text)."""
    return schema.replace_controls(str(text), by="").replace("$", r"\$")


def plot_released(table: pd.DataFrame, *, by: str = "district", top: int = 12) -> Figure:
    """Cumulative released hectares over time, one line per district, or stacked by
    method (``by="method"``).  ``table`` is the result of :func:`mineland.progress`.

    Examples
    --------
    >>> plot_released(release_progress(districts, surveys), by="method")  # doctest: +SKIP
    """
    fig = Chart(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    if by == "method":
        flows = table.groupby("period_end")[[f"{m}_ha" for m in METHOD_COLORS]].sum()
        cumulative = flows.cumsum()
        ax.stackplot(
            cumulative.index,
            *(cumulative[f"{m}_ha"] for m in METHOD_COLORS),
            labels=[m.capitalize() for m in METHOD_COLORS],
            colors=list(METHOD_COLORS.values()),
            alpha=0.85,
        )
        ax.set_title("Land released in the periods shown, by method (cumulative)")
    elif by == "district":
        wide = table.pivot_table(index="period_end", columns="district", values="released_ha")
        order = wide.iloc[-1].sort_values(ascending=False).index[:top]
        colours = len(matplotlib.rcParams["axes.prop_cycle"].by_key()["color"])
        for i, name in enumerate(order):  # past the colours, the lines are dashed
            style = {"ls": "--", "marker": "s"} if i >= colours else {"marker": "o"}
            ax.plot(wide.index, wide[name], ms=3, label=chart_label(name), **style)
        ax.set_title("Released land to date, per district")
    else:
        raise DataError(f"by must be 'district' or 'method', got {by!r}")
    ax.set_ylabel("hectares")
    ax.yaxis.set_major_formatter(_HA)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2 if by == "district" else 1, loc="upper left")
    return fig


def plot_remaining(summary: pd.DataFrame) -> Figure:
    """Remaining contamination per district: horizontal bars of CHA and SHA hectares.

    Examples
    --------
    >>> plot_remaining(summarize(districts, surveys))  # doctest: +SKIP
    """
    rows = summary[summary["district"] != schema.OUTSIDE].sort_values("contaminated_ha")
    fig = Chart(figsize=(9, max(3, 0.32 * len(rows) + 1)), layout="constrained")
    ax = fig.subplots()
    names = [chart_label(n) for n in rows["district"]]
    ax.barh(names, rows["cha_ha"], color="#FF0000", alpha=0.75, label="CHA")
    ax.barh(names, rows["sha_ha"], left=rows["cha_ha"], color="#F4A718", alpha=0.85, label="SHA")
    ax.set_xlabel("hectares")
    ax.xaxis.set_major_formatter(_HA)
    ax.set_title("Remaining contamination per district")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right")
    return fig


def plot_district_map(acc, *, metric: str = "contaminated_ha") -> Figure:
    """A static map for print: the districts in the HTML map's colours and breaks,
    named, with the remaining CHA and SHA drawn over them in the IMAS colours.
    Drawn without a base map (no internet).

    Examples
    --------
    >>> plot_district_map(account(districts, surveys))  # doctest: +SKIP
    """
    from matplotlib.patches import Patch

    inside = acc.summary[acc.summary["district"] != schema.OUTSIDE]
    crs = equal_area_crs(tuple(inside.total_bounds))
    districts = inside.to_crs(crs)
    classes = Choropleth.of(districts[metric].to_numpy(dtype=float), metric)
    fills = [classes.color(v) for v in districts[metric].to_numpy(dtype=float)]
    fig = Chart(figsize=(10, 6.5), layout="constrained")
    ax = fig.subplots()
    districts.plot(ax=ax, color=fills, edgecolor="#333333", linewidth=0.6, alpha=DISTRICT_OPACITY)
    minx, miny, maxx, maxy = districts.total_bounds
    tolerance = max(maxx - minx, maxy - miny) / 1500  # under a pixel of the picture
    for key in ("sha", "cha"):
        shapes = acc.class_geometries(key).to_crs(crs).simplify(tolerance)
        ax.add_artist(_compound_patch(shapes.to_numpy(), CLASS_STYLE[key][1]))  # no limits scan
    for name, point in zip(districts["district"], districts.representative_point(), strict=True):
        ax.annotate(
            chart_label(name),
            (point.x, point.y),
            ha="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    ax.set_axis_off()
    ax.set_aspect("equal")
    legend = [
        Patch(color=step["color"], alpha=DISTRICT_OPACITY, ec="#333333", label=step["label"])
        for step in classes.steps()
    ]
    legend += [Patch(color=CLASS_STYLE[k][1], label=CLASS_STYLE[k][0]) for k in ("cha", "sha")]
    ax.legend(
        handles=legend,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
        title=METRIC_LABELS.get(metric, metric),
    )
    ax.set_title("Districts by contaminated land, with the remaining hazards")
    return fig


def _compound_patch(geoms, color: str):
    """All the polygons as one matplotlib patch (one path, holes by winding): tens of
    thousands of hazards draw in a fraction of a second instead of one patch each."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    parts = shapely.get_parts(geoms[~shapely.is_empty(geoms)])
    parts = shapely.orient_polygons(parts[shapely.get_type_id(parts) == 3], exterior_cw=False)
    rings = shapely.get_rings(parts)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=np.uint8)
    if len(coords):
        starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
        codes[starts] = Path.MOVETO
        codes[np.r_[starts[1:] - 1, len(coords) - 1]] = Path.CLOSEPOLY
    return PathPatch(Path(coords, codes), facecolor=color, edgecolor="none")


def plot_forecast(forecast, *, district: str = "All districts") -> Figure:
    """Remaining hectares in the window, and the projection to completion: the
    central date, with the low–high range shaded.  ``forecast`` comes from
    :func:`mineland.forecast_completion`.

    Examples
    --------
    >>> plot_forecast(forecast_completion(districts, surveys))  # doctest: +SKIP
    """
    history = forecast.history
    if district == "All districts":
        history = history.groupby("period_end", as_index=False)["contaminated_ha"].sum()
    else:
        history = history[history["district"] == district]
    row = forecast.table.set_index("district").loc[district]
    fig = Chart(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(
        history["period_end"],
        history["contaminated_ha"],
        "o-",
        color="#C00000",
        label="contaminated (recorded)",
    )
    origin, remaining = forecast.origin, float(row["contaminated_ha"])
    dates = {k: row[k] for k in ("completion", "completion_low", "completion_high")}
    if all(d not in ("not at this pace", "clear") for d in dates.values()):
        low, mid, high = (
            pd.Timestamp(dates[k]) for k in ("completion_low", "completion", "completion_high")
        )
        ax.fill(
            [origin, low, high],
            [remaining, 0, 0],
            color="#C00000",
            alpha=0.15,
            label="range (10th–90th percentile)",
        )
        ax.plot([origin, mid], [remaining, 0], "--", color="#C00000", label="at the current pace")
        ax.set_title(f"{chart_label(district)}: clear by {mid.date()} at the current pace")
    else:
        ax.set_title(f"{chart_label(district)}: {dates['completion']}")
    ax.set_ylabel("hectares")
    ax.yaxis.set_major_formatter(_HA)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def figure_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """A figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
