"""Per-window normalisation of network inputs and targets, and its exact inverse.

A window is normalised on its own, from the points the network reads, never from the
targets: ``"last"`` subtracts the last observed value; ``"window"`` also divides by the
spread of the window's values, so every window reaches the network on one scale whatever
the level and amplitude of its series (what lets one global network serve many series and
series it has never seen). With ``residual="seasonal_naive"`` the targets are what is left
after the window's own seasonal-naive forecast (the last season repeated), so a network
that outputs zeros forecasts exactly seasonal naive, and training only learns corrections.
``residual="auto"`` takes, per series, whichever of seasonal naive and naive forecasts the
series' own history better (:func:`reference_season`): a quarterly GDP series has a season
length of 4 but no season worth repeating. ``residual="linear"`` takes a ridge regression of
the normalised targets on the normalised window (:func:`fit_linear`, fitted once on the
training windows of every series): an autoregressive "highway" that carries the seasonal
lags and the drift exactly, as LSTNet's does, so the recurrent network only learns what a
linear model of the window cannot; its penalty shrinks towards the naive forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "WindowScale",
    "denormalize",
    "fit_linear",
    "normalize",
    "normalize_targets",
    "reference_season",
    "seasonal_reference",
    "series_affine",
]

# Ridge penalties tried (by generalised cross-validation) for the linear reference.
_ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
# The spread is floored at this share of the window's mean magnitude (and an absolute
# 1e-8): a smooth series whose window barely moves (a fertility rate drifting by 0.01 a
# year) is not blown up to unit spread, where the network and the linear reference would
# extrapolate its tiny drift as boldly as a real trend; constant windows never divide by 0.
_RELATIVE_FLOOR = 0.1
_ABSOLUTE_FLOOR = 1e-8


@dataclass
class WindowScale:
    """How each window was normalised: ``z = (v - center) / scale``, targets less ``reference``.

    Attributes
    ----------
    center, scale : ndarray of shape (n, 1)
        The affine map of each window's value channel.
    reference : ndarray of shape (n, horizon)
        The normalised reference forecast subtracted from the targets (zeros without a
        residual design).
    """

    center: np.ndarray
    scale: np.ndarray
    reference: np.ndarray


def seasonal_reference(
    values: np.ndarray, horizon: int, season_length: int | np.ndarray
) -> np.ndarray:
    """The seasonal forecast of every window: its seasonal profile, repeated.

    With a season (``m > 1``), step ``k`` is the mean of the window's values at the same
    phase in each of its full seasons: the last season repeated (seasonal naive) when the
    window holds one season, the average of three seasons when it holds three, which
    carries the season without copying one season's noise forward. With ``m = 1`` it is
    the last value (naive).

    Parameters
    ----------
    values : ndarray of shape (n, width)
        The value channel of ``n`` windows.
    horizon : int
        Steps to forecast.
    season_length : int or ndarray of shape (n,)
        Points per season, one for all windows or one per window; capped at the window
        width.

    Returns
    -------
    ndarray of shape (n, horizon)
        Step ``k`` (from 0) of window ``i`` averages ``values[i, width - m + k % m - j * m]``
        over ``j = 0 .. width // m - 1`` (just ``j = 0`` for ``m = 1``).
    """
    n, width = values.shape
    m = np.clip(np.broadcast_to(np.asarray(season_length, dtype=np.int64), (n,)), 1, width)
    out = np.empty((n, horizon), dtype=np.float64)
    for season in np.unique(m):
        rows = m == season
        seasons = 1 if season == 1 else width // season
        last = width - season + np.arange(horizon) % season
        columns = last[None, :] - season * np.arange(seasons)[:, None]
        out[rows] = values[rows][:, columns].mean(axis=1)
    return out


def reference_season(values: np.ndarray, horizon: int, season_length: int, width: int) -> int:
    """The season of the better reference for one series: ``season_length`` or 1 (naive).

    Both references (:func:`seasonal_reference` over windows of ``width`` points) forecast
    ``horizon`` steps from every origin of ``values`` (the training history); the one with
    the lower mean absolute error wins, naive on a tie.

    Parameters
    ----------
    values : ndarray of shape (n,)
        The series' history.
    horizon, season_length, width : int
        Steps forecast, the frequency's season and the network's input width.

    Returns
    -------
    int
        ``season_length`` when the seasonal profile beats repeating the last value.
    """
    y = np.asarray(values, dtype=np.float64)
    m = min(int(season_length), int(width))
    if m <= 1 or len(y) < width + horizon:
        return 1
    windows = np.lib.stride_tricks.sliding_window_view(y, width + horizon)
    inputs, actual = windows[:, :width], windows[:, width:]
    naive = np.abs(actual - inputs[:, -1:]).mean()
    seasonal = np.abs(actual - seasonal_reference(inputs, horizon, m)).mean()
    return m if seasonal < naive else 1


def fit_linear(values: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit the linear reference: ridge regression of targets on windows, both normalised.

    Parameters
    ----------
    values : ndarray of shape (n, width)
        Normalised value channel of the training windows.
    targets : ndarray of shape (n, horizon)
        Their normalised targets (:func:`normalize_targets` without a reference).

    Returns
    -------
    coef : ndarray of shape (width, horizon)
    intercept : ndarray of shape (horizon,)
        The penalty is chosen among ``_ALPHAS`` by generalised cross-validation
        (scikit-learn's ``RidgeCV``).
    """
    from sklearn.linear_model import RidgeCV

    model = RidgeCV(alphas=_ALPHAS).fit(np.asarray(values, np.float64), np.asarray(targets))
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(targets.shape[1], -1).T
    intercept = np.broadcast_to(np.asarray(model.intercept_, np.float64), (targets.shape[1],))
    return coef, np.array(intercept)


def normalize(
    x: np.ndarray,
    horizon: int,
    season_length: int | np.ndarray,
    method: str = "window",
    residual: str = "none",
    linear: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, WindowScale]:
    """Normalise the value channel of windows; covariate channels pass unchanged.

    Parameters
    ----------
    x : ndarray of shape (n, width, n_features)
        Windows, the value first.
    horizon : int
        Steps the network forecasts (the reference's length).
    season_length : int or ndarray of shape (n,)
        Season of the seasonal-naive reference, for all windows or per window (1: naive).
    method : {"none", "last", "window"}
        ``"last"``: less the last value; ``"window"``: less the last value, divided by the
        standard deviation of the window's values, at least a tenth of their mean magnitude.
    residual : {"none", "seasonal_naive", "auto", "linear"}
        Whether targets are taken relative to the window's seasonal forecast (with
        ``"auto"`` the caller passes each window's chosen season, see
        :func:`reference_season`) or to the linear reference ``linear``.
    linear : tuple of ndarray, optional
        :func:`fit_linear`'s coefficients, for ``residual="linear"``.

    Returns
    -------
    x_normalised : ndarray, float32
        Same shape as ``x``.
    scale : WindowScale
        What :func:`denormalize` (and target normalisation) needs.
    """
    x = np.array(x, dtype=np.float32)
    values = x[:, :, 0].astype(np.float64)
    n = len(x)
    center = np.zeros((n, 1))
    scale = np.ones((n, 1))
    if method in ("last", "window"):
        center = values[:, -1:].copy()
    if method == "window":
        spread = values.std(axis=1, keepdims=True)
        floor = _RELATIVE_FLOOR * np.abs(values).mean(axis=1, keepdims=True)
        scale = np.maximum(spread, np.maximum(floor, _ABSOLUTE_FLOOR))
    normed = (values - center) / scale
    x[:, :, 0] = normed
    reference = np.zeros((n, horizon))
    if residual == "linear":
        if linear is None:
            raise ValueError("`residual='linear'` needs the fitted `linear` coefficients")
        reference = normed @ linear[0] + linear[1]
    elif residual != "none":
        reference = seasonal_reference(normed, horizon, season_length)
    return x, WindowScale(center=center, scale=scale, reference=reference)


def normalize_targets(y: np.ndarray, scale: WindowScale) -> np.ndarray:
    """Targets in the network's space: ``(y - center) / scale - reference``, float32."""
    y = np.asarray(y, dtype=np.float64)
    return ((y - scale.center) / scale.scale - scale.reference).astype(np.float32)


def denormalize(output: np.ndarray, scale: WindowScale) -> np.ndarray:
    """Map the network's output back to the series' units: the inverse of the targets' map."""
    output = np.asarray(output, dtype=np.float64)
    return (output + scale.reference) * scale.scale + scale.center


def series_affine(values: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Scale and offset per feature of ``method`` fitted on ``values`` (rows of one series).

    How a model scales a series it was not trained on, from that series' own history.

    The same maps as scikit-learn's ``StandardScaler``, ``MinMaxScaler`` and ``RobustScaler``
    (``z = offset + x * scale``); a feature without spread keeps a scale of 1.
    """
    if method == "none":
        return np.ones(values.shape[1]), np.zeros(values.shape[1])
    if method == "minmax":
        low, spread = values.min(axis=0), np.ptp(values, axis=0)
    elif method == "robust":
        low = np.median(values, axis=0)
        spread = np.subtract(*np.percentile(values, [75, 25], axis=0))
    else:
        low, spread = values.mean(axis=0), values.std(axis=0)
    scale = 1.0 / np.where(spread > 0, spread, 1.0)
    return scale, -low * scale
