"""Registered models onto this machine: downloads, and a per-process cache of loaded versions."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from typing import TYPE_CHECKING

import mlflow
import mlflow.artifacts
from mlflow import MlflowClient

from forecasting.inference import Predictor, Predicts
from forecasting.nn.persistence import load_for_prediction
from forecasting.tracking.pyfunc import FORECASTER_ARTIFACT
from forecasting.tracking.registry import resolve
from forecasting.tracking.uris import names_registered_version, parse_model_uri

if TYPE_CHECKING:
    from forecasting.forecaster import Forecaster

__all__ = ["download_model", "load_forecaster", "load_version"]


def download_model(model_uri: str, cache_dir: str | None = None) -> str:
    """Download the saved forecaster inside a registered pyfunc model; returns its folder.

    Parameters
    ----------
    model_uri : str
        ``models:/<name>@champion``, ``models:/<name>/<version>`` or ``runs:/<id>/model``.
    cache_dir : str, optional
        Where to download the artifacts; a temporary folder by default.
    """
    dst = cache_dir or tempfile.mkdtemp(prefix="forecaster-")
    os.makedirs(dst, exist_ok=True)
    root = _registered_location(model_uri) or model_uri.rstrip("/")
    return str(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root}/artifacts/{FORECASTER_ARTIFACT}", dst_path=dst
        )
    )


def _registered_location(model_uri: str) -> str | None:
    """Where a registered version's model lives, asking the registry alone; else ``None``.

    ``None`` for URIs that do not name a registered version (``runs:/...``, ``models:/m-...``);
    MLflow resolves those itself.
    """
    if not names_registered_version(model_uri):
        return None
    name, ref = parse_model_uri(model_uri.rstrip("/"))
    found = resolve(name, ref)
    if found is None:
        return None  # let MLflow raise its own error for the URI
    return str(MlflowClient().get_model_version_download_uri(found.name, found.version))


def load_forecaster(model_uri: str, cache_dir: str | None = None) -> Forecaster:
    """Load the full forecaster (transformers and Keras model) of a registered model."""
    from forecasting.forecaster import Forecaster

    return Forecaster.load(download_model(model_uri, cache_dir))


def _download_version(registered_name: str, version: str) -> Predicts:
    folder = tempfile.mkdtemp(prefix="forecaster-")
    model = load_for_prediction(download_model(f"models:/{registered_name}/{version}", folder))
    if isinstance(model, Predictor):  # read into memory: its files are not needed any more
        shutil.rmtree(folder, ignore_errors=True)
    return model


@functools.lru_cache(maxsize=8)
def _cached_version(tracking_uri: str, registered_name: str, version: str) -> Predicts:
    """One download per tracking store, model and version in this process."""
    return _download_version(registered_name, version)


def load_version(registered_name: str, version: str, cached: bool = True) -> Predicts:
    """Load a registered version for forecasting, once per process (a served flow reuses it).

    Networks with a NumPy forward pass load without TensorFlow or scikit-learn.

    Parameters
    ----------
    registered_name : str
        The registered model.
    version : str
        The version number.
    cached : bool
        ``False`` loads it anew: a version number is reused after the highest version is
        deleted, so the promotion rule, which must score the champion as it is now, does not
        trust the cache.
    """
    if cached:
        return _cached_version(mlflow.get_tracking_uri(), registered_name, str(version))
    return _download_version(registered_name, str(version))
