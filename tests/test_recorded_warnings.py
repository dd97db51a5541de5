"""Warnings recorded per thread: files read side by side keep their own warnings."""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings

import pytest

import mineland
from mineland.recorded_warnings import recorded_warnings


def _state():
    return warnings.showwarning, list(warnings.filters)


def _interleaved(first_out_first: bool) -> tuple[list, list]:
    """Two threads in :func:`recorded_warnings` at once, each warning inside; the block
    entered first is left first (``first_out_first``) or last."""
    a_in, b_in, a_warned, b_out = (threading.Event() for _ in range(4))
    got: dict[str, list] = {}

    def a():
        with recorded_warnings() as caught:
            a_in.set()
            b_in.wait(10)
            warnings.warn("from a", RuntimeWarning, stacklevel=1)
            a_warned.set()
            if not first_out_first:
                b_out.wait(10)
        got["a"] = [str(w.message) for w in caught]

    def b():
        a_in.wait(10)
        with recorded_warnings() as caught:
            b_in.set()
            a_warned.wait(10)
            if first_out_first:
                while "a" not in got:  # a leaves first
                    time.sleep(0.01)
            warnings.warn("from b", RuntimeWarning, stacklevel=1)
            warnings.warn("from b", RuntimeWarning, stacklevel=1)  # each time, as "always"
        got["b"] = [str(w.message) for w in caught]
        b_out.set()

    threads = [threading.Thread(target=f) for f in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return got["a"], got["b"]


@pytest.mark.parametrize("first_out_first", [True, False])
def test_two_threads_each_record_their_own_warnings_and_the_state_is_put_back(first_out_first):
    before = _state()
    a, b = _interleaved(first_out_first)
    assert a == ["from a"]
    assert b == ["from b", "from b"]
    assert _state() == before
    with pytest.warns(UserWarning, match="after reading"):  # shown again, not swallowed
        warnings.warn("after reading", UserWarning, stacklevel=1)


def test_a_thread_outside_every_block_is_shown_its_warnings_as_before():
    inside, done = threading.Event(), threading.Event()
    seen: list = []

    def recorder():
        with recorded_warnings() as caught:
            inside.set()
            done.wait(10)
        seen.extend(caught)

    t = threading.Thread(target=recorder)
    t.start()
    inside.wait(10)
    try:
        with pytest.warns(RuntimeWarning, match="not recorded"):
            warnings.warn("not recorded", RuntimeWarning, stacklevel=1)
    finally:
        done.set()
        t.join(10)
    assert seen == []


def test_nested_blocks_in_one_thread_record_apart():
    with recorded_warnings() as outer:
        warnings.warn("outer 1", RuntimeWarning, stacklevel=1)
        with recorded_warnings() as inner:
            warnings.warn("inner", RuntimeWarning, stacklevel=1)
        warnings.warn("outer 2", RuntimeWarning, stacklevel=1)
    assert [str(w.message) for w in outer] == ["outer 1", "outer 2"]
    assert [str(w.message) for w in inner] == ["inner"]


def _collection(n: int, closed: bool, prefix: str) -> dict:
    def ring(i):
        x, y = 47 + (i % 100) * 0.01, 40 + (i // 100) * 0.01
        pts = [[x, y], [x + 0.005, y], [x + 0.005, y + 0.005], [x, y + 0.005]]
        return pts + [pts[0]] if closed else pts

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"record_id": f"{prefix}{i}", "record_type": "SHA"},
                "geometry": {"type": "Polygon", "coordinates": [ring(i)]},
            }
            for i in range(n)
        ],
    }


@pytest.mark.parametrize("unclosed_first", [True, False])
def test_a_gdal_warning_is_logged_on_the_file_that_raised_it(
    tmp_path, caplog, capfd, unclosed_first
):
    """GDAL closes the open rings of one file and says so, in the log, not on stderr
    past it (GDAL's own handler, in a reading thread); the file read beside it
    (larger, so that the reads overlap) is not named, and the warning filters are as
    they were."""
    unclosed, clean = tmp_path / "unclosed.geojson", tmp_path / "clean.geojson"
    unclosed.write_text(json.dumps(_collection(20, closed=False, prefix="u")), encoding="utf-8")
    clean.write_text(json.dumps(_collection(5000, closed=True, prefix="c")), encoding="utf-8")
    before = _state()
    paths = (unclosed, clean) if unclosed_first else (clean, unclosed)
    with caplog.at_level(logging.WARNING, logger="mineland"):
        data = mineland.read_surveys(*paths)
    assert len(data.records) == 5020
    said = [r.getMessage() for r in caplog.records if "not closed" in r.getMessage()]
    assert said and all(m.startswith(str(unclosed)) for m in said)
    assert "Non closed ring" not in capfd.readouterr().err
    assert _state() == before
