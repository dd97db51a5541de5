"""Column names and vocabulary: the single source of truth for the data contract."""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import SchemaError

log = logging.getLogger(__name__)

__all__ = [
    "AREA_TYPES",
    "COUNT_COLUMNS",
    "DISTRICT_NAME_CANDIDATES",
    "HAZARD_TYPES",
    "OUTSIDE",
    "POINT_TYPES",
    "RECORD_TYPES",
    "RECORD_TYPE_ALIASES",
    "RELEASE_TYPES",
    "SUMMARY_COLUMNS",
    "apply_field_map",
    "clean_text",
    "normalize_record_type",
]

#: Canonical record types, in the spelling mineland writes.
HAZARD_TYPES = ("SHA", "CHA")
RELEASE_TYPES = ("cancelled", "reduced", "cleared")
AREA_TYPES = HAZARD_TYPES + RELEASE_TYPES
POINT_TYPES = ("device", "incident")
RECORD_TYPES = AREA_TYPES + POINT_TYPES

#: Documented aliases (compared case-insensitively, spaces/underscores/hyphens folded).
RECORD_TYPE_ALIASES: dict[str, str] = {
    "sha": "SHA",
    "suspected hazardous area": "SHA",
    "suspected": "SHA",
    "suspected area": "SHA",
    "cha": "CHA",
    "confirmed hazardous area": "CHA",
    "confirmed": "CHA",
    "confirmed area": "CHA",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "cancellation": "cancelled",
    "cancelled area": "cancelled",
    "land cancelled": "cancelled",
    "non technical survey": "cancelled",
    "nts": "cancelled",
    "reduced": "reduced",
    "reduction": "reduced",
    "reduced area": "reduced",
    "land reduced": "reduced",
    "technical survey": "reduced",
    "ts": "reduced",
    "cleared": "cleared",
    "clearance": "cleared",
    "cleared area": "cleared",
    "land cleared": "cleared",
    "battle area clearance": "cleared",
    "bac": "cleared",
    "device": "device",
    "devices": "device",
    "item": "device",
    "explosive item": "device",
    "eo": "device",
    "uxo": "device",
    "mine": "device",
    "incident": "incident",
    "accident": "incident",
    "mine accident": "incident",
    "casualty": "incident",
}

#: Canonical survey columns and their meaning (see README, "Data contract").
CANONICAL_COLUMNS = (
    "record_id",
    "record_type",
    "date",
    "device_type",
    "quantity",
    "killed",
    "injured",
)
COUNT_COLUMNS = ("quantity", "killed", "injured")

#: Provenance columns added by the readers.
SOURCE_FILE = "source_file"
SOURCE_LAYER = "source_layer"
SOURCE_ROW = "source_row"

#: District name fields tried, in order, when none is given.
DISTRICT_NAME_CANDIDATES = (
    "district",
    "name",
    "shapeName",
    "NAME_2",
    "ADM2_EN",
    "adm2_name",
    "ADM2_NAME",
    "admin2Name",
    "NAME_EN",
    "name_en",
    "rayon",
    "municipality",
    "NAME_1",
    "ADM1_EN",
    "NAME_0",
)

#: Name of the extra summary row for area and points outside every district.
OUTSIDE = "(outside districts)"

#: Columns of the summary table, in order.
SUMMARY_COLUMNS = (
    "district",
    "area_ha",
    "sha_ha",
    "cha_ha",
    "contaminated_ha",
    "cancelled_ha",
    "reduced_ha",
    "cleared_ha",
    "released_ha",
    "recorded_ha",
    "released_pct",
    "hazard_records",
    "devices",
    "incidents",
    "killed",
    "injured",
)

_FOLD = re.compile(r"[\s_\-]+")


def _fold(value: str) -> str:
    return _FOLD.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()


def clean_text(value: object) -> str | None:
    """Return ``value`` as NFC text with surrounding whitespace removed, or None if blank."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = unicodedata.normalize("NFC", str(value)).strip()
    return text or None


def clean_texts(values) -> np.ndarray:
    """:func:`clean_text` of a whole column at once (vectorised string operations)."""
    text = pd.Series(values, copy=False).astype("string").str.normalize("NFC").str.strip()
    out = text.to_numpy(dtype=object, na_value=None)
    out[text.fillna("").to_numpy(dtype=object) == ""] = None
    return out


def by_value(fn, values: pd.Series) -> np.ndarray:
    """``fn`` applied to each distinct value of a column once, spread to every row
    (a column of record types or dates holds few distinct values)."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [fn(None)], dtype=object)
    return mapped[codes]  # code -1 (missing) takes the last entry, fn(None)


def normalize_record_type(
    value: object, extra_aliases: Mapping[str, str] | None = None
) -> str | None:
    """Map a record type as written in the data to its canonical spelling.

    Returns None for blank or unknown values.

    >>> normalize_record_type(" Suspected_Hazardous-Area ")
    'SHA'
    """
    text = clean_text(value)
    if text is None:
        return None
    key = _fold(text)
    if extra_aliases:
        for alias, target in extra_aliases.items():
            if _fold(str(alias)) == key:
                return normalize_record_type(target)
    return RECORD_TYPE_ALIASES.get(key)


def suggest_record_type(value: object) -> str | None:
    """The canonical record type nearest to an unknown value, for error messages."""
    text = clean_text(value)
    if text is None:
        return None
    match = difflib.get_close_matches(_fold(text), list(RECORD_TYPE_ALIASES), n=1, cutoff=0.6)
    return RECORD_TYPE_ALIASES[match[0]] if match else None


def _find_column(columns, foreign: str, source: str, warn: bool = True):
    """The column named ``foreign``: exactly, ignoring case, or truncated to 10."""
    names = [str(c) for c in columns]
    if foreign in names:
        return foreign
    folded = {n.casefold(): n for n in names}
    if foreign.casefold() in folded:
        return folded[foreign.casefold()]
    short = foreign[:10].casefold()
    if len(foreign) > 10 and short in folded:
        if not warn:
            return folded[short]
        log.warning(
            "%s: no column %r; using %r, its name truncated to 10 characters as a "
            "Shapefile stores it",
            source,
            foreign,
            folded[short],
        )
        return folded[short]
    return None


def closest_names(name: str, columns, n: int = 3) -> list[str]:
    """The existing column names closest to ``name`` (case-insensitive)."""
    names = [str(c) for c in columns if str(c) != "geometry"]
    folded = {c.casefold(): c for c in names}
    hits = difflib.get_close_matches(name.casefold(), list(folded), n=n, cutoff=0.5)
    return [folded[h] for h in hits]


def _field_entries(field_map: Mapping[str, object], source: str) -> list[tuple[str, str]]:
    """The (canonical, foreign column) pairs of a field map, checked."""
    entries = []
    for canonical, foreign in field_map.items():
        if canonical in ("record_type_values", "values"):
            continue
        if canonical == "geometry":
            raise SchemaError(f"{source}: field map may not rename 'geometry'")
        if not isinstance(foreign, str):
            raise SchemaError(
                f"{source}: field map entry {canonical!r} must name a column, got {foreign!r}"
            )
        entries.append((canonical, foreign))
    return entries


def missing_fields(
    columns, field_map: Mapping[str, object] | None, *, source: str = "input"
) -> list[tuple[str, str, list[str]]]:
    """The field-map entries whose column ``columns`` lacks: (canonical, foreign,
    the closest existing names)."""
    if not field_map:
        return []
    return [
        (canonical, foreign, closest_names(foreign, columns))
        for canonical, foreign in _field_entries(field_map, source)
        if _find_column(columns, foreign, source, warn=False) is None
    ]


def apply_field_map(
    frame: pd.DataFrame,
    field_map: Mapping[str, object] | None,
    *,
    source: str = "input",
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename foreign columns into the canonical schema.

    ``field_map`` maps canonical names to foreign column names, for example
    ``{"record_id": "HAZARD_ID", "record_type": "TYPE"}``.  An optional key
    ``"record_type_values"`` maps foreign type values to canonical ones, for example
    ``{"Minefield": "CHA"}``.  Returns the renamed frame and the value map.

    A foreign name is matched exactly, then ignoring case, then as a Shapefile
    truncates it to 10 characters (``DATE_COMPLETED`` → ``DATE_COMPL``, with a
    warning).  A name the file lacks is left out here; :func:`missing_fields`
    says which.
    """
    if not field_map:
        return frame, {}
    values = field_map.get("record_type_values") or field_map.get("values") or {}
    if not isinstance(values, Mapping):
        raise SchemaError(f"{source}: field map 'record_type_values' must be a table/dict")
    renames: dict[str, str] = {}
    for canonical, foreign in _field_entries(field_map, source):
        col = _find_column(frame.columns, foreign, source)
        if col is not None and col != canonical:
            renames[col] = canonical
    if renames:
        # a canonical column that is being replaced by a mapped one is kept under a new name
        clash = [c for c in renames.values() if c in frame.columns and c not in renames]
        frame = frame.rename(columns={c: f"{c}_original" for c in clash})
        frame = frame.rename(columns=renames)
    return frame, {str(k): str(v) for k, v in values.items()}
