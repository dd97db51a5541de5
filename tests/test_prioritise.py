"""Hazard prioritisation: scores follow from the profile, on crafted layers."""

from __future__ import annotations

import re
import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from affine import Affine
from click.testing import CliRunner
from conftest import DISTRICTS, SURVEYS, TEST_LAEA, districts_frame, frame, run, sq

import mineland
from mineland.cli import main
from mineland.priorities import DEFAULT_PROFILE, load_profile, prioritise
from mineland.rasterdata import RasterData


@pytest.fixture
def land():
    return districts_frame({"West": sq(0, 0, 30_000), "East": sq(30_000, 0, 30_000)})


def points(*xy, crs=TEST_LAEA):
    return gpd.GeoDataFrame(geometry=[shapely.Point(x, y) for x, y in xy], crs=crs)


def hazards(*rows):
    return frame(
        [
            {"record_type": t, "geometry": sq(x, y, 500), "record_id": rid, **kw}
            for rid, t, x, y, kw in rows
        ]
    )


def ranked(result):
    return list(result.table["record_id"])


def test_a_hazard_beside_a_settlement_outranks_one_20_km_away(land):
    data = hazards(("FAR", "SHA", 21_000, 21_000, {}), ("NEAR", "SHA", 1000, 1000, {}))
    result = prioritise(land, data, layers={"settlements": points((1700, 1250))})
    assert ranked(result) == ["NEAR", "FAR"]
    table = result.table.set_index("record_id")
    assert table.loc["NEAR", "settlements_score"] == 25.0  # 200 m: the first band
    assert table.loc["FAR", "settlements_score"] == 0.0


def test_distance_bands_are_geodesic_metres(land):
    # a settlement 800 m east of the hazard's edge: the 1,000 m band, score 0.6
    data = hazards(("H", "SHA", 1000, 1000, {}))
    for x, expected in ((1500 + 800, 0.6 * 25), (1500 + 1900, 0.3 * 25), (1500 + 2100, 0)):
        result = prioritise(land, data, layers={"settlements": points((x, 1250))})
        assert result.table["settlements_score"].iloc[0] == pytest.approx(expected)


def test_the_weights_change_the_order_as_documented(land):
    data = hazards(("CHA-FAR", "CHA", 21_000, 21_000, {}), ("SHA-NEAR", "SHA", 1000, 1000, {}))
    towns = {"settlements": points((1700, 1250))}
    assert ranked(prioritise(land, data, layers=towns)) == ["SHA-NEAR", "CHA-FAR"]
    profile = load_profile(
        "[criteria.class]\nweight = 10\n[layers.settlements]\nweight = 2\nbands = [[500, 1.0]]\n"
    )
    # class: CHA 10 against SHA 5; settlements 2: the CHA comes first now
    assert ranked(prioritise(land, data, profile=profile, layers=towns)) == ["CHA-FAR", "SHA-NEAR"]


def test_casualties_nearby_come_first(land):
    data = pd.concat(
        [
            hazards(("QUIET", "CHA", 1000, 1000, {}), ("DEADLY", "SHA", 10_000, 10_000, {})),
            frame(
                [
                    {
                        "record_id": "I",
                        "record_type": "incident",
                        "killed": 1,
                        "injured": 1,
                        "date": "2024-05-01",
                        "geometry": shapely.Point(10_800, 10_250),
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    result = prioritise(land, gpd.GeoDataFrame(data, crs=4326), as_of="2024-12-31")
    table = result.table.set_index("record_id")
    assert ranked(result)[0] == "DEADLY"
    assert table.loc["DEADLY", "casualties_score"] == 40.0  # (1 + 2) / 3, capped at 1
    old = prioritise(
        land, gpd.GeoDataFrame(data.assign(date="2015-01-01"), crs=4326), as_of="2024-12-31"
    ).table.set_index("record_id")
    assert old.loc["DEADLY", "casualties_score"] == 0  # outside the 5 years


def test_released_land_is_not_ranked_and_remaining_hectares_are_right(land):
    data = pd.concat(
        [
            hazards(("H", "SHA", 1000, 1000, {})),
            frame(
                [{"record_id": "R", "record_type": "cleared", "geometry": sq(1000, 1000, 500, 200)}]
            ),
        ],
        ignore_index=True,
    )
    table = prioritise(land, gpd.GeoDataFrame(data, crs=4326)).table
    assert list(table["record_id"]) == ["H"]
    assert table["remaining_ha"].iloc[0] == pytest.approx(15.0, rel=1e-6)  # 25 − 10 ha


def test_blockage_attributes_and_land_cover(land):
    data = hazards(
        ("ROAD", "SHA", 1000, 1000, {"blocks_road": "Yes"}),
        ("NONE", "SHA", 5000, 1000, {"blocks_road": "no"}),
    )
    arr = np.full((60, 60), 10, dtype=np.uint8)
    arr[:, 30:] = 40  # cropland east of x = 3,000 m
    lc = RasterData(arr, Affine(100, 0, 0, 0, -100, 6000), TEST_LAEA, 0)
    profile = load_profile(
        "[criteria.landcover]\nweight = 15\nclasses = [40]\n[attributes]\nblocks_road = 10\n"
    )
    table = prioritise(land, data, profile=profile, landcover=lc).table.set_index("record_id")
    assert (
        table.loc["ROAD", "blocks_road_score"] == 10 and table.loc["NONE", "blocks_road_score"] == 0
    )
    assert table.loc["NONE", "landcover_score"] == pytest.approx(15.0, rel=1e-6)  # all crops
    assert table.loc["ROAD", "landcover_score"] == pytest.approx(0.0, abs=1e-9)


def test_scores_are_reproducible(demo):
    a = prioritise(*demo).table.drop(columns="geometry")
    b = prioritise(*demo).table.drop(columns="geometry")
    pd.testing.assert_frame_equal(a, b)
    assert (a["total"].diff().dropna() <= 1e-12).all()  # ranked best first


def test_a_bad_profile_is_a_clear_error():
    with pytest.raises(mineland.SchemaError, match="ascend"):
        load_profile("[layers.roads]\nweight = 1\nbands = [[500, 1.0], [100, 0.5]]\n")
    with pytest.raises(mineland.SchemaError, match="valid TOML"):
        load_profile("weights = [")
    assert DEFAULT_PROFILE["criteria"]["casualties"]["weight"] > 0


# --------------------------------------------------------------------------- command


@pytest.mark.parametrize(
    "text, words",
    [
        ('weights = "x"\n', "'weights' is not a table of a profile"),
        ("[weights]\nsettlements = 5\n", "'weights' is not a table of a profile"),
        ("[criteria.casualty]\nweight = 40\n", "unknown criterion 'casualty'"),
        ("[criteria.class]\nweight = nan\n", "must be a finite number, got nan"),
        ("[criteria.class]\nweight = inf\n", "must be a finite number, got inf"),
        ("[criteria.class]\nweight = true\n", "must be a finite number, got True"),
        ("[criteria.class]\nweight = 0\n", "gives no criterion a weight"),
        ("[layers.roads]\nweight = 1\nbands = [[100, 1.5]]\n", "between 0 and 1"),
        ("[layers.roads]\nweight = 1\nbands = [[nan, 1.0]]\n", "a band's distance"),
        ("[layers.roads]\nweight = 1\nbands = [[-5, 1.0]]\n", "from 0 up"),
        ('[attributes]\nblocked = "x"\n', "attribute 'blocked'"),
    ],
)
def test_a_profile_that_would_rank_nothing_or_garbage_is_a_clear_error(tmp_path, text, words):
    """A misspelt table or criterion weighed nothing and a weight of nan or inf gave
    nan totals, each ranked with exit 0; now the profile is refused, naming what is
    wrong, from a file on the command line as from a dict in the library."""
    with pytest.raises(mineland.SchemaError, match=re.escape(words)):
        load_profile(text)
    path = tmp_path / "profile.toml"
    path.write_text(text)
    r = CliRunner().invoke(
        main, ["prioritise", str(DISTRICTS), str(SURVEYS), "--profile", str(path)]
    )
    assert r.exit_code == 2 and words in r.stderr, r.output
    assert "records from" not in r.stderr  # said before anything was read
    with pytest.raises(mineland.SchemaError, match=re.escape(words)):
        prioritise(
            mineland.read_districts(DISTRICTS),
            mineland.read_surveys(SURVEYS),
            profile=tomllib.loads(text),
        )


def test_cli_writes_the_ranking_with_every_score(tmp_path):
    towns = tmp_path / "towns.geojson"
    points((0, 0), crs=4326).assign(name="x").set_geometry([shapely.Point(46.6, 39.8)]).to_file(
        towns
    )
    out = tmp_path / "ranked.gpkg"
    result = run(
        "prioritise",
        DISTRICTS,
        SURVEYS,
        "--layer-file",
        f"settlements={towns}",
        "--top",
        "3",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    assert {name for name, _ in pyogrio.list_layers(out)} == {"priorities", "weights"}
    table = gpd.read_file(out, layer="priorities")
    assert {"casualties_score", "class_score", "size_score", "settlements_score", "total"} <= set(
        table.columns
    )
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    shown = run("prioritise", DISTRICTS, SURVEYS, "--top", "3")
    assert shown.exit_code == 0 and "Remaining hazards by priority" in shown.stdout


def test_cli_a_missing_layer_named_in_the_profile_is_exit_2(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text("[layers.schools]\nweight = 5\nbands = [[500, 1.0]]\n")
    result = run("prioritise", DISTRICTS, SURVEYS, "--profile", profile)
    assert result.exit_code == 2 and "'schools'" in result.stderr
    bad = run("prioritise", DISTRICTS, SURVEYS, "--layer-file", "shops=x.gpkg")
    assert bad.exit_code == 2 and "--layer-file" in bad.stderr
    missing = run("prioritise", DISTRICTS, SURVEYS, "--landcover", tmp_path / "none.tif")
    assert missing.exit_code == 2


def test_the_demo_profile_works_out_of_the_box(tmp_path):
    from conftest import ROOT

    out = tmp_path / "ranked.csv"
    result = run(
        "prioritise",
        DISTRICTS,
        SURVEYS,
        "--profile",
        ROOT / "data" / "context" / "demo_profile.toml",
        "--landcover",
        ROOT / "data" / "landcover" / "synthetic_landcover.tif",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    for layer in ("settlements", "schools", "roads", "water", "landcover"):
        assert table[f"{layer}_score"].max() > 0, layer  # every criterion counts somewhere
    assert "note:" not in result.stderr  # nothing left out


def test_map_and_report_show_the_priorities(tmp_path):
    html = tmp_path / "m.html"
    result = run("map", DISTRICTS, SURVEYS, "--tiles", "none", "--priorities", "-o", html)
    assert result.exit_code == 0, result.output
    assert "Priorities: remaining hazards by score" in html.read_text(encoding="utf-8")
    xlsx = tmp_path / "r.xlsx"
    assert run("report", DISTRICTS, SURVEYS, "-o", xlsx).exit_code == 0
    top = pd.read_excel(xlsx, sheet_name="Priorities", engine="openpyxl")
    best = prioritise(mineland.read_districts(DISTRICTS), mineland.read_surveys(SURVEYS)).table
    assert list(top["record_id"]) == list(best["record_id"].head(20))


def test_a_hazard_in_several_pieces_is_one_row(land):
    two = shapely.MultiPolygon([sq(1000, 1000, 500), sq(9000, 9000, 500)])
    other = sq(5000, 1000, 500)
    data = frame(
        [
            {"record_id": "B", "record_type": "SHA", "geometry": other},
            {"record_id": "A", "record_type": "SHA", "geometry": two},
        ]
    )
    table = prioritise(land, data).table.set_index("record_id")
    assert len(table) == 2
    assert table.loc["A", "remaining_ha"] == pytest.approx(50.0, rel=1e-6)
    assert len(shapely.get_parts(table.loc["A", "geometry"])) == 2


def test_remaining_hectares_match_each_hazard_minus_every_release(demo_acc):
    # the release classes share edges (reduced land borders cleared land): taken away
    # as one multipolygon, which is invalid, GEOS left some hazards land already released
    table = prioritise(demo_acc).table.set_index("record_id")["remaining_ha"]
    records = demo_acc.records.to_crs(TEST_LAEA)
    geoms = shapely.make_valid(np.asarray(records.geometry.array, dtype=object))
    rtype = records["record_type"].to_numpy()
    released = shapely.union_all(geoms[np.isin(rtype, ["cleared", "reduced", "cancelled"])])
    hazard = np.isin(rtype, ["SHA", "CHA"])
    assert np.isin(shapely.get_type_id(geoms[hazard]), [3, 6]).all()  # polygons only
    want = (
        pd.Series(
            shapely.area(shapely.difference(geoms[hazard], released)) / 1e4,
            index=records["record_id"].to_numpy()[hazard],
        )
        .groupby(level=0)
        .sum()
    )
    listed = want.index.isin(table.index)
    np.testing.assert_allclose(table.loc[want.index[listed]], want[listed], rtol=1e-5, atol=1e-4)
    assert (want[~listed] < 0.0101).all()  # not listed: under 100 m² left
    assert listed.sum() == len(table)
