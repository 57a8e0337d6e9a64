"""The forecast origin read from a raw history: each series' last window and what follows it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecasting.data import validate_frame

__all__ = ["future_stamps", "read_history"]

_CORE = ("series_id", "timestamp", "value")


def read_history(
    history: pd.DataFrame,
    input_width: int,
    freq: str,
    covariates: Sequence[str],
    only_series: str | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray, list[np.ndarray]]:
    """Each series' id, last timestamp, last ``input_width`` rows and whole history.

    Parameters
    ----------
    history : DataFrame
        Long frame with ``series_id`` (optional with ``only_series``), ``timestamp``,
        ``value`` and ``covariates``.
    input_width : int
        Rows each series needs at least; its last ``input_width`` rows form its window.
    freq : str
        The frequency the model was trained on; the history is validated against it.
    covariates : sequence of str
        Covariate columns after ``value``.
    only_series : str, optional
        The id given to a history without a ``series_id`` column (a one-series model).

    Returns
    -------
    ids : list of str
        The series, in the order they come.
    last_timestamps : ndarray of datetime64[ns]
        Per series, its last timestamp.
    windows : ndarray of shape (n_series, input_width, 1 + n_covariates)
        Per series, its last rows (float32), value first.
    histories : list of ndarray
        Per series, all its rows (float64).

    Raises
    ------
    ValueError
        For missing columns or a series shorter than ``input_width``.
    """
    if "series_id" not in history.columns and only_series is not None:
        history = history.assign(series_id=only_series)
    covariates = list(covariates)
    missing = [c for c in (*_CORE[1:], *covariates) if c not in history.columns]
    if missing:
        raise ValueError(
            f"`history` lacks the columns {missing}; it needs {list(_CORE)} "
            f"and the covariates the model was trained with {covariates}"
        )
    frame = validate_frame(history, freq=freq, source="`history`")
    codes, uniques = pd.factorize(frame["series_id"], sort=False)  # sorted: in row order
    ids = [str(s) for s in uniques]
    lengths = np.bincount(codes)
    if (short := lengths < input_width).any():
        first = int(short.argmax())
        raise ValueError(
            f"`history` for series {ids[first]!r} has {lengths[first]} points; the model "
            f"needs the last {input_width} (its `input_width`) to forecast; pass a longer "
            "history"
        )
    # The frame is sorted by series then time: each series' rows end at the running total.
    ends = np.cumsum(lengths)
    rows = ends[:, None] - input_width + np.arange(input_width)
    values = np.column_stack([frame[c].to_numpy(np.float32) for c in ("value", *covariates)])
    last_ts = frame["timestamp"].to_numpy("datetime64[ns]")[ends - 1]
    histories = [
        values[end - length : end].astype(np.float64)
        for end, length in zip(ends, lengths, strict=True)
    ]
    return ids, last_ts, values[rows], histories


def future_stamps(last: np.ndarray, freq: str, steps: int) -> pd.DatetimeIndex:
    """The ``steps`` timestamps after each of ``last``, series by series."""
    offset = to_offset(freq)
    try:  # a fixed step (hours, minutes, days...): plain arithmetic on the nanoseconds
        step = np.timedelta64(offset.nanos, "ns")
    except ValueError:  # a calendar offset (months, weeks on a weekday, business days)
        pass
    else:
        return pd.DatetimeIndex((last[:, None] + np.arange(1, steps + 1) * step).reshape(-1))
    base = pd.DatetimeIndex(last)
    with warnings.catch_warnings():  # offsets without a vectorised form are applied one by one
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        ahead = [(base + k * offset).as_unit("ns").to_numpy() for k in range(1, steps + 1)]
    return pd.DatetimeIndex(np.stack(ahead, axis=1).reshape(-1))
