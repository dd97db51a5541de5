"""Coordinates written in degrees, minutes and seconds, or with a hemisphere, read
against their decimal value worked out here, for random values in every style a
field form or GPS unit writes; what is ambiguous is rejected with the value."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

import mineland
from mineland.degrees import degrees

STYLES = [
    "{d}°{m}'{s}\"{h}",
    "{d}° {m}' {s}\" {h}",
    "{h}{d}°{m}'{s}\"",
    "{d} {m} {s} {h}",
    "{d}d{m}m{s}s{h}",
    "{d}º{m}′{s}″{h}",
    "{h} {d} {m} {s}",
]


def _value(rng, axis):
    d = rng.randint(0, 89 if axis == "lat" else 179)
    m, s = rng.randint(0, 59), round(rng.uniform(0, 59.99), 2)
    h = rng.choice(("N", "S") if axis == "lat" else ("E", "W"))
    sign = -1 if h in "SW" else 1
    return d, m, s, h, sign * (d + m / 60 + s / 3600)


@pytest.mark.parametrize("seed", range(5))
def test_degrees_minutes_seconds_in_every_style_equal_their_decimal_value(seed):
    rng = random.Random(seed)
    for axis in ("lon", "lat"):
        rows = [_value(rng, axis) for _ in range(200)]
        texts = [rng.choice(STYLES).format(d=d, m=m, s=s, h=h) for d, m, s, h, _ in rows]
        texts = [t.replace(".", ",") if rng.random() < 0.2 else t for t in texts]
        got = degrees(pd.Series(texts), axis)
        want = np.array([v for *_, v in rows])
        assert np.allclose(got, want, rtol=0, atol=1e-12), [
            (t, g, w) for t, g, w in zip(texts, got, want, strict=True) if abs(g - w) > 1e-12
        ]


def test_degrees_and_decimal_minutes_and_a_hemisphere_on_decimal_degrees():
    got = degrees(pd.Series(["N39°30.25'", "39 30.25 S", "E46.7528", "46.7528W", None]), "lat")
    assert got[0] == pytest.approx(39 + 30.25 / 60) and got[1] == pytest.approx(-(39 + 30.25 / 60))
    assert np.isnan(got[2:]).all()  # E and W are no latitudes; a missing value is none
    assert degrees(pd.Series(["E46.7528", "46.7528W"]), "lon").tolist() == [46.7528, -46.7528]


@pytest.mark.parametrize(
    "text, axis",
    [
        ("39 30 15 E", "lat"),  # the other axis's hemisphere: swapped columns?
        ("46 75 10 E", "lon"),  # 75 minutes
        ("46 45 61 E", "lon"),  # 61 seconds
        ("-46.5W", "lon"),  # a sign and a hemisphere
        ("N39.5S", "lat"),  # two hemispheres
        ("95 10 10 N", "lat"),  # beyond the pole
        ("46.5 30 E", "lon"),  # decimals before the last part
        ("46 45 10 5 E", "lon"),  # four parts
        ("39D30M15S", "lat"),  # capital marks: is S seconds or south?
        ("46.75", "lon"),  # a plain number is the caller's to read
        ("hello", "lon"),
    ],
)
def test_what_is_ambiguous_is_not_read(text, axis):
    assert np.isnan(degrees(pd.Series([text]), axis)[0])


def test_a_csv_of_degrees_is_read_and_the_ambiguous_rows_rejected_with_the_value(tmp_path):
    src = tmp_path / "gps.csv"
    src.write_text(
        "record_id,record_type,lon,lat\n"
        'D1,device,"46°45\'10""E","39°30\'15.2""N"\n'
        "D2,device,46 45 10 N,39 30 15 E\n"
        "D3,device,46.75,39.5\n",
        encoding="utf-8",
    )
    data = mineland.read_surveys(src)
    used = data.records.set_index("record_id")
    assert used.geometry["D1"].x == pytest.approx(46 + 45 / 60 + 10 / 3600, abs=1e-12)
    assert used.geometry["D1"].y == pytest.approx(39 + 30 / 60 + 15.2 / 3600, abs=1e-12)
    assert used.geometry["D3"].x == 46.75
    reason = data.rejected.set_index("record_id")["reason"]["D2"]
    assert "lon='46 45 10 N'" in reason and "nor degrees of their axis" in reason


def test_projected_x_y_columns_are_never_read_as_degrees(tmp_path):
    src = tmp_path / "utm.csv"
    src.write_text("record_id,record_type,x,y\nD1,device,400000 E,4400000 N\n", "utf-8")
    data = mineland.read_surveys(src, crs="EPSG:32638")
    assert len(data.records) == 0 and "are not numbers" in data.rejected["reason"].iloc[0]
    assert "degrees" not in data.rejected["reason"].iloc[0]
