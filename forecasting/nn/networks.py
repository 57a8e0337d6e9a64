"""The forecasting network: stacked LSTM/GRU/SimpleRNN encoders and their regression heads."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from forecasting.checks import check_bool, check_choice, check_float, check_int
from forecasting.nn._layers import (
    check_clipnorm,
    check_stack,
    compile_built,
    recurrent_layer,
    seed_source,
)
from forecasting.parameters import HEADS, LOSSES

if TYPE_CHECKING:
    import keras

__all__ = ["build_network"]


def build_network(
    input_width: int,
    n_features: int,
    horizon: int,
    cell: str = "lstm",
    units: Sequence[int] = (32, 32),
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    bidirectional: bool = False,
    head: str = "dense",
    learning_rate: float = 1e-3,
    clipnorm: float | None = None,
    seed: int | None = None,
    jit_compile: bool | str = "auto",
    unroll: bool = False,
    steps_per_execution: int = 1,
    loss: str = "mse",
) -> keras.Model:
    """Build and compile a recurrent forecasting network.

    The encoder is a stack of recurrent layers, one per entry of `units`; every layer but the
    last returns sequences. The defaults keep the cuDNN kernel usable on a GPU: tanh/sigmoid
    activations, no recurrent dropout, ``unroll=False`` and, for GRU, ``reset_after=True``.

    Parameters
    ----------
    input_width : int
        Number of past time steps the network reads.
    n_features : int
        Number of features per time step (the target plus covariates).
    horizon : int
        Number of future steps predicted at once; the output has shape ``(batch, horizon)``.
    cell : {"lstm", "gru", "rnn"}
        Recurrent cell; ``"rnn"`` is a SimpleRNN, useful as a baseline.
    units : sequence of int
        Units of each stacked encoder layer, e.g. ``(32, 32)``.
    dropout : float
        Rate of ``keras.layers.Dropout`` layers placed after every encoder layer (between
        stacked layers and before the head). The raw input is never dropped: with a single
        feature that would blank a whole window. Inactive at inference.
    recurrent_dropout : float
        Dropout on the recurrent state inside each recurrent layer. Any value above 0 disables
        the cuDNN kernel on GPU (training is several times slower); a ``UserWarning`` says so.
    bidirectional : bool
        Wrap each encoder layer in ``keras.layers.Bidirectional`` (outputs concatenated).
    head : {"dense", "seq2seq"}
        ``"dense"``: ``Dense(horizon)`` over the last encoder state. ``"seq2seq"``: the encoder
        output repeated `horizon` times (``RepeatVector``), a decoder layer of the same cell
        with ``units[-1]`` units returning sequences, and ``TimeDistributed(Dense(1))``.
    learning_rate : float
        Adam learning rate.
    clipnorm : float or None
        Gradient norm clipping for Adam; None disables it.
    seed : int or None
        Seed for the weight initialisers and dropout masks; each layer gets its own seed
        derived from it, so two builds with the same seed start from identical weights. Call
        ``keras.utils.set_random_seed`` as well for fully reproducible training.
    jit_compile : bool or "auto"
        Passed to ``model.compile``. ``"auto"`` is Keras' choice: XLA when every layer
        supports it, which cuDNN layers do not, and never on a CPU-only machine (where it
        often pays off for small RNNs: see `forecasting.speed.fast_training_options`).
    unroll : bool
        Unroll the recurrent layers into one set of operations per time step instead of a
        symbolic loop: faster on a CPU for short sequences, but it disables the cuDNN kernel
        (a ``UserWarning`` says so when a GPU is visible).
    steps_per_execution : int
        Training batches run per call into the compiled graph (``model.compile``); batch-level
        callbacks then run once per call, epoch-level ones (early stopping) once per epoch.
    loss : {"mse", "mae"}
        Training loss: mean squared or mean absolute error.

    Returns
    -------
    keras.Model
        Compiled with Adam and ``loss``; float32 output even under a mixed-precision
        policy (see `forecasting.nn.devices.set_precision`).
    """
    input_width, n_features, cell, sizes, dropout, learning_rate, seed, steps_per_execution = (
        check_stack(
            input_width,
            n_features,
            cell,
            units,
            dropout,
            learning_rate,
            seed,
            jit_compile,
            unroll,
            steps_per_execution,
            "build_network",
        )
    )
    horizon = check_int("horizon", horizon, 1)
    recurrent_dropout = check_float(
        "recurrent_dropout", recurrent_dropout, low=0.0, high=1.0, text="a float in [0, 1)"
    )
    check_bool("bidirectional", bidirectional)
    head = check_choice("head", head, HEADS)
    clipnorm = check_clipnorm("clipnorm", clipnorm)
    loss = check_choice("loss", loss, LOSSES)
    if recurrent_dropout > 0:
        warnings.warn(
            f"`recurrent_dropout`={recurrent_dropout} disables the cuDNN kernel on GPU, so "
            "training falls back to a much slower implementation; use `dropout` instead to "
            "keep cuDNN.",
            UserWarning,
            stacklevel=2,
        )

    import keras

    # One independent 31-bit seed per initialiser / dropout mask. A seeded Keras initialiser
    # returns the same values on every call, so sharing one seed would correlate layers.
    # Each encoder layer draws at most 7 (two directions and a dropout), the rest at most 4.
    next_seed = seed_source(seed, 8 * len(sizes) + 8)

    def recurrent(size: int, name: str, return_sequences: bool, go_backwards: bool = False) -> Any:
        return recurrent_layer(
            cell,
            size,
            name,
            return_sequences,
            next_seed,
            recurrent_dropout=recurrent_dropout,
            unroll=unroll,
            go_backwards=go_backwards,
        )

    inputs = keras.Input(shape=(input_width, n_features), name="window")
    x = inputs
    for index, size in enumerate(sizes):
        return_sequences = index < len(sizes) - 1
        name = f"encoder_{index}"
        layer = recurrent(size, name, return_sequences)
        if bidirectional:
            # An explicit backward layer: Keras would otherwise clone the forward layer's
            # config, seeds included, and both directions would start from the same weights.
            backward = recurrent(size, f"backward_{name}", return_sequences, go_backwards=True)
            layer = keras.layers.Bidirectional(layer, backward_layer=backward, name=name)
        x = layer(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=next_seed(), name=f"dropout_{index}")(x)

    dense_kernel = keras.initializers.GlorotUniform(seed=next_seed())
    if head == "dense":
        outputs = keras.layers.Dense(
            horizon, kernel_initializer=dense_kernel, dtype="float32", name="forecast"
        )(x)
    else:
        x = keras.layers.RepeatVector(horizon, name="repeat")(x)
        x = recurrent(sizes[-1], "decoder", return_sequences=True)(x)
        x = keras.layers.TimeDistributed(
            keras.layers.Dense(1, kernel_initializer=dense_kernel, dtype="float32"),
            dtype="float32",
            name="head",
        )(x)
        outputs = keras.layers.Reshape((horizon,), dtype="float32", name="forecast")(x)

    model = keras.Model(inputs, outputs, name=f"{cell}_{head}")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm)
    return compile_built(model, optimizer, loss, jit_compile, steps_per_execution)
