"""The estimator users call: fit on a long frame, predict a timestamped forecast frame."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from forecasting import numpy_rnn
from forecasting.data import infer_freq, validate_frame
from forecasting.frequency import season_length_for
from forecasting.inference import Predictor
from forecasting.intervals import conformal_quantiles
from forecasting.normalization import (
    NORMALIZE,
    RESIDUAL,
    fit_linear,
    normalize,
    normalize_targets,
    reference_season,
)
from forecasting.transformers import SeriesScaler, sliding_windows

__all__ = ["Forecaster", "default_input_width", "min_training_length"]

_CORE = ("series_id", "timestamp", "value")
_STATE_FILE = "forecaster.joblib"
_MODEL_FILE = "model.keras"
_META_FILE = "meta.json"
# Validation windows per batch: one batch (one graph shape) for most validation tails.
_VALIDATION_BATCH = 1024


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
        The share of windows that validate (see :class:`Forecaster`).

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


def _validation_count(n_windows: int, validation_fraction: float) -> int:
    """Windows, from a series' end, that validate: a share of them, at least one of four."""
    val = int(np.floor(n_windows * validation_fraction))
    if validation_fraction > 0 and n_windows >= 4:
        val = max(val, 1)
    return val


def min_training_length(width: int, horizon: int, validation_fraction: float = 0.1) -> int:
    """The fewest points a series needs to train: one training window beside its validation.

    Parameters
    ----------
    width, horizon : int
        Input width and horizon.
    validation_fraction : float
        The share of windows that validate (see :class:`Forecaster`).

    Returns
    -------
    int
    """
    length = width + horizon
    while _training_count(length, width, horizon, validation_fraction) < 1:
        length += 1
    return length


def _training_count(length: int, width: int, horizon: int, validation_fraction: float) -> int:
    """Training windows of a series once its validation windows and their gap are set aside."""
    n_windows = length - width - horizon + 1
    val = _validation_count(n_windows, validation_fraction)
    return n_windows - val - (horizon - 1 if val else 0)


def _zero_output(model: Any) -> list[np.ndarray]:
    """Zero the output layer (its forecast is then the reference); the weights after that."""
    last = [layer for layer in model.layers if layer.weights][-1]
    last.set_weights([np.zeros(w.shape, dtype=w.dtype) for w in last.get_weights()])
    return [np.asarray(w) for w in model.get_weights()]


class Forecaster(BaseEstimator):
    """A stacked LSTM/GRU forecaster over one or many series.

    ``fit`` scales each series with statistics of its training part, windows it, and trains a
    Keras network with early stopping on a validation tail; ``predict`` forecasts ``horizon``
    steps after the end of each given series from its last ``input_width`` points.

    Parameters
    ----------
    horizon : int
        Steps forecast at once.
    input_width : int, optional
        Points of history per forecast; by default from the season length (see
        :func:`default_input_width`).
    cell, units, dropout, recurrent_dropout, bidirectional, head, clipnorm
        The network, see :func:`forecasting.networks.build_network`.
    scaler : {"standard", "minmax", "robust", "none"}
        Per-series scaling of value and covariates, fitted on the training part only.
    normalize : {"window", "last", "none"}
        Per-window normalisation (:mod:`forecasting.normalization`): ``"last"`` subtracts
        each window's last observed value from its inputs and targets, so the network learns
        changes rather than levels; ``"window"`` also divides by the spread of the window's
        values, so every window reaches the network on one scale (one global network for
        series of any level, and series it has never seen).
    residual : {"linear", "auto", "seasonal_naive", "none"}
        The reference forecast the network corrects (:mod:`forecasting.normalization`). Its
        output layer starts at zero, so an untrained network forecasts the reference
        exactly; after training, a network that does not beat that zero output on the
        validation windows is reset to it (``fell_back_`` is then true). ``"linear"``: a
        ridge regression of the normalised targets on the normalised window, fitted on the
        training windows of all series (``linear_``), an autoregressive highway beside the
        recurrent network. ``"seasonal_naive"``: the window's seasonal profile (the mean of
        its full seasons). ``"auto"``: per series, that profile or naive, whichever
        forecasts the series' training history better (``reference_seasons_``).
        ``"none"``: the network forecasts the normalised targets themselves.
    loss : {"mae", "mse"}
        Training loss; MAE matches MASE, the scale-free error forecasts are judged by.
    epochs, batch_size, learning_rate, patience
        Training; early stopping restores the best weights after ``patience`` epochs without
        improvement of the validation loss.
    lr_patience : int, optional
        Halves the learning rate after this many epochs without a better validation loss
        (Keras' ``ReduceLROnPlateau``, down to 1e-5); ``None`` keeps it constant.
    max_steps_per_epoch : int, optional
        Caps an epoch at this many batches, rounded down to whole calls of
        ``steps_per_execution`` (which is lowered to the cap when larger); the next epoch
        goes on through the shuffled windows where the last one stopped. Long series then
        check early stopping every few thousand windows instead of once per pass, and stop
        sooner. ``None``: every epoch is one pass over the training windows.
    validation_fraction : float
        Share of each series' windows, taken from its end, used for early stopping.
    seed : int
        Seeds weights, dropout and shuffling: two fits on a CPU with one seed are identical.
    freq : str, optional
        The series' frequency (pandas alias); inferred when omitted.
    season_length : int, optional
        Points per season; inferred from the frequency when omitted.
    jit_compile, unroll, steps_per_execution : bool, bool, int or "auto"
        Training speed: XLA compilation, unrolled recurrent layers, and training batches per
        call into the compiled graph (see :func:`forecasting.networks.build_network`).
        ``"auto"`` picks the fastest measured setup for the machine
        (:func:`forecasting.networks.fast_training_options`): on a GPU the cuDNN kernels; on
        a CPU short LSTM windows unrolled, XLA for the rest of the small networks (up to 64
        units per layer); 32 batches per call. Batch-level callbacks run once per call,
        epoch-level ones (early stopping) once per epoch. ``fit_options_`` holds the values
        used.
    precision : {"float32", "mixed_float16", "mixed_bfloat16"}
        Keras dtype policy while the network is built and trained: ``"mixed_float16"`` runs
        a GPU's tensor cores (with loss scaling), ``"mixed_bfloat16"`` suits recent CPUs and
        TPUs. Weights and the output layer stay float32, so the model forecasts on any
        machine; the global policy is restored after ``fit``.
    verbose : {"auto", 0, 1, 2}
        Keras' progress output; ``"auto"`` shows the progress bar only on a terminal.
    """

    def __init__(
        self,
        horizon: int = 1,
        input_width: int | None = None,
        cell: str = "lstm",
        units: Sequence[int] = (32, 32),
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        bidirectional: bool = False,
        head: str = "dense",
        scaler: str = "standard",
        normalize: str = "window",
        residual: str = "linear",
        loss: str = "mae",
        epochs: int = 100,
        batch_size: int = 32,
        learning_rate: float = 3e-3,
        patience: int = 10,
        max_steps_per_epoch: int | None = 100,
        lr_patience: int | None = None,
        validation_fraction: float = 0.1,
        clipnorm: float | None = 1.0,
        seed: int = 0,
        freq: str | None = None,
        season_length: int | None = None,
        jit_compile: bool | Literal["auto"] = "auto",
        unroll: bool | Literal["auto"] = "auto",
        steps_per_execution: int | Literal["auto"] = "auto",
        precision: str = "float32",
        verbose: int | Literal["auto"] = "auto",
    ) -> None:
        self.horizon = horizon
        self.input_width = input_width
        self.cell = cell
        self.units = units
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.bidirectional = bidirectional
        self.head = head
        self.scaler = scaler
        self.normalize = normalize
        self.residual = residual
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.max_steps_per_epoch = max_steps_per_epoch
        self.lr_patience = lr_patience
        self.validation_fraction = validation_fraction
        self.clipnorm = clipnorm
        self.seed = seed
        self.freq = freq
        self.season_length = season_length
        self.jit_compile = jit_compile
        self.unroll = unroll
        self.steps_per_execution = steps_per_execution
        self.precision = precision
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, callbacks: Sequence[Any] = ()) -> Forecaster:
        """Scale, window and train on a long frame.

        Parameters
        ----------
        frame : DataFrame
            Long frame with ``series_id``, ``timestamp``, ``value`` and optional covariates.
        callbacks : sequence of keras.callbacks.Callback
            Extra callbacks, for example to log each epoch's loss.

        Returns
        -------
        Forecaster
            The fitted estimator.
        """
        self._check_params()
        frame = validate_frame(frame, freq=self.freq, source="`frame`")
        self.freq_ = self.freq or infer_freq(frame)
        self.season_length_ = self.season_length or season_length_for(self.freq_)
        self.covariates_ = [c for c in frame.columns if c not in _CORE]
        self.n_features_in_ = 1 + len(self.covariates_)
        lengths = frame.groupby("series_id", sort=False).size()
        self.series_ids_ = [str(s) for s in lengths.index]
        self.input_width_ = self.input_width or default_input_width(
            self.season_length_, self.horizon, int(lengths.min()), self.validation_fraction
        )
        train_x, train_y, val_x, val_y = self._training_windows(frame)

        import keras

        from forecasting import networks

        keras.utils.set_random_seed(self.seed)
        previous_policy = keras.config.dtype_policy().name
        networks.set_precision(self.precision)
        try:
            model, history, speed = self._train(train_x, train_y, val_x, val_y, callbacks)
        finally:
            keras.config.set_dtype_policy(previous_policy)
        self.model_ = model
        self.fit_options_ = {**speed, "jit_compile": bool(model.jit_compile)}
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        self.n_windows_ = len(train_x)
        self.n_calibration_ = len(val_x)
        self.conformal_ = None
        self.predictor_ = self._make_predictor()
        self.conformal_ = self.predictor_.conformal = self._conformal(val_x, val_y)
        return self

    def _conformal(self, val_x: np.ndarray, val_y: np.ndarray) -> np.ndarray | None:
        """Per-step conformal quantiles of the final network's validation errors.

        The errors are in each window's normalised space (what the network outputs), so
        they transfer across series of any level; ``None`` without validation windows.
        """
        if not len(val_x):
            return None
        if self.predictor_.weights is not None:
            forward = self.predictor_._numpy_forward
        else:
            forward = self._keras_forward
        out = np.concatenate(
            [
                forward(val_x[i : i + _VALIDATION_BATCH])
                for i in range(0, len(val_x), _VALIDATION_BATCH)
            ]
        )
        return conformal_quantiles(np.asarray(val_y, np.float64) - np.asarray(out, np.float64))

    def _train(
        self,
        train_x: np.ndarray,
        train_y: np.ndarray,
        val_x: np.ndarray,
        val_y: np.ndarray,
        callbacks: Sequence[Any],
    ) -> tuple[Any, Any, dict[str, Any]]:
        """Build and fit the network under the current dtype policy."""
        import keras

        from forecasting import networks

        speed = networks.fast_training_options(
            cell=self.cell,
            input_width=self.input_width_,
            horizon=self.horizon,
            units=tuple(self.units),
            head=self.head,
            jit_compile=self.jit_compile,
            unroll=self.unroll,
            steps_per_execution=self.steps_per_execution,
        )
        steps = self._steps_per_epoch(len(train_x))
        if steps is not None:  # whole calls into the graph: a call never stops mid-way
            per_call = min(speed["steps_per_execution"], steps)
            speed = {**speed, "steps_per_execution": per_call}
            steps -= steps % per_call
        model = networks.build_network(
            input_width=self.input_width_,
            n_features=self.n_features_in_,
            horizon=self.horizon,
            cell=self.cell,
            units=tuple(self.units),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            bidirectional=self.bidirectional,
            head=self.head,
            learning_rate=self.learning_rate,
            clipnorm=self.clipnorm,
            seed=self.seed,
            loss=self.loss,
            **speed,
        )
        start = None
        if self.residual != "none":
            start = _zero_output(model)
        has_val = len(val_x) > 0
        monitor = "val_loss" if has_val else "loss"
        stop = keras.callbacks.EarlyStopping(
            monitor=monitor, patience=self.patience, restore_best_weights=True
        )
        schedule: list[Any] = []
        if self.lr_patience is not None:
            schedule.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=monitor, factor=0.5, patience=self.lr_patience, min_lr=1e-5
                )
            )
        history = model.fit(
            self._dataset(train_x, train_y, shuffle=True, repeat=steps is not None),
            steps_per_epoch=steps,
            validation_data=self._dataset(val_x, val_y, shuffle=False) if has_val else None,
            epochs=self.epochs,
            shuffle=False,  # the dataset reshuffles itself, seeded, every epoch
            callbacks=[stop, *schedule, *callbacks, keras.callbacks.TerminateOnNaN()],
            verbose=self._keras_verbose(),
        )
        if not np.isfinite(history.history.get("loss", [0.0])).all():
            raise ValueError(
                "training diverged: the loss became NaN or infinite, so training stopped. "
                f"Likely causes: a learning rate too high (`learning_rate` {self.learning_rate}), "
                "values of extreme magnitude (rescale the series), or no gradient clipping "
                f"(`clipnorm` {self.clipnorm}; try 1.0)"
            )
        self.fell_back_ = False
        if start is not None and has_val:
            # The zero output is the reference forecast itself (seasonal naive).
            errors = np.abs(val_y) if self.loss == "mae" else np.square(val_y)
            if min(history.history["val_loss"]) >= float(errors.mean()):
                model.set_weights(start)
                self.fell_back_ = True
        return model, history, speed

    def _check_params(self) -> None:
        """Fail before any data is windowed or TensorFlow imported."""
        optional = ("input_width", "max_steps_per_epoch", "lr_patience")
        for name in ("horizon", "epochs", "batch_size", *optional):
            value = getattr(self, name)
            if name in optional and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"`{name}` must be an integer, got {value!r}")
            if value < 1:
                raise ValueError(f"`{name}` must be at least 1, got {value!r}")
        for name, allowed in (
            ("cell", ("lstm", "gru", "rnn")),
            ("head", ("dense", "seq2seq")),
            ("scaler", ("standard", "minmax", "robust", "none")),
            ("normalize", NORMALIZE),
            ("residual", RESIDUAL),
            ("loss", ("mae", "mse")),
            ("precision", ("float32", "mixed_float16", "mixed_bfloat16")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"`{name}` must be one of {', '.join(map(repr, allowed))}; "
                    f"got {getattr(self, name)!r}"
                )
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"`validation_fraction` must be in [0, 1), got {self.validation_fraction!r}"
            )

    def _training_windows(
        self, frame: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Scale and window every series; each series' last windows validate.

        The scaler is fitted on ``frame`` alone (the training part of a split or fold). The
        validation windows' targets start after every training window's targets end, so early
        stopping judges points the weights were not fitted on.
        """
        width, horizon = self.input_width_, self.horizon
        self.scaler_ = SeriesScaler(method=self.scaler).fit(frame)
        scaled = self.scaler_.transform(frame)
        xs, ys, vxs, vys, ms, vms = [], [], [], [], [], []
        self.reference_seasons_ = {}
        for sid, group in scaled.groupby("series_id", sort=False):
            n_windows = len(group) - width - horizon + 1
            val = _validation_count(n_windows, self.validation_fraction)
            n_train = _training_count(len(group), width, horizon, self.validation_fraction)
            if n_train < 1:
                need = width + horizon + (val + horizon - 1 if val else 0)
                raise ValueError(
                    f"series {sid!r} has {len(group)} points; training needs at least {need} "
                    f"(input_width {width} + horizon {horizon}"
                    + (f" + a validation tail of {val + horizon - 1}" if val else "")
                    + "); pass a longer series, a smaller `input_width` or `horizon`, "
                    "or `validation_fraction=0`"
                )
            values = group[["value", *self.covariates_]].to_numpy(np.float32)
            m = self._reference_season(values[:, 0])
            self.reference_seasons_[str(sid)] = m
            x, y = sliding_windows(values, width, horizon)
            xs.append(x[:n_train])
            ys.append(y[:n_train])
            ms.append(np.full(n_train, m))
            vxs.append(x[n_windows - val :])
            vys.append(y[n_windows - val :])
            vms.append(np.full(val, m))
        train_x, train_y, train_m = np.concatenate(xs), np.concatenate(ys), np.concatenate(ms)
        self.linear_ = None
        if self.residual == "linear":
            xn, scale = normalize(train_x, horizon, train_m, self.normalize, "none")
            self.linear_ = fit_linear(xn[:, :, 0], normalize_targets(train_y, scale))
        return (
            *self._normalized(train_x, train_y, train_m),
            *self._normalized(np.concatenate(vxs), np.concatenate(vys), np.concatenate(vms)),
        )

    def _reference_season(self, values: np.ndarray) -> int:
        """The season of a series' reference forecast (1: naive) under ``residual``."""
        if self.residual == "auto":
            return reference_season(values, self.horizon, self.season_length_, self.input_width_)
        return int(self.season_length_) if self.residual == "seasonal_naive" else 1

    def _normalized(
        self, x: np.ndarray, y: np.ndarray, seasons: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if not len(x):
            return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
        xn, scale = normalize(x, self.horizon, seasons, self.normalize, self.residual, self.linear_)
        return xn, normalize_targets(y, scale)

    def _steps_per_epoch(self, n_windows: int) -> int | None:
        """The ``max_steps_per_epoch`` cap when a pass is longer; ``None`` for a whole pass."""
        cap = self.max_steps_per_epoch
        if cap is None or -(-n_windows // self.batch_size) <= cap:
            return None
        return int(cap)

    def _dataset(self, x: np.ndarray, y: np.ndarray, shuffle: bool, repeat: bool = False) -> Any:
        """Batches gathered from the window arrays by index, prefetched; no per-window Python.

        Training (``shuffle``): a seeded permutation per epoch, and every batch full: the
        last one is topped up with windows drawn at random. An epoch keeps its number of
        steps, and the batch shape is static: XLA compiles one shape instead of two (seconds
        each) and unrolled graphs run faster. With ``repeat`` the permutations follow each
        other endlessly (``fit`` then counts the steps of an epoch) and batches run across
        their seams, so no top-up is needed. Validation: in order, in batches of up to
        ``_VALIDATION_BATCH`` windows.
        """
        import tensorflow as tf

        xt, yt = tf.constant(x), tf.constant(y)
        n = len(x)
        if shuffle:
            batch = min(self.batch_size, n)
            ds = tf.data.Dataset.range(n).shuffle(n, seed=self.seed, reshuffle_each_iteration=True)
            if repeat:
                ds = ds.repeat()
            elif n % batch:
                extra = tf.data.Dataset.random(seed=self.seed, rerandomize_each_iteration=True)
                ds = ds.concatenate(extra.map(lambda r: r % n).take(batch - n % batch))
            ds = ds.batch(batch, drop_remainder=True)
        else:
            ds = tf.data.Dataset.range(n).batch(max(self.batch_size, _VALIDATION_BATCH))
        ds = ds.map(
            lambda i: (tf.gather(xt, i), tf.gather(yt, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        return ds.prefetch(tf.data.AUTOTUNE)

    def _keras_verbose(self) -> int:
        if self.verbose == "auto":
            return 1 if sys.stdout.isatty() else 0
        return int(self.verbose)

    # -------------------------------------------------------------- predict
    def predict(
        self,
        history: pd.DataFrame,
        horizon: int | None = None,
        levels: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """Forecast the steps after the end of each series in ``history``.

        Parameters
        ----------
        history : DataFrame
            Long frame of recent history; only each series' last ``input_width`` points are used.
        horizon : int, optional
            Steps to forecast; more than the trained horizon forecasts recursively (only
            without covariates, whose future is unknown).
        levels : sequence of int, optional
            Nominal coverages in percent, such as ``(80, 95)``: adds split-conformal
            prediction intervals ``lo_<level>``, ``hi_<level>`` per level, calibrated per
            step on the validation windows held out in ``fit``
            (:mod:`forecasting.intervals`). NaN past the trained horizon, and for a model
            fitted with ``validation_fraction=0``.

        Returns
        -------
        DataFrame
            Columns ``series_id``, ``timestamp``, ``step`` (1-based), ``value``, and the
            interval columns of ``levels``.
        """
        check_is_fitted(self, "predictor_")
        forward = None if self.predictor_.weights is not None else self._keras_forward
        return self.predictor_.predict(history, horizon=horizon, forward=forward, levels=levels)

    def predict_windows(
        self, windows: np.ndarray, series_id: str | None = None, horizon: int | None = None
    ) -> np.ndarray:
        """Forecast from many raw windows of one series at once (rolling origins).

        Parameters
        ----------
        windows : ndarray of shape (n, input_width, n_features)
            Raw windows (``value`` then covariates), for example from
            :func:`forecasting.transformers.sliding_windows`.
        series_id : str, optional
            The series whose scaling applies; optional when the model knows one series.
        horizon : int, optional
            Steps to forecast from each window; the trained horizon by default.

        Returns
        -------
        ndarray of shape (n, horizon)
            The forecast after each window, in the series' units.
        """
        check_is_fitted(self, "predictor_")
        forward = None if self.predictor_.weights is not None else self._keras_forward
        return self.predictor_.predict_windows(windows, series_id, horizon, forward=forward)

    @property
    def series_ids(self) -> list[str]:
        """The series the model was trained on."""
        check_is_fitted(self, "predictor_")
        return list(self.series_ids_)

    def _make_predictor(self) -> Predictor:
        """The TensorFlow- and scikit-learn-free forward path of this fitted forecaster.

        Each fitted scaler is affine per feature, so transforming a row of zeros and a row of
        ones gives its offset and scale.
        """
        zeros = np.zeros((1, self.n_features_in_))
        scale, offset = {}, {}
        for sid, scaler in self.scaler_.scalers_.items():
            at0 = np.asarray(scaler.transform(zeros), dtype=np.float64)[0]
            at1 = np.asarray(scaler.transform(zeros + 1), dtype=np.float64)[0]
            offset[str(sid)], scale[str(sid)] = at0, at1 - at0
        try:
            weights: dict[str, Any] | None = numpy_rnn.extract_weights(self.model_)
        except NotImplementedError:
            weights = None
        return Predictor(
            input_width=self.input_width_,
            horizon=self.horizon,
            freq=self.freq_,
            normalize=self.normalize,
            covariates=self.covariates_,
            scale=scale,
            offset=offset,
            weights=weights,
            season_length=self.season_length_,
            residual=self.residual,
            seasons=self.reference_seasons_,
            linear=self.linear_,
            scaler=self.scaler,
            conformal=getattr(self, "conformal_", None),
        )

    def _keras_forward(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.keras_model().predict_on_batch(x), dtype=np.float32)

    # ------------------------------------------------------------ save/load
    def keras_model(self) -> Any:
        """Return the Keras model, loading it from disk on first use after :meth:`load`."""
        check_is_fitted(self, "input_width_")
        if getattr(self, "model_", None) is None:
            import keras

            self.model_ = keras.saving.load_model(Path(self._path) / _MODEL_FILE, compile=False)
        return self.model_

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("model_", None)
        state.pop("_path", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A forecaster saved before a parameter existed gets its default, so that
        # get_params, clone and repr keep working on older saved models.
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        super().__setstate__({**defaults, **state})

    def save(self, path: str | Path) -> Path:
        """Save to a folder: the Keras model (``.keras``) and the fitted transformers.

        Parameters
        ----------
        path : str or Path
            The folder; created if needed.

        Returns
        -------
        Path
            The folder.
        """
        check_is_fitted(self, "predictor_")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.keras_model().save(folder / _MODEL_FILE)
        joblib.dump(self, folder / _STATE_FILE)
        self.predictor_.save(folder)
        meta = {"horizon": self.horizon, "input_width": self.input_width_, "freq": self.freq_}
        (folder / _META_FILE).write_text(json.dumps(meta, indent=2))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Forecaster:
        """Load a forecaster saved with :meth:`save`.

        The Keras model is read only when needed: supported networks forecast with a NumPy
        forward pass, so loading to predict does not import TensorFlow.

        Parameters
        ----------
        path : str or Path
            The folder written by :meth:`save`.

        Returns
        -------
        Forecaster
            The fitted estimator.
        """
        folder = Path(path)
        state_file = folder / _STATE_FILE
        if not state_file.is_file():
            raise FileNotFoundError(
                f"{folder}: no saved forecaster here (expected {_STATE_FILE} and {_MODEL_FILE}); "
                "pass the folder given to Forecaster.save"
            )
        forecaster = joblib.load(state_file)
        if not isinstance(forecaster, cls):
            raise TypeError(
                f"{state_file} holds a {type(forecaster).__name__}, not a {cls.__name__}"
            )
        forecaster._path = str(folder)
        if not hasattr(forecaster, "predictor_"):  # saved before predictors were kept
            forecaster.model_ = None
            forecaster.keras_model()
            forecaster.predictor_ = forecaster._make_predictor()
        return forecaster
