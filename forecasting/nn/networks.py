"""The forecasting network: stacked LSTM/GRU/SimpleRNN encoders and their regression heads.

Its layer builder and option checks also serve :mod:`forecasting.nn.classifier`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from forecasting.checks import check_bool, check_choice, check_float, check_int, check_units
from forecasting.nn.devices import gpu_visible
from forecasting.parameters import CELLS, HEADS, LOSSES

if TYPE_CHECKING:
    import keras

__all__ = ["build_network", "check_compile_options", "recurrent_layer", "seed_source"]


def check_compile_options(
    jit_compile: Any, unroll: Any, steps_per_execution: Any, builder: str
) -> int:
    """Check the speed options of a builder; return `steps_per_execution` as an int."""
    if not isinstance(jit_compile, bool | str):
        raise TypeError(
            "`jit_compile` must be True, False or 'auto'; "
            f"got {type(jit_compile).__name__} {jit_compile!r}."
        )
    if isinstance(jit_compile, str) and jit_compile != "auto":
        raise ValueError(f"`jit_compile` must be True, False or 'auto'; got {jit_compile!r}.")
    for name, value in (("unroll", unroll), ("steps_per_execution", steps_per_execution)):
        if isinstance(value, str) and value == "auto":
            raise TypeError(
                f"`{name}` must be {'a bool' if name == 'unroll' else 'an integer'}; got 'auto'. "
                f"`fast_training_options` resolves 'auto': pass its result to `{builder}`."
            )
    check_bool("unroll", unroll)
    return check_int("steps_per_execution", steps_per_execution, 1)


def seed_source(seed: int | None, count: int) -> Callable[[], int | None]:
    """A function returning `count` independent 31-bit seeds derived from `seed`, one per call.

    With ``seed=None`` it returns None every time (Keras then draws its own).
    """
    if seed is None:
        return lambda: None
    seeds = iter(np.random.SeedSequence(seed).generate_state(count) >> 1)
    return lambda: int(next(seeds))


def recurrent_layer(
    cell: str,
    size: int,
    name: str,
    return_sequences: bool,
    next_seed: Callable[[], int | None],
    recurrent_dropout: float = 0.0,
    unroll: bool = False,
    go_backwards: bool = False,
) -> Any:
    """One recurrent layer of `cell`; draws three seeds (kernel, recurrent kernel, dropout)."""
    import keras

    layer_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}.get(
        cell, keras.layers.SimpleRNN
    )
    options: dict[str, Any] = {}
    if cell == "gru":
        options["reset_after"] = True
    if recurrent_dropout > 0:
        options["recurrent_dropout"] = recurrent_dropout
    if unroll:
        options["unroll"] = True
    return layer_class(
        size,
        return_sequences=return_sequences,
        go_backwards=go_backwards,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
        recurrent_initializer=keras.initializers.Orthogonal(seed=next_seed()),
        seed=next_seed(),
        name=name,
        **options,
    )


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
    input_width = check_int("input_width", input_width, 1)
    n_features = check_int("n_features", n_features, 1)
    horizon = check_int("horizon", horizon, 1)
    cell = check_choice("cell", cell, CELLS)
    sizes = check_units(units)
    dropout = check_float("dropout", dropout, low=0.0, high=1.0, text="a float in [0, 1)")
    recurrent_dropout = check_float(
        "recurrent_dropout", recurrent_dropout, low=0.0, high=1.0, text="a float in [0, 1)"
    )
    check_bool("bidirectional", bidirectional)
    head = check_choice("head", head, HEADS)
    learning_rate = check_float(
        "learning_rate", learning_rate, low=0.0, high=None, text="a positive finite number"
    )
    if clipnorm is not None:
        clipnorm = check_float(
            "clipnorm", clipnorm, low=0.0, high=None, text="None or a positive finite number"
        )
    if seed is not None:
        seed = check_int("seed", seed, 0, optional=True)
    steps_per_execution = check_compile_options(
        jit_compile, unroll, steps_per_execution, "build_network"
    )
    if recurrent_dropout > 0:
        warnings.warn(
            f"`recurrent_dropout`={recurrent_dropout} disables the cuDNN kernel on GPU, so "
            "training falls back to a much slower implementation; use `dropout` instead to "
            "keep cuDNN.",
            UserWarning,
            stacklevel=2,
        )

    if unroll and gpu_visible():
        warnings.warn(
            "`unroll=True` disables the cuDNN kernel on GPU, so training falls back to a much "
            "slower implementation; pass `unroll=False` on a GPU.",
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
    model.compile(
        optimizer=optimizer,
        loss=check_choice("loss", loss, LOSSES),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    # Built now, so that an untrained model saved as `.keras` reloads without a Keras warning
    # about a mismatched number of optimizer variables.
    model.optimizer.build(model.trainable_variables)
    return model
