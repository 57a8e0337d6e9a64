"""The registered pyfunc model: raw history in, a timestamped forecast with intervals out."""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from forecasting.intervals import DEFAULT_LEVELS, interval_columns
from forecasting.nn.persistence import load_for_prediction

if TYPE_CHECKING:
    from forecasting.forecaster import Forecaster

__all__ = ["FORECASTER_ARTIFACT", "ForecastModel", "log_forecaster", "model_requirements"]

FORECASTER_ARTIFACT = "forecaster"
# The package shipped with the model (``code_paths``).
_PACKAGE = Path(__file__).resolve().parent.parent
# What the pyfunc imports when it loads: its own code ships with it (``code_paths``).
_REQUIREMENTS = ("numpy", "pandas", "mlflow")
# What a network without a NumPy forward pass needs besides, to load through Keras.
_KERAS_REQUIREMENTS = ("tensorflow", "keras", "scikit-learn", "joblib")


class ForecastModel(PythonModel):
    """MLflow pyfunc model: raw recent history in, timestamped forecast out.

    ``predict`` takes a long frame (``series_id``, ``timestamp``, ``value`` and the covariates
    the model was trained with) and returns ``series_id``, ``timestamp``, ``step``, ``value``
    and the conformal prediction intervals ``lo_80, hi_80, lo_95, hi_95``. The optional param
    ``horizon`` forecasts further than trained (recursively; those steps have NaN intervals).
    """

    def load_context(self, context: Any) -> None:
        """Load the bundled forecaster, without TensorFlow when its network allows."""
        self.forecaster = load_for_prediction(context.artifacts[FORECASTER_ARTIFACT])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Forecast from ``model_input`` (raw history)."""
        frame = pd.DataFrame(model_input).copy()
        if "timestamp" in frame.columns:
            frame["timestamp"] = pd.to_datetime(frame["timestamp"])
        if "series_id" not in frame.columns:
            frame.insert(0, "series_id", self.forecaster.series_ids[0])
        horizon = (params or {}).get("horizon")
        return self.forecaster.predict(
            frame, horizon=int(horizon) if horizon else None, levels=DEFAULT_LEVELS
        )


def _pinned(packages: tuple[str, ...]) -> list[str]:
    reqs = []
    for package in packages:
        try:
            reqs.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            reqs.append(package)
    return reqs


def model_requirements(forecaster: Forecaster) -> list[str]:
    """The pinned pip requirements of a forecaster's pyfunc model.

    NumPy, pandas and MLflow always; TensorFlow, Keras, scikit-learn and joblib only when
    the network has no NumPy forward pass and must load through Keras. The package's own
    code is not a requirement: it ships inside the model (``code_paths``).
    """
    numpy_only = getattr(forecaster.predictor_, "weights", None) is not None
    return _pinned(_REQUIREMENTS if numpy_only else (*_REQUIREMENTS, *_KERAS_REQUIREMENTS))


def _package_copy(folder: Path) -> str:
    """A copy of the ``forecasting`` package without bytecode, to ship with the model."""
    target = folder / _PACKAGE.name
    shutil.copytree(_PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return str(target)


def log_forecaster(
    forecaster: Forecaster,
    registered_name: str,
    input_example: pd.DataFrame,
    tags: Mapping[str, Any] | None = None,
) -> str:
    """Log the forecaster as a self-contained pyfunc model and register a new version.

    The model ships the ``forecasting`` package itself (MLflow ``code_paths``) and pins only
    what that code imports to forecast, so it loads in an environment made from its own
    ``requirements.txt``.

    Parameters
    ----------
    forecaster : Forecaster
        A fitted forecaster; saved with its transformers.
    registered_name : str
        The registered model (one per config ``name``).
    input_example : DataFrame
        Raw history the model can forecast from (recorded with the signature).
    tags : dict, optional
        Version tags, set in the same registry call that creates the version (for example
        ``judged=false`` until the promotion rule has judged it).

    Returns
    -------
    str
        The new registered version.
    """

    signature = ModelSignature(
        inputs=Schema(
            [
                ColSpec("string", "series_id"),
                ColSpec("datetime", "timestamp"),
                ColSpec("double", "value"),
                *(ColSpec("double", c) for c in forecaster.covariates_),
            ]
        ),
        outputs=Schema(
            [
                ColSpec("string", "series_id"),
                ColSpec("datetime", "timestamp"),
                ColSpec("long", "step"),
                ColSpec("double", "value"),
                *(ColSpec("double", c) for c in interval_columns(DEFAULT_LEVELS)),
            ]
        ),
        params=ParamSchema([ParamSpec("horizon", "long", forecaster.horizon)]),
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = forecaster.save(Path(tmp) / FORECASTER_ARTIFACT)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={FORECASTER_ARTIFACT: str(folder)},
            code_paths=[_package_copy(Path(tmp) / "code")],
            signature=signature,
            input_example=input_example,
            pip_requirements=model_requirements(forecaster),
        )
    registered = mlflow.register_model(
        info.model_uri, registered_name, tags={k: str(v) for k, v in (tags or {}).items()}
    )
    return str(registered.version)
