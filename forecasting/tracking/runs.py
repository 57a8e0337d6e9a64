"""MLflow runs: the tracking URI, experiments, one run per training, its params and artifacts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.exceptions import MlflowException

from forecasting.tracking.uris import is_uri

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "artifact_uri",
    "configure",
    "epoch_logger",
    "experiment_id",
    "log_figure",
    "log_metrics",
    "log_params",
    "log_text",
    "start_run",
]


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


def experiment_id(name: str, artifact_location: str) -> str:
    """The id of the experiment ``name``, created with ``artifact_location`` on first use."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = artifact_location
    if not is_uri(location):
        location = (Path(location).resolve() / name).as_uri()
    try:
        return str(mlflow.create_experiment(name, artifact_location=location))
    except MlflowException as error:  # another training created it meanwhile
        found = mlflow.get_experiment_by_name(name)
        if found is None or error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return str(found.experiment_id)


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
    with mlflow.start_run(
        experiment_id=experiment_id(experiment, artifact_location), run_name=run_name
    ) as run:
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
