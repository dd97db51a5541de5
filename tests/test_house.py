"""The layout's promises: one rule per place, no global state, one accounting per date,
names that say what they are, and a README that matches the code."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import DISTRICTS, ROOT, SURVEYS, frame, run, sq

import mineland
from mineland import accounting
from mineland.io._gdal import _GDAL_OFFLINE, offline_gdal

# --------------------------------------------------------------------------- one rule


def test_a_geopackage_layer_without_ids_is_a_finding_per_layer(tmp_path, two_districts):
    path = tmp_path / "survey.gpkg"
    hazards = frame([{"record_type": "SHA", "geometry": sq(1000, 1000, 2000)}] * 2)
    releases = frame([{"record_type": "cleared", "geometry": sq(1500, 1500, 500)}])
    hazards.to_file(path, layer="hazards", engine="pyogrio")
    releases.to_file(path, layer="releases", engine="pyogrio")
    data = mineland.read_surveys(path)
    ids = set(data.records["record_id"])
    assert ids == {"survey.gpkg:hazards#1", "survey.gpkg:hazards#2", "survey.gpkg:releases#1"}
    report = mineland.validate(two_districts, data)
    missing = report.findings[report.findings["check"] == "missing_record_id"]
    assert len(missing) == 2  # one per layer, each naming its count
    assert sorted(missing["message"].str.extract(r"^(\d+)")[0].astype(int)) == [1, 2]


def test_a_file_with_its_own_ids_gets_no_missing_id_finding(demo):
    report = mineland.validate(*demo)
    assert "missing_record_id" not in set(report.findings["check"])


# --------------------------------------------------------------------------- global state


def test_importing_mineland_changes_no_global_state():
    code = f"""
import json, os, sys
import pyogrio
keys = {list(_GDAL_OFFLINE)}
before = (dict(os.environ), {{k: pyogrio.get_gdal_config_option(k) for k in keys}})
import mineland, mineland.io, mineland.render.charts, mineland.mapping, mineland.cli
mineland.read_districts({str(DISTRICTS)!r})
mineland.read_surveys({str(SURVEYS)!r})
after = (dict(os.environ), {{k: pyogrio.get_gdal_config_option(k) for k in keys}})
print(json.dumps({{
    "environ": before[0] == after[0],
    "gdal": before[1] == after[1],
    "pyplot": "matplotlib.pyplot" in sys.modules,
}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state == {"environ": True, "gdal": True, "pyplot": False}


def test_gdal_settings_are_scoped_even_when_nested_or_failing():
    key = "LIBKML_RESOLVE_STYLE"
    pyogrio.set_gdal_config_options({key: "YES"})
    try:
        scope = offline_gdal()
        with pytest.raises(RuntimeError), scope:
            assert pyogrio.get_gdal_config_option(key) == "NO"
            with scope:  # the same scope entered again (a recursive reader)
                assert pyogrio.get_gdal_config_option(key) == "NO"
            raise RuntimeError("a reader failed")
        assert pyogrio.get_gdal_config_option(key) == "YES"
    finally:
        pyogrio.set_gdal_config_options({key: None})


# --------------------------------------------------------------------------- one accounting


@pytest.fixture
def counted(monkeypatch):
    """Every as-of date the accounting is worked out for, in order."""
    calls: list = []
    real = accounting.account

    def account(districts, surveys, /, **kw):
        calls.append(kw.get("as_of"))
        return real(districts, surveys, **kw)

    monkeypatch.setattr(accounting, "account", account)
    return calls


@pytest.mark.parametrize("as_of", [None, "2024-12-31"])
def test_a_report_accounts_once_per_distinct_date(demo, counted, as_of):
    from mineland.render.report import build_report

    report = build_report(*demo, as_of=as_of)
    assert len(counted) == len(set(counted)), counted  # no date twice
    assert None in counted  # all records, for validation
    if as_of:
        assert pd.Timestamp(as_of) in counted
    # the progress table's period ends are rolled forward, not accounted one by one
    ends = set(pd.to_datetime(report.progress["period_end"]))
    assert len(ends) > 2 and not ends <= set(counted)


def test_the_cache_gives_what_account_gives(demo):
    cache = mineland.AccountingCache(*demo)
    first = cache.at("2023-06-30")
    assert cache.at(pd.Timestamp("2023-06-30")) is first  # the same date: no new work
    direct = mineland.account(*demo, as_of="2023-06-30").summary
    cols = ["contaminated_ha", "released_ha", "devices", "hazard_records"]
    np.testing.assert_allclose(
        first.summary[cols].to_numpy(float), direct[cols].to_numpy(float), rtol=1e-9
    )


def test_validation_reuses_the_cached_accounting(demo, counted):
    cache = mineland.AccountingCache(*demo)
    cache.at(None)
    n = len(counted)
    mineland.validate(*demo, accounting=cache)
    assert len(counted) == n


# --------------------------------------------------------------------------- names


def test_no_public_function_hides_a_submodule():
    functions = [n for n in mineland.__all__ if callable(getattr(mineland, n))]
    hidden = [n for n in functions if importlib.util.find_spec(f"mineland.{n}") is not None]
    assert hidden == []
    for name in mineland._SUBMODULES:
        assert inspect.ismodule(getattr(mineland, name)), name


def test_deprecated_names_warn_and_still_work(demo):
    districts, surveys = demo
    with pytest.warns(DeprecationWarning, match="release_progress"):
        old = mineland.progress(districts, surveys, freq="year")
    pd.testing.assert_frame_equal(old, mineland.release_progress(districts, surveys))
    with pytest.warns(DeprecationWarning, match="describe"):
        assert surveys.account() == surveys.describe()
    sys.modules.pop("mineland.charts", None)
    with pytest.warns(DeprecationWarning, match="render.charts"):
        charts = importlib.import_module("mineland.charts")
    assert charts.plot_released is mineland.plot_released


def test_old_write_report_still_writes_findings(demo, tmp_path):
    result = mineland.validate(*demo)
    with pytest.warns(DeprecationWarning, match="write_findings"):
        path = mineland.io.write_report(result, tmp_path / "f.csv")
    assert len(pd.read_csv(path)) == len(result.findings)


def test_engines_share_one_interface():
    from mineland.engines import get_engine

    assert get_engine("local").name == "local"
    with pytest.raises(mineland.DataError, match="local, dask"):
        get_engine("spark")


# --------------------------------------------------------------------------- words


def test_library_errors_speak_of_parameters_and_the_cli_of_flags(tmp_path):
    path = tmp_path / "nocrs.csv"
    path.write_text('record_id,record_type,wkt\nA,SHA,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n')
    with pytest.raises(mineland.CRSError) as caught:
        mineland.read_surveys(path)
    assert "crs=" in str(caught.value) and "--crs" not in str(caught.value)
    result = run("summarize", DISTRICTS, path)
    assert result.exit_code == 2 and "give one with --crs" in result.stderr


def test_validate_refuses_as_of_and_progress_takes_it_as_the_end(tmp_path):
    result = run("validate", DISTRICTS, SURVEYS, "--as-of", "2024-12-31")
    assert result.exit_code == 2 and "--as-of does not apply" in result.stderr
    by_as_of, by_end = tmp_path / "a.csv", tmp_path / "e.csv"
    assert (
        run("progress", DISTRICTS, SURVEYS, "--as-of", "2023-12-31", "-o", by_as_of).exit_code == 0
    )
    assert run("progress", DISTRICTS, SURVEYS, "--end", "2023-12-31", "-o", by_end).exit_code == 0
    a, e = pd.read_csv(by_as_of), pd.read_csv(by_end)
    assert a["period_end"].max() == "2023-12-31"
    pd.testing.assert_frame_equal(a, e)


# --------------------------------------------------------------------------- the README


def _api_rows() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([\w.]+)\((.*?)\)` \|", section, flags=re.M)


def _documented(params: str) -> list[tuple[str, str | None]]:
    out = []
    for part in re.split(r",\s*(?![^()]*\))", params):
        part = part.strip()
        if part in ("", "/", "*"):
            continue
        name, _, default = part.partition("=")
        out.append((name.lstrip("*"), default or None))
    return out


def _resolve(dotted: str):
    import importlib

    obj, path = mineland, "mineland"
    for part in dotted.split("."):
        path += "." + part
        if not hasattr(obj, part):  # a submodule not imported yet
            importlib.import_module(path)
        obj = getattr(obj, part)
    return obj


def test_the_readme_api_table_matches_the_code():
    rows = _api_rows()
    assert len(rows) >= 20
    for name, params in rows:
        sig = inspect.signature(_resolve(name))
        actual = [
            (p.name, None if p.default is inspect.Parameter.empty else repr(p.default))
            for p in sig.parameters.values()
        ]
        assert _documented(params) == actual, name


def test_every_public_function_is_in_the_readme_table():
    documented = {name.rsplit(".", 1)[-1] for name, _ in _api_rows()}
    public = {
        n
        for n in mineland.__all__
        if callable(getattr(mineland, n)) and not isinstance(getattr(mineland, n), type)
    }
    assert public - documented == set()


def test_one_html_table_for_every_page():
    from mineland.render.html import html_table

    frame = pd.DataFrame(
        {"district": ["<b>Ağdam</b>", "Total"], "devices": [3.0, 1234.0], "cha_ha": [1.25, np.inf]}
    )
    text = html_table(frame, max_rows=1)
    assert "&lt;b&gt;Ağdam&lt;/b&gt;" in text and "<b>" not in text  # escaped
    assert '<td class="num">3</td>' in text  # a count stays a whole number
    assert '<td class="num">1.2</td>' in text or '<td class="num">1.3</td>' in text
    assert "First 1 of 2 rows." in text and "Total" not in text
    assert '<td class="num">–</td>' in html_table(frame) and "inf" not in html_table(frame)
    tiny = html_table(pd.DataFrame({"remaining_ha": [0.03, 0.0]}))
    assert '<td class="num">0.03</td>' in tiny and '<td class="num">0.0</td>' in tiny


def test_the_findings_page_names_files_without_their_folders(tmp_path):
    out = tmp_path / "findings.html"
    result = run("validate", DISTRICTS, SURVEYS, "-o", out)
    assert result.exit_code in (0, 1), result.output
    text = out.read_text(encoding="utf-8")
    assert str(SURVEYS) not in text and "synthetic_hazards.gpkg" in text
    csv = tmp_path / "findings.csv"
    run("validate", DISTRICTS, SURVEYS, "-o", csv)
    assert str(SURVEYS) in csv.read_text(encoding="utf-8")  # full paths where parsed


def test_the_repository_holds_no_output_of_a_run():
    """What a run writes by default (rejected rows, an interrupted output) is never
    part of the repository: it would be read as data by the next run of a folder."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    outputs = [
        f for f in listed.stdout.splitlines() if f.endswith("_rejected.csv") or ".partial" in f
    ]
    assert outputs == []


def _minimum_pins() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location(
        "check_minimum_versions", ROOT / "scripts" / "check_minimum_versions.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pins = script.minimum_pins(ROOT / "pyproject.toml")  # stops on a pin it cannot test
    return {re.sub(r"\[.*\]", "", p.split("==")[0]).lower(): p.split("==")[1] for p in pins}


def test_the_readme_names_the_minimum_versions_pyproject_pins():
    """The README's versions paragraph lists the minimums the suite was run on: each
    release it names there is the one ``pyproject.toml`` pins as the minimum."""
    pins = _minimum_pins()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = text[text.index("- **Versions.**") : text.index("- **Speed and memory.**")]
    named = paragraph[paragraph.index("check_minimum_versions.py") :].split(")")[0]
    said = dict(re.findall(r"([a-z][a-z-]*) (\d+(?:\.\d+)*)", " ".join(named.split())))
    assert {"pandas", "shapely", "click", "pyarrow", "python-calamine", "mgrs"} <= set(said)
    for name, version in said.items():
        if name in ("geos", "gdal"):  # inside the wheels, not pinned
            continue
        pinned = pins[name].split(".")
        assert version.split(".")[: len(pinned)] == pinned, (name, version, pins[name])
