"""The accounting that keeps no class polygons (``keep_classes=False``, what
``summarize`` uses): worked out a batch of clusters at a time, it must give the very
table, H per district and validation findings that the full accounting gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import districts_frame, sq
from test_rolling import assert_same, pathological_records

import mineland
from mineland.accounting import account
from mineland.classes import HAZARD_LAYERS
from mineland.engines import local
from mineland.geometry import OverlayLog
from mineland.validation import validate
from mineland.zones import areas_by_district


def two_districts():
    return districts_frame({"Cəbrayıl": sq(0, 0, 4000, 8000), "Goražde": sq(4000, 0, 4000, 8000)})


def hazard_per_district(acc) -> np.ndarray:
    """H measured on the full accounting's hazard layers, as validation measured it."""
    layers = [np.concatenate([r.classes[k] for k in HAZARD_LAYERS]) for r in acc.regions]
    return areas_by_district(layers, acc.zones, len(acc.districts), OverlayLog()) / 1e4


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
@pytest.mark.parametrize("batch", [7, 40, 10**6])
def test_batches_of_clusters_give_the_full_table(monkeypatch, seed, batch):
    monkeypatch.setattr(local, "BATCH_PIECES", batch)
    monkeypatch.setattr(local, "WHOLE_PIECES", 0)
    dist, surveys = two_districts(), pathological_records(seed)
    full = account(dist, surveys)
    lean = account(dist, surveys, keep_classes=False)
    assert_same(lean.summary, full.summary, f"seed {seed}, batches of {batch}")
    np.testing.assert_allclose(lean.hazard_ha, hazard_per_district(full), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(full.hazard_ha, hazard_per_district(full), rtol=1e-9, atol=1e-9)
    assert full.keeps_classes and not lean.keeps_classes


def test_the_batches_are_whole_clusters(monkeypatch):
    monkeypatch.setattr(local, "WHOLE_PIECES", 0)
    rng = np.random.default_rng(1)
    boxes = np.array(
        [shapely.box(x, y, x + 50, y + 50) for x, y in rng.uniform(0, 2000, (400, 2))],
        dtype=object,
    )
    batches = local._batches(boxes, 25)
    assert len(batches) > 5
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(len(boxes)))
    label = np.empty(len(boxes), dtype=int)
    for k, b in enumerate(batches):
        label[b] = k
    a, b = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    assert (label[a] == label[b]).all()  # no two touching boxes in different batches


def test_world_wide_regions(monkeypatch):
    from test_worldwide import districts_gdf, hazards_gdf

    monkeypatch.setattr(local, "BATCH_PIECES", 5)
    monkeypatch.setattr(local, "WHOLE_PIECES", 0)
    full = account(districts_gdf(), hazards_gdf())
    lean = account(districts_gdf(), hazards_gdf(), keep_classes=False)
    assert len(full.regions) > 4
    assert_same(lean.summary, full.summary, "world-wide")
    np.testing.assert_allclose(lean.hazard_ha, hazard_per_district(full), rtol=1e-9, atol=1e-9)


def test_validation_finds_the_same_with_either(monkeypatch, demo):
    monkeypatch.setattr(local, "BATCH_PIECES", 300)
    monkeypatch.setattr(local, "WHOLE_PIECES", 0)
    dist, surveys = demo
    records = surveys.records.copy()
    status = np.array(["closed", "open", "completed"], dtype=object)
    records["status"] = status[np.arange(len(records)) % 3]  # closed hazards to check
    full = account(dist, records)
    lean = account(dist, records, keep_classes=False)
    counts = []
    for acc in (full, lean):
        found = validate(dist, records, accounting=acc, detail=False).findings
        counts.append(found.groupby("check").size().to_dict())
    assert counts[0] == counts[1]
    assert counts[0].get("closed_hazard_unreleased", 0) > 0
    assert counts[0].get("released_outside_hazard", 0) > 0


def test_a_lean_accounting_says_it_has_no_polygons():
    lean = account(two_districts(), pathological_records(3), keep_classes=False)
    with pytest.raises(mineland.DataError, match="keeps no class polygons"):
        lean.class_geometries("cha")
    with pytest.raises(mineland.DataError, match="keeps no class polygons"):
        lean.class_pieces()


def test_summarize_keeps_no_polygons_and_equals_account(demo):
    summary = mineland.summarize(*demo)
    assert_same(summary, account(*demo).summary, "demo")


def test_a_dask_accounting_says_so_too_and_validation_unions_the_records(demo):
    pytest.importorskip("dask")
    dist, surveys = demo
    records = surveys.records.copy()
    records["status"] = np.where(np.arange(len(records)) % 2, "closed", "open")
    remote = account(dist, records, engine="dask")
    with pytest.raises(mineland.DataError, match="keeps no class polygons"):
        remote.class_geometries("cleared")
    counts = [
        validate(dist, records, accounting=acc, detail=False).findings.groupby("check").size()
        for acc in (account(dist, records), remote)
    ]
    assert counts[0].to_dict() == counts[1].to_dict()  # R and H from the records


def test_progress_follows_the_batches(monkeypatch):
    monkeypatch.setattr(local, "BATCH_PIECES", 20)
    monkeypatch.setattr(local, "WHOLE_PIECES", 0)
    seen = []
    account(
        two_districts(),
        pathological_records(4),
        keep_classes=False,
        progress=lambda label, done, total: seen.append((label, done, total)),
    )
    batches = [(d, t) for label, d, t in seen if label.startswith("classes, a batch")]
    assert len(batches) > 3 and batches[-1][0] == batches[-1][1]
    assert [d for d, _ in batches] == list(range(1, len(batches) + 1))


def test_small_data_is_one_batch_whatever_the_batch_size(monkeypatch):
    monkeypatch.setattr(local, "BATCH_PIECES", 7)
    boxes = np.array([shapely.box(i * 10, 0, i * 10 + 5, 5) for i in range(100)], dtype=object)
    assert len(local._batches(boxes, 7)) == 1  # under WHOLE_PIECES
    monkeypatch.setattr(local, "WHOLE_PIECES", 0)
    assert len(local._batches(boxes, 7)) > 10


def test_validation_of_its_own_accounting_finds_what_a_full_one_finds(demo):
    """Given no accounting, validation works one out keeping the remaining SHA and CHA
    of each part of H whole (account_for_checks): the same findings, hectares and
    shapes as with a full accounting, whose polygons are taken apart."""
    from mineland.accounting import account_for_checks

    dist, surveys = demo
    records = surveys.records.copy()
    status = np.array(["closed", "open", "completed"], dtype=object)
    records["status"] = status[np.arange(len(records)) % 3]
    own = account_for_checks(dist, records)
    full = account(dist, records)
    whole = sum(len(r.classes["sha"]) + len(r.classes["cha"]) for r in own.regions)
    split = sum(len(r.classes["sha"]) + len(r.classes["cha"]) for r in full.regions)
    assert whole < split  # what is left of some parts of H is in several polygons
    pd.testing.assert_frame_equal(own.summary, full.summary, check_exact=False, rtol=1e-9)
    a = validate(dist, records).findings
    b = validate(dist, records, accounting=full).findings
    assert list(a["check"]) == list(b["check"]) and list(a["message"]) == list(b["message"])
    np.testing.assert_allclose(a["area_ha"], b["area_ha"], rtol=1e-9, atol=1e-12)
    drawn = a["geometry"].notna()
    assert list(drawn) == list(b["geometry"].notna())
    same = shapely.equals_exact(
        shapely.normalize(a["geometry"][drawn].values),
        shapely.normalize(b["geometry"][drawn].values),
        tolerance=1e-9,
    )
    assert same.all()
