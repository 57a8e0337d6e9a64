"""The whole configuration as pydantic models: YAML loading and ``key=value`` overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from forecasting.parameters import ModelParameters, TrainParameters, problem

__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "EvaluationConfig",
    "ForecastConfig",
    "ModelConfig",
    "RunnerConfig",
    "StoreConfig",
    "TrackingConfig",
    "TrainConfig",
    "apply_overrides",
    "flatten",
    "load_config",
]


class ConfigError(ValueError):
    """A configuration file or override that cannot be used; the message says how to fix it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SyntheticConfig(_Section):
    """A seeded synthetic series, used when ``data.source`` is ``synthetic``."""

    kind: Literal["sin", "cos", "noise", "seasonal"] = "seasonal"
    n_series: int = Field(1, ge=1)
    length: int = Field(2000, ge=2)
    freq: str = "h"
    start: str = "2024-01-01"
    noise: float = Field(0.1, ge=0)
    trend: float = 0.0
    seasonalities: list[float] = Field(default_factory=lambda: [24.0])
    seed: int = 0


class DataConfig(_Section):
    """Where the series comes from and how to read it."""

    source: Literal["csv", "synthetic"] = "synthetic"
    path: str | None = None
    time_col: str = "timestamp"
    value_col: str = "value"
    id_col: str | None = None
    freq: str | None = None
    missing: Literal["error", "interpolate", "ffill"] = "error"
    covariates: list[str] | None = None
    # One model per group (forecasting_app.groups): a column constant within each series, or
    # an integer N that cuts the sorted series ids into groups of N. None: one model.
    group_by: str | int | None = None
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)

    @field_validator("group_by", mode="before")
    @classmethod
    def _column_or_size(cls, value: Any) -> Any:
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            return value
        if isinstance(value, str) and value.strip():
            return value
        raise ValueError(
            "must name a column of the data (one model per value) or be a positive integer "
            "N (groups of N series)"
        )

    @model_validator(mode="after")
    def _csv_needs_path(self) -> DataConfig:
        if self.source == "csv" and not self.path:
            raise ValueError("`data.path` is required when `data.source` is 'csv'")
        return self


class ModelConfig(ModelParameters):
    """The network and its windowing, declared in `forecasting.parameters`."""


class TrainConfig(TrainParameters):
    """Optimisation settings, declared in `forecasting.parameters`."""


class EvaluationConfig(_Section):
    """How a trained model is judged against the baselines."""

    season_length: int | None = Field(None, ge=1)
    folds: int = Field(1, ge=1)
    step: int | None = Field(None, ge=1)
    window: Literal["expanding", "sliding"] = "expanding"
    # The last horizons of each series on which `served` (and the scheduled forecast's
    # per-series choice) compares the candidates.
    validation_windows: int = Field(2, ge=1, le=10)


class TrackingConfig(_Section):
    """MLflow tracking and registry."""

    uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_location: str = "mlruns/artifacts"
    registered_model: str | None = None


class StoreConfig(_Section):
    """The forecast store (any SQLAlchemy URL)."""

    url: str = "sqlite:///data/forecasts.db"


class ForecastConfig(_Section):
    """The scheduled rolling forecast."""

    cron: str | None = None
    interval_seconds: int | None = Field(3600, ge=1)
    degradation_factor: float = Field(2.0, gt=0)
    retrain_on_degradation: bool = False
    # Series per forecast task: the flow fans the chunks out on the task runner.
    chunk_size: int = Field(2000, ge=1)
    # validation: each series gets the method that scores best on its own last horizon
    # (the model, the combination, the statistical ensemble, seasonal naive), as the
    # backtest's `served`; model: the model for every series it can forecast.
    selection: Literal["validation", "model"] = "validation"


class RunnerConfig(_Section):
    """Where fanned-out work runs: Prefect's task runner (flows.runner)."""

    # local: threads of this process; dask / ray: an existing cluster at `address`, or a
    # cluster of `workers` one-thread workers started on this machine when it is None.
    kind: Literal["local", "dask", "ray"] = "local"
    address: str | None = None
    workers: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _address_needs_a_cluster(self) -> RunnerConfig:
        if self.kind == "local" and self.address:
            raise ValueError(
                "`runner.address` names a Dask or Ray cluster; set `runner.kind` to 'dask' "
                "or 'ray', or remove the address to run here"
            )
        return self


class Config(_Section):
    """A whole run: one config ``name`` is one MLflow experiment and one registered model."""

    name: str = Field("demo", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)

    @property
    def registered_model_name(self) -> str:
        """The registry name: ``tracking.registered_model`` or the config ``name``."""
        return self.tracking.registered_model or self.name


def _describe(errors: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in errors.errors():
        key = ".".join(str(part) for part in err["loc"]) or "<root>"
        if err["type"] == "extra_forbidden":
            lines.append(f"  `{key}`: unknown key; check the spelling against configs/demo.yaml")
            continue
        got = err.get("input")
        message = problem(err)
        shown = "" if got is None or isinstance(got, Mapping) else f" (got {got!r})"
        lines.append(f"  `{key}`: {message}{shown}")
    return "\n".join(lines)


def _validate(raw: Mapping[str, Any], source: str) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """Load a YAML config and apply ``key=value`` overrides.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file. ``None`` uses the built-in defaults (a synthetic series).
    overrides : iterable of str
        Dotted ``key=value`` pairs such as ``model.horizon=24``; values are parsed as YAML.

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    ConfigError
        If the file is missing or not YAML, or a key or value is not allowed.
    """
    raw: dict[str, Any] = {}
    source = "built-in defaults"
    if path is not None:
        source = str(path)
        file = Path(path)
        if not file.is_file():
            raise ConfigError(
                f"{source}: config file not found; pass an existing YAML file "
                "(for example configs/demo.yaml)"
            )
        try:
            loaded = yaml.safe_load(file.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"{source}: expected a mapping of sections at the top level, "
                f"got {type(loaded).__name__}"
            )
        raw = loaded
    overrides = list(overrides)
    raw = apply_overrides(raw, overrides)
    return _validate(raw, f"{source} with --set overrides" if overrides else source)


def apply_overrides(raw: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted ``key=value`` overrides applied.

    Parameters
    ----------
    raw : mapping
        The configuration as plain nested dicts.
    overrides : iterable of str
        Items like ``train.epochs=5`` or ``model.units=[64,64]``; values are parsed as YAML.

    Returns
    -------
    dict
        The updated nested dict (``raw`` is not modified).
    """
    result = _deep_copy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"override {item!r} is not of the form key=value; "
                "for example --set model.horizon=24"
            )
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: `{part}` is a value, not a section")
            node = child
        node[parts[-1]] = value
    return result


def _deep_copy(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in raw.items()}


def flatten(config: Config) -> dict[str, Any]:
    """Flatten a config to dotted keys, as logged to MLflow params.

    Parameters
    ----------
    config : Config
        The configuration.

    Returns
    -------
    dict
        ``{"model.horizon": 12, ...}``; lists are kept as values.
    """
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = value

    walk("", config.model_dump(mode="json"))
    return out
