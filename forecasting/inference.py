"""Forecasting from a fitted model with NumPy and pandas only: no TensorFlow, no scikit-learn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from forecasting import numpy_rnn
from forecasting.history import future_stamps, read_history
from forecasting.intervals import check_levels
from forecasting.normalization import denormalize, normalize, reference_season, series_affine

__all__ = ["Predictor", "Predicts", "median_output"]

Forward = Callable[[np.ndarray], np.ndarray]


def median_output(outputs: Sequence[np.ndarray]) -> np.ndarray:
    """An ensemble's output: the step-wise median of its members' (the one member's as is).

    Parameters
    ----------
    outputs : sequence of ndarray of shape (n_windows, horizon)
        Each member's normalised outputs for the same windows.

    Returns
    -------
    ndarray of shape (n_windows, horizon), float32
    """
    if len(outputs) == 1:
        return np.asarray(outputs[0], dtype=np.float32)
    return np.median(np.stack(outputs), axis=0).astype(np.float32)


class Predicts(Protocol):
    """Anything that forecasts from raw history: a :class:`Predictor` or a ``Forecaster``."""

    @property
    def series_ids(self) -> list[str]:
        """The series the model was trained on."""
        ...

    def predict(
        self,
        history: pd.DataFrame,
        horizon: int | None = None,
        *,
        levels: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """Forecast the steps after the end of each series in ``history``, with intervals."""
        ...

    def predict_reference(self, history: pd.DataFrame) -> pd.DataFrame:
        """The reference forecast alone, without the network's correction."""
        ...


class Predictor:
    """The forward path of a fitted forecaster: windows, scaling, network, timestamps.

    Every scikit-learn scaler is affine per feature, ``z = offset + x * scale``, so two
    arrays per series stand in for it; the network runs as a NumPy forward pass. Loading
    one therefore imports neither TensorFlow nor scikit-learn, which is what makes a cold
    scheduled forecast fast.

    Parameters
    ----------
    input_width, horizon : int
        Points read and steps forecast per pass.
    freq : str
        Pandas alias of the series' frequency.
    normalize : {"window", "last", "none"}
        Per-window normalisation (:func:`forecasting.normalization.normalize`).
    covariates : sequence of str
        Covariate columns after ``value``.
    scale, offset : dict of str to ndarray
        Per series, the affine map of each feature into the network's space.
    weights : dict or sequence of dict, optional
        :func:`forecasting.numpy_rnn.extract_weights` of the network, or of each member of
        an ensemble (whose output is the median of theirs); ``None`` when the network is not
        supported there (then ``predict`` needs a ``forward``).
    season_length : int
        The frequency's season.
    residual : {"none", "seasonal_naive", "auto"}
        Whether the network forecasts the residual over each window's seasonal naive.
    seasons : dict of str to int, optional
        Per series, the season of its reference forecast (1: naive); a series not in it
        gets ``season_length``, or with ``residual="auto"`` the better reference for its own
        history (:func:`forecasting.normalization.reference_season`).
    linear : tuple of ndarray, optional
        The linear reference of ``residual="linear"``
        (:func:`forecasting.normalization.fit_linear`).
    scaler : {"standard", "minmax", "robust", "none"}
        How the model scaled each series; a series it was not trained on is scaled the same
        way from its own history.
    conformal : ndarray of shape (99, horizon), optional
        Per level (row ``level - 1``) and step, the conformal quantile of the normalised
        absolute errors held out in ``fit`` (:func:`forecasting.intervals.conformal_quantiles`);
        ``None`` when nothing was held out, and then interval columns are NaN.
    """

    def __init__(
        self,
        input_width: int,
        horizon: int,
        freq: str,
        normalize: str,
        covariates: Sequence[str],
        scale: dict[str, np.ndarray],
        offset: dict[str, np.ndarray],
        weights: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
        season_length: int = 1,
        residual: str = "none",
        seasons: dict[str, int] | None = None,
        linear: tuple[np.ndarray, np.ndarray] | None = None,
        scaler: str = "standard",
        conformal: np.ndarray | None = None,
    ) -> None:
        self.input_width = int(input_width)
        self.horizon = int(horizon)
        self.freq = freq
        self.normalize = normalize
        self.covariates = list(covariates)
        self.scale = scale
        self.offset = offset
        self.weights: list[dict[str, Any]] | None = (
            None if weights is None else [weights] if isinstance(weights, dict) else list(weights)
        )
        self.season_length = int(season_length)
        self.residual = residual
        self.seasons = {str(k): int(v) for k, v in (seasons or {}).items()}
        self.linear = linear
        self.scaler = scaler
        self.conformal = None if conformal is None else np.asarray(conformal, dtype=np.float64)

    @property
    def series_ids(self) -> list[str]:
        """The series the model was trained on."""
        return list(self.scale)

    # ------------------------------------------------------------------ predict
    def predict(
        self,
        history: pd.DataFrame,
        horizon: int | None = None,
        forward: Forward | None = None,
        levels: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """Forecast the steps after the end of each series in ``history``.

        Parameters
        ----------
        history : DataFrame
            Long frame; each series' last ``input_width`` points are used.
        horizon : int, optional
            Steps to forecast; more than trained forecasts recursively (not with covariates).
        forward : callable, optional
            The network on a batch of windows; the NumPy forward pass by default.
        levels : sequence of int, optional
            Nominal coverages in percent of the prediction intervals to add, such as
            ``(80, 95)``.

        Returns
        -------
        DataFrame
            ``series_id``, ``timestamp``, ``step`` (1-based), ``value``; with ``levels``
            also ``lo_<level>`` and ``hi_<level>`` per level (see :meth:`interval_widths`).
        """
        steps = self.horizon if horizon is None else int(horizon)
        if steps < 1:
            raise ValueError(f"`horizon` must be a positive integer, got {horizon!r}")
        if steps > self.horizon and self.covariates:
            raise ValueError(
                f"`horizon`={steps} exceeds the trained horizon {self.horizon}, and recursive "
                f"forecasting needs the future of the covariates {self.covariates}; "
                f"retrain with `horizon={steps}`"
            )
        checked = () if levels is None else check_levels(levels)
        ids, last_ts, raw, per_series = self._last_windows(history)
        values = self._forecast_raw(raw, per_series, steps, forward)
        out = pd.DataFrame(
            {
                "series_id": np.repeat(np.asarray(ids, dtype=object), steps),
                "timestamp": future_stamps(last_ts, self.freq, steps),
                "step": np.tile(np.arange(1, steps + 1), len(ids)),
                "value": values.reshape(-1).astype(np.float64),
            }
        )
        if checked:
            widths = self._widths(raw, per_series, steps, checked)
            for level in checked:
                half = widths[level].reshape(-1)
                out[f"lo_{level}"] = out["value"] - half
                out[f"hi_{level}"] = out["value"] + half
        return out

    def predict_reference(self, history: pd.DataFrame) -> pd.DataFrame:
        """The reference forecast alone: what the model forecasts with its network's output
        held at zero (``residual="none"``: the last value, since windows are normalised).

        Parameters
        ----------
        history : DataFrame
            As :meth:`predict` takes it.

        Returns
        -------
        DataFrame
            ``series_id``, ``timestamp``, ``step``, ``value`` for the trained horizon.
        """

        def zeros(x: np.ndarray) -> np.ndarray:
            return np.zeros((x.shape[0], self.horizon), dtype=np.float32)

        return self.predict(history, forward=zeros)

    def interval_widths(
        self,
        windows: np.ndarray,
        series_id: str | None = None,
        levels: Sequence[int] = (80, 95),
        horizon: int | None = None,
    ) -> dict[int, np.ndarray]:
        """Half-widths of the conformal intervals after many raw windows of one series.

        The interval of a forecast is ``value ± width``: the conformal quantile of its step
        and level (normalised absolute errors held out in ``fit``) times the window's scale,
        mapped back to the series' units. Steps past the trained horizon (recursive
        forecasts) have no held-out errors and get NaN.

        Parameters
        ----------
        windows : ndarray of shape (n, input_width, n_features)
            Raw windows, as for :meth:`predict_windows`.
        series_id : str, optional
            The series whose scaling applies; optional when the model knows one series.
        levels : sequence of int
            Nominal coverages in percent.
        horizon : int, optional
            Steps; the trained horizon by default.

        Returns
        -------
        dict of int to ndarray of shape (n, horizon)
            Per level, the half-width of each window's interval at each step.
        """
        raw, per_series = self._windows_of(windows, series_id)
        steps = self.horizon if horizon is None else int(horizon)
        return self._widths(raw, per_series, steps, check_levels(levels))

    def _widths(
        self,
        raw: np.ndarray,
        per_series: tuple[np.ndarray, np.ndarray, np.ndarray],
        steps: int,
        levels: Sequence[int],
    ) -> dict[int, np.ndarray]:
        """Per level, (n, steps) half-widths in the series' units; NaN when uncalibrated."""
        scale = np.asarray(per_series[0], dtype=np.float32)
        offset = np.asarray(per_series[1], dtype=np.float32)
        windows = offset[:, None, :] + raw * scale[:, None, :]
        _, window_scale = normalize(
            windows, self.horizon, per_series[2], self.normalize, "none", None
        )
        unit = window_scale.scale / np.asarray(scale[:, :1], dtype=np.float64)
        known = min(steps, self.horizon)
        widths = {}
        for level in levels:
            quantile = np.full(steps, np.nan)
            if self.conformal is not None:
                quantile[:known] = self.conformal[level - 1, :known]
            widths[level] = unit * quantile[None, :]
        return widths

    def predict_windows(
        self,
        windows: np.ndarray,
        series_id: str | None = None,
        horizon: int | None = None,
        forward: Forward | None = None,
    ) -> np.ndarray:
        """Forecast from many windows of one series at once (rolling origins, for example).

        Parameters
        ----------
        windows : ndarray of shape (n, input_width, n_features)
            Raw (unscaled) windows: ``value`` then the covariates, oldest point first.
        series_id : str, optional
            The series whose scaling applies; optional when the model knows one series.
        horizon : int, optional
            Steps to forecast from each window; the trained horizon by default.
        forward : callable, optional
            The network on a batch of windows; the NumPy forward pass by default.

        Returns
        -------
        ndarray of shape (n, horizon)
            The forecast after each window.
        """
        raw, per_series = self._windows_of(windows, series_id)
        steps = self.horizon if horizon is None else int(horizon)
        return self._forecast_raw(raw, per_series, steps, forward)

    def _windows_of(
        self, windows: np.ndarray, series_id: str | None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Checked raw windows of one series and their rows of scale, offset and season."""
        if series_id is None:
            if len(self.scale) != 1:
                raise ValueError(
                    f"the model knows {len(self.scale)} series; pass `series_id`, one of "
                    f"{self.series_ids[:5]}"
                )
            series_id = self.series_ids[0]
        if series_id not in self.scale:
            raise ValueError(
                f"`series_id` {series_id!r} is not a series the model was trained on; "
                f"known series: {self.series_ids[:5]}"
            )
        raw = np.asarray(windows, dtype=np.float32)
        expected = (self.input_width, 1 + len(self.covariates))
        if raw.ndim != 3 or raw.shape[1:] != expected:
            raise ValueError(
                f"`windows` must have shape (n, {expected[0]}, {expected[1]}) (input_width, "
                f"value + covariates), got {raw.shape}"
            )
        per_series = (
            np.repeat(self.scale[series_id][None, :], len(raw), axis=0),
            np.repeat(self.offset[series_id][None, :], len(raw), axis=0),
            np.full(len(raw), self.seasons.get(series_id, self.season_length)),
        )
        return raw, per_series

    def _forecast_raw(
        self,
        raw: np.ndarray,
        per_series: tuple[np.ndarray, np.ndarray, np.ndarray],
        steps: int,
        forward: Forward | None,
    ) -> np.ndarray:
        """Scale raw windows (rows of scale, offset and reference season), forecast, map back."""
        scale = np.asarray(per_series[0], dtype=np.float32)
        offset = np.asarray(per_series[1], dtype=np.float32)
        windows = offset[:, None, :] + raw * scale[:, None, :]
        scaled = self._forecast_scaled(windows, per_series[2], steps, forward or self.numpy_forward)
        return np.asarray((scaled - offset[:, :1]) / scale[:, :1])

    def numpy_forward(self, x: np.ndarray) -> np.ndarray:
        """The network's outputs for normalised windows, in NumPy (no TensorFlow).

        Parameters
        ----------
        x : ndarray of shape (n_windows, input_width, n_features)
            Normalised input windows.

        Returns
        -------
        ndarray of shape (n_windows, horizon)
            The normalised outputs (residuals to the reference when the model has one); with
            several members, the median of theirs.
        """
        if self.weights is None:
            raise NotImplementedError(
                "this network has no NumPy forward pass; load the Forecaster to use Keras"
            )
        return median_output([numpy_rnn.forward(w, x) for w in self.weights])

    def _last_windows(
        self, history: pd.DataFrame
    ) -> tuple[list[str], np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Series ids, last timestamps, last ``input_width`` raw rows and scaling of each series.

        A series the model was not trained on is scaled from its own history (each feature's
        mean and standard deviation over the rows given), as a global model serves a new
        series; a one-series model also reads a history without a ``series_id`` column.
        """
        only = self.series_ids[0] if len(self.scale) == 1 else None
        ids, last_ts, windows, histories = read_history(
            history, self.input_width, self.freq, self.covariates, only
        )
        scale = np.empty((len(ids), 1 + len(self.covariates)))
        offset = np.empty_like(scale)
        seasons = np.empty(len(ids), dtype=np.int64)
        for i, (sid, own) in enumerate(zip(ids, histories, strict=True)):
            if sid in self.scale:
                scale[i], offset[i] = self.scale[sid], self.offset[sid]
            else:
                scale[i], offset[i] = series_affine(own, self.scaler)
            if sid in self.seasons:
                seasons[i] = self.seasons[sid]
            elif self.residual == "auto":
                seasons[i] = reference_season(
                    own[:, 0], self.horizon, self.season_length, self.input_width
                )
            else:
                seasons[i] = self.season_length
        return ids, last_ts, windows, (scale, offset, seasons)

    def _forecast_scaled(
        self, windows: np.ndarray, seasons: np.ndarray, steps: int, forward: Forward
    ) -> np.ndarray:
        """Forecast in the scaled space, feeding forecasts back in past the trained horizon."""
        out: list[np.ndarray] = []
        window = windows
        done = 0
        while done < steps:
            x, scale = normalize(
                window, self.horizon, seasons, self.normalize, self.residual, self.linear
            )
            pred = denormalize(forward(x), scale).astype(np.float32)
            out.append(pred)
            done += pred.shape[1]
            if done >= steps:  # windows with covariates cannot be extended (and need not be)
                break
            window = np.concatenate([window, pred[:, :, None]], axis=1)[:, -self.input_width :]
        return np.concatenate(out, axis=1)[:, :steps]
