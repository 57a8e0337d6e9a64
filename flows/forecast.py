"""Scheduled rolling forecast: score earlier forecasts, forecast the next horizon, store it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows._retry import IO_RETRY
from forecasting import figures, live, tracking
from forecasting.config import Config
from forecasting.sources import load_series
from forecasting.store import ForecastStore, realised_metrics

__all__ = ["ForecastResult", "deployment", "forecast_flow"]


@dataclass
class ForecastResult:
    """What one rolling-forecast run did."""

    model_name: str
    model_version: str
    method: str
    rows_written: int
    scored: int
    forecast: pd.DataFrame
    realised: pd.DataFrame
    degradation: str
    degraded: bool
    retrained: bool = False
    notes: list[str] = field(default_factory=list)


@task(cache_policy=NO_CACHE, **IO_RETRY)
def resolve_model(config: Config, model_uri: str | None) -> tracking.ModelRef | None:
    """The registered version to forecast with (``champion`` by default), or ``None``."""
    if model_uri:
        name, ref = tracking.parse_model_uri(model_uri)
        found = tracking.resolve(name, ref)
        if found is None:
            raise ValueError(
                f"`--model` {model_uri}: no such registered version in {config.tracking.uri}; "
                "train one first (forecast train) or check the name and alias"
            )
        return found
    return tracking.resolve(config.registered_model_name, tracking.CHAMPION)


@task(cache_policy=NO_CACHE, **IO_RETRY)
def load_data(config: Config) -> pd.DataFrame:
    """Read the latest data from the configured source."""
    return load_series(config.data)


@task(cache_policy=NO_CACHE, **IO_RETRY)
def score_earlier(store: ForecastStore, frame: pd.DataFrame) -> int:
    """Score stored forecasts whose targets now have actuals; returns how many were scored."""
    pending = store.unscored(frame)
    return store.write_scores(pending) if len(pending) else 0


@task(cache_policy=NO_CACHE)
def make_forecast(
    config: Config, model: tracking.ModelRef | None, frame: pd.DataFrame
) -> pd.DataFrame:
    """Forecast the next horizon from the end of each series, as store rows."""
    if model is None:
        forecast = live.seasonal_naive_frame(
            frame, config.model.horizon, config.evaluation.season_length
        )
        return live.store_rows(
            forecast, frame, config.registered_model_name, live.BASELINE, None, live.BASELINE
        )
    forecaster = tracking.load_version(model.name, model.version)
    return live.store_rows(
        forecaster.predict(frame), frame, model.name, model.version, model.run_id, "model"
    )


@task(cache_policy=NO_CACHE, **IO_RETRY)
def store_forecast(store: ForecastStore, rows: pd.DataFrame) -> int:
    """Write the forecast in one transaction; a repeated run writes nothing."""
    return store.write_forecasts(rows)


@task(cache_policy=NO_CACHE, **IO_RETRY)
def log_live_accuracy(
    config: Config, store: ForecastStore, model_name: str, rows: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """Log realised rmse/mae per horizon step (one MLflow step per run) and a forecast figure."""
    version = str(rows["model_version"].iloc[0])
    scores = store.read_scores(model_name)
    scores = scores[scores["model_version"] == version]
    realised = realised_metrics(scores) if len(scores) else pd.DataFrame()
    run_id = tracking.monitor_run(config.name, config.tracking.artifact_location)
    step = tracking.next_step(run_id, "forecast_rows")
    metrics = {"forecast_rows": float(len(rows)), **live.realised_as_metrics(realised)}
    tracking.log_metrics_to(run_id, metrics, step=step)
    return realised, run_id


@task(cache_policy=NO_CACHE)
def report(
    config: Config,
    store: ForecastStore,
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    result: ForecastResult,
    monitor_run_id: str,
) -> None:
    """Publish the forecast report: a figure in MLflow and a Markdown artifact in Prefect."""
    sid = str(rows["series_id"].iloc[0])
    latest = rows[rows["series_id"] == sid].rename(columns={"target_timestamp": "timestamp"})
    past = store.read_forecasts(series_id=sid, model_name=result.model_name)
    past = past[past["origin"] < latest["origin"].iloc[0]]
    fig = figures.plot_forecast_history(frame, latest, past=past, series_id=sid)
    origin = pd.Timestamp(latest["origin"].iloc[0]).strftime("%Y%m%dT%H%M%S")
    tracking.log_figure_to(monitor_run_id, fig, f"forecasts/{origin}.png")
    lines = [
        f"# Forecast: {config.name}",
        "",
        f"- model: `{result.model_name}` version `{result.model_version}` ({result.method})",
        f"- origin(s): {', '.join(sorted({str(o) for o in rows['origin']}))[:500]}",
        f"- rows written: {result.rows_written} (0 means this origin was already forecast)",
        f"- earlier forecast points scored this run: {result.scored}",
        f"- live accuracy: {result.degradation}",
        *[f"- {note}" for note in result.notes],
    ]
    if len(result.realised):
        lines += ["", "| step | n | realised rmse | realised mae |", "|---|---|---|---|"]
        lines += [
            f"| {r.step} | {r.n} | {r.rmse:.4g} | {r.mae:.4g} |"
            for r in result.realised.itertuples()
        ]
    create_markdown_artifact(
        key=f"forecast-{config.name.lower().replace('_', '-').replace('.', '-')}",
        markdown="\n".join(lines),
        description=f"Rolling forecast report for {config.name}",
    )


@flow(name="forecast", log_prints=True)
def forecast_flow(
    config: Config, model_uri: str | None = None, output: str | None = None
) -> ForecastResult:
    """Score earlier forecasts, forecast the next horizon with the champion, store it.

    With no champion yet (no model has beaten seasonal naive), the forecast is seasonal naive
    and its rows say so (``model_version`` = ``seasonal_naive``).

    Parameters
    ----------
    config : Config
        Data source, registry name, store URL and the degradation rule.
    model_uri : str, optional
        ``models:/<name>@<alias>`` or ``models:/<name>/<version>``; the champion by default.
    output : str, optional
        Also write the forecast to this CSV file.
    """
    logger = get_run_logger()
    tracking.configure(config.tracking.uri)
    store = ForecastStore(config.store.url)
    model = resolve_model(config, model_uri)
    frame = load_data(config)
    scored = score_earlier(store, frame)
    rows = make_forecast(config, model, frame)
    written = store_forecast(store, rows)
    name = model.name if model else config.registered_model_name
    realised, monitor_run_id = log_live_accuracy(config, store, name, rows)
    version = str(rows["model_version"].iloc[0])
    scores = store.read_scores(name)
    backtest_rmse = float(model.tags["rmse"]) if model and "rmse" in model.tags else None
    check = live.check_degradation(
        scores[scores["model_version"] == version],
        backtest_rmse,
        config.forecast.degradation_factor,
    )
    notes = []
    if model is None:
        notes.append("no champion yet: forecast with seasonal naive")
    result = ForecastResult(
        model_name=name,
        model_version=version,
        method=str(rows["method"].iloc[0]),
        rows_written=written,
        scored=scored,
        forecast=rows,
        realised=realised,
        degradation=check.message,
        degraded=check.degraded,
        notes=notes,
    )
    if check.degraded:
        logger.warning("%s: %s", config.name, check.message)
        if config.forecast.retrain_on_degradation:
            from flows.train import train_flow

            trained = train_flow(config)
            result.retrained = True
            result.notes.append(f"retrained: version {trained.version} ({trained.decision})")
    report(config, store, frame, rows, result, monitor_run_id)
    if output:
        rows.to_csv(output, index=False)
    logger.info(
        "%s version %s: %d rows written, %d earlier points scored; %s",
        name,
        version,
        written,
        scored,
        check.message,
    )
    return result


def deployment(config: Config, config_path: str | None = None) -> Any:
    """The scheduled deployment of :func:`forecast_flow` for ``config``.

    The schedule is ``forecast.cron`` when set, else every ``forecast.interval_seconds``.

    Parameters
    ----------
    config : Config
        The configuration the scheduled runs use (passed as the flow's parameter).
    config_path : str, optional
        Recorded in the deployment's description.

    Returns
    -------
    prefect.deployments.runner.RunnerDeployment
        Pass it to ``prefect.serve`` (what ``forecast serve`` does).
    """
    schedule: dict[str, Any] = {}
    if config.forecast.cron:
        schedule["cron"] = config.forecast.cron
    else:
        schedule["interval"] = config.forecast.interval_seconds
    return forecast_flow.to_deployment(
        name=f"{config.name}-forecast",
        parameters={"config": config.model_dump(mode="json")},
        description=f"Rolling forecast of {config.name} ({config_path or 'built-in config'})",
        **schedule,
    )
