"""Tests for the NumPy forward pass: Keras parity, golden values, pickling, unsupported layers."""

from __future__ import annotations

import functools
import math
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from forecasting.nn.networks import build_network
from forecasting.numpy_rnn import extract_weights, forward
from forecasting.parameters import CELLS, HEADS

keras = pytest.importorskip("keras")

# Keras 3.15 saving calls np.array on TF variables, which NumPy 2 flags; not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(autouse=True, scope="module")
def _full_float32_matmuls() -> Any:
    """Turn off TensorFloat-32 on recent NVIDIA GPUs: its 10-bit mantissa misses `atol=1e-5`."""
    import tensorflow as tf

    enabled = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    yield
    tf.config.experimental.enable_tensor_float_32_execution(enabled)


# Random weights and inputs from a few fixed seeds: the parity must hold for any of them.
SEEDS = [pytest.param(seed, id=f"seed{seed}") for seed in (0, 1, 2)]
INPUT_WIDTH, N_FEATURES, HORIZON = 5, 2, 3


def _randomise(model: Any, rng: np.random.Generator) -> Any:
    model.set_weights(
        [rng.normal(scale=0.7, size=w.shape).astype(np.float32) for w in model.get_weights()]
    )
    return model


def _inputs(rng: np.random.Generator, batch: int = 6, width: int = INPUT_WIDTH) -> np.ndarray:
    return rng.normal(size=(batch, width, N_FEATURES)).astype(np.float32)


@functools.cache
def _model(cell: str, head: str, bidirectional: bool, dropout: float = 0.0, seed: int = 0) -> Any:
    model = build_network(
        INPUT_WIDTH,
        N_FEATURES,
        HORIZON,
        cell=cell,
        units=(3, 2),
        dropout=dropout,
        bidirectional=bidirectional,
        head=head,
    )
    return _randomise(model, np.random.default_rng(seed))


COMBINATIONS = [
    pytest.param(cell, head, bidi, id=f"{cell}-{head}-{'bi' if bidi else 'uni'}")
    for cell in CELLS
    for head in HEADS
    for bidi in (False, True)
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("cell", "head", "bidirectional"), COMBINATIONS)
def test_forward_matches_keras(cell: str, head: str, bidirectional: bool, seed: int) -> None:
    model = _model(cell, head, bidirectional, seed=seed)
    x = _inputs(np.random.default_rng(seed + 100))
    expected = model.predict(x, verbose=0)
    got = forward(extract_weights(model), x)
    assert got.shape == (6, HORIZON) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.filterwarnings("ignore:`unroll=True` disables the cuDNN kernel:UserWarning")
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cell", CELLS)
def test_unrolled_layers_match_keras(cell: str, seed: int) -> None:
    """``unroll=True`` changes how Keras runs the time loop, not the maths."""
    model = build_network(
        INPUT_WIDTH,
        N_FEATURES,
        HORIZON,
        cell=cell,
        units=(3, 2),
        bidirectional=True,
        head="seq2seq",
        jit_compile=False,
        unroll=True,
    )
    model = _randomise(model, np.random.default_rng(seed))
    x = _inputs(np.random.default_rng(seed + 100))
    got = forward(extract_weights(model), x)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_dropout_is_inactive_at_inference() -> None:
    model = _model("lstm", "seq2seq", True, dropout=0.5)
    x = _inputs(np.random.default_rng(2))
    got = forward(extract_weights(model), x)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_golden_values_for_a_constant_lstm() -> None:
    model = build_network(3, 1, 2, cell="lstm", units=(2,), head="dense")
    # LSTM kernel (1, 4 gates x 2 units), recurrent kernel, bias; Dense kernel and bias.
    model.set_weights(
        [
            np.full((1, 8), 0.5, dtype=np.float32),
            np.full((2, 8), 0.1, dtype=np.float32),
            np.zeros(8, dtype=np.float32),
            np.ones((2, 2), dtype=np.float32),
            np.array([0.0, 0.5], dtype=np.float32),
        ]
    )
    x = np.array([[[1.0], [2.0], [3.0]]], dtype=np.float32)

    # With constant weights both units share one state; the LSTM equations by hand.
    def sigmoid(v: float) -> float:
        return 1.0 / (1.0 + math.exp(-v))

    h = c = 0.0
    for x_t in (1.0, 2.0, 3.0):
        z = 0.5 * x_t + 0.1 * 2 * h  # every gate sees the same pre-activation
        c = sigmoid(z) * c + sigmoid(z) * math.tanh(z)
        h = sigmoid(z) * math.tanh(c)
    by_hand = [2 * h, 2 * h + 0.5]
    golden = [1.4790013677116451, 1.9790013677116451]

    np.testing.assert_allclose(by_hand, golden, rtol=1e-12)
    np.testing.assert_allclose(model.predict(x, verbose=0)[0], golden, rtol=1e-6)
    np.testing.assert_allclose(forward(extract_weights(model), x)[0], golden, rtol=1e-6)


def test_extracted_metadata_describes_the_architecture() -> None:
    weights = extract_weights(_model("gru", "seq2seq", True))
    summary = {k: weights[k] for k in ("cell", "units", "bidirectional", "head", "horizon")}
    assert summary == {
        "cell": "gru",
        "units": [3, 2],
        "bidirectional": True,
        "head": "seq2seq",
        "horizon": HORIZON,
    }
    assert (weights["input_width"], weights["n_features"]) == (INPUT_WIDTH, N_FEATURES)
    assert [step["type"] for step in weights["steps"]] == [
        "bidirectional",
        "bidirectional",
        "repeat",
        "recurrent",
        "dense",
        "reshape",
    ]


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, np.ndarray | str | bool | int | float)


def test_weights_are_plain_and_picklable_and_run_without_tensorflow(tmp_path: Path) -> None:
    weights = extract_weights(_model("lstm", "dense", True))
    assert _plain(weights)
    x = _inputs(np.random.default_rng(3))
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps(weights))
    np.save(tmp_path / "x.npy", x)
    code = (
        "import pickle, sys, numpy as np\n"
        "from forecasting.numpy_rnn import forward\n"
        f"w = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, forward(w, np.load({str(tmp_path / 'x.npy')!r})))\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), forward(weights, x))


def test_weights_of_a_reloaded_keras_file_give_the_same_forecast(tmp_path: Path) -> None:
    model = _model("gru", "dense", False)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    x = _inputs(np.random.default_rng(4))
    np.testing.assert_array_equal(
        forward(extract_weights(loaded), x), forward(extract_weights(model), x)
    )


def _generic_models() -> dict[str, Any]:
    layers = keras.layers
    return {
        "backwards-relu-ave-bias-free": [
            layers.LSTM(3, go_backwards=True, return_sequences=True),
            layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="ave"),
            layers.SimpleRNN(2, activation="relu", use_bias=False),
            layers.Dense(4, activation="relu"),
            layers.Dense(2),
        ],
        "sum-mul-activation": [
            layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True), merge_mode="sum"),
            layers.Bidirectional(layers.LSTM(2), merge_mode="mul"),
            layers.Dense(2, use_bias=False),
            layers.Activation("sigmoid"),
        ],
    }


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(_generic_models()))
def test_other_supported_layers_match_keras(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input((4, N_FEATURES)), *_generic_models()[name]])
    _randomise(model, rng)
    x = _inputs(rng, width=4)
    got = forward(extract_weights(model), x)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def _two_input_model() -> Any:
    a, b = keras.Input((4, 1)), keras.Input((4, 1))
    merged = keras.layers.Concatenate()([a, b])
    return keras.Model([a, b], keras.layers.Dense(1)(keras.layers.LSTM(2)(merged)), name="pair")


UNSUPPORTED = {
    "gru-reset-before": (
        lambda: [keras.layers.GRU(2, reset_after=False, name="old_gru")],
        "numpy_rnn does not support GRU with reset_after=False (layer `old_gru`, GRU); "
        "use the Keras model for this network.",
    ),
    "softsign": (
        lambda: [keras.layers.LSTM(2, activation="softsign", name="soft")],
        "numpy_rnn does not support activation='softsign' (layer `soft`, LSTM); "
        "use the Keras model for this network.",
    ),
    "conv": (
        lambda: [keras.layers.Conv1D(2, 2, name="conv"), keras.layers.Flatten()],
        "numpy_rnn does not support the layer type Conv1D (layer `conv`, Conv1D); "
        "use the Keras model for this network.",
    ),
}


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_unsupported_layers_raise_not_implemented(name: str) -> None:
    make_layers, message = UNSUPPORTED[name]
    model = keras.Sequential([keras.Input((4, 1)), *make_layers()])
    with pytest.raises(NotImplementedError, match=re.escape(message)):
        extract_weights(model)


def test_models_with_several_inputs_raise_not_implemented() -> None:
    message = (
        "numpy_rnn supports models with one input and one output; model `pair` has 2 and 1. "
        "Use the Keras model for this network."
    )
    with pytest.raises(NotImplementedError, match=re.escape(message)):
        extract_weights(_two_input_model())


def test_forward_explains_bad_inputs() -> None:
    weights = extract_weights(_model("rnn", "dense", False))
    message = f"`x` must have shape (batch, {INPUT_WIDTH}, {N_FEATURES}); got shape (5, 2)."
    with pytest.raises(ValueError, match=re.escape(message)):
        forward(weights, np.zeros((INPUT_WIDTH, N_FEATURES)))
    message = (
        "`weights` must be the dict returned by `extract_weights` (format 1); got list. "
        "Re-extract them from the Keras model."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        forward([], np.zeros((1, INPUT_WIDTH, N_FEATURES)))  # type: ignore[arg-type]
