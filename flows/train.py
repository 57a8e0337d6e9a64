"""Training flow: load → evaluate against baselines → log → register → judge → report → promote.

One model for all series, or one per group of series (``data.group_by``), each group a task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait

from flows import runner
from flows._retry import IO_RETRY
from flows._steps import load_data, log_params, run_figures
from flows.server import api_for_workers
from forecasting import promotion, reports, tracking
from forecasting.backtest import BacktestResult
from forecasting.store import ForecastStore
from forecasting_app import groups
from forecasting_app.config import Config, flatten
from forecasting_app.training import backtest_from_config, data_summary

__all__ = ["TrainResult", "train", "train_flow", "train_group"]


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
def evaluate(config: Config, frame: pd.DataFrame) -> BacktestResult:
    """Fit at each origin and score the model, naive and seasonal naive on the held-out points."""
    return backtest_from_config(config, frame, callbacks=[tracking.epoch_logger()])


@task(cache_policy=NO_CACHE)
def make_figures(result: BacktestResult) -> dict[str, Any]:
    """The run's figures: forecast against actuals and baselines, training curves, folds."""
    return run_figures(result, ("seasonal_naive",), training_curves=True, folds_always=False)


@task(cache_policy=NO_CACHE, **IO_RETRY)
def log_results(
    config: Config, summary: dict[str, Any], result: BacktestResult, figs: dict[str, Any]
) -> None:
    """Log params (config, versions, data hash, seed), metrics per method and the figures."""
    log_params(config, summary["data hash"], result)
    for method, values in result.summary.items():
        prefix = "" if method == "model" else f"{method}_"
        tracking.log_metrics({f"{prefix}{k}": v for k, v in values.items()})
    for name, fig in figs.items():
        tracking.log_figure(fig, f"figures/{name}.png")


@task(cache_policy=NO_CACHE, **IO_RETRY)
def register(
    config: Config, result: BacktestResult, frame: pd.DataFrame, spec: promotion.EvaluationSpec
) -> str:
    """Log the pyfunc model and register it as a new version, tagged ``judged=false``."""
    example = frame.groupby("series_id", sort=False).tail(result.model.input_width_)
    tags = promotion.registration_tags(
        spec, result.summary, config.evaluation.folds, result.fell_back
    )
    tags[tracking.REGISTERED_BY] = tracking.registering_process()
    return tracking.log_forecaster(result.model, config.registered_model_name, example, tags=tags)


@task(cache_policy=NO_CACHE)
def judge(
    config: Config,
    frame: pd.DataFrame,
    result: BacktestResult,
    spec: promotion.EvaluationSpec,
    champion: str | None,
) -> promotion.Verdict:
    """Apply the registry rule, scoring the champion on the challenger's evaluation spec.

    A champion that cannot forecast this data (another series, covariate, frequency, or a
    shorter horizon) is recorded as incompatible, and the challenger is judged against the
    baselines alone.
    """
    if champion is None:
        return promotion.judge(result.summary, None)
    held = tracking.load_version(config.registered_model_name, champion, cached=False)
    reason = promotion.incompatibility(promotion.model_facts(held), spec)
    score = None
    if reason is None:
        try:
            score = promotion.score_on_spec(held, frame, result.forecasts, spec)
        except ValueError as error:
            reason = f"it cannot forecast this data: {error}"
    if reason is not None:
        get_run_logger().warning("champion version %s is incompatible: %s", champion, reason)
    return promotion.judge(result.summary, champion, score, reason)


@task(cache_policy=NO_CACHE)
def commit(config: Config, version: str, verdict: promotion.Verdict) -> bool:
    """Record the verdict and move the aliases, unless the champion changed meanwhile.

    Under the promotion lock in the forecast store's database (``store.url``), so one
    training at a time reads the champion and moves the aliases; versions that killed
    trainings left unjudged are removed under the same lock.
    """
    name = config.registered_model_name
    with ForecastStore(config.store.url).promotion_lock(name):
        moved = tracking.promote_if_champion_is(
            name,
            version,
            champion=verdict.decision.promote,
            expected=verdict.judged_against,
            tags=verdict.tags(),
        )
        removed = tracking.remove_abandoned(name, promotion.is_judged)
    if removed:
        get_run_logger().info("removed version(s) %s left unjudged by killed trainings", removed)
    return moved


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
    fell = result.fell_back
    summary = {
        **summary,
        "network fell back to its reference": f"{sum(fell)} of {len(fell)} fold(s)"
        + (" (the registered model's too)" if fell and fell[-1] else ""),
        "served per series": ", ".join(f"{m} {n}" for m, n in result.served_by.items()),
    }
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


_ATTEMPTS = 3
"""Judgements per training: each time the champion moved meanwhile, the version is judged again."""


def _judge_and_promote(
    config: Config,
    frame: pd.DataFrame,
    summary: dict[str, Any],
    result: BacktestResult,
    figs: dict[str, Any],
    version: str,
    spec: promotion.EvaluationSpec,
) -> tuple[promotion.Verdict, str]:
    """Judge, write the report, then move the aliases by compare-and-set on the champion.

    Every step that can fail runs before an alias moves. A verdict judged against a champion
    that has changed since is judged again; after ``_ATTEMPTS`` the version stays challenger.
    """
    verdict: promotion.Verdict | None = None
    for _ in range(_ATTEMPTS):
        champion = tracking.champion_version(config.registered_model_name)
        verdict = judge(config, frame, result, spec, champion)
        report_uri = report(config, summary, result, figs, version, verdict.decision.reason)
        if commit(config, version, verdict):
            return verdict, report_uri
        get_run_logger().info("the champion changed while version %s was judged", version)
    assert verdict is not None  # _ATTEMPTS >= 1
    verdict = promotion.left_as_challenger(verdict, _ATTEMPTS)
    report_uri = report(config, summary, result, figs, version, verdict.decision.reason)
    commit(config, version, verdict)  # it promotes nothing, so the champion cannot stand in its way
    return verdict, report_uri


def _train_one(config: Config, frame: pd.DataFrame, summary: dict[str, Any]) -> TrainResult:
    """Evaluate, log, register, judge, report and promote one model in one MLflow run.

    The version is registered with ``judged=false``; judging, the report and the tags all
    come before an alias moves, and the aliases move together by compare-and-set on the
    champion. A run that fails after registering removes its version again (never one that
    holds ``champion``), so a failed or killed run leaves the champion it found. A group's
    training is this with the group's config (:func:`forecasting_app.groups.group_config`).
    """
    logger = get_run_logger()
    with tracking.start_run(config.name, config.tracking.artifact_location) as run_id:
        result = evaluate(config, frame)
        figs = make_figures(result)
        log_results(config, summary, result, figs)
        spec = promotion.EvaluationSpec.from_backtest(result, frame)
        version = register(config, result, frame, spec)
        try:
            verdict, report_uri = _judge_and_promote(
                config, frame, summary, result, figs, version, spec
            )
        except BaseException:
            if not tracking.delete_version(config.registered_model_name, version):
                logger.error("version %s holds champion and was kept", version)
            raise
    decision = verdict.decision
    logger.info("%s version %s %s", config.registered_model_name, version, decision.reason)
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


def _summary(config: Config, frame: pd.DataFrame) -> dict[str, Any]:
    return data_summary(frame, source=config.data.path or f"synthetic {config.data.synthetic.kind}")


@flow(name="train", log_prints=True)
def train_flow(config: Config) -> TrainResult:
    """Train on the configured series, judge against baselines, register, report, promote.

    The version is registered with ``judged=false``; judging, the report and the tags all
    come before an alias moves, and the aliases move together by compare-and-set on the
    champion. A run that fails after registering removes its version again (never one that
    holds ``champion``), so a failed or killed run leaves the champion it found.

    One model for all series; :func:`train` also trains one per group (``data.group_by``).
    """
    if config.data.group_by is not None:
        raise ValueError(
            f"`data.group_by` is {config.data.group_by!r}: train one model per group with "
            "flows.train.train (what `forecast train` runs), or unset data.group_by"
        )
    tracking.configure(config.tracking.uri)
    frame = load_data(config)
    return _train_one(config, frame, _summary(config, frame))


@task(cache_policy=NO_CACHE)
def train_group(config: Config, frame: pd.DataFrame) -> TrainResult:
    """Train, register and promote one group's model on its own series, in one MLflow run.

    ``config`` is the group's (:func:`forecasting_app.groups.group_config`); the task runs
    wherever the task runner puts it, so it points MLflow at the tracking URI itself.
    """
    tracking.configure(config.tracking.uri)
    return _train_one(config, frame, _summary(config, frame))


@flow(name="train-groups", log_prints=True)
def _train_groups(config: Config) -> list[TrainResult]:
    tracking.configure(config.tracking.uri)
    frame, found = groups.plan_groups(config, load_data(config))
    assert found is not None  # train() comes here only with data.group_by
    get_run_logger().info("%d group(s) of series by %r", len(found), config.data.group_by)
    configs = [groups.group_config(config, g) for g in found]
    frames = groups.split_frame(frame, [g.series for g in found])
    futures = train_group.map(configs, frames)
    wait(futures)
    failed = [f for f in futures if f.state.is_failed()]
    if failed:
        failed[0].result()  # raises the first group's error; the others kept their results
    return [f.result() for f in futures]


def train(config: Config) -> list[TrainResult]:
    """Train one model, or one per group of series when ``data.group_by`` is set.

    Without ``group_by`` this is ``[train_flow(config)]``. With it, the flow
    ``train-groups`` maps the task ``train_group`` over the groups
    (:mod:`forecasting_app.groups`), on the task runner of ``config.runner``: one group after
    another by default, side by side on a Dask or Ray cluster. Each group gets its own
    registered model ``<registered name>.<key>`` with its own ``challenger``, ``champion``
    and promotion rule, and its own experiment ``<name>.<key>``. The series travel to the
    tasks, never into the flow run's parameters (which Prefect caps at 512 KB).

    Parameters
    ----------
    config : Config
        As for :func:`train_flow`, with ``data.group_by`` and ``runner``.

    Returns
    -------
    list of TrainResult
        One per group, sorted by group key.
    """
    if config.data.group_by is None:
        return [train_flow(config)]
    flow_run = _train_groups.with_options(task_runner=runner.task_runner(config.runner))
    with api_for_workers(config.runner.kind, "train"):
        return flow_run(config)
