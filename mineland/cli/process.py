"""How the ``mineland`` process collects its garbage and ends.

- Python's cycle collector looks at every container object every few hundred
  allocations, those of the imported modules included: 0.2 s of a 20k-hazard
  ``summarize`` and 0.7 s at 100k on the benchmark machine.
  :func:`fewer_collections` makes it look at far fewer.
- Python's own shutdown tears down every imported module (pandas, pyarrow, GDAL,
  PROJ) one by one: about 0.15 s of every run, after the output is written and
  closed.  :func:`end` skips that teardown once nothing is left to do: the exit
  handlers run and the streams are flushed first, and where a non-daemon thread is
  still alive the process ends the usual way, which waits for it.  The idle
  threads of the geometry kernel's pool are let go first (:func:`mineland.threads.close_pool`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading

from mineland.threads import close_pool

__all__ = ["end", "exit_status", "fewer_collections", "may_end_early"]

#: container allocations between two collections of the young objects (Python's
#: default: 700), then of the middle generation (every 20 of those) and of all (every
#: 10 of those)
THRESHOLDS = (50_000, 20, 10)


def fewer_collections() -> None:
    """Freeze the objects alive now (the imported modules: no collection looks at them
    again) and collect far less often (:data:`THRESHOLDS`).
    Cycles are still collected; the data (arrays, frames, geometries) makes few of
    them, so the peak memory stays the same.  For the process of one command only:
    the library leaves the collector alone."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` gives, printing a message ``code`` as it does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def may_end_early() -> bool:
    """Whether only daemon threads are left besides this one (nothing to wait for)."""
    main = threading.main_thread()
    return threading.current_thread() is main and all(
        t is main or t.daemon or not t.is_alive() for t in threading.enumerate()
    )


def end(code: object) -> None:
    """End the process with ``code`` (as ``sys.exit`` would), without the teardown."""
    status = exit_status(code)
    close_pool()  # its idle threads would keep the process waiting
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None or not may_end_early():
        sys.exit(status)
    run_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(status)
