"""Every command over a corpus of generated pathologies: exit 0 or 1 with findings,
never an internal error; every row used or rejected; the classes add up."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ROOT
from pathologies import write

import mineland
from mineland.cli import main
from mineland.validation import CHECKS

LANDCOVER = ROOT / "data" / "landcover" / "synthetic_landcover.tif"
COMMANDS = {
    "summarize": lambda out: ["summarize", "-o", out / "s.csv"],
    "map": lambda out: [
        "map",
        "-o",
        out / "m.html",
        "--density",
        "250",
        "--timeline",
        "year",
        "--unmapped",
        "--forecast",
        "1y",
    ],
    "unmapped": lambda out: ["unmapped", "-o", out / "u.gpkg", "--distance", "100"],
    "forecast": lambda out: ["forecast", "-o", out / "f.csv", "--window", "1y"],
    "validate": lambda out: ["validate", "-o", out / "v.csv"],
    "progress": lambda out: ["progress", "-o", out / "p.csv"],
    "report": lambda out: ["report", "-o", out / "r.xlsx"],
    "raster": lambda out: ["raster", "-o", out / "d.tif", "--resolution", "250"],
    "impact": lambda out: ["impact", "-o", out / "i.csv", "--landcover", LANDCOVER],
    "dask": lambda out: ["summarize", "--engine", "dask", "-o", out / "dask.csv"],
}


@pytest.fixture(scope="module", params=[1, 2, 3])
def corpus(request, tmp_path_factory):
    return write(tmp_path_factory.mktemp("pathologies"), request.param)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_survives_the_corpus(corpus, command, tmp_path):
    districts, surveys, _ = corpus
    head, *rest = COMMANDS[command](tmp_path)
    args = [head, districts, surveys, "--crs", "EPSG:4326", *rest]
    result = CliRunner().invoke(main, [str(a) for a in args])
    if command == "forecast" and result.exit_code == 2:  # all dated one day: no pace
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("mineland: error:") and "shorter window" in last
        return
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output
    assert "Traceback" not in result.output


def test_convert_survives_the_corpus(corpus, tmp_path):
    _, surveys, _ = corpus
    args = ["convert", surveys, "--crs", "EPSG:4326", "-o", tmp_path / "out.parquet"]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output


def test_rows_are_conserved_and_classes_add_up(corpus):
    districts, surveys, n_rows = corpus
    data = mineland.read_surveys(surveys, crs="EPSG:4326")
    assert len(data.records) + len(data.rejected) == n_rows
    assert len(data.rejected) == 3  # the 2-point ring, the unknown type, the empty WKT
    acc = mineland.account(mineland.read_districts(districts), data)
    s = acc.summary
    parts = s[["sha_ha", "cha_ha", "cleared_ha", "reduced_ha", "cancelled_ha"]].sum(axis=1)
    assert (parts - s["recorded_ha"]).abs().max() < 1e-9
    assert mineland.schema.OUTSIDE in set(s["district"])  # the record far outside
    assert set(s["district"]) >= {"Cəbrayıl", "Goražde", "Füzuli", "Ağdam", "Laçın", "Zəngilan"}
    assert (s["district"] == "Füzuli").sum() == 1  # two features, one district


def test_validation_reports_the_pathologies(corpus):
    districts, surveys, _ = corpus
    report = mineland.validate(
        mineland.read_districts(districts), mineland.read_surveys(surveys, crs="EPSG:4326")
    )
    checks = set(report.findings["check"])
    assert report.failures == []
    assert {"repaired_geometry", "district_overlap", "district_gap", "outside_districts"} <= checks
    assert {"unknown_record_type", "district_repaired"} <= checks
    repaired = report.findings[report.findings["check"] == "repaired_geometry"]
    assert repaired["message"].str.contains("ring traced twice").any()
    assert isinstance(report.findings, pd.DataFrame)
    # every finding carries its check's severity, and the summary counts them all
    severity = report.findings["check"].map(lambda c: CHECKS[c][0])
    assert (report.findings["severity"] == severity).all()
    assert report.summary["findings"].sum() == len(report.findings)
