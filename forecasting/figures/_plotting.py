"""Drawing primitives the figures share: axes, input checks, lines, fans, colours, PNG."""

from __future__ import annotations

import io
import numbers
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "ACTUAL_COLOR",
    "FIGSIZE",
    "FIXED_COLORS",
    "FORECAST_COLUMNS",
    "HISTORY_COLUMNS",
    "HISTORY_HORIZONS",
    "MARKER_MAX_POINTS",
    "PAST_COLUMNS",
    "check_frame",
    "check_positive_int",
    "fan",
    "figure_and_axes",
    "figure_to_png",
    "finish_time_axes",
    "interval_levels",
    "legend",
    "line",
    "method_colors",
    "pick_series",
    "series_rows",
    "xy",
]

HISTORY_COLUMNS = ("series_id", "timestamp", "value")
FORECAST_COLUMNS = ("series_id", "timestamp", "step", "value")
PAST_COLUMNS = ("series_id", "origin", "target_timestamp", "value")
HISTORY_HORIZONS = 5  # default history shown: this many forecast horizons
MARKER_MAX_POINTS = 48  # draw point markers on forecast lines up to this many points
FIXED_COLORS = {"model": "C0", "naive": "C1", "seasonal_naive": "C2", "ets": "C3", "theta": "C4"}
ACTUAL_COLOR = "0.2"
FIGSIZE = (10.0, 4.0)


def figure_and_axes(ax: object, figsize: tuple[float, float] = FIGSIZE) -> tuple[Figure, Axes]:
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


def check_frame(frame: object, name: str, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame; got {type(frame).__name__}.")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"`{name}` is missing column(s) {missing}; it has {list(map(str, frame.columns))}. "
            f"Pass a frame with columns {list(columns)}."
        )
    return frame


def pick_series(frame: pd.DataFrame, series_id: Hashable | None, name: str) -> Hashable:
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


def series_rows(frame: pd.DataFrame, series_id: Hashable, name: str, time_col: str) -> pd.DataFrame:
    rows = frame.loc[frame["series_id"] == series_id].sort_values(time_col, kind="stable")
    if rows.empty:
        raise ValueError(
            f"`{name}` has no rows for series {series_id!r}; "
            f"pass a frame that contains it or choose another `series_id`."
        )
    return rows


def check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an int or None; got {value!r} of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; got {value}.")
    return int(value)


def xy(rows: pd.DataFrame, time_col: str) -> tuple[np.ndarray, np.ndarray]:
    return rows[time_col].to_numpy(), rows["value"].to_numpy(dtype=float)


def method_colors(names: Iterable[str]) -> dict[str, str]:
    """Stable colours: model, naive and seasonal naive always get the same; others follow."""
    others = [name for name in names if name not in FIXED_COLORS]
    return {**FIXED_COLORS, **{name: f"C{(3 + i) % 10}" for i, name in enumerate(others)}}


def finish_time_axes(ax: Axes, times: np.ndarray, title: str) -> None:
    if np.issubdtype(times.dtype, np.datetime64):
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("timestamp")
    ax.set_ylabel("value")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    legend(ax)


def legend(ax: Axes) -> None:
    # Outside the axes on the right: it never hides data; constrained layout and
    # `figure_to_png` (bbox_inches="tight") make room for it.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def line(ax: Axes, xy: tuple[np.ndarray, np.ndarray], color: str, label: str, **style: Any) -> None:
    """One line; ``markers=True`` adds point markers when the line is short enough to show them."""
    marker = "o" if style.pop("markers", False) and len(xy[0]) <= MARKER_MAX_POINTS else ""
    style = {"linewidth": 1.2, "markersize": 3, **style}
    ax.plot(*xy, color=color, label=label, marker=marker, **style)


def interval_levels(rows: pd.DataFrame) -> list[int]:
    """Levels with both bounds in ``rows`` (``lo_80`` and ``hi_80`` → 80), widest first."""
    levels = []
    for column in rows.columns:
        name = str(column)
        if name.startswith("lo_") and name[3:].isdigit() and f"hi_{name[3:]}" in rows.columns:
            levels.append(int(name[3:]))
    return sorted(levels, reverse=True)


def fan(ax: Axes, rows: pd.DataFrame, time_col: str, color: str, label: bool = True) -> None:
    """Shade each interval of ``rows`` as a band, the widest the palest (a fan chart).

    Rows without finite bounds (a method that gives no interval) draw nothing.
    """
    levels = interval_levels(rows)
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
