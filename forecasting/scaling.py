"""Per-series scaling, fitted with scikit-learn's scalers and kept as two arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils import Tags
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from forecasting.checks import check_choice
from forecasting.parameters import SCALERS

__all__ = ["SeriesScaler"]

_SERIES_ID = "series_id"
_TIMESTAMP = "timestamp"
# The id of an array fitted as one series; equal to `forecasting.data.DEFAULT_SERIES_ID`.
_ARRAY_SERIES_ID = "series"
# One scikit-learn scaler per declared scaling; FunctionTransformer() is the identity.
_SCALER_CLASSES: dict[str, type[BaseEstimator]] = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "robust": RobustScaler,
    "none": FunctionTransformer,
}


def _is_long_frame(X: object) -> bool:
    return isinstance(X, pd.DataFrame) and _SERIES_ID in X.columns


def _feature_columns(frame: pd.DataFrame) -> list[Any]:
    return [column for column in frame.columns if column not in (_SERIES_ID, _TIMESTAMP)]


def _affine(method: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit the scikit-learn scaler of ``method`` on ``values``; its ``(scale, offset)``.

    Every one of these scalers is affine per feature, ``z = x * scale + offset``; both arrays
    come from the fitted scaler's documented attributes, so they are exact to rounding.
    """
    scaler: Any = _SCALER_CLASSES[method]().fit(values)
    if method == "standard":
        spread, center = scaler.scale_, scaler.mean_
    elif method == "robust":
        spread, center = scaler.scale_, scaler.center_
    elif method == "minmax":
        return np.array(scaler.scale_, np.float64), np.array(scaler.min_, np.float64)
    else:
        spread, center = np.ones(values.shape[1]), np.zeros(values.shape[1])
    scale = 1.0 / np.asarray(spread, np.float64)
    return scale, -np.asarray(center, np.float64) * scale


class SeriesScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale each series with its own statistics.

    An array of shape (n, n_features) is one series. A long frame (with a ``series_id``
    column) is scaled per ``series_id`` over its value and covariate columns: every column
    except ``series_id`` and ``timestamp``. Each series' scikit-learn scaler is fitted and
    kept as what it computes, ``z = x * scale_ + offset_`` per feature. ``transform`` and
    ``inverse_transform`` return the type they are given: a frame in, a frame out.

    Parameters
    ----------
    method : {"standard", "minmax", "robust", "none"}, default="standard"
        ``StandardScaler``, ``MinMaxScaler``, ``RobustScaler`` or the identity.

    Attributes
    ----------
    series_ids_ : list
        The fitted series, in order of first appearance (``["series"]`` for array input).
    scale_, offset_ : numpy.ndarray of shape (n_series, n_features)
        Per series and feature, ``z = x * scale + offset``.
    n_samples_seen_ : numpy.ndarray of shape (n_series,)
        Rows each series was fitted on.
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
        method = check_choice("method", self.method, SCALERS)
        self.fitted_on_frame_ = _is_long_frame(X)
        if self.fitted_on_frame_:
            values = validate_data(self, X[_feature_columns(X)], dtype=FLOAT_DTYPES)
            groups = X.groupby(_SERIES_ID, sort=False, observed=True).indices
        else:
            values = validate_data(self, X, dtype=FLOAT_DTYPES)
            groups = {_ARRAY_SERIES_ID: np.arange(len(values))}
        fitted = [_affine(method, values[rows]) for rows in groups.values()]
        self.series_ids_ = list(groups)
        self.scale_ = np.array([scale for scale, _ in fitted])
        self.offset_ = np.array([offset for _, offset in fitted])
        self.n_samples_seen_ = np.array([len(rows) for rows in groups.values()])
        return self

    def affine(self, series_id: object) -> tuple[np.ndarray, np.ndarray]:
        """The ``(scale, offset)`` of one series, each of shape (n_features,).

        Raises
        ------
        ValueError
            For a series the scaler was not fitted on.
        """
        check_is_fitted(self)
        row = self._rows([series_id])[0]
        return self.scale_[row], self.offset_[row]

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
        return self._apply(X, inverse=False)

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
        return self._apply(X, inverse=True)

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
        rows = self._rows(list(ids))
        scale, offset = self.scale_[rows, 0], self.offset_[rows, 0]
        if array.ndim == 2:
            scale, offset = scale[:, None], offset[:, None]
        return (array - offset) / scale

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

    def _rows(self, series_ids: Sequence[object]) -> np.ndarray:
        """The row of ``scale_`` and ``offset_`` of each of ``series_ids``, by hash lookup."""
        rows = pd.Index(self.series_ids_).get_indexer(list(series_ids))
        if (unknown := rows < 0).any():
            series_id = series_ids[int(unknown.argmax())]
            known = sorted(map(str, self.series_ids_))
            raise ValueError(
                f"Unknown series id {series_id!r}: this SeriesScaler was fitted on {known}. "
                "Fit it on a frame that includes this series."
            )
        return rows

    def _map(self, values: np.ndarray, row: int, inverse: bool) -> np.ndarray:
        scale, offset = self.scale_[row], self.offset_[row]
        mapped = (values - offset) / scale if inverse else values * scale + offset
        return mapped.astype(values.dtype, copy=False)

    def _apply(self, X: Any, inverse: bool) -> Any:
        check_is_fitted(self)
        if not _is_long_frame(X):
            if len(self.series_ids_) != 1:
                method = "inverse_transform" if inverse else "transform"
                raise ValueError(
                    f"This SeriesScaler was fitted on {len(self.series_ids_)} series; pass a "
                    f"long frame with a `{_SERIES_ID}` column to {method} so each row uses "
                    "its series' scaler."
                )
            values = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
            return self._map(values, 0, inverse)
        columns = _feature_columns(X)
        values = validate_data(self, X[columns], dtype=FLOAT_DTYPES, reset=False)
        result = np.empty_like(values)
        groups = X.groupby(_SERIES_ID, sort=False, observed=True).indices
        for row, rows in zip(self._rows(list(groups)), groups.values(), strict=True):
            result[rows] = self._map(values[rows], row, inverse)
        out = X.copy()
        out[columns] = result
        return out
