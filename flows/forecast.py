"""Scheduled rolling forecast: score earlier forecasts, forecast the next horizon, store it.

The steps are :mod:`forecasting_app.scheduled`'s; this flow runs its plan and its finish as
Prefect tasks (retried on I/O hiccups), fans the chunks of series out as tasks
``make_forecast`` on the task runner of ``config.runner``, retrains when live accuracy has
degraded and the config asks it, and publishes the run's report as a Prefect artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect import serve as prefect_serve
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait

from flows import runner
from flows._retry import IO_RETRY
from flows.server import api_for_workers, prefect_server
from forecasting_app import forecast_report, scheduled
from forecasting_app.config import Config
from forecasting_app.scheduled import ForecastResult

__all__ = ["ForecastResult", "deployment", "forecast_flow", "serve"]

plan_forecast = task(cache_policy=NO_CACHE, **IO_RETRY)(scheduled.plan_forecast)
make_forecast = task(cache_policy=NO_CACHE)(scheduled.make_forecast)


@task(cache_policy=NO_CACHE, **IO_RETRY)
def finish_forecast(
    config: Config, plan: scheduled.ForecastPlan, parts: list[Any], output: str | None
) -> ForecastResult:
    """:func:`forecasting_app.scheduled.finish_forecast`, logging to the flow run."""
    return scheduled.finish_forecast(config, plan, parts, output, logger=get_run_logger())


@task(cache_policy=NO_CACHE, **IO_RETRY)
def publish_report(config: Config, markdown: str) -> None:
    """Publish the run's report as a Markdown artifact in Prefect."""
    create_markdown_artifact(
        key=f"forecast-{config.name.lower().replace('_', '-').replace('.', '-')}",
        markdown=markdown,
        description=f"Rolling forecast report for {config.name}",
    )


@flow(name="forecast", log_prints=True)
def _forecast(
    config: Config, model_uri: str | None = None, output: str | None = None
) -> ForecastResult:
    plan = plan_forecast(config, model_uri)
    futures = [make_forecast.submit(*call) for call in plan.calls]
    wait(futures)
    result = finish_forecast(config, plan, [future.result() for future in futures], output)
    if scheduled.needs_retraining(config, result):
        from flows.train import train

        scheduled.note_retrained(result, train(config))
    publish_report(config, forecast_report.report_markdown(config, result))
    return result


def _with_runner(config: Config) -> Any:
    return _forecast.with_options(task_runner=runner.task_runner(config.runner))


def forecast_flow(
    config: Config, model_uri: str | None = None, output: str | None = None
) -> ForecastResult:
    """Score earlier forecasts, forecast the next horizon with the champion, store it.

    Each series the champion cannot forecast, and every series while there is no champion,
    gets the baseline that scores best on its own last horizon; its rows say which
    (``method``, ``model_version``) and why (``note``). The series are forecast in chunks
    of ``forecast.chunk_size``, each a task ``make_forecast`` of the flow ``forecast`` on
    the task runner of ``config.runner``; a chunk's series travel to its task, never into
    a flow run's parameters (which Prefect caps at 512 KB). With ``data.group_by`` each
    group's series are forecast by the group's own champion.

    Parameters
    ----------
    config : Config
        Data source, registry name, store URL, the degradation rule, the runner.
    model_uri : str, optional
        ``models:/<name>@<alias>`` or ``models:/<name>/<version>``; the champion by default.
    output : str, optional
        Also write the forecast to this CSV file.
    """
    with api_for_workers(config.runner.kind, "forecast"):
        return _with_runner(config)(config, model_uri, output)


def deployment(config: Config, config_path: str | None = None) -> Any:
    """The scheduled deployment of :func:`forecast_flow` for ``config``, on its task runner.

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
    return _with_runner(config).to_deployment(
        name=f"{config.name}-forecast",
        parameters={"config": config.model_dump(mode="json")},
        description=f"Rolling forecast of {config.name} ({config_path or 'built-in config'})",
        **schedule,
    )


def serve(config: Config, config_path: str | None = None, log: Path | None = None) -> None:
    """Run :func:`deployment` on its schedule until interrupted, with a local Prefect server.

    Prefect's ephemeral mode runs no scheduler, so a local server is started on a free port for
    as long as this runs, unless ``PREFECT_API_URL`` names a server already.

    Parameters
    ----------
    config : Config
        The configuration of the scheduled runs.
    config_path : str, optional
        Recorded in the deployment's description.
    log : Path, optional
        Where the local server writes its log (default ``mlruns/prefect-server.log``).
    """
    every = config.forecast.cron or f"every {config.forecast.interval_seconds} s"
    with prefect_server(log or Path("mlruns") / "prefect-server.log") as url:
        print(f"serving     {config.name}-forecast on schedule {every} via {url}; Ctrl-C stops")
        prefect_serve(deployment(config, config_path))
