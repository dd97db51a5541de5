"""Running the dask engine's tasks on a dask.distributed cluster, through faults.

Every task is recomputable: the record partitions are made by tasks from data the
scheduler holds in their definitions (nothing is scattered), so when a worker dies
the scheduler runs its tasks again on the workers that remain.  What cannot be
recovered is said in one line (:class:`~mineland.errors.ClusterError`):

- a scheduler that cannot be reached within ``connect_timeout`` seconds;
- a task that killed its worker more often than the scheduler allows (the usual
  cause: the worker ran out of memory), with the workers' memory limit;
- a cluster left without any worker for ``worker_timeout`` seconds;
- a scheduler that stops during the run.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable

from ..errors import ClusterError

__all__ = ["connect", "run_tasks"]

log = logging.getLogger(__name__)


def connect(scheduler: str, timeout: float):
    """A client of our own (the caller's default client is left alone), connected
    within ``timeout`` seconds, or a :class:`ClusterError`."""
    from distributed import Client  # the optional extra

    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the dask scheduler at {scheduler} within {timeout:g} s "
            f"({type(exc).__name__}); is it running, and is the address right?"
        ) from None


def run_tasks(
    client,
    futures: list,
    *,
    labels: list[str],
    progress: Callable[[str, int, int], None] | None = None,
    worker_timeout: float = 60.0,
) -> list:
    """The results of ``futures``, in order, with progress, the worker of each task
    logged, and the faults that cannot be recovered turned into one-line errors."""
    pending, done, without_workers = list(futures), 0, None
    memory = _memory_limits(client)  # while the workers are there to say
    index = {f.key: k for k, f in enumerate(futures)}
    last_look = time.monotonic()
    try:
        while pending:
            finished = [f for f in pending if f.done()]
            if not finished:
                time.sleep(0.05)
                if time.monotonic() - last_look > 1.0:  # the workers, once a second
                    without_workers = _watch_workers(client, without_workers, worker_timeout)
                    last_look = time.monotonic()
                continue
            pending = [f for f in pending if not f.done()]
            for future in finished:
                _check(client, future, memory)
                done += 1
                _log_worker(client, future, labels[index[future.key]])
                if progress:
                    progress("zone groups on the cluster", done, len(futures))
        return client.gather(futures)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures)
        raise


def _watch_workers(client, since: float | None, limit: float) -> float | None:
    """The time since which the cluster has had no worker; an error after ``limit``."""
    if client.scheduler_info().get("workers"):
        return None
    since = since or time.monotonic()
    if time.monotonic() - since > limit:
        raise ClusterError(
            f"the dask cluster has had no worker for {limit:g} s; start workers "
            "(dask worker SCHEDULER_ADDRESS) and run again"
        )
    return since


def _check(client, future, memory: str) -> None:
    if future.status == "cancelled":  # the scheduler went away, or forgot the task
        raise ClusterError(
            "the dask scheduler stopped or lost the run (the task was cancelled); "
            "start the scheduler again and run again: nothing was written"
        )
    if future.status != "error":
        return
    from distributed import KilledWorker

    exc = future.exception()
    if isinstance(exc, KilledWorker):
        raise ClusterError(
            f"a task killed its dask worker {_times_allowed(client)} times and was given up; "
            f"the usual cause is memory (each worker may use {memory}): "
            "give the workers more memory (dask worker --memory-limit) or cut the work "
            "smaller (more, smaller districts or partitions)"
        ) from None
    raise exc


def _times_allowed(client) -> str:
    """How many worker deaths make the scheduler give a task up (one more than it
    allows), as the scheduler is configured."""
    try:
        allowed = client.run_on_scheduler(_allowed_failures)
        return str(int(allowed) + 1)
    except Exception:  # an older or locked-down scheduler: say it without the number
        return "too many"


def _allowed_failures(dask_scheduler=None) -> int:
    return dask_scheduler.allowed_failures


def _memory_limits(client) -> str:
    limits = {w.get("memory_limit") for w in client.scheduler_info().get("workers", {}).values()}
    limits.discard(None)
    if not limits:
        return "an unknown amount"
    return " or ".join(f"{limit / 2**30:.1f} GiB" for limit in sorted(limits))


def _log_worker(client, future, label: str) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        where = client.who_has([future]).get(future.key) or ["a worker now gone"]
        log.info("%s ran on %s", label, ", ".join(where))
