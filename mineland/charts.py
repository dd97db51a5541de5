"""Deprecated: the charts are in :mod:`mineland.render.charts` (and
``mineland.plot_released``, ``mineland.plot_remaining``).  This alias goes in 0.3."""

from __future__ import annotations

import warnings

from .render.charts import Chart, chart_label, figure_png, plot_released, plot_remaining

__all__ = ["Chart", "chart_label", "figure_png", "plot_released", "plot_remaining"]

warnings.warn(
    "mineland.charts is deprecated; use mineland.render.charts", DeprecationWarning, stacklevel=2
)
