"""Evaluation figures: training curves and a backtest's metric per fold and method."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from forecasting.figures._plotting import (
    FIXED_COLORS,
    check_frame,
    figure_and_axes,
    legend,
    line,
    method_colors,
)

__all__ = ["plot_backtest", "plot_training_curves"]


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
    fig, ax = figure_and_axes(ax, (7.0, 4.0))
    styles = {"loss": ("C0", "-"), "val_loss": ("C1", "--")}
    for name, values in curves.items():
        color, linestyle = styles[name]
        epochs = np.arange(1, len(values) + 1)
        line(ax, (epochs, values), color, name, linestyle=linestyle, markers=True)
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
    legend(ax)
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
    check_frame(folds, "folds", ("fold", "method"))
    if metric not in folds.columns or metric in ("fold", "method", "origin"):
        options = [str(c) for c in folds.columns if str(c) not in ("fold", "method", "origin")]
        raise ValueError(
            f"`metric` {metric!r} is not a metric column of `folds`; choose one of {options}."
        )
    if folds.empty:
        raise ValueError("`folds` has no rows; run a backtest with at least one fold first.")
    table = folds.groupby(["fold", "method"], sort=True)[metric].mean().unstack("method")
    present = [str(m) for m in table.columns]
    methods = sorted(present, key=lambda m: list(FIXED_COLORS).index(m) if m in FIXED_COLORS else 3)
    table.columns = present
    colors = method_colors(methods)
    fig, ax = figure_and_axes(ax, (max(6.0, 1.6 * len(table) + 3.0), 4.0))

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
    legend(ax)
    return fig
