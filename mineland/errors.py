"""Exceptions raised by mineland.

Every exception derives from :class:`MinelandError`, and each subclass also inherits
the matching builtin so that callers can catch either.  Messages name the file, the
row or record_id, and the bad value.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from numbers import Real

__all__ = [
    "CRSError",
    "ClusterError",
    "DataError",
    "InputFileError",
    "MinelandError",
    "MissingExtraError",
    "OutputError",
    "SchemaError",
    "attempt",
    "positive_metres",
]


class MinelandError(Exception):
    """Root of every error mineland raises on purpose."""


class InputFileError(MinelandError, OSError):
    """An input file is missing, unreadable, empty, corrupt or not geodata."""


class SchemaError(MinelandError, ValueError):
    """Columns or values do not fit the data contract (missing field, bad type...)."""


class CRSError(MinelandError, ValueError):
    """A coordinate reference system is missing, unknown or unusable."""


class DataError(MinelandError, ValueError):
    """Input values that cannot be used at all (bad date, bad option value...)."""


class OutputError(MinelandError, OSError):
    """An output cannot be written (unknown format, would overwrite an input...)."""


class ClusterError(MinelandError, ConnectionError):
    """A dask cluster cannot be reached, has lost its workers, or cannot run a task."""


class MissingExtraError(MinelandError, ImportError):
    """An optional dependency is not installed; the message says how to install it."""


def attempt(what: str, fn: Callable, *args, failures: list[str], fallback=None, **kwargs):
    """Run a secondary step (a validation check, a map layer, a chart) so that its
    failure cannot take the primary result down.

    On any exception, ``"what: ErrorType: message"`` is appended to ``failures`` (the
    caller says it in one line where its user will see it) and ``fallback`` is
    returned; the traceback goes to the debug log.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # deliberately broad: see the docstring
        logging.getLogger("mineland").debug("%s failed", what, exc_info=True)
        failures.append(
            f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        )
        return fallback


def positive_metres(value: object, name: str) -> float:
    """``value`` as a number of metres above 0 (a Python or numpy number, as a notebook
    computes it), or a DataError naming ``name``: not a number, a bool, 0 or less,
    infinite or NaN (which would read every distance as too far, or none)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < math.inf:
        raise DataError(f"{name} must be a positive number of metres, got {value!r}")
    return float(value)
