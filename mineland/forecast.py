"""When will each district be clear at the current pace (pure computation).

The pace is measured over a trailing window ending at the origin date (by default
the three years before it), in quarters (or months, for a window of months that is
not a whole number of quarters) counted back from the origin: per period, the land released for the
first time (the growth of the released land, as :func:`mineland.release_progress`
counts it) and the contamination newly recorded (the rise of the contaminated
hectares plus what was released).  The
**net rate** is their difference per year, averaged over the window's periods:

    net rate = (released − newly recorded) per period × periods per year

and the central completion date is ``origin + remaining / net rate``.  Where the net
rate is zero or negative (new contamination found as fast as land is released, or
faster), there is no date: "not at this pace".

The **range** is a bootstrap over the window's periods: the periods are drawn again
with replacement (2,000 times, a fixed seed), each draw gives a mean rate and so a
completion time, and the 10th and 90th percentiles of those times are the low and high
dates (a draw whose rate is not positive counts as never).  With a **deadline** each
row says "on track" (even the high date is in time), "off track" (the central date is
late, or there is none) or "at risk" (in between), and the rate needed to finish in
time as a multiple of the current one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import schema
from .accounting import AccountingCache, parse_as_of
from .errors import DataError
from .rolling import summaries_at

__all__ = ["Forecast", "backtest", "forecast_completion", "parse_window"]

TOTAL = "All districts"
NOT_AT_THIS_PACE = "not at this pace"
DAYS_PER_YEAR = 365.2425
#: Beyond this many years a completion date is given as "after YEAR".
MAX_YEARS = 200
_PER_YEAR = {"quarter": 4, "month": 12}


@dataclass
class Forecast:
    """What :func:`forecast_completion` worked out."""

    #: one row per district and one for all of them
    table: pd.DataFrame
    #: contaminated hectares at the window's period ends (for charts), per district
    history: pd.DataFrame
    origin: pd.Timestamp
    window: str
    notes: list[str] = field(default_factory=list)


#: the longest window: survey dates lie within 1900-2100
MAX_WINDOW_MONTHS = 200 * 12


def parse_window(window: str) -> tuple[str, int]:
    """The periods a window is measured in: ``"3y"`` → ``("quarter", 12)``,
    ``"18m"`` → ``("quarter", 6)``, ``"7m"`` → ``("month", 7)``."""
    found = re.fullmatch(r"\s*(\d{1,6})\s*([ym])\s*", str(window).casefold())
    months = 0 if not found else int(found.group(1)) * (12 if found.group(2) == "y" else 1)
    if not 1 <= months <= MAX_WINDOW_MONTHS:
        raise DataError(
            "window must be a number of years or months such as 3y or 18m, at most "
            f"{MAX_WINDOW_MONTHS // 12} years; got {window!r}"
        )
    return ("quarter", months // 3) if months % 3 == 0 else ("month", months)


def forecast_completion(
    districts,
    surveys=None,
    /,
    *,
    as_of: object = None,
    window: str = "3y",
    deadline: object = None,
    accounts: AccountingCache | None = None,
    samples: int = 2000,
    seed: int = 0,
) -> Forecast:
    """Completion dates per district at the pace of the trailing window.

    The method (net rate, bootstrap range, deadline status) is described in
    :mod:`mineland.forecast`.

    Parameters
    ----------
    districts, surveys
        As for :func:`mineland.summarize`.
    as_of
        The origin of the forecast (default: the date of the latest dated release).
    window
        The trailing window the pace is measured over: ``"3y"`` (three calendar
        years), ``"18m"`` (eighteen months).
    deadline
        A date (for example the Article 5 deadline): adds ``status`` and
        ``needed_multiple`` (the rate needed to finish by then, as a multiple of the
        current net rate).
    accounts
        An :class:`mineland.AccountingCache` of the same data, to reuse.

    Returns
    -------
    Forecast
        ``table``: ``district``, ``contaminated_ha`` (at the origin, as
        :func:`mineland.summarize` gives it), ``released_ha_per_year``,
        ``new_ha_per_year``, ``net_rate_ha_per_year``, ``years_left``,
        ``completion``, ``completion_low``, ``completion_high`` (dates, or "not at
        this pace"), and with a deadline ``status`` and ``needed_multiple``.

    Examples
    --------
    >>> f = forecast_completion(districts, surveys, deadline="2030-12-31")  # doctest: +SKIP
    >>> f.table[["district", "completion", "status"]]  # doctest: +SKIP
    """
    cache = accounts if accounts is not None else AccountingCache(districts, surveys)
    freq, n = parse_window(window)
    origin = parse_as_of(as_of) if as_of is not None else _last_release(cache)
    flows, history = _window_flows(cache, origin, freq, n)
    remaining = _remaining(cache, origin)
    per_year = _PER_YEAR[freq]
    rows = [
        _row(name, remaining.get(name, 0.0), flows[name], per_year, origin, samples, seed)
        for name in flows
    ]
    table = pd.DataFrame(rows)
    if deadline is not None:
        table = _with_deadline(table, origin, parse_as_of(deadline))
    notes = [
        f"pace over the {n} {freq}s to {origin.date()} (window {window}); range: 10th–90th "
        f"percentiles of a bootstrap over those {freq}s ({samples:,} draws)"
    ]
    return Forecast(table, history, origin, str(window), notes)


def _release_dates(cache: AccountingCache) -> pd.Series:
    """The dates of the dated releases (the pace is measured on them)."""
    records = cache.at(None).records
    dated = records["record_type"].isin(schema.RELEASE_TYPES) & records["date"].notna()
    return records.loc[dated, "date"]


def _last_release(cache: AccountingCache) -> pd.Timestamp:
    dates = _release_dates(cache)
    if not len(dates):
        raise DataError("no dated release: there is no pace to forecast from")
    return dates.max().normalize()


def _window_flows(cache, origin, freq, n) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Per district (and all): the land released for the first time and the
    contamination newly recorded in each period of the window.  The periods are
    quarters (or months) counted back from the origin: the released land is a union
    that only grows, so what it gains in a period is the first releases, and what the
    contaminated land gains, plus that, is what was newly recorded."""
    step = pd.DateOffset(months=3 if freq == "quarter" else 1)
    ends = [origin - step * k for k in range(n, -1, -1)]
    dates = _release_dates(cache)
    first = dates.min().normalize() if len(dates) else None
    if first is None or first > origin:
        raise DataError(f"no dated release on or before {origin.date()}: no pace to forecast from")
    if ends[1] < first:
        usable = sum(1 for t in ends[:-1] if t >= first)  # periods that begin after it
        raise DataError(
            f"the window to {origin.date()} begins before the first dated release "
            f"({first.date()}): {usable} whole {freq}(s) of data, where {n} are asked; "
            "give a shorter window"
        )
    levels = [s.set_index("district") for s in summaries_at(cache, ends)]
    names = list(levels[-1].index)
    flows, history = {}, []
    for name in names:
        contaminated = np.array([float(s["contaminated_ha"].get(name, 0.0)) for s in levels])
        released_total = np.array([float(s["released_ha"].get(name, 0.0)) for s in levels])
        released = np.diff(released_total)
        flows[name] = np.stack([released, np.diff(contaminated) + released])
        history += [
            {"district": name, "period_end": t, "contaminated_ha": c}
            for t, c in zip(ends, contaminated, strict=True)
        ]
    flows[TOTAL] = sum(flows.values())
    return flows, pd.DataFrame(history)


def _remaining(cache: AccountingCache, origin) -> dict[str, float]:
    summary = cache.at(origin).summary
    out = dict(zip(summary["district"], summary["contaminated_ha"].astype(float), strict=True))
    out[TOTAL] = float(summary["contaminated_ha"].sum())
    return out


def _row(name, remaining, flow, per_year, origin, samples, seed) -> dict:
    released, new = flow
    net = released - new  # the decrease of contamination in each period
    rate = float(net.mean()) * per_year
    row = {
        "district": name,
        "contaminated_ha": remaining,
        "released_ha_per_year": float(released.mean()) * per_year,
        "new_ha_per_year": float(new.mean()) * per_year,
        "net_rate_ha_per_year": rate,
        "periods": len(net),
    }
    if remaining <= 1e-9:
        return {
            **row,
            "years_left": 0.0,
            "completion": "clear",
            "completion_low": "clear",
            "completion_high": "clear",
        }
    rng = np.random.default_rng(seed)
    draws = net[rng.integers(0, len(net), size=(samples, len(net)))].mean(axis=1) * per_year
    with np.errstate(divide="ignore"):
        years = np.where(draws > 0, remaining / np.where(draws > 0, draws, 1), np.inf)
    low, high = np.quantile(years, [0.1, 0.9], method="inverted_cdf")
    central = remaining / rate if rate > 0 else np.inf
    return {
        **row,
        "years_left": central,
        "completion": _date(origin, central),
        "completion_low": _date(origin, low),
        "completion_high": _date(origin, high),
    }


def _date(origin: pd.Timestamp, years: float) -> str:
    if not np.isfinite(years):
        return NOT_AT_THIS_PACE
    if years > MAX_YEARS:  # a pace so slow that a date means nothing
        return f"after {origin.year + MAX_YEARS}"
    return (origin + pd.Timedelta(days=years * DAYS_PER_YEAR)).date().isoformat()


def _with_deadline(table: pd.DataFrame, origin, deadline: pd.Timestamp) -> pd.DataFrame:
    years = (deadline - origin).days / DAYS_PER_YEAR
    if years <= 0:
        raise DataError(f"the deadline {deadline.date()} is not after the origin {origin.date()}")
    needed = table["contaminated_ha"] / years
    rate = table["net_rate_ha_per_year"]
    table = table.assign(
        needed_ha_per_year=needed,
        needed_multiple=np.where(rate > 0, needed / rate.where(rate > 0, 1), np.inf),
    )
    table["status"] = [_status(r, deadline) for r in table.itertuples()]
    return table


def _status(row, deadline) -> str:
    if row.completion == "clear":
        return "clear"
    if not _by(row.completion, deadline):
        return "off track"
    return "on track" if _by(row.completion_high, deadline) else "at risk"


def _by(completion: str, deadline: pd.Timestamp) -> bool:
    """Whether a completion (a date, or words) comes by the deadline."""
    if completion == NOT_AT_THIS_PACE or completion.startswith("after "):
        return False
    return pd.Timestamp(completion) <= deadline


def backtest(
    districts,
    surveys=None,
    /,
    *,
    year: int,
    window: str = "3y",
    accounts: AccountingCache | None = None,
) -> pd.DataFrame:
    """How far a forecast made at the end of ``year`` was from what the data shows.

    The forecast's remaining hectares at the end of the data (the latest dated
    release), ``max(0, remaining − net rate × years)``, against the contaminated
    hectares the data gives there.

    Examples
    --------
    >>> backtest(districts, surveys, year=2023)  # doctest: +SKIP
    """
    cache = accounts if accounts is not None else AccountingCache(districts, surveys)
    origin = pd.Timestamp(f"{int(year)}-12-31")
    end = _last_release(cache)
    if end <= origin:
        raise DataError(f"the data ends on {end.date()}: nothing after {year} to compare with")
    then = forecast_completion(
        cache.districts, cache.records, as_of=origin, window=window, accounts=cache
    ).table.set_index("district")
    actual = _remaining(cache, end)
    years = (end - origin).days / DAYS_PER_YEAR
    rows = []
    for name, f in then.iterrows():
        predicted = max(0.0, f["contaminated_ha"] - f["net_rate_ha_per_year"] * years)
        truth = actual.get(name, 0.0)
        rows.append(
            {
                "district": name,
                "forecast_from": origin.date().isoformat(),
                "compared_at": end.date().isoformat(),
                "contaminated_then_ha": f["contaminated_ha"],
                "predicted_ha": predicted,
                "actual_ha": truth,
                "error_ha": predicted - truth,
                "error_pct": 100.0 * (predicted - truth) / truth if truth > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)
