"""The only module that imports MLflow: runs, the pyfunc model, the registry and its aliases."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import mlflow.artifacts
import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from forecasting.inference import Predictor, Predicts, load_for_prediction

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from forecasting.forecaster import Forecaster

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "Decision",
    "ForecastModel",
    "ModelRef",
    "artifact_uri",
    "champion_version",
    "configure",
    "decide_promotion",
    "delete_version",
    "download_model",
    "epoch_logger",
    "load_forecaster",
    "load_version",
    "log_figure",
    "log_figure_to",
    "log_forecaster",
    "log_metrics",
    "log_metrics_to",
    "log_params",
    "log_text",
    "monitor_run",
    "next_step",
    "parse_model_uri",
    "promote",
    "resolve",
    "set_version_tags",
    "start_run",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
_FORECASTER_ARTIFACT = "forecaster"
_REQUIREMENTS = ("tensorflow", "keras", "scikit-learn", "pandas", "numpy", "joblib", "mlflow")


def configure(uri: str) -> None:
    """Point MLflow tracking and registry at ``uri``, creating a local SQLite folder if needed.

    Parameters
    ----------
    uri : str
        A tracking URI: ``sqlite:///mlruns/mlflow.db`` (relative to the working folder),
        ``http://host:5000`` for a tracking server, or any URI MLflow accepts.
    """

    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def _experiment_id(name: str, artifact_location: str) -> str:

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = artifact_location
    if "://" not in location:
        location = (Path(location).resolve() / name).as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


@contextmanager
def start_run(
    experiment: str, artifact_location: str, run_name: str | None = None
) -> Iterator[str]:
    """Open one MLflow run in the experiment ``experiment`` (created on first use).

    Parameters
    ----------
    experiment : str
        Experiment name (the config ``name``).
    artifact_location : str
        Folder or URI under which the experiment keeps its artifacts.
    run_name : str, optional
        A readable run name.

    Yields
    ------
    str
        The run id. A run that raises ends with status ``FAILED``.
    """

    experiment_id = _experiment_id(experiment, artifact_location)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        yield str(run.info.run_id)
    mlflow.flush_async_logging()


def log_params(params: Mapping[str, Any]) -> None:
    """Log parameters once (lists and ``None`` as text)."""

    mlflow.log_params({k: str(v) if isinstance(v, list | tuple) else v for k, v in params.items()})


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log metrics, optionally at a ``step`` (an epoch, a horizon step, a run count)."""

    mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)


def log_figure(figure: Figure, path: str) -> None:
    """Log a matplotlib figure as an artifact at ``path`` (for example ``figures/forecast.png``)."""

    mlflow.log_figure(figure, path)


def log_text(text: str, path: str) -> None:
    """Log a text artifact (a report) at ``path``."""

    mlflow.log_text(text, path)


def artifact_uri(path: str) -> str:
    """Where an artifact of the active run lives: a local path for a local store, else a URI."""
    uri = str(mlflow.get_artifact_uri(path))
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(uri).path)
    return uri


def epoch_logger() -> Any:
    """A Keras callback logging every epoch's ``loss`` and ``val_loss`` with ``step=epoch``."""
    import mlflow.keras  # imports keras: only when a network is trained

    return mlflow.keras.MlflowCallback(log_every_epoch=True)


class ForecastModel(PythonModel):
    """MLflow pyfunc model: raw recent history in, timestamped forecast out.

    ``predict`` takes a long frame (``series_id``, ``timestamp``, ``value`` and the covariates
    the model was trained with) and returns ``series_id``, ``timestamp``, ``step``, ``value``.
    The optional param ``horizon`` forecasts further than trained (recursively).
    """

    def load_context(self, context: Any) -> None:
        """Load the bundled forecaster, without TensorFlow when its network allows."""
        self.forecaster = load_for_prediction(context.artifacts[_FORECASTER_ARTIFACT])

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
        return self.forecaster.predict(frame, horizon=int(horizon) if horizon else None)


def _requirements() -> list[str]:
    reqs = []
    for package in _REQUIREMENTS:
        try:
            reqs.append(f"{package}=={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            reqs.append(package)
    return reqs


def log_forecaster(
    forecaster: Forecaster, registered_name: str, input_example: pd.DataFrame
) -> str:
    """Log the forecaster as a pyfunc model in the active run and register a new version.

    Parameters
    ----------
    forecaster : Forecaster
        A fitted forecaster; saved with its transformers.
    registered_name : str
        The registered model (one per config ``name``).
    input_example : DataFrame
        Raw history the model can forecast from (recorded with the signature).

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
            ]
        ),
        params=ParamSchema([ParamSpec("horizon", "long", forecaster.horizon)]),
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = forecaster.save(Path(tmp) / _FORECASTER_ARTIFACT)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={_FORECASTER_ARTIFACT: str(folder)},
            signature=signature,
            input_example=input_example,
            pip_requirements=_requirements(),
            registered_model_name=registered_name,
        )
    return str(info.registered_model_version)


@dataclass(frozen=True)
class Decision:
    """Whether a challenger becomes champion, and why, in words a run report can print."""

    promote: bool
    reason: str


def decide_promotion(
    challenger_rmse: float, seasonal_naive_rmse: float, champion_rmse: float | None
) -> Decision:
    """The registry rule: beat seasonal naive, and the champion when there is one.

    Parameters
    ----------
    challenger_rmse : float
        The new version's RMSE on the evaluation data.
    seasonal_naive_rmse : float
        Seasonal naive's RMSE on the same data.
    champion_rmse : float, optional
        The current champion's RMSE on the same data; ``None`` when there is no champion.

    Returns
    -------
    Decision
        ``promote`` and a plain-words ``reason``.
    """
    vs_naive = f"RMSE {challenger_rmse:.4g} vs seasonal naive {seasonal_naive_rmse:.4g}"
    if not challenger_rmse < seasonal_naive_rmse:
        return Decision(False, f"not promoted: it does not beat seasonal naive ({vs_naive})")
    if champion_rmse is None:
        return Decision(True, f"promoted: first model to beat seasonal naive ({vs_naive})")
    vs_champion = f"RMSE {challenger_rmse:.4g} vs champion {champion_rmse:.4g}"
    if challenger_rmse < champion_rmse:
        return Decision(True, f"promoted: beats the champion ({vs_champion}) and seasonal naive")
    return Decision(False, f"not promoted: the champion is as good or better ({vs_champion})")


def _client() -> MlflowClient:
    return MlflowClient()


def _registry() -> Any:
    """A client of the model registry alone, for reads: resolving aliases and model locations.

    ``MlflowClient`` opens the tracking store too, which for a database means importing and
    checking its whole schema: about a tenth of a cold forecast's time, for nothing the
    forecast reads. MLflow's own registry client does not; ``MlflowClient`` (the same methods)
    stands in if a release moves it.
    """
    try:
        from mlflow.tracking._model_registry.client import ModelRegistryClient
    except ImportError:  # pragma: no cover - depends on the installed MLflow
        return MlflowClient()
    return ModelRegistryClient(mlflow.get_registry_uri(), mlflow.get_tracking_uri())


def champion_version(registered_name: str) -> str | None:
    """The version holding the ``champion`` alias, or ``None``."""
    try:
        return str(_client().get_model_version_by_alias(registered_name, CHAMPION).version)
    except MlflowException:
        return None


def set_version_tags(registered_name: str, version: str, tags: Mapping[str, Any]) -> None:
    """Tag a registered version (the promotion decision and the figures behind it)."""
    client = _client()
    for key, value in tags.items():
        client.set_model_version_tag(registered_name, version, key, str(value))


def promote(registered_name: str, version: str, champion: bool) -> None:
    """Give ``version`` the ``challenger`` alias, and ``champion`` too when it won."""
    client = _client()
    client.set_registered_model_alias(registered_name, CHALLENGER, version)
    if champion:
        client.set_registered_model_alias(registered_name, CHAMPION, version)


def delete_version(registered_name: str, version: str) -> None:
    """Remove a version registered by a run that failed afterwards."""
    _client().delete_model_version(registered_name, version)


@dataclass(frozen=True)
class ModelRef:
    """A registered version: what a forecast records as its provenance."""

    name: str
    version: str
    run_id: str | None
    tags: dict[str, str]


def resolve(registered_name: str, alias_or_version: str = CHAMPION) -> ModelRef | None:
    """The version an alias (or a version number) points at, or ``None`` if there is none.

    Parameters
    ----------
    registered_name : str
        The registered model.
    alias_or_version : str
        ``champion``, ``challenger`` or a version number.

    Returns
    -------
    ModelRef or None
        Name, version, the run that logged it, and its tags.
    """
    client = _registry()
    try:
        if alias_or_version.isdigit():
            mv = client.get_model_version(registered_name, alias_or_version)
        else:
            mv = client.get_model_version_by_alias(registered_name, alias_or_version)
    except MlflowException:
        return None
    return ModelRef(registered_name, str(mv.version), mv.run_id, dict(mv.tags or {}))


def parse_model_uri(model_uri: str) -> tuple[str, str]:
    """Split ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` into name and reference."""
    body = model_uri.removeprefix("models:/")
    if body == model_uri or not body:
        raise ValueError(
            f"`--model` {model_uri!r} is not a registry URI; use models:/<name>@champion "
            "or models:/<name>/<version>"
        )
    if "@" in body:
        name, _, ref = body.partition("@")
    else:
        name, _, ref = body.rpartition("/")
    if not name or not ref:
        raise ValueError(
            f"`--model` {model_uri!r} names no alias or version; use models:/<name>@champion "
            "or models:/<name>/<version>"
        )
    return name, ref


def monitor_run(experiment: str, artifact_location: str) -> str:
    """The run that collects live accuracy for ``experiment`` (created on first use)."""
    client = _client()
    experiment_id = _experiment_id(experiment, artifact_location)
    found = client.search_runs(
        [experiment_id], filter_string="tags.kind = 'live-accuracy'", max_results=1
    )
    if found:
        return str(found[0].info.run_id)
    run = client.create_run(experiment_id, run_name="live-accuracy", tags={"kind": "live-accuracy"})
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def next_step(run_id: str, key: str) -> int:
    """How many values ``key`` already has in the run: the step of the next one."""
    return len(_client().get_metric_history(run_id, key))


def log_metrics_to(run_id: str, metrics: Mapping[str, float], step: int) -> None:
    """Log metrics to a given run (not the active one)."""
    client = _client()
    for key, value in metrics.items():
        client.log_metric(run_id, key, float(value), step=step)


def log_figure_to(run_id: str, figure: Figure, path: str) -> None:
    """Log a figure to a given run (not the active one)."""
    _client().log_figure(run_id, figure, path)


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
            artifact_uri=f"{root}/artifacts/{_FORECASTER_ARTIFACT}", dst_path=dst
        )
    )


def _registered_location(model_uri: str) -> str | None:
    """Where a registered version's model lives, asking the registry alone; else ``None``.

    ``None`` for URIs that do not name a registered version (``runs:/...``, ``models:/m-...``);
    MLflow resolves those itself.
    """
    body = model_uri.removeprefix("models:/").rstrip("/")
    if body == model_uri.rstrip("/") or not ("@" in body or body.rpartition("/")[2].isdigit()):
        return None
    name, ref = parse_model_uri(model_uri.rstrip("/"))
    found = resolve(name, ref)
    if found is None:
        return None  # let MLflow raise its own error for the URI
    return str(_registry().get_model_version_download_uri(found.name, found.version))


def load_forecaster(model_uri: str, cache_dir: str | None = None) -> Forecaster:
    """Load the full forecaster (transformers and Keras model) of a registered model."""
    from forecasting.forecaster import Forecaster

    return Forecaster.load(download_model(model_uri, cache_dir))


@functools.lru_cache(maxsize=8)
def _cached_version(tracking_uri: str, registered_name: str, version: str) -> Predicts:
    folder = tempfile.mkdtemp(prefix="forecaster-")
    model = load_for_prediction(download_model(f"models:/{registered_name}/{version}", folder))
    if isinstance(model, Predictor):  # read into memory: its files are not needed any more
        shutil.rmtree(folder, ignore_errors=True)
    return model


def load_version(registered_name: str, version: str) -> Predicts:
    """Load a registered version for forecasting, once per process (a served flow reuses it).

    Networks with a NumPy forward pass load without TensorFlow or scikit-learn.
    """
    return _cached_version(mlflow.get_tracking_uri(), registered_name, str(version))
