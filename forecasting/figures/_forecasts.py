"""Forecast figures: a forecast with its fan, the forecasts of a store, a backtest's folds."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from forecasting.figures._plotting import (
    ACTUAL_COLOR,
    FIXED_COLORS,
    FORECAST_COLUMNS,
    HISTORY_COLUMNS,
    HISTORY_HORIZONS,
    PAST_COLUMNS,
    check_frame,
    check_positive_int,
    fan,
    figure_and_axes,
    finish_time_axes,
    line,
    method_colors,
    pick_series,
    series_rows,
    xy,
)

__all__ = ["plot_backtest_forecasts", "plot_forecast", "plot_forecast_history"]


def plot_forecast(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    actuals: pd.DataFrame | None = None,
    baselines: Mapping[str, pd.DataFrame] | None = None,
    series_id: Hashable | None = None,
    max_history: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot one series: recent history, the model forecast, actuals and baseline forecasts.

    Parameters
    ----------
    history : DataFrame
        Long frame (``series_id``, ``timestamp``, ``value``) of the observations before the origin.
    forecast : DataFrame
        Forecast frame (``series_id``, ``timestamp``, ``step``, ``value``), as from
        ``Forecaster.predict``; its interval bounds (``lo_80``, ``hi_80``, ``lo_95``,
        ``hi_95``, any level), when present, are shaded as a fan.
    actuals : DataFrame, optional
        Long frame of observed values; only those inside the forecast window are drawn.
    baselines : dict of str to DataFrame, optional
        Baseline name to a forecast frame (for example ``{"seasonal_naive": frame}``), drawn dashed.
    series_id : hashable, optional
        The series to draw; the first series of ``history`` by default.
    max_history : int, optional
        Number of history points shown before the forecast; 5 × horizon by default.
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure by default.

    Returns
    -------
    Figure
        The figure drawn into (a new one is made without pyplot: nothing to close). Lines are
        labelled "history", "actual", "forecast" and the baseline names; the bands
        "80% interval" and "95% interval" (one per level of ``forecast``).
    """
    check_frame(history, "history", HISTORY_COLUMNS)
    check_frame(forecast, "forecast", FORECAST_COLUMNS)
    sid = pick_series(history, series_id, "history")
    predicted = series_rows(forecast, sid, "forecast", "timestamp")
    horizon = len(predicted)
    shown = HISTORY_HORIZONS * horizon
    if max_history is not None:
        shown = check_positive_int(max_history, "max_history")
    past = series_rows(history, sid, "history", "timestamp").tail(shown)
    baselines = {} if baselines is None else baselines
    if not isinstance(baselines, Mapping):
        raise TypeError(
            f"`baselines` must be a dict of name to forecast frame; got {type(baselines).__name__}."
        )
    fig, ax = figure_and_axes(ax)

    times, values = xy(predicted, "timestamp")
    ax.axvspan(times[0], times[-1], color="0.92", zorder=0)
    line(ax, xy(past, "timestamp"), ACTUAL_COLOR, "history")
    if actuals is not None:
        check_frame(actuals, "actuals", HISTORY_COLUMNS)
        observed = actuals.loc[
            (actuals["series_id"] == sid)
            & (actuals["timestamp"] >= times[0])
            & (actuals["timestamp"] <= times[-1])
        ].sort_values("timestamp", kind="stable")
        if not observed.empty:
            line(ax, xy(observed, "timestamp"), ACTUAL_COLOR, "actual", linestyle=":", markers=True)
    colors = method_colors(["model", *map(str, baselines)])
    fan(ax, predicted, "timestamp", colors["model"])
    line(ax, (times, values), colors["model"], "forecast", linewidth=2.0, markers=True)
    for name, frame in baselines.items():
        check_frame(frame, f"baselines[{name!r}]", FORECAST_COLUMNS)
        rows = series_rows(frame, sid, f"baselines[{name!r}]", "timestamp")
        line(ax, xy(rows, "timestamp"), colors[str(name)], str(name), linestyle="--")
    finish_time_axes(ax, times, f"Forecast for {sid}")
    return fig


def plot_forecast_history(
    history: pd.DataFrame,
    latest: pd.DataFrame,
    past: pd.DataFrame | None = None,
    series_id: Hashable | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot the actuals, the latest forecast and earlier forecasts of one series.

    Parameters
    ----------
    history : DataFrame
        Long frame (``series_id``, ``timestamp``, ``value``) of observations. The last 5 × horizon
        points are shown, extended back to the first target of ``past``.
    latest : DataFrame
        The latest forecast frame (``series_id``, ``timestamp``, ``step``, ``value``); its
        interval bounds (``lo_<level>``, ``hi_<level>``), when present, are shaded as a fan.
    past : DataFrame, optional
        Earlier forecasts (``series_id``, ``origin``, ``target_timestamp``, ``value``), as read
        from the forecast store: one faint line per origin, to compare with the actuals. Pass only
        the origins worth showing (for example the last week).
    series_id : hashable, optional
        The series to draw; the first series of ``history`` by default.
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure by default.

    Returns
    -------
    Figure
        The figure drawn into (a new one is made without pyplot: nothing to close). Lines are
        labelled "actual", "earlier forecasts" (first origin only) and "latest forecast".
    """
    check_frame(history, "history", HISTORY_COLUMNS)
    check_frame(latest, "latest", FORECAST_COLUMNS)
    sid = pick_series(history, series_id, "history")
    forecast = series_rows(latest, sid, "latest", "timestamp")
    observed = series_rows(history, sid, "history", "timestamp")
    start = observed["timestamp"].iloc[-min(len(observed), HISTORY_HORIZONS * len(forecast))]
    earlier = pd.DataFrame(columns=list(PAST_COLUMNS))
    if past is not None:
        check_frame(past, "past", PAST_COLUMNS)
        earlier = past.loc[past["series_id"] == sid]
        if not earlier.empty:
            start = min(start, earlier["target_timestamp"].min())
    fig, ax = figure_and_axes(ax)

    times, values = xy(forecast, "timestamp")
    ax.axvspan(times[0], times[-1], color="0.92", zorder=0)
    shown = observed.loc[observed["timestamp"] >= start]
    line(ax, xy(shown, "timestamp"), ACTUAL_COLOR, "actual")
    for i, (_, rows) in enumerate(earlier.groupby("origin", sort=True)):
        rows = rows.sort_values("target_timestamp", kind="stable")
        label = "earlier forecasts" if i == 0 else "_nolegend_"
        line(ax, xy(rows, "target_timestamp"), FIXED_COLORS["model"], label, alpha=0.3)
    fan(ax, forecast, "timestamp", FIXED_COLORS["model"])
    line(ax, (times, values), FIXED_COLORS["model"], "latest forecast", linewidth=2.0, markers=True)
    finish_time_axes(ax, times, f"Forecasts for {sid}")
    return fig


def plot_backtest_forecasts(
    history: pd.DataFrame,
    forecasts: pd.DataFrame,
    series_id: Hashable | None = None,
    method: str = "model",
    ax: Axes | None = None,
) -> Figure:
    """Plot one series' actuals and every backtest fold's forecast with its intervals.

    Parameters
    ----------
    history : DataFrame
        Long frame (``series_id``, ``timestamp``, ``value``) of observations, for example the
        last fold's training frame; shown from 5 × horizon points before the first fold, with
        the folds' actuals filling in after it.
    forecasts : DataFrame
        A backtest's forecasts (``BacktestResult.forecasts``): ``fold``, ``series_id``,
        ``timestamp``, ``step``, ``method``, ``value``, ``actual`` and the bounds
        ``lo_<level>``/``hi_<level>``.
    series_id : hashable, optional
        The series to draw; the first series of ``forecasts`` by default.
    method : str, default "model"
        Whose forecasts to draw.
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure by default.

    Returns
    -------
    Figure
        The figure drawn into: the actuals as one line, each fold's forecast as a line over
        its fan of intervals, each fold's window shaded.
    """
    check_frame(history, "history", HISTORY_COLUMNS)
    check_frame(forecasts, "forecasts", (*FORECAST_COLUMNS, "fold", "method", "actual"))
    if method not in set(forecasts["method"]):
        raise ValueError(
            f"`forecasts` has no rows of method {method!r}; "
            f"it has {sorted(map(str, set(forecasts['method'])))}."
        )
    sid = pick_series(forecasts, series_id, "forecasts")
    rows = forecasts.loc[(forecasts["method"] == method) & (forecasts["series_id"] == sid)]
    rows = rows.sort_values(["fold", "timestamp"], kind="stable")
    first = rows["timestamp"].min()
    horizon = int(rows["step"].max())
    observed = pd.concat(
        [
            history.loc[history["series_id"] == sid, ["timestamp", "value"]],
            rows.loc[rows["actual"].notna(), ["timestamp", "actual"]].rename(
                columns={"actual": "value"}
            ),
        ]
    )
    observed = observed.drop_duplicates("timestamp").sort_values("timestamp", kind="stable")
    shown_from = max(0, int((observed["timestamp"] < first).sum()) - HISTORY_HORIZONS * horizon)
    observed = observed.iloc[shown_from:]
    fig, ax = figure_and_axes(ax)
    color = method_colors([method])[method]
    for i, (_, fold) in enumerate(rows.groupby("fold", sort=True)):
        times = fold["timestamp"].to_numpy()
        ax.axvspan(times[0], times[-1], color="0.92", zorder=0)
        fan(ax, fold, "timestamp", color, label=i == 0)
        label = f"{method} forecast per fold" if i == 0 else "_nolegend_"
        line(ax, (times, fold["value"].to_numpy(dtype=float)), color, label, linewidth=2.0)
    line(ax, xy(observed, "timestamp"), ACTUAL_COLOR, "actual")
    finish_time_axes(ax, observed["timestamp"].to_numpy(), f"Backtest forecasts for {sid}")
    return fig
