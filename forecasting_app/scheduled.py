"""One scheduled forecast run as plain steps, shared by the Prefect flow and ``forecast predict``.

:func:`run_forecast` calls them in order: :func:`plan_forecast` (read the data, find each
group's model, score earlier forecasts), :func:`make_forecast` for each chunk of series
(``forecast.chunk_size``), and :func:`finish_forecast` (store the rows, log live accuracy,
check degradation, write the report). The one-shot command calls :func:`run_forecast` in this
process, without Prefect or its server; the Prefect flow (``flows/forecast.py``) calls the
same three steps as tasks, fanning the chunks out on its task runner. With ``data.group_by``
each group's series are forecast with that group's champion (:mod:`forecasting_app.groups`).
Retraining on degradation is the caller's (:func:`needs_retraining`, :func:`note_retrained`).
"""

from __future__ import annotations

import logging
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
    "ForecastPlan",
    "ForecastResult",
    "finish_forecast",
    "log_live_accuracy",
    "make_forecast",
    "needs_retraining",
    "note_retrained",
    "plan_forecast",
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


def _conclude(
    config: Config,
    store: ForecastStore,
    model: tracking.ModelRef | None,
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    log: logging.Logger | logging.LoggerAdapter[Any],
) -> ForecastResult:
    """One model's share of the run: its live accuracy, the degradation check and the report."""
    version, method, notes = _summary(rows, model)
    name = model.name if model else config.registered_model_name
    backtest_rmse = float(model.tags["rmse"]) if model and "rmse" in model.tags else None
    realised, monitor_run_id, check = log_live_accuracy(
        config, store, name, version, rows, backtest_rmse
    )
    for note in notes:
        log.warning("%s: %s", config.name, note)
    if check.degraded:
        log.warning("%s: %s", config.name, check.message)
    report(store, frame, rows, name, monitor_run_id)
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


def needs_retraining(config: Config, result: ForecastResult) -> bool:
    """Whether live accuracy has degraded and the config asks to retrain then."""
    return result.degraded and config.forecast.retrain_on_degradation


def note_retrained(result: ForecastResult, trained: Any) -> None:
    """Record in ``result`` the training (or list of them, one per group) that followed it."""
    results = trained if isinstance(trained, list) else [trained]
    if len(results) == 1:
        note = f"retrained: version {results[0].version} ({results[0].decision})"
    else:
        each = "; ".join(
            f"{r.registered_model} version {r.version} ({r.decision})" for r in results
        )
        note = f"retrained: {each}"
    result.retrained = True
    result.notes.append(note)


@dataclass
class ForecastPlan:
    """What one run forecasts, before any forecast is made (:func:`plan_forecast`).

    Attributes
    ----------
    frame : DataFrame
        The latest data of every series.
    grouped : bool
        Whether ``data.group_by`` split the series into groups, each with its own model.
    units : list of (Config, DataFrame, ModelRef or None)
        Each group's config, series and model (one unit without groups); ``None`` while a
        group has no champion.
    calls : list of (Config, ModelRef or None, DataFrame)
        The arguments of :func:`make_forecast` for each chunk of series, in order.
    owners : list of int
        The unit of each call.
    scored : int
        Earlier forecast points scored against the new actuals.
    store : ForecastStore
        The forecast store the run reads and writes (one engine for the whole run).
    """

    frame: pd.DataFrame
    grouped: bool
    units: list[tuple[Config, pd.DataFrame, tracking.ModelRef | None]]
    calls: list[tuple[Config, tracking.ModelRef | None, pd.DataFrame]]
    owners: list[int]
    scored: int
    store: ForecastStore


def plan_forecast(config: Config, model_uri: str | None = None) -> ForecastPlan:
    """Read the data, find each group's model, score earlier forecasts, cut the chunks.

    Bad data stops the run here, before any store is touched.

    Parameters
    ----------
    config : Config
        Data source, registry name, store URL, ``forecast.chunk_size``.
    model_uri : str, optional
        ``models:/<name>@<alias>`` or ``models:/<name>/<version>``; the champion by default.
        Not with ``data.group_by``, whose groups each have their own champion.
    """
    frame = load_series(config.data)
    frame, found = groups.plan_groups(config, frame)
    if found is not None and model_uri:
        raise ValueError(
            f"`--model` {model_uri}: with `data.group_by` each group is forecast by its own "
            "champion; drop --model, or unset data.group_by to forecast every series with it"
        )
    tracking.configure(config.tracking.uri)
    units = [
        (unit_config, unit_frame, resolve_model(unit_config, model_uri))
        for unit_config, unit_frame in groups.forecast_units(config, frame, found)
    ]
    store = ForecastStore(config.store.url)
    scored = score_earlier(store, frame)
    owners, calls = [], []
    for k, (unit_config, unit_frame, model) in enumerate(units):
        for chunk in groups.chunk_frames(unit_frame, config.forecast.chunk_size):
            owners.append(k)
            calls.append((unit_config, model, chunk))
    return ForecastPlan(frame, found is not None, units, calls, owners, scored, store)


def finish_forecast(
    config: Config,
    plan: ForecastPlan,
    parts: list[pd.DataFrame],
    output: str | None = None,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
) -> ForecastResult:
    """Store the rows of every chunk, then log live accuracy and report per group.

    Parameters
    ----------
    config : Config
        The run's config.
    plan : ForecastPlan
        From :func:`plan_forecast`.
    parts : list of DataFrame
        :func:`make_forecast` of each of ``plan.calls``, in order.
    output : str, optional
        Also write the forecast to this CSV file.
    logger : logging.Logger, optional
        Where the run's summary goes (the flow's run logger in Prefect).
    """
    log = logger or _LOGGER
    store = plan.store
    rows = _joined(parts)
    written = store_forecast(store, rows)
    done = [
        _conclude(
            unit_config,
            store,
            model,
            unit_frame,
            _joined([part for part, o in zip(parts, plan.owners, strict=True) if o == k]),
            log,
        )
        for k, (unit_config, unit_frame, model) in enumerate(plan.units)
    ]
    result = _combined(config, done, rows) if plan.grouped else done[0]
    result.rows_written, result.scored, result.forecast = written, plan.scored, rows
    if output:
        rows.to_csv(output, index=False)
    log.info(
        "%s version %s: %d rows written, %d earlier points scored; %s",
        result.model_name,
        result.model_version,
        written,
        plan.scored,
        result.degradation,
    )
    return result


def run_forecast(
    config: Config,
    model_uri: str | None = None,
    output: str | None = None,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
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
    logger : logging.Logger, optional
        Where the run's summary goes.

    Returns
    -------
    ForecastResult
        With ``data.group_by``, ``groups`` holds each group's result.
    """
    plan = plan_forecast(config, model_uri)
    parts = [make_forecast(*call) for call in plan.calls]
    return finish_forecast(config, plan, parts, output, logger)
