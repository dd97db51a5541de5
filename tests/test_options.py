"""Every option of every command does what it says (and a test names each one)."""

from __future__ import annotations

import re

import click
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from conftest import DISTRICTS, ROOT, SURVEYS, districts_frame, frame, run, sq

from mineland.cli import main

READING = ["summarize", "map", "raster", "impact", "validate", "progress", "report", "unmapped"]
LANDCOVER = ROOT / "data" / "landcover" / "synthetic_landcover.tif"


def outputs(command: str, tmp) -> list:
    """The arguments a command needs besides its inputs."""
    return {
        "map": ["-o", tmp / "m.html", "--tiles", "none"],
        "raster": ["-o", tmp / "d.tif", "--resolution", "200"],
        "impact": ["--landcover", tmp / "lc.tif", "-o", tmp / "i.csv"],
        "report": ["-o", tmp / "r.html"],
        "progress": ["-o", tmp / "p.csv"],
        "summarize": ["-o", tmp / "s.csv"],
        "validate": ["-o", tmp / "f.csv"],
        "unmapped": ["-o", tmp / "u.gpkg"],
    }[command]


@pytest.fixture
def layered(tmp_path):
    """Two districts in a GeoPackage: one in each of the layers 'west' and 'east'
    (named in 'name' and in 'label'), both in 'both'; a few dated records (one of them
    an invalid bowtie); and a land cover."""
    dpath = tmp_path / "districts.gpkg"
    for layer, (name, x0) in {"west": ("West", 0), "east": ("East", 10_000)}.items():
        d = districts_frame({name: sq(x0, 0, 10_000)})
        d["label"] = f"{name} district"
        d.to_file(dpath, layer=layer, engine="pyogrio")
    both = districts_frame({"West": sq(0, 0, 10_000), "East": sq(10_000, 0, 10_000)})
    both.to_file(dpath, layer="both", engine="pyogrio")
    bowtie = shapely.Polygon([(15_000, 5_000), (17_000, 7_000), (17_000, 5_000), (15_000, 7_000)])
    rows = [
        {
            "record_id": "H1",
            "record_type": "SHA",
            "date": "2021-03-01",
            "geometry": sq(1000, 1000, 3000),
        },
        {
            "record_id": "H2",
            "record_type": "CHA",
            "date": "2022-05-01",
            "geometry": sq(11_000, 1000, 3000),
        },
        {
            "record_id": "R1",
            "record_type": "cleared",
            "date": "2023-07-01",
            "geometry": sq(1000, 1000, 1000),
        },
        {"record_id": "BAD", "record_type": "SHA", "date": "2019-01-01", "geometry": bowtie},
    ]
    spath = tmp_path / "surveys.gpkg"
    frame(rows).to_file(spath, engine="pyogrio")
    # a land cover over both districts: class 10 west of 10 km, class 40 east
    west, south, east, north = frame([{"geometry": sq(-1000, -1000, 22_000)}]).total_bounds
    arr = np.where(np.arange(220)[None, :] < 110, 10, 40).astype(np.uint8).repeat(220, axis=0)
    profile = {
        "driver": "GTiff",
        "width": 220,
        "height": 220,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": Affine((east - west) / 220, 0, west, 0, -(north - south) / 220, north),
        "nodata": 0,
    }
    with rasterio.open(tmp_path / "lc.tif", "w", **profile) as dst:
        dst.write(arr, 1)
    return dpath, spath


def invoke(command, layered, tmp, *extra):
    dpath, spath = layered
    return run(command, dpath, spath, *outputs(command, tmp), *extra)


# --------------------------------------------------------------------------- shared options


@pytest.mark.parametrize("command", READING)
def test_layer_picks_the_district_layer(command, layered, tmp_path):
    assert invoke(command, layered, tmp_path, "--layer", "west").exit_code in (0, 1)
    result = invoke(command, layered, tmp_path, "--layer", "north")
    assert result.exit_code == 2 and "north" in result.stderr


@pytest.mark.parametrize("command", READING)
def test_name_field_names_the_districts(command, layered, tmp_path):
    result = invoke(command, layered, tmp_path, "--layer", "east", "--name-field", "nosuch")
    assert result.exit_code == 2 and "'nosuch'" in result.stderr


def test_layer_and_name_field_change_the_table(layered, tmp_path):
    out = tmp_path / "s.csv"
    for layer, field, name in (("west", "name", "West"), ("east", "label", "East district")):
        assert (
            invoke(
                "summarize", layered, tmp_path, "--layer", layer, "--name-field", field
            ).exit_code
            == 0
        )
        assert list(pd.read_csv(out)["district"]) == [name, "(outside districts)"]


@pytest.mark.parametrize("command", READING)
def test_on_invalid_reject_rejects_the_bowtie(command, layered, tmp_path):
    rejected = tmp_path / "rejected.csv"
    result = invoke(
        command,
        layered,
        tmp_path,
        "--layer",
        "east",
        "--on-invalid",
        "reject",
        "--rejected",
        rejected,
    )
    assert result.exit_code in (0, 1), result.output
    table = pd.read_csv(rejected)
    assert list(table["record_id"]) == ["BAD"] and (table["check"] == "invalid_geometry").all()


def test_on_invalid_fix_keeps_the_bowtie(layered, tmp_path):
    dpath, spath = layered
    out = tmp_path / "s.csv"
    assert run("summarize", dpath, spath, "--layer", "east", "-o", out).exit_code == 0
    fixed = pd.read_csv(out)["sha_ha"].sum()
    run("summarize", dpath, spath, "--layer", "east", "--on-invalid", "reject", "-o", out)
    assert fixed > pd.read_csv(out)["sha_ha"].sum() > 0  # the repaired bowtie counts


@pytest.mark.parametrize("command", READING)
def test_quiet_and_verbose(command, layered, tmp_path):
    quiet = invoke(command, layered, tmp_path, "--layer", "west", "-q")
    assert quiet.exit_code in (0, 1) and "districts from" not in quiet.stderr
    loud = invoke(command, layered, tmp_path, "--layer", "west", "-vv")
    assert "districts from" in loud.stderr
    assert "accounting: preparing" in loud.stderr  # a debug line


# --------------------------------------------------------------------------- per command


def test_raster_by_splits_the_density_and_grid_crs_sets_the_grid(layered, tmp_path):
    sums = {}
    for by in ("all", "cha", "sha"):
        out = tmp_path / f"{by}.tif"
        args = ["--layer", "both", "--by", by, "--grid-crs", "EPSG:32638", "--resolution", "100"]
        assert run("raster", *layered, "-o", out, *args).exit_code == 0
        with rasterio.open(out) as src:
            assert src.crs.to_epsg() == 32638
            band = src.read(1)
            sums[by] = float(band[band > 0].sum(dtype=np.float64))
    assert sums["cha"] > 0 and sums["sha"] > 0
    assert sums["all"] == pytest.approx(sums["cha"] + sums["sha"], rel=1e-5)


def test_impact_classes_name_the_land_cover(layered, tmp_path):
    classes = tmp_path / "classes.csv"
    classes.write_text("value,name\n10,Orchards\n40,Wheat fields\n")
    out = tmp_path / "i.csv"
    args = ["--landcover", tmp_path / "lc.tif", "--classes", classes, "-o", out]
    assert run("impact", *layered, "--layer", "west", *args).exit_code == 0
    assert "Orchards" in set(pd.read_csv(out)["class_name"])


def test_validate_start_date_and_strict(layered, tmp_path):
    out = tmp_path / "f.csv"
    result = run("validate", *layered, "--layer", "west", "--start-date", "2022-01-01", "-o", out)
    early = pd.read_csv(out)
    flagged = set(early.loc[early["check"] == "date_before_start", "record_id"])
    assert flagged == {"H1", "BAD"}  # dated before 2022-01-01 (H2 and R1 after)
    assert result.exit_code == 0  # warnings only
    assert run("validate", *layered, "--layer", "west", "--strict").exit_code == 1


def test_progress_start_begins_the_first_period(layered, tmp_path):
    out = tmp_path / "p.csv"
    args = ["--freq", "quarter", "--start", "2023-04-01", "--end", "2023-12-31", "-o", out]
    assert run("progress", *layered, "--layer", "west", *args).exit_code == 0
    ends = sorted(pd.read_csv(out)["period_end"].unique())
    assert ends == ["2023-06-30", "2023-09-30", "2023-12-31"]


def test_convert_quiet_and_verbose(layered, tmp_path):
    _, spath = layered
    quiet = run("convert", spath, "-o", tmp_path / "q.parquet", "-q")
    assert quiet.exit_code == 0 and quiet.stderr.strip() == ""
    loud = run("convert", spath, "-o", tmp_path / "v.parquet", "-v")
    assert "wrote 4 records" in loud.stderr


# --------------------------------------------------------------------------- coverage


def test_every_option_of_every_command_is_exercised_by_a_test():
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    missing = []
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        for param in main.get_command(ctx, name).params:
            if param.param_type_name != "option" or param.name == "help":
                continue
            flags = param.opts + param.secondary_opts
            if not any(re.search(rf"[\"']{re.escape(f)}[\"']", text) for f in flags):
                missing.append(f"{name} {'/'.join(flags)}")
    assert missing == []


@pytest.mark.parametrize(
    "args, option",
    [
        (["map", "-o", "{tmp}/m.html", "--forecast", "banana"], "--forecast"),
        (["map", "-o", "{tmp}/m.html", "--density", "nan"], "--density"),
        (["raster", "-o", "{tmp}/r.tif", "--resolution", "inf"], "--resolution"),
        (["unmapped", "--distance", "nan"], "--distance"),
        (["summarize", "--connect-timeout", "nan"], "--connect-timeout"),
        (["forecast", "--window", "99999y"], "--window"),
    ],
)
def test_option_values_that_mean_nothing_are_usage_errors(tmp_path, args, option):
    """nan and inf pass click's ranges, and a map's forecast window was checked only
    once the map was drawn (the layer left out with a warning, exit 0); a window of
    99,999 years was an internal error.  Each is now exit 2 before any reading."""
    command, *rest = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = CliRunner().invoke(main, [command, str(DISTRICTS), str(SURVEYS), *rest])
    assert r.exit_code == 2, r.output
    assert f"Invalid value for '{option}'" in r.stderr
    assert "records from" not in r.stderr  # nothing was read
    assert list(tmp_path.iterdir()) == []
