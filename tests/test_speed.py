"""Tests for the training speed options: Keras' defaults, and the opt-in rules for a small CPU."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from forecasting.nn.devices import gpu_visible
from forecasting.speed import (
    AUTO_STEPS_PER_EXECUTION,
    UNROLL_MAX_STEPS,
    XLA_MAX_UNITS,
    fast_training_options,
    keras_training_options,
)

pytest.importorskip("tensorflow")
GPU = gpu_visible()

NETWORKS = [
    {"cell": cell, "input_width": width, "horizon": horizon, "units": units, "head": head}
    for cell, width, horizon, units, head in itertools.product(
        ("lstm", "gru", "rnn"),
        (4, UNROLL_MAX_STEPS, UNROLL_MAX_STEPS + 1, 48),
        (1, UNROLL_MAX_STEPS + 1),
        ((8,), (XLA_MAX_UNITS,), (8, XLA_MAX_UNITS + 1)),
        ("dense", "seq2seq"),
    )
]


def _id(network: dict[str, Any]) -> str:
    return "-".join(str(v) for v in network.values())


def test_auto_means_keras_own_defaults() -> None:
    assert keras_training_options() == {
        "jit_compile": "auto",
        "unroll": False,
        "steps_per_execution": 1,
    }
    explicit = {"jit_compile": True, "unroll": True, "steps_per_execution": 8}
    assert keras_training_options(**explicit) == explicit


@pytest.mark.skipif(GPU, reason="the CPU rules apply without a GPU")
@pytest.mark.parametrize("network", NETWORKS, ids=_id)
def test_the_cpu_rules_never_combine_xla_with_unrolling(network: dict[str, Any]) -> None:
    options = fast_training_options(**network)
    longest = network["input_width"]
    if network["head"] == "seq2seq":
        longest = max(longest, network["horizon"])
    assert not (options["jit_compile"] and options["unroll"])  # XLA compiles unrolled slowly
    assert not options["unroll"] or longest <= UNROLL_MAX_STEPS
    assert not options["jit_compile"] or max(network["units"]) <= XLA_MAX_UNITS
    assert options["steps_per_execution"] == AUTO_STEPS_PER_EXECUTION


@pytest.mark.skipif(not GPU, reason="needs a GPU visible to TensorFlow")
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_on_a_gpu_the_cudnn_kernels_stay(cell: str) -> None:
    assert fast_training_options(cell, 8, 1) == {
        "jit_compile": "auto",  # Keras' choice: off for cuDNN layers
        "unroll": False,
        "steps_per_execution": AUTO_STEPS_PER_EXECUTION,
    }


@pytest.mark.skipif(GPU, reason="the CPU rules apply without a GPU")
@pytest.mark.parametrize(
    ("given", "other"),
    [
        pytest.param({"jit_compile": True}, "unroll", id="xla-given"),
        pytest.param({"jit_compile": False}, "unroll", id="no-xla-given"),
        pytest.param({"unroll": True}, "jit_compile", id="unrolled-given"),
        pytest.param({"unroll": False}, "jit_compile", id="loop-given"),
    ],
)
def test_a_partial_choice_is_kept_and_completed(given: dict[str, bool], other: str) -> None:
    for cell in ("lstm", "gru"):
        options = fast_training_options(cell, 10, 1, **given)
        assert {k: options[k] for k in given} == given
        assert isinstance(options[other], bool)
        assert not (options["jit_compile"] and options["unroll"])


def test_explicit_values_are_kept() -> None:
    options = fast_training_options(
        "gru", 50, 1, jit_compile=False, unroll=True, steps_per_execution=4
    )
    assert options == {"jit_compile": False, "unroll": True, "steps_per_execution": 4}


BAD_SPEED_OPTIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"unroll": "yes"}, ValueError, "`unroll` must be True, False or 'auto'; got 'yes'."),
    ({"unroll": 1}, TypeError, "`unroll` must be True, False or 'auto'; got int 1."),
    (
        {"jit_compile": None},
        TypeError,
        "`jit_compile` must be True, False or 'auto'; got NoneType None.",
    ),
    (
        {"steps_per_execution": 0},
        ValueError,
        "`steps_per_execution` must be a positive integer or 'auto'; got 0.",
    ),
    (
        {"steps_per_execution": 2.0},
        TypeError,
        "`steps_per_execution` must be a positive integer or 'auto'; got float 2.0.",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    BAD_SPEED_OPTIONS,
    ids=[f"{next(iter(k))}={next(iter(k.values()))!r}" for k, _, _ in BAD_SPEED_OPTIONS],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "keras"])
def test_bad_values_are_explained(
    kwargs: dict[str, Any], error: type, message: str, fast: bool
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        if fast:
            fast_training_options("lstm", 8, 1, **kwargs)
        else:
            keras_training_options(**kwargs)
