"""Training flow: load → evaluate against baselines → log → register → promote → report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows._retry import IO_RETRY
from forecasting import figures, reports, tracking
from forecasting.backtest import BacktestResult, backtest
from forecasting.config import Config, flatten
from forecasting.sources import load_series
from forecasting.training import backtest_from_config, data_summary, library_versions

__all__ = ["TrainResult", "train_flow"]


@dataclass
class TrainResult:
    """What a training run produced, as the CLI prints it."""

    run_id: str
    registered_model: str
    version: str
    champion: bool
    decision: str
    metrics: dict[str, dict[str, float]]
    report_uri: str
    data: dict[str, Any] = field(default_factory=dict)


@task(cache_policy=NO_CACHE)
def load_data(config: Config) -> pd.DataFrame:
    """Read and validate the configured series."""
    return load_series(config.data)


@task(cache_policy=NO_CACHE)
def evaluate(config: Config, frame: pd.DataFrame) -> BacktestResult:
    """Fit at each origin and score the model, naive and seasonal naive on the held-out points."""
    return backtest_from_config(config, frame, callbacks=[tracking.epoch_logger()])


@task(cache_policy=NO_CACHE)
def make_figures(result: BacktestResult) -> dict[str, Any]:
    """The run's figures: forecast against actuals and baselines, training curves, folds."""
    return _figures(result)


@task(cache_policy=NO_CACHE, **IO_RETRY)
def log_results(
    config: Config, summary: dict[str, Any], result: BacktestResult, figs: dict[str, Any]
) -> None:
    """Log params (config, versions, data hash, seed), metrics per method and the figures."""
    params = {**flatten(config), **{f"version.{k}": v for k, v in library_versions().items()}}
    params["data.hash"] = summary["data hash"]
    params["evaluation.season_length_used"] = result.season_length
    params["model.input_width_used"] = result.model.input_width_
    tracking.log_params(params)
    for method, values in result.summary.items():
        prefix = "" if method == "model" else f"{method}_"
        tracking.log_metrics({f"{prefix}{k}": v for k, v in values.items()})
    for name, fig in figs.items():
        tracking.log_figure(fig, f"figures/{name}.png")


def _figures(result: BacktestResult) -> dict[str, Any]:
    last = result.forecasts[result.forecasts["fold"] == result.forecasts["fold"].max()]
    sid = str(last["series_id"].iloc[0])
    model = last[(last["method"] == "model") & (last["series_id"] == sid)]
    actuals = model[["series_id", "timestamp", "actual"]].rename(columns={"actual": "value"})
    baselines = {
        m: last[(last["method"] == m) & (last["series_id"] == sid)] for m in ("seasonal_naive",)
    }
    out = {
        "forecast": figures.plot_forecast(
            result.train, model, actuals=actuals, baselines=baselines, series_id=sid
        ),
        "training_curves": figures.plot_training_curves(result.model.history_),
    }
    if result.forecasts["fold"].nunique() > 1:
        out["backtest"] = figures.plot_backtest(result.folds)
    return out


@task(cache_policy=NO_CACHE, **IO_RETRY)
def register(config: Config, result: BacktestResult, frame: pd.DataFrame) -> str:
    """Log the pyfunc model and register it as a new version."""
    example = frame.groupby("series_id", sort=False).tail(result.model.input_width_)
    return tracking.log_forecaster(result.model, config.registered_model_name, example)


@task(cache_policy=NO_CACHE)
def judge(config: Config, frame: pd.DataFrame, result: BacktestResult) -> tracking.Decision:
    """Apply the registry rule on the challenger's own evaluation data."""
    name = config.registered_model_name
    champion = tracking.champion_version(name)
    champion_rmse = None
    if champion is not None:
        ev = config.evaluation
        held = tracking.load_forecaster(f"models:/{name}/{champion}")
        scored = backtest(
            held,
            frame,
            folds=ev.folds,
            step=ev.step,
            window=ev.window,
            season_length=result.season_length,
            refit=False,
        )
        champion_rmse = scored.summary["model"]["rmse"]
    summary = result.summary
    return tracking.decide_promotion(
        summary["model"]["rmse"], summary["seasonal_naive"]["rmse"], champion_rmse
    )


@task(cache_policy=NO_CACHE, **IO_RETRY)
def promote(
    config: Config, version: str, decision: tracking.Decision, result: BacktestResult
) -> None:
    """Move the aliases and record the decision and its figures as version tags."""
    name = config.registered_model_name
    summary = result.summary
    tracking.set_version_tags(
        name,
        version,
        {
            "decision": decision.reason,
            "champion": decision.promote,
            "rmse": summary["model"]["rmse"],
            "seasonal_naive_rmse": summary["seasonal_naive"]["rmse"],
            "naive_rmse": summary["naive"]["rmse"],
            "evaluation": f"{config.evaluation.folds} fold(s) of {config.model.horizon} steps",
        },
    )
    tracking.promote(name, version, champion=decision.promote)


@task(cache_policy=NO_CACHE)
def report(
    config: Config,
    summary: dict[str, Any],
    result: BacktestResult,
    figs: dict[str, Any],
    version: str,
    decision: str,
) -> str:
    """Write the HTML run report to MLflow and a Markdown artifact to Prefect."""
    title = f"{config.name}: version {version}"
    html = reports.render_html_report(
        title=title,
        summary=summary,
        config=flatten(config),
        metrics=result.summary,
        decision=f"Version {version} {decision}",
        figures=figs,
    )
    tracking.log_text(html, "report.html")
    create_markdown_artifact(
        key=f"train-{config.name.lower().replace('_', '-').replace('.', '-')}",
        markdown=reports.render_markdown_report(
            title, summary, result.summary, f"Version {version} {decision}"
        ),
        description=f"Training report for {config.name}",
    )
    return tracking.artifact_uri("report.html")


@flow(name="train", log_prints=True)
def train_flow(config: Config) -> TrainResult:
    """Train on the configured series, judge against baselines, register, promote, report.

    A run that fails after registering removes its version again, so a failed run
    leaves nothing in the registry.
    """
    logger = get_run_logger()
    tracking.configure(config.tracking.uri)
    frame = load_data(config)
    summary = data_summary(
        frame, source=config.data.path or f"synthetic {config.data.synthetic.kind}"
    )
    with tracking.start_run(config.name, config.tracking.artifact_location) as run_id:
        result = evaluate(config, frame)
        figs = make_figures(result)
        log_results(config, summary, result, figs)
        version = register(config, result, frame)
        try:
            decision = judge(config, frame, result)
            promote(config, version, decision, result)
            report_uri = report(config, summary, result, figs, version, decision.reason)
        except BaseException:
            tracking.delete_version(config.registered_model_name, version)
            raise
    logger.info("version %s %s", version, decision.reason)
    return TrainResult(
        run_id=run_id,
        registered_model=config.registered_model_name,
        version=version,
        champion=decision.promote,
        decision=decision.reason,
        metrics=result.summary,
        report_uri=report_uri,
        data=summary,
    )
