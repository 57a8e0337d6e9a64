"""What a training run needs besides the model: the forecaster a config asks for, data facts."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from collections.abc import Sequence
from typing import Any

import pandas as pd

from forecasting.backtest import BacktestResult, backtest
from forecasting.data import infer_freq
from forecasting.forecaster import Forecaster
from forecasting.frequency import season_length_for
from forecasting_app.config import Config

__all__ = [
    "backtest_from_config",
    "data_hash",
    "data_summary",
    "forecaster_from_config",
    "library_versions",
]

_LIBRARIES = ("forecasting", "tensorflow", "keras", "mlflow", "prefect", "pandas", "scikit-learn")


def forecaster_from_config(config: Config) -> Forecaster:
    """Build the (unfitted) forecaster described by ``config.model`` and ``config.train``.

    Every field of those sections is the ``Forecaster`` parameter of the same name (the
    architecture tests hold them to it); ``freq`` and ``season_length`` come from
    ``config.data`` and ``config.evaluation``, and what the config does not set keeps the
    estimator's default.

    Parameters
    ----------
    config : Config
        The run's configuration.

    Returns
    -------
    Forecaster
        Ready to ``fit``.
    """
    params = Forecaster().get_params()
    settings = {**config.model.model_dump(), **config.train.model_dump()}
    params.update({name: settings[name] for name in params if name in settings})
    params["units"] = tuple(params["units"])
    params["freq"] = config.data.freq
    params["season_length"] = config.evaluation.season_length
    return Forecaster(**params)


def backtest_from_config(
    config: Config, frame: pd.DataFrame, callbacks: Sequence[Any] = ()
) -> BacktestResult:
    """Backtest the configured forecaster with the config's evaluation settings.

    Parameters
    ----------
    config : Config
        ``model``, ``train`` and ``evaluation`` sections are used.
    frame : DataFrame
        The validated long frame.
    callbacks : sequence of keras.callbacks.Callback
        Passed to the last fold's fit (the model that is kept).

    Returns
    -------
    BacktestResult
        Scores, forecasts and the last fold's model.
    """
    ev = config.evaluation
    return backtest(
        forecaster_from_config(config),
        frame,
        folds=ev.folds,
        step=ev.step,
        window=ev.window,
        season_length=ev.season_length,
        callbacks=callbacks,
        validation_windows=ev.validation_windows,
    )


def data_hash(frame: pd.DataFrame) -> str:
    """A short, stable fingerprint of a long frame's contents (logged with every run)."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def data_summary(frame: pd.DataFrame, source: str) -> dict[str, Any]:
    """Facts about the data a run trained on, for the report and the run's params."""
    freq = frame.attrs.get("freq") or infer_freq(frame)
    lengths = frame.groupby("series_id").size()
    return {
        "source": source,
        "series": int(lengths.size),
        "points": len(frame),
        "shortest series": int(lengths.min()),
        "start": str(frame["timestamp"].min()),
        "end": str(frame["timestamp"].max()),
        "frequency": freq,
        "season length": season_length_for(freq),
        "covariates": ", ".join(c for c in frame.columns[3:]) or "none",
        "data hash": data_hash(frame),
    }


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
