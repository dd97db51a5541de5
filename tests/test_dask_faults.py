"""The dask engine through faults, on real local clusters of worker processes: a worker
killed at two moments, a worker that dies on every task, a cluster left without
workers, and a scheduler that cannot be reached."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import threading
import time

import dask
import numpy as np
import pytest
import shapely
from conftest import DISTRICTS, SURVEYS, run

import mineland
from mineland.accounting import CLASSES
from mineland.errors import ClusterError

distributed = pytest.importorskip("distributed")

COLS = list(CLASSES.values())


def cluster(n_workers: int = 2, **config):
    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )


def signal_on_start(client, path, prefix: str, action: str) -> None:
    """A worker plugin: when a task whose key holds ``prefix`` starts, write the
    worker's process id to ``path``, then sleep (to be killed) or exit (as a worker
    that runs out of memory does).  (The nannies live in this test's process.)"""
    from distributed.diagnostics.plugin import WorkerPlugin

    class Signal(WorkerPlugin):  # defined here, so it is sent to the workers by value
        name = "mineland-test-signal"

        def transition(self, key, start, finish, **kwargs):
            if finish == "executing" and prefix in str(key):
                with open(path, "a") as out:
                    out.write(f"{os.getpid()} {key}\n")
                if action == "sleep":
                    time.sleep(1.0)
                else:
                    os._exit(1)

    client.register_plugin(Signal())


def first_signal(path, timeout: float = 60.0) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().split(" ", 1)[0])
        time.sleep(0.05)
    raise AssertionError("no task started on the cluster")


def in_thread(fn):
    box: dict = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


@pytest.mark.parametrize("source", ["gpkg", "geoparquet"])
@pytest.mark.parametrize("moment", ["mineland-partition", "mineland-group"])
def test_a_worker_killed_mid_run_loses_nothing(demo, tmp_path, moment, source):
    if source == "geoparquet":  # the workers read their own row groups
        path = mineland.io.write_geoparquet(demo[1].records, tmp_path / "s.parquet")
        demo = (demo[0], mineland.read_surveys(path))
    local = mineland.summarize(*demo)
    path = tmp_path / "started.txt"
    with cluster() as c, distributed.Client(c, set_as_default=False) as client:
        signal_on_start(client, path, moment, "sleep")
        thread, box = in_thread(
            lambda: mineland.summarize(*demo, engine="dask", scheduler=c.scheduler_address)
        )
        pid = first_signal(path)
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)  # while its task runs
        thread.join(timeout=300)
        assert not thread.is_alive() and "error" not in box, box.get("error")
        remote = box["result"]
        started = path.read_text().splitlines()
    x, y = local[COLS].to_numpy(float), remote[COLS].to_numpy(float)
    assert np.all(np.abs(x - y) <= 1e-9 * np.maximum(np.abs(x), 1.0))
    assert list(local["district"]) == list(remote["district"])
    assert any(not line.startswith(f"{pid} ") for line in started)  # ran again elsewhere


def test_a_task_that_keeps_killing_workers_is_one_line_naming_memory(demo, tmp_path):
    path = tmp_path / "started.txt"
    with (
        cluster(**{"distributed.scheduler.allowed-failures": 1}) as c,
        distributed.Client(c, set_as_default=False) as client,
    ):
        signal_on_start(client, path, "mineland-group", "exit")
        result = run(
            "summarize", DISTRICTS, SURVEYS, "--engine", "dask", "--scheduler", c.scheduler_address
        )
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("mineland: error: a task killed its dask worker 2 times")
    assert "GiB" in line and "--memory-limit" in line
    assert "Traceback" not in result.output


def test_a_cluster_without_workers_stops_with_a_message(tmp_path):
    from mineland.engines.dask_engine import zone_class_areas

    geoms = np.array([shapely.box(i * 100, 0, i * 100 + 150, 100) for i in range(40)])
    rtype = np.array(["SHA"] * 40, dtype=object)
    zones = np.array([shapely.box(0, -10, 2000, 110), shapely.box(2000, -10, 4200, 110)])
    path = tmp_path / "started.txt"
    with cluster(n_workers=1) as c, distributed.Client(c, set_as_default=False) as client:
        signal_on_start(client, path, "mineland-group", "sleep")
        thread, box = in_thread(
            lambda: zone_class_areas(geoms, rtype, zones, client=client, worker_timeout=3)
        )
        pid = first_signal(path)
        assert pid != os.getpid()
        c.scale(0)  # the cluster retires its only worker, and starts none again
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=120)
    assert not thread.is_alive()
    assert isinstance(box.get("error"), ClusterError), box
    assert "no worker for 3 s" in str(box["error"])


def test_an_unreachable_scheduler_is_one_line_exit_2():
    start = time.monotonic()
    result = run(
        "summarize",
        DISTRICTS,
        SURVEYS,
        "--engine",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--connect-timeout",
        "2",
    )
    assert time.monotonic() - start < 30
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "mineland: error: cannot reach the dask scheduler at tcp://127.0.0.1:9 within 2 s "
        "(OSError); is it running, and is the address right?"
    )
    assert "Traceback" not in result.output
    assert multiprocessing.active_children() == []  # no worker process left behind


def test_verbose_says_which_worker_ran_each_zone_group(tmp_path):
    with cluster() as c:
        result = run(
            "summarize",
            DISTRICTS,
            SURVEYS,
            "--engine",
            "dask",
            "--scheduler",
            c.scheduler_address,
            "-v",
            "-o",
            tmp_path / "s.csv",
        )
        workers = set(c.scheduler_info["workers"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())  # log lines may wrap in the terminal
    ran = re.findall(r"zone group (\d+) of (\d+) \(\d+ zones\) ran on (tcp://[\d.:]+)", text)
    assert ran and len({k for k, _, _ in ran}) == int(ran[0][1])  # every group, once
    assert {w for _, _, w in ran} <= workers


def test_progress_follows_the_tasks_on_the_cluster(demo):
    seen: list[tuple[str, int, int]] = []
    with cluster() as c:
        mineland.summarize(
            *demo,
            engine="dask",
            scheduler=c.scheduler_address,
            progress=lambda label, done, total: seen.append((label, done, total)),
        )
    groups = [(d, t) for label, d, t in seen if label == "zone groups on the cluster"]
    assert groups and groups[-1][0] == groups[-1][1]  # every group, counted once
    assert [d for d, _ in groups] == list(range(1, groups[-1][1] + 1))
