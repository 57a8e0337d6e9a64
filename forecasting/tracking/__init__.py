"""The only package that imports MLflow: runs, the pyfunc model, the registry and downloads.

One module per job: :mod:`~forecasting.tracking.runs` (tracking URI, experiments, runs),
:mod:`~forecasting.tracking.pyfunc` (the registered model), :mod:`~forecasting.tracking.registry`
(versions and aliases), :mod:`~forecasting.tracking.downloads` (models onto
this machine, cached per process), :mod:`~forecasting.tracking.monitor` (the live-accuracy
run) and :mod:`~forecasting.tracking.uris` (registry URIs). The rules that decide a promotion
live in :mod:`forecasting.promotion`, which does no I/O.
"""

from __future__ import annotations

from forecasting.tracking.downloads import download_model, load_forecaster, load_version
from forecasting.tracking.monitor import log_figure_to, log_metrics_to, monitor_run, next_step
from forecasting.tracking.pyfunc import ForecastModel, log_forecaster, model_requirements
from forecasting.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    REGISTERED_BY,
    ModelRef,
    champion_version,
    delete_version,
    promote,
    promote_if_champion_is,
    registering_process,
    remove_abandoned,
    resolve,
    set_version_tags,
)
from forecasting.tracking.registry import (
    _aliases_restored_on_failure as _aliases_restored_on_failure,  # for the registry's tests
)
from forecasting.tracking.runs import (
    artifact_uri,
    configure,
    epoch_logger,
    log_figure,
    log_metrics,
    log_params,
    log_text,
    start_run,
)
from forecasting.tracking.uris import parse_model_uri

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "REGISTERED_BY",
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
    "registering_process",
    "remove_abandoned",
    "resolve",
    "set_version_tags",
    "start_run",
]
