"""The ``mineland`` command: a thin layer over the library.

One module per command (``summarize``, ``map``, ``raster``, ``impact``, ``validate``,
``progress``, ``report``, ``convert``); :mod:`.options` holds what the reading commands
share and :mod:`.console` what they show.
"""

from __future__ import annotations

from .main import main, run

__all__ = ["main", "run"]
