"""The Keras training loop: the tf.data pipeline, callbacks, early stopping and fall-back."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forecasting.parameters import ForecasterParameters

__all__ = ["VALIDATION_BATCH", "FittedNetwork", "fit_network", "make_dataset"]

# Validation windows per batch: one batch (one graph shape) for most validation tails.
VALIDATION_BATCH = 1024


@dataclass
class FittedNetwork:
    """What training leaves: the network, its history, the speed options used, the fall-back.

    Attributes
    ----------
    model : keras.Model
        The trained network, with the best validation weights restored.
    history : dict of str to list of float
        Keras' per-epoch history (``loss``, ``val_loss``...).
    fit_options : dict
        ``jit_compile``, ``unroll`` and ``steps_per_execution`` as used.
    fell_back : bool
        Whether the network was reset to its zero output (the reference forecast), having
        not beaten it on the validation windows.
    """

    model: Any
    history: dict[str, list[float]]
    fit_options: dict[str, Any]
    fell_back: bool


def fit_network(
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    params: ForecasterParameters,
    input_width: int,
    n_features: int,
    callbacks: Sequence[Any] = (),
    verbose: int | str = "auto",
) -> FittedNetwork:
    """Build the network ``params`` describe and train it on normalised windows.

    Parameters
    ----------
    train_x, train_y, val_x, val_y : ndarray
        Training and validation windows and targets (``val_x`` may be empty).
    params : ForecasterParameters
        The network's and the training's parameters, checked
        (:func:`forecasting.parameters.check_parameters`).
    input_width, n_features : int
        The windows' shape.
    callbacks : sequence of keras.callbacks.Callback
        Extra callbacks, for example to log each epoch's loss.
    verbose : int or "auto"
        Keras' progress output: 0 silent, 1 a progress bar, 2 a line per epoch; ``"auto"``
        a progress bar on a terminal only.

    Returns
    -------
    FittedNetwork
    """
    import keras

    from forecasting import speed
    from forecasting.nn import devices, networks

    keras.utils.set_random_seed(params.seed)
    with devices.precision(params.precision):
        options = speed.training_options(
            params.fast_training,
            params.cell,
            input_width,
            params.horizon,
            tuple(params.units),
            params.head,
            params.jit_compile,
            params.unroll,
            params.steps_per_execution,
        )
        steps = _steps_per_epoch(len(train_x), params.batch_size, params.max_steps_per_epoch)
        if steps is not None:  # whole calls into the graph: a call never stops mid-way
            per_call = min(options["steps_per_execution"], steps)
            options = {**options, "steps_per_execution": per_call}
            steps -= steps % per_call
        epochs = _epochs(
            params.epochs, steps or -(-len(train_x) // params.batch_size), params.max_steps
        )
        model = networks.build_network(
            input_width=input_width,
            n_features=n_features,
            horizon=params.horizon,
            cell=params.cell,
            units=tuple(params.units),
            dropout=params.dropout,
            recurrent_dropout=params.recurrent_dropout,
            bidirectional=params.bidirectional,
            head=params.head,
            learning_rate=params.learning_rate,
            clipnorm=params.clipnorm,
            seed=params.seed,
            loss=params.loss,
            **options,
        )
        start = _zero_output(model) if params.residual != "none" else None
        has_val = len(val_x) > 0
        monitor = "val_loss" if has_val else "loss"
        stop = keras.callbacks.EarlyStopping(
            monitor=monitor, patience=params.patience, restore_best_weights=True
        )
        schedule: list[Any] = []
        if params.lr_patience is not None:
            schedule.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=monitor, factor=0.5, patience=params.lr_patience, min_lr=1e-5
                )
            )
        batch, seed = params.batch_size, params.seed
        history = model.fit(
            make_dataset(train_x, train_y, batch, seed, shuffle=True, repeat=steps is not None),
            steps_per_epoch=steps,
            validation_data=make_dataset(val_x, val_y, batch, seed, shuffle=False)
            if has_val
            else None,
            epochs=epochs,
            shuffle=False,  # the dataset reshuffles itself, seeded, every epoch
            callbacks=[stop, *schedule, *callbacks, keras.callbacks.TerminateOnNaN()],
            verbose=_keras_verbose(verbose),
        )
    if not np.isfinite(history.history.get("loss", [0.0])).all():
        raise ValueError(
            "training diverged: the loss became NaN or infinite, so training stopped. "
            f"Likely causes: a learning rate too high (`learning_rate` {params.learning_rate}), "
            "values of extreme magnitude (rescale the series), or no gradient clipping "
            f"(`clipnorm` {params.clipnorm}; try 1.0)"
        )
    fell_back = False
    if start is not None and has_val:
        # The zero output is the reference forecast itself.
        errors = np.abs(val_y) if params.loss == "mae" else np.square(val_y)
        if min(history.history["val_loss"]) >= float(errors.mean()):
            model.set_weights(start)
            fell_back = True
    return FittedNetwork(
        model=model,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        fit_options={**options, "jit_compile": bool(model.jit_compile)},
        fell_back=fell_back,
    )


def _zero_output(model: Any) -> list[np.ndarray]:
    """Zero the output layer (its forecast is then the reference); the weights after that."""
    last = [layer for layer in model.layers if layer.weights][-1]
    last.set_weights([np.zeros(w.shape, dtype=w.dtype) for w in last.get_weights()])
    return [np.asarray(w) for w in model.get_weights()]


def _steps_per_epoch(n_windows: int, batch_size: int, cap: int | None) -> int | None:
    """The ``max_steps_per_epoch`` cap when a pass is longer; ``None`` for a whole pass."""
    if cap is None or -(-n_windows // batch_size) <= cap:
        return None
    return int(cap)


def _epochs(epochs: int, steps_per_epoch: int, max_steps: int | None) -> int:
    """``epochs``, fewer where they would run past the ``max_steps`` budget (at least one)."""
    if max_steps is None:
        return epochs
    return max(1, min(epochs, max_steps // max(1, steps_per_epoch)))


def _keras_verbose(verbose: int | str) -> int:
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 0
    return int(verbose)


def make_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, shuffle: bool, repeat: bool = False
) -> Any:
    """Batches gathered from the window arrays by index, prefetched; no per-window Python.

    Training (``shuffle``): a seeded permutation per epoch, and every batch full: the last
    one is topped up with windows drawn at random. An epoch keeps its number of steps, and
    the batch shape is static: XLA compiles one shape instead of two (seconds each) and
    unrolled graphs run faster. With ``repeat`` the permutations follow each other endlessly
    (``fit`` then counts the steps of an epoch) and batches run across their seams, so no
    top-up is needed. Validation: in order, in batches of up to ``VALIDATION_BATCH`` windows.

    Returns
    -------
    tf.data.Dataset
    """
    import tensorflow as tf

    xt, yt = tf.constant(x), tf.constant(y)
    n = len(x)
    if shuffle:
        batch = min(batch_size, n)
        ds = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        elif n % batch:
            extra = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
            ds = ds.concatenate(extra.map(lambda r: r % n).take(batch - n % batch))
        ds = ds.batch(batch, drop_remainder=True)
    else:
        ds = tf.data.Dataset.range(n).batch(max(batch_size, VALIDATION_BATCH))
    ds = ds.map(
        lambda i: (tf.gather(xt, i), tf.gather(yt, i)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return ds.prefetch(tf.data.AUTOTUNE)
