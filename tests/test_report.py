"""Reports (xlsx, html) and charts."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import DISTRICTS, SURVEYS, run

import mineland
from mineland.charts import figure_png, plot_released, plot_remaining
from mineland.cli import main
from mineland.periods import release_progress


def test_charts_are_png(demo):
    d, s = demo
    table = release_progress(d, s)
    for fig in (
        plot_released(table),
        plot_released(table, by="method"),
        plot_remaining(mineland.summarize(d, s)),
    ):
        png = figure_png(fig)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    with pytest.raises(ValueError, match="by must be"):
        plot_released(table, by="colour")


def test_every_district_line_of_the_released_chart_can_be_told_apart(demo):
    """Twelve districts and a cycle of ten colours: no two lines share both their
    colour and their style (the eleventh and twelfth are dashed)."""
    d, s = demo
    fig = plot_released(release_progress(d, s))
    lines = fig.axes[0].get_lines()
    assert len(lines) == 12
    looks = {(str(line.get_color()), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(looks) == len(lines)


def test_excel_report_is_formatted(demo, tmp_path):
    out = tmp_path / "r.xlsx"
    r = CliRunner().invoke(
        main, ["report", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--as-of", "2024-12-31"]
    )
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [
        "Summary",
        "Land release by year",
        "Progress by year",
        "Validation",
        "Validation findings",
        "Unmapped by district",
        "Candidate areas",
        "Forecast",
        "Priorities",
        "Sources",
    ]
    ws = wb["Summary"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["district", "area_ha", "sha_ha"] and ws["A1"].font.bold
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    col = header.index("contaminated_ha") + 1
    assert ws.cell(row=2, column=col).number_format == "#,##0.0"
    last = ws.max_row
    assert ws.cell(row=last, column=1).value == "Total" and ws.cell(row=last, column=1).font.bold
    d, s = demo
    summary = mineland.summarize(d, s, as_of="2024-12-31")
    assert ws.cell(row=last, column=col).value == pytest.approx(summary["contaminated_ha"].sum())
    sources = pd.read_excel(out, sheet_name="Sources", engine="openpyxl")
    assert "2024-12-31" in sources["value"].astype(str).tolist()
    assert any("mineland" in str(v) for v in sources["value"])
    prog = pd.read_excel(out, sheet_name="Progress by year", engine="openpyxl")
    assert pd.to_datetime(prog["period_end"]).max() == pd.Timestamp("2024-12-31")


def test_html_report_has_tables_and_charts(tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main, ["report", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--title", "<b>T</b>"]
    )
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 5  # the map, three charts, the forecast
    assert "Land release by year" in text and "Data quality" in text
    assert "Completion at the current pace" in text
    assert "<b>T</b>" not in text and "&lt;b&gt;T&lt;/b&gt;" in text
    r = CliRunner().invoke(
        main, ["report", str(DISTRICTS), str(SURVEYS), "-o", str(tmp_path / "r.doc")]
    )
    assert r.exit_code == 2


def test_the_html_report_reads_as_a_document(demo, tmp_path):
    """Headline figures first (equal to the summary's totals), a map, readable column
    headings everywhere, whole counts, a findings summary rather than every finding."""
    import re

    out = tmp_path / "r.html"
    assert run("report", DISTRICTS, SURVEYS, "-o", out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    summary = mineland.summarize(*demo)
    first = text.index("class='headline'")
    assert first < text.index("<table")
    headline = text[first : text.index("</div></div>", first)]
    assert f"{summary['contaminated_ha'].sum():,.0f} ha" in headline
    assert f"{int(summary['devices'].sum()):,}" in headline
    assert 'alt="map"' in text
    headings = re.findall(r"<th>(.*?)</th>", text)
    assert headings and not [h for h in headings if re.search(r"[a-z]_[a-z]", h)]
    assert "Remaining SHA (ha)" in headings and "Explosive items found" in headings
    annual = text.split("Land release")[1].split("</table>")[0]
    assert not re.search(r'<td class="num">\d[\d,]*\.0</td></tr>', annual)  # whole counts
    shown = text.split("The first findings")[1].split("</table>")[0].count("<tr>") - 1
    assert shown <= 15 and "findings are in the workbook" in text


def test_annual_release_table(demo):
    """Per year: the released hectares of the dated releases, in ha and km², and the
    counts dated in the year; the years add up to what was released over them."""
    from mineland.periods import annual_release, release_progress

    districts, surveys = demo
    prog = release_progress(districts, surveys)
    table = annual_release(prog)
    assert list(table["year"]) == sorted(prog["period_end"].dt.year.unique())
    for m in ("cancelled", "reduced", "cleared", "released"):
        assert np.allclose(table[f"{m}_km2"], table[f"{m}_ha"] / 100)
    first, last = prog["period_end"].min(), prog["period_end"].max()
    before = mineland.summarize(districts, surveys, as_of=first - pd.Timedelta(days=365))
    after = mineland.summarize(districts, surveys, as_of=last)
    gained = after["released_ha"].sum() - before["released_ha"].sum()
    assert table["released_ha"].sum() == pytest.approx(gained, rel=1e-6)  # overlay noise
    dated = surveys.records[surveys.records["record_type"] == "incident"]
    per_year = dated.groupby(dated["date"].dt.year)["killed"].sum()
    for _, r in table.iterrows():
        assert r["killed"] == per_year.get(r["year"], 0)
    printed = run("progress", DISTRICTS, SURVEYS, "--layout", "annual")
    assert printed.exit_code == 0 and "Cleared (km²)" in printed.stdout


def test_pdf_report_is_printed_by_chromium(tmp_path):
    import shutil

    if not shutil.which("chromium"):
        pytest.skip("chromium not installed")
    out = tmp_path / "r.pdf"
    result = run("report", DISTRICTS, SURVEYS, "-o", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:5] == b"%PDF-" and data.count(b"/Type /Page") >= 3
    assert b"/MediaBox [0 0 841.91998 594.95996]" in data  # A4 landscape
