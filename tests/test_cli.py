"""The mineland command: output formats, the input account, one-line errors."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import DISTRICTS, SURVEYS

import mineland
from mineland.cli import main


def run(*args, cwd=None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_summary(demo_acc):
    return demo_acc.summary


def test_summarize_prints_table_with_totals_and_account(demo_summary):
    result = run("summarize", DISTRICTS, SURVEYS)
    assert result.exit_code == 0, result.output
    assert "Total" in result.stdout
    first = demo_summary.iloc[0]
    assert first["district"] in result.stdout
    assert f"{first['contaminated_ha']:,.1f}" in result.stdout
    total = demo_summary["contaminated_ha"].sum()
    assert f"{total:,.1f}" in result.stdout
    n = len(mineland.read_surveys(SURVEYS).records)
    assert f"read {n} records from 3 files: {n} used, 0 rejected" in result.stderr


@pytest.mark.parametrize("ext", ["csv", "json", "geojson", "gpkg", "xlsx"])
def test_summarize_writes_each_format(tmp_path, demo_summary, ext):
    out = tmp_path / f"summary.{ext}"
    result = run("summarize", DISTRICTS, SURVEYS, "-o", out)
    assert result.exit_code == 0, result.output
    if ext == "csv":
        table = pd.read_csv(out)
        assert set(table["software"]) == {f"mineland {mineland.__version__}"}
        assert set(table["as_of"]) == {"all records"}
    elif ext == "json":
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["software"] == f"mineland {mineland.__version__}" and doc["as_of"]
        table = pd.DataFrame(doc["rows"])
    elif ext == "xlsx":
        table = pd.read_excel(out, engine="openpyxl")
    else:
        table = gpd.read_file(out)
    assert list(table["district"]) == list(demo_summary["district"])
    assert table["contaminated_ha"].sum() == pytest.approx(demo_summary["contaminated_ha"].sum())
    assert table["devices"].sum() == demo_summary["devices"].sum()


def test_as_of_changes_the_figures(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run("summarize", DISTRICTS, SURVEYS, "-o", a, "--as-of", "2022-12-31").exit_code == 0
    assert run("summarize", DISTRICTS, SURVEYS, "-o", b).exit_code == 0
    early, late = pd.read_csv(a), pd.read_csv(b)
    assert early["released_ha"].sum() < late["released_ha"].sum()


def test_rejected_rows_are_written_next_to_the_output(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "record_id,record_type,lon,lat\nA,device,46.5,39.7\nB,minefeld,46.5,39.7\nC,device,x,y\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = run("summarize", DISTRICTS, bad, "-o", out)
    assert result.exit_code == 0, result.output
    rejected = tmp_path / "out_rejected.csv"
    assert str(rejected) in result.stderr
    assert "read 3 records from 1 file: 1 used, 2 rejected" in result.stderr
    table = pd.read_csv(rejected)
    assert list(table["record_id"]) == ["B", "C"]
    assert "unknown record_type 'minefeld'" in table["reason"].iloc[0]


def test_the_rejected_reasons_line_adds_up_to_the_rows_rejected(tmp_path):
    """Three kinds of reason are named; the rest are counted, not left out."""
    rows = [
        "A,device,46.5,39.7,2023-01-01,1",
        "B,minefeld,46.5,39.7,2023-01-01,1",
        "C,device,x,y,2023-01-01,1",
        "D,device,46.5,39.7,2023-13-45,1",
        "E,device,46.5,39.7,2023-01-01,-4",
        "F,,46.5,39.7,2023-01-01,1",
        "G,minefeld,46.5,39.7,2023-01-01,1",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,record_type,lon,lat,date,quantity\n" + "\n".join(rows) + "\n")
    result = run("summarize", DISTRICTS, bad, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stderr.splitlines() if "rejected rows written" in x)
    assert line.startswith("6 rejected rows written")
    named = [int(n) for n in re.findall(r"\((\d+)\)", line)]
    more = re.search(r"; (\d+) more, of (\d+) other kinds?$", line)
    assert len(named) == 3 and more is not None, line
    assert sum(named) + int(more.group(1)) == 6


NO_CRS_CSV = 'record_id,record_type,wkt\nA,SHA,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summarize", "{tmp}/missing.gpkg", SURVEYS], "no such file"),
        (["summarize", DISTRICTS, "{tmp}/nocrs.csv"], "no coordinate reference system"),
        (["summarize", DISTRICTS, SURVEYS, "--name-field", "NAME_9"], "NAME_9"),
        (["summarize", DISTRICTS, SURVEYS, "--as-of", "2024-02-30"], "2024-02-30"),
        (["summarize", DISTRICTS, SURVEYS, "--bogus"], "No such option"),
        (["summarize", DISTRICTS, SURVEYS, "-o", "{tmp}/x.docx"], "unknown output format"),
        (["summarize", DISTRICTS, SURVEYS, "--crs", "EPSG:999999"], "EPSG:999999"),
    ],
    ids=["missing-file", "no-crs", "name-field", "as-of", "bogus-option", "format", "crs"],
)
def test_user_errors_are_one_line_with_exit_2(tmp_path, args, message):
    (tmp_path / "nocrs.csv").write_text(NO_CRS_CSV)
    result = run(*(str(a).replace("{tmp}", str(tmp_path)) for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_output_never_overwrites_input(tmp_path):
    copy = tmp_path / "districts.geojson"
    copy.write_bytes(DISTRICTS.read_bytes())
    before = copy.read_bytes()
    result = run("summarize", copy, SURVEYS, "-o", copy.with_suffix(".geojson"))
    assert result.exit_code == 2
    assert "refusing to write over the input" in result.stderr
    assert copy.read_bytes() == before


def test_version_and_help():
    assert mineland.__version__ in run("--version").stdout
    assert "--as-of" in run("summarize", "--help").stdout


@pytest.mark.parametrize("width", [80, 60, 120])
def test_the_terminal_table_fits_without_cutting_numbers(monkeypatch, demo, width):
    """Every line fits; every number shown is whole and equals the summary's value."""
    monkeypatch.setenv("COLUMNS", str(width))
    result = run("summarize", DISTRICTS, SURVEYS)
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert max(len(ln) for ln in lines) <= width
    summary = mineland.summarize(*demo).set_index("district")
    rows = [ln for ln in lines if ln.startswith("│ Sarıbulaq")]
    assert len(rows) == 1
    numbers = re.findall(r"[\d,]+\.?\d*", rows[0])
    want = {f"{v:,.1f}" for v in summary.loc["Sarıbulaq"].drop("geometry") if isinstance(v, float)}
    want |= {
        f"{int(v):,}" for v in summary.loc["Sarıbulaq"].drop("geometry") if not isinstance(v, float)
    }
    assert numbers and set(numbers) <= want  # no number cut or rounded away
    if width < 200:
        assert "left out to fit" in result.stderr
        assert result.stderr.index("left out") > 0


def test_columns_sort_and_top(monkeypatch, tmp_path, demo):
    monkeypatch.setenv("COLUMNS", "100")
    result = run(
        "summarize",
        DISTRICTS,
        SURVEYS,
        "--columns",
        "cleared_ha,devices",
        "--sort",
        "cleared_ha",
        "--top",
        "3",
    )
    assert result.exit_code == 0, result.output
    summary = mineland.summarize(*demo)
    inside = summary[summary["district"] != mineland.schema.OUTSIDE]
    best = inside.sort_values("cleared_ha", ascending=False)["district"].head(3).tolist()
    body = [ln for ln in result.stdout.splitlines() if ln.startswith("│")]
    assert [ln.split("│")[1].strip() for ln in body[:3]] == best
    assert f"{summary['cleared_ha'].sum():,.1f}" in body[-1]  # totals of all rows
    assert "contaminated" not in result.stdout and "3 of 13 rows" in result.stdout
    out = tmp_path / "top.csv"
    run(
        "summarize",
        DISTRICTS,
        SURVEYS,
        "--columns",
        "cleared_ha",
        "--sort",
        "district",
        "--top",
        "2",
        "-o",
        out,
    )
    table = pd.read_csv(out)
    assert list(table.columns) == ["district", "cleared_ha", "as_of", "software"]
    assert list(table["district"]) == ["Ağbulaq", "Çaylı"]  # Ç beside C, not after Z
    bad = run("summarize", DISTRICTS, SURVEYS, "--columns", "cleared,devices")
    assert bad.exit_code == 2 and "'cleared'" in bad.output


def test_names_sort_with_a_marked_letter_right_after_its_base():
    """``--sort district`` orders names as Azerbaijani, Turkish and Bosnian readers
    do: a letter with a mark is a letter of its own right after its base (C Ç, O Ö,
    S Ş, E Ə, ı before i), case ignored; by code point every Ç, Ş and Ə came after Z."""
    from mineland.cli.console import arrange

    names = ["Zəngilan", "Çaylı", "Ağdam", "Şuşa", "Cəbrayıl", "Ördəkli", "Oğuz"]
    names += ["Sabirabad", "İsmayıllı", "Goražde", "Gədəbəy", "Eyvazlı", "ılıca"]
    summary = pd.DataFrame({"district": names + [mineland.schema.OUTSIDE], "x": 0.0})
    got = list(arrange(summary, "district", None)["district"])
    assert got == [
        "Ağdam", "Cəbrayıl", "Çaylı", "Eyvazlı", "Gədəbəy", "Goražde", "ılıca",
        "İsmayıllı", "Oğuz", "Ördəkli", "Sabirabad", "Şuşa", "Zəngilan",
        mineland.schema.OUTSIDE,
    ]  # fmt: skip


def test_a_date_before_every_dated_record_is_warned_about(tmp_path):
    """A mistyped year (2012 for 2021) before every record leaves only the undated
    records: a table that looks real.  Both the as-of and the end date say so."""
    records = mineland.read_surveys(SURVEYS).records
    first = records["date"].min()
    undated = int(records["date"].isna().sum())
    before = (first - pd.Timedelta(days=1)).date()
    commands = {
        "summarize": ["--as-of", before],
        "progress": ["--end", before, "--freq", "year"],
    }
    for command, dates in commands.items():
        out = tmp_path / f"{command}.csv"
        done = run(command, DISTRICTS, SURVEYS, *dates, "-o", out)
        said = " ".join(done.output.split())
        assert done.exit_code == 0, said
        assert f"date {before} is before every dated record" in said, (command, said)
        assert f"the first is dated {first.date()}): only the {undated} undated" in said
    on_the_day = run("summarize", DISTRICTS, SURVEYS, "--as-of", first.date(), "-o", out)
    assert "before every dated record" not in on_the_day.output


def test_summarize_says_how_many_records_the_as_of_date_leaves_out(tmp_path):
    records = mineland.read_surveys(SURVEYS).records
    day = records["date"].dropna().sort_values().iloc[len(records) // 3].date()
    later = int((records["date"] > pd.Timestamp(day)).sum())
    assert 0 < later < len(records)
    done = run("summarize", DISTRICTS, SURVEYS, "--as-of", day, "-o", tmp_path / "s.csv")
    assert f"{later:,} records dated after {day} left out (--as-of)" in " ".join(
        done.output.split()
    )
    done = run("summarize", DISTRICTS, SURVEYS, "-o", tmp_path / "s.csv")
    assert "left out (--as-of)" not in done.output
