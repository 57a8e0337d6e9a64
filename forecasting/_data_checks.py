"""The checks behind data validation: parsing columns, duplicates, frequency, and the wording.

Each check raises :class:`DataError` with one message that names the source, the rows or
columns at fault and the fix.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import BaseOffset

__all__ = [
    "CSV_LOC",
    "DECIMAL_COMMA",
    "MAX_MAGNITUDE",
    "SHOWN",
    "DataError",
    "check_duplicates",
    "check_freq",
    "clean_rows",
    "column_names",
    "describe_gap",
    "format_time",
    "is_numeric",
    "plural",
    "quote_source",
    "to_floats",
    "to_timestamps",
    "where_at",
]

_ID, _TIME = "series_id", "timestamp"
SHOWN = 3  # how many offenders an error message lists
CSV_LOC = ("line", 2)  # CSV line = row label + 2 (the header is line 1)
# Largest magnitude accepted: scalers and networks compute in float32, whose squares overflow
# past about 1e19; 1e15 leaves room for sums of squares over long series.
MAX_MAGNITUDE = 1e15
DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+\s*$")


class DataError(ValueError):
    """Bad input data; the message names the source, what is wrong and how to fix it."""


def clean_rows(
    values: list[pd.Series], offset: BaseOffset, codes: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    """Rows of the series that already lie on a fixed-step grid without a gap or a missing value.

    ``values`` are the value and covariate columns sorted by series and time, ``codes`` the
    series of each row and ``steps`` the time between rows (see `_sorted`). Calendar offsets
    (months, weeks anchored on a weekday, business days) have no fixed step: none of their rows
    is marked.
    """
    try:
        step = offset.nanos
    except ValueError:
        step = 0
    if step <= 0:
        return np.zeros(len(codes), dtype=bool)
    bad = np.zeros(len(codes), dtype=bool)
    for column in values:
        bad |= column.isna().to_numpy()
    bad[1:] |= (codes[1:] == codes[:-1]) & (steps != step)
    return np.bincount(codes, weights=bad)[codes] == 0


def to_timestamps(col: pd.Series, label: str, src: str, loc: tuple[str, int]) -> pd.Series:
    if is_datetime64_any_dtype(col.dtype) and getattr(col.dtype, "tz", None) is None:
        parsed = col  # tz-naive times are taken as UTC: nothing to parse or convert
    elif is_datetime64_any_dtype(col.dtype):
        parsed = pd.to_datetime(col, utc=True)
    else:
        with warnings.catch_warnings():  # "could not infer format": parsed element-wise then
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(col, errors="coerce", utc=True)
        retry = parsed.isna() & col.notna()
        if retry.any():
            parsed[retry] = pd.to_datetime(col[retry], errors="coerce", utc=True, format="ISO8601")
    if (bad := parsed.isna().to_numpy()).any():
        first = int(bad.argmax())
        text = "" if pd.isna(col.iloc[first]) else str(col.iloc[first])
        raise DataError(
            f"{src}: cannot parse timestamp {text!r} in column `{label}` at "
            f"{where_at([col.index[first]], loc)}; write dates and times like 2020-01-31 or "
            "2020-01-31 13:00:00"
        )
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed.astype("datetime64[ns]")


def to_floats(col: pd.Series, label: str, src: str, loc: tuple[str, int]) -> pd.Series:
    if is_numeric_dtype(col.dtype) or is_bool_dtype(col.dtype):
        values = col.astype("float64")
        bad = np.isinf(values.to_numpy())  # numbers convert; only infinities are refused
    else:
        values = pd.to_numeric(col, errors="coerce").astype("float64")
        bad = ((values.isna() & col.notna()) | np.isinf(values)).to_numpy()
    if bad.any():
        first = int(bad.argmax())
        cell = str(col.iloc[first])
        hint = " (a decimal comma: write 3.14, or use `;` between the fields)"
        raise DataError(
            f"{src}: value {cell!r} in column `{label}` at "
            f"{where_at([col.index[first]], loc)} is not a finite number; write plain numbers "
            f"such as 3.14 (leave the cell empty if missing)"
            f"{hint if DECIMAL_COMMA.match(cell) else ''}"
        )
    huge = np.abs(values.to_numpy()) > MAX_MAGNITUDE
    if huge.any():
        first = int(huge.argmax())
        raise DataError(
            f"{src}: value {str(col.iloc[first])!r} in column `{label}` at "
            f"{where_at([col.index[first]], loc)} is beyond ±{MAX_MAGNITUDE:g}, more than the "
            "networks' float32 arithmetic can scale; rescale the column (for example divide "
            "it by 1e9) before forecasting"
        )
    return values


def is_numeric(col: pd.Series) -> bool:
    present = col.notna()
    return bool(present.any()) and bool(pd.to_numeric(col, errors="coerce")[present].notna().all())


def check_duplicates(out: pd.DataFrame, src: str, loc: tuple[str, int]) -> None:
    dup = out.duplicated([_ID, _TIME], keep=False)
    if not dup.any():
        return
    groups = list(out[dup].groupby([_ID, _TIME], sort=False).groups.items())
    shown = []
    for key, rows in groups[:SHOWN]:
        sid, ts = cast(tuple[str, pd.Timestamp], key)
        shown.append(f"series `{sid}` at {format_time(ts)} ({where_at(list(rows), loc)})")
    more = f" and {len(groups) - SHOWN} more" if len(groups) > SHOWN else ""
    hint = ""
    if out[_ID].nunique() == 1:
        hint = " (a file of several series needs --id-col / data.id_col)"
        if loc != CSV_LOC:
            hint = " (a frame of several series needs a `series_id` column)"
    raise DataError(
        f"{src}: {plural(len(groups), 'duplicate timestamp')}: {'; '.join(shown)}{more}; "
        f"keep one row per series and timestamp{hint}"
    )


def check_freq(freq: str, src: str) -> str:
    try:
        return to_offset(freq).freqstr
    except ValueError:
        raise DataError(
            f"{src}: `freq` {freq!r} is not a pandas frequency alias; use one such as "
            "h, 30min, D, B, W-SUN, MS, QS or YS"
        ) from None


def describe_gap(sid: str, grid: pd.DatetimeIndex, gaps: np.ndarray) -> str:
    start = int(gaps.argmax())
    rest = gaps[start:]
    size = len(rest) if rest.all() else int(rest.argmin())
    span = (
        f"from {format_time(grid[start])} to {format_time(grid[start + size - 1])}"
        if size > 1
        else ""
    )
    return f"series `{sid}` {span or 'at ' + format_time(grid[start])} ({plural(size, 'point')})"


def where_at(labels: Sequence[Any], loc: tuple[str, int]) -> str:
    noun, shift = loc
    numbers = ", ".join(str(int(label) + shift) for label in labels)
    return f"{noun}{'s' if len(labels) > 1 else ''} {numbers}"


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_time(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else str(ts)


def quote_source(source: str) -> str:
    return source if source.startswith("`") else f"`{source}`"


def column_names(columns: Sequence[Hashable]) -> str:
    return ", ".join(f"`{c}`" for c in columns)
