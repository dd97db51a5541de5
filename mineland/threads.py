"""The threads that vectorised GEOS calls run in (GEOS releases the GIL).

One pool serves every call, started on first use: starting threads for each call
cost about 5 ms a thread while other threads held the GIL.  A call made from one of
the pool's own threads runs in that thread, so no task waits on the pool it runs in.

The work waiting for the pool is taken most urgent first, then in the order it came:
work handed over inside :func:`urgent` goes before the rest.  Several steps that hand
work to the pool at once (the class arithmetic's unions and differences) finish
soonest when the one the others wait for is not queued behind them.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

__all__ = [
    "CHUNK",
    "THREADS",
    "chunk_spans",
    "close_pool",
    "map_chunks",
    "map_pairs",
    "threaded",
    "urgent",
]

#: threads in the pool: the cores, up to four
THREADS = max(1, min(4, os.cpu_count() or 1))
#: geometries handed to a thread at a time
CHUNK = 2048
#: up to this many items a call runs in one thread: handing them over costs more
MIN_SPLIT = 256
_NAME = "mineland-geometry"
#: urgency of the work handed over outside :func:`urgent` (lower goes first)
_USUAL, _URGENT = 1, 0
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
#: the work waiting for the pool: (urgency, arrival, fn, item, future), a heap
_waiting: list = []
_arrival = itertools.count()
_local = threading.local()


def threaded(fn: Callable, items: Sequence) -> list:
    """``[fn(x) for x in items]``, on the pool's threads (see the module doc)."""
    global _pool
    if THREADS == 1 or len(items) < 2 or threading.current_thread().name.startswith(_NAME):
        return [fn(x) for x in items]
    level = getattr(_local, "urgency", _USUAL)
    futures = [Future() for _ in items]
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix=_NAME)
        pool = _pool
        for item, future in zip(items, futures, strict=True):
            heapq.heappush(_waiting, (level, next(_arrival), fn, item, future))
    for _ in futures:  # each task the pool runs takes the most urgent work waiting
        pool.submit(_run_next)
    try:
        return [f.result() for f in futures]
    except BaseException:  # what has not started is not started
        for f in futures:
            f.cancel()
        raise


def _run_next() -> None:
    with _lock:
        *_, fn, item, future = heapq.heappop(_waiting)
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(fn(item))
    except BaseException as exc:  # handed to the caller, who raises it
        future.set_exception(exc)


@contextlib.contextmanager
def urgent(on: bool = True) -> Iterator[None]:
    """The work this thread hands to the pool inside the block goes before any work
    handed over outside such a block that is still waiting (with ``on`` False, the
    block changes nothing)."""
    before = getattr(_local, "urgency", _USUAL)
    _local.urgency = _URGENT if on else before
    try:
        yield
    finally:
        _local.urgency = before


def map_chunks(fn: Callable[[np.ndarray], np.ndarray], geoms: np.ndarray, axis: int = 0):
    """Apply a vectorised ``fn`` to chunks of ``geoms`` in threads; concatenate results."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    n_chunks = min(THREADS, max(1, len(geoms) // CHUNK))
    if n_chunks == 1:
        return fn(geoms)
    return np.concatenate(threaded(fn, np.array_split(geoms, n_chunks)), axis=axis)


def chunk_spans(n: int) -> list[tuple[int, int]]:
    """The (start, end) of the chunks that ``n`` items are handed to the threads in:
    at most :data:`CHUNK` items each, of equal sizes, as many as a multiple of
    :data:`THREADS` (with 3 chunks for 2 threads the last would run alone, as long as
    the first two, on one core); one chunk up to :data:`MIN_SPLIT` items."""
    if n <= MIN_SPLIT:
        return [(0, n)]
    k = THREADS * -(-n // (THREADS * CHUNK))
    bounds = [n * i // k for i in range(k + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def map_pairs(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray):
    """Apply a vectorised ``fn(a, b)`` to aligned chunks of ``a`` and ``b`` in threads;
    concatenate the results."""
    spans = chunk_spans(len(a))
    if len(spans) == 1:
        return fn(a, b)
    return np.concatenate(threaded(lambda s: fn(a[s[0] : s[1]], b[s[0] : s[1]]), spans))


def close_pool() -> None:
    """Let the pool's threads end (idle, they would keep a process from ending); the
    next call that needs them starts them again."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown()


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool, _lock, _waiting
    _pool, _lock, _waiting = None, threading.Lock(), []


os.register_at_fork(after_in_child=_forget_pool)
