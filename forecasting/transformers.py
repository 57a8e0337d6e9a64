"""Zero-copy sliding windows, as a function and as a scikit-learn style transformer."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from forecasting.checks import check_int

__all__ = ["SlidingWindows", "sliding_windows"]


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
