"""Tests for the Keras network builder: shapes, structure, cuDNN defaults, errors, save/load."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from forecasting.nn.devices import set_precision
from forecasting.nn.networks import build_network
from forecasting.parameters import CELLS, HEADS

keras = pytest.importorskip("keras")

# Keras 3.15 saving calls np.array on TF variables, which NumPy 2 flags; not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

INPUT_WIDTH, N_FEATURES, HORIZON = 5, 2, 3
RECURRENT = (keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN)


@functools.cache
def _model(cell: str, head: str, bidirectional: bool) -> Any:
    return build_network(
        INPUT_WIDTH,
        N_FEATURES,
        HORIZON,
        cell=cell,
        units=(3, 2),
        bidirectional=bidirectional,
        head=head,
        seed=0,
    )


def _recurrent_layers(model: Any) -> list[Any]:
    """Every recurrent layer, with Bidirectional wrappers unpacked into both directions."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, RECURRENT):
            found.append(layer)
    return found


COMBINATIONS = [
    pytest.param(cell, head, bidi, id=f"{cell}-{head}-{'bi' if bidi else 'uni'}")
    for cell in CELLS
    for head in HEADS
    for bidi in (False, True)
]


def test_importing_networks_does_not_import_tensorflow() -> None:
    code = (
        "import sys, forecasting.nn.networks, forecasting.numpy_rnn\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("cell", "head", "bidirectional"), COMBINATIONS)
def test_output_shape_and_dtype(cell: str, head: str, bidirectional: bool) -> None:
    model = _model(cell, head, bidirectional)
    x = np.zeros((4, INPUT_WIDTH, N_FEATURES), dtype=np.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (4, HORIZON)
    assert y.dtype == np.float32
    assert model.output_shape == (None, HORIZON)


@pytest.mark.parametrize(("cell", "head", "bidirectional"), COMBINATIONS)
def test_stacked_encoder_structure(cell: str, head: str, bidirectional: bool) -> None:
    model = _model(cell, head, bidirectional)
    expected_class = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}.get(
        cell, keras.layers.SimpleRNN
    )
    encoder = [model.get_layer("encoder_0"), model.get_layer("encoder_1")]
    assert all(isinstance(layer, keras.layers.Bidirectional) == bidirectional for layer in encoder)
    directions = [getattr(layer, "forward_layer", layer) for layer in encoder]
    assert [layer.units for layer in directions] == [3, 2]
    assert [layer.return_sequences for layer in directions] == [True, False]
    assert all(isinstance(layer, expected_class) for layer in _recurrent_layers(model))
    if head == "seq2seq":
        assert model.get_layer("repeat").n == HORIZON
        decoder = model.get_layer("decoder")
        assert isinstance(decoder, expected_class)
        assert decoder.units == 2 and decoder.return_sequences
        assert isinstance(model.get_layer("head"), keras.layers.TimeDistributed)
    else:
        assert model.get_layer("forecast").units == HORIZON


@pytest.mark.parametrize(("cell", "head", "bidirectional"), COMBINATIONS)
def test_defaults_keep_the_cudnn_path(cell: str, head: str, bidirectional: bool) -> None:
    layers = _recurrent_layers(_model(cell, head, bidirectional))
    assert layers
    for layer in layers:
        assert layer.recurrent_dropout == 0.0
        assert layer.unroll is False
        assert layer.activation is keras.activations.tanh
        if cell != "rnn":
            assert layer.use_cudnn == "auto"
            assert layer.recurrent_activation is keras.activations.sigmoid
        if cell == "gru":
            assert layer.reset_after is True


def _gpu() -> bool:
    from forecasting.nn.devices import gpu_visible

    return gpu_visible()


@pytest.mark.skipif(_gpu(), reason="a GPU is visible: unrolling would warn about cuDNN")
def test_unrolled_network_runs_several_steps_per_execution() -> None:
    model = build_network(
        4,
        1,
        2,
        units=(3, 2),
        bidirectional=True,
        head="seq2seq",
        seed=0,
        jit_compile=False,
        unroll=True,
        steps_per_execution=4,
    )
    layers = _recurrent_layers(model)
    assert len(layers) == 5 and all(layer.unroll for layer in layers)
    assert model.jit_compile is False and model.steps_per_execution == 4
    rng = np.random.default_rng(0)
    x = rng.normal(size=(36, 4, 1)).astype(np.float32)
    y = rng.normal(size=(36, 2)).astype(np.float32)
    # 9 batches per epoch: calls of 4, 4 and 1 batches.
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


@pytest.mark.skipif(not _gpu(), reason="needs a GPU visible to TensorFlow")
def test_unroll_on_a_gpu_warns() -> None:
    message = "`unroll=True` disables the cuDNN kernel on GPU"
    with pytest.warns(UserWarning, match=re.escape(message)):
        build_network(4, 1, 2, units=(2,), unroll=True)


def test_compiled_with_adam_mse_and_clipnorm() -> None:
    model = build_network(4, 1, 2, units=(2,), learning_rate=0.01, clipnorm=1.0)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert model.optimizer.clipnorm == 1.0
    assert model.loss == "mse"
    # Keras 3 turns XLA off on CPU-only machines with TensorFlow, and for cuDNN layers.
    assert model.jit_compile in (True, False)


def test_dropout_layers_and_recurrent_dropout_warning() -> None:
    model = build_network(4, 1, 2, units=(3, 2), dropout=0.2, seed=0)
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.2, 0.2]
    message = "`recurrent_dropout`=0.1 disables the cuDNN kernel on GPU"
    with pytest.warns(UserWarning, match=re.escape(message)):
        model = build_network(4, 1, 2, cell="gru", units=(2,), recurrent_dropout=0.1)
    assert [layer.recurrent_dropout for layer in _recurrent_layers(model)] == [0.1]


def test_seed_makes_initial_weights_reproducible() -> None:
    def build(seed: int) -> Any:
        return build_network(4, 1, 2, units=(2, 2), bidirectional=True, seed=seed)

    first, again, other = build(7), build(7), build(8)
    for a, b in zip(first.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    # Keras would clone the forward layer's seeded initialisers into the backward layer.
    for name in ("encoder_0", "encoder_1"):
        layer = first.get_layer(name)
        forward, backward = layer.forward_layer, layer.backward_layer
        assert not np.array_equal(forward.get_weights()[0], backward.get_weights()[0])


def test_one_training_step_gives_a_finite_loss() -> None:
    model = build_network(4, 1, 2, cell="gru", units=(2,), head="seq2seq", seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, 1)).astype(np.float32)
    y = rng.normal(size=(8, 2)).astype(np.float32)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("head", HEADS)
def test_keras_format_round_trip(tmp_path: Any, head: str) -> None:
    model = _model("lstm", head, True)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(0).normal(size=(3, INPUT_WIDTH, N_FEATURES)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


BASE = {"input_width": 4, "n_features": 1, "horizon": 2}
CELL_CHOICES = "'lstm', 'gru', 'rnn'"
BAD_ARGUMENTS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"input_width": 0}, ValueError, "`input_width` must be an integer >= 1; got 0."),
    ({"input_width": 2.5}, TypeError, "`input_width` must be an integer; got float 2.5."),
    ({"n_features": True}, TypeError, "`n_features` must be an integer; got bool True."),
    ({"horizon": -1}, ValueError, "`horizon` must be an integer >= 1; got -1."),
    ({"cell": "LSTM"}, ValueError, f"`cell` must be one of {CELL_CHOICES}; got 'LSTM'."),
    (
        {"cell": None},
        TypeError,
        f"`cell` must be a string, one of {CELL_CHOICES}; got NoneType None.",
    ),
    (
        {"units": 32},
        TypeError,
        "`units` must be a sequence of positive integers such as (32, 32); got int 32.",
    ),
    (
        {"units": "32"},
        TypeError,
        "`units` must be a sequence of positive integers such as (32, 32); got str '32'.",
    ),
    (
        {"units": ()},
        ValueError,
        "`units` must not be empty; pass one size per layer such as (32,).",
    ),
    (
        {"units": [32, 0]},
        ValueError,
        "`units` must contain positive integers; got 0 at position 1 in (32, 0).",
    ),
    (
        {"units": (32, 1.5)},
        TypeError,
        "`units` must contain integers; got 1.5 at position 1 in (32, 1.5).",
    ),
    ({"dropout": 1.0}, ValueError, "`dropout` must be a float in [0, 1); got 1.0."),
    ({"dropout": "0.1"}, TypeError, "`dropout` must be a number; got str '0.1'."),
    (
        {"recurrent_dropout": -0.5},
        ValueError,
        "`recurrent_dropout` must be a float in [0, 1); got -0.5.",
    ),
    ({"bidirectional": "yes"}, TypeError, "`bidirectional` must be a bool; got str 'yes'."),
    (
        {"head": "attention"},
        ValueError,
        "`head` must be one of 'dense', 'seq2seq'; got 'attention'.",
    ),
    (
        {"learning_rate": 0},
        ValueError,
        "`learning_rate` must be a positive finite number; got 0.",
    ),
    (
        {"learning_rate": float("inf")},
        ValueError,
        "`learning_rate` must be a positive finite number; got inf.",
    ),
    (
        {"clipnorm": -1.0},
        ValueError,
        "`clipnorm` must be None or a positive finite number; got -1.0.",
    ),
    ({"seed": -1}, ValueError, "`seed` must be None or an integer >= 0; got -1."),
    ({"seed": 1.5}, TypeError, "`seed` must be None or an integer; got float 1.5."),
    ({"jit_compile": "yes"}, ValueError, "`jit_compile` must be True, False or 'auto'; got 'yes'."),
    ({"jit_compile": 1}, TypeError, "`jit_compile` must be True, False or 'auto'; got int 1."),
    (
        {"unroll": "auto"},
        TypeError,
        "`unroll` must be a bool; got 'auto'. `fast_training_options` resolves 'auto': pass "
        "its result to `build_network`.",
    ),
    ({"unroll": 1}, TypeError, "`unroll` must be a bool; got int 1."),
    (
        {"steps_per_execution": "auto"},
        TypeError,
        "`steps_per_execution` must be an integer; got 'auto'. `fast_training_options` "
        "resolves 'auto': pass its result to `build_network`.",
    ),
    (
        {"steps_per_execution": 0},
        ValueError,
        "`steps_per_execution` must be an integer >= 1; got 0.",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    BAD_ARGUMENTS,
    ids=[f"{next(iter(k))}={next(iter(k.values()))!r}" for k, _, _ in BAD_ARGUMENTS],
)
def test_bad_arguments_are_explained(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        build_network(**{**BASE, **kwargs})


@pytest.fixture
def restore_precision() -> Any:
    yield
    set_precision("float32")


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("head", HEADS)
def test_mixed_precision_output_stays_float32(
    restore_precision: Any, policy: str, head: str
) -> None:
    set_precision(policy)
    model = build_network(4, 1, 2, units=(2,), head=head, bidirectional=True)
    assert keras.mixed_precision.global_policy().name == policy
    assert model.output.dtype == "float32"
    assert model(np.zeros((1, 4, 1), dtype=np.float32)).dtype == "float32"
    scaled = isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")


def test_set_precision_restores_float32(restore_precision: Any) -> None:
    set_precision("mixed_bfloat16")
    set_precision()
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize(
    ("policy", "error", "message"),
    [
        (
            "float16",
            ValueError,
            "`policy` must be one of 'float32', 'mixed_float16', 'mixed_bfloat16'; got 'float16'.",
        ),
        (
            16,
            TypeError,
            "`policy` must be a string, one of 'float32', 'mixed_float16', 'mixed_bfloat16'; "
            "got int 16.",
        ),
    ],
)
def test_set_precision_rejects_unknown_policies(policy: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        set_precision(policy)
