"""Training speed options: Keras' own defaults, or, on request, rules measured on one CPU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from forecasting.checks import check_choice, check_int, check_units
from forecasting.parameters import CELLS, HEADS

__all__ = [
    "AUTO_STEPS_PER_EXECUTION",
    "UNROLL_MAX_STEPS",
    "XLA_MAX_UNITS",
    "fast_training_options",
    "keras_training_options",
    "training_options",
]

# The constants below were measured on a 2-core Intel Xeon without a GPU
# (benchmarks/README.md); they apply only where fast training is asked for.
# Training batches per call into the compiled graph: one Python round trip per batch costs
# about a millisecond, as much as the step itself for a small RNN.
AUTO_STEPS_PER_EXECUTION = 32
# On a CPU, LSTM and SimpleRNN layers are unrolled up to this many steps; longer sequences
# (and every GRU) train faster with XLA than unrolled.
UNROLL_MAX_STEPS = 12
# On a CPU, XLA up to this many units per layer; larger matrix products run faster in
# TensorFlow's own kernels than in XLA's CPU code (2 x 128 units: 1.7 times slower with XLA).
XLA_MAX_UNITS = 64


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
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{expected}; got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"{expected}; got {value!r}.")


def keras_training_options(
    jit_compile: bool | str = "auto",
    unroll: bool | str = "auto",
    steps_per_execution: int | str = "auto",
) -> dict[str, Any]:
    """Resolve ``"auto"`` to Keras' own defaults; explicit values are kept.

    Keras' defaults are ``jit_compile="auto"`` (Keras decides: XLA when every layer supports
    it, never for cuDNN layers or on a CPU-only machine), no unrolling, and one batch per
    call into the compiled graph.

    Returns
    -------
    dict
        ``jit_compile``, ``unroll`` and ``steps_per_execution``, ready to pass to
        :func:`forecasting.nn.networks.build_network`.
    """
    _check_auto("jit_compile", jit_compile, "bool")
    _check_auto("unroll", unroll, "bool")
    _check_auto("steps_per_execution", steps_per_execution, "int >= 1")
    return {
        "jit_compile": jit_compile if isinstance(jit_compile, str) else bool(jit_compile),
        "unroll": False if isinstance(unroll, str) else bool(unroll),
        "steps_per_execution": 1
        if isinstance(steps_per_execution, str)
        else int(steps_per_execution),
    }


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
    """Choose the training setup measured fastest for this network on a small CPU.

    A small RNN's training step is bound by per-operation overhead, not arithmetic. On a GPU
    the cuDNN kernels stay in use: no unrolling, and Keras' own choice for XLA (off for cuDNN
    layers). On a CPU, unrolling suits sequences of at most `UNROLL_MAX_STEPS` steps (the
    seq2seq decoder's `horizon` included) and XLA, which Keras leaves off on CPUs, suits
    layers of at most `XLA_MAX_UNITS` units; never both, as XLA compiles an unrolled graph
    slowly. Short sequences are unrolled, except a GRU's when XLA suits it (a GRU trains
    faster with XLA); XLA compiles everything else that suits it. Every setting runs
    `AUTO_STEPS_PER_EXECUTION` batches per call into the compiled graph. The rules were
    measured on one 2-core CPU (benchmarks/README.md): measure on the machine at hand before
    relying on them. They change the numerics (XLA and unrolled graphs round differently).
    With TensorFlow's op determinism enabled, pass ``jit_compile=False``: XLA has no
    deterministic kernels for every operation.

    Parameters
    ----------
    cell, input_width, horizon, units, head
        The network, as given to `build_network`.
    jit_compile : bool or "auto"
        An explicit bool is kept. ``"auto"`` is resolved as above; on a GPU it stays
        ``"auto"`` for Keras to resolve.
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
    from forecasting.nn.devices import gpu_visible

    cell = check_choice("cell", cell, CELLS)
    head = check_choice("head", head, HEADS)
    input_width = check_int("input_width", input_width, 1)
    horizon = check_int("horizon", horizon, 1)
    widest = max(check_units(units))
    _check_auto("jit_compile", jit_compile, "bool")
    _check_auto("unroll", unroll, "bool")
    _check_auto("steps_per_execution", steps_per_execution, "int >= 1")
    # After the checks, the only string any of them can hold is "auto".
    if isinstance(unroll, str) or isinstance(jit_compile, str):
        if gpu_visible():
            unroll = False if isinstance(unroll, str) else unroll
        else:
            xla_fits = widest <= XLA_MAX_UNITS
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


def training_options(
    fast: bool,
    cell: str,
    input_width: int,
    horizon: int,
    units: Sequence[int],
    head: str,
    jit_compile: bool | str,
    unroll: bool | str,
    steps_per_execution: int | str,
) -> dict[str, Any]:
    """:func:`fast_training_options` when ``fast``, else :func:`keras_training_options`."""
    if fast:
        return fast_training_options(
            cell, input_width, horizon, units, head, jit_compile, unroll, steps_per_execution
        )
    return keras_training_options(jit_compile, unroll, steps_per_execution)
