"""Release progress over time: hectares released per period, what remains at each period end.

Pure computation.  Each period end is an as-of date of :func:`mineland.account`, in
one shared equal-area CRS, built from the previous period end and the records dated in
between (:mod:`mineland.rolling`).  Land released in a period is the part of the released
land at its end that was not released at its start, classed by the method that holds
it at the end: re-clearing land that was already released does not count twice.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import schema
from .accounting import AccountingCache, parse_as_of, warn_if_before_every_date
from .classes import METHODS
from .errors import DataError
from .rolling import RollingAccounting

__all__ = ["ANNUAL_COLUMNS", "FREQUENCIES", "annual_release", "release_progress"]

log = logging.getLogger(__name__)

FREQUENCIES = {"year": "Y", "quarter": "Q", "month": "M"}
FLOW_COUNTS = ("devices", "incidents", "killed", "injured")
#: the columns of the stocks at a period end
STOCKS = ("released_ha", "contaminated_ha", "cha_ha", "sha_ha")


def _period_ends(start: pd.Timestamp, end: pd.Timestamp, freq: str) -> list[pd.Timestamp]:
    periods = pd.period_range(start, end, freq=FREQUENCIES[freq])
    return [p.end_time.normalize() for p in periods]


def _window(
    lo: pd.Timestamp, hi: pd.Timestamp, freq: str, start, end
) -> tuple[list[pd.Timestamp], pd.Timestamp]:
    """The period ends and the baseline date (the day before the first period).

    A window given with ``start``/``end`` is honoured exactly: the first period
    begins on ``start`` and the last ends on ``end``.  Without them the periods are
    whole (calendar years, quarters or months) around the dated records.
    """
    if hi < lo:
        raise DataError(f"end {hi.date()} is before start {lo.date()}")
    ends = _period_ends(lo, hi, freq)
    if end is not None:
        ends = [min(t, hi) for t in ends]
    if start is not None:
        return ends, lo - pd.Timedelta(days=1)
    period = pd.Period(lo, freq=FREQUENCIES[freq])
    return ends, period.start_time.normalize() - pd.Timedelta(days=1)


def release_progress(
    districts,
    surveys,
    /,
    *,
    freq: str = "year",
    start: object = None,
    end: object = None,
    accounts: AccountingCache | None = None,
) -> pd.DataFrame:
    """Released land per district and period, and what remains at each period end.

    Parameters
    ----------
    districts, surveys
        As for :func:`mineland.summarize`.
    freq
        ``"year"``, ``"quarter"`` or ``"month"``.
    start, end
        The first and last day covered (default: from the earliest to the latest
        dated release).  Land released before ``start`` (and undated releases) is in
        the cumulative figures but in no period.
    accounts
        An :class:`mineland.AccountingCache` of the same data, to reuse the
        accountings it holds (and keep the ones worked out here).

    Returns
    -------
    pandas.DataFrame
        One row per district (and ``(outside districts)`` when needed) and period:
        ``district``, ``period_end``, ``cleared_ha``, ``reduced_ha``,
        ``cancelled_ha`` (released in the period), ``released_ha`` (cumulative at the
        period end, equal to ``summarize(as_of=period_end)``), ``contaminated_ha``,
        ``cha_ha`` and ``sha_ha`` (at the period end), and ``devices``,
        ``incidents``, ``killed``, ``injured`` (dated in the period).

    Examples
    --------
    >>> table = release_progress(districts, surveys, freq="year")  # doctest: +SKIP
    """
    if freq not in FREQUENCIES:
        raise DataError(f"freq must be one of {', '.join(FREQUENCIES)}, got {freq!r}")
    cache = accounts if accounts is not None else AccountingCache(districts, surveys)
    if accounts is None and end is not None:  # a cache's owner accounted it, and was told
        warn_if_before_every_date(cache.records, parse_as_of(end), "the end date")
    ends, baseline = _periods(cache.records, freq, start, end)
    rolling = RollingAccounting(cache.districts, cache.records, cache.plan, cache.known(None))
    names = [*cache.districts["district"], schema.OUTSIDE]
    frames = []
    steps = rolling.advance_through([baseline, *ends])
    previous, _ = next(steps)
    for t, (current, new) in zip(ends, steps, strict=True):
        frames.append(_period_rows(t, names, new, previous, current))
        previous = current
    return _without_empty_outside(pd.concat(frames, ignore_index=True))


def _periods(records, freq: str, start, end) -> tuple[list[pd.Timestamp], pd.Timestamp]:
    """The period ends and the baseline, from the dated releases (or any dated record)."""
    dated = records[records["record_type"].isin(schema.RELEASE_TYPES) & records["date"].notna()]
    if not len(dated):
        dated = records[records["date"].notna()]
    start_ts = parse_as_of(start) if start is not None else None
    end_ts = parse_as_of(end) if end is not None else None
    first = dated["date"].min() if len(dated) else pd.Timestamp.today().normalize()
    last = dated["date"].max() if len(dated) else first
    if end_ts is not None and start_ts is None and first > end_ts:
        first = end_ts
    return _window(start_ts or first, end_ts or last, freq, start_ts, end_ts)


def _period_rows(t, names, new, prev_summary, cur_summary) -> pd.DataFrame:
    """One row per district (and outside): released in the period by method, the
    stocks at its end, and the points dated in it."""
    cur, prev = _by_name(cur_summary, names), _by_name(prev_summary, names)
    table = {"district": names, "period_end": [t] * len(names)}
    table |= {f"{m}_ha": np.asarray(new[m], dtype=float) for m in METHODS}
    table |= {col: cur[col] for col in STOCKS}
    table |= {c: cur[c] - prev[c] for c in FLOW_COUNTS}
    _check_released(t, names, table, cur["released_ha"] - prev["released_ha"])
    return pd.DataFrame(table)


def _check_released(t, names: list[str], table: dict, grew: np.ndarray) -> None:
    """Warn, naming the district and the period, where the releases by method do not
    add up to the growth of the released land (which equals ``summarize`` at both
    ends): an overlay gone wrong, so that figure is not to be trusted."""
    flows = sum(table[f"{m}_ha"] for m in METHODS)
    off = np.abs(flows - grew) > 1e-6 + 1e-9 * np.abs(table["released_ha"])
    for i in np.flatnonzero(off):
        log.warning(
            "%r, period ending %s: the releases by method add up to %.4f ha, but the "
            "released land grew by %.4f ha; the releases by method are not to be trusted",
            names[i],
            t.date(),
            flows[i],
            grew[i],
        )


def _by_name(summary: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    """The stocks and counts of ``summary`` row by row of ``names`` (0 for a row it
    lacks: the outside row is there only when something lies outside)."""
    at = pd.Index(summary["district"]).get_indexer(names)
    found = at >= 0
    out = {}
    for col, dtype in [(c, float) for c in STOCKS] + [(c, np.int64) for c in FLOW_COUNTS]:
        values = np.zeros(len(names), dtype=dtype)
        values[found] = summary[col].fillna(0).to_numpy(dtype=dtype)[at[found]]
        out[col] = values
    return out


def _without_empty_outside(table: pd.DataFrame) -> pd.DataFrame:
    """The outside row only when something is ever outside."""
    outside = table["district"] == schema.OUTSIDE
    numeric = [c for c in table.columns if c not in ("district", "period_end")]
    if not table.loc[outside, numeric].abs().to_numpy().any():
        table = table[~outside]
    return table.reset_index(drop=True)


#: The columns of :func:`annual_release`, in the layout of the Mine Action Review and
#: Landmine Monitor country reports.
ANNUAL_COLUMNS = (
    "year",
    "cancelled_ha",
    "reduced_ha",
    "cleared_ha",
    "released_ha",
    "cancelled_km2",
    "reduced_km2",
    "cleared_km2",
    "released_km2",
    "devices",
    "incidents",
    "killed",
    "injured",
)


def annual_release(progress: pd.DataFrame) -> pd.DataFrame:
    """Land released per year, all districts together, as the Mine Action Review and
    Landmine Monitor country reports tabulate it: area cancelled, reduced and cleared
    in the year (ha and km²), their total, explosive items found (``devices``, the
    sum of quantities), incidents and casualties dated in the year.

    ``progress`` is :func:`release_progress` with ``freq="year"``.

    Examples
    --------
    >>> annual_release(release_progress(districts, surveys))  # doctest: +SKIP
    """
    if len(progress) == 0:
        return pd.DataFrame({c: [] for c in ANNUAL_COLUMNS})
    flows = ["cancelled_ha", "reduced_ha", "cleared_ha", *FLOW_COUNTS]
    years = progress.assign(year=pd.to_datetime(progress["period_end"]).dt.year)
    table = years.groupby("year")[flows].sum().reset_index()
    table["released_ha"] = table[["cancelled_ha", "reduced_ha", "cleared_ha"]].sum(axis=1)
    for m in ("cancelled", "reduced", "cleared", "released"):
        table[f"{m}_km2"] = table[f"{m}_ha"] / 100.0
    for c in FLOW_COUNTS:
        table[c] = table[c].astype("int64")
    return table[list(ANNUAL_COLUMNS)]
