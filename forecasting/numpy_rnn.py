"""NumPy forward pass of the networks from `forecasting.nn.networks`: test oracle and fast path."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["FORMAT_VERSION", "extract_weights", "flatten_weights", "forward", "unflatten_weights"]

FORMAT_VERSION = 1

_CELLS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}
_GATES = {"lstm": 4, "gru": 3, "rnn": 1}
_MERGE_MODES = ("concat", "sum", "ave", "mul")
_IGNORED = ("InputLayer", "Dropout")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}


def _unsupported(layer: Any, what: str) -> NotImplementedError:
    return NotImplementedError(
        f"numpy_rnn does not support {what} (layer `{layer.name}`, "
        f"{type(layer).__name__}); use the Keras model for this network."
    )


def _activation(layer: Any, config: dict[str, Any], key: str) -> str:
    name = config.get(key)
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise _unsupported(layer, f"{key}={name!r}")
    return name


def _recurrent_step(layer: Any) -> dict[str, Any]:
    cell = _CELLS[type(layer).__name__]
    config = layer.get_config()
    for flag in ("stateful", "return_state"):
        if config.get(flag):
            raise _unsupported(layer, f"{flag}=True")
    if cell == "gru" and not config.get("reset_after", True):
        raise _unsupported(layer, "GRU with reset_after=False")
    units = int(config["units"])
    weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
    if config.get("use_bias", True):
        if len(weights) != 3:
            raise _unsupported(layer, f"{len(weights)} weight arrays (expected 3)")
        kernel, recurrent_kernel, bias = weights
    else:
        if len(weights) != 2:
            raise _unsupported(layer, f"{len(weights)} weight arrays (expected 2)")
        kernel, recurrent_kernel = weights
        shape = (2, 3 * units) if cell == "gru" else (_GATES[cell] * units,)
        bias = np.zeros(shape, dtype=np.float32)
    if cell == "gru" and bias.shape != (2, 3 * units):
        raise _unsupported(layer, f"a GRU bias of shape {bias.shape}")
    return {
        "type": "recurrent",
        "cell": cell,
        "units": units,
        "activation": _activation(layer, config, "activation"),
        "recurrent_activation": (
            _activation(layer, config, "recurrent_activation") if cell != "rnn" else None
        ),
        "return_sequences": bool(config["return_sequences"]),
        "go_backwards": bool(config["go_backwards"]),
        "kernel": kernel,
        "recurrent_kernel": recurrent_kernel,
        "bias": bias,
    }


def _dense_step(layer: Any) -> dict[str, Any]:
    config = layer.get_config()
    if config.get("lora_rank") or config.get("quantization_config"):
        raise _unsupported(layer, "a LoRA or quantized Dense layer")
    weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
    if len(weights) != (2 if config.get("use_bias", True) else 1):
        raise _unsupported(layer, f"a Dense layer with {len(weights)} weight arrays")
    kernel = weights[0]
    bias = weights[1] if len(weights) == 2 else np.zeros(kernel.shape[1], dtype=np.float32)
    activation = _activation(layer, config, "activation")
    return {"type": "dense", "activation": activation, "kernel": kernel, "bias": bias}


def _layer_step(layer: Any) -> dict[str, Any] | None:
    kind = type(layer).__name__
    if kind in _IGNORED:  # dropout is inactive at inference
        return None
    if kind in _CELLS:
        return _recurrent_step(layer)
    if kind == "Bidirectional":
        merge_mode = layer.get_config().get("merge_mode")
        if merge_mode not in _MERGE_MODES:
            raise _unsupported(layer, f"merge_mode={merge_mode!r}")
        directions = (layer.forward_layer, layer.backward_layer)
        if any(type(d).__name__ not in _CELLS for d in directions):
            raise _unsupported(layer, "a Bidirectional wrapper around a non-recurrent layer")
        forward_step, backward_step = (_recurrent_step(d) for d in directions)
        return {
            "type": "bidirectional",
            "merge_mode": merge_mode,
            "forward": forward_step,
            "backward": backward_step,
        }
    if kind == "Dense":
        return _dense_step(layer)
    if kind == "TimeDistributed":
        if type(layer.layer).__name__ != "Dense":
            raise _unsupported(layer, f"TimeDistributed({type(layer.layer).__name__})")
        return _dense_step(layer.layer)
    if kind == "RepeatVector":
        return {"type": "repeat", "n": int(layer.get_config()["n"])}
    if kind == "Reshape":
        target = tuple(int(d) for d in layer.get_config()["target_shape"])
        return {"type": "reshape", "target_shape": target}
    if kind == "Activation":
        return {
            "type": "activation",
            "activation": _activation(layer, layer.get_config(), "activation"),
        }
    raise _unsupported(layer, f"the layer type {kind}")


def extract_weights(model: Any) -> dict[str, Any]:
    """Copy a Keras model built by `forecasting.nn.networks.build_network` into plain NumPy data.

    Supported: a single chain of InputLayer, LSTM, GRU (``reset_after=True``), SimpleRNN
    (tanh/sigmoid/relu/linear activations, ``go_backwards`` allowed, no state returned, not
    stateful), Bidirectional (merge modes concat, sum, ave, mul), Dropout (skipped), Dense and
    TimeDistributed(Dense), RepeatVector, Reshape and Activation layers. Layers are read through
    their public ``get_config`` / ``get_weights`` and recognised by class name, so this module
    never imports Keras and `forward` runs without TensorFlow.

    Parameters
    ----------
    model : keras.Model
        A built model with one input and one output.

    Returns
    -------
    dict
        Picklable: ``format``, ``cell``, ``units``, ``bidirectional``, ``head``, ``horizon``,
        ``input_width``, ``n_features`` and ``steps`` (one dict of arrays per layer).

    Raises
    ------
    NotImplementedError
        If the model holds a layer or option this module cannot run; fall back to Keras.
    """
    inputs, outputs = list(model.inputs), list(model.outputs)
    if len(inputs) != 1 or len(outputs) != 1:
        raise NotImplementedError(
            f"numpy_rnn supports models with one input and one output; model `{model.name}` "
            f"has {len(inputs)} and {len(outputs)}. Use the Keras model for this network."
        )
    steps: list[dict[str, Any]] = []
    tensor = inputs[0]
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            chained = layer.input is tensor
        except (AttributeError, ValueError):  # a layer called more than once
            chained = False
        if not chained:
            raise _unsupported(layer, "a model that is not a single chain of layers")
        tensor = layer.output
        step = _layer_step(layer)
        if step is not None:
            steps.append(step)
    if tensor is not outputs[0]:
        raise NotImplementedError(
            f"numpy_rnn supports single-chain models only; the output of model `{model.name}` is "
            "not its last layer. Use the Keras model for this network."
        )
    encoder: list[dict[str, Any]] = []
    for step in steps:
        if step["type"] == "repeat":
            break
        if step["type"] in ("recurrent", "bidirectional"):
            encoder.append(step)
    forward_cells = [s.get("forward", s) for s in encoder]
    input_shape = tuple(inputs[0].shape)
    return {
        "format": FORMAT_VERSION,
        "cell": forward_cells[0]["cell"] if forward_cells else None,
        "units": [s["units"] for s in forward_cells],
        "bidirectional": any(s["type"] == "bidirectional" for s in encoder),
        "head": "seq2seq" if any(s["type"] == "repeat" for s in steps) else "dense",
        "horizon": int(outputs[0].shape[-1]),
        "input_width": None if input_shape[1] is None else int(input_shape[1]),
        "n_features": int(input_shape[-1]),
        "steps": steps,
    }


def _run_recurrent(step: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """One recurrent layer over ``x`` (batch, time, features), vectorised over the batch."""
    cell, units = step["cell"], step["units"]
    activation = _ACTIVATIONS[step["activation"]]
    gate = _ACTIVATIONS[step["recurrent_activation"] or "linear"]
    kernel = step["kernel"].astype(np.float64)
    recurrent_kernel = step["recurrent_kernel"].astype(np.float64)
    bias = step["bias"].astype(np.float64)
    # Keras' default activations: sigmoid(v) = 0.5 + 0.5 * tanh(v / 2), so with the gates'
    # columns of the weights halved (exact in floating point) one tanh per step serves them all.
    fused = cell != "rnn" and step["activation"] == "tanh"
    fused = fused and step["recurrent_activation"] == "sigmoid"
    if fused:
        half = np.ones(kernel.shape[1])
        half[: 2 * units] = 0.5  # LSTM gates i, f; GRU gates z, r
        if cell == "lstm":
            half[3 * units :] = 0.5  # gate o
        kernel, recurrent_kernel, bias = kernel * half, recurrent_kernel * half, bias * half
    input_bias = bias[0] if cell == "gru" else bias
    sequence = x[:, ::-1] if step["go_backwards"] else x
    # Input projections of every step at once, time first; only the recurrence is in the loop.
    projected = sequence.transpose(1, 0, 2) @ kernel + input_bias
    time, batch = projected.shape[0], projected.shape[1]
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    outputs = np.empty((time, batch, units)) if step["return_sequences"] else None
    for t in range(time):
        z = projected[t]
        if cell == "lstm" and fused:
            z = np.tanh(z + h @ recurrent_kernel)
            s = z * 0.5 + 0.5  # sigmoid of gates i, f, o; z[:, 2u:3u] is the candidate
            c = s[:, units : 2 * units] * c + s[:, :units] * z[:, 2 * units : 3 * units]
            h = s[:, 3 * units :] * np.tanh(c)
        elif cell == "lstm":  # gates i, f, c, o
            z = z + h @ recurrent_kernel
            i, f, g, o = (z[:, k * units : (k + 1) * units] for k in range(4))
            c = gate(f) * c + gate(i) * activation(g)
            h = gate(o) * activation(c)
        elif cell == "gru":  # gates z, r, h; reset applied after the matmul
            inner = h @ recurrent_kernel + bias[1]
            if fused:
                s = np.tanh(z[:, : 2 * units] + inner[:, : 2 * units]) * 0.5 + 0.5
                update, reset = s[:, :units], s[:, units:]
            else:
                update = gate(z[:, :units] + inner[:, :units])
                reset = gate(z[:, units : 2 * units] + inner[:, units : 2 * units])
            candidate = activation(z[:, 2 * units :] + reset * inner[:, 2 * units :])
            h = update * h + (1.0 - update) * candidate
        else:
            h = activation(z + h @ recurrent_kernel)
        if outputs is not None:
            outputs[t] = h
    return outputs.transpose(1, 0, 2) if outputs is not None else h


def _run_step(step: dict[str, Any], x: np.ndarray) -> np.ndarray:
    kind = step["type"]
    if kind == "recurrent":
        return _run_recurrent(step, x)
    if kind == "bidirectional":
        y = _run_recurrent(step["forward"], x)
        y_rev = _run_recurrent(step["backward"], x)
        if step["backward"]["return_sequences"]:
            y_rev = y_rev[:, ::-1]
        mode = step["merge_mode"]
        if mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if mode == "sum":
            return y + y_rev
        return (y + y_rev) / 2.0 if mode == "ave" else y * y_rev
    if kind == "dense":
        kernel, bias = step["kernel"].astype(np.float64), step["bias"].astype(np.float64)
        return _ACTIVATIONS[step["activation"]](x @ kernel + bias)
    if kind == "repeat":
        return np.repeat(x[:, None, :], step["n"], axis=1)
    if kind == "reshape":
        return x.reshape((x.shape[0], *step["target_shape"]))
    if kind == "activation":
        return _ACTIVATIONS[step["activation"]](x)
    raise NotImplementedError(f"numpy_rnn cannot run a step of type {kind!r}.")


def forward(weights: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Run the network described by `weights` on input windows, as ``model.predict`` would.

    Computes in float64 and returns float32, like the Keras model. Dropout is inactive.

    Parameters
    ----------
    weights : dict
        The output of `extract_weights`.
    x : numpy.ndarray
        Input windows of shape ``(batch, input_width, n_features)``.

    Returns
    -------
    numpy.ndarray
        Forecasts of shape ``(batch, horizon)``, float32.
    """
    if not isinstance(weights, dict) or weights.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"`weights` must be the dict returned by `extract_weights` (format {FORMAT_VERSION}); "
            f"got {type(weights).__name__}. Re-extract them from the Keras model."
        )
    array = np.asarray(x, dtype=np.float64)
    width, n_features = weights["input_width"], weights["n_features"]
    if array.ndim != 3 or array.shape[2] != n_features or width not in (None, array.shape[1]):
        expected = f"(batch, {'input_width' if width is None else width}, {n_features})"
        raise ValueError(f"`x` must have shape {expected}; got shape {array.shape}.")
    with _one_blas_thread() if len(array) >= 64 else contextlib.nullcontext():
        for step in weights["steps"]:
            array = _run_step(step, array)
    return array.astype(np.float32)


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS on one thread while the network runs.

    The recurrence multiplies small matrices, one per time step: handing each of them to BLAS
    threads costs more than it saves, up to ten times more on a busy machine.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, BLAS decides
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def flatten_weights(weights: dict[str, Any]) -> tuple[Any, dict[str, np.ndarray]]:
    """Split weights into a JSON-ready structure and its arrays, for an ``.npz`` file.

    Returns
    -------
    structure : dict
        The weights with every array replaced by a reference ``{"@": key}``.
    arrays : dict of str to ndarray
        The arrays by key.
    """
    arrays: dict[str, np.ndarray] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, np.ndarray):
            key = str(len(arrays))
            arrays[key] = node
            return {"@": key}
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        return node

    return walk(weights), arrays


def unflatten_weights(structure: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The weights :func:`flatten_weights` split, put back together."""
    if isinstance(structure, dict):
        if set(structure) == {"@"}:
            return arrays[structure["@"]]
        return {k: unflatten_weights(v, arrays) for k, v in structure.items()}
    if isinstance(structure, list):
        return [unflatten_weights(v, arrays) for v in structure]
    return structure
