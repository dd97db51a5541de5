"""Warnings recorded by the thread that raised them.

``warnings.catch_warnings`` swaps process-wide state on entry and puts back what it
found on exit, so two threads inside it at once (two files read side by side) mix
up their warnings: one file's warning is logged as the other's, and when the first
block entered is the first left, the second puts back the first's recorder for good,
and every later warning of the process is swallowed.  :func:`recorded_warnings`
enters one ``catch_warnings`` for all the threads inside it, and hands each warning
to the block of the thread that raised it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["recorded_warnings"]

_lock = threading.Lock()
_local = threading.local()
#: blocks open in any thread, the ``catch_warnings`` they share, and the function that
#: showed warnings when the first of them was entered
_open = {"blocks": 0, "outer": None, "show": warnings.showwarning}


@contextmanager
def recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning this thread raises inside the block, each time it is raised, in
    the list it yields (as ``catch_warnings(record=True)`` with ``"always"``).  Other
    threads' warnings are shown as they were before."""
    caught: list[warnings.WarningMessage] = []
    with _lock:
        if _open["blocks"] == 0:
            outer = warnings.catch_warnings()
            outer.__enter__()
            _open.update(outer=outer, show=warnings.showwarning)
            warnings.simplefilter("always")
            warnings.showwarning = _route
        _open["blocks"] += 1
    enclosing = getattr(_local, "caught", None)
    _local.caught = caught
    try:
        yield caught
    finally:
        _local.caught = enclosing
        with _lock:
            _open["blocks"] -= 1
            if _open["blocks"] == 0:
                _open["outer"].__exit__(None, None, None)
                _open["outer"] = None


def _route(message, category, filename, lineno, file=None, line=None) -> None:
    caught = getattr(_local, "caught", None)
    if caught is None:
        _open["show"](message, category, filename, lineno, file, line)
    else:
        caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
