"""A fitted forecaster's folder: what is written, and the cheapest way to read it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from forecasting.inference import PREDICTOR_FILE, Predictor, Predicts

__all__ = [
    "META_FILE",
    "MODEL_FILE",
    "PREDICTOR_FILE",
    "STATE_FILE",
    "load_for_prediction",
    "load_network",
    "load_state",
    "save_folder",
]

STATE_FILE = "forecaster.joblib"
MODEL_FILE = "model.keras"
META_FILE = "meta.json"


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
    forecaster.keras_model().save(folder / MODEL_FILE)
    joblib.dump(forecaster, folder / STATE_FILE)
    forecaster.predictor_.save(folder)
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


def load_network(folder: str | Path) -> Any:
    """The Keras network saved in ``folder`` (imports TensorFlow), uncompiled."""
    import keras

    return keras.saving.load_model(Path(folder) / MODEL_FILE, compile=False)


def load_for_prediction(folder: str | Path) -> Predicts:
    """Load a saved forecaster the cheapest way that can forecast.

    A :class:`~forecasting.inference.Predictor` when the network has a NumPy forward pass
    (nothing heavy imported), else the full ``Forecaster`` with its Keras model.

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
        predictor = Predictor.load(folder)
        if predictor.weights is not None:
            return predictor
    return cast(Predicts, load_state(folder))
