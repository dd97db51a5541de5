"""How the ``mineland`` process takes its memory, collects its garbage and ends.

- glibc's malloc arenas are capped at one for each of the geometry kernel's threads
  plus two (:func:`malloc_arenas`), and numpy's large arrays take ordinary pages,
  not transparent huge pages (:func:`fewer_malloc_arenas`,
  :func:`small_pages_for_arrays`).
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
  :func:`mineland.cli.main.run` calls it while a command's ``sys.exit`` is being
  handled: the command's frames, held by that exception, are then never freed one
  object at a time (``validate`` holds its accounting there: freeing its class
  polygons took 0.45 s at 100k hazards, for nothing).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import os
import sys
import threading

from mineland.threads import THREADS, close_pool

__all__ = [
    "end",
    "exit_status",
    "fewer_collections",
    "fewer_malloc_arenas",
    "malloc_arenas",
    "may_end_early",
    "small_pages_for_arrays",
]

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


def malloc_arenas() -> int:
    """The glibc malloc arenas the process keeps: one for each of the geometry
    kernel's threads, one for the main thread and one the other threads share."""
    return THREADS + 2


def fewer_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at :func:`malloc_arenas` (glibc's own cap is eight a
    core).  GEOS allocates in the kernel's threads; with an arena per thread, memory
    one thread frees is not reused by another, and the peak grows (1.34 GB against
    1.13 GB for 100k hazards).  With fewer arenas than threads allocating side by
    side, each malloc and free waits for an arena's lock: two arenas for the two
    kernel threads and the main thread made a 100k-hazard ``summarize`` 7% slower
    (7.08 s against 6.60 s, medians of 10) for 26 MB less (731 MB against 757 MB).
    Does nothing where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, malloc_arenas())  # M_ARENA_MAX


def small_pages_for_arrays() -> None:
    """Let numpy's large arrays take ordinary pages, not transparent huge pages.
    numpy asks Linux for huge pages on every array of 4 MB or more; where the kernel
    compacts memory to find one when such an array is first touched (``defrag`` set
    to ``madvise``, Debian's default), the thread that touches it waits.  ``summarize``
    at 100k hazards spent 0.85–1.41 s in the kernel that way, against 0.48–0.65 s with
    ordinary pages (7–12% of the run, and most of its spread from run to run).
    For this process only; where numpy has no such switch, nothing changes."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        with contextlib.suppress(ImportError, AttributeError):
            importlib.import_module(name)._set_madvise_hugepage(False)
            return
