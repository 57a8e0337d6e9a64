"""Point and interval forecast metrics, and the naive baselines every model must beat."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

__all__ = [
    "INTERVAL_METRICS",
    "METRICS",
    "coverage",
    "mae",
    "mase",
    "msis",
    "naive_forecast",
    "rmse",
    "score_forecasts",
    "seasonal_naive_forecast",
    "smape",
]

METRICS = ("rmse", "mae", "smape", "mase")
# Of the 80% and 95% intervals; NaN for a forecast without them (then left out of the JSON).
INTERVAL_METRICS = ("coverage_80", "coverage_95", "msis")


def _as_finite(values: npt.ArrayLike, name: str) -> np.ndarray:
    """``values`` as a float array; non-numeric, empty or non-finite input is an error."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must hold numbers; got {values!r:.80}.") from None
    if array.size == 0:
        raise ValueError(f"`{name}` is empty; pass at least one value.")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"`{name}` has {int(bad.sum())} NaN or infinite value(s) (the first at flat position "
            f"{first}); drop or fill them before scoring."
        )
    return array


def _pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    true = _as_finite(y_true, "y_true")
    pred = _as_finite(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(
            f"`y_true` and `y_pred` must have the same shape; got {true.shape} and {pred.shape}."
        )
    return true.ravel(), pred.ravel()


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int; got {value!r} of type {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; got {value}.")
    return int(value)


def _history(history: npt.ArrayLike) -> np.ndarray:
    array = _as_finite(history, "history")
    if array.ndim != 1:
        raise ValueError(f"`history` must be one series of shape (n,); got shape {array.shape}.")
    return array


def rmse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Root mean squared error.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and forecast values of the same shape (flattened).

    Returns
    -------
    float
    """
    true, pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((true - pred) ** 2)))


def mae(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Mean absolute error.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and forecast values of the same shape (flattened).

    Returns
    -------
    float
    """
    true, pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(true - pred)))


def smape(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Symmetric mean absolute percentage error, in percent (0 to 200).

    Each term is ``200 * |y_true - y_pred| / (|y_true| + |y_pred|)``; a term with both values
    zero is a perfect forecast and counts as 0.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and forecast values of the same shape (flattened).

    Returns
    -------
    float
    """
    true, pred = _pair(y_true, y_pred)
    numerator = 2.0 * np.abs(true - pred)
    denominator = np.abs(true) + np.abs(pred)
    terms = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
    return float(100.0 * np.mean(terms))


def mase(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    y_train: npt.ArrayLike,
    season_length: int = 1,
) -> float:
    """Mean absolute scaled error.

    The MAE of the forecast divided by the in-sample MAE of the seasonal-naive forecast on
    ``y_train`` (``y_train[t]`` predicted by ``y_train[t - season_length]``). Below 1 beats that
    baseline.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and forecast values of the same shape (flattened).
    y_train : array-like
        The training history (flattened), longer than ``season_length``.
    season_length : int, default=1
        1 scales by the naive (random-walk) forecast.

    Returns
    -------
    float
        When the scale is 0 (a constant or exactly periodic ``y_train``): ``numpy.inf`` if the
        forecast has any error, 0.0 if it has none.
    """
    true, pred = _pair(y_true, y_pred)
    train = _as_finite(y_train, "y_train").ravel()
    season_length = _check_positive_int(season_length, "season_length")
    if train.size <= season_length:
        raise ValueError(
            f"`y_train` has {train.size} value(s); the seasonal-naive scale with "
            f"season_length={season_length} needs at least {season_length + 1}."
        )
    error = float(np.mean(np.abs(true - pred)))
    scale = float(np.mean(np.abs(train[season_length:] - train[:-season_length])))
    if scale == 0.0:
        return np.inf if error > 0.0 else 0.0
    return error / scale


def _bounds(
    y_true: npt.ArrayLike, y_lower: npt.ArrayLike, y_upper: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    true = _as_finite(y_true, "y_true")
    lower, upper = _as_finite(y_lower, "y_lower"), _as_finite(y_upper, "y_upper")
    for name, bound in (("y_lower", lower), ("y_upper", upper)):
        if bound.shape != true.shape:
            raise ValueError(
                f"`y_true` and `{name}` must have the same shape; got {true.shape} and "
                f"{bound.shape}."
            )
    true, lower, upper = true.ravel(), lower.ravel(), upper.ravel()
    if (lower > upper).any():
        first = int(np.flatnonzero(lower > upper)[0])
        raise ValueError(
            f"`y_lower` exceeds `y_upper` at flat position {first} ({lower[first]} > "
            f"{upper[first]}); pass the lower bounds first."
        )
    return true, lower, upper


def coverage(y_true: npt.ArrayLike, y_lower: npt.ArrayLike, y_upper: npt.ArrayLike) -> float:
    """Empirical coverage: the share of actual values inside their interval (bounds included).

    Parameters
    ----------
    y_true, y_lower, y_upper : array-like
        Actual values and the bounds of their intervals, of the same shape (flattened).

    Returns
    -------
    float
        From 0 to 1; a calibrated 95% interval covers about 0.95.
    """
    true, lower, upper = _bounds(y_true, y_lower, y_upper)
    return float(np.mean((lower <= true) & (true <= upper)))


def msis(
    y_true: npt.ArrayLike,
    y_lower: npt.ArrayLike,
    y_upper: npt.ArrayLike,
    y_train: npt.ArrayLike,
    season_length: int = 1,
    level: float = 95,
) -> float:
    """Mean scaled interval score, M4's interval metric.

    Each term is the interval's width plus ``2 / alpha`` times how far the actual value falls
    outside it (``alpha = 1 - level / 100``); the mean is divided by the in-sample MAE of the
    seasonal-naive forecast on ``y_train``, as for :func:`mase`. Lower is better: narrow
    intervals that still hold the actual values.

    Parameters
    ----------
    y_true, y_lower, y_upper : array-like
        Actual values and the bounds of their intervals, of the same shape (flattened).
    y_train : array-like
        The training history (flattened), longer than ``season_length``.
    season_length : int, default=1
        1 scales by the naive (random-walk) forecast.
    level : float, default=95
        The intervals' nominal coverage in percent (M4 scores 95%).

    Returns
    -------
    float
        When the scale is 0: ``numpy.inf`` if the score is positive, 0.0 if not.
    """
    true, lower, upper = _bounds(y_true, y_lower, y_upper)
    train = _as_finite(y_train, "y_train").ravel()
    season_length = _check_positive_int(season_length, "season_length")
    if not 0 < level < 100:
        raise ValueError(f"`level` must be a percentage between 0 and 100; got {level!r}.")
    if train.size <= season_length:
        raise ValueError(
            f"`y_train` has {train.size} value(s); the seasonal-naive scale with "
            f"season_length={season_length} needs at least {season_length + 1}."
        )
    alpha = 1.0 - level / 100.0
    below = np.maximum(lower - true, 0.0)
    above = np.maximum(true - upper, 0.0)
    score = float(np.mean(upper - lower + 2.0 / alpha * (below + above)))
    scale = float(np.mean(np.abs(train[season_length:] - train[:-season_length])))
    if scale == 0.0:
        return np.inf if score > 0.0 else 0.0
    return score / scale


def naive_forecast(history: npt.ArrayLike, horizon: int) -> np.ndarray:
    """Repeat the last observed value ``horizon`` times.

    Parameters
    ----------
    history : array-like of shape (n,)
        One series, n >= 1.
    horizon : int
        Number of steps to forecast.

    Returns
    -------
    numpy.ndarray of shape (horizon,)
    """
    array = _history(history)
    horizon = _check_positive_int(horizon, "horizon")
    return np.full(horizon, array[-1])


def seasonal_naive_forecast(history: npt.ArrayLike, horizon: int, season_length: int) -> np.ndarray:
    """Repeat the last full season of ``history``.

    Step ``k`` (from 0) is ``history[n - season_length + k % season_length]``.

    Parameters
    ----------
    history : array-like of shape (n,)
        One series with at least ``season_length`` values.
    horizon : int
        Number of steps to forecast.
    season_length : int
        Number of steps in one season (1 gives the naive forecast).

    Returns
    -------
    numpy.ndarray of shape (horizon,)
    """
    array = _history(history)
    horizon = _check_positive_int(horizon, "horizon")
    season_length = _check_positive_int(season_length, "season_length")
    if array.size < season_length:
        raise ValueError(
            f"`history` has {array.size} value(s), fewer than one season "
            f"(season_length={season_length}); pass at least {season_length} values or use "
            "`naive_forecast`."
        )
    return np.resize(array[-season_length:], horizon)


def score_forecasts(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_train: np.ndarray,
    season_length: int,
    intervals: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, float]:
    """All metrics of one forecast: ``rmse``, ``mae``, ``smape``, ``mase``, and of intervals.

    Parameters
    ----------
    y_true, y_pred : ndarray
        Actuals and forecast over the horizon.
    y_train : ndarray
        The history the forecast was made from (scales MASE).
    season_length : int
        Season of MASE's (and MSIS') seasonal-naive scale.
    intervals : mapping of int to (ndarray, ndarray), optional
        Per level, the lower and upper bounds over the horizon; with the 80 and 95 levels
        the result adds ``coverage_80``, ``coverage_95`` (shares from 0 to 1) and ``msis``
        (M4's mean scaled interval score of the 95% interval), NaN where a bound is missing.

    Returns
    -------
    dict
        ``{"rmse": ..., "mae": ..., "smape": ..., "mase": ...}``, and the interval metrics.
    """
    scores = {
        "rmse": rmse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
        "smape": smape(y_true, y_pred),
        "mase": mase(y_true, y_pred, y_train, season_length=season_length),
    }
    if intervals is None:
        return scores

    def finite(level: int) -> bool:
        return level in intervals and bool(np.isfinite(np.stack(intervals[level])).all())

    for level in (80, 95):
        scores[f"coverage_{level}"] = (
            coverage(y_true, *intervals[level]) if finite(level) else float("nan")
        )
    scores["msis"] = (
        msis(y_true, *intervals[95], y_train, season_length=season_length, level=95)
        if finite(95)
        else float("nan")
    )
    return scores
