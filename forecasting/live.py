"""Rolling forecasts in production: rows with provenance, the best-baseline fallback, drift."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.baselines import baseline_frame, best_baseline
from forecasting.data import infer_freq
from forecasting.frequency import season_length_for
from forecasting.intervals import DEFAULT_LEVELS, interval_columns

__all__ = [
    "Degradation",
    "best_baseline_frame",
    "check_degradation",
    "realised_as_metrics",
    "realised_markdown",
    "store_rows",
]


def best_baseline_frame(
    history: pd.DataFrame, horizon: int, season_length: int | None = None
) -> pd.DataFrame:
    """Each series' forecast by the baseline that scores best on its own last horizon.

    The baseline is chosen per series with :func:`forecasting.baselines.best_baseline` on the
    holdout of its last ``horizon`` points, then refitted on the whole series.

    Parameters
    ----------
    history : DataFrame
        Validated long frame.
    horizon : int
        Steps to forecast.
    season_length : int, optional
        Defaults to the season of the frequency.

    Returns
    -------
    DataFrame
        ``series_id``, ``timestamp``, ``step``, ``value``, the bounds ``lo_80, hi_80, lo_95,
        hi_95`` of the baseline's intervals, and ``method`` (the baseline used).
    """
    freq = history.attrs.get("freq") or infer_freq(history)
    season = season_length or season_length_for(freq)
    parts = []
    for _, group in history.groupby("series_id", sort=False):
        method = best_baseline(group["value"].to_numpy(), horizon, season)
        part = baseline_frame(group, method, horizon, season, freq, levels=DEFAULT_LEVELS)
        parts.append(part.assign(method=method))
    return pd.concat(parts, ignore_index=True)


def store_rows(
    forecast: pd.DataFrame,
    history: pd.DataFrame,
    model_name: str,
    model_version: str | None,
    run_id: str | None,
    method: str | None,
    note: str | Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Forecast rows as the forecast store keeps them, with their provenance.

    Parameters
    ----------
    forecast : DataFrame
        ``series_id``, ``timestamp``, ``step``, ``value``; optionally ``method`` (per row)
        and the interval bounds ``lo_80, hi_80, lo_95, hi_95`` (NaN where absent).
    history : DataFrame
        The history forecast from; each series' last timestamp is its origin.
    model_name, model_version, run_id, method
        Provenance: the registered model and version, the MLflow run that trained it, and
        ``model`` or the baseline's name. ``None`` for ``method`` (and for ``model_version``)
        takes the ``method`` column of ``forecast``: a baseline's rows carry its name as their
        version.
    note : str or mapping of series id to str, optional
        Why these rows are not the model's forecast (one text, or one per series).

    Returns
    -------
    DataFrame
        One row per series and step, ready for ``ForecastStore.write_forecasts``, with a
        ``note`` column (``None`` for the model's own rows), the interval bounds per level,
        and ``lower``/``upper`` repeating the 95% bounds.
    """
    origins = history.groupby("series_id", sort=False)["timestamp"].max()
    rows = forecast.reset_index(drop=True)
    ids = rows["series_id"].astype(str)
    methods = rows["method"].astype(str) if method is None else pd.Series(method, index=rows.index)
    versions = methods if model_version is None else pd.Series(str(model_version), index=rows.index)
    notes = ids.map(note) if isinstance(note, Mapping) else pd.Series(note, index=rows.index)
    bounds = {
        name: rows[name].astype("float64") if name in rows else pd.Series(np.nan, index=rows.index)
        for name in interval_columns(DEFAULT_LEVELS)
    }
    return pd.DataFrame(
        {
            "series_id": ids,
            "origin": rows["series_id"].map(origins),
            "target_timestamp": rows["timestamp"],
            "step": rows["step"].astype("int64"),
            "value": rows["value"].astype("float64"),
            "model_name": model_name,
            "model_version": versions,
            # Nullable strings: model rows and baseline rows (no run) concatenate as strings.
            "run_id": pd.Series(run_id, index=rows.index, dtype="string"),
            "method": methods,
            "note": notes.astype("string"),
            "lower": bounds["lo_95"],
            "upper": bounds["hi_95"],
            **bounds,
        }
    )


def _interval_keys(realised: pd.DataFrame) -> list[str]:
    """The interval columns of a per-step table (``coverage_80``, ``width_80``, …)."""
    return [str(c) for c in realised.columns if str(c).startswith(("coverage_", "width_"))]


def realised_as_metrics(realised: pd.DataFrame) -> dict[str, float]:
    """MLflow metrics from a per-step table (:func:`forecasting.store.realised_metrics`).

    ``realised_rmse_step_<k>`` and ``realised_mae_step_<k>``; with intervals also
    ``realised_coverage_80_step_<k>`` and ``realised_width_80_step_<k>`` per level, for the
    steps whose forecasts had bounds.
    """
    metrics: dict[str, float] = {}
    keys = ["rmse", "mae", *_interval_keys(realised)]
    for row in realised.to_dict(orient="records"):
        for key in keys:
            if np.isfinite(row[key]):
                metrics[f"realised_{key}_step_{row['step']}"] = float(row[key])
    return metrics


def realised_markdown(realised: pd.DataFrame) -> str:
    """The per-step realised accuracy as a Markdown table (empty text when nothing is scored).

    Coverage (the share of actuals inside each interval) and mean width are columns too
    when the scored forecasts had intervals.
    """
    if realised.empty:
        return ""
    extra = _interval_keys(realised)
    names = [k.replace("coverage_", "coverage ").replace("width_", "width ") for k in extra]
    header = ["step", "n", "realised rmse", "realised mae", *names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in realised.to_dict(orient="records"):
        cells = [str(row["step"]), str(row["n"]), f"{row['rmse']:.4g}", f"{row['mae']:.4g}"]
        for key in extra:
            value = row[key]
            if not np.isfinite(value):
                cells.append("—")
            else:
                cells.append(f"{value:.0%}" if key.startswith("coverage_") else f"{value:.4g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_MIN_COVERAGE_POINTS = 20  # fewer scored points than this never flag coverage


@dataclass(frozen=True)
class Degradation:
    """Whether live accuracy has drifted past the allowed multiple of the backtest error,
    or the 95% intervals have stopped covering the actuals."""

    degraded: bool
    realised_rmse: float | None
    backtest_rmse: float | None
    message: str
    coverage_95: float | None = None


def _coverage_95(scores: pd.DataFrame) -> tuple[float | None, int]:
    """The share of actuals inside the 95% bounds, and over how many points with bounds."""
    if not {"lo_95", "hi_95", "actual"} <= set(scores.columns):
        return None, 0
    lower = scores["lo_95"].to_numpy(dtype=float)
    upper = scores["hi_95"].to_numpy(dtype=float)
    actual = scores["actual"].to_numpy(dtype=float)
    known = np.isfinite(lower) & np.isfinite(upper)
    if not known.any():
        return None, 0
    inside = (actual[known] >= lower[known]) & (actual[known] <= upper[known])
    return float(inside.mean()), int(known.sum())


def check_degradation(
    scores: pd.DataFrame,
    backtest_rmse: float | None,
    factor: float,
    min_coverage: float = 0.75,
) -> Degradation:
    """Compare live accuracy with what was measured before release.

    Live accuracy has degraded when the realised RMSE exceeds ``factor`` × the evaluation
    RMSE, or when the 95% intervals cover fewer than ``min_coverage`` of at least 20 scored
    points (a calibrated 95% interval covering under 75% of 20 points has odds below 1 in
    1,000).

    Parameters
    ----------
    scores : DataFrame
        Scored forecasts of one model version (``error`` column; with ``actual``, ``lo_95`` and
        ``hi_95``, as from :meth:`forecasting.store.ForecastStore.read_scored`, the coverage too).
    backtest_rmse : float, optional
        The version's evaluation RMSE; ``None`` for the baseline, which is never flagged.
    factor : float
        Allowed multiple, for example 2.0.
    min_coverage : float, default 0.75
        The least share of actuals the 95% intervals must cover.

    Returns
    -------
    Degradation
        ``degraded`` and a message saying what was compared.
    """
    if scores.empty:
        return Degradation(False, None, backtest_rmse, "no forecast has an actual yet")
    realised = float(np.sqrt(np.mean(np.square(scores["error"].to_numpy(dtype=float)))))
    covered, points = _coverage_95(scores)
    coverage_text = "" if covered is None else f"; 95% intervals cover {covered:.0%} of {points}"
    if backtest_rmse is None:
        message = f"realised RMSE {realised:.4g} (baseline){coverage_text}"
        return Degradation(False, realised, None, message, covered)
    limit = factor * backtest_rmse
    if realised > limit:
        return Degradation(
            True,
            realised,
            backtest_rmse,
            f"degraded: realised RMSE {realised:.4g} over {len(scores)} forecast points exceeds "
            f"{factor:g} × the evaluation RMSE {backtest_rmse:.4g}{coverage_text}",
            covered,
        )
    if covered is not None and points >= _MIN_COVERAGE_POINTS and covered < min_coverage:
        return Degradation(
            True,
            realised,
            backtest_rmse,
            f"degraded: the 95% intervals cover {covered:.0%} of {points} forecast points, "
            f"under {min_coverage:.0%} (realised RMSE {realised:.4g}, evaluation RMSE "
            f"{backtest_rmse:.4g})",
            covered,
        )
    return Degradation(
        False,
        realised,
        backtest_rmse,
        f"healthy: realised RMSE {realised:.4g} within {factor:g} × evaluation RMSE "
        f"{backtest_rmse:.4g}{coverage_text}",
        covered,
    )
