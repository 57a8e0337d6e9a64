"""The estimator users call: fit on a long frame, predict a timestamped forecast frame."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from forecasting.data import infer_freq, validate_frame
from forecasting.export import build_predictor, validation_quantiles
from forecasting.frequency import season_length_for
from forecasting.inference import median_output
from forecasting.nn.fitting import FittedNetwork, fit_network
from forecasting.nn.persistence import STATE_FILE, load_network, load_state, save_folder
from forecasting.parameters import DEFAULTS as _D
from forecasting.parameters import (
    Cell,
    ForecasterParameters,
    Head,
    Loss,
    Normalize,
    Precision,
    Residual,
    Scaler,
    check_parameters,
)
from forecasting.windowing import (
    TrainingWindows,
    default_input_width,
    min_training_length,
    training_windows,
)

__all__ = ["Forecaster", "default_input_width", "min_training_length"]

_CORE = ("series_id", "timestamp", "value")


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
        The network, see :func:`forecasting.nn.networks.build_network`.
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
    members : int
        Networks trained on the same windows with seeds ``seed``, ``seed + 1``, ...; the
        forecast is the median of their outputs (one network by default). Each member
        falls back to the reference on its own; ``fell_back_`` is true when most did, so
        that the median is the reference. Members can also be fitted apart, on a task
        runner's workers, and combined (:mod:`forecasting.ensemble`).
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
    max_steps : int, optional
        The training budget in batches over all epochs: training runs at most
        ``max(1, max_steps // steps_per_epoch)`` epochs, so a long series, whose epochs are
        long, trains in bounded time (early stopping still restores the best epoch's
        weights). ``None``: up to ``epochs`` epochs whatever their length.
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
        call into the compiled graph (see :func:`forecasting.nn.networks.build_network`). An
        explicit value is kept; ``"auto"`` means Keras' own defaults (Keras' choice of XLA,
        no unrolling, one batch per call) unless ``fast_training`` is set. Batch-level
        callbacks run once per call, epoch-level ones (early stopping) once per epoch.
        ``fit_options_`` holds the values used.
    fast_training : bool
        Opt in to the speed rules measured on a 2-core CPU
        (:func:`forecasting.speed.fast_training_options`) for the options left at
        ``"auto"``: on a GPU the cuDNN kernels; on a CPU short LSTM windows unrolled, XLA
        for the rest of the small networks (up to 64 units per layer); 32 batches per call.
        Often several times faster on a small CPU, but the numerics then depend on the
        layer width and the machine; measure on the machine at hand.
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
        horizon: int = _D.horizon,
        input_width: int | None = _D.input_width,
        cell: Cell = _D.cell,
        units: Sequence[int] = _D.units,
        dropout: float = _D.dropout,
        recurrent_dropout: float = _D.recurrent_dropout,
        bidirectional: bool = _D.bidirectional,
        head: Head = _D.head,
        scaler: Scaler = _D.scaler,
        normalize: Normalize = _D.normalize,
        residual: Residual = _D.residual,
        members: int = _D.members,
        loss: Loss = _D.loss,
        epochs: int = _D.epochs,
        batch_size: int = _D.batch_size,
        learning_rate: float = _D.learning_rate,
        patience: int = _D.patience,
        max_steps_per_epoch: int | None = _D.max_steps_per_epoch,
        max_steps: int | None = _D.max_steps,
        lr_patience: int | None = _D.lr_patience,
        validation_fraction: float = _D.validation_fraction,
        clipnorm: float | None = _D.clipnorm,
        seed: int = _D.seed,
        freq: str | None = None,
        season_length: int | None = None,
        jit_compile: bool | Literal["auto"] = _D.jit_compile,
        unroll: bool | Literal["auto"] = _D.unroll,
        steps_per_execution: int | Literal["auto"] = _D.steps_per_execution,
        fast_training: bool = _D.fast_training,
        precision: Precision = _D.precision,
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
        self.members = members
        self.loss = loss
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.max_steps_per_epoch = max_steps_per_epoch
        self.max_steps = max_steps
        self.lr_patience = lr_patience
        self.validation_fraction = validation_fraction
        self.clipnorm = clipnorm
        self.seed = seed
        self.freq = freq
        self.season_length = season_length
        self.jit_compile = jit_compile
        self.unroll = unroll
        self.steps_per_execution = steps_per_execution
        self.fast_training = fast_training
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
            Extra callbacks, for example to log each epoch's loss; with several
            ``members``, the first member's training only.

        Returns
        -------
        Forecaster
            The fitted estimator.
        """
        params = self._check_params()
        data = self.prepare(frame)
        networks = [
            self.fit_member(data, params, member, callbacks if member == 0 else ())
            for member in range(params.members)
        ]
        return self.finish(data, networks)

    def prepare(self, frame: pd.DataFrame) -> TrainingWindows:
        """Check ``frame``, fit the scaling and the reference, and window it (no training).

        The first part of :meth:`fit`; :meth:`fit_member` and :meth:`finish` are the others.

        Parameters
        ----------
        frame : DataFrame
            As :meth:`fit` takes it.

        Returns
        -------
        TrainingWindows
            The normalised training and validation windows.
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
        data = self._windows(frame)
        self.scaler_ = data.scaler
        self.reference_seasons_ = data.seasons
        self.linear_ = data.linear
        return data

    def fit_member(
        self,
        data: TrainingWindows,
        params: ForecasterParameters,
        member: int,
        callbacks: Sequence[Any] = (),
    ) -> FittedNetwork:
        """Train member ``member`` of the ensemble (seed ``params.seed + member``).

        Parameters
        ----------
        data : TrainingWindows
            From :meth:`prepare`.
        params : ForecasterParameters
            The checked parameters (:func:`forecasting.parameters.check_parameters`).
        member : int
            0 for the first network.
        callbacks : sequence of keras.callbacks.Callback
            Passed to this member's training.

        Returns
        -------
        FittedNetwork
        """
        return fit_network(
            data.train_x,
            data.train_y,
            data.val_x,
            data.val_y,
            params.model_copy(update={"seed": params.seed + member}),
            self.input_width_,
            self.n_features_in_,
            callbacks,
            verbose=self.verbose,
        )

    def finish(
        self,
        data: TrainingWindows,
        networks: Sequence[FittedNetwork],
        weights: Sequence[dict[str, Any]] | None = None,
    ) -> Forecaster:
        """Keep the trained ``networks`` as the ensemble, and calibrate its intervals.

        The last part of :meth:`fit`: the forward path, and the conformal quantiles of the
        median forecast's errors on the validation windows.

        Parameters
        ----------
        data : TrainingWindows
            From :meth:`prepare`.
        networks : sequence of FittedNetwork
            The members, in order (:meth:`fit_member`); a member's ``model`` may be
            ``None`` where ``weights`` are given (it was trained in another process).
        weights : sequence of dict, optional
            The members' NumPy weights (:func:`forecasting.numpy_rnn.extract_weights`); by
            default taken from their Keras networks.

        Returns
        -------
        Forecaster
            The fitted estimator.
        """
        if not networks:
            raise ValueError("`networks` is empty: an ensemble has at least one member")
        self.models_ = [n.model for n in networks]
        self.fit_options_ = networks[0].fit_options
        self.history_ = networks[0].history
        self.histories_ = [n.history for n in networks]
        self.members_fell_back_ = [bool(n.fell_back) for n in networks]
        self.fell_back_ = 2 * sum(self.members_fell_back_) > len(networks)
        self.n_windows_ = len(data.train_x)
        self.n_calibration_ = len(data.val_x)
        self.predictor_ = build_predictor(self, weights)
        self.conformal_ = self.predictor_.conformal = validation_quantiles(
            self.predictor_, self.keras_forward, data.val_x, data.val_y
        )
        return self

    def _windows(self, frame: pd.DataFrame) -> TrainingWindows:
        """The normalised training and validation windows of ``frame`` (after the checks)."""
        return training_windows(
            frame,
            width=self.input_width_,
            horizon=self.horizon,
            covariates=self.covariates_,
            scaler=self.scaler,
            normalize_mode=self.normalize,
            residual=self.residual,
            season_length=self.season_length_,
            validation_fraction=self.validation_fraction,
        )

    def _check_params(self) -> ForecasterParameters:
        """Fail before any data is windowed or TensorFlow imported; the typed parameters."""
        return check_parameters(self.get_params())

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
        forward = None if self.predictor_.weights is not None else self.keras_forward
        return self.predictor_.predict(history, horizon=horizon, forward=forward, levels=levels)

    def predict_reference(self, history: pd.DataFrame) -> pd.DataFrame:
        """The reference forecast alone, without the network's correction.

        See :meth:`forecasting.inference.Predictor.predict_reference`.
        """
        check_is_fitted(self, "predictor_")
        return self.predictor_.predict_reference(history)

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
        forward = None if self.predictor_.weights is not None else self.keras_forward
        return self.predictor_.predict_windows(windows, series_id, horizon, forward=forward)

    @property
    def series_ids(self) -> list[str]:
        """The series the model was trained on."""
        check_is_fitted(self, "predictor_")
        return list(self.series_ids_)

    def keras_forward(self, x: np.ndarray) -> np.ndarray:
        """The network's outputs for normalised windows, through Keras.

        The same as :meth:`forecasting.inference.Predictor.numpy_forward` where the network
        has a NumPy forward pass; the only one where it has not. With several members, the
        median of their outputs.

        Parameters
        ----------
        x : ndarray of shape (n_windows, input_width, n_features)
            Normalised input windows.

        Returns
        -------
        ndarray of shape (n_windows, horizon)
        """
        return median_output(
            [np.asarray(self.keras_model(m).predict_on_batch(x)) for m in range(len(self.models_))]
        )

    # ------------------------------------------------------------ save/load
    def keras_model(self, member: int = 0) -> Any:
        """Return a member's Keras model, loading it from disk on first use after :meth:`load`.

        Parameters
        ----------
        member : int
            0 for the first network (the only one without an ensemble).

        Returns
        -------
        keras.Model
        """
        check_is_fitted(self, "input_width_")
        if self.models_[member] is None:
            path = getattr(self, "_path", None)
            if path is None:
                raise ValueError(
                    f"member {member}'s Keras network is not in this process: the forecaster "
                    "was copied (pickled) without it; forecast with its NumPy forward path, "
                    "or fit it where it is used"
                )
            self.models_[member] = load_network(path, member)
        return self.models_[member]

    def __getstate__(self) -> dict[str, Any]:
        # Pickles stay free of TensorFlow: the networks are saved apart (``save``) or travel
        # as the predictor's NumPy weights.
        state = self.__dict__.copy()
        state["models_"] = [None] * len(state.get("models_", ()))
        state.pop("_path", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("members", 1)  # saved before ensembles
        if "models_" not in state and "predictor_" in state:
            state["models_"] = [None]
        self.__dict__.update(state)

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
        return save_folder(self, path)

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
        forecaster = load_state(path)
        if not isinstance(forecaster, cls):
            raise TypeError(
                f"{Path(path) / STATE_FILE} holds a {type(forecaster).__name__}, "
                f"not a {cls.__name__}"
            )
        return forecaster
