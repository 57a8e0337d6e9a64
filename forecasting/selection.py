"""What is served per series: the network, its reference, the baselines, their combination,
and the choice among them by each series' own validation window.

Every forecast here is made from a history and reported as a long frame with a ``method``
column, so that the backtest and the scheduled forecast make, score and choose their
forecasts the same way:

- ``model``: the fitted network (with its reference, as it forecasts);
- ``reference``: the reference forecast alone (the network's output held at zero);
- the baselines of :mod:`forecasting.baselines`, ``stat_ensemble`` among them;
- ``combination``: the median, step by step, of the network and the statistical ensemble's
  members (AutoETS, AutoTheta and AutoARIMA), so the network is one voice of four;
- ``served``: per series, the candidate with the lowest MASE on the series' own
  validation window, the last ``horizon`` points before the forecast origin, forecast from
  the points before them. Nothing after the origin is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from forecasting.baselines import (
    BASELINES,
    ENSEMBLE_MEMBERS,
    Bounds,
    baseline_forecasts,
    median_forecast,
)
from forecasting.data import infer_freq
from forecasting.inference import Predicts
from forecasting.metrics import mase

__all__ = [
    "COMBINATION_MEMBERS",
    "SERVED_CANDIDATES",
    "VALIDATION_WINDOWS",
    "choose",
    "method_forecasts",
    "served_forecast",
    "validation_scores",
    "with_served",
]

COMBINATION_MEMBERS = ("model", *ENSEMBLE_MEMBERS)
# The candidates of ``served``, in order of preference where their validation errors tie.
SERVED_CANDIDATES = ("combination", "model", "stat_ensemble", "seasonal_naive")
# The last horizons of each series the choice compares them on (chosen on the tuning half
# of benchmarks/corpus.py with benchmarks/selection_pools.py: two beat one and three).
VALIDATION_WINDOWS = 2


def method_forecasts(
    model: Predicts | None,
    history: pd.DataFrame,
    horizon: int,
    season_length: int,
    levels: Sequence[int] = (),
    methods: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every method's forecast of the ``horizon`` steps after each series of ``history``.

    Parameters
    ----------
    model : Forecaster or Predictor, optional
        The fitted network; ``None`` (or a model that cannot forecast these series) leaves
        out ``model``, ``reference`` and ``combination``.
    history : DataFrame
        Validated long frame (``series_id``, ``timestamp``, ``value``, covariates).
    horizon, season_length : int
        Steps to forecast (the model's horizon) and points per season.
    levels : sequence of int
        Interval levels to add as ``lo_<level>``, ``hi_<level>`` (NaN for ``reference``).
    methods : sequence of str, optional
        The methods wanted; all of ``model``, ``reference``, the baselines and
        ``combination`` by default.

    Returns
    -------
    DataFrame
        ``series_id``, ``timestamp``, ``step``, ``method``, ``value`` and the bounds, one
        row per series, method and step.
    """
    wanted = list(methods or ("model", "reference", *BASELINES, "combination"))
    network = _network_forecasts(model, history, levels, wanted)
    stats = [m for m in BASELINES if m in wanted]
    if "combination" in wanted and "model" in network:
        stats += [m for m in ENSEMBLE_MEMBERS if m not in stats]
    parts = [frame.assign(method=name) for name, frame in network.items() if name in wanted]
    model_rows = network.get("model")
    freq = history.attrs.get("freq") or infer_freq(history)
    for sid, group in history.groupby("series_id", sort=False):
        frame = _frame_for(model_rows, group, horizon, str(sid), freq)
        forecasts = baseline_forecasts(
            stats, group["value"].to_numpy(), horizon, season_length, levels
        )
        if model_rows is not None and "combination" in wanted:
            own = model_rows[model_rows["series_id"] == sid]
            forecasts["combination"] = median_forecast(
                [_member(own, levels), *(forecasts[m] for m in ENSEMBLE_MEMBERS)]
            )
        for name, (values, bounds) in forecasts.items():
            if name in wanted:
                parts.append(_rows(frame, name, values, bounds))
    out = pd.concat(parts, ignore_index=True)
    columns = ["series_id", "timestamp", "step", "method", "value"]
    bounds_columns = [f"{s}_{level}" for level in sorted(levels) for s in ("lo", "hi")]
    for column in bounds_columns:
        if column not in out:
            out[column] = np.nan
    return out[[*columns, *bounds_columns]]


def validation_scores(
    model: Predicts | None,
    history: pd.DataFrame,
    horizon: int,
    season_length: int,
    methods: Sequence[str] = SERVED_CANDIDATES,
    windows: int = 1,
) -> pd.DataFrame:
    """Each method's MASE on each series' validation windows: its last ``horizon`` points,
    and with ``windows`` above 1 the ``horizon`` points before them, and so on.

    Each window is forecast from the points before it; the model as it is (it must not have
    been trained on them: the backtest's and the registry's models keep the last windows for
    validation or never saw them). A series too short for a window gets no rows for it.

    Returns
    -------
    DataFrame
        ``series_id``, ``method``, ``window`` (1: the last), ``validation_mase``.
    """
    counts = history.groupby("series_id", sort=False)["value"].transform("size")
    position = history.groupby("series_id", sort=False).cumcount()
    rows = []
    for window in range(1, windows + 1):
        end = counts - (window - 1) * horizon
        before = history[position < end - horizon]
        before = before[before.groupby("series_id", sort=False)["value"].transform("size") > 2]
        if before.empty:
            break
        before.attrs = dict(history.attrs)
        target = history[(position >= end - horizon) & (position < end)]
        forecasts = method_forecasts(model, before, horizon, season_length, methods=methods)
        for sid, group in before.groupby("series_id", sort=False):
            actual = target.loc[target["series_id"] == sid, "value"].to_numpy()
            train = group["value"].to_numpy()
            own = forecasts[forecasts["series_id"] == sid]
            for method, part in own.groupby("method", sort=False):
                score = mase(actual, part["value"].to_numpy(), train, season_length)
                rows.append(
                    {"series_id": sid, "method": method, "window": window, "validation_mase": score}
                )
    return pd.DataFrame(rows, columns=["series_id", "method", "window", "validation_mase"])


def choose(
    scores: pd.DataFrame,
    series_ids: Sequence[str],
    candidates: Sequence[str] = SERVED_CANDIDATES,
) -> dict[str, str]:
    """Per series, the candidate with the lowest mean validation MASE (ties: the earlier one).

    A series without validation scores (too short) gets the first candidate that has any
    score anywhere, else the first candidate; a candidate with a score that is not finite
    is never chosen.

    Parameters
    ----------
    scores : DataFrame
        As :func:`validation_scores` returns it.
    series_ids : sequence of str
        The series to choose for.
    candidates : sequence of str
        Methods to choose among, most preferred first.

    Returns
    -------
    dict
        ``{series_id: method}``.
    """
    means = scores.groupby(["series_id", "method"], sort=False)["validation_mase"].mean()
    table: dict[tuple[str, str], float] = {
        (str(sid), str(method)): float(value)
        for sid, method, value in zip(
            means.index.get_level_values(0), means.index.get_level_values(1), means, strict=True
        )
    }
    present = [c for c in candidates if any(m == c for _, m in table)]
    default = present[0] if present else candidates[0]
    chosen = {}
    for sid in map(str, series_ids):
        finite = {
            c: table[(sid, c)]
            for c in candidates
            if (sid, c) in table and np.isfinite(table[(sid, c)])
        }
        chosen[sid] = min(finite, key=lambda c: finite[c]) if finite else default
    return chosen


def served_forecast(forecasts: pd.DataFrame, chosen: Mapping[str, str]) -> pd.DataFrame:
    """The rows of each series' chosen method, with ``method`` naming what was served.

    Parameters
    ----------
    forecasts : DataFrame
        As :func:`method_forecasts` returns it, with every chosen method among its rows.
    chosen : mapping
        ``{series_id: method}``, as :func:`choose` returns it.

    Returns
    -------
    DataFrame
        One method's rows per series.
    """
    keys = forecasts["series_id"].astype(str).map(chosen)
    return forecasts[forecasts["method"] == keys].reset_index(drop=True)


def with_served(
    model: Predicts,
    history: pd.DataFrame,
    horizon: int,
    season_length: int,
    levels: Sequence[int] = (),
    validated: Sequence[str] = SERVED_CANDIDATES,
    candidates: Sequence[str] = SERVED_CANDIDATES,
    windows: int = VALIDATION_WINDOWS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every method's forecast after ``history`` and the ``served`` rows, as a backtest scores.

    ``served`` repeats, per series, the rows of the candidate with the lowest MASE on that
    series' validation window (the last ``horizon`` points of ``history``); ``served_by``
    names it on those rows (empty elsewhere).

    Parameters
    ----------
    model, history, horizon, season_length, levels
        As :func:`method_forecasts` takes them.
    validated : sequence of str
        The methods scored on the validation windows (the candidates among them).
    candidates : sequence of str
        What ``served`` chooses among, most preferred first.
    windows : int
        Validation windows, the last ``horizon`` points and as many before each.

    Returns
    -------
    tuple of DataFrame
        The forecasts (:func:`method_forecasts`' columns and ``served_by``) and the
        validation scores (:func:`validation_scores`).
    """
    out = method_forecasts(model, history, horizon, season_length, levels=levels)
    validation = validation_scores(model, history, horizon, season_length, validated, windows)
    ids = [str(s) for s in history["series_id"].unique()]
    served = served_forecast(out, choose(validation, ids, candidates))
    served["served_by"] = served["method"]
    return pd.concat([out, served.assign(method="served")], ignore_index=True), validation


def _network_forecasts(
    model: Predicts | None, history: pd.DataFrame, levels: Sequence[int], wanted: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """The model's and its reference's forecasts; empty when it cannot forecast ``history``."""
    needs = {"model", "reference", "combination"} & set(wanted)
    if model is None or not needs:
        return {}
    try:
        out = {"model": model.predict(history, levels=tuple(levels) or None)}
        if "reference" in wanted:
            out["reference"] = model.predict_reference(history)
    except ValueError:  # too short for the input width, an unknown covariate, ...
        return {}
    if not np.isfinite(out["model"]["value"].to_numpy(dtype=float)).all():
        return {}
    return out


def _frame_for(
    model_rows: pd.DataFrame | None, group: pd.DataFrame, horizon: int, sid: str, freq: str
) -> pd.DataFrame:
    """``series_id``, ``timestamp``, ``step`` of one series' forecast rows."""
    if model_rows is not None:
        own = model_rows[model_rows["series_id"] == sid]
        if len(own) == horizon:
            return own[["series_id", "timestamp", "step"]].reset_index(drop=True)
    last = pd.Timestamp(group["timestamp"].iloc[-1])
    stamps = pd.date_range(last, periods=horizon + 1, freq=freq)[1:]
    return pd.DataFrame({"series_id": sid, "timestamp": stamps, "step": np.arange(1, horizon + 1)})


def _member(rows: pd.DataFrame, levels: Sequence[int]) -> tuple[np.ndarray, Bounds]:
    values = rows["value"].to_numpy(dtype=np.float64)
    bounds: Bounds = {
        level: (
            rows[f"lo_{level}"].to_numpy(dtype=np.float64),
            rows[f"hi_{level}"].to_numpy(dtype=np.float64),
        )
        for level in levels
        if f"lo_{level}" in rows
    }
    return values, bounds


def _rows(frame: pd.DataFrame, method: str, values: np.ndarray, bounds: Bounds) -> pd.DataFrame:
    part = frame.copy()
    part["method"] = method
    part["value"] = values
    for level, (lower, upper) in bounds.items():
        part[f"lo_{level}"], part[f"hi_{level}"] = lower, upper
    return part
