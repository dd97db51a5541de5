"""The ``mineland`` console script as a process: it ends without Python's teardown,
so these check that nothing is lost on the way out (output, exit status, handlers)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pandas as pd
import pytest
from conftest import DISTRICTS, SURVEYS

import mineland
from mineland.cli.process import exit_status, may_end_early
from mineland.threads import THREADS, close_pool

SCRIPT = "import sys; from mineland.cli import run; sys.argv[0] = 'mineland'; {extra}run()"


def console(*args, extra: str = ""):
    code = SCRIPT.format(extra=extra)  # extra code runs just before the command
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True
    )


def test_summarize_writes_the_whole_table_and_exits_0(tmp_path):
    out = tmp_path / "s.csv"
    done = console("summarize", DISTRICTS, SURVEYS, "-o", out)
    assert done.returncode == 0, done.stderr
    want = mineland.summarize(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    got = pd.read_csv(out)
    assert list(got["district"]) == list(want["district"])
    assert got["contaminated_ha"].to_numpy() == pytest.approx(want["contaminated_ha"], rel=1e-9)
    assert f"wrote {len(want)} rows" in done.stderr + done.stdout


def test_the_printed_table_reaches_a_pipe_whole():
    done = console("summarize", DISTRICTS, SURVEYS)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "Total" in done.stdout and lines[-1].startswith("└")  # the table's last border


def test_exit_statuses_are_kept():
    assert console("summarize", "--no-such-option").returncode == 2
    assert console("validate", DISTRICTS, SURVEYS, "--strict").returncode == 1  # warnings
    assert console("--version").returncode == 0


def test_python_dash_m_runs_the_same_command(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mineland",
            "summarize",
            DISTRICTS,
            SURVEYS,
            "-o",
            tmp_path / "s.csv",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    direct = console("summarize", DISTRICTS, SURVEYS, "-o", tmp_path / "t.csv")
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "t.csv").read_bytes()
    assert direct.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "mineland", "nosuch"], capture_output=True)
    assert bad.returncode == 2


def test_exit_handlers_still_run():
    extra = "import atexit; atexit.register(lambda: print('handler ran', flush=True)); "
    done = console("--version", extra=extra)
    assert done.returncode == 0 and "handler ran" in done.stdout


def test_a_thread_still_working_is_waited_for():
    extra = (
        "import threading, time; "
        "threading.Thread(target=lambda: (time.sleep(0.5), print('thread done', flush=True)))"
        ".start(); "
    )
    done = console("--version", extra=extra)
    assert done.returncode == 0 and "thread done" in done.stdout


def test_may_end_early_only_without_live_threads():
    close_pool()  # as the process does first: the kernel's idle threads end
    assert may_end_early()
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert not may_end_early()
    finally:
        release.set()
        worker.join()
    assert may_end_early()


def test_exit_status_follows_sys_exit(capsys):
    assert exit_status(None) == 0 and exit_status(3) == 3
    assert exit_status("bad thing") == 1
    assert "bad thing" in capsys.readouterr().err


def test_cycles_are_still_collected_with_fewer_collections():
    code = (
        "import gc, weakref\n"
        "from mineland.cli.process import fewer_collections\n"
        "fewer_collections()\n"
        "freed = []\n"
        "class Node: pass\n"
        "for k in range(300_000):\n"
        "    a, b = Node(), Node()\n"
        "    a.other, b.other = b, a  # a cycle, garbage at once\n"
        "    if k % 1000 == 0:\n"
        "        weakref.finalize(a, freed.append, k)\n"
        "print(len(freed))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 200  # of 300 watched cycles, freed while the loop ran


def test_files_written_through_gdal_are_complete(tmp_path):
    """GeoPackage and GeoTIFF writers are closed before the process ends."""
    import pyogrio
    import rasterio

    want = mineland.summarize(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    gpkg, tif = tmp_path / "s.gpkg", tmp_path / "r.tif"
    assert console("summarize", DISTRICTS, SURVEYS, "-o", gpkg).returncode == 0
    got = pyogrio.read_dataframe(gpkg)
    assert got["contaminated_ha"].to_numpy() == pytest.approx(want["contaminated_ha"], rel=1e-9)
    done = console("raster", DISTRICTS, SURVEYS, "-o", tif, "--resolution", 200)
    assert done.returncode == 0, done.stderr
    with rasterio.open(tif) as raster:
        covered = raster.read(1, masked=True).sum()  # fractions of 4 ha cells
        cell_ha = abs(raster.transform.a * raster.transform.e) / 10_000
    assert covered * cell_ha == pytest.approx(want["contaminated_ha"].sum(), rel=1e-3)


def test_the_command_takes_ordinary_pages_for_its_arrays(tmp_path):
    """numpy asks for transparent huge pages by default; the command's process does
    not (where the kernel compacts memory for them, first touches stall)."""
    extra = (
        "import atexit, importlib, numpy; "
        "m = importlib.import_module("
        "'numpy._core.multiarray' if numpy.__version__ >= '2' else 'numpy.core.multiarray'); "
        "print('before', m._set_madvise_hugepage(True)); "
        "atexit.register(lambda: print('after', m._set_madvise_hugepage(True))); "
    )
    done = console("summarize", DISTRICTS, SURVEYS, "-o", tmp_path / "s.csv", extra=extra)
    assert done.returncode == 0, done.stderr
    assert "before True" in done.stdout and "after False" in done.stdout


ARENAS = """
import ctypes, sys, threading
from mineland.cli.process import fewer_malloc_arenas, malloc_arenas
if sys.argv[1] == "capped":
    fewer_malloc_arenas()
start, done = threading.Barrier(12), threading.Barrier(12)
def work():
    start.wait()  # all twelve allocate at once
    kept = [bytearray(1000) for _ in range(5000)]  # over 512 bytes: malloc, not pymalloc
    done.wait()
threads = [threading.Thread(target=work) for _ in range(12)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena k:" block an arena, on stderr
print(malloc_arenas())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_the_process_keeps_one_malloc_arena_a_kernel_thread_plus_two():
    def arenas(mode: str) -> tuple[int, int]:
        done = subprocess.run(
            [sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, check=True
        )
        return done.stderr.count("Arena "), int(done.stdout)

    capped, cap = arenas("capped")
    assert cap == THREADS + 2
    assert 1 <= capped <= cap
    assert arenas("glibc's own")[0] > cap  # twelve threads at once take more without it


# ------------------------------------------------ what the command keeps to its end

WATCH_ACCOUNTING = (
    "import atexit, weakref, mineland.cli.validate as v; refs = []; made = v.account_for_checks; "
    "v.account_for_checks = lambda *a: (acc := made(*a), refs.append(weakref.ref(acc)))[0]; "
    "atexit.register(lambda: print('kept', [r() is not None for r in refs], flush=True)); "
)


def test_validate_keeps_its_accounting_to_the_end_of_the_process(tmp_path):
    """Freeing the accounting's polygons one by one costs the command time for
    nothing: the process ends without it."""
    out = tmp_path / "f.csv"
    done = console("validate", DISTRICTS, SURVEYS, "-o", out, extra=WATCH_ACCOUNTING)
    assert done.returncode in (0, 1), done.stderr
    assert "kept [True]" in done.stdout  # one accounting, still alive at the exit handlers
    want = mineland.validate(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS))
    assert len(pd.read_csv(out)) == len(want.findings)


def test_the_command_run_in_a_process_of_its_own_frees_what_it_used(monkeypatch):
    """Tests and notebooks run the command in their own process: nothing is kept."""
    import gc
    import weakref

    from conftest import run

    import mineland.cli.validate as command

    refs, made = [], command.account_for_checks

    def watched(*args):
        acc = made(*args)
        refs.append(weakref.ref(acc))
        return acc

    monkeypatch.setattr(command, "account_for_checks", watched)
    for _ in range(2):
        assert run("validate", DISTRICTS, SURVEYS).exit_code in (0, 1)
    gc.collect()
    assert len(refs) == 2 and all(r() is None for r in refs)
