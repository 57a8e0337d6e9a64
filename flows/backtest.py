"""Backtest flow: load → rolling-origin backtest against baselines → log folds and figures."""

from __future__ import annotations

from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE

from flows import runner
from flows._retry import IO_RETRY
from flows._steps import load_data, log_params, run_figures
from flows.server import api_for_workers
from forecasting import tracking
from forecasting.backtest import (
    METRICS,
    BacktestResult,
    Fold,
    FoldResult,
    backtest_fold,
    combine_folds,
    fold_forecaster,
    plan_folds,
)
from forecasting.ensemble import combine_members, fit_member
from forecasting.forecaster import Forecaster
from forecasting_app.config import Config
from forecasting_app.training import data_hash, forecaster_from_config

__all__ = [
    "backtest_flow",
    "experiment_name",
    "fit_fold",
    "fit_fold_member",
    "metric_key",
    "run_backtest",
    "score_fold",
]


def experiment_name(config: Config) -> str:
    """The MLflow experiment of a config's backtests: ``<name>-backtest``.

    Backtests live beside, not inside, the training experiment ``<name>``: they register no
    model, and their per-fold histories would only clutter the training runs.
    """
    return f"{config.name}-backtest"


def metric_key(method: str, metric: str, per_fold: bool = False) -> str:
    """The MLflow key of a metric: ``rmse`` (model), ``seasonal_naive_rmse``, ``fold_rmse``...

    The summary keys are those of the training runs; per-fold values (``step`` = fold) get the
    ``fold_`` prefix so that the summary is never mistaken for one more fold.
    """
    key = metric if method == "model" else f"{method}_{metric}"
    return f"fold_{key}" if per_fold else key


@task(cache_policy=NO_CACHE)
def plan(config: Config, frame: pd.DataFrame) -> list[Fold]:
    """Cut the series into the configured rolling-origin folds."""
    ev = config.evaluation
    return plan_folds(
        forecaster_from_config(config),
        frame,
        ev.folds,
        ev.step,
        ev.window,
        ev.season_length,
        ev.validation_windows,
    )


@task(cache_policy=NO_CACHE)
def fit_fold(forecaster: Forecaster, fold: Fold) -> FoldResult:
    """Fit one fold's clone on the points before its origin; score it and the baselines."""
    return backtest_fold(forecaster, fold)


@task(cache_policy=NO_CACHE)
def fit_fold_member(forecaster: Forecaster, fold: Fold, member: int) -> Forecaster:
    """Fit one network of one fold's ensemble on the points before its origin."""
    return fit_member(fold_forecaster(forecaster, fold), fold.train.reset_index(drop=True), member)


@task(cache_policy=NO_CACHE)
def score_fold(forecaster: Forecaster, fold: Fold, members: list[Forecaster]) -> FoldResult:
    """Join one fold's fitted members into its ensemble; score it and the baselines."""
    model = combine_members(
        fold_forecaster(forecaster, fold), fold.train.reset_index(drop=True), members
    )
    return backtest_fold(model, fold, refit=False)


def _fit_folds(forecaster: Forecaster, folds: list[Fold]) -> list[FoldResult]:
    """Every fold on the task runner: a task per fold, or per fold and ensemble member."""
    if forecaster.members == 1:
        return list(fit_fold.map(unmapped(forecaster), folds).result())
    n = forecaster.members
    pairs = [(fold, member) for fold in folds for member in range(n)]
    fitted = fit_fold_member.map(
        unmapped(forecaster), [f for f, _ in pairs], [m for _, m in pairs]
    ).result()
    per_fold = [list(fitted[k * n : (k + 1) * n]) for k in range(len(folds))]
    return list(score_fold.map(unmapped(forecaster), folds, per_fold).result())


@task(cache_policy=NO_CACHE)
def make_figures(result: BacktestResult) -> dict[str, Any]:
    """The fold plot (RMSE per fold and method), every fold's forecast with its intervals, and
    the last fold's forecast of one series."""
    return run_figures(
        result, ("naive", "seasonal_naive"), training_curves=False, folds_always=True
    )


@task(cache_policy=NO_CACHE, **IO_RETRY)
def log_results(
    config: Config, frame_hash: str, result: BacktestResult, figs: dict[str, Any]
) -> None:
    """Log params, each fold's metrics (``step`` = fold), the summary and the figures."""
    log_params(config, frame_hash, result)
    for row in result.folds.itertuples():
        values = {metric_key(str(row.method), k, per_fold=True): getattr(row, k) for k in METRICS}
        tracking.log_metrics(values, step=int(str(row.fold)))
    for method, summary in result.summary.items():
        tracking.log_metrics({metric_key(method, k): v for k, v in summary.items()})
    for name, fig in figs.items():
        tracking.log_figure(fig, f"figures/{name}.png")


def backtest_flow(config: Config) -> dict[str, Any]:
    """Backtest the configured model on the configured series and log it to MLflow.

    One run in the experiment ``<name>-backtest`` holds the flattened config, every fold's
    metrics for the model and the baselines, their means, the fold plot and a forecast plot.
    The folds are fitted as tasks ``fit_fold`` of the flow ``backtest`` (with an ensemble,
    ``model.members`` above 1, a task ``fit_fold_member`` per fold and member, then
    ``score_fold`` per fold), run on the task runner of ``config.runner``
    (:mod:`flows.runner`): one after another by default, or side by side on a Dask or Ray
    cluster, with the same results for the same seeds. The
    flow's only parameter is the config: the series travel to the tasks, never into the
    flow run's parameters (which Prefect caps at 512 KB).

    Parameters
    ----------
    config : Config
        ``data`` says what to read, ``model`` and ``train`` what to fit, ``evaluation`` the
        folds (``folds``, ``step``, ``window``, ``season_length``), ``runner`` where.

    Returns
    -------
    dict
        ``{"run_id", "season_length", "folds": [{"fold", "origin", "metrics"}...],
        "summary": {method: {metric: mean}}, "runner": {"kind", "address", "workers"}}``,
        ready to write as JSON.
    """
    flow_run = _backtest.with_options(task_runner=runner.task_runner(config.runner))
    return flow_run(config)


@flow(name="backtest", log_prints=True)
def _backtest(config: Config) -> dict[str, Any]:
    logger = get_run_logger()
    tracking.configure(config.tracking.uri)
    frame = load_data(config)
    with tracking.start_run(
        experiment_name(config), config.tracking.artifact_location, run_name="backtest"
    ) as run_id:
        folds = plan(config, frame)
        results = _fit_folds(forecaster_from_config(config), folds)
        result = combine_folds(results, runner=runner.running_on(config.runner))
        figs = make_figures(result)
        log_results(config, data_hash(frame), result, figs)
    summary = result.summary
    logger.info(
        "%d fold(s): model RMSE %.4g, seasonal naive RMSE %.4g",
        config.evaluation.folds,
        summary["model"]["rmse"],
        summary["seasonal_naive"]["rmse"],
    )
    return {"run_id": run_id, **result.to_dict()}


def run_backtest(config: Config) -> dict[str, Any]:
    """Run :func:`backtest_flow` where its task runner's workers can reach the Prefect API.

    (:func:`flows.server.api_for_workers`: Prefect's ephemeral API for a local runner, a
    Prefect server for Dask or Ray workers.)

    Parameters
    ----------
    config : Config
        As for :func:`backtest_flow`.

    Returns
    -------
    dict
        The flow's result.
    """
    with api_for_workers(config.runner.kind, "backtest"):
        return backtest_flow(config)
