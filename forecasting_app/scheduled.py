"""One scheduled forecast run as plain steps, shared by the Prefect flow and ``forecast predict``.

:func:`run_forecast` calls the steps in order. The Prefect flow (``flows/forecast.py``) passes
``as_step`` to run each step as a task (retries, states, the UI) and ``map_step`` to fan the
chunks of series (``forecast.chunk_size``) out on its task runner; the one-shot command calls
them as they are, one chunk after another, in this process, without Prefect or its server.
With ``data.group_by`` each group's series are forecast with that group's champion
(:mod:`forecasting_app.groups`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from forecasting import live, tracking
from forecasting.data import infer_freq
from forecasting.frequency import season_length_for
from forecasting.intervals import DEFAULT_LEVELS
from forecasting.selection import SERVED_CANDIDATES
from forecasting.serving import model_forecasts, serve
from forecasting.store import ForecastStore, realised_metrics
from forecasting_app import groups
from forecasting_app.config import Config
from forecasting_app.forecast_report import report
from forecasting_app.sources import load_series

__all__ = [
    "IO_STEPS",
    "STEPS",
    "ForecastResult",
    "load_data",
    "log_live_accuracy",
    "make_forecast",
    "resolve_model",
    "run_forecast",
    "score_earlier",
    "store_forecast",
]

_LOGGER = logging.getLogger(__name__)
_LOGGER.addHandler(logging.NullHandler())  # the caller decides what is shown


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
    groups: list[ForecastResult] = field(default_factory=list)
    """With ``data.group_by``: each group's own result (its model, rows and live accuracy)."""


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


def load_data(config: Config) -> pd.DataFrame:
    """Read the latest data from the configured source."""
    return load_series(config.data)


def score_earlier(store: ForecastStore, frame: pd.DataFrame) -> int:
    """Score stored forecasts whose targets now have actuals; returns how many were scored."""
    pending = store.unscored(frame)
    return store.write_scores(pending) if len(pending) else 0


def make_forecast(
    config: Config, model: tracking.ModelRef | None, frame: pd.DataFrame
) -> pd.DataFrame:
    """Forecast the next horizon from the end of each series, as store rows.

    With ``forecast.selection: validation`` (the default) each series gets what scores best
    on its own last horizon among :data:`forecasting.selection.SERVED_CANDIDATES` (the
    model, its combination with the statistical forecasts, the statistical ensemble,
    seasonal naive), as the backtest's ``served`` does; ``method`` names it. Every series the
    model cannot forecast (it raises for that series, or returns values that are not finite)
    gets the baseline that scores best on its own last horizon instead; its rows carry the
    baseline as ``method`` and ``model_version`` and the reason in ``note``. Without a model
    every series gets its best baseline.
    """
    horizon, season = config.model.horizon, config.evaluation.season_length
    if model is not None:
        tracking.configure(config.tracking.uri)  # a task on a Dask or Ray worker too
    if model is None:
        forecast = live.best_baseline_frame(frame, horizon, season)
        note = "no champion yet: the best baseline on this series' last horizon"
        return live.store_rows(
            forecast, frame, config.registered_model_name, None, None, None, note
        )
    forecaster = tracking.load_version(model.name, model.version)
    forecasts, failed = model_forecasts(forecaster, frame, DEFAULT_LEVELS)
    parts = []
    if forecasts:
        served = pd.concat(forecasts, ignore_index=True).assign(method="model")
        if config.forecast.selection == "validation":
            ok = frame[~frame["series_id"].astype(str).isin(list(failed))]
            ok.attrs = dict(frame.attrs)
            season = season or season_length_for(frame.attrs.get("freq") or infer_freq(frame))
            windows = config.evaluation.validation_windows
            served = serve(forecaster, ok, served, horizon, season, DEFAULT_LEVELS, windows=windows)
        # The network's own rows and the combination carry the version; a baseline's rows
        # carry the baseline's name, as the fallback's do.
        model_ref = (model.name, model.version, model.run_id)
        mine = served["method"].isin(["model", "combination"])
        parts.append(live.store_rows(served[mine], frame, *model_ref, None))
        if not mine.all():
            note = f"{_SERVED_NOTE} of {', '.join(SERVED_CANDIDATES)} on its last horizon"
            parts.append(live.store_rows(served[~mine], frame, model.name, None, None, None, note))
    if failed:
        history = frame[frame["series_id"].isin(list(failed))]
        history.attrs = dict(frame.attrs)
        fallback = live.best_baseline_frame(history, horizon, season)
        parts.append(live.store_rows(fallback, history, model.name, None, None, None, failed))
    return pd.concat(parts, ignore_index=True)


def store_forecast(store: ForecastStore, rows: pd.DataFrame) -> int:
    """Write the forecast in one transaction; a repeated run writes nothing."""
    return store.write_forecasts(rows)


def log_live_accuracy(
    config: Config,
    store: ForecastStore,
    model_name: str,
    version: str,
    rows: pd.DataFrame,
    backtest_rmse: float | None,
) -> tuple[pd.DataFrame, str, live.Degradation]:
    """Log realised rmse/mae, interval coverage and width per horizon step of ``version``,
    and judge from the same scores whether its live accuracy has degraded.

    One MLflow step per run, in the model's monitor run.
    """
    scores = store.read_scored(model_name, version)
    realised = realised_metrics(scores) if len(scores) else pd.DataFrame()
    run_id = tracking.monitor_run(config.name, config.tracking.artifact_location)
    step = tracking.next_step(run_id, "forecast_rows")
    metrics = {"forecast_rows": float(len(rows)), **live.realised_as_metrics(realised)}
    tracking.log_metrics_to(run_id, metrics, step=step)
    check = live.check_degradation(scores, backtest_rmse, config.forecast.degradation_factor)
    return realised, run_id, check


_SERVED_NOTE = "served: the lowest MASE"


def _summary(rows: pd.DataFrame, model: tracking.ModelRef | None) -> tuple[str, str, list[str]]:
    """The version and method a run used, and a note per series that fell back to a baseline.

    A series served another method by choice (``forecast.selection``) has no note here: its
    rows say so in ``method`` and ``note``.
    """
    chosen = rows["note"].fillna("").str.startswith(_SERVED_NOTE) | (
        rows["method"] == "combination"
    )
    baseline = rows[(rows["method"] != "model") & ~chosen]
    used = ", ".join(sorted(set(baseline["method"])))
    notes = []
    if model is None:
        notes.append(f"no champion yet: each series forecast with its best baseline ({used})")
        return used, used, notes
    for sid, part in baseline.groupby("series_id", sort=True):
        notes.append(f"series `{sid}`: {part['method'].iloc[0]} instead; {part['note'].iloc[0]}")
    return model.version, "model", notes


def _plain(step: Callable[..., Any]) -> Callable[..., Any]:
    return step


def _in_order(step: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
    return [step(*args) for args in calls]


def _conclude(
    config: Config,
    store: ForecastStore,
    model: tracking.ModelRef | None,
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    as_step: Callable[[Callable[..., Any]], Callable[..., Any]],
    log: logging.Logger | logging.LoggerAdapter[Any],
) -> ForecastResult:
    """One model's share of the run: its live accuracy, the degradation check and the report."""
    version, method, notes = _summary(rows, model)
    name = model.name if model else config.registered_model_name
    backtest_rmse = float(model.tags["rmse"]) if model and "rmse" in model.tags else None
    realised, monitor_run_id, check = as_step(log_live_accuracy)(
        config, store, name, version, rows, backtest_rmse
    )
    for note in notes:
        log.warning("%s: %s", config.name, note)
    if check.degraded:
        log.warning("%s: %s", config.name, check.message)
    as_step(report)(store, frame, rows, name, monitor_run_id)
    return ForecastResult(
        model_name=name,
        model_version=version,
        method=method,
        rows_written=0,
        scored=0,
        forecast=rows,
        realised=realised,
        degradation=check.message,
        degraded=check.degraded,
        notes=notes,
    )


def _combined(config: Config, parts: list[ForecastResult], rows: pd.DataFrame) -> ForecastResult:
    """The run over every group: each group's result, and their versions, notes and checks."""
    realised = [p.realised.assign(model_name=p.model_name) for p in parts if len(p.realised)]
    return ForecastResult(
        model_name=config.registered_model_name,
        model_version=", ".join(f"{p.model_name}: {p.model_version}" for p in parts),
        method=", ".join(sorted({m for p in parts for m in p.method.split(", ")})),
        rows_written=0,
        scored=0,
        forecast=rows,
        realised=pd.concat(realised, ignore_index=True) if realised else pd.DataFrame(),
        degradation="; ".join(f"{p.model_name}: {p.degradation}" for p in parts),
        degraded=any(p.degraded for p in parts),
        notes=[f"{p.model_name}: {note}" for p in parts for note in p.notes],
        groups=parts,
    )


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _retrained_note(trained: Any) -> str:
    results = trained if isinstance(trained, list) else [trained]
    if len(results) == 1:
        return f"retrained: version {results[0].version} ({results[0].decision})"
    each = "; ".join(f"{r.registered_model} version {r.version} ({r.decision})" for r in results)
    return f"retrained: {each}"


def run_forecast(
    config: Config,
    model_uri: str | None = None,
    output: str | None = None,
    *,
    as_step: Callable[[Callable[..., Any]], Callable[..., Any]] = _plain,
    map_step: Callable[[Callable[..., Any], list[tuple[Any, ...]]], list[Any]] = _in_order,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    retrain: Callable[[Config], Any] | None = None,
) -> ForecastResult:
    """Score earlier forecasts, forecast the next horizon with the champion, store it.

    With no champion yet (no model has beaten seasonal naive), each series is forecast by its
    best baseline and the rows say which (``method`` and ``model_version``). The series are
    forecast in chunks of ``forecast.chunk_size``, one call of :func:`make_forecast` each,
    with the same rows as one call over all of them. With ``data.group_by`` each group's
    series are forecast by the champion of the group's registered model
    ``<registered name>.<key>`` (or by their best baselines while it has none), and its live
    accuracy goes to the group's own monitor run.

    Parameters
    ----------
    config : Config
        Data source, registry name, store URL and the degradation rule.
    model_uri : str, optional
        ``models:/<name>@<alias>`` or ``models:/<name>/<version>``; the champion by default.
        Not with ``data.group_by``, whose groups each have their own champion.
    output : str, optional
        Also write the forecast to this CSV file.
    as_step : callable, optional
        Wraps each step before it is called (the flow runs each as a Prefect task); the
        steps are called as they are by default.
    map_step : callable, optional
        ``map_step(step, calls)`` returns ``[step(*args) for args in calls]``, as the steps
        are called by default; the flow submits each call as a task to its task runner.
    logger : logging.Logger, optional
        Where the run's summary goes (the flow's run logger in Prefect).
    retrain : callable, optional
        Called with ``config`` when live accuracy has degraded and
        ``forecast.retrain_on_degradation`` is set; returns the training's result (or a
        list of them, one per group).

    Returns
    -------
    ForecastResult
        With ``data.group_by``, ``groups`` holds each group's result.
    """
    log = logger or _LOGGER
    frame = as_step(load_data)(config)  # bad data stops the run before any store is touched
    frame, found = groups.plan_groups(config, frame)
    if found is not None and model_uri:
        raise ValueError(
            f"`--model` {model_uri}: with `data.group_by` each group is forecast by its own "
            "champion; drop --model, or unset data.group_by to forecast every series with it"
        )
    tracking.configure(config.tracking.uri)
    store = ForecastStore(config.store.url)
    units = groups.forecast_units(config, frame, found)
    models = [as_step(resolve_model)(unit_config, model_uri) for unit_config, _ in units]
    scored = as_step(score_earlier)(store, frame)
    owner, calls = [], []
    for k, ((unit_config, unit_frame), model) in enumerate(zip(units, models, strict=True)):
        for chunk in groups.chunk_frames(unit_frame, config.forecast.chunk_size):
            owner.append(k)
            calls.append((unit_config, model, chunk))
    parts = map_step(make_forecast, calls)
    rows = _joined(parts)
    written = as_step(store_forecast)(store, rows)
    done = [
        _conclude(
            unit_config,
            store,
            model,
            unit_frame,
            _joined([part for part, o in zip(parts, owner, strict=True) if o == k]),
            as_step,
            log,
        )
        for k, ((unit_config, unit_frame), model) in enumerate(zip(units, models, strict=True))
    ]
    result = done[0] if found is None else _combined(config, done, rows)
    result.rows_written, result.scored, result.forecast = written, scored, rows
    if result.degraded and config.forecast.retrain_on_degradation and retrain is not None:
        trained = retrain(config)
        result.retrained = True
        result.notes.append(_retrained_note(trained))
    if output:
        rows.to_csv(output, index=False)
    log.info(
        "%s version %s: %d rows written, %d earlier points scored; %s",
        result.model_name,
        result.model_version,
        written,
        scored,
        result.degradation,
    )
    return result


STEPS: tuple[Callable[..., Any], ...] = (
    load_data,
    resolve_model,
    score_earlier,
    make_forecast,
    store_forecast,
    log_live_accuracy,
    report,
)
IO_STEPS = frozenset({resolve_model, load_data, score_earlier, store_forecast, log_live_accuracy})
