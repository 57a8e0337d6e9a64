"""Seeded synthetic series (sine, cosine, noise, seasonal sums, sin→cos) as long frames."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Literal

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecasting.data import DEFAULT_SERIES_ID

__all__ = ["SeriesKind", "generate_series", "sin_cos_frame"]

SeriesKind = Literal["sin", "cos", "noise", "seasonal"]
_KINDS = ("sin", "cos", "noise", "seasonal")


def generate_series(
    kind: SeriesKind = "sin",
    n_series: int = 1,
    length: int = 1000,
    freq: str = "h",
    start: str | pd.Timestamp = "2020-01-01",
    noise: float = 0.0,
    trend: float = 0.0,
    seasonalities: Sequence[float] = (24,),
    amplitude: float = 1.0,
    level: float = 0.0,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Generate a long frame of regular synthetic series; the same seed gives the same frame.

    Each series is ``level + amplitude * signal + trend * t + noise * e`` with ``t = 0, 1, ...``
    the step number and ``e`` standard normal draws from ``np.random.default_rng(seed)``.

    Parameters
    ----------
    kind : {"sin", "cos", "noise", "seasonal"}
        The signal: a sine or cosine of period ``seasonalities[0]`` steps, standard normal
        white noise, or the sum of one sine per period in `seasonalities`.
    n_series : int
        Number of series. One series is called ``DEFAULT_SERIES_ID``; several are called
        ``series_0``, ``series_1``... (sorted as text), series ``i`` shifted in phase by
        ``2 * pi * i / n_series``.
    length : int
        Points per series.
    freq : str
        Pandas offset alias of the time grid.
    start : str or pandas.Timestamp
        First timestamp (a tz-aware start is converted to UTC and made tz-naive).
    noise : float
        Standard deviation of the Gaussian noise added to every point.
    trend : float
        Increase per step.
    seasonalities : sequence of float
        Periods in steps, e.g. ``(24, 168)`` for daily and weekly cycles of hourly data.
    amplitude, level : float
        Scale and offset of the signal.
    seed : int or None
        Seed of the random generator (``None``: fresh entropy, not reproducible).

    Returns
    -------
    pandas.DataFrame
        ``series_id``, ``timestamp``, ``value``, sorted, with ``attrs["freq"]`` set.
    """
    if kind not in _KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(map(repr, _KINDS))}, got {kind!r}")
    _check_count("n_series", n_series)
    _check_count("length", length)
    _check_noise(noise)
    periods = np.asarray(seasonalities, dtype=float)
    if periods.ndim != 1 or periods.size == 0 or not (np.isfinite(periods) & (periods > 0)).all():
        raise ValueError(
            f"`seasonalities` must be a non-empty sequence of positive periods in steps, "
            f"got {seasonalities!r}"
        )
    stamps, alias = _grid(start, length, freq)
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=float)
    phase = 2 * np.pi * np.arange(n_series)[:, None] / n_series
    if kind == "noise":
        signal = rng.standard_normal((n_series, length))
    elif kind == "seasonal":
        signal = sum(np.sin(2 * np.pi * t / p + phase) for p in periods)
    else:
        wave = np.sin if kind == "sin" else np.cos
        signal = wave(2 * np.pi * t / periods[0] + phase)
    values = level + amplitude * signal + trend * t
    if noise:
        values = values + noise * rng.standard_normal((n_series, length))
    ids = [DEFAULT_SERIES_ID] if n_series == 1 else [f"series_{i}" for i in range(n_series)]
    frame = pd.DataFrame(
        {
            "series_id": np.repeat(ids, length),
            "timestamp": np.tile(stamps, n_series),
            "value": np.broadcast_to(values, (n_series, length)).ravel(),
        }
    )
    return _finish(frame, alias)


def sin_cos_frame(
    length: int = 1000,
    freq: str = "h",
    start: str | pd.Timestamp = "2020-01-01",
    period: float = 24.0,
    seed: int | None = 0,
    noise: float = 0.0,
) -> pd.DataFrame:
    """Generate the sin→cos regression: covariate ``sin`` drives the target ``value`` = cos.

    Parameters
    ----------
    length : int
        Number of points.
    freq : str
        Pandas offset alias of the time grid.
    start : str or pandas.Timestamp
        First timestamp.
    period : float
        Period of both waves, in steps.
    seed : int or None
        Seed of ``np.random.default_rng`` for the noise.
    noise : float
        Standard deviation of independent Gaussian noise added to each column.

    Returns
    -------
    pandas.DataFrame
        One series (``DEFAULT_SERIES_ID``): ``series_id``, ``timestamp``, ``value`` (cosine),
        ``sin`` (sine), with ``attrs["freq"]`` set.
    """
    _check_count("length", length)
    _check_noise(noise)
    if not isinstance(period, Real) or not np.isfinite(float(period)) or period <= 0:
        raise ValueError(f"`period` must be a positive number of steps, got {period!r}")
    stamps, alias = _grid(start, length, freq)
    rng = np.random.default_rng(seed)
    angle = 2 * np.pi * np.arange(length) / float(period)
    cos, sin = np.cos(angle), np.sin(angle)
    if noise:
        cos = cos + noise * rng.standard_normal(length)
        sin = sin + noise * rng.standard_normal(length)
    frame = pd.DataFrame(
        {"series_id": DEFAULT_SERIES_ID, "timestamp": stamps, "value": cos, "sin": sin}
    )
    return _finish(frame, alias)


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"`{name}` must be at least 1, got {value}")


def _check_noise(noise: object) -> None:
    if not isinstance(noise, Real) or not np.isfinite(float(noise)) or noise < 0:
        raise ValueError(f"`noise` must be a non-negative standard deviation, got {noise!r}")


def _grid(start: str | pd.Timestamp, length: int, freq: str) -> tuple[pd.DatetimeIndex, str]:
    try:
        offset = to_offset(freq)
    except ValueError:
        raise ValueError(
            f"`freq` must be a pandas frequency alias such as 'h', 'D' or 'MS', got {freq!r}"
        ) from None
    try:
        first = pd.Timestamp(start)
    except ValueError:
        raise ValueError(f"`start` must be a date such as '2020-01-01', got {start!r}") from None
    if first.tzinfo is not None:
        first = first.tz_convert(None)
    stamps = pd.date_range(first, periods=length, freq=offset)
    if stamps[0] != first:
        raise ValueError(
            f"`start` {str(first)!r} is not on the {offset.freqstr!r} grid; "
            f"use e.g. {str(stamps[0])!r}"
        )
    return pd.DatetimeIndex(stamps.astype("datetime64[ns]")), offset.freqstr


def _finish(frame: pd.DataFrame, alias: str) -> pd.DataFrame:
    frame = frame.astype({"series_id": str, "timestamp": "datetime64[ns]", "value": "float64"})
    frame = frame.sort_values(["series_id", "timestamp"], kind="stable", ignore_index=True)
    frame.attrs["freq"] = alias
    return frame
