"""A fitted forecaster's folder: what is written, and the cheapest way to read it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np

from forecasting import numpy_rnn
from forecasting.inference import Predictor, Predicts

__all__ = [
    "META_FILE",
    "MODEL_FILE",
    "PREDICTOR_FILE",
    "STATE_FILE",
    "load_for_prediction",
    "load_network",
    "load_predictor",
    "load_state",
    "member_file",
    "save_folder",
    "save_predictor",
]

STATE_FILE = "forecaster.joblib"
MODEL_FILE = "model.keras"
META_FILE = "meta.json"
PREDICTOR_FILE = "predictor.npz"


def save_folder(forecaster: Any, path: str | Path) -> Path:
    """Write a fitted forecaster into ``path``: its network, its state and its predictor.

    The folder holds ``model.keras`` (the Keras network), ``forecaster.joblib`` (the
    estimator without its network), ``predictor.npz`` (the NumPy forward path, read without
    pickle) and ``meta.json`` (horizon, input width and frequency, for people).

    Parameters
    ----------
    forecaster : Forecaster
        A fitted forecaster.
    path : str or Path
        The folder; created if needed.

    Returns
    -------
    Path
        The folder.
    """
    import joblib

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for member in range(len(forecaster.models_)):
        forecaster.keras_model(member).save(folder / member_file(member))
    joblib.dump(forecaster, folder / STATE_FILE)
    save_predictor(forecaster.predictor_, folder)
    meta = {
        "horizon": forecaster.horizon,
        "input_width": forecaster.input_width_,
        "freq": forecaster.freq_,
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2))
    return folder


def load_state(path: str | Path) -> Any:
    """The estimator saved by :func:`save_folder`, its network left on disk until needed.

    Parameters
    ----------
    path : str or Path
        The folder written by :func:`save_folder`.

    Returns
    -------
    Forecaster
        With ``_path`` set to the folder, so that its Keras network loads on first use.
    """
    import joblib

    folder = Path(path)
    state_file = folder / STATE_FILE
    if not state_file.is_file():
        raise FileNotFoundError(
            f"{folder}: no saved forecaster here (expected {STATE_FILE} and {MODEL_FILE}); "
            "pass the folder given to Forecaster.save"
        )
    estimator = joblib.load(state_file)
    estimator._path = str(folder)
    return estimator


def member_file(member: int) -> str:
    """The file of an ensemble member's Keras network: ``model.keras``, then ``model-1.keras``..."""
    return MODEL_FILE if member == 0 else f"model-{member}.keras"


def _member_tag(member: int) -> str:
    """What marks a member's arrays in ``predictor.npz``: none for the first, as before
    ensembles (so older files read the same), ``@k`` for member ``k``."""
    return "" if member == 0 else f"@{member}"


def load_network(folder: str | Path, member: int = 0) -> Any:
    """A Keras network saved in ``folder`` (imports TensorFlow), uncompiled.

    Parameters
    ----------
    folder : str or Path
        The folder written by :func:`save_folder`.
    member : int
        Which member of an ensemble (0: the first, the only one without an ensemble).

    Returns
    -------
    keras.Model
    """
    import keras

    return keras.saving.load_model(Path(folder) / member_file(member), compile=False)


def load_for_prediction(folder: str | Path) -> Predicts:
    """Load a saved forecaster the cheapest way that can forecast.

    A :class:`~forecasting.inference.Predictor` (:func:`load_predictor`) when the network
    has a NumPy forward pass (nothing heavy imported), else the full ``Forecaster`` with
    its Keras model.

    Parameters
    ----------
    folder : str or Path
        A folder written by ``Forecaster.save``.

    Returns
    -------
    Predicts
        An object with ``predict(history, horizon=None)``.
    """
    if (Path(folder) / PREDICTOR_FILE).is_file():
        predictor = load_predictor(folder)
        if predictor.weights is not None:
            return predictor
    return cast(Predicts, load_state(folder))


def save_predictor(predictor: Predictor, folder: str | Path) -> Path:
    """Write ``predictor.npz`` (arrays and a JSON header, no pickle) into ``folder``."""
    path = Path(folder) / PREDICTOR_FILE
    ids = predictor.series_ids
    meta = {
        "input_width": predictor.input_width,
        "horizon": predictor.horizon,
        "freq": predictor.freq,
        "normalize": predictor.normalize,
        "covariates": predictor.covariates,
        "season_length": predictor.season_length,
        "residual": predictor.residual,
        "seasons": predictor.seasons,
        "scaler": predictor.scaler,
        "series_ids": ids,
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.array(json.dumps(meta)),
        "scale": np.stack([predictor.scale[s] for s in ids]),
        "offset": np.stack([predictor.offset[s] for s in ids]),
    }
    if predictor.linear is not None:
        arrays["linear_coef"], arrays["linear_intercept"] = predictor.linear
    if predictor.conformal is not None:
        arrays["conformal"] = predictor.conformal
    for member, weights in enumerate(predictor.weights or ()):
        structure, flat = numpy_rnn.flatten_weights(weights)
        tag = _member_tag(member)
        arrays[f"weights{tag}"] = np.array(json.dumps(structure))
        arrays.update({f"w{tag}:{k}": v for k, v in flat.items()})
    np.savez(path, **cast(dict[str, Any], arrays))
    return path


def load_predictor(folder: str | Path) -> Predictor:
    """Read the predictor :func:`save_predictor` wrote into ``folder`` (no pickle involved)."""
    with np.load(Path(folder) / PREDICTOR_FILE, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        ids = meta.pop("series_ids")
        weights: list[dict[str, Any]] | None = None
        linear = None
        if "linear_coef" in data.files:
            linear = (data["linear_coef"], data["linear_intercept"])
        if "weights" in data.files:
            weights = []
            for member in range(sum(k.startswith("weights") for k in data.files)):
                tag = _member_tag(member)
                prefix = f"w{tag}:"
                arrays = {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}
                structure = json.loads(str(data[f"weights{tag}"]))
                weights.append(numpy_rnn.unflatten_weights(structure, arrays))
        return Predictor(
            scale=dict(zip(ids, data["scale"], strict=True)),
            offset=dict(zip(ids, data["offset"], strict=True)),
            weights=weights,
            linear=linear,
            conformal=data["conformal"] if "conformal" in data.files else None,
            **meta,
        )
