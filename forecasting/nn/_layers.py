"""What the forecasting network and the classifier share: option checks, seeds, layers, compile."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from forecasting.checks import check_bool, check_choice, check_float, check_int, check_units
from forecasting.nn.devices import gpu_visible
from forecasting.parameters import CELLS


def check_stack(
    input_width: Any,
    n_features: Any,
    cell: Any,
    units: Any,
    dropout: Any,
    learning_rate: Any,
    seed: Any,
    jit_compile: Any,
    unroll: Any,
    steps_per_execution: Any,
    builder: str,
) -> tuple[int, int, str, tuple[int, ...], float, float, int | None, int]:
    """Check the options every recurrent stack takes; warn when ``unroll`` costs cuDNN.

    Returns
    -------
    tuple
        ``input_width``, ``n_features``, ``cell``, the layer sizes, ``dropout``,
        ``learning_rate``, ``seed`` and ``steps_per_execution``, checked.
    """
    input_width = check_int("input_width", input_width, 1)
    n_features = check_int("n_features", n_features, 1)
    cell = check_choice("cell", cell, CELLS)
    sizes = check_units(units)
    dropout = check_float("dropout", dropout, low=0.0, high=1.0, text="a float in [0, 1)")
    learning_rate = check_float(
        "learning_rate", learning_rate, low=0.0, high=None, text="a positive finite number"
    )
    if seed is not None:
        seed = check_int("seed", seed, 0, optional=True)
    steps = check_compile_options(jit_compile, unroll, steps_per_execution, builder)
    if unroll and gpu_visible():
        warnings.warn(
            "`unroll=True` disables the cuDNN kernel on GPU, so training falls back to a much "
            "slower implementation; pass `unroll=False` on a GPU.",
            UserWarning,
            stacklevel=3,
        )
    return input_width, n_features, cell, sizes, dropout, learning_rate, seed, steps


def check_clipnorm(name: str, value: Any) -> float | None:
    """``None``, or a positive finite gradient-clipping norm."""
    if value is None:
        return None
    return check_float(name, value, low=0.0, high=None, text="None or a positive finite number")


def compile_built(
    model: Any,
    optimizer: Any,
    loss: str,
    jit_compile: bool | str,
    steps_per_execution: int,
    metrics: Sequence[str] | None = None,
) -> Any:
    """Compile ``model`` and build its optimizer's variables; returns the model.

    Built now, so that an untrained model saved as ``.keras`` reloads without a Keras warning
    about a mismatched number of optimizer variables.
    """
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=list(metrics) if metrics else None,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    model.optimizer.build(model.trainable_variables)
    return model


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
