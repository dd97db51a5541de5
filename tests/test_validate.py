"""Validation: one crafted case per check, an end-to-end run with injected faults,
and a fuzz test that feeds broken values and geometries."""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import TEST_LAEA, districts_frame, sq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mineland
from mineland.cli import main
from mineland.validation import validate
from mineland.validation.names import fold_name, names_match

TODAY = "2026-01-01"


@pytest.fixture
def districts():
    return districts_frame({"Füzuli": sq(0, 0, 10_000), "Qubadlı": sq(10_000, 0, 10_000)})


def write_csv(tmp_path, rows, name="s.csv", crs_wkt=True):
    df = pd.DataFrame(rows)
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def wkt(g) -> str:
    """WKT of a TEST_LAEA geometry in lon/lat."""
    return gpd.GeoSeries([g], crs=TEST_LAEA).to_crs(4326).iloc[0].wkt


def clean_rows() -> list[dict]:
    """A small dataset with nothing wrong: separate hazards, releases inside them."""
    rows = []
    for i in range(6):
        x = 500 + i * 1500
        rows.append(
            {
                "record_id": f"H{i}",
                "record_type": "SHA" if i % 2 else "CHA",
                "date": "2021-03-01",
                "hazard_id": "",
                "wkt": wkt(sq(x, 500, 1000)),
            }
        )
        rows.append(
            {
                "record_id": f"R{i}",
                "record_type": ["cleared", "reduced", "cancelled"][i % 3],
                "date": "2023-05-01",
                "hazard_id": f"H{i}",
                "wkt": wkt(sq(x + 100, 600, 500)),
            }
        )
    rows.append(
        {
            "record_id": "D1",
            "record_type": "device",
            "date": "2023-05-01",
            "hazard_id": "",
            "wkt": wkt(shapely.Point(700, 700)),
        }
    )
    return rows


def run_validate(tmp_path, districts, rows, **kw):
    path = write_csv(tmp_path, rows)
    data = mineland.read_surveys(path, crs="EPSG:4326", on_file_error="reject")
    return validate(districts, data, today=TODAY, **kw)


def found(report) -> set[tuple[str, str | None]]:
    """(check, record id) of every finding; a finding naming several records ("a; b")
    counts for each."""
    out = set()
    for check, ids in zip(report.findings["check"], report.findings["record_id"], strict=True):
        for rid in [None] if pd.isna(ids) else str(ids).split("; "):
            out.add((check, rid))
    return out


def test_clean_data_has_no_findings(tmp_path, districts):
    report = run_validate(tmp_path, districts, clean_rows())
    assert found(report) == set()
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 0
    assert report.conservation["balanced"].all()


def test_end_to_end_every_injected_fault_is_found_and_nothing_else(tmp_path, districts):
    rows = clean_rows()
    bow = shapely.Polygon([(200, 8000), (1200, 9000), (1200, 8000), (200, 9000), (200, 8000)])
    far = shapely.Polygon([(3000, 3000), (3100, 3000), (9500, 9500), (3000, 3000)])
    faults = [
        (
            {
                "record_id": "F1",
                "record_type": "Minefeld",
                "date": "2021-01-01",
                "wkt": wkt(sq(500, 5000)),
            },
            "unknown_record_type",
        ),
        (
            {
                "record_id": "F2",
                "record_type": "SHA",
                "date": "2021-13-45",
                "wkt": wkt(sq(500, 5000)),
            },
            "bad_date",
        ),
        (
            {
                "record_id": "F3",
                "record_type": "device",
                "quantity": "-3",
                "wkt": wkt(shapely.Point(10, 10)),
            },
            "bad_count",
        ),
        (
            {"record_id": "H1", "record_type": "SHA", "wkt": wkt(sq(500, 7000))},
            "duplicate_record_id",
        ),
        ({"record_id": "F5", "record_type": "CHA", "wkt": "POLYGON EMPTY"}, "empty_geometry"),
        (
            {"record_id": "F6", "record_type": "cleared", "wkt": wkt(shapely.Point(5, 5))},
            "wrong_geometry_type",
        ),
        (
            {"record_id": "F7", "record_type": "SHA", "date": "2022-01-01", "wkt": wkt(bow)},
            "repaired_geometry",
        ),
        (
            {"record_id": "F8", "record_type": "SHA", "date": "2022-01-01", "wkt": wkt(far)},
            "long_edge",
        ),
        (
            {
                "record_id": "F9",
                "record_type": "CHA",
                "date": "2022-01-01",
                "wkt": wkt(sq(50_000, 500)),
            },
            "outside_districts",
        ),
        (
            {
                "record_id": "F10",
                "record_type": "SHA",
                "date": "2030-01-01",
                "wkt": wkt(sq(12_000, 8000, 300)),
            },
            "future_date",
        ),
        (
            {
                "record_id": "F11",
                "record_type": "cleared",
                "date": "2020-01-01",
                "hazard_id": "H2",
                "wkt": wkt(sq(3100, 700, 200)),
            },
            "release_before_hazard",
        ),
        (
            {
                "record_id": "f12 ",
                "record_type": "SHA",
                "date": "2022-01-01",
                "wkt": wkt(sq(15_000, 8000, 300)),
            },
            "duplicate_id_variant",
        ),
        (
            {
                "record_id": "F12",
                "record_type": "SHA",
                "date": "2022-01-01",
                "wkt": wkt(sq(16_000, 8000, 300)),
            },
            "duplicate_id_variant",
        ),
        (
            {
                "record_id": "F13",
                "record_type": "reduced",
                "date": "2023-01-01",
                "wkt": wkt(sq(18_000, 5000, 500)),
            },
            "released_outside_hazard",
        ),
    ]
    report = run_validate(tmp_path, districts, rows + [r for r, _ in faults])
    got = found(report)
    # released land outside hazards is named by the release records that make it up;
    # F11 (cleared beside its hazard H2, not inside it) is one of them too
    expected = {(check, row["record_id"].strip()) for row, check in faults}
    expected.add(("released_outside_hazard", "F11"))
    # the bow-tie's record also crosses no other record; the long-edge polygon is valid
    assert expected <= got, expected - got
    assert got - expected == set(), got - expected
    assert report.errors == 6 and report.exit_code() == 1


def test_a_failing_check_spares_the_others_and_the_order_holds(tmp_path, districts, monkeypatch):
    """The checks run two at a time, the slow ones first; one that fails is named in
    the failures, and the findings of the rest come in the checks' own order."""
    rows = clean_rows() + [
        {"record_id": "a1", "record_type": "SHA", "wkt": wkt(sq(15_000, 8000, 300))},
        {"record_id": "A1 ", "record_type": "SHA", "wkt": wkt(sq(16_000, 8000, 300))},
        {"record_id": "X", "record_type": "CHA", "wkt": wkt(sq(50_000, 500))},
        {"record_id": "F", "record_type": "SHA", "date": "2030-01-01", "wkt": wkt(sq(12_000, 500))},
    ]
    report = run_validate(tmp_path, districts, rows)
    checks = list(report.findings["check"])
    assert checks.index("duplicate_id_variant") < checks.index("future_date")
    assert checks.index("future_date") < checks.index("outside_districts")
    assert report.failures == []

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr("mineland.validation.date_checks", broken)
    report = run_validate(tmp_path, districts, rows)
    assert report.failures == ["dates: RuntimeError: boom"]
    got = found(report)
    assert ("outside_districts", "X") in got and ("duplicate_id_variant", "a1") in got
    assert not any(check == "future_date" for check, _ in got)


def test_releases_read_without_their_hazards_are_checked_for_dates(tmp_path, districts):
    """The hazards a release names may be in a file not read: its date is then not
    compared, and the date checks still run (a lookup that found no hazard at all
    failed them)."""
    releases = [r for r in clean_rows() if r["record_type"] in ("cleared", "reduced")]
    future = dict(releases[0], record_id="late", date="2030-01-01")
    report = run_validate(tmp_path, districts, releases + [future])
    assert report.failures == []
    assert ("future_date", "late") in found(report)
    assert not any(check == "release_before_hazard" for check, _ in found(report))


def test_each_spatial_check(tmp_path, districts):
    rows = clean_rows()
    lon, lat = (
        gpd.GeoSeries([shapely.Point(5000, 5000)], crs=TEST_LAEA).to_crs(4326).iloc[0].coords[0]
    )
    rows += [
        {"record_id": "S1", "record_type": "device", "wkt": f"POINT ({lat} {lon})"},  # swapped
        {"record_id": "O1", "record_type": "SHA", "wkt": wkt(sq(500, 500, 1000))},  # = H0
        {"record_id": "C1", "record_type": "SHA", "status": "Closed", "wkt": wkt(sq(12_000, 5000))},
        {
            "record_id": "M1",
            "record_type": "SHA",
            "district": "Fizuli",
            "wkt": wkt(sq(14_000, 5000, 300)),
        },
        {
            "record_id": "M2",
            "record_type": "SHA",
            "district": "Gubadli",
            "wkt": wkt(sq(14_500, 5000, 300)),
        },
    ]
    report = run_validate(tmp_path, districts, rows, start_date="2022-01-01")
    got = found(report)
    assert ("swapped_lonlat", "S1") in got
    assert ("overlapping_hazards", "O1") in got and ("duplicate_geometry", "O1") in got
    ha = report.findings.query("check == 'overlapping_hazards'")["area_ha"].iloc[0]
    assert ha == pytest.approx(100.0, rel=1e-4)  # a 1 km square recorded twice
    assert ("closed_hazard_unreleased", "C1") in got
    assert ("district_mismatch", "M1") in got  # Fizuli is in Qubadlı's place
    assert ("district_mismatch", "M2") not in got  # Gubadli = Qubadlı
    assert ("date_before_start", "H0") in got
    assert ("undated_records", None) in got


def test_district_overlaps_and_gaps(tmp_path):
    d = districts_frame({"A": sq(0, 0, 6000), "B": sq(5000, 0, 6000), "C": sq(0, 6000, 11_000)})
    ring = shapely.Polygon(sq(0, 20_000, 9000).exterior, [sq(3000, 23_000, 3000).exterior])
    d = pd.concat([d, districts_frame({"Ring": ring})], ignore_index=True)
    report = run_validate(tmp_path, gpd.GeoDataFrame(d, crs=4326), clean_rows())
    f = report.findings
    overlap = f[f["check"] == "district_overlap"]
    assert len(overlap) == 1 and overlap["area_ha"].iloc[0] == pytest.approx(600.0, rel=1e-4)
    gaps = f[f["check"] == "district_gap"]
    assert gaps["area_ha"].max() == pytest.approx(900.0, rel=1e-4)


def test_missing_crs_missing_column_and_unreadable_files(tmp_path, districts):
    (tmp_path / "nocrs.csv").write_text(
        'record_id,record_type,wkt\nA,SHA,"POLYGON ((0 0,1 0,1 1,0 0))"\n'
    )
    (tmp_path / "nocol.csv").write_text("record_id,lon,lat\nB,46.6,39.8\n")
    (tmp_path / "broken.geojson").write_text('{"type": "FeatureCollection", "features": [')
    data = mineland.read_surveys(tmp_path, on_file_error="reject")
    report = validate(districts, data, today=TODAY)
    checks = set(report.findings["check"])
    assert {"missing_crs", "missing_column", "unreadable_file"} <= checks
    assert data.n_read == 2 and len(data.rejected) == 2  # both rows accounted for


def test_other_crs_is_named(tmp_path, districts):
    rows = [{"record_id": "G", "record_type": "device", "lon": 8_512_345.0, "lat": 4_412_345.0}]
    path = write_csv(tmp_path, rows)
    report = validate(districts, mineland.read_surveys(path, on_file_error="reject"), today=TODAY)
    msg = report.findings.query("check == 'other_crs'")["message"].iloc[0]
    assert "Gauss-Krüger zone 8" in msg and "EPSG:28408" in msg


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Fuzuli", "Füzuli", True),
        ("Fizuli District", "Füzuli", True),
        ("Gubadli", "Qubadlı", True),
        ("Jabrayil", "Cəbrayıl", True),
        ("Tartar", "Tərtər", True),
        ("Khojaly", "Xocalı", True),
        ("Shusha", "Lachin", False),
        ("Agdam", "Agdash", False),
    ],
)
def test_transliterated_names(a, b, same):
    assert names_match(a, b) is same
    assert fold_name("Cəbrayıl rayonu") == fold_name("Jabrayil")


def test_validate_cli_outputs_and_exit_codes(tmp_path, districts):
    districts.to_file(tmp_path / "d.geojson", engine="pyogrio")
    clean = write_csv(tmp_path, clean_rows(), name="clean.csv")
    runner = CliRunner()
    base = ["validate", str(tmp_path / "d.geojson"), "--crs", "EPSG:4326"]
    r = runner.invoke(main, [*base, str(clean)])
    assert r.exit_code == 0, r.output
    warn = write_csv(
        tmp_path,
        clean_rows() + [{"record_id": "X", "record_type": "SHA", "wkt": wkt(sq(50_000, 0))}],
        name="warn.csv",
    )
    assert runner.invoke(main, [*base, str(warn)]).exit_code == 0
    assert runner.invoke(main, [*base, str(warn), "--strict"]).exit_code == 1
    bad = write_csv(
        tmp_path,
        clean_rows() + [{"record_id": "Y", "record_type": "nope", "wkt": wkt(sq(0, 0))}],
        name="bad.csv",
    )
    r = runner.invoke(main, [*base, str(bad)])
    assert r.exit_code == 1 and "unknown_record_type" in r.stdout and "Worst examples" in r.stdout
    for ext in ("csv", "xlsx", "gpkg", "html"):
        out = tmp_path / f"report.{ext}"
        r = runner.invoke(main, [*base, str(bad), "-o", str(out)])
        assert r.exit_code == 1 and out.exists()
    assert "unknown record_type" in (tmp_path / "report.html").read_text()
    findings = gpd.read_file(tmp_path / "report.gpkg")
    assert "unknown_record_type" in set(findings["check"])
    assert runner.invoke(main, [*base, str(bad), "-o", str(bad)]).exit_code == 2  # input


def test_report_text_is_escaped_and_neutralised(tmp_path, districts):
    rows = clean_rows() + [
        {"record_id": "=cmd()", "record_type": "<script>x</script>", "wkt": wkt(sq(0, 0))}
    ]
    report = run_validate(tmp_path, districts, rows)
    from mineland.io import write_findings

    html = write_findings(report, tmp_path / "r.html").read_text()
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    csv = pd.read_csv(write_findings(report, tmp_path / "r.csv"))
    assert not csv["record_id"].astype(str).str.startswith("=").any()


_values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.sampled_from(
        ["SHA", "cha", "clearance", "device", "incident", "2021-02-30", "31.12.2021", ""]
    ),
)
_wkt = st.one_of(
    st.sampled_from(
        [
            "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))",
            "POLYGON ((0 0, 1 1))",
            "POLYGON EMPTY",
            "POINT (nan nan)",
            "LINESTRING (0 0, 1 1)",
            "GEOMETRYCOLLECTION (POINT (1 1))",
            "POLYGON ((46.5 39.7, 46.6 39.7, 46.6 39.8, 46.5 39.7))",
            "MULTIPOINT (1 1, 2 2)",
            "POLYGON ((1e308 1e308, -1e308 1e308, 0 0, 1e308 1e308))",
            "garbage",
            "",
        ]
    ),
    st.text(max_size=20),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(_values, _values, _values, _values, _wkt), min_size=1, max_size=8),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_fuzz_readers_and_validate_never_crash(tmp_path_factory, rows, line_end):
    tmp = tmp_path_factory.mktemp("fuzz")
    df = pd.DataFrame(rows, columns=["record_id", "record_type", "date", "quantity", "wkt"])
    # cells may hold \r, NULs or other control characters: quoted, each row is one row
    df.to_csv(tmp / "f.csv", index=False, quoting=csv.QUOTE_ALL, lineterminator=line_end)
    data = mineland.read_surveys(tmp / "f.csv", crs="EPSG:4326", on_file_error="reject")
    assert data.n_read == len(rows) == len(data.records) + len(data.rejected)
    d = districts_frame({"A": sq(0, 0, 10_000)})
    report = validate(d, data, today=TODAY)
    assert set(report.findings["severity"]) <= {"error", "warning", "info"}
    json.dumps(report.summary.to_dict())


def test_reader_level_checks(tmp_path, districts):
    rows = [
        {"record_type": "SHA", "wkt": wkt(sq(500, 500))},  # no record_id column at all
        {"record_type": "SHA", "wkt": "POLYGON ((0 0, 1"},  # unreadable
        {"record_type": "SHA", "wkt": "POLYGON ((46.6 39.8, 46.6 39.8, 46.6 39.8, 46.6 39.8))"},
    ]
    path = write_csv(tmp_path, rows, name="noid.csv")
    report = validate(districts, mineland.read_surveys(path, crs="EPSG:4326"), today=TODAY)
    checks = set(report.findings["check"])
    assert {"missing_record_id", "unreadable_geometry", "too_few_vertices"} <= checks
    bow = shapely.Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000), (0, 0)])
    path = write_csv(
        tmp_path, [{"record_id": "B", "record_type": "SHA", "wkt": wkt(bow)}], name="b.csv"
    )
    data = mineland.read_surveys(path, crs="EPSG:4326", on_invalid="reject")
    assert set(validate(districts, data, today=TODAY).findings["check"]) == {"invalid_geometry"}
    # degrees in a file that says it is in metres
    path = write_csv(
        tmp_path, [{"record_id": "U", "record_type": "device", "x": 46.6, "y": 39.8}], name="u.csv"
    )
    data = mineland.read_surveys(path, crs="EPSG:32638")
    msg = validate(districts, data, today=TODAY).findings.query("check == 'other_crs'")["message"]
    assert "look like lon/lat degrees" in msg.iloc[0]


def test_district_layer_problems_are_findings(tmp_path):
    bow = shapely.Polygon([(0, 0), (2000, 2000), (2000, 0), (0, 2000), (0, 0)])
    d = districts_frame({"Bow": bow, "": sq(5000, 0)})
    d = pd.concat(
        [d, districts_frame({"Line": shapely.LineString([(0, 0), (1, 1)])})], ignore_index=True
    )
    d.to_file(tmp_path / "d.geojson", engine="pyogrio")
    districts = mineland.read_districts(tmp_path / "d.geojson")
    report = run_validate(tmp_path, districts, clean_rows())
    checks = set(report.findings["check"])
    assert {"district_repaired", "district_dropped", "district_unnamed"} <= checks


def test_features_of_one_name_that_do_not_touch_are_merged_with_a_warning(tmp_path):
    """Two features of one name that do not touch (geoBoundaries' Azerbaijan layer
    has two 'Lankaran District' features 2 km apart) become one district as before,
    now with a warning and a finding; a district drawn in two touching pieces is
    merged without one."""
    d = districts_frame({"Twin": sq(0, 0), "Split": sq(5000, 0), "Other": sq(20000, 0)})
    d = pd.concat(
        [d, districts_frame({"Twin": sq(10000, 0), "Split": sq(6000, 0)})], ignore_index=True
    )
    d.to_file(tmp_path / "d.geojson", engine="pyogrio")
    districts = mineland.read_districts(tmp_path / "d.geojson")
    assert dict(zip(districts["district"], districts["features"], strict=True)) == {
        "Twin": 2,
        "Split": 2,
        "Other": 1,
    }
    report = run_validate(tmp_path, districts, clean_rows())
    merged = report.findings.query("check == 'district_merged'")
    assert len(merged) == 1 and "'Twin'" in merged["message"].iloc[0]
    assert set(merged["severity"]) == {"warning"}


def test_overlapping_hazards_are_reported_per_cluster(tmp_path, districts):
    """A chain A–B–C is one finding with its three records and the two overlaps; a
    patch three records share counts once; a separate pair is its own finding."""

    def hazard(rid, x, y, size):
        return {
            "record_id": rid,
            "record_type": "SHA",
            "date": "2021-03-01",
            "wkt": wkt(sq(x, y, size)),
        }

    rows = [
        hazard("A", 500, 500, 1000),  # A ∩ B = 200 × 1000 m = 20 ha
        hazard("B", 1300, 500, 1000),  # B ∩ C = 100 × 1000 m = 10 ha
        hazard("C", 2200, 500, 1000),
        hazard("P", 5000, 500, 1000),  # P, Q, R share a 500 × 500 m patch: 25 ha once
        hazard("Q", 5500, 500, 1000),
        hazard("R", 5500, 1000, 1000),
        hazard("D", 9000, 500, 300),  # D ∩ E = 100 × 300 m = 3 ha
        hazard("E", 9200, 500, 300),
    ]
    report = run_validate(tmp_path, districts, rows)
    got = report.findings.query("check == 'overlapping_hazards'")
    clusters = {
        frozenset(r.split("; ")): ha for r, ha in zip(got["record_id"], got["area_ha"], strict=True)
    }
    assert set(clusters) == {frozenset("ABC"), frozenset("PQR"), frozenset("DE")}
    assert clusters[frozenset("ABC")] == pytest.approx(30.0, rel=1e-4)
    assert clusters[frozenset("DE")] == pytest.approx(3.0, rel=1e-4)
    # P∩Q = 500 × 1000, Q∩R = 1000 × 500... their union with P∩R (500 × 500 at the
    # corner) is the land held by two or more of them, each square metre once
    p, q, r = sq(5000, 500, 1000), sq(5500, 500, 1000), sq(5500, 1000, 1000)
    twice = shapely.union_all([p.intersection(q), q.intersection(r), p.intersection(r)])
    assert clusters[frozenset("PQR")] == pytest.approx(twice.area / 1e4, rel=1e-4)
    assert all("recorded twice or more" in m for m in got["message"])


def test_released_outside_hazard_where_sha_and_cha_meet(tmp_path):
    """H is kept as SHA-outside-CHA parts beside CHA parts, which share edges; a
    release across both and beyond them is outside H only beyond them.  The detailed
    check and the counting path agree with pyproj's area of that strip."""
    from conftest import frame, geod_ha

    dist = districts_frame({"Cəbrayıl": sq(-20000, -20000, 40000)})
    sha, cha = sq(0, 0, 2000), sq(1000, 0, 2000)
    release = shapely.box(500, 500, 4000, 1500)
    surveys = frame(
        [
            {"record_id": "S1", "record_type": "SHA", "geometry": sha},
            {"record_id": "C1", "record_type": "CHA", "geometry": cha},
            {"record_id": "R1", "record_type": "cleared", "geometry": release},
        ]
    )
    strip = frame([{"geometry": shapely.box(3000, 500, 4000, 1500)}]).geometry.iloc[0]
    want = geod_ha(strip)
    for detail in (True, False):
        found = validate(dist, surveys, detail=detail).findings
        row = found[found["check"] == "released_outside_hazard"]
        assert len(row) == 1
        assert row["area_ha"].iloc[0] == pytest.approx(want, rel=1e-6)
        if detail:
            assert "R1" in row["record_id"].iloc[0]
            drawn = row.geometry.iloc[0]
            assert geod_ha(drawn) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
def test_released_outside_hazard_against_an_independent_overlay(seed):
    """Hundreds of overlapping SHA/CHA blobs and releases: the land released outside
    every hazard per district equals shapely's R − H, worked out here in the test's
    own projection (the check once subtracted H's edge-sharing parts as one cutter
    and counted 6% too much)."""
    from conftest import frame

    rng = np.random.default_rng(seed)

    def blob():
        x, y = rng.uniform(0, 6000, 2)
        return shapely.Point(x, y).buffer(rng.uniform(50, 400), quad_segs=4)

    hazards = [blob() for _ in range(400)]
    rows = [
        {"record_id": f"H{i}", "record_type": "SHA" if rng.random() < 0.6 else "CHA", "geometry": g}
        for i, g in enumerate(hazards)
    ]
    for i in range(200):
        base = hazards[rng.integers(len(hazards))]
        moved = shapely.affinity.translate(base, *rng.uniform(-150, 150, 2))
        kind = ("cleared", "reduced", "cancelled")[i % 3]
        rows.append({"record_id": f"R{i}", "record_type": kind, "geometry": moved})
    zones = {"West": sq(-20000, -20000, 23000, 40000), "East": sq(3000, -20000, 20000, 40000)}
    released = shapely.union_all([r["geometry"] for r in rows if r["record_id"][0] == "R"])
    outside = shapely.difference(released, shapely.union_all(hazards))
    want = {k: shapely.area(shapely.intersection(outside, z)) / 1e4 for k, z in zones.items()}
    for detail in (True, False):
        found = validate(districts_frame(zones), frame(rows), detail=detail).findings
        found = found[found["check"] == "released_outside_hazard"]
        got = {k: found[found["message"].str.contains(f"'{k}'")]["area_ha"].sum() for k in zones}
        assert sum(got.values()) == pytest.approx(sum(want.values()), rel=1e-6)
        for k in zones:  # the border is a geodesic for mineland, straight here
            assert got[k] == pytest.approx(want[k], rel=1e-4)


@pytest.mark.parametrize("seed", [3, 4])
def test_release_records_share_of_land_outside_hazards_equals_their_overlays(seed):
    """The hectares each release record is named with: those of its overlay with each
    piece of R − H, also where a piece meets one record only (then no overlay runs)."""
    from mineland.geometry import OverlayLog, explode_polygons
    from mineland.validation._spatial import shared_m2

    rng = np.random.default_rng(seed)

    def blobs(n, spread):
        xy = rng.uniform(0, spread, (n, 2))
        return shapely.buffer(shapely.points(xy), rng.uniform(40, 300, n), quad_segs=4)

    records, hazards = blobs(150, 5000), blobs(120, 5000)
    grid = np.array(
        [sq(x, y, x + 1000, y + 1000) for x in range(0, 5000, 1000) for y in range(0, 5000, 1000)]
    )
    outside = shapely.difference(shapely.union_all(records), shapely.union_all(hazards))
    pieces = explode_polygons(shapely.intersection(outside, grid))
    ia, ib = shapely.STRtree(records).query(pieces, predicate="intersects")
    alone = np.bincount(ia, minlength=len(pieces))[ia] == 1
    assert alone.any() and (~alone).any()  # both ways are taken
    got = shared_m2(pieces, records, ia, ib, OverlayLog())
    want = shapely.area(shapely.intersection(pieces[ia], records[ib]))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)


_ID_TEXT = st.text(
    st.sampled_from(
        list("aZ09-_./ ")
        + ["\t", "\x0b", "\x1c", "\u00a0", "\u2003", "ß", "İ", "Å", "\u212b", "ǅ", "ﬃ"]
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ID_TEXT | st.from_regex(r"[A-Za-z]{1,3}-[0-9]{1,4}", fullmatch=True), max_size=30))
def test_id_keys_equal_stripping_casefolding_and_spacing_each_id(ids):
    """The keys that tell ids apart only by case or spacing, made at once for the plain
    ASCII ids, equal those Python's own strip, casefold and \\s+ give one id at a time."""
    import re

    from mineland.validation._records import id_keys

    want = [re.sub(r"\s+", " ", v.strip().casefold()) for v in ids]
    assert id_keys(pd.Series(ids, dtype=object).astype(str)).tolist() == want


def test_long_edges_are_found_in_holes_and_parts_but_not_between_them():
    """A long edge in a hole or a second part is found; two small parts far apart (a
    long jump between their rings, which is no edge) are not an edge."""
    small = shapely.box(46.60, 39.70, 46.61, 39.71)
    far = shapely.box(47.50, 40.50, 47.51, 40.51)  # about 120 km away
    shell = [(46.0, 39.0), (47.5, 39.0), (47.5, 40.0), (46.0, 40.0)]
    hole = [(46.1, 39.1), (46.2, 39.1), (46.2, 39.9), (46.1, 39.9)]  # an 89 km side
    with_hole = shapely.Polygon(shapely.segmentize(shapely.LinearRing(shell), 0.01).coords, [hole])
    long_part = shapely.MultiPolygon([small, shapely.box(46.7, 39.2, 46.71, 39.9)])
    rows = [
        ("apart", shapely.MultiPolygon([small, far])),
        ("hole", with_hole),
        ("part", long_part),
    ]
    surveys = gpd.GeoDataFrame(
        {"record_id": [r for r, _ in rows], "record_type": "SHA"},
        geometry=[g for _, g in rows],
        crs=4326,
    )
    dist = gpd.GeoDataFrame(
        {"name": ["Cəbrayıl"]}, geometry=[shapely.box(45, 38, 49, 42)], crs=4326
    )
    found = validate(dist, surveys).findings
    flagged = set(found.loc[found["check"] == "long_edge", "record_id"])
    assert flagged == {"hole", "part"}


@pytest.mark.parametrize("seed", range(3))
def test_the_counts_find_the_clusters_the_detailed_check_draws(seed):
    """Without the shapes, overlaps are decided partly by a disk shown inside both
    records; the clusters must be those of the overlays: slivers just under and just
    over 1 m², a record inside another, a box whose centre falls in a ring's hole and
    random blobs that overlap in chains."""
    from conftest import frame

    rng = np.random.default_rng(seed)
    ring = shapely.Point(0, 0).buffer(300).difference(shapely.Point(0, 0).buffer(150))
    shapes = [
        sq(1000, 0, 100),  # overlaps the next in 0.8 m × 1 m: 0.8 m², not counted
        sq(1099.2, 99, 50),
        sq(2000, 0, 100),  # overlaps the next in 1.2 m × 1 m: 1.2 m², a cluster
        sq(2098.8, 99, 50),
        sq(3000, 0, 500),  # a record inside another
        sq(3100, 100, 50),
        ring,  # overlaps the ring only, its centre in the hole
        sq(-200, -200, 400),
    ]
    for _ in range(150):
        x, y = rng.uniform(4000, 9000, 2)
        shapes.append(shapely.Point(x, y).buffer(rng.uniform(20, 300), quad_segs=3))
    rows = [
        {"record_id": f"H{i}", "record_type": "SHA" if i % 2 else "CHA", "geometry": g}
        for i, g in enumerate(shapes)
    ]
    dist = districts_frame({"Goražde": sq(-5000, -5000, 20000)})
    clusters = []
    for detail in (True, False):
        found = validate(dist, frame(rows), detail=detail).findings
        found = found[found["check"] == "overlapping_hazards"]
        clusters.append(sorted(found["source_row"]))
    assert clusters[0] == clusters[1]
    assert len(clusters[0]) >= 10
    # rows count from 2 (a header): the 1.2 m² pair, the inner record and the ring are
    # found, the 0.8 m² pair is not
    assert {4, 6, 8} <= set(clusters[0]) and not {2, 3} & set(clusters[0])


def _held_by_overlays(shapes: dict, members: list[str]) -> float:
    """Hectares the overlaps of 1 m² or more among ``members`` hold, each square
    metre once: the union of every such pairwise overlay (brute force)."""
    overlaps = []
    for i, p in enumerate(members):
        for q in members[i + 1 :]:
            both = shapes[p].intersection(shapes[q])
            if both.area >= 1.0:
                overlaps.append(both)
    return shapely.union_all(overlaps).area / 1e4


@pytest.mark.parametrize("seed", range(3))
def test_the_land_overlaps_hold_is_their_union_in_chains_and_cycles(seed):
    """Chains of overlaps are added up without a union, cycles are unioned; a pair
    that overlaps by under 1 m² closes a cycle too (A, B, C below: a sum would count
    the 0.5 m² the three share twice)."""
    from conftest import frame

    rng = np.random.default_rng(seed)
    shapes = {
        "A": shapely.box(0, 0, 10, 10),
        "B": shapely.box(5, 0, 15, 10),  # A ∩ B: 50 m²
        "C": shapely.box(9.5, 9, 20, 20),  # C ∩ A: 0.5 m², C ∩ B: 5.5 m²
    }
    for i in range(120):
        x, y = rng.uniform(1000, 4000, 2)
        shapes[f"H{i}"] = shapely.Point(x, y).buffer(rng.uniform(30, 200), quad_segs=4)
    rows = [{"record_id": k, "record_type": "SHA", "geometry": g} for k, g in shapes.items()]
    dist = districts_frame({"Cəbrayıl": sq(-5000, -5000, 20000)})
    found = validate(dist, frame(rows)).findings
    found = found[found["check"] == "overlapping_hazards"]
    assert len(found) >= 10
    sizes = []
    for ids, ha in zip(found["record_id"], found["area_ha"], strict=True):
        members = ids.split("; ")
        sizes.append(len(members))
        assert ha == pytest.approx(_held_by_overlays(shapes, members), rel=1e-4)
    assert max(sizes) >= 4  # chains and cycles of several records, not only pairs
    abc = found[found["record_id"] == "A; B; C"]["area_ha"]
    assert abc.iloc[0] == pytest.approx(55.0 / 1e4, rel=1e-4)  # not 55.5 m²


@pytest.mark.parametrize("seed", range(4))
def test_cluster_texts_name_each_clusters_records_and_its_first_largest_pair(seed):
    """The messages of overlapping-hazard clusters, made for all clusters at once,
    name what a cluster-by-cluster reading of the pairs finds: its records in order,
    the last of them, and its largest pair (the first of equals, in pair order)."""
    from mineland.validation._overlaps import _cluster_texts, _clusters

    rng = np.random.default_rng(seed)
    n = 120  # records in 15 blocks of 8: pairs within a block only
    a = rng.integers(0, 15, 90) * 8 + rng.integers(0, 4, 90)
    b = a + rng.integers(1, 4, 90)
    pair = np.unique(np.stack([a, b], axis=1), axis=0)
    pair = pair[rng.permutation(len(pair))]
    a, b = pair[:, 0], pair[:, 1]
    pair_ha = rng.choice([0.5, 1.0, 2.0], len(a))  # many equals
    labels, pair_cluster = np.unique(_clusters(a, b), return_inverse=True)
    held = rng.uniform(0, 9, len(labels))
    ids = np.array([f"H-{k:03d}" for k in range(n)], dtype=object)
    rtype = np.array(["SHA", "CHA"] * (n // 2), dtype=object)
    messages, last, members = _cluster_texts(a, b, pair_ha, pair_cluster, held, ids, rtype)
    assert len(messages) == len(labels) > 3
    for c in range(len(labels)):
        idx = np.flatnonzero(pair_cluster == c)
        recs = sorted(set(a[idx]) | set(b[idx]))
        top = max(idx, key=lambda k: (pair_ha[k], -k))
        i, j = a[top], b[top]
        assert messages[c] == (
            f"{len(recs)} hazard records overlap: {held[c]:,.4f} ha recorded twice or more; "
            f"the largest overlap: {rtype[i]} {ids[i]!r} and {rtype[j]} {ids[j]!r} "
            f"({pair_ha[top]:,.4f} ha)"
        )
        assert last[c] == recs[-1]
        assert members[c] == "; ".join(ids[recs])


@pytest.mark.parametrize("seed", range(3))
def test_locations_the_accounting_settled_equal_those_looked_up(seed):
    """The location check takes the records the accounting counted in a district as
    inside and looks up only the rest: its findings equal those of looking up every
    record, for hazards, releases and devices inside, across a border, outside, and
    swapped."""
    from conftest import frame

    from mineland.accounting import account
    from mineland.districts import as_districts
    from mineland.records import as_survey_data
    from mineland.validation._spatial import _location_checks
    from mineland.validation.checks import Findings

    rng = np.random.default_rng(seed)
    dist = as_districts(districts_frame({"Goražde": sq(0, 0, 8000), "Cəbrayıl": sq(8000, 0, 8000)}))
    kinds = ["SHA", "CHA", "cleared", "reduced", "cancelled", "device", "incident"]
    rows = []
    for i in range(300):
        x, y = rng.uniform(-3000, 18000), rng.uniform(-3000, 10000)
        kind = kinds[i % len(kinds)]
        shape = shapely.Point(x, y) if kind in ("device", "incident") else sq(x, y, 900)
        rows.append({"record_id": f"R{i}", "record_type": kind, "geometry": shape})
    records = as_survey_data(frame(rows)).records
    lon, lat = shapely.get_coordinates(records.geometry.iloc[5])[0]
    swapped = records.iloc[[5]].assign(record_id="SW", geometry=[shapely.Point(lat, lon)])
    records = pd.concat([records, swapped], ignore_index=True)
    acc = account(dist, records)
    slots = acc.record_slots
    assert ((slots >= 0) & (slots < len(dist))).sum() > 50  # settled by the accounting
    settled, looked_up = Findings(), Findings()
    _location_checks(records, dist, settled, slots)
    _location_checks(records, dist, looked_up)
    pd.testing.assert_frame_equal(settled.frame(), looked_up.frame())
    outside = set(settled.frame()["record_id"])
    assert len(outside) > 30 and "SW" in outside


@pytest.mark.parametrize("seed", range(3))
def test_finding_shapes_are_valid_and_hold_their_hectares(seed):
    """Hazards overlapping three and more at a time, and releases of all three methods
    side by side across hazard edges: every shape a finding draws is valid (no
    overlapping or edge-sharing parts), and its ellipsoidal area (pyproj's Geod on
    the lon/lat shape, independent of the projection measured in) is the finding's
    hectares."""
    from conftest import frame, geod_ha

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(60):
        x, y = rng.uniform(0, 7000), rng.uniform(0, 3000)
        blob = shapely.Point(x, y).buffer(rng.uniform(100, 400), quad_segs=4)
        rows.append({"record_id": f"H{i}", "record_type": "SC"[i % 2] + "HA", "geometry": blob})
    for i in range(20):
        x, y = rng.uniform(0, 7000), rng.uniform(0, 3000)
        for k, kind in enumerate(("cleared", "reduced", "cancelled")):
            rows.append(
                {
                    "record_id": f"R{i}{kind}",
                    "record_type": kind,
                    "geometry": sq(x + 200 * k, y, 200),
                }
            )
    # a pair that overlaps in a square and touches along a line: their intersection
    # is a polygon and a line
    a, c = sq(9000, 1000, 400), sq(8500, 500, 900, 1400).difference(sq(9000, 1000, 320, 400))
    rows += [
        {"record_id": f"T{k}", "record_type": "SHA", "geometry": g} for k, g in enumerate((a, c))
    ]
    assert a.intersection(c).geom_type == "GeometryCollection"
    halves = {"Goražde": sq(-1000, -1000, 5000, 6000), "Cəbrayıl": sq(4000, -1000, 5500, 6000)}
    found = validate(districts_frame(halves), frame(rows), today=TODAY).findings
    for check in ("overlapping_hazards", "released_outside_hazard"):
        mine = found[found["check"] == check]
        geoms = np.asarray(mine.geometry.array, dtype=object)
        assert len(mine) >= 2 and shapely.is_valid(geoms).all()
        assert set(shapely.get_type_id(geoms)) <= {3, 6}  # polygons only
        drawn = [geod_ha(g) for g in geoms]  # to a square metre: slivers where edges met
        np.testing.assert_allclose(drawn, mine["area_ha"], rtol=1e-6, atol=1e-4)
    triple = found[found["check"] == "overlapping_hazards"]["message"].str.match(r"[3-9]|\d\d")
    assert triple.any()  # some clusters hold three records or more


def test_overlap_shapes_leave_out_the_lines_where_records_also_touch():
    """Two records that overlap in a square and also touch along an edge meet in a
    polygon and lines: the finding draws the polygon, with its hectares."""
    from types import SimpleNamespace

    from mineland.geometry import OverlayLog
    from mineland.validation._overlaps import _held

    c_shape = sq(-500, -500, 1500, 2000).difference(sq(0, 0, 800, 1000))
    piece = sq(0, 0, 1000).intersection(c_shape)
    assert piece.geom_type == "GeometryCollection"
    acc = SimpleNamespace(regions=[SimpleNamespace(crs=TEST_LAEA)])
    one = np.array([0])
    held, geoms = _held(one, np.array([piece], dtype=object), one * 0, 1, acc, OverlayLog())
    assert geoms[0].geom_type in ("Polygon", "MultiPolygon") and geoms[0].is_valid
    assert held[0] == pytest.approx(piece.area / 1e4, rel=1e-12)  # 200 m × 1 km: 20 ha


def _near_misses(rng, n: int = 60):
    """Hazards on a grid (SHA, some with a CHA along one side) and a cleared record
    for most: moved by a few millimetres (slivers only outside H), by metres (land
    outside H), or shrunk inside, at random; a release over both an SHA and its CHA."""
    from conftest import frame

    rows, moves = [], {}
    for i in range(n):
        x, y = 400.0 * (i % 10), 400.0 * (i // 10)
        rows.append({"record_id": f"S{i}", "record_type": "SHA", "geometry": sq(x, y, 200)})
        if i % 3 == 0:
            rows.append(
                {"record_id": f"C{i}", "record_type": "CHA", "geometry": sq(x + 200, y, 50, 200)}
            )
        kind = rng.choice(["sliver", "out", "in", "none"], p=[0.45, 0.25, 0.2, 0.1])
        base = sq(x, y, 250 if i % 3 == 0 else 200, 200)
        shape = {
            "sliver": shapely.affinity.translate(base, *rng.uniform(-0.003, 0.003, 2)),
            "out": shapely.affinity.translate(base, *rng.uniform(3, 8, 2)),
            "in": shapely.affinity.scale(base, 0.5, 0.5),
        }.get(kind)
        if shape is not None:
            rows.append({"record_id": f"R{i}", "record_type": "cleared", "geometry": shape})
            moves[f"R{i}"] = kind
    return frame(rows), moves


@pytest.mark.parametrize("seed", [5, 6])
def test_release_parts_that_leave_slivers_only_are_found_without_an_overlay(seed):
    """The release parts said to leave only slivers under 1 m² outside H (from the
    accounting's hectares, without an overlay) do so, by shapely's own overlay; the
    parts that leave more are never among them, and most sliver-only parts are."""
    from mineland.geometry import OverlayLog
    from mineland.validation._spatial import _released, _slivers_only

    surveys, moves = _near_misses(np.random.default_rng(seed))
    dist = districts_frame({"Goražde": sq(-5000, -5000, 15000)})
    acc = mineland.account(dist, surveys)
    region = acc.regions[0]
    rtype = acc.records["record_type"].to_numpy(dtype=object)
    parts = _released(region, rtype, OverlayLog())
    flagged = _slivers_only(parts, region)
    hazards = shapely.union_all(region.pieces[np.isin(rtype[region.piece_record], ["SHA", "CHA"])])
    largest = np.array(
        [
            max(shapely.area(shapely.get_parts(shapely.difference(p, hazards))), default=0.0)
            for p in parts
        ]
    )
    assert (largest[flagged] < 1.0).all()
    assert flagged.sum() >= 15 and (largest >= 1.0).sum() >= 8
    leaves = (largest > 0) & (largest < 1.0)
    assert flagged[leaves].mean() > 0.5  # slivers next to land outside H are cut still
    assert list(moves.values()).count("sliver") >= 15


@pytest.mark.parametrize("seed", [5, 6])
def test_released_outside_names_the_hectares_in_slivers(seed):
    """The finding draws the pieces of 1 m² or more, as shapely's overlay makes them,
    and gives the hectares left in slivers; both add up to its hectares."""
    from conftest import geod_ha

    surveys, _ = _near_misses(np.random.default_rng(seed))
    dist = districts_frame({"Cəbrayıl": sq(-5000, -5000, 15000)})
    found = validate(dist, surveys, today=TODAY).findings
    row = found[found["check"] == "released_outside_hazard"].iloc[0]
    laea = surveys.to_crs(TEST_LAEA)
    hazards = shapely.union_all(laea[laea["record_type"].isin(["SHA", "CHA"])].geometry)
    releases = laea[laea["record_type"] == "cleared"].geometry
    pieces = shapely.get_parts(shapely.difference(np.asarray(releases, dtype=object), hazards))
    area = shapely.area(pieces)
    big, small = area[area >= 1.0].sum() / 1e4, area[area < 1.0].sum() / 1e4
    assert small > 0.001 and big > 1.0
    drawn = geod_ha(row.geometry)
    assert drawn == pytest.approx(big, rel=1e-5)
    assert row["area_ha"] == pytest.approx(big + small, rel=1e-5)
    said = float(row["message"].split("; ")[-1].split(" ha of it in slivers")[0])
    assert said == pytest.approx(small, abs=1e-4)
    assert said == pytest.approx(row["area_ha"] - drawn, abs=1e-4)


def test_overlap_clusters_with_records_inside_others_hold_every_overlap_once():
    """Hazards inside others (a CHA in its SHA, copies, nests three deep) overlap
    others too: each cluster's hectares and shape are the union of all its pairwise
    overlaps, worked out here with shapely, though the covered ones are not drawn
    twice."""
    from conftest import frame, geod_ha

    rng = np.random.default_rng(8)
    blobs = list(
        shapely.buffer(
            shapely.points(rng.uniform(0, 4000, (60, 2))), rng.uniform(80, 300, 60), quad_segs=6
        )
    )
    nested = [shapely.affinity.scale(g, f, f) for g in blobs[:30] for f in (0.7, 0.4)]
    shapes = blobs + nested + blobs[30:35]  # five exact copies
    rows = [
        {"record_id": f"H{i:03d}", "record_type": "CHA" if i >= 60 else "SHA", "geometry": g}
        for i, g in enumerate(shapes)
    ]
    found = validate(
        districts_frame({"Goražde": sq(-5000, -5000, 15000)}), frame(rows), today=TODAY
    ).findings
    found = found[found["check"] == "overlapping_hazards"]
    assert len(found) >= 5
    by_id = {r["record_id"]: g for r, g in zip(rows, shapes, strict=True)}
    for ids, ha, shape in zip(found["record_id"], found["area_ha"], found.geometry, strict=True):
        members = [by_id[i] for i in ids.split("; ")]
        overlaps = [
            shapely.intersection(p, q) for k, p in enumerate(members) for q in members[k + 1 :]
        ]
        want = shapely.area(shapely.union_all(overlaps)) / 1e4
        assert ha == pytest.approx(want, rel=1e-5)
        assert geod_ha(shape) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("seed", [7, 8])
def test_released_outside_is_the_same_whether_sliver_only_parts_are_cut_or_not(seed, monkeypatch):
    """Leaving uncut the release parts that can only leave slivers changes nothing a
    user sees: the same shapes, hectares, records and messages as cutting them all,
    on near misses and on random blobs released with random moves."""
    from conftest import frame

    import mineland.validation._spatial as spatial

    rng = np.random.default_rng(seed)
    near, _ = _near_misses(rng)
    blobs = shapely.buffer(shapely.points(rng.uniform(0, 5000, (150, 2))), 200, quad_segs=5)
    rows = [
        {"record_id": f"B{i}", "record_type": "SHA", "geometry": g} for i, g in enumerate(blobs)
    ]
    for i, g in enumerate(blobs[:100]):
        step = rng.choice([0.002, 0.5, 20.0]) * rng.uniform(-1, 1, 2)
        moved = shapely.affinity.translate(g, *step)
        rows.append({"record_id": f"Q{i}", "record_type": "reduced", "geometry": moved})
    dist = districts_frame(
        {"West": sq(-9000, -9000, 11500, 20000), "East": sq(2500, -9000, 9000, 20000)}
    )
    for surveys in (near, frame(rows)):
        got = validate(dist, surveys, today=TODAY).findings
        with monkeypatch.context() as m:
            m.setattr(spatial, "_slivers_only", lambda parts, region: np.zeros(len(parts), bool))
            want = validate(dist, surveys, today=TODAY).findings
        got, want = (x[x["check"] == "released_outside_hazard"] for x in (got, want))
        assert len(got) >= 1 and (got["message"].str.contains("in slivers")).any()
        assert got["message"].tolist() == want["message"].tolist()
        assert got["record_id"].tolist() == want["record_id"].tolist()
        np.testing.assert_allclose(got["area_ha"], want["area_ha"], rtol=1e-12)
        apart = shapely.area(shapely.symmetric_difference(got.geometry.array, want.geometry.array))
        assert (apart < 1e-15).all()  # square degrees: far under a square millimetre
