"""Scikit-learn style transformers: per-series scaling and zero-copy sliding windows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils import Tags
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from forecasting.checks import check_int

__all__ = ["SCALERS", "SeriesScaler", "SlidingWindows", "sliding_windows"]

_SERIES_ID = "series_id"
_TIMESTAMP = "timestamp"
# The id of an array fitted as one series; equal to `forecasting.data.DEFAULT_SERIES_ID`.
_ARRAY_SERIES_ID = "series"
# FunctionTransformer() without a function is the identity.
_SCALERS: dict[str, type[BaseEstimator]] = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "robust": RobustScaler,
    "none": FunctionTransformer,
}
# The per-series scalings, in the order messages list them.
SCALERS = tuple(_SCALERS)


def _check_length(n: int, input_width: int, horizon: int) -> None:
    minimum = input_width + horizon
    if n < minimum:
        raise ValueError(
            f"A series of n={n} rows is too short for input_width={input_width} and "
            f"horizon={horizon}: at least {minimum} rows (input_width + horizon) are needed for "
            "one window. Use a longer series or a smaller `input_width` or `horizon`."
        )


def sliding_windows(
    values: npt.ArrayLike,
    input_width: int,
    horizon: int,
    stride: int = 1,
    target: npt.ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into (input window, target window) pairs without copying.

    Window ``i`` starts at row ``s = i * stride``: ``X[i, j] = values[s + j]`` and
    ``Y[i, k] = target[s + input_width + k]``.

    Parameters
    ----------
    values : array-like of shape (n,) or (n, n_features)
        The series in time order; 1-D means one feature.
    input_width : int
        Rows in each input window.
    horizon : int
        Steps in each target window.
    stride : int, default=1
        Rows between the starts of consecutive windows.
    target : array-like of shape (n,), optional
        The series to forecast; defaults to ``values[:, 0]``.

    Returns
    -------
    X : numpy.ndarray of shape (n_windows, input_width, n_features)
    Y : numpy.ndarray of shape (n_windows, horizon)
        Read-only views of ``values`` and ``target`` (when those are arrays), with
        ``n_windows = (n - input_width - horizon) // stride + 1``.

    Raises
    ------
    ValueError
        If ``n < input_width + horizon`` or ``target`` does not match ``values``.
    """
    input_width = check_int("input_width", input_width, 1)
    horizon = check_int("horizon", horizon, 1)
    stride = check_int("stride", stride, 1)
    array = np.asarray(values)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise ValueError(
            f"`values` must have shape (n,) or (n, n_features); got shape {array.shape}."
        )
    n = array.shape[0]
    target_array = array[:, 0] if target is None else np.asarray(target)
    if target_array.shape != (n,):
        raise ValueError(
            f"`target` must have shape ({n},) to match `values`; got shape {target_array.shape}."
        )
    _check_length(n, input_width, horizon)
    inputs = sliding_window_view(array[: n - horizon], input_width, axis=0)
    targets = sliding_window_view(target_array[input_width:], horizon)
    return inputs.transpose(0, 2, 1)[::stride], targets[::stride]


def _is_long_frame(X: object) -> bool:
    return isinstance(X, pd.DataFrame) and _SERIES_ID in X.columns


def _feature_columns(frame: pd.DataFrame) -> list[Any]:
    return [column for column in frame.columns if column not in (_SERIES_ID, _TIMESTAMP)]


class SeriesScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale each series with its own statistics.

    An array of shape (n, n_features) is one series. A long frame (with a ``series_id``
    column) gets one fitted scikit-learn scaler per ``series_id`` over its value and covariate
    columns: every column except ``series_id`` and ``timestamp``. ``transform`` and
    ``inverse_transform`` return the type they are given: a frame in, a frame out.

    Parameters
    ----------
    method : {"standard", "minmax", "robust", "none"}, default="standard"
        ``StandardScaler``, ``MinMaxScaler``, ``RobustScaler`` or the identity.

    Attributes
    ----------
    scalers_ : dict of str to estimator
        Fitted scaler per series id (``"series"`` for array input).
    n_features_in_ : int
        Number of scaled columns.
    feature_names_in_ : numpy.ndarray of str
        Names of the scaled columns, when fitted on a DataFrame.
    fitted_on_frame_ : bool
        Whether ``fit`` received a long frame.
    """

    def __init__(self, method: str = "standard") -> None:
        self.method = method

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def fit(self, X: Any, y: object = None) -> SeriesScaler:
        """Fit one scaler per series (a single one for an array).

        Parameters
        ----------
        X : array-like of shape (n, n_features) or pandas.DataFrame
            One series, or a long frame with ``series_id`` (and ``timestamp``) columns.
        y : None
            Ignored.

        Returns
        -------
        SeriesScaler
            The fitted transformer.
        """
        if self.method not in _SCALERS:
            raise ValueError(f"`method` must be one of {sorted(_SCALERS)}; got {self.method!r}.")
        # Plain arrays from the inner scalers even under `sklearn.set_config(transform_output=...)`.
        base = _SCALERS[self.method]().set_output(transform="default")
        self.fitted_on_frame_ = _is_long_frame(X)
        if self.fitted_on_frame_:
            values = validate_data(self, X[_feature_columns(X)], dtype=FLOAT_DTYPES)
            groups = X.groupby(_SERIES_ID, sort=False, observed=True).indices
            self.scalers_ = {sid: clone(base).fit(values[rows]) for sid, rows in groups.items()}
        else:
            values = validate_data(self, X, dtype=FLOAT_DTYPES)
            self.scalers_ = {_ARRAY_SERIES_ID: clone(base).fit(values)}
        return self

    def transform(self, X: Any) -> Any:
        """Scale ``X`` with the statistics of its series.

        Parameters
        ----------
        X : array-like of shape (n, n_features) or pandas.DataFrame
            As in ``fit``.

        Returns
        -------
        numpy.ndarray or pandas.DataFrame
            Scaled copy of ``X``, of the same type.
        """
        return self._apply(X, "transform")

    def inverse_transform(self, X: Any) -> Any:
        """Undo ``transform``.

        Parameters
        ----------
        X : array-like of shape (n, n_features) or pandas.DataFrame
            Scaled data, as returned by ``transform``.

        Returns
        -------
        numpy.ndarray or pandas.DataFrame
            Data on the original scale, of the same type as ``X``.
        """
        return self._apply(X, "inverse_transform")

    def inverse_transform_values(
        self, values: npt.ArrayLike, series_ids: Sequence[str]
    ) -> np.ndarray:
        """Bring scaled forecasts of the value column (column 0) back to the original scale.

        Parameters
        ----------
        values : array-like of shape (n_rows,) or (n_rows, horizon)
            Scaled forecasts, one row per forecast.
        series_ids : sequence of str of length n_rows
            The series of each row.

        Returns
        -------
        numpy.ndarray
            Forecasts on the original scale, same shape as ``values``.
        """
        check_is_fitted(self)
        array = np.asarray(values, dtype=np.float64)
        if array.ndim not in (1, 2):
            raise ValueError(
                f"`values` must have shape (n_rows,) or (n_rows, horizon); got {array.shape}."
            )
        ids = np.asarray(series_ids, dtype=object)
        if ids.shape != (array.shape[0],):
            raise ValueError(
                f"`series_ids` must hold one id per row of `values` ({array.shape[0]}); "
                f"got {len(ids)}."
            )
        result = np.empty_like(array)
        for sid in pd.unique(ids):
            rows = ids == sid
            column = array[rows].reshape(-1)
            padded = np.zeros((column.size, self.n_features_in_))
            padded[:, 0] = column
            restored = self._scaler_for(sid).inverse_transform(padded)[:, 0]
            result[rows] = restored.reshape(array[rows].shape)
        return result

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns: for a long frame, with ``series_id`` and ``timestamp``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Names of the scaled columns; checked against ``feature_names_in_``.

        Returns
        -------
        numpy.ndarray of str
        """
        names = super().get_feature_names_out(input_features)
        if self.fitted_on_frame_:
            return np.asarray([_SERIES_ID, _TIMESTAMP, *names], dtype=object)
        return names

    def _scaler_for(self, series_id: object) -> Any:
        if series_id not in self.scalers_:
            known = sorted(map(str, self.scalers_))
            raise ValueError(
                f"Unknown series id {series_id!r}: this SeriesScaler was fitted on {known}. "
                "Fit it on a frame that includes this series."
            )
        return self.scalers_[series_id]

    def _apply(self, X: Any, method: str) -> Any:
        check_is_fitted(self)
        if not _is_long_frame(X):
            if len(self.scalers_) != 1:
                raise ValueError(
                    f"This SeriesScaler was fitted on {len(self.scalers_)} series; pass a long "
                    f"frame with a `{_SERIES_ID}` column to {method} so each row uses its "
                    "series' scaler."
                )
            values = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
            (scaler,) = self.scalers_.values()
            return getattr(scaler, method)(values)
        columns = _feature_columns(X)
        values = validate_data(self, X[columns], dtype=FLOAT_DTYPES, reset=False)
        result = np.empty_like(values)
        groups = X.groupby(_SERIES_ID, sort=False, observed=True).indices
        for sid, rows in groups.items():
            result[rows] = getattr(self._scaler_for(sid), method)(values[rows])
        out = X.copy()
        out[columns] = result
        return out


class SlidingWindows(TransformerMixin, BaseEstimator):
    """Cut one series into input windows (and target windows) with :func:`sliding_windows`.

    This transformer changes the number of rows and returns 3-D arrays: it is the last step
    before the network, not a step in a row-wise scikit-learn pipeline.

    Parameters
    ----------
    input_width : int
        Rows in each input window.
    horizon : int
        Steps in each target window (windows are only cut where a full target exists).
    stride : int, default=1
        Rows between the starts of consecutive windows.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : numpy.ndarray of str
        Column names seen in ``fit``, when ``X`` is a DataFrame.
    """

    def __init__(self, input_width: int, horizon: int, stride: int = 1) -> None:
        self.input_width = input_width
        self.horizon = horizon
        self.stride = stride

    def fit(self, X: Any, y: object = None) -> SlidingWindows:
        """Check the parameters and that ``X`` is long enough for one window.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            One series in time order; the target is column 0.
        y : None
            Ignored.

        Returns
        -------
        SlidingWindows
            The fitted transformer.
        """
        input_width = check_int("input_width", self.input_width, 1)
        horizon = check_int("horizon", self.horizon, 1)
        check_int("stride", self.stride, 1)
        values = validate_data(self, X, dtype=FLOAT_DTYPES)
        _check_length(values.shape[0], input_width, horizon)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Input windows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            One series in time order.

        Returns
        -------
        numpy.ndarray of shape (n_windows, input_width, n_features)
            Read-only view of ``X`` (of its float copy when ``X`` is not a float array).
        """
        return self.transform_xy(X)[0]

    def transform_xy(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Input windows and their targets (column 0 of ``X``).

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            One series in time order.

        Returns
        -------
        Xw : numpy.ndarray of shape (n_windows, input_width, n_features)
        Yw : numpy.ndarray of shape (n_windows, horizon)
        """
        check_is_fitted(self)
        values = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        return sliding_windows(values, self.input_width, self.horizon, self.stride)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Rebuild the rows the input windows cover.

        Parameters
        ----------
        X : numpy.ndarray of shape (n_windows, input_width, n_features)
            Windows as returned by ``transform``; needs ``stride <= input_width``.

        Returns
        -------
        numpy.ndarray of shape ((n_windows - 1) * stride + input_width, n_features)
            For ``stride=1`` the first ``n - horizon`` rows of the series.
        """
        check_is_fitted(self)
        windows = np.asarray(X)
        expected = (self.input_width, self.n_features_in_)
        if windows.ndim != 3 or windows.shape[1:] != expected or windows.shape[0] == 0:
            raise ValueError(
                "`X` must have shape (n_windows, input_width, n_features) = "
                f"(>=1, {expected[0]}, {expected[1]}); got {windows.shape}."
            )
        if self.stride > self.input_width:
            raise ValueError(
                f"Windows with stride={self.stride} > input_width={self.input_width} leave gaps "
                "between them; the series cannot be rebuilt."
            )
        heads = windows[:-1, : self.stride].reshape(-1, windows.shape[2])
        return np.concatenate([heads, windows[-1]])
