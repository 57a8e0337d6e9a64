"""From a training frame to the network's arrays: input width, validation tails, scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.normalization import fit_linear, normalize, normalize_targets, reference_season
from forecasting.scaling import SeriesScaler
from forecasting.transformers import sliding_windows

__all__ = [
    "TrainingWindows",
    "default_input_width",
    "min_training_length",
    "training_windows",
]


def default_input_width(
    season_length: int, horizon: int, shortest: int, validation_fraction: float = 0.1
) -> int:
    """Pick an input width: three seasons within 96 points, at least two horizons; data-capped.

    Parameters
    ----------
    season_length : int
        Points per season (24 for hourly data, 52 for weekly, 1 when there is no season).
    horizon : int
        Steps forecast at once.
    shortest : int
        Length of the shortest training series.
    validation_fraction : float
        The share of windows that validate (see :class:`~forecasting.Forecaster`).

    Returns
    -------
    int
        ``max(min(3 * season_length, max(season_length, 96)), 2 * horizon, 8)``: three
        seasons (hourly 72, monthly 36) capped at 96 points (weekly 96, not 156), or one
        season where that is longer; reduced so that the shortest series still yields at
        least as many training windows as the width itself, and further until the training
        and validation windows both fit in it.
    """
    width = max(min(3 * season_length, max(season_length, 96)), 2 * horizon, 8)
    width = min(width, max((shortest - horizon) // 2, 2))
    while width > 2 and _training_count(shortest, width, horizon, validation_fraction) < 1:
        width -= 1
    return int(width)


def min_training_length(width: int, horizon: int, validation_fraction: float = 0.1) -> int:
    """The fewest points a series needs to train: one training window beside its validation.

    Parameters
    ----------
    width, horizon : int
        Input width and horizon.
    validation_fraction : float
        The share of windows that validate (see :class:`~forecasting.Forecaster`).

    Returns
    -------
    int
    """
    length = width + horizon
    while _training_count(length, width, horizon, validation_fraction) < 1:
        length += 1
    return length


def _validation_count(n_windows: int, validation_fraction: float) -> int:
    """Windows, from a series' end, that validate: a share of them, at least one of four."""
    val = int(np.floor(n_windows * validation_fraction))
    if validation_fraction > 0 and n_windows >= 4:
        val = max(val, 1)
    return val


def _training_count(length: int, width: int, horizon: int, validation_fraction: float) -> int:
    """Training windows of a series once its validation windows and their gap are set aside."""
    n_windows = length - width - horizon + 1
    val = _validation_count(n_windows, validation_fraction)
    return n_windows - val - (horizon - 1 if val else 0)


@dataclass
class TrainingWindows:
    """The normalised arrays a network trains and validates on, and the state behind them.

    Attributes
    ----------
    train_x, train_y, val_x, val_y : ndarray
        Normalised training and validation windows and their targets.
    scaler : SeriesScaler
        Fitted on the training frame, per series.
    seasons : dict of str to int
        Per series, the season of its reference forecast (1: naive).
    linear : tuple of ndarray, optional
        The linear reference of ``residual="linear"``.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    scaler: SeriesScaler
    seasons: dict[str, int]
    linear: tuple[np.ndarray, np.ndarray] | None


def training_windows(
    frame: pd.DataFrame,
    *,
    width: int,
    horizon: int,
    covariates: list[str],
    scaler: str,
    normalize_mode: str,
    residual: str,
    season_length: int,
    validation_fraction: float,
) -> TrainingWindows:
    """Scale and window every series; each series' last windows validate.

    The scaler is fitted on ``frame`` alone (the training part of a split or fold). The
    validation windows' targets start after every training window's targets end, so early
    stopping judges points the weights were not fitted on.

    Parameters
    ----------
    frame : DataFrame
        The validated long training frame.
    width, horizon : int
        Input width and horizon.
    covariates : list of str
        Covariate columns after ``value``.
    scaler, normalize_mode, residual : str
        The forecaster's ``scaler``, ``normalize`` and ``residual``.
    season_length : int
        Points per season.
    validation_fraction : float
        Share of each series' windows, from its end, that validate.

    Returns
    -------
    TrainingWindows
    """
    fitted = SeriesScaler(method=scaler).fit(frame)
    scaled = fitted.transform(frame)
    xs, ys, vxs, vys, ms, vms = [], [], [], [], [], []
    seasons: dict[str, int] = {}
    for sid, group in scaled.groupby("series_id", sort=False):
        n_windows = len(group) - width - horizon + 1
        val = _validation_count(n_windows, validation_fraction)
        n_train = _training_count(len(group), width, horizon, validation_fraction)
        if n_train < 1:
            need = width + horizon + (val + horizon - 1 if val else 0)
            raise ValueError(
                f"series {sid!r} has {len(group)} points; training needs at least {need} "
                f"(input_width {width} + horizon {horizon}"
                + (f" + a validation tail of {val + horizon - 1}" if val else "")
                + "); pass a longer series, a smaller `input_width` or `horizon`, "
                "or `validation_fraction=0`"
            )
        values = group[["value", *covariates]].to_numpy(np.float32)
        if residual == "auto":
            m = reference_season(values[:, 0], horizon, season_length, width)
        else:
            m = int(season_length) if residual == "seasonal_naive" else 1
        seasons[str(sid)] = m
        x, y = sliding_windows(values, width, horizon)
        xs.append(x[:n_train])
        ys.append(y[:n_train])
        ms.append(np.full(n_train, m))
        vxs.append(x[n_windows - val :])
        vys.append(y[n_windows - val :])
        vms.append(np.full(val, m))
    train_x, train_y, train_m = np.concatenate(xs), np.concatenate(ys), np.concatenate(ms)
    linear = None
    if residual == "linear":
        xn, scale = normalize(train_x, horizon, train_m, normalize_mode, "none")
        linear = fit_linear(xn[:, :, 0], normalize_targets(train_y, scale))

    def normalized(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(x):
            return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
        xn, scale = normalize(x, horizon, m, normalize_mode, residual, linear)
        return xn, normalize_targets(y, scale)

    train_x, train_y = normalized(train_x, train_y, train_m)
    val_x, val_y = normalized(np.concatenate(vxs), np.concatenate(vys), np.concatenate(vms))
    return TrainingWindows(train_x, train_y, val_x, val_y, fitted, seasons, linear)
