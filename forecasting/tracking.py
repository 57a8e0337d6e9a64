"""The only module that imports MLflow: runs, the pyfunc model, the registry and its aliases."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
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

from forecasting.inference import Predictor, Predicts
from forecasting.intervals import DEFAULT_LEVELS, interval_columns
from forecasting.persistence import load_for_prediction

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from forecasting.forecaster import Forecaster

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "ForecastModel",
    "ModelRef",
    "artifact_uri",
    "champion_version",
    "configure",
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
    "model_requirements",
    "monitor_run",
    "next_step",
    "parse_model_uri",
    "promote",
    "promote_if_champion_is",
    "registry_lock",
    "resolve",
    "set_version_tags",
    "start_run",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
_ALIASES = (CHAMPION, CHALLENGER)
_LOCK_SUFFIX = ".promotion-lock"
_FORECASTER_ARTIFACT = "forecaster"
_PACKAGE = Path(__file__).parent
# What the pyfunc imports when it loads: its own code ships with it (``code_paths``).
_REQUIREMENTS = ("numpy", "pandas", "mlflow")
# What a network without a NumPy forward pass needs besides, to load through Keras.
_KERAS_REQUIREMENTS = ("tensorflow", "keras", "scikit-learn", "joblib")


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


def _is_uri(location: str) -> bool:
    """Whether ``location`` names a scheme (``s3://``, ``mlflow-artifacts:/``), not a path.

    A single letter before the colon is a Windows drive, not a scheme.
    """
    scheme, colon, _ = location.partition(":")
    return bool(colon) and len(scheme) > 1 and scheme.replace("-", "").replace("+", "").isalnum()


def _experiment_id(name: str, artifact_location: str) -> str:

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = artifact_location
    if not _is_uri(location):
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
    the model was trained with) and returns ``series_id``, ``timestamp``, ``step``, ``value``
    and the conformal prediction intervals ``lo_80, hi_80, lo_95, hi_95``. The optional param
    ``horizon`` forecasts further than trained (recursively; those steps have NaN intervals).
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
        folder = forecaster.save(Path(tmp) / _FORECASTER_ARTIFACT)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(_PACKAGE / "pyfunc_entry.py"),
            artifacts={_FORECASTER_ARTIFACT: str(folder)},
            code_paths=[_package_copy(Path(tmp) / "code")],
            signature=signature,
            input_example=input_example,
            pip_requirements=model_requirements(forecaster),
        )
    registered = mlflow.register_model(
        info.model_uri, registered_name, tags={k: str(v) for k, v in (tags or {}).items()}
    )
    return str(registered.version)


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
    return _alias_version(_client(), registered_name, CHAMPION)


def _alias_version(client: MlflowClient, registered_name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(registered_name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def set_version_tags(registered_name: str, version: str, tags: Mapping[str, Any]) -> None:
    """Tag a registered version (the promotion decision and the figures behind it)."""
    client = _client()
    for key, value in tags.items():
        client.set_model_version_tag(registered_name, version, key, str(value))


@contextmanager
def _aliases_restored_on_failure(client: MlflowClient, registered_name: str) -> Iterator[None]:
    """Put ``champion`` and ``challenger`` back where they were if the body raises."""
    before = {alias: _alias_version(client, registered_name, alias) for alias in _ALIASES}
    try:
        yield
    except BaseException:
        for alias, version in before.items():
            if version is None:
                with suppress(MlflowException):
                    client.delete_registered_model_alias(registered_name, alias)
            else:
                client.set_registered_model_alias(registered_name, alias, version)
        raise


def promote(registered_name: str, version: str, champion: bool) -> None:
    """Give ``version`` the ``challenger`` alias, and ``champion`` too when it won.

    Both aliases move or neither: a failure part-way puts them back.
    """
    client = _client()
    with _aliases_restored_on_failure(client, registered_name):
        if champion:
            client.set_registered_model_alias(registered_name, CHAMPION, version)
        client.set_registered_model_alias(registered_name, CHALLENGER, version)


def promote_if_champion_is(
    registered_name: str,
    version: str,
    champion: bool,
    expected: str | None,
    tags: Mapping[str, Any],
) -> bool:
    """Compare-and-set: record the verdict and move the aliases, unless the champion moved.

    Under the registry lock (:func:`registry_lock`), the champion is read again. When it is
    still ``expected`` (the version the verdict was judged against), ``tags`` are written
    first, then ``champion`` (when ``champion`` is true) and ``challenger`` move; a failure
    after an alias moved puts both aliases back. A verdict that does not promote needs no
    particular champion and is always recorded.

    Parameters
    ----------
    registered_name : str
        The registered model.
    version : str
        The judged version.
    champion : bool
        Whether the verdict promotes it.
    expected : str, optional
        The champion the verdict was judged against (``None``: there was none).
    tags : dict
        The verdict's version tags.

    Returns
    -------
    bool
        Whether the verdict was recorded; ``False`` when the champion moved meanwhile, so the
        version must be judged again against the new one.
    """
    client = _client()
    with registry_lock(registered_name):
        current = _alias_version(client, registered_name, CHAMPION)
        if champion and current != expected:
            return False
        for key, value in tags.items():
            client.set_model_version_tag(registered_name, version, key, str(value))
        promote(registered_name, version, champion=champion)
    return True


@contextmanager
def registry_lock(
    registered_name: str, timeout: float = 120.0, lease: float = 60.0
) -> Iterator[None]:
    """Hold the registry's promotion lock for ``registered_name`` (one holder at a time).

    The lock is a registered model, ``<name>.promotion-lock``: creating a registered model
    that exists fails in every MLflow registry (SQLite, PostgreSQL, a tracking server), so
    exactly one creator wins. Its ``expires`` tag lets a later training break the lock of a
    process that died holding it.

    Parameters
    ----------
    registered_name : str
        The registered model whose aliases are about to move.
    timeout : float
        Seconds to wait for the lock before giving up with ``TimeoutError``.
    lease : float
        Seconds after which a held lock counts as abandoned.
    """
    client = _client()
    lock = f"{registered_name}{_LOCK_SUFFIX}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.create_registered_model(
                lock,
                tags={"token": token, "expires": repr(time.time() + lease)},
                description=f"Held while the aliases of {registered_name} move.",
            )
            break
        except MlflowException as error:
            if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"):
                raise
        _break_if_abandoned(client, lock)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the registry lock {lock!r} has been held for over {timeout:.0f} s; another "
                f"training of {registered_name!r} is promoting. If none is running, delete "
                f"the registered model {lock!r} and train again"
            )
        time.sleep(0.05 + random.random() * 0.1)
    try:
        yield
    finally:
        with suppress(MlflowException):  # an unreleased lock expires after `lease`
            held = client.get_registered_model(lock)
            if held.tags.get("token") == token:
                client.delete_registered_model(lock)


def _break_if_abandoned(client: MlflowClient, lock: str) -> None:
    try:
        held = client.get_registered_model(lock)
    except MlflowException:
        return  # released meanwhile
    if float(held.tags.get("expires", "0")) < time.time():
        with suppress(MlflowException):
            client.delete_registered_model(lock)


def delete_version(registered_name: str, version: str) -> bool:
    """Remove a version registered by a run that failed afterwards, unless it is champion.

    Returns
    -------
    bool
        Whether the version was deleted; a version holding ``champion`` never is.
    """
    client = _client()
    if _alias_version(client, registered_name, CHAMPION) == str(version):
        return False
    client.delete_model_version(registered_name, version)
    return True


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
    folder = tempfile.mkdtemp(prefix="forecaster-")
    model = load_for_prediction(download_model(f"models:/{registered_name}/{version}", folder))
    if isinstance(model, Predictor):  # in memory: its files are not needed any more
        shutil.rmtree(folder, ignore_errors=True)
    return model
