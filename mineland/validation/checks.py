"""The catalogue of checks (name, severity, meaning) and the collector of findings."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .. import schema
from ..records import WGS84

#: check id -> (severity, what it means)
CHECKS: dict[str, tuple[str, str]] = {
    # schema
    "unreadable_file": ("error", "a file could not be read at all"),
    "missing_column": ("error", "a required column (record_type) is missing"),
    "malformed_row": ("error", "a CSV row that cannot be split into its fields"),
    "unreadable_cell": (
        "error",
        "a workbook cell without a value: an error (#N/A), a formula never worked out",
    ),
    "shapefile_mismatch": ("error", "a Shapefile whose shapes and attribute rows differ"),
    "missing_record_id": ("warning", "no record_id column: ids were made from file and row"),
    "unknown_record_type": ("error", "record_type is empty or not a known type"),
    "blank_row": ("warning", "a row of empty cells (a separator row), not a record"),
    "hidden_sheet": ("warning", "a workbook sheet hidden in Excel, read like the others"),
    "merged_cells": ("warning", "workbook cells merged over rows (read on each) or columns"),
    "bad_date": ("error", "a date cannot be read"),
    "bad_count": ("error", "quantity/killed/injured is negative, fractional or absurd"),
    "duplicate_record_id": ("error", "a record_id is used twice (the later row is rejected)"),
    "duplicate_id_variant": ("warning", "record_ids that differ only in case or spacing"),
    # geometry
    "empty_geometry": ("error", "no geometry, or an empty one"),
    "unreadable_geometry": ("error", "the geometry cannot be read (or has NaN coordinates)"),
    "invalid_geometry": ("error", "invalid geometry, rejected (on_invalid='reject')"),
    "repaired_geometry": ("warning", "invalid geometry repaired with make_valid"),
    "too_few_vertices": ("error", "a polygon with fewer than 3 distinct vertices"),
    "wrong_geometry_type": ("error", "a geometry type that does not fit the record_type"),
    "long_edge": ("warning", "consecutive vertices far apart (a likely typo)"),
    "duplicate_geometry": ("warning", "exactly the same geometry as another record"),
    # CRS and location
    "missing_crs": ("error", "a file declares no CRS and none was given"),
    "other_crs": ("error", "coordinates that belong to another CRS"),
    "outside_districts": ("warning", "a record outside every district"),
    "swapped_lonlat": ("error", "lon/lat swapped: the swapped point lies in the districts"),
    # dates
    "future_date": ("warning", "a date after today"),
    "release_before_hazard": ("warning", "a release dated before its hazard (hazard_id)"),
    "date_before_start": ("warning", "a date before the configured start"),
    "undated_records": ("info", "records without a date count at every as-of date"),
    # accounting
    "released_outside_hazard": ("warning", "released land outside every recorded hazard"),
    "overlapping_hazards": (
        "warning",
        "SHA/CHA records overlapping, per cluster: hectares recorded twice or more",
    ),
    "district_overlap": ("error", "districts overlapping each other"),
    "district_gap": ("warning", "a gap between districts"),
    "closed_hazard_unreleased": ("warning", "a hazard marked closed that is partly unreleased"),
    # district names
    "district_mismatch": ("warning", "the record's district attribute disagrees with its place"),
    # the district layer itself
    "district_repaired": ("warning", "an invalid district polygon repaired with make_valid"),
    "district_dropped": ("warning", "a district feature without a polygon, left out"),
    "district_unnamed": ("warning", "a district feature without a name"),
    "district_merged": ("warning", "features sharing a name that do not touch, merged"),
}


SEVERITIES = ("error", "warning", "info")


FINDING_COLUMNS = [
    "check",
    "severity",
    schema.SOURCE_FILE,
    schema.SOURCE_ROW,
    "record_id",
    "message",
    "area_ha",
]


class Findings:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.geoms: list[object] = []
        #: checks that could not run: "ErrorType: message"
        self.failures: list[str] = []

    def extend(self, other: Findings) -> None:
        """Add the findings and failures of another set, after these."""
        self.rows += other.rows
        self.geoms += other.geoms
        self.failures += other.failures

    def add(
        self,
        check,
        message,
        *,
        rec=None,
        source=None,
        row=None,
        record_id=None,
        geom=None,
        area=None,
    ):
        """One finding; ``rec`` (a record row) gives its file, row and record_id."""
        if rec is not None:
            source, row, record_id = (
                rec[schema.SOURCE_FILE],
                rec[schema.SOURCE_ROW],
                rec["record_id"],
            )
        self.add_many(
            check,
            [message],
            sources=[source],
            rows=[row],
            record_ids=[record_id],
            geoms=[geom],
            areas=[area],
        )

    def add_many(self, check, messages, *, sources, rows, record_ids, geoms, areas) -> None:
        """Many findings of one check at once (columns as sequences)."""
        severity = CHECKS[check][0]
        for m, src, row, rid, g, a in zip(
            messages, sources, rows, record_ids, geoms, areas, strict=True
        ):
            self.rows.append(
                {
                    "check": check,
                    "severity": severity,
                    schema.SOURCE_FILE: src,
                    schema.SOURCE_ROW: None if row is None or pd.isna(row) else int(row),
                    "record_id": rid,
                    "message": m,
                    "area_ha": a,
                }
            )
            self.geoms.append(g)

    def frame(self) -> gpd.GeoDataFrame:
        table = pd.DataFrame(self.rows, columns=FINDING_COLUMNS)
        table[schema.SOURCE_ROW] = table[schema.SOURCE_ROW].astype("Int64")
        geometry = gpd.GeoSeries(list(self.geoms), index=table.index, crs=WGS84)
        return gpd.GeoDataFrame(table, geometry=geometry, crs=WGS84)


def id_list(ids: list[str], limit: int = 2000) -> str:
    """Record ids joined with "; ", cut to ``limit`` characters (a spreadsheet cell
    holds at most 32,767) with how many more there are."""
    out, used = [], 0
    for k, rid in enumerate(ids):
        if used + len(rid) + 2 > limit:
            return "; ".join(out) + f"; … and {len(ids) - k} more"
        out.append(rid)
        used += len(rid) + 2
    return "; ".join(out)
