"""Completion forecasts, checked against hand computations."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from conftest import DISTRICTS, SURVEYS, frame, run, sq

import mineland
from mineland.forecast import DAYS_PER_YEAR, NOT_AT_THIS_PACE, backtest, forecast_completion

ORIGIN = pd.Timestamp("2023-12-31")
QUARTER_ENDS = pd.date_range("2021-03-31", "2025-12-31", freq="QE")


def surveys(per_quarter, *, new=(), start="2021-03-31"):
    """A 100 ha hazard in West (dated 2020) and, each quarter from ``start``, a
    cleared strip of the given hectares (1 km long), dated on the quarter's last day;
    ``new``: (date, ha) of hazards recorded later, elsewhere in West."""
    rows = [
        {
            "record_id": "H",
            "record_type": "SHA",
            "date": "2020-01-01",
            "geometry": sq(1000, 1000, 1000),
        }
    ]
    y = 1000.0
    ends = pd.date_range(start, periods=len(per_quarter), freq="QE")
    for k, (ha, day) in enumerate(zip(per_quarter, ends, strict=True)):
        width = ha * 10_000 / 1000  # metres, for a strip 1 km long
        rows.append(
            {
                "record_id": f"R{k}",
                "record_type": "cleared",
                "date": day.date().isoformat(),
                "geometry": sq(1000, y, 1000, width),
            }
        )
        y += width
    for k, (day, ha) in enumerate(new):
        side = (ha * 10_000) ** 0.5
        rows.append(
            {
                "record_id": f"N{k}",
                "record_type": "SHA",
                "date": day,
                "geometry": sq(5000, 5000 + 1500 * k, side),
            }
        )
    return frame(rows)


def row(result, name="West"):
    return result.table.set_index("district").loc[name]


def test_a_constant_rate_gives_the_hand_computed_date(two_districts):
    data = surveys([2.5] * 12)  # 10 ha a year in 2021–2023
    result = forecast_completion(two_districts, data, as_of=ORIGIN, window="3y")
    west = row(result)
    assert west["contaminated_ha"] == pytest.approx(70.0, rel=1e-6)
    assert west["released_ha_per_year"] == pytest.approx(10.0, rel=1e-6)
    assert west["net_rate_ha_per_year"] == pytest.approx(10.0, rel=1e-6)
    assert west["years_left"] == pytest.approx(7.0, rel=1e-6)
    expected = (ORIGIN + pd.Timedelta(days=7 * DAYS_PER_YEAR)).date().isoformat()
    assert west["completion"] == expected
    assert west["completion_low"] == west["completion_high"] == expected  # no spread


def test_an_accelerating_rate_uses_the_mean_and_has_a_range(two_districts):
    data = surveys([1.25] * 4 + [2.5] * 4 + [3.75] * 4)  # 5, 10, 15 ha a year
    west = row(forecast_completion(two_districts, data, as_of=ORIGIN, window="3y"))
    assert west["net_rate_ha_per_year"] == pytest.approx(10.0, rel=1e-6)
    assert west["years_left"] == pytest.approx(7.0, rel=1e-6)
    assert west["completion_low"] < west["completion"] < west["completion_high"]
    # the window decides the pace: the last year alone releases 15 ha a year
    last = row(forecast_completion(two_districts, data, as_of=ORIGIN, window="1y"))
    assert last["net_rate_ha_per_year"] == pytest.approx(15.0, rel=1e-6)


def test_a_zero_rate_is_not_at_this_pace_and_off_track(two_districts):
    data = surveys([2.5] * 4, start="2019-03-31")  # all released before the window
    result = forecast_completion(
        two_districts, data, as_of=ORIGIN, window="3y", deadline="2030-12-31"
    )
    west = row(result)
    assert west["net_rate_ha_per_year"] == 0
    assert west["completion"] == NOT_AT_THIS_PACE
    assert west["status"] == "off track" and west["needed_multiple"] == float("inf")


def test_new_contamination_faster_than_release_is_not_at_this_pace(two_districts):
    data = surveys([2.5] * 12, new=[("2022-06-15", 40.0)])  # 13.3 ha a year recorded
    west = row(forecast_completion(two_districts, data, as_of=ORIGIN, window="3y"))
    assert west["new_ha_per_year"] == pytest.approx(40 / 3, rel=1e-6)
    assert west["net_rate_ha_per_year"] == pytest.approx(10 - 40 / 3, rel=1e-6)
    assert west["completion"] == NOT_AT_THIS_PACE


def test_the_deadline_flags_and_the_needed_rate(two_districts):
    data = surveys([2.5] * 12)
    on = row(forecast_completion(two_districts, data, as_of=ORIGIN, deadline="2032-12-31"))
    assert on["status"] == "on track"
    off = row(forecast_completion(two_districts, data, as_of=ORIGIN, deadline="2027-12-31"))
    years = (pd.Timestamp("2027-12-31") - ORIGIN).days / DAYS_PER_YEAR
    assert off["status"] == "off track"
    assert off["needed_multiple"] == pytest.approx(70 / years / 10, rel=1e-6)
    varied = surveys([1.25] * 4 + [2.5] * 4 + [3.75] * 4)
    central = row(forecast_completion(two_districts, varied, as_of=ORIGIN))["completion"]
    risky = row(forecast_completion(two_districts, varied, as_of=ORIGIN, deadline=central))
    assert risky["status"] == "at risk"  # the central date is in time, the high one not


def test_too_few_periods_is_a_clear_error(two_districts):
    with pytest.raises(mineland.DataError, match="shorter window"):
        forecast_completion(two_districts, surveys([2.5] * 12), as_of=ORIGIN, window="5y")
    with pytest.raises(mineland.DataError, match="no dated release on or before 2020-06-30"):
        forecast_completion(two_districts, surveys([2.5] * 12), as_of="2020-06-30")
    with pytest.raises(mineland.DataError, match="3y or 18m"):
        forecast_completion(two_districts, surveys([2.5] * 12), as_of=ORIGIN, window="soon")


def test_remaining_equals_summarize(demo):
    result = forecast_completion(*demo, window="1y")
    summary = mineland.summarize(*demo, as_of=result.origin).set_index("district")
    table = result.table.set_index("district")
    for name in summary.index:
        assert table.loc[name, "contaminated_ha"] == pytest.approx(
            summary.loc[name, "contaminated_ha"], rel=1e-12
        )
    assert table.loc["All districts", "contaminated_ha"] == pytest.approx(
        summary["contaminated_ha"].sum(), rel=1e-12
    )


def test_a_backtest_on_a_known_rate_is_nearly_exact(two_districts):
    data = surveys([1.0] * 20)  # 4 ha a year, 2021–2025
    table = backtest(two_districts, data, year=2023, window="3y").set_index("district")
    west = table.loc["West"]
    assert west["actual_ha"] == pytest.approx(80.0, rel=1e-6)  # 100 − 20
    assert abs(west["error_ha"]) < 0.01  # 730 days against two years of 365.2425
    with pytest.raises(mineland.DataError, match="nothing after"):
        backtest(two_districts, data, year=2026)


# --------------------------------------------------------------------------- command


def test_cli_table_outputs_and_chart(tmp_path):
    out, chart = tmp_path / "f.json", tmp_path / "f.png"
    args = ["--window", "1y", "--deadline", "2035-12-31", "--chart", chart, "-o", out]
    result = run("forecast", DISTRICTS, SURVEYS, *args)
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    assert rows[-1]["district"] == "All districts" and "status" in rows[-1]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = run("forecast", DISTRICTS, SURVEYS, "--window", "1y")
    assert "Completion at the current pace" in printed.stdout


def test_cli_backtest_and_bad_window(tmp_path):
    out = tmp_path / "b.csv"
    result = run("forecast", DISTRICTS, SURVEYS, "--window", "1y", "--backtest", "2024", "-o", out)
    assert result.exit_code == 0, result.output
    assert {"predicted_ha", "actual_ha", "error_ha"} <= set(pd.read_csv(out).columns)
    bad = run("forecast", DISTRICTS, SURVEYS, "--window", "three years")
    assert bad.exit_code == 2 and "--window" in bad.stderr


def test_forecast_reads_the_records_as_given(two_districts):
    data = gpd.GeoDataFrame(surveys([2.5] * 12), crs=4326)
    assert row(forecast_completion(two_districts, data, as_of=ORIGIN))["years_left"] > 0


def test_map_popups_give_each_districts_completion(tmp_path):
    out = tmp_path / "m.html"
    result = run("map", DISTRICTS, SURVEYS, "--tiles", "none", "--forecast", "1y", "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    forecast = forecast_completion(
        mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS), window="1y"
    ).table.set_index("district")
    assert text.count("Clear at the current pace") == len(forecast) - 2  # not outside, all
    first = forecast.iloc[0]
    assert f"{first['completion']} ({first['completion_low']}" in text
