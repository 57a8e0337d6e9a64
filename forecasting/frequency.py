"""Frequencies of time series: the grid a series lies on and the length of its season."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries import offsets
from pandas.tseries.frequencies import to_offset

__all__ = ["season_length_for", "series_offset"]

_SEASONS: tuple[tuple[tuple[type, ...], int], ...] = (
    ((offsets.Minute,), 1440),
    ((offsets.Hour,), 24),
    ((offsets.Day,), 7),
    ((offsets.BusinessDay,), 5),
    ((offsets.Week,), 52),
    ((offsets.MonthEnd, offsets.MonthBegin, offsets.BMonthEnd, offsets.BMonthBegin), 12),
    ((offsets.QuarterEnd, offsets.QuarterBegin, offsets.BQuarterEnd, offsets.BQuarterBegin), 4),
    ((offsets.YearEnd, offsets.YearBegin, offsets.BYearEnd, offsets.BYearBegin), 1),
)


def season_length_for(freq: str) -> int:
    """Return the number of steps in one season: 24 for hourly, 7 for daily, 12 for monthly...

    Minutes give steps per day (``"30min"`` -> 48), business days 5, weeks 52, quarters 4,
    years 1; multiples divide the cycle when they can (``"2h"`` -> 12); anything else is 1.
    """
    try:
        offset = to_offset(freq)
    except ValueError:
        raise ValueError(f"`freq`: {freq!r} is not a pandas frequency alias") from None
    for kinds, cycle in _SEASONS:
        if isinstance(offset, kinds) and offset.n > 0 and cycle % offset.n == 0:
            return cycle // offset.n
    return 1


def series_offset(index: pd.DatetimeIndex) -> offsets.BaseOffset | None:
    """The offset of the regular grid holding every timestamp of a sorted index, or ``None``.

    ``pandas.infer_freq`` first; when gaps defeat it, the most common step, calendar offsets
    of about that length and the aliases of short runs are tried, and the smallest grid that
    holds every timestamp wins.
    """
    found = _pandas_infer(index)
    if found is not None:
        return found
    # Gaps defeat pd.infer_freq: try the most common step, calendar offsets of about that
    # length and the aliases of short runs; keep the smallest grid holding every timestamp.
    step, month = pd.Series(index[1:] - index[:-1]).mode().min(), index[0].month
    candidates = [to_offset(step)]
    for days, calendar in (
        ((1, 1), [offsets.BusinessDay()]),
        ((28, 31), [offsets.MonthBegin(), offsets.MonthEnd()]),
        (
            (89, 92),
            [offsets.QuarterBegin(startingMonth=month), offsets.QuarterEnd(startingMonth=month)],
        ),
        ((365, 366), [offsets.YearBegin(month=month), offsets.YearEnd(month=month)]),
    ):
        if pd.Timedelta(days=days[0]) <= step <= pd.Timedelta(days=days[1]):
            candidates += calendar
    starts = np.linspace(0, len(index) - 3, num=min(max(len(index) - 2, 0), 32)).astype(int)
    runs = (_pandas_infer(index[i : i + 3]) for i in np.unique(starts))
    candidates += [offset for offset in runs if offset is not None]
    best: tuple[int, offsets.BaseOffset] | None = None
    limit = 100 * len(index) + 1000
    for offset in candidates:
        if (index[-1] - index[0]) / ((index[0] + offset) - index[0]) > limit:
            continue
        grid = pd.date_range(index[0], index[-1], freq=offset)
        if index.isin(grid).all() and (best is None or len(grid) < best[0]):
            best = (len(grid), offset)
    if best is None or isinstance(best[1], offsets.BusinessDay):  # B: 3 days can look daily
        return None if best is None else best[1]
    # pandas' own alias of a short grid: 168h is W-SAT, QuarterBegin(startingMonth=4) is QS-JAN.
    alias = _pandas_infer(pd.date_range(index[0], periods=3, freq=best[1]))
    return best[1] if alias is None else alias


def _pandas_infer(index: pd.DatetimeIndex) -> offsets.BaseOffset | None:
    if len(index) < 3:
        return None
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            found = pd.infer_freq(index)
    except pd.errors.OptionError:  # pandas < 3.1 returns the alias as a string
        found = pd.infer_freq(index)
    return None if found is None else _canonical(to_offset(found))


def _canonical(offset: offsets.BaseOffset) -> offsets.BaseOffset:
    """One name per quarterly grid: starts anchored in JAN-MAR, ends in OCT-DEC.

    QS-OCT and QS-JAN are the same grid of quarter starts (pandas 2.3 names it QS-OCT where
    earlier releases said QS-JAN); the first quarter of the year names it here.
    """
    month = getattr(offset, "startingMonth", None)  # public, but missing from pandas-stubs
    if isinstance(offset, offsets.QuarterBegin) and month is not None:
        return offsets.QuarterBegin(n=offset.n, startingMonth=(month - 1) % 3 + 1)
    if isinstance(offset, offsets.QuarterEnd) and month is not None:
        return offsets.QuarterEnd(n=offset.n, startingMonth=(month - 1) % 3 + 10)
    return offset
