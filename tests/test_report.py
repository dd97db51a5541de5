"""Reports (xlsx, html) and charts."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import DISTRICTS, SURVEYS

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


def test_excel_report_is_formatted(demo, tmp_path):
    out = tmp_path / "r.xlsx"
    r = CliRunner().invoke(
        main, ["report", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--as-of", "2024-12-31"]
    )
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [
        "Summary",
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
    sources = pd.read_excel(out, sheet_name="Sources")
    assert "2024-12-31" in sources["value"].astype(str).tolist()
    assert any("mineland" in str(v) for v in sources["value"])
    prog = pd.read_excel(out, sheet_name="Progress by year")
    assert pd.to_datetime(prog["period_end"]).max() == pd.Timestamp("2024-12-31")


def test_html_report_has_tables_and_charts(tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(
        main, ["report", str(DISTRICTS), str(SURVEYS), "-o", str(out), "--title", "<b>T</b>"]
    )
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 4  # three charts and the forecast's
    assert "Progress by year" in text and "Validation findings" in text
    assert "Completion at the current pace" in text
    assert "<b>T</b>" not in text and "&lt;b&gt;T&lt;/b&gt;" in text
    r = CliRunner().invoke(
        main, ["report", str(DISTRICTS), str(SURVEYS), "-o", str(tmp_path / "r.pdf")]
    )
    assert r.exit_code == 2
