"""Matplotlib figures for forecasts, training curves and backtests; each returns a closed Figure."""

from __future__ import annotations

import io
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "figure_to_png",
    "plot_backtest",
    "plot_backtest_forecasts",
    "plot_forecast",
    "plot_forecast_history",
    "plot_training_curves",
]

_HISTORY_COLUMNS = ("series_id", "timestamp", "value")
_FORECAST_COLUMNS = ("series_id", "timestamp", "step", "value")
_PAST_COLUMNS = ("series_id", "origin", "target_timestamp", "value")
_HISTORY_HORIZONS = 5  # default history shown: this many forecast horizons
_MARKER_MAX_POINTS = 48  # draw point markers on forecast lines up to this many points
_FIXED_COLORS = {"model": "C0", "naive": "C1", "seasonal_naive": "C2", "ets": "C3", "theta": "C4"}
_ACTUAL_COLOR = "0.2"
_FIGSIZE = (10.0, 4.0)


def _figure_and_axes(ax: object, figsize: tuple[float, float] = _FIGSIZE) -> tuple[Figure, Axes]:
    """A new pyplot-free Figure (nothing to close) or the root Figure of the caller's ``ax``."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(
            f"`ax` must be a matplotlib Axes or None; got {type(ax).__name__}. "
            "Pass for example `fig.add_subplot()` or leave `ax=None` for a new figure."
        )
    parent = ax.get_figure()
    while parent is not None and not isinstance(parent, Figure):
        parent = parent.get_figure()  # a SubFigure: walk up to the root Figure
    if parent is None:
        raise ValueError("`ax` is not attached to a figure; create it with `fig.add_subplot()`.")
    return parent, ax


def _check_frame(frame: object, name: str, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"`{name}` is missing column(s) {missing}; it has {list(map(str, frame.columns))}. "
            f"Pass a frame with columns {list(columns)}."
        )
    return frame


def _pick_series(frame: pd.DataFrame, series_id: Hashable | None, name: str) -> Hashable:
    ids = list(pd.unique(frame["series_id"]))
    if not ids:
        raise ValueError(f"`{name}` has no rows; pass at least one observation.")
    if series_id is None:
        return ids[0]
    if series_id not in ids:
        shown = ", ".join(repr(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
        raise ValueError(
            f"`series_id` {series_id!r} is not in `{name}`; it has {shown}. "
            "Pass one of these or `series_id=None` for the first."
        )
    return series_id


def _series_rows(
    frame: pd.DataFrame, series_id: Hashable, name: str, time_col: str
) -> pd.DataFrame:
    rows = frame.loc[frame["series_id"] == series_id].sort_values(time_col, kind="stable")
    if rows.empty:
        raise ValueError(
            f"`{name}` has no rows for series {series_id!r}; "
            f"pass a frame that contains it or choose another `series_id`."
        )
    return rows


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an int or None; got {value!r} of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; got {value}.")
    return int(value)


def _xy(rows: pd.DataFrame, time_col: str) -> tuple[np.ndarray, np.ndarray]:
    return rows[time_col].to_numpy(), rows["value"].to_numpy(dtype=float)


def _method_colors(names: Iterable[str]) -> dict[str, str]:
    """Stable colours: model, naive and seasonal naive always get the same; others follow."""
    others = [name for name in names if name not in _FIXED_COLORS]
    return {**_FIXED_COLORS, **{name: f"C{(3 + i) % 10}" for i, name in enumerate(others)}}


def _finish_time_axes(ax: Axes, times: np.ndarray, title: str) -> None:
    if np.issubdtype(times.dtype, np.datetime64):
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("timestamp")
    ax.set_ylabel("value")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    _legend(ax)


def _legend(ax: Axes) -> None:
    # Outside the axes on the right: it never hides data; constrained layout and
    # `figure_to_png` (bbox_inches="tight") make room for it.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def _line(
    ax: Axes, xy: tuple[np.ndarray, np.ndarray], color: str, label: str, **style: Any
) -> None:
    """One line; ``markers=True`` adds point markers when the line is short enough to show them."""
    marker = "o" if style.pop("markers", False) and len(xy[0]) <= _MARKER_MAX_POINTS else ""
    style = {"linewidth": 1.2, "markersize": 3, **style}
    ax.plot(*xy, color=color, label=label, marker=marker, **style)


def _interval_levels(rows: pd.DataFrame) -> list[int]:
    """Levels with both bounds in ``rows`` (``lo_80`` and ``hi_80`` → 80), widest first."""
    levels = []
    for column in rows.columns:
        name = str(column)
        if name.startswith("lo_") and name[3:].isdigit() and f"hi_{name[3:]}" in rows.columns:
            levels.append(int(name[3:]))
    return sorted(levels, reverse=True)


def _fan(ax: Axes, rows: pd.DataFrame, time_col: str, color: str, label: bool = True) -> None:
    """Shade each interval of ``rows`` as a band, the widest the palest (a fan chart).

    Rows without finite bounds (a method that gives no interval) draw nothing.
    """
    levels = _interval_levels(rows)
    times = rows[time_col].to_numpy()
    for i, level in enumerate(levels):
        lower = rows[f"lo_{level}"].to_numpy(dtype=float)
        upper = rows[f"hi_{level}"].to_numpy(dtype=float)
        if not (np.isfinite(lower).any() and np.isfinite(upper).any()):
            continue
        alpha = 0.15 + 0.15 * i / max(1, len(levels) - 1)
        ax.fill_between(
            times,
            lower,
            upper,
            color=color,
            alpha=alpha,
            linewidth=0,
            label=f"{level}% interval" if label else "_nolegend_",
        )


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
    _check_frame(history, "history", _HISTORY_COLUMNS)
    _check_frame(forecast, "forecast", _FORECAST_COLUMNS)
    sid = _pick_series(history, series_id, "history")
    predicted = _series_rows(forecast, sid, "forecast", "timestamp")
    horizon = len(predicted)
    shown = _HISTORY_HORIZONS * horizon
    if max_history is not None:
        shown = _check_positive_int(max_history, "max_history")
    past = _series_rows(history, sid, "history", "timestamp").tail(shown)
    baselines = {} if baselines is None else baselines
    if not isinstance(baselines, Mapping):
        raise TypeError(
            f"`baselines` must be a dict of name to forecast frame; got {type(baselines).__name__}."
        )
    fig, ax = _figure_and_axes(ax)

    times, values = _xy(predicted, "timestamp")
    ax.axvspan(times[0], times[-1], color="0.92", zorder=0)
    _line(ax, _xy(past, "timestamp"), _ACTUAL_COLOR, "history")
    if actuals is not None:
        _check_frame(actuals, "actuals", _HISTORY_COLUMNS)
        observed = actuals.loc[
            (actuals["series_id"] == sid)
            & (actuals["timestamp"] >= times[0])
            & (actuals["timestamp"] <= times[-1])
        ].sort_values("timestamp", kind="stable")
        if not observed.empty:
            _line(
                ax, _xy(observed, "timestamp"), _ACTUAL_COLOR, "actual", linestyle=":", markers=True
            )
    colors = _method_colors(["model", *map(str, baselines)])
    _fan(ax, predicted, "timestamp", colors["model"])
    _line(ax, (times, values), colors["model"], "forecast", linewidth=2.0, markers=True)
    for name, frame in baselines.items():
        _check_frame(frame, f"baselines[{name!r}]", _FORECAST_COLUMNS)
        rows = _series_rows(frame, sid, f"baselines[{name!r}]", "timestamp")
        _line(ax, _xy(rows, "timestamp"), colors[str(name)], str(name), linestyle="--")
    _finish_time_axes(ax, times, f"Forecast for {sid}")
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
    _check_frame(history, "history", _HISTORY_COLUMNS)
    _check_frame(latest, "latest", _FORECAST_COLUMNS)
    sid = _pick_series(history, series_id, "history")
    forecast = _series_rows(latest, sid, "latest", "timestamp")
    observed = _series_rows(history, sid, "history", "timestamp")
    start = observed["timestamp"].iloc[-min(len(observed), _HISTORY_HORIZONS * len(forecast))]
    earlier = pd.DataFrame(columns=list(_PAST_COLUMNS))
    if past is not None:
        _check_frame(past, "past", _PAST_COLUMNS)
        earlier = past.loc[past["series_id"] == sid]
        if not earlier.empty:
            start = min(start, earlier["target_timestamp"].min())
    fig, ax = _figure_and_axes(ax)

    times, values = _xy(forecast, "timestamp")
    ax.axvspan(times[0], times[-1], color="0.92", zorder=0)
    shown = observed.loc[observed["timestamp"] >= start]
    _line(ax, _xy(shown, "timestamp"), _ACTUAL_COLOR, "actual")
    for i, (_, rows) in enumerate(earlier.groupby("origin", sort=True)):
        rows = rows.sort_values("target_timestamp", kind="stable")
        label = "earlier forecasts" if i == 0 else "_nolegend_"
        _line(ax, _xy(rows, "target_timestamp"), _FIXED_COLORS["model"], label, alpha=0.3)
    _fan(ax, forecast, "timestamp", _FIXED_COLORS["model"])
    _line(
        ax, (times, values), _FIXED_COLORS["model"], "latest forecast", linewidth=2.0, markers=True
    )
    _finish_time_axes(ax, times, f"Forecasts for {sid}")
    return fig


def plot_training_curves(history: Mapping[str, Sequence[float]], ax: Axes | None = None) -> Figure:
    """Plot ``loss`` and ``val_loss`` per epoch on a log scale, marking the best validation epoch.

    Parameters
    ----------
    history : dict of str to list of float
        The Keras ``History.history`` dict (``Forecaster.history_``).
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure by default.

    Returns
    -------
    Figure
        The figure drawn into (a new one is made without pyplot: nothing to close). The y axis
        is linear instead when a loss is zero or negative.
    """
    if not isinstance(history, Mapping):
        raise TypeError(
            f"`history` must be a dict of metric name to per-epoch values; got "
            f"{type(history).__name__}. Pass `History.history` or `Forecaster.history_`."
        )
    curves = {
        name: np.asarray(history[name], dtype=float)
        for name in ("loss", "val_loss")
        if name in history and len(history[name]) > 0
    }
    if not curves:
        raise ValueError(
            f"`history` has no `loss` or `val_loss` values; got keys {sorted(map(str, history))}. "
            "Pass the Keras `History.history` dict of a fitted model (`Forecaster.history_`)."
        )
    fig, ax = _figure_and_axes(ax, (7.0, 4.0))
    styles = {"loss": ("C0", "-"), "val_loss": ("C1", "--")}
    for name, values in curves.items():
        color, linestyle = styles[name]
        epochs = np.arange(1, len(values) + 1)
        _line(ax, (epochs, values), color, name, linestyle=linestyle, markers=True)
    val = curves.get("val_loss")
    if val is not None and np.isfinite(val).any():
        best = int(np.nanargmin(np.where(np.isfinite(val), val, np.nan)))
        ax.scatter(
            [best + 1], [val[best]], color="C1", s=50, zorder=3, label=f"best (epoch {best + 1})"
        )
    values = np.concatenate(list(curves.values()))
    finite = values[np.isfinite(values)]
    log = finite.size > 0 and bool((finite > 0).all())
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (log scale)" if log else "loss")
    ax.set_title("Training curves")
    ax.grid(True, which="both" if log else "major", alpha=0.3)
    _legend(ax)
    return fig


def _origin_label(origin: object) -> str:
    if isinstance(origin, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(origin)
        return stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M")
    return str(origin)


def plot_backtest(folds: pd.DataFrame, metric: str = "rmse", ax: Axes | None = None) -> Figure:
    """Grouped bars of one metric per backtest fold, one bar per method.

    Parameters
    ----------
    folds : DataFrame
        Per-fold metrics with columns ``fold``, ``method`` and the metric (usually also
        ``origin``, ``rmse``, ``mae``, ``smape``, ``mase``): one row per fold × method. Several
        rows for one fold × method (for example one per series) are averaged.
    metric : str, default "rmse"
        The metric column to draw.
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure by default.

    Returns
    -------
    Figure
        The figure drawn into (a new one is made without pyplot: nothing to close). Methods are
        ordered model, naive, seasonal_naive, then any others.
    """
    _check_frame(folds, "folds", ("fold", "method"))
    if metric not in folds.columns or metric in ("fold", "method", "origin"):
        options = [str(c) for c in folds.columns if str(c) not in ("fold", "method", "origin")]
        raise ValueError(
            f"`metric` {metric!r} is not a metric column of `folds`; choose one of {options}."
        )
    if folds.empty:
        raise ValueError("`folds` has no rows; run a backtest with at least one fold first.")
    table = folds.groupby(["fold", "method"], sort=True)[metric].mean().unstack("method")
    present = [str(m) for m in table.columns]
    methods = sorted(
        present, key=lambda m: list(_FIXED_COLORS).index(m) if m in _FIXED_COLORS else 3
    )
    table.columns = present
    colors = _method_colors(methods)
    fig, ax = _figure_and_axes(ax, (max(6.0, 1.6 * len(table) + 3.0), 4.0))

    positions = np.arange(len(table))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        offset = (i - (len(methods) - 1) / 2) * width
        heights = table[method].to_numpy(dtype=float)
        ax.bar(positions + offset, heights, width, color=colors[method], label=method)
    labels = [str(fold) for fold in table.index]
    if "origin" in folds.columns:
        origins = folds.groupby("fold", sort=True)["origin"].first()
        labels = [f"{fold}\n{_origin_label(origins[fold])}" for fold in table.index]
    ax.set_xticks(positions, labels)
    ax.set_xlabel("fold (origin)" if "origin" in folds.columns else "fold")
    ax.set_ylabel(metric)
    ax.set_title(f"Backtest {metric} per fold (lower is better)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    _legend(ax)
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
    _check_frame(history, "history", _HISTORY_COLUMNS)
    _check_frame(forecasts, "forecasts", (*_FORECAST_COLUMNS, "fold", "method", "actual"))
    if method not in set(forecasts["method"]):
        raise ValueError(
            f"`forecasts` has no rows of method {method!r}; "
            f"it has {sorted(map(str, set(forecasts['method'])))}."
        )
    sid = _pick_series(forecasts, series_id, "forecasts")
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
    shown_from = max(0, int((observed["timestamp"] < first).sum()) - _HISTORY_HORIZONS * horizon)
    observed = observed.iloc[shown_from:]
    fig, ax = _figure_and_axes(ax)
    color = _method_colors([method])[method]
    for i, (_, fold) in enumerate(rows.groupby("fold", sort=True)):
        times = fold["timestamp"].to_numpy()
        ax.axvspan(times[0], times[-1], color="0.92", zorder=0)
        _fan(ax, fold, "timestamp", color, label=i == 0)
        label = f"{method} forecast per fold" if i == 0 else "_nolegend_"
        _line(ax, (times, fold["value"].to_numpy(dtype=float)), color, label, linewidth=2.0)
    _line(ax, _xy(observed, "timestamp"), _ACTUAL_COLOR, "actual")
    _finish_time_axes(ax, observed["timestamp"].to_numpy(), f"Backtest forecasts for {sid}")
    return fig


def figure_to_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes (tight bounding box, so an outside legend is kept).

    Parameters
    ----------
    fig : Figure
        A figure, for example from :func:`plot_forecast`.

    Returns
    -------
    bytes
        The PNG file contents.
    """
    if not isinstance(fig, Figure):
        raise TypeError(
            f"`fig` must be a matplotlib Figure; got {type(fig).__name__}. "
            "Pass the value returned by a `plot_*` function."
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
