"""Keras graphs: stacked LSTM/GRU/SimpleRNN encoders, dense or seq2seq head, or a softmax."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = [
    "AUTO_STEPS_PER_EXECUTION",
    "CELLS",
    "CLASSIFIER_OUTPUTS",
    "HEADS",
    "PRECISIONS",
    "UNROLL_MAX_STEPS",
    "XLA_MAX_UNITS",
    "build_classifier",
    "build_network",
    "configure_gpu_memory_growth",
    "fast_training_options",
    "gpu_visible",
    "set_precision",
]

CELLS = ("lstm", "gru", "rnn")
HEADS = ("dense", "seq2seq")
CLASSIFIER_OUTPUTS = ("last", "sequence", "seq2seq")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Training batches per call into the compiled graph (see `fast_training_options`): one Python
# round trip per batch costs about a millisecond, as much as the step itself for a small RNN.
AUTO_STEPS_PER_EXECUTION = 32
# On a CPU, LSTM and SimpleRNN layers are unrolled up to this many steps; longer sequences
# (and every GRU) train faster with XLA than unrolled (benchmarks/README.md).
UNROLL_MAX_STEPS = 12
# On a CPU, XLA up to this many units per layer; larger matrix products run faster in
# TensorFlow's own kernels than in XLA's CPU code (2 x 128 units: 1.7 times slower with XLA).
XLA_MAX_UNITS = 64


def _choices(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values)


def _check_int(name: str, value: Any, minimum: int, optional: bool = False) -> int:
    what = "None or an integer" if optional else "an integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be {what}; got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be {what} >= {minimum}; got {value!r}.")
    return int(value)


def _check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"`{name}` must be a string, one of {_choices(allowed)}; "
            f"got {type(value).__name__} {value!r}."
        )
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {_choices(allowed)}; got {value!r}.")
    return value


def _check_float(name: str, value: Any, *, low: float, high: float | None, text: str) -> float:
    """Check a real number in ``[low, high)`` (``high=None``: positive and finite)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number; got {type(value).__name__} {value!r}.")
    number = float(value)
    ok = low <= number < high if high is not None else (number > low and math.isfinite(number))
    if not ok:
        raise ValueError(f"`{name}` must be {text}; got {value!r}.")
    return number


def _check_units(units: Any) -> tuple[int, ...]:
    if isinstance(units, str | bytes) or not isinstance(units, Sequence):
        raise TypeError(
            "`units` must be a sequence of positive integers such as (32, 32); "
            f"got {type(units).__name__} {units!r}."
        )
    if len(units) == 0:
        raise ValueError("`units` must not be empty; pass one size per layer such as (32,).")
    for position, size in enumerate(units):
        problem = f"got {size!r} at position {position} in {tuple(units)!r}."
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"`units` must contain integers; {problem}")
        if size < 1:
            raise ValueError(f"`units` must contain positive integers; {problem}")
    return tuple(int(size) for size in units)


def _check_auto(name: str, value: Any, kind: str) -> None:
    """``value`` must be ``"auto"`` or of ``kind`` ("bool" or "int >= 1")."""
    what = "True, False or 'auto'" if kind == "bool" else "a positive integer or 'auto'"
    expected = f"`{name}` must be {what}"
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{expected}; got {value!r}.")
        return
    if kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{expected}; got {type(value).__name__} {value!r}.")
        return
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{expected}; got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"{expected}; got {value!r}.")


def gpu_visible() -> bool:
    """Whether TensorFlow sees a GPU (imports TensorFlow).

    Returns
    -------
    bool
        True when at least one GPU is visible to TensorFlow.
    """
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def _op_determinism_enabled() -> bool:
    """Whether `tf.config.experimental.enable_op_determinism` is on (Keras then avoids XLA)."""
    try:  # TensorFlow has no public getter; Keras' own "auto" reads the same function.
        from tensorflow.python.framework.config import is_op_determinism_enabled
    except ImportError:  # pragma: no cover - a TensorFlow without it
        return False
    return bool(is_op_determinism_enabled())


def fast_training_options(
    cell: str,
    input_width: int,
    horizon: int,
    units: Sequence[int] = (32, 32),
    head: str = "dense",
    jit_compile: bool | str = "auto",
    unroll: bool | str = "auto",
    steps_per_execution: int | str = "auto",
) -> dict[str, Any]:
    """Choose the fastest measured training setup for this network on this machine.

    A small RNN's training step is bound by per-operation overhead, not arithmetic. On a GPU
    the cuDNN kernels stay in use: no unrolling, and Keras' own choice for XLA (off for cuDNN
    layers). On a CPU, unrolling suits sequences of at most `UNROLL_MAX_STEPS` steps (the
    seq2seq decoder's `horizon` included) and XLA, which Keras leaves off on CPUs, suits
    layers of at most `XLA_MAX_UNITS` units; never both, as XLA compiles an unrolled graph
    slowly. Short sequences are unrolled, except a GRU's when XLA suits it (a GRU trains
    faster with XLA); XLA compiles everything else that suits it. Every setting runs
    `AUTO_STEPS_PER_EXECUTION` batches per call into the compiled graph. benchmarks/README.md
    has the measurements behind these rules.

    Parameters
    ----------
    cell, input_width, horizon, units, head
        The network, as given to `build_network`.
    jit_compile : bool or "auto"
        An explicit bool is kept. ``"auto"`` is resolved as above; on a GPU it stays
        ``"auto"`` for Keras to resolve. With TensorFlow's op determinism enabled it is False
        on a CPU, as Keras does.
    unroll : bool or "auto"
        An explicit bool is kept (True on a GPU disables cuDNN; `build_network` warns).
    steps_per_execution : int or "auto"
        An explicit count is kept.

    Returns
    -------
    dict
        ``jit_compile``, ``unroll`` and ``steps_per_execution``, ready to pass to
        `build_network`.
    """
    cell = _check_choice("cell", cell, CELLS)
    head = _check_choice("head", head, HEADS)
    input_width = _check_int("input_width", input_width, 1)
    horizon = _check_int("horizon", horizon, 1)
    widest = max(_check_units(units))
    _check_auto("jit_compile", jit_compile, "bool")
    _check_auto("unroll", unroll, "bool")
    _check_auto("steps_per_execution", steps_per_execution, "int >= 1")
    # After the checks, the only string any of them can hold is "auto".
    if isinstance(unroll, str) or isinstance(jit_compile, str):
        if gpu_visible():
            unroll = False if isinstance(unroll, str) else unroll
        else:
            xla_fits = widest <= XLA_MAX_UNITS and not _op_determinism_enabled()
            xla = None if isinstance(jit_compile, str) else bool(jit_compile)  # None: choose
            if isinstance(unroll, str):
                longest = max(input_width, horizon) if head == "seq2seq" else input_width
                # A GRU trains faster with XLA than unrolled, when XLA suits its size.
                gru_xla = cell == "gru" and xla is None and xla_fits
                unroll = longest <= UNROLL_MAX_STEPS and xla is not True and not gru_xla
            if xla is None:
                jit_compile = xla_fits and not unroll
    return {
        "jit_compile": jit_compile if isinstance(jit_compile, str) else bool(jit_compile),
        "unroll": bool(unroll),
        "steps_per_execution": (
            AUTO_STEPS_PER_EXECUTION
            if isinstance(steps_per_execution, str)
            else int(steps_per_execution)
        ),
    }


def _check_compile_options(
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
    if not isinstance(unroll, bool | np.bool_):
        raise TypeError(f"`unroll` must be a bool; got {type(unroll).__name__} {unroll!r}.")
    return _check_int("steps_per_execution", steps_per_execution, 1)


def _seed_source(seed: int | None, count: int) -> Callable[[], int | None]:
    """A function returning `count` independent 31-bit seeds derived from `seed`, one per call.

    With ``seed=None`` it returns None every time (Keras then draws its own).
    """
    if seed is None:
        return lambda: None
    seeds = iter(np.random.SeedSequence(seed).generate_state(count) >> 1)
    return lambda: int(next(seeds))


def _recurrent_layer(
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
        often pays off for small RNNs: see `fast_training_options`).
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
        policy (see `set_precision`).
    """
    input_width = _check_int("input_width", input_width, 1)
    n_features = _check_int("n_features", n_features, 1)
    horizon = _check_int("horizon", horizon, 1)
    cell = _check_choice("cell", cell, CELLS)
    sizes = _check_units(units)
    dropout = _check_float("dropout", dropout, low=0.0, high=1.0, text="a float in [0, 1)")
    recurrent_dropout = _check_float(
        "recurrent_dropout", recurrent_dropout, low=0.0, high=1.0, text="a float in [0, 1)"
    )
    if not isinstance(bidirectional, bool | np.bool_):
        raise TypeError(
            f"`bidirectional` must be a bool; got {type(bidirectional).__name__} {bidirectional!r}."
        )
    head = _check_choice("head", head, HEADS)
    learning_rate = _check_float(
        "learning_rate", learning_rate, low=0.0, high=None, text="a positive finite number"
    )
    if clipnorm is not None:
        clipnorm = _check_float(
            "clipnorm", clipnorm, low=0.0, high=None, text="None or a positive finite number"
        )
    if seed is not None:
        seed = _check_int("seed", seed, 0, optional=True)
    steps_per_execution = _check_compile_options(
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
    next_seed = _seed_source(seed, 8 * len(sizes) + 8)

    def recurrent(size: int, name: str, return_sequences: bool, go_backwards: bool = False) -> Any:
        return _recurrent_layer(
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
        loss=_check_choice("loss", loss, ("mse", "mae")),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    # Built now, so that an untrained model saved as `.keras` reloads without a Keras warning
    # about a mismatched number of optimizer variables.
    model.optimizer.build(model.trainable_variables)
    return model


def build_classifier(
    input_width: int,
    n_features: int,
    n_classes: int,
    cell: str = "lstm",
    units: Sequence[int] = (32,),
    dropout: float = 0.0,
    output: str = "last",
    output_steps: int | None = None,
    learning_rate: float = 1e-3,
    global_clipnorm: float | None = None,
    seed: int | None = None,
    jit_compile: bool | str = "auto",
    unroll: bool = False,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Build and compile a recurrent classifier: stacked recurrent layers and a softmax.

    The same stacked layers as `build_network` (one per entry of `units`, same initialisers and
    cuDNN-compatible defaults) read sequences of `n_features` values per step and end in a
    softmax over `n_classes` classes, instead of a regression head. It serves sequence
    classification, sequence-to-sequence translation and language models.

    Parameters
    ----------
    input_width : int
        Number of steps the network reads.
    n_features : int
        Values per step (for symbols, the size of a one-hot alphabet).
    n_classes : int
        Number of classes of the softmax, at least 2.
    cell : {"lstm", "gru", "rnn"}
        Recurrent cell, as in `build_network`.
    units : sequence of int
        Units of each stacked encoder layer, e.g. ``(128, 128)``.
    dropout : float
        Rate of ``keras.layers.Dropout`` after every recurrent layer (the seq2seq decoder
        included), so before each stacked layer and before the softmax. Inactive at inference.
    output : {"last", "sequence", "seq2seq"}
        ``"last"``: one class per sequence from the last encoder state, shape
        ``(batch, n_classes)``. ``"sequence"``: one class per input step, every layer returning
        sequences, shape ``(batch, input_width, n_classes)``; with targets shifted by one step
        this is a language model. ``"seq2seq"``: the last encoder state repeated
        `output_steps` times (``RepeatVector``), a decoder layer of the same cell with
        ``units[-1]`` units, and a softmax per decoded step, shape
        ``(batch, output_steps, n_classes)``.
    output_steps : int or None
        Length of the decoded sequence; required for ``output="seq2seq"``, None otherwise.
    learning_rate : float
        Adam learning rate.
    global_clipnorm : float or None
        Clip the gradients of all weights together to this global norm (Adam's
        ``global_clipnorm``); None disables it.
    seed : int or None
        Seed for the weight initialisers and dropout masks, as in `build_network`.
    jit_compile, unroll, steps_per_execution
        As in `build_network`; `fast_training_options` chooses them for this machine.

    Returns
    -------
    keras.Model
        Compiled with Adam, sparse categorical cross-entropy on integer class labels and
        accuracy; float32 probabilities.
    """
    input_width = _check_int("input_width", input_width, 1)
    n_features = _check_int("n_features", n_features, 1)
    n_classes = _check_int("n_classes", n_classes, 2)
    cell = _check_choice("cell", cell, CELLS)
    sizes = _check_units(units)
    dropout = _check_float("dropout", dropout, low=0.0, high=1.0, text="a float in [0, 1)")
    output = _check_choice("output", output, CLASSIFIER_OUTPUTS)
    if output == "seq2seq":
        if output_steps is None:
            raise ValueError(
                "`output_steps` is required with output='seq2seq': pass the length of the "
                "decoded sequence, such as output_steps=4."
            )
        output_steps = _check_int("output_steps", output_steps, 1)
    elif output_steps is not None:
        raise ValueError(
            f"`output_steps` applies to output='seq2seq' only; got output_steps={output_steps!r} "
            f"with output={output!r}. Leave it None."
        )
    learning_rate = _check_float(
        "learning_rate", learning_rate, low=0.0, high=None, text="a positive finite number"
    )
    if global_clipnorm is not None:
        global_clipnorm = _check_float(
            "global_clipnorm",
            global_clipnorm,
            low=0.0,
            high=None,
            text="None or a positive finite number",
        )
    if seed is not None:
        seed = _check_int("seed", seed, 0, optional=True)
    steps_per_execution = _check_compile_options(
        jit_compile, unroll, steps_per_execution, "build_classifier"
    )
    if unroll and gpu_visible():
        warnings.warn(
            "`unroll=True` disables the cuDNN kernel on GPU, so training falls back to a much "
            "slower implementation; pass `unroll=False` on a GPU.",
            UserWarning,
            stacklevel=2,
        )

    import keras

    next_seed = _seed_source(seed, 4 * len(sizes) + 8)  # each layer draws at most 4 seeds
    inputs = keras.Input(shape=(input_width, n_features), name="sequence")
    x = inputs
    for index, size in enumerate(sizes):
        return_sequences = output == "sequence" or index < len(sizes) - 1
        layer = _recurrent_layer(
            cell, size, f"encoder_{index}", return_sequences, next_seed, unroll=unroll
        )
        x = layer(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=next_seed(), name=f"dropout_{index}")(x)
    if output == "seq2seq":
        x = keras.layers.RepeatVector(output_steps, name="repeat")(x)
        x = _recurrent_layer(cell, sizes[-1], "decoder", True, next_seed, unroll=unroll)(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=next_seed(), name="dropout_decoder")(x)
    # Dense maps the last axis, so the same layer gives one softmax per step of a sequence.
    outputs = keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
        dtype="float32",
        name="classes",
    )(x)
    model = keras.Model(inputs, outputs, name=f"{cell}_{output}_classifier")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=global_clipnorm)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    model.optimizer.build(model.trainable_variables)
    return model


def set_precision(policy: str = "float32") -> None:
    """Set the global Keras dtype policy for networks built afterwards.

    ``"mixed_float16"`` speeds up training on NVIDIA GPUs with tensor cores (Keras then wraps
    the optimizer in a loss-scale optimizer); ``"mixed_bfloat16"`` suits TPUs and recent CPUs
    and GPUs. `build_network` keeps its output layer in float32 under every policy.
    `forecasting.Forecaster` sets its own ``precision`` while it fits, and restores the global
    policy afterwards.

    Parameters
    ----------
    policy : {"float32", "mixed_float16", "mixed_bfloat16"}
        The global policy; ``"float32"`` restores the default.
    """
    policy = _check_choice("policy", policy, PRECISIONS)
    import keras

    keras.mixed_precision.set_global_policy(policy)


def configure_gpu_memory_growth() -> list[str]:
    """Let TensorFlow allocate GPU memory as needed instead of reserving it all up front.

    Call it first, before any model is built or any tensor is created: TensorFlow cannot
    change the setting once a GPU is initialised. Does nothing on a machine without a GPU.

    Returns
    -------
    list of str
        Names of the GPUs configured (empty without a GPU).
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:
            raise RuntimeError(
                f"Cannot enable memory growth on {gpu.name}: the GPU is already initialised. "
                "Call `configure_gpu_memory_growth()` at the start of the program, before "
                "building a model."
            ) from error
    return [gpu.name for gpu in gpus]
