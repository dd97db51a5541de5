"""The record of the overlay operations GEOS refused, and how each was retried."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = ["OverlayLog"]

log = logging.getLogger(__name__)


@dataclass
class OverlayLog:
    """Collects the overlay operations that GEOS refused and how they were retried:
    ``grid_size`` 0 on the inputs made valid (the same shapes: a line at INFO), a
    positive one on a snapped grid, None failed even so (both warned of)."""

    events: list[dict] = field(default_factory=list)

    def add(self, operation: str, detail: str, grid_size: float | None, error: str) -> None:
        self.events.append(
            {"operation": operation, "detail": detail, "grid_size": grid_size, "error": error}
        )
        what = (operation, detail, error)
        if grid_size is None:
            log.error("%s (%s) failed even on a snapped grid: %s", *what)
        elif grid_size == 0:
            log.info("%s (%s): GEOS refused the inputs (%s); done on them made valid", *what)
        else:
            log.warning("%s (%s) raised %s; retried with grid_size=%g m", *what, grid_size)

    def __len__(self) -> int:
        return len(self.events)

    @property
    def snapped(self) -> int:
        """The operations retried on a snapped grid or failed."""
        return sum(1 for e in self.events if e["grid_size"] != 0)
