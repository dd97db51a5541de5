"""Generate the SYNTHETIC sample exports in data/samples (deterministic).

    python scripts/make_samples.py

One sample in the shape of each preset (IMSMA NG staging tables, an IMSMA Core
Survey123 form, a KoboToolbox XLS export) and an Excel workbook of field reports
with MGRS references, all over the synthetic demo districts.  Invented records:
not real contamination.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import mgrs
import numpy as np
import shapely
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "samples"
NOTE = "SYNTHETIC sample - not real contamination"


def anchors(n: int, seed: int) -> list[tuple[float, float]]:
    """``n`` lon/lat points inside the demo districts."""
    districts = gpd.read_file(ROOT / "data" / "boundaries" / "synthetic_districts.geojson")
    rng = np.random.default_rng(seed)
    union = districts.union_all()
    minx, miny, maxx, maxy = union.bounds
    points = []
    while len(points) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if union.contains(shapely.Point(x, y).buffer(0.01)):
            points.append((round(x, 6), round(y, 6)))
    return points


def square(lon: float, lat: float, half: float) -> shapely.Polygon:
    return shapely.box(lon - half, lat - half * 0.77, lon + half, lat + half * 0.77)


def day(k: int) -> dt.date:
    return dt.date(2021, 3, 1) + dt.timedelta(days=37 * k)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def imsma_ng(folder: Path) -> None:
    """hazard, hazreduc and accident tables, enum values resolved, WKT geometry."""
    folder.mkdir(parents=True, exist_ok=True)
    pts = anchors(16, 1)
    types = ["Suspected Hazardous Area", "Confirmed Hazardous Area", "Minefield"]
    status = ["Open", "Worked On", "Closed"]
    hazards, releases = [], []
    for k, (x, y) in enumerate(pts[:10]):
        wkt = square(x, y, 0.004).wkt
        hazards.append([f"HAZ-{k:04d}", types[k % 3], status[k % 3], day(k).isoformat(), wkt])
        if k % 3 == 2:  # closed: all of it released
            releases.append([f"HR-{k:04d}", "Clearance", day(k + 4).isoformat(), wkt])
        elif k % 3 == 1:  # worked on: a part released
            part = square(x - 0.002, y, 0.002).wkt
            releases.append([f"HR-{k:04d}", ["NTS", "TS"][k % 2], day(k + 3).isoformat(), part])
    write_csv(
        folder / "synthetic_hazard.csv",
        ["hazard_localid", "hazardtypeenum", "status_enum", "dateofrecord", "wkt"],
        hazards,
    )
    write_csv(
        folder / "synthetic_hazreduc.csv",
        ["hazreduc_localid", "hazreductypeenum", "enddate", "wkt"],
        releases,
    )
    accidents = [
        [f"ACC-{k:04d}", day(k).isoformat(), k % 2, 1 + k % 3, y, x]
        for k, (x, y) in enumerate(pts[10:])
    ]
    write_csv(
        folder / "synthetic_accident.csv",
        ["accident_localid", "dateofaccident", "killed", "injured", "latitude", "longitude"],
        accidents,
    )


def survey123(path: Path) -> None:
    """An IMSMA Core land-release layer as GeoJSON, with the layer's system fields."""
    features = []
    kinds = ["sha", "cha", "non_technical_survey", "technical_survey", "clearance"]
    for k, (x, y) in enumerate(anchors(12, 2)):
        kind = kinds[k % 5]
        geom = square(x, y, 0.003 if kind in ("sha", "cha") else 0.0015)
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "objectid": k + 1,
                    "globalid": f"{{5B1C{k:04d}-7D2E-4F00-9A11-0000000000{k:02d}}}",
                    "imsma_id": f"hazard_poly_{140 + k}" if k % 4 else None,
                    "activity_type": kind,
                    "activity_date": day(k).isoformat(),
                    "status": ["open", "worked_on", "closed"][k % 3],
                    "CreationDate": "2025-06-01T10:00:00",
                    "notes": NOTE,
                },
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(collection, indent=1), encoding="utf-8")


def kobo(path: Path) -> None:
    """A KoboToolbox XLS export with group names: areas as geoshapes, items as points."""
    book = Workbook()
    sheet = book.active
    sheet.title = "land_release"
    sheet.append(
        [
            "start",
            "activity/activity_type",
            "activity/activity_date",
            "activity/status",
            "location/area",
            "location/point",
            "location/_point_latitude",
            "location/_point_longitude",
            "eo/eo_type",
            "eo/eo_quantity",
            "_id",
            "_uuid",
            "_submission_time",
        ]
    )
    for k, (x, y) in enumerate(anchors(10, 3)):
        area = k < 6
        ring = list(square(x, y, 0.002).exterior.coords)[:-1]
        shape = ";".join(f"{b:.6f} {a:.6f} 0 5" for a, b in ring) if area else None
        sheet.append(
            [
                dt.datetime(2024, 5, 1, 8, 0) + dt.timedelta(days=k),
                ["technical_survey", "clearance", "sha"][k % 3] if area else "eo_found",
                day(k),  # a date cell
                ["worked_on", "closed", "open"][k % 3] if area else None,
                shape,
                None if area else f"{y:.6f} {x:.6f} 0 4",
                None if area else y,
                None if area else x,
                None if area else "UXO",
                None if area else 1 + k % 4,
                1000 + k,
                f"3f0c{k:04d}-aa11-4b7e-9d0e-5e1f00000000",
                dt.datetime(2024, 5, 2, 9, 30) + dt.timedelta(days=k),
            ]
        )
    book.save(path)


def field_reports(path: Path) -> None:
    """Explosive-ordnance reports with MGRS references as people type them, and a
    sheet without coordinates."""
    book = Workbook()
    sheet = book.active
    sheet.title = "EO reports"
    sheet.append(["record_id", "record_type", "date", "device_type", "quantity", "MGRS"])
    grid = mgrs.MGRS()
    for k, (x, y) in enumerate(anchors(9, 4)):
        ref = grid.toMGRS(y, x, MGRSPrecision=4)
        typed = f"{ref[:3]} {ref[3:5]} {ref[5:9]} {ref[9:]}"
        typed = typed.lower() if k % 2 else typed
        when = day(k)
        date_cell = (when - dt.date(1899, 12, 30)).days if k == 3 else when  # a serial
        sheet.append([f"EO-{k:03d}", "device", date_cell, "AP mine", 1 + k % 3, typed])
    sheet.append(["EO-099", "device", day(9), "UXO", 1, "38S XX 12"])  # malformed
    contacts = book.create_sheet("Contacts")
    contacts.append(["team", "phone"])
    contacts.append(["Team 1 (synthetic)", "+000 000"])
    book.save(path)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    imsma_ng(OUT / "imsma_ng")
    survey123(OUT / "synthetic_survey123_land_release.geojson")
    kobo(OUT / "synthetic_kobo_land_release.xlsx")
    field_reports(OUT / "synthetic_field_reports_mgrs.xlsx")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
