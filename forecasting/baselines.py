"""The baselines every model is judged against: naive, seasonal naive, ETS, Theta and their
ensemble.

Naive and seasonal naive are the textbook benchmarks; ETS and Theta are statsforecast's
``AutoETS`` and ``AutoTheta`` (the exponential-smoothing family that won the M3 and anchored
M4's "Comb" benchmark); ``stat_ensemble`` is the median, step by step, of AutoETS, AutoTheta
and AutoARIMA, the statistical ensemble of fev-bench, which mostly removes each member's rare
large misses. All share one signature: ``(history, horizon, season_length)`` in, ``horizon``
point forecasts out, and with ``levels`` the bounds of prediction intervals too:
statsforecast's own for ETS, Theta and ARIMA (the ensemble takes the median of its members'
bounds); for naive and seasonal naive the conformal quantiles
(:func:`forecasting.intervals.conformal_quantiles`) of their in-sample errors at each step.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.intervals import check_levels, conformal_quantiles
from forecasting.metrics import mase, naive_forecast, seasonal_naive_forecast

__all__ = [
    "BASELINES",
    "ENSEMBLE_MEMBERS",
    "Bounds",
    "baseline_forecast",
    "baseline_forecasts",
    "baseline_frame",
    "best_baseline",
    "median_forecast",
]

# Per level, the lower and upper bounds of each step's interval.
Bounds = dict[int, tuple[np.ndarray, np.ndarray]]
_Forecast = Callable[[np.ndarray, int, int, tuple[int, ...]], tuple[np.ndarray, Bounds]]

BASELINES = ("naive", "seasonal_naive", "ets", "theta", "stat_ensemble")
# The members of ``stat_ensemble``; ``arima`` is a member only, not a baseline of its own.
ENSEMBLE_MEMBERS = ("ets", "theta", "arima")
# Statistical fits read at most this many recent seasons (and at least this many points):
# exponential smoothing weighs old points by nearly zero, and a 20,000-point hourly
# history would cost seconds per fit for no change in the forecast.
_MAX_SEASONS = 40
_MIN_POINTS = 400
# statsforecast's ETS, like R's ets(), has no seasonal model for seasons this long; a
# seasonal AutoARIMA over such seasons takes seconds to minutes per fit, so it goes without.
_ETS_MAX_SEASON = 24
_ARIMA_MAX_SEASON = 24
# AutoARIMA reads fewer recent seasons than ETS: its search refits every candidate order.
_ARIMA_MAX_POINTS = 480
# A narrower, approximated order search: a seasonal AutoARIMA over 480 hourly points takes
# 0.9 s instead of 45 s, and picks the same kind of model (small p, q; P, Q at most 1).
_ARIMA_SEARCH: dict[str, Any] = dict(
    approximation=True, max_p=2, max_q=2, max_P=1, max_Q=1, nmodels=20
)


def _recent(history: np.ndarray, season_length: int) -> np.ndarray:
    keep = max(_MAX_SEASONS * season_length, _MIN_POINTS)
    return history[-keep:]


def _empirical(
    history: np.ndarray, values: np.ndarray, season: int, levels: tuple[int, ...]
) -> Bounds:
    """Bounds from the in-sample errors of (seasonal) naive at each step, over recent history.

    Step ``h`` from origin ``t`` repeats ``y[t - season + 1 + (h - 1) % season]``; its
    absolute errors over every origin of the recent history give the step's conformal
    quantile. A step with no origin (a short series) gets NaN bounds.
    """
    if not levels:
        return {}
    y = _recent(history, season)
    horizon, n = len(values), len(y)
    half = np.full((len(levels), horizon), np.nan)
    for h in range(1, horizon + 1):
        origins = np.arange(season - 1, n - h)
        if len(origins):
            errors = y[origins + h] - y[origins - season + 1 + (h - 1) % season]
            quantiles = conformal_quantiles(errors[:, None])[:, 0]
            half[:, h - 1] = quantiles[np.asarray(levels) - 1]
    return {level: (values - half[i], values + half[i]) for i, level in enumerate(levels)}


def _naive(
    history: np.ndarray, horizon: int, season: int, levels: tuple[int, ...]
) -> tuple[np.ndarray, Bounds]:
    values = naive_forecast(history, horizon)
    return values, _empirical(history, values, 1, levels)


def _seasonal_naive(
    history: np.ndarray, horizon: int, season: int, levels: tuple[int, ...]
) -> tuple[np.ndarray, Bounds]:
    season = min(season, len(history))
    values = seasonal_naive_forecast(history, horizon, season_length=season)
    return values, _empirical(history, values, season, levels)


def _statistical(model_name: str) -> _Forecast:
    def forecast(
        history: np.ndarray, horizon: int, season_length: int, levels: tuple[int, ...]
    ) -> tuple[np.ndarray, Bounds]:
        from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

        y = _recent(history, season_length)
        season = season_length
        longest = {"ets": _ETS_MAX_SEASON, "arima": _ARIMA_MAX_SEASON}.get(model_name)
        if season > 1 and (len(y) < 2 * season or (longest is not None and season > longest)):
            season = 1  # too few seasons to estimate one (or too long a one): non-seasonal fit
        if np.ptp(y) == 0:
            flat = np.full(horizon, y[-1])
            return flat, {level: (flat, flat) for level in levels}
        model: AutoETS | AutoTheta | AutoARIMA
        if model_name == "ets":
            model = AutoETS(season_length=season)
        elif model_name == "theta":
            model = AutoTheta(season)
        else:
            y = y[-max(_ARIMA_MAX_POINTS, 4 * season) :]
            model = AutoARIMA(season_length=season, **_ARIMA_SEARCH)
        bounds: Bounds = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = model.fit(y.astype(np.float64))
                if levels:
                    out = fitted.predict(h=horizon, level=list(levels))
                    bounds = {
                        level: (
                            np.asarray(out[f"lo-{level}"], dtype=np.float64),
                            np.asarray(out[f"hi-{level}"], dtype=np.float64),
                        )
                        for level in levels
                    }
                else:
                    out = fitted.predict(h=horizon)
                values = np.asarray(out["mean"], dtype=np.float64)
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError, FloatingPointError):
            values = np.full(horizon, np.nan)
        finite = all(np.isfinite(b).all() for pair in bounds.values() for b in pair)
        if not (np.isfinite(values).all() and finite):  # a degenerate fit: naive instead
            return _naive(history, horizon, season_length, levels)
        return values, bounds

    return forecast


def median_forecast(members: Sequence[tuple[np.ndarray, Bounds]]) -> tuple[np.ndarray, Bounds]:
    """The median, step by step, of several forecasts and of each level's bounds.

    Parameters
    ----------
    members : sequence of (ndarray, dict)
        Each member's point forecast and its bounds per level (as :func:`baseline_forecast`
        returns them with ``levels``); at least one. A level missing from a member is left
        out of the result.

    Returns
    -------
    tuple of ndarray and dict
        The median point forecast, and per level the medians of the lower and of the upper
        bounds (nested again where the medians cross).
    """
    if not members:
        raise ValueError("`members` is empty: a median needs at least one forecast")
    point = np.median(np.stack([np.asarray(v, dtype=np.float64) for v, _ in members]), axis=0)
    levels = set.intersection(*(set(b) for _, b in members))
    bounds: Bounds = {
        level: (
            np.median(np.stack([b[level][0] for _, b in members]), axis=0),
            np.median(np.stack([b[level][1] for _, b in members]), axis=0),
        )
        for level in sorted(levels)
    }
    return point, _nested(point, bounds)


def _stat_ensemble(
    history: np.ndarray, horizon: int, season: int, levels: tuple[int, ...]
) -> tuple[np.ndarray, Bounds]:
    members = [_MEMBERS[m](history, horizon, season, levels) for m in ENSEMBLE_MEMBERS]
    return median_forecast(members)


def baseline_forecasts(
    methods: Sequence[str],
    history: npt.ArrayLike,
    horizon: int,
    season_length: int,
    levels: Sequence[int] = (),
) -> dict[str, tuple[np.ndarray, Bounds]]:
    """Several baselines' forecasts of one series, each statistical model fitted once.

    ``stat_ensemble`` reuses the ETS and Theta fits when those are asked for too.

    Parameters
    ----------
    methods : sequence of str
        Baselines, as :func:`baseline_forecast` takes them.
    history : array-like of shape (n,)
        One series, oldest value first.
    horizon, season_length : int
        Steps to forecast and points per season.
    levels : sequence of int
        Nominal coverages in percent of the intervals to return (none by default).

    Returns
    -------
    dict
        Per method, its point forecast and its bounds per level.
    """
    unknown = [m for m in methods if m not in _FORECASTS]
    if unknown:
        raise ValueError(
            f"`methods` must be among {', '.join(map(repr, _FORECASTS))}; got {unknown[0]!r}"
        )
    checked = check_levels(levels) if levels else ()
    values = np.asarray(history, dtype=np.float64).ravel()
    wanted = [m for m in ENSEMBLE_MEMBERS if m in methods or "stat_ensemble" in methods]
    wanted += [m for m in methods if m not in wanted and m != "stat_ensemble"]
    out = {m: _FORECASTS[m](values, int(horizon), int(season_length), checked) for m in wanted}
    if "stat_ensemble" in methods:
        out["stat_ensemble"] = median_forecast([out[m] for m in ENSEMBLE_MEMBERS])
    return {m: (np.asarray(out[m][0]), _nested(np.asarray(out[m][0]), out[m][1])) for m in methods}


_MEMBERS: dict[str, _Forecast] = {m: _statistical(m) for m in ENSEMBLE_MEMBERS}
_FORECASTS: dict[str, _Forecast] = {
    "naive": _naive,
    "seasonal_naive": _seasonal_naive,
    **_MEMBERS,
    "stat_ensemble": _stat_ensemble,
}


@overload
def baseline_forecast(
    method: str, history: npt.ArrayLike, horizon: int, season_length: int, levels: None = None
) -> np.ndarray: ...


@overload
def baseline_forecast(
    method: str, history: npt.ArrayLike, horizon: int, season_length: int, levels: Sequence[int]
) -> tuple[np.ndarray, Bounds]: ...


def baseline_forecast(
    method: str,
    history: npt.ArrayLike,
    horizon: int,
    season_length: int,
    levels: Sequence[int] | None = None,
) -> np.ndarray | tuple[np.ndarray, Bounds]:
    """Forecast ``horizon`` steps after ``history`` with one baseline.

    Parameters
    ----------
    method : {"naive", "seasonal_naive", "ets", "theta", "stat_ensemble", "arima"}
        The baseline. ``ets`` is statsforecast's ``AutoETS`` (non-seasonal for seasons over
        24 or series under two seasons), ``theta`` its ``AutoTheta``; both read the last 40
        seasons (at least 400 points) and fall back to naive on a degenerate fit. ``arima``
        is its ``AutoARIMA`` (the last 480 points, non-seasonal for seasons over 24, with a
        narrowed, approximated order search), and
        ``stat_ensemble`` the median of the three, step by step.
    history : array-like of shape (n,)
        One series, oldest value first.
    horizon : int
        Steps to forecast.
    season_length : int
        Points per season (1: none).
    levels : sequence of int, optional
        Nominal coverages in percent of prediction intervals to return too, such as
        ``(80, 95)``. Naive and seasonal naive take, per step, the conformal quantile of
        their own in-sample errors at that step; ETS and Theta statsforecast's intervals
        (a degenerate fit falls back to naive with its intervals).

    Returns
    -------
    numpy.ndarray of shape (horizon,)
        The point forecast, when ``levels`` is not given.
    tuple of numpy.ndarray and dict
        With ``levels``: the point forecast and, per level, its ``(lower, upper)`` bounds.
    """
    if method not in _FORECASTS:
        raise ValueError(
            f"`method` must be one of {', '.join(map(repr, _FORECASTS))}; got {method!r}"
        )
    checked = () if levels is None else check_levels(levels)
    values = np.asarray(history, dtype=np.float64).ravel()
    point, bounds = _FORECASTS[method](values, int(horizon), int(season_length), checked)
    if levels is None:
        return np.asarray(point)
    return np.asarray(point), _nested(np.asarray(point), bounds)


def _nested(point: np.ndarray, bounds: Bounds) -> Bounds:
    """Bounds widened where rounding left them inside the point or a lower level's bounds."""
    out: Bounds = {}
    lower, upper = point, point
    for level in sorted(bounds):
        low, high = bounds[level]
        # np.fmin/fmax keep a NaN bound NaN only where both are NaN: use where to keep it NaN.
        lower = np.where(np.isnan(low), np.nan, np.fmin(low, lower))
        upper = np.where(np.isnan(high), np.nan, np.fmax(high, upper))
        out[level] = (lower, upper)
    return out


def baseline_frame(
    frame: pd.DataFrame,
    method: str,
    horizon: int,
    season_length: int,
    freq: str,
    levels: Sequence[int] | None = None,
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
    levels : sequence of int, optional
        Adds the bounds ``lo_<level>``, ``hi_<level>`` of each level's interval (see
        :func:`baseline_forecast`).

    Returns
    -------
    DataFrame
        ``series_id``, ``timestamp``, ``step`` (1-based), ``value``, and the bounds.
    """
    parts = []
    offset = pd.tseries.frequencies.to_offset(freq)
    for sid, group in frame.groupby("series_id", sort=False):
        last = pd.Timestamp(group["timestamp"].iloc[-1])
        stamps = pd.date_range(last, periods=horizon + 1, freq=offset)[1:]
        history = group["value"].to_numpy()
        bounds: Bounds = {}
        if levels is None:
            values = baseline_forecast(method, history, horizon, season_length)
        else:
            values, bounds = baseline_forecast(method, history, horizon, season_length, levels)
        part = pd.DataFrame(
            {
                "series_id": sid,
                "timestamp": stamps,
                "step": np.arange(1, horizon + 1),
                "value": values,
            }
        )
        for level, (lower, upper) in bounds.items():
            part[f"lo_{level}"], part[f"hi_{level}"] = lower, upper
        parts.append(part)
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
    forecasts = baseline_forecasts(methods, train, horizon, season_length)
    scores = {m: mase(test, forecasts[m][0], train, season_length) for m in methods}
    return min(methods, key=lambda m: scores[m])
