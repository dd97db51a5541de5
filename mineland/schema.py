"""Column names and vocabulary: the single source of truth for the data contract."""

from __future__ import annotations

import difflib
import functools
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
    "STATUS_VALUES",
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

#: Field-map keys naming the columns a geometry is built from (CSV, Excel, SQL);
#: the reader uses them, they are not renamed.
GEOMETRY_KEYS = ("wkt", "lon", "lat", "mgrs", "geopoint", "geoshape")

#: Field-map keys holding tables of values rather than a column name.
VALUE_TABLES = ("record_type_values", "values", "status_values", "record_type_by_table")

#: Hazard status as the IMAS outline shows it, with the spellings read as each.
STATUS_VALUES = ("open", "worked on", "closed")
STATUS_ALIASES: dict[str, str] = {
    "open": "open",
    "active": "open",
    "new": "open",
    "worked on": "worked on",
    "workedon": "worked on",
    "in progress": "worked on",
    "ongoing": "worked on",
    "partially released": "worked on",
    "closed": "closed",
    "completed": "closed",
    "complete": "closed",
    "released": "closed",
}

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

#: words that mark the header row of a table (a title or notes may stand above it)
HEADER_WORDS = frozenset(
    {"record_id", "record_type", "lon", "lat", "longitude", "latitude", "x", "y", "wkt"}
    | {"mgrs", "geometry", "easting", "northing", "date", "type", "id"}
)


#: the columns a table's geometry is built from (see :mod:`mineland.io._columns`)
WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom", "geometry_wkt")
XY_COLUMNS = (
    ("lon", "lat"),
    ("longitude", "latitude"),
    ("long", "lat"),
    ("lng", "lat"),
    ("x", "y"),
    ("easting", "northing"),
    ("point_x", "point_y"),  # ArcGIS's Add XY Coordinates, in the layer's CRS
    ("x_coord", "y_coord"),
)
GEOGRAPHIC_XY = {("lon", "lat"), ("longitude", "latitude"), ("long", "lat"), ("lng", "lat")}
MGRS_COLUMNS = ("mgrs", "mgrs_ref", "mgrs_reference", "grid_ref", "user_entered_mgrs")

#: columns whose twins (a second column of the name, as written or in other case and
#: spacing) must agree: those the hectares and counts are worked out from, and those
#: a geometry is built from
TWIN_CHECKED = frozenset(
    {
        *CANONICAL_COLUMNS,
        "status",
        *WKT_COLUMNS,
        *MGRS_COLUMNS,
        *(n for xy in XY_COLUMNS for n in xy),
    }
) - {"record_id"}
#: twins looked at: those that must agree, and ids (twin ids that differ are warned
#: of, the first used)
_TWINS_LOOKED_AT = TWIN_CHECKED | {"record_id"}


def column_key(name) -> str:
    """A column's name as its meaning is matched: ``Record Type``, ``record-type`` and
    ``RECORD_TYPE`` are ``record_type``."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold())


def unique_columns(frame: pd.DataFrame, names: list[str], source: str) -> pd.DataFrame:
    """``frame``, whose columns are those of the header ``names`` in order, with names
    made unique as pandas makes them (``name``, ``name.1``...); a name of
    :data:`TWIN_CHECKED` written twice is looked at as :func:`check_twins` says."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name, 0)
        unique.append(name if count == 0 else f"{name}.{count}")
        seen[name] = count + 1
    frame = frame.set_axis(unique, axis=1)
    _check_twins(frame, names, source, "remove or rename one of them")
    return frame


def check_twins(frame: pd.DataFrame, source: str, skip=frozenset()) -> None:
    """Two columns of one name of :data:`TWIN_CHECKED` in other case or spacing
    (``record_type`` and ``Record Type``) that differ on a row are a SchemaError naming
    both and the row: which of them the table is read by would be a guess (twin ids
    are warned of, the first used).  Names in ``skip`` are not looked at: a field map
    chose their column."""
    keys = [column_key(c) for c in frame.columns]
    fix = "name the one to read in a field map, or remove the other"
    _check_twins(frame, keys, source, fix, skip)


def _check_twins(frame, keys: list[str], source: str, fix: str, skip=frozenset()) -> None:
    """Each group of columns with one of ``keys`` (in the order of ``frame``'s columns)
    looked at as :func:`check_twins` says."""
    twins: dict[str, list[int]] = {}
    for j, key in enumerate(keys):
        twins.setdefault(key, []).append(j)
    for key, at in twins.items():
        meaning = column_key(key)
        if len(at) > 1 and meaning not in skip and meaning in _TWINS_LOOKED_AT:
            _twins_agree(frame, at, meaning, source, fix)


def _twins_agree(frame: pd.DataFrame, at: list[int], key: str, source: str, fix: str) -> None:
    def cells(j: int) -> pd.Series:
        column = frame.iloc[:, j]
        return column.map(lambda v: "" if v is None or v != v else str(v).strip().casefold())

    first = cells(at[0])
    for j in at[1:]:
        differ = (first != cells(j)).to_numpy()
        if differ.any():
            row = int(differ.argmax())
            a, b = (str(frame.iloc[row, k])[:40] for k in (at[0], j))
            said = (
                f"{source}: columns {at[0] + 1} ({frame.columns[at[0]]!r}) and {j + 1} "
                f"({frame.columns[j]!r}) are both {key}, and row {row + 1} has {a!r} in "
                f"one and {b!r} in the other"
            )
            if key not in TWIN_CHECKED:
                log.warning("%s; the first is used", said)
                continue
            raise SchemaError(f"{said}: which to read is a guess; {fix}")


def looks_like_header(cells) -> bool:
    """Whether a row's cells hold two of the usual column names (:data:`HEADER_WORDS`)."""
    names = {column_key(v) for v in cells if v is not None}
    return len(names & HEADER_WORDS) >= 2


def above_header(n: int, unit: str) -> str:
    """What is said of the ``n`` rows or lines (``unit``) found above a header."""
    if n == 1:
        return f"the {unit} above it (a title?) is not a record"
    return f"the {n} {unit}s above it (a title?) are not records"


#: how many rows from the top of a table its header is looked for in
HEADER_SEARCH_ROWS = 20


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

#: what column names may differ by and still be the same column
_SQUEEZE = re.compile(r"[\s_\-.]+")


def _fold(value: str) -> str:
    return _FOLD.sub(" ", unicodedata.normalize("NFKC", value)).strip().casefold()


#: control characters in text from data (C0, DEL, C1): terminal escapes, NUL, bells
CONTROLS = frozenset(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)]))


def replace_controls(text: str, keep: str = "", by: str = "\N{REPLACEMENT CHARACTER}") -> str:
    """``text`` with its control characters (but those in ``keep``) replaced by ``by``."""
    return text.translate(_control_table(keep, by))


@functools.cache
def _control_table(keep: str, by: str) -> dict[int, str]:
    return {ord(c): by for c in CONTROLS if c not in keep}


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
    """:func:`clean_text` of a whole column at once (vectorised string operations).
    Only the texts that are not ASCII are normalised (ASCII is NFC already): pandas
    normalises to NFC one value at a time."""
    text = pd.Series(values, copy=False).astype("string")
    ascii_only = r"[\x00-\x7f]*$"  # pandas before 3.0 has no str.isascii
    plain = text.str.isascii() if hasattr(text.str, "isascii") else text.str.match(ascii_only)
    wide = ~plain.fillna(True).to_numpy(dtype=bool)
    if wide.any():
        text[wide] = text[wide].str.normalize("NFC")
    text = text.str.strip()
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


def normalize_statuses(values: pd.Series, extra: Mapping[str, str] | None = None) -> np.ndarray:
    """Hazard statuses in the spelling of :data:`STATUS_VALUES` (a field map's
    ``status_values`` first); a value neither knows is kept as written."""
    table = {_fold(str(k)): str(v) for k, v in (extra or {}).items()}

    def one(value):
        text = clean_text(value)
        if text is None:
            return None
        key = _fold(text)
        key = _fold(table.get(key, key))
        return STATUS_ALIASES.get(key, STATUS_ALIASES.get(key.replace(" ", ""), text))

    return by_value(one, values)


def suggest_record_type(value: object) -> str | None:
    """The canonical record type nearest to an unknown value, for error messages."""
    text = clean_text(value)
    if text is None:
        return None
    match = difflib.get_close_matches(_fold(text), list(RECORD_TYPE_ALIASES), n=1, cutoff=0.6)
    return RECORD_TYPE_ALIASES[match[0]] if match else None


def _find_column(columns, foreign: str, source: str, warn: bool = True):
    """The column named ``foreign``: exactly, ignoring case, inside one form group
    (``group/name``), or truncated to 10 as a Shapefile stores it."""
    names = [str(c) for c in columns]
    if foreign in names:
        return foreign
    folded = {n.casefold(): n for n in names}
    if foreign.casefold() in folded:
        return folded[foreign.casefold()]
    squeezed = _SQUEEZE.sub("", foreign.casefold())
    same = [n for n in names if _SQUEEZE.sub("", n.casefold()) == squeezed]
    if len(same) == 1:  # "Hazard Local ID" for hazard_localid, "Hazard-ID" for hazard_id
        return same[0]
    if "/" not in foreign:  # a KoboToolbox/ODK question inside a group: group/name
        grouped = [n for n in names if n.rsplit("/", 1)[-1].casefold() == foreign.casefold()]
        if len(grouped) == 1:
            return grouped[0]
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


#: Field-map keys that describe the map itself.
META_KEYS = ("preset", "description", "sources", "crs")


def _field_entries(field_map: Mapping[str, object], source: str) -> list[tuple[str, list[str]]]:
    """The (canonical, foreign column names) pairs of a field map, checked; a list of
    names means the first one a table has (a preset covering several tables)."""
    entries = []
    for canonical, foreign in field_map.items():
        if canonical in VALUE_TABLES or canonical in GEOMETRY_KEYS or canonical in META_KEYS:
            continue
        if canonical == "geometry":
            raise SchemaError(f"{source}: field map may not rename 'geometry'")
        names = foreign if isinstance(foreign, list) else [foreign]
        if not names or not all(isinstance(n, str) for n in names):
            raise SchemaError(
                f"{source}: field map entry {canonical!r} must name a column, got {foreign!r}"
            )
        entries.append((canonical, names))
    return entries


def _first_column(columns, names: list[str], source: str, warn: bool = True):
    for name in names:
        col = _find_column(columns, name, source, warn=warn)
        if col is not None:
            return col
    return None


def missing_fields(
    columns, field_map: Mapping[str, object] | None, *, source: str = "input"
) -> list[tuple[str, str, list[str]]]:
    """The field-map entries whose column ``columns`` lacks: (canonical, foreign,
    the closest existing names)."""
    if not field_map:
        return []
    return [
        (canonical, " or ".join(names), closest_names(names[0], columns))
        for canonical, names in _field_entries(field_map, source)
        if _first_column(columns, names, source, warn=False) is None
    ]


def _ids_filled(frame: pd.DataFrame, col: str, names: list[str], source: str) -> pd.DataFrame:
    """Blank ids of the first id column taken from the next ones a table has (a new
    form's IMSMA id is blank until linked; its GlobalID is not)."""
    ids = (
        frame[col]
        .astype(object)
        .where(frame[col].notna() & (frame[col].astype(str).str.strip() != ""))
    )
    for name in names[names.index(col) + 1 :] if col in names else names:
        other = _find_column(frame.columns, name, source, warn=False)
        if other is not None and other != col and ids.isna().any():
            ids = ids.fillna(frame[other].astype(object))
    return frame.assign(**{col: ids})


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
    for written, target in values.items():
        if normalize_record_type(target) is None:  # every row of that value rejected
            raise SchemaError(
                f"{source}: field map 'record_type_values' maps {written!r} to {target!r}, "
                f"which is not a record type; the types are {', '.join(RECORD_TYPES)}"
            )
    renames: dict[str, str] = {}
    for canonical, names in _field_entries(field_map, source):
        col = _first_column(frame.columns, names, source)
        if canonical == "record_id" and col is not None and len(names) > 1:
            frame = _ids_filled(frame, col, names, source)
        if col is not None and col != canonical and col not in renames:
            renames[col] = canonical
    if renames:
        # a canonical column that is being replaced by a mapped one is kept under a new name
        clash = [c for c in renames.values() if c in frame.columns and c not in renames]
        frame = frame.rename(columns={c: f"{c}_original" for c in clash})
        frame = frame.rename(columns=renames)
    return frame, {str(k): str(v) for k, v in values.items()}
