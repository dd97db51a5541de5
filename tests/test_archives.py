"""Zips of survey files: every file inside is read, named as the zip's member; what
cannot be read is said, and nothing is left behind or written outside."""

from __future__ import annotations

import random
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
import shapely
from conftest import districts_frame, frame, geod_ha, sq

import mineland
from mineland.errors import InputFileError

DEVICES = "record_id,record_type,lon,lat\nD1,device,46.601,39.801\nD2,device,abc,39.8\n"


@pytest.fixture
def districts():
    return districts_frame({"Cəbrayıl": sq(-5000, -5000, 10_000)})


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch) -> Path:
    """Unpacked zips go here, to see that they are removed."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def hazards():
    return frame(
        [
            {"record_id": "H1", "record_type": "SHA", "date": "2021-05-01", "geometry": sq(0, 0)},
            {"record_id": "H2", "record_type": "CHA", "date": "2022-01-10", "geometry": sq(500, 0)},
        ]
    )


def cleared():
    return frame(
        [
            {
                "record_id": "C1",
                "record_type": "cleared",
                "date": "2023-03-03",
                "geometry": sq(0, 0, 500),
            }
        ]
    )


def export_files(folder: Path) -> dict[str, Path]:
    """An export as national databases zip them: a Shapefile at the top, a GeoJSON in
    a subfolder, a CSV of points, a readme, and macOS's metadata."""
    (folder / "releases").mkdir(parents=True)
    hazards().to_file(folder / "hazards.shp", engine="pyogrio")
    cleared().to_file(folder / "releases" / "cleared.geojson", engine="pyogrio")
    (folder / "devices.csv").write_text(DEVICES, encoding="utf-8")
    (folder / "readme.md").write_text("exported 2025-11-30", encoding="utf-8")
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}


def zipped(path: Path, members: dict[str, object]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, what in members.items():
            if isinstance(what, Path):
                archive.write(what, name)
            else:
                archive.writestr(name, what)
    return path


def expected_ha() -> dict[str, float]:
    """CHA as drawn, SHA less CHA and what was cleared, measured on the ellipsoid."""
    (sha, cha), done = hazards().geometry.to_numpy(), cleared().geometry.to_numpy()[0]
    return {
        "sha_ha": geod_ha(shapely.difference(sha, shapely.union(cha, done))),
        "cha_ha": geod_ha(shapely.difference(cha, done)),
        "cleared_ha": geod_ha(done),
    }


def test_every_file_of_a_zip_is_read_as_a_folder_would_be(tmp_path, districts, scratch, caplog):
    files = export_files(tmp_path / "export")
    members = {**files, "__MACOSX/._hazards.shp": b"\x00\x05\x16\x07"}
    members["latin1.csv"] = "record_id,record_type,lon,lat,notes\nL1,device,46.6,39.8,caf\xe9\n"
    members["latin1.csv"] = members["latin1.csv"].encode("cp1252")
    archive = zipped(tmp_path / "export.zip", members)
    data = mineland.read_surveys(archive)
    said = [r.getMessage() for r in caplog.records]
    assert f"{archive}: skipped 1 file: readme.md (not a survey file format)" in said
    assert any(m.startswith(f"{archive}/latin1.csv: not valid UTF-8") for m in said), said
    assert not any("mineland-unzipped" in m for m in said), said
    # GDAL reads such a zip as one dataset: the Shapefile alone, the rest unsaid
    assert sorted(data.records.record_id) == ["C1", "D1", "H1", "H2", "L1"]
    assert set(data.records.source_file) == {
        f"{archive}/latin1.csv",
        f"{archive}/hazards.shp",
        f"{archive}/releases/cleared.geojson",
        f"{archive}/devices.csv",
    }
    rejected = data.rejected.set_index("record_id")
    assert rejected.loc["D2", "source_file"] == f"{archive}/devices.csv"
    assert "lon='abc'" in rejected.loc["D2", "reason"]
    summary = mineland.summarize(districts, data).set_index("district")
    for column, ha in expected_ha().items():
        assert summary.loc["Cəbrayıl", column] == pytest.approx(ha, rel=1e-5), column
    (tmp_path / "export" / "latin1.csv").write_bytes(members["latin1.csv"])
    folder = mineland.summarize(districts, mineland.read_surveys(tmp_path / "export"))
    assert folder.set_index("district").equals(summary)
    assert list(scratch.iterdir()) == []  # the unpacked files are gone


def test_a_zip_inside_a_zip_and_a_member_named_outside_it(tmp_path, scratch):
    def devices(prefix: str) -> str:
        return DEVICES.replace("D1", f"{prefix}1").replace("D2", f"{prefix}2")

    inner = zipped(tmp_path / "inner.zip", {"devices.csv": DEVICES, "other.csv": devices("F")})
    outer = zipped(tmp_path / "outer.zip", {"inner.zip": inner, "../escaped.csv": devices("E")})
    data = mineland.read_surveys(outer)
    assert sorted(data.records.record_id) == ["D1", "E1", "F1"]
    assert set(data.records.source_file) == {
        f"{outer}/inner.zip/devices.csv",
        f"{outer}/inner.zip/other.csv",
        f"{outer}/escaped.csv",
    }
    assert not (tmp_path / "escaped.csv").exists() and not (scratch.parent / "escaped.csv").exists()
    assert list(scratch.iterdir()) == []


def test_an_unreadable_member_is_named_inside_its_zip(tmp_path, districts):
    archive = zipped(
        tmp_path / "export.zip",
        {"devices.csv": DEVICES, "broken.geojson": '{"type": "FeatureCollection", "feat'},
    )
    with pytest.raises(InputFileError, match=r"export\.zip/broken\.geojson: ") as err:
        mineland.read_surveys(archive)
    assert "mineland-unzipped" not in str(err.value)
    data = mineland.read_surveys(archive, on_file_error="reject")
    assert list(data.records.record_id) == ["D1"]
    findings = mineland.validate(districts, data).findings
    found = findings[findings.check == "unreadable_file"]
    assert list(found.source_file) == [f"{archive}/broken.geojson"]


def test_a_zip_of_no_survey_file_and_a_district_zip_of_two_are_errors(tmp_path, districts):
    readme = zipped(tmp_path / "notes.zip", {"readme.md": "nothing here"})
    with pytest.raises(InputFileError, match=r"notes\.zip: .*which holds readme\.md"):
        mineland.read_surveys(readme)
    districts.to_file(tmp_path / "districts.geojson", engine="pyogrio")
    hazards().to_file(tmp_path / "h.shp", engine="pyogrio")
    both = {"districts.geojson": tmp_path / "districts.geojson"}
    both |= {p.name: p for p in tmp_path.glob("h.*")}
    with pytest.raises(InputFileError, match=r"the zip holds districts\.geojson, h\.shp; a "):
        mineland.read_districts(zipped(tmp_path / "both.zip", both))
    alone = zipped(tmp_path / "alone.zip", {"d/districts.geojson": tmp_path / "districts.geojson"})
    assert list(mineland.read_districts(alone).district) == ["Cəbrayıl"]
    broken = zipped(tmp_path / "broken.zip", {"d/districts.geojson": '{"type": "Feat'})
    with pytest.raises(InputFileError, match=r"^\S*broken\.zip/d/districts\.geojson: "):
        mineland.read_districts(broken)


def _layout(rng: random.Random, root: Path) -> None:
    """Files as exports hold them, some broken, some nested, in random folders."""
    made = {
        "csv": lambda p, k: p.write_text(DEVICES.replace("D", f"K{k}_"), encoding="utf-8"),
        "geojson": lambda p, k: cleared().assign(record_id=f"G{k}").to_file(p, engine="pyogrio"),
        "shp": lambda p, k: hazards().assign(record_id=[f"S{k}a", f"S{k}b"]).to_file(p),
        "broken.geojson": lambda p, k: p.write_text('{"type": "Feature', encoding="utf-8"),
        "empty.csv": lambda p, k: p.write_bytes(b""),
        "md": lambda p, k: p.write_text("notes", encoding="utf-8"),
        "zip": lambda p, k: _inner_zip(rng, p),
    }
    for k in range(rng.randint(1, 6)):
        kind = rng.choice(list(made))
        folder = root / rng.choice(["", "a", "a/b", "Cəbrayıl"])
        folder.mkdir(parents=True, exist_ok=True)
        ending = kind if "." in kind else f"f{k}.{kind}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the Shapefile's truncated field names
            made[kind](folder / (f"f{k}_{ending}" if "." in kind else ending), k)


def _inner_zip(rng: random.Random, path: Path) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent) as inner:
        _layout(rng, Path(inner))
        zipped(
            path,
            {f.relative_to(inner).as_posix(): f for f in Path(inner).rglob("*") if f.is_file()},
        )


@pytest.mark.parametrize("seed", range(24))
def test_generated_zips_read_as_their_folders(seed, tmp_path, scratch):
    """A zip is read as the folder it was made from: the same records, the same rows
    rejected for the same reasons; a file unread is named inside the zip.  (The zips
    in it are zips in the folder too.)"""
    rng = random.Random(seed)
    root = tmp_path / "export"
    root.mkdir()
    _layout(rng, root)
    files = {f.relative_to(root).as_posix(): f for f in root.rglob("*") if f.is_file()}
    archive = zipped(tmp_path / "export.zip", files)

    def read(path):
        try:
            data = mineland.read_surveys(path, on_file_error="reject")
        except InputFileError as exc:  # a folder (or zip) of no survey file
            return str(exc).split(":")[-1]
        r = data.rejected  # a reason may name a file: by its place in the export
        why = r.reason.str.replace(str(archive), "").str.replace(str(root), "")
        named = sorted(map(str, zip(r.source_row, r.record_id, why, strict=True)))
        assert data.sources.source_file.str.startswith(str(path)).all()  # named inside it
        errors = data.sources.get("error", data.sources.source_file.iloc[:0]).dropna()
        assert all(str(path) in e and "mineland-unzipped" not in e for e in errors), errors
        return sorted(data.records.record_id), named

    want, got = read(root), read(archive)
    if isinstance(want, str):  # a folder of no survey file; the zip is a file unread
        assert got == ([], []), got
    else:
        assert got == want
    assert list(scratch.iterdir()) == []


def test_a_utf8_name_stored_without_its_flag_is_named_as_written(tmp_path):
    """Many zip tools store UTF-8 names without the flag saying so; read as code page
    437 they would be named ``C╔Öbray─▒l``."""
    name = "Cəbrayıl"
    stand_in = "X" * len(name.encode("utf-8"))  # ASCII: stored without the flag
    archive = zipped(
        tmp_path / "e.zip", {f"{stand_in}/a.csv": DEVICES, "b.csv": DEVICES.replace("D", "B")}
    )
    archive.write_bytes(archive.read_bytes().replace(stand_in.encode(), name.encode("utf-8")))
    with zipfile.ZipFile(archive) as z:
        assert not z.getinfo(name.encode("utf-8").decode("cp437") + "/a.csv").flag_bits & 0x800
    data = mineland.read_surveys(archive)
    assert f"{archive}/{name}/a.csv" in set(data.records.source_file)


def test_other_archives_are_refused_by_name_and_skipped_in_a_folder(tmp_path, caplog):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "devices.csv").write_text(DEVICES, encoding="utf-8")
    with tarfile.open(folder / "older.tar.gz", "w:gz") as tar:
        tar.add(folder / "devices.csv", "devices.csv")
    with pytest.raises(InputFileError, match=r"older\.tar\.gz: an archive mineland does not"):
        mineland.read_surveys(folder / "older.tar.gz")
    assert list(mineland.read_surveys(folder).records.record_id) == ["D1"]
    assert "skipped 1 file: older.tar.gz (an archive mineland does not unpack" in caplog.text


def test_a_manifest_layer_of_a_zip_reads_the_files_holding_it(tmp_path):
    files = export_files(tmp_path / "export")
    zipped(tmp_path / "export.zip", files)
    manifest = tmp_path / "sources.toml"

    def read(layer: str, **how):
        manifest.write_text(f'[[source]]\npath = "export.zip"\nlayer = "{layer}"\n', "utf-8")
        return mineland.read_surveys(manifest, **how)

    assert sorted(read("hazards").records.record_id) == ["H1", "H2"]
    assert list(read("cleared").records.source_file) == [
        f"{tmp_path}/export.zip/releases/cleared.geojson"
    ]
    with pytest.raises(InputFileError, match=r"export\.zip: none of its files \(devices\.csv, "):
        read("nope")
    assert read("nope", on_file_error="reject").records.empty
    outer = {"export.zip": tmp_path / "export.zip", "other.csv": DEVICES.replace("D", "O")}
    zipped(tmp_path / "outer.zip", outer).replace(tmp_path / "export.zip")  # a zip in the zip
    cleared = read("cleared").records.source_file
    assert list(cleared) == [f"{tmp_path}/export.zip/export.zip/releases/cleared.geojson"]


def _placemark(record_id: str, west: float) -> str:
    ring = f"{west},39.5 {west + 0.01},39.5 {west + 0.01},39.51 {west},39.51 {west},39.5"
    return (
        f"<Placemark><ExtendedData><Data name='record_id'><value>{record_id}</value></Data>"
        "<Data name='record_type'><value>CHA</value></Data></ExtendedData><Polygon>"
        f"<outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></Placemark>"
    )


def test_every_kml_of_a_kmz_is_read(tmp_path):
    """A KMZ is read by its main KML; one whose main KML links to others inside it (a
    NetworkLink, as Google Earth writes a large export) had those left out, unsaid."""
    link = "<NetworkLink><Link><href>files/more.kml</href></Link></NetworkLink>"
    kmz = zipped(
        tmp_path / "export.kmz",
        {
            "doc.kml": f"<kml><Document>{link}{_placemark('K1', 46.6)}</Document></kml>",
            "files/more.kml": f"<kml><Document>{_placemark('K2', 46.7)}</Document></kml>",
        },
    )
    records = mineland.read_surveys(kmz).records
    assert sorted(records.record_id) == ["K1", "K2"]
    assert set(records.source_file) == {f"{kmz}/doc.kml", f"{kmz}/files/more.kml"}
    boxes = [shapely.box(w, 39.5, w + 0.01, 39.51) for w in (46.6, 46.7)]
    assert records.geometry.map(geod_ha).sum() == pytest.approx(sum(map(geod_ha, boxes)), rel=1e-9)
