"""The baselines every model is judged against: naive, seasonal naive, ETS and Theta.

Naive and seasonal naive are the textbook benchmarks; ETS and Theta are statsforecast's
``AutoETS`` and ``AutoTheta`` (the exponential-smoothing family that won the M3 and anchored
M4's "Comb" benchmark). All share one signature: ``(history, horizon, season_length)`` in,
``horizon`` point forecasts out.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.metrics import mase, naive_forecast, seasonal_naive_forecast

__all__ = ["BASELINES", "baseline_forecast", "baseline_frame", "best_baseline"]

BASELINES = ("naive", "seasonal_naive", "ets", "theta")
# Statistical fits read at most this many recent seasons (and at least this many points):
# exponential smoothing weighs old points by nearly zero, and a 20,000-point hourly
# history would cost seconds per fit for no change in the forecast.
_MAX_SEASONS = 40
_MIN_POINTS = 400
# statsforecast's ETS, like R's ets(), has no seasonal model for seasons this long.
_ETS_MAX_SEASON = 24


def _recent(history: np.ndarray, season_length: int) -> np.ndarray:
    keep = max(_MAX_SEASONS * season_length, _MIN_POINTS)
    return history[-keep:]


def _statistical(model_name: str) -> Callable[[np.ndarray, int, int], np.ndarray]:
    def forecast(history: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
        from statsforecast.models import AutoETS, AutoTheta

        y = _recent(history, season_length)
        season = season_length
        if season > 1 and (
            len(y) < 2 * season or (model_name == "ets" and season > _ETS_MAX_SEASON)
        ):
            season = 1  # too few seasons to estimate one (or ETS cannot): non-seasonal fit
        if np.ptp(y) == 0:
            return np.full(horizon, y[-1])
        model = AutoETS(season_length=season) if model_name == "ets" else AutoTheta(season)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = model.fit(y.astype(np.float64))
                values = np.asarray(fitted.predict(h=horizon)["mean"], dtype=np.float64)
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError, FloatingPointError):
            values = np.full(horizon, np.nan)
        if not np.isfinite(values).all():  # a degenerate fit: fall back to the naive forecast
            return naive_forecast(history, horizon)
        return values

    return forecast


_FORECASTS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "naive": lambda history, horizon, season: naive_forecast(history, horizon),
    "seasonal_naive": lambda history, horizon, season: seasonal_naive_forecast(
        history, horizon, season_length=min(season, len(history))
    ),
    "ets": _statistical("ets"),
    "theta": _statistical("theta"),
}


def baseline_forecast(
    method: str, history: npt.ArrayLike, horizon: int, season_length: int
) -> np.ndarray:
    """Forecast ``horizon`` steps after ``history`` with one baseline.

    Parameters
    ----------
    method : {"naive", "seasonal_naive", "ets", "theta"}
        The baseline. ``ets`` is statsforecast's ``AutoETS`` (non-seasonal for seasons over
        24 or series under two seasons), ``theta`` its ``AutoTheta``; both read the last 40
        seasons (at least 400 points) and fall back to naive on a degenerate fit.
    history : array-like of shape (n,)
        One series, oldest value first.
    horizon : int
        Steps to forecast.
    season_length : int
        Points per season (1: none).

    Returns
    -------
    numpy.ndarray of shape (horizon,)
    """
    if method not in _FORECASTS:
        raise ValueError(
            f"`method` must be one of {', '.join(map(repr, BASELINES))}; got {method!r}"
        )
    values = np.asarray(history, dtype=np.float64).ravel()
    return np.asarray(_FORECASTS[method](values, int(horizon), int(season_length)))


def baseline_frame(
    frame: pd.DataFrame, method: str, horizon: int, season_length: int, freq: str
) -> pd.DataFrame:
    """One baseline's forecast of the ``horizon`` steps after each series of a long frame.

    Parameters
    ----------
    frame : DataFrame
        Validated long frame (``series_id``, ``timestamp``, ``value``).
    method : str
        One of :data:`BASELINES`.
    horizon, season_length : int
        Steps to forecast and points per season.
    freq : str
        The frame's frequency (pandas alias) for the future timestamps.

    Returns
    -------
    DataFrame
        ``series_id``, ``timestamp``, ``step`` (1-based), ``value``.
    """
    parts = []
    offset = pd.tseries.frequencies.to_offset(freq)
    for sid, group in frame.groupby("series_id", sort=False):
        last = pd.Timestamp(group["timestamp"].iloc[-1])
        stamps = pd.date_range(last, periods=horizon + 1, freq=offset)[1:]
        values = baseline_forecast(method, group["value"].to_numpy(), horizon, season_length)
        parts.append(
            pd.DataFrame(
                {
                    "series_id": sid,
                    "timestamp": stamps,
                    "step": np.arange(1, horizon + 1),
                    "value": values,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def best_baseline(
    history: npt.ArrayLike, horizon: int, season_length: int, methods: tuple[str, ...] = BASELINES
) -> str:
    """The baseline with the lowest MASE on the last ``horizon`` points of ``history``.

    Each method forecasts from everything before that holdout; ties go to the simpler
    method (the order of ``methods``). A series too short for a holdout gets seasonal naive.

    Parameters
    ----------
    history : array-like of shape (n,)
        One series.
    horizon, season_length : int
        The holdout length and the season of seasonal naive and MASE.
    methods : tuple of str
        Candidates, simplest first.

    Returns
    -------
    str
        One of ``methods``.
    """
    values = np.asarray(history, dtype=np.float64).ravel()
    train, test = values[:-horizon], values[-horizon:]
    if len(train) <= season_length + 1:
        return "seasonal_naive" if "seasonal_naive" in methods else methods[0]
    scores = {
        m: mase(test, baseline_forecast(m, train, horizon, season_length), train, season_length)
        for m in methods
    }
    return min(methods, key=lambda m: scores[m])
