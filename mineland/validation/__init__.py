"""Data-quality checks: what is wrong, where, and what it does to the hectares.

Pure computation on what the readers returned.  Every finding names its check, a
severity, the source file and row, the record_id, the bad value, and a geometry
where one applies.  Nothing is changed: the findings only describe.

- :mod:`.checks`: the catalogue of checks and the collector of findings;
- :mod:`._records`: checks of single records; :mod:`._spatial`: checks that need the
  accounting, of which :mod:`._overlaps` counts and draws overlapping hazards (on the
  record pieces of :mod:`.pieces`); :mod:`.names`: district names compared across
  transliterations;
- :mod:`.far`: input files far from every district (a wrong CRS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import pandas as pd

from ..accounting import Accounting, AccountingCache, account_for_checks, parse_as_of
from ..districts import as_districts
from ..records import SurveyData, as_survey_data
from ._records import date_checks, from_rejected, geometry_checks, id_checks
from ._spatial import inside_when_swapped, run_checks, spatial_checks
from .checks import CHECKS, SEVERITIES, Findings
from .far import far_files
from .names import fold_name, names_match

__all__ = [
    "CHECKS",
    "ValidationReport",
    "ValidationResult",
    "far_files",
    "inside_when_swapped",
    "fold_name",
    "names_match",
    "validate",
]


@dataclass
class ValidationResult:
    """Findings, one per problem, and the row accounting of every input file."""

    findings: gpd.GeoDataFrame
    conservation: pd.DataFrame
    options: dict = field(default_factory=dict)
    #: checks that failed to run (the others still ran): "ErrorType: message"
    failures: list[str] = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        """Findings counted per check and severity, worst first."""
        if len(self.findings) == 0:
            return pd.DataFrame(columns=["check", "severity", "findings", "meaning"])
        counts = self.findings.groupby(["check", "severity"]).size().rename("findings")
        out = counts.reset_index()
        out["meaning"] = out["check"].map(lambda c: CHECKS.get(c, ("", ""))[1])
        out["_s"] = out["severity"].map(SEVERITIES.index)
        return (
            out.sort_values(["_s", "findings"], ascending=[True, False])
            .drop(columns="_s")
            .reset_index(drop=True)
        )

    def count(self, severity: str) -> int:
        return int((self.findings["severity"] == severity).sum()) if len(self.findings) else 0

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def warnings(self) -> int:
        return self.count("warning")

    def exit_code(self, *, strict: bool = False) -> int:
        """0 when clean, 1 with errors (or warnings too when ``strict``)."""
        return 1 if self.errors or (strict and self.warnings) else 0


# --------------------------------------------------------------------------- names


# --------------------------------------------------------------------------- checks


def validate(
    districts: gpd.GeoDataFrame,
    surveys: SurveyData | gpd.GeoDataFrame,
    /,
    *,
    start_date: object = None,
    today: object = None,
    max_vertex_gap_km: float = 5.0,
    accounting=None,
    detail: bool = True,
) -> ValidationResult:
    """Check survey records and districts; list every problem found.

    Parameters
    ----------
    districts
        From :func:`mineland.read_districts`.
    surveys
        From :func:`mineland.read_surveys` (with ``on_file_error="reject"`` to get
        findings for unreadable files instead of an exception).
    start_date
        Flag dates before this day (for Karabakh, ``"2020-11-10"``); off by default.
    today
        The day after which dates are in the future (default: today).
    max_vertex_gap_km
        Consecutive polygon vertices farther apart than this are flagged.
    accounting
        The :func:`mineland.account` of the same data without an as-of date, or an
        :class:`mineland.AccountingCache` of it, to reuse instead of computing it
        again.
    detail
        ``False`` finds and counts the same problems without drawing the shapes of
        overlapping hazards and of released land outside hazards, or naming their
        records: what ``mineland summarize`` prints, at a fraction of the cost.

    Returns
    -------
    ValidationResult
        ``findings`` (GeoDataFrame: check, severity, source_file, source_row,
        record_id, message, area_ha, geometry), ``summary`` and ``conservation``.

    Examples
    --------
    >>> result = validate(read_districts("d.gpkg"), read_surveys("s"))  # doctest: +SKIP
    >>> result.summary  # doctest: +SKIP
    """
    data = as_survey_data(surveys, on_file_error="reject")
    dist = as_districts(districts)
    records = data.records
    f = Findings()
    from_rejected(data, f)
    source = dist.attrs.get("source")
    for name in dist.attrs.get("repaired", []):
        f.add("district_repaired", f"district {name!r} was invalid and was repaired", source=source)
    for text in dist.attrs.get("dropped", []):
        f.add("district_dropped", text, source=source)
    for text in dist.attrs.get("merged_apart", []):
        f.add("district_merged", text, source=source)
    for name in dist["district"]:
        if str(name).startswith("(unnamed feature "):
            f.add("district_unnamed", f"a district has no name; shown as {name!r}", source=source)
    checks = _record_checks(records, today, start_date, max_vertex_gap_km)
    acc = _all_records_accounting(accounting, dist, data)
    run_checks({**checks, **spatial_checks(acc, records, dist, detail)}, f)
    conservation = data.sources.copy()
    if len(conservation):
        conservation["balanced"] = (
            conservation["rows"] == conservation["used"] + conservation["rejected"]
        )
    return ValidationResult(
        f.frame(),
        conservation,
        {"start_date": start_date, "today": str(today), "max_vertex_gap_km": max_vertex_gap_km},
        f.failures,
    )


def _record_checks(records, today, start_date, max_vertex_gap_km: float) -> dict:
    """The checks of the records themselves, by name (see :func:`run_checks`)."""
    if not len(records):
        return {}
    today_ts = parse_as_of(today) if today is not None else pd.Timestamp(date.today())
    start = parse_as_of(start_date) if start_date is not None else None
    return {
        "record ids": lambda g: id_checks(records, g),
        "record geometries": lambda g: geometry_checks(records, g, max_vertex_gap_km),
        "dates": lambda g: date_checks(records, g, today_ts, start),
    }


def _all_records_accounting(accounting, dist, data) -> Accounting:
    """The accounting of every record, reused when the caller has it."""
    if isinstance(accounting, AccountingCache):
        return accounting.at(None)
    if accounting is not None and accounting.as_of is None:
        return accounting
    return account_for_checks(dist, data)


#: the name before 0.2, kept until 0.3 ("result" now means only ``mineland result``)
ValidationReport = ValidationResult
